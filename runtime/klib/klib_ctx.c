// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The kernel's execution context at user level: preempt count, interrupt
 * flag, locks, RCU, delays (see klib_ctx.h for what this means for a
 * module, locks on kernel objects in particular).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kconst.h"
#include "klib.h"
#include "klib_ctx.h"
#include "log.h"
#include "shadow.h"
#include "util.h"
#include "plock.h"
#include "hook.h"

#define DUSK_CTX_MAX_HELD	32
#define DUSK_CTX_MOD_DEPTH	8
/* CONFIG_RCU_CPU_STALL_TIMEOUT of the target kernel (0: it has no stall
 * detector, nor has the program's RCU). */
#define DUSK_RCU_STALL_MS	(DUSK_K_CONFIG_RCU_CPU_STALL_TIMEOUT * 1000)

/* What instrumented code's own preempt_count() tests and irqs_disabled()
 * reads (klib_ctx.h) must be the target kernel's. */
_Static_assert(DUSK_PREEMPT_OFFSET == DUSK_K_PREEMPT_OFFSET &&
	       DUSK_SOFTIRQ_OFFSET == DUSK_K_SOFTIRQ_OFFSET &&
	       DUSK_SOFTIRQ_DISABLE_OFFSET == DUSK_K_SOFTIRQ_DISABLE_OFFSET &&
	       DUSK_SOFTIRQ_LOCK_OFFSET == DUSK_K_SOFTIRQ_LOCK_OFFSET &&
	       DUSK_HARDIRQ_OFFSET == DUSK_K_HARDIRQ_OFFSET &&
	       DUSK_NMI_OFFSET == DUSK_K_NMI_OFFSET &&
	       DUSK_PREEMPT_MASK == DUSK_K_PREEMPT_MASK &&
	       DUSK_SOFTIRQ_MASK == DUSK_K_SOFTIRQ_MASK &&
	       DUSK_HARDIRQ_MASK == DUSK_K_HARDIRQ_MASK &&
	       DUSK_NMI_MASK == DUSK_K_NMI_MASK &&
	       DUSK_PREEMPT_NEED_RESCHED == DUSK_K_PREEMPT_NEED_RESCHED &&
	       DUSK_PREEMPT_ENABLED == DUSK_K_PREEMPT_ENABLED,
	       "klib_ctx.h's preempt count is not the target kernel's (kconst.h)");
_Static_assert(DUSK_X86_EFLAGS_FIXED == DUSK_K_X86_EFLAGS_FIXED &&
	       DUSK_X86_EFLAGS_IF == DUSK_K_X86_EFLAGS_IF,
	       "klib_ctx.h's EFLAGS bits are not the target kernel's (kconst.h)");

enum dusk_lock_mode {
	DUSK_LOCK_SPIN,
	DUSK_LOCK_READ,
	DUSK_LOCK_WRITE,
	DUSK_LOCK_MUTEX,
	DUSK_LOCK_RWSEM_READ,
	DUSK_LOCK_RWSEM_WRITE,
	DUSK_LOCK_SEM,
};

static inline int dusk_lock_shared(enum dusk_lock_mode mode)
{
	return mode == DUSK_LOCK_READ || mode == DUSK_LOCK_RWSEM_READ;
}

struct dusk_held {
	uintptr_t key;
	enum dusk_lock_mode mode;
};

struct dusk_ctx {
	/* What instrumented code reads and writes as __preempt_count. */
	unsigned int preempt;
	unsigned long flags;
	int cpu;			/* -1: the module runtime's */
	int rcu;
	int migrate;
	uint64_t qs;			/* quiescent transitions (atomic) */
	int registered;
	int in_rcu_cb;
	unsigned int locks;		/* spin/rw locks and mutexes held */
	unsigned int nr_held;		/* of them, in held[] */
	struct dusk_held held[DUSK_CTX_MAX_HELD];
	struct dusk_ctx_saved mod_saved[DUSK_CTX_MOD_DEPTH];
	unsigned int mod_depth;
	/* A hook invocation's context, not known yet (dusk_ctx_enter_hook):
	 * resolve(resolve_arg) gives it, for mod_saved[resolve_slot]. */
	dusk_ctx_resolve_fn resolve;
	void *resolve_arg;
	unsigned int resolve_slot;
	int tid;
	struct dusk_list node;		/* in dusk_ctx_all, when registered */
};

static __thread struct dusk_ctx dusk_ctx_tls = {
	.preempt = DUSK_PREEMPT_ENABLED,
	.flags = DUSK_X86_EFLAGS_FIXED | DUSK_X86_EFLAGS_IF,
	.cpu = -1,
};

static pthread_mutex_t dusk_ctx_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dusk_list dusk_ctx_all = { &dusk_ctx_all, &dusk_ctx_all };
static pthread_key_t dusk_ctx_key;
static pthread_once_t dusk_ctx_once = PTHREAD_ONCE_INIT;

static void dusk_ctx_unregister(void *arg)
{
	struct dusk_ctx *c = arg;

	pthread_mutex_lock(&dusk_ctx_mu);
	if (c->registered) {
		dusk_list_del(&c->node);
		c->registered = 0;
	}
	pthread_mutex_unlock(&dusk_ctx_mu);
}

static void dusk_ctx_key_init(void)
{
	pthread_key_create(&dusk_ctx_key, dusk_ctx_unregister);
}

static void dusk_ctx_register(struct dusk_ctx *c)
{
	pthread_once(&dusk_ctx_once, dusk_ctx_key_init);
	pthread_mutex_lock(&dusk_ctx_mu);
	if (!c->registered) {
		dusk_list_add_tail(&c->node, &dusk_ctx_all);
		c->registered = 1;
		c->tid = dusk_klib_tid();
	}
	pthread_mutex_unlock(&dusk_ctx_mu);
	/* The destructor runs at thread exit, while the TLS is alive. */
	pthread_setspecific(dusk_ctx_key, c);
}

static inline struct dusk_ctx *dusk_ctx_self(void)
{
	struct dusk_ctx *c = &dusk_ctx_tls;

	if (__builtin_expect(!c->registered, 0))
		dusk_ctx_register(c);
	return c;
}

static void dusk_ctx_resolve(struct dusk_ctx *c);

/*
 * This thread's context with its preempt count as the kernel has it: a
 * hook invocation's context not known yet (dusk_ctx_enter_hook()) is
 * found first. What only adds to the count and takes it back (locks,
 * bottom halves, the RCU nesting) does not need it; what reads the count
 * or reports it does.
 */
static inline struct dusk_ctx *dusk_ctx_known(void)
{
	struct dusk_ctx *c = dusk_ctx_self();

	if (__builtin_expect(c->resolve != NULL, 0))
		dusk_ctx_resolve(c);
	return c;
}

static inline unsigned int dusk_ctx_count(const struct dusk_ctx *c)
{
	return __atomic_load_n(&c->preempt, __ATOMIC_RELAXED) &
	       ~DUSK_PREEMPT_NEED_RESCHED;
}

/* In an RCU read-side critical section, as 6.1's RCU sees it. */
static bool dusk_ctx_reader(const struct dusk_ctx *c)
{
	return dusk_ctx_count(c) ||
	       __atomic_load_n(&c->rcu, __ATOMIC_RELAXED) > 0 ||
	       !(__atomic_load_n(&c->flags, __ATOMIC_RELAXED) &
		 DUSK_X86_EFLAGS_IF);
}

/* Called wherever this thread may just have left a read-side section. */
static inline void dusk_ctx_qs(struct dusk_ctx *c)
{
	if (!dusk_ctx_reader(c))
		__atomic_add_fetch(&c->qs, 1, __ATOMIC_RELEASE);
}

static inline void dusk_ctx_add(struct dusk_ctx *c, unsigned int cnt)
{
	__atomic_store_n(&c->preempt, c->preempt + cnt, __ATOMIC_RELAXED);
}

/* preempt count -= cnt, reporting an underflow of the bits cnt counts in
 * (as DEBUG_PREEMPT's preempt_count_sub() does) instead of wrapping. */
static void dusk_ctx_sub(struct dusk_ctx *c, unsigned int cnt, const char *what)
{
	unsigned int pc = dusk_ctx_count(c);
	unsigned int mask = cnt >= DUSK_HARDIRQ_OFFSET ? ~0U :
			    cnt >= DUSK_SOFTIRQ_OFFSET ? DUSK_SOFTIRQ_MASK :
			    DUSK_PREEMPT_MASK;

	if (((pc & mask) < (cnt & mask) || pc < cnt) && c->resolve) {
		/* Not an underflow, maybe, over the hook's own context. */
		dusk_ctx_resolve(c);
		pc = dusk_ctx_count(c);
	}
	if ((pc & mask) < (cnt & mask) || pc < cnt) {
		dusk_klib_warn(1, NULL,
			       "%s: preempt count %08x underflows by %#x (unbalanced disable/enable)",
			       what, pc, cnt);
		return;
	}
	__atomic_store_n(&c->preempt, c->preempt - cnt, __ATOMIC_RELAXED);
	dusk_ctx_qs(c);
}

static void dusk_ctx_irq_off(struct dusk_ctx *c)
{
	__atomic_store_n(&c->flags, c->flags & ~DUSK_X86_EFLAGS_IF,
			 __ATOMIC_RELAXED);
}

static void dusk_ctx_irq_restore(struct dusk_ctx *c, unsigned long flags)
{
	if (flags & DUSK_X86_EFLAGS_IF) {
		__atomic_store_n(&c->flags, c->flags | DUSK_X86_EFLAGS_IF,
				 __ATOMIC_RELAXED);
		dusk_ctx_qs(c);
	}
}

/* ---- for the module runtime --------------------------------------------- */

int dusk_ctx_cpu(void)
{
	const struct dusk_ctx *c = &dusk_ctx_tls;

	if (c->cpu >= 0)
		return c->cpu;
	return dusk_klib_host.cpu ? (int)dusk_klib_host.cpu() : 0;
}

unsigned int dusk_ctx_preempt_count(void)
{
	return dusk_ctx_count(dusk_ctx_known());
}

bool dusk_ctx_irqs_disabled(void)
{
	return !(dusk_ctx_tls.flags & DUSK_X86_EFLAGS_IF);
}

bool dusk_ctx_atomic(void)
{
	return dusk_ctx_preempt_count() || dusk_ctx_irqs_disabled();
}

unsigned int dusk_ctx_locks_held(void)
{
	return dusk_ctx_tls.locks;
}

static unsigned int dusk_ctx_kind_offset(enum dusk_ctx_kind kind)
{
	switch (kind) {
	case DUSK_CTX_SOFTIRQ:
		return DUSK_SOFTIRQ_OFFSET;
	case DUSK_CTX_HARDIRQ:
		return DUSK_HARDIRQ_OFFSET;
	case DUSK_CTX_SOFTIRQ_BH:
		return DUSK_SOFTIRQ_OFFSET + DUSK_SOFTIRQ_DISABLE_OFFSET;
	default:
		return 0;
	}
}

void dusk_ctx_enter(enum dusk_ctx_kind kind, int cpu,
		    struct dusk_ctx_saved *saved)
{
	/* An invocation inside a hook's: the hook's context first. */
	struct dusk_ctx *c = dusk_ctx_known();

	saved->preempt = c->preempt;
	saved->flags = c->flags;
	saved->cpu = c->cpu;
	saved->rcu = c->rcu;
	saved->locks = c->locks;
	saved->kind = kind;
	saved->rcu_held = 0;
	if (cpu >= 0)
		c->cpu = cpu;
	dusk_ctx_add(c, dusk_ctx_kind_offset(kind));
	if (kind == DUSK_CTX_HARDIRQ)
		dusk_ctx_irq_off(c);
}

static const char *const dusk_ctx_kind_names[] = {
	[DUSK_CTX_TASK] = "task",
	[DUSK_CTX_SOFTIRQ] = "softirq",
	[DUSK_CTX_HARDIRQ] = "hardirq",
	[DUSK_CTX_SOFTIRQ_BH] = "softirq",
};

int dusk_ctx_leave(const struct dusk_ctx_saved *saved)
{
	struct dusk_ctx *c = dusk_ctx_self();
	unsigned int want = saved->preempt + dusk_ctx_kind_offset(saved->kind);
	unsigned long want_if = saved->kind == DUSK_CTX_HARDIRQ ? 0 :
				saved->flags & DUSK_X86_EFLAGS_IF;
	int want_rcu = saved->rcu + saved->rcu_held;
	int err = 0;

	if (c->preempt != want || c->rcu != want_rcu ||
	    c->locks != saved->locks ||
	    (c->flags & DUSK_X86_EFLAGS_IF) != want_if) {
		char held[256] = "";
		size_t n = 0;
		unsigned int i;

		for (i = 0; i < c->nr_held && n + 24 < sizeof(held); i++)
			n += (size_t)snprintf(held + n, sizeof(held) - n, " %#lx",
					      (unsigned long)c->held[i].key);
		dusk_klib_warn(1, NULL,
			       "%s invocation ended unbalanced: preempt count %08x (entered with %08x), rcu_read_lock nesting %d (was %d), %u lock(s) held (was %u)%s%s, interrupts %s",
			       dusk_ctx_kind_names[saved->kind],
			       c->preempt & ~DUSK_PREEMPT_NEED_RESCHED,
			       want & ~DUSK_PREEMPT_NEED_RESCHED, c->rcu,
			       want_rcu, c->locks, saved->locks,
			       *held ? ":" : "", held,
			       c->flags & DUSK_X86_EFLAGS_IF ? "enabled" :
							       "disabled");
		err = -EDEADLK;
	}
	/* As the kernel does after a softirq handler: restore the count.
	 * Locks still held stay held (other threads will block on them, as
	 * CPUs would spin in the kernel). */
	__atomic_store_n(&c->preempt, saved->preempt, __ATOMIC_RELAXED);
	__atomic_store_n(&c->flags, saved->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&c->rcu, saved->rcu, __ATOMIC_RELAXED);
	c->cpu = saved->cpu;
	dusk_ctx_qs(c);
	return err;
}

/* The context of the hook invocation in mod_saved[resolve_slot] is looked
 * at for the first time: find it, and count it from now on. */
static void dusk_ctx_resolve(struct dusk_ctx *c)
{
	dusk_ctx_resolve_fn fn = c->resolve;
	struct dusk_ctx_saved *sv = &c->mod_saved[c->resolve_slot];
	enum dusk_ctx_kind kind;

	c->resolve = NULL;	/* fn may look at the context: as entered */
	kind = fn(c->resolve_arg);
	if (kind == DUSK_CTX_HARDIRQ)	/* not a hook's: keep IF alone */
		kind = DUSK_CTX_SOFTIRQ;
	sv->kind = kind;
	dusk_ctx_add(c, dusk_ctx_kind_offset(kind));
}

void dusk_ctx_enter_hook(enum dusk_ctx_kind kind, dusk_ctx_resolve_fn resolve,
			 void *arg)
{
	struct dusk_ctx *c = dusk_ctx_self();
	struct dusk_ctx_saved *sv;

	if (c->mod_depth < DUSK_CTX_MOD_DEPTH) {
		sv = &c->mod_saved[c->mod_depth];
		/* Until resolved, counted as the task context it adds
		 * nothing to. */
		dusk_ctx_enter(resolve ? DUSK_CTX_TASK : kind, -1, sv);
		/* nf_hook(): rcu_read_lock() around the hooks. */
		sv->rcu_held = 1;
		__atomic_store_n(&c->rcu, c->rcu + 1, __ATOMIC_RELAXED);
		if (resolve) {
			c->resolve_arg = arg;
			c->resolve_slot = c->mod_depth;
			c->resolve = resolve;
		}
	}
	c->mod_depth++;
}

int dusk_ctx_leave_hook(void)
{
	struct dusk_ctx *c = &dusk_ctx_tls;

	if (!c->mod_depth)
		return 0;
	c->mod_depth--;
	if (c->mod_depth >= DUSK_CTX_MOD_DEPTH)
		return 0;
	/* Never looked at: nothing to find now. */
	if (c->resolve && c->resolve_slot == c->mod_depth)
		c->resolve = NULL;
	return dusk_ctx_leave(&c->mod_saved[c->mod_depth]);
}

/* ---- called by instrumented code ---------------------------------------- */

DUSK_EXPORT void *__dusk_preempt_count_ptr(void)
{
	return &dusk_ctx_known()->preempt;
}

DUSK_EXPORT unsigned long __dusk_irq_flags(void)
{
	return dusk_ctx_self()->flags;
}

DUSK_EXPORT void __dusk_irq_disable(void)
{
	dusk_ctx_irq_off(dusk_ctx_self());
}

DUSK_EXPORT void __dusk_irq_enable(void)
{
	dusk_ctx_irq_restore(dusk_ctx_self(), DUSK_X86_EFLAGS_IF);
}

/* ---- sleeping in atomic context ------------------------------------------ */

/* What the kernel says with CONFIG_DEBUG_ATOMIC_SLEEP (Debian's kernel
 * only says "scheduling while atomic" when it really sleeps), once per
 * call site. */
void dusk_ctx_sleep_begin(void)
{
	if (dusk_klib_host.sleep_begin)
		dusk_klib_host.sleep_begin();
}

void dusk_ctx_sleep_end(void)
{
	if (dusk_klib_host.sleep_end)
		dusk_klib_host.sleep_end();
}

/* The same, for a sleep under mu: mu is let go around the host's hooks,
 * which may wait for the program lock, whose holder may want mu. */
void dusk_ctx_sleep_begin_mu(pthread_mutex_t *mu)
{
	if (!dusk_klib_host.sleep_begin)
		return;
	pthread_mutex_unlock(mu);
	dusk_klib_host.sleep_begin();
	pthread_mutex_lock(mu);
}

void dusk_ctx_sleep_end_mu(pthread_mutex_t *mu)
{
	if (!dusk_klib_host.sleep_end)
		return;
	pthread_mutex_unlock(mu);
	dusk_klib_host.sleep_end();
	pthread_mutex_lock(mu);
}

static void dusk_ctx_might_sleep(const char *what, const void *site)
{
	static const void *sites[64];
	static unsigned int nr_sites;
	struct dusk_ctx *c = dusk_ctx_self();
	unsigned int i;
	int seen = 0;

	if (!dusk_ctx_reader(c))
		return;
	pthread_mutex_lock(&dusk_ctx_mu);
	for (i = 0; i < nr_sites && !seen; i++)
		seen = sites[i] == site;
	if (!seen && nr_sites < DUSK_ARRAY_SIZE(sites))
		sites[nr_sites++] = site;
	pthread_mutex_unlock(&dusk_ctx_mu);
	if (seen)
		return;
	c = dusk_ctx_known();	/* the numbers, as the kernel has them */
	dusk_klib_warn(1, NULL,
		       "BUG: sleeping function called from invalid context: %s with in_atomic(): %d, irqs_disabled(): %d, rcu nesting: %d, preempt count %08x",
		       what, !!dusk_ctx_count(c),
		       !(c->flags & DUSK_X86_EFLAGS_IF), c->rcu,
		       dusk_ctx_count(c));
}

/* ---- the lock table ------------------------------------------------------ */

#define DUSK_LOCK_HASH	1024

struct dusk_lock {
	struct dusk_lock *next;
	uintptr_t key;
	unsigned int refs;		/* holders and waiters */
	unsigned int readers;
	int exclusive;			/* a spin lock, writer or mutex holder */
	struct dusk_ctx *owner;		/* the exclusive holder's thread */
	uintptr_t holder;		/* ... and task (dusk_lock_holder) */
	int is_sem;			/* a counting semaphore: */
	unsigned int count, initial;	/* its count, and sema_init()'s */
	pthread_cond_t cv;
};

static pthread_mutex_t dusk_locks_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dusk_lock *dusk_locks[DUSK_LOCK_HASH];
static unsigned int dusk_locks_live;

static unsigned int dusk_lock_slot(uintptr_t key)
{
	return (unsigned int)(((uint64_t)key * DUSK_SHADOW_HASH_MUL) >> 54) &
	       (DUSK_LOCK_HASH - 1);
}

/* Under dusk_locks_mu. */
static struct dusk_lock *dusk_lock_find(uintptr_t key)
{
	struct dusk_lock *l;

	for (l = dusk_locks[dusk_lock_slot(key)]; l; l = l->next)
		if (l->key == key)
			return l;
	return NULL;
}

static struct dusk_lock *dusk_lock_get(uintptr_t key)
{
	struct dusk_lock *l = dusk_lock_find(key);
	unsigned int slot;

	if (l)
		return l;
	l = calloc(1, sizeof(*l));
	if (!l) {
		pthread_mutex_unlock(&dusk_locks_mu);
		dusk_klib_bug(NULL, "out of memory for the lock table");
	}
	l->key = key;
	pthread_cond_init(&l->cv, NULL);
	slot = dusk_lock_slot(key);
	l->next = dusk_locks[slot];
	dusk_locks[slot] = l;
	dusk_locks_live++;
	return l;
}

static void dusk_lock_put(struct dusk_lock *l)
{
	struct dusk_lock **pp;

	if (l->refs)
		l->refs--;
	/* A semaphore's count outlives its holders until it is back at
	 * what sema_init() wrote (the word is never written). */
	if (l->refs || (l->is_sem && l->count != l->initial))
		return;
	for (pp = &dusk_locks[dusk_lock_slot(l->key)]; *pp != l;
	     pp = &(*pp)->next)
		;
	*pp = l->next;
	pthread_cond_destroy(&l->cv);
	free(l);
	dusk_locks_live--;
}

/* Under dusk_locks_mu. */
static void dusk_held_add(struct dusk_ctx *c, uintptr_t key,
			  enum dusk_lock_mode mode)
{
	c->locks++;
	if (c->nr_held < DUSK_CTX_MAX_HELD)
		c->held[c->nr_held++] = (struct dusk_held){ key, mode };
}

/* Under dusk_locks_mu (as dusk_held_add). */
static void dusk_held_del(struct dusk_ctx *c, uintptr_t key)
{
	unsigned int i;

	for (i = c->nr_held; i-- > 0;) {
		if (c->held[i].key == key) {
			memmove(&c->held[i], &c->held[i + 1],
				(c->nr_held - i - 1) * sizeof(c->held[0]));
			c->nr_held--;
			c->locks--;
			return;
		}
	}
	if (c->locks > c->nr_held)
		c->locks--;	/* one of those held[] had no room for */
}

static int dusk_held_has(const struct dusk_ctx *c, uintptr_t key,
			 enum dusk_lock_mode mode)
{
	unsigned int i;

	for (i = 0; i < c->nr_held; i++)
		if (c->held[i].key == key && c->held[i].mode == mode)
			return 1;
	return 0;
}

static const char *const dusk_lock_names[] = {
	[DUSK_LOCK_SPIN] = "spinlock",
	[DUSK_LOCK_READ] = "rwlock (read)",
	[DUSK_LOCK_WRITE] = "rwlock (write)",
	[DUSK_LOCK_MUTEX] = "mutex",
	[DUSK_LOCK_RWSEM_READ] = "rw_semaphore (read)",
	[DUSK_LOCK_RWSEM_WRITE] = "rw_semaphore (write)",
	[DUSK_LOCK_SEM] = "semaphore",
};

/*
 * The lock's identity: a mirror address counts as its kernel address, and
 * the kernel copy of one of the program's objects (the module runtime's,
 * shadow.h) as the object itself, so that a lock is one lock however the
 * module reaches it.
 */
uintptr_t dusk_klib_obj_key(const void *obj)
{
	uintptr_t k = dusk_klib_ident(obj);
	void *u;

	if (k >= DUSK_KERNEL_MIN && dusk_shadow_user_of) {
		u = dusk_shadow_user_of(k, 1);
		if (u)
			return (uintptr_t)u;
	}
	return k;
}

/*
 * Who holds a lock, as the kernel sees it: the task. A callback's is its
 * caller (the kernel's current), whichever program thread runs it: the
 * start and stop of one seq_read may run on two threads, and a thread
 * that served one task's start may serve another's next. Otherwise the
 * program thread itself.
 */
static uintptr_t dusk_lock_holder(struct dusk_ctx *c)
{
	uint64_t task = dusk_invocation_task();

	return task ? (uintptr_t)task : (uintptr_t)c;
}

static uintptr_t dusk_lock_key(const void *lock, enum dusk_lock_mode mode)
{
	if ((uintptr_t)lock < DUSK_PAGE_SIZE)
		dusk_klib_bug(NULL,
			      "kernel NULL pointer dereference: %s at %p",
			      dusk_lock_names[mode], lock);
	return dusk_klib_obj_key(lock);
}

/* Take lock: exclusive (spin, write, mutex) or shared (read). trylock:
 * return 0 instead of waiting. */
static int dusk_lock_acquire(const void *lock, enum dusk_lock_mode mode,
			     int trylock)
{
	struct dusk_ctx *c = dusk_ctx_self();
	uintptr_t key = dusk_lock_key(lock, mode);
	uintptr_t holder = dusk_lock_holder(c);
	int shared = dusk_lock_shared(mode);
	struct dusk_lock *l;

	pthread_mutex_lock(&dusk_locks_mu);
	l = dusk_lock_get(key);
	if (!trylock && ((l->exclusive && l->holder == holder) ||
			 (!shared && (dusk_held_has(c, key, DUSK_LOCK_READ) ||
				      dusk_held_has(c, key,
						    DUSK_LOCK_RWSEM_READ))))) {
		pthread_mutex_unlock(&dusk_locks_mu);
		/* The kernel would spin (or sleep) here forever. */
		dusk_klib_bug(NULL, "%s recursion on %p: this task holds it already (deadlock)",
			      dusk_lock_names[mode], lock);
	}
	if (trylock && (l->exclusive || (!shared && l->readers))) {
		pthread_mutex_unlock(&dusk_locks_mu);
		return 0;	/* held: never unused, nothing to free */
	}
	l->refs++;
	/* Taken again meanwhile (while this thread retook the program
	 * lock): sleep again. */
	while (l->exclusive || (!shared && l->readers)) {
		dusk_ctx_sleep_begin_mu(&dusk_locks_mu);
		while (l->exclusive || (!shared && l->readers))
			pthread_cond_wait(&l->cv, &dusk_locks_mu);
		dusk_ctx_sleep_end_mu(&dusk_locks_mu);
	}
	if (shared) {
		l->readers++;
	} else {
		l->exclusive = 1;
		l->owner = c;
		l->holder = holder;
	}
	dusk_held_add(c, key, mode);
	pthread_mutex_unlock(&dusk_locks_mu);
	return 1;
}

static void dusk_lock_release(const void *lock, enum dusk_lock_mode mode)
{
	struct dusk_ctx *c = dusk_ctx_self();
	uintptr_t key = dusk_lock_key(lock, mode);
	int shared = dusk_lock_shared(mode);
	struct dusk_ctx *owner = NULL;
	uintptr_t holder = 0;
	struct dusk_lock *l;

	pthread_mutex_lock(&dusk_locks_mu);
	l = dusk_lock_find(key);
	if (!l || (shared ? !l->readers : !l->exclusive)) {
		pthread_mutex_unlock(&dusk_locks_mu);
		dusk_klib_warn(1, NULL, "BUG: %s %p unlocked but not locked",
			       dusk_lock_names[mode], lock);
		return;
	}
	if (shared) {
		l->readers--;
	} else {
		owner = l->owner;
		holder = l->holder;
		l->exclusive = 0;
		l->owner = NULL;
		l->holder = 0;
	}
	pthread_cond_broadcast(&l->cv);
	dusk_lock_put(l);
	/* The holder may be another thread (a spin lock may be released on
	 * another CPU): the lock leaves its books. Under dusk_locks_mu, as
	 * every change to them. */
	dusk_held_del(owner ? owner : c, key);
	pthread_mutex_unlock(&dusk_locks_mu);
	if (mode == DUSK_LOCK_MUTEX && holder != dusk_lock_holder(c))
		dusk_klib_warn(1, NULL,
			       "mutex %p unlocked by a task that is not its owner (thread %d; taken on thread %d)",
			       lock, c->tid, owner ? owner->tid : -1);
}

/* ---- spin locks ---------------------------------------------------------- */

DUSK_EXPORT void __dusk_impl__raw_spin_lock(void *lock)
{
	dusk_ctx_add(dusk_ctx_self(), DUSK_PREEMPT_OFFSET);
	dusk_lock_acquire(lock, DUSK_LOCK_SPIN, 0);
}

DUSK_EXPORT void __dusk_impl__raw_spin_lock_nested(void *lock, int subclass)
{
	__dusk_impl__raw_spin_lock(lock);
}

DUSK_EXPORT void __dusk_impl__raw_spin_lock_bh(void *lock)
{
	dusk_ctx_add(dusk_ctx_self(), DUSK_SOFTIRQ_LOCK_OFFSET);
	dusk_lock_acquire(lock, DUSK_LOCK_SPIN, 0);
}

DUSK_EXPORT void __dusk_impl__raw_spin_lock_irq(void *lock)
{
	struct dusk_ctx *c = dusk_ctx_self();

	dusk_ctx_irq_off(c);
	dusk_ctx_add(c, DUSK_PREEMPT_OFFSET);
	dusk_lock_acquire(lock, DUSK_LOCK_SPIN, 0);
}

DUSK_EXPORT unsigned long __dusk_impl__raw_spin_lock_irqsave(void *lock)
{
	struct dusk_ctx *c = dusk_ctx_self();
	unsigned long flags = c->flags;

	dusk_ctx_irq_off(c);
	dusk_ctx_add(c, DUSK_PREEMPT_OFFSET);
	dusk_lock_acquire(lock, DUSK_LOCK_SPIN, 0);
	return flags;
}

DUSK_EXPORT unsigned long __dusk_impl__raw_spin_lock_irqsave_nested(void *lock,
								 int subclass)
{
	return __dusk_impl__raw_spin_lock_irqsave(lock);
}

DUSK_EXPORT int __dusk_impl__raw_spin_trylock(void *lock)
{
	struct dusk_ctx *c = dusk_ctx_self();

	dusk_ctx_add(c, DUSK_PREEMPT_OFFSET);
	if (dusk_lock_acquire(lock, DUSK_LOCK_SPIN, 1))
		return 1;
	dusk_ctx_sub(c, DUSK_PREEMPT_OFFSET, "spin_trylock");
	return 0;
}

DUSK_EXPORT int __dusk_impl__raw_spin_trylock_bh(void *lock)
{
	struct dusk_ctx *c = dusk_ctx_self();

	dusk_ctx_add(c, DUSK_SOFTIRQ_LOCK_OFFSET);
	if (dusk_lock_acquire(lock, DUSK_LOCK_SPIN, 1))
		return 1;
	dusk_ctx_sub(c, DUSK_SOFTIRQ_LOCK_OFFSET, "spin_trylock_bh");
	return 0;
}

DUSK_EXPORT void __dusk_impl__raw_spin_unlock(void *lock)
{
	dusk_lock_release(lock, DUSK_LOCK_SPIN);
	dusk_ctx_sub(dusk_ctx_self(), DUSK_PREEMPT_OFFSET, "spin_unlock");
}

DUSK_EXPORT void __dusk_impl__raw_spin_unlock_bh(void *lock)
{
	dusk_lock_release(lock, DUSK_LOCK_SPIN);
	dusk_ctx_sub(dusk_ctx_self(), DUSK_SOFTIRQ_LOCK_OFFSET,
		     "spin_unlock_bh");
}

DUSK_EXPORT void __dusk_impl__raw_spin_unlock_irq(void *lock)
{
	struct dusk_ctx *c = dusk_ctx_self();

	dusk_lock_release(lock, DUSK_LOCK_SPIN);
	dusk_ctx_irq_restore(c, DUSK_X86_EFLAGS_IF);
	dusk_ctx_sub(c, DUSK_PREEMPT_OFFSET, "spin_unlock_irq");
}

DUSK_EXPORT void __dusk_impl__raw_spin_unlock_irqrestore(void *lock,
							 unsigned long flags)
{
	struct dusk_ctx *c = dusk_ctx_self();

	dusk_lock_release(lock, DUSK_LOCK_SPIN);
	dusk_ctx_irq_restore(c, flags);
	dusk_ctx_sub(c, DUSK_PREEMPT_OFFSET, "spin_unlock_irqrestore");
}

/* ---- rwlocks -------------------------------------------------------------- */

static void dusk_rw_lock(void *lock, enum dusk_lock_mode mode,
			 unsigned int cnt, int irq_off)
{
	struct dusk_ctx *c = dusk_ctx_self();

	if (irq_off)
		dusk_ctx_irq_off(c);
	dusk_ctx_add(c, cnt);
	dusk_lock_acquire(lock, mode, 0);
}

static void dusk_rw_unlock(void *lock, enum dusk_lock_mode mode,
			   unsigned int cnt, int irq_restore,
			   unsigned long flags)
{
	struct dusk_ctx *c = dusk_ctx_self();

	dusk_lock_release(lock, mode);
	if (irq_restore)
		dusk_ctx_irq_restore(c, flags);
	dusk_ctx_sub(c, cnt, mode == DUSK_LOCK_READ ? "read_unlock" :
						       "write_unlock");
}

DUSK_EXPORT void __dusk_impl__raw_read_lock(void *lock)
{
	dusk_rw_lock(lock, DUSK_LOCK_READ, DUSK_PREEMPT_OFFSET, 0);
}

DUSK_EXPORT void __dusk_impl__raw_read_lock_bh(void *lock)
{
	dusk_rw_lock(lock, DUSK_LOCK_READ, DUSK_SOFTIRQ_LOCK_OFFSET, 0);
}

DUSK_EXPORT void __dusk_impl__raw_read_lock_irq(void *lock)
{
	dusk_rw_lock(lock, DUSK_LOCK_READ, DUSK_PREEMPT_OFFSET, 1);
}

DUSK_EXPORT unsigned long __dusk_impl__raw_read_lock_irqsave(void *lock)
{
	unsigned long flags = dusk_ctx_self()->flags;

	dusk_rw_lock(lock, DUSK_LOCK_READ, DUSK_PREEMPT_OFFSET, 1);
	return flags;
}

DUSK_EXPORT int __dusk_impl__raw_read_trylock(void *lock)
{
	struct dusk_ctx *c = dusk_ctx_self();

	dusk_ctx_add(c, DUSK_PREEMPT_OFFSET);
	if (dusk_lock_acquire(lock, DUSK_LOCK_READ, 1))
		return 1;
	dusk_ctx_sub(c, DUSK_PREEMPT_OFFSET, "read_trylock");
	return 0;
}

DUSK_EXPORT void __dusk_impl__raw_read_unlock(void *lock)
{
	dusk_rw_unlock(lock, DUSK_LOCK_READ, DUSK_PREEMPT_OFFSET, 0, 0);
}

DUSK_EXPORT void __dusk_impl__raw_read_unlock_bh(void *lock)
{
	dusk_rw_unlock(lock, DUSK_LOCK_READ, DUSK_SOFTIRQ_LOCK_OFFSET, 0, 0);
}

DUSK_EXPORT void __dusk_impl__raw_read_unlock_irq(void *lock)
{
	dusk_rw_unlock(lock, DUSK_LOCK_READ, DUSK_PREEMPT_OFFSET, 1,
		       DUSK_X86_EFLAGS_IF);
}

DUSK_EXPORT void __dusk_impl__raw_read_unlock_irqrestore(void *lock,
							 unsigned long flags)
{
	dusk_rw_unlock(lock, DUSK_LOCK_READ, DUSK_PREEMPT_OFFSET, 1, flags);
}

DUSK_EXPORT void __dusk_impl__raw_write_lock(void *lock)
{
	dusk_rw_lock(lock, DUSK_LOCK_WRITE, DUSK_PREEMPT_OFFSET, 0);
}

DUSK_EXPORT void __dusk_impl__raw_write_lock_nested(void *lock, int subclass)
{
	__dusk_impl__raw_write_lock(lock);
}

DUSK_EXPORT void __dusk_impl__raw_write_lock_bh(void *lock)
{
	dusk_rw_lock(lock, DUSK_LOCK_WRITE, DUSK_SOFTIRQ_LOCK_OFFSET, 0);
}

DUSK_EXPORT void __dusk_impl__raw_write_lock_irq(void *lock)
{
	dusk_rw_lock(lock, DUSK_LOCK_WRITE, DUSK_PREEMPT_OFFSET, 1);
}

DUSK_EXPORT unsigned long __dusk_impl__raw_write_lock_irqsave(void *lock)
{
	unsigned long flags = dusk_ctx_self()->flags;

	dusk_rw_lock(lock, DUSK_LOCK_WRITE, DUSK_PREEMPT_OFFSET, 1);
	return flags;
}

DUSK_EXPORT int __dusk_impl__raw_write_trylock(void *lock)
{
	struct dusk_ctx *c = dusk_ctx_self();

	dusk_ctx_add(c, DUSK_PREEMPT_OFFSET);
	if (dusk_lock_acquire(lock, DUSK_LOCK_WRITE, 1))
		return 1;
	dusk_ctx_sub(c, DUSK_PREEMPT_OFFSET, "write_trylock");
	return 0;
}

DUSK_EXPORT void __dusk_impl__raw_write_unlock(void *lock)
{
	dusk_rw_unlock(lock, DUSK_LOCK_WRITE, DUSK_PREEMPT_OFFSET, 0, 0);
}

DUSK_EXPORT void __dusk_impl__raw_write_unlock_bh(void *lock)
{
	dusk_rw_unlock(lock, DUSK_LOCK_WRITE, DUSK_SOFTIRQ_LOCK_OFFSET, 0, 0);
}

DUSK_EXPORT void __dusk_impl__raw_write_unlock_irq(void *lock)
{
	dusk_rw_unlock(lock, DUSK_LOCK_WRITE, DUSK_PREEMPT_OFFSET, 1,
		       DUSK_X86_EFLAGS_IF);
}

DUSK_EXPORT void __dusk_impl__raw_write_unlock_irqrestore(void *lock,
							  unsigned long flags)
{
	dusk_rw_unlock(lock, DUSK_LOCK_WRITE, DUSK_PREEMPT_OFFSET, 1, flags);
}

/* ---- mutexes --------------------------------------------------------------- */

DUSK_EXPORT void __dusk_impl___mutex_init(void *lock, const char *name,
					  void *key)
{
	/* The lock word is the module's to initialise (mutex_init() stores
	 * it inline); the table has nothing to set up. */
}

DUSK_EXPORT void __dusk_impl_mutex_lock(void *lock)
{
	dusk_ctx_might_sleep("mutex_lock", __builtin_return_address(0));
	dusk_lock_acquire(lock, DUSK_LOCK_MUTEX, 0);
}

DUSK_EXPORT void __dusk_impl_mutex_lock_nested(void *lock,
					       unsigned int subclass)
{
	dusk_ctx_might_sleep("mutex_lock_nested", __builtin_return_address(0));
	dusk_lock_acquire(lock, DUSK_LOCK_MUTEX, 0);
}

/* No signal ever interrupts the wait at user level: 0. */
DUSK_EXPORT int __dusk_impl_mutex_lock_interruptible(void *lock)
{
	dusk_ctx_might_sleep("mutex_lock_interruptible",
			     __builtin_return_address(0));
	dusk_lock_acquire(lock, DUSK_LOCK_MUTEX, 0);
	return 0;
}

DUSK_EXPORT int __dusk_impl_mutex_lock_killable(void *lock)
{
	dusk_ctx_might_sleep("mutex_lock_killable",
			     __builtin_return_address(0));
	dusk_lock_acquire(lock, DUSK_LOCK_MUTEX, 0);
	return 0;
}

DUSK_EXPORT void __dusk_impl_mutex_lock_io(void *lock)
{
	dusk_ctx_might_sleep("mutex_lock_io", __builtin_return_address(0));
	dusk_lock_acquire(lock, DUSK_LOCK_MUTEX, 0);
}

DUSK_EXPORT int __dusk_impl_mutex_trylock(void *lock)
{
	return dusk_lock_acquire(lock, DUSK_LOCK_MUTEX, 1);
}

DUSK_EXPORT void __dusk_impl_mutex_unlock(void *lock)
{
	dusk_lock_release(lock, DUSK_LOCK_MUTEX);
}

DUSK_EXPORT bool __dusk_impl_mutex_is_locked(void *lock)
{
	uintptr_t key = dusk_lock_key(lock, DUSK_LOCK_MUTEX);
	struct dusk_lock *l;
	bool locked;

	pthread_mutex_lock(&dusk_locks_mu);
	l = dusk_lock_find(key);
	locked = l && l->exclusive;
	pthread_mutex_unlock(&dusk_locks_mu);
	return locked;
}

DUSK_EXPORT void __dusk_impl_mutex_destroy(void *lock)
{
	if (__dusk_impl_mutex_is_locked(lock))
		dusk_klib_warn(1, NULL, "mutex_destroy: mutex %p is locked",
			       lock);
}

/* ---- rw_semaphores and semaphores --------------------------------------------- */

/*
 * Sleeping locks, refused by dusk.ko as the others are: the same table.
 * A kernel rw_semaphore such as net_rwsem excludes the program's threads
 * only (klib_ctx.h). No signal ever interrupts a wait here: the
 * interruptible and killable forms return 0.
 */
DUSK_EXPORT void __dusk_impl_down_read(void *sem)
{
	dusk_ctx_might_sleep("down_read", __builtin_return_address(0));
	dusk_lock_acquire(sem, DUSK_LOCK_RWSEM_READ, 0);
}

DUSK_EXPORT int __dusk_impl_down_read_interruptible(void *sem)
{
	dusk_ctx_might_sleep("down_read_interruptible",
			     __builtin_return_address(0));
	dusk_lock_acquire(sem, DUSK_LOCK_RWSEM_READ, 0);
	return 0;
}

DUSK_EXPORT int __dusk_impl_down_read_killable(void *sem)
{
	dusk_ctx_might_sleep("down_read_killable",
			     __builtin_return_address(0));
	dusk_lock_acquire(sem, DUSK_LOCK_RWSEM_READ, 0);
	return 0;
}

DUSK_EXPORT int __dusk_impl_down_read_trylock(void *sem)
{
	return dusk_lock_acquire(sem, DUSK_LOCK_RWSEM_READ, 1);
}

DUSK_EXPORT void __dusk_impl_up_read(void *sem)
{
	dusk_lock_release(sem, DUSK_LOCK_RWSEM_READ);
}

DUSK_EXPORT void __dusk_impl_down_read_non_owner(void *sem)
{
	__dusk_impl_down_read(sem);
}

DUSK_EXPORT void __dusk_impl_up_read_non_owner(void *sem)
{
	dusk_lock_release(sem, DUSK_LOCK_RWSEM_READ);
}

DUSK_EXPORT void __dusk_impl_down_write(void *sem)
{
	dusk_ctx_might_sleep("down_write", __builtin_return_address(0));
	dusk_lock_acquire(sem, DUSK_LOCK_RWSEM_WRITE, 0);
}

DUSK_EXPORT int __dusk_impl_down_write_killable(void *sem)
{
	dusk_ctx_might_sleep("down_write_killable",
			     __builtin_return_address(0));
	dusk_lock_acquire(sem, DUSK_LOCK_RWSEM_WRITE, 0);
	return 0;
}

DUSK_EXPORT int __dusk_impl_down_write_trylock(void *sem)
{
	return dusk_lock_acquire(sem, DUSK_LOCK_RWSEM_WRITE, 1);
}

DUSK_EXPORT void __dusk_impl_up_write(void *sem)
{
	dusk_lock_release(sem, DUSK_LOCK_RWSEM_WRITE);
}

/* The writer becomes a reader, without letting another writer in. */
DUSK_EXPORT void __dusk_impl_downgrade_write(void *sem)
{
	struct dusk_ctx *c = dusk_ctx_self();
	uintptr_t key = dusk_lock_key(sem, DUSK_LOCK_RWSEM_WRITE);
	struct dusk_lock *l;
	unsigned int i;

	pthread_mutex_lock(&dusk_locks_mu);
	l = dusk_lock_find(key);
	if (!l || !l->exclusive) {
		pthread_mutex_unlock(&dusk_locks_mu);
		dusk_klib_warn(1, NULL, "downgrade_write: %p is not write-locked",
			       sem);
		return;
	}
	l->exclusive = 0;
	l->owner = NULL;
	l->holder = 0;
	l->readers++;
	for (i = 0; i < c->nr_held; i++)
		if (c->held[i].key == key)
			c->held[i].mode = DUSK_LOCK_RWSEM_READ;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&dusk_locks_mu);
}

/* struct semaphore's count (the target kernel's, kconst.h): the count
 * sema_init() wrote is read once, when the table first meets the
 * semaphore. */
#define DUSK_SEM_COUNT_OFFSET	DUSK_K_SEMAPHORE__COUNT
_Static_assert(DUSK_K_SIZEOF_SEMAPHORE__COUNT == sizeof(unsigned int),
	       "struct semaphore's count is read as an unsigned int");

static struct dusk_lock *dusk_sem_get(void *sem, uintptr_t *ret_key)
{
	uintptr_t key = dusk_lock_key(sem, DUSK_LOCK_SEM);
	unsigned int initial = 0;
	int have_initial = 0;
	struct dusk_lock *l;

	*ret_key = key;
	for (;;) {
		pthread_mutex_lock(&dusk_locks_mu);
		l = dusk_lock_find(key);
		if (l && l->is_sem)
			return l;	/* with dusk_locks_mu held */
		if (have_initial)
			break;
		/* Read outside the table's mutex (a fetch may be slow),
		 * then look again: the entry may have come and gone. */
		pthread_mutex_unlock(&dusk_locks_mu);
		memcpy(&initial,
		       __dusk_check((char *)sem + DUSK_SEM_COUNT_OFFSET,
				    sizeof(initial)), sizeof(initial));
		have_initial = 1;
	}
	l = dusk_lock_get(key);
	l->is_sem = 1;
	l->count = l->initial = initial;
	return l;	/* with dusk_locks_mu held */
}

/* Wait for the count (until deadline_ms if not 0): 0, or -ETIME. */
static int dusk_sem_down(void *sem, int trylock, uint64_t timeout_ms)
{
	struct timespec until;
	struct dusk_lock *l;
	uintptr_t key;
	int err = 0;

	if (timeout_ms) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(timeout_ms / 1000);
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
	}
	l = dusk_sem_get(sem, &key);
	if (!l->count && trylock) {
		l->refs++;
		dusk_lock_put(l);
		pthread_mutex_unlock(&dusk_locks_mu);
		return -EBUSY;
	}
	l->refs++;
	while (!l->count && !err) {
		dusk_ctx_sleep_begin_mu(&dusk_locks_mu);
		while (!l->count && !err)
			err = timeout_ms ?
			      pthread_cond_timedwait(&l->cv, &dusk_locks_mu,
						     &until) :
			      pthread_cond_wait(&l->cv, &dusk_locks_mu);
		dusk_ctx_sleep_end_mu(&dusk_locks_mu);
	}
	/* Not counted as held: a semaphore is often released by another
	 * thread (lockdep does not track them either). */
	if (l->count) {
		l->count--;
		err = 0;
	} else {
		err = -ETIME;
	}
	dusk_lock_put(l);
	pthread_mutex_unlock(&dusk_locks_mu);
	return err;
}

DUSK_EXPORT void __dusk_impl_down(void *sem)
{
	dusk_ctx_might_sleep("down", __builtin_return_address(0));
	dusk_sem_down(sem, 0, 0);
}

DUSK_EXPORT int __dusk_impl_down_interruptible(void *sem)
{
	dusk_ctx_might_sleep("down_interruptible",
			     __builtin_return_address(0));
	return dusk_sem_down(sem, 0, 0);
}

DUSK_EXPORT int __dusk_impl_down_killable(void *sem)
{
	dusk_ctx_might_sleep("down_killable", __builtin_return_address(0));
	return dusk_sem_down(sem, 0, 0);
}

/* 0 when acquired, 1 when not (the inverse of the spin_trylock()s). */
DUSK_EXPORT int __dusk_impl_down_trylock(void *sem)
{
	return dusk_sem_down(sem, 1, 0) ? 1 : 0;
}

/* jiffies: of the target's HZ; -ETIME when it passed. */
DUSK_EXPORT int __dusk_impl_down_timeout(void *sem, long jiffies)
{
	uint64_t ms = jiffies > 0 ?
		      ((uint64_t)jiffies * 1000 + dusk_klib_hz() - 1) /
		      dusk_klib_hz() : 1;

	dusk_ctx_might_sleep("down_timeout", __builtin_return_address(0));
	return dusk_sem_down(sem, 0, ms);
}

DUSK_EXPORT void __dusk_impl_up(void *sem)
{
	struct dusk_lock *l;
	uintptr_t key;

	l = dusk_sem_get(sem, &key);
	l->count++;
	pthread_cond_broadcast(&l->cv);
	l->refs++;
	dusk_lock_put(l);
	pthread_mutex_unlock(&dusk_locks_mu);
}

/* ---- bottom halves, preemption, migration ----------------------------------- */

DUSK_EXPORT void __dusk_impl___local_bh_disable_ip(unsigned long ip,
						   unsigned int cnt)
{
	dusk_ctx_add(dusk_ctx_self(), cnt);
}

/* kernel/softirq.c: pending softirqs would run here; none are at user
 * level. */
DUSK_EXPORT void __dusk_impl___local_bh_enable_ip(unsigned long ip,
						  unsigned int cnt)
{
	struct dusk_ctx *c = dusk_ctx_self();

	if (dusk_ctx_count(c) & DUSK_HARDIRQ_MASK)
		dusk_klib_warn_once("local_bh_enable() in hard interrupt context");
	dusk_ctx_sub(c, cnt, "local_bh_enable");
}

DUSK_EXPORT void __dusk_impl__local_bh_enable(void)
{
	__dusk_impl___local_bh_enable_ip(0, DUSK_SOFTIRQ_DISABLE_OFFSET);
}

DUSK_EXPORT void __dusk_impl_local_bh_disable(void)
{
	__dusk_impl___local_bh_disable_ip(0, DUSK_SOFTIRQ_DISABLE_OFFSET);
}

DUSK_EXPORT void __dusk_impl_local_bh_enable(void)
{
	__dusk_impl___local_bh_enable_ip(0, DUSK_SOFTIRQ_DISABLE_OFFSET);
}

DUSK_EXPORT void __dusk_impl_preempt_count_add(int val)
{
	dusk_ctx_add(dusk_ctx_self(), (unsigned int)val);
}

DUSK_EXPORT void __dusk_impl_preempt_count_sub(int val)
{
	dusk_ctx_sub(dusk_ctx_self(), (unsigned int)val, "preempt_count_sub");
}

/* lib/smp_processor_id.c (CONFIG_DEBUG_PREEMPT): per-CPU data used where
 * the task could migrate. */
static int dusk_ctx_preempt_check(const char *what1, const char *what2)
{
	struct dusk_ctx *c = dusk_ctx_self();

	if (dusk_ctx_count(c) || !(c->flags & DUSK_X86_EFLAGS_IF) ||
	    c->migrate)
		return dusk_ctx_cpu();
	dusk_klib_warn_once("BUG: using %s%s() in preemptible [%08x] code",
			    what1, what2, dusk_ctx_count(c));
	return dusk_ctx_cpu();
}

DUSK_EXPORT void __dusk_impl___this_cpu_preempt_check(const char *op)
{
	dusk_ctx_preempt_check("__this_cpu_", op ? op : "");
}

DUSK_EXPORT unsigned int __dusk_impl_debug_smp_processor_id(void)
{
	return (unsigned int)dusk_ctx_preempt_check("smp_processor_id", "");
}

DUSK_EXPORT void __dusk_impl_migrate_disable(void)
{
	dusk_ctx_self()->migrate++;
}

DUSK_EXPORT void __dusk_impl_migrate_enable(void)
{
	struct dusk_ctx *c = dusk_ctx_self();

	if (!c->migrate) {
		dusk_klib_warn_once("migrate_enable() without migrate_disable()");
		return;
	}
	c->migrate--;
}

/* cond_resched() and friends: nothing to give up at user level (the
 * kernel call would only waste a round trip). */
DUSK_EXPORT int __dusk_impl___cond_resched(void)
{
	return 0;
}

DUSK_EXPORT int __dusk_impl___SCT__cond_resched(void)
{
	return 0;
}

DUSK_EXPORT void __dusk_impl___SCT__might_resched(void)
{
}

DUSK_EXPORT void __dusk_impl___SCT__preempt_schedule(void)
{
}

DUSK_EXPORT void __dusk_impl___SCT__preempt_schedule_notrace(void)
{
}

DUSK_EXPORT void __dusk_impl_preempt_schedule(void)
{
}

DUSK_EXPORT void __dusk_impl_preempt_schedule_notrace(void)
{
}

/* ---- RCU ------------------------------------------------------------------- */

DUSK_EXPORT void __dusk_impl___rcu_read_lock(void)
{
	struct dusk_ctx *c = dusk_ctx_self();

	__atomic_store_n(&c->rcu, c->rcu + 1, __ATOMIC_RELAXED);
}

DUSK_EXPORT void __dusk_impl___rcu_read_unlock(void)
{
	struct dusk_ctx *c = dusk_ctx_self();

	if (c->rcu <= 0) {
		dusk_klib_warn(1, NULL, "rcu_read_unlock() without rcu_read_lock()");
		return;
	}
	__atomic_store_n(&c->rcu, c->rcu - 1, __ATOMIC_RELAXED);
	dusk_ctx_qs(c);
}

struct dusk_rcu_wait {
	struct dusk_ctx *c;
	uint64_t qs;
};

void dusk_rcu_wait_readers(void)
{
	struct dusk_ctx *self = dusk_ctx_self(), *c;
	struct dusk_rcu_wait *w = NULL;
	unsigned int n = 0, cap = 0, i, left;
	struct dusk_list *pos, *tmp;
	uint64_t start = dusk_now_ms();
	useconds_t nap = 50;
	int stalled = 0;

	pthread_mutex_lock(&dusk_ctx_mu);
	dusk_list_for_each_safe(pos, tmp, &dusk_ctx_all) {
		c = dusk_container_of(pos, struct dusk_ctx, node);
		if (c == self || !dusk_ctx_reader(c))
			continue;
		if (n == cap) {
			struct dusk_rcu_wait *nw;

			cap = cap ? 2 * cap : 8;
			nw = realloc(w, cap * sizeof(*w));
			if (!nw)
				break;	/* wait for those we have */
			w = nw;
		}
		w[n].c = c;
		w[n].qs = __atomic_load_n(&c->qs, __ATOMIC_ACQUIRE);
		n++;
	}
	pthread_mutex_unlock(&dusk_ctx_mu);

	for (left = n; left;) {
		usleep(nap);
		if (nap < 5000)
			nap *= 2;
		pthread_mutex_lock(&dusk_ctx_mu);
		for (i = 0, left = 0; i < n; i++) {
			int alive = 0;

			if (!w[i].c)
				continue;
			dusk_list_for_each_safe(pos, tmp, &dusk_ctx_all)
				if (pos == &w[i].c->node)
					alive = 1;
			if (!alive || !dusk_ctx_reader(w[i].c) ||
			    __atomic_load_n(&w[i].c->qs, __ATOMIC_ACQUIRE) !=
			    w[i].qs)
				w[i].c = NULL;
			else
				left++;
		}
		pthread_mutex_unlock(&dusk_ctx_mu);
		if (left && !stalled && DUSK_RCU_STALL_MS &&
		    dusk_now_ms() - start > DUSK_RCU_STALL_MS) {
			stalled = 1;
			dusk_klib_warn(0, NULL,
				       "INFO: rcu detected stall: %u thread(s) of the program in a read-side critical section for %u s",
				       left, DUSK_RCU_STALL_MS / 1000);
		}
	}
	free(w);
}

/* The kernel's grace period: its readers may hold kernel memory the
 * module unlinked. */
static void dusk_rcu_kernel_gp(const char *fn)
{
	int err;

	if (!dusk_klib_session())
		return;
	err = dusk_klib_kcall(fn, NULL, 0, NULL);
	if (err)
		dusk_warn("%s in the kernel failed: %s", fn, strerror(-err));
}

static void dusk_rcu_synchronize(const char *what, const char *kfn,
				 const void *site)
{
	struct dusk_ctx *c = dusk_ctx_self();

	if (c->rcu > 0)
		dusk_klib_warn(1, NULL,
			       "Illegal %s() in RCU read-side critical section (it would never return in the kernel)",
			       what);
	else
		dusk_ctx_might_sleep(what, site);
	dusk_rcu_wait_readers();
	dusk_rcu_kernel_gp(kfn);
}

DUSK_EXPORT void __dusk_impl_synchronize_rcu(void)
{
	dusk_rcu_synchronize("synchronize_rcu", "synchronize_rcu",
			     __builtin_return_address(0));
}

DUSK_EXPORT void __dusk_impl_synchronize_rcu_expedited(void)
{
	dusk_rcu_synchronize("synchronize_rcu_expedited",
			     "synchronize_rcu_expedited",
			     __builtin_return_address(0));
}

/* net/core/dev.c: expedited when the RTNL is held; the RTNL is the
 * kernel's, the program cannot tell: the normal one. */
DUSK_EXPORT void __dusk_impl_synchronize_net(void)
{
	dusk_rcu_synchronize("synchronize_net", "synchronize_rcu",
			     __builtin_return_address(0));
}

enum dusk_rcu_kind {
	DUSK_RCU_CALLBACK,
	DUSK_RCU_KFREE,
};

struct dusk_rcu_cb {
	struct dusk_rcu_cb *next;
	enum dusk_rcu_kind kind;
	struct dusk_rcu_head *head;
	dusk_rcu_callback_t func;
	uint64_t kaddr;		/* DUSK_RCU_KFREE: the object */
};

static pthread_mutex_t dusk_rcu_mu = PTHREAD_MUTEX_INITIALIZER;
/* One batch at a time: rcu_barrier() waits for a batch in progress. */
static pthread_mutex_t dusk_rcu_run_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dusk_rcu_cb *dusk_rcu_head, **dusk_rcu_tail = &dusk_rcu_head;
static unsigned int dusk_rcu_nr;

static void dusk_rcu_queue(struct dusk_rcu_cb *cb)
{
	cb->next = NULL;
	dusk_plock_mutex_lock(&dusk_rcu_mu);
	*dusk_rcu_tail = cb;
	dusk_rcu_tail = &cb->next;
	dusk_rcu_nr++;
	pthread_mutex_unlock(&dusk_rcu_mu);
}

unsigned int dusk_rcu_pending(void)
{
	unsigned int n;

	dusk_plock_mutex_lock(&dusk_rcu_mu);
	n = dusk_rcu_nr;
	pthread_mutex_unlock(&dusk_rcu_mu);
	return n;
}

DUSK_EXPORT void __dusk_impl_call_rcu(struct dusk_rcu_head *head,
				      dusk_rcu_callback_t func)
{
	struct dusk_rcu_cb *cb;

	if (!head || !func) {
		dusk_klib_warn(1, NULL, "call_rcu(%p, %p): nothing to call",
			       (void *)head, (void *)(uintptr_t)func);
		return;
	}
	cb = calloc(1, sizeof(*cb));
	if (!cb)
		dusk_klib_bug(NULL, "out of memory for call_rcu");
	cb->kind = DUSK_RCU_CALLBACK;
	cb->head = head;
	cb->func = func;
	dusk_rcu_queue(cb);
}

/*
 * kfree_rcu(ptr, field) passes &ptr->field and the field's offset as
 * func; kfree_rcu(ptr) (6.1 kvfree_rcu_arg_1) passes NULL and ptr. The
 * object is kernel memory (kmalloc is a kernel call): freed with a kernel
 * call of kfree after both grace periods.
 */
DUSK_EXPORT void __dusk_impl_kvfree_call_rcu(struct dusk_rcu_head *head,
					     dusk_rcu_callback_t func)
{
	uintptr_t obj = head ? (uintptr_t)head - (uintptr_t)func :
			       (uintptr_t)func;
	struct dusk_rcu_cb *cb;

	if (!obj)
		return;
	obj = dusk_klib_ident((const void *)obj);
	if (obj < DUSK_KERNEL_MIN) {
		dusk_klib_warn(1, NULL,
			       "kfree_rcu(%p): not kernel memory (only kmalloc'ed objects can be freed): leaked",
			       (void *)obj);
		return;
	}
	cb = calloc(1, sizeof(*cb));
	if (!cb)
		dusk_klib_bug(NULL, "out of memory for kfree_rcu");
	cb->kind = DUSK_RCU_KFREE;
	cb->kaddr = obj;
	dusk_rcu_queue(cb);
}

static void dusk_rcu_invoke(struct dusk_rcu_cb *cb)
{
	struct dusk_ctx *c = dusk_ctx_self();
	struct dusk_ctx_saved saved;
	void *fn = (void *)(uintptr_t)cb->func;
	int err;

	if (cb->kind == DUSK_RCU_KFREE) {
		err = dusk_klib_kfree(cb->kaddr);
		if (err)
			dusk_warn("kfree_rcu: kfree(0x%llx) in the kernel failed: %s",
				  (unsigned long long)cb->kaddr, strerror(-err));
		return;
	}
	if (dusk_klib_host.fnptr)
		fn = dusk_klib_host.fnptr(fn);
	if ((uintptr_t)fn >= DUSK_KERNEL_MIN) {
		dusk_err("call_rcu callback %p is kernel code: not called", fn);
		return;
	}
	/* RCU callbacks run with bottom halves disabled in the kernel
	 * (softirq, or the rcuo kthreads with local_bh_disable()). */
	dusk_ctx_enter(DUSK_CTX_SOFTIRQ, -1, &saved);
	c->in_rcu_cb = 1;
	((dusk_rcu_callback_t)fn)(cb->head);
	c->in_rcu_cb = 0;
	dusk_ctx_leave(&saved);
}

/* Run what is queued now, after both grace periods; wait: for a batch
 * another thread is running, else skip. */
static unsigned int dusk_rcu_run(int wait)
{
	struct dusk_rcu_cb *batch, *cb;
	unsigned int n = 0;

	if (dusk_ctx_self()->in_rcu_cb) {
		dusk_klib_warn_once("rcu_barrier() or synchronize_rcu() from an RCU callback");
		return 0;
	}
	if (wait)
		dusk_plock_mutex_lock(&dusk_rcu_run_mu);
	else if (pthread_mutex_trylock(&dusk_rcu_run_mu))
		return 0;
	dusk_plock_mutex_lock(&dusk_rcu_mu);
	batch = dusk_rcu_head;
	dusk_rcu_head = NULL;
	dusk_rcu_tail = &dusk_rcu_head;
	dusk_rcu_nr = 0;
	pthread_mutex_unlock(&dusk_rcu_mu);
	if (batch) {
		dusk_rcu_wait_readers();
		dusk_rcu_kernel_gp("synchronize_rcu");
	}
	while ((cb = batch)) {
		batch = cb->next;
		dusk_rcu_invoke(cb);
		free(cb);
		n++;
	}
	pthread_mutex_unlock(&dusk_rcu_run_mu);
	return n;
}

unsigned int dusk_rcu_poll(void)
{
	if (!dusk_rcu_pending())
		return 0;
	return dusk_rcu_run(0);
}

void dusk_rcu_barrier(void)
{
	dusk_rcu_run(1);
}

DUSK_EXPORT void __dusk_impl_rcu_barrier(void)
{
	dusk_ctx_might_sleep("rcu_barrier", __builtin_return_address(0));
	dusk_rcu_run(1);
}

/* ---- delays ----------------------------------------------------------------- */

static void dusk_sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000),
		.tv_nsec = (long)(ns % 1000000000),
	};

	dusk_ctx_sleep_begin();
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	dusk_ctx_sleep_end();
}

void dusk_ctx_nap_ns(uint64_t ns)
{
	dusk_sleep_ns(ns);
}

void dusk_ctx_might_sleep_at(const char *what, const void *site)
{
	dusk_ctx_might_sleep(what, site);
}

/* Sleeping, not busy-waiting: the time passes all the same, and the
 * kernel call would block dusk.ko's request thread. */
DUSK_EXPORT void __dusk_impl_msleep(unsigned int msecs)
{
	dusk_ctx_might_sleep("msleep", __builtin_return_address(0));
	dusk_sleep_ns((uint64_t)msecs * 1000000);
}

DUSK_EXPORT void __dusk_impl_usleep_range_state(unsigned long min,
						unsigned long max,
						unsigned int state)
{
	dusk_ctx_might_sleep("usleep_range", __builtin_return_address(0));
	dusk_sleep_ns((uint64_t)min * 1000);
}

DUSK_EXPORT void __dusk_impl___udelay(unsigned long usecs)
{
	dusk_sleep_ns((uint64_t)usecs * 1000);
}

DUSK_EXPORT void __dusk_impl___ndelay(unsigned long nsecs)
{
	dusk_sleep_ns(nsecs);
}

/* udelay(n) passes n * 0x10c7 (2^32 / 10^6), ndelay(n) n * 5: xloops are
 * 2^-32 seconds. */
DUSK_EXPORT void __dusk_impl___const_udelay(unsigned long xloops)
{
	dusk_sleep_ns((uint64_t)(((unsigned __int128)xloops * 1000000000U) >> 32));
}
