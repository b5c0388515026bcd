// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Sleeping and waking at user level (klib_wait.h): wait queues,
 * schedule(), completions.
 *
 * The kernel's ___wait_event() loop, which every wait_event*() macro
 * expands to in the module, calls init_wait_entry(), then
 * prepare_to_wait_event() and the condition until it holds, schedule()
 * between, and finish_wait(). Here prepare_to_wait_event() puts the
 * calling thread on the sleepers of the head's identity (klib_ctx.c's
 * dusk_klib_obj_key()) in the given state, a wake-up that finds it there
 * marks it woken and signals its condition variable, and schedule()
 * waits for that unless it happened already: a wake-up between the
 * condition and schedule() is not lost, as in the kernel. A thread is on
 * one head at a time, as ___wait_event() puts it.
 *
 * A completion is its own counter (x->done, in the module's memory or
 * the kernel's, read and written through the cache under this file's
 * mutex) and a sleeper list of its identity.
 *
 * Tasks. A sleeper that serves a blocking invocation is the sleep of that
 * invocation's task (core's dusk_invocation_task(): a file operation's
 * caller, a module kthread's thread), so that wake_up_process() of the
 * task wakes it (dusk_klib_wake_task()) as try_to_wake_up() would. The
 * manual sleep, set_current_state() then schedule() or
 * schedule_timeout(), writes the state into the task (through the cache)
 * and schedule() reads it back there: a sleeping state makes the thread
 * sleep in it, woken by a wake-up of the task, a signal it lets in, or
 * the timeout. The program lock orders all this: a waker runs module
 * code only while the sleeper lets the lock go, i.e. once it sleeps.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "hook.h"
#include "kconst.h"
#include "klib.h"
#include "klib_ctx.h"
#include "klib_wait.h"

#define RD(p, n)	((const void *)__dusk_check((p), (n)))
#define WR(p, n)	((void *)__dusk_check_w((p), (n)))

/* The target kernel's layouts (kconst.h). */
#define DUSK_WQ_HEAD_LIST	DUSK_K_WAIT_QUEUE_HEAD__HEAD
#define DUSK_WQ_FLAG_EXCLUSIVE	DUSK_K_WQ_FLAG_EXCLUSIVE
#define DUSK_UINT_MAX		0xffffffffU

_Static_assert(DUSK_TASK_RUNNING == DUSK_K_TASK_RUNNING &&
	       DUSK_TASK_INTERRUPTIBLE == DUSK_K_TASK_INTERRUPTIBLE &&
	       DUSK_TASK_UNINTERRUPTIBLE == DUSK_K_TASK_UNINTERRUPTIBLE &&
	       DUSK_TASK_WAKEKILL == DUSK_K_TASK_WAKEKILL &&
	       DUSK_TASK_NORMAL == DUSK_K_TASK_NORMAL &&
	       DUSK_ERESTARTSYS == DUSK_K_ERESTARTSYS, "task states");
_Static_assert(DUSK_K_SWAIT_QUEUE_HEAD__TASK_LIST == DUSK_WQ_HEAD_LIST,
	       "swait_queue_head initialised as a wait_queue_head");
_Static_assert(DUSK_K_COMPLETION__DONE == 0 &&
	       DUSK_K_SIZEOF_COMPLETION__DONE == 4, "completion.done");
_Static_assert(DUSK_K_WAIT_QUEUE_ENTRY__FLAGS == 0 &&
	       DUSK_K_SIZEOF_WAIT_QUEUE_ENTRY__FLAGS == 4,
	       "wait_queue_entry.flags");

struct dusk_sleeper {
	struct dusk_sleeper *next;	/* on dusk_sleepers */
	uintptr_t key;			/* the head or completion waited on */
	uint64_t task;			/* the invocation's task, 0: none */
	unsigned int state;		/* DUSK_TASK_*: what wakes it */
	int exclusive;
	int woken;
	int cv_ready;
	pthread_cond_t cv;
};

static pthread_mutex_t dusk_wait_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dusk_sleeper *dusk_sleepers;
static unsigned int dusk_nr_sleepers;
/* This thread's place on the list, while it is on a head. */
static __thread struct dusk_sleeper dusk_self;
static __thread int dusk_self_listed;

/* Under dusk_wait_mu. */
static void dusk_sleeper_unlink(struct dusk_sleeper *sl)
{
	struct dusk_sleeper **pp;

	for (pp = &dusk_sleepers; *pp; pp = &(*pp)->next) {
		if (*pp == sl) {
			*pp = sl->next;
			dusk_nr_sleepers--;
			return;
		}
	}
}

/* Under dusk_wait_mu: this thread on key's sleepers in state. */
static struct dusk_sleeper *dusk_sleeper_enlist(uintptr_t key,
						unsigned int state,
						int exclusive)
{
	struct dusk_sleeper *sl = &dusk_self;

	if (!sl->cv_ready) {
		pthread_cond_init(&sl->cv, NULL);
		sl->cv_ready = 1;
	}
	if (dusk_self_listed && sl->key != key) {
		dusk_sleeper_unlink(sl);
		dusk_self_listed = 0;
	}
	if (!dusk_self_listed) {
		sl->next = dusk_sleepers;
		dusk_sleepers = sl;
		dusk_nr_sleepers++;
		dusk_self_listed = 1;
		sl->woken = 0;
	}
	sl->task = dusk_invocation_task();
	sl->key = key;
	sl->state = state;
	sl->exclusive = exclusive;
	return sl;
}

/* Under dusk_wait_mu. */
static void dusk_sleeper_delist(void)
{
	if (dusk_self_listed) {
		dusk_sleeper_unlink(&dusk_self);
		dusk_self_listed = 0;
	}
	dusk_self.state = DUSK_TASK_RUNNING;
}

static int dusk_wait_signal_pending(unsigned int state)
{
	if (!(state & (DUSK_TASK_INTERRUPTIBLE | DUSK_TASK_WAKEKILL)))
		return 0;
	return dusk_klib_host.signal_pending &&
	       dusk_klib_host.signal_pending(!(state & DUSK_TASK_INTERRUPTIBLE));
}

/*
 * Under dusk_wait_mu: wake key's sleepers that mode wakes, every
 * non-exclusive one and nr exclusive ones (nr 0: all). Returns how many.
 */
static unsigned int dusk_wake_key(uintptr_t key, unsigned int mode, int nr)
{
	struct dusk_sleeper *sl;
	unsigned int woke = 0;

	for (sl = dusk_sleepers; sl; sl = sl->next) {
		if (sl->key != key || sl->woken || !(sl->state & mode))
			continue;
		sl->woken = 1;
		pthread_cond_signal(&sl->cv);
		woke++;
		if (sl->exclusive && nr > 0 && --nr == 0)
			break;
	}
	return woke;
}

void dusk_klib_wait_interrupt(void)
{
	struct dusk_sleeper *sl;

	pthread_mutex_lock(&dusk_wait_mu);
	for (sl = dusk_sleepers; sl; sl = sl->next)
		pthread_cond_signal(&sl->cv);	/* each checks its own */
	pthread_mutex_unlock(&dusk_wait_mu);
}

unsigned int dusk_klib_wake_task(uint64_t task, unsigned int mode)
{
	struct dusk_sleeper *sl;
	unsigned int woke = 0;

	if (!task)
		return 0;
	pthread_mutex_lock(&dusk_wait_mu);
	for (sl = dusk_sleepers; sl; sl = sl->next) {
		if (sl->task != task || sl->woken || !(sl->state & mode))
			continue;
		sl->woken = 1;
		pthread_cond_signal(&sl->cv);
		woke++;
	}
	pthread_mutex_unlock(&dusk_wait_mu);
	return woke;
}

unsigned int dusk_klib_sleepers(void)
{
	unsigned int n;

	pthread_mutex_lock(&dusk_wait_mu);
	n = dusk_nr_sleepers;
	pthread_mutex_unlock(&dusk_wait_mu);
	return n;
}

/*
 * Sleep (under dusk_wait_mu, which is dropped meanwhile) until woken, a
 * signal that the state lets in, or timeout_ns passes (0: no timeout).
 * Returns 0 when woken, -ETIME on the timeout, -ERESTARTSYS on a signal.
 */
static int dusk_sleep(struct dusk_sleeper *sl, uint64_t timeout_ns)
{
	struct timespec until;
	int err = 0;

	if (timeout_ns) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(timeout_ns / 1000000000);
		until.tv_nsec += (long)(timeout_ns % 1000000000);
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
	}
	dusk_ctx_sleep_begin_mu(&dusk_wait_mu);
	while (!sl->woken) {
		if (dusk_wait_signal_pending(sl->state)) {
			err = -DUSK_ERESTARTSYS;
			break;
		}
		if (!timeout_ns) {
			pthread_cond_wait(&sl->cv, &dusk_wait_mu);
		} else if (pthread_cond_timedwait(&sl->cv, &dusk_wait_mu,
						  &until) == ETIMEDOUT) {
			err = sl->woken ? 0 : -ETIME;
			break;
		}
	}
	/* A waker sets the state back to running, as try_to_wake_up(). */
	if (sl->woken)
		sl->state = DUSK_TASK_RUNNING;
	dusk_ctx_sleep_end_mu(&dusk_wait_mu);
	return err;
}

static uint64_t dusk_jiffies_ns(long jiffies)
{
	return (uint64_t)jiffies * 1000000000ULL / dusk_klib_hz();
}

static long dusk_ns_jiffies(uint64_t ns)
{
	return (long)((ns * dusk_klib_hz() + 999999999ULL) / 1000000000ULL);
}

static uint64_t dusk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- wait queue heads --------------------------------------------------- */

/* The head's list and lock are the kernel's business (poll_wait() puts
 * the kernel's waiters there): initialise them as the kernel does. */
DUSK_EXPORT void __dusk_impl___init_waitqueue_head(void *wq_head,
						   const char *name,
						   void *key)
{
	char *h = WR(wq_head, DUSK_WQ_HEAD_LIST + 16);
	uintptr_t list = (uintptr_t)wq_head + DUSK_WQ_HEAD_LIST;

	memset(h, 0, DUSK_WQ_HEAD_LIST);
	memcpy(h + DUSK_WQ_HEAD_LIST, &list, sizeof(list));
	memcpy(h + DUSK_WQ_HEAD_LIST + 8, &list, sizeof(list));
}

/* The entry lives on the module's stack and never joins a list here. */
DUSK_EXPORT void __dusk_impl_init_wait_entry(void *wq_entry, int flags)
{
	unsigned int *f = WR(wq_entry, sizeof(unsigned int));

	*f = (unsigned int)flags;
}

/* The kernel's prepare_to_wait*() set the task's state: each one arms
 * the sleep again, even on the head it is on already (___wait_event()'s
 * next round after a wake-up whose condition did not hold). */
static void dusk_prepare(void *wq_head, void *wq_entry, int state,
			 int exclusive)
{
	uintptr_t key = dusk_klib_obj_key(wq_head);

	pthread_mutex_lock(&dusk_wait_mu);
	dusk_sleeper_enlist(key, (unsigned int)state, exclusive)->woken = 0;
	pthread_mutex_unlock(&dusk_wait_mu);
}

DUSK_EXPORT long __dusk_impl_prepare_to_wait_event(void *wq_head,
						   void *wq_entry, int state)
{
	const unsigned int *flags = RD(wq_entry, sizeof(unsigned int));
	int exclusive = !!(*flags & DUSK_WQ_FLAG_EXCLUSIVE);

	/* A signal pending: the kernel leaves the entry off the list and
	 * ___wait_event() returns -ERESTARTSYS. */
	if (dusk_wait_signal_pending((unsigned int)state)) {
		pthread_mutex_lock(&dusk_wait_mu);
		dusk_sleeper_delist();
		pthread_mutex_unlock(&dusk_wait_mu);
		return -DUSK_ERESTARTSYS;
	}
	dusk_prepare(wq_head, wq_entry, state, exclusive);
	return 0;
}

DUSK_EXPORT void __dusk_impl_prepare_to_wait(void *wq_head, void *wq_entry,
					     int state)
{
	dusk_prepare(wq_head, wq_entry, state, 0);
}

DUSK_EXPORT int __dusk_impl_prepare_to_wait_exclusive(void *wq_head,
						      void *wq_entry,
						      int state)
{
	dusk_prepare(wq_head, wq_entry, state, 1);
	return 1;	/* "was empty": only for the kernel's own fast paths */
}

DUSK_EXPORT void __dusk_impl_finish_wait(void *wq_head, void *wq_entry)
{
	pthread_mutex_lock(&dusk_wait_mu);
	dusk_sleeper_delist();
	pthread_mutex_unlock(&dusk_wait_mu);
}

/* LDD3's manual sleep: add_wait_queue(), set_current_state(), schedule().
 * The state set_current_state() wrote is the caller's task's; the thread
 * sleeps interruptibly (what those loops ask for, then check signals). */
DUSK_EXPORT void __dusk_impl_add_wait_queue(void *wq_head, void *wq_entry)
{
	dusk_prepare(wq_head, wq_entry, DUSK_TASK_INTERRUPTIBLE, 0);
}

DUSK_EXPORT void __dusk_impl_add_wait_queue_exclusive(void *wq_head,
						      void *wq_entry)
{
	dusk_prepare(wq_head, wq_entry, DUSK_TASK_INTERRUPTIBLE, 1);
}

DUSK_EXPORT void __dusk_impl_remove_wait_queue(void *wq_head, void *wq_entry)
{
	__dusk_impl_finish_wait(wq_head, wq_entry);
}

/*
 * The kernel's waiters of the head: poll_wait() in a poll callback added
 * the polling task to the head's list in kernel memory. Wake them with
 * the kernel's own __wake_up() when that list is not empty.
 */
static void dusk_wake_kernel(void *wq_head, unsigned int mode, int nr,
			     void *key)
{
	uintptr_t ident = dusk_klib_ident(wq_head);
	uint64_t kaddr = dusk_klib_host.kaddr_of ?
			 dusk_klib_host.kaddr_of(wq_head) :
			 ident >= DUSK_KERNEL_MIN ? ident : 0;
	const uint64_t *list;
	uint64_t args[4], ret;

	if (!kaddr)
		return;
	list = RD((const void *)(uintptr_t)(kaddr + DUSK_WQ_HEAD_LIST), 8);
	if (*list == kaddr + DUSK_WQ_HEAD_LIST)
		return;		/* empty */
	args[0] = kaddr;
	args[1] = mode;
	args[2] = (uint64_t)(int64_t)nr;
	args[3] = (uint64_t)(uintptr_t)key;
	if (dusk_klib_kcall("__wake_up", args, 4, &ret))
		dusk_klib_warn_once("wake_up(%p): the kernel's waiters could not be woken",
				    wq_head);
}

DUSK_EXPORT void __dusk_impl___wake_up(void *wq_head, unsigned int mode,
				       int nr, void *key)
{
	uintptr_t k = dusk_klib_obj_key(wq_head);

	pthread_mutex_lock(&dusk_wait_mu);
	dusk_wake_key(k, mode, nr);
	pthread_mutex_unlock(&dusk_wait_mu);
	dusk_wake_kernel(wq_head, mode, nr, key);
}

DUSK_EXPORT void __dusk_impl___wake_up_sync(void *wq_head, unsigned int mode)
{
	__dusk_impl___wake_up(wq_head, mode, 1, NULL);
}

DUSK_EXPORT void __dusk_impl___wake_up_sync_key(void *wq_head,
						unsigned int mode, void *key)
{
	__dusk_impl___wake_up(wq_head, mode, 1, key);
}

DUSK_EXPORT void __dusk_impl___wake_up_locked(void *wq_head,
					      unsigned int mode, int nr)
{
	__dusk_impl___wake_up(wq_head, mode, nr, NULL);
}

DUSK_EXPORT void __dusk_impl___wake_up_locked_key(void *wq_head,
						  unsigned int mode,
						  void *key)
{
	__dusk_impl___wake_up(wq_head, mode, 1, key);
}

/* ---- schedule ------------------------------------------------------------ */

/*
 * The state set_current_state() left in the task of the invocation this
 * thread serves (read through the cache: the module's own store, or what
 * the running task has), TASK_RUNNING when it serves none.
 */
static unsigned int dusk_task_state(void)
{
	uint64_t task = dusk_invocation_task();
	const unsigned int *st;

	if (!task)
		return DUSK_TASK_RUNNING;
	st = RD((const void *)(uintptr_t)(task + DUSK_K_TASK__STATE),
		sizeof(*st));
	return *st;
}

/*
 * timeout_ns 0: none. Returns dusk_sleep()'s. A thread on no head sleeps
 * in its task's state (set_current_state() before schedule()), so that a
 * wake-up of the task ends it; in TASK_RUNNING it naps the timeout
 * (kernel code that forgot set_current_state() would spin) or returns 0
 * at once (a running task's schedule() just yields). One woken on a head
 * whose task's state was set again sleeps again (LDD3's manual sleep).
 */
static int dusk_schedule_ns(uint64_t timeout_ns, const char *what,
			    const void *site)
{
	_Static_assert(DUSK_K_SIZEOF_TASK__STATE == sizeof(unsigned int),
		       "task_struct.__state");
	struct dusk_sleeper *sl = &dusk_self;
	unsigned int state = DUSK_TASK_RUNNING;
	int listed, err;

	dusk_ctx_might_sleep_at(what, site);
	pthread_mutex_lock(&dusk_wait_mu);
	listed = dusk_self_listed && sl->state != DUSK_TASK_RUNNING;
	pthread_mutex_unlock(&dusk_wait_mu);
	if (!listed)
		state = dusk_task_state() & (DUSK_TASK_NORMAL |
					     DUSK_TASK_WAKEKILL);
	pthread_mutex_lock(&dusk_wait_mu);
	if (!listed && state & DUSK_TASK_NORMAL) {
		/* On its head still (woken there), or on none. */
		dusk_sleeper_enlist(dusk_self_listed ? sl->key : 0, state,
				    dusk_self_listed && sl->exclusive)->woken = 0;
		listed = 1;
	}
	if (!listed) {
		pthread_mutex_unlock(&dusk_wait_mu);
		if (timeout_ns)
			dusk_ctx_nap_ns(timeout_ns);
		return timeout_ns ? -ETIME : 0;
	}
	err = dusk_sleep(sl, timeout_ns);
	pthread_mutex_unlock(&dusk_wait_mu);
	return err;
}

DUSK_EXPORT void __dusk_impl_schedule(void)
{
	dusk_schedule_ns(0, "schedule", __builtin_return_address(0));
}

/* Returns the jiffies left (0 when it expired), as the kernel does. A
 * signal ends an interruptible sleep early with time left. */
static long dusk_schedule_timeout(long timeout, const void *site)
{
	uint64_t start = dusk_now_ns(), ns;
	long left;
	int err;

	if (timeout == DUSK_MAX_SCHEDULE_TIMEOUT) {
		dusk_schedule_ns(0, "schedule_timeout", site);
		return timeout;
	}
	if (timeout < 0)
		timeout = 0;
	ns = dusk_jiffies_ns(timeout);
	err = dusk_schedule_ns(ns ? ns : 1, "schedule_timeout", site);
	if (err == -ETIME)
		return 0;
	left = timeout - dusk_ns_jiffies(dusk_now_ns() - start);
	return left > 0 ? left : 1;
}

DUSK_EXPORT long __dusk_impl_schedule_timeout(long timeout)
{
	return dusk_schedule_timeout(timeout, __builtin_return_address(0));
}

/* These set the state themselves (the kernel's set_current_state()). */
static long dusk_schedule_timeout_state(long timeout, unsigned int state,
					const void *site)
{
	pthread_mutex_lock(&dusk_wait_mu);
	/* No head: time, a signal or a wake-up of its task. */
	dusk_sleeper_enlist(0, state, 0)->woken = 0;
	pthread_mutex_unlock(&dusk_wait_mu);
	timeout = dusk_schedule_timeout(timeout, site);
	pthread_mutex_lock(&dusk_wait_mu);
	dusk_sleeper_delist();
	pthread_mutex_unlock(&dusk_wait_mu);
	return timeout;
}

DUSK_EXPORT long __dusk_impl_schedule_timeout_interruptible(long timeout)
{
	return dusk_schedule_timeout_state(timeout, DUSK_TASK_INTERRUPTIBLE,
					   __builtin_return_address(0));
}

DUSK_EXPORT long __dusk_impl_schedule_timeout_killable(long timeout)
{
	return dusk_schedule_timeout_state(timeout, DUSK_TASK_WAKEKILL |
					   DUSK_TASK_UNINTERRUPTIBLE,
					   __builtin_return_address(0));
}

DUSK_EXPORT long __dusk_impl_schedule_timeout_uninterruptible(long timeout)
{
	return dusk_schedule_timeout_state(timeout, DUSK_TASK_UNINTERRUPTIBLE,
					   __builtin_return_address(0));
}

DUSK_EXPORT long __dusk_impl_schedule_timeout_idle(long timeout)
{
	return dusk_schedule_timeout_state(timeout, DUSK_TASK_UNINTERRUPTIBLE,
					   __builtin_return_address(0));
}

/* As lib's msleep_interruptible(): schedule_timeout_interruptible() until
 * the time has passed or a signal is pending; the milliseconds left. */
DUSK_EXPORT unsigned long __dusk_impl_msleep_interruptible(unsigned int msecs)
{
	unsigned int hz = dusk_klib_hz();
	long timeout = (long)(((uint64_t)msecs * hz + 999) / 1000) + 1;

	while (timeout && !dusk_wait_signal_pending(DUSK_TASK_INTERRUPTIBLE))
		timeout = dusk_schedule_timeout_state(timeout,
						      DUSK_TASK_INTERRUPTIBLE,
						      __builtin_return_address(0));
	return (unsigned long)((uint64_t)timeout * 1000 / hz);
}

/* ---- completions --------------------------------------------------------- */

DUSK_EXPORT void __dusk_impl___init_swait_queue_head(void *q, const char *name,
						     void *key)
{
	__dusk_impl___init_waitqueue_head(q, name, key);
}

static unsigned int *dusk_done(void *x)
{
	return WR(x, sizeof(unsigned int));
}

DUSK_EXPORT void __dusk_impl_complete(void *x)
{
	unsigned int *done;

	pthread_mutex_lock(&dusk_wait_mu);
	done = dusk_done(x);
	if (*done != DUSK_UINT_MAX)
		(*done)++;
	dusk_wake_key(dusk_klib_obj_key(x), DUSK_TASK_NORMAL, 1);
	pthread_mutex_unlock(&dusk_wait_mu);
}

DUSK_EXPORT void __dusk_impl_complete_all(void *x)
{
	pthread_mutex_lock(&dusk_wait_mu);
	*dusk_done(x) = DUSK_UINT_MAX;
	dusk_wake_key(dusk_klib_obj_key(x), DUSK_TASK_NORMAL, 0);
	pthread_mutex_unlock(&dusk_wait_mu);
}

/*
 * Wait for x->done, then take one (complete_all()'s UINT_MAX stays).
 * timeout in jiffies, DUSK_MAX_SCHEDULE_TIMEOUT: none. Returns the
 * jiffies left (at least 1), 0 on the timeout, -ERESTARTSYS on a signal.
 */
static long dusk_wait_completion(void *x, long timeout, unsigned int state,
				 const char *what, const void *site)
{
	uintptr_t key = dusk_klib_obj_key(x);
	uint64_t start = dusk_now_ns(), limit = 0, now;
	struct dusk_sleeper *sl;
	unsigned int *done;
	long left = timeout;
	int err = 0;

	dusk_ctx_might_sleep_at(what, site);
	if (timeout != DUSK_MAX_SCHEDULE_TIMEOUT)
		limit = dusk_jiffies_ns(timeout > 0 ? timeout : 0);
	pthread_mutex_lock(&dusk_wait_mu);
	for (;;) {
		done = dusk_done(x);
		if (*done) {
			if (*done != DUSK_UINT_MAX)
				(*done)--;
			break;
		}
		now = dusk_now_ns() - start;
		if (timeout != DUSK_MAX_SCHEDULE_TIMEOUT && now >= limit) {
			left = 0;
			break;
		}
		sl = dusk_sleeper_enlist(key, state, 1);
		err = dusk_sleep(sl, timeout == DUSK_MAX_SCHEDULE_TIMEOUT ?
				     0 : limit - now);
		dusk_sleeper_delist();
		if (err == -DUSK_ERESTARTSYS) {
			left = err;
			break;
		}
	}
	dusk_sleeper_delist();
	pthread_mutex_unlock(&dusk_wait_mu);
	if (left > 0 && timeout != DUSK_MAX_SCHEDULE_TIMEOUT) {
		left = timeout - dusk_ns_jiffies(dusk_now_ns() - start);
		if (left < 1)
			left = 1;
	}
	return left;
}

#define DUSK_KILLABLE	(DUSK_TASK_WAKEKILL | DUSK_TASK_UNINTERRUPTIBLE)

DUSK_EXPORT void __dusk_impl_wait_for_completion(void *x)
{
	dusk_wait_completion(x, DUSK_MAX_SCHEDULE_TIMEOUT,
			     DUSK_TASK_UNINTERRUPTIBLE, "wait_for_completion",
			     __builtin_return_address(0));
}

DUSK_EXPORT void __dusk_impl_wait_for_completion_io(void *x)
{
	dusk_wait_completion(x, DUSK_MAX_SCHEDULE_TIMEOUT,
			     DUSK_TASK_UNINTERRUPTIBLE, "wait_for_completion_io",
			     __builtin_return_address(0));
}

DUSK_EXPORT int __dusk_impl_wait_for_completion_interruptible(void *x)
{
	long r = dusk_wait_completion(x, DUSK_MAX_SCHEDULE_TIMEOUT,
				      DUSK_TASK_INTERRUPTIBLE,
				      "wait_for_completion_interruptible",
				      __builtin_return_address(0));

	return r < 0 ? (int)r : 0;
}

DUSK_EXPORT int __dusk_impl_wait_for_completion_killable(void *x)
{
	long r = dusk_wait_completion(x, DUSK_MAX_SCHEDULE_TIMEOUT,
				      DUSK_KILLABLE,
				      "wait_for_completion_killable",
				      __builtin_return_address(0));

	return r < 0 ? (int)r : 0;
}

DUSK_EXPORT unsigned long __dusk_impl_wait_for_completion_timeout(void *x,
								  unsigned long timeout)
{
	return (unsigned long)dusk_wait_completion(x, (long)timeout,
						   DUSK_TASK_UNINTERRUPTIBLE,
						   "wait_for_completion_timeout",
						   __builtin_return_address(0));
}

DUSK_EXPORT unsigned long __dusk_impl_wait_for_completion_io_timeout(void *x,
								     unsigned long timeout)
{
	return (unsigned long)dusk_wait_completion(x, (long)timeout,
						   DUSK_TASK_UNINTERRUPTIBLE,
						   "wait_for_completion_io_timeout",
						   __builtin_return_address(0));
}

DUSK_EXPORT long __dusk_impl_wait_for_completion_interruptible_timeout(void *x,
								       unsigned long timeout)
{
	return dusk_wait_completion(x, (long)timeout, DUSK_TASK_INTERRUPTIBLE,
				    "wait_for_completion_interruptible_timeout",
				    __builtin_return_address(0));
}

DUSK_EXPORT long __dusk_impl_wait_for_completion_killable_timeout(void *x,
								  unsigned long timeout)
{
	return dusk_wait_completion(x, (long)timeout, DUSK_KILLABLE,
				    "wait_for_completion_killable_timeout",
				    __builtin_return_address(0));
}

DUSK_EXPORT bool __dusk_impl_try_wait_for_completion(void *x)
{
	unsigned int *done;
	bool ok = false;

	pthread_mutex_lock(&dusk_wait_mu);
	done = dusk_done(x);
	if (*done) {
		if (*done != DUSK_UINT_MAX)
			(*done)--;
		ok = true;
	}
	pthread_mutex_unlock(&dusk_wait_mu);
	return ok;
}

DUSK_EXPORT bool __dusk_impl_completion_done(void *x)
{
	const unsigned int *done;
	bool ok;

	pthread_mutex_lock(&dusk_wait_mu);
	done = RD(x, sizeof(unsigned int));
	ok = *done != 0;
	pthread_mutex_unlock(&dusk_wait_mu);
	return ok;
}
