// SPDX-License-Identifier: GPL-2.0
/*
 * netnsmon - count echo requests in every network namespace.
 *
 * At load, walks the namespaces (for_each_net under net_rwsem, which
 * protects net_namespace_list), lists each one's devices (under RCU), takes
 * a reference on it and registers a LOCAL_IN hook in it. The hooks live in
 * a kcalloc'ed array, one per namespace, each with its counter as priv.
 * Namespaces created later are not watched. At unload each namespace's
 * count is printed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/icmp.h>
#include <linux/ip.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/rcupdate.h>
#include <linux/rwsem.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/ip.h>
#include <net/net_namespace.h>

struct netnsmon_ns {
	struct net *net;
	struct nf_hook_ops ops;
	atomic_long_t echoes;
	unsigned int index;
};

static struct netnsmon_ns *netnsmon;
static unsigned int netnsmon_nr;

static unsigned int netnsmon_hook(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	struct netnsmon_ns *ns = priv;
	struct icmphdr _ih;
	const struct icmphdr *ih;

	if (ip_hdr(skb)->protocol != IPPROTO_ICMP)
		return NF_ACCEPT;
	ih = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_ih), &_ih);
	if (ih && ih->type == ICMP_ECHO)
		atomic_long_inc(&ns->echoes);
	return NF_ACCEPT;
}

static void netnsmon_show(const struct netnsmon_ns *ns)
{
	struct net_device *dev;
	char names[128];
	int len = 0;

	rcu_read_lock();
	for_each_netdev_rcu(ns->net, dev)
		len += scnprintf(names + len, sizeof(names) - len, " %s",
				 dev->name);
	rcu_read_unlock();
	pr_info("netns %u:%s\n", ns->index, len ? names : " (no devices)");
}

static void netnsmon_release(unsigned int registered)
{
	unsigned int i;

	for (i = 0; i < netnsmon_nr; i++) {
		if (i < registered)
			nf_unregister_net_hook(netnsmon[i].net,
					       &netnsmon[i].ops);
		put_net(netnsmon[i].net);
	}
	kfree(netnsmon);
}

static int __init netnsmon_init(void)
{
	unsigned int n = 0, i;
	struct net *net;
	int err;

	down_read(&net_rwsem);
	for_each_net(net)
		n++;
	netnsmon = kcalloc(n, sizeof(*netnsmon), GFP_KERNEL);
	if (!netnsmon) {
		up_read(&net_rwsem);
		return -ENOMEM;
	}
	for_each_net(net) {
		struct netnsmon_ns *ns = &netnsmon[netnsmon_nr];

		if (netnsmon_nr == n)
			break;
		ns->net = maybe_get_net(net);
		if (!ns->net)		/* on its way out */
			continue;
		ns->index = netnsmon_nr++;
		ns->ops.hook = netnsmon_hook;
		ns->ops.priv = ns;
		ns->ops.pf = NFPROTO_IPV4;
		ns->ops.hooknum = NF_INET_LOCAL_IN;
		ns->ops.priority = NF_IP_PRI_FILTER;
		atomic_long_set(&ns->echoes, 0);
	}
	up_read(&net_rwsem);

	for (i = 0; i < netnsmon_nr; i++) {
		err = nf_register_net_hook(netnsmon[i].net, &netnsmon[i].ops);
		if (err) {
			netnsmon_release(i);
			return err;
		}
		netnsmon_show(&netnsmon[i]);
	}
	pr_info("watching %u namespaces\n", netnsmon_nr);
	return 0;
}

static void __exit netnsmon_exit(void)
{
	unsigned int i;

	for (i = 0; i < netnsmon_nr; i++)
		pr_info("netns %u: %ld echo requests\n", netnsmon[i].index,
			atomic_long_read(&netnsmon[i].echoes));
	netnsmon_release(netnsmon_nr);
}

module_init(netnsmon_init);
module_exit(netnsmon_exit);

MODULE_DESCRIPTION("Test module: for_each_net, per-namespace heap hooks");
MODULE_LICENSE("GPL");
