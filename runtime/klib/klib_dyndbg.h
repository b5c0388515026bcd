/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * klib_dyndbg.h - static keys and dynamic debug at user level.
 *
 * Static keys. Every jump label of the module (arch_static_branch(): an
 * asm goto the kernel patches) is a call of __dusk_static_branch(key,
 * branch) at user level (the GCC plugin's rewrite): the label is taken
 * iff static_key_enabled(key) XOR (branch & 1), as the kernel patches it
 * (kernel/jump_label.c, jump_label_type()). key->enabled is read through
 * the shadow cache: the key may be the kernel's (read as it is now, after
 * every kernel call or new invocation) or the module's own.
 *
 * Dynamic debug. pr_debug() and dev_dbg() of Debian's kernel
 * (CONFIG_DYNAMIC_DEBUG) test a static key in their descriptor (struct
 * _ddebug, in the module's section __dyndbg) and call
 * __dynamic_pr_debug(). The descriptors stay in the program (the
 * kernel's dynamic_debug/control does not see them): dusk-cc's glue hands
 * the section to __dusk_dyndbg_register(), and queries change them as
 * lib/dynamic_debug.c (6.1) does, from the dyndbg= parameter insmod takes
 * (dusk_dyndbg_param(), before init) or from gdb (dusk_dyndbg_query()):
 *   [func NAME] [file NAME[:LINES|:FUNC]] [module NAME] [format STR]
 *   [line N[-M]] [class NAME] FLAGS     several separated by ';' or '\n'
 * FLAGS is [+-=][pmflt_]*: p prints; m, f, l, t prefix the message with
 * the module, function, line, and "[tid] " (or "<intr> "). A file built
 * with DEBUG has its pr_debug on until turned off.
 * __dynamic_pr_debug() and __dynamic_dev_dbg() print at KERN_DEBUG with
 * those prefixes, as the kernel does (klib_printk.h's outputs).
 */
#ifndef DUSK_KLIB_DYNDBG_H
#define DUSK_KLIB_DYNDBG_H

#include <stdbool.h>
#include <stddef.h>

#include "dusk_module.h"

/* Called by instrumented code (the plugin's rewrite of a jump label). */
DUSK_EXPORT bool __dusk_static_branch(const void *key, unsigned long branch);

/* void __dusk_dyndbg_register(void *start, void *stop): the module's
 * descriptors, [start, stop) of its section __dyndbg (dusk_module.h). */

/*
 * Run queries (one or more, as dynamic_debug/control takes them) on the
 * module's descriptors, module NAME defaulting to modname (NULL: any).
 * Errors are reported as the kernel reports them ("dyndbg: ..." on
 * stderr) and the next query runs. Returns the number of descriptors
 * matched, or the last error (-EINVAL).
 */
int dusk_dyndbg_exec(const char *queries, const char *modname);
/* The same for gdb: call dusk_dyndbg_query("func my_hook +p"). */
DUSK_EXPORT int dusk_dyndbg_query(const char *queries);

/*
 * A module parameter the module does not define, as the kernel's loader
 * gives it to dynamic debug (ddebug_dyndbg_module_param_cb()): "dyndbg"
 * (its value, or "+p" without one) applies to this module, NAME.dyndbg
 * to module NAME. 0 if it was one (query errors are only reported, as in
 * the kernel), -ENOENT if not.
 */
int dusk_dyndbg_param(const char *param, const char *val);

/* lib/dynamic_debug.c (6.1). */
DUSK_EXPORT void __dusk_impl___dynamic_pr_debug(void *descriptor,
						const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
DUSK_EXPORT void __dusk_impl___dynamic_dev_dbg(void *descriptor,
					       const void *dev,
					       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* DUSK_KLIB_DYNDBG_H */
