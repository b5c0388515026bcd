/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * util.h - small helpers shared by the runtime's modules: clocks, an
 * intrusive doubly linked list, min/max. Internal (hidden) only.
 */
#ifndef DUSK_UTIL_H
#define DUSK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DUSK_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define DUSK_MIN(a, b)		((a) < (b) ? (a) : (b))
#define DUSK_MAX(a, b)		((a) > (b) ? (a) : (b))
#define dusk_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Monotonic milliseconds: timers and retransmissions. */
static inline uint64_t dusk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wall-clock nanoseconds: comparable with SO_TIMESTAMPNS receive times. */
static inline uint64_t dusk_now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

struct dusk_list {
	struct dusk_list *next, *prev;
};

static inline void dusk_list_init(struct dusk_list *h)
{
	h->next = h->prev = h;
}

static inline int dusk_list_empty(const struct dusk_list *h)
{
	return h->next == h;
}

static inline void dusk_list_add_tail(struct dusk_list *n, struct dusk_list *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void dusk_list_del(struct dusk_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

#define dusk_list_for_each_safe(pos, tmp, head) \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif /* DUSK_UTIL_H */
