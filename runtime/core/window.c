// SPDX-License-Identifier: (GPL-2.0 OR MIT)
#include <errno.h>
#include <string.h>

#include "window.h"

#define DUSK_SEQ_WINDOW_WORDS	(DUSK_REPLAY_WINDOW / 64)

_Static_assert(DUSK_REPLAY_WINDOW % 64 == 0, "window is whole words");

void dusk_seq_window_init(struct dusk_seq_window *r)
{
	memset(r, 0, sizeof(*r));
}

int dusk_seq_window_accept(struct dusk_seq_window *r, uint64_t seq)
{
	const uint64_t nbits = DUSK_REPLAY_WINDOW;
	uint64_t bit, word, i, mask;

	if (seq == 0)
		return -EALREADY;	/* counters start at 1 */
	if (seq > r->top) {
		/* Slide: the bits of (top, seq] now stand for seqs not seen
		 * yet, not for the ones a window ago. */
		if (seq - r->top >= nbits) {
			memset(r->bits, 0, sizeof(r->bits));
		} else {
			for (i = r->top + 1; i <= seq; i++)
				r->bits[(i % nbits) / 64] &= ~(1ULL << (i % 64));
		}
		r->top = seq;
	} else if (r->top - seq >= nbits) {
		return -EALREADY;	/* too old to tell: refuse */
	}
	bit = seq % nbits;
	word = bit / 64;
	mask = 1ULL << (bit % 64);
	if (r->bits[word] & mask)
		return -EALREADY;
	r->bits[word] |= mask;
	return 0;
}
