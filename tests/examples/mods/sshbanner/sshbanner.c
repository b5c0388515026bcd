// SPDX-License-Identifier: GPL-2.0
/*
 * sshbanner - make old SSH clients look new: rewrite "SSH-1" protocol
 * banners to "SSH-2" in outgoing UDP datagrams to a port, in place in the
 * skb's data, the way such rewriters are written: a strnstr() loop over
 * the payload with strncpy() of the new text over each match. The loop
 * only ends because the rewrite lands where the next strnstr() looks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/string.h>
#include <linux/udp.h>
#include <net/net_namespace.h>

static ushort port = 2222;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "UDP destination port whose banners are rewritten");

static unsigned long rewritten;

static unsigned int sshbanner_out(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	struct iphdr *iph = ip_hdr(skb);
	struct udphdr *udph;
	char *data, *p;
	int len;

	if (iph->protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	if (skb_ensure_writable(skb, skb->len))
		return NF_ACCEPT;
	iph = ip_hdr(skb);
	udph = (struct udphdr *)((char *)iph + iph->ihl * 4);
	if (ntohs(udph->dest) != port)
		return NF_ACCEPT;

	data = (char *)udph + sizeof(struct udphdr);
	len = ntohs(udph->len) - sizeof(struct udphdr);
	while ((p = strnstr(data, "SSH-1", len))) {
		strncpy(p, "SSH-2", 5);
		rewritten++;
		pr_info("changed banner at offset %d\n", (int)(p - data));
	}
	return NF_ACCEPT;
}

static struct nf_hook_ops sshbanner_ops = {
	.hook		= sshbanner_out,
	.pf		= NFPROTO_IPV4,
	.hooknum	= NF_INET_LOCAL_OUT,
	.priority	= NF_IP_PRI_FIRST,
};

static int __init sshbanner_init(void)
{
	int ret = nf_register_net_hook(&init_net, &sshbanner_ops);

	if (ret)
		return ret;
	pr_info("rewriting SSH-1 banners to UDP port %u\n", port);
	return 0;
}

static void __exit sshbanner_exit(void)
{
	nf_unregister_net_hook(&init_net, &sshbanner_ops);
	pr_info("%lu banners rewritten\n", rewritten);
}

module_init(sshbanner_init);
module_exit(sshbanner_exit);

MODULE_DESCRIPTION("Test module: SSH banner rewriting with string functions");
MODULE_LICENSE("GPL");
