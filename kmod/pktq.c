// SPDX-License-Identifier: GPL-2.0
/*
 * The packet queue: dusk's netfilter queue handler keeps the entries its
 * proxy hooks queue, the thread sends each to the program as a HOOK
 * message (retransmitted until a VERDICT names it), applies the commit the
 * VERDICT carries and calls nf_reinject(). A packet that waits longer than
 * its hook's hold time, or is still queued when its hook or session goes,
 * is released by its hook's policy (the session's unless the hook was
 * registered with its own) and counted in the hook.
 *
 * The kernel has one queue handler slot, which nfnetlink_queue (NFQUEUE)
 * wants too. dusk chains: it loads nfnetlink_queue first if it can, takes
 * its place in the slot and passes on every entry that is not dusk's,
 * holding a reference on nfnetlink_queue so it cannot unload underneath.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/kmod.h>
#include <linux/slab.h>
#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <linux/jiffies.h>
#include <linux/uaccess.h>
#include <net/netfilter/nf_queue.h>

#include "dusk_kmod.h"

#define DUSK_HOOK_RTO_MS	200
#define DUSK_HOOK_RTO_MAX_MS	2000

struct dusk_packet {
	struct list_head list;
	struct nf_queue_entry *entry;
	struct dusk_hook *hook;
	u64 id;
	unsigned long queued;		/* jiffies */
	unsigned long sent;		/* jiffies of the last HOOK, 0: never */
	unsigned int tries;
	unsigned int cpu;		/* where the hook ran */
};

static const struct nf_queue_handler __rcu **dusk_qh_slot;
static const struct nf_queue_handler *dusk_qh_prev;
static struct module *dusk_qh_prev_owner;

/* Runs in the hook's context (softirq, or the thread during a reinject). */
int dusk_pktq_enqueue(struct nf_queue_entry *entry, struct dusk_hook *hook)
{
	struct dusk_packet *pkt;
	u32 policy;

	pkt = kmalloc(sizeof(*pkt), GFP_ATOMIC);
	spin_lock_bh(&dusk.pq_lock);
	if (!pkt || READ_ONCE(hook->dying) ||
	    dusk.nr_packets >= dusk.hold_max) {
		policy = hook->policy;
		dusk.rejected++;
		atomic64_inc(&hook->released);
		spin_unlock_bh(&dusk.pq_lock);
		kfree(pkt);
		/* With the proxy's bypass flag, -ESRCH means accept. */
		return policy == DUSK_POLICY_DROP ? -ENOSPC : -ESRCH;
	}
	pkt->entry = entry;
	pkt->hook = hook;
	pkt->id = ++dusk.next_packet_id;
	pkt->queued = jiffies;
	pkt->sent = 0;
	pkt->tries = 0;
	pkt->cpu = raw_smp_processor_id();
	list_add_tail(&pkt->list, &dusk.packets);
	dusk.nr_packets++;
	spin_unlock_bh(&dusk.pq_lock);
	dusk_wake();
	return 0;
}

static int dusk_qh_outfn(struct nf_queue_entry *entry, unsigned int queuenum)
{
	const struct nf_queue_handler *prev = dusk_qh_prev;
	struct dusk_hook *hook = NULL;

	if (queuenum == DUSK_NF_QUEUE)
		hook = dusk_hook_of_entry(entry);
	if (hook)
		return dusk_pktq_enqueue(entry, hook);
	return prev ? prev->outfn(entry, queuenum) : -ESRCH;
}

/*
 * Called whenever any hook is unregistered. dusk's entries need nothing:
 * dusk_hook_entry_fix() finds their place again at reinject time, and a
 * dusk hook leaves only after its packets are released.
 */
static void dusk_qh_hook_drop(struct net *net)
{
	const struct nf_queue_handler *prev = dusk_qh_prev;

	if (prev && prev->nf_hook_drop)
		prev->nf_hook_drop(net);
}

static const struct nf_queue_handler dusk_qh = {
	.outfn = dusk_qh_outfn,
	.nf_hook_drop = dusk_qh_hook_drop,
};

/* The thread only: it alone removes packets, so pkt stays valid here. */
static void dusk_pkt_reinject(struct dusk_packet *pkt, unsigned int verdict)
{
	struct nf_queue_entry *entry = pkt->entry;

	rcu_read_lock();
	if (dusk_hook_entry_fix(entry, pkt->hook)) {
		nf_reinject(entry, verdict);
	} else {
		/* Cannot happen while the hook is registered; be safe. */
		kfree_skb(entry->skb);
		nf_queue_entry_free(entry);
	}
	rcu_read_unlock();
	kfree(pkt);
}

static unsigned int dusk_policy_verdict(u32 policy)
{
	return policy == DUSK_POLICY_DROP ? NF_DROP : NF_ACCEPT;
}

static void dusk_release_list(struct list_head *list)
{
	struct dusk_packet *pkt, *tmp;

	list_for_each_entry_safe(pkt, tmp, list, list) {
		list_del(&pkt->list);
		dusk.cnt.released++;
		atomic64_inc(&pkt->hook->released);
		dusk_pkt_reinject(pkt, dusk_policy_verdict(pkt->hook->policy));
	}
}

void dusk_pktq_release_hook(struct dusk_hook *hook)
{
	struct dusk_packet *pkt, *tmp;
	LIST_HEAD(list);

	spin_lock_bh(&dusk.pq_lock);
	list_for_each_entry_safe(pkt, tmp, &dusk.packets, list) {
		if (pkt->hook == hook) {
			list_move_tail(&pkt->list, &list);
			dusk.nr_packets--;
		}
	}
	spin_unlock_bh(&dusk.pq_lock);
	dusk_release_list(&list);
}

/*
 * Append a segment holding [addr, addr+len) widened to whole lines (a line
 * never crosses a page, so the widening stays in mapped memory), cut short
 * to fit before end. Returns 1 if a segment was added.
 */
static u32 dusk_seg_put(void **p, void *end, const void *addr, size_t len)
{
	unsigned long start = ALIGN_DOWN((unsigned long)addr, DUSK_LINE_SIZE);
	unsigned long stop = ALIGN((unsigned long)addr + len, DUSK_LINE_SIZE);
	struct dusk_seg *seg = *p;
	long room = end - *p - (long)sizeof(*seg);

	if (!addr || !len || room < DUSK_LINE_SIZE)
		return 0;
	if (stop - start > room)
		stop = start + ALIGN_DOWN(room, DUSK_LINE_SIZE);
	if (copy_from_kernel_nofault(seg + 1, (void *)start, stop - start))
		return 0;
	seg->addr = cpu_to_le64(start);
	seg->len = cpu_to_le32(stop - start);
	seg->pad = 0;
	*p += sizeof(*seg) + (stop - start);
	return 1;
}

static u32 dusk_dev_put(void **p, void *end, const struct net_device *dev)
{
	/* The name (offset 0) and ifindex: what hooks look at first. */
	if (!dev)
		return 0;
	return dusk_seg_put(p, end, dev, IFNAMSIZ) +
	       dusk_seg_put(p, end, &dev->ifindex, sizeof(dev->ifindex));
}

/*
 * The most a packet's record takes: the record, seven segments, the skb,
 * the hook state, the shared info and two devices' name and ifindex each
 * widened to whole lines, and the prefetched data.
 */
static size_t dusk_hook_rec_max(const struct dusk_session *s)
{
	return sizeof(struct dusk_hook_msg) + 7 * sizeof(struct dusk_seg) +
	       ALIGN(sizeof(struct sk_buff), DUSK_LINE_SIZE) +
	       ALIGN(sizeof(struct nf_hook_state), DUSK_LINE_SIZE) +
	       6 * DUSK_LINE_SIZE + ALIGN(s->params.prefetch, DUSK_LINE_SIZE) +
	       DUSK_LINE_SIZE;
}

/* Append pkt's record at *p, with what its hook will read first. */
static void dusk_hook_rec_put(const struct dusk_session *s,
			      struct dusk_packet *pkt, void **p, void *end)
{
	struct nf_queue_entry *entry = pkt->entry;
	struct sk_buff *skb = entry->skb;
	struct dusk_hook_msg *m = *p;
	unsigned char *start;
	u32 n = 0;

	m->packet = cpu_to_le64(pkt->id);
	m->cookie = cpu_to_le64(pkt->hook->cookie);
	m->skb = cpu_to_le64((unsigned long)skb);
	m->state = cpu_to_le64((unsigned long)&entry->state);
	m->handle = cpu_to_le32(pkt->hook->handle);
	m->cpu = cpu_to_le32(pkt->cpu);
	*p = m + 1;
	n += dusk_seg_put(p, end, skb, sizeof(*skb));
	n += dusk_seg_put(p, end, &entry->state, sizeof(entry->state));
	n += dusk_seg_put(p, end, skb_shinfo(skb), DUSK_LINE_SIZE);
	n += dusk_dev_put(p, end, entry->state.in);
	n += dusk_dev_put(p, end, entry->state.out);
	/* The headers, from whichever of data and network header is first. */
	start = skb->data;
	if (skb_network_header(skb) < start &&
	    skb_network_header(skb) >= skb->head)
		start = skb_network_header(skb);
	if (s->params.prefetch && skb_tail_pointer(skb) > start)
		n += dusk_seg_put(p, end, start,
				  min_t(size_t, skb_tail_pointer(skb) - start,
					s->params.prefetch));
	m->nr_segs = cpu_to_le32(n);
	m->len = cpu_to_le32(*p - (void *)(m + 1));
}

/*
 * Send pkts[0..nr) to the program in as few HOOK datagrams as fit. The
 * thread only: packets leave the list only by its hand (verdicts and
 * expiry), so they stay valid here without the lock.
 */
static void dusk_hook_send(struct dusk_session *s, struct dusk_packet **pkts,
			   unsigned int nr, u64 held_from)
{
	void *end = dusk.tx_buf + min_t(u32, s->params.max_dgram,
					DUSK_MAX_DGRAM);
	size_t rec_max = dusk_hook_rec_max(s);
	struct dusk_hook_batch *b = NULL;
	unsigned int i;
	void *p = NULL;

	for (i = 0; i <= nr; i++) {
		if (b && (i == nr || end - p < (long)rec_max)) {
			dusk_send(s, DUSK_CHAN_MAIN, &s->peer[DUSK_CHAN_MAIN],
				  dusk.tx_buf, p - (void *)b);
			dusk.cnt.hook_batches++;
			b = NULL;
		}
		if (i == nr)
			break;
		if (!b) {
			b = dusk_msg_start(DUSK_MSG_HOOK, 0, DUSK_CHAN_MAIN,
					   pkts[i]->id, pkts[i]->id, 0);
			b->held_from = cpu_to_le64(held_from);
			b->nr = 0;
			b->pad = 0;
			p = b + 1;
		}
		dusk_hook_rec_put(s, pkts[i], &p, end);
		le32_add_cpu(&b->nr, 1);
	}
}

static unsigned long dusk_hook_rto(const struct dusk_packet *pkt)
{
	unsigned int ms = DUSK_HOOK_RTO_MS << min(pkt->tries - 1, 4U);

	return msecs_to_jiffies(min(ms, DUSK_HOOK_RTO_MAX_MS));
}

static bool dusk_pkt_expired(const struct dusk_packet *pkt, unsigned long now)
{
	return time_after(now, pkt->queued +
			  msecs_to_jiffies(pkt->hook->hold_ms));
}

/* Expire, send and resend; the thread only. */
void dusk_pktq_service(struct dusk_session *s)
{
	struct dusk_packet *pkt, *tmp, *batch[64];
	unsigned long now = jiffies;
	unsigned int nb, in_flight;
	u64 held_from;
	LIST_HEAD(expired);

	if (!s)
		return;
	do {
		nb = 0;
		in_flight = 0;
		held_from = 0;
		spin_lock_bh(&dusk.pq_lock);
		list_for_each_entry_safe(pkt, tmp, &dusk.packets, list) {
			if (pkt->hook->s != s)
				continue;
			if (dusk_pkt_expired(pkt, now)) {
				list_move_tail(&pkt->list, &expired);
				dusk.nr_packets--;
				continue;
			}
			/* The list is in id order. */
			if (!held_from)
				held_from = pkt->id;
			if (pkt->sent && !time_after(now, pkt->sent +
						      dusk_hook_rto(pkt))) {
				in_flight++;
				continue;
			}
			if (in_flight >= s->params.window ||
			    nb == ARRAY_SIZE(batch))
				continue;
			if (pkt->sent)
				dusk.cnt.retransmits++;
			pkt->sent = now ? now : 1;
			pkt->tries++;
			in_flight++;
			batch[nb++] = pkt;
		}
		if (!held_from)
			held_from = dusk.next_packet_id + 1;
		spin_unlock_bh(&dusk.pq_lock);
		if (nb)
			dusk_hook_send(s, batch, nb, held_from);
	} while (nb == ARRAY_SIZE(batch));
	dusk_release_list(&expired);
}

static bool dusk_verdict_ok(u32 verdict)
{
	switch (verdict & NF_VERDICT_MASK) {
	case NF_DROP:
	case NF_ACCEPT:
	case NF_STOLEN:
	case NF_QUEUE:
	case NF_REPEAT:
		return true;
	}
	return false;
}

/* The VERDICT's records are well formed, each fills its len: 0 or -EBADMSG. */
static int dusk_verdicts_check(const struct dusk_verdict_batch *b, u32 len)
{
	const void *p = b + 1, *end = (const void *)b + len;
	const struct dusk_verdict *v;
	u32 i, n;

	if (b->pad)
		return -EBADMSG;
	for (i = 0; i < le32_to_cpu(b->nr); i++) {
		v = p;
		if (end - p < (long)sizeof(*v) || v->pad ||
		    !dusk_verdict_ok(le32_to_cpu(v->verdict)))
			return -EBADMSG;
		n = le32_to_cpu(v->len);
		if ((u64)(end - p) - sizeof(*v) < n ||
		    dusk_segs_check(v + 1, n, le32_to_cpu(v->nr_segs)))
			return -EBADMSG;
		p += sizeof(*v) + n;
	}
	return p == end ? 0 : -EBADMSG;
}

/* One packet's verdict: take it off the queue, commit, reinject. */
static void dusk_verdict_apply(struct dusk_session *s,
			       const struct dusk_verdict *v)
{
	u64 id = le64_to_cpu(v->packet);
	struct dusk_packet *pkt, *found = NULL;
	bool late = false;

	spin_lock_bh(&dusk.pq_lock);
	list_for_each_entry(pkt, &dusk.packets, list) {
		if (pkt->id == id && pkt->hook->s == s) {
			found = pkt;
			late = dusk_pkt_expired(pkt, jiffies);
			list_del(&pkt->list);
			dusk.nr_packets--;
			break;
		}
	}
	spin_unlock_bh(&dusk.pq_lock);
	if (!found) {
		dusk.cnt.verdicts_unheld++;
		return;
	}
	if (late) {
		/* Its time was up: released as policy says, as the next
		 * service would have, and the commit with it. */
		LIST_HEAD(one);

		dusk.cnt.verdicts_late++;
		list_add(&found->list, &one);
		dusk_release_list(&one);
		return;
	}
	/* Checked whole by dusk_verdicts_check(); -EFAULT stops the commit
	 * at its first unwritable segment, as CALL's does. */
	dusk_segs_apply(v + 1, le32_to_cpu(v->len), le32_to_cpu(v->nr_segs));
	dusk.cnt.verdicts++;
	dusk_pkt_reinject(found, le32_to_cpu(v->verdict));
}

int dusk_do_verdict(struct dusk_req *r)
{
	const struct dusk_verdict_batch *b = r->payload;
	const struct dusk_verdict *v;
	const void *p;
	u32 i;

	if (dusk_verdicts_check(b, r->len)) {
		dusk.cnt.verdicts_bad++;
		return -EBADMSG;
	}
	for (p = b + 1, i = 0; i < le32_to_cpu(b->nr); i++) {
		v = p;
		dusk_verdict_apply(r->s, v);
		p += sizeof(*v) + le32_to_cpu(v->len);
	}
	return 0;
}

unsigned long dusk_pktq_next_timeout(void)
{
	return READ_ONCE(dusk.nr_packets) ? HZ / 50 + 1 : HZ / 10;
}

int dusk_pktq_init(void)
{
	struct module *(*module_address)(unsigned long addr);
	const struct nf_queue_handler *prev;
	struct module *owner = NULL;

	spin_lock_init(&dusk.pq_lock);
	INIT_LIST_HEAD(&dusk.packets);
	dusk_qh_slot = (void *)dusk_ksym("nf_queue_handler");
	module_address = (void *)dusk_ksym("__module_address");
	if (!dusk_qh_slot || !module_address) {
		pr_err("dusk: nf_queue_handler or __module_address not in kallsyms\n");
		return -ENOENT;
	}
	/* Let NFQUEUE take the slot first, so that dusk chains to it. */
	request_module("nfnetlink_queue");

	prev = rcu_dereference_protected(*dusk_qh_slot, 1);
	if (prev) {
		preempt_disable();
		owner = module_address((unsigned long)prev);
		if (owner && !try_module_get(owner)) {
			preempt_enable();
			return -EBUSY;
		}
		preempt_enable();
	}
	dusk_qh_prev = prev;
	dusk_qh_prev_owner = owner;
	if (cmpxchg(dusk_qh_slot, prev, &dusk_qh) != prev) {
		module_put(owner);
		pr_err("dusk: the queue handler changed while installing\n");
		return -EBUSY;
	}
	return 0;
}

void dusk_pktq_exit(void)
{
	if (cmpxchg(dusk_qh_slot, &dusk_qh, dusk_qh_prev) != &dusk_qh)
		pr_warn("dusk: queue handler replaced behind dusk's back\n");
	/* No CPU may still be in dusk_qh_outfn() when the module goes. */
	synchronize_rcu();
	module_put(dusk_qh_prev_owner);
}
