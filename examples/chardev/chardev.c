// SPDX-License-Identifier: GPL-2.0
/*
 * chardev - a ring buffer behind a character device.
 *
 * Writers put bytes in, readers take them out, in order. A read of an
 * empty ring blocks until a writer comes (or fails with EAGAIN under
 * O_NONBLOCK); a write to a full ring blocks until a reader makes room.
 * poll()/select() report both. Any number of processes may have the
 * device open. /proc/chardev shows what went through.
 *
 *   insmod chardev.ko [ring_size=4096]
 *   echo hello > /dev/chardev; cat /dev/chardev
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/fs.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "chardev_ioctl.h"

#define DEVICE_NAME	"chardev"

static int ring_size = 4096;
module_param(ring_size, int, 0444);
MODULE_PARM_DESC(ring_size, "bytes the ring holds (16 to 65536)");

struct chardev_ring {
	char *buf;
	int size;
	int head;		/* next byte written goes here */
	int fill;		/* bytes buffered */
	struct mutex lock;
	wait_queue_head_t readq;
	wait_queue_head_t writeq;
	/* statistics, under lock */
	unsigned long bytes_in, bytes_out;
	unsigned long reads, writes, opens;
	unsigned long read_waits, write_waits;
	int open_now;
};

static struct chardev_ring ring;
static dev_t chardev_devt;
static struct cdev chardev_cdev;
static struct class *chardev_class;
static struct proc_dir_entry *chardev_proc;

static int chardev_open(struct inode *inode, struct file *filp)
{
	mutex_lock(&ring.lock);
	ring.opens++;
	ring.open_now++;
	mutex_unlock(&ring.lock);
	filp->private_data = &ring;
	return nonseekable_open(inode, filp);
}

static int chardev_release(struct inode *inode, struct file *filp)
{
	mutex_lock(&ring.lock);
	ring.open_now--;
	mutex_unlock(&ring.lock);
	return 0;
}

static ssize_t chardev_read(struct file *filp, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct chardev_ring *r = filp->private_data;
	int tail, chunk;
	ssize_t done;

	if (mutex_lock_interruptible(&r->lock))
		return -ERESTARTSYS;
	while (r->fill == 0) {
		mutex_unlock(&r->lock);
		if (filp->f_flags & O_NONBLOCK)
			return -EAGAIN;
		r->read_waits++;	/* racy on purpose: a statistic */
		if (wait_event_interruptible(r->readq, r->fill > 0))
			return -ERESTARTSYS;
		if (mutex_lock_interruptible(&r->lock))
			return -ERESTARTSYS;
	}

	count = min_t(size_t, count, r->fill);
	tail = (r->head - r->fill + r->size) % r->size;
	/* at most two pieces: up to the end of the ring, then from 0 */
	chunk = min_t(size_t, count, r->size - tail);
	done = 0;
	if (copy_to_user(ubuf, r->buf + tail, chunk)) {
		done = -EFAULT;
		goto out;
	}
	if (count > chunk && copy_to_user(ubuf + chunk, r->buf, count - chunk)) {
		done = -EFAULT;
		goto out;
	}
	done = count;
	r->fill -= count;
	r->bytes_out += count;
	r->reads++;
out:
	mutex_unlock(&r->lock);
	if (done > 0)
		wake_up_interruptible(&r->writeq);
	return done;
}

static ssize_t chardev_write(struct file *filp, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct chardev_ring *r = filp->private_data;
	int room, chunk;
	ssize_t done;

	if (mutex_lock_interruptible(&r->lock))
		return -ERESTARTSYS;
	while (r->fill == r->size) {
		mutex_unlock(&r->lock);
		if (filp->f_flags & O_NONBLOCK)
			return -EAGAIN;
		r->write_waits++;
		if (wait_event_interruptible(r->writeq, r->fill < r->size))
			return -ERESTARTSYS;
		if (mutex_lock_interruptible(&r->lock))
			return -ERESTARTSYS;
	}

	room = r->size - r->fill;
	count = min_t(size_t, count, room);
	chunk = min_t(size_t, count, r->size - r->head);
	if (copy_from_user(r->buf + r->head, ubuf, chunk)) {
		done = -EFAULT;
		goto out;
	}
	if (count > chunk && copy_from_user(r->buf, ubuf + chunk, count - chunk)) {
		done = -EFAULT;
		goto out;
	}
	r->head = (r->head + count) % r->size;
	r->fill += count;
	r->bytes_in += count;
	r->writes++;
	done = count;
out:
	mutex_unlock(&r->lock);
	if (done > 0)
		wake_up_interruptible(&r->readq);
	return done;
}

static __poll_t chardev_poll(struct file *filp, poll_table *wait)
{
	struct chardev_ring *r = filp->private_data;
	__poll_t mask = 0;

	poll_wait(filp, &r->readq, wait);
	poll_wait(filp, &r->writeq, wait);
	mutex_lock(&r->lock);
	if (r->fill > 0)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (r->fill < r->size)
		mask |= EPOLLOUT | EPOLLWRNORM;
	mutex_unlock(&r->lock);
	return mask;
}

static long chardev_ioctl(struct file *filp, unsigned int cmd,
			  unsigned long arg)
{
	struct chardev_ring *r = filp->private_data;
	int __user *p = (int __user *)arg;
	char *nbuf;
	int size;
	long ret = 0;

	if (_IOC_TYPE(cmd) != CHARDEV_IOC_MAGIC || _IOC_NR(cmd) > CHARDEV_IOC_MAXNR)
		return -ENOTTY;

	switch (cmd) {
	case CHARDEV_IOC_RESET:
		mutex_lock(&r->lock);
		r->fill = 0;
		r->head = 0;
		mutex_unlock(&r->lock);
		wake_up_interruptible(&r->writeq);
		break;
	case CHARDEV_IOC_GETFILL:
		ret = put_user(r->fill, p);
		break;
	case CHARDEV_IOC_GETSIZE:
		ret = put_user(r->size, p);
		break;
	case CHARDEV_IOC_SETSIZE:
		if (get_user(size, p))
			return -EFAULT;
		if (size < 16 || size > 65536)
			return -EINVAL;
		nbuf = kmalloc(size, GFP_KERNEL);
		if (!nbuf)
			return -ENOMEM;
		mutex_lock(&r->lock);
		if (r->fill) {
			mutex_unlock(&r->lock);
			kfree(nbuf);
			return -EBUSY;
		}
		kfree(r->buf);
		r->buf = nbuf;
		r->size = size;
		r->head = 0;
		mutex_unlock(&r->lock);
		wake_up_interruptible(&r->writeq);
		break;
	default:
		ret = -ENOTTY;
	}
	return ret;
}

static const struct file_operations chardev_fops = {
	.owner		= THIS_MODULE,
	.open		= chardev_open,
	.release	= chardev_release,
	.read		= chardev_read,
	.write		= chardev_write,
	.poll		= chardev_poll,
	.unlocked_ioctl	= chardev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

static int chardev_stats_show(struct seq_file *m, void *v)
{
	mutex_lock(&ring.lock);
	seq_printf(m, "size:        %d\n", ring.size);
	seq_printf(m, "buffered:    %d\n", ring.fill);
	seq_printf(m, "bytes in:    %lu\n", ring.bytes_in);
	seq_printf(m, "bytes out:   %lu\n", ring.bytes_out);
	seq_printf(m, "writes:      %lu\n", ring.writes);
	seq_printf(m, "reads:       %lu\n", ring.reads);
	seq_printf(m, "read waits:  %lu\n", ring.read_waits);
	seq_printf(m, "write waits: %lu\n", ring.write_waits);
	seq_printf(m, "opens:       %lu (%d open now)\n", ring.opens,
		   ring.open_now);
	mutex_unlock(&ring.lock);
	return 0;
}

static int chardev_stats_open(struct inode *inode, struct file *file)
{
	return single_open(file, chardev_stats_show, NULL);
}

static const struct proc_ops chardev_stats_ops = {
	.proc_open	= chardev_stats_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= single_release,
};

static int __init chardev_init(void)
{
	struct device *dev;
	int err;

	if (ring_size < 16 || ring_size > 65536) {
		pr_err("chardev: ring_size %d out of range (16 to 65536)\n",
		       ring_size);
		return -EINVAL;
	}
	ring.buf = kmalloc(ring_size, GFP_KERNEL);
	if (!ring.buf)
		return -ENOMEM;
	ring.size = ring_size;
	mutex_init(&ring.lock);
	init_waitqueue_head(&ring.readq);
	init_waitqueue_head(&ring.writeq);

	err = alloc_chrdev_region(&chardev_devt, 0, 1, DEVICE_NAME);
	if (err)
		goto fail_region;
	cdev_init(&chardev_cdev, &chardev_fops);
	chardev_cdev.owner = THIS_MODULE;
	err = cdev_add(&chardev_cdev, chardev_devt, 1);
	if (err)
		goto fail_cdev;
	chardev_class = class_create(THIS_MODULE, DEVICE_NAME);
	if (IS_ERR(chardev_class)) {
		err = PTR_ERR(chardev_class);
		goto fail_class;
	}
	dev = device_create(chardev_class, NULL, chardev_devt, NULL, DEVICE_NAME);
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		goto fail_device;
	}
	chardev_proc = proc_create(DEVICE_NAME, 0444, NULL, &chardev_stats_ops);
	if (!chardev_proc) {
		err = -ENOMEM;
		goto fail_proc;
	}
	pr_info("chardev: /dev/%s (%d:%d), a ring of %d bytes\n", DEVICE_NAME,
		MAJOR(chardev_devt), MINOR(chardev_devt), ring.size);
	return 0;

fail_proc:
	device_destroy(chardev_class, chardev_devt);
fail_device:
	class_destroy(chardev_class);
fail_class:
	cdev_del(&chardev_cdev);
fail_cdev:
	unregister_chrdev_region(chardev_devt, 1);
fail_region:
	kfree(ring.buf);
	return err;
}

static void __exit chardev_exit(void)
{
	proc_remove(chardev_proc);
	device_destroy(chardev_class, chardev_devt);
	class_destroy(chardev_class);
	cdev_del(&chardev_cdev);
	unregister_chrdev_region(chardev_devt, 1);
	kfree(ring.buf);
	pr_info("chardev: %lu bytes in, %lu bytes out\n", ring.bytes_in,
		ring.bytes_out);
}

module_init(chardev_init);
module_exit(chardev_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A ring buffer behind a character device, with /proc statistics");
