/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * dusk_debug.h - what the gdb extension (gdb-ext/) asks of a stopped
 * program, by inferior calls. The extension never re-implements the
 * runtime: every question about the cache, the session or the kernel is
 * answered here, by the runtime's own code.
 *
 * Rules for these functions: they run while the program is stopped at a
 * breakpoint, on the thread gdb chose; they never run module code; they
 * may talk to the target (status, kread, shadow, commit, refresh, ksym).
 * Text results go to a buffer the runtime owns, NUL-terminated, one
 * record a line, fields separated by a tab, and stay valid until the next
 * dusk_dbg_* call. Functions returning a pointer return NULL and set
 * errno on failure; functions returning int return 0 or a negative
 * errno. Either way a failure leaves a one-line explanation in
 * dusk_dbg_error, so that the debugger can say more than "Bad address"
 * without another inferior call.
 *
 * Safe points: module code (a breakpoint in a hook, in init or exit, a
 * crash of the module) and the two anchors below. A program stopped
 * inside the runtime itself (in the middle of a request) must not be
 * asked anything that talks to the target.
 */
#ifndef DUSK_DEBUG_H
#define DUSK_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "dusk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The last failure of a dusk_dbg_* function, one line ("" after success). */
#define DUSK_DBG_ERROR_LEN	256
DUSK_EXPORT extern char dusk_dbg_error[DUSK_DBG_ERROR_LEN];
/* Where the debugger writes a string argument (a symbol name) before
 * passing it, so that no call needs the program's malloc. */
#define DUSK_DBG_ARG_LEN	256
DUSK_EXPORT extern char dusk_dbg_arg[DUSK_DBG_ARG_LEN];

/*
 * "key\tvalue" lines: target (HOST:PORT), release, session (hex id),
 * policy (accept|drop), hold_ms, hold_max, heartbeat_ms, hooks
 * (registered), inflight (invocations being served or queued here),
 * invocation (the packet id of the one this thread serves, 0: none),
 * invocation_ms (how long ago its HOOK or INVOKE first arrived),
 * invocation_cpu, invocation_kind (hook | callback | -: none),
 * invocation_pid, invocation_tgid, invocation_comm and invocation_task
 * (a callback's caller: its task_struct's kernel address; 0 and - else),
 * invocation_user (present when the callback was given a __user range:
 * its start (0x...) and length, tab-separated),
 * late (1: it has waited so long that the kernel may have released the
 * packet by policy), kernel (ok, or why the PING failed), queued (packets
 * waiting in the kernel, from a PING), released (by policy so far),
 * verdicts, rejected, depth (module call nesting), generation (of the
 * cache), pages (cached in this generation), dirty (pages with
 * uncommitted changes), copies (kernel copies of user objects), kcalls
 * (kernel calls made), callbacks (registered: proxy slots of the
 * module's functions), invokes (of the invocations, callbacks), skipped (HOOKs that came too late to run), stale
 * (VERDICTs the kernel refused: packet released first), watchdog (pid, 0:
 * none), state_dir (the embedded target's state directory whose endpoint
 * is the session's target, "-" for any other target).
 */
DUSK_EXPORT const char *dusk_dbg_status(void);

/*
 * The address map, one line per range, by kernel address: kernel address
 * (0x...), user address (0x...), size, type ("struct sk_buff", "-" when
 * unknown), state (clean | dirty | stale), owner (fetched: cached kernel
 * memory | copy:<symbol or 0xaddr> for a kernel copy of a user object |
 * placeholder:<variable> for a kernel variable's stand-in in the glue).
 * Cached ranges are runs of 64-byte lines valid in this generation,
 * dirty where the mirror differs from what the kernel was last known to
 * hold, cut where an object of the current invocation starts or ends;
 * stale ranges are pages of an older generation (fetched again on their
 * next use). Placeholders of variables not resolved in this session show
 * kernel address 0x0 and state stale.
 */
DUSK_EXPORT const char *dusk_dbg_map(void);

/* Registered hooks, one a line: handle, function (symbol), function
 * address (0x...), pf, hooknum, priority. */
DUSK_EXPORT const char *dusk_dbg_hooks(void);

/*
 * Every invocation in flight, on any thread of the program, one a line:
 * id, kind (hook | callback), the caller's pid, tgid and comm (a
 * callback's; 0, 0, - for a hook), cpu, ms since its HOOK or INVOKE
 * first arrived, signal (- | pending | killed), the thread (LWP) that
 * runs it (0: none yet), state (running: on its thread, asleep or
 * stopped included | queued), 1 for the one this thread serves (else 0).
 */
DUSK_EXPORT const char *dusk_dbg_invocations(void);
/* The module's timers, hrtimers and delayed work armed or running, and
 * its work queued or running: one line each (debug.c says the fields). */
DUSK_EXPORT const char *dusk_dbg_deferred(void);

/* The module's callbacks the kernel was given (a member of a proxied
 * struct file_operations, proc_ops or seq_operations, a proxy function),
 * one a line: the function's address (0x...), its symbol (- if none),
 * what it is ("read of my_fops"). */
DUSK_EXPORT const char *dusk_dbg_callbacks(void);

/*
 * len bytes of the caller's user memory at uaddr, read by the calling
 * task itself (as the module's copy_from_user): only on the thread of a
 * callback invocation (-ENOTCONN on any other). A runtime buffer valid
 * until the next dusk_dbg_uread; at most DUSK_DBG_UREAD_MAX bytes;
 * NULL with -EFAULT when not all of them can be read.
 */
#define DUSK_DBG_UREAD_MAX	(1U << 20)
DUSK_EXPORT void *dusk_dbg_uread(uint64_t uaddr, size_t len);

/*
 * A kernel call, as recorded just before it is made (and completed when
 * it returns). The record is what dusk_dbg_kcall_anchor receives.
 */
#define DUSK_DBG_KCALL_PENDING	1	/* status while the call is made */

struct dusk_dbg_kcall {
	uint64_t seq;			/* 1, 2, 3... per program */
	const char *name;		/* the kernel function; NULL: unknown */
	const void *kfunc;		/* the glue's struct dusk_kfunc, or NULL */
	uint64_t fn;			/* its kernel address */
	uint64_t args[6];		/* after translation */
	uint64_t orig[6];		/* user object a copy stands for, or 0 */
	uint32_t nargs;
	int32_t status;			/* 0, -errno, DUSK_DBG_KCALL_PENDING */
	uint64_t ret;
	uint64_t start_ns;		/* CLOCK_MONOTONIC */
	uint64_t usec;			/* duration */
};

/*
 * The last n kernel calls (0: all those kept), oldest first, one a line:
 * sequence number, function, arguments (0x... each, comma-separated),
 * result (0x..., "-" while pending), status (0, -errno or "pending"),
 * microseconds ("-" while pending), the result's kind (int | ptr:TYPE |
 * void | -), the arguments' kinds (comma-separated: int, ptr:TYPE, fn,
 * or - when unknown), the arguments' origins (comma-separated: "-" or
 * copy:<symbol or 0xaddr> when the argument is a kernel copy of a user
 * object the module passed).
 */
DUSK_EXPORT const char *dusk_dbg_kcalls(unsigned int n);

/*
 * Live kernel bytes (not the cache): a runtime buffer holding them. The
 * buffers of consecutive dusk_dbg_kread calls stay valid together until
 * the next call of another dusk_dbg_* function (one expression may need
 * several). At most 1 MiB at once.
 */
DUSK_EXPORT void *dusk_dbg_kread(uint64_t kaddr, size_t len);

enum dusk_dbg_shadow_flag {
	DUSK_DBG_WRITE = 1U << 0,	/* the debugger will write: mark dirty */
	/* The debugger will watch the address (a hardware watchpoint): fail
	 * unless it stays the range's mirror for the session (a region's
	 * window, or a kernel copy's user object; not a stray page or a
	 * section, given out anew when the cache is reset, nor a late
	 * packet's frozen bytes). */
	DUSK_DBG_FIXED = 1U << 1,
};
/*
 * The cache's mirror of [kaddr, kaddr+len), fetched if need be, as the
 * module's own __dusk_check() would give it (a kernel copy's address
 * gives the user object; a mirror address its own range; a user address
 * comes back unchanged). What is cached can be read without a call too:
 * __dusk_shadow's layout is ABI (shadow_fast.h), and the debugger's
 * pretty-printers read it so while gdb prints a stop.
 */
DUSK_EXPORT void *dusk_dbg_shadow(uint64_t kaddr, size_t len,
				  unsigned int flags);
/* The kernel address a user address stands for: a mirror address's,
 * a user object's kernel copy's, a placeholder's variable's (resolved
 * if need be). 0 (errno set) for any other address. */
DUSK_EXPORT uint64_t dusk_dbg_kaddr(uint64_t user);
/*
 * Send the cache's changes in the range to the kernel now (len 0: all,
 * and the changes of user objects to their kernel copies first). Only
 * bytes that differ from what the kernel was last known to hold go.
 * -ESTALE (nothing sent): the changes include the current packet's
 * objects and the packet has waited so long that the kernel may have
 * released it by policy: they would land in memory that is no longer
 * the packet's.
 */
DUSK_EXPORT int dusk_dbg_commit(uint64_t kaddr, size_t len);
/* Forget the range in the cache, uncommitted changes included (whole
 * 64-byte lines), so that the next access fetches (len 0: all, and read
 * user objects back from their kernel copies). */
DUSK_EXPORT int dusk_dbg_refresh(uint64_t kaddr, size_t len);
/* A kernel symbol's address, 0 (errno set) if none. */
DUSK_EXPORT uint64_t dusk_dbg_ksym(const char *name);

/*
 * Breakpoint conditions compiled into the program ("dusk break-hook NAME
 * if COND"): dusk-gdb translates COND into C over the callback's
 * arguments and the module's variables, compiles it into a flat block of
 * position-independent code and has the runtime take it; the runtime then
 * tests it each time it is about to call NAME as a hook or callback, and
 * reaches dusk_dbg_cond_anchor only when it holds (or fails), so that a
 * false condition costs the debugger nothing. No dlopen: a static program
 * takes it too, and gdb has no new library to load while it decides.
 *
 * The code starts with
 *   int dusk_cond(struct dusk_dbg_cond_env *env, const uint64_t *args);
 * which returns non-zero when the condition holds. It reads memory only
 * through env->read (kernel addresses through the shadow cache, as the
 * module's own accesses; a bad address fails the evaluation and reads
 * zeros) and reports other failures (a division by zero) with env->fail;
 * it calls nothing else, has no data of its own and needs no relocation.
 */
#define DUSK_DBG_COND_ABI	1
#define DUSK_DBG_COND_MAX	64	/* functions with a condition */
#define DUSK_DBG_COND_READ_MAX	16	/* bytes of one env->read */
#define DUSK_DBG_COND_CODE_MAX	(64U << 10)

struct dusk_dbg_cond_env {
	const void *(*read)(struct dusk_dbg_cond_env *env, uint64_t addr,
			    size_t len);
	void (*fail)(struct dusk_dbg_cond_env *env, const char *why);
};

/* Writable memory for len bytes of a condition's code (at most
 * DUSK_DBG_COND_CODE_MAX), which the debugger writes and then hands to
 * dusk_dbg_cond_set. NULL (errno set) on failure. */
DUSK_EXPORT void *dusk_dbg_cond_alloc(size_t len);
/*
 * Make code (from the last dusk_dbg_cond_alloc, written) fn's condition,
 * replacing any it had, fn taking nparams parameters; abi is the
 * DUSK_DBG_COND_ABI the debugger compiled it for. fn must be a hook or a
 * callback the module gave the kernel in this session: -ENOENT otherwise
 * (its calls are not tested here: the debugger tests them itself).
 */
DUSK_EXPORT int dusk_dbg_cond_set(void *fn, unsigned int nparams, void *code,
				  unsigned int abi);
/* fn's condition is no longer tested (0, or -ENOENT: it had none). */
DUSK_EXPORT int dusk_dbg_cond_clear(void *fn);
/* The conditions loaded, one a line: the function's address (0x...), its
 * symbol (- if none), evaluations, how many held, how many failed. */
DUSK_EXPORT const char *dusk_dbg_conds(void);

/*
 * Breakpoint anchors: empty, never inlined functions the runtime calls at
 * the moments gdb cares about. dusk_dbg_kcall_anchor runs just before
 * every kernel call (call: its record, arguments translated, status
 * DUSK_DBG_KCALL_PENDING); dusk_dbg_hook_anchor whenever the module
 * registers a hook (fn: the module's callback);
 * dusk_dbg_callback_anchor whenever a callback of the module is given
 * to the kernel (fn: the module's function, what: "read of my_fops");
 * dusk_dbg_cond_anchor just before the runtime calls fn when fn's
 * compiled condition held (held 1, why NULL) or could not be evaluated
 * (held -1, why: one line, "cannot read kernel memory at 0x...").
 */
DUSK_EXPORT void dusk_dbg_kcall_anchor(const struct dusk_dbg_kcall *call);
DUSK_EXPORT void dusk_dbg_hook_anchor(void *fn);
DUSK_EXPORT void dusk_dbg_callback_anchor(void *fn, const char *what);
DUSK_EXPORT void dusk_dbg_cond_anchor(void *fn, int held, const char *why);

#ifdef __cplusplus
}
#endif

#endif /* DUSK_DEBUG_H */
