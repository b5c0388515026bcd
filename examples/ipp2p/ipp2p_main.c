// SPDX-License-Identifier: GPL-2.0
/*
 * ipp2p - a peer-to-peer traffic classifier
 *
 * A netfilter module after the ipp2p match of Eicke Friedrich. A
 * POST_ROUTING hook looks at the first bytes of the payload of TCP and UDP
 * packets for the signatures of BitTorrent, eDonkey and Gnutella
 * (ipp2p_sig.c). A packet that matches classifies its flow (both
 * directions of one address/port/protocol tuple) until the flow has been
 * idle for flow_timeout seconds; the first match of each flow is logged.
 * Every packet of a classified flow
 *  - gets skb->mark = mark + the protocol's number (1 BitTorrent,
 *    2 eDonkey, 3 Gnutella) if mark= is not 0,
 *  - is dropped if drop=1.
 * Matches and flows per protocol are counted and printed at unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/ip.h>
#include <linux/jhash.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>

#include "ipp2p.h"

static bool drop;
module_param(drop, bool, 0444);
MODULE_PARM_DESC(drop, "Drop the packets of P2P flows");

static uint mark;
module_param(mark, uint, 0444);
MODULE_PARM_DESC(mark,
		 "If not 0, P2P packets get mark + 1 (BitTorrent), 2 (eDonkey) or 3 (Gnutella)");

static uint max_flows = 1024;
module_param(max_flows, uint, 0444);
MODULE_PARM_DESC(max_flows, "P2P flows remembered at once (default 1024)");

static uint flow_timeout = 300;
module_param(flow_timeout, uint, 0444);
MODULE_PARM_DESC(flow_timeout, "Seconds an idle flow is remembered (default 300)");

/* One flow: its tuple with the lower address/port pair first. */
struct ipp2p_key {
	__be32 addr[2];
	__be16 port[2];
	u8 protocol;
};

struct ipp2p_flow {
	struct hlist_node node;
	struct ipp2p_key key;
	enum ipp2p_proto proto;
	unsigned long last_seen;	/* jiffies */
};

#define IPP2P_HASH_BITS 8

/* The flows and the counters, under ipp2p_lock (bottom halves off: the
 * hook may run in process context too). */
static DEFINE_SPINLOCK(ipp2p_lock);
static DEFINE_HASHTABLE(ipp2p_flows, IPP2P_HASH_BITS);
static unsigned int ipp2p_nr_flows;
static unsigned long ipp2p_matches[__IPP2P_MAX];
static unsigned long ipp2p_flows_seen[__IPP2P_MAX];
static unsigned long ipp2p_dropped;
static unsigned long ipp2p_table_full;

static void ipp2p_make_key(struct ipp2p_key *key, const struct iphdr *iph,
			   __be16 sport, __be16 dport)
{
	bool swap = ntohl(iph->saddr) > ntohl(iph->daddr) ||
		    (iph->saddr == iph->daddr && ntohs(sport) > ntohs(dport));

	memset(key, 0, sizeof(*key));
	key->addr[swap] = iph->saddr;
	key->addr[!swap] = iph->daddr;
	key->port[swap] = sport;
	key->port[!swap] = dport;
	key->protocol = iph->protocol;
}

static u32 ipp2p_hash(const struct ipp2p_key *key)
{
	return jhash_3words((__force u32)key->addr[0],
			    (__force u32)key->addr[1],
			    ((__force u32)key->port[0] << 16 |
			     (__force u32)key->port[1]) ^ key->protocol, 0);
}

static bool ipp2p_key_equal(const struct ipp2p_key *a,
			    const struct ipp2p_key *b)
{
	return a->addr[0] == b->addr[0] && a->addr[1] == b->addr[1] &&
	       a->port[0] == b->port[0] && a->port[1] == b->port[1] &&
	       a->protocol == b->protocol;
}

/* The live flow of key, forgetting it if it has expired. */
static struct ipp2p_flow *ipp2p_flow_find(const struct ipp2p_key *key,
					  u32 hash)
{
	struct ipp2p_flow *flow;
	struct hlist_node *tmp;

	hash_for_each_possible_safe(ipp2p_flows, flow, tmp, node, hash) {
		if (!ipp2p_key_equal(&flow->key, key))
			continue;
		if (time_after(jiffies, flow->last_seen + flow_timeout * HZ)) {
			hash_del(&flow->node);
			kfree(flow);
			ipp2p_nr_flows--;
			return NULL;
		}
		return flow;
	}
	return NULL;
}

/*
 * Look the packet's flow up and, if it is not classified yet, classify it
 * by data (the first len bytes of a payload of total bytes). Returns the
 * flow's protocol.
 */
static enum ipp2p_proto ipp2p_classify(const struct iphdr *iph, __be16 sport,
				       __be16 dport, const u8 *data,
				       unsigned int len, unsigned int total)
{
	struct ipp2p_flow *flow, *new = NULL;
	enum ipp2p_proto proto = IPP2P_NONE;
	struct ipp2p_key key;
	u32 hash;

	ipp2p_make_key(&key, iph, sport, dport);
	hash = ipp2p_hash(&key);

	if (data) {
		proto = iph->protocol == IPPROTO_TCP ?
			ipp2p_match_tcp(data, len, total) :
			ipp2p_match_udp(data, len, total);
		if (proto)
			new = kmalloc(sizeof(*new), GFP_ATOMIC);
	}

	spin_lock_bh(&ipp2p_lock);
	flow = ipp2p_flow_find(&key, hash);
	if (flow) {
		flow->last_seen = jiffies;
		if (proto)
			ipp2p_matches[proto]++;
		proto = flow->proto;
	} else if (proto) {
		ipp2p_matches[proto]++;
		ipp2p_flows_seen[proto]++;
		pr_info("%s: %s %pI4:%u -> %pI4:%u\n",
			ipp2p_proto_names[proto],
			iph->protocol == IPPROTO_TCP ? "TCP" : "UDP",
			&iph->saddr, ntohs(sport), &iph->daddr, ntohs(dport));
		if (new && ipp2p_nr_flows < max_flows) {
			new->key = key;
			new->proto = proto;
			new->last_seen = jiffies;
			hash_add(ipp2p_flows, &new->node, hash);
			ipp2p_nr_flows++;
			new = NULL;
		} else {
			ipp2p_table_full++;
		}
	}
	if (proto && drop)
		ipp2p_dropped++;
	spin_unlock_bh(&ipp2p_lock);

	kfree(new);
	return proto;
}

static unsigned int ipp2p_hook(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int off = ip_hdrlen(skb), total, len = 0;
	u8 _data[IPP2P_PAYLOAD_MAX];
	const u8 *data = NULL;
	enum ipp2p_proto proto;
	__be16 sport, dport;

	if (iph->frag_off & htons(IP_OFFSET))
		return NF_ACCEPT;

	switch (iph->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr _th;
		const struct tcphdr *th;

		th = skb_header_pointer(skb, off, sizeof(_th), &_th);
		if (!th)
			return NF_ACCEPT;
		sport = th->source;
		dport = th->dest;
		off += th->doff * 4;
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr _uh;
		const struct udphdr *uh;

		uh = skb_header_pointer(skb, off, sizeof(_uh), &_uh);
		if (!uh)
			return NF_ACCEPT;
		sport = uh->source;
		dport = uh->dest;
		off += sizeof(_uh);
		break;
	}
	default:
		return NF_ACCEPT;
	}

	total = skb->len > off ? skb->len - off : 0;
	if (total) {
		len = min_t(unsigned int, total, sizeof(_data));
		data = skb_header_pointer(skb, off, len, _data);
	}

	proto = ipp2p_classify(iph, sport, dport, data, len, total);
	if (!proto)
		return NF_ACCEPT;
	if (mark)
		skb->mark = mark + proto;
	return drop ? NF_DROP : NF_ACCEPT;
}

static struct nf_hook_ops ipp2p_ops = {
	.hook		= ipp2p_hook,
	.pf		= NFPROTO_IPV4,
	.hooknum	= NF_INET_POST_ROUTING,
	.priority	= NF_IP_PRI_FIRST,
};

static int __init ipp2p_init(void)
{
	int err;

	if (!flow_timeout) {
		pr_err("flow_timeout must not be 0\n");
		return -EINVAL;
	}
	err = nf_register_net_hook(&init_net, &ipp2p_ops);
	if (err) {
		pr_err("cannot register the hook: %d\n", err);
		return err;
	}
	pr_info("%s P2P flows, mark %#x, at most %u flows idle for %u s\n",
		drop ? "dropping" : "classifying", mark, max_flows,
		flow_timeout);
	return 0;
}

static void __exit ipp2p_exit(void)
{
	struct ipp2p_flow *flow;
	struct hlist_node *tmp;
	unsigned int bkt;
	int proto;

	nf_unregister_net_hook(&init_net, &ipp2p_ops);

	for (proto = IPP2P_NONE + 1; proto < __IPP2P_MAX; proto++)
		pr_info("%s: %lu matches in %lu flows\n",
			ipp2p_proto_names[proto], ipp2p_matches[proto],
			ipp2p_flows_seen[proto]);
	pr_info("%lu packets dropped, %lu flows not remembered\n",
		ipp2p_dropped, ipp2p_table_full);

	hash_for_each_safe(ipp2p_flows, bkt, tmp, flow, node) {
		hash_del(&flow->node);
		kfree(flow);
	}
}

module_init(ipp2p_init);
module_exit(ipp2p_exit);

MODULE_DESCRIPTION("P2P traffic classifier: BitTorrent, eDonkey, Gnutella");
MODULE_LICENSE("GPL");
