// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Timers, hrtimers and tasklets (modrt.h): the program's own softirq.
 *
 * The module's timer_list, hrtimer and tasklet_struct stay the module's
 * (in its memory or in kernel memory it allocated); the kernel never links
 * them nor calls their functions. The program keeps the record of each
 * (armed, expiry, running) and one thread of its own, the softirq thread,
 * runs what is due: a timer's function in softirq context, an hrtimer's
 * in hard interrupt context (soft ones in softirq), a tasklet's in
 * softirq, each under the program lock like any callback, where sleeping
 * is reported as the kernel reports it. A callback may re-arm its timer
 * (mod_timer(), HRTIMER_RESTART) or schedule its tasklet again.
 *
 * Time is the target's: expiries are in the target's jiffies and in the
 * ns of its clocks (ktime_get() and friends, kernel calls). The thread
 * sleeps on the local clock until the estimated moment, then reads the
 * target's clock and runs the callback only once that has reached the
 * expiry, so a callback never sees jiffies before its timer's expires.
 *
 * What module code reads inline says what the kernel's would:
 * timer_pending() (entry.pprev), hrtimer_is_queued() (state),
 * tasklet_schedule()'s state bits. Module exit and the session's end stop
 * everything here (dusk_softirq_stop()): a timer still armed after
 * cleanup_module is reported, as the .ko would oops when it fired.
 *
 * Work items (mod_work.c) use the same thread for delayed work's timers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dusk.h"
#include "hook.h"
#include "kconst.h"
#include "klib.h"
#include "klib_ctx.h"
#include "log.h"
#include "modrt.h"
#include "observe.h"
#include "plock.h"
#include "session.h"
#include "util.h"

#define RD(p, n)	((const void *)__dusk_check((p), (n)))
#define WR(p, n)	((void *)__dusk_check_w((p), (n)))

/* How often a scheduled but disabled tasklet is looked at again. */
#define DUSK_TASKLET_POLL_NS	(10 * 1000 * 1000ULL)

/* The softirq thread's state; every field under tm.mu. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* the thread's: something to do */
	pthread_cond_t done;		/* a callback finished */
	int cv_ready;
	pthread_t thread;
	int started, stop;
	struct dusk_alarm *alarms;	/* every one known, armed or not */
	struct dusk_tasklet *tasklets;	/* every one known */
	struct dusk_session *s;		/* whose */
	pthread_t runner;		/* the thread running a callback now */
	int running;
} tm = { .mu = PTHREAD_MUTEX_INITIALIZER };

struct dusk_tasklet {
	struct dusk_tasklet *next;
	uintptr_t key;
	void *obj;
	int queued, running;
	uint64_t runs;
};

/* ---- the target's clocks -------------------------------------------------- */

/* The last reading of each: the target's value and the local time. */
static struct {
	struct dusk_session *s;
	uint64_t jiffies_kaddr;
	uint64_t j, j_at;
	int64_t ns[4], ns_at[4];
} tc;

static uint64_t dusk_local_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t dusk_ns_per_jiffy(void)
{
	return 1000000000ULL / dusk_klib_hz();
}

static void dusk_tclock_session(void)
{
	struct dusk_session *s = dusk_mod_session();

	if (tc.s != s) {
		memset(&tc, 0, sizeof(tc));
		tc.s = s;
	}
}

/* The target's jiffies now: read (fresh: 1), or estimated from the last
 * reading (fresh: 0, unless that is more than a second old). */
static int dusk_tclock_jiffies(int fresh, uint64_t *ret)
{
	uint64_t now = dusk_local_ns(), j;
	int err;

	dusk_tclock_session();
	if (!tc.s)
		return -ENOTCONN;
	if (!fresh && tc.j_at && now - tc.j_at < 1000000000ULL) {
		*ret = tc.j + (now - tc.j_at) / dusk_ns_per_jiffy();
		return 0;
	}
	if (!tc.jiffies_kaddr) {
		err = dusk_mod_ksym("jiffies", &tc.jiffies_kaddr);
		if (err)
			return err;
	}
	err = dusk_kread(tc.s, tc.jiffies_kaddr, &j, sizeof(j));
	if (err)
		return err;
	tc.j = j;
	tc.j_at = dusk_local_ns();
	*ret = j;
	return 0;
}

/* An hrtimer base's clock (HRTIMER_BASE_*, soft ones folded), read in
 * the target. */
static int dusk_tclock_ns(unsigned int base, int fresh, int64_t *ret)
{
	static const char *const getter[4] = {
		[DUSK_K_HRTIMER_BASE_MONOTONIC] = "ktime_get",
		[DUSK_K_HRTIMER_BASE_REALTIME] = "ktime_get_real",
		[DUSK_K_HRTIMER_BASE_BOOTTIME] = "ktime_get_boottime",
		[DUSK_K_HRTIMER_BASE_TAI] = "ktime_get_clocktai",
	};
	uint64_t now = dusk_local_ns(), v;
	int err;

	base %= 4;
	dusk_tclock_session();
	if (!tc.s)
		return -ENOTCONN;
	if (!fresh && tc.ns_at[base] &&
	    now - (uint64_t)tc.ns_at[base] < 1000000000ULL) {
		*ret = tc.ns[base] + (int64_t)(now - (uint64_t)tc.ns_at[base]);
		return 0;
	}
	if (base == DUSK_K_HRTIMER_BASE_TAI) {
		/* ktime_get_clocktai() is inline: TK_OFFS_TAI is 2 */
		uint64_t arg = 2;

		err = dusk_klib_kcall("ktime_get_with_offset", &arg, 1, &v);
	} else {
		err = dusk_klib_kcall(getter[base], NULL, 0, &v);
	}
	if (err)
		return err;
	tc.ns[base] = (int64_t)v;
	tc.ns_at[base] = (int64_t)dusk_local_ns();
	*ret = (int64_t)v;
	return 0;
}

/* ---- the module's objects ---------------------------------------------------- */

static uint64_t dusk_get64(const void *obj, size_t off)
{
	uint64_t v;

	memcpy(&v, RD((const char *)obj + off, 8), 8);
	return v;
}

static void dusk_put64(void *obj, size_t off, uint64_t v)
{
	memcpy(WR((char *)obj + off, 8), &v, 8);
}

static uint32_t dusk_get32(const void *obj, size_t off)
{
	uint32_t v;

	memcpy(&v, RD((const char *)obj + off, 4), 4);
	return v;
}

static void dusk_put32(void *obj, size_t off, uint32_t v)
{
	memcpy(WR((char *)obj + off, 4), &v, 4);
}

static uint8_t dusk_get8(const void *obj, size_t off)
{
	return *(const uint8_t *)RD((const char *)obj + off, 1);
}

static void dusk_put8(void *obj, size_t off, uint8_t v)
{
	*(uint8_t *)WR((char *)obj + off, 1) = v;
}

/* The kernel address of the module's p, 0 when it is the program's own
 * memory without a kernel copy. */
static uint64_t dusk_defer_kaddr(const void *p)
{
	uintptr_t v = (uintptr_t)p;
	uint64_t k;

	if (v >= DUSK_KERNEL_MIN)
		return v;
	k = dusk_kaddr(p);
	return k ? k : dusk_kcopy_kaddr_of(v);
}

void dusk_defer_put_fn(void *obj, size_t off, uintptr_t fn)
{
	char *field = (char *)obj + off;
	uint64_t k = (uintptr_t)field >= DUSK_KERNEL_MIN ?
		     (uintptr_t)field : dusk_kaddr(field);

	/* Kernel memory holds kernel addresses only: a user function there
	 * is a harmless kernel function and the record of what was stored,
	 * which this claims (the program runs it, never the kernel). */
	dusk_put64(obj, off, (uintptr_t)__dusk_kptr(field, (void *)fn));
	if (k && fn)
		dusk_kcopy_claim_fn(k);
}

uintptr_t dusk_defer_get_fn(void *obj, size_t off, uint64_t *ret_kfn)
{
	uint64_t v = dusk_get64(obj, off), k;
	const struct dusk_kfunc_stub *ks;
	void *u;

	*ret_kfn = 0;
	if (!v)
		return 0;
	if (v >= DUSK_KERNEL_MIN) {
		k = dusk_defer_kaddr((char *)obj + off);
		u = k ? dusk_kcopy_claim_fn(k) : NULL;
		if (u)
			return (uintptr_t)u;
		*ret_kfn = v;
		return 0;
	}
	ks = dusk_kfunc_of_stub((uintptr_t)v);
	if (ks) {
		*ret_kfn = ks->f && !dusk_kfunc_resolve(ks->f) ? ks->f->kaddr :
			   1;
		return 0;
	}
	return (uintptr_t)v;
}

/* The name of fn for reports: "my_timer_fn", or its address. */
const char *dusk_defer_fn_name(uintptr_t fn, char *buf, size_t len)
{
	const struct dusk_msym *sym = fn ? dusk_image_func(fn) : NULL;

	if (sym && sym->addr == fn)
		snprintf(buf, len, "%s", sym->name);
	else
		snprintf(buf, len, "%p", (void *)fn);
	return buf;
}

/*
 * Run the module's fn(arg) as the kernel runs a deferred function, in
 * context kind, on this thread (which holds the program lock): what the
 * kernel changed is seen first, what fn changed reaches the kernel after.
 */
void dusk_defer_run(void (*fn)(void *), void *arg, int kind,
		    const char *what)
{
	struct dusk_ctx_saved saved;

	dusk_kcopy_begin(0);
	dusk_refresh(dusk_mod_session());
	dusk_ctx_enter((enum dusk_ctx_kind)kind, -1, &saved);
	fn(arg);
	dusk_ctx_leave(&saved);
	/* No RETURN carries its changes: committed now. */
	dusk_kcopy_end(what, 1);
}

int dusk_mod_jiffies(uint64_t *ret)
{
	return dusk_tclock_jiffies(0, ret);
}

/* ---- the module's deferred functions, for the debugger ------------------------ */

static struct {
	struct dusk_defer_fn {
		uintptr_t fn;
		const char *what;
	} *v;
	size_t nr, cap;
	pthread_mutex_t mu;
} seen = { .mu = PTHREAD_MUTEX_INITIALIZER };

void dusk_defer_seen(uintptr_t fn, const char *what)
{
	int added = 0;
	size_t i;

	if (!fn || fn >= DUSK_KERNEL_MIN || dusk_kfunc_of_stub(fn))
		return;		/* the kernel's (delayed_work_timer_fn) */
	pthread_mutex_lock(&seen.mu);
	for (i = 0; i < seen.nr; i++)
		if (seen.v[i].fn == fn && !strcmp(seen.v[i].what, what))
			break;
	if (i == seen.nr) {
		if (DUSK_GROW(seen.v, seen.cap, seen.nr, 16))
			dusk_mod_fatal(1, "out of memory");
		seen.v[seen.nr].fn = fn;
		seen.v[seen.nr++].what = what;
		added = 1;
	}
	pthread_mutex_unlock(&seen.mu);
	/* dusk-gdb's break-hook all breaks in it from now on. */
	if (added)
		dusk_observe_callback((void *)fn, what);
}

void dusk_defer_foreach_fn(void (*fn)(uintptr_t fn, const char *what,
				      void *arg), void *arg)
{
	size_t i;

	pthread_mutex_lock(&seen.mu);
	for (i = 0; i < seen.nr; i++)
		fn(seen.v[i].fn, seen.v[i].what, arg);
	pthread_mutex_unlock(&seen.mu);
}

/* ---- the softirq thread ------------------------------------------------------ */

static void dusk_softirq_cv_init(void)
{
	pthread_condattr_t a;

	if (tm.cv_ready)
		return;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&tm.cv, &a);
	pthread_cond_init(&tm.done, &a);
	pthread_condattr_destroy(&a);
	tm.cv_ready = 1;
}

static struct dusk_alarm *dusk_alarm_earliest(void)
{
	struct dusk_alarm *a, *best = NULL;

	for (a = tm.alarms; a; a = a->next)
		if (a->armed && (!best || a->due_ns < best->due_ns))
			best = a;
	return best;
}

static struct dusk_tasklet *dusk_tasklet_ready(void);
static int dusk_tasklet_parked(void);
static void dusk_tasklet_run(struct dusk_tasklet *t);
static void dusk_alarm_fire(struct dusk_alarm *a);

/* Under tm.mu, holding the program lock: wait (letting both go) until
 * woken or until the local time until_ns (0: no limit). */
static void dusk_softirq_wait(uint64_t until_ns)
{
	unsigned int depth;
	struct timespec ts;

	pthread_mutex_unlock(&tm.mu);
	depth = dusk_plock_release();
	pthread_mutex_lock(&tm.mu);
	if (!tm.stop) {
		if (until_ns) {
			ts.tv_sec = (time_t)(until_ns / 1000000000ULL);
			ts.tv_nsec = (long)(until_ns % 1000000000ULL);
			pthread_cond_timedwait(&tm.cv, &tm.mu, &ts);
		} else {
			pthread_cond_wait(&tm.cv, &tm.mu);
		}
	}
	pthread_mutex_unlock(&tm.mu);
	dusk_plock_retake(depth);
	pthread_mutex_lock(&tm.mu);
}

/* Has the target's clock reached a's expiry? If not, a's due time moves
 * to when it should have. Under the program lock, not tm.mu. */
static int dusk_alarm_reached(struct dusk_alarm *a)
{
	uint64_t j;
	int64_t ns;

	if (a->kind == DUSK_ALARM_HRTIMER) {
		if (dusk_tclock_ns(a->base, 1, &ns))
			return 1;	/* no clock: the local one decides */
		if (ns >= (int64_t)a->expires)
			return 1;
		a->due_ns = dusk_local_ns() + (uint64_t)((int64_t)a->expires - ns);
		return 0;
	}
	if (dusk_tclock_jiffies(1, &j))
		return 1;
	if ((long)(j - a->expires) >= 0)
		return 1;
	a->due_ns = dusk_local_ns() + (a->expires - j) * dusk_ns_per_jiffy();
	return 0;
}

static void *dusk_softirq_main(void *arg)
{
	struct dusk_tasklet *t;
	struct dusk_alarm *a;
	uint64_t now, expires, until;

	(void)arg;
	dusk_plock_take();
	pthread_mutex_lock(&tm.mu);
	while (!tm.stop) {
		t = dusk_tasklet_ready();
		if (t) {
			t->queued = 0;
			t->running = 1;
			tm.running = 1;
			pthread_mutex_unlock(&tm.mu);
			dusk_tasklet_run(t);
			pthread_mutex_lock(&tm.mu);
			t->running = 0;
			tm.running = 0;
			pthread_cond_broadcast(&tm.done);
			continue;
		}
		a = dusk_alarm_earliest();
		now = dusk_local_ns();
		if (!a || a->due_ns > now) {
			/* A scheduled tasklet that is disabled runs once
			 * tasklet_enable() (inline: no call) lets it. */
			until = a ? a->due_ns : 0;
			if (dusk_tasklet_parked() &&
			    (!until || until > now + DUSK_TASKLET_POLL_NS))
				until = now + DUSK_TASKLET_POLL_NS;
			dusk_softirq_wait(until);
			continue;
		}
		expires = a->expires;
		pthread_mutex_unlock(&tm.mu);
		if (!dusk_alarm_reached(a)) {
			pthread_mutex_lock(&tm.mu);
			continue;
		}
		pthread_mutex_lock(&tm.mu);
		/* Changed meanwhile (only a sleeping callback can do that). */
		if (!a->armed || a->expires != expires)
			continue;
		a->armed = 0;
		a->running = 1;
		tm.running = 1;
		pthread_mutex_unlock(&tm.mu);
		dusk_alarm_fire(a);
		pthread_mutex_lock(&tm.mu);
		a->running = 0;
		tm.running = 0;
		pthread_cond_broadcast(&tm.done);
	}
	pthread_mutex_unlock(&tm.mu);
	dusk_plock_put();
	dusk_plock_wake_close();
	return NULL;
}

/* Under tm.mu: the thread runs (started for this session) and looks
 * again at what is due. */
static void dusk_softirq_kick(void)
{
	dusk_softirq_cv_init();
	if (!tm.started) {
		tm.stop = 0;
		tm.s = dusk_mod_session();
		if (pthread_create(&tm.thread, NULL, dusk_softirq_main, NULL))
			dusk_mod_fatal(1, "cannot start the softirq thread");
		tm.started = 1;
	}
	pthread_cond_signal(&tm.cv);
}

/* Under tm.mu, holding the program lock: wait until running(x) is 0,
 * letting both go meanwhile (the callback's thread needs the lock). */
static void dusk_softirq_wait_done(const int *running)
{
	if (!*running)
		return;
	if (tm.started && pthread_equal(tm.thread, pthread_self())) {
		dusk_klib_warn(1, NULL, "a callback waits for itself to finish (del_timer_sync() or tasklet_kill() from its own callback): deadlock in the kernel");
		return;
	}
	dusk_ctx_sleep_begin_mu(&tm.mu);
	while (*running)
		pthread_cond_wait(&tm.done, &tm.mu);
	dusk_ctx_sleep_end_mu(&tm.mu);
}

/* ---- alarms: the records of timers, hrtimers and delayed work -------------- */

/* Under tm.mu: obj's record of kind, made if need be. */
struct dusk_alarm *dusk_alarm_get(void *obj, enum dusk_alarm_kind kind)
{
	uintptr_t key = dusk_klib_obj_key(obj);
	struct dusk_alarm *a;

	if (tm.s != dusk_mod_session()) {
		/* Another session: nothing of the last one is armed here. */
		tm.s = dusk_mod_session();
		for (a = tm.alarms; a; a = a->next)
			a->armed = 0;
	}
	for (a = tm.alarms; a; a = a->next)
		if (a->key == key && a->kind == kind)
			break;
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			dusk_mod_fatal(1, "out of memory");
		a->key = key;
		a->kind = kind;
		a->next = tm.alarms;
		tm.alarms = a;
	}
	a->obj = obj;
	return a;
}

/* Under tm.mu: a armed for expires (jiffies, or ns of its clock for an
 * hrtimer, when estimated is the target's clock now). */
void dusk_alarm_arm(struct dusk_alarm *a, uint64_t expires)
{
	uint64_t j, now = dusk_local_ns();
	int64_t ns;

	a->expires = expires;
	a->armed = 1;
	if (a->kind == DUSK_ALARM_HRTIMER) {
		if (dusk_tclock_ns(a->base, 0, &ns))
			ns = (int64_t)expires;
		a->due_ns = (int64_t)expires > ns ?
			    now + (uint64_t)((int64_t)expires - ns) : now;
	} else {
		if (dusk_tclock_jiffies(0, &j))
			j = expires;
		a->due_ns = (long)(expires - j) > 0 ?
			    now + (expires - j) * dusk_ns_per_jiffy() : now;
	}
	dusk_softirq_kick();
}

void dusk_softirq_lock(void)
{
	pthread_mutex_lock(&tm.mu);
}

void dusk_softirq_unlock(void)
{
	pthread_mutex_unlock(&tm.mu);
}

/* Under tm.mu: a disarmed and no longer running its callback elsewhere. */
void dusk_alarm_cancel_sync(struct dusk_alarm *a)
{
	do {
		a->armed = 0;
		dusk_softirq_wait_done(&a->running);
	} while (a->armed);	/* re-armed by the callback it waited for */
}

int dusk_alarm_foreach(void (*fn)(const struct dusk_alarm *a, void *arg),
		       void *arg)
{
	struct dusk_alarm *a;

	/* gdb calls this with every thread stopped: one may hold it. */
	if (pthread_mutex_trylock(&tm.mu))
		return -EBUSY;
	for (a = tm.alarms; a; a = a->next)
		if (a->armed || a->running)
			fn(a, arg);
	pthread_mutex_unlock(&tm.mu);
	return 0;
}

/* ---- timer_list -------------------------------------------------------------- */

/* timer_pending() reads entry.pprev: not NULL while armed. Kernel
 * memory holds kernel addresses only: the timer's own entry there. */
static void dusk_timer_mark(void *timer, int pending)
{
	uint64_t self = pending ? dusk_defer_kaddr(timer) : 0;

	if (pending && !self)
		self = (uintptr_t)timer;
	dusk_put64(timer, DUSK_K_TIMER_LIST__PPREV, self);
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

static void dusk_alarm_fire(struct dusk_alarm *a)
{
	char name[96], what[128];
	uint64_t kfn;
	uintptr_t fn;

	switch (a->kind) {
	case DUSK_ALARM_TIMER:
		fn = dusk_defer_get_fn(a->obj, DUSK_K_TIMER_LIST__FUNCTION,
				       &kfn);
		snprintf(what, sizeof(what), "timer function %s",
			 dusk_defer_fn_name(fn, name, sizeof(name)));
		a->fn = fn;
		a->fired++;
		dusk_defer_run(dusk_timer_call, a->obj, DUSK_CTX_SOFTIRQ, what);
		break;
	case DUSK_ALARM_HRTIMER:
		a->fired++;
		dusk_hrtimer_fire(a);
		break;
	case DUSK_ALARM_DWORK:
		a->fired++;
		dusk_dwork_expired(a->obj);
		break;
	}
}

DUSK_EXPORT void __dusk_impl_init_timer_key(void *timer, void *func,
					    unsigned int flags,
					    const char *name, void *key)
{
	struct dusk_alarm *a;

	(void)name;
	(void)key;
	dusk_put64(timer, 0, 0);
	dusk_put64(timer, DUSK_K_TIMER_LIST__PPREV, 0);
	dusk_put32(timer, DUSK_K_TIMER_LIST__FLAGS, flags);
	dusk_defer_put_fn(timer, DUSK_K_TIMER_LIST__FUNCTION, (uintptr_t)func);
	pthread_mutex_lock(&tm.mu);
	a = dusk_alarm_get(timer, DUSK_ALARM_TIMER);
	a->armed = 0;
	a->fn = (uintptr_t)func;
	pthread_mutex_unlock(&tm.mu);
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

	pthread_mutex_lock(&tm.mu);
	a = dusk_alarm_get(timer, DUSK_ALARM_TIMER);
	was = a->armed;
	if (a->shutdown || (how == 1 && !was) ||
	    (how == 2 && was && (long)(expires - a->expires) >= 0)) {
		pthread_mutex_unlock(&tm.mu);
		return was;
	}
	dusk_put64(timer, DUSK_K_TIMER_LIST__EXPIRES, expires);
	dusk_timer_mark(timer, 1);
	dusk_alarm_arm(a, expires);
	pthread_mutex_unlock(&tm.mu);
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
	if (dusk_get64(timer, DUSK_K_TIMER_LIST__PPREV))
		dusk_klib_bug(NULL, "kernel BUG: add_timer() of a pending timer (timer_pending())");
	dusk_timer_modify(timer, dusk_get64(timer, DUSK_K_TIMER_LIST__EXPIRES),
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

	pthread_mutex_lock(&tm.mu);
	a = dusk_alarm_get(timer, DUSK_ALARM_TIMER);
	was = a->armed;
	if (shutdown)
		a->shutdown = 1;
	if (sync)
		dusk_alarm_cancel_sync(a);
	else
		a->armed = 0;
	dusk_timer_mark(timer, 0);
	pthread_mutex_unlock(&tm.mu);
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

	pthread_mutex_lock(&tm.mu);
	a = dusk_alarm_get(timer, DUSK_ALARM_TIMER);
	if (a->running && !pthread_equal(tm.thread, pthread_self())) {
		ret = -1;
	} else {
		ret = a->armed;
		a->armed = 0;
		dusk_timer_mark(timer, 0);
	}
	pthread_mutex_unlock(&tm.mu);
	return ret;
}

/* ---- hrtimer ------------------------------------------------------------------ */

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
	dusk_put64(timer, DUSK_K_HRTIMER__BASE, dusk_hrtimer_base_kaddr(base));
	dusk_put8(timer, DUSK_K_HRTIMER__IS_SOFT,
		  !!(mode & DUSK_K_HRTIMER_MODE_SOFT));
	pthread_mutex_lock(&tm.mu);
	a = dusk_alarm_get(timer, DUSK_ALARM_HRTIMER);
	a->armed = 0;
	a->base = base;
	pthread_mutex_unlock(&tm.mu);
}

DUSK_EXPORT void __dusk_impl_hrtimer_init_on_stack(void *timer, int clock_id,
						   unsigned int mode)
{
	__dusk_impl_hrtimer_init(timer, clock_id, mode);
}

static void dusk_hrtimer_mark(void *timer, int queued)
{
	uint8_t st = dusk_get8(timer, DUSK_K_HRTIMER__STATE);

	st = queued ? st | DUSK_K_HRTIMER_STATE_ENQUEUED :
		      st & ~DUSK_K_HRTIMER_STATE_ENQUEUED;
	dusk_put8(timer, DUSK_K_HRTIMER__STATE, st);
}

/* Under tm.mu: armed at the expiry its fields hold. */
static void dusk_hrtimer_arm(struct dusk_alarm *a)
{
	dusk_hrtimer_mark(a->obj, 1);
	dusk_alarm_arm(a, dusk_get64(a->obj, DUSK_K_HRTIMER__EXPIRES));
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
	pthread_mutex_lock(&tm.mu);
	if (ret == DUSK_K_HRTIMER_RESTART && !a->armed && !a->shutdown)
		dusk_hrtimer_arm(a);
	pthread_mutex_unlock(&tm.mu);
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
		       dusk_get8(a->obj, DUSK_K_HRTIMER__IS_SOFT) ?
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

	pthread_mutex_lock(&tm.mu);
	a = dusk_alarm_get(timer, DUSK_ALARM_HRTIMER);
	pthread_mutex_unlock(&tm.mu);
	if (mode & DUSK_K_HRTIMER_MODE_REL) {
		if (dusk_tclock_ns(a->base, 1, &now))
			now = 0;
		tim += now;
	}
	dusk_put64(timer, DUSK_K_HRTIMER__SOFTEXPIRES, (uint64_t)tim);
	dusk_put64(timer, DUSK_K_HRTIMER__EXPIRES, (uint64_t)tim + delta);
	dusk_put8(timer, DUSK_K_HRTIMER__IS_REL,
		  !!(mode & DUSK_K_HRTIMER_MODE_REL));
	fn = dusk_defer_get_fn(timer, DUSK_K_HRTIMER__FUNCTION, &kfn);
	dusk_defer_seen(fn, "hrtimer");
	pthread_mutex_lock(&tm.mu);
	if (!a->shutdown)
		dusk_hrtimer_arm(a);
	pthread_mutex_unlock(&tm.mu);
}

DUSK_EXPORT int __dusk_impl_hrtimer_try_to_cancel(void *timer)
{
	struct dusk_alarm *a;
	int ret;

	pthread_mutex_lock(&tm.mu);
	a = dusk_alarm_get(timer, DUSK_ALARM_HRTIMER);
	if (a->running && !pthread_equal(tm.thread, pthread_self())) {
		ret = -1;
	} else {
		ret = a->armed;
		a->armed = 0;
		dusk_hrtimer_mark(timer, 0);
	}
	pthread_mutex_unlock(&tm.mu);
	return ret;
}

DUSK_EXPORT int __dusk_impl_hrtimer_cancel(void *timer)
{
	struct dusk_alarm *a;
	int was;

	pthread_mutex_lock(&tm.mu);
	a = dusk_alarm_get(timer, DUSK_ALARM_HRTIMER);
	was = a->armed;
	dusk_alarm_cancel_sync(a);
	dusk_hrtimer_mark(timer, 0);
	pthread_mutex_unlock(&tm.mu);
	return was;
}

DUSK_EXPORT bool __dusk_impl_hrtimer_active(const void *timer)
{
	struct dusk_alarm *a;
	bool ret;

	pthread_mutex_lock(&tm.mu);
	a = dusk_alarm_get((void *)timer, DUSK_ALARM_HRTIMER);
	ret = a->armed || a->running;
	pthread_mutex_unlock(&tm.mu);
	return ret;
}

/* hrtimer_forward(): the kernel's arithmetic on the module's fields. */
DUSK_EXPORT uint64_t __dusk_impl_hrtimer_forward(void *timer, int64_t now,
						 int64_t interval)
{
	int64_t expires = (int64_t)dusk_get64(timer, DUSK_K_HRTIMER__EXPIRES);
	int64_t soft = (int64_t)dusk_get64(timer, DUSK_K_HRTIMER__SOFTEXPIRES);
	int64_t delta = now - expires, incr;
	uint64_t orun = 1;

	if (delta < 0)
		return 0;
	if (dusk_get8(timer, DUSK_K_HRTIMER__STATE) &
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
	dusk_put64(timer, DUSK_K_HRTIMER__EXPIRES, (uint64_t)expires);
	dusk_put64(timer, DUSK_K_HRTIMER__SOFTEXPIRES, (uint64_t)soft);
	return orun;
}

DUSK_EXPORT int64_t __dusk_impl___hrtimer_get_remaining(const void *timer,
							bool adjust)
{
	struct dusk_alarm *a;
	int64_t now;

	(void)adjust;
	pthread_mutex_lock(&tm.mu);
	a = dusk_alarm_get((void *)timer, DUSK_ALARM_HRTIMER);
	pthread_mutex_unlock(&tm.mu);
	if (dusk_tclock_ns(a->base, 1, &now))
		now = 0;
	return (int64_t)dusk_get64(timer, DUSK_K_HRTIMER__EXPIRES) - now;
}

/* ---- tasklets ------------------------------------------------------------------ */

static struct dusk_tasklet *dusk_tasklet_get(void *t)
{
	uintptr_t key = dusk_klib_obj_key(t);
	struct dusk_tasklet *tl;

	for (tl = tm.tasklets; tl; tl = tl->next)
		if (tl->key == key)
			break;
	if (!tl) {
		tl = calloc(1, sizeof(*tl));
		if (!tl)
			dusk_mod_fatal(1, "out of memory");
		tl->key = key;
		tl->next = tm.tasklets;
		tm.tasklets = tl;
	}
	tl->obj = t;
	return tl;
}

/* Under tm.mu: a scheduled tasklet that is not disabled (t->count 0). */
static struct dusk_tasklet *dusk_tasklet_ready(void)
{
	struct dusk_tasklet *t;

	for (t = tm.tasklets; t; t = t->next)
		if (t->queued && !t->running &&
		    !dusk_get32(t->obj, DUSK_K_TASKLET_STRUCT__COUNT))
			return t;
	return NULL;
}

/* Under tm.mu: a tasklet scheduled but disabled. */
static int dusk_tasklet_parked(void)
{
	struct dusk_tasklet *t;

	for (t = tm.tasklets; t; t = t->next)
		if (t->queued && !t->running)
			return 1;
	return 0;
}

static void dusk_tasklet_call(void *obj)
{
	uint64_t state, kfn;
	uintptr_t fn;

	/* tasklet_action_common(): RUN taken, SCHED cleared, then the
	 * function, then RUN dropped. */
	state = dusk_get64(obj, DUSK_K_TASKLET_STRUCT__STATE);
	state |= 1ULL << DUSK_K_TASKLET_STATE_RUN;
	state &= ~(1ULL << DUSK_K_TASKLET_STATE_SCHED);
	dusk_put64(obj, DUSK_K_TASKLET_STRUCT__STATE, state);
	fn = dusk_defer_get_fn(obj, DUSK_K_TASKLET_STRUCT__FUNC, &kfn);
	if (!fn)
		dusk_warn("tasklet %p: its function is %s: not called at user level",
			  obj, kfn ? "the kernel's" : "NULL");
	else if (dusk_get8(obj, DUSK_K_TASKLET_STRUCT__USE_CALLBACK))
		((void (*)(void *))fn)(obj);
	else
		((void (*)(unsigned long))fn)(
			dusk_get64(obj, DUSK_K_TASKLET_STRUCT__DATA));
	state = dusk_get64(obj, DUSK_K_TASKLET_STRUCT__STATE);
	dusk_put64(obj, DUSK_K_TASKLET_STRUCT__STATE,
		   state & ~(1ULL << DUSK_K_TASKLET_STATE_RUN));
}

static void dusk_tasklet_run(struct dusk_tasklet *t)
{
	char name[96], what[128];
	uint64_t kfn;
	uintptr_t fn;

	fn = dusk_defer_get_fn(t->obj, DUSK_K_TASKLET_STRUCT__FUNC, &kfn);
	snprintf(what, sizeof(what), "tasklet function %s",
		 dusk_defer_fn_name(fn, name, sizeof(name)));
	t->runs++;
	dusk_defer_run(dusk_tasklet_call, t->obj, DUSK_CTX_SOFTIRQ, what);
}

static void dusk_tasklet_setup_fn(void *t, uintptr_t fn, int use_callback,
				  unsigned long data)
{
	dusk_put64(t, 0, 0);
	dusk_put64(t, DUSK_K_TASKLET_STRUCT__STATE, 0);
	dusk_put32(t, DUSK_K_TASKLET_STRUCT__COUNT, 0);
	dusk_put8(t, DUSK_K_TASKLET_STRUCT__USE_CALLBACK, (uint8_t)use_callback);
	dusk_defer_put_fn(t, DUSK_K_TASKLET_STRUCT__FUNC, fn);
	dusk_put64(t, DUSK_K_TASKLET_STRUCT__DATA, data);
	pthread_mutex_lock(&tm.mu);
	dusk_tasklet_get(t)->queued = 0;
	pthread_mutex_unlock(&tm.mu);
	dusk_defer_seen(fn, "tasklet");
}

DUSK_EXPORT void __dusk_impl_tasklet_init(void *t, void *func,
					  unsigned long data)
{
	dusk_tasklet_setup_fn(t, (uintptr_t)func, 0, data);
}

DUSK_EXPORT void __dusk_impl_tasklet_setup(void *t, void *callback)
{
	dusk_tasklet_setup_fn(t, (uintptr_t)callback, 1, 0);
}

/* tasklet_schedule() set TASKLET_STATE_SCHED inline, then calls this. */
DUSK_EXPORT void __dusk_impl___tasklet_schedule(void *t)
{
	pthread_mutex_lock(&tm.mu);
	dusk_tasklet_get(t)->queued = 1;
	dusk_softirq_kick();
	pthread_mutex_unlock(&tm.mu);
}

DUSK_EXPORT void __dusk_impl___tasklet_hi_schedule(void *t)
{
	__dusk_impl___tasklet_schedule(t);
}

DUSK_EXPORT void __dusk_impl_tasklet_unlock_wait(void *t)
{
	struct dusk_tasklet *tl;

	pthread_mutex_lock(&tm.mu);
	tl = dusk_tasklet_get(t);
	dusk_softirq_wait_done(&tl->running);
	pthread_mutex_unlock(&tm.mu);
}

DUSK_EXPORT void __dusk_impl_tasklet_unlock_spin_wait(void *t)
{
	__dusk_impl_tasklet_unlock_wait(t);
}

DUSK_EXPORT void __dusk_impl_tasklet_unlock(void *t)
{
	uint64_t state = dusk_get64(t, DUSK_K_TASKLET_STRUCT__STATE);

	dusk_put64(t, DUSK_K_TASKLET_STRUCT__STATE,
		   state & ~(1ULL << DUSK_K_TASKLET_STATE_RUN));
}

/* Waits for a scheduled tasklet to run (a disabled one: for ever, as
 * the kernel does), then leaves it unscheduled. */
DUSK_EXPORT void __dusk_impl_tasklet_kill(void *t)
{
	struct dusk_tasklet *tl;
	uint64_t state;

	dusk_ctx_might_sleep_at("tasklet_kill", __builtin_return_address(0));
	pthread_mutex_lock(&tm.mu);
	tl = dusk_tasklet_get(t);
	while (tl->queued || tl->running) {
		dusk_softirq_kick();
		if (tl->running) {
			dusk_softirq_wait_done(&tl->running);
			continue;
		}
		/* Queued: the thread runs it once it can. */
		dusk_ctx_sleep_begin_mu(&tm.mu);
		pthread_cond_wait(&tm.done, &tm.mu);
		dusk_ctx_sleep_end_mu(&tm.mu);
	}
	state = dusk_get64(t, DUSK_K_TASKLET_STRUCT__STATE);
	dusk_put64(t, DUSK_K_TASKLET_STRUCT__STATE,
		   state & ~(1ULL << DUSK_K_TASKLET_STATE_SCHED));
	pthread_mutex_unlock(&tm.mu);
}

int dusk_defer_owns(uint64_t k)
{
	struct dusk_tasklet *t;
	struct dusk_alarm *a;
	size_t off;
	int found = 0;

	pthread_mutex_lock(&tm.mu);
	for (a = tm.alarms; a && !found; a = a->next) {
		off = a->kind == DUSK_ALARM_HRTIMER ? DUSK_K_HRTIMER__FUNCTION :
		      a->kind == DUSK_ALARM_TIMER ? DUSK_K_TIMER_LIST__FUNCTION :
		      DUSK_K_WORK_STRUCT__FUNC;
		found = dusk_defer_kaddr(a->obj) + off == k;
	}
	for (t = tm.tasklets; t && !found; t = t->next)
		found = dusk_defer_kaddr(t->obj) + DUSK_K_TASKLET_STRUCT__FUNC == k;
	pthread_mutex_unlock(&tm.mu);
	return found;
}

/* ---- the end ---------------------------------------------------------------------- */

unsigned int dusk_softirq_stop(const char *when)
{
	struct dusk_tasklet *t;
	struct dusk_alarm *a;
	char name[96];
	unsigned int left = 0;
	unsigned int depth;

	pthread_mutex_lock(&tm.mu);
	for (a = tm.alarms; a; a = a->next) {
		if (!a->armed || a->kind == DUSK_ALARM_DWORK)
			continue;	/* delayed work: mod_work.c's report */
		if (when)
			dusk_err("%s %s (at %p) still armed %s: the .ko's would fire into unloaded code; cancelled",
				 a->kind == DUSK_ALARM_TIMER ? "timer" : "hrtimer",
				 dusk_defer_fn_name(a->fn, name, sizeof(name)),
				 a->obj, when);
		a->armed = 0;
		left++;
	}
	for (t = tm.tasklets; t; t = t->next) {
		if (!t->queued)
			continue;
		if (when)
			dusk_err("tasklet at %p still scheduled %s: cancelled",
				 t->obj, when);
		t->queued = 0;
		left++;
	}
	if (tm.started) {
		tm.stop = 1;
		pthread_cond_broadcast(&tm.cv);
		pthread_mutex_unlock(&tm.mu);
		depth = dusk_plock_release();
		pthread_join(tm.thread, NULL);
		dusk_plock_retake(depth);
		pthread_mutex_lock(&tm.mu);
		tm.started = 0;
		tm.stop = 0;
	}
	pthread_mutex_unlock(&tm.mu);
	return left;
}
