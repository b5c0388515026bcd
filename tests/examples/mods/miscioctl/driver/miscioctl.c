// SPDX-License-Identifier: GPL-2.0
/*
 * miscioctl - a misc character device with a counter.
 *
 *   cat /dev/miscioctl          counter=0 step=1 opens=1 name=miscioctl
 *   echo 42 > /dev/miscioctl    sets the counter
 *   ioctl()                     see include/miscioctl.h
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/uaccess.h>
#include <linux/string.h>

#include <miscioctl.h>

#define DRIVER_NAME "miscioctl"

static int counter;
static unsigned int opens;
static u64 bytes_written;
static u16 step = 1;
static u8 last;
static char name[MISCIOCTL_NAME_LEN] = DRIVER_NAME;

static char msg[128];

static int miscioctl_open(struct inode *inode, struct file *file)
{
	opens++;
	pr_info(DRIVER_NAME ": open #%u (%s)\n", opens,
		(file->f_mode & FMODE_WRITE) ? "rw" : "ro");
	return 0;
}

static int miscioctl_release(struct inode *inode, struct file *file)
{
	pr_info(DRIVER_NAME ": release\n");
	return 0;
}

static ssize_t miscioctl_read(struct file *file, char __user *buf,
			      size_t count, loff_t *ppos)
{
	int len;

	len = sprintf(msg, "counter=%d step=%u opens=%u name=%s\n",
		      counter, step, opens, name);
	return simple_read_from_buffer(buf, count, ppos, msg, len);
}

static ssize_t miscioctl_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	long val;
	int ret;

	ret = kstrtol_from_user(buf, count, 10, &val);
	if (ret) {
		pr_err(DRIVER_NAME ": bad number (%d)\n", ret);
		return ret;
	}
	counter = val;
	bytes_written += count;
	if (get_user(last, buf + count - 1))
		return -EFAULT;
	return count;
}

static long miscioctl_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct miscioctl_info info;
	s64 add;
	int val;

	switch (cmd) {
	case MISCIOCTL_GET_COUNT:
		return put_user(counter, (int __user *)argp);
	case MISCIOCTL_SET_COUNT:
		if (get_user(val, (int __user *)argp))
			return -EFAULT;
		counter = val;
		break;
	case MISCIOCTL_INC:
		counter += step;
		return counter;
	case MISCIOCTL_GET_INFO:
		info.counter = counter;
		info.opens = opens;
		info.bytes_written = bytes_written;
		info.step = step;
		info.last = last;
		info.pad = 0;
		strscpy(info.name, name, sizeof(info.name));
		if (copy_to_user(argp, &info, sizeof(info)))
			return -EFAULT;
		break;
	case MISCIOCTL_SET_INFO:
		if (copy_from_user(&info, argp, sizeof(info)))
			return -EFAULT;
		counter = info.counter;
		step = info.step;
		memcpy(name, info.name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		break;
	case MISCIOCTL_SET_NAME:
		if (strncpy_from_user(name, (const char __user *)argp,
				      sizeof(name) - 1) < 0)
			return -EFAULT;
		pr_info(DRIVER_NAME ": name is now %s\n", name);
		break;
	case MISCIOCTL_ADD:
		if (get_user(add, (s64 __user *)argp))
			return -EFAULT;
		add += counter;
		counter = add;
		if (put_user(add, (s64 __user *)argp))
			return -EFAULT;
		break;
	case MISCIOCTL_SET_STEP:
		if (get_user(step, (u16 __user *)argp))
			return -EFAULT;
		break;
	case MISCIOCTL_GET_LAST:
		return put_user(last, (u8 __user *)argp);
	default:
		return -EINVAL;
	}
	return 0;
}

static const struct file_operations miscioctl_fops = {
	.owner		= THIS_MODULE,
	.open		= miscioctl_open,
	.release	= miscioctl_release,
	.read		= miscioctl_read,
	.write		= miscioctl_write,
	.unlocked_ioctl	= miscioctl_ioctl,
	.llseek		= default_llseek,
};

static struct miscdevice miscioctl_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= DRIVER_NAME,
	.fops	= &miscioctl_fops,
	.mode	= 0666,
};

static int __init miscioctl_init(void)
{
	int ret;

	ret = misc_register(&miscioctl_dev);
	if (ret) {
		pr_err(DRIVER_NAME ": misc_register failed: %d\n", ret);
		return ret;
	}
	pr_info(DRIVER_NAME ": registered, minor %d\n", miscioctl_dev.minor);
	return 0;
}

static void __exit miscioctl_exit(void)
{
	misc_deregister(&miscioctl_dev);
	pr_info(DRIVER_NAME ": unregistered after %u opens\n", opens);
}

module_init(miscioctl_init);
module_exit(miscioctl_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A misc device with a counter and ioctls");
