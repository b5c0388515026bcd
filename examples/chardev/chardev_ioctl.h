/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chardev_ioctl.h - the ioctl commands of /dev/chardev, shared by the
 * driver and its user-space clients.
 */
#ifndef CHARDEV_IOCTL_H
#define CHARDEV_IOCTL_H

#include <linux/ioctl.h>

#define CHARDEV_IOC_MAGIC	'k'

/* Drop whatever is buffered; wakes writers waiting for room. */
#define CHARDEV_IOC_RESET	_IO(CHARDEV_IOC_MAGIC, 0)
/* Bytes buffered now (int). */
#define CHARDEV_IOC_GETFILL	_IOR(CHARDEV_IOC_MAGIC, 1, int)
/* The ring's size in bytes (int). */
#define CHARDEV_IOC_GETSIZE	_IOR(CHARDEV_IOC_MAGIC, 2, int)
/* Resize the ring (int, 16 to 65536); -EBUSY unless it is empty. */
#define CHARDEV_IOC_SETSIZE	_IOW(CHARDEV_IOC_MAGIC, 3, int)

#define CHARDEV_IOC_MAXNR	3

#endif
