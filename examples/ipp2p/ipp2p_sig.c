// SPDX-License-Identifier: GPL-2.0
/*
 * ipp2p_sig.c - the payload signatures of the P2P protocols.
 *
 * After the ipp2p netfilter match (Eicke Friedrich, 2002-2006), which
 * looked at the first bytes of each packet's payload:
 *
 * BitTorrent	TCP: the peer handshake, "\x13BitTorrent protocol"; HTTP
 *		requests to a tracker, "GET /announce?info_hash=" (and
 *		/announce.php, /scrape).
 *		UDP: DHT (bencoded "d1:ad2:id20:" queries, "d1:rd2:id20:"
 *		responses) and the UDP tracker's connect request (the magic
 *		0x41727101980, action 0).
 * eDonkey	TCP: a protocol byte (0xe3 eDonkey, 0xc5 eMule), a little-
 *		endian length that counts the rest of the packet, and a known
 *		opcode.
 *		UDP: the protocol byte (0xe3, 0xc5, 0xe4 Kademlia) and a known
 *		opcode.
 * Gnutella	TCP: "GNUTELLA CONNECT/", "GNUTELLA/" (the answer), "GET
 *		/uri-res/" (a download).
 *		UDP: "GND" with known flags (Gnutella's UDP transport).
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "ipp2p.h"

const char *const ipp2p_proto_names[__IPP2P_MAX] = {
	[IPP2P_NONE] = "none",
	[IPP2P_BITTORRENT] = "bittorrent",
	[IPP2P_EDONKEY] = "edonkey",
	[IPP2P_GNUTELLA] = "gnutella",
};

static bool starts_with(const u8 *data, unsigned int len, const char *sig,
			unsigned int sig_len)
{
	return len >= sig_len && !memcmp(data, sig, sig_len);
}

#define STARTS_WITH(data, len, sig) \
	starts_with(data, len, sig, sizeof(sig) - 1)

static bool in_list(u8 op, const u8 *ops, size_t n)
{
	return memchr(ops, op, n) != NULL;
}

/* ---- BitTorrent ---------------------------------------------------------- */

static bool bittorrent_tcp(const u8 *data, unsigned int len)
{
	return STARTS_WITH(data, len, "\x13" "BitTorrent protocol") ||
	       STARTS_WITH(data, len, "GET /announce?info_hash=") ||
	       STARTS_WITH(data, len, "GET /announce.php?info_hash=") ||
	       STARTS_WITH(data, len, "GET /scrape?info_hash=");
}

static bool bittorrent_udp(const u8 *data, unsigned int len,
			   unsigned int total)
{
	static const u8 connect_magic[8] = {
		0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80
	};

	if (STARTS_WITH(data, len, "d1:ad2:id20:") ||
	    STARTS_WITH(data, len, "d1:rd2:id20:"))
		return true;
	/* connect: magic, action 0, transaction id */
	return total == 16 && len >= 12 &&
	       !memcmp(data, connect_magic, sizeof(connect_magic)) &&
	       get_unaligned_be32(data + 8) == 0;
}

/* ---- eDonkey ------------------------------------------------------------- */

#define EDK_PROT_EDONKEY	0xe3
#define EDK_PROT_EMULE		0xc5
#define EDK_PROT_KAD		0xe4

static const u8 edk_tcp_ops[] = {
	0x01,	/* hello */
	0x4c,	/* hello answer */
	0x58,	/* file request */
	0x59,	/* file request answer */
	0x4f,	/* file status */
	0x47,	/* request parts */
};

static const u8 emule_tcp_ops[] = {
	0x01,	/* eMule info */
	0x02,	/* eMule info answer */
	0x60,	/* queue ranking */
	0x81,	/* request sources */
	0x82,	/* answer sources */
};

static const u8 edk_udp_ops[] = {
	0x96,	/* server status request */
	0x97,	/* server status */
	0x98,	/* search request */
	0x9a,	/* get sources */
	0x9b,	/* found sources */
};

static const u8 emule_udp_ops[] = {
	0x90,	/* reask file ping */
	0x91,	/* reask ack */
	0x92,	/* file not found */
	0x93,	/* queue full */
};

static const u8 kad_udp_ops[] = {
	0x01,	/* bootstrap request */
	0x08,	/* bootstrap response */
	0x10,	/* hello request */
	0x18,	/* hello response */
	0x20,	/* request */
	0x28,	/* response */
};

static bool edonkey_tcp(const u8 *data, unsigned int len, unsigned int total)
{
	if (len < 6 || get_unaligned_le32(data + 1) != total - 5)
		return false;
	switch (data[0]) {
	case EDK_PROT_EDONKEY:
		return in_list(data[5], edk_tcp_ops, sizeof(edk_tcp_ops));
	case EDK_PROT_EMULE:
		return in_list(data[5], emule_tcp_ops, sizeof(emule_tcp_ops));
	}
	return false;
}

static bool edonkey_udp(const u8 *data, unsigned int len)
{
	if (len < 2)
		return false;
	switch (data[0]) {
	case EDK_PROT_EDONKEY:
		return in_list(data[1], edk_udp_ops, sizeof(edk_udp_ops));
	case EDK_PROT_EMULE:
		return in_list(data[1], emule_udp_ops, sizeof(emule_udp_ops));
	case EDK_PROT_KAD:
		return in_list(data[1], kad_udp_ops, sizeof(kad_udp_ops));
	}
	return false;
}

/* ---- Gnutella ------------------------------------------------------------ */

#define GND_FLAG_DEFLATE	0x01
#define GND_FLAG_ACK_ME		0x02

static bool gnutella_tcp(const u8 *data, unsigned int len)
{
	return STARTS_WITH(data, len, "GNUTELLA CONNECT/") ||
	       STARTS_WITH(data, len, "GNUTELLA/") ||
	       STARTS_WITH(data, len, "GET /uri-res/");
}

static bool gnutella_udp(const u8 *data, unsigned int len)
{
	/* "GND", flags, sequence (2), part, count */
	return len >= 8 && !memcmp(data, "GND", 3) &&
	       !(data[3] & ~(GND_FLAG_DEFLATE | GND_FLAG_ACK_ME));
}

/* ---- classification ------------------------------------------------------ */

enum ipp2p_proto ipp2p_match_tcp(const u8 *data, unsigned int len,
				 unsigned int total)
{
	if (bittorrent_tcp(data, len))
		return IPP2P_BITTORRENT;
	if (edonkey_tcp(data, len, total))
		return IPP2P_EDONKEY;
	if (gnutella_tcp(data, len))
		return IPP2P_GNUTELLA;
	return IPP2P_NONE;
}

enum ipp2p_proto ipp2p_match_udp(const u8 *data, unsigned int len,
				 unsigned int total)
{
	if (bittorrent_udp(data, len, total))
		return IPP2P_BITTORRENT;
	if (edonkey_udp(data, len))
		return IPP2P_EDONKEY;
	if (gnutella_udp(data, len))
		return IPP2P_GNUTELLA;
	return IPP2P_NONE;
}
