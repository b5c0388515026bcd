// SPDX-License-Identifier: GPL-2.0
/*
 * checkcost - what dusk's access checks cost a CPU-bound hook body: the
 * ipp2p matchers (ipp2pscan/) over a set of packets, built two ways.
 *
 *	checkcost PASSES
 *
 * Built with -DCHECKCOST_DUSK and the object dusk-cc compiled, the
 * payloads are kernel addresses in a shadow cache of libdusk's whose
 * pages a first pass fetched (from this program's own buffer, no target):
 * every check then finds its page cached, as in a hook whose packet
 * HOOK's prefetch or an earlier access brought in. Built plainly, with
 * the object compiled for user space without the plugin, the payloads
 * are ordinary memory. tools/bench/bench counts the instructions of
 * checkcost_hot() under callgrind (--toggle-collect) in both.
 *
 * Prints "result R" (a digest of every match; both builds must agree)
 * and, for the dusk build, "fetches N" (READs during the measured
 * passes: 0, or the measure is not of cached pages).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ipp2pscan/ipp2pscan.h's, without its kernel types */
unsigned int ipp2p_scan_tcp(const unsigned char *payload, unsigned int plen);
unsigned int ipp2p_scan_udp(const unsigned char *payload, unsigned int plen);

#ifdef CHECKCOST_DUSK
#include "shadow.h"
#endif

/* Where the packets are: 2 KiB socket buffers in the direct map, the
 * payload after NET_SKB_PAD, NET_IP_ALIGN and the headers. */
#define KBASE		0xffff888012340000ULL
#define SLOT		2048
#define HEADROOM	(64 + 2 + 14 + 20)
#define COPIES		4

struct packet {
	int udp;
	unsigned int len;
	const unsigned char *payload;	/* what the matchers are given */
};

static unsigned char *kmem;		/* the "kernel" bytes */
static size_t kmem_len;

/* Payloads: P2P and ordinary traffic alike, most of it not matching
 * (every matcher then runs). */
static size_t text(unsigned char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return n;
}

static size_t fill_http(unsigned char *p, const char *req, const char *last,
			unsigned int headers)
{
	size_t n = text(p, req);
	unsigned int i;

	for (i = 0; i < headers; i++)
		n += sprintf((char *)p + n, "X-Header-%u: value %u, some more "
			     "text to make a line\r\n", i, i * 7);
	if (last)
		n += text(p + n, last);
	return n + text(p + n, "\r\n");
}

static size_t fill_bytes(unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = seed >> 16;
	}
	return n;
}

static size_t make_payload(unsigned int kind, unsigned char *p, int *udp)
{
	*udp = 0;
	switch (kind) {
	case 0:	/* an ordinary HTTP request */
		return fill_http(p, "GET /index.html HTTP/1.1\r\nHost: example.org\r\n",
				 "Accept: */*\r\n", 6);
	case 1:	/* a Gnutella download, its header near the end */
		return fill_http(p, "GET /uri-res/N2R?urn:sha1:PLSTHIPQGSSZTS5FJUPA"
				 "KUZWUGYQYPFB HTTP/1.1\r\n", "\n\rX-Gnutella-Content-"
				 "URN: urn:sha1:PLSTHIPQGSSZTS5FJUPAKUZWUGYQYPFB\r\n", 4);
	case 2:	/* a KaZaA request */
		return fill_http(p, "GET /.hash=1a2b3c4d5e6f HTTP/1.1\r\n",
				 "\n\rX-Kazaa-Username: someone\r\n", 3);
	case 3: {	/* a BitTorrent handshake */
		size_t n = text(p, "\x13" "BitTorrent protocol");

		return n + fill_bytes(p + n, 48, 3);
	}
	case 4:	/* a tracker announce */
		return fill_http(p, "GET /announce?info_hash=%12%34%56&peer_id=ABC"
				 " HTTP/1.0\r\n", NULL, 1);
	case 5:	/* an eDonkey hello */
		p[0] = 0xe3;
		p[1] = 60;
		p[2] = p[3] = p[4] = 0;
		p[5] = 0x01;
		return 6 + fill_bytes(p + 6, 59, 5);
	case 6: {	/* an HTTP response */
		size_t n = text(p, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n");

		return n + fill_http(p + n, "Server: httpd\r\n", NULL, 22);
	}
	case 7:	/* TLS records */
		return fill_bytes(p, 1400, 7);
	case 8:	/* an XDCC request */
		return text(p, "PRIVMSG SomeBot :xdcc send #42\r\n");
	case 9:	/* Direct Connect */
		return text(p, "$MyNick someone|");
	case 10:	/* SMTP */
		return fill_http(p, "MAIL FROM:<a@example.org>\r\n", NULL, 3);
	case 11:	/* DHT */
		*udp = 1;
		return text(p, "d1:ad2:id20:abcdefghij0123456789e1:q4:pinge");
	case 12:	/* a UDP tracker connect */
		*udp = 1;
		memcpy(p, "\x00\x00\x04\x17\x27\x10\x19\x80\0\0\0\0\x12\x34\x56\x78",
		       16);
		return 16;
	case 13:	/* DNS */
		*udp = 1;
		return fill_bytes(p, 40, 13);
	case 14:	/* a Kademlia hello */
		*udp = 1;
		p[0] = 0xe4;
		p[1] = 0x20;
		return 2 + fill_bytes(p + 2, 33, 14);
	default:	/* QUIC */
		*udp = 1;
		return fill_bytes(p, 1200, kind);
	}
}

#define KINDS	16

static struct packet packets[KINDS * COPIES];

#ifdef CHECKCOST_DUSK
static int kmem_read(void *ctx, uint64_t kaddr, void *buf, size_t len)
{
	if (kaddr < KBASE || kaddr - KBASE > kmem_len ||
	    len > kmem_len - (kaddr - KBASE))
		return -EFAULT;
	memcpy(buf, kmem + (kaddr - KBASE), len);
	return 0;
}
#endif

static unsigned long scan_all(unsigned long digest)
{
	unsigned int i;

	for (i = 0; i < KINDS * COPIES; i++) {
		const struct packet *pk = &packets[i];
		unsigned int r = pk->udp ? ipp2p_scan_udp(pk->payload, pk->len)
					 : ipp2p_scan_tcp(pk->payload, pk->len);

		digest = digest * 31 + r;
	}
	return digest;
}

/* What callgrind counts. */
__attribute__((noinline)) unsigned long checkcost_hot(unsigned int passes)
{
	unsigned long digest = 0;
	unsigned int i;

	for (i = 0; i < passes; i++)
		digest = scan_all(digest);
	return digest;
}

int main(int argc, char **argv)
{
	unsigned int passes = argc > 1 ? strtoul(argv[1], NULL, 0) : 10, i;
	unsigned long warm, digest;

	kmem_len = (size_t)KINDS * COPIES * SLOT;
	kmem = calloc(1, kmem_len);
	if (!kmem)
		return 1;
	for (i = 0; i < KINDS * COPIES; i++) {
		unsigned char *buf = kmem + (size_t)i * SLOT + HEADROOM;
		struct packet *pk = &packets[i];

		pk->len = make_payload(i % KINDS, buf + 20, &pk->udp);
		/* the UDP payload follows an 8-byte header, TCP's 20 */
		if (pk->udp)
			memmove(buf + 8, buf + 20, pk->len);
		buf += pk->udp ? 8 : 20;
		pk->payload = buf;
	}
#ifdef CHECKCOST_DUSK
	{
		struct dusk_shadow_backing backing = { kmem_read, NULL };
		struct dusk_shadow_region region = {
			KBASE & ~((1ULL << 30) - 1), 1ULL << 30,
			DUSK_REGION_DIRECT_MAP
		};
		struct dusk_shadow *c;
		uint64_t fetches;
		int err = dusk_shadow_create(&backing, &region, 1, 1, &c);

		if (err) {
			fprintf(stderr, "checkcost: shadow cache: %s\n",
				strerror(-err));
			return 1;
		}
		for (i = 0; i < KINDS * COPIES; i++)
			packets[i].payload = (const unsigned char *)(uintptr_t)
				(KBASE + (uint64_t)(packets[i].payload - kmem));
		warm = scan_all(0);	/* fetches every page */
		fetches = c->stats.fetches;
		digest = checkcost_hot(passes);
		printf("fetches %llu\n",
		       (unsigned long long)(c->stats.fetches - fetches));
	}
#else
	warm = scan_all(0);
	digest = checkcost_hot(passes);
#endif
	printf("result %lx %lx\n", warm, digest);
	return 0;
}
