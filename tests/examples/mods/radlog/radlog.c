// SPDX-License-Identifier: GPL-2.0
/*
 * radlog: logs the User-Name of each RADIUS Access-Request (RFC 2865)
 * that reaches the server's port, for an audit trail kept apart from the
 * RADIUS server's own.
 *
 * Its bug is a classic of option parsing: an attribute's Length counts
 * its own two header bytes, so the walk moves on by it; a malformed
 * attribute of Length 0 does not move the walk on, and the hook loops
 * forever on that datagram (the kernel's tcp_parse_options() guards
 * against the same with "if (opsize < 2) return;").
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/skbuff.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Audit log of RADIUS Access-Request user names");

static ushort port = 1812;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "UDP port of the RADIUS server");

#define RADIUS_HDR_LEN		20
#define RADIUS_ACCESS_REQUEST	1
#define RADIUS_ATTR_USER_NAME	1
#define RADIUS_MAX_LEN		4096

static unsigned long requests;

/* The User-Name attribute of a RADIUS message, or NULL. */
static const u8 *radius_user_name(const u8 *msg, unsigned int len,
				  unsigned int *name_len)
{
	unsigned int off = RADIUS_HDR_LEN;

	while (off + 2 <= len) {
		u8 type = msg[off];
		u8 alen = msg[off + 1];

		if (off + alen > len)
			break;
		if (type == RADIUS_ATTR_USER_NAME && alen > 2) {
			*name_len = alen - 2;
			return msg + off + 2;
		}
		off += alen;	/* radlog: the walk */
	}
	return NULL;
}

static unsigned int radlog_hook(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	static u8 buf[RADIUS_MAX_LEN];
	const struct iphdr *iph = ip_hdr(skb);
	struct udphdr _uh;
	const struct udphdr *uh;
	unsigned int off, len, name_len;
	const u8 *name;

	if (iph->protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	off = iph->ihl * 4;
	uh = skb_header_pointer(skb, off, sizeof(_uh), &_uh);
	if (!uh || ntohs(uh->dest) != port)
		return NF_ACCEPT;
	off += sizeof(*uh);
	len = min_t(unsigned int, skb->len - off, sizeof(buf));
	if (len < RADIUS_HDR_LEN || skb_copy_bits(skb, off, buf, len))
		return NF_ACCEPT;
	if (buf[0] != RADIUS_ACCESS_REQUEST)
		return NF_ACCEPT;
	len = min_t(unsigned int, len, (buf[2] << 8) | buf[3]);
	requests++;
	name = radius_user_name(buf, len, &name_len);
	if (name)
		pr_info("radlog: Access-Request %u from %pI4: user \"%.*s\"\n",
			buf[1], &iph->saddr, name_len, name);
	else
		pr_info("radlog: Access-Request %u from %pI4 without User-Name\n",
			buf[1], &iph->saddr);
	return NF_ACCEPT;
}

static struct nf_hook_ops radlog_ops = {
	.hook = radlog_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_PRE_ROUTING,
	.priority = NF_IP_PRI_FIRST,
};

static int __init radlog_init(void)
{
	int err = nf_register_net_hook(&init_net, &radlog_ops);

	if (err)
		return err;
	pr_info("radlog: loaded, port %u\n", port);
	return 0;
}

static void __exit radlog_exit(void)
{
	nf_unregister_net_hook(&init_net, &radlog_ops);
	pr_info("radlog: %lu requests, unloaded\n", requests);
}

module_init(radlog_init);
module_exit(radlog_exit);
