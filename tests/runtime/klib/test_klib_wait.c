// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Sleeping and waking (klib_wait.c) among the program's threads: the
 * ___wait_event() loop as wait_event*() expands it in a module, a wake-up
 * between the condition and schedule() not lost, exclusive and
 * interruptible sleepers, signals, schedule_timeout(), completions, and
 * the host's sleep_begin/end around every sleep.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "klib.h"
#include "klib_ctx.h"
#include "klib_wait.h"

/* 6.1's structures, as a module lays them out. */
struct list_head { struct list_head *next, *prev; };
struct wait_queue_head { unsigned int lock; struct list_head head; };
struct wait_queue_entry {
	unsigned int flags;
	void *private;
	void *func;
	struct list_head entry;
};
struct completion { unsigned int done; struct wait_queue_head wait; };

/* include/linux/wait.h's ___wait_event(), as the module compiles it. */
#define wait_event_state(wq, cond, state, excl) ({			\
	struct wait_queue_entry __e;					\
	long __ret = 0;							\
	__dusk_impl_init_wait_entry(&__e, (excl) ? 1 : 0);		\
	for (;;) {							\
		long __int = __dusk_impl_prepare_to_wait_event(&(wq), &__e, \
							       (state)); \
		if (cond)						\
			break;						\
		if (((state) & (DUSK_TASK_INTERRUPTIBLE | DUSK_TASK_WAKEKILL)) && \
		    __int) {						\
			__ret = __int;					\
			goto __out;					\
		}							\
		__dusk_impl_schedule();					\
	}								\
	__dusk_impl_finish_wait(&(wq), &__e);				\
__out:	__ret;								\
})

static struct wait_queue_head wq;
static atomic_int flag, woken_count, sleeps_begun, sleeps_ended;
static atomic_int signal_now;

static int host_signal_pending(int fatal_only)
{
	return atomic_load(&signal_now) && !fatal_only;
}

static void host_sleep_begin(void)
{
	atomic_fetch_add(&sleeps_begun, 1);
}

static void host_sleep_end(void)
{
	atomic_fetch_add(&sleeps_ended, 1);
}

static void wait_for_sleepers(unsigned int n)
{
	int i;

	for (i = 0; i < 2000 && dusk_klib_sleepers() < n; i++)
		usleep(1000);
}

static void *reader(void *arg)
{
	long r = wait_event_state(wq, atomic_load(&flag) != 0,
				  DUSK_TASK_INTERRUPTIBLE, (intptr_t)arg);

	if (r == 0)
		atomic_fetch_add(&woken_count, 1);
	return (void *)(intptr_t)r;
}

static void test_wake(void)
{
	pthread_t t;
	void *r;

	__dusk_impl___init_waitqueue_head(&wq, "wq", NULL);
	/* The head's list is initialised as the kernel does (empty). */
	CHECK(wq.head.next == &wq.head && wq.head.prev == &wq.head);

	atomic_store(&flag, 0);
	pthread_create(&t, NULL, reader, (void *)0);
	wait_for_sleepers(1);
	CHECK_EQ(dusk_klib_sleepers(), 1);
	/* A wake-up without the condition: it sleeps again. */
	__dusk_impl___wake_up(&wq, DUSK_TASK_INTERRUPTIBLE, 1, NULL);
	usleep(20000);
	CHECK_EQ(atomic_load(&woken_count), 0);
	atomic_store(&flag, 1);
	__dusk_impl___wake_up(&wq, DUSK_TASK_INTERRUPTIBLE, 1, NULL);
	pthread_join(t, &r);
	CHECK_EQ((long)(intptr_t)r, 0);
	CHECK_EQ(atomic_load(&woken_count), 1);
	CHECK_EQ(dusk_klib_sleepers(), 0);
	/* Every sleep let go of what the thread holds, and took it back. */
	CHECK(atomic_load(&sleeps_begun) >= 1);
	CHECK_EQ(atomic_load(&sleeps_begun), atomic_load(&sleeps_ended));
}

/* A wake-up between prepare_to_wait_event() and schedule() is kept. */
static void test_no_lost_wakeup(void)
{
	struct wait_queue_entry e;

	__dusk_impl_init_wait_entry(&e, 0);
	CHECK_EQ(__dusk_impl_prepare_to_wait_event(&wq, &e,
						   DUSK_TASK_INTERRUPTIBLE), 0);
	__dusk_impl___wake_up(&wq, DUSK_TASK_NORMAL, 1, NULL);
	__dusk_impl_schedule();		/* returns at once */
	__dusk_impl_finish_wait(&wq, &e);
	/* Not on a head: schedule() just returns. */
	__dusk_impl_schedule();
	CHECK_EQ(dusk_klib_sleepers(), 0);
}

/* wake_up() wakes one exclusive sleeper, wake_up_all() all of them;
 * wake_up_interruptible() leaves uninterruptible sleepers asleep. */
static void test_exclusive(void)
{
	pthread_t t[3];
	int i;

	atomic_store(&flag, 0);
	atomic_store(&woken_count, 0);
	for (i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, reader, (void *)1);
	wait_for_sleepers(3);
	atomic_store(&flag, 1);
	__dusk_impl___wake_up(&wq, DUSK_TASK_INTERRUPTIBLE, 1, NULL);
	for (i = 0; i < 200 && atomic_load(&woken_count) < 1; i++)
		usleep(1000);
	usleep(20000);
	CHECK_EQ(atomic_load(&woken_count), 1);
	CHECK_EQ(dusk_klib_sleepers(), 2);
	__dusk_impl___wake_up(&wq, DUSK_TASK_INTERRUPTIBLE, 0, NULL);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(atomic_load(&woken_count), 3);
}

static void *sleeper_uninterruptible(void *arg)
{
	long r = wait_event_state(wq, atomic_load(&flag) != 0,
				  DUSK_TASK_UNINTERRUPTIBLE, 0);

	atomic_fetch_add(&woken_count, 1);
	return (void *)(intptr_t)r;
}

static void test_modes_and_signals(void)
{
	pthread_t t, u;
	void *r;

	atomic_store(&flag, 0);
	atomic_store(&woken_count, 0);
	pthread_create(&u, NULL, sleeper_uninterruptible, NULL);
	pthread_create(&t, NULL, reader, (void *)0);
	wait_for_sleepers(2);
	/* A signal interrupts the interruptible sleeper only. */
	atomic_store(&signal_now, 1);
	dusk_klib_wait_interrupt();
	pthread_join(t, &r);
	CHECK_EQ((long)(intptr_t)r, -DUSK_ERESTARTSYS);
	usleep(20000);
	CHECK_EQ(atomic_load(&woken_count), 0);
	CHECK_EQ(dusk_klib_sleepers(), 1);
	/* wake_up_interruptible() does not wake TASK_UNINTERRUPTIBLE. */
	atomic_store(&flag, 1);
	__dusk_impl___wake_up(&wq, DUSK_TASK_INTERRUPTIBLE, 0, NULL);
	usleep(20000);
	CHECK_EQ(atomic_load(&woken_count), 0);
	__dusk_impl___wake_up(&wq, DUSK_TASK_NORMAL, 0, NULL);
	pthread_join(u, &r);
	CHECK_EQ((long)(intptr_t)r, 0);
	/* With the signal still pending, an interruptible wait fails at
	 * once, as in the kernel. */
	atomic_store(&flag, 0);
	CHECK_EQ(wait_event_state(wq, 0, DUSK_TASK_INTERRUPTIBLE, 0),
		 -DUSK_ERESTARTSYS);
	atomic_store(&signal_now, 0);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_timeouts(void)
{
	unsigned int hz = dusk_klib_hz();
	uint64_t t0 = now_ms();
	long left;

	left = __dusk_impl_schedule_timeout_interruptible((long)hz / 10);
	CHECK_EQ(left, 0);
	CHECK(now_ms() - t0 >= 95);
	/* A signal ends it early, with time left. */
	atomic_store(&signal_now, 1);
	t0 = now_ms();
	left = __dusk_impl_schedule_timeout_interruptible((long)hz);
	CHECK(left > 0);
	CHECK(now_ms() - t0 < 500);
	/* ...but not an uninterruptible one. */
	t0 = now_ms();
	CHECK_EQ(__dusk_impl_schedule_timeout_uninterruptible((long)hz / 20), 0);
	CHECK(now_ms() - t0 >= 45);
	atomic_store(&signal_now, 0);
}

static struct completion done;

static void *completer(void *arg)
{
	usleep(30000);
	__dusk_impl_complete(&done);
	return NULL;
}

static void test_completions(void)
{
	pthread_t t;
	unsigned int hz = dusk_klib_hz();

	done.done = 0;
	__dusk_impl___init_swait_queue_head(&done.wait, "done", NULL);
	CHECK(!__dusk_impl_completion_done(&done));
	CHECK(!__dusk_impl_try_wait_for_completion(&done));
	CHECK_EQ(__dusk_impl_wait_for_completion_timeout(&done, hz / 20), 0);

	pthread_create(&t, NULL, completer, NULL);
	__dusk_impl_wait_for_completion(&done);
	pthread_join(t, NULL);
	CHECK_EQ(done.done, 0);

	/* complete() before the wait: taken at once. */
	__dusk_impl_complete(&done);
	CHECK(__dusk_impl_completion_done(&done));
	CHECK(__dusk_impl_wait_for_completion_timeout(&done, hz) > 0);

	/* complete_all(): every waiter, now and later. */
	__dusk_impl_complete_all(&done);
	__dusk_impl_wait_for_completion(&done);
	CHECK_EQ(__dusk_impl_wait_for_completion_interruptible(&done), 0);
	CHECK_EQ(done.done, 0xffffffffU);

	/* An interruptible wait ends on a signal. */
	done.done = 0;
	atomic_store(&signal_now, 1);
	CHECK_EQ(__dusk_impl_wait_for_completion_interruptible(&done),
		 -DUSK_ERESTARTSYS);
	atomic_store(&signal_now, 0);
}

int main(void)
{
	static const struct dusk_klib_host host = {
		.signal_pending = host_signal_pending,
		.sleep_begin = host_sleep_begin,
		.sleep_end = host_sleep_end,
	};

	dusk_klib_host_set(&host);
	test_wake();
	test_no_lost_wakeup();
	test_exclusive();
	test_modes_and_signals();
	test_timeouts();
	test_completions();
	return check_done("test_klib_wait");
}
