// SPDX-License-Identifier: GPL-2.0
/*
 * pscan - detect TCP port scans: a source that sends SYNs to more than
 * PSCAN_PORTS distinct ports within `window` seconds is reported once.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <net/net_namespace.h>

#include "pscan.h"
#include "pscan_log.h"

unsigned int pscan_window = 10;
module_param_named(window, pscan_window, uint, 0644);
MODULE_PARM_DESC(window, "seconds within which the ports are counted");

unsigned int pscan_detect(void *priv, struct sk_buff *skb,
			  const struct nf_hook_state *state);

static struct nf_hook_ops pscan_ops = {
	.hook		= pscan_detect,
	.pf		= PF_INET,
	.hooknum	= NF_INET_PRE_ROUTING,
	.priority	= NF_IP_PRI_FIRST,
};

static int __init pscan_init(void)
{
	spin_lock_init(&pscan_table.lock);
	pscan_info("watching, window %us\n", pscan_window);
	return nf_register_net_hook(&init_net, &pscan_ops);
}

static void __exit pscan_exit(void)
{
	nf_unregister_net_hook(&init_net, &pscan_ops);
	pscan_info("%u scanners seen\n", pscan_table.scanners);
}

module_init(pscan_init);
module_exit(pscan_exit);
MODULE_LICENSE("GPL");
