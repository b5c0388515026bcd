/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * debug.h - dusk_debug.h inside the runtime: the record of kernel calls
 * (kernel.c keeps it around every CALL), and what debug_core.c gives
 * debug.c (results, errors).
 */
#ifndef DUSK_DEBUG_INT_H
#define DUSK_DEBUG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dusk_debug.h"

/* Kernel calls kept for dusk_dbg_kcalls(). */
#define DUSK_DBG_KCALLS		256

/*
 * Record a kernel call about to be made (name and kfunc may be NULL) and
 * stop at dusk_dbg_kcall_anchor if a debugger asked; then complete the
 * record with what came of it. The record may be overwritten by later
 * calls: end() with the pointer begin() returned, nothing else.
 */
struct dusk_dbg_kcall *dusk_dbg_kcall_begin(const char *name,
					    const void *kfunc, uint64_t fn,
					    const uint64_t *args,
					    unsigned int nargs);
void dusk_dbg_kcall_end(struct dusk_dbg_kcall *rec, int status, uint64_t ret);

/* The runtime is about to call the module's fn (a hook or a callback)
 * with args: test fn's compiled condition, if dusk-gdb loaded one, and
 * reach dusk_dbg_cond_anchor when it holds or fails (debug_cond.c). */
void dusk_dbg_cond_check(void *fn, const uint64_t *args, unsigned int nargs);

/* How many kernel calls were made. */
uint64_t dusk_dbg_kcall_count(void);

/* Results: the start of every dusk_dbg_* call but dusk_dbg_kread (which
 * keeps its buffers until then); printf into the text result; the
 * result (NULL, errno ENOMEM, if it did not fit in memory). */
void dusk_dbg_enter(void);
void dusk_dbg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *dusk_dbg_text(void);
/* A failure: errno = -err, and the line in dusk_dbg_error. */
void dusk_dbg_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The current session, or NULL (ENOTCONN, said in dusk_dbg_error). */
struct dusk_session *dusk_dbg_session(void);
/* "struct sk_buff" for the type record name "struct_sk_buff" ("-" for
 * NULL). */
const char *dusk_dbg_ctype(const char *rec, char *buf, size_t len);
/* A user object as an owner: "KIND:NAME", "KIND:SYMBOL[+0xOFF]" from the
 * program's symbols, or "KIND:0xADDR". */
const char *dusk_dbg_owner(const char *kind, uintptr_t user, const char *name,
			   char *buf, size_t len);

#endif /* DUSK_DEBUG_INT_H */
