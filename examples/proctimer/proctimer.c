// SPDX-License-Identifier: GPL-2.0
/*
 * proctimer: a periodic sampler built from the kernel's deferred-work
 * tools.
 *
 * A timer fires every period_ms. In softirq context it only notes the
 * tick and its time and queues a work item on the module's own workqueue;
 * the work item, in process context where it may allocate and sleep on a
 * mutex, moves the notes into a history of samples, and every "batch"
 * samples it completes a completion. A kernel thread waits on that completion and sums each
 * batch up. The history and the summaries are in /proc/proctimer
 * (seq_file); the controls in /sys/kernel/proctimer:
 *
 *   period_ms   (rw) the timer's period, 10 to 10000 ms
 *   remaining   (rw) ticks left in the run: N starts a run of N ticks,
 *               0 stops the run
 *   ticks       (ro) ticks since the module was loaded
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/timer.h>
#include <linux/jiffies.h>
#include <linux/workqueue.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("a timer, a work item and a kernel thread feeding procfs and sysfs");

static unsigned int period_ms = 100;
module_param(period_ms, uint, 0444);
MODULE_PARM_DESC(period_ms, "initial timer period in ms (default 100)");

static unsigned int batch = 5;
module_param(batch, uint, 0444);
MODULE_PARM_DESC(batch, "samples per summary (default 5)");

static unsigned int ticks;
module_param(ticks, uint, 0444);
MODULE_PARM_DESC(ticks, "ticks of a run started at load (default 0: none)");

#define MAX_NOTES	16	/* ticks the work has not taken yet */
#define MAX_SAMPLES	64	/* history kept */
#define MAX_BATCHES	8	/* summaries kept */

struct tick_note {
	unsigned int tick;
	unsigned long interval;		/* jiffies since the tick before */
};

struct sample {
	struct list_head list;
	unsigned int tick;
	unsigned int interval_ms;
};

struct summary {
	unsigned int first, last;
	unsigned int mean_ms;
};

struct proctimer {
	struct timer_list timer;
	struct workqueue_struct *wq;
	struct work_struct work;
	struct task_struct *thread;
	struct completion started;
	struct completion batch_done;

	spinlock_t lock;		/* the timer's side */
	unsigned int period_ms;
	unsigned int remaining;
	unsigned int ticks;
	unsigned long last;		/* jiffies of the last tick */
	struct tick_note notes[MAX_NOTES];
	unsigned int nnotes;
	unsigned int lost;

	struct mutex hist_lock;		/* the process-context side */
	struct list_head samples;
	unsigned int nsamples;
	unsigned int in_batch;
	unsigned int next_first;	/* first tick of the next summary */
	struct summary batches[MAX_BATCHES];
	unsigned int nbatches;
};

static struct proctimer *pt;
static struct kobject *pt_kobj;

/* ---- the timer, in softirq context ---- */

static void pt_tick(struct timer_list *t)
{
	struct proctimer *p = from_timer(p, t, timer);
	unsigned long now = jiffies;

	spin_lock(&p->lock);
	p->ticks++;
	if (p->nnotes < MAX_NOTES) {
		p->notes[p->nnotes].tick = p->ticks;
		p->notes[p->nnotes].interval = now - p->last;
		p->nnotes++;
	} else {
		p->lost++;
	}
	p->last = now;
	if (p->remaining && --p->remaining)
		mod_timer(&p->timer, now + msecs_to_jiffies(p->period_ms));
	else
		pr_info("run over at tick %u\n", p->ticks);
	spin_unlock(&p->lock);

	queue_work(p->wq, &p->work);
}

/* ---- the work item, in process context ---- */

static void pt_work(struct work_struct *work)
{
	struct proctimer *p = container_of(work, struct proctimer, work);
	struct tick_note notes[MAX_NOTES];
	unsigned int i, n;

	spin_lock_bh(&p->lock);
	n = p->nnotes;
	memcpy(notes, p->notes, n * sizeof(notes[0]));
	p->nnotes = 0;
	spin_unlock_bh(&p->lock);

	mutex_lock(&p->hist_lock);
	for (i = 0; i < n; i++) {
		struct sample *s = kmalloc(sizeof(*s), GFP_KERNEL);

		if (!s)
			break;
		s->tick = notes[i].tick;
		s->interval_ms = jiffies_to_msecs(notes[i].interval);
		list_add_tail(&s->list, &p->samples);
		if (++p->nsamples > MAX_SAMPLES) {
			struct sample *old = list_first_entry(&p->samples,
							      struct sample,
							      list);
			list_del(&old->list);
			kfree(old);
			p->nsamples--;
		}
		if (++p->in_batch == batch) {
			p->in_batch = 0;
			complete(&p->batch_done);
		}
	}
	mutex_unlock(&p->hist_lock);
}

/* ---- the kernel thread ---- */

static void pt_summarize(struct proctimer *p)
{
	struct summary *b;
	struct sample *s;
	unsigned int sum = 0, n = 0, first, last;

	mutex_lock(&p->hist_lock);
	first = p->next_first;
	last = first + batch - 1;
	list_for_each_entry(s, &p->samples, list) {
		if (s->tick >= first && s->tick <= last) {
			sum += s->interval_ms;
			n++;
		}
	}
	b = &p->batches[p->nbatches % MAX_BATCHES];
	b->first = first;
	b->last = last;
	b->mean_ms = n ? sum / n : 0;
	p->nbatches++;
	p->next_first = last + 1;
	pr_info("batch %u: ticks %u-%u\n", p->nbatches, first, last);
	mutex_unlock(&p->hist_lock);
}

static int pt_thread(void *data)
{
	struct proctimer *p = data;

	complete(&p->started);
	while (!kthread_should_stop()) {
		if (wait_for_completion_interruptible_timeout(&p->batch_done,
							      HZ / 2) > 0)
			pt_summarize(p);
	}
	pr_info("summarizer stops after %u batches\n", p->nbatches);
	return 0;
}

/* ---- /proc/proctimer ---- */

static void *pt_seq_start(struct seq_file *m, loff_t *pos)
{
	mutex_lock(&pt->hist_lock);
	return seq_list_start_head(&pt->samples, *pos);
}

static void *pt_seq_next(struct seq_file *m, void *v, loff_t *pos)
{
	return seq_list_next(v, &pt->samples, pos);
}

static void pt_seq_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&pt->hist_lock);
}

static int pt_seq_show(struct seq_file *m, void *v)
{
	struct sample *s;
	unsigned int i, from;

	if (v == &pt->samples) {
		spin_lock_bh(&pt->lock);
		seq_printf(m, "period:    %u ms\n", pt->period_ms);
		seq_printf(m, "remaining: %u\n", pt->remaining);
		seq_printf(m, "ticks:     %u\n", pt->ticks);
		seq_printf(m, "lost:      %u\n", pt->lost);
		spin_unlock_bh(&pt->lock);
		seq_printf(m, "batches:   %u\n", pt->nbatches);
		from = pt->nbatches > MAX_BATCHES ?
			pt->nbatches - MAX_BATCHES : 0;
		for (i = from; i < pt->nbatches; i++) {
			struct summary *b = &pt->batches[i % MAX_BATCHES];

			seq_printf(m, "batch %u: ticks %u-%u, mean %u ms\n",
				   i + 1, b->first, b->last, b->mean_ms);
		}
		seq_puts(m, "tick  interval\n");
		return 0;
	}
	s = list_entry(v, struct sample, list);
	seq_printf(m, "%4u  %5u ms\n", s->tick, s->interval_ms);
	return 0;
}

static const struct seq_operations pt_seq_ops = {
	.start	= pt_seq_start,
	.next	= pt_seq_next,
	.stop	= pt_seq_stop,
	.show	= pt_seq_show,
};

/* ---- /sys/kernel/proctimer ---- */

static ssize_t period_ms_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(pt->period_ms));
}

static ssize_t period_ms_store(struct kobject *kobj,
			       struct kobj_attribute *attr,
			       const char *buf, size_t count)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(buf, 10, &v);
	if (ret)
		return ret;
	if (v < 10 || v > 10000)
		return -EINVAL;
	spin_lock_bh(&pt->lock);
	pt->period_ms = v;
	spin_unlock_bh(&pt->lock);
	pr_info("period is now %u ms\n", v);
	return count;
}

static ssize_t remaining_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(pt->remaining));
}

static int pt_start(unsigned int n)
{
	spin_lock_bh(&pt->lock);
	if (pt->remaining) {
		spin_unlock_bh(&pt->lock);
		return -EBUSY;
	}
	pt->remaining = n;
	pt->last = jiffies;
	pr_info("run of %u ticks every %u ms\n", n, pt->period_ms);
	mod_timer(&pt->timer, pt->last + msecs_to_jiffies(pt->period_ms));
	spin_unlock_bh(&pt->lock);
	return 0;
}

static ssize_t remaining_store(struct kobject *kobj,
			       struct kobj_attribute *attr,
			       const char *buf, size_t count)
{
	unsigned int n;
	int ret;

	ret = kstrtouint(buf, 10, &n);
	if (ret)
		return ret;
	if (n) {
		ret = pt_start(n);
		return ret ? ret : count;
	}
	spin_lock_bh(&pt->lock);
	pt->remaining = 0;
	spin_unlock_bh(&pt->lock);
	del_timer_sync(&pt->timer);
	pr_info("stopped at tick %u\n", READ_ONCE(pt->ticks));
	return count;
}

static ssize_t ticks_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(pt->ticks));
}

static struct kobj_attribute period_attr = __ATTR_RW(period_ms);
static struct kobj_attribute remaining_attr = __ATTR_RW(remaining);
static struct kobj_attribute ticks_attr = __ATTR_RO(ticks);

static struct attribute *pt_attrs[] = {
	&period_attr.attr,
	&remaining_attr.attr,
	&ticks_attr.attr,
	NULL,
};

static const struct attribute_group pt_group = {
	.attrs = pt_attrs,
};

/* ---- load and unload ---- */

static void pt_free_samples(void)
{
	struct sample *s, *tmp;

	list_for_each_entry_safe(s, tmp, &pt->samples, list) {
		list_del(&s->list);
		kfree(s);
	}
}

static int __init proctimer_init(void)
{
	int ret;

	if (period_ms < 10 || period_ms > 10000 || !batch)
		return -EINVAL;

	pt = kzalloc(sizeof(*pt), GFP_KERNEL);
	if (!pt)
		return -ENOMEM;
	spin_lock_init(&pt->lock);
	mutex_init(&pt->hist_lock);
	INIT_LIST_HEAD(&pt->samples);
	init_completion(&pt->started);
	init_completion(&pt->batch_done);
	INIT_WORK(&pt->work, pt_work);
	timer_setup(&pt->timer, pt_tick, 0);
	pt->period_ms = period_ms;
	pt->next_first = 1;

	pt->wq = alloc_workqueue("proctimer", WQ_UNBOUND, 1);
	if (!pt->wq) {
		ret = -ENOMEM;
		goto err_free;
	}

	pt->thread = kthread_run(pt_thread, pt, "proctimer");
	if (IS_ERR(pt->thread)) {
		ret = PTR_ERR(pt->thread);
		goto err_wq;
	}
	wait_for_completion(&pt->started);

	if (!proc_create_seq("proctimer", 0444, NULL, &pt_seq_ops)) {
		ret = -ENOMEM;
		goto err_thread;
	}

	pt_kobj = kobject_create_and_add("proctimer", kernel_kobj);
	if (!pt_kobj) {
		ret = -ENOMEM;
		goto err_proc;
	}
	ret = sysfs_create_group(pt_kobj, &pt_group);
	if (ret)
		goto err_kobj;

	pr_info("loaded: period %u ms, batches of %u\n", period_ms, batch);
	if (ticks)
		pt_start(ticks);
	return 0;

err_kobj:
	kobject_put(pt_kobj);
err_proc:
	remove_proc_entry("proctimer", NULL);
err_thread:
	kthread_stop(pt->thread);
err_wq:
	destroy_workqueue(pt->wq);
err_free:
	kfree(pt);
	return ret;
}

static void __exit proctimer_exit(void)
{
	kobject_put(pt_kobj);
	remove_proc_entry("proctimer", NULL);

	spin_lock_bh(&pt->lock);
	pt->remaining = 0;
	spin_unlock_bh(&pt->lock);
	del_timer_sync(&pt->timer);
	cancel_work_sync(&pt->work);
	destroy_workqueue(pt->wq);
	kthread_stop(pt->thread);

	pr_info("unloaded after %u ticks\n", pt->ticks);
	pt_free_samples();
	kfree(pt);
}

module_init(proctimer_init);
module_exit(proctimer_exit);
