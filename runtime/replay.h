/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * replay.h - the receiver's anti-replay window, one per channel: a seq is
 * accepted once, and only within DUSK_REPLAY_WINDOW of the highest seen
 * (RFC 6479's sliding bitmap; same rule as dusk.ko's).
 */
#ifndef DUSK_REPLAY_H
#define DUSK_REPLAY_H

#include <stdint.h>

#include "dusk_proto.h"

struct dusk_replay {
	uint64_t top;		/* highest seq accepted, 0: none yet */
	uint64_t bits[DUSK_REPLAY_WINDOW / 64];	/* bit seq % WINDOW */
};

void dusk_replay_init(struct dusk_replay *r);
/* 0 if seq is fresh (it is then recorded), -EALREADY if it is not.
 * Call only after the MAC checked out: a forged seq must not move it. */
int dusk_replay_accept(struct dusk_replay *r, uint64_t seq);

#endif /* DUSK_REPLAY_H */
