// SPDX-License-Identifier: GPL-2.0
/*
 * kobjattr: samples/kobject/kobject-example.c's way: a kobject under
 * kernel_kobj with kobj_attribute show/store in an attribute group
 * (/sys/kernel/kobjattr/{foo,baz,bar}), and a class with one device whose
 * DEVICE_ATTR_RW attribute is created with device_create_file.
 */
#include <linux/kobject.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/module.h>
#include <linux/init.h>
#include <linux/device.h>
#include <linux/slab.h>

static int foo;
static int baz;
static int bar;

static ssize_t foo_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%d\n", foo);
}

static ssize_t foo_store(struct kobject *kobj, struct kobj_attribute *attr,
			 const char *buf, size_t count)
{
	int ret;

	ret = kstrtoint(buf, 10, &foo);
	if (ret < 0)
		return ret;
	return count;
}

static struct kobj_attribute foo_attribute =
	__ATTR(foo, 0664, foo_show, foo_store);

/* one show and one store for two attributes: the name tells them apart */
static ssize_t b_show(struct kobject *kobj, struct kobj_attribute *attr,
		      char *buf)
{
	int var;

	if (strcmp(attr->attr.name, "baz") == 0)
		var = baz;
	else
		var = bar;
	return sprintf(buf, "%d\n", var);
}

static ssize_t b_store(struct kobject *kobj, struct kobj_attribute *attr,
		       const char *buf, size_t count)
{
	int var, ret;

	ret = kstrtoint(buf, 10, &var);
	if (ret < 0)
		return ret;
	if (strcmp(attr->attr.name, "baz") == 0)
		baz = var;
	else
		bar = var;
	return count;
}

static struct kobj_attribute baz_attribute =
	__ATTR(baz, 0664, b_show, b_store);
static struct kobj_attribute bar_attribute =
	__ATTR(bar, 0664, b_show, b_store);

static struct attribute *attrs[] = {
	&foo_attribute.attr,
	&baz_attribute.attr,
	&bar_attribute.attr,
	NULL,
};

static struct attribute_group attr_group = {
	.attrs = attrs,
};

static struct kobject *example_kobj;

/* an attribute made at run time, in kmalloc'd memory */
static struct kobj_attribute *dyn_attr;

static ssize_t dyn_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "sum %d\n", foo + baz + bar);
}

/* the class and device part */
static struct class *kobjattr_class;
static struct device *kobjattr_dev;
static char level[32] = "low";

static ssize_t level_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sprintf(buf, "%s\n", level);
}

static ssize_t level_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	if (count >= sizeof(level))
		return -EINVAL;
	strscpy(level, buf, sizeof(level));
	strim(level);
	dev_info(dev, "level set to %s\n", level);
	return count;
}
static DEVICE_ATTR_RW(level);

static int __init kobjattr_init(void)
{
	int retval;

	example_kobj = kobject_create_and_add("kobjattr", kernel_kobj);
	if (!example_kobj)
		return -ENOMEM;
	retval = sysfs_create_group(example_kobj, &attr_group);
	if (retval)
		goto out_kobj;
	dyn_attr = kzalloc(sizeof(*dyn_attr), GFP_KERNEL);
	if (!dyn_attr) {
		retval = -ENOMEM;
		goto out_kobj;
	}
	sysfs_attr_init(&dyn_attr->attr);
	dyn_attr->attr.name = "sum";
	dyn_attr->attr.mode = 0444;
	dyn_attr->show = dyn_show;
	retval = sysfs_create_file(example_kobj, &dyn_attr->attr);
	if (retval)
		goto out_dyn;

	kobjattr_class = class_create(THIS_MODULE, "kobjattr");
	if (IS_ERR(kobjattr_class)) {
		retval = PTR_ERR(kobjattr_class);
		goto out_kobj;
	}
	kobjattr_dev = device_create(kobjattr_class, NULL, 0, NULL, "kobjattr0");
	if (IS_ERR(kobjattr_dev)) {
		retval = PTR_ERR(kobjattr_dev);
		goto out_class;
	}
	retval = device_create_file(kobjattr_dev, &dev_attr_level);
	if (retval)
		goto out_dev;
	pr_info("kobjattr: loaded\n");
	return 0;

out_dev:
	device_destroy(kobjattr_class, 0);
out_class:
	class_destroy(kobjattr_class);
out_dyn:
	kfree(dyn_attr);
out_kobj:
	kobject_put(example_kobj);
	return retval;
}

static void __exit kobjattr_exit(void)
{
	device_remove_file(kobjattr_dev, &dev_attr_level);
	device_destroy(kobjattr_class, 0);
	class_destroy(kobjattr_class);
	sysfs_remove_file(example_kobj, &dyn_attr->attr);
	kfree(dyn_attr);
	kobject_put(example_kobj);
	pr_info("kobjattr: unloaded foo=%d baz=%d bar=%d\n", foo, baz, bar);
}

module_init(kobjattr_init);
module_exit(kobjattr_exit);
MODULE_LICENSE("GPL v2");
