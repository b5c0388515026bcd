// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Message checks are table driven: one row per type says who sends its
 * requests, the size of its fixed part (exact, or a minimum that segments
 * or bytes follow) and of its reply. Nothing reads a field of a message
 * before dusk_msg_parse() accepted it.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "codec.h"
#include "util.h"

struct dusk_msg_rule {
	const char *name;
	uint8_t sender;		/* enum dusk_msg_from of its requests */
	uint8_t chans;		/* DUSK_CHANS_* it may come on */
	uint8_t req_kind;	/* enum dusk_msg_size */
	uint32_t req_size;
	uint32_t segs_at;	/* DUSK_SIZE_SEGS: offset of __le32 nr_segs */
	uint8_t rep_kind;
	uint32_t rep_size;
};

/* The protocol's one table (dusk_proto.h), as the codec reads it. */
static const struct dusk_msg_rule dusk_msg_rules[__DUSK_MSG_MAX] = {
#define DUSK_X_RULE(nm, from, ch, kind, size, segs, rkind, rsize, keep)	\
	[DUSK_MSG_##nm] = { #nm, DUSK_FROM_##from, DUSK_CHANS_##ch,	\
			    DUSK_SIZE_##kind, size, segs,		\
			    DUSK_SIZE_##rkind, rsize },
	DUSK_MSG_TABLE(DUSK_X_RULE)
#undef DUSK_X_RULE
};

const char *dusk_msg_type_name(unsigned int type)
{
	if (type >= __DUSK_MSG_MAX || !dusk_msg_rules[type].name)
		return "INVALID";
	return dusk_msg_rules[type].name;
}

int dusk_msg_sender(unsigned int type)
{
	if (type >= __DUSK_MSG_MAX)
		return DUSK_FROM_NONE;
	return dusk_msg_rules[type].sender;
}

unsigned int dusk_msg_chans(unsigned int type)
{
	if (type >= __DUSK_MSG_MAX)
		return 0;
	return dusk_msg_rules[type].chans;
}

void dusk_msg_view(const void *buf, uint32_t payload_len, struct dusk_msg *ret)
{
	const struct dusk_hdr *h = buf;

	ret->version = h->version;
	ret->type = h->type;
	ret->channel = h->channel;
	ret->flags = h->flags;
	ret->session = le32toh(h->session);
	ret->seq = le64toh(h->seq);
	ret->id = le64toh(h->id);
	ret->invocation = le64toh(h->invocation);
	ret->status = (int32_t)le32toh(h->status);
	ret->len = payload_len;
	ret->payload = (const uint8_t *)(h + 1);
}

void *dusk_msg_init(void *buf, uint8_t type, uint8_t flags, uint8_t channel,
		    uint32_t session, uint64_t id, uint64_t invocation,
		    int32_t status)
{
	struct dusk_hdr *h = buf;

	memset(h, 0, sizeof(*h));
	h->magic = htole32(DUSK_MAGIC);
	h->version = DUSK_PROTO_VERSION;
	h->type = type;
	h->channel = channel;
	h->flags = flags;
	h->session = htole32(session);
	h->id = htole64(id);
	h->invocation = htole64(invocation);
	h->status = htole32((uint32_t)status);
	return h + 1;
}

size_t dusk_msg_seal(void *buf, uint32_t payload_len, uint64_t seq,
		     const struct dusk_hmac_key *key)
{
	struct dusk_hdr *h = buf;
	size_t len = DUSK_HDR_LEN + payload_len;

	h->len = htole32(payload_len);
	h->seq = htole64(seq);
	dusk_hmac_sha256(key, (uint8_t *)buf + DUSK_MAC_LEN, len - DUSK_MAC_LEN,
			 h->mac);
	return len;
}

int dusk_msg_peek(const void *buf, size_t len, uint32_t *ret_session)
{
	const struct dusk_hdr *h = buf;

	if (len < DUSK_HDR_LEN)
		return -EMSGSIZE;
	if (le32toh(h->magic) != DUSK_MAGIC)
		return -EPROTO;
	*ret_session = le32toh(h->session);
	return 0;
}

uint32_t dusk_seg_put(void *buf, uint64_t addr, const void *data, uint32_t len)
{
	struct dusk_seg seg = {
		.addr = htole64(addr),
		.len = htole32(len),
	};
	uint8_t *p = buf;

	memcpy(p, &seg, sizeof(seg));
	memcpy(p + sizeof(seg), data, len);
	memset(p + sizeof(seg) + len, 0, DUSK_SEG_PAD(len) - len);
	return dusk_seg_size(len);
}

int dusk_segs_validate(const void *p, size_t len, uint32_t nr)
{
	const uint8_t *q = p, *end = q + len;
	struct dusk_seg seg;
	uint32_t i;

	for (i = 0; i < nr; i++) {
		if ((size_t)(end - q) < sizeof(seg))
			return -ERANGE;
		memcpy(&seg, q, sizeof(seg));
		if (seg.pad)
			return -EILSEQ;
		if ((uint64_t)(end - q) - sizeof(seg) <
		    DUSK_SEG_PAD((uint64_t)le32toh(seg.len)))
			return -ERANGE;
		q += sizeof(seg) + DUSK_SEG_PAD((uint64_t)le32toh(seg.len));
	}
	return q == end ? 0 : -ERANGE;
}

void dusk_seg_iter_init(struct dusk_seg_iter *it, const void *p, size_t len,
			uint32_t nr)
{
	it->p = p;
	it->end = it->p + len;
	it->left = nr;
}

int dusk_seg_next(struct dusk_seg_iter *it, uint64_t *ret_addr,
		  const void **ret_data, uint32_t *ret_len)
{
	struct dusk_seg seg;

	if (!it->left)
		return 0;
	memcpy(&seg, it->p, sizeof(seg));
	*ret_addr = le64toh(seg.addr);
	*ret_len = le32toh(seg.len);
	*ret_data = it->p + sizeof(seg);
	it->p += dusk_seg_size(*ret_len);
	it->left--;
	return 1;
}

static uint32_t dusk_get32(const uint8_t *p, uint32_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return le32toh(v);
}

/* Where a batch's records say how much follows them (dusk_proto.h). */
struct dusk_batch_layout {
	uint32_t head;		/* the batch's own struct */
	uint32_t nr_at;		/* its record count */
	uint32_t rec;		/* each record's struct */
	uint32_t nr_segs_at, len_at;
};

static const struct dusk_batch_layout *dusk_batch_layout(uint8_t type)
{
	static const struct dusk_batch_layout hook = {
		sizeof(struct dusk_hook_batch),
		offsetof(struct dusk_hook_batch, nr),
		sizeof(struct dusk_hook_msg),
		offsetof(struct dusk_hook_msg, nr_segs),
		offsetof(struct dusk_hook_msg, len),
	}, verdict = {
		sizeof(struct dusk_verdict_batch),
		offsetof(struct dusk_verdict_batch, nr),
		sizeof(struct dusk_verdict),
		offsetof(struct dusk_verdict, nr_segs),
		offsetof(struct dusk_verdict, len),
	};

	return type == DUSK_MSG_HOOK ? &hook :
	       type == DUSK_MSG_VERDICT ? &verdict : NULL;
}

int dusk_batch_iter_init(struct dusk_batch_iter *it, const struct dusk_msg *m)
{
	const struct dusk_batch_layout *l = dusk_batch_layout(m->type);

	if (!l || m->len < l->head)
		return -EINVAL;
	it->p = m->payload + l->head;
	it->end = m->payload + m->len;
	it->left = dusk_get32(m->payload, l->nr_at);
	it->type = m->type;
	return 0;
}

int dusk_batch_next(struct dusk_batch_iter *it, const uint8_t **ret_rec,
		    uint32_t *ret_len)
{
	const struct dusk_batch_layout *l = dusk_batch_layout(it->type);
	uint64_t n;
	int err;

	if (!it->left)
		return 0;
	if ((size_t)(it->end - it->p) < l->rec)
		return -ERANGE;
	n = dusk_get32(it->p, l->len_at);
	if ((uint64_t)(it->end - it->p) - l->rec < n)
		return -ERANGE;
	err = dusk_segs_validate(it->p + l->rec, n,
				 dusk_get32(it->p, l->nr_segs_at));
	if (err)
		return err;
	*ret_rec = it->p;
	*ret_len = (uint32_t)(l->rec + n);
	it->p += l->rec + n;
	it->left--;
	return 1;
}

/* Every record well formed and the last one ending the payload. */
static int dusk_batch_validate(const struct dusk_msg *m)
{
	struct dusk_batch_iter it;
	const uint8_t *rec;
	uint32_t len;
	int err;

	err = dusk_batch_iter_init(&it, m);
	while (!err && (err = dusk_batch_next(&it, &rec, &len)) > 0)
		err = 0;
	if (err)
		return err;
	return it.p == it.end ? 0 : -ERANGE;
}

/* Pad and flags fields inside fixed parts: pad must be zero, flags known. */
static int dusk_msg_check_fields(const struct dusk_msg *m, int reply)
{
	const uint8_t *p = m->payload;
	uint32_t i, n;

	if (reply) {
		if (m->type != DUSK_MSG_HELLO)
			return 0;
		n = dusk_get32(p, offsetof(struct dusk_hello_reply, nr_regions));
		for (i = 0; i < n; i++)
			if (dusk_get32(p, sizeof(struct dusk_hello_reply) +
				       i * sizeof(struct dusk_region) +
				       offsetof(struct dusk_region, pad)))
				return -EILSEQ;
		return 0;
	}
	switch (m->type) {
	case DUSK_MSG_HELLO:
		return dusk_get32(p, offsetof(struct dusk_hello, pad)) ? -EILSEQ : 0;
	case DUSK_MSG_READ:
		return dusk_get32(p, offsetof(struct dusk_read, pad)) ? -EILSEQ : 0;
	case DUSK_MSG_WRITE:
		return dusk_get32(p, offsetof(struct dusk_write, pad)) ? -EILSEQ : 0;
	case DUSK_MSG_CALL: {
		const struct dusk_probe *pr =
			(const void *)(p + offsetof(struct dusk_call, probe));

		if (dusk_get32(p, offsetof(struct dusk_call, flags)) &
		    ~(uint32_t)DUSK_CALL_F_ALL)
			return -EINVAL;
		for (i = 0; i < DUSK_MAX_CALL_ARGS; i++)
			if (pr[i].kind >= __DUSK_PROBE_MAX ||
			    (pr[i].flags & ~DUSK_PROBE_F_ALL))
				return -EINVAL;
			else if (pr[i].pad)
				return -EILSEQ;
		return dusk_get32(p, offsetof(struct dusk_call, pad)) ? -EILSEQ : 0;
	}
	case DUSK_MSG_ALLOC:
		if (dusk_get32(p, offsetof(struct dusk_alloc, flags)) &
		    ~(uint32_t)DUSK_ALLOC_F_ALL)
			return -EINVAL;
		return dusk_get32(p, offsetof(struct dusk_alloc, pad)) ? -EILSEQ : 0;
	case DUSK_MSG_HOOK_REGISTER:
		return dusk_get32(p, offsetof(struct dusk_hook_register, pad)) ?
		       -EILSEQ : 0;
	case DUSK_MSG_HOOK_UNREGISTER:
		return dusk_get32(p, offsetof(struct dusk_hook_handle, pad)) ?
		       -EILSEQ : 0;
	case DUSK_MSG_HOOK:
		if (dusk_get32(p, offsetof(struct dusk_hook_batch, pad)))
			return -EILSEQ;
		return dusk_batch_validate(m);
	case DUSK_MSG_VERDICT:
		if (dusk_get32(p, offsetof(struct dusk_verdict_batch, pad)))
			return -EILSEQ;
		return dusk_batch_validate(m);
	default:
		return 0;
	}
}

static int dusk_msg_check_len(const struct dusk_msg *m, int reply)
{
	const struct dusk_msg_rule *r = &dusk_msg_rules[m->type];
	uint32_t size = reply ? r->rep_size : r->req_size;
	uint8_t kind = reply ? r->rep_kind : r->req_kind;
	uint64_t n;

	/* An error reply carries nothing, but HELLO's cookie (-EAGAIN). */
	if (reply && m->type == DUSK_MSG_HELLO && m->status == -EAGAIN)
		return m->len == sizeof(struct dusk_hello_cookie) ? 0 : -ERANGE;
	if (reply && m->status)
		return m->len ? -ERANGE : 0;
	switch (kind) {
	case DUSK_SIZE_NONE:
		return -ERANGE;		/* never answered */
	case DUSK_SIZE_EXACT:
		return m->len == size ? 0 : -ERANGE;
	case DUSK_SIZE_MIN:
		if (m->len < size)
			return -ERANGE;
		if (reply && m->type == DUSK_MSG_HELLO) {
			n = dusk_get32(m->payload,
				       offsetof(struct dusk_hello_reply,
						nr_regions));
			if (m->len != size + n * sizeof(struct dusk_region))
				return -ERANGE;
		}
		return 0;
	default:	/* DUSK_SIZE_SEGS */
		if (m->len < size)
			return -ERANGE;
		return dusk_segs_validate(m->payload + size, m->len - size,
					  dusk_get32(m->payload, r->segs_at));
	}
}

int dusk_msg_parse(const void *buf, size_t len, const struct dusk_hmac_key *key,
		   enum dusk_role role, struct dusk_msg *ret)
{
	const struct dusk_hdr *h = buf;
	uint8_t mac[DUSK_MAC_LEN];
	uint32_t session;
	int reply, sender, err;

	err = dusk_msg_peek(buf, len, &session);
	if (err)
		return err;
	if (le32toh(h->len) != len - DUSK_HDR_LEN)
		return -EMSGSIZE;
	dusk_hmac_sha256(key, (const uint8_t *)buf + DUSK_MAC_LEN,
			 len - DUSK_MAC_LEN, mac);
	if (dusk_memneq(mac, h->mac, DUSK_MAC_LEN))
		return -EBADMSG;

	ret->version = h->version;
	ret->type = h->type;
	ret->channel = h->channel;
	ret->flags = h->flags;
	ret->session = session;
	ret->seq = le64toh(h->seq);
	ret->id = le64toh(h->id);
	ret->invocation = le64toh(h->invocation);
	ret->status = (int32_t)le32toh(h->status);
	ret->len = le32toh(h->len);
	ret->payload = (const uint8_t *)(h + 1);

	if (h->version != DUSK_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	reply = !!(h->flags & DUSK_F_REPLY);
	if (h->type == DUSK_MSG_INVALID || h->type >= __DUSK_MSG_MAX)
		return -EOPNOTSUPP;
	/* The runtime receives HOOK requests and replies to its own
	 * requests; the kernel receives the runtime's requests only. */
	sender = dusk_msg_rules[h->type].sender;
	if (role == DUSK_ROLE_RUNTIME ?
	    sender != (reply ? DUSK_FROM_RUNTIME : DUSK_FROM_KERNEL) :
	    reply || sender != DUSK_FROM_RUNTIME)
		return -EOPNOTSUPP;
	if (h->channel >= __DUSK_CHAN_MAX ||
	    !(dusk_msg_rules[h->type].chans & (1U << h->channel)))
		return -ECHRNG;
	if (h->flags & ~(uint8_t)DUSK_F_ALL)
		return -EINVAL;
	if (h->reserved)
		return -EILSEQ;
	/* Requests carry no status; replies 0 or a negative errno. */
	if (reply ? (ret->status > 0 || ret->status < -4095) : ret->status)
		return -EILSEQ;
	if ((session == 0) != (h->type == DUSK_MSG_HELLO))
		return -ESRCH;
	err = dusk_msg_check_len(ret, reply);
	if (err)
		return err;
	if (reply && ret->status)
		return 0;
	return dusk_msg_check_fields(ret, reply);
}
