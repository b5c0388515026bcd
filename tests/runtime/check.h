/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * check.h - the unit tests' harness: CHECK() counts, names the failing
 * line, and check_done() prints "NAME: N passed, N failed" and gives the
 * exit status automake's test driver reads.
 */
#ifndef DUSK_TEST_CHECK_H
#define DUSK_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static unsigned int check_passed, check_failed;

#define CHECK(cond) do {						\
	if (cond) {							\
		check_passed++;						\
	} else {							\
		check_failed++;						\
		fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, \
			#cond);						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long check_a_ = (long long)(a), check_b_ = (long long)(b);	\
	if (check_a_ == check_b_) {					\
		check_passed++;						\
	} else {							\
		check_failed++;						\
		fprintf(stderr, "%s:%d: FAILED: %s == %s (%lld != %lld)\n", \
			__FILE__, __LINE__, #a, #b, check_a_, check_b_);	\
	}								\
} while (0)

static inline int check_done(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif /* DUSK_TEST_CHECK_H */
