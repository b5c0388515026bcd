// SPDX-License-Identifier: GPL-2.0
/*
 * procstat: a kernel course's procfs exercise. A directory
 * /proc/procstat with "stats" (proc_create + single_open: counters), a
 * writable "message" (proc_write with copy_from_user, proc_read with
 * simple_read_from_buffer) and "version" (proc_create_single).
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/string.h>

MODULE_LICENSE("GPL");

#define MSG_MAX 64

static struct proc_dir_entry *dir;
static char message[MSG_MAX] = "nothing yet\n";
static size_t message_len = 12;
static unsigned long reads, writes, stat_opens;

static int stats_show(struct seq_file *m, void *v)
{
	seq_printf(m, "opens:  %lu\n", stat_opens);
	seq_printf(m, "reads:  %lu\n", reads);
	seq_printf(m, "writes: %lu\n", writes);
	seq_printf(m, "length: %zu\n", message_len);
	seq_putc(m, '\n');
	return 0;
}

static int stats_open(struct inode *inode, struct file *file)
{
	stat_opens++;
	return single_open(file, stats_show, NULL);
}

static const struct proc_ops stats_fops = {
	.proc_open = stats_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static ssize_t message_read(struct file *file, char __user *buf,
			    size_t count, loff_t *ppos)
{
	reads++;
	return simple_read_from_buffer(buf, count, ppos, message, message_len);
}

static ssize_t message_write(struct file *file, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	if (count >= MSG_MAX)
		return -EINVAL;
	if (copy_from_user(message, buf, count))
		return -EFAULT;
	message[count] = '\0';
	message_len = count;
	writes++;
	pr_info("procstat: message is now %zu bytes\n", count);
	return count;
}

static const struct proc_ops message_fops = {
	.proc_read = message_read,
	.proc_write = message_write,
};

static int version_show(struct seq_file *m, void *v)
{
	seq_puts(m, "procstat 1.0\n");
	return 0;
}

static int __init procstat_init(void)
{
	dir = proc_mkdir("procstat", NULL);
	if (!dir)
		return -ENOMEM;
	if (!proc_create("stats", 0444, dir, &stats_fops) ||
	    !proc_create("message", 0666, dir, &message_fops) ||
	    !proc_create_single("version", 0444, dir, version_show)) {
		proc_remove(dir);
		return -ENOMEM;
	}
	pr_info("procstat: loaded\n");
	return 0;
}

static void __exit procstat_exit(void)
{
	remove_proc_entry("stats", dir);
	remove_proc_entry("message", dir);
	remove_proc_entry("version", dir);
	remove_proc_entry("procstat", NULL);
	pr_info("procstat: unloaded (%lu reads, %lu writes)\n", reads, writes);
}

module_init(procstat_init);
module_exit(procstat_exit);
