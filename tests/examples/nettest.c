// SPDX-License-Identifier: GPL-2.0
/*
 * nettest - the traffic of the examples' differential tests, run inside the
 * target (built with gcc -static: the target has busybox and nothing else).
 *
 * Each command plays both ends of one exchange in a single process, so no
 * server has to be started in the background and waited for, and prints
 * one line saying what it saw; the tests compare those lines between the
 * .ko and the user-level run of a module.
 *
 *   nettest udp [-s SRC[:PORT]] [-r [ADDR:]PORT] [-n COUNT] [-w MS] [-m]
 *		 DST PORT PAYLOAD
 *	COUNT datagrams (default 1) of PAYLOAD from SRC to DST:PORT, received
 *	on -r (default PORT on any address).
 *	-> "udp sent N received M [send-errors K (EPERM)] [marks 0xA,0xB...]"
 *	(sent: sendto succeeded; a drop on the output path makes it fail with
 *	EPERM; -m: skb->mark of each datagram received, with SO_RCVMARK;
 *	-p: each datagram received, C-escaped, before the summary:
 *	"udp payload N \"...\"")
 *
 *   nettest tcp [-s SRC[:PORT]] [-r PORT] [-c MS] [-w MS] [-b BYTES]
 *		 DST PORT [PAYLOAD]
 *	Connects to DST:PORT (listening on -r, default PORT, any address),
 *	sends PAYLOAD (or -b BYTES of a fixed pattern), and the server end
 *	answers "ok" once it has read it all. The client then resets the
 *	connection (no TIME_WAIT, so the same source port can be used again).
 *	-> "tcp connect timeout" | "tcp connect refused" |
 *	   "tcp connected sent N received M sum 0xS reply ok|none"
 *	   (sum: of the bytes the server read, mod 2^32)
 *
 *   nettest ftp [-s SRC[:PORT]] [-w MS] DST USER PASS
 *	A fake FTP login on port 21: greeting, USER, PASS, QUIT.
 *	-> "ftp login ok" | "ftp login failed at STEP"
 *
 *   nettest magic [-c CODE] [-l LEN] [-w MS] DST
 *	An ICMP echo request with code CODE (default 0x5b) and LEN zero bytes
 *	of data (default 36), through a raw socket; waits for the echo reply.
 *	-> "magic none" (no reply) | "magic echo code C" (our own zeros came
 *	   back: the kernel answered) | "magic creds from A code C ip X user U
 *	   pass P icmp-csum ok|bad ip-csum ok|bad"
 *
 *   nettest load MODULE.ko [PARAM...]
 *	Loads a module with finit_module(2), once (busybox insmod falls back
 *	to init_module(2) when that fails, running a failing init twice).
 *	-> "load ok" | "load failed: ERROR"
 *
 * PAYLOAD takes C escapes: \xHH, \r, \n, \t, \0, \\.
 * Exit status: 0 when the command ran (whatever it saw), 2 for usage
 * errors, 1 when the exchange could not be set up (socket, bind...).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_RCVMARK
#define SO_RCVMARK 75
#endif

#define MAX_PAYLOAD 4096

static const char *prog = "nettest";

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (errno)
		fprintf(stderr, ": %s", strerror(errno));
	fputc('\n', stderr);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s udp [-s SRC[:PORT]] [-r [ADDR:]PORT] [-n COUNT] [-w MS] [-m] [-p] DST PORT PAYLOAD\n"
		"       %s tcp [-s SRC[:PORT]] [-r PORT] [-c MS] [-w MS] [-b BYTES] DST PORT [PAYLOAD]\n"
		"       %s ftp [-s SRC[:PORT]] [-w MS] DST USER PASS\n"
		"       %s magic [-c CODE] [-l LEN] [-w MS] DST\n"
		"       %s load MODULE.ko [PARAM...]\n",
		prog, prog, prog, prog, prog);
	exit(2);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static long number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "%s: bad number '%s'\n", prog, s);
		usage();
	}
	return v;
}

/* "A.B.C.D", "A.B.C.D:PORT" or (with port_only) "PORT". */
static void parse_addr(const char *s, struct sockaddr_in *sin, int port_only)
{
	char buf[64];
	char *colon;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (strlen(s) >= sizeof(buf))
		usage();
	strcpy(buf, s);
	colon = strchr(buf, ':');
	if (!colon && port_only && !strchr(buf, '.')) {
		sin->sin_port = htons(number(buf, 0, 65535));
		return;
	}
	if (colon) {
		*colon = '\0';
		sin->sin_port = htons(number(colon + 1, 0, 65535));
	}
	if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1) {
		fprintf(stderr, "%s: bad address '%s'\n", prog, s);
		usage();
	}
}

static size_t unescape(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;

	while (*s) {
		int c = (unsigned char)*s++;

		if (c == '\\' && *s) {
			c = (unsigned char)*s++;
			switch (c) {
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '0': c = 0; break;
			case 'x': {
				char hex[3] = { 0 };

				if (!s[0] || !s[1])
					usage();
				hex[0] = s[0];
				hex[1] = s[1];
				s += 2;
				c = (int)strtol(hex, NULL, 16);
				break;
			}
			default: break;	/* \\ and anything else: itself */
			}
		}
		if (n == max)
			usage();
		out[n++] = c;
	}
	return n;
}

static int xsocket(int type, int proto)
{
	int fd = socket(AF_INET, type, proto);
	int one = 1;

	if (fd < 0)
		die("socket");
	if (type != SOCK_RAW &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("SO_REUSEADDR");
	return fd;
}

static void xbind(int fd, const struct sockaddr_in *sin)
{
	if (bind(fd, (const struct sockaddr *)sin, sizeof(*sin)))
		die("bind %s:%u", inet_ntoa(sin->sin_addr), ntohs(sin->sin_port));
}

static void set_nonblock(int fd)
{
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		die("O_NONBLOCK");
}

/* Wait until fd has one of events, for at most until deadline (ms). */
static int wait_fd(int fd, short events, long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			die("poll");
	}
}

/* ---- udp ------------------------------------------------------------------ */

static int cmd_udp(int argc, char **argv)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in rcv = { .sin_family = AF_INET };
	struct sockaddr_in dst;
	unsigned char payload[MAX_PAYLOAD], buf[MAX_PAYLOAD + 1];
	unsigned int marks[64];
	int have_src = 0, have_rcv = 0, want_mark = 0, want_payload = 0;
	long count = 1, wait = 1500, deadline;
	int sfd, rfd, opt, one = 1;
	long sent = 0, received = 0, send_errors = 0;
	size_t len;

	while ((opt = getopt(argc, argv, "s:r:n:w:mp")) != -1) {
		switch (opt) {
		case 's': parse_addr(optarg, &src, 0); have_src = 1; break;
		case 'r': parse_addr(optarg, &rcv, 1); have_rcv = 1; break;
		case 'n': count = number(optarg, 1, 64); break;
		case 'w': wait = number(optarg, 0, 600000); break;
		case 'm': want_mark = 1; break;
		case 'p': want_payload = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 3)
		usage();
	parse_addr(argv[optind], &dst, 0);
	dst.sin_port = htons(number(argv[optind + 1], 1, 65535));
	len = unescape(argv[optind + 2], payload, sizeof(payload));
	if (!have_rcv)
		rcv.sin_port = dst.sin_port;

	rfd = xsocket(SOCK_DGRAM, 0);
	xbind(rfd, &rcv);
	if (want_mark && setsockopt(rfd, SOL_SOCKET, SO_RCVMARK, &one,
				    sizeof(one)))
		die("SO_RCVMARK");
	sfd = xsocket(SOCK_DGRAM, 0);
	if (have_src)
		xbind(sfd, &src);

	/* A drop on the output path fails sendto (EPERM from netfilter). */
	for (long i = 0; i < count; i++) {
		if (sendto(sfd, payload, len, 0, (struct sockaddr *)&dst,
			   sizeof(dst)) == (ssize_t)len) {
			sent++;
			continue;
		}
		if (errno != EPERM)
			die("sendto");
		send_errors++;
	}

	deadline = now_ms() + wait;
	while (received < count && wait_fd(rfd, POLLIN, deadline)) {
		char cbuf[CMSG_SPACE(sizeof(unsigned int))];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm;
		ssize_t n = recvmsg(rfd, &msg, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvmsg");
		}
		marks[received] = 0;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SO_MARK)
				memcpy(&marks[received], CMSG_DATA(cm),
				       sizeof(unsigned int));
		if ((size_t)n != len || memcmp(buf, payload, len))
			printf("udp datagram %ld: %zd bytes, not what was sent\n",
			       received, n);
		if (want_payload) {
			printf("udp payload %ld \"", received);
			for (ssize_t i = 0; i < n; i++)
				printf(buf[i] >= 0x20 && buf[i] < 0x7f &&
				       buf[i] != '"' && buf[i] != '\\' ?
				       "%c" : "\\x%02x", buf[i]);
			printf("\"\n");
		}
		received++;
	}
	printf("udp sent %ld received %ld", sent, received);
	if (send_errors)
		printf(" send-errors %ld (EPERM)", send_errors);
	if (want_mark && received) {
		printf(" marks");
		for (long i = 0; i < received; i++)
			printf("%c0x%x", i ? ',' : ' ', marks[i]);
	}
	printf("\n");
	return 0;
}

/* ---- tcp ------------------------------------------------------------------ */

/* Connect cfd to dst within ms: 0, or a status for the report. */
static const char *tcp_connect(int cfd, const struct sockaddr_in *dst, long ms)
{
	socklen_t slen = sizeof(int);
	int err = 0;

	set_nonblock(cfd);
	if (connect(cfd, (const struct sockaddr *)dst, sizeof(*dst)) == 0)
		return NULL;
	if (errno != EINPROGRESS)
		die("connect");
	if (!wait_fd(cfd, POLLOUT, now_ms() + ms))
		return "timeout";
	if (getsockopt(cfd, SOL_SOCKET, SO_ERROR, &err, &slen))
		die("SO_ERROR");
	if (err == ECONNREFUSED)
		return "refused";
	if (err) {
		errno = err;
		die("connect");
	}
	return NULL;
}

static void tcp_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static int cmd_tcp(int argc, char **argv)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in lsn = { .sin_family = AF_INET };
	struct sockaddr_in dst;
	static unsigned char payload[1 << 20];
	unsigned char buf[65536];
	long connect_ms = 1000, wait = 3000, bytes = -1, deadline;
	int have_src = 0, have_lsn = 0, opt, lfd, cfd, afd;
	size_t len = 0, sent = 0, received = 0;
	uint32_t sum = 0;
	const char *err, *reply = "none";

	while ((opt = getopt(argc, argv, "s:r:c:w:b:")) != -1) {
		switch (opt) {
		case 's': parse_addr(optarg, &src, 0); have_src = 1; break;
		case 'r': parse_addr(optarg, &lsn, 1); have_lsn = 1; break;
		case 'c': connect_ms = number(optarg, 1, 600000); break;
		case 'w': wait = number(optarg, 0, 600000); break;
		case 'b': bytes = number(optarg, 1, sizeof(payload)); break;
		default: usage();
		}
	}
	if (argc - optind != 3 && !(argc - optind == 2 && bytes > 0))
		usage();
	parse_addr(argv[optind], &dst, 0);
	dst.sin_port = htons(number(argv[optind + 1], 1, 65535));
	if (bytes > 0) {
		len = bytes;
		for (size_t i = 0; i < len; i++)
			payload[i] = (unsigned char)(i % 251);
	} else {
		len = unescape(argv[optind + 2], payload, MAX_PAYLOAD);
	}
	if (!have_lsn)
		lsn.sin_port = dst.sin_port;

	lfd = xsocket(SOCK_STREAM, 0);
	xbind(lfd, &lsn);
	if (listen(lfd, 4))
		die("listen");
	cfd = xsocket(SOCK_STREAM, 0);
	if (have_src)
		xbind(cfd, &src);
	err = tcp_connect(cfd, &dst, connect_ms);
	if (err) {
		printf("tcp connect %s\n", err);
		tcp_reset(cfd);
		return 0;
	}
	deadline = now_ms() + wait;
	if (!wait_fd(lfd, POLLIN, deadline)) {
		printf("tcp connected but never accepted\n");
		tcp_reset(cfd);
		return 0;
	}
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		die("accept");
	set_nonblock(afd);

	/* Both ends in one loop: write what fits, read what came. */
	while (received < len && now_ms() < deadline) {
		struct pollfd p[2] = {
			{ .fd = cfd, .events = sent < len ? POLLOUT : 0 },
			{ .fd = afd, .events = POLLIN },
		};
		long left = deadline - now_ms();

		if (poll(p, 2, left > 0 ? (int)left : 0) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[0].revents & POLLOUT) {
			ssize_t n = send(cfd, payload + sent, len - sent, 0);

			if (n < 0 && errno != EAGAIN)
				die("send");
			if (n > 0)
				sent += n;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(afd, buf, sizeof(buf), 0);

			if (n < 0 && errno != EAGAIN)
				die("recv");
			if (n == 0)
				break;
			for (ssize_t i = 0; i < n; i++)
				sum += buf[i];
			if (n > 0)
				received += n;
		}
	}
	if (received == len && send(afd, "ok", 2, 0) == 2 &&
	    wait_fd(cfd, POLLIN, deadline) &&
	    recv(cfd, buf, sizeof(buf), 0) == 2 && !memcmp(buf, "ok", 2))
		reply = "ok";
	printf("tcp connected sent %zu received %zu sum 0x%08x reply %s\n",
	       sent, received, sum, reply);
	tcp_reset(cfd);
	close(afd);
	close(lfd);
	return 0;
}

/* ---- ftp ------------------------------------------------------------------ */

/* Read one CRLF-terminated line from fd (a blocking socket with a receive
 * timeout) into buf: its length, or -1. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = recv(fd, buf + n, 1, 0);

		if (r <= 0)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return (int)n;
}

static int say(int fd, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return send(fd, buf, n, 0) == n ? 0 : -1;
}

static int cmd_ftp(int argc, char **argv)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in lsn = { .sin_family = AF_INET };
	struct sockaddr_in dst;
	long wait = 3000;
	int have_src = 0, opt, lfd, cfd, afd;
	struct timeval tv;
	char line[256], want[256];
	const char *step;

	while ((opt = getopt(argc, argv, "s:w:")) != -1) {
		switch (opt) {
		case 's': parse_addr(optarg, &src, 0); have_src = 1; break;
		case 'w': wait = number(optarg, 1, 600000); break;
		default: usage();
		}
	}
	if (argc - optind != 3)
		usage();
	parse_addr(argv[optind], &dst, 0);
	dst.sin_port = lsn.sin_port = htons(21);
	tv.tv_sec = wait / 1000;
	tv.tv_usec = wait % 1000 * 1000;

	lfd = xsocket(SOCK_STREAM, 0);
	xbind(lfd, &lsn);
	if (listen(lfd, 1))
		die("listen");
	cfd = xsocket(SOCK_STREAM, 0);
	if (have_src)
		xbind(cfd, &src);
	step = "connect";
	if (tcp_connect(cfd, &dst, wait))
		goto failed;
	fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) & ~O_NONBLOCK);
	if (!wait_fd(lfd, POLLIN, now_ms() + wait))
		goto failed;
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		die("accept");
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(afd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	step = "greeting";
	if (say(afd, "220 nettest FTP server ready\r\n") ||
	    read_line(cfd, line, sizeof(line)) < 0 || strncmp(line, "220", 3))
		goto failed;
	step = "USER";
	snprintf(want, sizeof(want), "USER %s\r\n", argv[optind + 1]);
	if (say(cfd, "%s", want) || read_line(afd, line, sizeof(line)) < 0 ||
	    strcmp(line, want) ||
	    say(afd, "331 Password required\r\n") ||
	    read_line(cfd, line, sizeof(line)) < 0 || strncmp(line, "331", 3))
		goto failed;
	step = "PASS";
	snprintf(want, sizeof(want), "PASS %s\r\n", argv[optind + 2]);
	if (say(cfd, "%s", want) || read_line(afd, line, sizeof(line)) < 0 ||
	    strcmp(line, want) ||
	    say(afd, "230 Logged in\r\n") ||
	    read_line(cfd, line, sizeof(line)) < 0 || strncmp(line, "230", 3))
		goto failed;
	step = "QUIT";
	if (say(cfd, "QUIT\r\n") || read_line(afd, line, sizeof(line)) < 0 ||
	    strcmp(line, "QUIT\r\n") || say(afd, "221 Goodbye\r\n") ||
	    read_line(cfd, line, sizeof(line)) < 0 || strncmp(line, "221", 3))
		goto failed;
	printf("ftp login ok\n");
	close(cfd);
	close(afd);
	close(lfd);
	return 0;
failed:
	printf("ftp login failed at %s\n", step);
	return 0;
}

/* ---- magic ---------------------------------------------------------------- */

static uint16_t inet_csum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A field of the reply: at most len bytes, NUL-padded; "-" if empty. */
static void field(char *out, const unsigned char *p, size_t len)
{
	size_t n = strnlen((const char *)p, len);

	if (!n) {
		strcpy(out, "-");
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (p[i] >= 0x21 && p[i] < 0x7f) ? p[i] : '?';
	out[n] = '\0';
}

static int cmd_magic(int argc, char **argv)
{
	struct sockaddr_in dst, from;
	unsigned char pkt[1500], buf[1500];
	long code = 0x5b, len = 36, wait = 2000, deadline;
	uint16_t id = (uint16_t)getpid();
	struct icmphdr *icmp = (struct icmphdr *)pkt;
	int opt, fd;

	while ((opt = getopt(argc, argv, "c:l:w:")) != -1) {
		switch (opt) {
		case 'c': code = number(optarg, 0, 255); break;
		case 'l': len = number(optarg, 0, 1400); break;
		case 'w': wait = number(optarg, 1, 600000); break;
		default: usage();
		}
	}
	if (argc - optind != 1)
		usage();
	parse_addr(argv[optind], &dst, 0);

	memset(pkt, 0, sizeof(pkt));
	icmp->type = ICMP_ECHO;
	icmp->code = code;
	icmp->un.echo.id = htons(id);
	icmp->un.echo.sequence = htons(1);
	icmp->checksum = htons(inet_csum(pkt, sizeof(*icmp) + len));

	fd = xsocket(SOCK_RAW, IPPROTO_ICMP);
	if (sendto(fd, pkt, sizeof(*icmp) + len, 0, (struct sockaddr *)&dst,
		   sizeof(dst)) != (ssize_t)(sizeof(*icmp) + len))
		die("sendto");

	deadline = now_ms() + wait;
	while (wait_fd(fd, POLLIN, deadline)) {
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &flen);
		const struct iphdr *ip = (const struct iphdr *)buf;
		const struct icmphdr *r;
		const unsigned char *data;
		size_t ihl, dlen;
		char user[17], pass[17], addr[INET_ADDRSTRLEN], src[INET_ADDRSTRLEN];
		int zeros = 1;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvfrom");
		}
		ihl = ip->ihl * 4;
		if ((size_t)n < ihl + sizeof(*r))
			continue;
		r = (const struct icmphdr *)(buf + ihl);
		if (r->type != ICMP_ECHOREPLY || ntohs(r->un.echo.id) != id)
			continue;
		data = buf + ihl + sizeof(*r);
		dlen = n - ihl - sizeof(*r);
		for (size_t i = 0; i < dlen; i++)
			zeros &= !data[i];
		if (zeros) {
			printf("magic echo code 0x%x\n", r->code);
			return 0;
		}
		if (dlen < 36) {
			printf("magic short reply (%zu bytes)\n", dlen);
			return 0;
		}
		inet_ntop(AF_INET, data, addr, sizeof(addr));
		inet_ntop(AF_INET, &ip->saddr, src, sizeof(src));
		field(user, data + 4, 16);
		field(pass, data + 20, 16);
		printf("magic creds from %s code 0x%x ip %s user %s pass %s "
		       "icmp-csum %s ip-csum %s\n", src, r->code, addr, user,
		       pass, inet_csum(r, n - ihl) ? "bad" : "ok",
		       inet_csum(ip, ihl) ? "bad" : "ok");
		return 0;
	}
	printf("magic none\n");
	return 0;
}

/* ---- load ----------------------------------------------------------------- */

static int cmd_load(int argc, char **argv)
{
	char params[4096] = "";
	size_t used = 0;
	int fd;

	if (argc < 2)
		usage();
	for (int i = 2; i < argc; i++) {
		int n = snprintf(params + used, sizeof(params) - used, "%s%s",
				 used ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(params) - used)
			usage();
		used += n;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s", argv[1]);
	if (syscall(SYS_finit_module, fd, params, 0))
		printf("load failed: %s\n", strerror(errno));
	else
		printf("load ok\n");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	argv++;
	argc--;
	if (!strcmp(argv[0], "udp"))
		return cmd_udp(argc, argv);
	if (!strcmp(argv[0], "tcp"))
		return cmd_tcp(argc, argv);
	if (!strcmp(argv[0], "ftp"))
		return cmd_ftp(argc, argv);
	if (!strcmp(argv[0], "magic"))
		return cmd_magic(argc, argv);
	if (!strcmp(argv[0], "load"))
		return cmd_load(argc, argv);
	usage();
	return 2;
}
