// SPDX-License-Identifier: GPL-2.0
/*
 * Session-owned kernel resources: the records of owned.h's table, kept
 * per session, newest first. Everything here runs in process context (the
 * releases sleep: cancel_work_sync, timer_delete_sync, proc_remove): CALL
 * requests of the thread or of a proxy's caller (invoke.c), whose list
 * changes are under the session's lock, and the end of a session (rmmod
 * included), by the thread, once the session is dead and the list its
 * own. A caller whose call acquired after the session died releases it
 * at once.
 */
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "dusk_kmod.h"
#include "owned.h"

/* The most records a session holds: beyond, an acquire is refused. */
static unsigned int own_max = 16384;
module_param(own_max, uint, 0644);
MODULE_PARM_DESC(own_max, "most kernel resources one session may hold");

#define DUSK_OWN_VALS		4
#define DUSK_OWN_NAME_LEN	64

struct dusk_own_acq {
	const char *fn_name;
	const char *release_name;
	unsigned long fn;
	unsigned long release;
	u8 ok;
	u8 kind;
	u8 nrel;
	u8 obj;
	u8 parent;
	u8 src[DUSK_OWN_VALS];
};

struct dusk_own_rel {
	const char *fn_name;
	unsigned long fn;
	u8 kind;
	u8 match[2];
};

struct dusk_own_rec {
	struct list_head list;		/* in the session's owned */
	const struct dusk_own_acq *acq;
	u64 val[DUSK_OWN_VALS];
	char name[DUSK_OWN_NAME_LEN];	/* DUSK_V_STR */
};

#define A	DUSK_V_ARG
#define R	DUSK_V_RET
#define N	DUSK_V_NONE
#define M	DUSK_M
#define NP	DUSK_NO_PARENT

#define DUSK_X_ACQ(f, k_ok, k_kind, rel, n, o, p, v0, v1, v2, v3)	\
	{ .fn_name = #f, .release_name = #rel, .ok = DUSK_OK_##k_ok,	\
	  .kind = DUSK_OWN_##k_kind, .nrel = n, .obj = o, .parent = p,	\
	  .src = { v0, v1, v2, v3 } },
#define DUSK_X_NONE(...)
static struct dusk_own_acq dusk_own_acqs[] = {
	DUSK_OWN_TABLE(DUSK_X_ACQ, DUSK_X_NONE)
};

#define DUSK_X_REL(f, k_kind, m0, m1)					\
	{ .fn_name = #f, .kind = DUSK_OWN_##k_kind, .match = { m0, m1 } },
static struct dusk_own_rel dusk_own_rels[] = {
	DUSK_OWN_TABLE(DUSK_X_NONE, DUSK_X_REL)
};
#undef DUSK_X_ACQ
#undef DUSK_X_REL
#undef DUSK_X_NONE
#undef A
#undef R
#undef N
#undef M
#undef NP

/*
 * What dusk.ko acquires itself for a session rather than by a CALL: a
 * kernel thread that stands for one of the module's (kthread.c), its
 * values the thread's record and its handle, released by stopping it.
 */
static struct dusk_own_acq dusk_own_kthread_acq = {
	.fn_name = "kthread_create_on_node", .release_name = "kthread_stop",
	.ok = DUSK_OK_ANY, .kind = DUSK_OWN_MOD_KTHREAD, .nrel = 2, .obj = 0,
	.parent = DUSK_NO_PARENT,
};

static const char *const dusk_own_acquire_like[] = { DUSK_OWN_ACQUIRE_LIKE };
static const char *const dusk_own_gives_back[] = { DUSK_OWN_GIVES_BACK };
static const char *const dusk_own_no_release[] = { DUSK_OWN_NO_RELEASE };

/*
 * Resolve the table's names on this kernel. A function it lacks is never
 * called; an acquire whose release it lacks is refused when called (see
 * dusk_own_prepare()).
 */
int dusk_own_init(void)
{
	unsigned int i, j;
	bool listed;

	dusk_own_kthread_acq.release = (unsigned long)dusk_kthread_release;
	for (i = 0; i < ARRAY_SIZE(dusk_own_rels); i++)
		dusk_own_rels[i].fn = dusk_ksym(dusk_own_rels[i].fn_name);
	for (i = 0; i < ARRAY_SIZE(dusk_own_acqs); i++) {
		struct dusk_own_acq *a = &dusk_own_acqs[i];

		a->fn = dusk_ksym(a->fn_name);
		a->release = dusk_ksym(a->release_name);
		/* Every release is listed for its kind: a bug of the table
		 * otherwise, and the session's end relies on it. */
		listed = false;
		for (j = 0; j < ARRAY_SIZE(dusk_own_rels); j++)
			if (dusk_own_rels[j].kind == a->kind &&
			    !strcmp(dusk_own_rels[j].fn_name, a->release_name))
				listed = true;
		if (WARN_ON(!listed))
			return -EINVAL;
	}
	return 0;
}

static bool dusk_own_name_has(const char *name, const char *const *list,
			      unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (strstr(name, list[i]))
			return true;
	return false;
}

static bool dusk_own_name_is(const char *name, const char *const *list,
			     unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

static const struct dusk_own_acq *dusk_own_acq_of(unsigned long fn)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dusk_own_acqs); i++)
		if (dusk_own_acqs[i].fn && dusk_own_acqs[i].fn == fn)
			return &dusk_own_acqs[i];
	return NULL;
}

static bool dusk_own_is_release(unsigned long fn)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dusk_own_rels); i++)
		if (dusk_own_rels[i].fn && dusk_own_rels[i].fn == fn)
			return true;
	return false;
}

/*
 * Before a CALL of fn (named name): whether it may run, and the record it
 * will fill if it acquires. -EOPNOTSUPP: its name says it acquires and the
 * table does not say how to give it back. -EDQUOT: the session holds
 * own_max records. The record is allocated now so that nothing can fail
 * once the call has acquired.
 */
int dusk_own_prepare(struct dusk_session *s, unsigned long fn,
		     const char *name, struct dusk_own_call *oc)
{
	const struct dusk_own_acq *a = dusk_own_acq_of(fn);

	oc->acq = NULL;
	oc->rec = NULL;
	oc->release = false;
	if (!a) {
		oc->release = dusk_own_is_release(fn);
		if (oc->release ||
		    !dusk_own_name_has(name, dusk_own_acquire_like,
				       ARRAY_SIZE(dusk_own_acquire_like)) ||
		    dusk_own_name_has(name, dusk_own_gives_back,
				      ARRAY_SIZE(dusk_own_gives_back)) ||
		    dusk_own_name_is(name, dusk_own_no_release,
				     ARRAY_SIZE(dusk_own_no_release)))
			return 0;
		pr_notice_ratelimited("dusk: %s acquires what dusk.ko cannot give back at the session's end: refused\n",
				      name);
		return -EOPNOTSUPP;
	}
	if (!a->release) {
		pr_notice_ratelimited("dusk: %s: this kernel has no %s to give it back: refused\n",
				      name, a->release_name);
		return -EOPNOTSUPP;
	}
	oc->release = dusk_own_is_release(fn);	/* krealloc */
	if (s->nr_owned >= READ_ONCE(own_max))
		return -EDQUOT;
	oc->rec = kzalloc(sizeof(*oc->rec), GFP_KERNEL);
	if (!oc->rec)
		return -ENOMEM;
	oc->acq = a;
	return 0;
}

static bool dusk_own_ok(u8 ok, u64 ret)
{
	switch (ok) {
	case DUSK_OK_ZERO:
		return (int)ret == 0;
	case DUSK_OK_NONNEG:
		return (int)ret >= 0;
	case DUSK_OK_PTR:
		return !ZERO_OR_NULL_PTR((void *)ret) &&
		       !IS_ERR_VALUE((unsigned long)ret);
	default:
		return true;
	}
}

static void dusk_own_str(char *buf, unsigned long addr)
{
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; addr && i < DUSK_OWN_NAME_LEN - 1; i++) {
		if (copy_from_kernel_nofault(&buf[i], (void *)(addr + i), 1)) {
			buf[0] = '\0';
			return;
		}
		if (!buf[i])
			return;
	}
	buf[i] = '\0';
}

static u64 dusk_own_value(u8 src, const u64 *args, u64 ret, char *name)
{
	u32 v32;

	switch (src & 0xf0) {
	case 0x10:
		return args[src & 0xf];
	case 0x20:
		if (copy_from_kernel_nofault(&v32, (void *)args[src & 0xf],
					     sizeof(v32)))
			return 0;
		return v32;
	case 0x30:
		return args[src & 0xf] ? args[src & 0xf] : ret;
	case 0x40:
		dusk_own_str(name, args[src & 0xf]);
		return args[src & 0xf];
	}
	switch (src) {
	case DUSK_V_RET:
		return ret;
	case DUSK_V_KSIZE:
		return ksize((void *)ret);
	default:
		return 0;
	}
}

/* The span of memory a record stands for, if it is memory. */
static bool dusk_own_span(const struct dusk_own_rec *rec, u64 *start,
			  u64 *size)
{
	switch (rec->acq->kind) {
	case DUSK_OWN_MEM:
		*start = rec->val[0];
		*size = rec->val[1];
		return true;
	case DUSK_OWN_PAGES:
		*start = rec->val[0];
		*size = PAGE_SIZE << rec->val[1];
		return true;
	default:
		return false;
	}
}

/*
 * Take rec off the list with what goes with it, and free them: records
 * whose object lies in memory rec stood for, and records whose parent is
 * one that goes (a sysfs file of a kobject that is put, a proc entry
 * under a directory removed, an object of a cache destroyed). The kernel
 * took those with it, or their memory is gone: they are never released
 * again. A list, not recursion: a program chooses how deep a tree is.
 */
static void dusk_own_take(struct dusk_session *s, struct dusk_own_rec *rec)
{
	struct dusk_own_rec *g, *r, *tmp;
	LIST_HEAD(gone);
	u64 obj, start, size;

	list_move_tail(&rec->list, &gone);
	s->nr_owned--;
	list_for_each_entry(g, &gone, list) {
		obj = g->val[g->acq->obj];
		if (!dusk_own_span(g, &start, &size))
			size = 0;
		list_for_each_entry_safe(r, tmp, &s->owned, list) {
			if ((size && r->val[r->acq->obj] - start < size) ||
			    (r->acq->parent != DUSK_NO_PARENT &&
			     r->val[r->acq->parent] == obj)) {
				list_move_tail(&r->list, &gone);
				s->nr_owned--;
			}
		}
	}
	list_for_each_entry_safe(g, tmp, &gone, list)
		kfree(g);
}

/* Drop what lies in [start, start + size): an ALLOC block was freed. */
void dusk_own_forget_range(struct dusk_session *s, u64 start, u64 size)
{
	struct dusk_own_rec *r, *tmp;

	list_for_each_entry_safe(r, tmp, &s->owned, list)
		if (r->val[r->acq->obj] - start < size)
			dusk_own_take(s, r);
}

static bool dusk_own_matches(const struct dusk_own_rel *rel,
			     const struct dusk_own_rec *rec, const u64 *args)
{
	char name[DUSK_OWN_NAME_LEN];
	unsigned int i, n, v;

	if (rec->acq->kind != rel->kind)
		return false;
	for (i = 0; i < ARRAY_SIZE(rel->match); i++) {
		if (!rel->match[i])
			continue;
		n = (rel->match[i] >> 4) & 7;
		v = rel->match[i] & 0xf;
		if (v == 0xf) {
			dusk_own_str(name, args[n]);
			if (strcmp(name, rec->name))
				return false;
		} else if (args[n] != rec->val[v]) {
			return false;
		}
	}
	return true;
}

/*
 * A call of release function fn with args was made: remove the records it
 * released (one per kind: the newest that matches), but for skip_kind's.
 */
static void dusk_own_released(struct dusk_session *s, unsigned long fn,
			      const u64 *args, int skip_kind)
{
	struct dusk_own_rec *rec;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dusk_own_rels); i++) {
		const struct dusk_own_rel *rel = &dusk_own_rels[i];

		if (rel->fn != fn || rel->kind == skip_kind)
			continue;
		list_for_each_entry(rec, &s->owned, list) {
			if (dusk_own_matches(rel, rec, args)) {
				dusk_own_take(s, rec);
				break;
			}
		}
	}
}

typedef u64 (*dusk_own_fn4)(u64, u64, u64, u64);

/* Give back what rec stands for, with its table's call; args: ret. */
static void dusk_own_release_rec(const struct dusk_own_rec *rec, u64 *args)
{
	const struct dusk_own_acq *a = rec->acq;
	unsigned int i;

	for (i = 0; i < DUSK_OWN_VALS; i++)
		args[i] = i < a->nrel ? rec->val[i] : 0;
	((dusk_own_fn4)a->release)(args[0], args[1], args[2], args[3]);
}

/* After the CALL prepared by dusk_own_prepare() returned ret. */
void dusk_own_done(struct dusk_session *s, struct dusk_own_call *oc,
		   unsigned long fn, const u64 *args, u64 ret)
{
	struct dusk_own_rec *rec = oc->rec, *old;
	const struct dusk_own_acq *a = oc->acq;
	u64 rel_args[DUSK_OWN_VALS];
	unsigned int i;

	if (rec && !dusk_own_ok(a->ok, ret)) {
		kfree(rec);
		rec = NULL;
	}
	if (rec) {
		rec->acq = a;
		for (i = 0; i < DUSK_OWN_VALS; i++)
			rec->val[i] = dusk_own_value(a->src[i], args, ret,
						     rec->name);
	}
	mutex_lock(&s->lock);
	if (s->dead) {
		/* Its end released the rest already: nobody else will. */
		mutex_unlock(&s->lock);
		if (rec) {
			pr_info("dusk: session %08x: %s after its end: releasing\n",
				s->id, a->fn_name);
			dusk_own_release_rec(rec, rel_args);
			kfree(rec);
		}
		return;
	}
	if (oc->release)
		dusk_own_released(s, fn, args, -1);
	if (!rec)
		goto out;
	/* The same thing again (a timer armed again, work queued again): one
	 * record, where it was first acquired. */
	list_for_each_entry(old, &s->owned, list) {
		if (old->acq->kind == a->kind &&
		    !memcmp(old->val, rec->val, sizeof(rec->val))) {
			kfree(rec);
			goto out;
		}
	}
	list_add(&rec->list, &s->owned);
	s->nr_owned++;
out:
	mutex_unlock(&s->lock);
}

int dusk_own_add_kthread(struct dusk_session *s, u64 kt, u64 handle)
{
	struct dusk_own_rec *rec;

	if (READ_ONCE(s->nr_owned) >= READ_ONCE(own_max))
		return -EDQUOT;
	rec = kzalloc(sizeof(*rec), GFP_KERNEL);
	if (!rec)
		return -ENOMEM;
	rec->acq = &dusk_own_kthread_acq;
	rec->val[0] = kt;
	rec->val[1] = handle;
	mutex_lock(&s->lock);
	if (s->dead) {
		mutex_unlock(&s->lock);
		kfree(rec);
		return -ESRCH;
	}
	list_add(&rec->list, &s->owned);
	s->nr_owned++;
	mutex_unlock(&s->lock);
	return 0;
}

int dusk_own_claim(struct dusk_session *s, unsigned int kind, u64 key,
		   int (*claim)(u64 v0), u64 *ret)
{
	struct dusk_own_rec *rec;
	int err = -ENOENT;

	mutex_lock(&s->lock);
	if (s->dead) {
		err = -ESRCH;
		goto out;
	}
	list_for_each_entry(rec, &s->owned, list) {
		if (rec->acq->kind != kind || rec->val[1] != key)
			continue;
		err = claim(rec->val[0]);
		if (!err) {
			*ret = rec->val[0];
			dusk_own_take(s, rec);
		}
		break;
	}
out:
	mutex_unlock(&s->lock);
	return err;
}

void dusk_own_cancel(struct dusk_own_call *oc)
{
	kfree(oc->rec);
	oc->rec = NULL;
}

/* Things named one by one in the log when a session ends; the rest are
 * counted in its summary line. */
#define DUSK_OWN_LOG_MAX	16

/*
 * The session ends (it is dead: the list is the thread's): release what
 * the module left, newest first, each with
 * its table's call, and what went with it goes from the list unreleased.
 * Memory is summed up in one line; other things are named (the first
 * DUSK_OWN_LOG_MAX), since the module left them behind.
 */
void dusk_own_release_all(struct dusk_session *s)
{
	struct dusk_own_rec *rec;
	u64 args[DUSK_OWN_VALS];
	const struct dusk_own_acq *a;
	unsigned int mem = 0, things = 0, i;
	u64 mem_bytes = 0;

	while (!list_empty(&s->owned)) {
		rec = list_first_entry(&s->owned, struct dusk_own_rec, list);
		a = rec->acq;
		for (i = 0; i < DUSK_OWN_VALS; i++)
			args[i] = i < a->nrel ? rec->val[i] : 0;
		if (a->kind == DUSK_OWN_MEM) {
			mem++;
			mem_bytes += rec->val[1];
		} else if (++things <= DUSK_OWN_LOG_MAX) {
			pr_info("dusk: session %08x: %s(%#llx, %#llx) left by %s: releasing\n",
				s->id, a->release_name, args[0], args[1],
				a->fn_name);
		}
		dusk_own_release_rec(rec, args);
		/* What went with it, and what the same call released of
		 * other kinds (cdev_del puts a cdev_alloc()ed cdev). */
		dusk_own_take(s, rec);
		dusk_own_released(s, a->release, args, a->kind);
		cond_resched();
	}
	if (mem || things)
		pr_info("dusk: session %08x: released %u thing(s) and %u allocation(s) (%llu bytes) it left\n",
			s->id, things, mem, mem_bytes);
}
