// SPDX-License-Identifier: GPL-2.0
/*
 * csumrw - redirect UDP datagrams by rewriting their headers, keeping the
 * checksums right.
 *
 * A LOCAL_OUT hook takes locally sent UDP datagrams to from_addr:from_port
 * and sends them to to_addr:to_port instead (either rewrite can be left
 * out: from_addr= unset matches any address, to_port=0 keeps the port).
 * Before rewriting it checks both checksums from scratch (the IP header
 * with ip_fast_csum, the UDP checksum with csum_partial and
 * csum_tcpudp_magic, after skb_checksum_help resolved an offloaded one);
 * it then updates them incrementally (csum_replace4 for the IP header,
 * inet_proto_csum_replace4/2 for UDP, with and without the pseudo-header)
 * and checks them again. The receiver's UDP stack verifies the result a
 * last time: a wrong checksum is dropped there.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/inet.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/route.h>

static char *from_addr;
module_param(from_addr, charp, 0444);
MODULE_PARM_DESC(from_addr, "Destination address to redirect (default: any)");

static ushort from_port;
module_param(from_port, ushort, 0444);
MODULE_PARM_DESC(from_port, "Destination UDP port to redirect");

static char *to_addr;
module_param(to_addr, charp, 0444);
MODULE_PARM_DESC(to_addr, "New destination address (default: unchanged)");

static ushort to_port;
module_param(to_port, ushort, 0444);
MODULE_PARM_DESC(to_port, "New destination port (default: unchanged)");

static __be32 csumrw_from, csumrw_to;
static atomic_long_t csumrw_redirected, csumrw_bad_before, csumrw_bad_after;

/* Both checksums of a linear, writable IPv4/UDP packet verify. */
static bool csumrw_check(const struct iphdr *iph, const struct udphdr *uh)
{
	unsigned int ulen = ntohs(uh->len);

	if (ip_fast_csum(iph, iph->ihl))
		return false;
	if (!uh->check)		/* sent without a checksum */
		return true;
	return !csum_tcpudp_magic(iph->saddr, iph->daddr, ulen, IPPROTO_UDP,
				  csum_partial(uh, ulen, 0));
}

static unsigned int csumrw_hook(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	struct iphdr *iph = ip_hdr(skb);
	unsigned int ihl = ip_hdrlen(skb);
	struct udphdr _uh, *uh;
	const struct udphdr *puh;
	__be32 old_addr;
	__be16 old_port;
	bool ok_before, ok_after;

	if (iph->protocol != IPPROTO_UDP || ip_is_fragment(iph))
		return NF_ACCEPT;
	puh = skb_header_pointer(skb, ihl, sizeof(_uh), &_uh);
	if (!puh || puh->dest != htons(from_port) ||
	    (csumrw_from && iph->daddr != csumrw_from))
		return NF_ACCEPT;

	/* All of it ours and linear; the checksum computed, not offloaded. */
	if (skb_ensure_writable(skb, skb->len))
		return NF_DROP;
	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		return NF_DROP;
	iph = ip_hdr(skb);
	uh = (struct udphdr *)(skb_network_header(skb) + ihl);
	ok_before = csumrw_check(iph, uh);

	old_addr = iph->daddr;
	old_port = uh->dest;
	if (csumrw_to) {
		/* The address is in the UDP pseudo-header too. */
		if (uh->check)
			inet_proto_csum_replace4(&uh->check, skb, iph->daddr,
						 csumrw_to, true);
		csum_replace4(&iph->check, iph->daddr, csumrw_to);
		iph->daddr = csumrw_to;
	}
	if (to_port) {
		if (uh->check)
			inet_proto_csum_replace2(&uh->check, skb, uh->dest,
						 htons(to_port), false);
		uh->dest = htons(to_port);
	}
	if (uh->check == 0)
		uh->check = CSUM_MANGLED_0;
	ok_after = csumrw_check(iph, uh);

	atomic_long_inc(&csumrw_redirected);
	if (!ok_before)
		atomic_long_inc(&csumrw_bad_before);
	if (!ok_after)
		atomic_long_inc(&csumrw_bad_after);
	pr_info("%pI4:%u -> %pI4:%u redirected to %pI4:%u, checksums %s before, %s after\n",
		&iph->saddr, ntohs(uh->source), &old_addr, ntohs(old_port),
		&iph->daddr, ntohs(uh->dest), ok_before ? "good" : "bad",
		ok_after ? "good" : "bad");

	/* A new destination may need a new route. */
	if (iph->daddr != old_addr &&
	    ip_route_me_harder(state->net, state->sk, skb, RTN_UNSPEC))
		return NF_DROP;
	return NF_ACCEPT;
}

static struct nf_hook_ops csumrw_ops = {
	.hook		= csumrw_hook,
	.pf		= NFPROTO_IPV4,
	.hooknum	= NF_INET_LOCAL_OUT,
	.priority	= NF_IP_PRI_MANGLE,
};

static int csumrw_parse(const char *name, const char *s, __be32 *addr)
{
	if (!s || !*s)
		return 0;
	if (!in4_pton(s, -1, (u8 *)addr, -1, NULL)) {
		pr_err("%s=%s: not an IPv4 address\n", name, s);
		return -EINVAL;
	}
	return 0;
}

static int __init csumrw_init(void)
{
	int err;

	if (!from_port) {
		pr_err("from_port is required\n");
		return -EINVAL;
	}
	err = csumrw_parse("from_addr", from_addr, &csumrw_from);
	if (!err)
		err = csumrw_parse("to_addr", to_addr, &csumrw_to);
	if (err)
		return err;

	err = nf_register_net_hook(&init_net, &csumrw_ops);
	if (err)
		return err;
	pr_info("redirecting UDP to %pI4:%u to %pI4:%u\n", &csumrw_from,
		from_port, &csumrw_to, to_port);
	return 0;
}

static void __exit csumrw_exit(void)
{
	nf_unregister_net_hook(&init_net, &csumrw_ops);
	pr_info("%ld redirected, %ld bad checksums before, %ld after\n",
		atomic_long_read(&csumrw_redirected),
		atomic_long_read(&csumrw_bad_before),
		atomic_long_read(&csumrw_bad_after));
}

module_init(csumrw_init);
module_exit(csumrw_exit);

MODULE_DESCRIPTION("Test module: UDP redirection with checksum updates");
MODULE_LICENSE("GPL");
