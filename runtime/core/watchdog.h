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
 * then exits quietly. It holds none of the program's descriptors but
 * its stderr (stdin and stdout go to /dev/null) and leaves the terminal's process group, so that
 * ^C and ^Z in gdb's terminal do not reach it.
 *
 * It also reports packets released by policy: the program names each
 * hook it registers through the pipe; the watchdog pings once a second
 * while there are hooks, and PING's reply carries each hook's count. It
 * writes "dusk: hook NAME: N packets released by policy (accept) in the
 * last 1 s" to the program's stderr, at most once a second: while the
 * program runs, is stopped in a debugger or is stuck in a hook alike.
 */
#ifndef DUSK_WATCHDOG_H
#define DUSK_WATCHDOG_H

#include <stdint.h>

struct dusk_session;

int dusk_watchdog_start(struct dusk_session *s);
/* Tell it to exit without BYE, and reap it. */
void dusk_watchdog_stop(struct dusk_session *s);
/* Name a hook for the reports of its released packets (a line of
 * text: "nf_hook_fn (ipv4 PRE_ROUTING)"). -ENOENT without a watchdog. */
int dusk_watchdog_hook(struct dusk_session *s, uint32_t handle,
		       const char *name);
/* The program is about to die (a crash): let go of the pipe now, so
 * that the watchdog sends BYE (dusk.ko removes the hooks and releases
 * the queued packets by policy), and wait for it at most timeout_ms.
 * 0 when it is done, -ETIMEDOUT, -ENOENT without a watchdog.
 * Async-signal-safe: close, waitpid, nanosleep. */
int dusk_watchdog_release(struct dusk_session *s, unsigned int timeout_ms);

#endif /* DUSK_WATCHDOG_H */
