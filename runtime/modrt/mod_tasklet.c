// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Tasklets (modrt.h): tasklet_init(), tasklet_setup(), tasklet_schedule(),
 * tasklet_kill() and the rest, run by the program's softirq thread
 * (mod_softirq.c) in softirq context. The module's tasklet_struct keeps
 * the state bits module code tests inline (tasklet_schedule() sets
 * TASKLET_STATE_SCHED itself before it calls __tasklet_schedule(); RUN is
 * set while the function runs) and its count (tasklet_disable() and
 * tasklet_enable() are inline: a scheduled tasklet that is disabled waits,
 * looked at again now and then). The records here are under the softirq
 * lock.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kconst.h"
#include "klib.h"
#include "klib_ctx.h"
#include "log.h"
#include "modrt.h"

struct dusk_tasklet {
	struct dusk_tasklet *next;
	uintptr_t key;			/* dusk_klib_obj_key() of obj */
	void *obj;			/* the module's tasklet_struct */
	int queued, running;
	uint64_t runs;
};

static struct dusk_tasklet *tasklets;	/* every one known */

static struct dusk_tasklet *dusk_tasklet_get(void *t)
{
	uintptr_t key = dusk_klib_obj_key(t);
	struct dusk_tasklet *tl;

	for (tl = tasklets; tl; tl = tl->next)
		if (tl->key == key)
			break;
	if (!tl) {
		tl = calloc(1, sizeof(*tl));
		if (!tl)
			dusk_mod_fatal(1, "out of memory");
		tl->key = key;
		tl->next = tasklets;
		tasklets = tl;
	}
	tl->obj = t;
	return tl;
}

/* Under the softirq lock: a scheduled tasklet that is not disabled
 * (t->count 0), now running; NULL if none. */
struct dusk_tasklet *dusk_tasklet_take(void)
{
	struct dusk_tasklet *t;

	for (t = tasklets; t; t = t->next) {
		if (t->queued && !t->running &&
		    !dusk_obj_get32(t->obj, DUSK_K_TASKLET_STRUCT__COUNT)) {
			t->queued = 0;
			t->running = 1;
			return t;
		}
	}
	return NULL;
}

/* Under the softirq lock: t ran. */
void dusk_tasklet_ran(struct dusk_tasklet *t)
{
	t->running = 0;
}

/* Under the softirq lock: a tasklet scheduled but disabled. */
int dusk_tasklet_parked(void)
{
	struct dusk_tasklet *t;

	for (t = tasklets; t; t = t->next)
		if (t->queued && !t->running)
			return 1;
	return 0;
}

static void dusk_tasklet_call(void *obj)
{
	uint64_t state, kfn;
	uintptr_t fn;

	/* tasklet_action_common(): RUN taken, SCHED cleared, then the
	 * function, then RUN dropped. */
	state = dusk_obj_get64(obj, DUSK_K_TASKLET_STRUCT__STATE);
	state |= 1ULL << DUSK_K_TASKLET_STATE_RUN;
	state &= ~(1ULL << DUSK_K_TASKLET_STATE_SCHED);
	dusk_obj_put64(obj, DUSK_K_TASKLET_STRUCT__STATE, state);
	fn = dusk_defer_get_fn(obj, DUSK_K_TASKLET_STRUCT__FUNC, &kfn);
	if (!fn)
		dusk_warn("tasklet %p: its function is %s: not called at user level",
			  obj, kfn ? "the kernel's" : "NULL");
	else if (dusk_obj_get8(obj, DUSK_K_TASKLET_STRUCT__USE_CALLBACK))
		((void (*)(void *))fn)(obj);
	else
		((void (*)(unsigned long))fn)(
			dusk_obj_get64(obj, DUSK_K_TASKLET_STRUCT__DATA));
	state = dusk_obj_get64(obj, DUSK_K_TASKLET_STRUCT__STATE);
	dusk_obj_put64(obj, DUSK_K_TASKLET_STRUCT__STATE,
		   state & ~(1ULL << DUSK_K_TASKLET_STATE_RUN));
}

/* On the softirq thread, holding the program lock, not the softirq lock. */
void dusk_tasklet_run(struct dusk_tasklet *t)
{
	char name[96], what[128];
	uint64_t kfn;
	uintptr_t fn;

	fn = dusk_defer_get_fn(t->obj, DUSK_K_TASKLET_STRUCT__FUNC, &kfn);
	snprintf(what, sizeof(what), "tasklet function %s",
		 dusk_defer_fn_name(fn, name, sizeof(name)));
	t->runs++;
	dusk_defer_run(dusk_tasklet_call, t->obj, DUSK_CTX_SOFTIRQ, what);
}

static void dusk_tasklet_setup_fn(void *t, uintptr_t fn, int use_callback,
				  unsigned long data)
{
	dusk_obj_put64(t, 0, 0);
	dusk_obj_put64(t, DUSK_K_TASKLET_STRUCT__STATE, 0);
	dusk_obj_put32(t, DUSK_K_TASKLET_STRUCT__COUNT, 0);
	dusk_obj_put8(t, DUSK_K_TASKLET_STRUCT__USE_CALLBACK, (uint8_t)use_callback);
	dusk_defer_put_fn(t, DUSK_K_TASKLET_STRUCT__FUNC, fn);
	dusk_obj_put64(t, DUSK_K_TASKLET_STRUCT__DATA, data);
	dusk_softirq_lock();
	dusk_tasklet_get(t)->queued = 0;
	dusk_softirq_unlock();
	dusk_defer_seen(fn, "tasklet");
}

DUSK_EXPORT void __dusk_impl_tasklet_init(void *t, void *func,
					  unsigned long data)
{
	dusk_tasklet_setup_fn(t, (uintptr_t)func, 0, data);
}

DUSK_EXPORT void __dusk_impl_tasklet_setup(void *t, void *callback)
{
	dusk_tasklet_setup_fn(t, (uintptr_t)callback, 1, 0);
}

/* tasklet_schedule() set TASKLET_STATE_SCHED inline, then calls this. */
DUSK_EXPORT void __dusk_impl___tasklet_schedule(void *t)
{
	dusk_softirq_lock();
	dusk_tasklet_get(t)->queued = 1;
	dusk_softirq_kick();
	dusk_softirq_unlock();
}

DUSK_EXPORT void __dusk_impl___tasklet_hi_schedule(void *t)
{
	__dusk_impl___tasklet_schedule(t);
}

DUSK_EXPORT void __dusk_impl_tasklet_unlock_wait(void *t)
{
	struct dusk_tasklet *tl;

	dusk_softirq_lock();
	tl = dusk_tasklet_get(t);
	dusk_softirq_wait_done(&tl->running);
	dusk_softirq_unlock();
}

DUSK_EXPORT void __dusk_impl_tasklet_unlock_spin_wait(void *t)
{
	__dusk_impl_tasklet_unlock_wait(t);
}

DUSK_EXPORT void __dusk_impl_tasklet_unlock(void *t)
{
	uint64_t state = dusk_obj_get64(t, DUSK_K_TASKLET_STRUCT__STATE);

	dusk_obj_put64(t, DUSK_K_TASKLET_STRUCT__STATE,
		   state & ~(1ULL << DUSK_K_TASKLET_STATE_RUN));
}

/* Waits for a scheduled tasklet to run (a disabled one: for ever, as
 * the kernel does), then leaves it unscheduled. */
DUSK_EXPORT void __dusk_impl_tasklet_kill(void *t)
{
	struct dusk_tasklet *tl;
	uint64_t state;

	dusk_ctx_might_sleep_at("tasklet_kill", __builtin_return_address(0));
	dusk_softirq_lock();
	tl = dusk_tasklet_get(t);
	while (tl->queued || tl->running) {
		dusk_softirq_kick();
		if (tl->running) {
			dusk_softirq_wait_done(&tl->running);
			continue;
		}
		/* Queued: the thread runs it once it can. */
		dusk_softirq_wait_any();
	}
	state = dusk_obj_get64(t, DUSK_K_TASKLET_STRUCT__STATE);
	dusk_obj_put64(t, DUSK_K_TASKLET_STRUCT__STATE,
		   state & ~(1ULL << DUSK_K_TASKLET_STATE_SCHED));
	dusk_softirq_unlock();
}

int dusk_tasklet_owns(uint64_t k)
{
	struct dusk_tasklet *t;

	for (t = tasklets; t; t = t->next)
		if (dusk_obj_kaddr(t->obj) + DUSK_K_TASKLET_STRUCT__FUNC == k)
			return 1;
	return 0;
}

unsigned int dusk_tasklet_cancel_all(const char *when)
{
	struct dusk_tasklet *t;
	unsigned int left = 0;

	for (t = tasklets; t; t = t->next) {
		if (!t->queued)
			continue;
		if (when)
			dusk_err("tasklet at %p still scheduled %s: cancelled",
				 t->obj, when);
		t->queued = 0;
		left++;
	}
	return left;
}
