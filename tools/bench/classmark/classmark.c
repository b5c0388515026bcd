// SPDX-License-Identifier: GPL-2.0
/*
 * classmark - mark packets by what they carry, for the benchmark: the
 * round trips of a hook that reads the IP and transport headers and the
 * start of the payload, and writes skb->mark (a policy-routing classifier
 * of the kind "-j MARK" rules feed). Traffic to the benchmark's port gets
 * mark 1 + (the payload's first byte % 4); anything else is left alone.
 */
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/net_namespace.h>

static ushort port = 9000;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "Destination port of the packets to mark");

static unsigned long marked;

static unsigned int classmark_hook(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int off = iph->ihl * 4;
	struct udphdr _uh;
	struct tcphdr _tcph;
	const struct udphdr *uh;
	const struct tcphdr *th;
	u8 _first;
	const u8 *first;
	__be16 dest;

	switch (iph->protocol) {
	case IPPROTO_UDP:
		uh = skb_header_pointer(skb, off, sizeof(_uh), &_uh);
		if (!uh)
			return NF_ACCEPT;
		dest = uh->dest;
		off += sizeof(*uh);
		break;
	case IPPROTO_TCP:
		th = skb_header_pointer(skb, off, sizeof(_tcph), &_tcph);
		if (!th)
			return NF_ACCEPT;
		dest = th->dest;
		off += th->doff * 4;
		break;
	default:
		return NF_ACCEPT;
	}
	if (ntohs(dest) != port)
		return NF_ACCEPT;
	first = skb_header_pointer(skb, off, 1, &_first);
	skb->mark = 1 + (first ? *first % 4 : 0);
	marked++;
	return NF_ACCEPT;
}

static struct nf_hook_ops classmark_ops = {
	.hook = classmark_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_PRE_ROUTING,
	.priority = NF_IP_PRI_MANGLE,
};

static int __init classmark_init(void)
{
	int err = nf_register_net_hook(&init_net, &classmark_ops);

	if (!err)
		pr_info("classmark: loaded, port %u\n", port);
	return err;
}

static void __exit classmark_exit(void)
{
	nf_unregister_net_hook(&init_net, &classmark_ops);
	pr_info("classmark: %lu packets marked\n", marked);
}

module_init(classmark_init);
module_exit(classmark_exit);
MODULE_LICENSE("GPL");
