// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Kernel helpers that only look at memory, run here: list debugging
 * (CONFIG_DEBUG_LIST), whose out-of-line checks would BUG() inside
 * dusk.ko's thread on the very corruption they exist to report, and
 * ip_fast_csum(), an asm helper that reads the header through a register,
 * where no access check could see it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "console.h"
#include "klib.h"

/* struct list_head { struct list_head *next, *prev; } */
struct dusk_list_head {
	void *next;
	void *prev;
};

static void *dusk_list_field(void *entry, int prev)
{
	const struct dusk_list_head *h = __dusk_check(entry, sizeof(*h));

	void *next = prev ? h->prev : h->next;

	return dusk_klib_host.uptr ? dusk_klib_host.uptr(next) : next;
}

/* The kernel reports list corruption with a WARN (CHECK_DATA_CORRUPTION). */
static bool dusk_list_corrupt(const char *what, void *a, void *b, void *c)
{
	fprintf(dusk_console_err(), "WARNING: list corruption: %s (%p, %p, %p)\n", what,
		a, b, c);
	return false;
}

DUSK_EXPORT bool __dusk_impl___list_add_valid(void *new, void *prev, void *next)
{
	if (!next || !prev)
		return dusk_list_corrupt("add: NULL neighbour", new, prev, next);
	if (dusk_list_field(next, 1) != prev)
		return dusk_list_corrupt("add: next->prev should be prev", new, prev, next);
	if (dusk_list_field(prev, 0) != next)
		return dusk_list_corrupt("add: prev->next should be next", new, prev, next);
	if (new == prev || new == next)
		return dusk_list_corrupt("add: double add", new, prev, next);
	return true;
}

DUSK_EXPORT bool __dusk_impl___list_del_entry_valid(void *entry)
{
	void *next = dusk_list_field(entry, 0), *prev = dusk_list_field(entry, 1);

	/* LIST_POISON1/2: 0x100 and 0x122 plus POISON_POINTER_DELTA */
	if (!next || !prev)
		return dusk_list_corrupt("del: NULL neighbour", entry, prev, next);
	if (((uintptr_t)next & 0xfff) == 0x100 || ((uintptr_t)prev & 0xfff) == 0x122)
		return dusk_list_corrupt("del: entry already deleted", entry, prev, next);
	if (dusk_list_field(prev, 0) != entry)
		return dusk_list_corrupt("del: prev->next should be entry", entry, prev, next);
	if (dusk_list_field(next, 1) != entry)
		return dusk_list_corrupt("del: next->prev should be entry", entry, prev, next);
	return true;
}

/* The IPv4 header checksum of ihl 32-bit words at iph (RFC 1071). */
DUSK_EXPORT uint16_t __dusk_impl_ip_fast_csum(const void *iph, unsigned int ihl)
{
	const uint8_t *p = __dusk_check(iph, (size_t)ihl * 4);
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < ihl * 4; i += 2)
		sum += (uint32_t)p[i] | (uint32_t)p[i + 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
