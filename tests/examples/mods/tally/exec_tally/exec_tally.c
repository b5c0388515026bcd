// SPDX-License-Identifier: GPL-2.0
/*
 * exec_tally - count how many times each tag was executed.
 *
 * Other modules call exec_tally(tag) once per thing they do; the counts
 * are in /proc/exec_tally, "tag count" a line, in tag order. Whoever
 * drives a module through an unreliable channel reads there whether each
 * thing was done exactly once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/xarray.h>

#include "exec_tally.h"

static DEFINE_XARRAY(exec_tally_counts);
static DEFINE_MUTEX(exec_tally_lock);	/* the load and the store together */

unsigned long exec_tally(unsigned long tag)
{
	unsigned long n;
	void *old, *err;

	mutex_lock(&exec_tally_lock);
	old = xa_load(&exec_tally_counts, tag);
	n = old ? xa_to_value(old) + 1 : 1;
	err = xa_store(&exec_tally_counts, tag, xa_mk_value(n), GFP_KERNEL);
	mutex_unlock(&exec_tally_lock);
	if (xa_is_err(err)) {
		pr_err("tag %lu not counted: %d\n", tag, xa_err(err));
		return 0;
	}
	return n;
}
EXPORT_SYMBOL_GPL(exec_tally);

static int exec_tally_show(struct seq_file *m, void *v)
{
	unsigned long tag;
	void *entry;

	mutex_lock(&exec_tally_lock);
	xa_for_each(&exec_tally_counts, tag, entry)
		seq_printf(m, "%lu %lu\n", tag, xa_to_value(entry));
	mutex_unlock(&exec_tally_lock);
	return 0;
}

static int __init exec_tally_init(void)
{
	if (!proc_create_single("exec_tally", 0444, NULL, exec_tally_show))
		return -ENOMEM;
	pr_info("loaded\n");
	return 0;
}

static void __exit exec_tally_exit(void)
{
	remove_proc_entry("exec_tally", NULL);
	xa_destroy(&exec_tally_counts);
}

module_init(exec_tally_init);
module_exit(exec_tally_exit);
MODULE_DESCRIPTION("Count executions per tag");
MODULE_LICENSE("GPL");
