// SPDX-License-Identifier: GPL-2.0
/*
 * ipp2pscan - count the TCP and UDP packets whose payload a P2P signature
 * recognises (ipp2pscan_match.c), at POST_ROUTING, as the ipp2p match
 * would in a "-m ipp2p --ipp2p" rule; the count is printed at unload.
 * Only the linear part of a packet is looked at, as ipp2p does.
 */
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>

#include "ipp2pscan.h"

static unsigned long matches, scanned;

static unsigned int ipp2pscan_hook(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	const unsigned char *transport = skb_network_header(skb) + iph->ihl * 4;
	const unsigned char *end = skb_tail_pointer(skb);
	unsigned int hlen, r;

	if (iph->frag_off & htons(IP_OFFSET))
		return NF_ACCEPT;
	switch (iph->protocol) {
	case IPPROTO_TCP: {
		const struct tcphdr *th = (const struct tcphdr *)transport;

		if (end - transport < sizeof(*th) || end - transport < th->doff * 4)
			return NF_ACCEPT;
		hlen = end - transport - th->doff * 4;
		if (!hlen)
			return NF_ACCEPT;
		r = ipp2p_scan_tcp(transport + th->doff * 4, hlen);
		break;
	}
	case IPPROTO_UDP:
		if (end - transport <= sizeof(struct udphdr))
			return NF_ACCEPT;
		hlen = end - transport - sizeof(struct udphdr);
		r = ipp2p_scan_udp(transport + sizeof(struct udphdr), hlen);
		break;
	default:
		return NF_ACCEPT;
	}
	scanned++;
	if (r)
		matches++;
	return NF_ACCEPT;
}

static struct nf_hook_ops ipp2pscan_ops = {
	.hook = ipp2pscan_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_POST_ROUTING,
	.priority = NF_IP_PRI_FIRST,
};

static int __init ipp2pscan_init(void)
{
	return nf_register_net_hook(&init_net, &ipp2pscan_ops);
}

static void __exit ipp2pscan_exit(void)
{
	nf_unregister_net_hook(&init_net, &ipp2pscan_ops);
	pr_info("ipp2pscan: %lu of %lu packets matched\n", matches, scanned);
}

module_init(ipp2pscan_init);
module_exit(ipp2pscan_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("P2P payload signatures over whole packets (ipp2p)");
