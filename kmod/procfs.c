// SPDX-License-Identifier: GPL-2.0
/* /proc/dusk: the helper's state and counters, one "name value" a line. */
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "dusk_kmod.h"

static int dusk_proc_show(struct seq_file *m, void *v)
{
	struct dusk_session *s;

	mutex_lock(&dusk.state_lock);
	s = dusk.session;
	seq_printf(m, "port %u\n", dusk.port);
	if (s) {
		seq_printf(m, "session %08x\n", s->id);
		seq_printf(m, "peer %pISpc\n", &s->peer[DUSK_CHAN_MAIN]);
		seq_printf(m, "hooks %u\n", s->nr_hooks);
		seq_printf(m, "allocs %u\n", s->nr_allocs);
		seq_printf(m, "alloc_bytes %llu\n", s->alloc_bytes);
		seq_printf(m, "owned %u\n", s->nr_owned);
		seq_printf(m, "policy %s\n",
			   s->params.policy == DUSK_POLICY_DROP ? "drop" : "accept");
		seq_printf(m, "hold_ms %u\n", s->params.hold_ms);
	} else {
		seq_puts(m, "session none\n");
	}
	seq_printf(m, "pending %s\n", dusk.pending ? "yes" : "no");
	seq_printf(m, "queued %u\n", READ_ONCE(dusk.nr_packets));
	seq_printf(m, "rx_ok %llu\n", dusk.cnt.rx_ok);
	seq_printf(m, "rx_bad_mac %llu\n", dusk.cnt.rx_bad_mac);
	seq_printf(m, "rx_malformed %llu\n", dusk.cnt.rx_malformed);
	seq_printf(m, "rx_replayed %llu\n", dusk.cnt.rx_replayed);
	seq_printf(m, "tx %llu\n", dusk.cnt.tx);
	seq_printf(m, "tx_errors %llu\n", dusk.cnt.tx_errors);
	seq_printf(m, "retransmits %llu\n", dusk.cnt.retransmits);
	seq_printf(m, "verdicts %llu\n", dusk.cnt.verdicts);
	seq_printf(m, "verdicts_late %llu\n", dusk.cnt.verdicts_late);
	seq_printf(m, "verdicts_unheld %llu\n", dusk.cnt.verdicts_unheld);
	seq_printf(m, "verdicts_bad %llu\n", dusk.cnt.verdicts_bad);
	seq_printf(m, "hook_batches %llu\n", dusk.cnt.hook_batches);
	seq_printf(m, "released %llu\n", dusk.cnt.released);
	seq_printf(m, "rejected %llu\n", READ_ONCE(dusk.rejected));
	seq_printf(m, "cookie_replies %llu\n", dusk.cnt.cookie_replies);
	seq_printf(m, "sessions_opened %llu\n", dusk.cnt.sessions_opened);
	seq_printf(m, "fault_lost %llu\n", dusk.cnt.fault_lost);
	seq_printf(m, "fault_duplicated %llu\n", dusk.cnt.fault_duplicated);
	seq_printf(m, "fault_reordered %llu\n", dusk.cnt.fault_reordered);
	seq_printf(m, "invokes %lld\n", atomic64_read(&dusk.inv.invokes));
	seq_printf(m, "invokes_resent %lld\n", atomic64_read(&dusk.inv.resent));
	seq_printf(m, "inv_routed %lld\n", atomic64_read(&dusk.inv.routed));
	seq_printf(m, "inv_unrouted %lld\n", atomic64_read(&dusk.inv.unrouted));
	seq_printf(m, "proxy_dead %lld\n", atomic64_read(&dusk.inv.dead));
	seq_printf(m, "inv_interrupted %lld\n",
		   atomic64_read(&dusk.inv.interrupted));
	seq_printf(m, "inv_signals %lld\n", atomic64_read(&dusk.inv.signals));
	seq_printf(m, "inv_signals_resent %lld\n",
		   atomic64_read(&dusk.inv.signals_resent));
	mutex_unlock(&dusk.state_lock);
	return 0;
}

int dusk_procfs_init(void)
{
	if (!proc_create_single("dusk", 0400, NULL, dusk_proc_show))
		return -ENOMEM;
	return 0;
}

void dusk_procfs_exit(void)
{
	remove_proc_entry("dusk", NULL);
}
