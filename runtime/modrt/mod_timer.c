// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Timers (modrt.h): timer_setup() (init_timer_key()), mod_timer(),
 * add_timer(), del_timer(), del_timer_sync(), timer_shutdown*() and the
 * rest, run by the program's softirq thread (mod_softirq.c): the
 * function in softirq context once the target's jiffies reach the
 * expiry. The module's timer_list keeps what module code reads inline:
 * expires, and entry.pprev, which timer_pending() tests (not NULL while
 * armed, NULL once the timer fires or is deleted).
 */
#include <stdint.h>
#include <stdio.h>

#include "dusk.h"
#include "kconst.h"
#include "klib.h"
#include "klib_ctx.h"
#include "log.h"
#include "modrt.h"

/* timer_pending() reads entry.pprev: not NULL while armed. Kernel
 * memory holds kernel addresses only: the timer's own entry there. */
static void dusk_timer_mark(void *timer, int pending)
{
	uint64_t self = pending ? dusk_obj_kaddr(timer) : 0;

	if (pending && !self)
		self = (uintptr_t)timer;
	dusk_obj_put64(timer, DUSK_K_TIMER_LIST__PPREV, self);
}

static void dusk_timer_call(void *timer)
{
	uint64_t kfn;
	uintptr_t fn;

	/* The kernel detaches the timer before calling it. (Here, after
	 * dusk_defer_run()'s refresh: a change before it would be dropped.) */
	dusk_timer_mark(timer, 0);
	fn = dusk_defer_get_fn(timer, DUSK_K_TIMER_LIST__FUNCTION, &kfn);
	if (fn)
		((void (*)(void *))fn)(timer);
	else if (kfn)
		dusk_warn("timer %p: its function is the kernel's (0x%llx): not called at user level",
			  timer, (unsigned long long)kfn);
}

/* On the softirq thread, holding the program lock: a timer expired. */
void dusk_timer_fire(struct dusk_alarm *a)
{
	char name[96], what[128];
	uint64_t kfn;
	uintptr_t fn;

	fn = dusk_defer_get_fn(a->obj, DUSK_K_TIMER_LIST__FUNCTION, &kfn);
	snprintf(what, sizeof(what), "timer function %s",
		 dusk_defer_fn_name(fn, name, sizeof(name)));
	a->fn = fn;
	dusk_defer_run(dusk_timer_call, a->obj, DUSK_CTX_SOFTIRQ, what);
}

DUSK_EXPORT void __dusk_impl_init_timer_key(void *timer, void *func,
					    unsigned int flags,
					    const char *name, void *key)
{
	struct dusk_alarm *a;

	(void)name;
	(void)key;
	dusk_obj_put64(timer, 0, 0);
	dusk_obj_put64(timer, DUSK_K_TIMER_LIST__PPREV, 0);
	dusk_obj_put32(timer, DUSK_K_TIMER_LIST__FLAGS, flags);
	dusk_defer_put_fn(timer, DUSK_K_TIMER_LIST__FUNCTION, (uintptr_t)func);
	dusk_softirq_lock();
	a = dusk_alarm_get(timer, DUSK_ALARM_TIMER);
	a->armed = 0;
	a->fn = (uintptr_t)func;
	dusk_softirq_unlock();
	dusk_defer_seen((uintptr_t)func, "timer");
}

DUSK_EXPORT void __dusk_impl_init_timer_on_stack_key(void *timer, void *func,
						     unsigned int flags,
						     const char *name,
						     void *key)
{
	__dusk_impl_init_timer_key(timer, func, flags, name, key);
}

DUSK_EXPORT void __dusk_impl_destroy_timer_on_stack(void *timer)
{
	(void)timer;
}

/* mod_timer() and friends; how: 0 always, 1 only if pending, 2 only
 * earlier (timer_reduce). Returns whether it was pending. */
static int dusk_timer_modify(void *timer, unsigned long expires, int how)
{
	struct dusk_alarm *a;
	uintptr_t fn;
	uint64_t kfn;
	int was;

	dusk_softirq_lock();
	a = dusk_alarm_get(timer, DUSK_ALARM_TIMER);
	was = a->armed;
	if (a->shutdown || (how == 1 && !was) ||
	    (how == 2 && was && (long)(expires - a->expires) >= 0)) {
		dusk_softirq_unlock();
		return was;
	}
	dusk_obj_put64(timer, DUSK_K_TIMER_LIST__EXPIRES, expires);
	dusk_timer_mark(timer, 1);
	dusk_alarm_arm(a, expires);
	dusk_softirq_unlock();
	/* DEFINE_TIMER()'s function is learnt when it is armed. */
	fn = dusk_defer_get_fn(timer, DUSK_K_TIMER_LIST__FUNCTION, &kfn);
	if (fn && fn != a->fn) {
		a->fn = fn;
		dusk_defer_seen(fn, "timer");
	}
	return was;
}

DUSK_EXPORT int __dusk_impl_mod_timer(void *timer, unsigned long expires)
{
	return dusk_timer_modify(timer, expires, 0);
}

DUSK_EXPORT int __dusk_impl_mod_timer_pending(void *timer,
					      unsigned long expires)
{
	return dusk_timer_modify(timer, expires, 1);
}

DUSK_EXPORT int __dusk_impl_timer_reduce(void *timer, unsigned long expires)
{
	return dusk_timer_modify(timer, expires, 2);
}

DUSK_EXPORT void __dusk_impl_add_timer(void *timer)
{
	if (dusk_obj_get64(timer, DUSK_K_TIMER_LIST__PPREV))
		dusk_klib_bug(NULL, "kernel BUG: add_timer() of a pending timer (timer_pending())");
	dusk_timer_modify(timer, dusk_obj_get64(timer, DUSK_K_TIMER_LIST__EXPIRES),
			  0);
}

DUSK_EXPORT void __dusk_impl_add_timer_on(void *timer, int cpu)
{
	(void)cpu;
	__dusk_impl_add_timer(timer);
}

/* sync: wait for a callback running elsewhere; shutdown: no re-arming. */
static int dusk_timer_delete(void *timer, int sync, int shutdown)
{
	struct dusk_alarm *a;
	int was;

	dusk_softirq_lock();
	a = dusk_alarm_get(timer, DUSK_ALARM_TIMER);
	was = a->armed;
	if (shutdown)
		a->shutdown = 1;
	if (sync)
		dusk_alarm_cancel_sync(a);
	else
		a->armed = 0;
	dusk_timer_mark(timer, 0);
	dusk_softirq_unlock();
	return was;
}

DUSK_EXPORT int __dusk_impl_timer_delete(void *timer)
{
	return dusk_timer_delete(timer, 0, 0);
}

DUSK_EXPORT int __dusk_impl_timer_delete_sync(void *timer)
{
	return dusk_timer_delete(timer, 1, 0);
}

DUSK_EXPORT int __dusk_impl_timer_shutdown(void *timer)
{
	return dusk_timer_delete(timer, 0, 1);
}

DUSK_EXPORT int __dusk_impl_timer_shutdown_sync(void *timer)
{
	return dusk_timer_delete(timer, 1, 1);
}

/* Kernels before timer_delete*(): the same functions by their old names. */
DUSK_EXPORT int __dusk_impl_del_timer(void *timer)
{
	return dusk_timer_delete(timer, 0, 0);
}

DUSK_EXPORT int __dusk_impl_del_timer_sync(void *timer)
{
	return dusk_timer_delete(timer, 1, 0);
}

DUSK_EXPORT int __dusk_impl_try_to_del_timer_sync(void *timer)
{
	struct dusk_alarm *a;
	int ret;

	dusk_softirq_lock();
	a = dusk_alarm_get(timer, DUSK_ALARM_TIMER);
	if (a->running && !dusk_softirq_self()) {
		ret = -1;
	} else {
		ret = a->armed;
		a->armed = 0;
		dusk_timer_mark(timer, 0);
	}
	dusk_softirq_unlock();
	return ret;
}

