// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * hrtimers (modrt.h): hrtimer_init(), hrtimer_start_range_ns()
 * (hrtimer_start()), hrtimer_cancel(), hrtimer_forward() and the rest,
 * run by the program's softirq thread (mod_softirq.c) in hard interrupt
 * context (softirq with HRTIMER_MODE_SOFT) once the target's clock of the
 * timer reaches its expiry; a function returning HRTIMER_RESTART is armed
 * again at the expiry it set (hrtimer_forward_now()). The module's hrtimer
 * keeps what module code reads: the expiries, state's ENQUEUED bit
 * (hrtimer_is_queued()) and base, the kernel's clock base of CPU 0, whose
 * get_time is what hrtimer_forward_now() calls (a kernel call).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dusk.h"
#include "kconst.h"
#include "klib.h"
#include "klib_ctx.h"
#include "log.h"
#include "modrt.h"

#define WR(p, n)	((void *)__dusk_check_w((p), (n)))

/* The kernel's per-CPU clock base the module's hrtimer names (its
 * get_time is what hrtimer_forward_now() calls): CPU 0's. */
static uint64_t dusk_hrtimer_base_kaddr(unsigned int base)
{
	static struct dusk_session *s;
	static uint64_t bases;
	uint64_t off;

	if (s != dusk_mod_session() || !bases) {
		s = dusk_mod_session();
		bases = 0;
		if (dusk_mod_ksym("hrtimer_bases", &bases) ||
		    dusk_percpu_offset(0, &off)) {
			bases = 0;
			return 0;
		}
		bases += off;
	}
	return bases + DUSK_K_HRTIMER_CPU_BASE__CLOCK_BASE +
	       (uint64_t)base * DUSK_K_SIZEOF_HRTIMER_CLOCK_BASE;
}

static unsigned int dusk_hrtimer_base_of(int clock_id, unsigned int mode)
{
	unsigned int base;

	switch (clock_id) {
	case 0:		/* CLOCK_REALTIME */
		base = DUSK_K_HRTIMER_BASE_REALTIME;
		break;
	case 7:		/* CLOCK_BOOTTIME */
		base = DUSK_K_HRTIMER_BASE_BOOTTIME;
		break;
	case 11:	/* CLOCK_TAI */
		base = DUSK_K_HRTIMER_BASE_TAI;
		break;
	default:	/* CLOCK_MONOTONIC */
		base = DUSK_K_HRTIMER_BASE_MONOTONIC;
		break;
	}
	if (mode & DUSK_K_HRTIMER_MODE_SOFT)
		base += DUSK_K_HRTIMER_BASE_MONOTONIC_SOFT;
	return base;
}

DUSK_EXPORT void __dusk_impl_hrtimer_init(void *timer, int clock_id,
					  unsigned int mode)
{
	unsigned int base = dusk_hrtimer_base_of(clock_id, mode);
	struct dusk_alarm *a;

	memset(WR(timer, DUSK_K_SIZEOF_HRTIMER), 0, DUSK_K_SIZEOF_HRTIMER);
	dusk_obj_put64(timer, DUSK_K_HRTIMER__BASE, dusk_hrtimer_base_kaddr(base));
	dusk_obj_put8(timer, DUSK_K_HRTIMER__IS_SOFT,
		  !!(mode & DUSK_K_HRTIMER_MODE_SOFT));
	dusk_softirq_lock();
	a = dusk_alarm_get(timer, DUSK_ALARM_HRTIMER);
	a->armed = 0;
	a->base = base;
	dusk_softirq_unlock();
}

DUSK_EXPORT void __dusk_impl_hrtimer_init_on_stack(void *timer, int clock_id,
						   unsigned int mode)
{
	__dusk_impl_hrtimer_init(timer, clock_id, mode);
}

static void dusk_hrtimer_mark(void *timer, int queued)
{
	uint8_t st = dusk_obj_get8(timer, DUSK_K_HRTIMER__STATE);

	st = queued ? st | DUSK_K_HRTIMER_STATE_ENQUEUED :
		      st & ~DUSK_K_HRTIMER_STATE_ENQUEUED;
	dusk_obj_put8(timer, DUSK_K_HRTIMER__STATE, st);
}

/* Under the softirq lock: armed at the expiry its fields hold. */
static void dusk_hrtimer_arm(struct dusk_alarm *a)
{
	dusk_hrtimer_mark(a->obj, 1);
	dusk_alarm_arm(a, dusk_obj_get64(a->obj, DUSK_K_HRTIMER__EXPIRES));
}

/* The function, who runs it, and a restart at the expiry it set. */
static void dusk_hrtimer_call(void *arg)
{
	struct dusk_alarm *a = arg;
	uint64_t kfn;
	uintptr_t fn;
	int ret;

	dusk_hrtimer_mark(a->obj, 0);	/* dequeued before it runs */
	fn = dusk_defer_get_fn(a->obj, DUSK_K_HRTIMER__FUNCTION, &kfn);
	if (!fn) {
		dusk_warn("hrtimer %p: its function is %s: not called at user level",
			  a->obj, kfn ? "the kernel's" : "NULL");
		return;
	}
	a->fn = fn;
	ret = ((int (*)(void *))fn)(a->obj);
	dusk_softirq_lock();
	if (ret == DUSK_K_HRTIMER_RESTART && !a->armed && !a->shutdown)
		dusk_hrtimer_arm(a);
	dusk_softirq_unlock();
}

void dusk_hrtimer_fire(struct dusk_alarm *a)
{
	char name[96], what[128];
	uint64_t kfn;
	uintptr_t fn;

	fn = dusk_defer_get_fn(a->obj, DUSK_K_HRTIMER__FUNCTION, &kfn);
	snprintf(what, sizeof(what), "hrtimer function %s",
		 dusk_defer_fn_name(fn, name, sizeof(name)));
	/* Hard interrupt context unless HRTIMER_MODE_SOFT. */
	dusk_defer_run(dusk_hrtimer_call, a,
		       dusk_obj_get8(a->obj, DUSK_K_HRTIMER__IS_SOFT) ?
		       DUSK_CTX_SOFTIRQ : DUSK_CTX_HARDIRQ, what);
}

DUSK_EXPORT void __dusk_impl_hrtimer_start_range_ns(void *timer, int64_t tim,
						    uint64_t delta,
						    unsigned int mode)
{
	struct dusk_alarm *a;
	int64_t now;
	uintptr_t fn;
	uint64_t kfn;

	dusk_softirq_lock();
	a = dusk_alarm_get(timer, DUSK_ALARM_HRTIMER);
	dusk_softirq_unlock();
	if (mode & DUSK_K_HRTIMER_MODE_REL) {
		if (dusk_tclock_ns(a->base, 1, &now))
			now = 0;
		tim += now;
	}
	dusk_obj_put64(timer, DUSK_K_HRTIMER__SOFTEXPIRES, (uint64_t)tim);
	dusk_obj_put64(timer, DUSK_K_HRTIMER__EXPIRES, (uint64_t)tim + delta);
	dusk_obj_put8(timer, DUSK_K_HRTIMER__IS_REL,
		  !!(mode & DUSK_K_HRTIMER_MODE_REL));
	fn = dusk_defer_get_fn(timer, DUSK_K_HRTIMER__FUNCTION, &kfn);
	dusk_defer_seen(fn, "hrtimer");
	dusk_softirq_lock();
	if (!a->shutdown)
		dusk_hrtimer_arm(a);
	dusk_softirq_unlock();
}

DUSK_EXPORT int __dusk_impl_hrtimer_try_to_cancel(void *timer)
{
	struct dusk_alarm *a;
	int ret;

	dusk_softirq_lock();
	a = dusk_alarm_get(timer, DUSK_ALARM_HRTIMER);
	if (a->running && !dusk_softirq_self()) {
		ret = -1;
	} else {
		ret = a->armed;
		a->armed = 0;
		dusk_hrtimer_mark(timer, 0);
	}
	dusk_softirq_unlock();
	return ret;
}

DUSK_EXPORT int __dusk_impl_hrtimer_cancel(void *timer)
{
	struct dusk_alarm *a;
	int was;

	dusk_softirq_lock();
	a = dusk_alarm_get(timer, DUSK_ALARM_HRTIMER);
	was = a->armed;
	dusk_alarm_cancel_sync(a);
	dusk_hrtimer_mark(timer, 0);
	dusk_softirq_unlock();
	return was;
}

DUSK_EXPORT bool __dusk_impl_hrtimer_active(const void *timer)
{
	struct dusk_alarm *a;
	bool ret;

	dusk_softirq_lock();
	a = dusk_alarm_get((void *)timer, DUSK_ALARM_HRTIMER);
	ret = a->armed || a->running;
	dusk_softirq_unlock();
	return ret;
}

/* hrtimer_forward(): the kernel's arithmetic on the module's fields. */
DUSK_EXPORT uint64_t __dusk_impl_hrtimer_forward(void *timer, int64_t now,
						 int64_t interval)
{
	int64_t expires = (int64_t)dusk_obj_get64(timer, DUSK_K_HRTIMER__EXPIRES);
	int64_t soft = (int64_t)dusk_obj_get64(timer, DUSK_K_HRTIMER__SOFTEXPIRES);
	int64_t delta = now - expires, incr;
	uint64_t orun = 1;

	if (delta < 0)
		return 0;
	if (dusk_obj_get8(timer, DUSK_K_HRTIMER__STATE) &
	    DUSK_K_HRTIMER_STATE_ENQUEUED) {
		dusk_klib_warn(1, NULL, "hrtimer_forward() of a queued hrtimer");
		return 0;
	}
	if (interval < 1)
		interval = 1;
	if (delta >= interval) {
		orun = (uint64_t)(delta / interval);
		incr = interval * (int64_t)orun;
		expires += incr;
		soft += incr;
		if (expires > now)
			goto out;
		orun++;
	}
	expires += interval;
	soft += interval;
out:
	dusk_obj_put64(timer, DUSK_K_HRTIMER__EXPIRES, (uint64_t)expires);
	dusk_obj_put64(timer, DUSK_K_HRTIMER__SOFTEXPIRES, (uint64_t)soft);
	return orun;
}

DUSK_EXPORT int64_t __dusk_impl___hrtimer_get_remaining(const void *timer,
							bool adjust)
{
	struct dusk_alarm *a;
	int64_t now;

	(void)adjust;
	dusk_softirq_lock();
	a = dusk_alarm_get((void *)timer, DUSK_ALARM_HRTIMER);
	dusk_softirq_unlock();
	if (dusk_tclock_ns(a->base, 1, &now))
		now = 0;
	return (int64_t)dusk_obj_get64(timer, DUSK_K_HRTIMER__EXPIRES) - now;
}

