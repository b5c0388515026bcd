// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The emulated execution context (klib_ctx.c): the preempt count's bits
 * as 6.1 lays them out and as in_softirq()/in_interrupt()/in_task() read
 * them, the interrupt flag through irqsave/irqrestore, real mutual
 * exclusion among threads for spin locks, rwlocks and mutexes, the lock
 * word never written (in user and kernel memory), one lock for a kernel
 * address and its mirror, errors the kernel would hang on, RCU grace
 * periods waiting for the program's readers, call_rcu and kfree_rcu.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "check.h"
#include "console.h"
#include "dusk.h"
#include "fake_kernel.h"
#include "klib.h"
#include "klib_ctx.h"
#include "session.h"

/* What instrumented code reads: the count as __preempt_count holds it. */
static unsigned int raw_count(void)
{
	return *(unsigned int *)__dusk_preempt_count_ptr();
}

/* include/linux/preempt.h, on the raw x86 value */
static unsigned int preempt_count(void)
{
	return raw_count() & ~DUSK_PREEMPT_NEED_RESCHED;
}
#define in_softirq()		(preempt_count() & DUSK_SOFTIRQ_MASK)
#define in_serving_softirq()	(preempt_count() & DUSK_SOFTIRQ_OFFSET)
#define in_interrupt()		(preempt_count() & (DUSK_NMI_MASK | DUSK_HARDIRQ_MASK | DUSK_SOFTIRQ_MASK))
#define in_task()		(!(preempt_count() & (DUSK_NMI_MASK | DUSK_HARDIRQ_MASK | DUSK_SOFTIRQ_OFFSET)))
#define irqs_disabled()		(!(__dusk_irq_flags() & DUSK_X86_EFLAGS_IF))

static void test_counts(void)
{
	unsigned int lock = 0x12345678;
	struct dusk_ctx_saved sv, sv2;
	unsigned long f1, f2;

	/* x86's PREEMPT_ENABLED: only the inverted NEED_RESCHED bit. */
	CHECK_EQ(raw_count(), 0x80000000U);
	CHECK(in_task() && !in_interrupt() && !irqs_disabled());
	CHECK_EQ(__dusk_irq_flags(), 0x202);

	__dusk_impl__raw_spin_lock(&lock);
	CHECK_EQ(preempt_count(), 1);
	CHECK_EQ(dusk_ctx_locks_held(), 1);
	__dusk_impl__raw_spin_unlock(&lock);
	CHECK_EQ(preempt_count(), 0);
	CHECK_EQ(dusk_ctx_locks_held(), 0);

	__dusk_impl__raw_spin_lock_bh(&lock);	/* SOFTIRQ_LOCK_OFFSET */
	CHECK_EQ(preempt_count(), 0x201);
	CHECK(in_softirq() && !in_serving_softirq() && in_task());
	__dusk_impl__raw_spin_unlock_bh(&lock);
	CHECK_EQ(preempt_count(), 0);

	__dusk_impl__raw_spin_lock_irq(&lock);
	CHECK(irqs_disabled() && preempt_count() == 1);
	__dusk_impl__raw_spin_unlock_irq(&lock);
	CHECK(!irqs_disabled() && preempt_count() == 0);

	/* irqsave returns the flags as they were; nesting restores them */
	f1 = __dusk_impl__raw_spin_lock_irqsave(&lock);
	CHECK(f1 & DUSK_X86_EFLAGS_IF);
	CHECK(irqs_disabled());
	f2 = __dusk_impl__raw_read_lock_irqsave(&f2);
	CHECK(!(f2 & DUSK_X86_EFLAGS_IF));
	CHECK_EQ(preempt_count(), 2);
	__dusk_impl__raw_read_unlock_irqrestore(&f2, f2);
	CHECK(irqs_disabled());		/* still: the outer section */
	__dusk_impl__raw_spin_unlock_irqrestore(&lock, f1);
	CHECK(!irqs_disabled() && preempt_count() == 0);
	CHECK_EQ(lock, 0x12345678);	/* the lock word is never written */

	/* local_irq_save()/restore() as the plugin turns them into calls */
	f1 = __dusk_irq_flags();
	__dusk_irq_disable();
	CHECK(irqs_disabled());
	if (f1 & DUSK_X86_EFLAGS_IF)
		__dusk_irq_enable();
	CHECK(!irqs_disabled());

	/* local_bh_disable() is inline (preempt_count_add); enable is not */
	*(unsigned int *)__dusk_preempt_count_ptr() += DUSK_SOFTIRQ_DISABLE_OFFSET;
	CHECK_EQ(preempt_count(), 0x200);
	__dusk_impl___local_bh_enable_ip(0, DUSK_SOFTIRQ_DISABLE_OFFSET);
	CHECK_EQ(preempt_count(), 0);
	__dusk_impl_local_bh_disable();
	__dusk_impl__local_bh_enable();
	CHECK_EQ(preempt_count(), 0);
	__dusk_impl_preempt_count_add(3);
	__dusk_impl_preempt_count_sub(3);
	CHECK_EQ(raw_count(), 0x80000000U);
	/* an underflow is reported, not wrapped */
	__dusk_impl_preempt_count_sub(1);
	CHECK_EQ(raw_count(), 0x80000000U);

	/* a netfilter hook: serving a softirq, on the HOOK's CPU */
	dusk_ctx_enter(DUSK_CTX_SOFTIRQ, 3, &sv);
	CHECK_EQ(preempt_count(), DUSK_SOFTIRQ_OFFSET);
	CHECK(in_softirq() && in_serving_softirq() && in_interrupt() &&
	      !in_task());
	CHECK_EQ(dusk_ctx_cpu(), 3);
	CHECK_EQ(__dusk_impl_debug_smp_processor_id(), 3);
	CHECK(dusk_ctx_atomic());
	__dusk_impl__raw_spin_lock(&lock);
	CHECK_EQ(preempt_count(), 0x101);
	__dusk_impl__raw_spin_unlock(&lock);
	CHECK_EQ(dusk_ctx_leave(&sv), 0);
	CHECK(in_task() && preempt_count() == 0);
	CHECK_EQ(dusk_ctx_cpu(), 0);

	/* a hard interrupt: IF cleared */
	dusk_ctx_enter(DUSK_CTX_HARDIRQ, -1, &sv);
	CHECK(irqs_disabled() && (preempt_count() & DUSK_HARDIRQ_MASK));
	CHECK_EQ(dusk_ctx_leave(&sv), 0);
	CHECK(!irqs_disabled());

	/* the module runtime's nestable form, for hooks */
	dusk_ctx_enter_hook(DUSK_CTX_SOFTIRQ, NULL, NULL);
	dusk_ctx_enter_hook(DUSK_CTX_SOFTIRQ, NULL, NULL);
	CHECK_EQ(preempt_count(), 2 * DUSK_SOFTIRQ_OFFSET);
	CHECK_EQ(dusk_ctx_leave_hook(), 0);
	CHECK_EQ(dusk_ctx_leave_hook(), 0);
	CHECK_EQ(preempt_count(), 0);

	/* leaving unbalanced: reported (a WARNING), and repaired */
	dusk_ctx_enter(DUSK_CTX_SOFTIRQ, 1, &sv);
	__dusk_impl___rcu_read_lock();
	*(unsigned int *)__dusk_preempt_count_ptr() += 1;
	__dusk_irq_disable();
	CHECK_EQ(dusk_ctx_leave(&sv), -EDEADLK);
	CHECK(preempt_count() == 0 && !irqs_disabled() && in_task());
	dusk_ctx_enter(DUSK_CTX_SOFTIRQ, 1, &sv2);
	__dusk_impl__raw_spin_lock(&lock);
	CHECK_EQ(dusk_ctx_leave(&sv2), -EDEADLK);	/* a lock left held */
	CHECK_EQ(preempt_count(), 0);
	CHECK_EQ(dusk_ctx_locks_held(), 1);		/* and still held */
	CHECK_EQ(__dusk_impl__raw_spin_trylock(&lock), 0);
	*(unsigned int *)__dusk_preempt_count_ptr() += 1;
	__dusk_impl__raw_spin_unlock(&lock);
	CHECK_EQ(preempt_count(), 0);
	CHECK_EQ(dusk_ctx_locks_held(), 0);

	/* migrate_disable(): no count */
	__dusk_impl_migrate_disable();
	CHECK_EQ(preempt_count(), 0);
	__dusk_impl_migrate_enable();
	CHECK_EQ(__dusk_impl___cond_resched(), 0);
}

/* ---- mutual exclusion ------------------------------------------------------------ */

enum lock_kind { K_SPIN, K_SPIN_BH, K_SPIN_IRQSAVE, K_WRITE, K_MUTEX,
		 K_RWSEM, K_SEM };

/* struct semaphore of 6.1: a raw spinlock, then the count. */
struct ksem {
	unsigned int lock;
	unsigned int count;
	void *wait_list[2];
};

struct race {
	enum lock_kind kind;
	unsigned int lock;
	struct ksem *sem;
	volatile long counter;
	volatile int inside;
	int overlaps;
	int bad_count;
};

#define THREADS		4
#define ROUNDS		20000

static void *racer(void *arg)
{
	struct race *r = arg;
	unsigned long flags = 0;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		switch (r->kind) {
		case K_SPIN:
			__dusk_impl__raw_spin_lock(&r->lock);
			break;
		case K_SPIN_BH:
			__dusk_impl__raw_spin_lock_bh(&r->lock);
			break;
		case K_SPIN_IRQSAVE:
			flags = __dusk_impl__raw_spin_lock_irqsave(&r->lock);
			break;
		case K_WRITE:
			__dusk_impl__raw_write_lock(&r->lock);
			break;
		case K_MUTEX:
			__dusk_impl_mutex_lock(&r->lock);
			break;
		case K_RWSEM:
			__dusk_impl_down_write(&r->lock);
			break;
		case K_SEM:
			__dusk_impl_down(r->sem);
			break;
		}
		if (r->inside++)
			r->overlaps++;
		if (r->kind < K_MUTEX && !preempt_count())
			r->bad_count++;
		if (r->kind >= K_MUTEX && preempt_count())
			r->bad_count++;	/* sleeping locks: no count */
		r->counter = r->counter + 1;
		r->inside--;
		switch (r->kind) {
		case K_SPIN:
			__dusk_impl__raw_spin_unlock(&r->lock);
			break;
		case K_SPIN_BH:
			__dusk_impl__raw_spin_unlock_bh(&r->lock);
			break;
		case K_SPIN_IRQSAVE:
			__dusk_impl__raw_spin_unlock_irqrestore(&r->lock, flags);
			break;
		case K_WRITE:
			__dusk_impl__raw_write_unlock(&r->lock);
			break;
		case K_MUTEX:
			__dusk_impl_mutex_unlock(&r->lock);
			break;
		case K_RWSEM:
			__dusk_impl_up_write(&r->lock);
			break;
		case K_SEM:
			__dusk_impl_up(r->sem);
			break;
		}
	}
	if (preempt_count() || irqs_disabled())
		r->bad_count++;
	return NULL;
}

static void race(enum lock_kind kind)
{
	struct ksem sem = { .count = 1 };
	struct race r = { .kind = kind, .lock = 0xabcd, .sem = &sem };
	pthread_t t[THREADS];
	int i;

	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, racer, &r);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(r.counter, (long)THREADS * ROUNDS);
	CHECK_EQ(r.overlaps, 0);
	CHECK_EQ(r.bad_count, 0);
	CHECK_EQ(r.lock, 0xabcd);
	CHECK_EQ(sem.count, 1);
}

struct holder {
	void *lock;
	int mode;		/* 0 spin, 1 read, 2 mutex, 3 rwsem write */
	int hold_ms;
	volatile int held;
};

static void *hold(void *arg)
{
	struct holder *h = arg;

	if (h->mode == 0)
		__dusk_impl__raw_spin_lock(h->lock);
	else if (h->mode == 1)
		__dusk_impl__raw_read_lock(h->lock);
	else if (h->mode == 3)
		__dusk_impl_down_write(h->lock);
	else
		__dusk_impl_mutex_lock(h->lock);
	h->held = 1;
	usleep((useconds_t)h->hold_ms * 1000);
	if (h->mode == 0)
		__dusk_impl__raw_spin_unlock(h->lock);
	else if (h->mode == 1)
		__dusk_impl__raw_read_unlock(h->lock);
	else if (h->mode == 3)
		__dusk_impl_up_write(h->lock);
	else
		__dusk_impl_mutex_unlock(h->lock);
	return NULL;
}

static void start_holder(pthread_t *t, struct holder *h)
{
	pthread_create(t, NULL, hold, h);
	while (!h->held)
		usleep(1000);
}

static void test_exclusion(void)
{
	unsigned int rw = 0, m = 0, sp = 0;
	struct holder h;
	pthread_t t;

	race(K_SPIN);
	race(K_SPIN_BH);
	race(K_SPIN_IRQSAVE);
	race(K_WRITE);
	race(K_MUTEX);
	race(K_RWSEM);
	race(K_SEM);

	/* readers share, writers wait */
	h = (struct holder){ .lock = &rw, .mode = 1, .hold_ms = 200 };
	start_holder(&t, &h);
	CHECK_EQ(__dusk_impl__raw_read_trylock(&rw), 1);
	CHECK_EQ(preempt_count(), 1);
	__dusk_impl__raw_read_unlock(&rw);
	CHECK_EQ(__dusk_impl__raw_write_trylock(&rw), 0);
	CHECK_EQ(preempt_count(), 0);	/* a failed trylock leaves no count */
	pthread_join(t, NULL);
	CHECK_EQ(__dusk_impl__raw_write_trylock(&rw), 1);
	__dusk_impl__raw_write_unlock(&rw);

	/* spin_trylock of a held lock; the holder's unlock frees it */
	h = (struct holder){ .lock = &sp, .mode = 0, .hold_ms = 100 };
	start_holder(&t, &h);
	CHECK_EQ(__dusk_impl__raw_spin_trylock(&sp), 0);
	CHECK_EQ(__dusk_impl__raw_spin_trylock_bh(&sp), 0);
	CHECK_EQ(preempt_count(), 0);
	__dusk_impl__raw_spin_lock(&sp);	/* waits for the holder */
	CHECK_EQ(preempt_count(), 1);
	__dusk_impl__raw_spin_unlock(&sp);
	pthread_join(t, NULL);

	/* mutexes */
	__dusk_impl___mutex_init(&m, "m", NULL);
	CHECK(!__dusk_impl_mutex_is_locked(&m));
	h = (struct holder){ .lock = &m, .mode = 2, .hold_ms = 100 };
	start_holder(&t, &h);
	CHECK(__dusk_impl_mutex_is_locked(&m));
	CHECK_EQ(__dusk_impl_mutex_trylock(&m), 0);
	CHECK_EQ(__dusk_impl_mutex_lock_interruptible(&m), 0);
	CHECK_EQ(preempt_count(), 0);	/* a mutex is no atomic section */
	__dusk_impl_mutex_unlock(&m);
	pthread_join(t, NULL);
	CHECK_EQ(__dusk_impl_mutex_lock_killable(&m), 0);
	__dusk_impl_mutex_unlock(&m);
	CHECK(!__dusk_impl_mutex_is_locked(&m));
	CHECK_EQ(m, 0);
}

static struct ksem done_sem;

static void *up_later(void *arg)
{
	usleep(100000);
	__dusk_impl_up(&done_sem);
	return NULL;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_sleeping_locks(void)
{
	unsigned int rwsem = 0;
	struct ksem sem = { .count = 2 };
	struct holder h;
	pthread_t t;
	uint64_t t0;

	/* rw_semaphores: readers share, a writer waits, no preempt count */
	__dusk_impl_down_read(&rwsem);
	CHECK_EQ(preempt_count(), 0);
	CHECK_EQ(__dusk_impl_down_read_trylock(&rwsem), 1);
	CHECK_EQ(__dusk_impl_down_write_trylock(&rwsem), 0);
	__dusk_impl_up_read(&rwsem);
	__dusk_impl_up_read(&rwsem);
	CHECK_EQ(__dusk_impl_down_write_trylock(&rwsem), 1);
	CHECK_EQ(__dusk_impl_down_read_trylock(&rwsem), 0);
	/* a writer downgraded: readers may come, writers may not */
	__dusk_impl_downgrade_write(&rwsem);
	CHECK_EQ(__dusk_impl_down_read_trylock(&rwsem), 1);
	CHECK_EQ(__dusk_impl_down_write_trylock(&rwsem), 0);
	__dusk_impl_up_read(&rwsem);
	__dusk_impl_up_read(&rwsem);
	CHECK_EQ(dusk_ctx_locks_held(), 0);
	CHECK_EQ(__dusk_impl_down_write_killable(&rwsem), 0);
	__dusk_impl_up_write(&rwsem);
	CHECK_EQ(rwsem, 0);
	h = (struct holder){ .lock = &rwsem, .mode = 3, .hold_ms = 100 };
	start_holder(&t, &h);
	t0 = mono_ms();
	CHECK_EQ(__dusk_impl_down_read_killable(&rwsem), 0);	/* waits */
	CHECK(mono_ms() - t0 >= 50);
	__dusk_impl_up_read(&rwsem);
	pthread_join(t, NULL);

	/* semaphores: the count sema_init() wrote, never written here */
	__dusk_impl_down(&sem);
	CHECK_EQ(__dusk_impl_down_interruptible(&sem), 0);
	CHECK_EQ(__dusk_impl_down_trylock(&sem), 1);	/* 1: not taken */
	t0 = mono_ms();
	CHECK_EQ(__dusk_impl_down_timeout(&sem, 25), -ETIME);	/* 100 ms */
	CHECK(mono_ms() - t0 >= 90);
	__dusk_impl_up(&sem);
	CHECK_EQ(__dusk_impl_down_trylock(&sem), 0);
	__dusk_impl_up(&sem);
	__dusk_impl_up(&sem);
	CHECK_EQ(sem.count, 2);
	/* as a completion: count 0, another thread's up() */
	done_sem.count = 0;
	pthread_create(&t, NULL, up_later, NULL);
	t0 = mono_ms();
	CHECK_EQ(__dusk_impl_down_killable(&done_sem), 0);
	CHECK(mono_ms() - t0 >= 50);
	pthread_join(t, NULL);
	/* up() before down(): the count is kept meanwhile */
	__dusk_impl_up(&done_sem);
	CHECK_EQ(__dusk_impl_down_trylock(&done_sem), 0);
	CHECK_EQ(__dusk_impl_down_trylock(&done_sem), 1);
	CHECK_EQ(dusk_ctx_locks_held(), 0);
}

/* What the kernel hangs or oopses on stops the program (SIGABRT). */
static int dies(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", 1);

		dup2(devnull, 2);	/* the report is expected */
		fn();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void spin_twice(void)
{
	unsigned int l = 0;

	__dusk_impl__raw_spin_lock(&l);
	__dusk_impl__raw_spin_lock(&l);
}

static void write_while_reading(void)
{
	unsigned int l = 0;

	__dusk_impl__raw_read_lock(&l);
	__dusk_impl__raw_write_lock(&l);
}

static void mutex_twice(void)
{
	unsigned int l = 0;

	__dusk_impl_mutex_lock(&l);
	__dusk_impl_mutex_lock(&l);
}

static void null_lock(void)
{
	__dusk_impl__raw_spin_lock(NULL);
}

static void test_errors(void)
{
	unsigned int l = 0, r = 0;

	CHECK(dies(spin_twice));
	CHECK(dies(write_while_reading));
	CHECK(dies(mutex_twice));
	CHECK(dies(null_lock));
	/* recursive read locks are fine (as in interrupt context) */
	__dusk_impl__raw_read_lock(&r);
	__dusk_impl__raw_read_lock(&r);
	__dusk_impl__raw_read_unlock(&r);
	__dusk_impl__raw_read_unlock(&r);
	/* unlocking an unlocked lock: a WARNING, no count change */
	__dusk_impl__raw_spin_lock(&l);
	__dusk_impl__raw_spin_unlock(&l);
	*(unsigned int *)__dusk_preempt_count_ptr() += 1;
	__dusk_impl__raw_spin_unlock(&l);
	CHECK_EQ(preempt_count(), 0);
	/* sleeping in atomic context: a WARNING, and it still works */
	__dusk_impl__raw_spin_lock(&l);
	__dusk_impl_mutex_lock(&r);
	__dusk_impl_mutex_unlock(&r);
	__dusk_impl_msleep(1);
	__dusk_impl__raw_spin_unlock(&l);
	CHECK_EQ(preempt_count(), 0);
}

/* ---- reports ------------------------------------------------------------------------ */

/* The console's report stream, captured. */
static char *report_buf;
static size_t report_len;
static FILE *report_f;

static void reports_capture(void)
{
	report_f = open_memstream(&report_buf, &report_len);
	dusk_console_set(NULL, report_f);
}

/* What was reported since reports_capture(), then back to stderr. */
static char *reports_take(void)
{
	dusk_console_set(NULL, NULL);
	fclose(report_f);
	return report_buf;
}

static unsigned int count_of(const char *text, const char *what)
{
	unsigned int n = 0;

	while ((text = strstr(text, what))) {
		n++;
		text += strlen(what);
	}
	return n;
}

/* One call site for every call (no inlining, no tail call). */
static __attribute__((noinline)) void sleep_here(void)
{
	__dusk_impl_msleep(1);
	__asm__ volatile("" ::: "memory");
}

/* The kernel's own words for what it would report, once per call site
 * where the kernel says it once (CONFIG_DEBUG_ATOMIC_SLEEP), each time
 * otherwise. */
static void test_reports(void)
{
	unsigned int l = 0, m = 0;
	struct dusk_ctx_saved sv;
	char want[128], *text;
	int i;

	reports_capture();
	/* unlocking an unlocked lock, twice */
	__dusk_impl__raw_spin_lock(&l);
	__dusk_impl__raw_spin_unlock(&l);
	for (i = 0; i < 2; i++) {
		*(unsigned int *)__dusk_preempt_count_ptr() += 1;
		__dusk_impl__raw_spin_unlock(&l);
	}
	/* sleeping in atomic context: one site three times, another once */
	__dusk_impl__raw_spin_lock(&l);
	for (i = 0; i < 3; i++)
		sleep_here();
	__dusk_impl_msleep(1);
	__dusk_impl__raw_spin_unlock(&l);
	/* an invocation that ends holding a lock */
	dusk_ctx_enter(DUSK_CTX_SOFTIRQ, 0, &sv);
	__dusk_impl__raw_spin_lock(&m);
	CHECK_EQ(dusk_ctx_leave(&sv), -EDEADLK);
	/* leave put the count back; the lock stays held until released */
	*(unsigned int *)__dusk_preempt_count_ptr() += 1;
	__dusk_impl__raw_spin_unlock(&m);
	/* rcu_read_unlock() without rcu_read_lock() */
	__dusk_impl___rcu_read_unlock();
	text = reports_take();

	snprintf(want, sizeof(want), "BUG: spinlock %p unlocked but not locked\n",
		 (void *)&l);
	CHECK_EQ(count_of(text, want), 2);
	CHECK_EQ(count_of(text, "BUG: sleeping function called from invalid context: msleep with in_atomic(): 1, irqs_disabled(): 0, rcu nesting: 0, preempt count 00000001\n"), 2);
	CHECK_EQ(count_of(text, "softirq invocation ended unbalanced: preempt count 00000101 (entered with 00000100), rcu_read_lock nesting 0 (was 0), 1 lock(s) held (was 0):"), 1);
	CHECK_EQ(count_of(text, "rcu_read_unlock() without rcu_read_lock()\n"), 1);
	/* each a WARNING with its header, cut and end */
	CHECK_EQ(count_of(text, "------------[ cut here ]------------\n"), 6);
	CHECK_EQ(count_of(text, "---[ end trace ]---\n"), 6);
	CHECK_EQ(count_of(text, "WARNING: CPU: "), 6);
	CHECK_EQ(preempt_count(), 0);
	free(text);
}

/* ---- a netfilter hook's context ------------------------------------------------------ */

static unsigned int resolves, resolve_saw;
static enum dusk_ctx_kind resolve_kind;

static enum dusk_ctx_kind resolve_to(void *arg)
{
	resolves++;
	CHECK_EQ((uintptr_t)arg, 0x5eed);
	/* what the resolver itself looks at: the count without the hook's
	 * own context (no recursion) */
	resolve_saw = preempt_count();
	return resolve_kind;
}

/* dusk_ctx_enter_hook(): in nf_hook()'s RCU section, in the context the
 * kernel ran the hook in, found only when the module looks at it. */
static void test_hook_context(void)
{
	unsigned int l = 0;
	char *text;

	/* a receiving hook: serving NET_RX softirq */
	dusk_ctx_enter_hook(DUSK_CTX_SOFTIRQ, NULL, NULL);
	CHECK_EQ(preempt_count(), DUSK_SOFTIRQ_OFFSET);
	CHECK(in_serving_softirq() && in_interrupt() && !in_task());
	CHECK_EQ(dusk_ctx_leave_hook(), 0);
	CHECK(in_task() && preempt_count() == 0);

	/* a sending hook that never looks (it may lock and unlock): never
	 * resolved */
	resolves = 0;
	resolve_kind = DUSK_CTX_SOFTIRQ_BH;
	dusk_ctx_enter_hook(DUSK_CTX_TASK, resolve_to, (void *)0x5eed);
	__dusk_impl__raw_spin_lock_bh(&l);
	__dusk_impl__raw_spin_unlock_bh(&l);
	__dusk_impl_local_bh_disable();
	__dusk_impl_local_bh_enable();
	CHECK_EQ(dusk_ctx_leave_hook(), 0);
	CHECK_EQ(resolves, 0);
	CHECK(in_task() && preempt_count() == 0);

	/* a task sent it: the task's context, resolved once */
	resolve_kind = DUSK_CTX_TASK;
	dusk_ctx_enter_hook(DUSK_CTX_TASK, resolve_to, (void *)0x5eed);
	CHECK(in_task() && !in_softirq() && !in_interrupt());
	CHECK_EQ(resolve_saw, 0);
	CHECK_EQ(preempt_count(), 0);
	CHECK_EQ(resolves, 1);
	CHECK_EQ(dusk_ctx_leave_hook(), 0);

	/* the kernel's reply: serving softirq with bottom halves disabled,
	 * under what the hook added before it looked */
	resolves = 0;
	resolve_kind = DUSK_CTX_SOFTIRQ_BH;
	dusk_ctx_enter_hook(DUSK_CTX_TASK, resolve_to, (void *)0x5eed);
	__dusk_impl__raw_spin_lock_bh(&l);
	CHECK_EQ(resolves, 0);
	CHECK_EQ(preempt_count(), 0x300 + DUSK_SOFTIRQ_LOCK_OFFSET);
	CHECK_EQ(resolves, 1);
	CHECK_EQ(resolve_saw, DUSK_SOFTIRQ_LOCK_OFFSET);
	__dusk_impl__raw_spin_unlock_bh(&l);
	CHECK_EQ(preempt_count(), 0x300);
	CHECK(in_softirq() && in_serving_softirq() && in_interrupt() &&
	      !in_task());
	CHECK_EQ(resolves, 1);
	CHECK_EQ(dusk_ctx_leave_hook(), 0);
	CHECK(in_task() && preempt_count() == 0);

	/* an enable without its disable is no underflow over the reply's
	 * disabled bottom halves: found before it is reported */
	resolves = 0;
	dusk_ctx_enter_hook(DUSK_CTX_TASK, resolve_to, (void *)0x5eed);
	__dusk_impl__local_bh_enable();
	CHECK_EQ(resolves, 1);
	CHECK_EQ(preempt_count(), DUSK_SOFTIRQ_OFFSET);
	__dusk_impl_local_bh_disable();
	CHECK_EQ(dusk_ctx_leave_hook(), 0);

	/* in any hook, a task's too, the thread is an RCU reader: sleeping
	 * is reported; an rcu_read_unlock() of nf_hook()'s section is
	 * reported when the hook returns */
	reports_capture();
	resolve_kind = DUSK_CTX_TASK;
	dusk_ctx_enter_hook(DUSK_CTX_TASK, resolve_to, (void *)0x5eed);
	__dusk_impl_msleep(1);
	CHECK_EQ(dusk_ctx_leave_hook(), 0);
	dusk_ctx_enter_hook(DUSK_CTX_SOFTIRQ, NULL, NULL);
	__dusk_impl___rcu_read_unlock();
	CHECK_EQ(dusk_ctx_leave_hook(), -EDEADLK);
	text = reports_take();
	CHECK_EQ(count_of(text, "BUG: sleeping function called from invalid context: msleep with in_atomic(): 0, irqs_disabled(): 0, rcu nesting: 1, preempt count 00000000\n"), 1);
	CHECK_EQ(count_of(text, "softirq invocation ended unbalanced: preempt count 00000100 (entered with 00000100), rcu_read_lock nesting 0 (was 1), 0 lock(s) held (was 0), interrupts enabled"), 1);
	CHECK(in_task() && preempt_count() == 0);
	free(text);
}

/* ---- RCU ------------------------------------------------------------------------------ */

struct reader {
	int hold_ms;
	int how;	/* 0 rcu_read_lock, 1 preempt, 2 irqs off, 3 softirq,
			 * 4 a hook in a task's context */
	volatile int in;
	volatile int left;
};

static void *read_side(void *arg)
{
	struct reader *r = arg;
	struct dusk_ctx_saved sv;
	unsigned long flags = 0;

	switch (r->how) {
	case 0:
		__dusk_impl___rcu_read_lock();
		break;
	case 1:
		*(unsigned int *)__dusk_preempt_count_ptr() += 1;
		break;
	case 2:
		flags = __dusk_irq_flags();
		__dusk_irq_disable();
		break;
	case 3:
		dusk_ctx_enter(DUSK_CTX_SOFTIRQ, 0, &sv);
		break;
	case 4:
		dusk_ctx_enter_hook(DUSK_CTX_TASK, NULL, NULL);
		break;
	}
	r->in = 1;
	usleep((useconds_t)r->hold_ms * 1000);
	r->left = 1;
	switch (r->how) {
	case 0:
		__dusk_impl___rcu_read_unlock();
		break;
	case 1:
		__dusk_impl_preempt_count_sub(1);
		break;
	case 2:
		if (flags & DUSK_X86_EFLAGS_IF)
			__dusk_irq_enable();
		break;
	case 3:
		dusk_ctx_leave(&sv);
		break;
	case 4:
		dusk_ctx_leave_hook();
		break;
	}
	return NULL;
}

static volatile int busy_stop;

/* Always back in a section right away: the grace period still ends, on
 * the counted quiescent transitions. */
static void *busy_reader(void *arg)
{
	while (!busy_stop) {
		__dusk_impl___rcu_read_lock();
		usleep(500);
		__dusk_impl___rcu_read_unlock();
	}
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int cb_runs, cb_in_softirq, cb_after_reader;
static struct reader *cb_reader;

struct obj {
	int value;
	struct dusk_rcu_head *head_dummy;
	char rcu[16];	/* struct rcu_head */
};

static void obj_free(struct dusk_rcu_head *head)
{
	cb_runs++;
	cb_in_softirq = !!in_serving_softirq();
	cb_after_reader = cb_reader ? cb_reader->left : 1;
}

static void test_rcu(void)
{
	struct reader r;
	struct obj o;
	pthread_t t;
	uint64_t t0;
	int how;

	/* no reader: immediate */
	t0 = now_ms();
	__dusk_impl_synchronize_rcu();
	CHECK(now_ms() - t0 < 1000);

	/* each kind of read-side section holds a grace period up */
	for (how = 0; how < 5; how++) {
		r = (struct reader){ .hold_ms = 200, .how = how };
		pthread_create(&t, NULL, read_side, &r);
		while (!r.in)
			usleep(1000);
		t0 = now_ms();
		__dusk_impl_synchronize_rcu();
		CHECK(r.left);
		CHECK(now_ms() - t0 >= 100);
		pthread_join(t, NULL);
	}

	busy_stop = 0;
	pthread_create(&t, NULL, busy_reader, NULL);
	usleep(5000);
	t0 = now_ms();
	__dusk_impl_synchronize_rcu();
	CHECK(now_ms() - t0 < 2000);	/* never, without quiescent counting */
	busy_stop = 1;
	pthread_join(t, NULL);

	/* this thread's own section ended: nothing to wait for */
	__dusk_impl___rcu_read_lock();
	__dusk_impl___rcu_read_unlock();
	t0 = now_ms();
	__dusk_impl_synchronize_net();
	CHECK(now_ms() - t0 < 1000);

	/* call_rcu: nothing runs before a grace period; after it, in
	 * softirq context, once the reader has left */
	r = (struct reader){ .hold_ms = 200, .how = 0 };
	cb_reader = &r;
	pthread_create(&t, NULL, read_side, &r);
	while (!r.in)
		usleep(1000);
	__dusk_impl_call_rcu((struct dusk_rcu_head *)o.rcu, obj_free);
	CHECK_EQ(cb_runs, 0);
	CHECK_EQ(dusk_rcu_pending(), 1);
	__dusk_impl_rcu_barrier();
	CHECK_EQ(cb_runs, 1);
	CHECK(cb_in_softirq);
	CHECK(cb_after_reader);
	CHECK_EQ(dusk_rcu_pending(), 0);
	CHECK(in_task());
	pthread_join(t, NULL);
	cb_reader = NULL;
	CHECK_EQ(dusk_rcu_poll(), 0);
	__dusk_impl_call_rcu((struct dusk_rcu_head *)o.rcu, obj_free);
	CHECK_EQ(dusk_rcu_poll(), 1);
	CHECK_EQ(cb_runs, 2);
	/* kfree_rcu of the program's memory is refused (a WARNING) */
	__dusk_impl_kvfree_call_rcu(NULL, (dusk_rcu_callback_t)(void *)&o);
	CHECK_EQ(dusk_rcu_pending(), 0);
}

/* ---- with the fake kernel ----------------------------------------------------------- */

static struct fake_kernel fk;
static struct dusk_session *sess;
static uint64_t freed[8];
static unsigned int nr_freed, syncs;

#define SYM_KFREE	0xffffffff81300000ULL
#define SYM_SYNC	0xffffffff81500000ULL

static int fk_sym(struct fake_kernel *k, const char *name, uint64_t *addr)
{
	if (!strcmp(name, "kfree"))
		*addr = SYM_KFREE;
	else if (!strcmp(name, "synchronize_rcu"))
		*addr = SYM_SYNC;
	else
		return -ENOENT;
	return 0;
}

static uint64_t fk_call(struct fake_kernel *k, uint64_t fn,
			const uint64_t *args, unsigned int nargs)
{
	if (fn == SYM_KFREE && nr_freed < 8)
		freed[nr_freed++] = args[0];
	if (fn == SYM_SYNC)
		syncs++;
	return 0;
}

static void test_kernel(void)
{
	uint64_t k = FK_AREA_DIRECT + 0x1000, kobj = FK_AREA_DIRECT + 0x2000;
	void *kl = (void *)(uintptr_t)k, *mirror;
	unsigned int writes, before;

	fk_init(&fk);
	fk.sym = fk_sym;
	fk.call = fk_call;
	{
		struct dusk_config cfg;

		fk_config(&cfg);
		if (fk_session_open(&fk, &cfg, &sess)) {
			CHECK(0);
			return;
		}
	}
	/* A lock in kernel memory: one lock, by its kernel address or its
	 * mirror, and its word is never written. */
	writes = fk.nr_applied;
	mirror = __dusk_check(kl, 4);
	CHECK(mirror != kl);
	__dusk_impl__raw_spin_lock(kl);
	CHECK_EQ(__dusk_impl__raw_spin_trylock(mirror), 0);
	__dusk_impl__raw_spin_unlock(mirror);
	CHECK_EQ(__dusk_impl__raw_spin_trylock(kl), 1);
	__dusk_impl__raw_spin_unlock(kl);
	__dusk_impl_mutex_lock(kl);
	__dusk_impl_mutex_unlock(kl);
	CHECK(!dusk_commit(sess));
	CHECK_EQ(fk.nr_applied, writes);
	CHECK_EQ(preempt_count(), 0);

	/* synchronize_rcu: the kernel's grace period too */
	before = syncs;
	__dusk_impl_synchronize_rcu();
	CHECK_EQ(syncs, before + 1);

	/* kfree_rcu(obj, rcu) and kfree_rcu(obj): kfree in the kernel,
	 * after both grace periods */
	__dusk_impl_kvfree_call_rcu((struct dusk_rcu_head *)(uintptr_t)(kobj + 24),
				    (dusk_rcu_callback_t)(uintptr_t)24);
	__dusk_impl_kvfree_call_rcu(NULL,
				    (dusk_rcu_callback_t)(uintptr_t)(kobj + 64));
	CHECK_EQ(nr_freed, 0);
	before = syncs;
	dusk_rcu_barrier();
	CHECK_EQ(syncs, before + 1);	/* one grace period for the batch */
	CHECK_EQ(nr_freed, 2);
	CHECK_EQ(freed[0], kobj);
	CHECK_EQ(freed[1], kobj + 64);
	dusk_session_close(sess);
	fk_deinit(&fk);
}

int main(void)
{
	test_counts();
	test_exclusion();
	test_sleeping_locks();
	test_errors();
	test_reports();
	test_hook_context();
	test_rcu();
	test_kernel();
	return check_done("test_klib_ctx");
}
