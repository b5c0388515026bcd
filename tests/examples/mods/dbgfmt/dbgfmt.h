/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DBGFMT_H
#define DBGFMT_H

struct dbgfmt_stats {
	unsigned int packets;
	unsigned long bytes;
	unsigned int sources;
	char last[32];		/* "a.b.c.d:port" of the last sender */
};

void dbgfmt_count(struct dbgfmt_stats *st, const char *from, unsigned int len);
void dbgfmt_report(const struct dbgfmt_stats *st);

#endif
