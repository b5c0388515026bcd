// SPDX-License-Identifier: GPL-2.0
/*
 * Invocations. A task that calls a proxy of one of dusk.ko's tables
 * (proxy.c) sends INVOKE on DUSK_CHAN_INV and sleeps, killable, sending it
 * again with a doubling timeout until a datagram of its invocation
 * arrives. From then on it executes, itself, every request the thread
 * routes to it (dispatch.c's dusk_dispatch_inv): so `current` is the
 * caller and uaccess reaches the caller's memory. RETURN ends it with the
 * callback's value.
 *
 * The thread's part is dusk_inv_route(): it copies an authenticated INV
 * datagram to its invocation's queue and wakes the caller, or answers
 * -EBADMSG for what the message table refuses (BYE on this channel...)
 * and -ESRCH for an invocation that is over (a RETURN sent again whose reply
 * was lost gets that reply). It never executes INV requests and never
 * waits for a caller: the queue is under the session's inv_lock, held
 * only to add or take one datagram.
 *
 * The caller waits interruptibly, as the module's own code would sleep.
 * A signal it may handle does not end the wait: it sends SIGNAL (once;
 * again with a doubling timeout until a request of the invocation newer
 * than the last one executed then arrives, or RETURN), and waits killable
 * from then on (TIF_SIGPENDING stays set until the system call returns:
 * an interruptible wait would not sleep again). The program makes the
 * module see the signal, and RETURN brings its answer (-ERESTARTSYS,
 * typically), which the proxy returns: the kernel restarts the call or
 * fails it with EINTR, as for the .ko. A fatal signal abandons the
 * invocation at once (-EINTR), with one SIGNAL (fatal) to tell the
 * program; the end of the session wakes every invocation to its dead
 * answer (-ESHUTDOWN here).
 *
 * An announced invocation (dusk_inv_announce()) is one whose INVOKE is
 * never sent: a kernel thread of dusk.ko's that stands for a thread of
 * the module (kthread.c) serves it, and the program learnt its id from
 * KTHREAD_CREATE's reply. Its server is a kernel thread, which gets no
 * signals: it waits TASK_IDLE (kthread_stop()'s TIF_NOTIFY_SIGNAL would
 * only make an interruptible wait spin), until RETURN or the session's
 * end.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/jiffies.h>
#include <linux/overflow.h>
#include <linux/string.h>
#include <linux/err.h>

#include "dusk_kmod.h"

#define DUSK_INV_RTO_MS		50
#define DUSK_INV_RTO_MAX_MS	1000
/* Datagrams waiting for their caller; beyond, dropped (sent again). */
#define DUSK_INV_QUEUE_MAX	32

/* One routed datagram, as received. */
struct dusk_inv_dgram {
	struct list_head list;
	struct sockaddr_in from;
	u32 len;
	u64 data[];			/* the datagram, 8-byte aligned */
};

struct dusk_inv {
	struct list_head list;		/* in the session's invs */
	u64 id;
	wait_queue_head_t wq;
	struct list_head rxq;		/* under inv_lock */
	u32 nr_rxq;
	bool heard;			/* a datagram of it arrived */
	bool returned;			/* RETURN executed */
	/* SIGNAL: sent (a signal came), its number, acknowledged, the
	 * newest request id when it came, and when to send it again. */
	bool signalled;
	bool sig_acked;
	u64 sig_id;
	u64 sig_at_id;
	unsigned long sig_next;
	unsigned long sig_rto;
	bool abandoned;			/* its table died before it was heard */
	bool announced;			/* no INVOKE: a kthread's (kthread.c) */
	u32 handle;			/* its proxy table's */
	s64 ret;
	struct dusk_inv_rec rec;
};

static void dusk_inv_free(struct dusk_inv *inv)
{
	struct dusk_inv_dgram *d, *tmp;

	list_for_each_entry_safe(d, tmp, &inv->rxq, list)
		kvfree(d);
	kvfree(inv->rec.buf);
	kfree(inv);
}

static struct dusk_inv *dusk_inv_create(struct dusk_session *s)
{
	struct dusk_inv *inv = kzalloc(sizeof(*inv), GFP_KERNEL);

	if (!inv)
		return NULL;
	inv->rec.buf_len = min_t(u32, s->params.max_dgram, DUSK_MAX_DGRAM);
	inv->rec.buf = kvmalloc(inv->rec.buf_len, GFP_KERNEL);
	if (!inv->rec.buf) {
		kfree(inv);
		return NULL;
	}
	init_waitqueue_head(&inv->wq);
	INIT_LIST_HEAD(&inv->rxq);
	return inv;
}

/* INVOKE, built in the invocation's buffer (kept there until a datagram
 * of it arrives: a resend reseals it). */
static u32 dusk_invoke_build(struct dusk_inv *inv,
			     const struct dusk_invoke_args *a)
{
	struct dusk_invoke *m;
	unsigned int i;

	m = dusk_msg_start_in(inv->rec.buf, DUSK_MSG_INVOKE, 0, DUSK_CHAN_INV,
			      inv->id, inv->id, 0);
	memset(m, 0, sizeof(*m));
	m->cookie = cpu_to_le64(a->cookie);
	for (i = 0; i < DUSK_MAX_CALL_ARGS; i++)
		m->args[i] = cpu_to_le64(a->args[i]);
	m->task = cpu_to_le64((unsigned long)current);
	m->parent = 0;
	m->handle = cpu_to_le32(a->handle);
	m->off = cpu_to_le32(a->off);
	m->pid = cpu_to_le32(current->pid);
	m->tgid = cpu_to_le32(current->tgid);
	m->cpu = cpu_to_le32(raw_smp_processor_id());
	m->nr_segs = 0;
	strscpy_pad(m->comm, current->comm, sizeof(m->comm));
	return sizeof(*m);
}

/* INVOKE goes where HOOK messages go: the latest main-channel peer. */
static void dusk_invoke_send(struct dusk_session *s, struct dusk_inv *inv,
			     u32 len)
{
	struct sockaddr_in to;

	memcpy(&to, &s->peer[DUSK_CHAN_MAIN], sizeof(to));
	dusk_send(s, DUSK_CHAN_INV, &to, inv->rec.buf, len);
}

/*
 * SIGNAL, from a buffer of its own (the invocation's holds its last
 * reply). The lowest pending signal is named for the record (tracing).
 */
static void dusk_signal_send(struct dusk_session *s, struct dusk_inv *inv,
			     bool fatal)
{
	struct {
		struct dusk_hdr hdr;
		struct dusk_signal sig;
	} m;
	struct sockaddr_in to;
	unsigned long set = (READ_ONCE(current->pending.signal.sig[0]) |
			     READ_ONCE(current->signal->shared_pending.signal.sig[0])) &
			    ~current->blocked.sig[0];

	dusk_msg_start_in(&m, DUSK_MSG_SIGNAL, 0, DUSK_CHAN_INV, inv->sig_id,
			  inv->id, 0);
	m.sig.fatal = cpu_to_le32(fatal);
	m.sig.signo = cpu_to_le32(fatal ? SIGKILL : set ? __ffs(set) + 1 : 0);
	memcpy(&to, &s->peer[DUSK_CHAN_MAIN], sizeof(to));
	dusk_send(s, DUSK_CHAN_INV, &to, &m, sizeof(m.sig));
}

/* A signal the caller may handle came: SIGNAL, and wait killable. */
static void dusk_inv_signal(struct dusk_session *s, struct dusk_inv *inv)
{
	inv->signalled = true;
	inv->sig_id++;
	inv->sig_at_id = inv->rec.last_id;
	inv->sig_rto = msecs_to_jiffies(DUSK_INV_RTO_MS);
	inv->sig_next = jiffies + inv->sig_rto;
	dusk_signal_send(s, inv, false);
	atomic64_inc(&dusk.inv.signals);
}

/* SIGNAL again if unacknowledged and due; how long until it is due. */
static unsigned long dusk_inv_signal_timer(struct dusk_session *s,
					   struct dusk_inv *inv)
{
	if (!inv->signalled || inv->sig_acked)
		return MAX_SCHEDULE_TIMEOUT;
	if (inv->rec.last_id > inv->sig_at_id) {
		inv->sig_acked = true;
		return MAX_SCHEDULE_TIMEOUT;
	}
	if (time_after_eq(jiffies, inv->sig_next)) {
		dusk_signal_send(s, inv, false);
		atomic64_inc(&dusk.inv.signals_resent);
		inv->sig_rto = min_t(unsigned long, inv->sig_rto * 2,
				     msecs_to_jiffies(DUSK_INV_RTO_MAX_MS));
		inv->sig_next = jiffies + inv->sig_rto;
	}
	return max_t(long, 1, (long)(inv->sig_next - jiffies));
}

static bool dusk_inv_ready(struct dusk_session *s, struct dusk_inv *inv)
{
	return READ_ONCE(s->dead) || READ_ONCE(inv->abandoned) ||
	       !list_empty_careful(&inv->rxq);
}

/* Execute what the thread queued: true once RETURN was executed. */
static bool dusk_inv_serve(struct dusk_session *s, struct dusk_inv *inv)
{
	struct dusk_inv_dgram *d;

	while (!READ_ONCE(s->dead) && !inv->returned) {
		spin_lock(&s->inv_lock);
		d = list_first_entry_or_null(&inv->rxq, struct dusk_inv_dgram,
					     list);
		if (d) {
			list_del(&d->list);
			inv->nr_rxq--;
		}
		spin_unlock(&s->inv_lock);
		if (!d)
			break;
		dusk_dispatch_inv(s, inv, &inv->rec,
				  (const struct dusk_hdr *)d->data, &d->from);
		kvfree(d);
	}
	return inv->returned;
}

/*
 * Off the session's list; a RETURN's reply stays for a retransmission.
 * What was queued meanwhile is answered as the thread would answer it
 * from now on: the last request again gets its reply, the rest -ESRCH.
 */
static void dusk_inv_finish(struct dusk_session *s, struct dusk_inv *inv)
{
	const struct dusk_hdr *rep = inv->rec.buf, *hdr;
	struct dusk_inv_dgram *d, *tmp;
	struct dusk_inv_ended *e;

	spin_lock(&s->inv_lock);
	list_del_init(&inv->list);
	if (inv->returned) {
		e = &s->ended[s->ended_next++ % DUSK_INV_ENDED];
		e->inv = inv->id;
		e->id = inv->rec.last_id;
		e->status = (s32)le32_to_cpu(rep->status);
	}
	spin_unlock(&s->inv_lock);
	if (READ_ONCE(s->dead))
		return;
	list_for_each_entry_safe(d, tmp, &inv->rxq, list) {
		hdr = (const struct dusk_hdr *)d->data;
		if (inv->returned && le64_to_cpu(hdr->id) == inv->rec.last_id &&
		    hdr->type == inv->rec.last_type)
			dusk_send(s, DUSK_CHAN_INV, &d->from, inv->rec.buf,
				  inv->rec.last_len);
		else
			dusk_reply_status(s, hdr, &d->from, -ESRCH);
		list_del(&d->list);
		kvfree(d);
	}
}

int dusk_invoke(struct dusk_session *s, const struct dusk_invoke_args *a,
		s64 *ret)
{
	unsigned long rto = msecs_to_jiffies(DUSK_INV_RTO_MS), next, timeout;
	struct dusk_inv *inv;
	long left;
	u32 len;
	int err;

	inv = dusk_inv_create(s);
	if (!inv)
		return -ENOMEM;
	spin_lock(&s->inv_lock);
	if (s->dead) {
		spin_unlock(&s->inv_lock);
		dusk_inv_free(inv);
		return -ESHUTDOWN;
	}
	inv->id = ++s->next_inv;
	inv->handle = a->handle;
	list_add_tail(&inv->list, &s->invs);
	spin_unlock(&s->inv_lock);

	len = dusk_invoke_build(inv, a);
	dusk_invoke_send(s, inv, len);
	next = jiffies + rto;
	atomic64_inc(&dusk.inv.invokes);

	for (;;) {
		timeout = dusk_inv_signal_timer(s, inv);
		if (!READ_ONCE(inv->heard))
			timeout = min_t(unsigned long, timeout,
					max_t(long, 1, (long)(next - jiffies)));
		if (inv->signalled)
			left = wait_event_killable_timeout(inv->wq,
							   dusk_inv_ready(s, inv),
							   timeout);
		else
			left = wait_event_interruptible_timeout(inv->wq,
								dusk_inv_ready(s, inv),
								timeout);
		if (left < 0 && !fatal_signal_pending(current)) {
			/* Once: the program answers it. */
			dusk_inv_signal(s, inv);
			continue;
		}
		if (left < 0) {
			atomic64_inc(&dusk.inv.interrupted);
			inv->sig_id++;
			dusk_signal_send(s, inv, true);
			err = -EINTR;
			break;
		}
		if (READ_ONCE(s->dead) || READ_ONCE(inv->abandoned)) {
			err = -ESHUTDOWN;
			break;
		}
		if (dusk_inv_serve(s, inv)) {
			err = 0;
			break;
		}
		/* Nothing heard yet: INVOKE was lost, or its answer. */
		if (!READ_ONCE(inv->heard) && time_after_eq(jiffies, next)) {
			dusk_invoke_send(s, inv, len);
			atomic64_inc(&dusk.inv.resent);
			rto = min_t(unsigned long, rto * 2,
				    msecs_to_jiffies(DUSK_INV_RTO_MAX_MS));
			next = jiffies + rto;
		}
	}
	dusk_inv_finish(s, inv);
	*ret = inv->ret;
	dusk_inv_free(inv);
	return err;
}

struct dusk_inv *dusk_inv_announce(struct dusk_session *s)
{
	struct dusk_inv *inv = dusk_inv_create(s);

	if (!inv)
		return ERR_PTR(-ENOMEM);
	inv->announced = true;
	inv->heard = true;		/* nothing to send again */
	spin_lock(&s->inv_lock);
	if (s->dead) {
		spin_unlock(&s->inv_lock);
		dusk_inv_free(inv);
		return ERR_PTR(-ESHUTDOWN);
	}
	inv->id = ++s->next_inv;
	list_add_tail(&inv->list, &s->invs);
	spin_unlock(&s->inv_lock);
	return inv;
}

u64 dusk_inv_id(const struct dusk_inv *inv)
{
	return inv->id;
}

bool dusk_inv_returned(const struct dusk_inv *inv)
{
	return READ_ONCE(inv->returned);
}

int dusk_inv_serve_announced(struct dusk_session *s, struct dusk_inv *inv,
			     s64 *ret)
{
	int err;

	for (;;) {
		wait_event_idle(inv->wq, dusk_inv_ready(s, inv));
		if (READ_ONCE(s->dead)) {
			err = -ESHUTDOWN;
			break;
		}
		if (dusk_inv_serve(s, inv)) {
			err = 0;
			break;
		}
	}
	dusk_inv_finish(s, inv);
	*ret = inv->ret;
	return err;
}

void dusk_inv_discard(struct dusk_session *s, struct dusk_inv *inv)
{
	spin_lock(&s->inv_lock);
	if (!list_empty(&inv->list))
		list_del_init(&inv->list);
	spin_unlock(&s->inv_lock);
	dusk_inv_free(inv);
}

void dusk_inv_route(struct dusk_session *s, const struct dusk_hdr *hdr,
		    u32 len, const struct sockaddr_in *from)
{
	u64 id = le64_to_cpu(hdr->invocation);
	struct dusk_inv_dgram *d;
	struct dusk_inv *inv;
	s32 status = -ESRCH;
	unsigned int i;

	/* What the table refuses is refused here, for every invocation. */
	if (dusk_inv_check(hdr)) {
		dusk_reply_status(s, hdr, from, -EBADMSG);
		return;
	}
	/* Up to DUSK_MAX_DGRAM: no high-order page needed. */
	d = kvmalloc(struct_size(d, data, DIV_ROUND_UP(len, sizeof(u64))),
		     GFP_KERNEL);
	if (!d)
		return;		/* as if lost: it comes again */
	memcpy(d->data, hdr, len);
	d->len = len;
	d->from = *from;

	spin_lock(&s->inv_lock);
	list_for_each_entry(inv, &s->invs, list) {
		if (inv->id != id)
			continue;
		if (inv->nr_rxq >= DUSK_INV_QUEUE_MAX) {
			spin_unlock(&s->inv_lock);
			kvfree(d);
			return;
		}
		list_add_tail(&d->list, &inv->rxq);
		inv->nr_rxq++;
		WRITE_ONCE(inv->heard, true);
		wake_up(&inv->wq);
		spin_unlock(&s->inv_lock);
		atomic64_inc(&dusk.inv.routed);
		return;
	}
	if (hdr->type == DUSK_MSG_RETURN) {
		for (i = 0; i < DUSK_INV_ENDED; i++) {
			if (s->ended[i].inv == id && id &&
			    s->ended[i].id == le64_to_cpu(hdr->id)) {
				status = s->ended[i].status;
				break;
			}
		}
	}
	spin_unlock(&s->inv_lock);
	kvfree(d);
	if (status == -ESRCH)
		atomic64_inc(&dusk.inv.unrouted);
	dusk_reply_status(s, hdr, from, status);
}

/*
 * Table handle died (PROXY_UNREGISTER): its callers the program has not
 * answered yet wake to the dead answer. The program unregisters its
 * tables before the module's exit, which it runs instead of those
 * callbacks: proc_remove() and sysfs removals wait for the callers in
 * their files' operations, and dusk's thread, which runs the exit's
 * calls, would wait for callers that wait for it.
 */
void dusk_invs_abandon(struct dusk_session *s, u32 handle)
{
	struct dusk_inv *inv;

	spin_lock(&s->inv_lock);
	list_for_each_entry(inv, &s->invs, list) {
		if (inv->handle != handle || READ_ONCE(inv->heard))
			continue;
		WRITE_ONCE(inv->abandoned, true);
		wake_up(&inv->wq);
	}
	spin_unlock(&s->inv_lock);
}

/* The session ends: dead from now on, and every caller wakes to it. */
void dusk_invs_end(struct dusk_session *s)
{
	struct dusk_inv *inv;

	spin_lock(&s->inv_lock);
	s->dead = true;
	list_for_each_entry(inv, &s->invs, list)
		wake_up(&inv->wq);
	spin_unlock(&s->inv_lock);
}

/*
 * RETURN: the commit is applied, then the callback returns ret. A
 * malformed commit (-EBADMSG) ends nothing; a segment that cannot be
 * written (-EFAULT) stops the commit there, and the invocation ends all
 * the same (the program cannot do better by sending it again).
 */
int dusk_do_return(struct dusk_req *r)
{
	const struct dusk_return *rt = r->payload;
	u32 nr_segs = le32_to_cpu(rt->nr_segs);
	int ret;

	if (!r->inv || rt->pad)
		return -EINVAL;
	ret = dusk_segs_check(rt + 1, r->len - sizeof(*rt), nr_segs);
	if (ret)
		return ret;
	ret = dusk_segs_apply(rt + 1, r->len - sizeof(*rt), nr_segs);
	r->inv->ret = (s64)le64_to_cpu(rt->ret);
	r->inv->returned = true;
	return ret;
}
