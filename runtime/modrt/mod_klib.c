// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * What the module runtime lends the user-level kernel library, the layer
 * below it (klib.h, struct dusk_klib_host): the invocation's CPU, the
 * translation of loaded pointers and of function pointers, and the
 * program's own functions by address. Registered once by __dusk_main()
 * (and by unit tests that run klib with the module runtime).
 */
#include <errno.h>
#include <string.h>

#include "hook.h"
#include "kconst.h"
#include "klib.h"
#include "klib_wait.h"
#include "modrt.h"
#include "session.h"
#include "shadow.h"

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

/*
 * A SIGNAL marked an invocation (hook.h): its sleepers wake to see it
 * (dusk_klib_host.signal_pending), and module code that reads
 * signal_pending(current) itself, through the cache, reads the flag the
 * kernel set: the cached thread_info.flags of the running invocation's
 * task get TIF_SIGPENDING, in mirror and pristine alike (the kernel has
 * it already: nothing to commit). Not cached: the next read fetches it.
 */
static void dusk_mod_signal(uint64_t task, int running, int fatal)
{
	struct dusk_session *s = dusk_session_current();
	uint64_t at = task + DUSK_K_TASK__TI_FLAGS;
	unsigned long flags;
	void *p;

	_Static_assert(DUSK_K_SIZEOF_TASK__TI_FLAGS == sizeof(flags),
		       "thread_info.flags is an unsigned long");
	(void)fatal;
	if (running && task && s && s->shadow) {
		p = dusk_shadow_peek(s->shadow, at, sizeof(flags));
		if (p) {
			memcpy(&flags, p, sizeof(flags));
			flags |= 1UL << DUSK_K_TIF_SIGPENDING;
			dusk_shadow_update(s->shadow, at, &flags, sizeof(flags));
		}
	}
	dusk_klib_wait_interrupt();
}

/*
 * After module code slept (msleep and the like) while serving an
 * invocation: what arrived meanwhile is taken in, as during any request's
 * wait (handlers only queue, or mark: a SIGNAL for the sleeping
 * invocation, which its next signal_pending(current) then sees), so that
 * a read that naps until signalled ends. Invocations run one at a time on
 * the thread that serves the kernel, which is this one.
 */
static void dusk_mod_sleep_end(void)
{
	struct dusk_session *s = dusk_session_current();
	unsigned int i;

	if (!s || !dusk_invocation_current())
		return;
	for (i = 0; i < 64; i++)
		if (dusk_session_poll(s, 0, -1))
			break;
}

void dusk_mod_klib_host(void)
{
	static const struct dusk_klib_host host = {
		.cpu = dusk_mod_cpu,
		.uptr = __dusk_uptr,
		.fnptr = __dusk_fnptr,
		.kfunc_kaddr = dusk_mod_kfunc_kaddr,
		.func_at = dusk_mod_func_at,
		.signal_pending = dusk_invocation_signalled,
		.sleep_end = dusk_mod_sleep_end,
	};

	dusk_klib_host_set(&host);
	dusk_invocation_set_signal_hook(dusk_mod_signal);
}
