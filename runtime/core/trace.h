/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * trace.h - a readable trace of every message of the program's sessions,
 * one line each, written by an observer of the session's seam (observe.h):
 *
 *	SECONDS DIR TYPE[/reply] ch CHANNEL id ID [inv INV] [status ERR] SUMMARY
 *
 * DIR is ">" for what the program sends, "<" for what it receives;
 * SECONDS count from dusk_trace_open(). A retransmission is a line of its
 * own (same id, new seq).
 */
#ifndef DUSK_TRACE_H
#define DUSK_TRACE_H

/* Trace to path ("-": stderr) from now on: 0 or a negative errno. */
int dusk_trace_open(const char *path);
void dusk_trace_close(void);

#endif /* DUSK_TRACE_H */
