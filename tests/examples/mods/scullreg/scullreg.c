// SPDX-License-Identifier: GPL-2.0
/*
 * scullreg - the start of a scull-style char driver (LDD3, chapter 3):
 * device numbers from a fixed major given as a parameter (or a dynamic one
 * with major=0), then a cdev per device added with its file operations.
 * A failing cdev_add unwinds: the region is given back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>

#define SCULLREG_NR_DEVS	2
#define SCULLREG_SIZE		64

static int scullreg_major = 240;
module_param_named(major, scullreg_major, int, 0444);
MODULE_PARM_DESC(major, "Major number (0: dynamic)");

struct scullreg_dev {
	char data[SCULLREG_SIZE];
	size_t size;
	struct cdev cdev;
};

static struct scullreg_dev *scullreg_devices;

static int scullreg_open(struct inode *inode, struct file *filp)
{
	filp->private_data = container_of(inode->i_cdev, struct scullreg_dev,
					  cdev);
	return 0;
}

static ssize_t scullreg_read(struct file *filp, char __user *buf,
			     size_t count, loff_t *f_pos)
{
	struct scullreg_dev *dev = filp->private_data;

	return simple_read_from_buffer(buf, count, f_pos, dev->data,
				       dev->size);
}

static const struct file_operations scullreg_fops = {
	.owner = THIS_MODULE,
	.open = scullreg_open,
	.read = scullreg_read,
};

static void scullreg_cleanup(int added)
{
	dev_t devno = MKDEV(scullreg_major, 0);
	int i;

	for (i = 0; i < added; i++)
		cdev_del(&scullreg_devices[i].cdev);
	kfree(scullreg_devices);
	unregister_chrdev_region(devno, SCULLREG_NR_DEVS);
}

static int __init scullreg_init(void)
{
	dev_t dev = 0;
	int ret, i;

	if (scullreg_major) {
		dev = MKDEV(scullreg_major, 0);
		ret = register_chrdev_region(dev, SCULLREG_NR_DEVS, "scullreg");
	} else {
		ret = alloc_chrdev_region(&dev, 0, SCULLREG_NR_DEVS, "scullreg");
		scullreg_major = MAJOR(dev);
	}
	if (ret < 0) {
		pr_warn("can't get major %d\n", scullreg_major);
		return ret;
	}

	scullreg_devices = kcalloc(SCULLREG_NR_DEVS, sizeof(*scullreg_devices),
				   GFP_KERNEL);
	if (!scullreg_devices) {
		ret = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < SCULLREG_NR_DEVS; i++) {
		struct scullreg_dev *d = &scullreg_devices[i];

		d->size = scnprintf(d->data, SCULLREG_SIZE, "scullreg%d\n", i);
		cdev_init(&d->cdev, &scullreg_fops);
		d->cdev.owner = THIS_MODULE;
		ret = cdev_add(&d->cdev, MKDEV(scullreg_major, i), 1);
		if (ret) {
			pr_notice("error %d adding scullreg%d\n", ret, i);
			scullreg_cleanup(i);
			return ret;
		}
	}
	pr_info("major %d, %d devices\n", scullreg_major, SCULLREG_NR_DEVS);
	return 0;

fail:
	unregister_chrdev_region(dev, SCULLREG_NR_DEVS);
	return ret;
}

static void __exit scullreg_exit(void)
{
	scullreg_cleanup(SCULLREG_NR_DEVS);
	pr_info("unloaded\n");
}

module_init(scullreg_init);
module_exit(scullreg_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("scull-style char device registration");
