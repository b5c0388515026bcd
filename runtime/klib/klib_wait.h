/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * klib_wait.h - sleeping and waking: wait queues, completions,
 * schedule() and schedule_timeout() (klib_wait.c).
 *
 * A thread of the program that waits sleeps on a condition variable,
 * found by the wait queue's (or completion's) identity, as the lock table
 * finds a lock: a mirror address counts as its kernel address, the kernel
 * copy of one of the program's objects as the object. The wait queue
 * head's own list is the kernel's: it holds only the kernel's waiters
 * (poll_wait() from a poll callback adds the polling task there), so a
 * wake-up wakes the program's sleepers and then, when the kernel's list
 * of that head is not empty, calls the kernel's __wake_up() on it.
 *
 * Signals: an interruptible or killable sleep ends with -ERESTARTSYS
 * when the host says the thread's caller has a signal pending
 * (dusk_klib_host.signal_pending); dusk_klib_wait_interrupt() wakes such
 * a sleeper when one arrives.
 */
#ifndef DUSK_KLIB_WAIT_H
#define DUSK_KLIB_WAIT_H

#include <stdbool.h>
#include <stdint.h>

/* include/linux/sched.h, errno.h (klib_wait.c checks them against the
 * target's, kconst.h) */
#define DUSK_TASK_RUNNING		0x0000
#define DUSK_TASK_INTERRUPTIBLE		0x0001
#define DUSK_TASK_UNINTERRUPTIBLE	0x0002
#define DUSK_TASK_WAKEKILL		0x0100
#define DUSK_TASK_NORMAL		(DUSK_TASK_INTERRUPTIBLE | \
					 DUSK_TASK_UNINTERRUPTIBLE)
#define DUSK_MAX_SCHEDULE_TIMEOUT	((long)(~0UL >> 1))
#define DUSK_ERESTARTSYS		512

/* Wake every sleeper of the program whose caller has a signal now. */
void dusk_klib_wait_interrupt(void);
/* wake_up_process()'s part at user level: wake the sleepers serving task
 * (a kernel task_struct address) whose state mode lets in
 * (DUSK_TASK_NORMAL: try_to_wake_up()'s). How many it woke. */
unsigned int dusk_klib_wake_task(uint64_t task, unsigned int mode);
/* Sleepers now (tests, dusk status). */
unsigned int dusk_klib_sleepers(void);

/* ---- the kernel's functions (Linux 6.1 prototypes) ----------------------- */

struct dusk_wait_queue_head;
struct dusk_wait_queue_entry;
struct dusk_completion;

void __dusk_impl___init_waitqueue_head(void *wq_head, const char *name,
				       void *key);
void __dusk_impl_init_wait_entry(void *wq_entry, int flags);
long __dusk_impl_prepare_to_wait_event(void *wq_head, void *wq_entry,
				       int state);
void __dusk_impl_prepare_to_wait(void *wq_head, void *wq_entry, int state);
int __dusk_impl_prepare_to_wait_exclusive(void *wq_head, void *wq_entry,
					  int state);
void __dusk_impl_finish_wait(void *wq_head, void *wq_entry);
void __dusk_impl_add_wait_queue(void *wq_head, void *wq_entry);
void __dusk_impl_add_wait_queue_exclusive(void *wq_head, void *wq_entry);
void __dusk_impl_remove_wait_queue(void *wq_head, void *wq_entry);
void __dusk_impl___wake_up(void *wq_head, unsigned int mode, int nr,
			   void *key);
void __dusk_impl___wake_up_sync(void *wq_head, unsigned int mode);
void __dusk_impl___wake_up_sync_key(void *wq_head, unsigned int mode,
				    void *key);
void __dusk_impl___wake_up_locked(void *wq_head, unsigned int mode, int nr);
void __dusk_impl___wake_up_locked_key(void *wq_head, unsigned int mode,
				      void *key);
void __dusk_impl_schedule(void);
long __dusk_impl_schedule_timeout(long timeout);
long __dusk_impl_schedule_timeout_interruptible(long timeout);
long __dusk_impl_schedule_timeout_killable(long timeout);
long __dusk_impl_schedule_timeout_uninterruptible(long timeout);
long __dusk_impl_schedule_timeout_idle(long timeout);

void __dusk_impl___init_swait_queue_head(void *q, const char *name,
					 void *key);
void __dusk_impl_complete(void *x);
void __dusk_impl_complete_all(void *x);
void __dusk_impl_wait_for_completion(void *x);
void __dusk_impl_wait_for_completion_io(void *x);
int __dusk_impl_wait_for_completion_interruptible(void *x);
int __dusk_impl_wait_for_completion_killable(void *x);
unsigned long __dusk_impl_wait_for_completion_timeout(void *x,
						      unsigned long timeout);
unsigned long __dusk_impl_wait_for_completion_io_timeout(void *x,
							 unsigned long timeout);
long __dusk_impl_wait_for_completion_interruptible_timeout(void *x,
							   unsigned long timeout);
long __dusk_impl_wait_for_completion_killable_timeout(void *x,
						      unsigned long timeout);
bool __dusk_impl_try_wait_for_completion(void *x);
bool __dusk_impl_completion_done(void *x);
unsigned long __dusk_impl_msleep_interruptible(unsigned int msecs);

#endif /* DUSK_KLIB_WAIT_H */
