// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The life of a module program (libdusk-main.a's main() calls
 * __dusk_main()):
 *
 *	PROG [--target HOST:PORT] [--key FILE] [--hold-ms MS]
 *	     [--policy accept|drop] [--no-kernel-log] [--no-local-log]
 *	     [--trace FILE] [--help] [param=value ...]
 *
 * parameters (exit 2 on an unknown one or a bad value, before anything
 * reaches the target), the session (dusk_config_init() and the options),
 * init_module() in process context, serving the kernel until SIGINT or
 * SIGTERM, cleanup_module(), the session closed.
 *
 * SIGINT or SIGTERM is the program's rmmod: while files of the module's
 * proxy tables are open (dusk.ko counts them: PING's open_files), the
 * kernel would refuse to unload the module (EBUSY) and it would go on
 * running, so the program says "module in use: N open files" and goes
 * on serving; it unloads (cleanup_module) once the last one is closed.
 * A second SIGINT or SIGTERM unloads it at once, as rmmod -f: the open
 * files' calls then fail with EIO. SIGKILL ends the session without
 * cleanup_module: dusk.ko wakes the callers waiting in the module with
 * EIO and releases what the session owned. init_module() failing
 * prints "PROG: init_module failed: -ENODEV (No such device)" and exits 1
 * once what the runtime registered for it is unregistered.
 *
 * This is the program level: its one-line errors, the runtime's log
 * lines and its exit go through the console (console.h), with
 * dusk_mod_fatal() for the paths dusk_module.h says stop the program.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "console.h"
#include "klib_ctx.h"
#include "klib_printk.h"
#include "log.h"
#include "mod_lines.h"
#include "modrt.h"
#include "plock.h"
#include "session.h"
#include "trace.h"


const char *dusk_errno_text(int err, char *buf, size_t len)
{
	const char *name = strerrorname_np(err < 0 ? -err : err);

	if (name)
		snprintf(buf, len, "%s%s (%s)", err < 0 ? "-" : "", name,
			 strerror(err < 0 ? -err : err));
	else
		snprintf(buf, len, "%d (%s)", err, strerror(err < 0 ? -err : err));
	return buf;
}

/* The module's own line first, as a compiler's diagnostic. */
static void __attribute__((noreturn))
dusk_mod_die(const char *where, int status, const char *msg)
{
	if (where && *where)
		fprintf(dusk_console_err(), "%s: %s: %s\n", where,
			program_invocation_short_name, msg);
	else
		fprintf(dusk_console_err(), "%s: %s\n",
			program_invocation_short_name, msg);
	dusk_console_exit(status);
}

void dusk_mod_fatal(int status, const char *fmt, ...)
{
	char where[600], msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dusk_mod_die(dusk_lines_caller_text(where, sizeof(where)), status, msg);
}

void dusk_mod_fatal_at(const char *where, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dusk_mod_die(where, status, msg);
}

static struct dusk_session *dusk_main_session;
/* SIGINT and SIGTERM received: the first unloads, the second forces. */
static volatile sig_atomic_t dusk_main_unloads;

static void dusk_main_signal(int sig)
{
	(void)sig;
	dusk_main_unloads++;
	dusk_stop(dusk_main_session);
}

static void dusk_main_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = dusk_main_signal;
	/* One ^C more kills a program stuck in its exit. */
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The open files of the module's proxy tables, as dusk.ko counts them
 * (PING); a negative errno if it cannot say. */
static long long dusk_main_open_files(struct dusk_session *s)
{
	struct dusk_stats st;
	uint32_t len = 0;
	int err;

	memset(&st, 0, sizeof(st));
	err = dusk_request(s, DUSK_MSG_PING, NULL, 0, &st, sizeof(st), &len);
	if (err)
		return err;
	if (len < sizeof(st))
		return -EPROTO;
	return (long long)le64toh(st.open_files);
}

/* While the module is in use, the loop stops now and then to count. */
static _Atomic int dusk_main_ticking;

static void *dusk_main_ticker(void *arg)
{
	const struct timespec nap = { .tv_nsec = 200 * 1000 * 1000 };

	while (dusk_main_ticking) {
		nanosleep(&nap, NULL);
		if (dusk_main_ticking)
			dusk_stop(arg);
	}
	return NULL;
}

/*
 * Serve the kernel until the module may be unloaded: a SIGINT or SIGTERM
 * with no open file, its last file closed after one, or a second one.
 * 0, or dusk_run()'s error.
 */
static int dusk_main_serve(struct dusk_session *s)
{
	const char *prog = program_invocation_short_name;
	sig_atomic_t asked = 0;		/* unloads when found in use */
	int err, watching = 0;
	pthread_t ticker;
	long long n;

	for (;;) {
		err = dusk_run(s);
		if (err)
			break;
		if (asked && dusk_main_unloads > asked)
			break;			/* again: rmmod -f */
		n = dusk_main_open_files(s);
		if (n <= 0)
			break;			/* not in use (or cannot tell) */
		if (asked)
			continue;		/* still in use */
		asked = dusk_main_unloads;
		fprintf(dusk_console_err(), "%s: module in use: %lld open file%s: unloaded once %s closed (interrupt again to unload now, as rmmod -f)\n",
			prog, n, n == 1 ? "" : "s", n == 1 ? "it is" : "they are");
		/* SA_RESETHAND took the handler off. */
		dusk_main_signals_install();
		dusk_main_ticking = 1;
		if (pthread_create(&ticker, NULL, dusk_main_ticker, s)) {
			dusk_main_ticking = 0;
			dusk_warn("cannot watch the open files: unloading at the next interrupt");
			continue;
		}
		watching = 1;
	}
	if (watching) {
		dusk_main_ticking = 0;
		pthread_join(ticker, NULL);
	}
	return err;
}


/* Timers, tasklets and work the module left behind (the .ko's would run
 * in unloaded code): reported, cancelled, their threads ended. Work may
 * arm timers and timers queue work: the softirq thread is stopped again
 * once the workers are. */
static void dusk_main_defer_stop(const char *when)
{
	dusk_softirq_stop(when);
	dusk_work_stop(when);
	dusk_softirq_stop(when);
}

static const char *dusk_modinfo(const char *key, int *ret_len)
{
	size_t len, klen = strlen(key);
	const char *mi = dusk_image_modinfo(&len), *p, *stop;

	for (p = mi, stop = mi + len; mi && p < stop;
	     p += strnlen(p, (size_t)(stop - p)) + 1) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			*ret_len = (int)strnlen(p + klen + 1,
						(size_t)(stop - p - klen - 1));
			return p + klen + 1;
		}
	}
	return NULL;
}

static void dusk_main_usage(const struct dusk_module_desc *m, FILE *f)
{
	const char *desc;
	char params[8192];
	int dl;

	fprintf(f, "Usage: %s [--target HOST:PORT] [--key FILE] [--hold-ms MS] [--policy accept|drop]\n"
		"       [--no-kernel-log] [--no-local-log] [--trace FILE] [param=value ...]\n",
		program_invocation_short_name);
	desc = dusk_modinfo("description", &dl);
	if (desc)
		fprintf(f, "%.*s\n", dl, desc);
	fprintf(f,
		"Runs this kernel module at user level against a target kernel running dusk.ko\n"
		"(default: the running default target, see dusk-target), until SIGINT or SIGTERM\n"
		"(as rmmod: while files of its devices are open, once they are closed; a second\n"
		"SIGINT or SIGTERM unloads it at once, as rmmod -f).\n"
		"\n"
		"  --target HOST:PORT  dusk.ko's endpoint (default: $DUSK_TARGET, or the default target's)\n"
		"  --key FILE          the target's key file (default: $DUSK_KEY, or the default target's)\n"
		"  --hold-ms MS        a packet waits this long for its verdict, then goes on by policy\n"
		"                      (default: $DUSK_HOLD_MS, or 1000; longer while debugging)\n"
		"  --policy accept|drop  what happens to it then (default: $DUSK_POLICY, or accept)\n"
		"                      per hook function F: $DUSK_HOLD_MS_F, $DUSK_POLICY_F\n"
		"                      (a release by policy is reported on stderr)\n"
		"  --no-kernel-log     printk goes to the local log only\n"
		"  --no-local-log      printk goes to the target's kernel log only\n"
		"  --trace FILE        write every message to and from the target to FILE,\n"
		"                      one line each (\"-\": stderr; default: $DUSK_TRACE)\n"
		"  (env) DUSK_SOFTLOCKUP_S  a hook running longer is reported as a soft lockup\n"
		"                      (default 20; 0: off)\n"
		"  --help              this text\n"
		"  param=value         module parameters, as insmod takes them\n"
		"  dyndbg=QUERY        the module's pr_debug()/dev_dbg() on or off, as insmod\n"
		"                      takes it: dyndbg=+p (all), 'dyndbg=func NAME +p',\n"
		"                      'dyndbg=file NAME.c -p', line, format; +mflt prefixes\n");
	dusk_params_describe(m->param_start, m->param_stop, params, sizeof(params));
	if (params[0])
		fprintf(f, "\nParameters:\n%s", params);
}

static int dusk_main_copy(char *dst, size_t cap, const char *src,
			  const char *what)
{
	if (strlen(src) >= cap) {
		fprintf(dusk_console_err(), "%s: %s too long\n", program_invocation_short_name,
			what);
		return -ENAMETOOLONG;
	}
	strcpy(dst, src);
	return 0;
}

DUSK_EXPORT int __dusk_main(const struct dusk_module_desc *m, int argc,
			    char **argv)
{
	const char *prog = program_invocation_short_name;
	const char *target = NULL, *key = NULL, *hold = NULL, *policy = NULL;
	const char *trace = getenv("DUSK_TRACE");
	unsigned int printk_allowed = DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL;
	struct dusk_config cfg;
	struct dusk_session *s;
	char msg[512], ebuf[64];
	char **params;
	int i, n = 0, help = 0, opts_done = 0, err, ret;

	/* The main thread runs module and runtime code from now on; it
	 * lets the lock go only while it waits (plock.h). */
	dusk_plock_take();
	dusk_mod_klib_host();
	dusk_set_log(dusk_console_log);
	params = calloc((size_t)argc + 1, sizeof(*params));
	if (!params) {
		fprintf(dusk_console_err(), "%s: out of memory\n", prog);
		return 1;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opts_done || a[0] != '-') {
			params[n++] = argv[i];
		} else if (!strcmp(a, "--")) {
			opts_done = 1;
		} else if (!strcmp(a, "--target") || !strcmp(a, "--key") ||
			   !strcmp(a, "--hold-ms") || !strcmp(a, "--policy") ||
			   !strcmp(a, "--trace")) {
			if (i + 1 == argc) {
				fprintf(dusk_console_err(), "%s: %s needs a value\n", prog, a);
				free(params);
				return 2;
			}
			*(a[3] == 'a' ? &target : a[2] == 'k' ? &key :
			  a[2] == 'h' ? &hold : a[2] == 'p' ? &policy :
			  &trace) = argv[++i];
		} else if (!strncmp(a, "--trace=", 8)) {
			trace = a + 8;
		} else if (!strncmp(a, "--target=", 9)) {
			target = a + 9;
		} else if (!strncmp(a, "--key=", 6)) {
			key = a + 6;
		} else if (!strncmp(a, "--hold-ms=", 10)) {
			hold = a + 10;
		} else if (!strncmp(a, "--policy=", 9)) {
			policy = a + 9;
		} else if (!strcmp(a, "--no-kernel-log")) {
			printk_allowed &= ~DUSK_PRINTK_KERNEL;
		} else if (!strcmp(a, "--no-local-log")) {
			printk_allowed &= ~DUSK_PRINTK_LOCAL;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			help = 1;
		} else {
			fprintf(dusk_console_err(), "%s: unknown option '%s' (%s --help lists them)\n",
				prog, a, prog);
			free(params);
			return 2;
		}
	}
	if (help) {
		dusk_main_usage(m, dusk_console_out());
		free(params);
		return 0;
	}

	dusk_printk_allow(printk_allowed);

	/* Each CPU's copy of the module's per-CPU variables starts from
	 * them as they are before any module code ran. */
	dusk_percpu_snapshot();

	/* Parameters first: a bad one never reaches the target. */
	err = dusk_params_apply(m->param_start, m->param_stop, n, params, msg,
				sizeof(msg));
	free(params);
	if (err) {
		fprintf(dusk_console_err(), "%s: %s\n", prog, msg);
		return 2;
	}

	if ((hold && dusk_config_hold_ms(&cfg, hold)) ||
	    (policy && dusk_config_policy(&cfg, policy))) {
		if (hold && dusk_config_hold_ms(&cfg, hold))
			fprintf(dusk_console_err(), "%s: --hold-ms %s: not a number of milliseconds (1 to %u)\n",
				prog, hold, DUSK_HOLD_MS_MAX);
		else
			fprintf(dusk_console_err(), "%s: --policy %s: not accept or drop\n",
				prog, policy);
		return 2;
	}
	err = dusk_config_init(&cfg);
	if (err && !(err == -ENOENT && target)) {
		if (err == -ENOENT)
			fprintf(dusk_console_err(), "%s: no target: boot one with 'dusk-target up', or give --target HOST:PORT and --key FILE\n",
				prog);
		else
			fprintf(dusk_console_err(), "%s: configuration: %s\n", prog,
				dusk_errno_text(err, ebuf, sizeof(ebuf)));
		return 1;
	}
	if (hold)
		dusk_config_hold_ms(&cfg, hold);
	if (policy)
		dusk_config_policy(&cfg, policy);
	if ((target && dusk_main_copy(cfg.target, sizeof(cfg.target), target,
				      "--target")) ||
	    (key && dusk_main_copy(cfg.key_file, sizeof(cfg.key_file), key,
				   "--key")))
		return 1;
	if (trace && *trace) {
		err = dusk_trace_open(trace);
		if (err) {
			fprintf(dusk_console_err(), "%s: --trace %s: %s\n", prog, trace,
				strerror(-err));
			return 2;
		}
	}
	err = dusk_session_open(&cfg, &s);
	if (err) {
		fprintf(dusk_console_err(), "%s: cannot open a session with %s: %s\n", prog,
			cfg.target, dusk_errno_text(err, ebuf, sizeof(ebuf)));
		if (err == -EPROTONOSUPPORT)
			fprintf(dusk_console_err(), "%s: the target's dusk.ko speaks another "
				"protocol version than this program: load this "
				"build's dusk.ko (the embedded target: dusk-target "
				"down, then up)\n", prog);
		return 1;
	}
	dusk_main_session = s;
	/* A crash of the module from now on is reported as an oops and
	 * ends the session at once. */
	err = dusk_crash_install();
	if (err)
		dusk_warn("crash reports: %s", strerror(-err));
	/* A hook running too long is reported as a soft lockup. */
	err = dusk_lockup_install();
	if (err == -EINVAL)
		dusk_mod_fatal_at(NULL, 2, "DUSK_SOFTLOCKUP_S=%s: not a number of seconds (0: off, up to 3600)",
				  getenv("DUSK_SOFTLOCKUP_S"));
	if (err)
		dusk_warn("soft-lockup reports: %s", strerror(-err));
	dusk_main_signals_install();

	/* init_module: process context, CPU 0 (dusk_mod_cpu()). */
	if (m->init) {
		ret = m->init();
		dusk_kcopy_end("init_module", 1);
		if (ret < 0) {
			fprintf(dusk_console_err(), "%s: init_module failed: %s\n", prog,
				dusk_errno_text(ret, ebuf, sizeof(ebuf)));
			dusk_kthreads_end("init_module failed");
			dusk_main_defer_stop("after a failed init_module");
			dusk_nf_unregister_all("init_module failed");
			dusk_session_close(s);
			return 1;
		}
		if (ret > 0)	/* as do_init_module(): a warning, then success */
			dusk_warn("init_module suspiciously returned %d, it should follow 0/-E convention",
				  ret);
	}

	err = dusk_main_serve(s);
	if (err) {
		fprintf(dusk_console_err(), "%s: serving the kernel: %s\n", prog,
			dusk_errno_text(err, ebuf, sizeof(ebuf)));
		dusk_session_close(s);
		return 1;
	}

	if (m->exit) {
		/* A new invocation: the kernel may have changed shared objects. */
		err = dusk_kcopy_refresh_all();
		if (err)
			dusk_mod_fatal(1, "refreshing user objects shared with the kernel: %s",
				       dusk_errno_text(err, ebuf, sizeof(ebuf)));
		dusk_refresh(s);
		/* No callback runs during the exit (mod_fops.c). */
		dusk_fops_unregister_all();
		m->exit();
		dusk_rcu_barrier();
		dusk_kcopy_end("cleanup_module", 1);
	}
	/* Its threads, timers and work must not outlive it: the .ko's would
	 * oops. Threads first: they may arm timers and queue work. */
	dusk_kthreads_end(m->exit ? "cleanup_module" :
			  "a module without cleanup_module");
	dusk_main_defer_stop(m->exit ? "after cleanup_module" : NULL);
	/* A module without cleanup_module could not be unloaded from the
	 * kernel; here it stops all the same, its hooks quietly removed. */
	dusk_nf_unregister_all(m->exit ? "cleanup_module returned" : NULL);
	dusk_session_close(s);
	dusk_main_session = NULL;
	return 0;
}
