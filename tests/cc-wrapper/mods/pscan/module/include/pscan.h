/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PSCAN_H
#define PSCAN_H

#include <linux/types.h>
#include <linux/spinlock.h>

#define PSCAN_SLOTS	64
#define PSCAN_PORTS	16	/* distinct ports before a source is a scanner */

struct pscan_src {
	__be32 addr;
	unsigned long first_seen;	/* jiffies */
	u16 nports;
	u16 ports[PSCAN_PORTS];
	bool reported;
};

struct pscan_table {
	spinlock_t lock;
	struct pscan_src slot[PSCAN_SLOTS];
	unsigned int scanners;
};

extern struct pscan_table pscan_table;
extern unsigned int pscan_window;

struct pscan_src *pscan_lookup(__be32 addr, unsigned long now);
bool pscan_note_port(struct pscan_src *s, u16 port);

#endif
