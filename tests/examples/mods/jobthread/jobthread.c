// SPDX-License-Identifier: GPL-2.0
/*
 * jobthread: a kernel course's kernel-thread exercise. A worker thread
 * (kthread_run) sleeps on a completion until a job is written to
 * /proc/jobthread, then counts it and logs it; reading the file shows the
 * counters. Three more threads sleep in a loop the usual ways until
 * kthread_stop(): set_current_state() and schedule_timeout(), msleep(),
 * and wait_event_interruptible() on a condition that includes
 * kthread_should_stop() (writing "poke" wakes that one). Each thread
 * says it runs and under which name; init waits until each has started,
 * exit stops them all and prints what each returned.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("a worker thread fed through /proc/jobthread");

#define JOB_MAX		64
#define TICK		(30 * HZ)	/* kthread_stop() must not wait it out */
#define NAP_MS		200

static struct proc_dir_entry *entry;
static struct task_struct *worker, *ticker, *napper, *waiter;

static DECLARE_COMPLETION(started);
static DECLARE_COMPLETION(job_ready);
static DECLARE_COMPLETION(job_done);
static DECLARE_COMPLETION(poke_done);
static DECLARE_WAIT_QUEUE_HEAD(poke_wq);
static DEFINE_MUTEX(job_lock);

static char job[JOB_MAX] = "none";
static int jobs, pokes;
static bool poked;

static int worker_fn(void *data)
{
	pr_info("worker %s running\n", current->comm);
	complete(&started);
	while (!kthread_should_stop()) {
		/* kthread_stop() interrupts it */
		if (wait_for_completion_interruptible(&job_ready))
			continue;
		mutex_lock(&job_lock);
		jobs++;
		pr_info("job %d: %s\n", jobs, job);
		mutex_unlock(&job_lock);
		complete(&job_done);
	}
	pr_info("worker stopping after %d jobs\n", jobs);
	return jobs;
}

static int ticker_fn(void *data)
{
	unsigned long ticks = 0;

	pr_info("ticker %s running\n", current->comm);
	complete(&started);
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		schedule_timeout(TICK);
		ticks++;
	}
	pr_info("ticker stopping\n");
	return ticks ? 1 : 0;
}

static int napper_fn(void *data)
{
	unsigned long naps = 0;

	pr_info("napper %s running\n", current->comm);
	complete(&started);
	while (!kthread_should_stop()) {
		msleep(NAP_MS);
		naps++;
	}
	pr_info("napper stopping\n");
	return naps ? 2 : 0;
}

static int waiter_fn(void *data)
{
	pr_info("waiter %s running\n", current->comm);
	complete(&started);
	while (!kthread_should_stop()) {
		if (wait_event_interruptible(poke_wq,
					     poked || kthread_should_stop()))
			continue;
		if (poked) {
			poked = false;
			pokes++;
			pr_info("poked %d time%s\n", pokes, pokes == 1 ? "" : "s");
			complete(&poke_done);
		}
	}
	pr_info("waiter stopping after %d pokes\n", pokes);
	return pokes;
}

static int job_show(struct seq_file *m, void *v)
{
	mutex_lock(&job_lock);
	seq_printf(m, "jobs: %d\n", jobs);
	seq_printf(m, "last: %s\n", job);
	seq_printf(m, "pokes: %d\n", pokes);
	mutex_unlock(&job_lock);
	return 0;
}

static int job_open(struct inode *inode, struct file *file)
{
	return single_open(file, job_show, NULL);
}

static ssize_t job_write(struct file *file, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	char tmp[JOB_MAX];

	if (count == 0 || count >= JOB_MAX)
		return -EINVAL;
	if (copy_from_user(tmp, buf, count))
		return -EFAULT;
	tmp[count] = '\0';
	strim(tmp);
	if (!strcmp(tmp, "poke")) {
		poked = true;
		wake_up_interruptible(&poke_wq);
		wait_for_completion(&poke_done);
		return count;
	}
	mutex_lock(&job_lock);
	strscpy(job, tmp, sizeof(job));
	mutex_unlock(&job_lock);
	/* the worker takes it; the write returns once it is logged */
	complete(&job_ready);
	wait_for_completion(&job_done);
	return count;
}

static const struct proc_ops job_ops = {
	.proc_open = job_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = job_write,
};

/* Start a thread and wait until it runs. */
static struct task_struct *start(int (*fn)(void *), const char *name, int n)
{
	struct task_struct *t = kthread_run(fn, NULL, "%s/%d", name, n);

	if (!IS_ERR(t))
		wait_for_completion(&started);
	return t;
}

static int __init jobthread_init(void)
{
	int err;

	worker = kthread_run(worker_fn, NULL, "jobworker");
	if (IS_ERR(worker))
		return PTR_ERR(worker);
	wait_for_completion(&started);
	ticker = start(ticker_fn, "jobtick", 0);
	if (IS_ERR(ticker)) {
		err = PTR_ERR(ticker);
		goto out_worker;
	}
	napper = start(napper_fn, "jobnap", 1);
	if (IS_ERR(napper)) {
		err = PTR_ERR(napper);
		goto out_ticker;
	}
	waiter = start(waiter_fn, "jobwait", 2);
	if (IS_ERR(waiter)) {
		err = PTR_ERR(waiter);
		goto out_napper;
	}
	entry = proc_create("jobthread", 0666, NULL, &job_ops);
	if (!entry) {
		err = -ENOMEM;
		goto out_waiter;
	}
	pr_info("loaded: 4 threads\n");
	return 0;

out_waiter:
	kthread_stop(waiter);
out_napper:
	kthread_stop(napper);
out_ticker:
	kthread_stop(ticker);
out_worker:
	kthread_stop(worker);
	return err;
}

static void __exit jobthread_exit(void)
{
	proc_remove(entry);
	pr_info("waiter returned %d\n", kthread_stop(waiter));
	pr_info("napper returned %d\n", kthread_stop(napper));
	pr_info("ticker returned %d\n", kthread_stop(ticker));
	pr_info("worker returned %d\n", kthread_stop(worker));
	pr_info("unloaded\n");
}

module_init(jobthread_init);
module_exit(jobthread_exit);
