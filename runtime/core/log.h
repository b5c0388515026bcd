/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * log.h - the runtime's only way to say anything: the replaceable sink of
 * dusk_set_log() (dusk.h). Nothing else in the runtime prints.
 */
#ifndef DUSK_LOG_H
#define DUSK_LOG_H

#include "dusk.h"

void dusk_log(enum dusk_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define dusk_err(...)	dusk_log(DUSK_LOG_ERROR, __VA_ARGS__)
#define dusk_warn(...)	dusk_log(DUSK_LOG_WARN, __VA_ARGS__)
#define dusk_info(...)	dusk_log(DUSK_LOG_INFO, __VA_ARGS__)
#define dusk_dbg(...)	dusk_log(DUSK_LOG_DEBUG, __VA_ARGS__)

#endif /* DUSK_LOG_H */
