// SPDX-License-Identifier: GPL-2.0
/*
 * Authentication: HMAC-SHA256 over every datagram, session keys, and the
 * replay window. Built on the kernel's SHA-256 library (lib/crypto), which
 * neither allocates nor sleeps, so a MAC costs no more than the hashing.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/bitops.h>
#include <crypto/algapi.h>

#include "dusk_kmod.h"

int dusk_key_parse(const char *hex, u8 key[DUSK_KEY_LEN])
{
	if (!hex || strnlen(hex, 2 * DUSK_KEY_LEN + 2) != 2 * DUSK_KEY_LEN)
		return -EINVAL;
	return hex2bin(key, hex, DUSK_KEY_LEN);
}

void dusk_mac_key_init(struct dusk_mac_key *mk, const u8 *key, size_t len)
{
	u8 pad[SHA256_BLOCK_SIZE];
	unsigned int i;

	/* Keys are at most one block here: DUSK_KEY_LEN is 32. */
	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, min_t(size_t, len, sizeof(pad)));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	sha256_init(&mk->inner);
	sha256_update(&mk->inner, pad, sizeof(pad));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	sha256_init(&mk->outer);
	sha256_update(&mk->outer, pad, sizeof(pad));
	memzero_explicit(pad, sizeof(pad));
}

void dusk_mac(const struct dusk_mac_key *mk, const void *data, size_t len,
	      u8 out[DUSK_MAC_LEN])
{
	struct sha256_state st = mk->inner;
	u8 inner[SHA256_DIGEST_SIZE];

	sha256_update(&st, data, len);
	sha256_final(&st, inner);
	st = mk->outer;
	sha256_update(&st, inner, sizeof(inner));
	sha256_final(&st, out);
	memzero_explicit(inner, sizeof(inner));
}

/* The MAC covers the datagram after the mac field itself. */
bool dusk_mac_ok(const struct dusk_mac_key *mk, const void *dgram,
		 size_t len)
{
	u8 mac[DUSK_MAC_LEN];

	dusk_mac(mk, dgram + DUSK_MAC_LEN, len - DUSK_MAC_LEN, mac);
	return !crypto_memneq(mac, dgram, DUSK_MAC_LEN);
}

void dusk_mac_sign(const struct dusk_mac_key *mk, void *dgram, size_t len)
{
	dusk_mac(mk, dgram + DUSK_MAC_LEN, len - DUSK_MAC_LEN, dgram);
}

/*
 * Seal a message of payload_len bytes in dgram: its length, session, next
 * seq of the channel and MAC. s == NULL means a HELLO reply, which is
 * keyed with the master key and carries session 0.
 */
void dusk_seal(struct dusk_session *s, unsigned int channel, void *dgram,
	       size_t payload_len)
{
	struct dusk_hdr *hdr = dgram;
	size_t len = sizeof(*hdr) + payload_len;

	hdr->len = cpu_to_le32(payload_len);
	if (s) {
		hdr->session = cpu_to_le32(s->id);
		hdr->seq = cpu_to_le64(++s->tx_seq[channel]);
		dusk_mac_sign(&s->key, dgram, len);
	} else {
		hdr->session = 0;
		hdr->seq = cpu_to_le64(1);
		dusk_mac_sign(&dusk.master_key, dgram, len);
	}
}

void dusk_session_key(const u8 master[DUSK_KEY_LEN], const u8 *client_nonce,
		      const u8 *server_nonce, u32 session_id,
		      struct dusk_mac_key *ret)
{
	static const char label[] = DUSK_SESSION_LABEL;
	u8 msg[sizeof(label) - 1 + 2 * DUSK_NONCE_LEN + sizeof(__le32)];
	__le32 id = cpu_to_le32(session_id);
	struct dusk_mac_key mk;
	u8 key[DUSK_MAC_LEN];
	u8 *p = msg;

	memcpy(p, label, sizeof(label) - 1);
	p += sizeof(label) - 1;
	memcpy(p, client_nonce, DUSK_NONCE_LEN);
	p += DUSK_NONCE_LEN;
	memcpy(p, server_nonce, DUSK_NONCE_LEN);
	p += DUSK_NONCE_LEN;
	memcpy(p, &id, sizeof(id));

	dusk_mac_key_init(&mk, master, DUSK_KEY_LEN);
	dusk_mac(&mk, msg, sizeof(msg), key);
	dusk_mac_key_init(ret, key, sizeof(key));
	memzero_explicit(key, sizeof(key));
	memzero_explicit(&mk, sizeof(mk));
}

/*
 * Sliding window as in RFC 6479: accept seq once, within
 * DUSK_REPLAY_WINDOW of the highest seen. Only called after the MAC
 * checked out, so a forged seq cannot advance the window.
 */
bool dusk_replay_check(struct dusk_replay *rw, u64 seq)
{
	const u64 nbits = DUSK_REPLAY_WINDOW;
	u64 i;

	if (seq == 0)
		return false;
	if (seq > rw->top) {
		if (seq - rw->top >= nbits) {
			bitmap_zero(rw->bits, nbits);
		} else {
			for (i = rw->top + 1; i < seq; i++)
				__clear_bit(i % nbits, rw->bits);
		}
		__set_bit(seq % nbits, rw->bits);
		rw->top = seq;
		return true;
	}
	if (rw->top - seq >= nbits)
		return false;
	return !__test_and_set_bit(seq % nbits, rw->bits);
}
