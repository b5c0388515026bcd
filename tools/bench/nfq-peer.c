// SPDX-License-Identifier: GPL-2.0
/*
 * nfq-peer - the benchmark's peer: a user-space packet filter the way
 * IDSs do it on Linux, with NFQUEUE, in the target (built -static; raw
 * netlink, as busybox has no libnetfilter_queue).
 *
 *	nfq-peer QUEUE BLOCK_PORT
 *
 * Binds queue QUEUE, copies each packet's first 128 bytes, and gives the
 * verdict lwfw's port rule would: drop TCP or UDP to BLOCK_PORT, accept
 * the rest. Runs until killed; prints "ready" once bound.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int nl;

static void *put_attr(struct nlmsghdr *n, unsigned short type, const void *data,
		      size_t len)
{
	struct nlattr *a = (void *)n + NLMSG_ALIGN(n->nlmsg_len);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static struct nlmsghdr *start(char *buf, unsigned short type, unsigned short queue)
{
	struct nlmsghdr *n = (void *)buf;
	struct nfgenmsg *g;

	memset(buf, 0, 256);
	n->nlmsg_len = NLMSG_LENGTH(sizeof(*g));
	n->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
	n->nlmsg_flags = NLM_F_REQUEST;
	g = NLMSG_DATA(n);
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(queue);
	return n;
}

static int send_msg(struct nlmsghdr *n)
{
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };

	return sendto(nl, n, n->nlmsg_len, 0, (struct sockaddr *)&k, sizeof(k)) < 0 ? -errno : 0;
}

static int config(unsigned short queue)
{
	struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND };
	struct nfqnl_msg_config_params params = {
		.copy_range = htonl(128), .copy_mode = NFQNL_COPY_PACKET,
	};
	char buf[256];
	struct nlmsghdr *n;
	int err;

	n = start(buf, NFQNL_MSG_CONFIG, queue);
	put_attr(n, NFQA_CFG_CMD, &cmd, sizeof(cmd));
	err = send_msg(n);
	if (err)
		return err;
	n = start(buf, NFQNL_MSG_CONFIG, queue);
	put_attr(n, NFQA_CFG_PARAMS, &params, sizeof(params));
	return send_msg(n);
}

/* lwfw's port rule on the copied headers. */
static unsigned int decide(const unsigned char *pkt, size_t len, int block_port)
{
	const struct iphdr *ip = (const void *)pkt;
	size_t hl;

	if (len < sizeof(*ip) || ip->version != 4)
		return NF_ACCEPT;
	hl = ip->ihl * 4;
	if ((ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_TCP) &&
	    len >= hl + 4 && ntohs(*(const uint16_t *)(pkt + hl + 2)) == block_port)
		return NF_DROP;
	return NF_ACCEPT;
}

static int verdict(unsigned short queue, uint32_t id, unsigned int v)
{
	struct nfqnl_msg_verdict_hdr vh = { .verdict = htonl(v), .id = id };
	char buf[256];
	struct nlmsghdr *n = start(buf, NFQNL_MSG_VERDICT, queue);

	put_attr(n, NFQA_VERDICT_HDR, &vh, sizeof(vh));
	return send_msg(n);
}

int main(int argc, char **argv)
{
	struct sockaddr_nl me = { .nl_family = AF_NETLINK };
	static char buf[65536];
	unsigned short queue;
	int block_port, err;

	if (argc != 3) {
		fprintf(stderr, "usage: nfq-peer QUEUE BLOCK_PORT\n");
		return 2;
	}
	queue = atoi(argv[1]);
	block_port = atoi(argv[2]);
	nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	if (nl < 0 || bind(nl, (struct sockaddr *)&me, sizeof(me))) {
		perror("nfq-peer: netlink");
		return 1;
	}
	err = config(queue);
	if (err) {
		fprintf(stderr, "nfq-peer: bind queue %u: %s\n", queue, strerror(-err));
		return 1;
	}
	puts("ready");
	fflush(stdout);
	for (;;) {
		ssize_t len = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *n;

		if (len < 0) {
			if (errno == ENOBUFS || errno == EINTR)
				continue;
			perror("nfq-peer: recv");
			return 1;
		}
		for (n = (void *)buf; NLMSG_OK(n, (size_t)len); n = NLMSG_NEXT(n, len)) {
			struct nlattr *a;
			uint32_t id = 0;
			const unsigned char *payload = NULL;
			size_t plen = 0, alen;

			if ((n->nlmsg_type & 0xff) != NFQNL_MSG_PACKET)
				continue;
			a = (void *)((char *)NLMSG_DATA(n) + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
			alen = n->nlmsg_len - NLMSG_LENGTH(sizeof(struct nfgenmsg));
			while (alen >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
			       a->nla_len <= alen) {
				void *d = (char *)a + NLA_HDRLEN;

				if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR)
					id = ((struct nfqnl_msg_packet_hdr *)d)->packet_id;
				else if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PAYLOAD) {
					payload = d;
					plen = a->nla_len - NLA_HDRLEN;
				}
				alen -= NLA_ALIGN(a->nla_len);
				a = (void *)((char *)a + NLA_ALIGN(a->nla_len));
			}
			verdict(queue, id, payload ? decide(payload, plen, block_port)
					       : NF_ACCEPT);
		}
	}
}
