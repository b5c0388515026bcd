// SPDX-License-Identifier: GPL-2.0
/*
 * taskletlog: the bottom-half exercise of the kernel courses. A tasklet in
 * a kmalloc'd struct (tasklet_setup, from_tasklet) is scheduled from a
 * /proc write handler, in process context, and from a timer, in softirq
 * context; it logs what it is (in_softirq, in_interrupt, in_task) and
 * counts its runs. A static high-priority tasklet (DECLARE_TASKLET,
 * tasklet_hi_schedule) answers "hi". "disable" and "enable" hold a
 * scheduled tasklet back and let it go. "burst N" schedules it N times
 * with bottom halves off: it runs once.
 *
 *	echo hello > /proc/taskletlog	schedule the tasklet with a message
 *	echo tick 3 > /proc/taskletlog	a timer schedules it 3 times
 *	cat /proc/taskletlog
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/timer.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/spinlock.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("tasklets scheduled from process and softirq context");

#define MSG_LEN 32

struct tl_dev {
	struct tasklet_struct tasklet;
	struct timer_list timer;
	spinlock_t lock;
	unsigned long scheduled;	/* tasklet_schedule() calls */
	unsigned long runs;		/* tasklet runs */
	unsigned long hi_runs;
	int ticks_left;
	int tick;
	int disabled;
	char msg[MSG_LEN];
};

static struct tl_dev *dev;

static void tl_hi(struct tasklet_struct *t)
{
	spin_lock(&dev->lock);
	dev->hi_runs++;
	pr_info("hi tasklet: in_softirq %d, in_interrupt %d, in_task %d\n",
		in_softirq() ? 1 : 0, in_interrupt() ? 1 : 0,
		in_task() ? 1 : 0);
	spin_unlock(&dev->lock);
}
static DECLARE_TASKLET(hi_tasklet, tl_hi);

static void tl_run(struct tasklet_struct *t)
{
	struct tl_dev *d = from_tasklet(d, t, tasklet);

	spin_lock(&d->lock);
	d->runs++;
	pr_info("tasklet run %lu (%s): in_softirq %d, in_interrupt %d, in_task %d\n",
		d->runs, d->msg, in_softirq() ? 1 : 0, in_interrupt() ? 1 : 0,
		in_task() ? 1 : 0);
	spin_unlock(&d->lock);
}

static void tl_timer(struct timer_list *t)
{
	struct tl_dev *d = from_timer(d, t, timer);

	spin_lock(&d->lock);
	d->tick++;
	pr_info("timer tick %d: in_softirq %d, in_task %d\n", d->tick,
		in_softirq() ? 1 : 0, in_task() ? 1 : 0);
	snprintf(d->msg, sizeof(d->msg), "tick %d", d->tick);
	d->scheduled++;
	tasklet_schedule(&d->tasklet);
	if (--d->ticks_left > 0)
		mod_timer(&d->timer, jiffies + HZ / 20);
	spin_unlock(&d->lock);
}

static int tl_show(struct seq_file *m, void *v)
{
	spin_lock_bh(&dev->lock);
	seq_printf(m, "scheduled: %lu\n", dev->scheduled);
	seq_printf(m, "runs:      %lu\n", dev->runs);
	seq_printf(m, "hi runs:   %lu\n", dev->hi_runs);
	seq_printf(m, "ticks:     %d\n", dev->tick);
	seq_printf(m, "disabled:  %d\n", dev->disabled);
	seq_printf(m, "last:      %s\n", dev->msg);
	spin_unlock_bh(&dev->lock);
	return 0;
}

static int tl_open(struct inode *inode, struct file *file)
{
	return single_open(file, tl_show, NULL);
}

static ssize_t tl_write(struct file *file, const char __user *ubuf,
			size_t count, loff_t *ppos)
{
	char buf[MSG_LEN];
	int n;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	strim(buf);

	if (!strcmp(buf, "hi")) {
		pr_info("write: hi (in_task %d)\n", in_task() ? 1 : 0);
		tasklet_hi_schedule(&hi_tasklet);
	} else if (!strcmp(buf, "disable")) {
		tasklet_disable(&dev->tasklet);
		dev->disabled = 1;
		pr_info("tasklet disabled\n");
	} else if (!strcmp(buf, "enable")) {
		pr_info("tasklet enabled\n");
		dev->disabled = 0;
		tasklet_enable(&dev->tasklet);
	} else if (sscanf(buf, "burst %d", &n) == 1) {
		int i;

		if (n < 1 || n > 100)
			return -EINVAL;
		spin_lock_bh(&dev->lock);
		strscpy(dev->msg, "burst", sizeof(dev->msg));
		for (i = 0; i < n; i++) {
			dev->scheduled++;
			tasklet_schedule(&dev->tasklet);
		}
		pr_info("write: burst of %d\n", n);
		spin_unlock_bh(&dev->lock);
	} else if (sscanf(buf, "tick %d", &n) == 1) {
		if (n < 1 || n > 1000)
			return -EINVAL;
		spin_lock_bh(&dev->lock);
		if (dev->ticks_left > 0) {
			spin_unlock_bh(&dev->lock);
			return -EBUSY;
		}
		dev->ticks_left = n;
		pr_info("write: %d ticks\n", n);
		mod_timer(&dev->timer, jiffies + HZ / 20);
		spin_unlock_bh(&dev->lock);
	} else {
		spin_lock_bh(&dev->lock);
		strscpy(dev->msg, buf, sizeof(dev->msg));
		dev->scheduled++;
		pr_info("write: scheduling for \"%s\" (in_task %d, in_softirq %d)\n",
			buf, in_task() ? 1 : 0, in_softirq() ? 1 : 0);
		spin_unlock_bh(&dev->lock);
		tasklet_schedule(&dev->tasklet);
	}
	return count;
}

static const struct proc_ops tl_fops = {
	.proc_open	= tl_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= single_release,
	.proc_write	= tl_write,
};

static int __init tl_init(void)
{
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	spin_lock_init(&dev->lock);
	tasklet_setup(&dev->tasklet, tl_run);
	timer_setup(&dev->timer, tl_timer, 0);
	strscpy(dev->msg, "none", sizeof(dev->msg));

	if (!proc_create("taskletlog", 0666, NULL, &tl_fops)) {
		kfree(dev);
		return -ENOMEM;
	}
	pr_info("loaded\n");
	return 0;
}

static void __exit tl_exit(void)
{
	remove_proc_entry("taskletlog", NULL);
	del_timer_sync(&dev->timer);
	tasklet_kill(&dev->tasklet);
	tasklet_kill(&hi_tasklet);
	pr_info("unloaded: %lu scheduled, %lu runs, %lu hi\n", dev->scheduled,
		dev->runs, dev->hi_runs);
	kfree(dev);
}

module_init(tl_init);
module_exit(tl_exit);
