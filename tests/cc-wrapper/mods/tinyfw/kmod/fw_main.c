// SPDX-License-Identifier: GPL-2.0
/*
 * tinyfw - a tiny netfilter firewall.
 *
 * Rules come as a module parameter, "action:addr/bits:proto:port,...",
 * e.g. rules="drop:10.0.0.0/8:tcp:23,log:0.0.0.0/0:udp:53".
 */
#include <linux/in.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

#include "../include/fw_rules.h"
#include "src/hook.h"

static char *rules = "";
module_param(rules, charp, 0444);
MODULE_PARM_DESC(rules, "Rules: action:addr/bits:proto:port,...");

struct fw_stats fw_stats;

static const char *const action_names[] = {
	[FW_ACCEPT] = "accept",
	[FW_DROP] = "drop",
	[FW_LOG] = "log",
};

static int __init tinyfw_init(void)
{
	int ret, i;

	ret = fw_rules_init(rules);
	if (ret < 0) {
		printk(KERN_ERR FW_NAME ": bad rules '%s'\n", rules);
		return ret;
	}
	for (i = 0; i < fw_nrules; i++)
		printk(KERN_INFO FW_NAME ": rule %d: %pI4/%pI4 proto %u port %u: %s\n",
		       i, &fw_rules[i].saddr, &fw_rules[i].smask,
		       fw_rules[i].proto, ntohs(fw_rules[i].dport),
		       action_names[fw_rules[i].action]);
	fw_stats.enabled = 1;
	fw_stats.nrules = fw_nrules;
	ret = fw_hooks_register();
	if (ret) {
		printk(KERN_ERR FW_NAME ": cannot register hooks (%d)\n", ret);
		return ret;
	}
	printk(KERN_INFO FW_NAME ": loaded, %d rules, hooks at %s\n",
	       fw_nrules, TINYFW_HOOKS);
	return 0;
}

static void __exit tinyfw_exit(void)
{
	fw_hooks_unregister();
	printk(KERN_INFO FW_NAME ": unloaded, %lu packets dropped\n",
	       fw_stats.dropped);
}

module_init(tinyfw_init);
module_exit(tinyfw_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("tiny netfilter firewall");
