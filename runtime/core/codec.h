/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * codec.h - dusk messages on the wire: building and sealing them, and
 * checking a received datagram against the per-type table before anything
 * acts on it. Each kind of rejection has its own errno:
 *
 *	-EMSGSIZE	shorter than a header, or hdr.len is not the rest
 *	-EPROTO		bad magic
 *	-EBADMSG	bad MAC
 *	-EPROTONOSUPPORT other protocol version (*ret is filled: a HELLO
 *			reply refusing our version is still readable)
 *	-EOPNOTSUPP	unknown type, or a type this side never receives
 *	-ECHRNG		unknown channel
 *	-EINVAL		unknown flag (header or per-message flags field)
 *	-EILSEQ		reserved, pad or status field not as required
 *	-ESRCH		session 0 on other than HELLO, or HELLO in a session
 *	-ERANGE		payload length wrong for the type, or its segments
 *			do not fill it exactly
 *
 * Replay (-EALREADY) is the session's business: see window.h.
 */
#ifndef DUSK_CODEC_H
#define DUSK_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "dusk_proto.h"
#include "hmac_sha256.h"

#define DUSK_HDR_LEN	((uint32_t)sizeof(struct dusk_hdr))
#define DUSK_SEG_HDR	((uint32_t)sizeof(struct dusk_seg))

/* Who is receiving: decides which types may arrive as requests. */
enum dusk_role {
	DUSK_ROLE_RUNTIME,	/* receives HOOK requests and replies */
	DUSK_ROLE_KERNEL,	/* receives runtime requests (the test fake) */
};

/* A received message, fields in host order; payload points into the
 * datagram. */
struct dusk_msg {
	uint8_t version;
	uint8_t type;
	uint8_t channel;
	uint8_t flags;
	uint32_t session;
	uint64_t seq;
	uint64_t id;
	uint64_t invocation;
	int32_t status;
	uint32_t len;
	const uint8_t *payload;
};

const char *dusk_msg_type_name(unsigned int type);
/* Who sends requests of type (enum dusk_msg_from); DUSK_FROM_NONE for a
 * type that does not exist. */
int dusk_msg_sender(unsigned int type);
/* The channels (DUSK_CHANS_* bits) type may be sent on; 0 for none. */
unsigned int dusk_msg_chans(unsigned int type);
/* The header of an unsealed message we built (dusk_msg_init() and
 * payload_len bytes of payload), as parse would give it. */
void dusk_msg_view(const void *buf, uint32_t payload_len, struct dusk_msg *ret);

/* Start a message in buf (at least DUSK_HDR_LEN bytes): returns where the
 * payload goes. len, seq and mac are filled by dusk_msg_seal(). */
void *dusk_msg_init(void *buf, uint8_t type, uint8_t flags, uint8_t channel,
		    uint32_t session, uint64_t id, uint64_t invocation,
		    int32_t status);
/* Set len and seq and compute the MAC; returns the datagram's length.
 * A retransmission is the same buffer sealed again with a new seq. */
size_t dusk_msg_seal(void *buf, uint32_t payload_len, uint64_t seq,
		     const struct dusk_hmac_key *key);

/* What can be learnt before authenticating: the session id that picks the
 * key. -EMSGSIZE, -EPROTO. */
int dusk_msg_peek(const void *buf, size_t len, uint32_t *ret_session);
/* Full check (see above). */
int dusk_msg_parse(const void *buf, size_t len, const struct dusk_hmac_key *key,
		   enum dusk_role role, struct dusk_msg *ret);

/* ---- segments: struct dusk_seg, len bytes, zeros to DUSK_SEG_PAD ---- */

static inline uint32_t dusk_seg_size(uint32_t len)
{
	return DUSK_SEG_HDR + DUSK_SEG_PAD(len);
}

/* Write one segment at buf (room for dusk_seg_size(len)); returns its size. */
uint32_t dusk_seg_put(void *buf, uint64_t addr, const void *data,
		      uint32_t len);

struct dusk_seg_iter {
	const uint8_t *p, *end;
	uint32_t left;
};

/* -ERANGE if nr segments do not fill [p, p+len) exactly, -EILSEQ on a
 * non-zero pad field. */
int dusk_segs_validate(const void *p, size_t len, uint32_t nr);

/*
 * The records of a HOOK or VERDICT batch, each its fixed struct and the
 * segments after it: dusk_batch_next() gives 1 and the record (rec_len
 * bytes in all), 0 after the last, -ERANGE or -EILSEQ if malformed (a message
 * dusk_msg_parse() accepted never is).
 */
struct dusk_batch_iter {
	const uint8_t *p, *end;
	uint32_t left;
	uint8_t type;
};
int dusk_batch_iter_init(struct dusk_batch_iter *it, const struct dusk_msg *m);
int dusk_batch_next(struct dusk_batch_iter *it, const uint8_t **ret_rec,
		    uint32_t *ret_len);
void dusk_seg_iter_init(struct dusk_seg_iter *it, const void *p, size_t len,
			uint32_t nr);
/* 1 and the next segment, or 0 at the end. Only on validated lists. */
int dusk_seg_next(struct dusk_seg_iter *it, uint64_t *ret_addr,
		  const void **ret_data, uint32_t *ret_len);

#endif /* DUSK_CODEC_H */
