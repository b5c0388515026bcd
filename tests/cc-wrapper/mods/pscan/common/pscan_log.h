/* SPDX-License-Identifier: GPL-2.0 */
/* pscan_log.h - log prefixes shared by the module and pscanctl. */
#ifndef PSCAN_LOG_H
#define PSCAN_LOG_H

#define PSCAN_TAG "pscan: "

#ifdef __KERNEL__
#define pscan_info(fmt, ...) printk(KERN_INFO PSCAN_TAG fmt, ##__VA_ARGS__)
#define pscan_warn(fmt, ...) printk(KERN_WARNING PSCAN_TAG fmt, ##__VA_ARGS__)
#else
#define pscan_info(fmt, ...) printf(PSCAN_TAG fmt, ##__VA_ARGS__)
#define pscan_warn(fmt, ...) fprintf(stderr, PSCAN_TAG fmt, ##__VA_ARGS__)
#endif

#endif
