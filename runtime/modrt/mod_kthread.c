// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The module's kernel threads at user level: kthread_create_on_node()
 * (kthread_create(), kthread_run()), wake_up_process(),
 * kthread_should_stop(), kthread_stop(), kthread_exit(),
 * kthread_complete_and_exit() and kthread_park() (refused).
 *
 * Each thread of the module is two: a real kernel thread in the target,
 * with the module's name (ps shows it; KTHREAD_CREATE, dusk.ko's
 * kthread.c), and a thread of the program that runs the thread function.
 * The kernel thread serves the function's blocking invocation, whose id
 * KTHREAD_CREATE gives: it executes what the function asks of the kernel
 * itself, so `current` there and here (hook.h's dusk_invocation_task())
 * is that thread, current->comm its name. Created, it sleeps as the
 * .ko's would until wake_up_process() (kthread_run()), which wakes the
 * kernel thread (a kernel call) and starts the invocation on a callback
 * thread of the program (hook.h's dusk_invocation_start(): no INVOKE is
 * waited for, so that a module's init that waits for its thread to start
 * does not wait for an event loop that is not running yet).
 *
 * Stopping. kthread_should_stop() in the thread function is this
 * program's flag, with no round trip. kthread_stop() sets it, wakes the
 * thread as the kernel's does (klib's sleepers of its task, interruptible
 * ones ending as if signalled: 6.1's kthread_stop() sets
 * TIF_NOTIFY_SIGNAL, so signal_pending(current) holds for klib's sleeps,
 * see mod_klib.c), lets the program lock go until the function returned
 * and its RETURN reached dusk.ko, and only then sends KTHREAD_STOP, whose
 * kthread_stop() in the kernel then returns at once: dusk.ko never waits
 * for the program. A thread stopped before its function ran returns
 * -EINTR without running it, as kthread() does. What the module's exit
 * (or a failed init) leaves running is reported, since the .ko's thread
 * would then run code that is gone, and stopped (mod_main.c); the end of
 * the session, however it ends (SIGKILL: the watchdog's BYE), makes
 * dusk.ko stop its kernel threads.
 *
 * Module code reading signal_pending(current) itself sees the kernel
 * thread's flags, which kthread_stop() sets only at the end: that one
 * test does not see the stop. kthread_park() of a thread of the module
 * stops the program (the kernel's would wait for ever).
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dusk_proto.h"
#include "hook.h"
#include "invoke.h"
#include "kconst.h"
#include "klib.h"
#include "klib_ctx.h"
#include "klib_wait.h"
#include "log.h"
#include "modrt.h"
#include "session.h"

/* How long the program's exit waits for a thread the module left running
 * to stop; then its kernel thread goes with the session. */
#define DUSK_KT_EXIT_WAIT_S	10

struct dusk_kthread {
	struct dusk_kthread *next;	/* on dusk_kts */
	struct dusk_session *s;
	int (*threadfn)(void *data);
	void *data;
	char name[DUSK_KTHREAD_NAME_LEN];
	uint64_t task;			/* the kernel thread's task_struct */
	uint64_t handle;		/* the invocation it serves */
	uint64_t cookie;		/* the callback that runs threadfn */
	int started;			/* woken: its invocation was started */
	_Atomic int should_stop;
	/* Under dusk_kt_mu: */
	int done;			/* its function returned, or never will */
	int ret;
	pthread_cond_t cv;
	/* kthread_exit() from the function: */
	jmp_buf exit_jb;
	long exit_code;
};

/* The session's threads; changed under the program lock. */
static struct dusk_kthread *dusk_kts;
static pthread_mutex_t dusk_kt_mu = PTHREAD_MUTEX_INITIALIZER;
/* The thread whose function this program thread runs. */
static __thread struct dusk_kthread *dusk_kt_self;

static struct dusk_kthread *dusk_kt_find(uint64_t task)
{
	struct dusk_session *s = dusk_mod_session();
	struct dusk_kthread *kt;

	for (kt = dusk_kts; kt; kt = kt->next)
		if (kt->task == task && kt->s == s)
			return kt;
	return NULL;
}

static void dusk_kt_forget(struct dusk_kthread *kt)
{
	struct dusk_kthread **pp;

	for (pp = &dusk_kts; *pp; pp = &(*pp)->next) {
		if (*pp == kt) {
			*pp = kt->next;
			break;
		}
	}
	dusk_callback_unregister(kt->s, kt->cookie);
	pthread_cond_destroy(&kt->cv);
	free(kt);
}

int dusk_kthread_stop_pending(void)
{
	return dusk_kt_self && atomic_load(&dusk_kt_self->should_stop);
}

/* The callback of the thread's invocation: its function, in a task's
 * context, as a file operation's (mod_fops.c). */
static uint64_t dusk_kthread_tramp(void *priv, const uint64_t *args)
{
	struct dusk_kthread *kt = priv;
	struct dusk_ctx_saved saved;
	char what[160];
	int ret = -EINTR;

	(void)args;
	dusk_kcopy_begin(1);
	dusk_ctx_enter(DUSK_CTX_TASK, (int)dusk_mod_cpu(), &saved);
	dusk_kt_self = kt;
	/* Stopped before it ran: kthread() returns -EINTR, not running it. */
	if (!atomic_load(&kt->should_stop)) {
		dusk_lockup_enter();
		if (!setjmp(kt->exit_jb))
			ret = kt->threadfn(kt->data);
		else
			ret = (int)kt->exit_code;
		dusk_lockup_leave();
	}
	dusk_kt_self = NULL;
	dusk_ctx_leave(&saved);
	snprintf(what, sizeof(what), "kernel thread %s", kt->name);
	dusk_kcopy_end(what, 0);
	pthread_mutex_lock(&dusk_kt_mu);
	kt->ret = ret;
	kt->done = 1;
	pthread_cond_broadcast(&kt->cv);
	pthread_mutex_unlock(&dusk_kt_mu);
	return (uint64_t)(int64_t)ret;
}

DUSK_EXPORT void *__dusk_impl_kthread_create_on_node(int (*threadfn)(void *data),
						     void *data, int node,
						     const char *namefmt, ...)
{
	struct dusk_session *s = dusk_mod_session();
	struct dusk_kthread *kt;
	char ebuf[64];
	va_list ap;
	int err;

	dusk_ctx_might_sleep_at("kthread_create_on_node",
				__builtin_return_address(0));
	if (!s)
		return (void *)(intptr_t)-ENOTCONN;
	if (!dusk_image_func((uintptr_t)threadfn))
		dusk_mod_fatal(1, "kthread_create_on_node: %p is no function of the module",
			       (void *)threadfn);
	kt = calloc(1, sizeof(*kt));
	if (!kt)
		return (void *)(intptr_t)-ENOMEM;
	kt->s = s;
	kt->threadfn = threadfn;
	kt->data = data;
	/* The kernel's formats, as kthread_create_on_node() formats it. */
	va_start(ap, namefmt);
	dusk_kvsnprintf(kt->name, sizeof(kt->name), namefmt, ap);
	va_end(ap);
	pthread_cond_init(&kt->cv, NULL);
	err = dusk_callback_register(s, dusk_kthread_tramp, kt, &kt->cookie);
	if (!err) {
		err = dusk_kthread_create_request(s, node, kt->name[0] ?
						  kt->name : "?",
						  &kt->task, &kt->handle);
		if (err)
			dusk_callback_unregister(s, kt->cookie);
	}
	if (err) {
		dusk_warn("kthread_create_on_node(%s): %s", kt->name,
			  dusk_errno_text(err, ebuf, sizeof(ebuf)));
		pthread_cond_destroy(&kt->cv);
		free(kt);
		return (void *)(intptr_t)err;
	}
	kt->next = dusk_kts;
	dusk_kts = kt;
	/* dusk-gdb's break-hook all breaks in it. */
	dusk_defer_seen((uintptr_t)threadfn, "kthread");
	dusk_dbg("kernel thread %s: task 0x%llx, invocation %llu", kt->name,
		 (unsigned long long)kt->task, (unsigned long long)kt->handle);
	return (void *)(uintptr_t)kt->task;
}

/* The INVOKE the kernel thread would have sent: its task, pid and comm. */
static int dusk_kthread_invoke(struct dusk_kthread *kt, struct dusk_invoke *iv)
{
	int32_t pid, tgid;
	int err;

	_Static_assert(DUSK_K_TASK_COMM_LEN == sizeof(iv->comm), "comm");
	memset(iv, 0, sizeof(*iv));
	err = dusk_kread(kt->s, kt->task + DUSK_K_TASK__PID, &pid, sizeof(pid));
	if (!err)
		err = dusk_kread(kt->s, kt->task + DUSK_K_TASK__TGID, &tgid,
				 sizeof(tgid));
	if (!err)
		err = dusk_kread(kt->s, kt->task + DUSK_K_TASK__COMM, iv->comm,
				 sizeof(iv->comm));
	if (err)
		return err;
	iv->comm[sizeof(iv->comm) - 1] = '\0';
	iv->cookie = htole64(kt->cookie);
	iv->task = htole64(kt->task);
	iv->pid = htole32((uint32_t)pid);
	iv->tgid = htole32((uint32_t)tgid);
	return 0;
}

/* Wake the kernel thread, and run its function: 0 or -errno. */
static int dusk_kthread_start(struct dusk_kthread *kt)
{
	uint64_t arg = kt->task, woke;
	struct dusk_invoke iv;
	char ebuf[64];
	int err;

	err = dusk_kthread_invoke(kt, &iv);
	if (!err)
		err = dusk_klib_kcall("wake_up_process", &arg, 1, &woke);
	if (!err)
		err = dusk_invocation_start(kt->s, kt->handle, &iv);
	if (err) {
		dusk_warn("waking kernel thread %s: %s", kt->name,
			  dusk_errno_text(err, ebuf, sizeof(ebuf)));
		return err;
	}
	kt->started = 1;
	return 0;
}

DUSK_EXPORT int __dusk_impl_wake_up_process(void *p)
{
	uint64_t task = (uintptr_t)p, ret = 0;
	struct dusk_kthread *kt = dusk_kt_find(task);

	if (kt && !kt->started)
		return !dusk_kthread_start(kt);
	/* try_to_wake_up(p, TASK_NORMAL) of a task whose sleep is the
	 * program's: a thread of the module, or a file operation's caller
	 * asleep in the module. */
	if (dusk_klib_wake_task(task, DUSK_TASK_NORMAL))
		return 1;
	if (kt)
		return 0;	/* running (its kernel thread serves it) */
	if (dusk_klib_kcall("wake_up_process", &task, 1, &ret))
		return 0;
	return (int)ret;
}

DUSK_EXPORT bool __dusk_impl_kthread_should_stop(void)
{
	uint64_t ret = 0;

	if (dusk_kt_self)
		return atomic_load(&dusk_kt_self->should_stop);
	/* Elsewhere (a file operation, init): the kernel's answer for the
	 * task that executes the call. */
	if (dusk_klib_kcall("kthread_should_stop", NULL, 0, &ret))
		return false;
	return (ret & 0xff) != 0;
}

/*
 * Until kt's function returned (timeout_s 0: however long), letting the
 * program lock go (a sleep: what this thread changed is committed
 * first). 1 if it did.
 */
static int dusk_kthread_wait_done(struct dusk_kthread *kt,
				  unsigned int timeout_s)
{
	struct timespec until;
	int done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_s;
	pthread_mutex_lock(&dusk_kt_mu);
	if (!kt->done) {
		dusk_ctx_sleep_begin_mu(&dusk_kt_mu);
		while (!kt->done) {
			if (!timeout_s)
				pthread_cond_wait(&kt->cv, &dusk_kt_mu);
			else if (pthread_cond_timedwait(&kt->cv, &dusk_kt_mu,
							&until) == ETIMEDOUT)
				break;
		}
		dusk_ctx_sleep_end_mu(&dusk_kt_mu);
	}
	done = kt->done;
	pthread_mutex_unlock(&dusk_kt_mu);
	return done;
}

/* The function of a started thread returned: once its RETURN reached
 * dusk.ko, KTHREAD_STOP returns at once there. Its value, in *ret. */
static int dusk_kthread_reap(struct dusk_kthread *kt, int64_t *ret)
{
	int err;

	if (kt->started) {
		err = dusk_invocation_wait_answered(kt->s, kt->handle);
		if (err && err != -ENOENT)
			return err;
	}
	err = dusk_kthread_stop_request(kt->s, kt->handle, ret);
	if (err == -EBUSY && !kt->started) {
		/* Woken in the kernel by something else than the module's
		 * wake_up_process(): it serves an invocation the program
		 * never ran. Run it: stopped, it returns -EINTR at once. */
		err = dusk_kthread_start(kt);
		if (!err && dusk_kthread_wait_done(kt, 0))
			return dusk_kthread_reap(kt, ret);
	}
	return err;
}

/* Stop kt: its flag, the wake-up, its function's end (within timeout_s,
 * 0: however long; else -ETIMEDOUT), KTHREAD_STOP. 0 and in *value
 * kthread_stop()'s value (or -errno if it could not be had). */
static int dusk_kthread_stop(struct dusk_kthread *kt, unsigned int timeout_s,
			     int *value)
{
	char ebuf[64];
	int64_t ret = -EINTR;
	int err;

	atomic_store(&kt->should_stop, 1);
	if (kt->started) {
		/* wake_up_process() of it, and of the signal kthread_stop()
		 * raises for interruptible sleeps. */
		dusk_klib_wake_task(kt->task, DUSK_TASK_NORMAL);
		dusk_klib_wait_interrupt();
		if (!dusk_kthread_wait_done(kt, timeout_s))
			return -ETIMEDOUT;
	}
	err = dusk_kthread_reap(kt, &ret);
	if (err) {
		dusk_warn("stopping kernel thread %s: %s", kt->name,
			  dusk_errno_text(err, ebuf, sizeof(ebuf)));
		ret = kt->done ? kt->ret : err;
	}
	*value = (int)ret;
	return 0;
}

DUSK_EXPORT int __dusk_impl_kthread_stop(void *k)
{
	uint64_t task = (uintptr_t)k, ret = 0;
	struct dusk_kthread *kt = dusk_kt_find(task);
	int value;

	dusk_ctx_might_sleep_at("kthread_stop", __builtin_return_address(0));
	if (!kt) {
		/* Not the module's: the kernel's own, as the .ko would. */
		if (dusk_klib_kcall("kthread_stop", &task, 1, &ret))
			return -EINTR;
		return (int)ret;
	}
	if (kt == dusk_kt_self) {
		/* The kernel would wait for itself forever. */
		dusk_klib_warn(1, NULL, "kthread_stop() of kernel thread %s from that thread itself: it would wait for its own exit forever",
			       kt->name);
		return -EDEADLK;
	}
	dusk_kthread_stop(kt, 0, &value);
	dusk_kt_forget(kt);
	return value;
}

/* Parking needs the thread to call kthread_parkme() in the kernel, which
 * dusk.ko's never does: the kernel's kthread_park() would wait for ever,
 * in the task that executes the call (dusk.ko's thread, from init). */
DUSK_EXPORT int __dusk_impl_kthread_park(void *k)
{
	uint64_t task = (uintptr_t)k, ret = 0;
	struct dusk_kthread *kt = dusk_kt_find(task);

	if (kt)
		dusk_mod_fatal(1, "kthread_park() of kernel thread %s: not supported at user level (its function runs in the program; run this part of the module as its .ko)",
			       kt->name);
	if (dusk_klib_kcall("kthread_park", &task, 1, &ret))
		return -EINTR;
	return (int)ret;
}

DUSK_EXPORT __attribute__((noreturn)) void __dusk_impl_kthread_exit(long result)
{
	struct dusk_kthread *kt = dusk_kt_self;

	if (!kt)
		dusk_mod_fatal(1, "kthread_exit() outside a kernel thread of the module (the kernel would end the task that runs it)");
	kt->exit_code = result;
	longjmp(kt->exit_jb, 1);
}

DUSK_EXPORT __attribute__((noreturn)) void
__dusk_impl_kthread_complete_and_exit(void *comp, long code)
{
	if (comp)
		__dusk_impl_complete(comp);
	__dusk_impl_kthread_exit(code);
}

void dusk_kthreads_end(const char *after)
{
	struct dusk_session *s = dusk_mod_session();
	struct dusk_kthread *kt, *next;
	char ebuf[64];
	int64_t ret;
	int err, value;

	for (kt = dusk_kts; kt; kt = next) {
		next = kt->next;
		if (kt->s != s) {
			dusk_kt_forget(kt);	/* another session's: gone */
			continue;
		}
		if (!kt->started) {
			dusk_warn("%s left kernel thread %s created and never woken nor stopped (the .ko's would stay asleep for ever): stopping it",
				  after, kt->name);
		} else if (!kt->done) {
			dusk_warn("%s left kernel thread %s running (the .ko's would run the module's code once it is gone: an oops): stopping it",
				  after, kt->name);
			err = dusk_kthread_stop(kt, DUSK_KT_EXIT_WAIT_S,
						&value);
			if (!err) {
				dusk_kt_forget(kt);
				continue;
			}
			/* Its function still runs and uses kt: kept, and the
			 * program ends holding the lock it would need. */
			dusk_warn("kernel thread %s did not stop within %d s: it ends with the session",
				  kt->name, DUSK_KT_EXIT_WAIT_S);
			continue;
		}
		/* Never woken, or its function ended by itself (the .ko's
		 * is fine then): dusk.ko's thread goes now. */
		atomic_store(&kt->should_stop, 1);
		err = dusk_kthread_reap(kt, &ret);
		if (err)
			dusk_warn("stopping kernel thread %s: %s", kt->name,
				  dusk_errno_text(err, ebuf, sizeof(ebuf)));
		dusk_kt_forget(kt);
	}
}
