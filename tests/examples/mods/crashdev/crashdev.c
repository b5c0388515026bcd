// SPDX-License-Identifier: GPL-2.0
/*
 * crashdev - a misc device whose ioctl looks its command up in a table
 * and forgets that the lookup fails for a command it does not know: the
 * NULL it gets is dereferenced (an oops of the .ko; at user level a crash
 * of the program, the caller's ioctl failing with EIO).
 */
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

struct crashdev_cmd {
	unsigned int cmd;
	long (*handler)(unsigned long arg);
};

static long crashdev_double(unsigned long arg)
{
	return arg * 2;
}

static const struct crashdev_cmd crashdev_cmds[] = {
	{ 1, crashdev_double },
};

static const struct crashdev_cmd *crashdev_find(unsigned int cmd)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(crashdev_cmds); i++)
		if (crashdev_cmds[i].cmd == cmd)
			return &crashdev_cmds[i];
	return NULL;
}

static long crashdev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	const struct crashdev_cmd *c = crashdev_find(cmd);

	pr_info("crashdev: ioctl %u from pid %d\n", cmd, current->pid);
	return c->handler(arg);
}

static const struct file_operations crashdev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = crashdev_ioctl,
};

static struct miscdevice crashdev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "crashdev",
	.fops = &crashdev_fops,
};

module_misc_device(crashdev_misc);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A misc device whose ioctl dereferences a failed lookup");
