// SPDX-License-Identifier: GPL-2.0
/*
 * wqdemo: work queues, the way the classic workqueue tutorials use them.
 *
 * A private single-threaded workqueue runs "jobs": each write of
 * "job TEXT" to /proc/wqdemo kmallocs a job with its work_struct
 * (INIT_WORK), queues it, and the work function, in process context,
 * sleeps a little (msleep), logs and frees the job. The jobs of the
 * ordered queue run one after the other, in order. A work item of the
 * device runs on the system workqueue (schedule_work), and a delayed
 * work (INIT_DELAYED_WORK, schedule_delayed_work) fires after the
 * milliseconds it is given. A polling delayed work on the private queue
 * requeues itself every 20 ms until it has polled N times.
 *
 *	echo "job hello" > /proc/wqdemo	queue a job
 *	echo flush > /proc/wqdemo	flush_workqueue: wait for the jobs
 *	echo sys > /proc/wqdemo		schedule_work on the system queue
 *	echo "delay 200" > /proc/wqdemo	schedule_delayed_work, 200 ms
 *	echo "redelay 50" > /proc/wqdemo	mod_delayed_work, 50 ms
 *	echo dflush > /proc/wqdemo	flush_delayed_work: run it now
 *	echo cancel > /proc/wqdemo	cancel_delayed_work_sync
 *	echo "poll 5" > /proc/wqdemo	poll 5 times, 20 ms apart
 *	cat /proc/wqdemo
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/workqueue.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/atomic.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("a private workqueue, the system one and delayed work");

static int job_ms = 50;
module_param(job_ms, int, 0644);
MODULE_PARM_DESC(job_ms, "how long a job sleeps, in ms (default 50)");

#define TEXT_LEN 32

struct wq_job {
	struct work_struct work;
	int id;
	char text[TEXT_LEN];
};

struct wq_dev {
	struct workqueue_struct *wq;
	struct work_struct sys_work;
	struct delayed_work dwork;
	unsigned long due;		/* jiffies the delayed work waits for */
	struct delayed_work poll_work;
	int polls;			/* polls so far */
	int poll_target;
	atomic_t queued;
	atomic_t done;
	atomic_t sys_runs;
	atomic_t delayed_runs;
};

static struct wq_dev *wqd;

static void job_fn(struct work_struct *work)
{
	struct wq_job *job = container_of(work, struct wq_job, work);

	msleep(job_ms);
	pr_info("job %d: %s (in_task %d, in_interrupt %d)\n", job->id,
		job->text, in_task() ? 1 : 0, in_interrupt() ? 1 : 0);
	atomic_inc(&wqd->done);
	kfree(job);
}

static void sys_fn(struct work_struct *work)
{
	struct wq_dev *d = container_of(work, struct wq_dev, sys_work);

	msleep(10);
	pr_info("system work run %d (in_task %d)\n",
		atomic_inc_return(&d->sys_runs), in_task() ? 1 : 0);
}

static void delayed_fn(struct work_struct *work)
{
	struct wq_dev *d = container_of(to_delayed_work(work), struct wq_dev,
					dwork);

	if (time_before(jiffies, d->due))
		pr_info("delayed work ran %ld jiffies early!\n",
			(long)(d->due - jiffies));
	else
		pr_info("delayed work ran, not early (in_task %d)\n",
			in_task() ? 1 : 0);
	/* counted once logged: whoever sees the count sees the line */
	atomic_inc(&d->delayed_runs);
}

static void poll_fn(struct work_struct *work)
{
	struct wq_dev *d = container_of(to_delayed_work(work), struct wq_dev,
					poll_work);

	int n = d->polls + 1;

	if (n == d->poll_target)
		pr_info("polled %d times\n", n);
	d->polls = n;	/* after the line, as delayed_runs */
	if (n < d->poll_target)
		queue_delayed_work(d->wq, &d->poll_work, msecs_to_jiffies(20));
}

static int queue_job(const char *text)
{
	struct wq_job *job;

	job = kmalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return -ENOMEM;
	INIT_WORK(&job->work, job_fn);
	job->id = atomic_inc_return(&wqd->queued);
	strscpy(job->text, text, sizeof(job->text));
	pr_info("queueing job %d\n", job->id);
	queue_work(wqd->wq, &job->work);
	return 0;
}

static int wq_show(struct seq_file *m, void *v)
{
	seq_printf(m, "queued:          %d\n", atomic_read(&wqd->queued));
	seq_printf(m, "done:            %d\n", atomic_read(&wqd->done));
	seq_printf(m, "system runs:     %d\n", atomic_read(&wqd->sys_runs));
	seq_printf(m, "delayed runs:    %d\n", atomic_read(&wqd->delayed_runs));
	seq_printf(m, "delayed pending: %d\n",
		   delayed_work_pending(&wqd->dwork) ? 1 : 0);
	seq_printf(m, "polls:           %d/%d\n", wqd->polls,
		   wqd->poll_target);
	return 0;
}

static int wq_open(struct inode *inode, struct file *file)
{
	return single_open(file, wq_show, NULL);
}

static ssize_t wq_write(struct file *file, const char __user *ubuf,
			size_t count, loff_t *ppos)
{
	char buf[48];
	unsigned int ms;
	int n, ret = 0;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	strim(buf);

	if (!strncmp(buf, "job ", 4)) {
		ret = queue_job(buf + 4);
	} else if (!strcmp(buf, "flush")) {
		flush_workqueue(wqd->wq);
		pr_info("flushed: %d of %d jobs done\n",
			atomic_read(&wqd->done), atomic_read(&wqd->queued));
	} else if (!strcmp(buf, "sys")) {
		if (!schedule_work(&wqd->sys_work))
			pr_info("system work already pending\n");
	} else if (!strcmp(buf, "sysflush")) {
		flush_work(&wqd->sys_work);
		pr_info("system work flushed: %d runs\n",
			atomic_read(&wqd->sys_runs));
	} else if (sscanf(buf, "delay %u", &ms) == 1) {
		unsigned long delay = msecs_to_jiffies(ms);

		if (delayed_work_pending(&wqd->dwork)) {
			pr_info("delayed work already pending\n");
		} else {
			wqd->due = jiffies + delay;
			pr_info("delayed work in %u ms\n", ms);
			schedule_delayed_work(&wqd->dwork, delay);
		}
	} else if (sscanf(buf, "redelay %u", &ms) == 1) {
		wqd->due = jiffies + msecs_to_jiffies(ms);
		pr_info("mod_delayed_work: %d\n",
			mod_delayed_work(system_wq, &wqd->dwork,
					 msecs_to_jiffies(ms)) ? 1 : 0);
	} else if (!strcmp(buf, "dflush")) {
		wqd->due = jiffies;
		flush_delayed_work(&wqd->dwork);
		pr_info("delayed work flushed: %d runs\n",
			atomic_read(&wqd->delayed_runs));
	} else if (sscanf(buf, "poll %d", &n) == 1) {
		if (n < 1)
			return -EINVAL;
		if (delayed_work_pending(&wqd->poll_work))
			return -EBUSY;
		wqd->polls = 0;
		wqd->poll_target = n;
		queue_delayed_work(wqd->wq, &wqd->poll_work,
				   msecs_to_jiffies(20));
	} else if (!strcmp(buf, "cancel")) {
		pr_info("cancel_delayed_work_sync: %d\n",
			cancel_delayed_work_sync(&wqd->dwork) ? 1 : 0);
	} else {
		ret = -EINVAL;
	}
	return ret ? ret : count;
}

static const struct proc_ops wq_fops = {
	.proc_open	= wq_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= single_release,
	.proc_write	= wq_write,
};

static int __init wqdemo_init(void)
{
	wqd = kzalloc(sizeof(*wqd), GFP_KERNEL);
	if (!wqd)
		return -ENOMEM;
	wqd->wq = create_singlethread_workqueue("wqdemo");
	if (!wqd->wq) {
		kfree(wqd);
		return -ENOMEM;
	}
	INIT_WORK(&wqd->sys_work, sys_fn);
	INIT_DELAYED_WORK(&wqd->dwork, delayed_fn);
	INIT_DELAYED_WORK(&wqd->poll_work, poll_fn);

	if (!proc_create("wqdemo", 0666, NULL, &wq_fops)) {
		destroy_workqueue(wqd->wq);
		kfree(wqd);
		return -ENOMEM;
	}
	pr_info("loaded\n");
	return 0;
}

static void __exit wqdemo_exit(void)
{
	int pending;

	remove_proc_entry("wqdemo", NULL);
	pending = cancel_delayed_work_sync(&wqd->dwork);
	cancel_delayed_work_sync(&wqd->poll_work);
	cancel_work_sync(&wqd->sys_work);
	flush_workqueue(wqd->wq);
	destroy_workqueue(wqd->wq);
	pr_info("unloaded: %d jobs queued, %d done, delayed work pending %d\n",
		atomic_read(&wqd->queued), atomic_read(&wqd->done), pending);
	kfree(wqd);
}

module_init(wqdemo_init);
module_exit(wqdemo_exit);
