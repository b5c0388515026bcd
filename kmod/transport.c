// SPDX-License-Identifier: GPL-2.0
/*
 * The transport: one kernel UDP socket and its buffers. It sends one
 * sealed message and receives one datagram; what is done with them is the
 * loop's business (loop.c). It calls only auth.c, to seal.
 *
 * Softirq code never sends: the socket's data_ready callback only sets
 * dusk.wake and wakes the thread (loop.c), which receives.
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

static void dusk_data_ready(struct sock *sk)
{
	dusk_wake();
}

/*
 * Seal and send the message in dgram: s == NULL means a HELLO reply, which
 * is keyed with the master key and carries session 0.
 */
int dusk_send(struct dusk_session *s, unsigned int channel,
	      const struct sockaddr_in *to, void *dgram, size_t payload_len)
{
	size_t len = sizeof(struct dusk_hdr) + payload_len;
	struct msghdr msg = {
		.msg_name = (void *)to,
		.msg_namelen = sizeof(*to),
		.msg_flags = MSG_DONTWAIT,
	};
	struct kvec iov = { .iov_base = dgram, .iov_len = len };
	int ret;

	dusk_seal(s, channel, dgram, payload_len);
	ret = kernel_sendmsg(dusk.sock, &msg, &iov, 1, len);
	if (ret < 0) {
		dusk.cnt.tx_errors++;
		return ret;
	}
	dusk.cnt.tx++;
	return 0;
}

/*
 * Receive one datagram into dusk.rx_buf, without waiting: its length, and
 * its source in *from. -EAGAIN if none is waiting; -EMSGSIZE if it was
 * longer than DUSK_MAX_DGRAM (it is gone: the rest was discarded).
 */
int dusk_recv(struct sockaddr_in *from)
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

static int dusk_socket_open(void)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_ANY),
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
	if (!dusk.rx_buf || !dusk.tx_buf) {
		ret = -ENOMEM;
		goto out_bufs;
	}
	ret = dusk_socket_open();
	if (ret)
		goto out_bufs;
	return 0;

out_bufs:
	kvfree(dusk.tx_buf);
	kvfree(dusk.rx_buf);
	return ret;
}

void dusk_transport_exit(void)
{
	dusk_socket_close();
	kvfree(dusk.tx_buf);
	kvfree(dusk.rx_buf);
}
