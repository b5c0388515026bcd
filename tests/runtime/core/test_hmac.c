// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * SHA-256 (FIPS 180-4 examples) and HMAC-SHA256 (RFC 4231, all seven
 * test cases), one-shot and fed in odd pieces.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hmac_sha256.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static int sha_is(const void *data, size_t len, const char *want)
{
	struct dusk_sha256 c;
	uint8_t d[32];
	char h[65];

	dusk_sha256_init(&c);
	dusk_sha256_update(&c, data, len);
	dusk_sha256_final(&c, d);
	hex(d, 32, h);
	return !strcmp(h, want);
}

struct rfc4231 {
	uint8_t key[131];
	size_t key_len;
	const char *data;
	uint8_t data_bytes[50];
	size_t data_len;
	const char *mac;	/* hex; case 5 is truncated to 128 bits */
};

int main(void)
{
	static struct rfc4231 cases[7];
	struct dusk_hmac_key k;
	struct dusk_hmac h;
	uint8_t mac[32], mac2[32];
	char hexmac[65];
	char *million;
	size_t i, j;

	CHECK(sha_is("", 0,
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	CHECK(sha_is("abc", 3,
		     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(sha_is("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
	million = malloc(1000000);
	memset(million, 'a', 1000000);
	CHECK(sha_is(million, 1000000,
		     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
	free(million);

	/* Test Case 1 */
	memset(cases[0].key, 0x0b, 20);
	cases[0].key_len = 20;
	cases[0].data = "Hi There";
	cases[0].mac = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
	/* Test Case 2: a key shorter than the output */
	memcpy(cases[1].key, "Jefe", 4);
	cases[1].key_len = 4;
	cases[1].data = "what do ya want for nothing?";
	cases[1].mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	/* Test Case 3 */
	memset(cases[2].key, 0xaa, 20);
	cases[2].key_len = 20;
	memset(cases[2].data_bytes, 0xdd, 50);
	cases[2].data_len = 50;
	cases[2].mac = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe";
	/* Test Case 4 */
	for (i = 0; i < 25; i++)
		cases[3].key[i] = (uint8_t)(i + 1);
	cases[3].key_len = 25;
	memset(cases[3].data_bytes, 0xcd, 50);
	cases[3].data_len = 50;
	cases[3].mac = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b";
	/* Test Case 5: truncation to 128 bits */
	memset(cases[4].key, 0x0c, 20);
	cases[4].key_len = 20;
	cases[4].data = "Test With Truncation";
	cases[4].mac = "a3b6167473100ee06e0c796c2955552b";
	/* Test Case 6: a key larger than a block */
	memset(cases[5].key, 0xaa, 131);
	cases[5].key_len = 131;
	cases[5].data = "Test Using Larger Than Block-Size Key - Hash Key First";
	cases[5].mac = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
	/* Test Case 7: key and data larger than a block */
	memset(cases[6].key, 0xaa, 131);
	cases[6].key_len = 131;
	cases[6].data = "This is a test using a larger than block-size key and a "
			"larger than block-size data. The key needs to be hashed "
			"before being used by the HMAC algorithm.";
	cases[6].mac = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2";

	for (i = 0; i < 7; i++) {
		const uint8_t *d = cases[i].data ? (const uint8_t *)cases[i].data :
						    cases[i].data_bytes;
		size_t n = cases[i].data ? strlen(cases[i].data) :
					   cases[i].data_len;

		dusk_hmac_key_init(&k, cases[i].key, cases[i].key_len);
		dusk_hmac_sha256(&k, d, n, mac);
		hex(mac, 32, hexmac);
		hexmac[strlen(cases[i].mac)] = '\0';
		CHECK(!strcmp(hexmac, cases[i].mac));

		/* Same MAC fed a byte, then 3, 5, 7... bytes at a time; and
		 * the precomputed key reused for a second message. */
		dusk_hmac_init(&h, &k);
		for (j = 0; j < n; ) {
			size_t step = 2 * j % 7 + 1;

			if (step > n - j)
				step = n - j;
			dusk_hmac_update(&h, d + j, step);
			j += step;
		}
		dusk_hmac_final(&h, mac2);
		CHECK(!memcmp(mac, mac2, 32));
	}

	/* One bit of the message or key changes the MAC. */
	dusk_hmac_key_init(&k, cases[0].key, 20);
	dusk_hmac_sha256(&k, "Hi There", 8, mac);
	dusk_hmac_sha256(&k, "Hi Thers", 8, mac2);
	CHECK(memcmp(mac, mac2, 32) != 0);
	cases[0].key[19] ^= 1;
	dusk_hmac_key_init(&k, cases[0].key, 20);
	dusk_hmac_sha256(&k, "Hi There", 8, mac2);
	CHECK(memcmp(mac, mac2, 32) != 0);

	CHECK(dusk_memneq("abcd", "abcd", 4) == 0);
	CHECK(dusk_memneq("abcd", "abce", 4) != 0);
	return check_done("test_hmac");
}
