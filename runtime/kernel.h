/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * kernel.h - kernel memory, calls, symbols and allocations (dusk.h), and
 * the commit that rides on CALL and VERDICT messages.
 */
#ifndef DUSK_KERNEL_H
#define DUSK_KERNEL_H

#include <stddef.h>

struct dusk_session;
struct dusk_segs;
struct dusk_segs_cursor;

/*
 * Collect the cache's changes into segs and send, as WRITE requests, as
 * much of them as needed for the rest to fit in final_room bytes of the
 * message that carries the commit (0: send everything now). Once that
 * message is acknowledged, dusk_shadow_diff_done().
 */
int dusk_commit_prepare(struct dusk_session *s, struct dusk_segs *segs,
			struct dusk_segs_cursor *cur, size_t final_room);

#endif /* DUSK_KERNEL_H */
