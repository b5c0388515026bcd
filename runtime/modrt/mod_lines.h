/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * mod_lines.h - the module's source lines: program counter -> function,
 * file:line, from the DWARF (libdwarf) of the program's own file.
 *
 * Only the module's compilation units are read (those dusk-cc compiled
 * through dusk's plugin: their DW_AT_producer names it), so "is this pc
 * the module's code" is a question this module answers too: a crash
 * report shows the module's frames only, and a refusal names the
 * module's line that called into the runtime.
 *
 * The tables are built once (dusk_lines_load(), at the program's start:
 * a crash report must not read DWARF, which allocates, from a signal
 * handler). After that, dusk_lines_find() only searches sorted arrays:
 * no allocation, no lock, safe in a signal handler.
 */
#ifndef DUSK_MOD_LINES_H
#define DUSK_MOD_LINES_H

#include <stdint.h>

struct dusk_line {
	const char *func;	/* the (out-of-line) function holding pc */
	/* The module's own line: the outermost inlined call site when pc
	 * is in code inlined from elsewhere (a kernel header's inline),
	 * else the line table's. */
	const char *file;
	unsigned int line;
	/* pc is in inlined code: the outermost inlined function, and the
	 * line table's own row (in the inlined function's file). NULL/0
	 * otherwise. */
	const char *inl_func;
	const char *inl_file;
	unsigned int inl_line;
};

/* Read the program's DWARF (once; later calls return the first result):
 * 0, -ENOENT (no DWARF of the module's: built without -g, or stripped),
 * -errno. */
int dusk_lines_load(void);
/* pc is in the module's code (0 before dusk_lines_load() succeeded). */
int dusk_lines_module(uintptr_t pc);
/* pc's function and lines: 0, or -ENOENT (not the module's code).
 * Async-signal-safe. For a return address, ask for pc - 1 (the call). */
int dusk_lines_find(uintptr_t pc, struct dusk_line *ret);
/* The innermost frame of the calling thread's stack that is the
 * module's code (the module's call into the runtime): its return
 * address in *ret_pc (minus one: the call instruction) and its lines.
 * -ENOENT when no module frame is on the stack. Not for signal
 * handlers (the first use of the unwinder loads it). */
int dusk_lines_caller(uintptr_t *ret_pc, struct dusk_line *ret);
/* "FILE:LINE" of the module's call into the runtime (buf, empty when
 * unknown): what a refusal names first. */
const char *dusk_lines_caller_text(char *buf, unsigned long len);

#endif /* DUSK_MOD_LINES_H */
