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

#include "dusk.h"
#include "hook.h"
#include "kconst.h"
#include "klib.h"
#include "klib_wait.h"
#include "modrt.h"
#include "plock.h"
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
 * invocation: what arrived meanwhile and no other thread took in (the
 * event loop's usually does) is taken in, as during any request's wait
 * (handlers only queue, or mark: a SIGNAL for the sleeping invocation,
 * which its next signal_pending(current) then sees), so that a read that
 * naps until signalled ends.
 */
static void dusk_mod_sleep_take_in(void)
{
	struct dusk_session *s = dusk_session_current();
	unsigned int i;

	if (!s || !dusk_invocation_current())
		return;
	for (i = 0; i < 64; i++)
		if (dusk_session_poll(s, 0, -1))
			break;
}

/* A signal for the caller of this thread's invocation, or, for a thread
 * of the module, its kthread_stop(): 6.1's sets TIF_NOTIFY_SIGNAL, which
 * ends interruptible sleeps (not killable ones). */
static int dusk_mod_signal_pending(int fatal_only)
{
	return dusk_invocation_signalled(fatal_only) ||
	       (!fatal_only && dusk_kthread_stop_pending());
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
	dusk_mod_sleep_take_in();
}

void dusk_mod_klib_host(void)
{
	static const struct dusk_klib_host host = {
		.cpu = dusk_mod_cpu,
		.uptr = __dusk_uptr,
		.fnptr = __dusk_fnptr,
		.kfunc_kaddr = dusk_mod_kfunc_kaddr,
		.func_at = dusk_mod_func_at,
		.signal_pending = dusk_mod_signal_pending,
		.kaddr_of = dusk_mod_kaddr_of,
		.sleep_begin = dusk_mod_sleep_begin,
		.sleep_end = dusk_mod_sleep_end,
	};

	dusk_klib_host_set(&host);
	dusk_invocation_set_signal_hook(dusk_mod_signal);
}
