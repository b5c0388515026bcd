// SPDX-License-Identifier: GPL-2.0
#include <linux/jiffies.h>
#include <linux/string.h>

#include "pscan.h"

struct pscan_table pscan_table;

struct pscan_src *pscan_lookup(__be32 addr, unsigned long now)
{
	struct pscan_src *s, *free_slot = NULL;
	int i;

	for (i = 0; i < PSCAN_SLOTS; i++) {
		s = &pscan_table.slot[i];
		if (s->addr == addr) {
			if (time_after(now, s->first_seen + pscan_window * HZ)) {
				s->nports = 0;
				s->first_seen = now;
			}
			return s;
		}
		if (!s->addr && !free_slot)
			free_slot = s;
	}
	if (!free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->addr = addr;
	free_slot->first_seen = now;
	return free_slot;
}

bool pscan_note_port(struct pscan_src *s, u16 port)
{
	int i;

	for (i = 0; i < s->nports; i++)
		if (s->ports[i] == port)
			return false;
	if (s->nports < PSCAN_PORTS)
		s->ports[s->nports++] = port;
	return s->nports == PSCAN_PORTS;
}
