// SPDX-License-Identifier: GPL-2.0
/*
 * flood - the benchmark's traffic, run in the target (built -static).
 *
 *	flood PORT COUNT [WINDOW]
 *
 * Sends COUNT UDP datagrams to 127.0.0.1:PORT and receives them on the
 * same socket pair, keeping at most WINDOW (default 32) in flight so that
 * no socket buffer overflows: what it measures is how fast packets get
 * through whatever hooks sit on their path. Prints one JSON object:
 *	{"sent": N, "received": M, "seconds": S, "pps": P}
 * A datagram that has not come back 2 s after the last one that did ends
 * the run (dropped packets are counted as not received).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	long count, window = 32, sent = 0, received = 0;
	char payload[64] = "dusk-bench";
	int tx, rx, port;
	double t0, last;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: flood PORT COUNT [WINDOW]\n");
		return 2;
	}
	port = atoi(argv[1]);
	count = atol(argv[2]);
	if (argc == 4)
		window = atol(argv[3]);
	if (port <= 0 || port > 65535 || count <= 0 || window <= 0) {
		fprintf(stderr, "flood: bad arguments\n");
		return 2;
	}
	dst.sin_port = htons(port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	if (tx < 0 || rx < 0 || bind(rx, (struct sockaddr *)&dst, sizeof(dst))) {
		perror("flood: socket");
		return 1;
	}

	t0 = last = now();
	while (received < count) {
		struct pollfd p = { .fd = rx, .events = POLLIN };
		char buf[128];

		while (sent < count && sent - received < window) {
			if (sendto(tx, payload, sizeof(payload), 0,
				   (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
			    errno != EPERM) {
				perror("flood: sendto");
				return 1;
			}
			sent++;
		}
		if (poll(&p, 1, 100) > 0) {
			while (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
				received++;
			last = now();
		} else if (now() - last > 2.0) {
			break;		/* the rest is not coming back */
		}
	}
	{
		double secs = last - t0;

		printf("{\"sent\": %ld, \"received\": %ld, \"seconds\": %.3f, "
		       "\"pps\": %.1f}\n", sent, received, secs,
		       secs > 0 ? received / secs : 0.0);
	}
	return 0;
}
