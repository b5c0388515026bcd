// SPDX-License-Identifier: GPL-2.0
/*
 * srcstat - UDP datagram counts per watched source, for one port.
 *
 * It reserves a char device region and makes /proc/srcstat for the
 * control device and the statistics files it is meant to get, keeps one
 * kmalloc'ed record per watched source and counts in a PRE_ROUTING hook.
 *
 * Its bug: the hook trusts the lookup, so a datagram to the port from a
 * source nobody watches writes through NULL (as a .ko: an oops).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/inet.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>
#include <linux/udp.h>

static char *watch = "127.0.0.2";
module_param(watch, charp, 0444);
MODULE_PARM_DESC(watch, "source to count");

static ushort port = 9500;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "UDP destination port");

struct srcstat {
	__be32 addr;
	unsigned long packets;
};

static struct srcstat *watched;
static dev_t srcstat_dev;
static struct proc_dir_entry *srcstat_dir;

static struct srcstat *lookup(__be32 addr)
{
	if (watched && watched->addr == addr)
		return watched;
	return NULL;
}

static unsigned int srcstat_hook(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct iphdr *iph = ip_hdr(skb);
	struct udphdr _uh, *uh;
	struct srcstat *s;

	if (iph->protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	uh = skb_header_pointer(skb, iph->ihl * 4, sizeof(_uh), &_uh);
	if (!uh || ntohs(uh->dest) != port)
		return NF_ACCEPT;
	s = lookup(iph->saddr);
	s->packets++;
	pr_info("%pI4: %lu\n", &iph->saddr, s->packets);
	return NF_ACCEPT;
}

static struct nf_hook_ops srcstat_ops = {
	.hook		= srcstat_hook,
	.pf		= PF_INET,
	.hooknum	= NF_INET_PRE_ROUTING,
	.priority	= NF_IP_PRI_FIRST,
};

static int __init srcstat_init(void)
{
	int ret;

	watched = kzalloc(sizeof(*watched), GFP_KERNEL);
	if (!watched)
		return -ENOMEM;
	watched->addr = in_aton(watch);

	ret = alloc_chrdev_region(&srcstat_dev, 0, 1, "srcstat");
	if (ret < 0)
		goto out_free;

	srcstat_dir = proc_mkdir("srcstat", NULL);
	if (!srcstat_dir) {
		ret = -ENOMEM;
		goto out_region;
	}

	ret = nf_register_net_hook(&init_net, &srcstat_ops);
	if (ret)
		goto out_proc;

	pr_info("watching %pI4 on port %u, major %d\n", &watched->addr, port,
		MAJOR(srcstat_dev));
	return 0;

out_proc:
	remove_proc_entry("srcstat", NULL);
out_region:
	unregister_chrdev_region(srcstat_dev, 1);
out_free:
	kfree(watched);
	return ret;
}

static void __exit srcstat_exit(void)
{
	nf_unregister_net_hook(&init_net, &srcstat_ops);
	remove_proc_entry("srcstat", NULL);
	unregister_chrdev_region(srcstat_dev, 1);
	kfree(watched);
	pr_info("unloaded\n");
}

module_init(srcstat_init);
module_exit(srcstat_exit);
MODULE_LICENSE("GPL");
