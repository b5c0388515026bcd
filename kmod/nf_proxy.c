// SPDX-License-Identifier: GPL-2.0
/*
 * The proxy hook: it queues each packet (NF_QUEUE to dusk's queue handler,
 * pktq.c), which hands it to the program and later reinjects it with the
 * program's verdict; and where a queued packet's proxy stands in its hook
 * chain, for that reinjection.
 */
#include <linux/kernel.h>
#include <linux/atomic.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/netfilter/nf_queue.h>

#include "dusk_kmod.h"

/*
 * The fragments of dusk's own large datagrams from the peer, by their
 * first fragment's (source, IP id): a later fragment carries no port, and
 * is dusk's only if its datagram is. Recent ones only (ids wrap); slirp
 * and the defragmenter see fragments in order. Written in softirq on any
 * CPU: a slot is one word, the newest overwrites the oldest.
 */
#define DUSK_OWN_FRAGS	64

static unsigned long dusk_own_frags[DUSK_OWN_FRAGS];
static atomic_t dusk_own_frags_next;

static unsigned long dusk_frag_key(const struct iphdr *iph)
{
	/* Never 0 (an empty slot): the id is in the high bits, 1 below. */
	return ((unsigned long)ntohs(iph->id) << 33) |
	       ((unsigned long)ntohl(iph->saddr) << 1) | 1;
}

static void dusk_frag_remember(const struct iphdr *iph)
{
	unsigned int i = atomic_inc_return(&dusk_own_frags_next);

	WRITE_ONCE(dusk_own_frags[i % DUSK_OWN_FRAGS], dusk_frag_key(iph));
}

static bool dusk_frag_is_own(const struct iphdr *iph)
{
	unsigned long key = dusk_frag_key(iph);
	unsigned int i;

	for (i = 0; i < DUSK_OWN_FRAGS; i++)
		if (READ_ONCE(dusk_own_frags[i]) == key)
			return true;
	return false;
}

/*
 * dusk's own datagrams cross the very hooks it proxies: let them through,
 * or a hook would feed on itself. A datagram larger than the path's MTU
 * reaches PRE_ROUTING as fragments (nothing reassembles before it unless
 * conntrack is loaded); only the first carries the ports: it is dusk's
 * when they are, and then so are the later fragments of its datagram.
 */
static bool dusk_own_traffic(struct sk_buff *skb,
			     const struct nf_hook_state *state)
{
	const struct udphdr *uh;
	const struct iphdr *iph;
	struct udphdr _uh;
	bool own;

	if (skb->sk && skb->sk == dusk.sock->sk)
		return true;
	if (state->pf != NFPROTO_IPV4 || !net_eq(state->net, &init_net))
		return false;
	iph = ip_hdr(skb);
	if (iph->protocol != IPPROTO_UDP)
		return false;
	if (iph->frag_off & htons(IP_OFFSET))
		return dusk_frag_is_own(iph);
	uh = skb_header_pointer(skb, skb_network_offset(skb) + iph->ihl * 4,
				sizeof(_uh), &_uh);
	own = uh && (uh->dest == htons(dusk.port) ||
		     uh->source == htons(dusk.port));
	if (own && ip_is_fragment(iph))
		dusk_frag_remember(iph);
	return own;
}

unsigned int dusk_nf_proxy(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	struct dusk_hook *hook = priv;

	if (READ_ONCE(hook->dying) || dusk_own_traffic(skb, state))
		return NF_ACCEPT;
	/* Bypass: should no queue handler be there, accept. */
	return NF_QUEUE_NR(DUSK_NF_QUEUE) | NF_VERDICT_FLAG_QUEUE_BYPASS;
}

static struct nf_hook_entries *dusk_hook_entries(const struct net *net, u8 pf,
						 unsigned int hooknum)
{
	if (hooknum >= NF_INET_NUMHOOKS)
		return NULL;
	switch (pf) {
	case NFPROTO_IPV4:
		return rcu_dereference(net->nf.hooks_ipv4[hooknum]);
	case NFPROTO_IPV6:
		return rcu_dereference(net->nf.hooks_ipv6[hooknum]);
	}
	return NULL;
}

/* The dusk hook that queued entry, or NULL if another hook did. */
struct dusk_hook *dusk_hook_of_entry(const struct nf_queue_entry *entry)
{
	const struct nf_hook_entries *e;

	e = dusk_hook_entries(entry->state.net, entry->state.pf,
			      entry->state.hook);
	if (!e || entry->hook_index >= e->num_hook_entries ||
	    e->hooks[entry->hook_index].hook != dusk_nf_proxy)
		return NULL;
	return e->hooks[entry->hook_index].priv;
}

/*
 * Hooks registered or unregistered while a packet waited move the others
 * in the hook array: find ours again so that nf_reinject() resumes right
 * after it. Called under rcu_read_lock(); false if the hook is gone.
 */
bool dusk_hook_entry_fix(struct nf_queue_entry *entry,
			 const struct dusk_hook *hook)
{
	const struct nf_hook_entries *e;
	unsigned int i;

	e = dusk_hook_entries(entry->state.net, entry->state.pf,
			      entry->state.hook);
	if (!e)
		return false;
	i = entry->hook_index;
	if (i < e->num_hook_entries && e->hooks[i].priv == hook &&
	    e->hooks[i].hook == dusk_nf_proxy)
		return true;
	for (i = 0; i < e->num_hook_entries; i++) {
		if (e->hooks[i].priv == hook &&
		    e->hooks[i].hook == dusk_nf_proxy) {
			entry->hook_index = i;
			return true;
		}
	}
	return false;
}
