// SPDX-License-Identifier: GPL-2.0
/*
 * sleepy.c -- the simplest sleeping device, after LDD3 chapter 6: a read
 * sleeps on a static wait queue until a write raises the flag; poll()
 * reports the flag, its poll_wait() on the same static queue.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/sched.h>
#include <linux/kernel.h>
#include <linux/fs.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/poll.h>

static int sleepy_major;

static DECLARE_WAIT_QUEUE_HEAD(wq);
static int flag;

static ssize_t sleepy_read(struct file *filp, char __user *buf, size_t count,
			   loff_t *pos)
{
	printk(KERN_DEBUG "process %i (%s) going to sleep\n",
	       current->pid, current->comm);
	wait_event_interruptible(wq, flag != 0);
	flag = 0;
	printk(KERN_DEBUG "awoken %i (%s)\n", current->pid, current->comm);
	return 0; /* EOF */
}

static ssize_t sleepy_write(struct file *filp, const char __user *buf,
			    size_t count, loff_t *pos)
{
	printk(KERN_DEBUG "process %i (%s) awakening the readers...\n",
	       current->pid, current->comm);
	flag = 1;
	wake_up_interruptible(&wq);
	return count; /* succeed, to avoid retrial */
}

static __poll_t sleepy_poll(struct file *filp, poll_table *wait)
{
	poll_wait(filp, &wq, wait);
	return flag ? (EPOLLIN | EPOLLRDNORM) : 0;
}

static const struct file_operations sleepy_fops = {
	.owner = THIS_MODULE,
	.read =  sleepy_read,
	.write = sleepy_write,
	.poll =  sleepy_poll,
};

static int sleepy_init(void)
{
	int result;

	/*
	 * Register your major, and accept a dynamic number
	 */
	result = register_chrdev(sleepy_major, "sleepy", &sleepy_fops);
	if (result < 0)
		return result;
	if (sleepy_major == 0)
		sleepy_major = result; /* dynamic */
	return 0;
}

static void sleepy_cleanup(void)
{
	unregister_chrdev(sleepy_major, "sleepy");
}

module_init(sleepy_init);
module_exit(sleepy_cleanup);

MODULE_LICENSE("Dual BSD/GPL");
