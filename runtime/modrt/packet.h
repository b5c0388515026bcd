/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * packet.h - the packet of the invocation this thread serves: its kernel
 * objects, whether it is late (the kernel may have released it by policy
 * while the program was stopped or slow), and the guards that keep a late
 * invocation's changes and kernel calls away from what is no longer its
 * packet (mod_packet.c; the core calls the guards through kernel.h).
 */
#ifndef DUSK_PACKET_H
#define DUSK_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "hook.h"

struct dusk_session;

#define DUSK_PKT_OBJS	8

struct dusk_pkt_obj {
	uint64_t k, size;	/* kernel address, bytes */
	char type[48];		/* "struct sk_buff", "skb data"... */
	int packet;		/* goes with the packet (freed with it) */
};

/* The current invocation's objects (0 when none; inv filled in): the
 * skb, the hook state, the skb's linear data and shared info, the
 * devices. Sizes from the module's type records when it has them. */
unsigned int dusk_packet_objects(struct dusk_session *s, struct dusk_pkt_obj *v,
				 struct dusk_inv_info *inv);

/* May the kernel have released inv's packet by policy already? Its clock
 * started when it queued the packet, before the HOOK reached us: a margin
 * (100 ms, or a tenth of hold_ms if more) is taken off hold_ms. */
int dusk_packet_late(const struct dusk_session *s,
		     const struct dusk_inv_info *inv);

/* "packet 17: 127.0.0.1:4000 -> 127.0.0.1:9100 UDP len 33" of the
 * invocation this thread serves, from what its HOOK carried and the
 * cache holds (no fetch, no allocation: a crash report's). -ENOENT:
 * none. */
int dusk_packet_describe(char *buf, size_t len);

/* Installed in the core's guards once the module registers a hook. */
void dusk_packet_guards_install(void);

#endif /* DUSK_PACKET_H */
