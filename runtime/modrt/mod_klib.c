// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * What the module runtime lends the user-level kernel library, the layer
 * below it (klib.h, struct dusk_klib_host): the invocation's CPU, the
 * translation of loaded pointers and of function pointers, and the
 * program's own functions by address. Registered once by __dusk_main()
 * (and by unit tests that run klib with the module runtime).
 */
#include <errno.h>

#include "dusk.h"
#include "klib.h"
#include "modrt.h"
#include "plock.h"

static uint64_t dusk_mod_kfunc_kaddr(uintptr_t addr)
{
	const struct dusk_kfunc_stub *st = dusk_kfunc_of_stub(addr);

	if (!st || dusk_kfunc_resolve(st->f))
		return 0;
	return st->f->kaddr;
}

static int dusk_mod_func_at(uintptr_t addr, const char **ret_name,
			    uintptr_t *ret_start, size_t *ret_size)
{
	const struct dusk_msym *sym = dusk_image_func(addr);

	if (!sym)
		return -ENOENT;
	*ret_name = sym->name;
	*ret_start = sym->addr;
	*ret_size = sym->size;
	return 0;
}

/* A mirror address's kernel address, or the kernel copy's of a user
 * object (a static wait_queue_head_t that poll_wait() got). */
static uint64_t dusk_mod_kaddr_of(const void *p)
{
	uint64_t k;

	if ((uintptr_t)p >= DUSK_KERNEL_MIN)
		return (uintptr_t)p;
	k = dusk_kaddr(p);
	return k ? k : dusk_kcopy_kaddr_of((uintptr_t)p);
}

/* A sleep lets the program lock go (plock.h): another invocation runs
 * meanwhile; its time asleep is no soft lockup. Sleeps do not nest. */
static __thread unsigned int dusk_mod_sleep_depth;
static __thread int dusk_mod_sleep_lockup;

static void dusk_mod_sleep_begin(void)
{
	dusk_mod_sleep_lockup = dusk_lockup_pause();
	/* What this invocation changed reaches the kernel before others
	 * run (and refresh the cache), as the kernel's writes are seen at
	 * once. */
	if (dusk_plock_held())
		dusk_commit(NULL);
	dusk_mod_sleep_depth = dusk_plock_release();
}

static void dusk_mod_sleep_end(void)
{
	dusk_plock_retake(dusk_mod_sleep_depth);
	/* Others ran meanwhile: see the kernel as it is now. */
	if (dusk_mod_sleep_depth)
		dusk_refresh(NULL);
	dusk_mod_sleep_depth = 0;
	dusk_lockup_resume(dusk_mod_sleep_lockup);
	dusk_mod_sleep_lockup = 0;
}

void dusk_mod_klib_host(void)
{
	static const struct dusk_klib_host host = {
		.cpu = dusk_mod_cpu,
		.uptr = __dusk_uptr,
		.fnptr = __dusk_fnptr,
		.kfunc_kaddr = dusk_mod_kfunc_kaddr,
		.func_at = dusk_mod_func_at,
		.kaddr_of = dusk_mod_kaddr_of,
		.sleep_begin = dusk_mod_sleep_begin,
		.sleep_end = dusk_mod_sleep_end,
	};

	dusk_klib_host_set(&host);
}
