// SPDX-License-Identifier: GPL-2.0
/* crashctl DEV CMD ARG: ioctl(CMD, ARG) on DEV; prints its result or
 * -errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>

int main(int argc, char **argv)
{
	long r;
	int fd;

	if (argc != 4)
		return 2;
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		printf("open: %d\n", -errno);
		return 1;
	}
	r = ioctl(fd, strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
	printf("ioctl: %ld\n", r < 0 ? -errno : r);
	return 0;
}
