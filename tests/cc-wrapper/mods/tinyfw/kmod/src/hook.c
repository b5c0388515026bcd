// SPDX-License-Identifier: GPL-2.0
/* tinyfw hooks: every IPv4 packet in and out goes through the rules. */
#include <linux/ip.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/net_namespace.h>

#include "../../include/fw_rules.h"
#include "hook.h"

static unsigned int tinyfw_hook(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	struct iphdr *iph;
	struct fw_rule *r;
	__be16 dport = 0;

	if (!skb)
		return NF_ACCEPT;
	iph = ip_hdr(skb);
	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr *th = (struct tcphdr *)((u8 *)iph + iph->ihl * 4);

		dport = th->dest;
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr *uh = (struct udphdr *)((u8 *)iph + iph->ihl * 4);

		dport = uh->dest;
	}
	r = fw_match(iph->saddr, iph->protocol, dport,
		     state->hook == NF_INET_LOCAL_OUT);
	if (!r)
		return NF_ACCEPT;
	if (r->action == FW_LOG || fw_stats.verbose)
		printk(KERN_INFO FW_NAME ": %pI4 proto %u port %u (rule hit %lu times)\n",
		       &iph->saddr, iph->protocol, ntohs(dport), r->hits);
	if (r->action == FW_DROP) {
		fw_stats.dropped++;
		return NF_DROP;
	}
	return NF_ACCEPT;
}

static struct nf_hook_ops tinyfw_ops[] = {
	{
		.hook = tinyfw_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_FIRST,
	},
	{
		.hook = tinyfw_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP_PRI_FIRST,
	},
};

int fw_hooks_register(void)
{
	return nf_register_net_hooks(&init_net, tinyfw_ops,
				     ARRAY_SIZE(tinyfw_ops));
}

void fw_hooks_unregister(void)
{
	nf_unregister_net_hooks(&init_net, tinyfw_ops, ARRAY_SIZE(tinyfw_ops));
}
