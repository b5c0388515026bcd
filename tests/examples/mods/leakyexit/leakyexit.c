// SPDX-License-Identifier: GPL-2.0
/*
 * leakyexit - a char driver skeleton whose exit forgets half of what its
 * init registered: the region and the /proc directory stay behind (a
 * classic mistake: the next insmod gets -EBUSY or a duplicate /proc entry).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>

static dev_t leaky_devt;
static char *leaky_buf;

static int __init leaky_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&leaky_devt, 0, 1, "leakyexit");
	if (ret)
		return ret;
	leaky_buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!leaky_buf) {
		unregister_chrdev_region(leaky_devt, 1);
		return -ENOMEM;
	}
	proc_mkdir("leakyexit", NULL);
	pr_info("major %d\n", MAJOR(leaky_devt));
	return 0;
}

static void __exit leaky_exit(void)
{
	kfree(leaky_buf);
	pr_info("unloaded\n");
}

module_init(leaky_init);
module_exit(leaky_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("an exit that forgets to unregister");
