// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel threads for the module's (KTHREAD_CREATE, KTHREAD_STOP). The
 * module's kthread_create() at user level asks dusk.ko for a real kernel
 * thread with the module's name, so that ps shows it and `current` is a
 * kthread: created as the .ko's would be (not woken), it serves one
 * announced invocation (invoke.c) once woken, executing the requests the
 * program's thread function makes, then returns the function's value
 * from RETURN. The program runs the function on a thread of its own; it
 * wakes this one with the kernel's wake_up_process() (a CALL) when the
 * module wakes its thread.
 *
 * Stopping never waits for the program: the program stops its function
 * first (its own kthread_should_stop() flag, its own wake-up) and sends
 * KTHREAD_STOP once its RETURN was answered, so that kthread_stop() here
 * returns at once, wherever it is executed (dusk.ko's one thread, which
 * routes every invocation's datagrams, must never wait for one). A thread
 * that serves its invocation and has no RETURN yet is refused (-EBUSY);
 * one that never started serving is marked stopping first, so that it
 * never starts once kthread_stop() may wait for it. The session's end
 * wakes every invocation to its end first (the function's, here), then
 * stops each thread left (owned.c's record, dusk_kthread_release()).
 */
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/nodemask.h>
#include <linux/numa.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "dusk_kmod.h"
#include "owned.h"

struct dusk_kthread {
	struct dusk_session *s;		/* referenced */
	struct dusk_inv *inv;		/* announced: its id the handle */
	struct task_struct *task;	/* referenced */
	spinlock_t lock;
	bool serving;			/* the thread serves inv */
	bool stopping;			/* never to start serving */
};

static int dusk_kthread_fn(void *arg)
{
	struct dusk_kthread *kt = arg;
	s64 ret;
	int err;

	spin_lock(&kt->lock);
	if (kt->stopping) {
		spin_unlock(&kt->lock);
		return -EINTR;		/* as kthread() when stopped unwoken */
	}
	kt->serving = true;
	spin_unlock(&kt->lock);
	err = dusk_inv_serve_announced(kt->s, kt->inv, &ret);
	return err ? err : (int)ret;
}

/* Stop kt's thread (it never waits for the program here: see above) and
 * free what goes with it: kthread_stop()'s value. */
static int dusk_kthread_end(struct dusk_kthread *kt)
{
	int ret;

	spin_lock(&kt->lock);
	kt->stopping = true;
	spin_unlock(&kt->lock);
	ret = kthread_stop(kt->task);
	put_task_struct(kt->task);
	dusk_inv_discard(kt->s, kt->inv);
	dusk_session_put(kt->s);
	kfree(kt);
	return ret;
}

u64 dusk_kthread_release(u64 kt, u64 handle, u64 unused2, u64 unused3)
{
	return (u64)(s64)dusk_kthread_end((struct dusk_kthread *)kt);
}

/* Under the session's lock: may kt's thread be stopped without waiting
 * for the program? It is then marked so. */
static int dusk_kthread_claim(u64 v)
{
	struct dusk_kthread *kt = (struct dusk_kthread *)v;
	int err = 0;

	spin_lock(&kt->lock);
	if (kt->serving && !dusk_inv_returned(kt->inv))
		err = -EBUSY;
	else
		kt->stopping = true;
	spin_unlock(&kt->lock);
	return err;
}

/*
 * KTHREAD_CREATE: -EINVAL for a node the kernel has no memory on (its
 * allocations there would fail or worse), an empty or unterminated name,
 * pad; kthread_create_on_node()'s errors; -EDQUOT.
 */
int dusk_do_kthread_create(struct dusk_req *r)
{
	const struct dusk_kthread_create *kc = r->payload;
	struct dusk_kthread_reply *rep = r->reply;
	int node = (s32)le32_to_cpu(kc->node);
	struct task_struct *task;
	struct dusk_kthread *kt;
	u64 handle;
	int err;

	if (kc->pad || !kc->name[0] ||
	    !memchr(kc->name, '\0', sizeof(kc->name)))
		return -EINVAL;
	if (node != NUMA_NO_NODE &&
	    (node < 0 || node >= MAX_NUMNODES || !node_online(node)))
		return -EINVAL;
	kt = kzalloc(sizeof(*kt), GFP_KERNEL);
	if (!kt)
		return -ENOMEM;
	spin_lock_init(&kt->lock);
	kt->inv = dusk_inv_announce(r->s);
	if (IS_ERR(kt->inv)) {
		err = PTR_ERR(kt->inv);
		kfree(kt);
		return err == -ESHUTDOWN ? -ESRCH : err;
	}
	handle = dusk_inv_id(kt->inv);
	kt->s = r->s;
	dusk_session_get(kt->s);
	task = kthread_create_on_node(dusk_kthread_fn, kt, node, "%s",
				      kc->name);
	if (IS_ERR(task)) {
		dusk_inv_discard(kt->s, kt->inv);
		dusk_session_put(kt->s);
		kfree(kt);
		return PTR_ERR(task);
	}
	get_task_struct(task);
	kt->task = task;
	err = dusk_own_add_kthread(r->s, (unsigned long)kt, handle);
	if (err) {
		/* Never woken: it ends at once. */
		dusk_kthread_end(kt);
		return err;
	}
	rep->task = cpu_to_le64((unsigned long)task);
	rep->handle = cpu_to_le64(handle);
	r->reply_len = sizeof(*rep);
	return 0;
}

/* KTHREAD_STOP: -ENOENT, -EBUSY, -ESRCH (the session ends: its end
 * stops the thread). */
int dusk_do_kthread_stop(struct dusk_req *r)
{
	const struct dusk_kthread_handle *h = r->payload;
	struct dusk_kthread_stop_reply *rep = r->reply;
	u64 v;
	int err;

	err = dusk_own_claim(r->s, DUSK_OWN_MOD_KTHREAD,
			     le64_to_cpu(h->handle), dusk_kthread_claim, &v);
	if (err)
		return err;
	rep->ret = cpu_to_le64((s64)dusk_kthread_end((struct dusk_kthread *)v));
	r->reply_len = sizeof(*rep);
	return 0;
}
