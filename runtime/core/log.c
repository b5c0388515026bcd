// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The log sink: none until the program sets one (dusk_set_log()).
 * dusk_log_stderr() is a ready one for programs that want "dusk: " lines
 * on stderr; a module program's main sets the console's (console.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Silent unless asked: a library does not print on its own. */
static dusk_log_fn dusk_log_sink;
static int dusk_log_max = -1;	/* -1: DUSK_DEBUG not read yet */

int dusk_log_line(enum dusk_log_level level, const char *fmt, va_list ap,
		  char *line, size_t len)
{
	static const char *const names[] = {
		[DUSK_LOG_ERROR] = "error: ",
		[DUSK_LOG_WARN] = "warning: ",
		[DUSK_LOG_INFO] = "",
		[DUSK_LOG_DEBUG] = "debug: ",
	};
	int n;

	if (dusk_log_max < 0) {
		const char *d = getenv("DUSK_DEBUG");

		dusk_log_max = d && *d && strcmp(d, "0") ? DUSK_LOG_DEBUG :
							   DUSK_LOG_WARN;
	}
	if ((int)level > dusk_log_max)
		return 0;
	n = snprintf(line, len, "dusk: %s", names[level]);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(line + n, len - (size_t)n, fmt, ap);
	return 1;
}

DUSK_EXPORT void dusk_log_stderr(enum dusk_log_level level, const char *fmt,
				 va_list ap)
{
	char line[1024];

	/* One write per line, so that lines of several processes do not
	 * interleave mid-line. */
	if (dusk_log_line(level, fmt, ap, line, sizeof(line)))
		fprintf(stderr, "%s\n", line);
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
