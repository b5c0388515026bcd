// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Breakpoint conditions compiled into the program (dusk_debug.h,
 * dusk_dbg_cond_set): dusk-gdb loads a predicate per function; the core
 * tells every observer when the runtime is about to call a hook or a
 * callback of the module (observe.h, call), and dusk_dbg_cond_check tests
 * that function's predicate there. Only a condition that holds or fails
 * reaches dusk_dbg_cond_anchor, where dusk-gdb has its breakpoint: a
 * false one never stops the program.
 *
 * The table is written by inferior calls (every thread stopped) and read
 * by the threads that run hooks, without a lock: slots are only ever
 * added, a predicate is published with a release store, and its code is
 * never unmapped (a thread may be stopped inside it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "debug.h"
#include "hook.h"
#include "modrt.h"
#include "shadow_fast.h"

/* The first 64 KiB are never mapped (vm.mmap_min_addr): a NULL pointer
 * with a member's offset. */
#define DBG_COND_NULL_LIMIT	0x10000ULL

typedef int (*dbg_cond_fn)(struct dusk_dbg_cond_env *env,
			   const uint64_t *args);

struct dbg_cond {
	void *fn;			/* the module's function */
	dbg_cond_fn pred;		/* NULL: not tested */
	unsigned int nparams;
	uint64_t evals, held, failed;
};

static struct dbg_cond dbg_conds[DUSK_DBG_COND_MAX];
static unsigned int dbg_nr_conds;	/* slots in use, never fewer */

/* One evaluation: the public part first (what the predicate sees). */
struct dbg_cond_env {
	struct dusk_dbg_cond_env pub;
	char *why;			/* the failure, "" while none */
	size_t why_len;
};

static const uint8_t dbg_cond_zeros[DUSK_DBG_COND_READ_MAX];

static void dbg_cond_fail(struct dusk_dbg_cond_env *pub, const char *why)
{
	struct dbg_cond_env *env = (struct dbg_cond_env *)pub;

	if (!env->why[0])
		snprintf(env->why, env->why_len, "%s", why);
}

/* What the module's own access to [addr, addr + len) would read: a
 * kernel address through the cache (fetched if need be), a user address
 * as it is. */
static const void *dbg_cond_read(struct dusk_dbg_cond_env *pub, uint64_t addr,
				 size_t len)
{
	struct dbg_cond_env *env = (struct dbg_cond_env *)pub;
	const void *p;
	char why[128];

	if (env->why[0] || len > sizeof(dbg_cond_zeros))
		return dbg_cond_zeros;
	if (addr < DBG_COND_NULL_LIMIT) {
		snprintf(why, sizeof(why), "cannot read address 0x%llx (%zu bytes): a NULL pointer",
			 (unsigned long long)addr, len);
		dbg_cond_fail(pub, why);
		return dbg_cond_zeros;
	}
	p = __dusk_check((const void *)(uintptr_t)addr, len);
	if ((uintptr_t)p >= DUSK_KERNEL_MIN) {
		snprintf(why, sizeof(why), "cannot read kernel memory at 0x%llx (%zu bytes)",
			 (unsigned long long)addr, len);
		dbg_cond_fail(pub, why);
		return dbg_cond_zeros;
	}
	return p;
}

static struct dbg_cond *dbg_cond_find(const void *fn)
{
	unsigned int i, n = __atomic_load_n(&dbg_nr_conds, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++)
		if (dbg_conds[i].fn == fn)
			return &dbg_conds[i];
	return NULL;
}

DUSK_EXPORT __attribute__((noinline, noclone)) void
dusk_dbg_cond_anchor(void *fn, int held, const char *why)
{
	__asm__ volatile("" : : "r"(fn), "r"(held), "r"(why) : "memory");
}

void dusk_dbg_cond_check(void *fn, const uint64_t *args, unsigned int nargs)
{
	static __thread char why[DUSK_DBG_ERROR_LEN];
	struct dbg_cond_env env = {
		.pub = { .read = dbg_cond_read, .fail = dbg_cond_fail },
		.why = why, .why_len = sizeof(why),
	};
	struct dbg_cond *c;
	dbg_cond_fn pred;
	int held;

	if (!__atomic_load_n(&dbg_nr_conds, __ATOMIC_RELAXED))
		return;
	c = dbg_cond_find(fn);
	if (!c || !(pred = __atomic_load_n(&c->pred, __ATOMIC_ACQUIRE)))
		return;
	why[0] = '\0';
	if (c->nparams > nargs) {
		snprintf(why, sizeof(why), "the runtime passes %u arguments, the function takes %u",
			 nargs, c->nparams);
		held = -1;
	} else {
		held = pred(&env.pub, args) ? 1 : 0;
		if (why[0])
			held = -1;
	}
	__atomic_fetch_add(&c->evals, 1, __ATOMIC_RELAXED);
	if (held > 0)
		__atomic_fetch_add(&c->held, 1, __ATOMIC_RELAXED);
	else if (held < 0)
		__atomic_fetch_add(&c->failed, 1, __ATOMIC_RELAXED);
	if (held) {
		/* The stop must not hold packets decided before. */
		dusk_hooks_before_stop();
		dusk_dbg_cond_anchor(fn, held, held < 0 ? why : NULL);
	}
}

/* ---- what dusk-gdb calls ---- */

struct dbg_cond_seek {
	const void *fn;
	unsigned int nargs;		/* 0: not found */
};

static void dbg_cond_seek_hook(const struct dusk_nf_info *h, void *arg)
{
	struct dbg_cond_seek *k = arg;

	if (h->fn == k->fn)
		k->nargs = 3;		/* priv, skb, state */
}

static void dbg_cond_seek_callback(uintptr_t fn, const char *what, void *arg)
{
	struct dbg_cond_seek *k = arg;

	(void)what;
	if ((const void *)fn == k->fn)
		k->nargs = 6;		/* the proxy's six registers */
}

/* The block dusk_dbg_cond_alloc gave last, until dusk_dbg_cond_set takes
 * it. Code is never unmapped: a thread may be stopped inside it. */
static struct {
	void *code;
	size_t len;
} dbg_cond_block;

DUSK_EXPORT void *dusk_dbg_cond_alloc(size_t len)
{
	void *p;

	dusk_dbg_enter();
	if (!len || len > DUSK_DBG_COND_CODE_MAX) {
		dusk_dbg_fail(-E2BIG, "a condition's code of %zu bytes (at most %u)",
			      len, DUSK_DBG_COND_CODE_MAX);
		return NULL;
	}
	if (dbg_cond_block.code) {
		/* Given but never taken: reused. */
		if (dbg_cond_block.len >= len)
			return dbg_cond_block.code;
		munmap(dbg_cond_block.code, dbg_cond_block.len);
		dbg_cond_block.code = NULL;
	}
	len = (len + DUSK_PAGE_SIZE - 1) & ~(DUSK_PAGE_SIZE - 1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED) {
		dusk_dbg_fail(-errno, "no memory for a condition: %s",
			      strerror(errno));
		return NULL;
	}
	dbg_cond_block.code = p;
	dbg_cond_block.len = len;
	return p;
}

DUSK_EXPORT int dusk_dbg_cond_set(void *fn, unsigned int nparams, void *code,
				  unsigned int abi)
{
	struct dbg_cond_seek k = { .fn = fn };
	struct dbg_cond *c;
	int err;

	dusk_dbg_enter();
	if (abi != DUSK_DBG_COND_ABI) {
		dusk_dbg_fail(-ENOEXEC, "a condition of ABI %u, the runtime's is %u",
			      abi, DUSK_DBG_COND_ABI);
		return -ENOEXEC;
	}
	if (!code || code != dbg_cond_block.code) {
		dusk_dbg_fail(-EINVAL, "%p is not the block dusk_dbg_cond_alloc gave",
			      code);
		return -EINVAL;
	}
	/* Only the calls the runtime makes are tested (mod_nf.c and
	 * mod_fops.c tell observers of them). */
	dusk_nf_foreach(dbg_cond_seek_hook, &k);
	if (!k.nargs)
		dusk_fops_foreach(dbg_cond_seek_callback, &k);
	if (!k.nargs) {
		dusk_dbg_fail(-ENOENT, "%p is not a hook or callback the module registered",
			      fn);
		return -ENOENT;
	}
	if (nparams > k.nargs) {
		dusk_dbg_fail(-E2BIG, "the runtime passes %u arguments, the function takes %u",
			      k.nargs, nparams);
		return -E2BIG;
	}
	c = dbg_cond_find(fn);
	if (!c && dbg_nr_conds == DUSK_DBG_COND_MAX) {
		dusk_dbg_fail(-ENOSPC, "%u functions have a condition already",
			      DUSK_DBG_COND_MAX);
		return -ENOSPC;
	}
	if (mprotect(code, dbg_cond_block.len, PROT_READ | PROT_EXEC)) {
		err = -errno;
		dusk_dbg_fail(err, "cannot make a condition's code executable: %s",
			      strerror(-err));
		return err;
	}
	dbg_cond_block.code = NULL;
	if (!c) {
		c = &dbg_conds[dbg_nr_conds];
		c->fn = fn;
		__atomic_store_n(&dbg_nr_conds, dbg_nr_conds + 1,
				 __ATOMIC_RELEASE);
	}
	__atomic_store_n(&c->pred, NULL, __ATOMIC_RELEASE);
	c->nparams = nparams;
	c->evals = c->held = c->failed = 0;
	__atomic_store_n(&c->pred, (dbg_cond_fn)code, __ATOMIC_RELEASE);
	return 0;
}

DUSK_EXPORT int dusk_dbg_cond_clear(void *fn)
{
	struct dbg_cond *c;

	dusk_dbg_enter();
	c = dbg_cond_find(fn);
	if (!c || !c->pred) {
		dusk_dbg_fail(-ENOENT, "%p has no condition loaded", fn);
		return -ENOENT;
	}
	__atomic_store_n(&c->pred, NULL, __ATOMIC_RELEASE);
	return 0;
}

DUSK_EXPORT const char *dusk_dbg_conds(void)
{
	const struct dusk_msym *sym;
	unsigned int i;

	dusk_dbg_enter();
	for (i = 0; i < dbg_nr_conds; i++) {
		const struct dbg_cond *c = &dbg_conds[i];

		if (!c->pred)
			continue;
		sym = dusk_image_func((uintptr_t)c->fn);
		dusk_dbg_printf("%p\t%s\t%llu\t%llu\t%llu\n", c->fn,
				sym && sym->addr == (uintptr_t)c->fn ? sym->name : "-",
				(unsigned long long)c->evals,
				(unsigned long long)c->held,
				(unsigned long long)c->failed);
	}
	return dusk_dbg_text();
}
