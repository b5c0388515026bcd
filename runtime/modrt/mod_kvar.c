// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Kernel variables and functions of the glue (dusk_module.h): placeholders
 * to kernel addresses (__dusk_gvar), per-CPU addresses (__dusk_this_cpu_ptr),
 * stubs to kernel functions, each resolved by name once per session.
 *
 * The module's own per-CPU variables (DEFINE_PER_CPU in the module,
 * section .data..percpu of the program) get one copy per CPU of the
 * target, as in the kernel: CPU 0's is the section itself, the others
 * start from the section as the program started. this_cpu_ptr() on one
 * gives the invocation CPU's copy; per_cpu_ptr(&var, cpu), which the
 * kernel's macros compute as &var + __per_cpu_offset[cpu] (a kernel
 * offset added to a user address), reaches the shadow cache's slow path
 * as a kernel-looking address and is resolved there to CPU cpu's copy
 * (dusk_percpu_user()), so for_each_possible_cpu() sums work.
 *
 * current. The kernel's "current" is the per-CPU variable current_task,
 * and instrumented code reads it like any per-CPU variable: the task that
 * runs on the invocation's CPU when the read reaches the kernel. In a
 * netfilter hook the kernel's own current is whatever task the softirq
 * interrupted, so any task is as right as the kernel's; in init and exit
 * (CPU 0 here) it is whichever task runs there, often dusk.ko's kernel
 * thread or the idle task, not a task that loaded anything. Code that
 * needs "the process that asked" belongs in a blocking extension, whose
 * invocations run in the asking task (ARCHITECTURE.md): while this thread
 * serves one (an INVOKE, hook.h), the read of current_task gives the
 * INVOKE's task, so current->pid and current->comm are read live, through
 * the cache, from the caller's task_struct.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "log.h"
#include "modrt.h"
#include "session.h"
#include "shadow.h"

/* The glue's tables, as it registered them (none in a program without
 * glue: libdusk's own test programs). */
static struct dusk_glue dusk_glue;

DUSK_EXPORT void __dusk_glue_register(const struct dusk_glue *glue)
{
	dusk_glue = *glue;
}

struct dusk_kvar_state {
	uint64_t kaddr;
	uint64_t gen;			/* resolved in this session generation */
};

static struct {
	struct dusk_session *s;		/* the session the state belongs to */
	uint32_t sid;
	uint64_t gen;			/* bumped when the session changes */

	const struct dusk_kvar **kv;	/* by placeholder address */
	struct dusk_kvar_state *kv_state;	/* same order */
	size_t nr_kv;
	int kv_sorted;

	const struct dusk_kfunc_stub **kf;	/* by stub address */
	size_t nr_kf;
	int kf_sorted;

	uint64_t *percpu;		/* __per_cpu_offset[0..nr_cpus) */
	uint32_t nr_cpus;
	uint64_t percpu_gen;
} dusk_kv = { .gen = 1 };

/* The module's per-CPU section and its copies (user memory: they outlive
 * sessions, as the module's other data does). */
static struct {
	int known;
	uintptr_t lo, hi;		/* the section: CPU 0's copy */
	uint8_t *initial;		/* as the program started */
	uint8_t **copy;			/* [nr]: copy[0] is the section */
	unsigned int nr;
} dusk_pcpu;

static size_t dusk_nr_kvars_get(void)
{
	return dusk_glue.kvars ? dusk_glue.nr_kvars : 0;
}

static size_t dusk_nr_kfuncs_get(void)
{
	return dusk_glue.kfuncs ? dusk_glue.nr_kfuncs : 0;
}

/* Everything that held a kernel address of the old session goes. */
static void dusk_mod_session_changed(struct dusk_session *s)
{
	size_t i, n = dusk_nr_kfuncs_get();

	dusk_kv.gen++;
	for (i = 0; i < n; i++)
		if (dusk_glue.kfuncs[i].f)
			dusk_glue.kfuncs[i].f->kaddr = 0;
	free(dusk_kv.percpu);
	dusk_kv.percpu = NULL;
	dusk_kv.nr_cpus = 0;
	dusk_kcopy_reset();
	dusk_nf_forget();
	dusk_kv.s = s;
	dusk_kv.sid = s ? s->id : 0;
}

struct dusk_session *dusk_mod_session(void)
{
	struct dusk_session *s = dusk_session_cur;

	if (s != dusk_kv.s || (s && s->id != dusk_kv.sid))
		dusk_mod_session_changed(s);
	return s;
}

/* ---- variables ---- */

static int dusk_kv_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)(*(const struct dusk_kvar *const *)a)->placeholder;
	uintptr_t y = (uintptr_t)(*(const struct dusk_kvar *const *)b)->placeholder;

	return x < y ? -1 : x > y;
}

static int dusk_kv_sort(void)
{
	size_t i, n = dusk_nr_kvars_get();

	dusk_kv.kv_sorted = 1;
	if (!n)
		return 0;
	dusk_kv.kv = calloc(n, sizeof(*dusk_kv.kv));
	dusk_kv.kv_state = calloc(n, sizeof(*dusk_kv.kv_state));
	if (!dusk_kv.kv || !dusk_kv.kv_state) {
		free(dusk_kv.kv);
		free(dusk_kv.kv_state);
		dusk_kv.kv = NULL;
		dusk_kv.kv_state = NULL;
		dusk_kv.kv_sorted = 0;
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		dusk_kv.kv[i] = &dusk_glue.kvars[i];
	qsort(dusk_kv.kv, n, sizeof(*dusk_kv.kv), dusk_kv_cmp);
	dusk_kv.nr_kv = n;
	return 0;
}

static ptrdiff_t dusk_kv_index(uintptr_t p, uint64_t *ret_off)
{
	size_t lo = 0, hi, mid;
	uintptr_t base;

	if (!dusk_kv.kv_sorted && dusk_kv_sort())
		return -1;
	hi = dusk_kv.nr_kv;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((uintptr_t)dusk_kv.kv[mid]->placeholder <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	base = (uintptr_t)dusk_kv.kv[lo - 1]->placeholder;
	if (p - base >= (dusk_kv.kv[lo - 1]->size ? dusk_kv.kv[lo - 1]->size : 1))
		return -1;
	if (ret_off)
		*ret_off = p - base;
	return (ptrdiff_t)(lo - 1);
}

const struct dusk_kvar *dusk_kvar_of(uintptr_t p, uint64_t *ret_off)
{
	ptrdiff_t i;

	if (p < (uintptr_t)dusk_glue.kdata_start || p >= (uintptr_t)dusk_glue.kdata_stop)
		return NULL;
	i = dusk_kv_index(p, ret_off);
	return i < 0 ? NULL : dusk_kv.kv[i];
}

int dusk_kvar_is_this_module(const struct dusk_kvar *kv)
{
	return !strcmp(kv->name, "__this_module");
}

void dusk_kvar_foreach(void (*fn)(const struct dusk_kvar *kv, uint64_t kaddr,
				  void *arg),
		       void *arg)
{
	size_t i;

	if (!dusk_kv.kv_sorted && dusk_kv_sort())
		return;
	for (i = 0; i < dusk_kv.nr_kv; i++)
		fn(dusk_kv.kv[i], dusk_kv.kv_state[i].gen == dusk_kv.gen ?
		   dusk_kv.kv_state[i].kaddr : 0, arg);
}

int dusk_mod_ksym(const char *name, uint64_t *ret)
{
	struct dusk_session *s = dusk_mod_session();

	if (!s)
		return -ENOTCONN;
	return dusk_ksym(s, name, ret, NULL);
}

int dusk_kvar_kaddr(const struct dusk_kvar *kv, uint64_t *ret)
{
	struct dusk_kvar_state *st;
	ptrdiff_t i;
	int err;

	if (dusk_kvar_is_this_module(kv)) {
		*ret = 0;
		return 0;
	}
	if (!dusk_mod_session())
		return -ENOTCONN;
	i = dusk_kv_index((uintptr_t)kv->placeholder, NULL);
	if (i < 0 || dusk_kv.kv[i] != kv) {
		/* Not one of the glue's table (a test's own): no cache. */
		return dusk_mod_ksym(kv->name, ret);
	}
	st = &dusk_kv.kv_state[i];
	if (st->gen != dusk_kv.gen) {
		err = dusk_mod_ksym(kv->name, &st->kaddr);
		if (err)
			return err;
		st->gen = dusk_kv.gen;
	}
	*ret = st->kaddr;
	return 0;
}

DUSK_EXPORT void *__dusk_gvar(const void *placeholder)
{
	uintptr_t p = (uintptr_t)placeholder;
	const struct dusk_kvar *kv;
	uint64_t off, k;
	char ebuf[64];
	int err;

	if (p < (uintptr_t)dusk_glue.kdata_start || p >= (uintptr_t)dusk_glue.kdata_stop)
		return (void *)placeholder;	/* the module's own variable */
	kv = dusk_kvar_of(p, &off);
	if (!kv)
		return (void *)placeholder;
	/* The module's own struct module lives at user level: only where it
	 * crosses into the kernel does it become NULL ("built in"). */
	if (dusk_kvar_is_this_module(kv))
		return (void *)placeholder;
	err = dusk_kvar_kaddr(kv, &k);
	if (err)
		dusk_mod_fatal(1, "kernel variable %s: %s", kv->name,
			       err == -ENOENT ? "the target kernel has no such symbol" :
			       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	return (void *)(uintptr_t)(k + off);
}

/* ---- per-CPU ---- */

unsigned int dusk_mod_cpu(void)
{
	return dusk_invocation_cpu();
}

int dusk_percpu_offset(unsigned int cpu, uint64_t *ret)
{
	struct dusk_session *s = dusk_mod_session();
	uint64_t addr;
	uint64_t *v;
	int err;

	if (!s)
		return -ENOTCONN;
	if (!dusk_kv.percpu) {
		uint32_t n = s->nr_cpus ? s->nr_cpus : 1;

		err = dusk_ksym(s, "__per_cpu_offset", &addr, NULL);
		if (err)
			return err;
		v = calloc(n, sizeof(*v));
		if (!v)
			return -ENOMEM;
		err = dusk_kread(s, addr, v, n * sizeof(*v));
		if (err) {
			free(v);
			return err;
		}
		dusk_kv.percpu = v;
		dusk_kv.nr_cpus = n;
	}
	if (cpu >= dusk_kv.nr_cpus)
		return -ERANGE;
	*ret = dusk_kv.percpu[cpu];
	return 0;
}

static int dusk_pcpu_find(void)
{
	if (!dusk_pcpu.known) {
		dusk_pcpu.known = 1;
		dusk_image_percpu(&dusk_pcpu.lo, &dusk_pcpu.hi);
	}
	return dusk_pcpu.hi > dusk_pcpu.lo ? 0 : -ENOENT;
}

void dusk_percpu_snapshot(void)
{
	if (dusk_pcpu_find() || dusk_pcpu.initial)
		return;
	dusk_pcpu.initial = malloc(dusk_pcpu.hi - dusk_pcpu.lo);
	if (dusk_pcpu.initial)
		memcpy(dusk_pcpu.initial, (void *)dusk_pcpu.lo,
		       dusk_pcpu.hi - dusk_pcpu.lo);
	/* Module per-CPU addresses reach the slow path (per_cpu_ptr()). */
	dusk_shadow_user_of = dusk_kcopy_user;
}

/* The copies, one per CPU of the target (made once its CPUs are known). */
static int dusk_pcpu_copies(void)
{
	struct dusk_session *s;
	size_t len;
	unsigned int i, n;

	if (dusk_pcpu.copy)
		return 0;
	if (dusk_pcpu_find())
		return -ENOENT;
	s = dusk_mod_session();
	if (!s)
		return -ENOTCONN;
	n = s->nr_cpus ? s->nr_cpus : 1;
	len = dusk_pcpu.hi - dusk_pcpu.lo;
	dusk_pcpu.copy = calloc(n, sizeof(*dusk_pcpu.copy));
	if (!dusk_pcpu.copy)
		return -ENOMEM;
	dusk_pcpu.copy[0] = (uint8_t *)dusk_pcpu.lo;
	for (i = 1; i < n; i++) {
		dusk_pcpu.copy[i] = aligned_alloc(64, (len + 63) & ~(size_t)63);
		if (!dusk_pcpu.copy[i])
			return -ENOMEM;
		memcpy(dusk_pcpu.copy[i], dusk_pcpu.initial ? dusk_pcpu.initial :
		       (uint8_t *)dusk_pcpu.lo, len);
	}
	dusk_pcpu.nr = n;
	dusk_shadow_user_of = dusk_kcopy_user;
	return 0;
}

void *dusk_percpu_user(uint64_t k)
{
	uint64_t off;
	unsigned int c;

	if (dusk_pcpu_find() || dusk_pcpu_copies())
		return NULL;
	for (c = 0; c < dusk_pcpu.nr; c++) {
		uint64_t u;

		if (dusk_percpu_offset(c, &off))
			return NULL;
		u = k - off;
		if (u >= dusk_pcpu.lo && u < dusk_pcpu.hi)
			return dusk_pcpu.copy[c] + (u - dusk_pcpu.lo);
	}
	return NULL;
}

/* current_task's per-CPU offset (the symbol's value), 0 if the glue has
 * no such variable or it is unknown. */
static uint64_t dusk_current_task_off(void)
{
	static uint64_t off, gen;
	size_t i, n = dusk_nr_kvars_get();

	if (gen == dusk_kv.gen && dusk_kv.s)
		return off;
	off = 0;
	for (i = 0; i < n; i++) {
		if (!strcmp(dusk_glue.kvars[i].name, "current_task")) {
			if (dusk_kvar_kaddr(&dusk_glue.kvars[i], &off))
				off = 0;
			break;
		}
	}
	gen = dusk_kv.gen;
	return off;
}

/* The caller's task while this thread serves a blocking invocation: what
 * this_cpu_read(current_task) loads through __dusk_this_cpu_ptr. */
static __thread uint64_t dusk_invoke_task;

DUSK_EXPORT void *__dusk_this_cpu_ptr(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	unsigned int cpu;
	uint64_t off;
	char ebuf[64];
	int err;

	if (!dusk_pcpu_find() && a >= dusk_pcpu.lo && a < dusk_pcpu.hi) {
		/* The module's own per-CPU variable: this CPU's copy. */
		cpu = dusk_mod_cpu();
		err = dusk_pcpu_copies();
		if (!err && cpu >= dusk_pcpu.nr)
			err = -ERANGE;
		if (err)
			dusk_mod_fatal(1, "per-CPU copy of CPU %u of the module's variables: %s",
				       cpu, dusk_errno_text(err, ebuf, sizeof(ebuf)));
		return dusk_pcpu.copy[cpu] + (a - dusk_pcpu.lo);
	}
	switch (dusk_mem_class(a)) {
	case DUSK_MEM_KDATA:
		/* A per-CPU placeholder given directly: its per-CPU offset. */
		a = (uintptr_t)__dusk_gvar(addr);
		break;
	case DUSK_MEM_OTHER:
	case DUSK_MEM_KERNEL:
		/* A kernel per-CPU offset (a symbol's value, or a __percpu
		 * pointer from alloc_percpu: not an address of ours). */
		break;
	default:
		/* Program memory that is not per-CPU: itself. */
		return (void *)addr;
	}
	dusk_invoke_task = dusk_invocation_task();
	if (dusk_invoke_task && a && a == dusk_current_task_off())
		return &dusk_invoke_task;	/* current is the caller */
	cpu = dusk_mod_cpu();
	err = dusk_percpu_offset(cpu, &off);
	if (err)
		dusk_mod_fatal(1, "per-CPU offset of CPU %u: %s", cpu,
			       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	return (void *)(uintptr_t)(off + a);
}

/* ---- functions ---- */

static int dusk_kf_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)(*(const struct dusk_kfunc_stub *const *)a)->stub;
	uintptr_t y = (uintptr_t)(*(const struct dusk_kfunc_stub *const *)b)->stub;

	return x < y ? -1 : x > y;
}

static int dusk_kf_sort(void)
{
	size_t i, n = dusk_nr_kfuncs_get();

	dusk_kv.kf_sorted = 1;
	if (!n)
		return 0;
	dusk_kv.kf = calloc(n, sizeof(*dusk_kv.kf));
	if (!dusk_kv.kf) {
		dusk_kv.kf_sorted = 0;
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		dusk_kv.kf[i] = &dusk_glue.kfuncs[i];
	qsort(dusk_kv.kf, n, sizeof(*dusk_kv.kf), dusk_kf_cmp);
	dusk_kv.nr_kf = n;
	return 0;
}

const struct dusk_kfunc_stub *dusk_kfunc_of_stub(uintptr_t addr)
{
	size_t lo = 0, hi, mid;

	if (!dusk_kv.kf_sorted && dusk_kf_sort())
		return NULL;
	hi = dusk_kv.nr_kf;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((uintptr_t)dusk_kv.kf[mid]->stub < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < dusk_kv.nr_kf && (uintptr_t)dusk_kv.kf[lo]->stub == addr)
		return dusk_kv.kf[lo];
	return NULL;
}

const struct dusk_kfunc_stub *dusk_kfunc_of_kaddr(uint64_t k)
{
	size_t i;

	if (!dusk_kv.kf_sorted && dusk_kf_sort())
		return NULL;
	dusk_mod_session();
	for (i = 0; i < dusk_kv.nr_kf; i++)
		if (dusk_kv.kf[i]->f && dusk_kv.kf[i]->f->kaddr == k)
			return dusk_kv.kf[i];
	return NULL;
}

int dusk_kfunc_resolve(struct dusk_kfunc *f)
{
	if (!dusk_mod_session())
		return -ENOTCONN;
	if (f->kaddr)
		return 0;
	return dusk_mod_ksym(f->name, &f->kaddr);
}
