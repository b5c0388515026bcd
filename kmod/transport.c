// SPDX-License-Identifier: GPL-2.0
/*
 * The transport: one kernel UDP socket and its buffers. It sends one
 * sealed message and receives one datagram; what is done with them is the
 * loop's business (loop.c). It calls only auth.c, to seal.
 *
 * Softirq code never sends: the socket's data_ready callback only sets
 * dusk.wake and wakes the thread (loop.c), which receives.
 *
 * The thread and the callers of proxies (invoke.c) send at once, each from
 * its own buffer: sealing (the channel's tx_seq), the injected faults'
 * state, the held datagrams and the counters are under dusk.net_lock,
 * which the thread's receiving takes too (the fault generators are one).
 *
 * Injected faults (faults.c) are applied here, to every datagram sent and
 * received: a lost one is not sent (or is received and forgotten), a
 * duplicated one goes twice, a reordered one is held and goes right
 * after the next one of its direction. Retransmission on both sides
 * carries the next one, so a held datagram never waits for long.
 */
#include <linux/kernel.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <net/sock.h>
#include <net/udp.h>

#include "dusk_kmod.h"

#define DUSK_SOCK_BUF	(4 << 20)

static void (*dusk_saved_data_ready)(struct sock *sk);

/* A datagram held back by a reorder fault (or a received duplicate). */
struct dusk_held {
	void *buf;			/* DUSK_MAX_DGRAM bytes */
	size_t len;			/* 0: empty */
	struct sockaddr_in addr;	/* destination, or source */
	bool due;			/* received: deliver it next */
};

static struct dusk_held dusk_tx_held, dusk_rx_held;

static void dusk_hold(struct dusk_held *h, const void *dgram, size_t len,
		      const struct sockaddr_in *addr, bool due)
{
	memcpy(h->buf, dgram, len);
	h->len = len;
	h->addr = *addr;
	h->due = due;
}

static void dusk_data_ready(struct sock *sk)
{
	dusk_wake();
}

static int dusk_sock_send(const struct sockaddr_in *to, void *dgram,
			  size_t len)
{
	struct msghdr msg = {
		.msg_name = (void *)to,
		.msg_namelen = sizeof(*to),
		.msg_flags = MSG_DONTWAIT,
	};
	struct kvec iov = { .iov_base = dgram, .iov_len = len };
	int ret;

	ret = kernel_sendmsg(dusk.sock, &msg, &iov, 1, len);
	if (ret < 0) {
		dusk.cnt.tx_errors++;
		return ret;
	}
	dusk.cnt.tx++;
	return 0;
}

/* Send a sealed datagram through the injected faults. */
static int dusk_send_faulty(const struct sockaddr_in *to, void *dgram,
			    size_t len)
{
	struct dusk_held *h = &dusk_tx_held;
	int ret;

	switch (dusk_faults_next_fate(DUSK_FAULT_TX)) {
	case DUSK_FAULT_LOSS:
		dusk.cnt.fault_lost++;
		return 0;		/* as if the network lost it */
	case DUSK_FAULT_DUP:
		dusk.cnt.fault_duplicated++;
		dusk_sock_send(to, dgram, len);
		break;
	case DUSK_FAULT_REORDER:
		if (h->len)
			break;		/* one held at a time */
		dusk.cnt.fault_reordered++;
		dusk_hold(h, dgram, len, to, false);
		return 0;
	default:
		break;
	}
	ret = dusk_sock_send(to, dgram, len);
	if (h->len) {
		dusk_sock_send(&h->addr, h->buf, h->len);
		h->len = 0;
	}
	return ret;
}

/*
 * Seal and send the message in dgram: s == NULL means a HELLO reply, which
 * is keyed with the master key and carries session 0.
 */
int dusk_send(struct dusk_session *s, unsigned int channel,
	      const struct sockaddr_in *to, void *dgram, size_t payload_len)
{
	int ret;

	mutex_lock(&dusk.net_lock);
	dusk_seal(s, channel, dgram, payload_len);
	ret = dusk_send_faulty(to, dgram, sizeof(struct dusk_hdr) + payload_len);
	mutex_unlock(&dusk.net_lock);
	return ret;
}

static int dusk_sock_recv(struct sockaddr_in *from)
{
	struct msghdr msg = {
		.msg_name = from,
		.msg_namelen = sizeof(*from),
	};
	struct kvec iov = {
		.iov_base = dusk.rx_buf,
		.iov_len = DUSK_MAX_DGRAM,
	};
	int len;

	len = kernel_recvmsg(dusk.sock, &msg, &iov, 1, DUSK_MAX_DGRAM,
			     MSG_DONTWAIT);
	if (len < 0)
		return len;
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	return len;
}

/*
 * Receive one datagram into dusk.rx_buf, without waiting: its length, and
 * its source in *from. -EAGAIN if none is waiting; -EMSGSIZE if it was
 * longer than DUSK_MAX_DGRAM (it is gone: the rest was discarded).
 * Injected faults apply: a datagram held back comes after the next one.
 */
static int dusk_recv_locked(struct sockaddr_in *from)
{
	struct dusk_held *h = &dusk_rx_held;
	int len;

	for (;;) {
		/* Faults turned off: nothing waits for a next one. */
		if (h->len && (h->due || !dusk_faults_active())) {
			memcpy(dusk.rx_buf, h->buf, h->len);
			*from = h->addr;
			len = h->len;
			h->len = 0;
			return len;
		}
		len = dusk_sock_recv(from);
		if (len < 0)
			return len;
		switch (dusk_faults_next_fate(DUSK_FAULT_RX)) {
		case DUSK_FAULT_LOSS:
			dusk.cnt.fault_lost++;
			continue;
		case DUSK_FAULT_DUP:
			if (h->len)
				break;
			dusk.cnt.fault_duplicated++;
			dusk_hold(h, dusk.rx_buf, len, from, true);
			return len;
		case DUSK_FAULT_REORDER:
			if (h->len)
				break;
			dusk.cnt.fault_reordered++;
			dusk_hold(h, dusk.rx_buf, len, from, false);
			continue;
		default:
			break;
		}
		if (h->len)
			h->due = true;	/* the held one follows this one */
		return len;
	}
}

int dusk_recv(struct sockaddr_in *from)
{
	int len;

	mutex_lock(&dusk.net_lock);
	len = dusk_recv_locked(from);
	mutex_unlock(&dusk.net_lock);
	return len;
}

static int dusk_socket_open(void)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = dusk.addr,
		.sin_port = htons(dusk.port),
	};
	struct sock *sk;
	int ret;

	ret = sock_create_kern(&init_net, AF_INET, SOCK_DGRAM, IPPROTO_UDP,
			       &dusk.sock);
	if (ret)
		return ret;
	sk = dusk.sock->sk;
	lock_sock(sk);
	sk->sk_rcvbuf = DUSK_SOCK_BUF;
	sk->sk_sndbuf = DUSK_SOCK_BUF;
	sk->sk_userlocks |= SOCK_RCVBUF_LOCK | SOCK_SNDBUF_LOCK;
	release_sock(sk);

	ret = kernel_bind(dusk.sock, (struct sockaddr *)&addr, sizeof(addr));
	if (ret) {
		sock_release(dusk.sock);
		dusk.sock = NULL;
		return ret;
	}
	write_lock_bh(&sk->sk_callback_lock);
	dusk_saved_data_ready = sk->sk_data_ready;
	sk->sk_data_ready = dusk_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	return 0;
}

static void dusk_socket_close(void)
{
	struct sock *sk = dusk.sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_data_ready = dusk_saved_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	sock_release(dusk.sock);
	dusk.sock = NULL;
}

/* The socket and its buffers; dusk.wq must be initialized already. */
int dusk_transport_init(void)
{
	int ret;

	dusk.rx_buf = kvmalloc(DUSK_MAX_DGRAM, GFP_KERNEL);
	dusk.tx_buf = kvmalloc(DUSK_MAX_DGRAM, GFP_KERNEL);
	dusk_tx_held.buf = kvmalloc(DUSK_MAX_DGRAM, GFP_KERNEL);
	dusk_rx_held.buf = kvmalloc(DUSK_MAX_DGRAM, GFP_KERNEL);
	if (!dusk.rx_buf || !dusk.tx_buf || !dusk_tx_held.buf ||
	    !dusk_rx_held.buf) {
		ret = -ENOMEM;
		goto out_bufs;
	}
	ret = dusk_socket_open();
	if (ret)
		goto out_bufs;
	return 0;

out_bufs:
	kvfree(dusk_rx_held.buf);
	kvfree(dusk_tx_held.buf);
	kvfree(dusk.tx_buf);
	kvfree(dusk.rx_buf);
	return ret;
}

void dusk_transport_exit(void)
{
	dusk_socket_close();
	kvfree(dusk_rx_held.buf);
	kvfree(dusk_tx_held.buf);
	kvfree(dusk.tx_buf);
	kvfree(dusk.rx_buf);
}
