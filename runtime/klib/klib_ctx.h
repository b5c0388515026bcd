/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * klib_ctx.h - the kernel's execution context, emulated at user level:
 * preemption, softirq and hardirq state, the interrupt flag, spin locks,
 * rwlocks, mutexes and RCU. ARCHITECTURE.md ("Known constraints"): these
 * are never forwarded to the kernel one call at a time; dusk.ko refuses
 * them anyway.
 *
 * Per thread. Each thread of the program has its own emulated context,
 * as each kernel task/CPU has its own:
 *  - the preempt count, with the kernel's bit layout (6.1 preempt.h:
 *    PREEMPT 0x000000ff, SOFTIRQ 0x0000ff00, HARDIRQ 0x000f0000, NMI
 *    0x00f00000) and x86's inverted PREEMPT_NEED_RESCHED bit 31, which
 *    stays set (no reschedule is ever pending): instrumented code reads
 *    and writes it in place of %gs:__preempt_count through
 *    __dusk_preempt_count_ptr(), so preempt_count(), in_softirq(),
 *    in_interrupt(), in_task() answer from it as in the kernel;
 *  - the interrupt flag (X86_EFLAGS_IF in __dusk_irq_flags());
 *  - the RCU read-side nesting (__rcu_read_lock);
 *  - the CPU it runs on (the invocation's: dusk_ctx_enter()).
 * The module runtime brackets each invocation with dusk_ctx_enter() and
 * dusk_ctx_leave(), in the context the kernel runs that callback in. A
 * netfilter hook (dusk_ctx_enter_hook()) runs in an RCU read-side section,
 * as nf_hook() calls hooks, and in the context of the kernel code that
 * passed the packet to netfilter, which on 6.1 is (checked on the target:
 * tests/examples/mods/hookctx):
 *  - receiving (PRE_ROUTING, LOCAL_IN, FORWARD): serving NET_RX softirq
 *    (SOFTIRQ_OFFSET): in_softirq(), in_interrupt() true, in_task() false;
 *  - sending (LOCAL_OUT, POST_ROUTING) a packet a task's socket sends
 *    (sendmsg, connect): that task's context, in_task() true, preempt
 *    count 0 (PREEMPT_RCU: rcu_read_lock() does not count);
 *  - sending a packet the kernel answers with (an ICMP echo reply, a TCP
 *    SYN-ACK or RST: a control socket, a request or timewait socket):
 *    the softirq that received what it answers, with bottom halves
 *    disabled on top (SOFTIRQ_OFFSET + SOFTIRQ_DISABLE_OFFSET);
 * so a mutex_lock() or msleep() in any hook is reported.
 *
 * Locks. Spin locks, rwlocks, mutexes, rw_semaphores and semaphores give
 * real mutual exclusion among the program's own threads: a table keyed by
 * the lock's address (a mirror address counts as the kernel address it
 * stands for, the kernel copy of one of the program's objects as the
 * object, so a lock is one lock however the module reaches it), with a
 * condition variable per lock. Lock and unlock keep the emulated counters
 * as the kernel does (spin_lock: preempt +1; _bh: +SOFTIRQ_LOCK_OFFSET;
 * _irq: IF cleared; _irqsave: flags returned, then IF cleared).
 *
 * THE LOCK WORD IS NEVER WRITTEN, in kernel memory or in the program's:
 * the emulation keeps its state in its own table. Consequences for a
 * module that locks an object the kernel also uses (a lock inside a
 * kernel structure, a kernel global such as a list's lock):
 *  - the kernel's own users of that lock are NOT excluded: code in the
 *    kernel that takes the lock runs while the program "holds" it, and
 *    the program's critical section is not atomic with respect to the
 *    kernel (its reads come from the shadow cache, its writes are
 *    committed as byte differences before the next kernel call or at the
 *    end of the callback);
 *  - spin_is_locked()/mutex_is_locked() inlined into the module read the
 *    untouched lock word (mutex_is_locked(), out of line in 6.1, answers
 *    from the table);
 *  - to change kernel state that the kernel protects with a lock, call the
 *    kernel API that takes the lock itself (one kernel call takes and
 *    releases it within one request), never lock + modify + unlock from
 *    the program.
 * Locks the module defines in its own data (the usual case: a lock
 * protecting the module's lists) behave exactly as in the kernel among
 * the program's threads.
 *
 * Errors the kernel would hang or oops on become reports: taking a spin
 * lock this thread holds is "BUG: spinlock recursion" (abort); unlocking
 * a lock nobody holds, leaving an invocation with the count unbalanced,
 * sleeping (mutex_lock, synchronize_rcu, msleep) in atomic context are
 * WARNINGs with a backtrace.
 *
 * RCU. Readers are the program's threads: a thread is in a read-side
 * section while its RCU nesting or preempt count is non-zero or its
 * interrupts are disabled (6.1's consolidated RCU counts preempt-disabled
 * code as a reader). synchronize_rcu() waits until every other thread
 * has passed through a quiescent state (each thread counts its quiescent
 * transitions; the waiter polls), then waits for a grace period of the
 * kernel (a kernel call of synchronize_rcu): kernel readers may hold
 * kernel memory the module unlinked. call_rcu() and kfree_rcu() queue;
 * the queue is run after both grace periods by dusk_rcu_poll() (the event
 * loop), rcu_barrier() and dusk_rcu_barrier() (at exit): callbacks run at
 * user level in softirq context, and kfree_rcu's objects, kernel memory,
 * are freed with a kernel call of kfree.
 */
#ifndef DUSK_KLIB_CTX_H
#define DUSK_KLIB_CTX_H

#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>

#include "dusk_module.h"

/* 6.1 include/linux/preempt.h and arch/x86/include/asm/preempt.h. */
#define DUSK_PREEMPT_OFFSET		0x00000001U
#define DUSK_SOFTIRQ_OFFSET		0x00000100U
#define DUSK_SOFTIRQ_DISABLE_OFFSET	(2 * DUSK_SOFTIRQ_OFFSET)
#define DUSK_SOFTIRQ_LOCK_OFFSET	(DUSK_SOFTIRQ_DISABLE_OFFSET + \
					 DUSK_PREEMPT_OFFSET)
#define DUSK_HARDIRQ_OFFSET		0x00010000U
#define DUSK_NMI_OFFSET			0x00100000U
#define DUSK_PREEMPT_MASK		0x000000ffU
#define DUSK_SOFTIRQ_MASK		0x0000ff00U
#define DUSK_HARDIRQ_MASK		0x000f0000U
#define DUSK_NMI_MASK			0x00f00000U
#define DUSK_PREEMPT_NEED_RESCHED	0x80000000U
#define DUSK_PREEMPT_ENABLED		DUSK_PREEMPT_NEED_RESCHED
/* arch/x86/include/uapi/asm/processor-flags.h: IF, and bit 1, always set. */
#define DUSK_X86_EFLAGS_FIXED		0x00000002UL
#define DUSK_X86_EFLAGS_IF		0x00000200UL

/* ---- for the module runtime ------------------------------------------------ */

enum dusk_ctx_kind {
	DUSK_CTX_TASK = 0,	/* process context (init, exit, file ops) */
	DUSK_CTX_SOFTIRQ,	/* serving a softirq (netfilter hooks, timers) */
	DUSK_CTX_HARDIRQ,	/* a hard interrupt handler (IF cleared) */
	DUSK_CTX_SOFTIRQ_BH,	/* serving a softirq, bottom halves disabled
				 * on top (the kernel's replies) */
};

struct dusk_ctx_saved {
	unsigned int preempt;
	unsigned long flags;
	int cpu;
	int rcu;
	unsigned int locks;
	enum dusk_ctx_kind kind;
	int rcu_held;		/* read-side sections the caller holds around
				 * the invocation (nf_hook()'s) */
};

/*
 * An invocation starts on this thread: in context kind, on CPU cpu (the
 * one the kernel ran the hook on; -1: keep the thread's). saved receives
 * what dusk_ctx_leave() restores.
 */
void dusk_ctx_enter(enum dusk_ctx_kind kind, int cpu,
		    struct dusk_ctx_saved *saved);
/*
 * The invocation ends: 0 if the module left the context as it found it;
 * else a WARNING is printed naming what is unbalanced (a lock still held,
 * rcu_read_lock or preempt_disable without its pair, interrupts left
 * disabled) and -EDEADLK returned. The saved context is restored either
 * way.
 */
int dusk_ctx_leave(const struct dusk_ctx_saved *saved);
/*
 * A netfilter hook's invocation starts on this thread (nestable): inside
 * an RCU read-side section (nf_hook()'s rcu_read_lock()), in context kind;
 * or, if resolve is not NULL, in the context resolve(arg) returns (TASK,
 * SOFTIRQ or SOFTIRQ_BH), asked the first time the invocation's preempt
 * count is read (in_softirq(), in_task(), preempt_count(), an inline
 * preempt_disable()) or reported (sleeping in atomic context, an
 * underflow), not for what only adds to it and takes it back again (spin
 * locks, bottom halves): a hook that never looks never pays for what
 * resolve reads from the kernel. dusk_ctx_leave_hook() ends it (see
 * dusk_ctx_leave()).
 */
typedef enum dusk_ctx_kind (*dusk_ctx_resolve_fn)(void *arg);
void dusk_ctx_enter_hook(enum dusk_ctx_kind kind, dusk_ctx_resolve_fn resolve,
			 void *arg);
int dusk_ctx_leave_hook(void);

/* The emulated CPU of this thread: the current invocation's. */
int dusk_ctx_cpu(void);
/* preempt_count() of this thread (without the NEED_RESCHED bit). */
unsigned int dusk_ctx_preempt_count(void);
/* Interrupts disabled on this thread. */
bool dusk_ctx_irqs_disabled(void);
/* Atomic context: preempt count non-zero or interrupts disabled. */
bool dusk_ctx_atomic(void);
/* Spin/rw locks and mutexes this thread holds. */
unsigned int dusk_ctx_locks_held(void);

/* The identity of an object for the lock and sleeper tables: a mirror
 * address counts as its kernel address, a kernel copy as its user object. */
uintptr_t dusk_klib_obj_key(const void *obj);
/* What the kernel's might_sleep() says, once per call site. */
void dusk_ctx_might_sleep_at(const char *what, const void *site);
/* Around a sleep of this thread (dusk_klib_host's sleep_begin/end). */
void dusk_ctx_sleep_begin(void);
void dusk_ctx_sleep_end(void);
void dusk_ctx_sleep_begin_mu(pthread_mutex_t *mu);
void dusk_ctx_sleep_end_mu(pthread_mutex_t *mu);
/* Sleep ns nanoseconds, as msleep() does. */
void dusk_ctx_nap_ns(uint64_t ns);

/* Run the RCU callbacks whose grace period has ended, doing one (user
 * level, then kernel) if some are queued: the event loop calls it when
 * idle. Returns how many ran. */
unsigned int dusk_rcu_poll(void);
/* Every callback queued so far has run (module exit, before the session
 * closes). */
void dusk_rcu_barrier(void);
/* Callbacks queued and not run yet. */
unsigned int dusk_rcu_pending(void);
/* Wait for the program's own readers only (no kernel grace period). */
void dusk_rcu_wait_readers(void);

/* ---- called by instrumented code (dusk_module.h) ----------------------------- */

/* void *__dusk_preempt_count_ptr(void);
 * unsigned long __dusk_irq_flags(void);
 * void __dusk_irq_disable(void);
 * void __dusk_irq_enable(void); */

/* ---- the kernel's functions (Linux 6.1 prototypes) ---------------------------- */

struct dusk_rcu_head;
typedef void (*dusk_rcu_callback_t)(struct dusk_rcu_head *head);

DUSK_EXPORT void __dusk_impl__raw_spin_lock(void *lock);
DUSK_EXPORT void __dusk_impl__raw_spin_lock_nested(void *lock, int subclass);
DUSK_EXPORT void __dusk_impl__raw_spin_lock_bh(void *lock);
DUSK_EXPORT void __dusk_impl__raw_spin_lock_irq(void *lock);
DUSK_EXPORT unsigned long __dusk_impl__raw_spin_lock_irqsave(void *lock);
DUSK_EXPORT unsigned long __dusk_impl__raw_spin_lock_irqsave_nested(void *lock,
								 int subclass);
DUSK_EXPORT int __dusk_impl__raw_spin_trylock(void *lock);
DUSK_EXPORT int __dusk_impl__raw_spin_trylock_bh(void *lock);
DUSK_EXPORT void __dusk_impl__raw_spin_unlock(void *lock);
DUSK_EXPORT void __dusk_impl__raw_spin_unlock_bh(void *lock);
DUSK_EXPORT void __dusk_impl__raw_spin_unlock_irq(void *lock);
DUSK_EXPORT void __dusk_impl__raw_spin_unlock_irqrestore(void *lock,
							 unsigned long flags);

DUSK_EXPORT void __dusk_impl__raw_read_lock(void *lock);
DUSK_EXPORT void __dusk_impl__raw_read_lock_bh(void *lock);
DUSK_EXPORT void __dusk_impl__raw_read_lock_irq(void *lock);
DUSK_EXPORT unsigned long __dusk_impl__raw_read_lock_irqsave(void *lock);
DUSK_EXPORT int __dusk_impl__raw_read_trylock(void *lock);
DUSK_EXPORT void __dusk_impl__raw_read_unlock(void *lock);
DUSK_EXPORT void __dusk_impl__raw_read_unlock_bh(void *lock);
DUSK_EXPORT void __dusk_impl__raw_read_unlock_irq(void *lock);
DUSK_EXPORT void __dusk_impl__raw_read_unlock_irqrestore(void *lock,
							 unsigned long flags);
DUSK_EXPORT void __dusk_impl__raw_write_lock(void *lock);
DUSK_EXPORT void __dusk_impl__raw_write_lock_nested(void *lock, int subclass);
DUSK_EXPORT void __dusk_impl__raw_write_lock_bh(void *lock);
DUSK_EXPORT void __dusk_impl__raw_write_lock_irq(void *lock);
DUSK_EXPORT unsigned long __dusk_impl__raw_write_lock_irqsave(void *lock);
DUSK_EXPORT int __dusk_impl__raw_write_trylock(void *lock);
DUSK_EXPORT void __dusk_impl__raw_write_unlock(void *lock);
DUSK_EXPORT void __dusk_impl__raw_write_unlock_bh(void *lock);
DUSK_EXPORT void __dusk_impl__raw_write_unlock_irq(void *lock);
DUSK_EXPORT void __dusk_impl__raw_write_unlock_irqrestore(void *lock,
							  unsigned long flags);

DUSK_EXPORT void __dusk_impl___mutex_init(void *lock, const char *name,
					  void *key);
DUSK_EXPORT void __dusk_impl_mutex_lock(void *lock);
DUSK_EXPORT void __dusk_impl_mutex_lock_nested(void *lock,
					       unsigned int subclass);
DUSK_EXPORT int __dusk_impl_mutex_lock_interruptible(void *lock);
DUSK_EXPORT int __dusk_impl_mutex_lock_killable(void *lock);
DUSK_EXPORT void __dusk_impl_mutex_lock_io(void *lock);
DUSK_EXPORT int __dusk_impl_mutex_trylock(void *lock);
DUSK_EXPORT void __dusk_impl_mutex_unlock(void *lock);
DUSK_EXPORT bool __dusk_impl_mutex_is_locked(void *lock);
DUSK_EXPORT void __dusk_impl_mutex_destroy(void *lock);

DUSK_EXPORT void __dusk_impl_down_read(void *sem);
DUSK_EXPORT int __dusk_impl_down_read_interruptible(void *sem);
DUSK_EXPORT int __dusk_impl_down_read_killable(void *sem);
DUSK_EXPORT int __dusk_impl_down_read_trylock(void *sem);
DUSK_EXPORT void __dusk_impl_up_read(void *sem);
DUSK_EXPORT void __dusk_impl_down_read_non_owner(void *sem);
DUSK_EXPORT void __dusk_impl_up_read_non_owner(void *sem);
DUSK_EXPORT void __dusk_impl_down_write(void *sem);
DUSK_EXPORT int __dusk_impl_down_write_killable(void *sem);
DUSK_EXPORT int __dusk_impl_down_write_trylock(void *sem);
DUSK_EXPORT void __dusk_impl_up_write(void *sem);
DUSK_EXPORT void __dusk_impl_downgrade_write(void *sem);
DUSK_EXPORT void __dusk_impl_down(void *sem);
DUSK_EXPORT int __dusk_impl_down_interruptible(void *sem);
DUSK_EXPORT int __dusk_impl_down_killable(void *sem);
DUSK_EXPORT int __dusk_impl_down_trylock(void *sem);
DUSK_EXPORT int __dusk_impl_down_timeout(void *sem, long jiffies);
DUSK_EXPORT void __dusk_impl_up(void *sem);

DUSK_EXPORT void __dusk_impl___local_bh_disable_ip(unsigned long ip,
						   unsigned int cnt);
DUSK_EXPORT void __dusk_impl___local_bh_enable_ip(unsigned long ip,
						  unsigned int cnt);
DUSK_EXPORT void __dusk_impl__local_bh_enable(void);
DUSK_EXPORT void __dusk_impl_local_bh_disable(void);
DUSK_EXPORT void __dusk_impl_local_bh_enable(void);
DUSK_EXPORT void __dusk_impl_preempt_count_add(int val);
DUSK_EXPORT void __dusk_impl_preempt_count_sub(int val);
DUSK_EXPORT void __dusk_impl___this_cpu_preempt_check(const char *op);
DUSK_EXPORT unsigned int __dusk_impl_debug_smp_processor_id(void);
DUSK_EXPORT void __dusk_impl_migrate_disable(void);
DUSK_EXPORT void __dusk_impl_migrate_enable(void);
DUSK_EXPORT int __dusk_impl___cond_resched(void);
DUSK_EXPORT int __dusk_impl___SCT__cond_resched(void);
DUSK_EXPORT void __dusk_impl___SCT__might_resched(void);
DUSK_EXPORT void __dusk_impl___SCT__preempt_schedule(void);
DUSK_EXPORT void __dusk_impl___SCT__preempt_schedule_notrace(void);
DUSK_EXPORT void __dusk_impl_preempt_schedule(void);
DUSK_EXPORT void __dusk_impl_preempt_schedule_notrace(void);

DUSK_EXPORT void __dusk_impl___rcu_read_lock(void);
DUSK_EXPORT void __dusk_impl___rcu_read_unlock(void);
DUSK_EXPORT void __dusk_impl_synchronize_rcu(void);
DUSK_EXPORT void __dusk_impl_synchronize_rcu_expedited(void);
DUSK_EXPORT void __dusk_impl_synchronize_net(void);
DUSK_EXPORT void __dusk_impl_call_rcu(struct dusk_rcu_head *head,
				      dusk_rcu_callback_t func);
DUSK_EXPORT void __dusk_impl_kvfree_call_rcu(struct dusk_rcu_head *head,
					     dusk_rcu_callback_t func);
DUSK_EXPORT void __dusk_impl_rcu_barrier(void);

DUSK_EXPORT void __dusk_impl_msleep(unsigned int msecs);
DUSK_EXPORT void __dusk_impl_usleep_range_state(unsigned long min,
						unsigned long max,
						unsigned int state);
DUSK_EXPORT void __dusk_impl___udelay(unsigned long usecs);
DUSK_EXPORT void __dusk_impl___ndelay(unsigned long nsecs);
DUSK_EXPORT void __dusk_impl___const_udelay(unsigned long xloops);

#endif /* DUSK_KLIB_CTX_H */
