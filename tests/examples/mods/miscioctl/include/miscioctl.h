/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * miscioctl.h - the ioctl interface of /dev/miscioctl, shared by the
 * driver and its user-space tools.
 */
#ifndef MISCIOCTL_H
#define MISCIOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MISCIOCTL_NAME_LEN	20

struct miscioctl_info {
	__s32 counter;
	__u32 opens;
	__u64 bytes_written;
	__u16 step;
	__u8 last;
	__u8 pad;
	char name[MISCIOCTL_NAME_LEN];
};

#define MISCIOCTL_MAGIC		'M'

#define MISCIOCTL_GET_COUNT	_IOR(MISCIOCTL_MAGIC, 1, int)
#define MISCIOCTL_SET_COUNT	_IOW(MISCIOCTL_MAGIC, 2, int)
#define MISCIOCTL_INC		_IO(MISCIOCTL_MAGIC, 3)
#define MISCIOCTL_GET_INFO	_IOR(MISCIOCTL_MAGIC, 4, struct miscioctl_info)
#define MISCIOCTL_SET_INFO	_IOW(MISCIOCTL_MAGIC, 5, struct miscioctl_info)
#define MISCIOCTL_SET_NAME	_IOW(MISCIOCTL_MAGIC, 6, char *)
#define MISCIOCTL_ADD		_IOWR(MISCIOCTL_MAGIC, 7, __s64)
#define MISCIOCTL_SET_STEP	_IOW(MISCIOCTL_MAGIC, 8, __u16)
#define MISCIOCTL_GET_LAST	_IOR(MISCIOCTL_MAGIC, 9, __u8)

#endif /* MISCIOCTL_H */
