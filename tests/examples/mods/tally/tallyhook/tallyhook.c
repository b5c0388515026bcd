// SPDX-License-Identifier: GPL-2.0
/*
 * tallyhook - a client of exec_tally: its init counts tags 1..calls, once
 * each; its hook at IPv6 LOCAL_OUT counts each ICMPv6 echo request it
 * sees under tag packet_base + the request's data size, and drops the
 * requests of odd size (their pings go unanswered), accepting the rest.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/icmpv6.h>
#include <linux/ipv6.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <net/net_namespace.h>

#include "exec_tally.h"

static uint calls = 300;
module_param(calls, uint, 0444);
MODULE_PARM_DESC(calls, "Tags counted at init: 1 to calls (default 300)");
static ulong packet_base = 100000;
module_param(packet_base, ulong, 0444);
MODULE_PARM_DESC(packet_base, "Echo requests are counted at this + size");

static unsigned long tallyhook_seen, tallyhook_dropped, tallyhook_repeated;

static unsigned int tallyhook_out(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	const struct ipv6hdr *ip6 = ipv6_hdr(skb);
	struct icmp6hdr _ih;
	const struct icmp6hdr *ih;
	unsigned int size;

	if (ip6->nexthdr != IPPROTO_ICMPV6)
		return NF_ACCEPT;
	ih = skb_header_pointer(skb, skb_network_offset(skb) + sizeof(*ip6),
				sizeof(_ih), &_ih);
	if (!ih || ih->icmp6_type != ICMPV6_ECHO_REQUEST)
		return NF_ACCEPT;
	size = ntohs(ip6->payload_len) - sizeof(*ih);
	tallyhook_seen++;
	if (exec_tally(packet_base + size) != 1)
		tallyhook_repeated++;
	if (size & 1) {
		tallyhook_dropped++;
		return NF_DROP;
	}
	return NF_ACCEPT;
}

static struct nf_hook_ops tallyhook_ops = {
	.hook = tallyhook_out,
	.pf = NFPROTO_IPV6,
	.hooknum = NF_INET_LOCAL_OUT,
	.priority = NF_IP6_PRI_FIRST,
};

static int __init tallyhook_init(void)
{
	unsigned long tag;
	int err;

	for (tag = 1; tag <= calls; tag++)
		if (exec_tally(tag) != 1)
			tallyhook_repeated++;
	err = nf_register_net_hook(&init_net, &tallyhook_ops);
	if (err)
		return err;
	pr_info("counted %u tags, %lu seen before; hooked\n", calls,
		tallyhook_repeated);
	return 0;
}

static void __exit tallyhook_exit(void)
{
	nf_unregister_net_hook(&init_net, &tallyhook_ops);
	pr_info("unloaded: %lu echo requests, %lu dropped, %lu seen before\n",
		tallyhook_seen, tallyhook_dropped, tallyhook_repeated);
}

module_init(tallyhook_init);
module_exit(tallyhook_exit);
MODULE_DESCRIPTION("Count executions through exec_tally");
MODULE_LICENSE("GPL");
