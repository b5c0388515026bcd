/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * log.h - the core's only way to say anything: the replaceable sink of
 * dusk_set_log() (dusk.h), silent until set. Nothing else in the core
 * prints.
 */
#ifndef DUSK_LOG_H
#define DUSK_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "dusk.h"

void dusk_log(enum dusk_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The line dusk_log_stderr() prints for a message ("dusk: warning: ..."),
 * in line: 1; 0 when its level is not printed (errors and warnings are,
 * everything with DUSK_DEBUG=1). */
int dusk_log_line(enum dusk_log_level level, const char *fmt, va_list ap,
		  char *line, size_t len);

#define dusk_err(...)	dusk_log(DUSK_LOG_ERROR, __VA_ARGS__)
#define dusk_warn(...)	dusk_log(DUSK_LOG_WARN, __VA_ARGS__)
#define dusk_info(...)	dusk_log(DUSK_LOG_INFO, __VA_ARGS__)
#define dusk_dbg(...)	dusk_log(DUSK_LOG_DEBUG, __VA_ARGS__)

#endif /* DUSK_LOG_H */
