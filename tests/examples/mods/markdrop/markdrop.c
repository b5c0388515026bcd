// SPDX-License-Identifier: GPL-2.0
/*
 * markdrop - drop UDP datagrams by their mark, counting what it sees.
 *
 * Two hooks: at LOCAL_OUT (first) markdrop_out looks at each UDP datagram
 * sent to ports [port, port + 16): it notes it in a kmalloc'ed record,
 * sets the mark to set_mark when asked to (and routes the datagram again,
 * as a mark may change its route), and frees the record; at
 * LOCAL_IN (last) markdrop_in drops the datagrams whose mark is drop_mark.
 * The mark is the kernel's: what the first hook (or a debugger stopped in
 * it) writes, the second hook reads back from the kernel's skb, and the
 * receiving socket sees (SO_RCVMARK).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>

static ushort port = 9100;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "First UDP port looked at (16 ports; default 9100)");
static uint set_mark;
module_param(set_mark, uint, 0444);
MODULE_PARM_DESC(set_mark, "Mark set on the datagrams looked at (0: none)");
static uint drop_mark = 9;
module_param(drop_mark, uint, 0444);
MODULE_PARM_DESC(drop_mark, "Datagrams with this mark are dropped (default 9)");

struct markdrop_note {
	__be32 daddr;
	u16 dport;
	unsigned int len;
	u32 mark;
};

static unsigned long markdrop_seen, markdrop_dropped;

static bool markdrop_wanted(const struct sk_buff *skb, u16 *dport)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct udphdr _uh;
	const struct udphdr *uh;

	if (iph->protocol != IPPROTO_UDP)
		return false;
	uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
	if (!uh)
		return false;
	*dport = ntohs(uh->dest);
	return *dport - port < 16;
}

static unsigned int markdrop_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct markdrop_note *note;
	u16 dport;

	if (!markdrop_wanted(skb, &dport))
		return NF_ACCEPT;
	note = kmalloc(sizeof(*note), GFP_ATOMIC);
	if (!note)
		return NF_ACCEPT;
	note->daddr = ip_hdr(skb)->daddr;
	note->dport = dport;
	note->len = skb->len;
	if (set_mark && skb->mark != set_mark) {
		skb->mark = set_mark;
		/* The mark may select another route: route again, as
		 * iptables' mangle table does at LOCAL_OUT. */
		if (ip_route_me_harder(state->net, state->sk, skb,
				       RTN_UNSPEC)) {
			kfree(note);
			return NF_DROP;
		}
	}
	note->mark = skb->mark;
	markdrop_seen++;
	pr_info("out %pI4:%u len %u mark %u\n", &note->daddr, note->dport,
		note->len, note->mark);
	kfree(note);
	return NF_ACCEPT;
}

static unsigned int markdrop_in(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	u16 dport;

	if (!markdrop_wanted(skb, &dport) || skb->mark != drop_mark)
		return NF_ACCEPT;
	markdrop_dropped++;
	pr_info("drop port %u mark %u\n", dport, skb->mark);
	return NF_DROP;
}

static struct nf_hook_ops markdrop_ops[] = {
	{
		.hook = markdrop_out,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP_PRI_FIRST,
	},
	{
		.hook = markdrop_in,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = NF_IP_PRI_LAST,
	},
};

static int __init markdrop_init(void)
{
	int err = nf_register_net_hooks(&init_net, markdrop_ops,
					ARRAY_SIZE(markdrop_ops));

	if (err)
		return err;
	pr_info("loaded: ports %u-%u, drop mark %u\n", port, port + 15,
		drop_mark);
	return 0;
}

static void __exit markdrop_exit(void)
{
	nf_unregister_net_hooks(&init_net, markdrop_ops,
				ARRAY_SIZE(markdrop_ops));
	pr_info("unloaded: %lu seen, %lu dropped\n", markdrop_seen,
		markdrop_dropped);
}

module_init(markdrop_init);
module_exit(markdrop_exit);
MODULE_DESCRIPTION("Drop UDP datagrams by mark (dusk-gdb's test module)");
MODULE_LICENSE("GPL");
