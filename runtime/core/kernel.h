/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * kernel.h - kernel memory, calls, symbols and allocations (dusk.h), and
 * the commit that rides on CALL and VERDICT messages.
 */
#ifndef DUSK_KERNEL_H
#define DUSK_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "dusk_proto.h"

struct dusk_session;
struct dusk_segs;
struct dusk_segs_cursor;

/*
 * Collect the cache's changes into segs and send, as WRITE requests, as
 * much of them as needed for the rest to fit in final_room bytes of the
 * message that carries the commit (0: send everything now). Once that
 * message is acknowledged, dusk_shadow_diff_done().
 */
int dusk_commit_prepare(struct dusk_session *s, struct dusk_segs *segs,
			struct dusk_segs_cursor *cur, size_t final_room);

/* The cache's bytes segs sent are the kernel's now (diff done for
 * their ranges only: other threads may have changed others meanwhile). */
void dusk_segs_done(struct dusk_session *s, const struct dusk_segs *segs);
/* dusk_commit() until no other thread ran during it (plock.h), so that
 * nothing changed in the cache is left uncommitted before a refresh. */
int dusk_commit_settled(struct dusk_session *s);

/* Send segs now, as WRITE requests. */
int dusk_segs_send(struct dusk_session *s, const struct dusk_segs *segs);

/*
 * Guards the module runtime installs (mod_packet.c) so that a late
 * invocation, whose packet the kernel may have released by policy, does
 * not reach that packet's objects: the first runs before every commit,
 * the second before every kernel call (non-zero: not made, that error).
 */
extern void (*dusk_commit_guard)(struct dusk_session *s);
extern int (*dusk_call_guard)(struct dusk_session *s, const char *name,
			      const uint64_t *args, unsigned int nargs);
/*
 * What dusk.ko is to probe of each argument before a call (dusk_proto.h,
 * struct dusk_probe; all zero: nothing), and what came of it: refused is
 * -1, or the argument it could not read (the call was not made; the
 * call returns -EFAULT), fault_off that argument's first unreadable byte.
 */
struct dusk_kcall_probe {
	struct dusk_probe spec[DUSK_MAX_CALL_ARGS];
	int refused;
	uint32_t fault_off;
};

/*
 * dusk_kcall() with what the caller knows of the function, for the
 * observers (observe.h; the debugger records every call): its name (NULL:
 * unknown) and the glue's struct dusk_kfunc (NULL: none), and the probes
 * of its arguments (NULL: none). Every kernel call goes through here.
 */
int dusk_kcall_as(struct dusk_session *s, const char *name, const void *kfunc,
		  uint64_t fn, const uint64_t *args, unsigned int nargs,
		  struct dusk_kcall_probe *probe, uint64_t *ret);

#endif /* DUSK_KERNEL_H */
