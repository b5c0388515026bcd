// SPDX-License-Identifier: GPL-2.0
/*
 * sigdev - a misc device whose read waits for the next tick the way
 * early course code waits, before wait queues: it naps with msleep() and
 * checks signal_pending(current) between naps, returning -ERESTARTSYS
 * when a signal came (the kernel then restarts the read or fails it with
 * EINTR, as the reader's handler asks). A tick comes after wait_ms of
 * naps; each open file reads one "tick".
 */
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

static unsigned int wait_ms = 3000;
module_param(wait_ms, uint, 0444);
MODULE_PARM_DESC(wait_ms, "how long a read waits for its tick");

static const char tick[] = "tick";

static ssize_t sigdev_read(struct file *file, char __user *buf, size_t count,
			   loff_t *ppos)
{
	unsigned int naps;
	size_t n;

	if (*ppos >= sizeof(tick) - 1)
		return 0;
	for (naps = 0; naps < wait_ms / 10; naps++) {
		if (signal_pending(current)) {
			pr_info("sigdev: read by %s interrupted\n",
				current->comm);
			return -ERESTARTSYS;
		}
		msleep(10);
	}
	n = min(count, sizeof(tick) - 1 - (size_t)*ppos);
	if (copy_to_user(buf, tick + *ppos, n))
		return -EFAULT;
	*ppos += n;
	pr_info("sigdev: tick for %s\n", current->comm);
	return n;
}

static const struct file_operations sigdev_fops = {
	.owner = THIS_MODULE,
	.read = sigdev_read,
	.llseek = noop_llseek,
};

static struct miscdevice sigdev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "sigdev",
	.fops = &sigdev_fops,
};

static int __init sigdev_init(void)
{
	return misc_register(&sigdev_misc);
}

static void __exit sigdev_exit(void)
{
	misc_deregister(&sigdev_misc);
	pr_info("sigdev: unloaded\n");
}

module_init(sigdev_init);
module_exit(sigdev_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("a device whose read naps until a tick or a signal");
