// SPDX-License-Identifier: GPL-2.0
/* invctl DEV N: the ioctl INVDEV_IOC_INC of N on DEV; prints its result
 * (or -errno), then what lseek(fd, 0, SEEK_CUR) gives. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ioctl.h>

#define INVDEV_IOC_INC	_IOW('i', 1, unsigned long)

int main(int argc, char **argv)
{
	long r;
	int fd;

	if (argc != 3)
		return 2;
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		printf("open: %d\n", -errno);
		return 1;
	}
	r = ioctl(fd, INVDEV_IOC_INC, strtoul(argv[2], NULL, 0));
	printf("ioctl: %ld\n", r < 0 ? -errno : r);
	r = ioctl(fd, 0x1234, 0);
	printf("bad ioctl: %ld\n", r < 0 ? -errno : r);
	printf("lseek: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	close(fd);
	return 0;
}
