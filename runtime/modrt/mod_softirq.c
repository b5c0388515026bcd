// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The program's softirq (modrt.h): one thread that runs the module's
 * timer functions (mod_timer.c), hrtimer functions (mod_hrtimer.c),
 * tasklets (mod_tasklet.c) and the timers of delayed work (mod_work.c),
 * each under the program lock like any callback, in the context the
 * kernel runs it in, where sleeping is reported as the kernel reports it.
 * A callback may re-arm its timer or schedule its tasklet again.
 *
 * The module's timer_list, hrtimer and tasklet_struct stay the module's
 * (in its memory or in kernel memory it allocated); the kernel never links
 * them nor calls their functions: the program keeps the record of each
 * (an alarm: armed, expiry, running) here.
 *
 * Time is the target's: expiries are in the target's jiffies and in the
 * ns of its clocks (ktime_get() and friends, kernel calls). The thread
 * sleeps on the local clock until the estimated moment, then reads the
 * target's clock and runs the callback only once that has reached the
 * expiry, so a callback never sees jiffies before its timer's expires.
 *
 * Also here: what the files of the deferred functions share, the module's
 * objects read and written through the cache, their functions as the
 * program calls them, and dusk_defer_run(), which runs one. Module exit
 * and the session's end stop everything (dusk_softirq_stop()): a timer
 * still armed after cleanup_module is reported, as the .ko would oops
 * when it fired.
 */
#include <errno.h>
#include <pthread.h>
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

/* The softirq thread's state; every field under tm.mu, the softirq lock. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* the thread's: something to do */
	pthread_cond_t done;		/* a callback finished */
	int cv_ready;
	pthread_t thread;
	int started, stop;
	struct dusk_alarm *alarms;	/* every one known, armed or not */
	struct dusk_session *s;		/* whose */
} tm = { .mu = PTHREAD_MUTEX_INITIALIZER };

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
int dusk_tclock_jiffies(int fresh, uint64_t *ret)
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
int dusk_tclock_ns(unsigned int base, int fresh, int64_t *ret)
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

uint64_t dusk_obj_get64(const void *obj, size_t off)
{
	uint64_t v;

	memcpy(&v, RD((const char *)obj + off, 8), 8);
	return v;
}

void dusk_obj_put64(void *obj, size_t off, uint64_t v)
{
	memcpy(WR((char *)obj + off, 8), &v, 8);
}

uint32_t dusk_obj_get32(const void *obj, size_t off)
{
	uint32_t v;

	memcpy(&v, RD((const char *)obj + off, 4), 4);
	return v;
}

void dusk_obj_put32(void *obj, size_t off, uint32_t v)
{
	memcpy(WR((char *)obj + off, 4), &v, 4);
}

uint8_t dusk_obj_get8(const void *obj, size_t off)
{
	return *(const uint8_t *)RD((const char *)obj + off, 1);
}

void dusk_obj_put8(void *obj, size_t off, uint8_t v)
{
	*(uint8_t *)WR((char *)obj + off, 1) = v;
}

/* The kernel address of the module's p, 0 when it is the program's own
 * memory without a kernel copy. */
uint64_t dusk_obj_kaddr(const void *p)
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
	dusk_obj_put64(obj, off, (uintptr_t)__dusk_kptr(field, (void *)fn));
	if (k && fn)
		dusk_kcopy_claim_fn(k);
}

uintptr_t dusk_defer_get_fn(void *obj, size_t off, uint64_t *ret_kfn)
{
	uint64_t v = dusk_obj_get64(obj, off), k;
	const struct dusk_kfunc_stub *ks;
	void *u;

	*ret_kfn = 0;
	if (!v)
		return 0;
	if (v >= DUSK_KERNEL_MIN) {
		k = dusk_obj_kaddr((char *)obj + off);
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

	/* gdb asks with every thread stopped: one may hold it (a moment). */
	if (pthread_mutex_trylock(&seen.mu))
		return;
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

/* Holding the program lock, not tm.mu: a expired. */
static void dusk_alarm_fire(struct dusk_alarm *a)
{
	a->fired++;
	switch (a->kind) {
	case DUSK_ALARM_TIMER:
		dusk_timer_fire(a);
		break;
	case DUSK_ALARM_HRTIMER:
		dusk_hrtimer_fire(a);
		break;
	case DUSK_ALARM_DWORK:
		dusk_dwork_expired(a->obj);
		break;
	}
}

static int dusk_softirq_stopping(void *arg)
{
	(void)arg;
	return tm.stop;
}

/* Under tm.mu, holding the program lock: wait (letting both go) until
 * woken or until the local time until_ns (0: no limit). */
static void dusk_softirq_wait(uint64_t until_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(until_ns / 1000000000ULL),
		.tv_nsec = (long)(until_ns % 1000000000ULL),
	};

	dusk_plock_cond_wait(&tm.cv, &tm.mu, until_ns ? &ts : NULL,
			     dusk_softirq_stopping, NULL);
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
		t = dusk_tasklet_take();
		if (t) {
			pthread_mutex_unlock(&tm.mu);
			dusk_tasklet_run(t);
			pthread_mutex_lock(&tm.mu);
			dusk_tasklet_ran(t);
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
		pthread_mutex_unlock(&tm.mu);
		dusk_alarm_fire(a);
		pthread_mutex_lock(&tm.mu);
		a->running = 0;
		pthread_cond_broadcast(&tm.done);
	}
	pthread_mutex_unlock(&tm.mu);
	dusk_plock_put();
	dusk_plock_wake_close();
	return NULL;
}

/* Under tm.mu: the thread runs (started for this session) and looks
 * again at what is due. */
void dusk_softirq_kick(void)
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
void dusk_softirq_wait_done(const int *running)
{
	if (!*running)
		return;
	if (dusk_softirq_self()) {
		dusk_klib_warn(1, NULL, "a callback waits for itself to finish (del_timer_sync() or tasklet_kill() from its own callback): deadlock in the kernel");
		return;
	}
	dusk_ctx_sleep_begin_mu(&tm.mu);
	while (*running)
		pthread_cond_wait(&tm.done, &tm.mu);
	dusk_ctx_sleep_end_mu(&tm.mu);
}

int dusk_softirq_self(void)
{
	return tm.started && pthread_equal(tm.thread, pthread_self());
}

/* Under tm.mu, holding the program lock: until a callback finishes. */
void dusk_softirq_wait_any(void)
{
	dusk_ctx_sleep_begin_mu(&tm.mu);
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

/* ---- who runs what ---------------------------------------------------------- */

int dusk_defer_owns(uint64_t k)
{
	struct dusk_alarm *a;
	size_t off;
	int found = 0;

	pthread_mutex_lock(&tm.mu);
	for (a = tm.alarms; a && !found; a = a->next) {
		off = a->kind == DUSK_ALARM_HRTIMER ? DUSK_K_HRTIMER__FUNCTION :
		      a->kind == DUSK_ALARM_TIMER ? DUSK_K_TIMER_LIST__FUNCTION :
		      DUSK_K_WORK_STRUCT__FUNC;
		found = dusk_obj_kaddr(a->obj) + off == k;
	}
	if (!found)
		found = dusk_tasklet_owns(k);
	pthread_mutex_unlock(&tm.mu);
	return found;
}

/* ---- the end ---------------------------------------------------------------------- */

unsigned int dusk_softirq_stop(const char *when)
{
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
	left += dusk_tasklet_cancel_all(when);
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
