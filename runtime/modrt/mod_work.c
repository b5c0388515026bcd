// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Work items and workqueues (modrt.h): the program's own workers.
 *
 * A workqueue the module allocates is a real one in the target
 * (alloc_workqueue() there, with the module's name and flags: its rescuer
 * thread shows in ps as the .ko's does; session-owned), but nothing is
 * ever queued on it there: the module's work_struct stays the module's and
 * its function runs in the program, on worker threads of that workqueue
 * (one for an ordered one, up to four otherwise), in process context,
 * under the program lock, free to sleep. The kernel's system workqueues
 * (system_wq, what schedule_work() uses...) get workers the same way.
 * A delayed work waits on the program's softirq thread (mod_softirq.c), as
 * the kernel's waits on a timer, then is queued.
 *
 * flush_work(), cancel_work_sync(), flush_workqueue() and
 * destroy_workqueue() wait in the program, never in the kernel: a kernel
 * thread waiting for the program would wait for ever. work_pending()
 * reads the pending bit the module's work_struct holds, as in the kernel.
 * Module exit and the session's end stop everything (dusk_work_stop()):
 * work still queued after cleanup_module is reported and dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dusk.h"
#include "kconst.h"
#include "klib.h"
#include "klib_ctx.h"
#include "log.h"
#include "modrt.h"
#include "observe.h"
#include "plock.h"
#include "session.h"

#define RD(p, n)	((const void *)__dusk_check((p), (n)))
#define WR(p, n)	((void *)__dusk_check_w((p), (n)))

/* Workers of a workqueue that is not ordered. */
#define DUSK_WQ_WORKERS	4

struct dusk_wq {
	struct dusk_wq *next;
	uintptr_t wq;			/* the workqueue_struct's address */
	char name[32];
	unsigned int max_workers;	/* 1: ordered */
	unsigned int workers, idle;
	int dying;
	int ours;			/* alloc_workqueue()'s, not the kernel's */
	struct dusk_work *head, **tail;	/* queued */
	pthread_cond_t cv;		/* its workers wait for work */
	uint64_t seq;			/* queueings so far */
};

struct dusk_work {
	struct dusk_work *next;		/* every one known */
	struct dusk_work *qnext;	/* on its workqueue's queue */
	uintptr_t key;
	void *obj;			/* the work_struct, as the module has it */
	struct dusk_wq *q;
	int queued;			/* on q's queue */
	int delayed;			/* a delayed work's timer is armed */
	int running;
	uint64_t qseq, run_seq;		/* its last queueing, the one running */
	uint64_t runs;
	uintptr_t fn;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t done;		/* a work item ran to its end */
	int ready;
	struct dusk_session *s;
	struct dusk_wq *wqs;
	struct dusk_work *works;
} wk = { .mu = PTHREAD_MUTEX_INITIALIZER, .done = PTHREAD_COND_INITIALIZER };

static uint64_t dusk_work_data(const void *work)
{
	uint64_t v;

	memcpy(&v, RD((const char *)work + DUSK_K_WORK_STRUCT__DATA, 8), 8);
	return v;
}

/* work_pending() tests WORK_STRUCT_PENDING_BIT of work->data. */
static void dusk_work_mark(void *work, int pending)
{
	uint64_t v = dusk_work_data(work), bit = 1ULL << DUSK_K_WORK_STRUCT_PENDING_BIT;

	v = pending ? v | bit : v & ~bit;
	memcpy(WR((char *)work + DUSK_K_WORK_STRUCT__DATA, 8), &v, 8);
}

/* Under wk.mu: another session forgets the last one's queues. */
static void dusk_work_session(void)
{
	struct dusk_session *s = dusk_mod_session();
	struct dusk_work *w;

	if (wk.s == s)
		return;
	wk.s = s;
	for (w = wk.works; w; w = w->next) {
		w->queued = w->delayed = 0;
		w->q = NULL;
	}
	wk.wqs = NULL;	/* their threads ended with their session */
}

static struct dusk_work *dusk_work_get(void *work)
{
	uintptr_t key = dusk_klib_obj_key(work);
	struct dusk_work *w;

	dusk_work_session();
	for (w = wk.works; w; w = w->next)
		if (w->key == key)
			break;
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			dusk_mod_fatal(1, "out of memory");
		w->key = key;
		w->next = wk.works;
		wk.works = w;
	}
	w->obj = work;
	return w;
}

static struct dusk_wq *dusk_wq_find(uintptr_t wq)
{
	struct dusk_wq *q;

	dusk_work_session();
	for (q = wk.wqs; q; q = q->next)
		if (q->wq == wq && !q->dying)
			return q;
	return NULL;
}

static struct dusk_wq *dusk_wq_add(uintptr_t wq, const char *name,
				   unsigned int max_workers, int ours)
{
	struct dusk_wq *q = calloc(1, sizeof(*q));

	if (!q)
		dusk_mod_fatal(1, "out of memory");
	dusk_work_session();
	q->wq = wq;
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->max_workers = max_workers;
	q->ours = ours;
	q->tail = &q->head;
	pthread_cond_init(&q->cv, NULL);
	q->next = wk.wqs;
	wk.wqs = q;
	return q;
}

/* A workqueue the module did not allocate: one of the kernel's. */
static struct dusk_wq *dusk_wq_get(void *wq)
{
	struct dusk_wq *q = dusk_wq_find((uintptr_t)wq);

	if (!q)
		q = dusk_wq_add((uintptr_t)wq, "events", DUSK_WQ_WORKERS, 0);
	return q;
}

/* ---- workers -------------------------------------------------------------------- */

static void dusk_work_call(void *work)
{
	uint64_t kfn;
	uintptr_t fn;

	/* The kernel clears PENDING before it calls the function, which
	 * may queue its work again. (Here, after dusk_defer_run()'s
	 * refresh: a change before it would be dropped.) */
	dusk_work_mark(work, 0);
	fn = dusk_defer_get_fn(work, DUSK_K_WORK_STRUCT__FUNC, &kfn);

	if (fn)
		((void (*)(void *))fn)(work);
	else
		dusk_warn("work %p: its function is %s: not called at user level",
			  work, kfn ? "the kernel's" : "NULL");
}

/* Under wk.mu: something for a worker of q (work, or its end). */
static int dusk_wq_has_work(void *arg)
{
	const struct dusk_wq *q = arg;

	return q->head || q->dying;
}

static void *dusk_worker_main(void *arg)
{
	struct dusk_wq *q = arg;
	struct dusk_work *w;
	char name[96], what[128];
	uint64_t kfn;

	dusk_plock_take();
	pthread_mutex_lock(&wk.mu);
	for (;;) {
		w = q->head;
		if (!w) {
			if (q->dying)
				break;
			q->idle++;
			dusk_plock_cond_wait(&q->cv, &wk.mu, NULL, dusk_wq_has_work, q);
			q->idle--;
			continue;
		}
		q->head = w->qnext;
		if (!q->head)
			q->tail = &q->head;
		w->queued = 0;
		w->running = 1;
		w->run_seq = w->qseq;
		pthread_mutex_unlock(&wk.mu);
		w->fn = dusk_defer_get_fn(w->obj, DUSK_K_WORK_STRUCT__FUNC, &kfn);
		snprintf(what, sizeof(what), "work function %s",
			 dusk_defer_fn_name(w->fn, name, sizeof(name)));
		w->runs++;
		dusk_defer_run(dusk_work_call, w->obj, DUSK_CTX_TASK, what);
		pthread_mutex_lock(&wk.mu);
		w->running = 0;
		pthread_cond_broadcast(&wk.done);
	}
	q->workers--;
	pthread_cond_broadcast(&wk.done);
	pthread_mutex_unlock(&wk.mu);
	dusk_plock_put();
	dusk_plock_wake_close();
	return NULL;
}

/* Under wk.mu: w on q's queue, its worker woken (or made). */
static void dusk_work_enqueue(struct dusk_wq *q, struct dusk_work *w)
{
	pthread_attr_t attr;
	pthread_t t;

	/* Being destroyed, or the module's exit is over: as the kernel's
	 * destroy_workqueue() would warn of a chain that never ends, this
	 * queueing is dropped. */
	if (q->dying) {
		dusk_warn("work %p queued on workqueue %s while it is destroyed: dropped",
			  w->obj, q->name);
		w->queued = 0;
		return;
	}
	w->q = q;
	w->queued = 1;
	w->qseq = ++q->seq;
	w->qnext = NULL;
	*q->tail = w;
	q->tail = &w->qnext;
	if (!q->idle && q->workers < q->max_workers) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, dusk_worker_main, q))
			dusk_mod_fatal(1, "cannot start a worker of workqueue %s",
				       q->name);
		pthread_attr_destroy(&attr);
		q->workers++;
	}
	pthread_cond_signal(&q->cv);
}

/* Under wk.mu: w off its queue. */
static void dusk_work_dequeue(struct dusk_work *w)
{
	struct dusk_work **pp;
	struct dusk_wq *q = w->q;

	if (!w->queued || !q)
		return;
	for (pp = &q->head; *pp; pp = &(*pp)->qnext) {
		if (*pp == w) {
			*pp = w->qnext;
			if (!*pp)
				q->tail = pp;
			break;
		}
	}
	w->queued = 0;
}

/* Under wk.mu, holding the program lock: until busy(arg) is 0. */
static void dusk_work_wait_while(int (*busy)(void *arg), void *arg)
{
	if (!busy(arg))
		return;
	dusk_ctx_sleep_begin_mu(&wk.mu);
	while (busy(arg))
		pthread_cond_wait(&wk.done, &wk.mu);
	dusk_ctx_sleep_end_mu(&wk.mu);
}

/* INIT_WORK() is inline: its function is learnt when it is queued. */
static void dusk_work_seen(struct dusk_work *w)
{
	uint64_t kfn;

	w->fn = dusk_defer_get_fn(w->obj, DUSK_K_WORK_STRUCT__FUNC, &kfn);
	dusk_defer_seen(w->fn, "work");
}

/* ---- queueing ------------------------------------------------------------------- */

DUSK_EXPORT bool __dusk_impl_queue_work_on(int cpu, void *wq, void *work)
{
	struct dusk_work *w;
	bool queued = false;

	(void)cpu;
	pthread_mutex_lock(&wk.mu);
	w = dusk_work_get(work);
	if (!w->queued && !w->delayed) {
		dusk_work_seen(w);
		dusk_work_mark(work, 1);
		dusk_work_enqueue(dusk_wq_get(wq), w);
		queued = true;
	}
	pthread_mutex_unlock(&wk.mu);
	return queued;
}

DUSK_EXPORT bool __dusk_impl_queue_work_node(int node, void *wq, void *work)
{
	(void)node;
	return __dusk_impl_queue_work_on(-1, wq, work);
}

/* Under wk.mu: dwork waits delay jiffies on the softirq thread. */
static void dusk_dwork_arm(void *dwork, struct dusk_work *w,
			   struct dusk_wq *q, unsigned long delay)
{
	struct dusk_alarm *a;
	uint64_t j;
	char *timer = (char *)dwork + DUSK_K_DELAYED_WORK__TIMER;

	w->q = q;
	w->delayed = 1;
	if (dusk_tclock_jiffies(0, &j))
		j = 0;
	memcpy(WR(timer + DUSK_K_TIMER_LIST__EXPIRES, 8), &(uint64_t){ j + delay },
	       8);
	dusk_softirq_lock();
	a = dusk_alarm_get(dwork, DUSK_ALARM_DWORK);
	a->fn = w->fn;
	dusk_alarm_arm(a, j + delay);
	dusk_softirq_unlock();
}

/* Its timer expired (the softirq thread, holding the program lock). */
void dusk_dwork_expired(void *dwork)
{
	struct dusk_work *w;

	pthread_mutex_lock(&wk.mu);
	w = dusk_work_get(dwork);
	if (w->delayed && w->q) {
		w->delayed = 0;
		dusk_work_enqueue(w->q, w);
	}
	pthread_mutex_unlock(&wk.mu);
}

/* Under wk.mu: a delayed work's timer disarmed (not waiting for it). */
static int dusk_dwork_disarm(void *dwork, struct dusk_work *w)
{
	struct dusk_alarm *a;

	if (!w->delayed)
		return 0;
	w->delayed = 0;
	dusk_softirq_lock();
	a = dusk_alarm_get(dwork, DUSK_ALARM_DWORK);
	a->armed = 0;
	dusk_softirq_unlock();
	return 1;
}

DUSK_EXPORT bool __dusk_impl_queue_delayed_work_on(int cpu, void *wq,
						   void *dwork,
						   unsigned long delay)
{
	struct dusk_work *w;
	bool queued = false;

	pthread_mutex_lock(&wk.mu);
	w = dusk_work_get(dwork);
	if (!w->queued && !w->delayed) {
		dusk_work_seen(w);
		dusk_work_mark(dwork, 1);
		if (!delay)
			dusk_work_enqueue(dusk_wq_get(wq), w);
		else
			dusk_dwork_arm(dwork, w, dusk_wq_get(wq), delay);
		queued = true;
	}
	pthread_mutex_unlock(&wk.mu);
	(void)cpu;
	return queued;
}

DUSK_EXPORT bool __dusk_impl_mod_delayed_work_on(int cpu, void *wq,
						 void *dwork,
						 unsigned long delay)
{
	struct dusk_work *w;
	bool was;

	pthread_mutex_lock(&wk.mu);
	w = dusk_work_get(dwork);
	was = dusk_dwork_disarm(dwork, w) || w->queued;
	dusk_work_dequeue(w);
	dusk_work_mark(dwork, 1);
	if (!delay)
		dusk_work_enqueue(dusk_wq_get(wq), w);
	else
		dusk_dwork_arm(dwork, w, dusk_wq_get(wq), delay);
	pthread_mutex_unlock(&wk.mu);
	(void)cpu;
	return was;
}

/* ---- cancelling and flushing ------------------------------------------------------ */

static int dusk_work_running(void *arg)
{
	return ((struct dusk_work *)arg)->running;
}

/* cancel_work() and cancel_delayed_work() (sync 0), their _sync. */
static bool dusk_work_cancel(void *work, int sync)
{
	struct dusk_work *w;
	bool was;

	pthread_mutex_lock(&wk.mu);
	w = dusk_work_get(work);
	was = dusk_dwork_disarm(work, w) || w->queued;
	dusk_work_dequeue(w);
	dusk_work_mark(work, 0);
	if (sync)
		dusk_work_wait_while(dusk_work_running, w);
	pthread_mutex_unlock(&wk.mu);
	return was;
}

DUSK_EXPORT bool __dusk_impl_cancel_work(void *work)
{
	return dusk_work_cancel(work, 0);
}

DUSK_EXPORT bool __dusk_impl_cancel_work_sync(void *work)
{
	dusk_ctx_might_sleep_at("cancel_work_sync", __builtin_return_address(0));
	return dusk_work_cancel(work, 1);
}

DUSK_EXPORT bool __dusk_impl_cancel_delayed_work(void *dwork)
{
	return dusk_work_cancel(dwork, 0);
}

DUSK_EXPORT bool __dusk_impl_cancel_delayed_work_sync(void *dwork)
{
	dusk_ctx_might_sleep_at("cancel_delayed_work_sync",
				__builtin_return_address(0));
	return dusk_work_cancel(dwork, 1);
}

struct dusk_flush {
	struct dusk_work *w;
	uint64_t seq;
};

/* The queueing flushed, or an earlier one, still queued or running. */
static int dusk_work_unflushed(void *arg)
{
	const struct dusk_flush *f = arg;

	return (f->w->queued && f->w->qseq <= f->seq) ||
	       (f->w->running && f->w->run_seq <= f->seq);
}

DUSK_EXPORT bool __dusk_impl_flush_work(void *work)
{
	struct dusk_flush f;
	bool waited;

	dusk_ctx_might_sleep_at("flush_work", __builtin_return_address(0));
	pthread_mutex_lock(&wk.mu);
	f.w = dusk_work_get(work);
	waited = f.w->queued || f.w->running;
	/* The last queueing of it, or the run in progress. */
	f.seq = f.w->queued ? f.w->qseq : f.w->run_seq;
	if (waited)
		dusk_work_wait_while(dusk_work_unflushed, &f);
	pthread_mutex_unlock(&wk.mu);
	return waited;
}

DUSK_EXPORT bool __dusk_impl_flush_delayed_work(void *dwork)
{
	struct dusk_work *w;

	pthread_mutex_lock(&wk.mu);
	w = dusk_work_get(dwork);
	if (dusk_dwork_disarm(dwork, w) && w->q)
		dusk_work_enqueue(w->q, w);
	pthread_mutex_unlock(&wk.mu);
	return __dusk_impl_flush_work(dwork);
}

struct dusk_qflush {
	struct dusk_wq *q;
	uint64_t seq;			/* 0: everything, requeued ones too */
};

static int dusk_wq_busy(void *arg)
{
	const struct dusk_qflush *f = arg;
	struct dusk_work *w;

	for (w = wk.works; w; w = w->next) {
		if (w->q != f->q)
			continue;
		if (!f->seq && (w->queued || w->running || w->delayed))
			return 1;
		if ((w->queued && w->qseq <= f->seq) ||
		    (w->running && w->run_seq <= f->seq))
			return 1;
	}
	return 0;
}

static void dusk_wq_flush(void *wq, int drain)
{
	struct dusk_qflush f;

	pthread_mutex_lock(&wk.mu);
	f.q = dusk_wq_find((uintptr_t)wq);
	if (f.q) {
		f.seq = drain ? 0 : f.q->seq;
		dusk_work_wait_while(dusk_wq_busy, &f);
	}
	pthread_mutex_unlock(&wk.mu);
}

DUSK_EXPORT void __dusk_impl___flush_workqueue(void *wq)
{
	dusk_ctx_might_sleep_at("flush_workqueue", __builtin_return_address(0));
	dusk_wq_flush(wq, 0);
}

DUSK_EXPORT void __dusk_impl_flush_workqueue(void *wq)
{
	__dusk_impl___flush_workqueue(wq);
}

DUSK_EXPORT void __dusk_impl_drain_workqueue(void *wq)
{
	dusk_ctx_might_sleep_at("drain_workqueue", __builtin_return_address(0));
	dusk_wq_flush(wq, 1);
}

DUSK_EXPORT unsigned int __dusk_impl_work_busy(void *work)
{
	struct dusk_work *w;
	unsigned int ret;

	pthread_mutex_lock(&wk.mu);
	w = dusk_work_get(work);
	ret = (w->queued || w->delayed ? 1U : 0U) | (w->running ? 2U : 0U);
	pthread_mutex_unlock(&wk.mu);
	return ret;	/* WORK_BUSY_PENDING, WORK_BUSY_RUNNING */
}

/* INIT_WORK_ONSTACK()'s pair: nothing of the program's to undo. */
DUSK_EXPORT void __dusk_impl_destroy_work_on_stack(void *work)
{
	(void)work;
}

DUSK_EXPORT void __dusk_impl_destroy_delayed_work_on_stack(void *dwork)
{
	(void)dwork;
}

/* ---- workqueues ------------------------------------------------------------------- */

static int dusk_wq_has_workers(void *arg)
{
	return ((struct dusk_wq *)arg)->workers != 0;
}

/* Under wk.mu, holding the program lock: q's workers end. */
static void dusk_wq_end(struct dusk_wq *q)
{
	q->dying = 1;
	pthread_cond_broadcast(&q->cv);
	dusk_work_wait_while(dusk_wq_has_workers, q);
}

DUSK_EXPORT void *__dusk_impl_alloc_workqueue(const char *fmt,
					      unsigned int flags,
					      int max_active, ...)
{
	uint64_t args[4], wq = 0, kname, kfmt;
	char name[64];
	va_list ap;
	int err;

	va_start(ap, max_active);
	dusk_kvsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	/* The kernel's own, by the same name and flags: empty for ever. */
	kfmt = dusk_klib_kdup("%s", 3, 0);
	kname = dusk_klib_kdup(name, strlen(name) + 1, 0);
	if (!kfmt || !kname) {
		err = -ENOMEM;
	} else {
		args[0] = kfmt;
		args[1] = flags;
		args[2] = (uint64_t)(int64_t)max_active;
		args[3] = kname;
		err = dusk_klib_kcall("alloc_workqueue", args, 4, &wq);
	}
	if (kfmt)
		dusk_klib_kfree(kfmt);
	if (kname)
		dusk_klib_kfree(kname);
	if (err || !wq) {
		if (err)
			dusk_warn("alloc_workqueue(%s) in the kernel: %s", name,
				  strerror(-err));
		return NULL;
	}
	pthread_mutex_lock(&wk.mu);
	dusk_wq_add((uintptr_t)wq, name,
		    (flags & DUSK_K___WQ_ORDERED) || max_active == 1 ?
		    1 : DUSK_WQ_WORKERS, 1);
	pthread_mutex_unlock(&wk.mu);
	return (void *)(uintptr_t)wq;
}

DUSK_EXPORT void __dusk_impl_destroy_workqueue(void *wq)
{
	struct dusk_wq *q;
	uint64_t arg = (uintptr_t)wq, ret;
	int ours = 0, err;

	dusk_ctx_might_sleep_at("destroy_workqueue", __builtin_return_address(0));
	__dusk_impl_drain_workqueue(wq);
	pthread_mutex_lock(&wk.mu);
	q = dusk_wq_find((uintptr_t)wq);
	if (q) {
		ours = q->ours;
		dusk_wq_end(q);
	}
	pthread_mutex_unlock(&wk.mu);
	if (!ours) {
		dusk_klib_warn(1, NULL, "destroy_workqueue(%p): not a workqueue the module allocated",
			       wq);
		return;
	}
	err = dusk_klib_kcall("destroy_workqueue", &arg, 1, &ret);
	if (err)
		dusk_warn("destroy_workqueue(%p) in the kernel: %s", wq,
			  strerror(-err));
}

int dusk_work_foreach(void (*fn)(const struct dusk_work_info *w, void *arg),
		      void *arg)
{
	struct dusk_work_info info;
	struct dusk_work *w;

	/* gdb calls this with every thread stopped: one may hold it. */
	if (pthread_mutex_trylock(&wk.mu))
		return -EBUSY;
	for (w = wk.works; w; w = w->next) {
		if (!w->queued && !w->delayed && !w->running)
			continue;
		info.work = w->obj;
		info.fn = w->fn ? w->fn : 0;
		info.wq = w->q ? w->q->name : "";
		info.queued = w->queued;
		info.delayed = w->delayed;
		info.running = w->running;
		info.runs = w->runs;
		fn(&info, arg);
	}
	pthread_mutex_unlock(&wk.mu);
	return 0;
}

unsigned int dusk_work_stop(const char *when)
{
	struct dusk_work *w;
	struct dusk_wq *q;
	char name[96];
	unsigned int left = 0;
	uint64_t kfn;

	pthread_mutex_lock(&wk.mu);
	for (w = wk.works; w; w = w->next) {
		if (!w->queued && !w->delayed)
			continue;
		if (when)
			dusk_err("work %s (at %p) still %s %s: the .ko's would run unloaded code; cancelled",
				 dusk_defer_fn_name(dusk_defer_get_fn(w->obj, DUSK_K_WORK_STRUCT__FUNC, &kfn),
						    name, sizeof(name)),
				 w->obj, w->queued ? "queued" : "pending on its timer",
				 when);
		dusk_work_dequeue(w);
		w->delayed = 0;
		left++;
	}
	for (q = wk.wqs; q; q = q->next)
		dusk_wq_end(q);
	pthread_mutex_unlock(&wk.mu);
	return left;
}
