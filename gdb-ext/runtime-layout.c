// SPDX-License-Identifier: GPL-2.0
/*
 * The layouts of libdusk's own structures that dusk-gdb reads with memory
 * reads alone (the shadow cache's table, shadow_fast.h: ABI), from the
 * header by the host compiler, asm-offsets style: compiled to
 * runtime-layout.s, taken into dusk/constants.py by build-aux/gen-constants.
 * Nothing here is run.
 *
 * The program's DWARF (libdusk is built with -g) is the first source;
 * these are checked against it and stand in when it lacks them (a program
 * stripped of libdusk's debug information).
 *
 * Names: SIZEOF_<tag>, OFFSETOF_<tag>__<member>, SIZEOF_<tag>__<member>.
 */
#include <stddef.h>

#include "shadow_fast.h"

#define DEFINE(sym, val) \
	__asm__ volatile("\n.ascii \"->" #sym " %0 " #val "\"" : : "i" (val))
#define SIZE(tag)	DEFINE(SIZEOF_##tag, sizeof(struct tag))
#define MEMBER(tag, m)							\
	do {								\
		DEFINE(OFFSETOF_##tag##__##m, offsetof(struct tag, m));	\
		DEFINE(SIZEOF_##tag##__##m, sizeof(((struct tag *)0)->m)); \
	} while (0)

void dusk_gdb_runtime_layout(void);

void dusk_gdb_runtime_layout(void)
{
	SIZE(dusk_shadow_entry);
	MEMBER(dusk_shadow_entry, kpn);
	MEMBER(dusk_shadow_entry, gen);
	MEMBER(dusk_shadow_entry, valid);
	MEMBER(dusk_shadow_entry, user);
	MEMBER(dusk_shadow_entry, pristine);
	SIZE(dusk_shadow_table);
	MEMBER(dusk_shadow_table, ents);
	MEMBER(dusk_shadow_table, mask);
	MEMBER(dusk_shadow_table, gen);
	MEMBER(dusk_shadow_table, mirror_lo);
	MEMBER(dusk_shadow_table, mirror_span);
}
