// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The log sink. The default one writes "dusk: " lines to stderr: errors
 * and warnings, and everything with DUSK_DEBUG=1 (read once, lazily).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void dusk_log_default(enum dusk_log_level level, const char *fmt,
			     va_list ap);

static dusk_log_fn dusk_log_sink = dusk_log_default;
static int dusk_log_max = -1;	/* -1: DUSK_DEBUG not read yet */

static void dusk_log_default(enum dusk_log_level level, const char *fmt,
			     va_list ap)
{
	static const char *const names[] = {
		[DUSK_LOG_ERROR] = "error: ",
		[DUSK_LOG_WARN] = "warning: ",
		[DUSK_LOG_INFO] = "",
		[DUSK_LOG_DEBUG] = "debug: ",
	};
	char line[1024];

	if (dusk_log_max < 0) {
		const char *d = getenv("DUSK_DEBUG");

		dusk_log_max = d && *d && strcmp(d, "0") ? DUSK_LOG_DEBUG :
							   DUSK_LOG_WARN;
	}
	if ((int)level > dusk_log_max)
		return;
	/* One write per line, so that lines of several processes (the
	 * watchdog) do not interleave mid-line. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "dusk: %s%s\n", names[level], line);
}

DUSK_EXPORT void dusk_set_log(dusk_log_fn fn)
{
	dusk_log_sink = fn;
}

void dusk_log(enum dusk_log_level level, const char *fmt, ...)
{
	int saved = errno;	/* logging never changes errno for callers */
	va_list ap;

	if (dusk_log_sink) {
		va_start(ap, fmt);
		dusk_log_sink(level, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}
