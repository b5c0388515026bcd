// SPDX-License-Identifier: GPL-2.0
/* dbgfmt's counters. Still being debugged: its pr_debug print unless
 * turned off (dyndbg="file dbgfmt_stats.c -p"). */
#define DEBUG
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/string.h>

#include "dbgfmt.h"

void dbgfmt_count(struct dbgfmt_stats *st, const char *from, unsigned int len)
{
	st->packets++;
	st->bytes += len;
	if (strcmp(st->last, from)) {
		strscpy(st->last, from, sizeof(st->last));
		st->sources++;
	}
	pr_debug("count: packet %u, %u bytes from %s\n", st->packets, len, from);
}

void dbgfmt_report(const struct dbgfmt_stats *st)
{
	pr_info("%u datagrams, %lu bytes, %u sender changes, last from %s\n",
		st->packets, st->bytes, st->sources,
		st->packets ? st->last : "nobody");
	pr_debug("report: done\n");
}
