/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fw_rules.h - tinyfw's rule table, shared by the kernel module and the
 * (planned) userspace rule loader.
 */
#ifndef _FW_RULES_H
#define _FW_RULES_H

#include <linux/types.h>

#define FW_NAME "tinyfw"

#ifndef FW_MAX_RULES
#define FW_MAX_RULES 16
#endif

enum fw_action {
	FW_ACCEPT,
	FW_DROP,
	FW_LOG,
};

struct fw_rule {
	__be32 saddr;
	__be32 smask;
	__be16 dport;		/* 0: any port */
	__u8 proto;		/* IPPROTO_*, 0: any protocol */
	enum fw_action action;
	unsigned int in:1;	/* check incoming packets */
	unsigned int out:1;	/* check outgoing packets */
	unsigned long hits;
};

struct fw_stats {
	__u8 enabled;
	unsigned int nrules:8;
	unsigned int verbose:1;
	unsigned long dropped;
};

extern struct fw_rule fw_rules[FW_MAX_RULES];
extern int fw_nrules;
extern struct fw_stats fw_stats;

int fw_rules_init(const char *spec);
struct fw_rule *fw_match(__be32 saddr, __u8 proto, __be16 dport, int out);
int fw_hooks_register(void);
void fw_hooks_unregister(void);

#endif /* _FW_RULES_H */
