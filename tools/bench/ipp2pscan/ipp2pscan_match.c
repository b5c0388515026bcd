// SPDX-License-Identifier: GPL-2.0
/*
 * ipp2pscan_match.c - the signatures, after xtables-addons' ipp2p match
 * (Eicke Friedrich, Klaus Degner): each matcher gets the whole payload
 * and its length, tests fixed bytes at both ends, compares keywords with
 * memcmp and, for the HTTP-like protocols, walks the payload byte by byte
 * looking for a header line. The lists say in which order they are tried
 * and how long a payload must be for each.
 */
#include <linux/types.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "ipp2pscan.h"

/* ---- UDP ----------------------------------------------------------------- */

/* eDonkey, eMule and Kademlia: protocol byte, opcode, fixed lengths */
static unsigned int udp_search_edk(const unsigned char *t, unsigned int plen)
{
	switch (t[0]) {
	case 0xe3:	/* eDonkey */
		switch (t[1]) {
		case 0x96:	/* server status request */
			if (plen == 6)
				return IPP2P_EDK * 100 + 50;
			break;
		case 0x9a:	/* get sources */
			if (plen == 18)
				return IPP2P_EDK * 100 + 51;
			break;
		case 0x98:	/* search request */
			if (plen > 8)
				return IPP2P_EDK * 100 + 52;
			break;
		}
		break;
	case 0xe4:	/* Kademlia */
		switch (t[1]) {
		case 0x20:	/* hello */
			if (plen == 35)
				return IPP2P_EDK * 100 + 60;
			break;
		case 0x18:	/* search answer */
			if (plen == 27)
				return IPP2P_EDK * 100 + 61;
			break;
		case 0x00:	/* bootstrap */
		case 0x10:
		case 0x58:
			if (plen == 27 || plen == 35)
				return IPP2P_EDK * 100 + 62;
			break;
		}
		break;
	case 0xc5:	/* eMule */
		switch (t[1]) {
		case 0x90:	/* reask file ping */
		case 0x91:	/* reask ack */
			if (plen == 28 || plen == 34)
				return IPP2P_EDK * 100 + 70;
			break;
		}
		break;
	}
	return 0;
}

/* Gnutella over UDP: "GND" after the message header */
static unsigned int udp_search_gnu(const unsigned char *t, unsigned int plen)
{
	if (plen >= 11 && memcmp(t + 8, "GND", 3) == 0)
		return IPP2P_GNU * 100 + 51;
	if (plen >= 11 && memcmp(t + 8, "GTK", 3) == 0)
		return IPP2P_GNU * 100 + 52;
	return 0;
}

/* KaZaA: "KaZaA" and a NUL at the very end */
static unsigned int udp_search_kazaa(const unsigned char *t, unsigned int plen)
{
	if (t[plen - 1] == 0x00 && memcmp(t + plen - 6, "KaZaA", 5) == 0)
		return IPP2P_KAZAA * 100 + 50;
	return 0;
}

/* Direct Connect: "$SR " searches and their answers ending in '|' */
static unsigned int udp_search_directconnect(const unsigned char *t,
					     unsigned int plen)
{
	if (t[0] == 0x24 && t[plen - 1] == 0x7c && memcmp(t + 1, "SR ", 3) == 0)
		return IPP2P_DC * 100 + 60;
	return 0;
}

/* BitTorrent: tracker protocol by length, then bencoded DHT messages */
static unsigned int udp_search_bit(const unsigned char *t, unsigned int plen)
{
	switch (plen) {
	case 16:	/* connect: magic 0x41727101980, action 0 */
		if (get_unaligned_be32(t) == 0x00000417 &&
		    get_unaligned_be32(t + 4) == 0x27101980 &&
		    get_unaligned_be32(t + 8) == 0)
			return IPP2P_BIT * 100 + 50;
		break;
	case 36:	/* scrape request */
		if (get_unaligned_be32(t + 8) == 0x00000002)
			return IPP2P_BIT * 100 + 53;
		break;
	case 98:	/* announce request */
		if (get_unaligned_be32(t + 8) == 0x00000001)
			return IPP2P_BIT * 100 + 51;
		break;
	}
	/* DHT: "d1:" 'a' or 'r' "d2:id20:" */
	if (plen > 22 && t[0] == 'd' && t[1] == '1' && t[2] == ':' &&
	    (t[3] == 'a' || t[3] == 'r') && memcmp(t + 4, "d2:id20:", 8) == 0)
		return IPP2P_BIT * 100 + 57;
	/* uTP: version 1, a known type, and the extension byte */
	if (plen >= 20 && (t[0] & 0x0f) == 1 && (t[0] >> 4) < 5 && t[1] < 3 &&
	    get_unaligned_be16(t + 2) != 0)
		return IPP2P_BIT * 100 + 60;
	return 0;
}

/* ---- TCP ----------------------------------------------------------------- */

/* Ares: a length, 0x5a and a command */
static unsigned int search_ares(const unsigned char *payload, unsigned int plen)
{
	if (plen >= 7 && payload[2] == 0x5a && payload[3] == 0x01 &&
	    get_unaligned_le16(payload) == plen - 3)
		return IPP2P_ARES * 100 + 1;
	if (plen == 60 && payload[3] == 0x03 && payload[59] == 0x21)
		return IPP2P_ARES * 100 + 2;
	return 0;
}

/* SoulSeek: a little-endian length that counts the rest, and a code */
static unsigned int search_soul(const unsigned char *payload, unsigned int plen)
{
	u32 m, code;

	if (get_unaligned_le32(payload) != plen - 4)
		return 0;
	m = get_unaligned_le32(payload + 4);
	if (m == 0x00000003 || m == 0x00000004 || m == 0x00000009 ||
	    m == 0x0000000f || m == 0x00000028 || m == 0x00000029)
		return IPP2P_SOUL * 100 + 1;
	code = payload[4];
	if (code == 0x01 && plen > 12) {
		u32 ulen = get_unaligned_le32(payload + 5);

		/* a user name that fits, then its password's length */
		if (ulen < plen - 13 &&
		    get_unaligned_le32(payload + 9 + ulen) < plen - 13 - ulen)
			return IPP2P_SOUL * 100 + 2;
	}
	return 0;
}

/* WinMX: "SEND" or "GET" and two quoted names */
static unsigned int search_winmx(const unsigned char *payload, unsigned int plen)
{
	if (plen == 4 && memcmp(payload, "SEND", 4) == 0)
		return IPP2P_WINMX * 100 + 1;
	if (plen == 3 && memcmp(payload, "GET", 3) == 0)
		return IPP2P_WINMX * 100 + 2;
	if (plen < 10)
		return 0;
	if (memcmp(payload, "SEND", 4) == 0 || memcmp(payload, "GET", 3) == 0) {
		unsigned int c = 4, end = plen - 2, count = 0;

		while (c < end) {
			if (payload[c] == 0x20 && payload[c + 1] == 0x22) {
				c++;
				if (++count >= 2)
					return IPP2P_WINMX * 100 + 3;
			}
			c++;
		}
	}
	return 0;
}

/* appleJuice: "ajprot" and a line end */
static unsigned int search_apple(const unsigned char *payload, unsigned int plen)
{
	if (payload[6] == 0x0d && payload[7] == 0x0a &&
	    memcmp(payload, "ajprot", 6) == 0)
		return IPP2P_APPLE * 100;
	return 0;
}

/* BitTorrent: the handshake, tracker requests, then the peer messages
 * BitComet's encrypted first packet leaves for later */
static unsigned int search_bittorrent(const unsigned char *payload,
				      unsigned int plen)
{
	if (plen > 20) {
		if (payload[0] == 0x13 &&
		    memcmp(payload + 1, "BitTorrent protocol", 19) == 0)
			return IPP2P_BIT * 100;
		if (memcmp(payload, "GET /", 5) == 0) {
			if (memcmp(payload + 5, "scrape?info_hash=", 17) == 0)
				return IPP2P_BIT * 100 + 1;
			if (memcmp(payload + 5, "announce?info_hash=", 19) == 0)
				return IPP2P_BIT * 100 + 2;
		}
	} else {
		/* a have message, then a request for a 16 KiB block */
		if (plen == 5 && get_unaligned_be32(payload) == 1 &&
		    payload[4] < 3)
			return IPP2P_BIT * 100 + 3;
		if (plen == 17 && get_unaligned_be32(payload) == 0x0d &&
		    payload[4] == 0x06 &&
		    get_unaligned_be32(payload + 13) == 0x4000)
			return IPP2P_BIT * 100 + 4;
	}
	return 0;
}

/* KaZaA's download request */
static unsigned int search_kazaa(const unsigned char *payload, unsigned int plen)
{
	if (payload[plen - 2] == 0x0d && payload[plen - 1] == 0x0a &&
	    memcmp(payload, "GET /.hash=", 11) == 0)
		return IPP2P_DATA_KAZAA * 100;
	return 0;
}

/* Gnutella's download requests */
static unsigned int search_gnu(const unsigned char *payload, unsigned int plen)
{
	if (payload[plen - 2] == 0x0d && payload[plen - 1] == 0x0a) {
		if (memcmp(payload, "GET /get/", 9) == 0)
			return IPP2P_DATA_GNU * 100 + 1;
		if (memcmp(payload, "GET /uri-res/", 13) == 0)
			return IPP2P_DATA_GNU * 100 + 2;
	}
	return 0;
}

/* Gnutella's handshakes, and any HTTP request with a Gnutella header */
static unsigned int search_all_gnu(const unsigned char *payload,
				   unsigned int plen)
{
	if (payload[plen - 2] == 0x0d && payload[plen - 1] == 0x0a) {
		if (memcmp(payload, "GNUTELLA CONNECT/", 17) == 0)
			return IPP2P_GNU * 100 + 1;
		if (memcmp(payload, "GNUTELLA/", 9) == 0)
			return IPP2P_GNU * 100 + 2;
		if (memcmp(payload, "GET /get/", 9) == 0 ||
		    memcmp(payload, "GET /uri-res/", 13) == 0) {
			unsigned int c = 8, end = plen - 22;

			while (c < end) {
				if (payload[c] == 0x0a && payload[c + 1] == 0x0d &&
				    (memcmp(&payload[c + 2], "X-Gnutella-", 11) == 0 ||
				     memcmp(&payload[c + 2], "X-Queue:", 8) == 0))
					return IPP2P_GNU * 100 + 3;
				c++;
			}
		}
	}
	return 0;
}

/* KaZaA's GIVE, and any HTTP request with a KaZaA header */
static unsigned int search_all_kazaa(const unsigned char *payload,
				     unsigned int plen)
{
	if (payload[plen - 2] == 0x0d && payload[plen - 1] == 0x0a) {
		if (memcmp(payload, "GIVE ", 5) == 0)
			return IPP2P_KAZAA * 100 + 1;
		if (memcmp(payload, "GET /", 5) == 0) {
			unsigned int c = 8, end = plen - 22;

			while (c < end) {
				if (payload[c] == 0x0a && payload[c + 1] == 0x0d &&
				    (memcmp(&payload[c + 2], "X-Kazaa-Username: ", 18) == 0 ||
				     memcmp(&payload[c + 2], "User-Agent: PeerEnabler/", 24) == 0))
					return IPP2P_KAZAA * 100 + 2;
				c++;
			}
		}
	}
	return 0;
}

/* eDonkey's file segment request, fast */
static unsigned int search_edk(const unsigned char *payload, unsigned int plen)
{
	if (payload[0] == 0xe3 && payload[5] == 0x47)
		return IPP2P_DATA_EDK * 100;
	return 0;
}

/* eDonkey's hellos, with the length that counts the rest */
static unsigned int search_all_edk(const unsigned char *payload,
				   unsigned int plen)
{
	if (payload[0] != 0xe3 || get_unaligned_le16(payload + 1) != plen - 5)
		return 0;
	switch (payload[5]) {
	case 0x01:	/* hello */
		return IPP2P_EDK * 100 + 1;
	case 0x4c:	/* hello answer */
		return IPP2P_EDK * 100 + 9;
	}
	return 0;
}

/* Direct Connect's "$Send|", fast */
static unsigned int search_dc(const unsigned char *payload, unsigned int plen)
{
	if (payload[0] == 0x24 && memcmp(&payload[1], "Send|", 5) == 0)
		return IPP2P_DATA_DC * 100;
	return 0;
}

/* Direct Connect's hub and client commands, between '$' and '|' */
static unsigned int search_all_dc(const unsigned char *payload,
				  unsigned int plen)
{
	if (payload[0] == 0x24 && payload[plen - 1] == 0x7c) {
		const unsigned char *t = &payload[1];

		if (memcmp(t, "Lock ", 5) == 0)
			return IPP2P_DC * 100 + 1;
		if (memcmp(t, "MyNick ", 7) == 0)
			return IPP2P_DC * 100 + 38;
	}
	return 0;
}

/* MUTE: a public key in packets of its few sizes */
static unsigned int search_mute(const unsigned char *payload, unsigned int plen)
{
	if ((plen == 209 || plen == 345 || plen == 473 || plen == 609 ||
	     plen == 1121) && memcmp(payload, "PublicKey: ", 11) == 0)
		return IPP2P_MUTE * 100;
	return 0;
}

/* XDCC: an IRC private message asking a bot for a file */
static unsigned int search_xdcc(const unsigned char *payload, unsigned int plen)
{
	if (plen > 20 && plen < 200 && payload[plen - 1] == 0x0a &&
	    payload[plen - 2] == 0x0d && memcmp(payload, "PRIVMSG ", 8) == 0) {
		unsigned int x = 10, end = plen - 13;

		while (x < end) {
			if (payload[x] == ':' &&
			    memcmp(&payload[x + 1], "xdcc send #", 11) == 0)
				return IPP2P_XDCC * 100;
			x++;
		}
	}
	return 0;
}

/* Waste: a SHA-1 request */
static unsigned int search_waste(const unsigned char *payload, unsigned int plen)
{
	if (memcmp(payload, "GET.sha1:", 9) == 0)
		return IPP2P_WASTE * 100;
	return 0;
}

/* ---- the lists ----------------------------------------------------------- */

struct ipp2p_matcher {
	unsigned int min_len;	/* the payload must be longer */
	unsigned int (*fn)(const unsigned char *payload, unsigned int plen);
};

static const struct ipp2p_matcher tcp_matchers[] = {
	{ 20, search_all_edk },
	{ 200, search_kazaa },
	{ 5, search_all_kazaa },
	{ 5, search_edk },
	{ 5, search_dc },
	{ 5, search_all_dc },
	{ 5, search_gnu },
	{ 5, search_all_gnu },
	{ 20, search_bittorrent },
	{ 7, search_apple },
	{ 5, search_soul },
	{ 2, search_winmx },
	{ 1, search_ares },
	{ 200, search_mute },
	{ 9, search_waste },
	{ 20, search_xdcc },
	{ 0, NULL }
};

static const struct ipp2p_matcher udp_matchers[] = {
	{ 5, udp_search_kazaa },
	{ 9, udp_search_bit },
	{ 5, udp_search_directconnect },
	{ 5, udp_search_gnu },
	{ 5, udp_search_edk },
	{ 0, NULL }
};

static unsigned int ipp2p_scan(const struct ipp2p_matcher *m,
			       const unsigned char *payload, unsigned int plen)
{
	unsigned int r;

	for (; m->fn; m++) {
		if (plen <= m->min_len)
			continue;
		r = m->fn(payload, plen);
		if (r)
			return r;
	}
	return 0;
}

unsigned int ipp2p_scan_tcp(const unsigned char *payload, unsigned int plen)
{
	return ipp2p_scan(tcp_matchers, payload, plen);
}

unsigned int ipp2p_scan_udp(const unsigned char *payload, unsigned int plen)
{
	return ipp2p_scan(udp_matchers, payload, plen);
}
