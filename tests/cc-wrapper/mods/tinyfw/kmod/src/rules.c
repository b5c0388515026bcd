// SPDX-License-Identifier: GPL-2.0
/* tinyfw rule table: parsing the rules parameter and matching packets. */
#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/in.h>

#include <fw_rules.h>

struct fw_rule fw_rules[FW_MAX_RULES];
int fw_nrules;

static int parse_one(char *spec, struct fw_rule *r)
{
	char *action, *net, *proto, *port, *slash;
	unsigned int bits = 32;
	u16 p;

	action = strsep(&spec, ":");
	net = strsep(&spec, ":");
	proto = strsep(&spec, ":");
	port = spec;
	if (!action || !net || !proto || !port)
		return -EINVAL;

	if (!strcmp(action, "drop"))
		r->action = FW_DROP;
	else if (!strcmp(action, "log"))
		r->action = FW_LOG;
	else if (!strcmp(action, "accept"))
		r->action = FW_ACCEPT;
	else
		return -EINVAL;

	slash = strchr(net, '/');
	if (slash) {
		*slash = 0;
		if (kstrtouint(slash + 1, 10, &bits) || bits > 32)
			return -EINVAL;
	}
	r->saddr = in_aton(net);
	r->smask = bits ? htonl(~0U << (32 - bits)) : 0;
	r->saddr &= r->smask;

	if (!strcmp(proto, "tcp"))
		r->proto = IPPROTO_TCP;
	else if (!strcmp(proto, "udp"))
		r->proto = IPPROTO_UDP;
	else if (!strcmp(proto, "icmp"))
		r->proto = IPPROTO_ICMP;
	else
		r->proto = 0;

	if (kstrtou16(port, 10, &p))
		return -EINVAL;
	r->dport = htons(p);
	r->in = 1;
	r->out = 1;
	r->hits = 0;
	return 0;
}

int fw_rules_init(const char *spec)
{
	static char buf[256];
	char *s = buf, *one;
	int ret;

	strscpy(buf, spec, sizeof(buf));
	fw_nrules = 0;
	while ((one = strsep(&s, ",")) != NULL) {
		if (!*one)
			continue;
		if (fw_nrules == FW_MAX_RULES)
			return -ENOSPC;
		ret = parse_one(one, &fw_rules[fw_nrules]);
		if (ret)
			return ret;
		fw_nrules++;
	}
	return fw_nrules;
}

struct fw_rule *fw_match(__be32 saddr, __u8 proto, __be16 dport, int out)
{
	int i;

	for (i = 0; i < fw_nrules; i++) {
		struct fw_rule *r = &fw_rules[i];

		if (out ? !r->out : !r->in)
			continue;
		if ((saddr & r->smask) != r->saddr)
			continue;
		if (r->proto && r->proto != proto)
			continue;
		if (r->dport && r->dport != dport)
			continue;
		r->hits++;
		return r;
	}
	return NULL;
}
