/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipp2pscan - P2P payload matching over whole packets, the way the
 * xtables-addons ipp2p match does it: a list of matchers, each with the
 * smallest payload it looks at, tried in order until one recognises the
 * payload; several scan the payload byte by byte for a header line.
 */
#ifndef IPP2PSCAN_H
#define IPP2PSCAN_H

#include <linux/types.h>

/* Results are protocol * 100 + which signature matched; 0: nothing. */
#define IPP2P_EDK	1
#define IPP2P_DATA_KAZAA	2
#define IPP2P_DATA_EDK	3
#define IPP2P_DATA_DC	4
#define IPP2P_DC	5
#define IPP2P_DATA_GNU	6
#define IPP2P_GNU	7
#define IPP2P_KAZAA	8
#define IPP2P_BIT	9
#define IPP2P_APPLE	10
#define IPP2P_SOUL	11
#define IPP2P_WINMX	12
#define IPP2P_ARES	13
#define IPP2P_MUTE	14
#define IPP2P_WASTE	15
#define IPP2P_XDCC	16

/* Match a TCP or UDP payload of plen bytes against every signature. */
unsigned int ipp2p_scan_tcp(const unsigned char *payload, unsigned int plen);
unsigned int ipp2p_scan_udp(const unsigned char *payload, unsigned int plen);

#endif /* IPP2PSCAN_H */
