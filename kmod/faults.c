// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: the "faults" parameter (proto/dusk_faults.h's syntax),
 * settable at load or at any time through
 * /sys/module/dusk/parameters/faults, and the decision for each datagram
 * the transport sends or receives (transport.c applies it). Off unless
 * set. A new setting restarts the generators from its seed.
 *
 * The parameter is written in process context by whoever writes the file;
 * the transport draws, under dusk.net_lock (the thread receiving, the
 * thread or a proxy's caller sending). dusk_faults_lock guards the setting
 * between them; the next datagram picks a new one up.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/spinlock.h>

#include "dusk_kmod.h"

static DEFINE_SPINLOCK(dusk_faults_lock);
static struct dusk_faults_cfg dusk_faults_set;	/* under the lock */
static unsigned int dusk_faults_gen;		/* bumped by each set */

/* The transport's copy, and its generators (under dusk.net_lock). */
static struct dusk_faults_cfg dusk_faults_cur;
static struct dusk_faults_rng dusk_faults_rng;
static unsigned int dusk_faults_seen;

static int dusk_faults_param_set(const char *val, const struct kernel_param *kp)
{
	struct dusk_faults_cfg cfg;
	int ret;

	ret = dusk_faults_parse(val, &cfg);
	if (ret)
		return ret;
	spin_lock(&dusk_faults_lock);
	dusk_faults_set = cfg;
	dusk_faults_gen++;
	spin_unlock(&dusk_faults_lock);
	/* At load, before dusk_init(), there is no thread to wake yet. */
	if (dusk.thread)
		dusk_wake();
	return 0;
}

static int dusk_faults_param_get(char *buf, const struct kernel_param *kp)
{
	struct dusk_faults_cfg cfg;

	spin_lock(&dusk_faults_lock);
	cfg = dusk_faults_set;
	spin_unlock(&dusk_faults_lock);
	if (!dusk_faults_on(&cfg))
		return sysfs_emit(buf, "off\n");
	return sysfs_emit(buf, "seed=%llu,loss=%u,dup=%u,reorder=%u\n",
			  cfg.seed, cfg.loss, cfg.dup, cfg.reorder);
}

static const struct kernel_param_ops dusk_faults_ops = {
	.set = dusk_faults_param_set,
	.get = dusk_faults_param_get,
};
module_param_cb(faults, &dusk_faults_ops, NULL, 0644);
MODULE_PARM_DESC(faults,
		 "Inject faults: seed=S,loss=P,dup=P,reorder=P (percent), or off");

/* Take up a new setting: true if faults are off now. */
static bool dusk_faults_sync(void)
{
	unsigned int gen = READ_ONCE(dusk_faults_gen);

	if (gen != dusk_faults_seen) {
		spin_lock(&dusk_faults_lock);
		dusk_faults_cur = dusk_faults_set;
		dusk_faults_seen = dusk_faults_gen;
		spin_unlock(&dusk_faults_lock);
		dusk_faults_seed(&dusk_faults_rng, &dusk_faults_cur);
	}
	return !dusk_faults_on(&dusk_faults_cur);
}

/* The fate of the next datagram of dir; under dusk.net_lock. */
enum dusk_fault dusk_faults_next_fate(enum dusk_fault_dir dir)
{
	if (dusk_faults_sync())
		return DUSK_FAULT_PASS;
	return dusk_faults_decide(&dusk_faults_cur, &dusk_faults_rng, dir);
}

/* Whether faults are on now (a held datagram waits only while they are). */
bool dusk_faults_active(void)
{
	return !dusk_faults_sync();
}
