// SPDX-License-Identifier: GPL-2.0
/*
 * hello - a small, unmodified netfilter module: "make -C $KDIR M=$PWD"
 * builds hello.ko, "dusk-cc -M . -o hello" the user-level program that
 * tests/runtime/modrt/test_modrt.py runs against the target. ICMP echo to the
 * address "drop" is dropped at LOCAL_OUT by a hook in static ops, to
 * "drop2" by one in kmalloc()ed ops.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/inet.h>
#include <linux/ip.h>
#include <linux/icmp.h>
#include <linux/skbuff.h>
#include <linux/timekeeping.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <net/net_namespace.h>

static char *drop = "127.0.0.9";
module_param(drop, charp, 0444);
MODULE_PARM_DESC(drop, "ICMP echo to this IPv4 address is dropped");

static int marks[4];
static int nr_marks;
module_param_array(marks, int, &nr_marks, 0444);
MODULE_PARM_DESC(marks, "up to four numbers, just counted");

static char *drop2 = "127.0.0.11";
module_param(drop2, charp, 0444);
MODULE_PARM_DESC(drop2, "this one too, by a hook in kmalloc()ed ops");

static __be32 drop_addr, drop2_addr;
static atomic_t drops = ATOMIC_INIT(0);
static struct nf_hook_ops *ops2;

static unsigned int hello_hook(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	struct iphdr *iph = ip_hdr(skb);
	struct icmphdr ih;

	if (iph->protocol != IPPROTO_ICMP || iph->daddr != drop_addr)
		return NF_ACCEPT;
	/* A kernel function filling a local. */
	if (skb_copy_bits(skb, skb_network_offset(skb) + iph->ihl * 4, &ih,
			  sizeof(ih)) < 0 || ih.type != ICMP_ECHO)
		return NF_ACCEPT;
	atomic_inc(&drops);
	pr_info("hello: drop %pI4 type %u cpu %d\n", &iph->daddr, ih.type,
		smp_processor_id());
	return NF_DROP;
}

static unsigned int hello_hook2(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	struct iphdr *iph = ip_hdr(skb);

	if (iph->protocol != IPPROTO_ICMP || iph->daddr != *(__be32 *)priv)
		return NF_ACCEPT;
	pr_info("hello: drop2 %pI4\n", &iph->daddr);
	return NF_DROP;
}

static struct nf_hook_ops hello_ops = {
	.hook = hello_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_LOCAL_OUT,
	.priority = NF_IP_PRI_FIRST,
};

static int __init hello_init(void)
{
	struct timespec64 ts;
	int err;

	if (!in4_pton(drop, -1, (u8 *)&drop_addr, -1, NULL) ||
	    !in4_pton(drop2, -1, (u8 *)&drop2_addr, -1, NULL)) {
		pr_err("hello: bad address %s or %s\n", drop, drop2);
		return -EINVAL;
	}
	ktime_get_real_ts64(&ts);
	pr_info("hello: loaded, drop %pI4, %d marks, time %lld, jiffies %lu\n",
		&drop_addr, nr_marks, (long long)ts.tv_sec, jiffies);
	err = nf_register_net_hook(&init_net, &hello_ops);
	if (err)
		return err;
	/* Ops in kernel memory, filled in place, pointing to our data. */
	ops2 = kzalloc(sizeof(*ops2), GFP_KERNEL);
	if (!ops2) {
		err = -ENOMEM;
		goto out_ops;
	}
	ops2->hook = hello_hook2;
	ops2->priv = &drop2_addr;
	ops2->pf = NFPROTO_IPV4;
	ops2->hooknum = NF_INET_LOCAL_OUT;
	ops2->priority = NF_IP_PRI_FIRST + 1;
	err = nf_register_net_hook(&init_net, ops2);
	if (err)
		goto out_ops2;
	return 0;

out_ops2:
	kfree(ops2);
out_ops:
	nf_unregister_net_hook(&init_net, &hello_ops);
	return err;
}

static void __exit hello_exit(void)
{
	nf_unregister_net_hook(&init_net, ops2);
	kfree(ops2);
	nf_unregister_net_hook(&init_net, &hello_ops);
	pr_info("hello: unloaded, %d drops\n", atomic_read(&drops));
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("drops ICMP echo to one address (dusk's module runtime test)");
