// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The soft-lockup detector at user level: an invocation of the module
 * (a hook) that runs longer than the threshold gets the report the
 * kernel's watchdog gives a CPU that has not scheduled for as long
 * (kernel/watchdog.c), at the module's file:line where it loops
 * (mod_crash.c formats it), once per stuck invocation; the program goes
 * on, as the kernel does without softlockup_panic.
 *
 * The threshold is the kernel's default, 2 * watchdog_thresh = 20 s, or
 * DUSK_SOFTLOCKUP_S (0: off).
 *
 * Time stopped in a debugger does not count. While an invocation runs,
 * a POSIX timer on CLOCK_MONOTONIC sends SIGALRM to the invoking thread
 * once a second, and each tick counts one second. A process stopped by
 * ptrace for minutes gets one signal when continued (a timer's pending
 * signal is not queued twice), and a tick that comes more than 1.5 s
 * after the one before it (or the start) is not counted at all: the
 * thread was stopped, not running. gdb passes SIGALRM silently by
 * default ("nostop noprint pass"); an interrupted system call is
 * restarted (SA_RESTART), and the runtime's waits retry on EINTR.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "modrt.h"

#define LOCKUP_DEFAULT_S	20
#define LOCKUP_TICK_NS		1000000000LL
/* A tick this late means the thread was stopped meanwhile. */
#define LOCKUP_LATE_NS		1500000000LL
#define LOCKUP_SIGNAL		SIGALRM

static unsigned int lockup_thresh_s = LOCKUP_DEFAULT_S;

/* The calling thread's: its timer, and the invocation it serves. */
static __thread timer_t lockup_timer;
static __thread int lockup_timer_ok;
static __thread volatile sig_atomic_t lockup_depth;
static __thread volatile sig_atomic_t lockup_secs;
static __thread volatile sig_atomic_t lockup_reported;
static __thread long long lockup_last_ns;

static long long lockup_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void lockup_handler(int sig, siginfo_t *si, void *uc)
{
	long long now;
	int saved = errno;

	(void)sig;
	if (si->si_code != SI_TIMER || !lockup_depth)
		return;
	now = lockup_now_ns();
	if (now - lockup_last_ns <= LOCKUP_LATE_NS)
		lockup_secs++;
	lockup_last_ns = now;
	if (!lockup_reported && (unsigned int)lockup_secs > lockup_thresh_s) {
		lockup_reported = 1;
		dusk_crash_lockup_report(uc, (unsigned int)lockup_secs);
	}
	errno = saved;
}

/* The calling thread's timer, made on its first invocation. */
static int lockup_timer_get(void)
{
	struct sigevent sev;

	if (lockup_timer_ok)
		return 0;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = LOCKUP_SIGNAL;
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &lockup_timer))
		return -errno;
	lockup_timer_ok = 1;
	return 0;
}

void dusk_lockup_enter(void)
{
	const struct itimerspec every = {
		.it_value = { 1, 0 }, .it_interval = { 1, 0 },
	};

	if (!lockup_thresh_s || lockup_depth++)
		return;
	lockup_secs = 0;
	lockup_reported = 0;
	lockup_last_ns = lockup_now_ns();
	if (!lockup_timer_get())
		timer_settime(lockup_timer, 0, &every, NULL);
}

void dusk_lockup_leave(void)
{
	const struct itimerspec off = { 0 };

	if (!lockup_depth || --lockup_depth)
		return;
	if (lockup_timer_ok)
		timer_settime(lockup_timer, 0, &off, NULL);
}

int dusk_lockup_install(void)
{
	const char *env = getenv("DUSK_SOFTLOCKUP_S");
	struct sigaction sa;
	unsigned long v;
	char *end;

	if (env && *env) {
		errno = 0;
		v = strtoul(env, &end, 10);
		if (errno || *end || v > 3600)
			return -EINVAL;
		lockup_thresh_s = (unsigned int)v;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = lockup_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	return sigaction(LOCKUP_SIGNAL, &sa, NULL) ? -errno : 0;
}

/* A sleep of the invocation (a wait queue, a lock, msleep): the kernel's
 * watchdog counts only a CPU that does not schedule. Returns what
 * dusk_lockup_resume() gives back. */
int dusk_lockup_pause(void)
{
	const struct itimerspec off = { 0 };
	int depth = lockup_depth;

	if (depth) {
		lockup_depth = 0;
		if (lockup_timer_ok)
			timer_settime(lockup_timer, 0, &off, NULL);
	}
	return depth;
}

void dusk_lockup_resume(int depth)
{
	if (!depth)
		return;
	dusk_lockup_enter();
	lockup_depth = depth;
}
