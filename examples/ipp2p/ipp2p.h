/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipp2p - peer-to-peer traffic classification by payload signatures.
 *
 * ipp2p_sig.c knows the signatures, ipp2p_main.c the hook, the flows and
 * the counters.
 */
#ifndef IPP2P_H
#define IPP2P_H

#include <linux/types.h>

enum ipp2p_proto {
	IPP2P_NONE = 0,
	IPP2P_BITTORRENT,
	IPP2P_EDONKEY,
	IPP2P_GNUTELLA,
	__IPP2P_MAX
};

/* How much of the start of a packet's payload the signatures look at. */
#define IPP2P_PAYLOAD_MAX	64

extern const char *const ipp2p_proto_names[__IPP2P_MAX];

/*
 * Classify a TCP or UDP payload by its first bytes: data holds the first
 * len bytes (at most IPP2P_PAYLOAD_MAX) of a payload of total bytes.
 */
enum ipp2p_proto ipp2p_match_tcp(const u8 *data, unsigned int len,
				 unsigned int total);
enum ipp2p_proto ipp2p_match_udp(const u8 *data, unsigned int len,
				 unsigned int total);

#endif /* IPP2P_H */
