/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * hook.h - netfilter hooks, invocations and the event loop.
 *
 * An invocation is one HOOK being served: queued on arrival (from
 * wherever a datagram was received, possibly inside another request's
 * wait), run by dusk_run() in arrival order, then answered by a VERDICT
 * that stays pending, without blocking the loop, until the kernel acks it.
 * Its record outlives the answer for a while, so that a retransmitted
 * HOOK gets the same VERDICT again instead of a second execution. State
 * is per invocation (struct dusk_inv) and the current one is per thread,
 * so that several can be in flight once blocking extensions come.
 */
#ifndef DUSK_HOOK_H
#define DUSK_HOOK_H

#include <stdint.h>

struct dusk_session;
struct dusk_msg;
struct dusk_hooks;

/* The hook state of a session is created on first use (a registration
 * or dusk_run()), which registers the HOOK handler with the session; it
 * goes when the session closes. */
/* The packet id of the invocation this thread serves: 0 for none. */
uint64_t dusk_invocation_current(void);
/* The CPU the current invocation's hook ran on in the kernel (the HOOK's
 * cpu); 0 when this thread serves none (init, exit). */
uint32_t dusk_invocation_cpu(void);

/* For the debugger (debug.c): the invocation this thread serves, with
 * the HOOK's prefetched segments (valid while it runs). -ENOENT: none. */
struct dusk_inv_info {
	uint64_t packet;
	uint32_t cpu;
	uint64_t skb, state;		/* kernel addresses */
	uint64_t age_ms;		/* since its HOOK first arrived */
	unsigned int hold_ms;		/* its hook's hold time */
	const uint8_t *segs;		/* struct dusk_seg list */
	uint32_t segs_len, nr_segs;
};
int dusk_invocation_info(struct dusk_inv_info *ret);

struct dusk_hooks_info {
	unsigned int registered;	/* hooks of the session */
	unsigned int queued;		/* HOOKs waiting here to be run */
	unsigned int running;		/* invocations this thread serves */
	uint64_t hooks, late, stale, duplicates;	/* counters */
};
void dusk_hooks_info(struct dusk_session *s, struct dusk_hooks_info *ret);

#endif /* DUSK_HOOK_H */
