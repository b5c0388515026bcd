// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Netfilter hooks, blocking invocations (INVOKE) and the event loop (see
 * hook.h).
 */
#include <endian.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/netfilter.h>

#include "hook.h"
#include "kernel.h"
#include "log.h"
#include "plock.h"
#include "session.h"
#include "shadow.h"
#include "watchdog.h"

#define DUSK_INV_HASH		1024
/* Answered invocations kept for duplicates, at most. */
#define DUSK_INV_DONE_MAX	65536
/* Callback threads past which each new one is warned about (a task
 * blocked in the module holds one each). */
#define DUSK_INV_THREADS_WARN	64
/* Datagrams taken in between two invocations, at most. */
#define DUSK_RX_DRAIN		64
/* INVOKEs handed to the threads and not yet taken, at most. */
#define DUSK_INV_WORK_MAX	1024

struct dusk_hook_rec {
	struct dusk_list node;
	uint64_t cookie;		/* our tag, echoed in HOOK */
	uint32_t handle;		/* dusk.ko's */
	dusk_nf_hookfn fn;
	void *priv;
	unsigned int hold_ms;		/* its own, 0: the session's */
};

/* A callback a proxy slot stands for (dusk_callback_register()). */
struct dusk_cb_rec {
	struct dusk_list node;
	uint64_t cookie;		/* our tag, echoed in INVOKE */
	dusk_callback_fn fn;
	void *priv;
};

enum dusk_inv_state {
	DUSK_INV_QUEUED,
	DUSK_INV_RUNNING,
	DUSK_INV_ANSWERED,
	DUSK_INV_SKIPPED,		/* arrived too late to matter */
};

struct dusk_inv {
	struct dusk_list node;		/* hooks->queue, then hooks->done */
	struct dusk_inv *hnext;
	enum dusk_inv_kind kind;	/* a HOOK's or an INVOKE's */
	uint64_t packet;		/* the HOOK's or INVOKE's id */
	uint64_t last_id;		/* INVOKE: its requests' ids so far */
	uint32_t cpu;			/* the HOOK's: where the hook ran */
	unsigned int hold_ms;		/* its hook's hold time, once run */
	enum dusk_inv_state state;
	uint64_t first_rx_ns;
	uint64_t done_ms;
	uint32_t dups;
	uint8_t *msg;			/* the HOOK's record or the INVOKE's
					 * payload, until run */
	uint32_t msg_len;
	struct dusk_req *verdict;	/* RETURN, kept to answer duplicates */
	uint8_t *answer;		/* HOOK: its VERDICT record, kept to
					 * answer duplicates */
	uint32_t answer_len;
	uint64_t answer_batch;		/* the VERDICT it went in (vbatch_sent) */
	int acked;
	/* INVOKE: its caller (the payload goes once run). */
	uint64_t task;
	uint32_t pid, tgid;
	char comm[16];
	pid_t tid;			/* the thread running it, once run */
	/* SIGNAL: 0, 1 (a signal), 2 (killed); written by the receiving
	 * thread, read by the one running the invocation. */
	_Atomic int signalled;
	uint64_t sig_id;		/* the newest SIGNAL's id */
};

struct dusk_hooks_stats {
	uint64_t hooks;			/* invocations run */
	uint64_t callbacks;		/* of them, INVOKEs */
	uint64_t resent_returns;
	uint64_t gone;			/* RETURN answered -ESRCH */
	uint64_t duplicates;
	uint64_t resent_verdicts;
	uint64_t late;			/* skipped: released by policy already */
	uint64_t stale;			/* verdicts after the hold time */
	uint64_t unknown;		/* HOOK for no hook of ours */
	uint64_t signals;		/* SIGNALs that marked an invocation */
};

struct dusk_hooks {
	struct dusk_list recs;
	struct dusk_list cbs;		/* struct dusk_cb_rec */
	uint64_t next_cookie;
	struct dusk_inv *hash[DUSK_INV_HASH];
	struct dusk_list queue;		/* QUEUED, in arrival order */
	struct dusk_list done;		/* ANSWERED and SKIPPED, oldest first */
	uint32_t nr_done;
	struct dusk_req *keepalive;
	int lost;			/* keepalive unanswered: target gone */
	unsigned int hold_ms_max;	/* the longest hook's own hold time */
	uint64_t held_from;		/* older packets are the kernel's no
					 * more (HOOK's held_from) */
	/* Verdicts not sent yet: a VERDICT's payload being built, its
	 * struct dusk_verdict_batch written when it goes. */
	uint8_t *vbatch;
	uint32_t vbatch_len;
	uint32_t vbatch_recs;		/* records in it; 0: nothing kept */
	uint64_t vbatch_sent;		/* VERDICTs flushed so far */
	int traced;			/* under a debugger: no batching */
	struct dusk_hooks_stats stats;
	struct dusk_list running;	/* INVOKEs on their threads */
};

/*
 * The callback threads (one pool for the program): each INVOKE runs on
 * one of them, which takes the program lock for it (plock.h); HOOKs, init
 * and exit stay on the main thread, in dusk_run(). A thread blocked in
 * the module (a read waiting for data) keeps its thread; the next INVOKE
 * gets an idle one or a new one.
 */
struct dusk_inv_work {
	struct dusk_session *s;
	struct dusk_inv *inv;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dusk_inv_work work[DUSK_INV_WORK_MAX];
	unsigned int head, nr;
	unsigned int threads, idle;
} dusk_pool = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

/* Callback threads running one (holding or waiting for the lock). */
static _Atomic unsigned int dusk_pool_busy;

/*
 * A new invocation refreshes the cache: what a thread that waits now (a
 * read of kernel memory, a page fetch) changed in it and has not
 * committed must reach the kernel first, or the refresh loses it.
 * mine: this thread is one of the busy ones.
 */
static void dusk_inv_commit_others(struct dusk_session *s, unsigned int mine)
{
	if (atomic_load(&dusk_pool_busy) > mine)
		dusk_commit_settled(s);
}

/* The thread that runs dusk_run(): others that take in a HOOK or an
 * INVOKE wake it. */
static __thread int dusk_in_run;

static __thread struct dusk_inv *dusk_inv_cur;
static _Atomic(dusk_signal_hook_fn) dusk_signal_hook;

int dusk_invocation_signalled(int fatal_only)
{
	const struct dusk_inv *inv = dusk_inv_cur;
	int sig;

	if (!inv || inv->kind != DUSK_INV_CALLBACK)
		return 0;
	sig = atomic_load(&inv->signalled);
	return fatal_only ? sig == 2 : sig != 0;
}

void dusk_invocation_set_signal_hook(dusk_signal_hook_fn fn)
{
	atomic_store(&dusk_signal_hook, fn);
}

uint64_t dusk_invocation_current(void)
{
	return dusk_inv_cur ? dusk_inv_cur->packet : 0;
}

uint32_t dusk_invocation_cpu(void)
{
	return dusk_inv_cur ? dusk_inv_cur->cpu : 0;
}

uint64_t dusk_invocation_task(void)
{
	const struct dusk_inv *inv = dusk_inv_cur;

	return inv && inv->kind == DUSK_INV_CALLBACK ? inv->task : 0;
}

/* The caller an INVOKE names: its cpu, task, pid, tgid and comm. */
static void dusk_invoke_caller(const struct dusk_invoke *iv, uint32_t *cpu,
			       uint64_t *task, uint32_t *pid, uint32_t *tgid,
			       char comm[16])
{
	*cpu = le32toh(iv->cpu);
	*task = le64toh(iv->task);
	*pid = le32toh(iv->pid);
	*tgid = le32toh(iv->tgid);
	memcpy(comm, iv->comm, sizeof(iv->comm));
	comm[sizeof(iv->comm) - 1] = '\0';
}

/* What the debugger is told of inv (-ENOENT: a HOOK without its
 * payload). A callback queued or handed to a thread and not yet run has
 * its caller in its INVOKE still. */
static int dusk_inv_fill(const struct dusk_inv *inv,
			 struct dusk_inv_info *ret)
{
	struct dusk_hook_msg hm;
	struct dusk_invoke iv;

	memset(ret, 0, sizeof(*ret));
	ret->packet = inv->packet;
	ret->cpu = inv->cpu;
	ret->age_ms = (dusk_now_real_ns() - inv->first_rx_ns) / 1000000;
	ret->tid = inv->tid;
	ret->running = inv->state == DUSK_INV_RUNNING && inv->tid;
	if (inv->kind == DUSK_INV_CALLBACK) {
		ret->kind = DUSK_INV_CALLBACK;
		if (!inv->pid && inv->msg && inv->msg_len >= sizeof(iv)) {
			memcpy(&iv, inv->msg, sizeof(iv));
			dusk_invoke_caller(&iv, &ret->cpu, &ret->task, &ret->pid,
					   &ret->tgid, ret->comm);
		} else {
			ret->task = inv->task;
			ret->pid = inv->pid;
			ret->tgid = inv->tgid;
			memcpy(ret->comm, inv->comm, sizeof(ret->comm));
		}
		ret->signalled = atomic_load(&inv->signalled);
		return 0;
	}
	if (!inv->msg || inv->msg_len < sizeof(hm)) {
		memset(ret, 0, sizeof(*ret));
		return -ENOENT;
	}
	memcpy(&hm, inv->msg, sizeof(hm));
	ret->kind = DUSK_INV_HOOK;
	ret->skb = le64toh(hm.skb);
	ret->state = le64toh(hm.state);
	ret->hold_ms = inv->hold_ms;
	ret->segs = inv->msg + sizeof(hm);
	ret->segs_len = inv->msg_len - (uint32_t)sizeof(hm);
	ret->nr_segs = le32toh(hm.nr_segs);
	if (!ret->cpu)
		ret->cpu = le32toh(hm.cpu);
	return 0;
}

int dusk_invocation_info(struct dusk_inv_info *ret)
{
	const struct dusk_inv *inv = dusk_inv_cur;

	memset(ret, 0, sizeof(*ret));
	if (!inv)
		return -ENOENT;
	return dusk_inv_fill(inv, ret);
}

static void dusk_inv_list_foreach(const struct dusk_list *head,
				  dusk_inv_foreach_fn fn, void *arg)
{
	const struct dusk_list *pos;
	struct dusk_inv_info info;

	for (pos = head->next; pos != head; pos = pos->next)
		if (!dusk_inv_fill(dusk_container_of(pos, struct dusk_inv, node),
				   &info))
			fn(&info, arg);
}

int dusk_inv_foreach(struct dusk_session *s, dusk_inv_foreach_fn fn,
		     void *arg)
{
	const struct dusk_hooks *h = s ? s->hooks : NULL;

	if (!h)
		return 0;
	/* The lists change only under the program lock (a thread that
	 * takes in an INVOKE, runs one, finishes one): re-entrant for a
	 * stopped thread that holds it. */
	dusk_plock_take();
	dusk_inv_list_foreach(&h->running, fn, arg);
	/* A HOOK runs on the loop's thread from the queue's head. */
	dusk_inv_list_foreach(&h->queue, fn, arg);
	dusk_plock_put();
	return 0;
}

void dusk_hooks_info(struct dusk_session *s, struct dusk_hooks_info *ret)
{
	const struct dusk_hooks *h = s->hooks;
	const struct dusk_list *pos;

	memset(ret, 0, sizeof(*ret));
	if (!h)
		return;
	for (pos = h->recs.next; pos != &h->recs; pos = pos->next)
		ret->registered++;
	/* The one running stays on the queue until answered. */
	for (pos = h->queue.next; pos != &h->queue; pos = pos->next)
		if (dusk_container_of(pos, struct dusk_inv, node)->state ==
		    DUSK_INV_QUEUED)
			ret->queued++;
	ret->running = dusk_inv_cur ? 1 : 0;
	for (pos = h->cbs.next; pos != &h->cbs; pos = pos->next)
		ret->callbacks++;
	ret->hooks = h->stats.hooks;
	ret->invokes = h->stats.callbacks;
	ret->gone = h->stats.gone;
	ret->late = h->stats.late;
	ret->stale = h->stats.stale;
	ret->duplicates = h->stats.duplicates;
}

static unsigned int dusk_inv_slot(uint64_t packet)
{
	return (unsigned int)((packet * 0x9e3779b97f4a7c15ULL) >> 54) &
	       (DUSK_INV_HASH - 1);
}

/* HOOK (packet) and INVOKE ids are numbered apart: the kind is part of
 * the key. */
static struct dusk_inv *dusk_inv_find(struct dusk_hooks *h,
				      enum dusk_inv_kind kind, uint64_t packet)
{
	struct dusk_inv *inv;

	for (inv = h->hash[dusk_inv_slot(packet)]; inv; inv = inv->hnext)
		if (inv->packet == packet && inv->kind == kind)
			return inv;
	return NULL;
}

static void dusk_inv_free(struct dusk_session *s, struct dusk_inv *inv)
{
	struct dusk_inv **pp = &s->hooks->hash[dusk_inv_slot(inv->packet)];

	while (*pp != inv)
		pp = &(*pp)->hnext;
	*pp = inv->hnext;
	dusk_list_del(&inv->node);
	dusk_req_destroy(s, inv->verdict);
	free(inv->answer);
	free(inv->msg);
	free(inv);
}

static void dusk_hooks_input(struct dusk_session *s, const struct dusk_msg *m,
			     uint64_t rx_ns, void *ctx);
static void dusk_invoke_input(struct dusk_session *s, const struct dusk_msg *m,
			      uint64_t rx_ns, void *ctx);
static void dusk_hooks_destroy(struct dusk_session *s, void *ctx);
static void dusk_signal_input(struct dusk_session *s, const struct dusk_msg *m,
			      uint64_t rx_ns, void *ctx);

/* Under a debugger (dusk-gdb runs the program under gdb), verdicts go
 * one by one: a breakpoint's stop must not hold packets decided before. */
static int dusk_traced(void)
{
	char line[128];
	int pid = 0;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid != 0;
}

/* The session's hook state, created (and HOOK's handler registered) on
 * first use: NULL, errno ENOMEM. */
static struct dusk_hooks *dusk_hooks_get(struct dusk_session *s)
{
	const struct dusk_msg_handler handler = {
		.input = dusk_hooks_input,
		.close = dusk_hooks_destroy,
	};
	/* The HOOK handler's close() frees everything. */
	const struct dusk_msg_handler invoke = { .input = dusk_invoke_input };
	const struct dusk_msg_handler signal = { .input = dusk_signal_input };
	struct dusk_hooks *h = s->hooks;

	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	dusk_list_init(&h->recs);
	dusk_list_init(&h->cbs);
	dusk_list_init(&h->queue);
	dusk_list_init(&h->done);
	dusk_list_init(&h->running);
	h->traced = dusk_traced();
	s->hooks = h;
	dusk_session_set_handler(s, DUSK_MSG_HOOK, &handler);
	dusk_session_set_handler(s, DUSK_MSG_INVOKE, &invoke);
	dusk_session_set_handler(s, DUSK_MSG_SIGNAL, &signal);
	return h;
}

static void dusk_hooks_destroy(struct dusk_session *s, void *ctx)
{
	struct dusk_hooks *h = s->hooks;
	struct dusk_list *pos, *tmp;
	unsigned int i;

	(void)ctx;
	if (!h)
		return;
	for (i = 0; i < DUSK_INV_HASH; i++)
		while (h->hash[i])
			dusk_inv_free(s, h->hash[i]);
	dusk_list_for_each_safe(pos, tmp, &h->recs)
		free(dusk_container_of(pos, struct dusk_hook_rec, node));
	dusk_list_for_each_safe(pos, tmp, &h->cbs)
		free(dusk_container_of(pos, struct dusk_cb_rec, node));
	dusk_req_destroy(s, h->keepalive);
	free(h->vbatch);
	free(h);
	s->hooks = NULL;
}

static int dusk_verdict_resend(struct dusk_session *s,
			       const struct dusk_inv *inv);

/* A HOOK record or an INVOKE arrived: queue it, once. */
static void dusk_inv_input(struct dusk_session *s, uint64_t id,
			   const uint8_t *payload, uint32_t len,
			   uint64_t rx_ns, enum dusk_inv_kind kind)
{
	struct dusk_hooks *h = s->hooks;
	struct dusk_inv *inv;

	inv = dusk_inv_find(h, kind, id);
	if (inv) {
		/* The kernel sends a packet again until it hears its
		 * VERDICT, and INVOKE until it hears anything of the
		 * invocation. */
		inv->dups++;
		h->stats.duplicates++;
		if (inv->state != DUSK_INV_ANSWERED)
			return;	/* queued or running: it will be answered */
		/* The same record again, or the same request. */
		if (kind == DUSK_INV_HOOK && inv->answer) {
			/* Not sent yet: it goes with the others. */
			if (inv->answer_batch == h->vbatch_sent &&
			    h->vbatch_recs)
				return;
			h->stats.resent_verdicts++;
			dusk_verdict_resend(s, inv);
		} else if (kind == DUSK_INV_CALLBACK && inv->verdict) {
			h->stats.resent_returns++;
			dusk_req_resend(s, inv->verdict);
		}
		return;
	}
	inv = calloc(1, sizeof(*inv));
	if (inv)
		inv->msg = malloc(len);
	if (!inv || !inv->msg) {
		/* The kernel sends it again; maybe memory is back then. */
		free(inv);
		dusk_err("out of memory queueing packet %llu",
			 (unsigned long long)id);
		return;
	}
	memcpy(inv->msg, payload, len);
	inv->msg_len = len;
	inv->kind = kind;
	inv->packet = id;
	inv->state = DUSK_INV_QUEUED;
	inv->first_rx_ns = rx_ns;
	inv->hnext = h->hash[dusk_inv_slot(inv->packet)];
	h->hash[dusk_inv_slot(inv->packet)] = inv;
	dusk_list_add_tail(&inv->node, &h->queue);
	/* Received by a callback thread's wait: the loop runs it. */
	if (!dusk_in_run) {
		ssize_t n = write(s->wake[1], "", 1);

		(void)n;
	}
}

/* A HOOK: its packets, each queued once; held_from acknowledges. */
static void dusk_hooks_input(struct dusk_session *s, const struct dusk_msg *m,
			     uint64_t rx_ns, void *ctx)
{
	struct dusk_hooks *h = s->hooks;
	struct dusk_hook_batch b;
	struct dusk_batch_iter it;
	struct dusk_hook_msg hm;
	const uint8_t *rec;
	uint32_t len;
	uint64_t id;

	(void)ctx;
	memcpy(&b, m->payload, sizeof(b));
	if (le64toh(b.held_from) > h->held_from)
		h->held_from = le64toh(b.held_from);
	/* The codec checked every record. */
	dusk_batch_iter_init(&it, m);
	while (dusk_batch_next(&it, &rec, &len) > 0) {
		memcpy(&hm, rec, sizeof(hm));
		id = le64toh(hm.packet);
		/* A late copy of a packet the kernel no longer holds. */
		if (id < h->held_from)
			continue;
		dusk_inv_input(s, id, rec, len, rx_ns, DUSK_INV_HOOK);
	}
}

static void dusk_invoke_input(struct dusk_session *s, const struct dusk_msg *m,
			      uint64_t rx_ns, void *ctx)
{
	(void)ctx;
	/* INVOKE's id is its invocation (dusk_proto.h). */
	if (m->invocation != m->id) {
		s->stats.rx_malformed++;
		return;
	}
	dusk_inv_input(s, m->id, m->payload, m->len, rx_ns, DUSK_INV_CALLBACK);
}

/*
 * SIGNAL: the caller of a queued or running invocation got a signal. It
 * is marked (once per SIGNAL id: the kernel sends one again until our
 * next request of that invocation, which needs nothing more), and the
 * layer above wakes what sleeps so that it sees it. An invocation not
 * heard of yet (its INVOKE lost) gets its SIGNAL again later; one
 * answered already needs none.
 */
static void dusk_signal_input(struct dusk_session *s, const struct dusk_msg *m,
			      uint64_t rx_ns, void *ctx)
{
	dusk_signal_hook_fn hook = atomic_load(&dusk_signal_hook);
	struct dusk_hooks *h = s->hooks;
	struct dusk_signal sg;
	struct dusk_invoke iv;
	struct dusk_inv *inv;
	uint64_t task;
	int fatal, running;

	(void)rx_ns;
	(void)ctx;
	inv = dusk_inv_find(h, DUSK_INV_CALLBACK, m->invocation);
	if (!inv || (inv->state != DUSK_INV_QUEUED &&
		     inv->state != DUSK_INV_RUNNING) ||
	    m->id <= inv->sig_id) {
		s->stats.rx_unmatched++;
		return;
	}
	memcpy(&sg, m->payload, sizeof(sg));
	fatal = le32toh(sg.fatal) != 0;
	inv->sig_id = m->id;
	running = inv->state == DUSK_INV_RUNNING;
	if (running) {
		task = inv->task;
	} else {
		memcpy(&iv, inv->msg, sizeof(iv));
		task = le64toh(iv.task);
	}
	atomic_store(&inv->signalled, fatal ? 2 : 1);
	h->stats.signals++;
	dusk_dbg("invocation %llu: signal %u%s", (unsigned long long)inv->packet,
		 le32toh(sg.signo), fatal ? " (killed)" : "");
	if (hook)
		hook(task, running, fatal);
}

static void dusk_inv_finish(struct dusk_session *s, struct dusk_inv *inv,
			    enum dusk_inv_state state)
{
	struct dusk_hooks *h = s->hooks;

	inv->state = state;
	inv->done_ms = dusk_now_ms();
	free(inv->msg);
	inv->msg = NULL;
	dusk_list_del(&inv->node);
	dusk_list_add_tail(&inv->node, &h->done);
	h->nr_done++;
}

/*
 * A callback's answer (RETURN), whose fixed part (the message's
 * structure, fixed_len bytes, its segment count at segs_at) is followed
 * by the commit. It stays pending, retransmitted until acked (no wait);
 * done is called then.
 */
static int dusk_answer_send(struct dusk_session *s, struct dusk_inv *inv,
			    uint8_t type, const void *fixed, uint32_t fixed_len,
			    uint32_t segs_at, dusk_req_done_fn done)
{
	uint32_t room = dusk_session_payload_max(s) - fixed_len;
	struct dusk_segs_cursor cur;
	struct dusk_segs segs;
	struct dusk_req *r;
	uint32_t nr = 0;
	uint8_t *p;
	size_t used;
	int err;

	dusk_segs_init(&segs);
	err = dusk_commit_prepare(s, &segs, &cur, room);
	if (err)
		goto out_segs;
	err = dusk_req_create(s, type,
			      (uint32_t)(fixed_len +
					 dusk_segs_remaining(&segs, &cur)),
			      NULL, 0, &r);
	if (err)
		goto out_segs;
	p = dusk_req_payload(r);
	memcpy(p, fixed, fixed_len);
	used = dusk_segs_pack(&segs, &cur, p + fixed_len, room, &nr);
	nr = htole32(nr);
	memcpy(p + segs_at, &nr, sizeof(nr));
	r->done_fn = done;
	r->owner = inv;
	err = dusk_req_submit(s, r, (uint32_t)(fixed_len + used));
	if (err) {
		dusk_req_destroy(s, r);
		goto out_segs;
	}
	inv->verdict = r;
	dusk_segs_done(s, &segs);
out_segs:
	dusk_segs_deinit(&segs);
	if (err)
		dusk_err("%s of invocation %llu: %s",
			 type == DUSK_MSG_VERDICT ? "VERDICT" : "RETURN",
			 (unsigned long long)inv->packet, strerror(-err));
	return err;
}

/* inv's record again, alone in a VERDICT (sent once: nobody answers). */
static int dusk_verdict_resend(struct dusk_session *s,
			       const struct dusk_inv *inv)
{
	struct dusk_verdict_batch b = { .nr = htole32(1) };
	uint8_t *payload;
	int err;

	payload = malloc(sizeof(b) + inv->answer_len);
	if (!payload)
		return -ENOMEM;
	memcpy(payload, &b, sizeof(b));
	memcpy(payload + sizeof(b), inv->answer, inv->answer_len);
	err = dusk_session_send(s, DUSK_MSG_VERDICT, payload,
				(uint32_t)(sizeof(b) + inv->answer_len));
	free(payload);
	return err;
}

/* Send the verdicts kept back, if any. */
static void dusk_verdicts_flush(struct dusk_session *s)
{
	struct dusk_hooks *h = s->hooks;
	struct dusk_verdict_batch b = { 0 };
	int err;

	if (!h || !h->vbatch_recs)
		return;
	b.nr = htole32(h->vbatch_recs);
	memcpy(h->vbatch, &b, sizeof(b));
	err = dusk_session_send(s, DUSK_MSG_VERDICT, h->vbatch,
				h->vbatch_len);
	if (err)	/* each packet comes again: answered then */
		dusk_dbg("VERDICT: %s", strerror(-err));
	h->vbatch_recs = 0;
	h->vbatch_sent++;
}

DUSK_EXPORT volatile int dusk_hooks_no_stops;

void dusk_hooks_before_stop(void)
{
	struct dusk_session *s = dusk_session_current();

	if (dusk_in_run && s)
		dusk_verdicts_flush(s);
}

/* Append a record to the verdicts kept back (flushing first if full). */
static int dusk_verdicts_add(struct dusk_session *s, const uint8_t *rec,
			     uint32_t len)
{
	struct dusk_hooks *h = s->hooks;
	uint32_t max = dusk_session_payload_max(s);

	if (!h->vbatch) {
		h->vbatch = malloc(max);
		if (!h->vbatch)
			return -ENOMEM;
	}
	if (h->vbatch_recs && h->vbatch_len + len > max)
		dusk_verdicts_flush(s);
	if (!h->vbatch_recs)
		h->vbatch_len = sizeof(struct dusk_verdict_batch);
	memcpy(h->vbatch + h->vbatch_len, rec, len);
	h->vbatch_len += len;
	h->vbatch_recs++;
	return 0;
}

/* Does the commit (nr segments) write only bytes inv's HOOK carried (its
 * skb, hook state, headers: this packet's own, which no other packet's
 * hook reads)? */
static int dusk_commit_own(const struct dusk_inv *inv, const uint8_t *commit,
			   uint32_t len, uint32_t nr)
{
	struct dusk_seg_iter mine, theirs;
	struct dusk_hook_msg hm;
	uint64_t addr, own;
	uint32_t n, own_len;
	const void *data;
	int inside;

	if (!inv->msg || inv->msg_len < sizeof(hm))
		return 0;
	memcpy(&hm, inv->msg, sizeof(hm));
	dusk_seg_iter_init(&mine, commit, len, nr);
	while (dusk_seg_next(&mine, &addr, &data, &n)) {
		inside = 0;
		dusk_seg_iter_init(&theirs, inv->msg + sizeof(hm),
				   inv->msg_len - sizeof(hm),
				   le32toh(hm.nr_segs));
		while (!inside &&
		       dusk_seg_next(&theirs, &own, &data, &own_len))
			inside = addr >= own && addr - own + n <= own_len;
		if (!inside)
			return 0;
	}
	return 1;
}

/*
 * The packet's verdict record, with the commit: kept in inv for a
 * duplicate HOOK, and added to the verdicts kept back. Those go at
 * once when this one's commit writes more than the packet's own bytes
 * (what the next packet's hook reads of the kernel must include it),
 * under a debugger while a breakpoint can stop the program (a stop must
 * not hold packets decided before), or when no other packet waits to be
 * run (dusk_run()).
 */
static int dusk_verdict_send(struct dusk_session *s, struct dusk_inv *inv,
			     unsigned int verdict)
{
	struct dusk_hooks *h = s->hooks;
	uint32_t room = dusk_session_payload_max(s) -
			(uint32_t)(sizeof(struct dusk_verdict_batch) +
				   sizeof(struct dusk_verdict));
	struct dusk_verdict v = {
		.packet = htole64(inv->packet),
		.verdict = htole32(verdict),
	};
	uint64_t age_ms = (dusk_now_real_ns() - inv->first_rx_ns) / 1000000;
	unsigned int hold_ms = inv->hold_ms ? inv->hold_ms : s->cfg.hold_ms;
	struct dusk_segs_cursor cur;
	struct dusk_segs segs;
	uint32_t nr = 0;
	size_t used;
	uint8_t *rec;
	int err;

	dusk_inv_commit_others(s, 0);	/* as a RETURN's (below) */
	dusk_segs_init(&segs);
	err = dusk_commit_prepare(s, &segs, &cur, room);
	if (err)
		goto out_segs;
	err = -ENOMEM;
	rec = malloc(sizeof(v) + dusk_segs_remaining(&segs, &cur));
	if (!rec)
		goto out_segs;
	used = dusk_segs_pack(&segs, &cur, rec + sizeof(v), room, &nr);
	v.nr_segs = htole32(nr);
	v.len = htole32((uint32_t)used);
	memcpy(rec, &v, sizeof(v));
	inv->answer = rec;
	inv->answer_len = (uint32_t)(sizeof(v) + used);
	err = dusk_verdicts_add(s, rec, inv->answer_len);
	if (err)
		goto out_segs;
	inv->answer_batch = h->vbatch_sent;
	dusk_segs_done(s, &segs);
	if ((nr && !dusk_commit_own(inv, rec + sizeof(v), (uint32_t)used, nr)) ||
	    (h->traced && !dusk_hooks_no_stops))
		dusk_verdicts_flush(s);
	/* dusk.ko releases a packet past its hold time (jiffies, within a
	 * tick) and refuses its verdict; inv's age here is less than the
	 * kernel's, so this says only what is sure. */
	if (age_ms > hold_ms + 10) {
		h->stats.stale++;
		dusk_warn("packet %llu was released by policy before its verdict (hold_ms %u): verdict and changes not applied",
			  (unsigned long long)inv->packet, hold_ms);
	}
out_segs:
	dusk_segs_deinit(&segs);
	if (err)
		dusk_err("VERDICT of packet %llu: %s",
			 (unsigned long long)inv->packet, strerror(-err));
	return err;
}

static struct dusk_hook_rec *dusk_hook_rec_find(struct dusk_hooks *h,
						uint64_t cookie)
{
	struct dusk_list *pos, *tmp;
	struct dusk_hook_rec *rec;

	dusk_list_for_each_safe(pos, tmp, &h->recs) {
		rec = dusk_container_of(pos, struct dusk_hook_rec, node);
		if (rec->cookie == cookie)
			return rec;
	}
	return NULL;
}

static void dusk_return_done(struct dusk_session *s, struct dusk_req *r)
{
	struct dusk_inv *inv = r->owner;

	inv->acked = 1;
	if (r->status == -ESRCH) {
		/* Final: the caller was killed or gave up, or the session
		 * ended; nothing of the RETURN was applied. */
		s->hooks->stats.gone++;
		dusk_warn("invocation %llu (pid %u %s): its caller is gone: return value and changes not applied",
			  (unsigned long long)inv->packet, inv->pid, inv->comm);
	} else if (r->status) {
		dusk_err("RETURN of invocation %llu: %s",
			 (unsigned long long)inv->packet, strerror(-r->status));
	}
}

/* The callback's value goes back in a RETURN with the commit, left
 * pending (retransmitted until acked), as a VERDICT. On the invocation's
 * thread state: the RETURN is its last request. */
static int dusk_return_send(struct dusk_session *s, struct dusk_inv *inv,
			    uint64_t ret)
{
	struct dusk_return rt = { .ret = htole64(ret) };

	/* A RETURN's commit is applied by its caller when it gets there,
	 * which another invocation's reads do not wait for: while others
	 * run, the changes go first, acknowledged. */
	dusk_inv_commit_others(s, 1);
	return dusk_answer_send(s, inv, DUSK_MSG_RETURN, &rt, sizeof(rt),
				offsetof(struct dusk_return, nr_segs),
				dusk_return_done);
}

static struct dusk_cb_rec *dusk_cb_rec_find(struct dusk_hooks *h,
					    uint64_t cookie)
{
	struct dusk_list *pos;
	struct dusk_cb_rec *rec;

	for (pos = h->cbs.next; pos != &h->cbs; pos = pos->next) {
		rec = dusk_container_of(pos, struct dusk_cb_rec, node);
		if (rec->cookie == cookie)
			return rec;
	}
	return NULL;
}

/* An INVOKE: its callback runs on this thread, its requests on the
 * invocation's channel and numbering, then RETURN. */
static void dusk_callback_run(struct dusk_session *s, struct dusk_inv *inv)
{
	struct dusk_hooks *h = s->hooks;
	struct dusk_invoke iv;
	struct dusk_seg_iter it;
	struct dusk_cb_rec *rec;
	struct dusk_inv *prev;
	uint64_t args[DUSK_MAX_CALL_ARGS], ret, addr;
	const void *data;
	unsigned int i;
	uint32_t len;

	memcpy(&iv, inv->msg, sizeof(iv));
	inv->state = DUSK_INV_RUNNING;
	dusk_invoke_caller(&iv, &inv->cpu, &inv->task, &inv->pid, &inv->tgid,
			   inv->comm);
	inv->tid = gettid();
	for (i = 0; i < DUSK_MAX_CALL_ARGS; i++)
		args[i] = le64toh(iv.args[i]);
	prev = dusk_inv_cur;
	dusk_inv_cur = inv;
	dusk_session_set_blocking(inv->packet, &inv->last_id);
	/* A new invocation sees the kernel as it is now, plus what came
	 * with the INVOKE. */
	dusk_inv_commit_others(s, dusk_in_run ? 0 : 1);
	dusk_shadow_invalidate(s->shadow);
	dusk_seg_iter_init(&it, inv->msg + sizeof(iv), inv->msg_len - sizeof(iv),
			   le32toh(iv.nr_segs));
	while (dusk_seg_next(&it, &addr, &data, &len))
		dusk_shadow_seed(s->shadow, addr, data, len);
	h->stats.hooks++;
	h->stats.callbacks++;
	rec = dusk_cb_rec_find(h, le64toh(iv.cookie));
	if (rec) {
		ret = rec->fn(rec->priv, args);
	} else {
		h->stats.unknown++;
		dusk_warn("invocation %llu for unknown callback %llu (table %u offset %u): -EIO",
			  (unsigned long long)inv->packet,
			  (unsigned long long)le64toh(iv.cookie),
			  le32toh(iv.handle), le32toh(iv.off));
		ret = (uint64_t)(int64_t)-EIO;
	}
	dusk_return_send(s, inv, ret);
	dusk_inv_cur = prev;
	if (prev && prev->kind == DUSK_INV_CALLBACK)
		dusk_session_set_blocking(prev->packet, &prev->last_id);
	else
		dusk_session_set_blocking(0, NULL);
	dusk_session_set_invocation(prev ? prev->packet : 0);
	dusk_inv_finish(s, inv, DUSK_INV_ANSWERED);
}

static void *dusk_inv_thread(void *arg)
{
	struct dusk_inv_work w;

	(void)arg;
	pthread_mutex_lock(&dusk_pool.mu);
	for (;;) {
		while (!dusk_pool.nr) {
			dusk_pool.idle++;
			pthread_cond_wait(&dusk_pool.cv, &dusk_pool.mu);
			dusk_pool.idle--;
		}
		w = dusk_pool.work[dusk_pool.head];
		dusk_pool.head = (dusk_pool.head + 1) % DUSK_INV_WORK_MAX;
		dusk_pool.nr--;
		pthread_mutex_unlock(&dusk_pool.mu);

		atomic_fetch_add(&dusk_pool_busy, 1);
		dusk_plock_take();
		dusk_callback_run(w.s, w.inv);
		dusk_plock_put();
		atomic_fetch_sub(&dusk_pool_busy, 1);

		pthread_mutex_lock(&dusk_pool.mu);
	}
	return NULL;
}

/* Hand an INVOKE to a callback thread (under the program lock: it runs
 * once this thread waits). 0 or -errno (then it runs here). */
static int dusk_inv_dispatch(struct dusk_session *s, struct dusk_inv *inv)
{
	pthread_attr_t attr;
	pthread_t th;
	int err = 0;

	pthread_mutex_lock(&dusk_pool.mu);
	if (dusk_pool.nr == DUSK_INV_WORK_MAX) {
		err = -EAGAIN;
		goto out_unlock;
	}
	if (dusk_pool.idle <= dusk_pool.nr) {
		/* One malloc arena for all threads: a thread's own arena is
		 * an mmap that may fall in a hole of the mirror's span,
		 * where its objects would pass for kernel mirror memory. */
		if (!dusk_pool.threads)
			mallopt(M_ARENA_MAX, 1);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		/* Kernel stacks are small; a module's own frames are too. */
		pthread_attr_setstacksize(&attr, 1 << 20);
		err = -pthread_create(&th, &attr, dusk_inv_thread, NULL);
		pthread_attr_destroy(&attr);
		if (err && !dusk_pool.idle)
			goto out_unlock;
		if (!err && ++dusk_pool.threads > DUSK_INV_THREADS_WARN)
			dusk_warn("%u threads serve invocations (tasks blocked in the module?)",
				  dusk_pool.threads);
		err = 0;
	}
	dusk_pool.work[(dusk_pool.head + dusk_pool.nr) % DUSK_INV_WORK_MAX] =
		(struct dusk_inv_work){ .s = s, .inv = inv };
	dusk_pool.nr++;
	pthread_cond_signal(&dusk_pool.cv);
	inv->state = DUSK_INV_RUNNING;
	dusk_list_del(&inv->node);
	dusk_list_add_tail(&inv->node, &s->hooks->running);
out_unlock:
	pthread_mutex_unlock(&dusk_pool.mu);
	return err;
}

unsigned int dusk_inv_busy(void)
{
	return atomic_load(&dusk_pool_busy);
}

unsigned int dusk_inv_threads(void)
{
	unsigned int n;

	pthread_mutex_lock(&dusk_pool.mu);
	n = dusk_pool.threads;
	pthread_mutex_unlock(&dusk_pool.mu);
	return n;
}

static void dusk_inv_run(struct dusk_session *s, struct dusk_inv *inv)
{
	struct dusk_hooks *h = s->hooks;
	uint64_t age_ns, addr;
	struct dusk_inv *prev;
	struct dusk_hook_msg hm;
	struct dusk_seg_iter it;
	struct dusk_hook_rec *rec;
	unsigned int verdict = NF_ACCEPT, hold_ms;
	const void *data;
	uint32_t len;

	if (inv->kind == DUSK_INV_CALLBACK) {
		/* Without the program lock, this is not a threaded program
		 * (unit tests driving dusk_run() alone): run it here. */
		if (!dusk_plock_held() || dusk_inv_dispatch(s, inv))
			dusk_callback_run(s, inv);
		return;
	}
	/*
	 * A HOOK that waited longer than hold_ms since it first arrived (the
	 * program was stopped in gdb, or busy) has been released by policy:
	 * running the module on it would act on a packet that is gone.
	 */
	memcpy(&hm, inv->msg, sizeof(hm));
	rec = dusk_hook_rec_find(h, le64toh(hm.cookie));
	hold_ms = rec && rec->hold_ms ? rec->hold_ms : s->cfg.hold_ms;
	inv->hold_ms = hold_ms;
	age_ns = dusk_now_real_ns() - inv->first_rx_ns;
	if (inv->first_rx_ns && age_ns > (uint64_t)hold_ms * 1000000) {
		h->stats.late++;
		dusk_warn("packet %llu waited %llu ms > hold_ms %u (program stopped?): released by policy, not run",
			  (unsigned long long)inv->packet,
			  (unsigned long long)(age_ns / 1000000), hold_ms);
		dusk_inv_finish(s, inv, DUSK_INV_SKIPPED);
		return;
	}
	if (!rec || rec->handle != le32toh(hm.handle)) {
		h->stats.unknown++;
		dusk_warn("packet %llu for unknown hook %u: accepted",
			  (unsigned long long)inv->packet, le32toh(hm.handle));
	}

	inv->state = DUSK_INV_RUNNING;
	inv->cpu = le32toh(hm.cpu);
	inv->tid = gettid();
	prev = dusk_inv_cur;
	dusk_inv_cur = inv;
	dusk_session_set_invocation(inv->packet);
	if (rec) {
		/* A new invocation sees the kernel as it is now, plus what
		 * came with the HOOK. */
		dusk_inv_commit_others(s, 0);
		dusk_shadow_invalidate(s->shadow);
		dusk_seg_iter_init(&it, inv->msg + sizeof(hm),
				   inv->msg_len - sizeof(hm),
				   le32toh(hm.nr_segs));
		while (dusk_seg_next(&it, &addr, &data, &len))
			dusk_shadow_seed(s->shadow, addr, data, len);
		h->stats.hooks++;
		verdict = rec->fn(rec->priv,
				  (void *)(uintptr_t)le64toh(hm.skb),
				  (const void *)(uintptr_t)le64toh(hm.state));
	}
	dusk_verdict_send(s, inv, verdict);
	dusk_inv_cur = prev;
	dusk_session_set_invocation(prev ? prev->packet : 0);
	dusk_inv_finish(s, inv, DUSK_INV_ANSWERED);
}

/* Forget answered invocations once no duplicate can come. */
static void dusk_hooks_expire(struct dusk_session *s)
{
	struct dusk_hooks *h = s->hooks;
	uint64_t now = dusk_now_ms();
	uint64_t keep = 2 * (uint64_t)DUSK_MAX(s->cfg.hold_ms, h->hold_ms_max) +
			1000;
	struct dusk_inv *inv;

	while (!dusk_list_empty(&h->done)) {
		inv = dusk_container_of(h->done.next, struct dusk_inv, node);
		/* A packet older than held_from comes no more. */
		if (h->nr_done <= DUSK_INV_DONE_MAX &&
		    !(inv->kind == DUSK_INV_HOOK && inv->packet < h->held_from) &&
		    (now - inv->done_ms < keep ||
		     (inv->verdict && inv->verdict->pending)))
			break;
		h->nr_done--;
		dusk_inv_free(s, inv);
	}
}

static void dusk_keepalive_done(struct dusk_session *s, struct dusk_req *r)
{
	struct dusk_hooks *h = s->hooks;

	if (r->status == -ETIMEDOUT) {
		dusk_err("target %s does not answer (session %08x)",
			 s->cfg.target, s->id);
		h->lost = 1;
	}
	h->keepalive = NULL;
	dusk_req_destroy(s, r);
}

/* dusk.ko ends a session it has not heard from for heartbeat_ms; the
 * watchdog pings too, but the loop also checks the target is there. */
static void dusk_keepalive(struct dusk_session *s, int *timeout_ms)
{
	struct dusk_hooks *h = s->hooks;
	uint64_t every = s->cfg.heartbeat_ms / (s->wd.pid ? 2 : 4);
	uint64_t now = dusk_now_ms(), due = s->last_tx_ms + every;
	struct dusk_req *r;

	if (h->keepalive)
		return;
	if (now < due) {
		*timeout_ms = (int)DUSK_MIN(due - now, (uint64_t)*timeout_ms);
		return;
	}
	if (dusk_req_create(s, DUSK_MSG_PING, 0, NULL, 0, &r))
		return;
	r->done_fn = dusk_keepalive_done;
	if (dusk_req_submit(s, r, 0)) {
		dusk_req_destroy(s, r);
		return;
	}
	h->keepalive = r;
}

static void dusk_wake_drain(struct dusk_session *s)
{
	char buf[64];

	while (read(s->wake[0], buf, sizeof(buf)) > 0)
		;
}

DUSK_EXPORT int dusk_run(struct dusk_session *s)
{
	struct dusk_hooks *h;
	int err, timeout;
	unsigned int n;

	if (!s)
		s = dusk_session_current();
	if (!s)
		return -ENOTCONN;
	h = dusk_hooks_get(s);
	if (!h)
		return -ENOMEM;
	dusk_in_run = 1;
	while (!s->stop) {
		if (!dusk_list_empty(&h->queue)) {
			dusk_inv_run(s, dusk_container_of(h->queue.next,
							  struct dusk_inv, node));
			/* Take in what arrived meanwhile, without waiting
			 * (a bounded drain: the kernel's window bounds it
			 * anyway). */
			for (n = 0; n < DUSK_RX_DRAIN; n++) {
				err = dusk_session_poll(s, 0, s->wake[0]);
				if (err)
					break;
			}
			if (err && err != -ETIMEDOUT && err != -EINTR)
				goto out;
			/* Verdicts go together while packets wait here. */
			if (dusk_list_empty(&h->queue))
				dusk_verdicts_flush(s);
			continue;
		}
		dusk_verdicts_flush(s);
		dusk_hooks_expire(s);
		if (h->lost) {
			err = -ETIMEDOUT;
			goto out;
		}
		timeout = 1000;
		dusk_keepalive(s, &timeout);
		dusk_plock_set_idle(1);
		err = dusk_session_poll(s, timeout, s->wake[0]);
		dusk_plock_set_idle(0);
		if (err == -EINTR)
			dusk_wake_drain(s);
		else if (err && err != -ETIMEDOUT)
			goto out;
	}
	dusk_wake_drain(s);
	s->stop = 0;
	err = 0;
out:
	dusk_in_run = 0;
	return err;
}

DUSK_EXPORT void dusk_stop(struct dusk_session *s)
{
	int saved = errno;
	ssize_t n;

	if (!s)
		s = dusk_session_cur;
	if (!s)
		return;
	s->stop = 1;
	n = write(s->wake[1], "", 1);	/* full pipe: a wake-up is pending */
	(void)n;
	errno = saved;
}

int dusk_invocation_start(struct dusk_session *s, uint64_t id,
			  const struct dusk_invoke *iv)
{
	struct dusk_hooks *h;
	struct dusk_inv *inv;
	ssize_t n;

	if (!s)
		s = dusk_session_current();
	if (!s)
		return -ENOTCONN;
	h = dusk_hooks_get(s);
	if (!h)
		return -ENOMEM;
	if (dusk_inv_find(h, DUSK_INV_CALLBACK, id))
		return -EEXIST;
	inv = calloc(1, sizeof(*inv));
	if (inv)
		inv->msg = malloc(sizeof(*iv));
	if (!inv || !inv->msg) {
		free(inv);
		return -ENOMEM;
	}
	memcpy(inv->msg, iv, sizeof(*iv));
	inv->msg_len = sizeof(*iv);
	inv->kind = DUSK_INV_CALLBACK;
	inv->packet = id;
	inv->state = DUSK_INV_QUEUED;
	inv->first_rx_ns = dusk_now_real_ns();
	inv->hnext = h->hash[dusk_inv_slot(id)];
	h->hash[dusk_inv_slot(id)] = inv;
	dusk_list_add_tail(&inv->node, &h->queue);
	/* Now, not at the loop's next pass: the loop may not run yet (a
	 * module's init that waits for its thread to start). */
	if (dusk_plock_held() && !dusk_inv_dispatch(s, inv))
		return 0;
	n = write(s->wake[1], "", 1);
	(void)n;
	return 0;
}

int dusk_invocation_wait_answered(struct dusk_session *s, uint64_t id)
{
	const struct timespec nap = { .tv_nsec = 2 * 1000 * 1000 };
	struct dusk_inv *inv;
	unsigned int depth;
	int err;

	if (!s)
		s = dusk_session_current();
	if (!s)
		return -ENOTCONN;
	for (;;) {
		inv = s->hooks ? dusk_inv_find(s->hooks, DUSK_INV_CALLBACK, id) :
				 NULL;
		if (!inv)
			return -ENOENT;
		if (inv->state == DUSK_INV_ANSWERED) {
			if (!inv->verdict)
				return -EIO;
			if (inv->acked)
				return inv->verdict->status;
			/* A request's wait: its RETURN is retransmitted. */
			err = dusk_session_poll(s, 100, -1);
			if (err && err != -ETIMEDOUT && err != -EINTR)
				return err;
			continue;
		}
		/* Queued, or running on its thread: let it run. */
		depth = dusk_plock_release();
		nanosleep(&nap, NULL);
		dusk_plock_retake(depth);
	}
}

DUSK_EXPORT int dusk_nf_hook_register(struct dusk_session *s,
				      const struct dusk_nf_hook *hook,
				      uint32_t *ret_handle)
{
	struct dusk_hook_register hr;
	struct dusk_hook_handle hh;
	struct dusk_hook_rec *rec;
	struct dusk_hooks *h;
	char number[16];	/* the hook's name in reports, without one */
	int err;

	if (!s)
		s = dusk_session_current();
	if (!s)
		return -ENOTCONN;
	if (!hook || !hook->fn)
		return -EINVAL;
	h = dusk_hooks_get(s);
	if (!h)
		return -ENOMEM;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	/* A counter, not a pointer: nothing of ours leaks to the kernel,
	 * and a stale tag never matches a new record. */
	rec->cookie = ++h->next_cookie;
	rec->fn = hook->fn;
	rec->priv = hook->priv;
	rec->hold_ms = hook->hold_ms;
	memset(&hr, 0, sizeof(hr));
	hr.net = htole64(hook->net);
	hr.cookie = htole64(rec->cookie);
	hr.pf = htole32((uint32_t)hook->pf);
	hr.hooknum = htole32(hook->hooknum);
	hr.priority = htole32((uint32_t)hook->priority);
	hr.hold_ms = htole32(hook->hold_ms);
	hr.policy = htole32(hook->policy);
	err = dusk_request(s, DUSK_MSG_HOOK_REGISTER, &hr, sizeof(hr), &hh,
			   sizeof(hh), NULL);
	if (err) {
		free(rec);
		return err;
	}
	rec->handle = le32toh(hh.handle);
	dusk_list_add_tail(&rec->node, &h->recs);
	h->hold_ms_max = DUSK_MAX(h->hold_ms_max, rec->hold_ms);
	if (!hook->name)
		snprintf(number, sizeof(number), "%u", rec->handle);
	dusk_watchdog_hook(s, rec->handle, hook->name ? hook->name : number);
	if (ret_handle)
		*ret_handle = rec->handle;
	return 0;
}

DUSK_EXPORT int dusk_nf_hook_unregister(struct dusk_session *s,
					uint32_t handle)
{
	struct dusk_hook_handle hh = { .handle = htole32(handle) };
	struct dusk_list *pos, *tmp;
	struct dusk_hook_rec *rec = NULL;
	int err;

	if (!s)
		s = dusk_session_current();
	if (!s)
		return -ENOTCONN;
	if (!s->hooks)
		return -ENOENT;
	dusk_list_for_each_safe(pos, tmp, &s->hooks->recs) {
		struct dusk_hook_rec *r = dusk_container_of(pos,
							    struct dusk_hook_rec,
							    node);

		if (r->handle == handle)
			rec = r;
	}
	if (!rec)
		return -ENOENT;
	err = dusk_request(s, DUSK_MSG_HOOK_UNREGISTER, &hh, sizeof(hh), NULL,
			   0, NULL);
	if (err && err != -ENOENT)
		return err;
	dusk_list_del(&rec->node);
	free(rec);
	return err;
}

int dusk_callback_register(struct dusk_session *s, dusk_callback_fn fn,
			   void *priv, uint64_t *ret_cookie)
{
	struct dusk_cb_rec *rec;
	struct dusk_hooks *h;

	if (!s)
		s = dusk_session_current();
	if (!s)
		return -ENOTCONN;
	if (!fn)
		return -EINVAL;
	h = dusk_hooks_get(s);
	if (!h)
		return -ENOMEM;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	/* From the hooks' counter: a cookie names one record of either. */
	rec->cookie = ++h->next_cookie;
	rec->fn = fn;
	rec->priv = priv;
	dusk_list_add_tail(&rec->node, &h->cbs);
	*ret_cookie = rec->cookie;
	return 0;
}

int dusk_callback_unregister(struct dusk_session *s, uint64_t cookie)
{
	struct dusk_cb_rec *rec;

	if (!s)
		s = dusk_session_current();
	if (!s || !s->hooks)
		return -ENOENT;
	rec = dusk_cb_rec_find(s->hooks, cookie);
	if (!rec)
		return -ENOENT;
	dusk_list_del(&rec->node);
	free(rec);
	return 0;
}
