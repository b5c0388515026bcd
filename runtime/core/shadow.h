/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * shadow.h - the shadow cache: kernel memory mirrored lazily into user
 * memory, a contiguous kernel range as a contiguous user range.
 *
 * Layout. HELLO's reply lists the kernel's address-space regions (direct
 * map, vmalloc, vmemmap, kernel image, modules). Each gets a PROT_NONE,
 * MAP_NORESERVE window of its size, all windows inside one reservation
 * when it can be had, so that the mirror of kernel address k in region r
 * is window(r) + (k - r.start) and "is this a mirror address" is one range
 * test (shadow_fast.h). A page of a window becomes readable and writable
 * when it is first fetched, and stays so; its validity afterwards is the
 * table entry's business. Kernel addresses outside every region get a
 * page of their own from a "stray" pool at the end of the reservation:
 * contiguous within the page only, so a range crossing a page there is
 * refused (-EFAULT, logged). A region too large to reserve whole (vmalloc
 * is 12.5 PiB with 5-level paging, more than user space) is mirrored by
 * sections of DUSK_SHADOW_SECT_SIZE, each given a window from a section
 * pool when first touched: contiguous within a section.
 *
 * Validity is per 64-byte line (DUSK_LINE_SIZE) with a 64-bit bitmap per
 * page: HOOK's prefetched segments (line-aligned) seed single lines; a
 * miss fetches the page's missing lines with one READ and fills only the
 * lines not already valid, never lines the module may have written.
 *
 * Commit. Each page keeps a pristine copy: the kernel's bytes as fetched
 * or last committed. Commit compares mirror and pristine over the valid
 * lines of every page written since (dirty) and sends only the byte runs
 * that differ, so fields the kernel changed meanwhile are not clobbered;
 * runs closer than a segment header are merged when the bytes between are
 * valid. A write through a pointer derived from a checked one may land
 * outside the checked lines, so the whole valid page is compared, not
 * only its dirty lines.
 *
 * Invalidation (refresh) is O(1): the table's generation is bumped. Pages
 * and their pristine copies stay allocated for reuse; when more than
 * DUSK_SHADOW_MAX_PAGES pages are mapped, the next invalidation unmaps
 * them all (mprotect-ed pages cost kernel VMAs, capped by
 * vm.max_map_count).
 */
#ifndef DUSK_SHADOW_H
#define DUSK_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "dusk_proto.h"
#include "shadow_fast.h"


#define DUSK_SHADOW_MAX_REGIONS	16
#define DUSK_SHADOW_MAX_PAGES	16384
#define DUSK_SHADOW_STRAY_PAGES	16384
#define DUSK_SHADOW_SECT_SHIFT	30	/* 1 GiB sections */
#define DUSK_SHADOW_SECT_SIZE	(1ULL << DUSK_SHADOW_SECT_SHIFT)
#define DUSK_SHADOW_SECTS	4096	/* a 4 TiB pool */

_Static_assert(DUSK_LINE_SIZE == 1 << DUSK_LINE_SHIFT, "line size");
_Static_assert(DUSK_LINES_PER_PAGE == 64, "one 64-bit bitmap per page");

/* A region in host order. */
struct dusk_shadow_region {
	uint64_t start;
	uint64_t size;
	uint32_t kind;		/* enum dusk_region_kind */
};

struct dusk_shadow_window {
	uint64_t kstart;
	uint64_t size;
	uint8_t *base;		/* NULL when sectioned */
	uint32_t kind;
	int own_map;		/* mapped by itself, not in the reservation */
	int sectioned;		/* too large: mirrored by sections */
};

/* A run of kernel bytes to send: the mirror's bytes at kaddr. */
struct dusk_segref {
	uint64_t kaddr;
	const uint8_t *data;
	uint32_t len;
};

struct dusk_segs {
	struct dusk_segref *v;
	size_t n, cap;
};

struct dusk_segs_cursor {
	size_t i;		/* next segref */
	uint32_t done;		/* bytes of it already packed */
};

struct dusk_shadow_stats {
	uint64_t misses;	/* slow-path calls that fetched */
	uint64_t fetches;	/* READs */
	uint64_t fetched_bytes;
	uint64_t seeded_lines;
	uint64_t commits;	/* diffs with something to send */
	uint64_t committed_bytes;
	uint64_t invalidations;
	uint64_t resets;
	uint64_t bad_addresses;
};

/* Where the cache's missing lines come from: the session's READs
 * (kernel.c's dusk_kread) in a program. 0 or a negative errno. */
struct dusk_shadow_backing {
	int (*read)(void *ctx, uint64_t kaddr, void *buf, size_t len);
	void *ctx;
};

struct dusk_shadow {
	struct dusk_shadow_backing backing;
	struct dusk_shadow_table *tab;	/* &__dusk_shadow when current */
	struct dusk_shadow_table own;
	uint64_t used;			/* occupied slots */

	struct dusk_shadow_window win[DUSK_SHADOW_MAX_REGIONS];
	unsigned int nr_win;
	uint8_t *reserve;		/* one mapping holding every window */
	size_t reserve_len;

	uint8_t *stray;			/* DUSK_SHADOW_STRAY_PAGES pages */
	int stray_own_map;
	uint64_t *stray_kpn;		/* kpn of each stray page in use */
	uint32_t stray_used;

	uint8_t *sect;			/* DUSK_SHADOW_SECTS sections, if any */
	uint64_t *sect_kno;		/* kaddr >> SECT_SHIFT of each in use */
	uint32_t sect_used;

	uint32_t *live;			/* slots valid in this generation */
	uint32_t nr_live, live_cap;

	uint8_t **chunks;		/* pristine pages, allocated in chunks */
	uint32_t nr_chunks, chunk_fill;

	uint64_t mapped_pages;
	uint8_t *scratch;		/* a page for READ replies */
	struct dusk_shadow_stats stats;
};

/* Reserve the windows. A region that cannot be mapped is logged and its
 * pages become stray pages. */
int dusk_shadow_create(const struct dusk_shadow_backing *backing,
		       const struct dusk_shadow_region *regions,
		       unsigned int nr, int current, struct dusk_shadow **ret);
void dusk_shadow_destroy(struct dusk_shadow *c);

/* The mirror of [kaddr, kaddr + size), fetching what is missing; write
 * marks it dirty. -EFAULT: not readable kernel memory, or a range the
 * mirror cannot keep contiguous. */
int dusk_shadow_get(struct dusk_shadow *c, uint64_t kaddr, size_t size,
		    int write, void **ret);
/* The kernel address of a mirror address, 0 for any other address. */
uint64_t dusk_shadow_kaddr(const struct dusk_shadow *c, const void *user);
/* Seed the cache with kernel bytes (HOOK prefetch): whole lines only,
 * never over a line that is valid already. */
void dusk_shadow_seed(struct dusk_shadow *c, uint64_t kaddr, const void *data,
		      size_t len);
/* Kernel bytes written behind the cache's back (dusk_kwrite): update
 * mirror and pristine where they are valid. */
void dusk_shadow_update(struct dusk_shadow *c, uint64_t kaddr,
			const void *data, size_t len);
/* A new generation: everything cached is stale. O(1). */
void dusk_shadow_invalidate(struct dusk_shadow *c);

/* Commit in two steps: collect the runs to send (pointing into the
 * mirror), and once the kernel has them, make pristine match the mirror. */
int dusk_shadow_diff(struct dusk_shadow *c, struct dusk_segs *out);
void dusk_shadow_diff_done(struct dusk_shadow *c);
/* The same for the kernel range [lo, hi) only (dusk-gdb's commit of one
 * object): bytes outside it stay uncommitted. */
int dusk_shadow_diff_range(struct dusk_shadow *c, uint64_t lo, uint64_t hi,
			   struct dusk_segs *out);
void dusk_shadow_diff_done_range(struct dusk_shadow *c, uint64_t lo,
				 uint64_t hi);

/* For the debugger (debug.c). The mirror of [kaddr, kaddr + size) if all
 * of it is cached in this generation, else NULL: no fetch, no change. */
void *dusk_shadow_peek(struct dusk_shadow *c, uint64_t kaddr, size_t size);
/* Why the mirror of kaddr may move within the cache's life (NULL: it
 * never does): a region's window is unmapped by a reset and mapped again
 * in place, but stray pages and sections are given out anew. */
const char *dusk_shadow_moves(const struct dusk_shadow *c, uint64_t kaddr);
/* Forget the lines of [kaddr, kaddr + len) (changes included): the next
 * access fetches them. */
void dusk_shadow_forget(struct dusk_shadow *c, uint64_t kaddr, uint64_t len);
/* Every page in the table, of this generation (current) or older. */
void dusk_shadow_foreach(const struct dusk_shadow *c,
			 void (*fn)(const struct dusk_shadow_entry *e,
				    int current, void *arg),
			 void *arg);

void dusk_segs_init(struct dusk_segs *segs);
void dusk_segs_deinit(struct dusk_segs *segs);
int dusk_segs_add(struct dusk_segs *segs, uint64_t kaddr, const void *data,
		  uint32_t len);
/* Encoded bytes of what remains after cur. */
size_t dusk_segs_remaining(const struct dusk_segs *segs,
			   const struct dusk_segs_cursor *cur);
/* Encode what fits in room bytes, splitting a run if need be; returns the
 * bytes used and the number of segments in *ret_nr. */
size_t dusk_segs_pack(const struct dusk_segs *segs, struct dusk_segs_cursor *cur,
		      void *buf, size_t room, uint32_t *ret_nr);

/* The slow half of __dusk_check(): on the current session's cache. */
void *dusk_shadow_check_slow(const void *p, size_t size, int write);

/*
 * Kernel copies of user objects (the module runtime's, mod_copy.c): the
 * user original of [kaddr, kaddr + size) if that is in a copy, else NULL
 * (also: per_cpu_ptr() of a module per-CPU variable, mod_kvar.c). Set by
 * the module runtime when it makes its first copy or finds per-CPU
 * variables in the module; the slow path and dusk_shadow() ask it before
 * the cache, so that __dusk_check on a copy's kernel address leads back
 * to the user object and both sides agree on one object. Copies live in
 * kernel pages of their own that the cache never holds while module code
 * runs, so the fast path never finds them and always comes here.
 */
extern void *(*dusk_shadow_user_of)(uint64_t kaddr, size_t size);

/*
 * Set by the module runtime (mod_packet.c): while the invocation served
 * is late (the kernel may have released its packet), the packet's bytes
 * as its HOOK carried them, instead of what that memory holds now; NULL
 * for any other range. Asked on the same paths, after dusk_shadow_user_of.
 */
extern void *(*dusk_shadow_frozen)(uint64_t kaddr, size_t size);

#endif /* DUSK_SHADOW_H */
