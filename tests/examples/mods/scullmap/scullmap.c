// SPDX-License-Identifier: GPL-2.0
/*
 * scullmap - the start of a scull-style char driver (LDD3, chapters 3
 * and 15): device numbers from a fixed major given as a parameter (or a
 * dynamic one with major=0), then a cdev per device added with its file
 * operations, which map a page of each device into the caller. A failing
 * cdev_add unwinds: the region is given back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

#define SCULLMAP_NR_DEVS	2
#define SCULLMAP_SIZE		PAGE_SIZE

static int scullmap_major = 240;
module_param_named(major, scullmap_major, int, 0444);
MODULE_PARM_DESC(major, "Major number (0: dynamic)");

struct scullmap_dev {
	char data[SCULLMAP_SIZE] __aligned(PAGE_SIZE);
	size_t size;
	struct cdev cdev;
};

static struct scullmap_dev *scullmap_devices;

static int scullmap_open(struct inode *inode, struct file *filp)
{
	filp->private_data = container_of(inode->i_cdev, struct scullmap_dev,
					  cdev);
	return 0;
}

static ssize_t scullmap_read(struct file *filp, char __user *buf,
			     size_t count, loff_t *f_pos)
{
	struct scullmap_dev *dev = filp->private_data;

	return simple_read_from_buffer(buf, count, f_pos, dev->data,
				       dev->size);
}

static int scullmap_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct scullmap_dev *dev = filp->private_data;

	if (vma->vm_end - vma->vm_start > PAGE_SIZE)
		return -EINVAL;
	return remap_pfn_range(vma, vma->vm_start,
			       page_to_pfn(virt_to_page(dev->data)),
			       PAGE_SIZE, vma->vm_page_prot);
}

static const struct file_operations scullmap_fops = {
	.owner = THIS_MODULE,
	.open = scullmap_open,
	.read = scullmap_read,
	.mmap = scullmap_mmap,
};

static void scullmap_cleanup(int added)
{
	dev_t devno = MKDEV(scullmap_major, 0);
	int i;

	for (i = 0; i < added; i++)
		cdev_del(&scullmap_devices[i].cdev);
	kfree(scullmap_devices);
	unregister_chrdev_region(devno, SCULLMAP_NR_DEVS);
}

static int __init scullmap_init(void)
{
	dev_t dev = 0;
	int ret, i;

	if (scullmap_major) {
		dev = MKDEV(scullmap_major, 0);
		ret = register_chrdev_region(dev, SCULLMAP_NR_DEVS, "scullmap");
	} else {
		ret = alloc_chrdev_region(&dev, 0, SCULLMAP_NR_DEVS, "scullmap");
		scullmap_major = MAJOR(dev);
	}
	if (ret < 0) {
		pr_warn("can't get major %d\n", scullmap_major);
		return ret;
	}

	scullmap_devices = kcalloc(SCULLMAP_NR_DEVS, sizeof(*scullmap_devices),
				   GFP_KERNEL);
	if (!scullmap_devices) {
		ret = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < SCULLMAP_NR_DEVS; i++) {
		struct scullmap_dev *d = &scullmap_devices[i];

		d->size = scnprintf(d->data, SCULLMAP_SIZE, "scullmap%d\n", i);
		cdev_init(&d->cdev, &scullmap_fops);
		d->cdev.owner = THIS_MODULE;
		ret = cdev_add(&d->cdev, MKDEV(scullmap_major, i), 1);
		if (ret) {
			pr_notice("error %d adding scullmap%d\n", ret, i);
			scullmap_cleanup(i);
			return ret;
		}
	}
	pr_info("major %d, %d devices\n", scullmap_major, SCULLMAP_NR_DEVS);
	return 0;

fail:
	unregister_chrdev_region(dev, SCULLMAP_NR_DEVS);
	return ret;
}

static void __exit scullmap_exit(void)
{
	scullmap_cleanup(SCULLMAP_NR_DEVS);
	pr_info("unloaded\n");
}

module_init(scullmap_init);
module_exit(scullmap_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("scull-style char device registration");
