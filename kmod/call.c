// SPDX-License-Identifier: GPL-2.0
/*
 * CALL: run a kernel function for the peer, in this thread's process
 * context. Only the entry of a kernel text symbol may be called, and never
 * a primitive that changes the caller's context (locks, RCU read sections,
 * preemption, bottom halves, interrupts): held across network round trips
 * they would stall RCU or deadlock. The runtime emulates those at user
 * level instead (see ARCHITECTURE.md).
 *
 * The list below names the primitives; a function not on it that still
 * returns with the context changed (one that returns holding a spinlock,
 * say) is caught after the fact: dusk.ko puts back what it safely can,
 * reports it, answers -EDEADLK and ends the session, so that the thread
 * never goes on serving requests in atomic context.
 *
 * The pointer arguments are probed first, as the runtime asks (from the
 * prototype the plugin recorded): a NULL or unreadable one is refused
 * in the reply and never reaches the function, which would oops on it.
 */
#include <linux/kernel.h>
#include <linux/kallsyms.h>
#include <linux/preempt.h>
#include <linux/bottom_half.h>
#include <linux/irqflags.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "dusk_kmod.h"

typedef u64 (*dusk_fn6)(u64, u64, u64, u64, u64, u64);

static const char *const dusk_denied_prefix[] = {
	"_raw_spin_", "_raw_read_", "_raw_write_", "queued_spin_",
	"queued_read_", "queued_write_", "rt_spin_", "rt_read_", "rt_write_",
	"mutex_lock", "mutex_trylock", "rt_mutex_lock", "rt_mutex_trylock",
	"ww_mutex_lock", "down_read", "down_write", "percpu_down_",
	"rcu_read_lock", "rcu_read_unlock", "__rcu_read_", "srcu_read_",
	"__srcu_read_", "preempt_count_", "__local_bh_", "local_bh_",
	"_local_bh_", "migrate_disable", "migrate_enable", "local_irq_",
	"arch_local_irq_",
};

static const char *const dusk_denied_exact[] = {
	"mutex_unlock", "rt_mutex_unlock", "ww_mutex_unlock", "down",
	"down_interruptible", "down_killable", "down_trylock",
	"down_timeout", "up", "up_read", "up_write", "downgrade_write",
	"percpu_up_read", "percpu_up_write", "preempt_schedule",
};

/* The symbol at addr, if addr is exactly its start; NULL otherwise. */
static const char *dusk_fn_name(unsigned long addr, char *buf)
{
	char *plus;

	sprint_symbol(buf, addr);
	plus = strchr(buf, '+');
	if (!plus || strncmp(plus, "+0x0/", 5))
		return NULL;
	*plus = '\0';
	return buf;
}

static bool dusk_fn_denied(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dusk_denied_prefix); i++)
		if (!strncmp(name, dusk_denied_prefix[i],
			     strlen(dusk_denied_prefix[i])))
			return true;
	for (i = 0; i < ARRAY_SIZE(dusk_denied_exact); i++)
		if (!strcmp(name, dusk_denied_exact[i]))
			return true;
	return false;
}

/* The probe records are well-formed: NONE past nargs and when unused. */
static bool dusk_probes_valid(const struct dusk_call *c, u32 nargs)
{
	const struct dusk_probe *p;
	unsigned int i;
	u32 size;

	for (i = 0; i < DUSK_MAX_CALL_ARGS; i++) {
		p = &c->probe[i];
		size = le32_to_cpu(p->size);
		if (p->pad || p->kind >= __DUSK_PROBE_MAX ||
		    (p->flags & ~DUSK_PROBE_F_ALL))
			return false;
		if (p->kind == DUSK_PROBE_NONE ? size || p->flags :
		    i >= nargs || !size)
			return false;
		if (p->kind == DUSK_PROBE_STR && size > DUSK_PROBE_STR_MAX)
			return false;
	}
	return true;
}

/*
 * Probe the arguments as the runtime asked, after the commit (which may
 * have written what they point to): the first that fails is reported in
 * the reply and the function is not called, as the .ko's call would
 * have oopsed in it. Returns true if all pass.
 */
static bool dusk_probes_pass(const struct dusk_call *c, const u64 *a,
			     struct dusk_call_reply *rep)
{
	unsigned int i;
	u32 off;

	for (i = 0; i < DUSK_MAX_CALL_ARGS; i++) {
		if (!dusk_probe_arg(a[i], &c->probe[i], &off))
			continue;
		rep->ret = 0;
		rep->refused_arg = cpu_to_le32(i + 1);
		rep->fault_off = cpu_to_le32(off);
		return false;
	}
	return true;
}

/* What a call must leave as it found it. */
struct dusk_ctx_state {
	int preempt;		/* preempt_count() */
	int rcu;		/* rcu_preempt_depth(): 0 without PREEMPT_RCU */
	bool irqs_off;
};

static void dusk_ctx_save(struct dusk_ctx_state *st)
{
	st->preempt = preempt_count();
	st->rcu = rcu_preempt_depth();
	st->irqs_off = irqs_disabled();
}

static bool dusk_ctx_same(const struct dusk_ctx_state *a,
			  const struct dusk_ctx_state *b)
{
	return a->preempt == b->preempt && a->rcu == b->rcu &&
	       a->irqs_off == b->irqs_off;
}

/*
 * Put this thread's context back as it was before a call changed it, in
 * the order that keeps each step legal: interrupts first; then the RCU
 * read-side nesting (rcu_read_unlock() of the surplus, which reports a
 * quiescent state if one is owed); then the preempt count's bottom-half
 * disables (local_bh_enable(), which runs the softirqs raised meanwhile);
 * then the rest of the preempt count, by arithmetic, as
 * preempt_enable_no_resched() does (the loop reschedules soon after).
 * A lock the function took stays taken: only the code that owns the lock
 * can release it. The caller ends the session.
 */
static void dusk_ctx_restore(const struct dusk_ctx_state *before,
			     const struct dusk_ctx_state *after)
{
	int rcu = after->rcu - before->rcu;
	int delta = after->preempt - before->preempt;
	int bh = (after->preempt & SOFTIRQ_MASK) -
		 (before->preempt & SOFTIRQ_MASK);

	if (after->irqs_off && !before->irqs_off)
		local_irq_enable();
	else if (!after->irqs_off && before->irqs_off)
		local_irq_disable();

	for (; rcu > 0; rcu--)
		rcu_read_unlock();
	for (; rcu < 0; rcu++)
		rcu_read_lock();

	/* Whole local_bh_disable()s, and only with irqs on as before. */
	if (bh <= 0 || bh % SOFTIRQ_DISABLE_OFFSET || before->irqs_off)
		bh = 0;
	preempt_count_sub(delta - bh);
	for (; bh > 0; bh -= SOFTIRQ_DISABLE_OFFSET)
		local_bh_enable();
}

int dusk_do_call(struct dusk_req *r)
{
	const struct dusk_call *c = r->payload;
	struct dusk_call_reply *rep = r->reply;
	unsigned long fn = le64_to_cpu(c->fn);
	u32 nargs = le32_to_cpu(c->nargs);
	struct dusk_ctx_state before, after;
	struct dusk_own_call oc;
	char sym[KSYM_SYMBOL_LEN];
	u64 ret64;
	const char *name;
	u64 a[DUSK_MAX_CALL_ARGS];
	unsigned int i;
	int ret;

	if (nargs > DUSK_MAX_CALL_ARGS || c->flags || c->pad ||
	    !dusk_probes_valid(c, nargs))
		return -EINVAL;
	if (!dusk_is_text(fn))
		return -EFAULT;
	name = dusk_fn_name(fn, sym);
	if (!name)
		return -EFAULT;
	if (dusk_fn_denied(name))
		return -EPERM;
	/* Whether it may acquire, before anything is written. */
	ret = dusk_own_prepare(r->s, fn, name, &oc);
	if (ret)
		return ret;

	/* The commit that precedes the call. */
	ret = dusk_segs_apply(c + 1, r->len - sizeof(*c),
			      le32_to_cpu(c->nr_segs));
	if (ret) {
		dusk_own_cancel(&oc);
		return ret;
	}

	for (i = 0; i < DUSK_MAX_CALL_ARGS; i++)
		a[i] = i < nargs ? le64_to_cpu(c->args[i]) : 0;
	r->reply_len = sizeof(*rep);
	if (!dusk_probes_pass(c, a, rep)) {
		dusk_own_cancel(&oc);
		return 0;
	}
	dusk_ctx_save(&before);
	ret64 = ((dusk_fn6)fn)(a[0], a[1], a[2], a[3], a[4], a[5]);
	dusk_ctx_save(&after);
	/* Recorded even if the context changed: the session ends then, and
	 * releases it. */
	dusk_own_done(r->s, &oc, fn, a, ret64);
	rep->ret = cpu_to_le64(ret64);
	rep->refused_arg = 0;
	rep->fault_off = 0;
	if (!dusk_ctx_same(&before, &after)) {
		dusk_ctx_restore(&before, &after);
		/* Not WARN(): no stack trace to give, and no taint. */
		pr_warn_once("dusk: %s returned with preempt count %#x -> %#x, rcu nesting %d -> %d, irqs %s -> %s; put back, ending the session\n",
			     name, before.preempt, after.preempt, before.rcu,
			     after.rcu, before.irqs_off ? "off" : "on",
			     after.irqs_off ? "off" : "on");
		r->end_session = "a kernel call returned in another context";
		return -EDEADLK;
	}
	return 0;
}
