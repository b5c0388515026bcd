// SPDX-License-Identifier: GPL-2.0
/*
 * dbgfmt - count the UDP datagrams delivered to one port, with the
 * debugging a module keeps while it is being written: pr_debug in the
 * hook, in init and exit, and in a helper file built with DEBUG; names
 * made with the kernel's formats (kasprintf, snprintf into a kmalloc'ed
 * buffer, a workqueue named with a format); a static key for the
 * payload dumps of verbose=1, off the fast path otherwise.
 *
 *   insmod dbgfmt.ko port=9400 dyndbg=+p
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in.h>
#include <linux/ip.h>
#include <linux/jump_label.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/udp.h>
#include <linux/workqueue.h>
#include <net/ip.h>
#include <net/net_namespace.h>

#include "dbgfmt.h"

static ushort port = 9400;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "UDP port to watch (default 9400)");

static int instance;
module_param(instance, int, 0444);
MODULE_PARM_DESC(instance, "Instance number, in the workqueue's name");

static bool verbose;
module_param(verbose, bool, 0444);
MODULE_PARM_DESC(verbose, "Dump the payload of each datagram");

static DEFINE_STATIC_KEY_FALSE(dbgfmt_verbose);
static struct workqueue_struct *dbgfmt_wq;
static char *dbgfmt_name;
static struct dbgfmt_stats stats;

static unsigned int dbgfmt_hook(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct udphdr _uh;
	const struct udphdr *uh;
	char *from;

	if (iph->protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
	if (!uh || ntohs(uh->dest) != port)
		return NF_ACCEPT;

	pr_debug("%s: %pI4:%u -> %pI4:%u, %u bytes on %s\n", __func__,
		 &iph->saddr, ntohs(uh->source), &iph->daddr, ntohs(uh->dest),
		 ntohs(uh->len), state->in ? state->in->name : "?");

	from = kmalloc(32, GFP_ATOMIC);
	if (!from)
		return NF_ACCEPT;
	snprintf(from, 32, "%pI4:%u", &iph->saddr, ntohs(uh->source));
	pr_info("%s: datagram from %s\n", dbgfmt_name, from);
	if (static_branch_unlikely(&dbgfmt_verbose)) {
		u8 buf[16];
		unsigned int n = min_t(unsigned int, sizeof(buf),
				       ntohs(uh->len) - sizeof(*uh));
		const u8 *data = skb_header_pointer(skb, ip_hdrlen(skb) +
						    sizeof(*uh), n, buf);

		if (data)
			pr_info("%s: payload %*ph\n", dbgfmt_name, n, data);
	}
	dbgfmt_count(&stats, from, ntohs(uh->len) - sizeof(*uh));
	kfree(from);
	return NF_ACCEPT;
}

static struct nf_hook_ops dbgfmt_ops = {
	.hook = dbgfmt_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_LOCAL_IN,
	.priority = NF_IP_PRI_FIRST,
};

static int __init dbgfmt_init(void)
{
	int err;

	pr_debug("init: port %u, instance %d\n", port, instance);
	dbgfmt_name = kasprintf(GFP_KERNEL, "udp/%u", port);
	if (!dbgfmt_name)
		return -ENOMEM;
	dbgfmt_wq = alloc_workqueue("%s_wq%d", WQ_MEM_RECLAIM, 1,
				    KBUILD_MODNAME, instance);
	if (!dbgfmt_wq) {
		err = -ENOMEM;
		goto free_name;
	}
	if (verbose)
		static_branch_enable(&dbgfmt_verbose);
	err = nf_register_net_hook(&init_net, &dbgfmt_ops);
	if (err)
		goto free_wq;
	pr_info("watching %s\n", dbgfmt_name);
	return 0;

free_wq:
	destroy_workqueue(dbgfmt_wq);
free_name:
	kfree(dbgfmt_name);
	return err;
}

static void __exit dbgfmt_exit(void)
{
	nf_unregister_net_hook(&init_net, &dbgfmt_ops);
	destroy_workqueue(dbgfmt_wq);
	static_branch_disable(&dbgfmt_verbose);
	dbgfmt_report(&stats);
	pr_debug("exit: %s done\n", dbgfmt_name);
	kfree(dbgfmt_name);
}

module_init(dbgfmt_init);
module_exit(dbgfmt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("UDP datagram counter with dynamic debug");
