// SPDX-License-Identifier: GPL-2.0
/*
 * jiffytimer: a kernel timer that re-arms itself, after LDD3 chapter 7
 * (jit.c's jitimer) and the timer exercises of the kernel courses.
 *
 * A kmalloc'd struct holds a timer_list; the callback finds the struct
 * with from_timer() and re-arms the timer with mod_timer() every "delay"
 * jiffies (HZ/10) until the run has its "ticks". When a run is over, a
 * static one-shot timer (DEFINE_TIMER) reports it. /proc/jiffytimer shows
 * the state; writing a number to it starts another run of that many ticks
 * (LDD3's way: expires set by hand, then add_timer()). A read of
 * /proc/jitwait sleeps until the run is over, woken by the report (LDD3's
 * jitimer reader).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/timer.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("a self re-arming timer counting ticks");

static int ticks = 10;
module_param(ticks, int, 0444);
MODULE_PARM_DESC(ticks, "ticks of the first run (default 10)");

static int verbose = 1;
module_param(verbose, int, 0644);
MODULE_PARM_DESC(verbose, "log every tick (default 1)");

struct jit_data {
	struct timer_list timer;
	spinlock_t lock;
	wait_queue_head_t wait;	/* readers of jitwait */
	unsigned long delay;	/* jiffies between two ticks */
	unsigned long start;	/* jiffies when the run was armed */
	unsigned long end;	/* jiffies at its last tick */
	int count;		/* ticks of this run so far */
	int target;		/* ticks this run wants */
	int runs;
	int total;
	int reported;
};

static struct jit_data *jit;

static void jit_report(struct timer_list *unused);
static DEFINE_TIMER(report_timer, jit_report);

static void jit_report(struct timer_list *unused)
{
	spin_lock(&jit->lock);
	jit->reported = 1;
	pr_info("run %d over: %d ticks\n", jit->runs, jit->count);
	spin_unlock(&jit->lock);
	wake_up_interruptible(&jit->wait);
}

static void jit_tick(struct timer_list *t)
{
	struct jit_data *data = from_timer(data, t, timer);
	int pending;

	spin_lock(&data->lock);
	data->count++;
	data->total++;
	if (data->count < data->target) {
		mod_timer(&data->timer, jiffies + data->delay);
	} else {
		data->end = jiffies;
		/* the report comes a little later, from another timer */
		mod_timer(&report_timer, jiffies + HZ / 20);
	}
	pending = timer_pending(&data->timer);
	if (verbose)
		pr_info("tick %d/%d, pending %d\n", data->count, data->target,
			pending);
	spin_unlock(&data->lock);
}

/* Called with the lock held and the timer idle. */
static void jit_start(struct jit_data *data, int n)
{
	data->count = 0;
	data->target = n;
	data->reported = 0;
	data->runs++;
	data->start = jiffies;
	data->timer.expires = data->start + data->delay;
	add_timer(&data->timer);
	pr_info("run %d: %d ticks every %lu jiffies\n", data->runs, n,
		data->delay);
}

static const char *jit_state(struct jit_data *data)
{
	if (data->count < data->target)
		return "running";
	return data->reported ? "done" : "reporting";
}

static int jit_show(struct seq_file *m, void *v)
{
	struct jit_data *data = m->private;

	spin_lock_bh(&data->lock);
	seq_printf(m, "runs:    %d\n", data->runs);
	seq_printf(m, "ticks:   %d/%d\n", data->count, data->target);
	seq_printf(m, "total:   %d\n", data->total);
	seq_printf(m, "state:   %s\n", jit_state(data));
	seq_printf(m, "pending: %d\n", timer_pending(&data->timer));
	seq_printf(m, "delay:   %lu jiffies (%u ms)\n", data->delay,
		   jiffies_to_msecs(data->delay));
	if (data->reported)
		seq_printf(m, "elapsed: %u ms\n",
			   jiffies_to_msecs(data->end - data->start));
	spin_unlock_bh(&data->lock);
	return 0;
}

static int jit_open(struct inode *inode, struct file *file)
{
	return single_open(file, jit_show, pde_data(inode));
}

static ssize_t jit_write(struct file *file, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	struct jit_data *data = pde_data(file_inode(file));
	int n, ret;

	ret = kstrtoint_from_user(buf, count, 0, &n);
	if (ret)
		return ret;
	if (n < 1 || n > 100000)
		return -EINVAL;

	spin_lock_bh(&data->lock);
	if (timer_pending(&data->timer) || timer_pending(&report_timer) ||
	    data->count < data->target) {
		spin_unlock_bh(&data->lock);
		pr_info("busy: run %d is not over\n", data->runs);
		return -EBUSY;
	}
	jit_start(data, n);
	spin_unlock_bh(&data->lock);
	return count;
}

static int jitwait_show(struct seq_file *m, void *v)
{
	struct jit_data *data = m->private;

	if (wait_event_interruptible(data->wait, READ_ONCE(data->reported)))
		return -ERESTARTSYS;
	spin_lock_bh(&data->lock);
	seq_printf(m, "run %d over: %d ticks\n", data->runs, data->count);
	spin_unlock_bh(&data->lock);
	return 0;
}

static int jitwait_open(struct inode *inode, struct file *file)
{
	return single_open(file, jitwait_show, pde_data(inode));
}

static const struct proc_ops jitwait_fops = {
	.proc_open	= jitwait_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= single_release,
};

static const struct proc_ops jit_fops = {
	.proc_open	= jit_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= single_release,
	.proc_write	= jit_write,
};

static int __init jit_init(void)
{
	if (ticks < 1)
		return -EINVAL;

	jit = kzalloc(sizeof(*jit), GFP_KERNEL);
	if (!jit)
		return -ENOMEM;
	spin_lock_init(&jit->lock);
	init_waitqueue_head(&jit->wait);
	jit->delay = HZ / 10;
	timer_setup(&jit->timer, jit_tick, 0);

	if (!proc_create_data("jiffytimer", 0644, NULL, &jit_fops, jit))
		goto fail;
	if (!proc_create_data("jitwait", 0444, NULL, &jitwait_fops, jit)) {
		remove_proc_entry("jiffytimer", NULL);
		goto fail;
	}

	spin_lock_bh(&jit->lock);
	jit->count = 0;
	jit->target = ticks;
	jit->runs = 1;
	jit->start = jiffies;
	mod_timer(&jit->timer, jit->start + jit->delay);
	pr_info("run 1: %d ticks every %lu jiffies, pending %d\n", ticks,
		jit->delay, timer_pending(&jit->timer));
	spin_unlock_bh(&jit->lock);
	return 0;

fail:
	kfree(jit);
	return -ENOMEM;
}

static void __exit jit_exit(void)
{
	int ret;

	remove_proc_entry("jitwait", NULL);
	remove_proc_entry("jiffytimer", NULL);
	ret = del_timer_sync(&jit->timer);
	del_timer_sync(&report_timer);
	pr_info("unloaded after %d runs, del_timer_sync %d\n", jit->runs, ret);
	kfree(jit);
}

module_init(jit_init);
module_exit(jit_exit);
