/* SPDX-License-Identifier: GPL-2.0 */
/* <asm/unaligned.h>'s accessors for the plain user-space build, as the
 * kernel's x86 versions compile: one unaligned load and a byte swap. */
#ifndef PLAIN_ASM_UNALIGNED_H
#define PLAIN_ASM_UNALIGNED_H
#include <linux/types.h>
struct plain_una16 { u16 x; } __attribute__((packed));
struct plain_una32 { u32 x; } __attribute__((packed));
static inline u16 get_unaligned_le16(const void *p)
{
	return ((const struct plain_una16 *)p)->x;
}
static inline u32 get_unaligned_le32(const void *p)
{
	return ((const struct plain_una32 *)p)->x;
}
static inline u16 get_unaligned_be16(const void *p)
{
	return __builtin_bswap16(get_unaligned_le16(p));
}
static inline u32 get_unaligned_be32(const void *p)
{
	return __builtin_bswap32(get_unaligned_le32(p));
}
#endif
