// SPDX-License-Identifier: GPL-2.0
/*
 * flood - the benchmark's traffic, run in the target (built -static).
 *
 *	flood PORT COUNT [WINDOW [SIZE]]
 *
 * Sends COUNT UDP datagrams of SIZE bytes (default 64, 16 to 1400) to
 * 127.0.0.1:PORT and receives them on the same socket pair, keeping at
 * most WINDOW (default 32) in flight so that no socket buffer overflows:
 * what it measures is how fast packets get through whatever hooks sit on
 * their path. Each datagram carries its send time: the time until it is
 * received is its latency. Prints one JSON object:
 *	{"sent": N, "received": M, "seconds": S, "pps": P,
 *	 "latency_us": {"p50": A, "p99": B}}
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

#define SIZE_MIN	16
#define SIZE_MAX	1400

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of n sorted values, in microseconds. */
static double quantile_us(const double *v, long n, double q)
{
	long i = (long)(q * (double)(n - 1) + 0.5);

	return n ? v[i] * 1e6 : 0.0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	long count, window = 32, size = 64, sent = 0, received = 0;
	char payload[SIZE_MAX] = "dusk-bench";
	char buf[SIZE_MAX + 64];
	double t0, last, *lat;
	int tx, rx, port;
	ssize_t n;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: flood PORT COUNT [WINDOW [SIZE]]\n");
		return 2;
	}
	port = atoi(argv[1]);
	count = atol(argv[2]);
	if (argc >= 4)
		window = atol(argv[3]);
	if (argc == 5)
		size = atol(argv[4]);
	if (port <= 0 || port > 65535 || count <= 0 || window <= 0 ||
	    size < SIZE_MIN || size > SIZE_MAX) {
		fprintf(stderr, "flood: bad arguments\n");
		return 2;
	}
	lat = calloc((size_t)count, sizeof(*lat));
	if (!lat) {
		perror("flood: calloc");
		return 1;
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

		while (sent < count && sent - received < window) {
			double t = now();

			/* The send time rides in the datagram, after the tag. */
			memcpy(payload + 8, &t, sizeof(t));
			if (sendto(tx, payload, (size_t)size, 0,
				   (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
			    errno != EPERM) {
				perror("flood: sendto");
				return 1;
			}
			sent++;
		}
		if (poll(&p, 1, 100) > 0) {
			while ((n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
				double t;

				last = now();
				if (received < count && n >= 16) {
					memcpy(&t, buf + 8, sizeof(t));
					lat[received] = last - t;
				}
				received++;
			}
		} else if (now() - last > 2.0) {
			break;		/* the rest is not coming back */
		}
	}
	{
		double secs = last - t0;
		long m = received < count ? received : count;

		qsort(lat, (size_t)m, sizeof(*lat), cmp_double);
		printf("{\"sent\": %ld, \"received\": %ld, \"seconds\": %.3f, "
		       "\"pps\": %.1f, \"latency_us\": {\"p50\": %.0f, "
		       "\"p99\": %.0f}}\n", sent, received, secs,
		       secs > 0 ? received / secs : 0.0,
		       quantile_us(lat, m, 0.50), quantile_us(lat, m, 0.99));
	}
	free(lat);
	return 0;
}
