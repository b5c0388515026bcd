// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Kernel copies of user objects, and pointer translation both ways.
 *
 * Kernel memory must only ever hold kernel addresses. A user object that
 * reaches the kernel (a kernel call's argument, a pointer the module stores
 * into kernel memory, a pointer inside either) gets a kernel copy:
 *
 *  - a temporary one for a local (an object on the calling thread's stack),
 *    for the duration of one kernel call: made before it, read back into
 *    the local after it, then dropped. Temporaries are cut from one
 *    session-owned arena and travel with the CALL's commit (below), so a
 *    call with a local buffer costs its CALL and one READ;
 *  - a persistent one for anything else (globals, statics, string
 *    literals, the runtime's strings): one per object for the session,
 *    found again by its user address and by its kernel address.
 *    __dusk_check() on the copy's kernel address leads back to the user
 *    object (shadow.h, dusk_shadow_user_of), so both sides agree on one
 *    object. The module keeps using its user object; the runtime sends
 *    what it changed before every kernel call and at the end of every
 *    callback, and takes in what the kernel changed after every kernel
 *    call that got the object and at the start of every invocation.
 *    Objects in read-only memory never change and are never read back.
 *
 * Sizes: the caller's (a __dusk_hint for a local argument), else the
 * program's symbol table (globals and statics), else, for a local, its
 * type's size or a window of DUSK_KCOPY_STACK_WINDOW bytes toward the
 * callers' frames (harmless: only what the kernel changes is written
 * back), else strlen + 1 for a pointee of type char (and for untyped
 * read-only data without a symbol: string literals), else the pointee
 * type's size from the type records; else the program stops (it cannot
 * be copied faithfully).
 *
 * Pointers inside a copy are translated recursively: the fields the type
 * records call pointers (in embedded structs and arrays of structs too).
 * An object of type char holds none. As a safety net for statics of no
 * known type, every aligned word whose value is plainly an address of the
 * program (its code, data, placeholders, the mirror) is translated too;
 * never in locals, whose leftovers (return and stack addresses) would
 * look the same. A user function in a copy is refused, naming the type
 * and field, unless it is a kernel function's stub or libdusk impl, which
 * becomes the kernel function.
 *
 * Deferred user functions. A registration API (mod_nf.c) may receive its
 * ops in kernel memory the module allocated, with the module's function
 * already stored in it: ops = kzalloc(...); ops->hook = my_hook;
 * nf_register_net_hook(net, ops). Such a store (through __dusk_kptr, or in
 * a copy made for one) puts a harmless kernel function there instead
 * (__static_call_return0, which returns 0) and remembers the user
 * function by the kernel address it was stored at; the registration API
 * claims it. One still unclaimed at the end of the callback stops the
 * program, naming the function: nothing may make the kernel call it.
 *
 * Arenas. Copies live in kernel memory of their own, whole pages (kmalloc
 * of 4 KiB or more, power-of-two sizes: page aligned), so the shadow
 * cache never fetches a copy's lines as the neighbour of something else,
 * and 64-byte aligned, so that a copy's lines are its own. To ride on the
 * CALL's commit, a copy's bytes are staged through the cache right before
 * dusk_kcall(): its lines are seeded with what the kernel holds as far as
 * we know (the previous image; for a new copy the complement of the new
 * one, so that every byte differs and is sent), then the new image is
 * written; the commit sends exactly the bytes that differ, and the call
 * invalidates the cache, so staged lines are never seen by module code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "kernel.h"
#include "log.h"
#include "mod_lines.h"
#include "modrt.h"
#include "session.h"
#include "shadow.h"
#include "util.h"

#define DUSK_KCOPY_CHUNK	4096	/* persistent copies' arena chunk */
#define DUSK_KCOPY_OWN_MIN	1024	/* larger: pages of its own */
#define DUSK_KCOPY_TEMP_ARENA	16384	/* temporaries of one call */
#define DUSK_KCOPY_MAX_DEPTH	32
#define DUSK_KCOPY_MAX_STR	(1U << 20)
#define DUSK_KCOPY_READ_GAP	1024	/* read neighbours together */
#define DUSK_KCOPY_READ_MAX	32768
#define DUSK_KCOPY_STACK_WINDOW	2048	/* an unhinted local's extent */

struct dusk_kcopy {
	uintptr_t user;			/* the user object */
	uint64_t size;
	uint64_t kaddr;			/* its kernel copy */
	uint64_t slot;			/* size rounded up to whole lines */
	const struct dusk_mtype *type;	/* the type at type_off, if known */
	uint64_t type_off;
	uint8_t *image;			/* slot bytes the kernel holds, as far
					 * as we know: the translated object */
	uint8_t *snap;			/* the user bytes image was made from */
	uint64_t *ptrmap;		/* words of image holding pointers */
	const char *name;		/* its symbol, if it has one */
	unsigned int readonly:1;	/* in read-only memory */
	unsigned int temp:1;		/* a local's, for one call */
	unsigned int in_call:1;		/* got by the current kernel call */
	unsigned int own:1;		/* kernel pages of its own */
	unsigned int scalar:1;		/* chars: nothing to translate */
	unsigned int proxy:1;		/* a table of dusk.ko's (mod_fops.c) */
};

struct dusk_deferred {
	uint64_t kaddr;			/* where the user function was stored */
	uintptr_t fn;
	int claimed;
	int resolved;			/* its proxy is there now */
	const char *refused;		/* why it may not be proxied, or NULL */
	char site[160];			/* the module's FILE:LINE of the store */
};

struct dusk_karena {
	uint64_t kaddr, size, used;
};

static struct {
	struct dusk_kcopy **by_user;	/* persistent copies, by user address */
	struct dusk_kcopy **by_kaddr;	/* the same, by kernel address */
	size_t nr, cap;
	size_t nr_writable;
	uint64_t klo, kspan;		/* every persistent copy is in there */
	struct dusk_kcopy **temps;	/* of the current call */
	size_t nr_temps, cap_temps;
	struct dusk_karena chunk;	/* persistent copies' current chunk */
	struct dusk_karena tarena;	/* temporaries */
	struct dusk_deferred *deferred;
	size_t nr_deferred, cap_deferred;
	uint64_t harmless;		/* __static_call_return0 */
	int harmless_known;
	int depth;
	int staged;			/* something staged for the next commit */
	struct dusk_kcopy_stats stats;
} kc;

static uint64_t dusk_round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

const char *dusk_xlate_describe(const struct dusk_xlate_ctx *ctx, char *buf,
				size_t len)
{
	const struct dusk_kcopy *p = ctx->parent;
	const struct dusk_mfield *f = NULL;
	char obj[96];

	if (p) {
		if (p->name)
			snprintf(obj, sizeof(obj), "%s", p->name);
		else
			snprintf(obj, sizeof(obj), "the object at %p",
				 (void *)p->user);
		if (p->type && p->type->size && ctx->off >= p->type_off)
			f = dusk_mtype_field_at(p->type, (ctx->off - p->type_off) %
						p->type->size);
		if (f) {
			/* The record's "struct_file_operations" as C says it. */
			const char *t = p->type->name;
			const char *kw = !strncmp(t, "struct_", 7) ? "struct " :
					 !strncmp(t, "union_", 6) ? "union " : "";

			snprintf(buf, len, "%s%s, member %s (offset %llu of %s)",
				 kw, t + (*kw ? strlen(kw) : 0), f->name,
				 (unsigned long long)ctx->off, obj);
		}
		else
			snprintf(buf, len, "offset %llu of %s",
				 (unsigned long long)ctx->off, obj);
		if (ctx->fn) {
			size_t n = strlen(buf);

			snprintf(buf + n, len - n, ", reached from argument %d of %s",
				 ctx->argno + 1, ctx->fn);
		}
	} else if (ctx->fn) {
		snprintf(buf, len, "argument %d of %s", ctx->argno + 1, ctx->fn);
	} else {
		snprintf(buf, len, "a pointer stored at kernel address 0x%llx",
			 (unsigned long long)ctx->dest_kaddr);
	}
	return buf;
}

static const char *dusk_fn_name(uintptr_t fn, char *buf, size_t len)
{
	const struct dusk_msym *sym = dusk_image_func(fn);

	if (sym && sym->addr == fn)
		snprintf(buf, len, "%s", sym->name);
	else if (sym)
		snprintf(buf, len, "%s+0x%lx", sym->name,
			 (unsigned long)(fn - sym->addr));
	else
		snprintf(buf, len, "%p", (void *)fn);
	return buf;
}

/* ---- the registry ---- */

static struct dusk_kcopy *dusk_kcopy_find(struct dusk_kcopy **v, size_t n,
					  uint64_t a, int by_kaddr)
{
	size_t lo = 0, hi = n, mid, i, steps;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((by_kaddr ? v[mid]->kaddr : v[mid]->user) <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo, steps = 0; i > 0 && steps < 8; i--, steps++) {
		struct dusk_kcopy *c = v[i - 1];
		uint64_t base = by_kaddr ? c->kaddr : c->user;

		if (a - base < (c->size ? c->size : 1))
			return c;
	}
	return NULL;
}

static struct dusk_kcopy *dusk_kcopy_of_user(uintptr_t u)
{
	size_t i;

	for (i = 0; i < kc.nr_temps; i++)
		if (u - kc.temps[i]->user < kc.temps[i]->size)
			return kc.temps[i];
	return kc.nr ? dusk_kcopy_find(kc.by_user, kc.nr, u, 0) : NULL;
}

static struct dusk_kcopy *dusk_kcopy_of_kaddr(uint64_t k, int temps)
{
	size_t i;

	for (i = 0; temps && i < kc.nr_temps; i++)
		if (k - kc.temps[i]->kaddr < kc.temps[i]->size)
			return kc.temps[i];
	return kc.nr ? dusk_kcopy_find(kc.by_kaddr, kc.nr, k, 1) : NULL;
}

static void dusk_kcopy_insert(struct dusk_kcopy **v, size_t n,
			      struct dusk_kcopy *c, int by_kaddr)
{
	uint64_t key = by_kaddr ? c->kaddr : c->user;
	size_t i = n;

	while (i > 0 && (by_kaddr ? v[i - 1]->kaddr : v[i - 1]->user) > key) {
		v[i] = v[i - 1];
		i--;
	}
	v[i] = c;
}

static int dusk_kcopy_register(struct dusk_kcopy *c)
{
	size_t cap_user;

	if (c->temp) {
		if (DUSK_GROW(kc.temps, kc.cap_temps, kc.nr_temps, 8))
			return -ENOMEM;
		kc.temps[kc.nr_temps++] = c;
		return 0;
	}
	/* Two arrays of one capacity: the second grows to the first's. */
	cap_user = kc.cap;
	if (DUSK_GROW(kc.by_user, cap_user, kc.nr, 16) ||
	    DUSK_GROW(kc.by_kaddr, kc.cap, kc.nr, 16))
		return -ENOMEM;
	dusk_kcopy_insert(kc.by_user, kc.nr, c, 0);
	dusk_kcopy_insert(kc.by_kaddr, kc.nr, c, 1);
	kc.nr++;
	kc.klo = kc.by_kaddr[0]->kaddr;
	kc.kspan = kc.by_kaddr[kc.nr - 1]->kaddr + kc.by_kaddr[kc.nr - 1]->size -
		   kc.klo;
	if (!c->readonly)
		kc.nr_writable++;
	/* From now on the shadow cache's slow path asks us first. */
	dusk_shadow_user_of = dusk_kcopy_user;
	return 0;
}

static void dusk_kcopy_free(struct dusk_kcopy *c)
{
	free(c->image);
	free(c->snap);
	free(c->ptrmap);
	free(c);
}

void *dusk_kcopy_user(uint64_t k, size_t size)
{
	struct dusk_kcopy *c;

	c = kc.nr ? dusk_kcopy_find(kc.by_kaddr, kc.nr, k, 1) : NULL;
	if (c)
		return (void *)(c->user + (k - c->kaddr));
	/* per_cpu_ptr() of a module per-CPU variable (mod_kvar.c). */
	return dusk_percpu_user(k);
}

uint64_t dusk_kcopy_kaddr_of(uintptr_t u)
{
	struct dusk_kcopy *c = kc.nr ? dusk_kcopy_find(kc.by_user, kc.nr, u, 0) :
				       NULL;

	return c ? c->kaddr + (u - c->user) : 0;
}

uintptr_t dusk_xlate_in(uint64_t k)
{
	struct dusk_kcopy *c = dusk_kcopy_of_kaddr(k, 1);
	uintptr_t fn;

	if (c)
		return c->user + (k - c->kaddr);
	/* A proxy function: the module's own function again. */
	fn = dusk_fn_proxy_user(k);
	return fn ? fn : (uintptr_t)k;
}

void dusk_kcopy_reset(void)
{
	size_t i;

	for (i = 0; i < kc.nr; i++)
		dusk_kcopy_free(kc.by_user[i]);
	for (i = 0; i < kc.nr_temps; i++)
		dusk_kcopy_free(kc.temps[i]);
	free(kc.by_user);
	free(kc.by_kaddr);
	free(kc.temps);
	free(kc.deferred);
	memset(&kc, 0, sizeof(kc));
}

void dusk_kcopy_stats(struct dusk_kcopy_stats *ret)
{
	*ret = kc.stats;
	ret->persistent = kc.nr;
}

static void dusk_kcopy_info(const struct dusk_kcopy *c,
			    struct dusk_kcopy_info *ret)
{
	ret->kaddr = c->kaddr;
	ret->user = c->user;
	ret->size = c->size;
	ret->type = c->type ? c->type->name : NULL;
	ret->name = c->name;
	ret->temp = c->temp;
	ret->changed = !c->readonly && memcmp((void *)c->user, c->snap, c->size);
}

void dusk_kcopy_foreach(void (*fn)(const struct dusk_kcopy_info *c,
				   void *arg),
			void *arg)
{
	struct dusk_kcopy_info info;
	size_t i;

	for (i = 0; i < kc.nr; i++) {
		dusk_kcopy_info(kc.by_kaddr[i], &info);
		fn(&info, arg);
	}
	for (i = 0; i < kc.nr_temps; i++) {
		dusk_kcopy_info(kc.temps[i], &info);
		fn(&info, arg);
	}
}

/* ---- kernel memory for copies ---- */

static int dusk_kpages(struct dusk_session *s, uint64_t size, uint64_t *ret,
		       uint64_t *ret_size)
{
	uint64_t n = 4096;

	while (n < size)
		n <<= 1;
	*ret_size = n;
	return dusk_kalloc(s, n, 1, ret);
}

static int dusk_kcopy_place(struct dusk_session *s, struct dusk_kcopy *c)
{
	struct dusk_karena *a = c->temp ? &kc.tarena : &kc.chunk;
	uint64_t got;
	int err;

	if (c->slot > (c->temp ? DUSK_KCOPY_TEMP_ARENA / 2 : DUSK_KCOPY_OWN_MIN)) {
		c->own = 1;
		return dusk_kpages(s, c->slot, &c->kaddr, &got);
	}
	if (!a->kaddr || a->used + c->slot > a->size) {
		if (c->temp && a->kaddr) {
			c->own = 1;	/* the arena is full for this call */
			return dusk_kpages(s, c->slot, &c->kaddr, &got);
		}
		err = dusk_kpages(s, c->temp ? DUSK_KCOPY_TEMP_ARENA :
				  DUSK_KCOPY_CHUNK, &a->kaddr, &a->size);
		if (err)
			return err;
		a->used = 0;
	}
	c->kaddr = a->kaddr + a->used;
	a->used += c->slot;
	return 0;
}

/* Make the kernel's bytes at kaddr new (slot bytes) when the next commit
 * goes: old is what it holds as far as we know (NULL: nothing known). */
static int dusk_stage(struct dusk_session *s, uint64_t kaddr,
		      const uint8_t *old, const uint8_t *new, size_t len)
{
	uint8_t *seed = NULL;
	void *mirror;
	size_t i;
	int err;

	if (!old) {
		seed = malloc(len);
		if (!seed)
			return -ENOMEM;
		for (i = 0; i < len; i++)
			seed[i] = (uint8_t)~new[i];
		old = seed;
	}
	dusk_shadow_seed(s->shadow, kaddr, old, len);
	err = dusk_shadow_get(s->shadow, kaddr, len, 1, &mirror);
	if (!err) {
		memcpy(mirror, new, len);
		kc.staged = 1;
	}
	free(seed);
	return err;
}

/* ---- translation ---- */

const struct dusk_mtype *dusk_type_named(const char *name)
{
	if (!name || !strcmp(name, "void") || !strcmp(name, "char"))
		return NULL;
	return dusk_types_type(dusk_mod_types(), name);
}

/* The pointer field (ptr or fn, 8 bytes) of type t at byte off, looking
 * into embedded structs and arrays of structs; NULL when none is. */
static const struct dusk_mfield *dusk_mtype_ptr_at(const struct dusk_mtype *t,
						   uint64_t off, int depth,
						   const struct dusk_mtype **owner)
{
	const struct dusk_mfield *best = NULL;
	const struct dusk_mtype *inner;
	uint32_t i;

	if (!t || depth > 8)
		return NULL;
	for (i = 0; i < t->nr_fields; i++) {
		const struct dusk_mfield *f = &t->fields[i];
		uint64_t rel;

		if (off < f->off || off - f->off >= (f->size ? f->size : 1))
			continue;
		rel = off - f->off;
		if ((f->kind == DUSK_MF_PTR || f->kind == DUSK_MF_FN) &&
		    !rel && f->size == 8) {
			/* A union's members at one offset: a data pointer
			 * says more than a function pointer. */
			if (!best || f->kind == DUSK_MF_PTR) {
				best = f;
				if (owner)
					*owner = t;
			}
			continue;
		}
		inner = dusk_type_named(f->target);
		if (f->kind == DUSK_MF_AGG && inner && !best)
			best = dusk_mtype_ptr_at(inner, rel, depth + 1, owner);
		else if (f->kind == DUSK_MF_ARR && inner && inner->size && !best)
			best = dusk_mtype_ptr_at(inner, rel % inner->size,
						 depth + 1, owner);
	}
	return best;
}

/* The pointer field of c's type at word o, if c's type applies there
 * (and the struct it is a member of, if owner). */
static const struct dusk_mfield *dusk_kcopy_field(const struct dusk_kcopy *c,
						  uint64_t o,
						  const struct dusk_mtype **owner)
{
	uint64_t tsize = c->type ? c->type->size : 0, rel;

	if (!tsize)
		return NULL;
	if (o >= c->type_off && o - c->type_off < tsize) {
		rel = o - c->type_off;
	} else if (c->size % tsize == 0 && c->type_off % tsize == 0) {
		rel = o % tsize;	/* an array of the type */
	} else {
		return NULL;
	}
	return dusk_mtype_ptr_at(c->type, rel, 0, owner);
}

/* c's type applies at word o (as in dusk_kcopy_field). */
static int dusk_kcopy_typed_at(const struct dusk_kcopy *c, uint64_t o)
{
	uint64_t tsize = c->type ? c->type->size : 0;

	if (!tsize)
		return 1;	/* a type without a size: as before */
	return (o >= c->type_off && o - c->type_off < tsize) ||
	       (c->size % tsize == 0 && c->type_off % tsize == 0);
}

/* A word of an untyped static that is plainly a pointer of ours: to code,
 * a placeholder, the mirror, or data of the image. (Not the stack or the
 * heap: an untyped object's words there are not told from leftovers.) */
static int dusk_word_is_pointer(uint64_t v)
{
	switch (dusk_mem_class((uintptr_t)v)) {
	case DUSK_MEM_TEXT:
	case DUSK_MEM_RO:
	case DUSK_MEM_RW:
	case DUSK_MEM_KDATA:
	case DUSK_MEM_MIRROR:
		return 1;
	default:
		return 0;
	}
}

/* image := the user object with its pointers translated. */
static void dusk_kcopy_fill(struct dusk_kcopy *c, const struct dusk_xlate_ctx *ctx)
{
	const uint8_t *u = (const uint8_t *)c->user;
	uint64_t o, v, k;

	memcpy(c->image, u, c->size);
	memset(c->image + c->size, 0, c->slot - c->size);
	memset(c->ptrmap, 0, dusk_round_up(c->size / 8 + 1, 64) / 8);
	memcpy(c->snap, u, c->size);
	if (c->scalar)
		return;		/* chars: no pointers in there */
	for (o = 0; o + 8 <= c->size; o += 8) {
		const struct dusk_mfield *f = dusk_kcopy_field(c, o, NULL);
		int typed = f != NULL;
		struct dusk_xlate_ctx sub = {
			.fn = ctx->fn, .argno = ctx->argno, .parent = c, .off = o,
			.in_call = ctx->in_call, .defer_fn = ctx->defer_fn,
			.dest_kaddr = c->kaddr + o,
		};

		memcpy(&v, u + o, 8);
		/* Typed: the records' pointer fields. Untyped: the safety
		 * net, in statics only (a local's leftovers look like
		 * pointers: return addresses, stack addresses), and in the
		 * rest of a static reached through a pointer to its first
		 * member (&my_kobj_attr.attr: show and store follow). */
		if (!v || (!typed && ((c->type && dusk_kcopy_typed_at(c, o)) ||
				      c->temp || !dusk_word_is_pointer(v))))
			continue;
		k = dusk_xlate_out((uintptr_t)v, 0, 0,
				   typed && f->kind == DUSK_MF_PTR ?
				   dusk_type_named(f->target) : NULL,
				   typed && f->kind == DUSK_MF_PTR ? f->target : NULL,
				   &sub);
		memcpy(c->image + o, &k, 8);
		c->ptrmap[o / 8 / 64] |= 1ULL << (o / 8 % 64);
	}
}

static struct dusk_kcopy *dusk_kcopy_create(uintptr_t base, uint64_t size,
					    const struct dusk_mtype *type,
					    uint64_t type_off, int temp,
					    int readonly, int scalar,
					    const struct dusk_xlate_ctx *ctx)
{
	struct dusk_session *s = dusk_mod_session();
	const struct dusk_msym *sym;
	struct dusk_kcopy *c;
	char what[160], ebuf[64];
	int err;

	if (!s)
		dusk_mod_fatal(1, "%s: no session with the target",
			       dusk_xlate_describe(ctx, what, sizeof(what)));
	if (++kc.depth > DUSK_KCOPY_MAX_DEPTH)
		dusk_mod_fatal(1, "%s: user objects pointing to user objects more than %d deep",
			       dusk_xlate_describe(ctx, what, sizeof(what)),
			       DUSK_KCOPY_MAX_DEPTH);
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out_nomem;
	c->user = base;
	c->size = size;
	c->slot = dusk_round_up(size ? size : 1, DUSK_LINE_SIZE);
	c->type = type;
	c->type_off = type_off;
	c->temp = !!temp;
	c->readonly = !!readonly;
	c->scalar = !!scalar;
	sym = dusk_image_object(base);
	c->name = sym && sym->addr == base ? sym->name : NULL;
	c->image = malloc(c->slot);
	c->snap = malloc(size ? size : 1);
	c->ptrmap = calloc(dusk_round_up(size / 8 + 1, 64) / 64, 8);
	if (!c->image || !c->snap || !c->ptrmap)
		goto out_nomem;
	err = dusk_kcopy_place(s, c);
	if (err)
		dusk_mod_fatal(1, "%s: no kernel memory for a copy of %llu bytes: %s",
			       dusk_xlate_describe(ctx, what, sizeof(what)),
			       (unsigned long long)size,
			       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	/* Registered first: an object pointing to itself finds its copy. */
	if (dusk_kcopy_register(c))
		goto out_nomem;
	c->in_call = !!ctx->in_call;
	dusk_kcopy_fill(c, ctx);
	if (ctx->in_call)
		err = dusk_stage(s, c->kaddr, NULL, c->image, c->slot);
	if (!ctx->in_call || err)
		err = dusk_kwrite(s, c->kaddr, c->image, c->slot);
	if (err)
		dusk_mod_fatal(1, "%s: writing the kernel copy of %p: %s",
			       dusk_xlate_describe(ctx, what, sizeof(what)),
			       (void *)base, dusk_errno_text(err, ebuf, sizeof(ebuf)));
	if (temp)
		kc.stats.temporaries++;
	kc.stats.bytes_out += size;
	kc.depth--;
	dusk_dbg("kernel copy of %s%p+%llu at 0x%llx (%s%s)", c->name ? c->name : "",
		 (void *)base, (unsigned long long)size,
		 (unsigned long long)c->kaddr, temp ? "temporary" : "persistent",
		 readonly ? ", read-only" : "");
	return c;

out_nomem:
	dusk_mod_fatal(1, "%s: out of memory copying a user object",
		       dusk_xlate_describe(ctx, what, sizeof(what)));
}

void dusk_kcopy_add_proxy(uintptr_t base, uint64_t size,
			  const struct dusk_mtype *type, uint64_t kaddr)
{
	const struct dusk_msym *sym;
	struct dusk_kcopy *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		dusk_mod_fatal(1, "out of memory");
	c->user = base;
	c->size = size;
	c->slot = dusk_round_up(size ? size : 1, DUSK_LINE_SIZE);
	c->kaddr = kaddr;
	c->type = type;
	/* Never synced nor read back: the table is dusk.ko's. */
	c->readonly = 1;
	c->proxy = 1;
	sym = dusk_image_object(base);
	c->name = sym && sym->addr == base ? sym->name : NULL;
	if (dusk_kcopy_register(c))
		dusk_mod_fatal(1, "out of memory");
}

static uint64_t dusk_harmless_fn(void)
{
	if (!kc.harmless_known) {
		if (dusk_mod_ksym("__static_call_return0", &kc.harmless))
			kc.harmless = 0;
		kc.harmless_known = 1;
	}
	return kc.harmless;
}

/*
 * User functions the kernel gets become proxies of dusk.ko's (DUSK_PROXY_FN),
 * called in the caller's task like a file operation, but for these: given
 * to these kernel functions, or stored into a member of these structs, the
 * kernel calls them in atomic context (timers, tasklets, RCU callbacks,
 * interrupts, other CPUs' IPIs), where nothing may wait for the program,
 * or from a kernel thread that the module's own calls then wait for (work
 * items, threads: cancel_work_sync() in exit would wait for a worker that
 * waits for the program). A netfilter hook is mod_nf.c's.
 */
static const char *const dusk_fn_refused_callers[] = {
	"call_rcu",
	/* kthread_create_on_node is libdusk's (mod_kthread.c) */
	"kthread_create_on_cpu",
	"request_threaded_irq", "request_any_context_irq",
	"smp_call_function_single", "smp_call_function_many",
	"on_each_cpu_cond_mask", "schedule_on_each_cpu", "stop_machine",
	"nf_register_net_hook", "nf_register_net_hooks",
};

static const char *const dusk_fn_refused_types[] = {
	"struct_callback_head", "struct_irq_work", "struct_nf_hook_ops",
	"struct_irqaction",
};

/* Whose functions the program runs itself (mod_softirq.c, mod_work.c): the
 * kernel never sees these armed or queued, so a copy holds a harmless
 * kernel function in place of the module's. */
static const char *const dusk_fn_program_types[] = {
	"struct_timer_list", "struct_hrtimer", "struct_tasklet_struct",
	"struct_work_struct", "struct_delayed_work",
};

static int dusk_fn_program_run(const struct dusk_xlate_ctx *ctx)
{
	const struct dusk_mtype *owner = NULL;
	size_t i;

	if (!ctx->parent || !dusk_kcopy_field(ctx->parent, ctx->off, &owner) ||
	    !owner)
		return 0;
	for (i = 0; i < DUSK_ARRAY_SIZE(dusk_fn_program_types); i++)
		if (!strcmp(owner->name, dusk_fn_program_types[i]))
			return 1;
	return 0;
}

/* Why the user function ctx reaches the kernel through may not be
 * proxied (the kernel function or struct), NULL when it may. */
static const char *dusk_fn_refusal(const struct dusk_xlate_ctx *ctx)
{
	const struct dusk_mtype *owner = NULL;
	size_t i;

	if (ctx->parent && dusk_kcopy_field(ctx->parent, ctx->off, &owner) &&
	    owner)
		for (i = 0; i < DUSK_ARRAY_SIZE(dusk_fn_refused_types); i++)
			if (!strcmp(owner->name, dusk_fn_refused_types[i]))
				return dusk_fn_refused_types[i];
	for (i = 0; ctx->fn && i < DUSK_ARRAY_SIZE(dusk_fn_refused_callers); i++)
		if (!strcmp(ctx->fn, dusk_fn_refused_callers[i]))
			return dusk_fn_refused_callers[i];
	return NULL;
}

static void dusk_defer_fn(uint64_t kaddr, uintptr_t fn, const char *refused)
{
	size_t i;

	for (i = 0; i < kc.nr_deferred; i++) {
		if (kc.deferred[i].kaddr == kaddr) {
			kc.deferred[i].fn = fn;
			kc.deferred[i].claimed = 0;
			kc.deferred[i].resolved = 0;
			kc.deferred[i].refused = refused;
			dusk_lines_caller_text(kc.deferred[i].site,
					       sizeof(kc.deferred[i].site));
			return;
		}
	}
	if (DUSK_GROW(kc.deferred, kc.cap_deferred, kc.nr_deferred, 8))
		dusk_mod_fatal(1, "out of memory");
	kc.deferred[kc.nr_deferred].kaddr = kaddr;
	kc.deferred[kc.nr_deferred].fn = fn;
	kc.deferred[kc.nr_deferred].claimed = 0;
	kc.deferred[kc.nr_deferred].resolved = 0;
	kc.deferred[kc.nr_deferred].refused = refused;
	/* The refusal comes later (no registration took it): it names
	 * where the module stored it. */
	dusk_lines_caller_text(kc.deferred[kc.nr_deferred].site,
			       sizeof(kc.deferred[kc.nr_deferred].site));
	kc.nr_deferred++;
	kc.stats.deferred_fns++;
}

static void dusk_forget_deferred(uint64_t kaddr)
{
	size_t i;

	for (i = 0; i < kc.nr_deferred; i++) {
		if (kc.deferred[i].kaddr == kaddr) {
			kc.deferred[i] = kc.deferred[--kc.nr_deferred];
			return;
		}
	}
}

void *dusk_kcopy_claim_fn(uint64_t k)
{
	size_t i;

	for (i = 0; i < kc.nr_deferred; i++) {
		if (kc.deferred[i].kaddr == k) {
			kc.deferred[i].claimed = 1;
			return (void *)kc.deferred[i].fn;
		}
	}
	return NULL;
}

void dusk_kcopy_claim_user(uintptr_t u, uint64_t size)
{
	struct dusk_kcopy *c = kc.nr ? dusk_kcopy_find(kc.by_user, kc.nr, u, 0) :
				       NULL;
	uint64_t k;
	size_t i;

	if (!c)
		return;
	k = c->kaddr + (u - c->user);
	for (i = 0; i < kc.nr_deferred; i++)
		if (kc.deferred[i].kaddr - k < size)
			kc.deferred[i].claimed = 1;
}

/*
 * INIT_WORK() on kernel memory: data WORK_DATA_INIT() (the "no pool"
 * value, whose shift depends on CONFIG_DEBUG_OBJECTS_WORK), an empty
 * list, then func, which was stored at k.
 */
static int dusk_looks_like_work(struct dusk_session *s, uint64_t k)
{
	uint64_t w[3];
	void *m;

	if (dusk_shadow_get(s->shadow, k - 24, sizeof(w), 0, &m))
		return 0;
	memcpy(w, m, sizeof(w));
	return w[1] == k - 16 && w[2] == k - 16 &&
	       (w[0] == 0x7fffffffULL << 5 || w[0] == 0x7fffffffULL << 6);
}

/* Deferred user functions no registration API claimed: their proxies go
 * where they were stored (through the cache: the next commit sends them;
 * the harmless function there is what the kernel holds as far as a copy
 * knows). Returns how many were resolved. */
static unsigned int dusk_kcopy_resolve(void)
{
	struct dusk_session *s = dusk_mod_session();
	struct dusk_xlate_ctx ctx = { .argno = -1 };
	unsigned int n = 0;
	struct dusk_kcopy *c;
	uint64_t k, p, cur;
	void *m;
	size_t i;

	for (i = 0; s && i < kc.nr_deferred; i++) {
		struct dusk_deferred *d = &kc.deferred[i];

		if (d->claimed || d->resolved || d->refused)
			continue;
		k = d->kaddr;
		/* INIT_WORK() inline, or a function field of a timer,
		 * hrtimer or tasklet the program knows: the program runs it. */
		if (dusk_looks_like_work(s, k) || dusk_defer_owns(k)) {
			d->claimed = 1;
			continue;
		}
		if (dusk_shadow_get(s->shadow, k, 8, 1, &m))
			continue;	/* left for check_deferred's report */
		memcpy(&cur, m, 8);
		if (cur != dusk_harmless_fn())
			continue;	/* the module stored something else */
		ctx.dest_kaddr = k;
		p = dusk_fn_proxy(d->fn, &ctx);
		memcpy(m, &p, 8);
		/* A copy's image must say what the kernel holds. */
		c = dusk_kcopy_of_kaddr(k, 1);
		if (c && c->image && k - c->kaddr + 8 <= c->slot)
			memcpy(c->image + (k - c->kaddr), &p, 8);
		d->resolved = 1;
		n++;
	}
	return n;
}

void dusk_kcopy_resolve_deferred(void)
{
	if (kc.nr_deferred)
		dusk_kcopy_resolve();
}

void dusk_kcopy_check_deferred(const char *when)
{
	struct dusk_session *s = dusk_mod_session();
	char name[128], ebuf[64];
	size_t i;
	int err;

	if (kc.nr_deferred && dusk_kcopy_resolve() && s) {
		/* After the callback's own commit: send them now. */
		err = dusk_commit(s);
		if (err)
			dusk_mod_fatal(1, "sending proxies of user functions stored into kernel memory: %s",
				       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	}
	for (i = 0; i < kc.nr_deferred; i++) {
		if (kc.deferred[i].claimed || kc.deferred[i].resolved)
			continue;
		dusk_mod_fatal_at(kc.deferred[i].site, 1, "user function %s was stored into kernel memory at 0x%llx and no registration API took it (%s): the kernel must never call user code; at user level dusk proxies netfilter hooks and file operations (struct file_operations) only: run this part of the module as its .ko",
			       dusk_fn_name(kc.deferred[i].fn, name, sizeof(name)),
			       (unsigned long long)kc.deferred[i].kaddr, when);
	}
}

uint64_t dusk_xlate_out(uintptr_t v, uintptr_t base, uint64_t size,
			const struct dusk_mtype *type, const char *target,
			const struct dusk_xlate_ctx *ctx)
{
	enum dusk_mem_class cls;
	const struct dusk_kfunc_stub *ks;
	const struct dusk_kvar *kv;
	const struct dusk_msym *sym;
	struct dusk_kcopy *c;
	char what[160], name[128], ebuf[64];
	uint64_t k, off;
	int err;

	if (!v)
		return 0;
	/* The caller's __user buffer of this callback: before classifying,
	 * it may look like a mirror address. */
	if (dusk_inv_user(v))
		return v;
	cls = dusk_mem_class(v);
	switch (cls) {
	case DUSK_MEM_KERNEL:
		/* A persistent copy got this way takes part in the call. */
		if (ctx->in_call && kc.nr && (c = dusk_kcopy_of_kaddr(v, 0)))
			c->in_call = 1;
		return v;
	case DUSK_MEM_MIRROR:
		k = dusk_kaddr((const void *)v);
		if (!k)
			dusk_mod_fatal(1, "%s: %p is in the mirror of kernel memory but stands for no kernel address",
				       dusk_xlate_describe(ctx, what, sizeof(what)),
				       (void *)v);
		return k;
	case DUSK_MEM_KDATA:
		kv = dusk_kvar_of(v, &off);
		if (!kv)
			dusk_mod_fatal(1, "%s: %p is between kernel variables' placeholders",
				       dusk_xlate_describe(ctx, what, sizeof(what)),
				       (void *)v);
		if (dusk_kvar_is_this_module(kv)) {
			if (off)
				dusk_mod_fatal(1, "%s: a pointer into __this_module (offset %llu): the module is built in at user level and has no struct module in the kernel",
					       dusk_xlate_describe(ctx, what, sizeof(what)),
					       (unsigned long long)off);
			return 0;
		}
		err = dusk_kvar_kaddr(kv, &k);
		if (err)
			dusk_mod_fatal(1, "%s: kernel variable %s: %s",
				       dusk_xlate_describe(ctx, what, sizeof(what)),
				       kv->name,
				       err == -ENOENT ? "the target kernel has no such symbol" :
				       dusk_errno_text(err, ebuf, sizeof(ebuf)));
		return k + off;
	case DUSK_MEM_TEXT:
		ks = dusk_kfunc_of_stub(v);
		if (ks && ks->f) {
			err = dusk_kfunc_resolve(ks->f);
			if (err)
				dusk_mod_fatal(1, "%s: kernel function %s: %s",
					       dusk_xlate_describe(ctx, what, sizeof(what)),
					       ks->f->name,
					       err == -ENOENT ? "the target kernel has no such symbol" :
					       dusk_errno_text(err, ebuf, sizeof(ebuf)));
			return ks->f->kaddr;
		}
		if (dusk_image_func(v)) {
			const char *refused = dusk_fn_refusal(ctx);

			if (dusk_fn_program_run(ctx))
				return dusk_harmless_fn();

			if (ctx->defer_fn && ctx->dest_kaddr) {
				dusk_defer_fn(ctx->dest_kaddr, v, refused);
				return dusk_harmless_fn();
			}
			if (!refused)
				return dusk_fn_proxy(v, ctx);
			dusk_mod_fatal(1, "%s: user function %s cannot be given to the kernel (no kernel proxy for it: the kernel must never call user code)%s",
				       dusk_xlate_describe(ctx, what, sizeof(what)),
				       dusk_fn_name(v, name, sizeof(name)),
				       ctx->fn ? "; at user level dusk proxies netfilter hooks and file operations (struct file_operations) only: run this part of the module as its .ko" : "");
		}
		cls = DUSK_MEM_RO;	/* constant data in a code segment */
		break;
	case DUSK_MEM_OTHER:
		/* In a callback, an address no memory of ours holds is the
		 * calling task's __user pointer (read's buf, ioctl's arg),
		 * which the kernel function called in that task reaches by
		 * its uaccess: as it is. (One that happens to fall into a
		 * mapping of the program is not told apart.) */
		if (dusk_session_blocking())
			return v;
		break;
	default:
		break;
	}

	/* A user object. */
	c = dusk_kcopy_of_user(v);
	if (c) {
		if (ctx->in_call)
			c->in_call = 1;
		return c->kaddr + (v - c->user);
	}
	if (cls == DUSK_MEM_STACK && !ctx->in_call)
		dusk_mod_fatal(1, "%s: %p is a local object: a kernel copy of it would outlive its function",
			       dusk_xlate_describe(ctx, what, sizeof(what)),
			       (void *)v);
	if (!base) {
		sym = dusk_image_object(v);
		if (sym) {
			base = sym->addr;
			size = sym->size;
		} else if (cls == DUSK_MEM_STACK && !(type && type->size)) {
			/* A local without a hint (an inline wrapper passed
			 * its caller's local on: skb_header_pointer() to
			 * skb_copy_bits()): a window from it toward the
			 * callers' frames. Only bytes the kernel changes are
			 * written back, so the window's extent is harmless. */
			uintptr_t lo, hi;

			if (dusk_stack_bounds(&lo, &hi))
				hi = v + 1;
			base = v;
			size = DUSK_MIN((uint64_t)(hi - v), DUSK_KCOPY_STACK_WINDOW);
			if (target && !strcmp(target, "char"))
				size = DUSK_MAX(size, (uint64_t)strnlen((const char *)v,
									hi - v - 1) + 1);
		} else if ((target && !strcmp(target, "char")) ||
			   (!type && cls == DUSK_MEM_RO)) {
			/* A string (read-only data without a symbol of its
			 * own is a string literal). */
			base = v;
			size = strnlen((const char *)v, DUSK_KCOPY_MAX_STR) + 1;
		} else if (type && type->size) {
			base = v;
			size = type->size;
		} else {
			dusk_mod_fatal(1, "%s: cannot tell the size of the user object at %p (%s%s): no hint, no symbol, no type record",
				       dusk_xlate_describe(ctx, what, sizeof(what)),
				       (void *)v, target ? "pointee " : "pointee type unknown",
				       target ? target : "");
		}
	}
	/* A struct file_operations: a proxy table of dusk.ko's is its
	 * kernel copy (mod_fops.c). */
	if (cls != DUSK_MEM_STACK &&
	    ((type && v == base && dusk_fops_type(type)) ||
	     (!type && (type = dusk_fops_guess(base, size))))) {
		if (v != base)
			dusk_mod_fatal(1, "%s: a pointer into the middle of %s (offset %llu) before the kernel got the table itself",
				       dusk_xlate_describe(ctx, what, sizeof(what)),
				       type->name, (unsigned long long)(v - base));
		return dusk_fops_proxy(base, type, ctx);
	}
	c = dusk_kcopy_create(base, size, type, v - base, cls == DUSK_MEM_STACK,
			      cls == DUSK_MEM_RO, target && !strcmp(target, "char"),
			      ctx);
	return c->kaddr + (v - c->user);
}

DUSK_EXPORT void *__dusk_uptr(void *value)
{
	uint64_t v = (uintptr_t)value;
	struct dusk_kcopy *c;

	if (v - kc.klo >= kc.kspan)
		return value;	/* no copy there (or none at all) */
	c = dusk_kcopy_find(kc.by_kaddr, kc.nr, v, 1);
	return c ? (void *)(c->user + (v - c->kaddr)) : value;
}

DUSK_EXPORT void *__dusk_kptr(void *dest, void *value)
{
	uintptr_t d = (uintptr_t)dest, v = (uintptr_t)value;
	struct dusk_xlate_ctx ctx = { .argno = -1, .defer_fn = 1 };
	uint64_t dk;

	if (d < DUSK_KERNEL_MIN) {
		if (d - __dusk_shadow.mirror_lo >= __dusk_shadow.mirror_span)
			return value;	/* user memory holds what it likes */
		dk = dusk_kaddr(dest);
		if (!dk)
			return value;
	} else {
		dk = d;			/* a kernel address the cache refused */
	}
	if (kc.nr_deferred)
		dusk_forget_deferred(dk);
	if (!v || v >= DUSK_KERNEL_MIN)
		return value;
	ctx.dest_kaddr = dk;
	return (void *)(uintptr_t)dusk_xlate_out(v, 0, 0, NULL, NULL, &ctx);
}

/* ---- around the module's callbacks ---- */

void dusk_kcopy_begin(unsigned int self)
{
	char ebuf[64];
	int err;

	/* Another invocation asleep or waiting may have changed user
	 * objects with kernel copies: that goes to the kernel before the
	 * refresh reads the copies back. */
	if (dusk_inv_busy() > self)
		dusk_kcopy_sync(0);
	/* A new invocation: the kernel may have changed shared objects. */
	err = dusk_kcopy_refresh_all();
	if (err)
		dusk_mod_fatal(1, "refreshing user objects shared with the kernel: %s",
			       dusk_errno_text(err, ebuf, sizeof(ebuf)));
}

void dusk_kcopy_end(const char *what, int commit)
{
	struct dusk_session *s = dusk_mod_session();
	char ebuf[64], when[160];
	int err;

	err = dusk_kcopy_sync(0);
	if (!err && commit && s)
		err = dusk_commit(s);
	if (err)
		dusk_mod_fatal(1, "committing the changes of %s: %s", what,
			       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	snprintf(when, sizeof(when), "at the end of %s", what);
	dusk_kcopy_check_deferred(when);
}

/* ---- synchronisation ---- */

int dusk_kcopy_sync(int stage)
{
	struct dusk_session *s;
	struct dusk_xlate_ctx ctx = { .argno = -1, .defer_fn = 1 };
	struct dusk_kcopy **v;
	uint8_t *old = NULL;
	size_t i, n;
	int err = 0;

	if (!kc.nr_writable)
		return 0;
	s = dusk_mod_session();
	if (!s)
		return -ENOTCONN;
	ctx.in_call = stage;
	/* Translating may add copies to the arrays: walk a snapshot. */
	n = kc.nr;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, kc.by_user, n * sizeof(*v));
	for (i = 0; i < n && !err; i++) {
		struct dusk_kcopy *c = v[i];

		if (c->readonly || !memcmp((void *)c->user, c->snap, c->size))
			continue;
		free(old);
		old = malloc(c->slot);
		if (!old) {
			err = -ENOMEM;
			break;
		}
		memcpy(old, c->image, c->slot);
		ctx.parent = NULL;
		ctx.dest_kaddr = c->kaddr;
		dusk_kcopy_fill(c, &ctx);
		if (!memcmp(old, c->image, c->slot))
			continue;
		kc.stats.bytes_out += c->size;
		err = dusk_stage(s, c->kaddr, old, c->image, c->slot);
	}
	free(old);
	free(v);
	if (err)
		return err;
	if (!stage && kc.staged) {
		/* Outside a call: send it now, and never let module code see
		 * the staged lines. */
		err = dusk_commit(s);
		dusk_refresh(s);
		kc.staged = 0;
	}
	return err;
}

/* Take in the kernel's bytes k of c: where they differ from what we sent,
 * the kernel changed them; pointers among them become user addresses
 * again when they point into a copy. */
static void dusk_kcopy_merge(struct dusk_kcopy *c, const uint8_t *k)
{
	uint8_t *u = (uint8_t *)c->user;
	uint64_t o, n, b, w;
	uintptr_t back;

	if (!memcmp(k, c->image, c->size))
		return;
	for (o = 0; o < c->size; o += 8) {
		n = DUSK_MIN(8, c->size - o);
		if (!memcmp(k + o, c->image + o, n))
			continue;
		if (n == 8 && !c->scalar) {
			memcpy(&w, k + o, 8);
			if ((c->ptrmap[o / 8 / 64] & (1ULL << (o / 8 % 64))) ||
			    (w >= DUSK_KERNEL_MIN && dusk_kcopy_of_kaddr(w, 1))) {
				back = dusk_xlate_in(w);
				memcpy(u + o, &back, 8);
				continue;
			}
		}
		for (b = o; b < o + n; b++)
			if (k[b] != c->image[b])
				u[b] = k[b];
	}
	memcpy(c->image, k, c->size);
	memcpy(c->snap, u, c->size);
	kc.stats.refreshed++;
}

static int dusk_kcopy_cmp_kaddr(const void *a, const void *b)
{
	uint64_t x = (*(struct dusk_kcopy *const *)a)->kaddr;
	uint64_t y = (*(struct dusk_kcopy *const *)b)->kaddr;

	return x < y ? -1 : x > y;
}

/* Read v's copies back (neighbours in one READ) and merge them. */
static int dusk_kcopy_read_back(struct dusk_session *s, struct dusk_kcopy **v,
				size_t n)
{
	uint8_t *buf = NULL;
	size_t i, j;
	int err = 0;

	qsort(v, n, sizeof(*v), dusk_kcopy_cmp_kaddr);
	for (i = 0; i < n && !err; i = j) {
		uint64_t start = v[i]->kaddr, end = v[i]->kaddr + v[i]->size;

		for (j = i + 1; j < n; j++) {
			uint64_t e = v[j]->kaddr + v[j]->size;

			if (v[j]->kaddr > end + DUSK_KCOPY_READ_GAP ||
			    DUSK_MAX(e, end) - start > DUSK_KCOPY_READ_MAX)
				break;
			end = DUSK_MAX(e, end);
		}
		free(buf);
		buf = malloc(end - start);
		if (!buf)
			return -ENOMEM;
		err = dusk_kread(s, start, buf, end - start);
		for (; !err && i < j; i++)
			dusk_kcopy_merge(v[i], buf + (v[i]->kaddr - start));
	}
	free(buf);
	return err;
}

int dusk_kcopy_refresh_all(void)
{
	struct dusk_session *s;
	struct dusk_kcopy **v;
	size_t i, n = 0;
	int err;

	if (!kc.nr_writable)
		return 0;
	s = dusk_mod_session();
	if (!s)
		return -ENOTCONN;
	v = malloc(kc.nr * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < kc.nr; i++)
		if (!kc.by_kaddr[i]->readonly)
			v[n++] = kc.by_kaddr[i];
	err = dusk_kcopy_read_back(s, v, n);
	free(v);
	return err;
}

int dusk_kcopy_busy(void)
{
	return kc.nr_writable != 0;
}

void dusk_kcopy_call_begin(void)
{
	kc.depth = 0;
}

int dusk_kcopy_call_end(int refresh, uint64_t *ret, int ret_ptr)
{
	struct dusk_session *s = dusk_mod_session();
	struct dusk_kcopy **v = NULL;
	struct dusk_kcopy *c;
	size_t i, n = 0;
	int err = 0;

	/* A function returning a pointer into a local's copy (its argument):
	 * the local itself. */
	if (ret && ret_ptr && *ret >= DUSK_KERNEL_MIN) {
		for (i = 0; i < kc.nr_temps; i++) {
			c = kc.temps[i];
			if (*ret - c->kaddr <= c->size) {
				*ret = c->user + (*ret - c->kaddr);
				break;
			}
		}
	}
	if (refresh && s && (kc.nr_temps || kc.nr_writable)) {
		v = malloc((kc.nr_temps + kc.nr) * sizeof(*v));
		if (!v)
			err = -ENOMEM;
		for (i = 0; v && i < kc.nr_temps; i++)
			if (!kc.temps[i]->readonly)
				v[n++] = kc.temps[i];
		for (i = 0; v && i < kc.nr; i++)
			if (kc.by_user[i]->in_call && !kc.by_user[i]->readonly)
				v[n++] = kc.by_user[i];
		if (n)
			err = dusk_kcopy_read_back(s, v, n);
		free(v);
	}
	for (i = 0; i < kc.nr; i++)
		kc.by_user[i]->in_call = 0;
	for (i = 0; i < kc.nr_temps; i++) {
		c = kc.temps[i];
		if (c->own && s)
			dusk_kfree(s, c->kaddr);
		dusk_kcopy_free(c);
	}
	kc.nr_temps = 0;
	kc.tarena.used = 0;
	kc.staged = 0;
	return err;
}
