// SPDX-License-Identifier: GPL-2.0
/*
 * hookctx - in what context do netfilter hooks run?
 *
 * Two IPv4 hooks, at LOCAL_OUT and at PRE_ROUTING, print the execution
 * context they find (in_task(), in_interrupt(), in_softirq(),
 * in_serving_softirq(), in_hardirq(), in_nmi(), in_atomic(),
 * irqs_disabled() and the softirq and hardirq parts of the preempt count)
 * for the first max_packets UDP datagrams to port, with icmp=1 for the
 * first max_packets ICMP echo requests and replies, and with tcp=1 for the
 * first max_packets SYNs to port and SYN-ACKs from it. The module's init
 * and exit print theirs too.
 *
 * On 6.1, a datagram, a ping or a SYN a task sends reaches LOCAL_OUT in
 * that task's context (sendmsg, connect: in_task()), and PRE_ROUTING in
 * NET_RX softirq; the echo reply and the SYN-ACK the kernel answers with
 * are sent from the softirq that received the request, with bottom halves
 * disabled on top of it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/icmp.h>
#include <linux/ip.h>
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/preempt.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>

static ushort port = 9600;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "UDP destination port looked at (default 9600)");
static uint max_packets = 4;
module_param(max_packets, uint, 0444);
MODULE_PARM_DESC(max_packets, "Packets printed per hook and kind (default 4)");
static bool icmp;
module_param(icmp, bool, 0444);
MODULE_PARM_DESC(icmp, "Look at ICMP echo requests and replies too");
static bool tcp;
module_param(tcp, bool, 0444);
MODULE_PARM_DESC(tcp, "Look at TCP SYNs to port and SYN-ACKs from it too");

enum { HC_UDP, HC_ECHO, HC_REPLY, HC_SYN, HC_SYNACK, HC_KINDS };
static const char *const hc_kind_name[HC_KINDS] = {
	[HC_UDP] = "udp", [HC_ECHO] = "echo", [HC_REPLY] = "echo-reply",
	[HC_SYN] = "syn", [HC_SYNACK] = "syn-ack",
};

/* Per hook (0: LOCAL_OUT, 1: PRE_ROUTING) and kind. */
static atomic_t hc_seen[2][HC_KINDS];

static void hc_show(const char *where)
{
	pr_info("%s: in_task %d in_interrupt %d in_softirq %d in_serving_softirq %d in_hardirq %d in_nmi %d in_atomic %d irqs_disabled %d softirq_count %#lx hardirq_count %#lx\n",
		where, (int)in_task(), !!in_interrupt(), !!in_softirq(),
		!!in_serving_softirq(), !!in_hardirq(), !!in_nmi(),
		!!in_atomic(), !!irqs_disabled(),
		(unsigned long)softirq_count(), (unsigned long)hardirq_count());
}

static int hc_kind(const struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);

	if (iph->protocol == IPPROTO_UDP) {
		struct udphdr _uh;
		const struct udphdr *uh;

		uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
		if (uh && ntohs(uh->dest) == port)
			return HC_UDP;
	} else if (icmp && iph->protocol == IPPROTO_ICMP) {
		struct icmphdr _ih;
		const struct icmphdr *ih;

		ih = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_ih), &_ih);
		if (ih && ih->type == ICMP_ECHO)
			return HC_ECHO;
		if (ih && ih->type == ICMP_ECHOREPLY)
			return HC_REPLY;
	} else if (tcp && iph->protocol == IPPROTO_TCP) {
		struct tcphdr _th;
		const struct tcphdr *th;

		th = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_th), &_th);
		if (!th || !th->syn)
			return -1;
		if (!th->ack && ntohs(th->dest) == port)
			return HC_SYN;
		if (th->ack && ntohs(th->source) == port)
			return HC_SYNACK;
	}
	return -1;
}

static unsigned int hc_hook(void *priv, struct sk_buff *skb,
			    const struct nf_hook_state *state)
{
	int which = state->hook == NF_INET_LOCAL_OUT ? 0 : 1;
	int kind = hc_kind(skb);
	unsigned int n;
	char where[48];

	if (kind < 0)
		return NF_ACCEPT;
	n = atomic_inc_return(&hc_seen[which][kind]);
	if (n > max_packets)
		return NF_ACCEPT;
	snprintf(where, sizeof(where), "%s %s #%u",
		 which ? "PRE_ROUTING" : "LOCAL_OUT", hc_kind_name[kind], n);
	hc_show(where);
	return NF_ACCEPT;
}

static struct nf_hook_ops hc_ops[] = {
	{
		.hook = hc_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP_PRI_FIRST,
	},
	{
		.hook = hc_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_FIRST,
	},
};

static int __init hc_init(void)
{
	int err;

	hc_show("init");
	err = nf_register_net_hooks(&init_net, hc_ops, ARRAY_SIZE(hc_ops));
	if (err)
		return err;
	pr_info("watching UDP to port %u%s%s, %u packets per hook\n", port,
		icmp ? ", ICMP echo" : "", tcp ? ", TCP SYN" : "",
		max_packets);
	return 0;
}

static void __exit hc_exit(void)
{
	int k;

	nf_unregister_net_hooks(&init_net, hc_ops, ARRAY_SIZE(hc_ops));
	hc_show("exit");
	for (k = 0; k < HC_KINDS; k++)
		if (k == HC_UDP || (icmp && (k == HC_ECHO || k == HC_REPLY)) ||
		    (tcp && (k == HC_SYN || k == HC_SYNACK)))
			pr_info("%s: %d at LOCAL_OUT, %d at PRE_ROUTING\n",
				hc_kind_name[k], atomic_read(&hc_seen[0][k]),
				atomic_read(&hc_seen[1][k]));
}

module_init(hc_init);
module_exit(hc_exit);

MODULE_DESCRIPTION("Test module: the execution context of netfilter hooks");
MODULE_LICENSE("GPL");
