// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The shadow cache (see shadow.h for the layout and shadow_fast.h for the
 * table and fast path).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "codec.h"
#include "log.h"
#include "shadow.h"
#include "util.h"

#define DUSK_SHADOW_MIN_SLOTS	1024
/* Between windows: a stray pointer running off one window faults. */
#define DUSK_SHADOW_GUARD	(2UL << 20)
#define DUSK_PRISTINE_CHUNK	64	/* pages per pristine allocation */

#define DUSK_MMAP_RESERVE	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

/* The empty table: its one entry has kpn 0, which no kernel page has, so
 * the fast path always misses and the slow path finds no session. */
static struct dusk_shadow_entry dusk_shadow_nil;

DUSK_EXPORT struct dusk_shadow_table __dusk_shadow = {
	.ents = &dusk_shadow_nil,
	.mask = 0,
	.gen = 1,
};

/* The cache __dusk_shadow belongs to (the current session's). */
static struct dusk_shadow *dusk_shadow_cur;

void *(*dusk_shadow_user_of)(uint64_t kaddr, size_t size);
void *(*dusk_shadow_frozen)(uint64_t kaddr, size_t size);

static uint64_t dusk_page_round(uint64_t x)
{
	return (x + DUSK_PAGE_SIZE - 1) & ~(DUSK_PAGE_SIZE - 1);
}

/* ---- segment lists ---- */

void dusk_segs_init(struct dusk_segs *segs)
{
	memset(segs, 0, sizeof(*segs));
}

void dusk_segs_deinit(struct dusk_segs *segs)
{
	free(segs->v);
	memset(segs, 0, sizeof(*segs));
}

int dusk_segs_add(struct dusk_segs *segs, uint64_t kaddr, const void *data,
		  uint32_t len)
{
	struct dusk_segref *last = segs->n ? &segs->v[segs->n - 1] : NULL;

	/* Runs that meet in the kernel and in the mirror are one run. */
	if (last && last->kaddr + last->len == kaddr &&
	    last->data + last->len == (const uint8_t *)data &&
	    (uint64_t)last->len + len <= UINT32_MAX) {
		last->len += len;
		return 0;
	}
	if (DUSK_GROW(segs->v, segs->cap, segs->n, 32))
		return -ENOMEM;
	segs->v[segs->n].kaddr = kaddr;
	segs->v[segs->n].data = data;
	segs->v[segs->n].len = len;
	segs->n++;
	return 0;
}

size_t dusk_segs_remaining(const struct dusk_segs *segs,
			   const struct dusk_segs_cursor *cur)
{
	size_t i, total = 0;

	for (i = cur->i; i < segs->n; i++)
		total += dusk_seg_size(segs->v[i].len -
				       (i == cur->i ? cur->done : 0));
	return total;
}

size_t dusk_segs_pack(const struct dusk_segs *segs, struct dusk_segs_cursor *cur,
		      void *buf, size_t room, uint32_t *ret_nr)
{
	uint8_t *p = buf;
	size_t used = 0;
	uint32_t nr = 0, left, take;

	while (cur->i < segs->n) {
		const struct dusk_segref *r = &segs->v[cur->i];

		left = r->len - cur->done;
		take = left;
		if (dusk_seg_size(take) > room - used) {
			/* Split: what fits, in whole 8-byte units. */
			if (room - used < DUSK_SEG_HDR + 8)
				break;
			take = (uint32_t)((room - used - DUSK_SEG_HDR) & ~7UL);
		}
		used += dusk_seg_put(p + used, r->kaddr + cur->done,
				     r->data + cur->done, take);
		nr++;
		cur->done += take;
		if (cur->done == r->len) {
			cur->i++;
			cur->done = 0;
		}
	}
	*ret_nr = nr;
	return used;
}

/* ---- the table ---- */

static struct dusk_shadow_entry *dusk_shadow_lookup(struct dusk_shadow *c,
						    uint64_t kpn)
{
	struct dusk_shadow_table *t = c->tab;
	uint64_t i = dusk_shadow_slot(kpn, t->mask);

	for (;; i = (i + 1) & t->mask) {
		if (t->ents[i].kpn == kpn)
			return &t->ents[i];
		if (!t->ents[i].kpn)
			return NULL;
	}
}

static int dusk_shadow_live_add(struct dusk_shadow *c, uint32_t slot)
{
	uint32_t *v;

	if (c->nr_live == c->live_cap) {
		uint32_t cap = c->live_cap ? 2 * c->live_cap : 256;

		v = realloc(c->live, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->live = v;
		c->live_cap = cap;
	}
	c->live[c->nr_live++] = slot;
	return 0;
}

/* Double the table (load stays under 1/2, so probes stay short). Slots
 * move, so the live list is rebuilt. */
static int dusk_shadow_grow(struct dusk_shadow *c)
{
	struct dusk_shadow_table *t = c->tab;
	uint64_t slots = 2 * (t->mask + 1), i, j;
	struct dusk_shadow_entry *ents, *old = t->ents;
	uint64_t old_slots = t->mask + 1;

	ents = calloc(slots, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	c->nr_live = 0;
	for (i = 0; i < old_slots; i++) {
		if (!old[i].kpn)
			continue;
		j = dusk_shadow_slot(old[i].kpn, slots - 1);
		while (ents[j].kpn)
			j = (j + 1) & (slots - 1);
		ents[j] = old[i];
		/* Room was there before: this cannot fail for lack of it. */
		if (ents[j].gen == t->gen)
			dusk_shadow_live_add(c, (uint32_t)j);
	}
	t->ents = ents;
	t->mask = slots - 1;
	free(old);
	return 0;
}

static const struct dusk_shadow_window *
dusk_shadow_window_of(const struct dusk_shadow *c, uint64_t kaddr)
{
	unsigned int i;

	for (i = 0; i < c->nr_win; i++)
		if (kaddr - c->win[i].kstart < c->win[i].size)
			return &c->win[i];
	return NULL;
}

/* The mirror of kaddr in a sectioned window, giving its section a
 * window from the pool if alloc; NULL when it has none. */
static uint8_t *dusk_shadow_sect_mirror(struct dusk_shadow *c, uint64_t kaddr,
					int alloc)
{
	uint64_t kno = kaddr >> DUSK_SHADOW_SECT_SHIFT;
	uint32_t i;

	for (i = 0; i < c->sect_used; i++)
		if (c->sect_kno[i] == kno)
			goto found;
	if (!alloc || !c->sect || c->sect_used == DUSK_SHADOW_SECTS)
		return NULL;
	c->sect_kno[c->sect_used++] = kno;
found:
	return c->sect + ((uint64_t)i << DUSK_SHADOW_SECT_SHIFT) +
	       (kaddr & (DUSK_SHADOW_SECT_SIZE - 1));
}

static uint8_t *dusk_pristine_alloc(struct dusk_shadow *c)
{
	uint8_t **chunks, *chunk;

	if (!c->nr_chunks || c->chunk_fill == DUSK_PRISTINE_CHUNK) {
		chunk = malloc(DUSK_PRISTINE_CHUNK * DUSK_PAGE_SIZE);
		if (!chunk)
			return NULL;
		chunks = realloc(c->chunks, (c->nr_chunks + 1) * sizeof(*chunks));
		if (!chunks) {
			free(chunk);
			return NULL;
		}
		c->chunks = chunks;
		c->chunks[c->nr_chunks++] = chunk;
		c->chunk_fill = 0;
	}
	return c->chunks[c->nr_chunks - 1] + DUSK_PAGE_SIZE * c->chunk_fill++;
}

/* Where kernel page kpn is mirrored, made readable and writable. */
static int dusk_shadow_map_page(struct dusk_shadow *c, uint64_t kpn,
				uint8_t **ret)
{
	uint64_t kaddr = kpn << DUSK_PAGE_SHIFT;
	const struct dusk_shadow_window *w = dusk_shadow_window_of(c, kaddr);
	uint8_t *user;

	if (w && w->sectioned) {
		user = dusk_shadow_sect_mirror(c, kaddr, 1);
		if (!user)
			return -ENOMEM;
	} else if (w) {
		user = w->base + (kaddr - w->kstart);
	} else {
		if (c->stray_used == DUSK_SHADOW_STRAY_PAGES)
			return -ENOMEM;
		user = c->stray + (uint64_t)c->stray_used * DUSK_PAGE_SIZE;
	}
	if (mprotect(user, DUSK_PAGE_SIZE, PROT_READ | PROT_WRITE) < 0)
		return -errno;	/* ENOMEM: vm.max_map_count reached */
	if (!w)
		c->stray_kpn[c->stray_used++] = kpn;
	c->mapped_pages++;
	*ret = user;
	return 0;
}

static int dusk_shadow_entry_get(struct dusk_shadow *c, uint64_t kpn,
				 struct dusk_shadow_entry **ret)
{
	struct dusk_shadow_table *t;
	struct dusk_shadow_entry *e;
	uint8_t *user = NULL, *pristine;
	uint64_t i;
	int err;

	e = dusk_shadow_lookup(c, kpn);
	if (e) {
		*ret = e;
		return 0;
	}
	if ((c->used + 1) * 2 > c->tab->mask + 1) {
		err = dusk_shadow_grow(c);
		if (err)
			return err;
	}
	pristine = dusk_pristine_alloc(c);
	if (!pristine)
		return -ENOMEM;
	err = dusk_shadow_map_page(c, kpn, &user);
	if (err) {
		c->chunk_fill--;	/* give the pristine page back */
		return err;
	}
	t = c->tab;
	for (i = dusk_shadow_slot(kpn, t->mask); t->ents[i].kpn;
	     i = (i + 1) & t->mask)
		;
	e = &t->ents[i];
	e->kpn = kpn;
	e->gen = 0;
	e->valid = 0;
	e->dirty = 0;
	e->user = user;
	e->pristine = pristine;
	c->used++;
	*ret = e;
	return 0;
}

/* Make e's bitmaps count in this generation (empty if they did not). */
static int dusk_shadow_touch(struct dusk_shadow *c, struct dusk_shadow_entry *e)
{
	if (e->gen == c->tab->gen)
		return 0;
	e->gen = c->tab->gen;
	e->valid = 0;
	e->dirty = 0;
	return dusk_shadow_live_add(c, (uint32_t)(e - c->tab->ents));
}

/* The mirror's line first, then its pristine copy: a debugger watching
 * the mirror (dusk-gdb's dusk watch) compares the kernel's new bytes
 * with the old ones still in pristine when the mirror's write traps. */
static void dusk_shadow_copy_line(struct dusk_shadow_entry *e, unsigned int l,
				  const uint8_t *src)
{
	memcpy(e->user + ((size_t)l << DUSK_LINE_SHIFT), src, DUSK_LINE_SIZE);
	memcpy(e->pristine + ((size_t)l << DUSK_LINE_SHIFT), src,
	       DUSK_LINE_SIZE);
	e->valid |= 1ULL << l;
}

/* One READ for the span of missing lines; only missing lines are filled. */
static int dusk_shadow_fill(struct dusk_shadow *c, struct dusk_shadow_entry *e)
{
	uint64_t missing = ~e->valid;
	unsigned int lo, hi, l;
	size_t off, len;
	int err;

	if (!missing)
		return 0;
	lo = (unsigned int)__builtin_ctzll(missing);
	hi = 63 - (unsigned int)__builtin_clzll(missing);
	off = (size_t)lo << DUSK_LINE_SHIFT;
	len = ((size_t)(hi + 1) << DUSK_LINE_SHIFT) - off;
	err = c->backing.read(c->backing.ctx, (e->kpn << DUSK_PAGE_SHIFT) + off,
			      c->scratch + off, len);
	if (err)
		return err;
	c->stats.fetches++;
	c->stats.fetched_bytes += len;
	for (l = lo; l <= hi; l++)
		if (missing & (1ULL << l))
			dusk_shadow_copy_line(e, l, c->scratch +
					      ((size_t)l << DUSK_LINE_SHIFT));
	return 0;
}

/* Why [kaddr, end] has no contiguous mirror (NULL: it has one, in *w
 * or in the pages' own mirrors when *w is NULL). */
static const char *dusk_shadow_discontiguous(const struct dusk_shadow *c,
					     uint64_t kaddr, uint64_t end,
					     const struct dusk_shadow_window **w)
{
	*w = dusk_shadow_window_of(c, kaddr);
	if (!*w)
		return (kaddr ^ end) >> DUSK_PAGE_SHIFT ?
			"a page outside every region" : NULL;
	if (end - (*w)->kstart >= (*w)->size)
		return "the end of its region";
	if ((*w)->sectioned && (kaddr ^ end) >> DUSK_SHADOW_SECT_SHIFT)
		return "a mirror section boundary";
	return NULL;
}

/* The lines of page kpn that [kaddr, end] covers. */
static uint64_t dusk_shadow_range_lines(uint64_t kpn, uint64_t kaddr,
					uint64_t end)
{
	uint64_t off0 = kpn == kaddr >> DUSK_PAGE_SHIFT ?
			kaddr & (DUSK_PAGE_SIZE - 1) : 0;
	uint64_t off1 = kpn == end >> DUSK_PAGE_SHIFT ?
			end & (DUSK_PAGE_SIZE - 1) : DUSK_PAGE_SIZE - 1;

	return dusk_shadow_lines(off0, off1 - off0 + 1);
}

int dusk_shadow_get(struct dusk_shadow *c, uint64_t kaddr, size_t size,
		    int write, void **ret)
{
	const struct dusk_shadow_window *w;
	struct dusk_shadow_entry *e = NULL;
	uint64_t end, kpn, m;
	const char *why;
	int err;

	if (!size)
		size = 1;	/* no bytes: still a translation */
	end = kaddr + size - 1;
	if (kaddr < DUSK_KERNEL_MIN || end < kaddr)
		return -EFAULT;
	why = dusk_shadow_discontiguous(c, kaddr, end, &w);
	if (why) {
		dusk_err("kernel range 0x%llx+%zu crosses %s: no contiguous mirror",
			 (unsigned long long)kaddr, size, why);
		return -EFAULT;
	}
	for (kpn = kaddr >> DUSK_PAGE_SHIFT; kpn <= end >> DUSK_PAGE_SHIFT; kpn++) {
		m = dusk_shadow_range_lines(kpn, kaddr, end);
		err = dusk_shadow_entry_get(c, kpn, &e);
		if (!err)
			err = dusk_shadow_touch(c, e);
		if (err)
			return err;
		if ((e->valid & m) != m) {
			c->stats.misses++;
			err = dusk_shadow_fill(c, e);
			if (err)
				return err;
		}
		if (write)
			e->dirty |= m;
	}
	if (w && !w->sectioned)
		*ret = w->base + (kaddr - w->kstart);
	else if (w)
		*ret = dusk_shadow_sect_mirror(c, kaddr, 0);
	else
		*ret = e->user + (kaddr & (DUSK_PAGE_SIZE - 1));
	return 0;
}

uint64_t dusk_shadow_kaddr(const struct dusk_shadow *c, const void *user)
{
	uintptr_t u = (uintptr_t)user;
	uint64_t slot;
	unsigned int i;

	if (!c || u - c->tab->mirror_lo >= c->tab->mirror_span)
		return 0;
	for (i = 0; i < c->nr_win; i++)
		if (!c->win[i].sectioned &&
		    u - (uintptr_t)c->win[i].base < c->win[i].size)
			return c->win[i].kstart + (u - (uintptr_t)c->win[i].base);
	if (c->sect && u >= (uintptr_t)c->sect) {
		slot = (u - (uintptr_t)c->sect) >> DUSK_SHADOW_SECT_SHIFT;
		if (slot < c->sect_used)
			return (c->sect_kno[slot] << DUSK_SHADOW_SECT_SHIFT) |
			       ((u - (uintptr_t)c->sect) &
				(DUSK_SHADOW_SECT_SIZE - 1));
	}
	if (c->stray && u >= (uintptr_t)c->stray) {
		slot = (u - (uintptr_t)c->stray) >> DUSK_PAGE_SHIFT;
		if (slot < c->stray_used)
			return (c->stray_kpn[slot] << DUSK_PAGE_SHIFT) |
			       (u & (DUSK_PAGE_SIZE - 1));
	}
	return 0;	/* a guard gap, or a stray page not handed out */
}

void dusk_shadow_seed(struct dusk_shadow *c, uint64_t kaddr, const void *data,
		      size_t len)
{
	uint64_t a = (kaddr + DUSK_LINE_SIZE - 1) & ~(uint64_t)(DUSK_LINE_SIZE - 1);
	uint64_t end = (kaddr + len) & ~(uint64_t)(DUSK_LINE_SIZE - 1);
	const uint8_t *src = data;
	struct dusk_shadow_entry *e;
	unsigned int l;

	if (kaddr < DUSK_KERNEL_MIN || kaddr + len < kaddr)
		return;
	for (; a < end; a += DUSK_LINE_SIZE) {
		if (dusk_shadow_entry_get(c, a >> DUSK_PAGE_SHIFT, &e) ||
		    dusk_shadow_touch(c, e))
			return;	/* out of memory: the lines get fetched */
		l = (unsigned int)((a & (DUSK_PAGE_SIZE - 1)) >> DUSK_LINE_SHIFT);
		if (e->valid & (1ULL << l))
			continue;	/* maybe written: never overwrite */
		dusk_shadow_copy_line(e, l, src + (a - kaddr));
		c->stats.seeded_lines++;
	}
}

void dusk_shadow_update(struct dusk_shadow *c, uint64_t kaddr,
			const void *data, size_t len)
{
	const uint8_t *src = data;
	struct dusk_shadow_entry *e;
	uint64_t a, end = kaddr + len, line_end, n;
	unsigned int l;

	for (a = kaddr; a < end && a >= kaddr; a += n) {
		line_end = (a | (DUSK_LINE_SIZE - 1)) + 1;
		n = DUSK_MIN(line_end, end) - a;
		e = dusk_shadow_lookup(c, a >> DUSK_PAGE_SHIFT);
		if (!e || e->gen != c->tab->gen)
			continue;
		l = (unsigned int)((a & (DUSK_PAGE_SIZE - 1)) >> DUSK_LINE_SHIFT);
		if (!(e->valid & (1ULL << l)))
			continue;
		memcpy(e->user + (a & (DUSK_PAGE_SIZE - 1)), src + (a - kaddr), n);
		memcpy(e->pristine + (a & (DUSK_PAGE_SIZE - 1)), src + (a - kaddr),
		       n);
	}
}

/* Unmap every mirror page: the windows become PROT_NONE again and the
 * table empty. Only at an invalidation, when no mirror pointer is live. */
static void dusk_shadow_reset(struct dusk_shadow *c)
{
	struct dusk_shadow_table *t = c->tab;
	unsigned int i;

	for (i = 0; i < c->nr_win; i++)
		if (!c->win[i].sectioned)
			mmap(c->win[i].base, c->win[i].size, PROT_NONE,
			     DUSK_MMAP_RESERVE | MAP_FIXED, -1, 0);
	if (c->sect)
		mmap(c->sect, (size_t)DUSK_SHADOW_SECTS << DUSK_SHADOW_SECT_SHIFT,
		     PROT_NONE, DUSK_MMAP_RESERVE | MAP_FIXED, -1, 0);
	c->sect_used = 0;
	mmap(c->stray, DUSK_SHADOW_STRAY_PAGES * DUSK_PAGE_SIZE, PROT_NONE,
	     DUSK_MMAP_RESERVE | MAP_FIXED, -1, 0);
	c->stray_used = 0;
	memset(t->ents, 0, (t->mask + 1) * sizeof(*t->ents));
	c->used = 0;
	c->nr_live = 0;
	c->mapped_pages = 0;
	for (i = 0; i < c->nr_chunks; i++)
		free(c->chunks[i]);
	free(c->chunks);
	c->chunks = NULL;
	c->nr_chunks = 0;
	c->stats.resets++;
}

void dusk_shadow_invalidate(struct dusk_shadow *c)
{
	c->tab->gen++;
	c->tab->epoch++;
	c->nr_live = 0;
	c->stats.invalidations++;
	if (c->mapped_pages > DUSK_SHADOW_MAX_PAGES)
		dusk_shadow_reset(c);
}

/* Kernel page kpn's part of [lo, hi) as offsets [*off0, *off1) in the
 * page; 0 when none of it is. */
static int dusk_page_clip(uint64_t kpn, uint64_t lo, uint64_t hi,
			  unsigned int *off0, unsigned int *off1)
{
	uint64_t base = kpn << DUSK_PAGE_SHIFT, end = base + DUSK_PAGE_SIZE;

	if (hi <= base || lo >= end)
		return 0;
	*off0 = lo > base ? (unsigned int)(lo - base) : 0;
	*off1 = hi < end ? (unsigned int)(hi - base) : DUSK_PAGE_SIZE;
	return 1;
}

int dusk_shadow_diff_range(struct dusk_shadow *c, uint64_t lo, uint64_t hi,
			   struct dusk_segs *out)
{
	struct dusk_shadow_table *t = c->tab;
	unsigned int l, x, off0, off1;
	uint32_t i;
	int err;

	for (i = 0; i < c->nr_live; i++) {
		struct dusk_shadow_entry *e = &t->ents[c->live[i]];
		uint64_t base = e->kpn << DUSK_PAGE_SHIFT;
		int run = -1;	/* start of the open run of changed bytes */

		if (e->gen != t->gen || !e->dirty ||
		    !dusk_page_clip(e->kpn, lo, hi, &off0, &off1))
			continue;
		for (l = off0 >> DUSK_LINE_SHIFT;
		     l < DUSK_LINES_PER_PAGE && l << DUSK_LINE_SHIFT < off1; l++) {
			const uint8_t *u = e->user + (l << DUSK_LINE_SHIFT);
			const uint8_t *p = e->pristine + (l << DUSK_LINE_SHIFT);
			unsigned int x0 = DUSK_MAX(l << DUSK_LINE_SHIFT, off0);
			unsigned int x1 = DUSK_MIN((l + 1) << DUSK_LINE_SHIFT, off1);

			/* An invalid line holds no kernel bytes to compare
			 * with; an unchanged one ends the open run. */
			if (!(e->valid & (1ULL << l)) ||
			    !memcmp(u, p, DUSK_LINE_SIZE)) {
				if (run >= 0) {
					x = l << DUSK_LINE_SHIFT;
					err = dusk_segs_add(out, base + run,
							    e->user + run,
							    x - run);
					if (err)
						return err;
					run = -1;
				}
				continue;
			}
			/* Unchanged bytes end a run: sending them again
			 * could undo what the kernel changed meanwhile. */
			for (x = x0; x < x1; x++) {
				if (e->user[x] != e->pristine[x]) {
					if (run < 0)
						run = (int)x;
				} else if (run >= 0) {
					err = dusk_segs_add(out, base + run,
							    e->user + run,
							    x - run);
					if (err)
						return err;
					run = -1;
				}
			}
			if (x1 < (l + 1) << DUSK_LINE_SHIFT && run >= 0) {
				/* The range ends inside this line. */
				err = dusk_segs_add(out, base + run,
						    e->user + run, x1 - run);
				if (err)
					return err;
				run = -1;
			}
		}
		if (run >= 0) {
			err = dusk_segs_add(out, base + run, e->user + run,
					    off1 - run);
			if (err)
				return err;
		}
	}
	return 0;
}

int dusk_shadow_diff(struct dusk_shadow *c, struct dusk_segs *out)
{
	return dusk_shadow_diff_range(c, 0, UINT64_MAX, out);
}

void dusk_shadow_diff_done_range(struct dusk_shadow *c, uint64_t lo,
				 uint64_t hi)
{
	struct dusk_shadow_table *t = c->tab;
	unsigned int l, off0, off1, x0, x1;
	uint32_t i;

	for (i = 0; i < c->nr_live; i++) {
		struct dusk_shadow_entry *e = &t->ents[c->live[i]];

		if (e->gen != t->gen || !e->dirty ||
		    !dusk_page_clip(e->kpn, lo, hi, &off0, &off1))
			continue;
		if (e->valid == ~0ULL && !off0 && off1 == DUSK_PAGE_SIZE) {
			memcpy(e->pristine, e->user, DUSK_PAGE_SIZE);
			e->dirty = 0;
			continue;
		}
		for (l = 0; l < DUSK_LINES_PER_PAGE; l++) {
			x0 = DUSK_MAX(l << DUSK_LINE_SHIFT, off0);
			x1 = DUSK_MIN((l + 1) << DUSK_LINE_SHIFT, off1);
			if (x0 >= x1 || !(e->valid & (1ULL << l)))
				continue;
			memcpy(e->pristine + x0, e->user + x0, x1 - x0);
		}
		if (!off0 && off1 == DUSK_PAGE_SIZE)
			e->dirty = 0;
		/* Else a part stays marked: its other bytes may differ. */
	}
}

void dusk_shadow_diff_done(struct dusk_shadow *c)
{
	dusk_shadow_diff_done_range(c, 0, UINT64_MAX);
}

void *dusk_shadow_peek(struct dusk_shadow *c, uint64_t kaddr, size_t size)
{
	const struct dusk_shadow_window *w;
	struct dusk_shadow_entry *e = NULL;
	uint64_t end, kpn, m;

	if (!size)
		size = 1;
	end = kaddr + size - 1;
	if (kaddr < DUSK_KERNEL_MIN || end < kaddr)
		return NULL;
	if (dusk_shadow_discontiguous(c, kaddr, end, &w))
		return NULL;
	for (kpn = kaddr >> DUSK_PAGE_SHIFT; kpn <= end >> DUSK_PAGE_SHIFT; kpn++) {
		m = dusk_shadow_range_lines(kpn, kaddr, end);
		e = dusk_shadow_lookup(c, kpn);
		if (!e || e->gen != c->tab->gen || (e->valid & m) != m)
			return NULL;
	}
	if (w && !w->sectioned)
		return w->base + (kaddr - w->kstart);
	if (w)
		return dusk_shadow_sect_mirror(c, kaddr, 0);
	return e->user + (kaddr & (DUSK_PAGE_SIZE - 1));
}

const char *dusk_shadow_moves(const struct dusk_shadow *c, uint64_t kaddr)
{
	const struct dusk_shadow_window *w = dusk_shadow_window_of(c, kaddr);

	if (!w)
		return "it is outside every kernel region the cache mirrors whole: its mirror is a stray page, given out anew after the cache is reset";
	if (w->sectioned)
		return "its kernel region is mirrored by sections, given out anew after the cache is reset";
	return NULL;
}

void dusk_shadow_forget(struct dusk_shadow *c, uint64_t kaddr, uint64_t len)
{
	struct dusk_shadow_table *t = c->tab;
	unsigned int off0, off1;
	uint64_t m;
	uint32_t i;

	if (!len)
		return;
	t->epoch++;
	for (i = 0; i < c->nr_live; i++) {
		struct dusk_shadow_entry *e = &t->ents[c->live[i]];

		if (e->gen != t->gen ||
		    !dusk_page_clip(e->kpn, kaddr, kaddr + len, &off0, &off1))
			continue;
		m = dusk_shadow_lines(off0, off1 - off0);
		e->valid &= ~m;
		e->dirty &= ~m;
	}
}

void dusk_shadow_foreach(const struct dusk_shadow *c,
			 void (*fn)(const struct dusk_shadow_entry *e,
				    int current, void *arg),
			 void *arg)
{
	const struct dusk_shadow_table *t = c->tab;
	uint64_t i;

	for (i = 0; i <= t->mask; i++)
		if (t->ents[i].kpn)
			fn(&t->ents[i], t->ents[i].gen == t->gen, arg);
}

void *dusk_shadow_check_slow(const void *p, size_t size, int write)
{
	struct dusk_shadow *c = dusk_shadow_cur;
	uint64_t k = (uintptr_t)p;
	void *user;
	int err;

	if (!c)
		return (void *)p;
	if (k < DUSK_KERNEL_MIN) {
		k = dusk_shadow_kaddr(c, p);
		if (!k)
			return (void *)p;	/* a user address */
	}
	if (dusk_shadow_user_of && (user = dusk_shadow_user_of(k, size)))
		return user;		/* a kernel copy of a user object */
	if (dusk_shadow_frozen && (user = dusk_shadow_frozen(k, size)))
		return user;		/* a released packet, as it was */
	err = dusk_shadow_get(c, k, size, write, &user);
	if (err) {
		/* Hand back the kernel address: the module's own access then
		 * faults there, on its source line, where the .ko would
		 * oops. */
		c->stats.bad_addresses++;
		dusk_err("bad kernel address 0x%llx (%zu bytes): %s",
			 (unsigned long long)k, size, strerror(-err));
		return (void *)(uintptr_t)k;
	}
	return user;
}

/* ---- setup ---- */

static int dusk_shadow_add_window(struct dusk_shadow *c,
				  const struct dusk_shadow_region *r)
{
	uint64_t start = r->start & ~(DUSK_PAGE_SIZE - 1);
	uint64_t size = dusk_page_round(r->size + (r->start - start));
	unsigned int i;

	if (!r->size || r->kind == DUSK_REGION_INVALID ||
	    r->kind >= __DUSK_REGION_MAX || start < DUSK_KERNEL_MIN ||
	    start + size - 1 < start) {
		dusk_warn("ignoring kernel region kind %u 0x%llx+0x%llx", r->kind,
			  (unsigned long long)r->start,
			  (unsigned long long)r->size);
		return 0;
	}
	for (i = 0; i < c->nr_win; i++) {
		if (start < c->win[i].kstart + c->win[i].size &&
		    c->win[i].kstart < start + size) {
			dusk_warn("ignoring kernel region kind %u: overlaps kind %u",
				  r->kind, c->win[i].kind);
			return 0;
		}
	}
	if (c->nr_win == DUSK_SHADOW_MAX_REGIONS)
		return -E2BIG;
	c->win[c->nr_win].kstart = start;
	c->win[c->nr_win].size = size;
	c->win[c->nr_win].kind = r->kind;
	c->nr_win++;
	return 0;
}

/* All windows and the stray pool in one reservation if possible, else
 * each by itself; a window that cannot be had is sectioned. */
static int dusk_shadow_reserve(struct dusk_shadow *c)
{
	size_t stray_len = (size_t)DUSK_SHADOW_STRAY_PAGES * DUSK_PAGE_SIZE;
	size_t sect_len = (size_t)DUSK_SHADOW_SECTS << DUSK_SHADOW_SECT_SHIFT;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	uint64_t total = stray_len;
	int sectioned = 0;
	unsigned int i;
	uint8_t *p;

	for (i = 0; i < c->nr_win; i++)
		total += c->win[i].size + DUSK_SHADOW_GUARD;
	p = mmap(NULL, total, PROT_NONE, DUSK_MMAP_RESERVE, -1, 0);
	if (p != MAP_FAILED) {
		c->reserve = p;
		c->reserve_len = total;
		for (i = 0; i < c->nr_win; i++) {
			c->win[i].base = p;
			p += c->win[i].size + DUSK_SHADOW_GUARD;
		}
		c->stray = p;
	} else {
		for (i = 0; i < c->nr_win; i++) {
			p = mmap(NULL, c->win[i].size, PROT_NONE,
				 DUSK_MMAP_RESERVE, -1, 0);
			if (p == MAP_FAILED) {
				dusk_dbg("kernel region kind %u (0x%llx bytes) is mirrored by sections",
					 c->win[i].kind,
					 (unsigned long long)c->win[i].size);
				c->win[i].sectioned = 1;
				sectioned = 1;
				continue;
			}
			c->win[i].base = p;
			c->win[i].own_map = 1;
		}
		p = mmap(NULL, stray_len, PROT_NONE, DUSK_MMAP_RESERVE, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		c->stray = p;
		c->stray_own_map = 1;
	}
	if (sectioned) {
		p = mmap(NULL, sect_len, PROT_NONE, DUSK_MMAP_RESERVE, -1, 0);
		c->sect_kno = calloc(DUSK_SHADOW_SECTS, sizeof(*c->sect_kno));
		if (p == MAP_FAILED || !c->sect_kno) {
			if (p != MAP_FAILED)
				munmap(p, sect_len);
			return -ENOMEM;
		}
		c->sect = p;
		lo = (uintptr_t)p;
		hi = (uintptr_t)p + sect_len;
	}
	for (i = 0; i < c->nr_win; i++) {
		if (c->win[i].sectioned)
			continue;
		lo = DUSK_MIN(lo, (uintptr_t)c->win[i].base);
		hi = DUSK_MAX(hi, (uintptr_t)c->win[i].base + c->win[i].size);
	}
	lo = DUSK_MIN(lo, (uintptr_t)c->stray);
	hi = DUSK_MAX(hi, (uintptr_t)c->stray + stray_len);
	c->tab->mirror_lo = lo;
	c->tab->mirror_span = hi - lo;
	return 0;
}

static void dusk_shadow_unreserve(struct dusk_shadow *c)
{
	unsigned int i;

	if (c->sect)
		munmap(c->sect, (size_t)DUSK_SHADOW_SECTS << DUSK_SHADOW_SECT_SHIFT);
	free(c->sect_kno);
	if (c->reserve) {
		munmap(c->reserve, c->reserve_len);
		return;
	}
	for (i = 0; i < c->nr_win; i++)
		if (c->win[i].own_map)
			munmap(c->win[i].base, c->win[i].size);
	if (c->stray_own_map)
		munmap(c->stray, (size_t)DUSK_SHADOW_STRAY_PAGES * DUSK_PAGE_SIZE);
}

int dusk_shadow_create(const struct dusk_shadow_backing *backing,
		       const struct dusk_shadow_region *regions,
		       unsigned int nr, int current, struct dusk_shadow **ret)
{
	struct dusk_shadow *c;
	unsigned int i;
	int err;

	if (current && dusk_shadow_cur)
		current = 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->backing = *backing;
	c->tab = current ? &__dusk_shadow : &c->own;
	c->scratch = malloc(DUSK_PAGE_SIZE);
	c->stray_kpn = calloc(DUSK_SHADOW_STRAY_PAGES, sizeof(*c->stray_kpn));
	c->own.ents = calloc(DUSK_SHADOW_MIN_SLOTS, sizeof(*c->own.ents));
	if (!c->scratch || !c->stray_kpn || !c->own.ents) {
		err = -ENOMEM;
		goto out_alloc;
	}
	c->own.mask = DUSK_SHADOW_MIN_SLOTS - 1;
	c->own.gen = 1;
	for (i = 0; i < nr; i++) {
		err = dusk_shadow_add_window(c, &regions[i]);
		if (err)
			goto out_alloc;
	}
	err = dusk_shadow_reserve(c);
	if (err)
		goto out_reserve;
	if (current) {
		/* Publish the table to the fast path last, whole. */
		__dusk_shadow.ents = c->own.ents;
		__dusk_shadow.mask = c->own.mask;
		__dusk_shadow.gen++;
		__dusk_shadow.epoch++;
		c->own.ents = NULL;
		dusk_shadow_cur = c;
	}
	for (i = 0; i < c->nr_win; i++)
		dusk_dbg("mirror of kernel region kind %u 0x%llx+0x%llx at %p",
			 c->win[i].kind, (unsigned long long)c->win[i].kstart,
			 (unsigned long long)c->win[i].size,
			 (void *)c->win[i].base);
	*ret = c;
	return 0;

out_reserve:
	dusk_shadow_unreserve(c);
out_alloc:
	if (current) {
		__dusk_shadow.mirror_lo = 0;
		__dusk_shadow.mirror_span = 0;
	}
	free(c->own.ents);
	free(c->stray_kpn);
	free(c->scratch);
	free(c);
	return err;
}

void dusk_shadow_destroy(struct dusk_shadow *c)
{
	uint32_t i;

	if (!c)
		return;
	if (c->tab == &__dusk_shadow) {
		free(__dusk_shadow.ents);
		__dusk_shadow.ents = &dusk_shadow_nil;
		__dusk_shadow.mask = 0;
		__dusk_shadow.gen++;
		__dusk_shadow.epoch++;
		__dusk_shadow.mirror_lo = 0;
		__dusk_shadow.mirror_span = 0;
		dusk_shadow_cur = NULL;
	} else {
		free(c->own.ents);
	}
	dusk_shadow_unreserve(c);
	for (i = 0; i < c->nr_chunks; i++)
		free(c->chunks[i]);
	free(c->chunks);
	free(c->live);
	free(c->stray_kpn);
	free(c->scratch);
	free(c);
}

/* ---- dusk.h ---- */

DUSK_EXPORT void *__dusk_check(const void *p, size_t size)
{
	void *u = dusk_shadow_fast(p, size, 0);

	return u ? u : dusk_shadow_check_slow(p, size, 0);
}

DUSK_EXPORT void *__dusk_check_w(void *p, size_t size)
{
	void *u = dusk_shadow_fast(p, size, 1);

	return u ? u : dusk_shadow_check_slow(p, size, 1);
}

DUSK_EXPORT uint64_t dusk_kaddr(const void *user)
{
	return dusk_shadow_kaddr(dusk_shadow_cur, user);
}
