/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * window.h - the receiver's anti-replay window, one per channel: a seq is
 * accepted once, and only within DUSK_REPLAY_WINDOW of the highest seen
 * (RFC 6479's sliding bitmap; same rule as dusk.ko's).
 */
#ifndef DUSK_WINDOW_H
#define DUSK_WINDOW_H

#include <stdint.h>

#include "dusk_proto.h"

struct dusk_seq_window {
	uint64_t top;		/* highest seq accepted, 0: none yet */
	uint64_t bits[DUSK_REPLAY_WINDOW / 64];	/* bit seq % WINDOW */
};

void dusk_seq_window_init(struct dusk_seq_window *r);
/* 0 if seq is fresh (it is then recorded), -EALREADY if it is not.
 * Call only after the MAC checked out: a forged seq must not move it. */
int dusk_seq_window_accept(struct dusk_seq_window *r, uint64_t seq);

#endif /* DUSK_WINDOW_H */
