// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * libFuzzer over the runtime's codec (runtime/core/codec.c): what a
 * datagram from the network meets before anything acts on it.
 *
 * An input is one control byte then one datagram. The control byte fixes
 * up header fields (bit 0: hdr.len, bit 1: magic, bit 2: version and
 * reserved) so that the fuzzer gets past them, and picks the receiving
 * role (bit 3); the datagram is then signed with a fixed key (bit 4:
 * spoiled after), so that the checks behind the MAC are fuzzed.
 *
 * Beyond what ASan and UBSan catch, it checks: a spoiled MAC is refused
 * with -EBADMSG; an accepted message's segments iterate over exactly its
 * payload; and an accepted message built again with dusk_msg_init() and
 * dusk_msg_seal() is the very datagram received.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static struct dusk_hmac_key fuzz_key;

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_codec: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t key[DUSK_KEY_LEN] = "dusk-fuzz-codec-key-0123456789a";

	dusk_hmac_key_init(&fuzz_key, key, sizeof(key));
	return 0;
}

static uint32_t fuzz_get32(const uint8_t *p, uint32_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return le32toh(v);
}

/* The fixed part of a message's payload, and where its nr_segs lies:
 * from the header's table, independently of the codec's copy. */
static int fuzz_segs_layout(const struct dusk_msg *m, uint32_t *size,
			    uint32_t *segs_at)
{
	if (m->flags & DUSK_F_REPLY)
		return 0;
#define FUZZ_X(name, from, chans, kind, sz, at, rkind, rsize, keep)	\
	if (m->type == DUSK_MSG_##name &&				\
	    DUSK_SIZE_##kind == DUSK_SIZE_SEGS) {			\
		*size = (sz);						\
		*segs_at = (at);					\
		return 1;						\
	}
	DUSK_MSG_TABLE(FUZZ_X)
#undef FUZZ_X
	return 0;
}

static volatile uint8_t fuzz_sink;

/* Walk an accepted message as its users do. */
static void fuzz_walk(const struct dusk_msg *m)
{
	struct dusk_seg_iter it;
	uint32_t size, segs_at, n, len, i;
	const void *data;
	uint64_t addr, used;
	uint8_t sum = 0;

	if (!fuzz_segs_layout(m, &size, &segs_at))
		return;
	n = fuzz_get32(m->payload, segs_at);
	dusk_seg_iter_init(&it, m->payload + size, m->len - size, n);
	used = size;
	while (dusk_seg_next(&it, &addr, &data, &len)) {
		for (i = 0; i < len; i++)
			sum += ((const uint8_t *)data)[i];
		used += dusk_seg_size(len);
		n--;
	}
	fuzz_sink = sum;
	if (n || used != m->len)
		fuzz_fail("segments do not cover the payload exactly");
}

/* Build the message again from what parse gave: the same bytes. */
static void fuzz_rebuild(const struct dusk_msg *m, const uint8_t *dgram,
			 size_t len)
{
	uint8_t *buf = malloc(len);
	void *payload;

	payload = dusk_msg_init(buf, m->type, m->flags, m->channel, m->session,
				m->id, m->invocation, m->status);
	memcpy(payload, m->payload, m->len);
	if (dusk_msg_seal(buf, m->len, m->seq, &fuzz_key) != len ||
	    memcmp(buf, dgram, len))
		fuzz_fail("an accepted message does not build back to itself");
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum dusk_role role;
	struct dusk_hdr *h;
	struct dusk_msg m;
	uint8_t ctl, *buf;
	uint32_t session;
	size_t len;
	int err;

	if (size < 1)
		return -1;
	ctl = data[0];
	len = size - 1;
	buf = malloc(len ? len : 1);	/* exactly len: ASan sees past it */
	memcpy(buf, data + 1, len);
	h = (struct dusk_hdr *)buf;
	role = ctl & 8 ? DUSK_ROLE_KERNEL : DUSK_ROLE_RUNTIME;
	if (len >= DUSK_HDR_LEN) {
		if (ctl & 1)
			h->len = htole32(len - DUSK_HDR_LEN);
		if (ctl & 2)
			h->magic = htole32(DUSK_MAGIC);
		if (ctl & 4) {
			h->version = DUSK_PROTO_VERSION;
			h->reserved = 0;
		}
		dusk_hmac_sha256(&fuzz_key, buf + DUSK_MAC_LEN,
				 len - DUSK_MAC_LEN, h->mac);
		if (ctl & 16)
			h->mac[ctl >> 5] ^= 0x80;
	}
	if (dusk_msg_peek(buf, len, &session) == 0 &&
	    session != le32toh(h->session))
		fuzz_fail("peek gives another session");
	memset(&m, 0, sizeof(m));
	err = dusk_msg_parse(buf, len, &fuzz_key, role, &m);
	if (ctl & 16 && len >= DUSK_HDR_LEN &&
	    le32toh(h->magic) == DUSK_MAGIC &&
	    le32toh(h->len) == len - DUSK_HDR_LEN && err != -EBADMSG)
		fuzz_fail("a spoiled MAC is not refused");
	if (!err) {
		fuzz_walk(&m);
		fuzz_rebuild(&m, buf, len);
	}
	free(buf);
	return 0;
}
