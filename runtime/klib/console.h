/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * console.h - the program's console: the one place where a module program
 * speaks and where it ends.
 *
 * libdusk's core never prints and never exits: it returns errors and
 * hands log lines to a replaceable sink (dusk_set_log(), silent unless
 * set). A module program is more than a library: the kernel code in it
 * prints (printk), reports (WARN, BUG, panic, call traces) and may stop
 * where the .ko would oops; its main() reports bad options and failed
 * init. All of that goes through here:
 *
 *	dusk_console_out()	printk's local copy ("<6>text", stdout)
 *	dusk_console_err()	reports, the runtime's log lines and the
 *				program's own one-line errors (stderr)
 *	dusk_console_log()	the log sink a module program installs
 *	dusk_console_exit()	the program ends with a status (flushed)
 *	dusk_console_abort()	the program stops where the .ko would oops
 *				(SIGABRT: a core, or gdb stops there)
 */
#ifndef DUSK_CONSOLE_H
#define DUSK_CONSOLE_H

#include <stdarg.h>
#include <stdio.h>

#include "dusk.h"

FILE *dusk_console_out(void);
FILE *dusk_console_err(void);
/* Tests capture the console (NULL: back to stdout/stderr). */
void dusk_console_set(FILE *out, FILE *err);

/* "dusk: warning: ..." lines on dusk_console_err(): errors and warnings,
 * everything with DUSK_DEBUG=1 (read once). */
void dusk_console_log(enum dusk_log_level level, const char *fmt, va_list ap);

__attribute__((noreturn)) void dusk_console_exit(int status);
__attribute__((noreturn)) void dusk_console_abort(void);

#endif /* DUSK_CONSOLE_H */
