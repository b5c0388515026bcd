/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * hmac_sha256.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), with no
 * library dependency. An HMAC key is kept as the two hash states after the
 * ipad and opad blocks, so that a MAC costs the message's blocks plus two.
 */
#ifndef DUSK_HMAC_SHA256_H
#define DUSK_HMAC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define DUSK_SHA256_BLOCK	64
#define DUSK_SHA256_DIGEST	32

struct dusk_sha256 {
	uint32_t h[8];
	uint64_t bytes;		/* total absorbed */
	uint8_t buf[DUSK_SHA256_BLOCK];
	size_t fill;
};

void dusk_sha256_init(struct dusk_sha256 *c);
void dusk_sha256_update(struct dusk_sha256 *c, const void *data, size_t len);
void dusk_sha256_final(struct dusk_sha256 *c, uint8_t out[DUSK_SHA256_DIGEST]);

struct dusk_hmac_key {
	struct dusk_sha256 inner;	/* after absorbing key ^ ipad */
	struct dusk_sha256 outer;	/* after absorbing key ^ opad */
};

/* Any key length (keys longer than a block are hashed first, RFC 2104). */
void dusk_hmac_key_init(struct dusk_hmac_key *k, const void *key, size_t len);
void dusk_hmac_key_wipe(struct dusk_hmac_key *k);

/* A MAC over one message in progress. */
struct dusk_hmac {
	const struct dusk_hmac_key *key;
	struct dusk_sha256 st;
};

void dusk_hmac_init(struct dusk_hmac *h, const struct dusk_hmac_key *k);
void dusk_hmac_update(struct dusk_hmac *h, const void *data, size_t len);
void dusk_hmac_final(struct dusk_hmac *h, uint8_t out[DUSK_SHA256_DIGEST]);
void dusk_hmac_sha256(const struct dusk_hmac_key *k, const void *data,
		      size_t len, uint8_t out[DUSK_SHA256_DIGEST]);

/* Constant-time comparison: 0 when equal. */
int dusk_memneq(const void *a, const void *b, size_t len);
/* A wipe the compiler may not drop. */
void dusk_memzero_explicit(void *p, size_t len);

#endif /* DUSK_HMAC_SHA256_H */
