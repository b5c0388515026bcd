// SPDX-License-Identifier: GPL-2.0
/*
 * synthev - a synthetic trace event, udp_seen, with the length and the
 * destination port of every UDP datagram delivered to this host:
 *
 *   cat /sys/kernel/tracing/trace_pipe
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/trace_events.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>

static struct synth_field_desc udp_seen_fields[] = {
	{ .type = "unsigned int", .name = "len" },
	{ .type = "u16", .name = "dport" },
};

static struct trace_event_file *udp_seen;

static unsigned int synthev_hook(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct udphdr _uh;
	const struct udphdr *uh;

	if (iph->protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
	if (uh)
		synth_event_trace(udp_seen, 2, (u64)ntohs(uh->len),
				  (u64)ntohs(uh->dest));
	return NF_ACCEPT;
}

static struct nf_hook_ops synthev_ops = {
	.hook = synthev_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_LOCAL_IN,
	.priority = NF_IP_PRI_LAST,
};

static int __init synthev_init(void)
{
	int err;

	err = synth_event_create("udp_seen", udp_seen_fields,
				 ARRAY_SIZE(udp_seen_fields), THIS_MODULE);
	if (err)
		return err;
	udp_seen = trace_get_event_file(NULL, "synthetic", "udp_seen");
	if (IS_ERR(udp_seen)) {
		err = PTR_ERR(udp_seen);
		goto delete;
	}
	err = trace_array_set_clr_event(udp_seen->tr, "synthetic", "udp_seen",
					true);
	if (err)
		goto put;
	err = nf_register_net_hook(&init_net, &synthev_ops);
	if (err)
		goto disable;
	pr_info("tracing UDP datagrams as synthetic/udp_seen\n");
	return 0;

disable:
	trace_array_set_clr_event(udp_seen->tr, "synthetic", "udp_seen", false);
put:
	trace_put_event_file(udp_seen);
delete:
	synth_event_delete("udp_seen");
	return err;
}

static void __exit synthev_exit(void)
{
	nf_unregister_net_hook(&init_net, &synthev_ops);
	trace_array_set_clr_event(udp_seen->tr, "synthetic", "udp_seen", false);
	trace_put_event_file(udp_seen);
	synth_event_delete("udp_seen");
}

module_init(synthev_init);
module_exit(synthev_exit);
MODULE_LICENSE("GPL");
