/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * plock.h - the big program lock (plock.c).
 *
 * Every thread of the program holds it while it runs module or runtime
 * code, and lets it go only while it waits: the event loop for a
 * datagram (the transport's poll in dusk_run()), a callback in klib's
 * sleeps (wait queues, emulated locks, msleep), which commit the cache
 * first. Threads therefore interleave only at their waits, where the
 * runtime's shared state (the session, the shadow cache, the kernel
 * copies) is consistent. It is re-entrant for its owner: gdb's inferior
 * calls run runtime functions on a stopped thread that may hold it.
 *
 * A thread that never takes it (unit tests, a program without threads)
 * works as before: letting go of a lock not held does nothing.
 *
 * Each thread has a wake descriptor (an eventfd) that its waits poll
 * besides the socket: whoever receives the reply a thread waits for
 * wakes it with dusk_plock_wake(), so no thread is the only receiver.
 */
#ifndef DUSK_PLOCK_H
#define DUSK_PLOCK_H

#include <pthread.h>
#include <stdint.h>

void dusk_plock_take(void);
void dusk_plock_put(void);
/* Is it this thread's? */
int dusk_plock_held(void);
/* Let go of it entirely for a wait: the depth to give back to
 * dusk_plock_retake() (0: it was not held, nothing to retake). */
unsigned int dusk_plock_release(void);
void dusk_plock_retake(unsigned int depth);
/* The event loop's idle wait (dusk_run()) lets the lock go; a request's
 * wait keeps it: the shadow cache and the kernel copies are shared, and
 * an invocation that waits for a reply is in the middle of using them.
 * dusk_plock_release_idle(): dusk_plock_release() in the idle wait, else
 * 0 (nothing let go). */
void dusk_plock_set_idle(int idle);
unsigned int dusk_plock_release_idle(void);
/* Bumped whenever the lock passes to another thread: a thread that
 * waited compares it to know whether anyone else ran meanwhile. */
uint64_t dusk_plock_handoffs(void);

/* This thread's wake descriptor (created on first use; -1 if none can
 * be), and a wake-up of the thread that owns fd (-1: nothing). */
int dusk_plock_wake_fd(void);
void dusk_plock_wake(int fd);
/* Consume the wake-ups pending on this thread's descriptor. */
void dusk_plock_wake_drain(void);
/* Lock mu, a mutex of the runtime that its holder may keep across a
 * wait (a request): wait for it without the program lock, whose holder
 * would otherwise wait for mu's holder, which waits for the program
 * lock. */
void dusk_plock_mutex_lock(pthread_mutex_t *mu);
/* An idle thread of the runtime (a worker, the softirq thread) waits on
 * cv under mu, which it holds, until signalled or until (CLOCK of cv;
 * NULL: no limit), with the program lock let go meanwhile: mu goes first,
 * since the lock's holder may want it. done(arg), asked once mu is
 * taken again, skips the wait: what it waits for came meanwhile. */
void dusk_plock_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu,
			  const struct timespec *until,
			  int (*done)(void *arg), void *arg);
/* A thread that ends closes its descriptor. */
void dusk_plock_wake_close(void);

#endif /* DUSK_PLOCK_H */
