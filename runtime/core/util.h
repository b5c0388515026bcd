/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * util.h - small helpers shared by the runtime's modules: clocks, an
 * intrusive doubly linked list, min/max, growing arrays. Internal (hidden)
 * only.
 */
#ifndef DUSK_UTIL_H
#define DUSK_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DUSK_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define DUSK_MIN(a, b)		((a) < (b) ? (a) : (b))
#define DUSK_MAX(a, b)		((a) > (b) ? (a) : (b))
#define dusk_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/*
 * Room for one more element in an array of *cap elements of size bytes,
 * n of them used: doubled when full, first elements the first time. vp
 * points to the array's pointer (any element type: read and written as
 * bytes). 0, or -ENOMEM with the array unchanged. DUSK_GROW(v, cap, n,
 * first) for an array v of *v.
 */
static inline int dusk_grow(void *vp, size_t *cap, size_t n, size_t size,
			    size_t first)
{
	size_t c = *cap ? 2 * *cap : first;
	void *v, *nv;

	if (n < *cap)
		return 0;
	memcpy(&v, vp, sizeof(v));
	nv = realloc(v, c * size);
	if (!nv)
		return -ENOMEM;
	memcpy(vp, &nv, sizeof(nv));
	*cap = c;
	return 0;
}
#define DUSK_GROW(v, cap, n, first) \
	dusk_grow(&(v), &(cap), (n), sizeof(*(v)), (first))

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
