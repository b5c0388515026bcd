// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * SHA-256 and HMAC-SHA256, straight from FIPS 180-4 and RFC 2104; checked
 * against the RFC 4231 vectors by tests/runtime/core/test_hmac.c.
 */
#include <string.h>

#include "hmac_sha256.h"

static const uint32_t dusk_sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static void dusk_sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^
			      (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) +
		     ((e & f) ^ (~e & g)) + dusk_sha256_k[i] + w[i];
		t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) +
		     ((a & b) ^ (a & c) ^ (b & c));
		hh = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void dusk_sha256_init(struct dusk_sha256 *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(c->h, iv, sizeof(iv));
	c->bytes = 0;
	c->fill = 0;
}

void dusk_sha256_update(struct dusk_sha256 *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n;

	c->bytes += len;
	if (c->fill) {
		n = DUSK_SHA256_BLOCK - c->fill;
		if (n > len)
			n = len;
		memcpy(c->buf + c->fill, p, n);
		c->fill += n;
		p += n;
		len -= n;
		if (c->fill < DUSK_SHA256_BLOCK)
			return;
		dusk_sha256_block(c->h, c->buf);
		c->fill = 0;
	}
	for (; len >= DUSK_SHA256_BLOCK; p += DUSK_SHA256_BLOCK,
	     len -= DUSK_SHA256_BLOCK)
		dusk_sha256_block(c->h, p);
	memcpy(c->buf, p, len);
	c->fill = len;
}

void dusk_sha256_final(struct dusk_sha256 *c, uint8_t out[DUSK_SHA256_DIGEST])
{
	uint64_t bits = c->bytes * 8;
	int i;

	c->buf[c->fill++] = 0x80;
	if (c->fill > DUSK_SHA256_BLOCK - 8) {
		memset(c->buf + c->fill, 0, DUSK_SHA256_BLOCK - c->fill);
		dusk_sha256_block(c->h, c->buf);
		c->fill = 0;
	}
	memset(c->buf + c->fill, 0, DUSK_SHA256_BLOCK - 8 - c->fill);
	for (i = 0; i < 8; i++)
		c->buf[DUSK_SHA256_BLOCK - 1 - i] = (uint8_t)(bits >> (8 * i));
	dusk_sha256_block(c->h, c->buf);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
	dusk_memzero_explicit(c, sizeof(*c));
}

void dusk_hmac_key_init(struct dusk_hmac_key *k, const void *key, size_t len)
{
	uint8_t pad[DUSK_SHA256_BLOCK];
	struct dusk_sha256 c;
	size_t i;

	memset(pad, 0, sizeof(pad));
	if (len > DUSK_SHA256_BLOCK) {
		dusk_sha256_init(&c);
		dusk_sha256_update(&c, key, len);
		dusk_sha256_final(&c, pad);
	} else if (len) {
		memcpy(pad, key, len);
	}
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	dusk_sha256_init(&k->inner);
	dusk_sha256_update(&k->inner, pad, sizeof(pad));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	dusk_sha256_init(&k->outer);
	dusk_sha256_update(&k->outer, pad, sizeof(pad));
	dusk_memzero_explicit(pad, sizeof(pad));
}

void dusk_hmac_key_wipe(struct dusk_hmac_key *k)
{
	dusk_memzero_explicit(k, sizeof(*k));
}

void dusk_hmac_init(struct dusk_hmac *h, const struct dusk_hmac_key *k)
{
	h->key = k;
	h->st = k->inner;
}

void dusk_hmac_update(struct dusk_hmac *h, const void *data, size_t len)
{
	dusk_sha256_update(&h->st, data, len);
}

void dusk_hmac_final(struct dusk_hmac *h, uint8_t out[DUSK_SHA256_DIGEST])
{
	uint8_t inner[DUSK_SHA256_DIGEST];

	dusk_sha256_final(&h->st, inner);
	h->st = h->key->outer;
	dusk_sha256_update(&h->st, inner, sizeof(inner));
	dusk_sha256_final(&h->st, out);
	dusk_memzero_explicit(inner, sizeof(inner));
}

void dusk_hmac_sha256(const struct dusk_hmac_key *k, const void *data,
		      size_t len, uint8_t out[DUSK_SHA256_DIGEST])
{
	struct dusk_hmac h;

	dusk_hmac_init(&h, k);
	dusk_hmac_update(&h, data, len);
	dusk_hmac_final(&h, out);
}

int dusk_memneq(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}

void dusk_memzero_explicit(void *p, size_t len)
{
	memset(p, 0, len);
	/* The barrier makes the stores observable: they cannot be elided. */
	__asm__ __volatile__("" : : "r"(p) : "memory");
}
