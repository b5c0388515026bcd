// SPDX-License-Identifier: GPL-2.0
/*
 * pollclient - poll() or select() on a device with a timeout, then read
 * what it says is there (test_scullpipe.py). Run in the target: linked
 * statically.
 *
 *   pollclient poll|select PATH TIMEOUT_MS in|out
 *
 * Prints "poll = N IN OUT..." (the events that came back) or "select = N
 * read write", then for a readable device "read = N DATA" of one read().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/select.h>

int main(int argc, char **argv)
{
	int fd, n, timeout, in, readable;
	char buf[256];

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
