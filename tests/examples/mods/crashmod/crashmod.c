// SPDX-License-Identifier: GPL-2.0
/*
 * crashmod: per-source UDP statistics for one port, for the sources given
 * in "watch" (comma-separated addresses). Each watched source gets a
 * record at load; the hook counts that source's datagrams and bytes.
 *
 * Its bug is a common one: the hook trusts the lookup. A datagram to the
 * port from a source nobody watches finds no record, and the hook writes
 * through the NULL the lookup returned. As a .ko it oopses the kernel.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/inet.h>
#include <linux/string.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("UDP statistics per watched source");

static char *watch = "127.0.0.2";
module_param(watch, charp, 0444);
MODULE_PARM_DESC(watch, "sources to count, comma-separated");

static ushort port = 9400;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "UDP destination port to count");

struct src_stat {
	struct list_head list;
	__be32 addr;
	unsigned long packets;
	unsigned long bytes;
};

static LIST_HEAD(src_list);

static struct src_stat *find_src(__be32 addr)
{
	struct src_stat *s;

	list_for_each_entry(s, &src_list, list)
		if (s->addr == addr)
			return s;
	return NULL;
}

static unsigned int crashmod_hook(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	struct iphdr *iph = ip_hdr(skb);
	struct udphdr _uh, *uh;
	struct src_stat *st;

	if (iph->protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	uh = skb_header_pointer(skb, iph->ihl * 4, sizeof(_uh), &_uh);
	if (!uh || ntohs(uh->dest) != port)
		return NF_ACCEPT;

	st = find_src(iph->saddr);
	st->packets++;		/* crashmod: the fault */
	st->bytes += skb->len;
	pr_info("crashmod: %pI4 -> port %u: %lu datagrams\n", &iph->saddr,
		port, st->packets);
	return NF_ACCEPT;
}

static struct nf_hook_ops crashmod_ops = {
	.hook = crashmod_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_PRE_ROUTING,
	.priority = NF_IP_PRI_FIRST,
};

static void free_srcs(void)
{
	struct src_stat *s, *tmp;

	list_for_each_entry_safe(s, tmp, &src_list, list) {
		list_del(&s->list);
		kfree(s);
	}
}

static int __init crashmod_init(void)
{
	char *p = watch;
	char addr[16];
	int ret;

	while (p && *p) {
		size_t len = strcspn(p, ",");
		struct src_stat *s;

		if (len >= sizeof(addr)) {
			free_srcs();
			return -EINVAL;
		}
		memcpy(addr, p, len);
		addr[len] = '\0';
		s = kzalloc(sizeof(*s), GFP_KERNEL);
		if (!s) {
			free_srcs();
			return -ENOMEM;
		}
		s->addr = in_aton(addr);
		list_add(&s->list, &src_list);
		pr_info("crashmod: watching %pI4\n", &s->addr);
		p += len;
		if (*p == ',')
			p++;
	}
	ret = nf_register_net_hook(&init_net, &crashmod_ops);
	if (ret) {
		free_srcs();
		return ret;
	}
	pr_info("crashmod: loaded, port %u\n", port);
	return 0;
}

static void __exit crashmod_exit(void)
{
	nf_unregister_net_hook(&init_net, &crashmod_ops);
	free_srcs();
	pr_info("crashmod: unloaded\n");
}

module_init(crashmod_init);
module_exit(crashmod_exit);
