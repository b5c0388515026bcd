// SPDX-License-Identifier: GPL-2.0
/*
 * pollclient - poll() or select() on a device with a timeout, then read
 * what it says is there (test_scullpipe.py). Run in the target: linked
 * statically.
 *
 *   pollclient poll|select PATH TIMEOUT_MS in|out
 *   pollclient async PATH TIMEOUT_MS
 *
 * Prints "poll = N IN OUT..." (the events that came back) or "select = N
 * read write", then for a readable device "read = N DATA" of one read().
 *
 * async does what LDD3's asynctest does: F_SETOWN and O_ASYNC on the
 * device, then waits for SIGIO. It prints "async = 0" once armed (or
 * "async = -1 ERR"), then "sigio: N bytes DATA" of one
 * read() when SIGIO came
 * or "no SIGIO" when TIMEOUT_MS passed first.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/select.h>
#include <sys/time.h>

static volatile sig_atomic_t got_io, got_alarm;

static void on_signal(int sig)
{
	if (sig == SIGIO)
		got_io = 1;
	else
		got_alarm = 1;
}

static int async_read(const char *path, int timeout)
{
	struct itimerval it = {
		.it_value = { timeout / 1000, (timeout % 1000) * 1000 },
	};
	struct sigaction sa;
	sigset_t block, old;
	char buf[256];
	int fd, n;

	/* Blocked until sigsuspend: a SIGIO before it is not lost. */
	sigemptyset(&block);
	sigaddset(&block, SIGIO);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("open = -1 %s\n", strerror(errno));
		return 1;
	}
	if (fcntl(fd, F_SETOWN, getpid()) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC) < 0) {
		printf("async = -1 %s\n", strerror(errno));
		return 1;
	}
	printf("async = 0\n");
	fflush(stdout);
	setitimer(ITIMER_REAL, &it, NULL);
	while (!got_io && !got_alarm)
		sigsuspend(&old);
	if (got_io) {
		n = (int)read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		printf("sigio: %d bytes %s\n", n, buf);
	} else {
		printf("no SIGIO\n");
	}
	fflush(stdout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int fd, n, timeout, in, readable;
	char buf[256];

	if (argc == 4 && !strcmp(argv[1], "async"))
		return async_read(argv[2], atoi(argv[3]));
	if (argc != 5)
		return 2;
	timeout = atoi(argv[3]);
	in = !strcmp(argv[4], "in");
	fd = open(argv[2], in ? O_RDONLY : O_WRONLY);
	if (fd < 0) {
		printf("open = -1 %s\n", strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "poll")) {
		struct pollfd p = { .fd = fd, .events = in ? POLLIN : POLLOUT };

		n = poll(&p, 1, timeout);
		printf("poll = %d%s%s%s%s\n", n, p.revents & POLLIN ? " IN" : "",
		       p.revents & POLLOUT ? " OUT" : "",
		       p.revents & POLLERR ? " ERR" : "",
		       p.revents & POLLHUP ? " HUP" : "");
		readable = n > 0 && (p.revents & POLLIN);
	} else {
		struct timeval tv = { timeout / 1000, (timeout % 1000) * 1000 };
		fd_set r, w;

		FD_ZERO(&r);
		FD_ZERO(&w);
		FD_SET(fd, in ? &r : &w);
		n = select(fd + 1, &r, &w, NULL, &tv);
		printf("select = %d%s%s\n", n, FD_ISSET(fd, &r) ? " read" : "",
		       FD_ISSET(fd, &w) ? " write" : "");
		readable = n > 0 && FD_ISSET(fd, &r);
	}
	if (readable) {
		n = (int)read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		printf("read = %d %s\n", n, buf);
	}
	fflush(stdout);
	close(fd);
	return 0;
}
