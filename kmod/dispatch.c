// SPDX-License-Identifier: GPL-2.0
/*
 * Request dispatch: every authenticated request is checked against the
 * message table (msg.c: sender, channel, payload size), executed at most
 * once per request id, and answered. One table-driven body serves two
 * executors:
 *
 * - the thread, for the main and watchdog channels (dusk_dispatch): ids
 *   per channel; requests with side effects keep their reply so that a
 *   retransmission is answered again without being executed again; reads
 *   are simply executed again;
 * - the caller of a proxy, for the requests of its invocation on
 *   DUSK_CHAN_INV (dusk_dispatch_inv, from invoke.c): ids 1, 2, 3... one
 *   at a time; the last reply, whole, is kept in the caller's buffer.
 */
#include <linux/kernel.h>
#include <linux/build_bug.h>
#include <linux/string.h>

#include "dusk_kmod.h"

typedef int (*dusk_handler_fn)(struct dusk_req *r);

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
	st->open_files = cpu_to_le64(dusk_proxies_open_files(s));
	r->reply_len = sizeof(*st);
	r->reply_len += sizeof(struct dusk_hook_count) *
			dusk_hooks_count(s, st + 1,
					 (r->reply_max - sizeof(*st)) /
					 sizeof(struct dusk_hook_count));
	return 0;
}

static int dusk_do_bye(struct dusk_req *r)
{
	r->end_session = "bye";		/* once the reply is out */
	return 0;
}

/*
 * kmod's own column of the message table: the handler of each type. Every
 * type of DUSK_MSG_TABLE needs its line here (the build fails otherwise);
 * NULL for those that are not requests executed here.
 */
#define DUSK_HANDLER_HELLO		NULL	/* session 0: session.c */
#define DUSK_HANDLER_BYE		dusk_do_bye
#define DUSK_HANDLER_PING		dusk_do_ping
#define DUSK_HANDLER_READ		dusk_do_read
#define DUSK_HANDLER_WRITE		dusk_do_write
#define DUSK_HANDLER_CALL		dusk_do_call
#define DUSK_HANDLER_SYM		dusk_do_sym
#define DUSK_HANDLER_ALLOC		dusk_do_alloc
#define DUSK_HANDLER_FREE		dusk_do_free
#define DUSK_HANDLER_HOOK_REGISTER	dusk_do_hook_register
#define DUSK_HANDLER_HOOK_UNREGISTER	dusk_do_hook_unregister
#define DUSK_HANDLER_HOOK		NULL	/* the kernel sends it */
#define DUSK_HANDLER_VERDICT		dusk_do_verdict
#define DUSK_HANDLER_INVOKE		NULL	/* the kernel sends it */
#define DUSK_HANDLER_RETURN		dusk_do_return
#define DUSK_HANDLER_UACCESS		dusk_do_uaccess
#define DUSK_HANDLER_PROXY_REGISTER	dusk_do_proxy_register
#define DUSK_HANDLER_PROXY_UNREGISTER	dusk_do_proxy_unregister
#define DUSK_HANDLER_SIGNAL		NULL	/* the kernel sends it */
#define DUSK_HANDLER_KTHREAD_CREATE	dusk_do_kthread_create
#define DUSK_HANDLER_KTHREAD_STOP	dusk_do_kthread_stop

#define DUSK_X_HANDLER(name, ...)	[DUSK_MSG_##name] = DUSK_HANDLER_##name,
static const dusk_handler_fn dusk_handlers[__DUSK_MSG_MAX] = {
	DUSK_MSG_TABLE(DUSK_X_HANDLER)
};
#undef DUSK_X_HANDLER

/* A kept reply is a whole reply: exactly rep_size bytes, that fit a slot. */
#define DUSK_X_KEPT_FITS(name, from, chans, kind, size, segs_at, rep_kind, \
			 rep_size, keep)					\
	static_assert(!(keep) || (DUSK_SIZE_##rep_kind == DUSK_SIZE_EXACT && \
		      (rep_size) <= sizeof_field(struct dusk_reply_slot,	\
						 payload)));
DUSK_MSG_TABLE(DUSK_X_KEPT_FITS)
#undef DUSK_X_KEPT_FITS

/*
 * Check that nr_segs struct dusk_seg records (each followed by its bytes,
 * padded to 8) fill exactly len bytes: 0 or -EBADMSG.
 */
int dusk_segs_check(const void *p, u32 len, u32 nr_segs)
{
	const void *end = p + len, *q = p;
	const struct dusk_seg *seg;
	u32 i, n;

	for (i = 0; i < nr_segs; i++) {
		if (end - q < (long)sizeof(*seg))
			return -EBADMSG;
		seg = q;
		n = le32_to_cpu(seg->len);
		if (seg->pad || (u64)(end - q) - sizeof(*seg) < DUSK_SEG_PAD((u64)n))
			return -EBADMSG;
		q += sizeof(*seg) + DUSK_SEG_PAD(n);
	}
	return q == end ? 0 : -EBADMSG;
}

/*
 * Apply nr_segs segments as kernel writes, in order, once the whole list
 * checked out. -EBADMSG if malformed; -EFAULT stops at the first
 * unwritable one.
 */
int dusk_segs_apply(const void *p, u32 len, u32 nr_segs)
{
	const struct dusk_seg *seg;
	const void *q;
	u32 i, n;
	int ret;

	ret = dusk_segs_check(p, len, nr_segs);
	if (ret)
		return ret;
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

/* A reply with no payload, built in a buffer of its own: any executor. */
void dusk_reply_status(struct dusk_session *s, const struct dusk_hdr *hdr,
		       const struct sockaddr_in *to, s32 status)
{
	struct dusk_hdr rep;

	dusk_msg_start_in(&rep, hdr->type, DUSK_F_REPLY, hdr->channel,
			  le64_to_cpu(hdr->id), le64_to_cpu(hdr->invocation),
			  status);
	dusk_send(s, hdr->channel, to, &rep, 0);
}

/* The table's rules for a request: its handler, or NULL (-EBADMSG). */
static dusk_handler_fn dusk_req_handler(const struct dusk_hdr *hdr, u32 len)
{
	if (!dusk_msg_rule(hdr->type) || hdr->id == 0 ||
	    dusk_msg_check(hdr->type, hdr->channel, len))
		return NULL;
	return dusk_handlers[hdr->type];
}

/*
 * What the thread checks of an INV datagram before it routes it: the
 * table's rules (a type the runtime sends on DUSK_CHAN_INV, its size) and
 * a request id. 0 or -EBADMSG, which the thread answers itself.
 */
int dusk_inv_check(const struct dusk_hdr *hdr)
{
	return dusk_req_handler(hdr, le32_to_cpu(hdr->len)) ? 0 : -EBADMSG;
}

/*
 * Execute r (its reply area set up) with fn: the status, and the reply's
 * payload in r->reply, r->reply_len (0 on error).
 */
static int dusk_execute(struct dusk_req *r, dusk_handler_fn fn)
{
	const struct dusk_msg_rule *rule = dusk_msg_rule(r->hdr->type);
	int status;

	status = fn(r);
	if (!status && !dusk_msg_reply_ok(rule, r->reply_len)) {
		/* A bug of dusk.ko: refuse rather than send what the table
		 * says the runtime cannot parse. */
		pr_err_once("dusk: %s reply of %u bytes does not fit the message table\n",
			    rule->name, r->reply_len);
		status = -EPROTO;
	}
	if (status)
		r->reply_len = 0;
	return status;
}

/*
 * Execute one authenticated request of session s, by the thread. Its
 * header was checked by the loop (type in range, channel < __DUSK_CHAN_MAX,
 * replay window); the table's rules are checked here: -EBADMSG for a type
 * the runtime does not send, a channel the type may not use, a payload of
 * the wrong size, id 0, or the id of a kept reply of another type. Ids
 * are per channel: each channel has its own newest id and kept replies,
 * so the main channel and the watchdog both count from 1.
 */
void dusk_dispatch(struct dusk_session *s, const struct dusk_hdr *hdr,
		   const struct sockaddr_in *from)
{
	const struct dusk_msg_rule *rule = dusk_msg_rule(hdr->type);
	unsigned int ch = hdr->channel;
	u64 id = le64_to_cpu(hdr->id);
	struct dusk_reply_slot *slot = NULL;
	struct dusk_req r = {
		.s = s,
		.hdr = hdr,
		.payload = hdr + 1,
		.len = le32_to_cpu(hdr->len),
	};
	dusk_handler_fn fn = dusk_req_handler(hdr, r.len);
	int status;

	/* The invocation channel is its callers' (loop.c routes it). */
	if (!fn || ch == DUSK_CHAN_INV) {
		dusk_reply_status(s, hdr, from, -EBADMSG);
		return;
	}
	if (rule->keep) {
		if (id + DUSK_ID_WINDOW <= s->max_id[ch]) {
			dusk_reply_status(s, hdr, from, -ESTALE);
			return;
		}
		slot = &s->replies[ch][id % DUSK_ID_WINDOW];
		if (slot->id == id) {
			/* The kept reply is its type's; an id reused for
			 * another type is no retransmission. */
			if (slot->type != hdr->type) {
				dusk_reply_status(s, hdr, from, -EBADMSG);
				return;
			}
			memcpy(dusk_msg_start(hdr->type, DUSK_F_REPLY, ch, id,
					      le64_to_cpu(hdr->invocation),
					      slot->status),
			       slot->payload, slot->len);
			dusk_send(s, ch, from, dusk.tx_buf, slot->len);
			return;
		}
	}
	if (id > s->max_id[ch])
		s->max_id[ch] = id;
	/* A message nobody answers (VERDICT): its handler counts errors. */
	if (rule->rep_kind == DUSK_SIZE_NONE) {
		fn(&r);
		return;
	}

	r.reply = dusk_msg_start(hdr->type, DUSK_F_REPLY, ch, id,
				 le64_to_cpu(hdr->invocation), 0);
	r.reply_max = min_t(u32, s->params.max_dgram, DUSK_MAX_DGRAM) -
		      sizeof(struct dusk_hdr);
	status = dusk_execute(&r, fn);

	/* Kept replies fit their slot (checked against the table above). */
	if (slot) {
		slot->id = id;
		slot->status = status;
		slot->type = hdr->type;
		slot->len = min_t(u32, r.reply_len, sizeof(slot->payload));
		memcpy(slot->payload, r.reply, slot->len);
	}
	((struct dusk_hdr *)dusk.tx_buf)->status = cpu_to_le32((u32)status);
	dusk_send(s, ch, from, dusk.tx_buf, r.reply_len);

	if (r.end_session)
		dusk_session_end(s, r.end_session);
}

/*
 * Execute one request of invocation inv, by its caller (invoke.c), whose
 * record rec keeps the last reply whole in rec->buf. The table's rules as
 * above (-EBADMSG); then the id: the last one again gets its reply again
 * (-EBADMSG if of another type), the next one is executed, an older one
 * gets -ESTALE and one that skips -EPROTO, neither executed. Error
 * replies that are not the execution's own leave the kept reply alone.
 */
void dusk_dispatch_inv(struct dusk_session *s, struct dusk_inv *inv,
		       struct dusk_inv_rec *rec, const struct dusk_hdr *hdr,
		       const struct sockaddr_in *from)
{
	u64 id = le64_to_cpu(hdr->id);
	struct dusk_req r = {
		.s = s,
		.inv = inv,
		.hdr = hdr,
		.payload = hdr + 1,
		.len = le32_to_cpu(hdr->len),
	};
	dusk_handler_fn fn = dusk_req_handler(hdr, r.len);
	int status;

	if (!fn || hdr->channel != DUSK_CHAN_INV) {
		dusk_reply_status(s, hdr, from, -EBADMSG);
		return;
	}
	if (rec->last_id && id == rec->last_id) {
		if (hdr->type != rec->last_type)
			dusk_reply_status(s, hdr, from, -EBADMSG);
		else
			dusk_send(s, DUSK_CHAN_INV, from, rec->buf,
				  rec->last_len);
		return;
	}
	if (id < rec->last_id) {
		dusk_reply_status(s, hdr, from, -ESTALE);
		return;
	}
	if (id != rec->last_id + 1) {
		dusk_reply_status(s, hdr, from, -EPROTO);
		return;
	}

	r.reply = dusk_msg_start_in(rec->buf, hdr->type, DUSK_F_REPLY,
				    DUSK_CHAN_INV, id,
				    le64_to_cpu(hdr->invocation), 0);
	r.reply_max = rec->buf_len - sizeof(struct dusk_hdr);
	status = dusk_execute(&r, fn);
	((struct dusk_hdr *)rec->buf)->status = cpu_to_le32((u32)status);
	rec->last_id = id;
	rec->last_type = hdr->type;
	rec->last_len = r.reply_len;
	dusk_send(s, DUSK_CHAN_INV, from, rec->buf, r.reply_len);
	/* A CALL that changed the caller's context (call.c) is answered;
	 * the session then ends by the thread's hand, at its next pass. */
	if (r.end_session)
		dusk_inv_end_session(s, r.end_session);
}
