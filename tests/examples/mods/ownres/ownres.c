// SPDX-License-Identifier: GPL-2.0
/*
 * ownres - the registrations a driver makes before it has anything to
 * serve, the way kernel-course modules make them: a char device region
 * (fixed or dynamic major), a device class, a /proc directory, a kobject
 * under /sys/kernel and a kmalloc'ed state block, each undone in reverse
 * order on a failure and at unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>

static int major;
module_param(major, int, 0444);
MODULE_PARM_DESC(major, "Major number (0: dynamic)");

struct ownres_state {
	dev_t devt;
	unsigned long opened;
};

static struct ownres_state *state;
static struct class *ownres_class;
static struct proc_dir_entry *ownres_proc;
static struct kobject *ownres_kobj;

static int __init ownres_init(void)
{
	int err;

	state = kzalloc(sizeof(*state), GFP_KERNEL);
	if (!state)
		return -ENOMEM;

	if (major) {
		state->devt = MKDEV(major, 0);
		err = register_chrdev_region(state->devt, 4, "ownres");
	} else {
		err = alloc_chrdev_region(&state->devt, 0, 4, "ownres");
	}
	if (err) {
		pr_err("cannot register device numbers: %d\n", err);
		goto err_state;
	}

	ownres_class = class_create(THIS_MODULE, "ownres");
	if (IS_ERR(ownres_class)) {
		err = PTR_ERR(ownres_class);
		pr_err("cannot create class: %d\n", err);
		goto err_region;
	}

	ownres_proc = proc_mkdir("ownres", NULL);
	if (!ownres_proc) {
		err = -ENOMEM;
		goto err_class;
	}

	ownres_kobj = kobject_create_and_add("ownres", kernel_kobj);
	if (!ownres_kobj) {
		err = -ENOMEM;
		goto err_proc;
	}

	pr_info("ready, major %d\n", MAJOR(state->devt));
	return 0;

err_proc:
	proc_remove(ownres_proc);
err_class:
	class_destroy(ownres_class);
err_region:
	unregister_chrdev_region(state->devt, 4);
err_state:
	kfree(state);
	return err;
}

static void __exit ownres_exit(void)
{
	kobject_put(ownres_kobj);
	proc_remove(ownres_proc);
	class_destroy(ownres_class);
	unregister_chrdev_region(state->devt, 4);
	kfree(state);
	pr_info("unloaded\n");
}

module_init(ownres_init);
module_exit(ownres_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("char region, class, proc and sysfs entries");
