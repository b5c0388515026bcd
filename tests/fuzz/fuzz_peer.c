// SPDX-License-Identifier: GPL-2.0
/*
 * The runtime's side of the kmod fuzzer: every reply dusk.ko sends to a
 * request the message table allows must pass the runtime's codec, MAC
 * included (the two sides' HMAC and session-key code agree).
 */
#include <endian.h>
#include <string.h>

#include "codec.h"
#include "fuzz_peer.h"

static struct dusk_hmac_key peer_key;

void fuzz_peer_key(const uint8_t master[32], const uint8_t *client_nonce,
		   const uint8_t *server_nonce, uint32_t session_id)
{
	static const char label[] = DUSK_SESSION_LABEL;
	struct dusk_hmac_key mk;
	uint32_t id = htole32(session_id);
	uint8_t key[DUSK_SHA256_DIGEST];
	struct dusk_hmac h;

	dusk_hmac_key_init(&mk, master, 32);
	dusk_hmac_init(&h, &mk);
	dusk_hmac_update(&h, label, sizeof(label) - 1);
	dusk_hmac_update(&h, client_nonce, DUSK_NONCE_LEN);
	dusk_hmac_update(&h, server_nonce, DUSK_NONCE_LEN);
	dusk_hmac_update(&h, &id, sizeof(id));
	dusk_hmac_final(&h, key);
	dusk_hmac_key_init(&peer_key, key, sizeof(key));
}

int fuzz_peer_parse(const void *dgram, size_t len, int32_t *ret_status)
{
	struct dusk_msg m;
	int err;

	memset(&m, 0, sizeof(m));
	err = dusk_msg_parse(dgram, len, &peer_key, DUSK_ROLE_RUNTIME, &m);
	*ret_status = m.status;
	return err;
}
