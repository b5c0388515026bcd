// SPDX-License-Identifier: GPL-2.0
/*
 * invdev - a misc device as kernel courses write their first one, without
 * copy_to_user: open logs who opened it, read gives a fixed number of
 * bytes once per open file (advancing *ppos; the bytes are whatever the
 * reader's buffer held), write swallows everything, an ioctl answers its
 * argument plus one, llseek is the kernel's noop_llseek.
 */
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched.h>

#define INVDEV_LEN	5
#define INVDEV_IOC_INC	_IOW('i', 1, unsigned long)

static int opens;

static int invdev_open(struct inode *inode, struct file *file)
{
	opens++;
	pr_info("invdev: open #%d by %s (pid %d)\n", opens, current->comm,
		current->pid);
	return 0;
}

static int invdev_release(struct inode *inode, struct file *file)
{
	pr_info("invdev: release by %s\n", current->comm);
	return 0;
}

static ssize_t invdev_read(struct file *file, char __user *buf, size_t count,
			   loff_t *ppos)
{
	size_t n;

	if (*ppos >= INVDEV_LEN)
		return 0;
	n = min_t(size_t, count, INVDEV_LEN - *ppos);
	*ppos += n;
	pr_info("invdev: read %zu of %zu at %lld\n", n, count, *ppos - n);
	return n;
}

static ssize_t invdev_write(struct file *file, const char __user *buf,
			    size_t count, loff_t *ppos)
{
	pr_info("invdev: write of %zu bytes by pid %d\n", count, current->pid);
	return count;
}

static long invdev_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	if (cmd != INVDEV_IOC_INC)
		return -ENOTTY;
	return arg + 1;
}

static const struct file_operations invdev_fops = {
	.owner = THIS_MODULE,
	.open = invdev_open,
	.release = invdev_release,
	.read = invdev_read,
	.write = invdev_write,
	.unlocked_ioctl = invdev_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice invdev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "invdev",
	.fops = &invdev_fops,
};

static int __init invdev_init(void)
{
	int err = misc_register(&invdev_misc);

	if (err) {
		pr_err("invdev: misc_register: %d\n", err);
		return err;
	}
	pr_info("invdev: minor %d\n", invdev_misc.minor);
	return 0;
}

static void __exit invdev_exit(void)
{
	misc_deregister(&invdev_misc);
	pr_info("invdev: %d opens\n", opens);
}

module_init(invdev_init);
module_exit(invdev_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A misc device served at user level: open, read, write, ioctl");
