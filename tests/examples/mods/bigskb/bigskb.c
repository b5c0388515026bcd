// SPDX-License-Identifier: GPL-2.0
/*
 * bigskb - read the payload of large, nonlinear TCP packets two ways.
 *
 * Loopback TCP hands the IP layer GSO packets of up to 64 KiB whose data
 * sits in page fragments: the linear part holds the headers only. For the
 * TCP flow to port= (one flow at a time), two hooks registered together
 * with nf_register_net_hooks:
 *  - LOCAL_OUT counts the packets, the nonlinear ones and the largest;
 *  - POST_ROUTING sums the bytes of new data (sequence space not seen
 *    before: a retransmission adds nothing) once through skb_header_pointer,
 *    in chunks copied out of the fragments, then again from the linear
 *    data after skb_linearize, and counts the packets where both disagree.
 *    A SYN starts the sequence space anew.
 * Each hook gets its statistics through its nf_hook_ops' priv pointer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/tcp.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/tcp.h>

static ushort port = 5001;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "TCP port of the flow to watch (default 5001)");

#define BIGSKB_CHUNK	512

struct bigskb_out_stats {
	spinlock_t lock;
	unsigned long packets;
	unsigned long nonlinear;
	unsigned int largest;
};

struct bigskb_post_stats {
	spinlock_t lock;
	bool started;
	u32 next_seq;		/* the end of the data seen so far */
	unsigned long bytes;
	u32 sum;		/* of those bytes, mod 2^32 */
	unsigned long linearized;
	unsigned long mismatches;
	unsigned long failures;
};

static struct bigskb_out_stats out_stats = {
	.lock = __SPIN_LOCK_UNLOCKED(out_stats.lock),
};

static struct bigskb_post_stats post_stats = {
	.lock = __SPIN_LOCK_UNLOCKED(post_stats.lock),
};

/* The TCP header of a packet of the watched flow, or NULL. */
static const struct tcphdr *bigskb_tcp(const struct sk_buff *skb,
				       struct tcphdr *buf)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct tcphdr *th;

	if (iph->protocol != IPPROTO_TCP || ip_is_fragment(iph))
		return NULL;
	th = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(*buf), buf);
	if (!th || th->dest != htons(port))
		return NULL;
	return th;
}

static unsigned int bigskb_count(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct bigskb_out_stats *st = priv;
	struct tcphdr _th;

	if (!bigskb_tcp(skb, &_th))
		return NF_ACCEPT;

	spin_lock_bh(&st->lock);
	st->packets++;
	if (skb_is_nonlinear(skb))
		st->nonlinear++;
	if (skb->len > st->largest)
		st->largest = skb->len;
	spin_unlock_bh(&st->lock);
	return NF_ACCEPT;
}

/* Sum of len bytes at offset off, read with skb_header_pointer. */
static int bigskb_sum_copied(const struct sk_buff *skb, unsigned int off,
			     unsigned int len, u32 *sum)
{
	u8 buf[BIGSKB_CHUNK];
	u32 s = 0;

	while (len) {
		unsigned int n = min_t(unsigned int, len, sizeof(buf));
		const u8 *p = skb_header_pointer(skb, off, n, buf);
		unsigned int i;

		if (!p)
			return -EFAULT;
		for (i = 0; i < n; i++)
			s += p[i];
		off += n;
		len -= n;
	}
	*sum = s;
	return 0;
}

static unsigned int bigskb_check(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct bigskb_post_stats *st = priv;
	unsigned int doff, off, len, skip, i;
	struct tcphdr _th;
	const struct tcphdr *th;
	u32 seq, end, copied, linear = 0;
	bool was_nonlinear;

	th = bigskb_tcp(skb, &_th);
	if (!th)
		return NF_ACCEPT;
	doff = ip_hdrlen(skb) + th->doff * 4;
	if (th->syn) {
		/* A new connection: new sequence space. */
		spin_lock_bh(&st->lock);
		st->started = false;
		spin_unlock_bh(&st->lock);
	}
	if (skb->len <= doff)
		return NF_ACCEPT;
	len = skb->len - doff;
	seq = ntohl(th->seq);
	end = seq + len;

	/* Which of these bytes are new? */
	spin_lock_bh(&st->lock);
	if (!st->started) {
		st->started = true;
		st->next_seq = seq;
	}
	skip = before(seq, st->next_seq) ? st->next_seq - seq : 0;
	if (skip < len)
		st->next_seq = end;
	spin_unlock_bh(&st->lock);
	if (skip >= len)
		return NF_ACCEPT;
	off = doff + skip;
	len -= skip;

	if (bigskb_sum_copied(skb, off, len, &copied))
		goto failed;

	was_nonlinear = skb_is_nonlinear(skb);
	if (skb_linearize(skb))
		goto failed;
	for (i = 0; i < len; i++)
		linear += skb->data[off + i];

	spin_lock_bh(&st->lock);
	st->bytes += len;
	st->sum += linear;
	if (was_nonlinear)
		st->linearized++;
	if (copied != linear)
		st->mismatches++;
	spin_unlock_bh(&st->lock);
	return NF_ACCEPT;

failed:
	spin_lock_bh(&st->lock);
	st->failures++;
	spin_unlock_bh(&st->lock);
	return NF_ACCEPT;
}

static struct nf_hook_ops bigskb_ops[] = {
	{
		.hook		= bigskb_count,
		.priv		= &out_stats,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP_PRI_FIRST,
	},
	{
		.hook		= bigskb_check,
		.priv		= &post_stats,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= NF_IP_PRI_LAST,
	},
};

static int __init bigskb_init(void)
{
	int err;

	err = nf_register_net_hooks(&init_net, bigskb_ops,
				    ARRAY_SIZE(bigskb_ops));
	if (err)
		return err;
	pr_info("watching TCP to port %u\n", port);
	return 0;
}

static void __exit bigskb_exit(void)
{
	nf_unregister_net_hooks(&init_net, bigskb_ops, ARRAY_SIZE(bigskb_ops));

	pr_info("%lu packets, %lu nonlinear, %lu linearized, largest %u bytes\n",
		out_stats.packets, out_stats.nonlinear, post_stats.linearized,
		out_stats.largest);
	pr_info("%lu bytes of data, sum %#010x, %lu mismatches, %lu failures\n",
		post_stats.bytes, post_stats.sum, post_stats.mismatches,
		post_stats.failures);
}

module_init(bigskb_init);
module_exit(bigskb_exit);

MODULE_DESCRIPTION("Test module: skb_header_pointer and skb_linearize on large packets");
MODULE_LICENSE("GPL");
