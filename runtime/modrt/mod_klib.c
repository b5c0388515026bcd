// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * What the module runtime lends the user-level kernel library, the layer
 * below it (klib.h, struct dusk_klib_host): the invocation's CPU, the
 * translation of loaded pointers and of function pointers, and the
 * program's own functions by address. Registered once by __dusk_main()
 * (and by unit tests that run klib with the module runtime).
 */
#include <errno.h>

#include "klib.h"
#include "modrt.h"

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

void dusk_mod_klib_host(void)
{
	static const struct dusk_klib_host host = {
		.cpu = dusk_mod_cpu,
		.uptr = __dusk_uptr,
		.fnptr = __dusk_fnptr,
		.kfunc_kaddr = dusk_mod_kfunc_kaddr,
		.func_at = dusk_mod_func_at,
	};

	dusk_klib_host_set(&host);
}
