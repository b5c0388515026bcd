// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The anti-replay window at its edges.
 */
#include <errno.h>

#include "check.h"
#include "window.h"

int main(void)
{
	struct dusk_seq_window r;
	uint64_t s;

	dusk_seq_window_init(&r);
	CHECK_EQ(dusk_seq_window_accept(&r, 0), -EALREADY);	/* seqs start at 1 */
	CHECK_EQ(dusk_seq_window_accept(&r, 1), 0);
	CHECK_EQ(dusk_seq_window_accept(&r, 1), -EALREADY);
	CHECK_EQ(dusk_seq_window_accept(&r, 3), 0);
	CHECK_EQ(dusk_seq_window_accept(&r, 2), 0);	/* late but fresh */
	CHECK_EQ(dusk_seq_window_accept(&r, 2), -EALREADY);
	CHECK_EQ(dusk_seq_window_accept(&r, 3), -EALREADY);

	/* The window's far edge: top - (W - 1) is in, top - W is out. */
	dusk_seq_window_init(&r);
	CHECK_EQ(dusk_seq_window_accept(&r, 5000), 0);
	CHECK_EQ(dusk_seq_window_accept(&r, 5000 - (DUSK_REPLAY_WINDOW - 1)), 0);
	CHECK_EQ(dusk_seq_window_accept(&r, 5000 - DUSK_REPLAY_WINDOW), -EALREADY);
	CHECK_EQ(dusk_seq_window_accept(&r, 5000 - (DUSK_REPLAY_WINDOW - 1)),
		 -EALREADY);
	CHECK_EQ(dusk_seq_window_accept(&r, 4999), 0);

	/* Sliding by less than a window forgets exactly what fell out, and
	 * a seq whose bit was used a window ago is still fresh. */
	dusk_seq_window_init(&r);
	for (s = 1; s <= 100; s++)
		CHECK_EQ(dusk_seq_window_accept(&r, s), 0);
	CHECK_EQ(dusk_seq_window_accept(&r, 1 + DUSK_REPLAY_WINDOW), 0);
	CHECK_EQ(dusk_seq_window_accept(&r, 1), -EALREADY);	/* out of the window */
	CHECK_EQ(dusk_seq_window_accept(&r, 2), -EALREADY);	/* seen */
	CHECK_EQ(dusk_seq_window_accept(&r, 100 + DUSK_REPLAY_WINDOW), 0);
	CHECK_EQ(dusk_seq_window_accept(&r, 100), -EALREADY);	/* just out */
	CHECK_EQ(dusk_seq_window_accept(&r, 101), 0);	/* never seen, still in */
	CHECK_EQ(dusk_seq_window_accept(&r, 101), -EALREADY);

	/* A jump of more than a window clears everything; what is behind
	 * is too old. */
	CHECK_EQ(dusk_seq_window_accept(&r, 1000000), 0);
	CHECK_EQ(dusk_seq_window_accept(&r, 1000000 - 1), 0);
	CHECK_EQ(dusk_seq_window_accept(&r, 1000000 - DUSK_REPLAY_WINDOW), -EALREADY);
	CHECK_EQ(dusk_seq_window_accept(&r, 1000000), -EALREADY);

	/* Every seq of a long in-order run once, then none again. */
	dusk_seq_window_init(&r);
	for (s = 1; s <= 3 * DUSK_REPLAY_WINDOW; s++)
		if (dusk_seq_window_accept(&r, s))
			break;
	CHECK_EQ(s, 3 * DUSK_REPLAY_WINDOW + 1);
	for (s = 2 * DUSK_REPLAY_WINDOW + 1; s <= 3 * DUSK_REPLAY_WINDOW; s++)
		if (!dusk_seq_window_accept(&r, s))
			break;
	CHECK_EQ(s, 3 * DUSK_REPLAY_WINDOW + 1);
	return check_done("test_window");
}
