// SPDX-License-Identifier: GPL-2.0
/*
 * seqlist: a seq_file over a linked list longer than a page, in the style
 * of LDD3's scull "seq" interface: start/next/stop/show, proc_create with
 * seq_open in its own proc_ops.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/mutex.h>

MODULE_LICENSE("GPL");
MODULE_AUTHOR("dusk tests");
MODULE_DESCRIPTION("a seq_file over a list");

static int nitems = 300;
module_param(nitems, int, 0444);

struct item {
	struct list_head list;
	int id;
	unsigned long square;
	char name[16];
};

static LIST_HEAD(items);
static DEFINE_MUTEX(items_lock);

static void *seqlist_start(struct seq_file *s, loff_t *pos)
{
	mutex_lock(&items_lock);
	if (*pos == 0)
		seq_puts(s, "id   square    name\n");
	return seq_list_start(&items, *pos);
}

static void *seqlist_next(struct seq_file *s, void *v, loff_t *pos)
{
	return seq_list_next(v, &items, pos);
}

static void seqlist_stop(struct seq_file *s, void *v)
{
	mutex_unlock(&items_lock);
}

static int seqlist_show(struct seq_file *s, void *v)
{
	struct item *it = list_entry(v, struct item, list);

	seq_printf(s, "%-4d %-9lu %s\n", it->id, it->square, it->name);
	return 0;
}

static const struct seq_operations seqlist_seq_ops = {
	.start = seqlist_start,
	.next = seqlist_next,
	.stop = seqlist_stop,
	.show = seqlist_show,
};

static int seqlist_open(struct inode *inode, struct file *file)
{
	return seq_open(file, &seqlist_seq_ops);
}

static const struct proc_ops seqlist_proc_ops = {
	.proc_open = seqlist_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = seq_release,
};

static struct proc_dir_entry *entry, *entry2;

static void seqlist_free(void)
{
	struct item *it, *tmp;

	list_for_each_entry_safe(it, tmp, &items, list) {
		list_del(&it->list);
		kfree(it);
	}
}

static int __init seqlist_init(void)
{
	struct item *it;
	int i;

	for (i = 0; i < nitems; i++) {
		it = kzalloc(sizeof(*it), GFP_KERNEL);
		if (!it) {
			seqlist_free();
			return -ENOMEM;
		}
		it->id = i;
		it->square = (unsigned long)i * i;
		snprintf(it->name, sizeof(it->name), "item-%03d", i);
		list_add_tail(&it->list, &items);
	}
	entry = proc_create("seqlist", 0444, NULL, &seqlist_proc_ops);
	if (!entry) {
		seqlist_free();
		return -ENOMEM;
	}
	/* the same iterator, the short way */
	entry2 = proc_create_seq("seqlist2", 0444, NULL, &seqlist_seq_ops);
	if (!entry2) {
		proc_remove(entry);
		seqlist_free();
		return -ENOMEM;
	}
	pr_info("seqlist: %d items\n", nitems);
	return 0;
}

static void __exit seqlist_exit(void)
{
	proc_remove(entry2);
	proc_remove(entry);
	seqlist_free();
	pr_info("seqlist: unloaded\n");
}

module_init(seqlist_init);
module_exit(seqlist_exit);
