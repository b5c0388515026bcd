/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * klib_printk.h - printk and the kernel's reports (WARN, BUG, panic,
 * dump_stack) at user level.
 *
 * printk. The message is formatted here, by the kernel's format language
 * (klib_fmt.h), its KERN_ level parsed from the formatted text as 6.1's
 * printk_parse_prefix() does (KERN_SOH "\001" and a digit, or 'c' for
 * KERN_CONT; none: default_message_loglevel, 4), then goes to two
 * outputs, each switchable (dusk_printk_set_outputs()):
 *  - locally, one line per message on stdout with its level:
 *    "<6>hello: loaded" (continuations are appended to their line; the
 *    stream is flushed after every message);
 *  - the target's kernel log: one kernel call of _printk("%s", text) with
 *    the text as formatted here (prefix included, so the kernel parses the
 *    same level and continuation), the text riding on the call itself
 *    (klib_kernel.c): one round trip per message. Without a session, or
 *    if the call fails (reported once), the message is only local.
 * Rate limiting (printk_ratelimit(), net_ratelimit(), printk_ratelimited()
 * through ___ratelimit()) is done at user level, on the program's own
 * messages, with a user-level jiffies clock at the target's HZ: asking
 * the kernel would cost a round trip per check to share a budget with
 * the kernel's unrelated messages.
 *
 * Reports go to stderr, with a backtrace of the program (glibc
 * backtrace_symbols_fd): WARN() prints "WARNING: CPU: n PID: tid at
 * file:line" and returns; BUG() prints "kernel BUG at file:line!" and
 * aborts, a crash of the process where the .ko would oops (under gdb the
 * program stops there). WARN()'s message (__warn_printk) is a printk, as
 * in the kernel.
 */
#ifndef DUSK_KLIB_PRINTK_H
#define DUSK_KLIB_PRINTK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "dusk_module.h"

/* ---- for the program entry (module runtime) ------------------------------------- */

enum dusk_printk_output {
	DUSK_PRINTK_LOCAL = 1 << 0,	/* stdout, "<6>text" */
	DUSK_PRINTK_KERNEL = 1 << 1,	/* the target's kernel log */
};

/* Where printk goes: DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL by default.
 * The program's --no-local-log and --no-kernel-log mask these: the
 * outputs are those set and allowed (dusk_printk_allow(), by the module
 * runtime's main). */
DUSK_EXPORT void dusk_printk_set_outputs(unsigned int outputs);
DUSK_EXPORT unsigned int dusk_printk_outputs(void);
void dusk_printk_allow(unsigned int outputs);

/* Internal: the local stream (stdout by default; tests capture it). */
void dusk_printk_set_stream(FILE *f);

/* ---- the kernel's functions (Linux 6.1) ------------------------------------------ */

/* 6.1 lib/bug.h */
#define DUSK_BUGFLAG_WARNING		(1 << 0)
#define DUSK_BUGFLAG_ONCE		(1 << 1)
#define DUSK_BUGFLAG_DONE		(1 << 2)
#define DUSK_BUGFLAG_NO_CUT_HERE	(1 << 3)

/* void __dusk_bug(const char *file, unsigned int line, unsigned int flags)
 * (dusk_module.h) */

DUSK_EXPORT int __dusk_impl__printk(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
DUSK_EXPORT int __dusk_impl_vprintk(const char *fmt, va_list args);
DUSK_EXPORT int __dusk_impl__printk_deferred(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
DUSK_EXPORT int __dusk_impl_vprintk_emit(int facility, int level,
					 const void *dev_info,
					 const char *fmt, va_list args);
/* dev_printk() and dev_err()... (drivers/base/core.c): "driver device: "
 * then the message; the device's names are read from the kernel. */
DUSK_EXPORT void __dusk_impl__dev_printk(const char *level, const void *dev,
					 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
DUSK_EXPORT void __dusk_impl__dev_emerg(const void *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
DUSK_EXPORT void __dusk_impl__dev_alert(const void *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
DUSK_EXPORT void __dusk_impl__dev_crit(const void *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
DUSK_EXPORT void __dusk_impl__dev_err(const void *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
DUSK_EXPORT void __dusk_impl__dev_warn(const void *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
DUSK_EXPORT void __dusk_impl__dev_notice(const void *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
DUSK_EXPORT void __dusk_impl__dev_info(const void *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
DUSK_EXPORT void __dusk_impl___warn_printk(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
DUSK_EXPORT void __dusk_impl_warn_slowpath_fmt(const char *file,
					       const int line,
					       unsigned int taint,
					       const char *fmt, ...);
DUSK_EXPORT void __dusk_impl_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
DUSK_EXPORT void __dusk_impl_fortify_panic(const char *name)
	__attribute__((noreturn));
DUSK_EXPORT void __dusk_impl_dump_stack(void);
DUSK_EXPORT void __dusk_impl_dump_stack_lvl(const char *log_lvl);

/* struct ratelimit_state (include/linux/ratelimit_types.h) without lock
 * debugging, as Debian builds it: klib_printk.c asserts it is the target
 * kernel's (kconst.h). */
struct dusk_ratelimit_state {
	uint32_t lock;		/* raw_spinlock_t: the emulation's key only */
	int interval;
	int burst;
	int printed;
	int missed;
	unsigned long begin;
	unsigned long flags;
};
#define DUSK_RATELIMIT_MSG_ON_RELEASE	(1UL << 0)

DUSK_EXPORT int __dusk_impl____ratelimit(struct dusk_ratelimit_state *rs,
					 const char *func);
DUSK_EXPORT int __dusk_impl___printk_ratelimit(const char *func);
DUSK_EXPORT bool __dusk_impl_printk_timed_ratelimit(unsigned long *caller_jiffies,
						    unsigned int interval_msecs);
DUSK_EXPORT int __dusk_impl_net_ratelimit(void);

/* lib/hexdump.c */
enum {
	DUSK_DUMP_PREFIX_NONE,
	DUSK_DUMP_PREFIX_ADDRESS,
	DUSK_DUMP_PREFIX_OFFSET,
};
DUSK_EXPORT int __dusk_impl_hex_dump_to_buffer(const void *buf, size_t len,
					       int rowsize, int groupsize,
					       char *linebuf,
					       size_t linebuflen, bool ascii);
DUSK_EXPORT void __dusk_impl_print_hex_dump(const char *level,
					    const char *prefix_str,
					    int prefix_type, int rowsize,
					    int groupsize, const void *buf,
					    size_t len, bool ascii);

#endif /* DUSK_KLIB_PRINTK_H */
