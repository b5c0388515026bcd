// SPDX-License-Identifier: GPL-2.0
/*
 * Netfilter proxy hooks: for each hook the program registers, dusk.ko
 * registers its proxy (nf_proxy.c) at the same place and priority, and
 * removes it when the program unregisters it or the session ends.
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
	u32 hold_ms = le32_to_cpu(hr->hold_ms), policy = le32_to_cpu(hr->policy);
	struct dusk_session *s = r->s;
	static u32 next_handle;
	struct dusk_hook *hook;
	int ret;

	if ((pf != NFPROTO_IPV4 && pf != NFPROTO_IPV6 && pf != NFPROTO_INET) ||
	    hooknum >= NF_INET_NUMHOOKS || hr->pad ||
	    hold_ms > 3600 * 1000 || policy >= __DUSK_HOOK_POLICY_MAX)
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
	hook->hold_ms = hold_ms ? hold_ms : s->params.hold_ms;
	hook->policy = policy == DUSK_HOOK_POLICY_SESSION ? s->params.policy :
		       policy == DUSK_HOOK_POLICY_DROP ? DUSK_POLICY_DROP :
		       DUSK_POLICY_ACCEPT;
	atomic64_set(&hook->released, 0);
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
		dusk_pktq_release_hook(hook);
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
		dusk_pktq_release_hook(hook);
	list_for_each_entry_safe(hook, tmp, &s->hooks, list)
		dusk_hook_free(s, hook);
}

u32 dusk_hooks_count(struct dusk_session *s, void *p, u32 max)
{
	struct dusk_hook_count *c = p;
	struct dusk_hook *hook;
	u32 n = 0;

	list_for_each_entry(hook, &s->hooks, list) {
		if (n == max)
			break;
		c[n].handle = cpu_to_le32(hook->handle);
		c[n].policy = cpu_to_le32(hook->policy);
		c[n].released = cpu_to_le64(atomic64_read(&hook->released));
		n++;
	}
	return n;
}

/*
 * The first hook at a place and the removal of the last switch one of
 * netfilter's static keys, which patches kernel text on every CPU. A
 * session registers and removes its proxies each time it starts and ends;
 * under qemu's TCG on an overloaded host a CPU was seen stuck for minutes
 * at such a patched site (ip_local_deliver) just after a session's hooks
 * went away. dusk.ko holds the keys of the places it proxies while it is
 * loaded: sessions then never patch text, and a place without hooks costs
 * a pointer test per packet.
 */
void dusk_nf_keys_hold(void)
{
#ifdef CONFIG_JUMP_LABEL
	int h;

	for (h = 0; h < NF_INET_NUMHOOKS; h++) {
		static_key_slow_inc(&nf_hooks_needed[NFPROTO_IPV4][h]);
		static_key_slow_inc(&nf_hooks_needed[NFPROTO_IPV6][h]);
	}
#endif
}

void dusk_nf_keys_release(void)
{
#ifdef CONFIG_JUMP_LABEL
	int h;

	for (h = 0; h < NF_INET_NUMHOOKS; h++) {
		static_key_slow_dec(&nf_hooks_needed[NFPROTO_IPV4][h]);
		static_key_slow_dec(&nf_hooks_needed[NFPROTO_IPV6][h]);
	}
#endif
}
