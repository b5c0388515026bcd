// SPDX-License-Identifier: GPL-2.0
/*
 * Request dispatch: every authenticated request is checked against the
 * table below (payload size), executed at most once per request id, and
 * answered. Requests with side effects keep their reply so that a
 * retransmission is answered again without being executed again; reads
 * are simply executed again.
 */
#include <linux/kernel.h>
#include <linux/string.h>

#include "dusk_kmod.h"

struct dusk_rule {
	u32 size;		/* fixed payload part */
	bool exact;		/* payload is exactly size bytes */
	bool keep_reply;	/* has side effects: reply kept by id */
	int (*fn)(struct dusk_req *r);
};

static int dusk_do_ping(struct dusk_req *r)
{
	struct dusk_stats *st = r->reply;
	struct dusk_session *s = r->s;

	memset(st, 0, sizeof(*st));
	st->rx_ok = cpu_to_le64(dusk.cnt.rx_ok);
	st->rx_bad_mac = cpu_to_le64(dusk.cnt.rx_bad_mac);
	st->rx_malformed = cpu_to_le64(dusk.cnt.rx_malformed);
	st->rx_replayed = cpu_to_le64(dusk.cnt.rx_replayed);
	st->tx = cpu_to_le64(dusk.cnt.tx);
	st->tx_errors = cpu_to_le64(dusk.cnt.tx_errors);
	st->retransmits = cpu_to_le64(dusk.cnt.retransmits);
	st->hooks = cpu_to_le64(s->nr_hooks);
	st->queued = cpu_to_le64(READ_ONCE(dusk.nr_packets));
	st->verdicts = cpu_to_le64(dusk.cnt.verdicts);
	st->released = cpu_to_le64(dusk.cnt.released + READ_ONCE(dusk.rejected));
	st->allocs = cpu_to_le64(s->nr_allocs);
	r->reply_len = sizeof(*st);
	return 0;
}

static int dusk_do_bye(struct dusk_req *r)
{
	return 0;	/* the session ends once the reply is out */
}

static const struct dusk_rule dusk_rules[__DUSK_MSG_MAX] = {
	[DUSK_MSG_BYE] = { 0, true, true, dusk_do_bye },
	[DUSK_MSG_PING] = { 0, true, false, dusk_do_ping },
	[DUSK_MSG_READ] = { sizeof(struct dusk_read), true, false, dusk_do_read },
	[DUSK_MSG_WRITE] = { sizeof(struct dusk_write), false, true, dusk_do_write },
	[DUSK_MSG_CALL] = { sizeof(struct dusk_call), false, true, dusk_do_call },
	[DUSK_MSG_SYM] = { 1, false, false, dusk_do_sym },
	[DUSK_MSG_ALLOC] = { sizeof(struct dusk_alloc), true, true, dusk_do_alloc },
	[DUSK_MSG_FREE] = { sizeof(struct dusk_free), true, true, dusk_do_free },
	[DUSK_MSG_HOOK_REGISTER] = { sizeof(struct dusk_hook_register), true,
				     true, dusk_do_hook_register },
	[DUSK_MSG_HOOK_UNREGISTER] = { sizeof(struct dusk_hook_handle), true,
				       true, dusk_do_hook_unregister },
	[DUSK_MSG_VERDICT] = { sizeof(struct dusk_verdict), false, true,
			       dusk_do_verdict },
};

/*
 * Apply nr_segs struct dusk_seg records (each followed by its bytes,
 * padded to 8) as kernel writes, in order. -EBADMSG if they do not fill
 * exactly len bytes; -EFAULT stops at the first unwritable one.
 */
int dusk_segs_apply(const void *p, u32 len, u32 nr_segs)
{
	const void *end = p + len, *q = p;
	const struct dusk_seg *seg;
	u32 i, n;
	int ret;

	/* Validate the whole list before writing anything. */
	for (i = 0; i < nr_segs; i++) {
		if (end - q < (long)sizeof(*seg))
			return -EBADMSG;
		seg = q;
		n = le32_to_cpu(seg->len);
		if (seg->pad || (u64)(end - q) - sizeof(*seg) < DUSK_SEG_PAD((u64)n))
			return -EBADMSG;
		q += sizeof(*seg) + DUSK_SEG_PAD(n);
	}
	if (q != end)
		return -EBADMSG;
	for (q = p, i = 0; i < nr_segs; i++) {
		seg = q;
		n = le32_to_cpu(seg->len);
		ret = dusk_kwrite(le64_to_cpu(seg->addr), seg + 1, n);
		if (ret)
			return ret;
		q += sizeof(*seg) + DUSK_SEG_PAD(n);
	}
	return 0;
}

static void dusk_reply(struct dusk_session *s, const struct dusk_hdr *hdr,
		       const struct sockaddr_in *to, s32 status,
		       const void *payload, u32 len)
{
	void *p = dusk_msg_start(hdr->type, DUSK_F_REPLY, hdr->channel,
				 le64_to_cpu(hdr->id),
				 le64_to_cpu(hdr->invocation), status);

	if (payload != p && len)
		memcpy(p, payload, len);
	dusk_send(s, hdr->channel, to, dusk.tx_buf, len);
}

void dusk_dispatch(struct dusk_session *s, const struct dusk_hdr *hdr,
		   const struct sockaddr_in *from)
{
	const struct dusk_rule *rule = &dusk_rules[hdr->type];
	u64 id = le64_to_cpu(hdr->id);
	struct dusk_reply_slot *slot = NULL;
	struct dusk_req r = {
		.s = s,
		.hdr = hdr,
		.payload = hdr + 1,
		.len = le32_to_cpu(hdr->len),
	};
	int status;

	if (!rule->fn || id == 0 || r.len < rule->size ||
	    (rule->exact && r.len != rule->size)) {
		dusk_reply(s, hdr, from, -EBADMSG, NULL, 0);
		return;
	}
	if (rule->keep_reply) {
		if (id + DUSK_ID_WINDOW <= s->max_id) {
			dusk_reply(s, hdr, from, -ESTALE, NULL, 0);
			return;
		}
		slot = &s->replies[id % DUSK_ID_WINDOW];
		if (slot->id == id) {
			dusk_reply(s, hdr, from, slot->status, slot->payload,
				   slot->len);
			return;
		}
	}
	if (id > s->max_id)
		s->max_id = id;

	r.reply = dusk_msg_start(hdr->type, DUSK_F_REPLY, hdr->channel, id,
				 le64_to_cpu(hdr->invocation), 0);
	r.reply_max = min_t(u32, s->params.max_dgram, DUSK_MAX_DGRAM) -
		      sizeof(struct dusk_hdr);
	status = rule->fn(&r);
	if (status)
		r.reply_len = 0;

	/* Replies of requests with side effects are at most 16 bytes. */
	if (slot) {
		slot->id = id;
		slot->status = status;
		slot->type = hdr->type;
		slot->len = min_t(u32, r.reply_len, sizeof(slot->payload));
		memcpy(slot->payload, r.reply, slot->len);
	}
	((struct dusk_hdr *)dusk.tx_buf)->status = cpu_to_le32((u32)status);
	dusk_send(s, hdr->channel, from, dusk.tx_buf, r.reply_len);

	if (hdr->type == DUSK_MSG_BYE)
		dusk_session_end(s, "bye");
}
