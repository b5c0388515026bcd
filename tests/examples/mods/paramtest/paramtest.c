// SPDX-License-Identifier: GPL-2.0
/*
 * paramtest - module parameters of every common type.
 *
 * Prints them all at load. Its LOCAL_OUT hook then uses some of them:
 * UDP datagrams to one of ports[] are counted, dropped if drop is set,
 * and logged with tag and name unless log=0 (an invbool: it sets
 * paramtest_quiet). At load, ports[] takes at most 4 values (the kernel
 * checks) and level must lie in [-10, 10] (we check).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>

static int level = -3;
module_param(level, int, 0444);
MODULE_PARM_DESC(level, "An int in [-10, 10] (default -3)");

static uint count = 7;
module_param(count, uint, 0444);

static long offset = -1234567890123L;
module_param(offset, long, 0444);

static ulong limit = 18446744073709551615UL;
module_param(limit, ulong, 0444);

static short delta = -2;
module_param(delta, short, 0444);

static unsigned char flags_byte = 0x5a;
module_param(flags_byte, byte, 0444);

static uint mask = 0xff00;
module_param(mask, hexint, 0444);

static bool drop;
module_param(drop, bool, 0444);

static bool paramtest_quiet;
module_param_named(log, paramtest_quiet, invbool, 0444);
MODULE_PARM_DESC(log, "Log each datagram (default 1)");

static char *name = "paramtest";
module_param(name, charp, 0444);

static char tag[16] = "none";
module_param_string(tag, tag, sizeof(tag), 0444);

static int ports[4] = { 9400 };
static int nports = 1;
module_param_array(ports, int, &nports, 0444);
MODULE_PARM_DESC(ports, "Up to 4 UDP ports to watch (default 9400)");

static atomic_long_t paramtest_hits;

static unsigned int paramtest_hook(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct udphdr _uh;
	const struct udphdr *uh;
	int i;

	if (iph->protocol != IPPROTO_UDP || ip_is_fragment(iph))
		return NF_ACCEPT;
	uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
	if (!uh)
		return NF_ACCEPT;
	for (i = 0; i < nports; i++)
		if (ntohs(uh->dest) == ports[i])
			break;
	if (i == nports)
		return NF_ACCEPT;

	atomic_long_inc(&paramtest_hits);
	if (!paramtest_quiet)
		pr_info("[%s] %s: UDP to port %d (ports[%d]), %s\n", tag, name,
			ports[i], i, drop ? "dropped" : "passed");
	return drop ? NF_DROP : NF_ACCEPT;
}

static struct nf_hook_ops paramtest_ops = {
	.hook		= paramtest_hook,
	.pf		= NFPROTO_IPV4,
	.hooknum	= NF_INET_LOCAL_OUT,
	.priority	= NF_IP_PRI_FILTER,
};

static int __init paramtest_init(void)
{
	int err, i;

	if (level < -10 || level > 10) {
		pr_err("level=%d out of range\n", level);
		return -ERANGE;
	}
	err = nf_register_net_hook(&init_net, &paramtest_ops);
	if (err)
		return err;

	pr_info("level=%d count=%u offset=%ld limit=%lu delta=%hd\n",
		level, count, offset, limit, delta);
	pr_info("flags_byte=%#x mask=%#x drop=%d quiet=%d\n",
		flags_byte, mask, drop, paramtest_quiet);
	pr_info("name='%s' tag='%s' nports=%d\n", name, tag, nports);
	for (i = 0; i < nports; i++)
		pr_info("ports[%d]=%d\n", i, ports[i]);
	return 0;
}

static void __exit paramtest_exit(void)
{
	nf_unregister_net_hook(&init_net, &paramtest_ops);
	pr_info("%ld datagrams to the watched ports\n",
		atomic_long_read(&paramtest_hits));
}

module_init(paramtest_init);
module_exit(paramtest_exit);

MODULE_DESCRIPTION("Test module: module parameters of many types");
MODULE_LICENSE("GPL");
