// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* The program's console (console.h). */
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "log.h"

static FILE *console_out, *console_err;

FILE *dusk_console_out(void)
{
	return console_out ? console_out : stdout;
}

FILE *dusk_console_err(void)
{
	return console_err ? console_err : stderr;
}

void dusk_console_set(FILE *out, FILE *err)
{
	console_out = out;
	console_err = err;
}

void dusk_console_log(enum dusk_log_level level, const char *fmt, va_list ap)
{
	char line[1024];

	if (dusk_log_line(level, fmt, ap, line, sizeof(line)))
		fprintf(dusk_console_err(), "%s\n", line);
}

void dusk_console_exit(int status)
{
	fflush(NULL);
	exit(status);
}

void dusk_console_abort(void)
{
	fflush(NULL);
	abort();
}
