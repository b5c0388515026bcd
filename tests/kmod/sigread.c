// SPDX-License-Identifier: GPL-2.0
/*
 * sigread - one read(2) of a device, with a signal handler installed, for
 * the signal tests (test_signals.py). Run in the target: linked
 * statically.
 *
 *	sigread PATH restart|norestart [COUNT]
 *
 * SIGUSR1 and SIGINT get a handler, with SA_RESTART or without; it counts
 * them. One read of COUNT bytes (16 by default), then one line each:
 *
 *	read = N DATA           the bytes read (as a string)
 *	read = -1 EINTR         the call failed (errno's name)
 *	signals = K             handlers run
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	(void)sig;
	caught++;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char buf[4096];
	size_t count = 16;
	ssize_t n;
	int fd;

	if (argc < 3 || (strcmp(argv[2], "restart") &&
			 strcmp(argv[2], "norestart"))) {
		fprintf(stderr, "usage: sigread PATH restart|norestart [COUNT]\n");
		return 2;
	}
	if (argc > 3)
		count = strtoul(argv[3], NULL, 0);
	if (count > sizeof(buf))
		count = sizeof(buf);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = strcmp(argv[2], "restart") ? 0 : SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		printf("open = -1 %s\n", strerrorname_np(errno));
		return 1;
	}
	n = read(fd, buf, count);
	if (n < 0)
		printf("read = -1 %s\n", strerrorname_np(errno));
	else
		printf("read = %zd %.*s\n", n, (int)n, buf);
	printf("signals = %d\n", (int)caught);
	close(fd);
	return 0;
}
