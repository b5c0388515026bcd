// SPDX-License-Identifier: GPL-2.0
/*
 * steer - queue the benchmark's UDP traffic to NFQUEUE, as an iptables
 * "-p udp --dport PORT -j NFQUEUE --queue-num QUEUE" rule would (the
 * target has no iptables). PRE_ROUTING, where lwfw's hook sits too.
 */
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/udp.h>
#include <net/net_namespace.h>

static ushort port = 9000;
module_param(port, ushort, 0444);
static ushort queue = 5;
module_param(queue, ushort, 0444);

static unsigned int steer_hook(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct udphdr _uh;
	const struct udphdr *uh;

	if (iph->protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	uh = skb_header_pointer(skb, iph->ihl * 4, sizeof(_uh), &_uh);
	if (!uh || ntohs(uh->dest) != port)
		return NF_ACCEPT;
	return NF_QUEUE_NR(queue);
}

static struct nf_hook_ops steer_ops = {
	.hook = steer_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_PRE_ROUTING,
	.priority = NF_IP_PRI_FILTER,
};

static int __init steer_init(void)
{
	return nf_register_net_hook(&init_net, &steer_ops);
}

static void __exit steer_exit(void)
{
	nf_unregister_net_hook(&init_net, &steer_ops);
}

module_init(steer_init);
module_exit(steer_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("queue the dusk benchmark's UDP port to NFQUEUE");
