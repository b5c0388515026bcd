/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * shadow_fast.h - the shadow cache's page table and its inline fast path.
 *
 * Self-contained on purpose (stdint/stddef only, valid C++): the GCC
 * plugin emits the same sequence inline in module code (dusk_plugin.cc,
 * dusk_inline_check(), with the offsets and constants of this header), so
 * that an access to a cached page is "a range test and a table lookup, no
 * call"; __dusk_check() is called on a miss only. The layout below is
 * therefore ABI: __dusk_shadow is exported from libdusk.a for that
 * reason, and a change here means rebuilding the plugin and every module
 * program.
 *
 * Table: open addressing with linear probing, keyed by kernel page number
 * (kpn = kaddr >> 12), power-of-two slots, hashed by Fibonacci hashing.
 * An entry's line bitmaps count only while entry.gen == table.gen: bumping
 * table.gen invalidates every page at once (after each kernel call, at
 * each new invocation). The fast path looks at the home slot only; a
 * collision, a miss, a stale generation, a missing line, a range crossing
 * a page and any mirror address take the slow path, which probes, fetches
 * and translates.
 */
#ifndef DUSK_SHADOW_FAST_H
#define DUSK_SHADOW_FAST_H

#include <stddef.h>
#include <stdint.h>

#define DUSK_PAGE_SHIFT		12
#define DUSK_PAGE_SIZE		(1UL << DUSK_PAGE_SHIFT)
#define DUSK_LINE_SHIFT		6	/* DUSK_LINE_SIZE, dusk_proto.h */
#define DUSK_LINES_PER_PAGE	(DUSK_PAGE_SIZE >> DUSK_LINE_SHIFT)
/* x86-64: user space is below 2^47 (2^56 with 5-level paging, and then
 * only on request); the kernel half starts at 0xffff800000000000, or at
 * 0xff00000000000000 with 5-level paging. Bit 63 tells them apart in both
 * cases (a non-canonical address then fails its fetch and faults). */
#define DUSK_KERNEL_MIN		0x8000000000000000ULL
#define DUSK_SHADOW_HASH_MUL	0x9e3779b97f4a7c15ULL

struct dusk_shadow_entry {
	uint64_t kpn;		/* kernel page number; 0: free slot */
	uint64_t gen;		/* valid and dirty count only if == table gen */
	uint64_t valid;		/* 64-byte lines holding the kernel's bytes */
	uint64_t dirty;		/* lines written through __dusk_check_w */
	uint8_t *user;		/* the mirror page */
	uint8_t *pristine;	/* the page as fetched or last committed */
};

struct dusk_shadow_table {
	struct dusk_shadow_entry *ents;
	uint64_t mask;		/* slots - 1 */
	uint64_t gen;
	uintptr_t mirror_lo;	/* every mirror address is in */
	uintptr_t mirror_span;	/* [mirror_lo, mirror_lo + mirror_span) */
	/* Changes whenever a page the table holds whole may stop being
	 * valid: a new generation, lines forgotten, a table published or
	 * destroyed. Module code remembers the last whole page it read
	 * (the plugin's one-page memo, dusk_plugin.cc) while it does not. */
	uint64_t epoch;
};

extern struct dusk_shadow_table __dusk_shadow;

static inline uint64_t dusk_shadow_slot(uint64_t kpn, uint64_t mask)
{
	return ((kpn * DUSK_SHADOW_HASH_MUL) >> 32) & mask;
}

/* Lines [off, off + size) covers in its page; size >= 1, within the page. */
static inline uint64_t dusk_shadow_lines(uint64_t off, uint64_t size)
{
	return (~0ULL << (off >> DUSK_LINE_SHIFT)) &
	       (~0ULL >> (63 - ((off + size - 1) >> DUSK_LINE_SHIFT)));
}

/*
 * The mirror of [p, p + size) if it is cached, p itself for a plain user
 * address, NULL when the slow path must decide (NULL p included).
 */
static inline void *dusk_shadow_fast(const void *p, size_t size, int write)
{
	struct dusk_shadow_table *t = &__dusk_shadow;
	uintptr_t a = (uintptr_t)p;
	struct dusk_shadow_entry *e;
	uint64_t off, kpn, m;

	if (a < DUSK_KERNEL_MIN) {
		if (a - t->mirror_lo < t->mirror_span)
			return NULL;	/* a mirror address: translate back */
		return (void *)p;
	}
	off = a & (DUSK_PAGE_SIZE - 1);
	if (size - 1 >= DUSK_PAGE_SIZE - off)
		return NULL;		/* empty, or crosses a page */
	kpn = a >> DUSK_PAGE_SHIFT;
	e = &t->ents[dusk_shadow_slot(kpn, t->mask)];
	if (e->kpn != kpn || e->gen != t->gen)
		return NULL;
	m = dusk_shadow_lines(off, size);
	if ((e->valid & m) != m)
		return NULL;
	if (write)
		e->dirty |= m;
	return e->user + off;
}

#endif /* DUSK_SHADOW_FAST_H */
