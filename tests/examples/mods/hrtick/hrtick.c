// SPDX-License-Identifier: GPL-2.0
/*
 * hrtick: the high-resolution timer example that goes round the kernel
 * tutorials. A static struct hrtimer (hrtimer_init, .function set by
 * hand, hrtimer_start, HRTIMER_MODE_REL on CLOCK_MONOTONIC) fires every
 * period_ms; its callback moves itself on with hrtimer_forward_now and
 * returns HRTIMER_RESTART until it has ticked "ticks" times, then
 * HRTIMER_NORESTART. /proc/hrtick (proc_create_single) shows the count,
 * hrtimer_active() and, once done, the time the ticks took (ktime_get).
 * soft=1 starts it in HRTIMER_MODE_REL_SOFT: the callback runs in softirq
 * context instead of hard interrupt context.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("a periodic hrtimer");

static unsigned int period_ms = 20;
module_param(period_ms, uint, 0444);
MODULE_PARM_DESC(period_ms, "period in ms (default 20)");

static unsigned int ticks = 25;
module_param(ticks, uint, 0444);
MODULE_PARM_DESC(ticks, "ticks before the timer stops (default 25)");

static bool soft;
module_param(soft, bool, 0444);
MODULE_PARM_DESC(soft, "run the callback in softirq context (default no)");

static struct hrtimer hr_timer;
static ktime_t kt_period;
static ktime_t started, finished;
static unsigned int count;
static bool done;

static enum hrtimer_restart hrtick_fn(struct hrtimer *timer)
{
	count++;
	if (count >= ticks) {
		finished = ktime_get();
		pr_info("done: %u ticks\n", count);
		done = true;
		return HRTIMER_NORESTART;
	}
	if (count == 1)
		pr_info("first tick (in_interrupt %d, in_hardirq %d, in_softirq %d)\n",
			in_interrupt() ? 1 : 0, in_hardirq() ? 1 : 0,
			in_softirq() ? 1 : 0);
	hrtimer_forward_now(timer, kt_period);
	return HRTIMER_RESTART;
}

static int hrtick_show(struct seq_file *m, void *v)
{
	seq_printf(m, "ticks:  %u/%u\n", READ_ONCE(count), ticks);
	seq_printf(m, "state:  %s\n", READ_ONCE(done) ? "done" : "running");
	seq_printf(m, "active: %d\n", hrtimer_active(&hr_timer));
	if (READ_ONCE(done))
		seq_printf(m, "elapsed: %lld ms\n",
			   ktime_ms_delta(finished, started));
	return 0;
}

static int __init hrtick_init(void)
{
	enum hrtimer_mode mode;

	if (!period_ms || !ticks)
		return -EINVAL;
	if (!proc_create_single("hrtick", 0444, NULL, hrtick_show))
		return -ENOMEM;

	mode = soft ? HRTIMER_MODE_REL_SOFT : HRTIMER_MODE_REL;
	kt_period = ms_to_ktime(period_ms);
	hrtimer_init(&hr_timer, CLOCK_MONOTONIC, mode);
	hr_timer.function = &hrtick_fn;
	pr_info("starting: %u ticks every %u ms%s\n", ticks, period_ms,
		soft ? " (soft)" : "");
	started = ktime_get();
	hrtimer_start(&hr_timer, kt_period, mode);
	return 0;
}

static void __exit hrtick_exit(void)
{
	int ret;

	remove_proc_entry("hrtick", NULL);
	ret = hrtimer_cancel(&hr_timer);
	pr_info("hrtimer_cancel %d, %s\n", ret, done ? "done" : "not done");
}

module_init(hrtick_init);
module_exit(hrtick_exit);
