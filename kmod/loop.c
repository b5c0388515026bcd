// SPDX-License-Identifier: GPL-2.0
/*
 * The thread: dusk.ko's one kernel thread, which owns the session. Each
 * pass receives datagrams (transport.c), checks and authenticates them and
 * hands requests to the session (session.c, HELLO), to dispatch
 * (dispatch.c, the main and watchdog channels) or to the invocation they
 * name (invoke.c, DUSK_CHAN_INV: its caller executes them); then it sends
 * and expires queued packets (pktq.c) and ends silent sessions
 * (session.c). It sleeps until the socket or the
 * packet queue wakes it, or until the next packet timer.
 */
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/jiffies.h>
#include <linux/in.h>

#include "dusk_kmod.h"

/*
 * Datagrams received per pass. A flood (a runaway program, or anyone who
 * can reach the port: each unauthenticated datagram still costs a MAC)
 * must not keep the thread receiving forever: a packet waiting for a
 * verdict is released by policy after hold_ms, and a silent session ends,
 * only when the thread services pktq and the sessions. So after this many
 * datagrams it does, then comes back for the rest without sleeping.
 */
#define DUSK_RX_BUDGET	64

/* Check what can be checked before knowing the key, then authenticate. */
static void dusk_rx_one(void *dgram, int len, const struct sockaddr_in *from)
{
	const struct dusk_hdr *hdr = dgram;
	struct dusk_session *s;
	u32 session_id;

	if (dusk_dgram_check(dgram, len)) {
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
	if (dusk_hdr_check(hdr)) {
		dusk.cnt.rx_malformed++;
		return;
	}
	/*
	 * A client sends its first request from the socket it sent HELLO
	 * from: to a pending session, a datagram from elsewhere is a
	 * captured one replayed. Checked before the replay window, so
	 * that it cannot spend the client's seq.
	 */
	if (!dusk_session_heard_from(s, from)) {
		dusk.cnt.rx_replayed++;
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
	if (hdr->channel == DUSK_CHAN_INV)
		dusk_inv_route(s, hdr, len, from);
	else
		dusk_dispatch(s, hdr, from);
}

/* Receive up to budget datagrams; false if the budget ran out first. */
static bool dusk_rx_some(unsigned int budget)
{
	struct sockaddr_in from;
	int len;

	while (budget--) {
		len = dusk_recv(&from);
		if (len == -EMSGSIZE) {
			dusk.cnt.rx_malformed++;
			continue;
		}
		if (len < 0)
			return true;
		dusk_rx_one(dusk.rx_buf, len, &from);
	}
	return false;
}

static int dusk_thread_fn(void *unused)
{
	while (!kthread_should_stop()) {
		wait_event_interruptible_timeout(dusk.wq,
						 READ_ONCE(dusk.wake) ||
						 kthread_should_stop(),
						 dusk_pktq_next_timeout());
		WRITE_ONCE(dusk.wake, false);
		if (!dusk_rx_some(DUSK_RX_BUDGET))
			WRITE_ONCE(dusk.wake, true);	/* more to receive */
		dusk_pktq_service(dusk.session);
		dusk_session_service();
		/* A flood never lets the wait above sleep. */
		cond_resched();
	}
	/* rmmod: end the session here, where its state is owned. */
	dusk_sessions_exit();
	return 0;
}

/* Start the thread; the socket is open (dusk_transport_init). */
int dusk_loop_init(void)
{
	dusk.thread = kthread_run(dusk_thread_fn, NULL, "dusk");
	if (IS_ERR(dusk.thread))
		return PTR_ERR(dusk.thread);
	return 0;
}

void dusk_loop_exit(void)
{
	kthread_stop(dusk.thread);
}
