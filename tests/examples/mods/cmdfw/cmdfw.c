// SPDX-License-Identifier: GPL-2.0
/*
 * cmdfw: a small firewall steered by text commands sent in UDP datagrams
 * to a control port ("ctl"), from this host only:
 *
 *	block A.B.C.D	drop UDP from A.B.C.D from now on
 *	flush		forget every blocked source
 *
 * Its bug is a common one: the command's argument is taken as it comes.
 * "block" without an address leaves strsep() returning NULL, and the hook
 * hands that to in_aton(). As a .ko it oopses the kernel.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/slab.h>
#include <linux/inet.h>
#include <linux/string.h>
#include <linux/skbuff.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("UDP firewall steered by commands on a control port");

static ushort ctl = 9500;
module_param(ctl, ushort, 0444);
MODULE_PARM_DESC(ctl, "UDP port that takes commands");

#define CMDFW_MAX	16

static __be32 *blocked;		/* allocated at the first "block" */
static unsigned int nr_blocked;

static bool is_blocked(__be32 addr)
{
	unsigned int i;

	for (i = 0; i < nr_blocked; i++)
		if (blocked[i] == addr)
			return true;
	return false;
}

static void cmdfw_command(char *cmd)
{
	char *verb, *arg;

	verb = strsep(&cmd, " \n");
	arg = strsep(&cmd, " \n");
	if (!strcmp(verb, "block")) {
		__be32 addr = in_aton(arg);	/* cmdfw: the fault */

		if (!blocked)
			blocked = kcalloc(CMDFW_MAX, sizeof(*blocked),
					  GFP_ATOMIC);
		if (!blocked || nr_blocked == CMDFW_MAX)
			return;
		blocked[nr_blocked++] = addr;
		pr_info("cmdfw: blocking %pI4\n", &addr);
	} else if (!strcmp(verb, "flush")) {
		kfree(blocked);
		blocked = NULL;
		nr_blocked = 0;
		pr_info("cmdfw: flushed\n");
	}
}

static unsigned int cmdfw_hook(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	struct iphdr *iph = ip_hdr(skb);
	struct udphdr _uh, *uh;
	char cmd[64];
	int len;

	if (iph->protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	uh = skb_header_pointer(skb, iph->ihl * 4, sizeof(_uh), &_uh);
	if (!uh)
		return NF_ACCEPT;
	if (ntohs(uh->dest) != ctl)
		return is_blocked(iph->saddr) ? NF_DROP : NF_ACCEPT;
	if (!ipv4_is_loopback(iph->saddr))
		return NF_DROP;

	len = min_t(int, ntohs(uh->len) - (int)sizeof(*uh), sizeof(cmd) - 1);
	if (len <= 0 ||
	    skb_copy_bits(skb, iph->ihl * 4 + sizeof(*uh), cmd, len))
		return NF_DROP;
	cmd[len] = '\0';
	cmdfw_command(cmd);
	return NF_DROP;
}

static struct nf_hook_ops cmdfw_ops = {
	.hook = cmdfw_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_PRE_ROUTING,
	.priority = NF_IP_PRI_FIRST,
};

static int __init cmdfw_init(void)
{
	int ret = nf_register_net_hook(&init_net, &cmdfw_ops);

	if (ret)
		return ret;
	pr_info("cmdfw: loaded, commands on port %u\n", ctl);
	return 0;
}

static void __exit cmdfw_exit(void)
{
	nf_unregister_net_hook(&init_net, &cmdfw_ops);
	kfree(blocked);
	pr_info("cmdfw: unloaded\n");
}

module_init(cmdfw_init);
module_exit(cmdfw_exit);
