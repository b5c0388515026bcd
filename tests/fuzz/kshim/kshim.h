/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim.h - the kernel as far as dusk.ko's pure files need it, for user
 * space. tests/fuzz/ builds kmod/msg.c, auth.c, dispatch.c and mem.c with
 * it, unchanged, and fuzzes them under libFuzzer. Every kernel header
 * those files (and dusk_kmod.h) include is a one-line file that includes
 * this one (fuzz.am makes them), except <linux/types.h> (kshim/linux/).
 *
 * What touches memory the kernel would (the nofault accessors) or the
 * world (kernel_sendmsg) is not here: the harness defines those
 * functions, declared at the end, and checks what dusk.ko asks of them.
 */
#ifndef DUSK_KSHIM_H
#define DUSK_KSHIM_H

#include <linux/types.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmac_sha256.h"	/* the runtime's SHA-256 stands in for lib/crypto */

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;
typedef unsigned int gfp_t;

/* ---- compiler.h, kernel.h, minmax.h, build_bug.h ---- */
#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define sizeof_field(t, m)	sizeof(((t *)0)->m)
#define min_t(t, a, b)		((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b)		((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define clamp_t(t, v, lo, hi)	min_t(t, max_t(t, v, lo), hi)
#define static_assert(e, ...)	_Static_assert(e, #e)
#define BITS_PER_LONG		64
#define BIT_WORD(n)		((n) / BITS_PER_LONG)
#define BIT_MASK(n)		(1UL << ((n) % BITS_PER_LONG))

/* printk: to stderr, as the harness's log. */
#define pr_err(...)		fprintf(stderr, __VA_ARGS__)
#define pr_warn(...)		fprintf(stderr, __VA_ARGS__)
#define pr_info(...)		((void)0)
#define pr_err_once(...)	pr_err(__VA_ARGS__)
#define pr_warn_once(...)	pr_warn(__VA_ARGS__)

/* ---- byteorder: x86-64 is little-endian ---- */
#define cpu_to_le16(x)		((__le16)(u16)(x))
#define cpu_to_le32(x)		((__le32)(u32)(x))
#define cpu_to_le64(x)		((__le64)(u64)(x))
#define le16_to_cpu(x)		((u16)(x))
#define le32_to_cpu(x)		((u32)(x))
#define le64_to_cpu(x)		((u64)(x))

/* ---- string.h, hex.h, crypto/algapi.h ---- */
static inline void memzero_explicit(void *p, size_t n)
{
	dusk_memzero_explicit(p, n);
}

static inline int crypto_memneq(const void *a, const void *b, size_t n)
{
	return dusk_memneq(a, b, n);
}

static inline int kshim_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline int hex2bin(u8 *dst, const char *src, size_t count)
{
	int hi, lo;

	while (count--) {
		hi = kshim_hex(*src++);
		if (hi < 0)
			return -EINVAL;
		lo = kshim_hex(*src++);
		if (lo < 0)
			return -EINVAL;
		*dst++ = (u8)(hi << 4 | lo);
	}
	return 0;
}

/* ---- bitops.h, bitmap.h ---- */
static inline void bitmap_zero(unsigned long *b, unsigned int nbits)
{
	memset(b, 0, (nbits + BITS_PER_LONG - 1) / BITS_PER_LONG *
		     sizeof(long));
}

static inline void __set_bit(unsigned long n, unsigned long *b)
{
	b[BIT_WORD(n)] |= BIT_MASK(n);
}

static inline void __clear_bit(unsigned long n, unsigned long *b)
{
	b[BIT_WORD(n)] &= ~BIT_MASK(n);
}

static inline bool __test_and_set_bit(unsigned long n, unsigned long *b)
{
	bool old = b[BIT_WORD(n)] & BIT_MASK(n);

	__set_bit(n, b);
	return old;
}

/* ---- crypto/sha2.h: lib/crypto's SHA-256, from the runtime's ---- */
#define SHA256_BLOCK_SIZE	DUSK_SHA256_BLOCK
#define SHA256_DIGEST_SIZE	DUSK_SHA256_DIGEST

struct sha256_state {
	struct dusk_sha256 c;
};

static inline void sha256_init(struct sha256_state *st)
{
	dusk_sha256_init(&st->c);
}

static inline void sha256_update(struct sha256_state *st, const u8 *d,
				 unsigned int len)
{
	dusk_sha256_update(&st->c, d, len);
}

static inline void sha256_final(struct sha256_state *st, u8 *out)
{
	dusk_sha256_final(&st->c, out);
}

/* ---- list.h, spinlock.h, mutex.h, wait.h: types only ---- */
struct list_head {
	struct list_head *next, *prev;
};

typedef struct {
	int unused;
} spinlock_t;

struct mutex {
	int unused;
};

typedef struct {
	int unused;
} wait_queue_head_t;

#define wake_up(wq)		((void)(wq))

/* ---- atomic.h: types only (the hooks' counters) ---- */
typedef struct {
	long long counter;
} atomic64_t;

/* ---- kref.h: the type only (sessions are counted) ---- */
struct kref {
	int refcount;
};

/* ---- err.h ---- */
#define MAX_ERRNO		4095
#define IS_ERR_VALUE(x)		((unsigned long)(x) >= (unsigned long)-MAX_ERRNO)

/* ---- netfilter.h: what struct dusk_hook embeds ---- */
struct sk_buff;
struct nf_hook_state;

struct nf_hook_ops {
	unsigned int (*hook)(void *priv, struct sk_buff *skb,
			     const struct nf_hook_state *state);
	void *priv;
	u8 pf;
	unsigned int hooknum;
	int priority;
};

/* ---- asm/page.h, asm/processor.h, asm/vsyscall.h (x86-64) ---- */
#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define PAGE_MASK		(~(PAGE_SIZE - 1))

struct cpuinfo_x86 {
	u8 x86_virt_bits;	/* 48, or 57 with 5-level paging */
};

extern struct cpuinfo_x86 boot_cpu_data;

#define TASK_SIZE_MAX							\
	((1UL << (boot_cpu_data.x86_virt_bits == 57 ? 56 : 47)) - PAGE_SIZE)
#define VSYSCALL_ADDR		(-10UL << 20)

static inline u64 __canonical_address(u64 vaddr, u8 bits)
{
	/* The kernel's, with the left shift unsigned: the kernel builds with
	 * -fno-strict-overflow, UBSan does not. */
	return (u64)((s64)(vaddr << (64 - bits)) >> (64 - bits));
}

static inline bool __is_canonical_address(u64 vaddr, u8 bits)
{
	return __canonical_address(vaddr, bits) == vaddr;
}

/* ---- the harness's: memory the kernel would touch ---- */
long copy_from_kernel_nofault(void *dst, const void *src, size_t size);

#endif /* DUSK_KSHIM_H */
