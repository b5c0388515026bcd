/* SPDX-License-Identifier: GPL-2.0 */
/* What ipp2pscan_match.c takes from <linux/types.h>, for a plain
 * user-space build of the same source (tools/bench/bench). */
#ifndef PLAIN_LINUX_TYPES_H
#define PLAIN_LINUX_TYPES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#endif
