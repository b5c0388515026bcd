// SPDX-License-Identifier: GPL-2.0
#include <linux/ip.h>
#include <linux/jiffies.h>
#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>

#include "pscan.h"
#include "pscan_log.h"

unsigned int pscan_detect(void *priv, struct sk_buff *skb,
			  const struct nf_hook_state *state)
{
	struct iphdr *iph = ip_hdr(skb);
	struct tcphdr *th;
	struct pscan_src *s;

	if (iph->protocol != IPPROTO_TCP)
		return NF_ACCEPT;
	th = (struct tcphdr *)(skb->data + iph->ihl * 4);
	if (!th->syn || th->ack)
		return NF_ACCEPT;

	spin_lock_bh(&pscan_table.lock);
	s = pscan_lookup(iph->saddr, jiffies);
	if (s && pscan_note_port(s, ntohs(th->dest)) && !s->reported) {
		s->reported = true;
		pscan_table.scanners++;
		pscan_warn("port scan from %pI4\n", &iph->saddr);
	}
	spin_unlock_bh(&pscan_table.lock);
	return NF_ACCEPT;
}
