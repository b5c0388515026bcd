// SPDX-License-Identifier: GPL-2.0
/*
 * pktlog - keep a log of the ICMP echo requests delivered to this host.
 *
 * A LOCAL_IN hook, its nf_hook_ops allocated with kzalloc, records each
 * echo request in a kmalloc'ed entry (with a kmemdup'ed copy of its data)
 * on a list: when it came (jiffies), on which CPU (smp_processor_id), from
 * and to where. Per-CPU counters count them too. At unload the log is
 * printed (%pI4), checked against the per-CPU counters and freed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/icmp.h>
#include <linux/ip.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/percpu.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <net/ip.h>
#include <net/net_namespace.h>

static uint max_entries = 64;
module_param(max_entries, uint, 0444);
MODULE_PARM_DESC(max_entries, "Echo requests logged at most (default 64)");

struct pktlog_entry {
	struct list_head list;
	unsigned long when;		/* jiffies */
	unsigned int cpu;
	__be32 saddr, daddr;
	u16 seq;
	unsigned int len;		/* of the ICMP data */
	u8 *data;			/* a copy of it */
};

static LIST_HEAD(pktlog_entries);
static DEFINE_SPINLOCK(pktlog_lock);
static unsigned int pktlog_nr_entries;
static unsigned long pktlog_lost;
static DEFINE_PER_CPU(unsigned long, pktlog_hits);
static struct nf_hook_ops *pktlog_ops;

static unsigned int pktlog_hook(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int off = ip_hdrlen(skb);
	struct icmphdr _ih;
	const struct icmphdr *ih;
	struct pktlog_entry *e;
	u8 *data;

	if (iph->protocol != IPPROTO_ICMP)
		return NF_ACCEPT;
	ih = skb_header_pointer(skb, off, sizeof(_ih), &_ih);
	if (!ih || ih->type != ICMP_ECHO)
		return NF_ACCEPT;

	this_cpu_inc(pktlog_hits);

	e = kmalloc(sizeof(*e), GFP_ATOMIC);
	if (!e)
		goto lost;
	e->when = jiffies;
	e->cpu = smp_processor_id();
	e->saddr = iph->saddr;
	e->daddr = iph->daddr;
	e->seq = ntohs(ih->un.echo.sequence);
	e->len = skb->len - off - sizeof(*ih);
	e->data = NULL;
	if (e->len) {
		if (skb_linearize(skb))
			goto free;
		data = skb->data + off + sizeof(*ih);
		e->data = kmemdup(data, e->len, GFP_ATOMIC);
		if (!e->data)
			goto free;
	}

	spin_lock_bh(&pktlog_lock);
	if (pktlog_nr_entries < max_entries) {
		list_add_tail(&e->list, &pktlog_entries);
		pktlog_nr_entries++;
		e = NULL;
	}
	spin_unlock_bh(&pktlog_lock);
	if (!e)
		return NF_ACCEPT;
free:
	kfree(e->data);
	kfree(e);
lost:
	spin_lock_bh(&pktlog_lock);
	pktlog_lost++;
	spin_unlock_bh(&pktlog_lock);
	return NF_ACCEPT;
}

static int __init pktlog_init(void)
{
	int err;

	pktlog_ops = kzalloc(sizeof(*pktlog_ops), GFP_KERNEL);
	if (!pktlog_ops)
		return -ENOMEM;
	pktlog_ops->hook = pktlog_hook;
	pktlog_ops->pf = NFPROTO_IPV4;
	pktlog_ops->hooknum = NF_INET_LOCAL_IN;
	pktlog_ops->priority = NF_IP_PRI_FILTER;

	err = nf_register_net_hook(&init_net, pktlog_ops);
	if (err) {
		kfree(pktlog_ops);
		return err;
	}
	pr_info("logging up to %u echo requests\n", max_entries);
	return 0;
}

static void __exit pktlog_exit(void)
{
	struct pktlog_entry *e, *tmp;
	unsigned long hits = 0, first = 0, last = 0;
	unsigned int n = 0, bad_cpu = 0;
	int cpu;

	nf_unregister_net_hook(&init_net, pktlog_ops);
	kfree(pktlog_ops);

	for_each_possible_cpu(cpu)
		hits += per_cpu(pktlog_hits, cpu);

	list_for_each_entry_safe(e, tmp, &pktlog_entries, list) {
		unsigned int i, nonzero = 0;

		for (i = 0; i < e->len; i++)
			nonzero += e->data[i] != 0;
		pr_info("echo request %pI4 -> %pI4 seq %u, %u bytes of data (%u not zero)\n",
			&e->saddr, &e->daddr, e->seq, e->len, nonzero);
		if (!n)
			first = e->when;
		last = e->when;
		if (e->cpu >= nr_cpu_ids || !cpu_possible(e->cpu))
			bad_cpu++;
		n++;
		list_del(&e->list);
		kfree(e->data);
		kfree(e);
	}
	pr_info("%u logged, %lu lost, %lu counted on all CPUs, %u on impossible CPUs\n",
		n, pktlog_lost, hits, bad_cpu);
	if (n)
		pr_info("first to last: %u ms\n", jiffies_to_msecs(last - first));
}

module_init(pktlog_init);
module_exit(pktlog_exit);

MODULE_DESCRIPTION("Test module: kmalloc in a hook, jiffies, CPUs, heap nf_hook_ops");
MODULE_LICENSE("GPL");
