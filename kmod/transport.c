// SPDX-License-Identifier: GPL-2.0
/*
 * The transport: one kernel UDP socket and the thread that owns it.
 *
 * Softirq code never sends: the socket's data_ready callback and the
 * packet queue only set dusk.wake and wake the thread, which receives and
 * executes requests, sends HOOK messages and runs the timers.
 */
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/jiffies.h>
#include <net/sock.h>
#include <net/udp.h>

#include "dusk_kmod.h"

#define DUSK_SOCK_BUF	(4 << 20)

static void (*dusk_saved_data_ready)(struct sock *sk);

static void dusk_data_ready(struct sock *sk)
{
	dusk_wake();
}

void *dusk_msg_start(u8 type, u8 flags, u8 channel, u64 id, u64 invocation,
		     s32 status)
{
	struct dusk_hdr *hdr = dusk.tx_buf;

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_le32(DUSK_MAGIC);
	hdr->version = DUSK_PROTO_VERSION;
	hdr->type = type;
	hdr->flags = flags;
	hdr->channel = channel;
	hdr->id = cpu_to_le64(id);
	hdr->invocation = cpu_to_le64(invocation);
	hdr->status = cpu_to_le32((u32)status);
	return hdr + 1;
}

/*
 * Seal and send the message in dgram: s == NULL means a HELLO reply, which
 * is keyed with the master key and carries session 0.
 */
int dusk_send(struct dusk_session *s, unsigned int channel,
	      const struct sockaddr_in *to, void *dgram, size_t payload_len)
{
	struct dusk_hdr *hdr = dgram;
	size_t len = sizeof(*hdr) + payload_len;
	struct msghdr msg = {
		.msg_name = (void *)to,
		.msg_namelen = sizeof(*to),
		.msg_flags = MSG_DONTWAIT,
	};
	struct kvec iov = { .iov_base = dgram, .iov_len = len };
	int ret;

	hdr->len = cpu_to_le32(payload_len);
	if (s) {
		hdr->session = cpu_to_le32(s->id);
		hdr->seq = cpu_to_le64(++s->tx_seq[channel]);
		dusk_mac_sign(&s->key, dgram, len);
	} else {
		hdr->session = 0;
		hdr->seq = cpu_to_le64(1);
		dusk_mac_sign(&dusk.master_key, dgram, len);
	}
	ret = kernel_sendmsg(dusk.sock, &msg, &iov, 1, len);
	if (ret < 0) {
		dusk.cnt.tx_errors++;
		return ret;
	}
	dusk.cnt.tx++;
	return 0;
}

/* Check what can be checked before knowing the key, then authenticate. */
static void dusk_rx_one(void *dgram, int len, const struct sockaddr_in *from)
{
	const struct dusk_hdr *hdr = dgram;
	struct dusk_session *s;
	u32 session_id;

	if (len < (int)sizeof(*hdr) || le32_to_cpu(hdr->magic) != DUSK_MAGIC ||
	    le32_to_cpu(hdr->len) != len - sizeof(*hdr)) {
		dusk.cnt.rx_malformed++;
		return;
	}
	session_id = le32_to_cpu(hdr->session);
	if (session_id == 0) {
		if (!dusk_mac_ok(&dusk.master_key, dgram, len)) {
			dusk.cnt.rx_bad_mac++;
			return;
		}
		dusk_hello(hdr, len - sizeof(*hdr), from);
		return;
	}
	s = dusk_session_find(session_id);
	if (!s || !dusk_mac_ok(&s->key, dgram, len)) {
		dusk.cnt.rx_bad_mac++;
		return;
	}
	if (hdr->version != DUSK_PROTO_VERSION || hdr->flags ||
	    hdr->reserved || hdr->channel >= __DUSK_CHAN_MAX ||
	    hdr->type == DUSK_MSG_INVALID || hdr->type == DUSK_MSG_HELLO ||
	    hdr->type == DUSK_MSG_HOOK || hdr->type >= __DUSK_MSG_MAX) {
		dusk.cnt.rx_malformed++;
		return;
	}
	if (!dusk_replay_check(&s->replay[hdr->channel],
			       le64_to_cpu(hdr->seq))) {
		dusk.cnt.rx_replayed++;
		return;
	}
	dusk.cnt.rx_ok++;
	s->last_rx = jiffies;
	s->peer[hdr->channel] = *from;
	if (!s->active)
		dusk_session_activate(s);
	dusk_dispatch(s, hdr, from);
}

static void dusk_rx_all(void)
{
	struct sockaddr_in from;
	struct msghdr msg;
	struct kvec iov;
	int len;

	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
		iov.iov_base = dusk.rx_buf;
		iov.iov_len = DUSK_MAX_DGRAM;
		len = kernel_recvmsg(dusk.sock, &msg, &iov, 1, DUSK_MAX_DGRAM,
				     MSG_DONTWAIT);
		if (len < 0)
			break;
		if (msg.msg_flags & MSG_TRUNC) {
			dusk.cnt.rx_malformed++;
			continue;
		}
		dusk_rx_one(dusk.rx_buf, len, &from);
	}
}

static int dusk_thread_fn(void *unused)
{
	while (!kthread_should_stop()) {
		wait_event_interruptible_timeout(dusk.wq,
						 READ_ONCE(dusk.wake) ||
						 kthread_should_stop(),
						 dusk_pktq_next_timeout());
		WRITE_ONCE(dusk.wake, false);
		dusk_rx_all();
		dusk_pktq_service(dusk.session);
		dusk_session_service();
	}
	/* rmmod: end the session here, where its state is owned. */
	dusk_sessions_exit();
	return 0;
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

int dusk_transport_init(void)
{
	int ret;

	init_waitqueue_head(&dusk.wq);
	dusk.rx_buf = kvmalloc(DUSK_MAX_DGRAM, GFP_KERNEL);
	dusk.tx_buf = kvmalloc(DUSK_MAX_DGRAM, GFP_KERNEL);
	if (!dusk.rx_buf || !dusk.tx_buf) {
		ret = -ENOMEM;
		goto out_bufs;
	}
	ret = dusk_socket_open();
	if (ret)
		goto out_bufs;
	dusk.thread = kthread_run(dusk_thread_fn, NULL, "dusk");
	if (IS_ERR(dusk.thread)) {
		ret = PTR_ERR(dusk.thread);
		goto out_socket;
	}
	return 0;

out_socket:
	dusk_socket_close();
out_bufs:
	kvfree(dusk.tx_buf);
	kvfree(dusk.rx_buf);
	return ret;
}

void dusk_transport_exit(void)
{
	kthread_stop(dusk.thread);
	dusk_socket_close();
	kvfree(dusk.tx_buf);
	kvfree(dusk.rx_buf);
}
