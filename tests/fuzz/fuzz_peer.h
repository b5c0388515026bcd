/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fuzz_peer.h - the runtime's codec as the peer of dusk.ko in the kmod
 * fuzzer: fuzz_peer.c is built with the runtime's headers, the fuzzer
 * with kshim.h, and this is all they share.
 */
#ifndef DUSK_FUZZ_PEER_H
#define DUSK_FUZZ_PEER_H

#include <stddef.h>
#include <stdint.h>

/* The session key as dusk_proto.h defines it, for the runtime's side. */
void fuzz_peer_key(const uint8_t master[32], const uint8_t *client_nonce,
		   const uint8_t *server_nonce, uint32_t session_id);
/* dusk_msg_parse() of a datagram dusk.ko sent, as the runtime receives
 * it: 0 or its negative errno; *ret_status the reply's status. */
int fuzz_peer_parse(const void *dgram, size_t len, int32_t *ret_status);

#endif /* DUSK_FUZZ_PEER_H */
