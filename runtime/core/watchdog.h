/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * watchdog.h - a forked process that keeps the session alive while the
 * program lives (even stopped under gdb) and ends it when the program
 * dies.
 *
 * It sends PING on DUSK_CHAN_WATCHDOG every heartbeat_ms / 4, from its own
 * socket, with its own seq counter and request ids from the session's
 * shared counter. It learns that the program died when the pipe whose
 * write end only the program holds reads EOF; it then sends BYE on
 * DUSK_CHAN_WATCHDOG (retransmitted until acked, for a second at most) and
 * exits. A program that closes its session writes 'q' first: the watchdog
 * then exits quietly. It holds none of the program's descriptors (stdio
 * goes to /dev/null) and leaves the terminal's process group, so that
 * ^C and ^Z in gdb's terminal do not reach it.
 */
#ifndef DUSK_WATCHDOG_H
#define DUSK_WATCHDOG_H

struct dusk_session;

int dusk_watchdog_start(struct dusk_session *s);
/* Tell it to exit without BYE, and reap it. */
void dusk_watchdog_stop(struct dusk_session *s);
/* The program is about to die (a crash): let go of the pipe now, so
 * that the watchdog sends BYE (dusk.ko removes the hooks and releases
 * the queued packets by policy), and wait for it at most timeout_ms.
 * 0 when it is done, -ETIMEDOUT, -ENOENT without a watchdog.
 * Async-signal-safe: close, waitpid, nanosleep. */
int dusk_watchdog_release(struct dusk_session *s, unsigned int timeout_ms);

#endif /* DUSK_WATCHDOG_H */
