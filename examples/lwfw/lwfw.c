// SPDX-License-Identifier: GPL-2.0
/*
 * lwfw - a light-weight firewall
 *
 * A modern version of the LWFW of "Hacking the Linux Kernel Network Stack"
 * (Phrack 61). One PRE_ROUTING hook drops IPv4 packets
 *  - arriving on one interface (block_if=NAME),
 *  - from or to one address (block_ip=A.B.C.D),
 *  - to one TCP or UDP port (block_port=N),
 * checking the rules in that order, and counts what it saw and dropped.
 * The counters are printed when the module is unloaded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/if.h>
#include <linux/inet.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/string.h>
#include <net/ip.h>
#include <net/net_namespace.h>

static char *block_ip;
module_param(block_ip, charp, 0444);
MODULE_PARM_DESC(block_ip, "Drop packets from or to this IPv4 address");

static ushort block_port;
module_param(block_port, ushort, 0444);
MODULE_PARM_DESC(block_port, "Drop TCP and UDP packets to this port");

static char block_if[IFNAMSIZ];
module_param_string(block_if, block_if, sizeof(block_if), 0444);
MODULE_PARM_DESC(block_if, "Drop packets arriving on this interface");

enum lwfw_rule {
	LWFW_RULE_IF,
	LWFW_RULE_ADDR,
	LWFW_RULE_PORT,
	__LWFW_RULE_MAX
};

static const char *const lwfw_rule_names[__LWFW_RULE_MAX] = {
	[LWFW_RULE_IF] = "interface",
	[LWFW_RULE_ADDR] = "address",
	[LWFW_RULE_PORT] = "port",
};

/* block_ip, parsed; 0 when there is no address rule. */
static __be32 block_addr;

static atomic_long_t lwfw_seen;
static atomic_long_t lwfw_dropped[__LWFW_RULE_MAX];

/* The first four bytes of a TCP or UDP header. */
struct lwfw_ports {
	__be16 source;
	__be16 dest;
};

static unsigned int lwfw_drop(enum lwfw_rule rule, const struct iphdr *iph,
			      const struct lwfw_ports *ports,
			      const struct net_device *in)
{
	atomic_long_inc(&lwfw_dropped[rule]);
	if (ports)
		pr_info_ratelimited("drop %s %pI4:%u -> %pI4:%u on %s (%s)\n",
				    iph->protocol == IPPROTO_TCP ? "TCP" : "UDP",
				    &iph->saddr, ntohs(ports->source),
				    &iph->daddr, ntohs(ports->dest),
				    in ? in->name : "?", lwfw_rule_names[rule]);
	else
		pr_info_ratelimited("drop protocol %u %pI4 -> %pI4 on %s (%s)\n",
				    iph->protocol, &iph->saddr, &iph->daddr,
				    in ? in->name : "?", lwfw_rule_names[rule]);
	return NF_DROP;
}

static unsigned int lwfw_hook(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct lwfw_ports _ports, *ports = NULL;

	atomic_long_inc(&lwfw_seen);

	/* Ports exist only in the first fragment. */
	if ((iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP) &&
	    !(iph->frag_off & htons(IP_OFFSET)))
		ports = skb_header_pointer(skb, ip_hdrlen(skb),
					   sizeof(_ports), &_ports);

	if (block_if[0] && state->in && !strcmp(state->in->name, block_if))
		return lwfw_drop(LWFW_RULE_IF, iph, ports, state->in);
	if (block_addr &&
	    (iph->saddr == block_addr || iph->daddr == block_addr))
		return lwfw_drop(LWFW_RULE_ADDR, iph, ports, state->in);
	if (block_port && ports && ports->dest == htons(block_port))
		return lwfw_drop(LWFW_RULE_PORT, iph, ports, state->in);
	return NF_ACCEPT;
}

static struct nf_hook_ops lwfw_ops = {
	.hook		= lwfw_hook,
	.pf		= NFPROTO_IPV4,
	.hooknum	= NF_INET_PRE_ROUTING,
	.priority	= NF_IP_PRI_FIRST,
};

static int __init lwfw_init(void)
{
	int err;

	if (block_ip && *block_ip &&
	    !in4_pton(block_ip, -1, (u8 *)&block_addr, -1, NULL)) {
		pr_err("block_ip=%s: not an IPv4 address\n", block_ip);
		return -EINVAL;
	}

	err = nf_register_net_hook(&init_net, &lwfw_ops);
	if (err) {
		pr_err("cannot register the hook: %d\n", err);
		return err;
	}

	if (block_if[0])
		pr_info("blocking interface %s\n", block_if);
	if (block_addr)
		pr_info("blocking address %pI4\n", &block_addr);
	if (block_port)
		pr_info("blocking port %u\n", block_port);
	pr_info("loaded\n");
	return 0;
}

static void __exit lwfw_exit(void)
{
	nf_unregister_net_hook(&init_net, &lwfw_ops);

	pr_info("%ld packets seen\n", atomic_long_read(&lwfw_seen));
	pr_info("dropped: interface %ld, address %ld, port %ld\n",
		atomic_long_read(&lwfw_dropped[LWFW_RULE_IF]),
		atomic_long_read(&lwfw_dropped[LWFW_RULE_ADDR]),
		atomic_long_read(&lwfw_dropped[LWFW_RULE_PORT]));
	pr_info("unloaded\n");
}

module_init(lwfw_init);
module_exit(lwfw_exit);

MODULE_DESCRIPTION("Light-weight firewall: drops by interface, address, port");
MODULE_LICENSE("GPL");
