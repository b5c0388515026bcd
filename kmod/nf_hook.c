// SPDX-License-Identifier: GPL-2.0
/*
 * Netfilter proxy hooks: for each hook the program registers, dusk.ko
 * registers this proxy at the same place and priority. The proxy queues
 * the packet (NF_QUEUE to dusk's queue handler, pktq.c), which hands it
 * to the program and later reinjects it with the program's verdict.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/netfilter/nf_queue.h>

#include "dusk_kmod.h"

#define DUSK_MAX_HOOKS	64

/*
 * dusk's own datagrams cross the very hooks it proxies: let them through,
 * or a hook would feed on itself. Fragments carry no port; those from the
 * peer's address are taken to be ours (the peer sends little else).
 */
static bool dusk_own_traffic(struct sk_buff *skb,
			     const struct nf_hook_state *state)
{
	struct dusk_session *s = READ_ONCE(dusk.session);
	const struct udphdr *uh;
	const struct iphdr *iph;
	struct udphdr _uh;

	if (skb->sk && skb->sk == dusk.sock->sk)
		return true;
	if (state->pf != NFPROTO_IPV4 || !net_eq(state->net, &init_net))
		return false;
	iph = ip_hdr(skb);
	if (iph->protocol != IPPROTO_UDP)
		return false;
	if (ip_is_fragment(iph))
		return s && (iph->saddr == s->peer[DUSK_CHAN_MAIN].sin_addr.s_addr ||
			     iph->daddr == s->peer[DUSK_CHAN_MAIN].sin_addr.s_addr);
	uh = skb_header_pointer(skb, skb_network_offset(skb) + iph->ihl * 4,
				sizeof(_uh), &_uh);
	return uh && (uh->dest == htons(dusk.port) ||
		      uh->source == htons(dusk.port));
}

static unsigned int dusk_nf_proxy(void *priv, struct sk_buff *skb,
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

static struct net *dusk_net_get(u64 addr)
{
	struct net *net, *found = NULL;

	if (!addr)
		return get_net(&init_net);
	rcu_read_lock();
	for_each_net_rcu(net) {
		if ((unsigned long)net == addr) {
			found = maybe_get_net(net);
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

int dusk_do_hook_register(struct dusk_req *r)
{
	const struct dusk_hook_register *hr = r->payload;
	struct dusk_hook_handle *rep = r->reply;
	u32 pf = le32_to_cpu(hr->pf), hooknum = le32_to_cpu(hr->hooknum);
	struct dusk_session *s = r->s;
	static u32 next_handle;
	struct dusk_hook *hook;
	int ret;

	if ((pf != NFPROTO_IPV4 && pf != NFPROTO_IPV6 && pf != NFPROTO_INET) ||
	    hooknum >= NF_INET_NUMHOOKS || hr->pad)
		return -EINVAL;
	if (s->nr_hooks >= DUSK_MAX_HOOKS)
		return -ENOSPC;
	hook = kzalloc(sizeof(*hook), GFP_KERNEL);
	if (!hook)
		return -ENOMEM;
	hook->net = dusk_net_get(le64_to_cpu(hr->net));
	if (!hook->net) {
		ret = -ENODEV;
		goto out_hook;
	}
	hook->s = s;
	hook->cookie = le64_to_cpu(hr->cookie);
	do {
		hook->handle = ++next_handle;
	} while (!hook->handle);
	hook->ops.hook = dusk_nf_proxy;
	hook->ops.priv = hook;
	hook->ops.pf = pf;
	hook->ops.hooknum = hooknum;
	hook->ops.priority = (s32)le32_to_cpu(hr->priority);
	ret = nf_register_net_hook(hook->net, &hook->ops);
	if (ret)
		goto out_net;
	list_add_tail(&hook->list, &s->hooks);
	s->nr_hooks++;
	rep->handle = cpu_to_le32(hook->handle);
	rep->pad = 0;
	r->reply_len = sizeof(*rep);
	return 0;

out_net:
	put_net(hook->net);
out_hook:
	kfree(hook);
	return ret;
}

static void dusk_hook_free(struct dusk_session *s, struct dusk_hook *hook)
{
	nf_unregister_net_hook(hook->net, &hook->ops);
	put_net(hook->net);
	list_del(&hook->list);
	s->nr_hooks--;
	kfree(hook);
}

/*
 * Stop queueing, wait until no CPU is inside the proxy (after that, every
 * packet it queued is in our list), release those packets by policy while
 * the hook still marks their place in the chain, then unregister.
 */
int dusk_do_hook_unregister(struct dusk_req *r)
{
	const struct dusk_hook_handle *h = r->payload;
	u32 handle = le32_to_cpu(h->handle);
	struct dusk_session *s = r->s;
	struct dusk_hook *hook;

	list_for_each_entry(hook, &s->hooks, list) {
		if (hook->handle != handle)
			continue;
		WRITE_ONCE(hook->dying, true);
		synchronize_net();
		dusk_pktq_release_hook(hook, s->params.policy);
		dusk_hook_free(s, hook);
		return 0;
	}
	return -ENOENT;
}

void dusk_hooks_end(struct dusk_session *s)
{
	struct dusk_hook *hook, *tmp;

	if (list_empty(&s->hooks))
		return;
	list_for_each_entry(hook, &s->hooks, list)
		WRITE_ONCE(hook->dying, true);
	synchronize_net();
	list_for_each_entry(hook, &s->hooks, list)
		dusk_pktq_release_hook(hook, s->params.policy);
	list_for_each_entry_safe(hook, tmp, &s->hooks, list)
		dusk_hook_free(s, hook);
}
