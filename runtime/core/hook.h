/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * hook.h - netfilter hooks, invocations and the event loop.
 *
 * Two kinds of invocation share one queue and run in arrival order, one
 * at a time on the thread in dusk_run(): a HOOK (a packet at a netfilter
 * hook; answered by VERDICT) and an INVOKE (a task calling a proxied
 * callback of the module, a file operation; answered by RETURN). While an
 * INVOKE's callback runs, the thread's requests go on DUSK_CHAN_INV,
 * numbered by the invocation (session.h). The callback is the function
 * a higher layer registered for the INVOKE's cookie
 * (dusk_callback_register()): core knows nothing of what it does.
 *
 * An invocation is one packet of a HOOK being served: queued on arrival
 * (from wherever a datagram was received, possibly inside another
 * request's wait), run by dusk_run() in arrival order, then answered by a
 * record of a VERDICT, which nobody answers (dusk_proto.h). Its record
 * outlives the answer until the kernel's held_from passes it (or for a
 * while), so that a packet sent again gets the same record again instead
 * of a second execution. State
 * is per invocation (struct dusk_inv) and the current one is per thread,
 * so that several can be in flight once blocking extensions come.
 */
#ifndef DUSK_HOOK_H
#define DUSK_HOOK_H

#include <stdint.h>

struct dusk_session;
struct dusk_msg;
struct dusk_hooks;

/* The hook state of a session is created on first use (a registration
 * or dusk_run()), which registers the HOOK handler with the session; it
 * goes when the session closes. */
/* The id of the invocation this thread serves (a HOOK's packet id, an
 * INVOKE's id): 0 for none. */
uint64_t dusk_invocation_current(void);
/* The CPU the current invocation's hook or caller ran on in the kernel
 * (the HOOK's or INVOKE's cpu); 0 when this thread serves none (init,
 * exit). */
uint32_t dusk_invocation_cpu(void);

/* The caller's task (struct task_struct *, a kernel address) of the
 * INVOKE this thread serves; 0 when it serves none (or a HOOK). */
uint64_t dusk_invocation_task(void);

/*
 * Signals (dusk_proto.h's SIGNAL): the caller of the INVOKE this thread
 * serves got a signal (fatal_only: was killed, its invocation abandoned)
 * while it waited for the program. Thread-safe: SIGNAL may be received
 * on another thread than the one running the invocation.
 */
int dusk_invocation_signalled(int fatal_only);
/*
 * Called on the receiving thread when a SIGNAL first marks an
 * invocation: its caller's task (0 if unknown), whether it runs now
 * (rather than waits in the queue) and fatal. The layer above wakes its
 * sleepers there and makes signal_pending(current) true. NULL: none.
 */
typedef void (*dusk_signal_hook_fn)(uint64_t task, int running, int fatal);
void dusk_invocation_set_signal_hook(dusk_signal_hook_fn fn);

enum dusk_inv_kind {
	DUSK_INV_HOOK = 0,		/* a HOOK: a packet at a hook */
	DUSK_INV_CALLBACK,		/* an INVOKE: a task in a callback */
};

/* For the debugger (debug.c): the invocation this thread serves, with
 * the HOOK's prefetched segments (valid while it runs). -ENOENT: none.
 * A callback's has no packet fields (skb, state, segments: 0). */
struct dusk_inv_info {
	uint64_t packet;		/* the HOOK's or INVOKE's id */
	uint32_t cpu;
	uint64_t skb, state;		/* kernel addresses */
	uint64_t age_ms;		/* since its HOOK first arrived */
	unsigned int hold_ms;		/* its hook's hold time */
	const uint8_t *segs;		/* struct dusk_seg list */
	uint32_t segs_len, nr_segs;
	enum dusk_inv_kind kind;
	uint64_t task;			/* callback: the caller's task */
	uint32_t pid, tgid;		/* ... its pid and tgid */
	char comm[16];			/* ... and comm */
	int signalled;			/* ... got a signal: 1, killed: 2 */
	int tid;			/* the thread running it (0: none yet) */
	int running;			/* it runs (else it waits its turn) */
};
int dusk_invocation_info(struct dusk_inv_info *ret);
/*
 * Every invocation in flight, whichever thread runs it (callbacks on
 * theirs, asleep or waiting; the HOOK the loop runs) and those queued,
 * each given to fn once (under the program lock: fn must not wait).
 */
typedef void (*dusk_inv_foreach_fn)(const struct dusk_inv_info *inv,
				    void *arg);
int dusk_inv_foreach(struct dusk_session *s, dusk_inv_foreach_fn fn,
		     void *arg);

struct dusk_hooks_info {
	unsigned int registered;	/* hooks of the session */
	unsigned int queued;		/* HOOKs waiting here to be run */
	unsigned int running;		/* invocations this thread serves */
	uint64_t hooks, late, stale, duplicates;	/* counters */
	unsigned int callbacks;		/* callbacks registered */
	uint64_t invokes;		/* of hooks: INVOKEs run */
	uint64_t gone;			/* RETURNs whose caller was gone */
};
void dusk_hooks_info(struct dusk_session *s, struct dusk_hooks_info *ret);
/* Threads made so far to run INVOKEs (each blocking one runs on its own
 * thread, under the program lock, plock.h). */
unsigned int dusk_inv_threads(void);
/* Of them, those serving one now (asleep in it, or waiting). */
unsigned int dusk_inv_busy(void);

/*
 * A callback of the module a proxy slot stands for: fn(priv, args) is
 * called with the INVOKE's six arguments (as the kernel passed them) on
 * the thread that runs the invocation; its value goes back in RETURN
 * (the kernel truncates it to the callback's own return type).
 * Registering gives the cookie to put in the slot (PROXY_REGISTER);
 * -ENOTCONN, -EINVAL, -ENOMEM. Unregistering: -ENOENT.
 */
typedef uint64_t (*dusk_callback_fn)(void *priv, const uint64_t *args);
int dusk_callback_register(struct dusk_session *s, dusk_callback_fn fn,
			   void *priv, uint64_t *ret_cookie);
int dusk_callback_unregister(struct dusk_session *s, uint64_t cookie);

/*
 * A blocking invocation dusk.ko announced instead of sending its INVOKE
 * (the thread of a KTHREAD_CREATE, invoke.h): run it as if iv, an INVOKE
 * as the kernel would have sent it (cookie, args, task, pid, tgid, cpu,
 * comm; no segments), had arrived with id, on a callback thread now (on
 * the loop's next pass if no thread can be had), whether or not the
 * event loop runs. Under the program lock. 0; -EEXIST (an invocation of
 * that id is known), -ENOMEM, -ENOTCONN.
 */
struct dusk_invoke;
int dusk_invocation_start(struct dusk_session *s, uint64_t id,
			  const struct dusk_invoke *iv);
/*
 * Until invocation id (a callback) was answered and its RETURN reached
 * dusk.ko (letting the program lock go while it runs, receiving while its
 * RETURN is pending): the RETURN's status (-ESRCH: its caller was gone),
 * -EIO if no RETURN could be sent; -ENOENT: no such invocation is known
 * (or it was forgotten, long answered). Under the program lock.
 */
int dusk_invocation_wait_answered(struct dusk_session *s, uint64_t id);

/*
 * Verdicts. The loop sends the verdicts of the packets it ran together,
 * once no other packet waits to be run. Under a debugger it sends each
 * at once, so that a stop does not hold packets decided before it,
 * unless dusk-gdb wrote 1 in dusk_hooks_no_stops (no breakpoint of the
 * user's can stop the program); what stops it then (a compiled
 * condition that holds) calls dusk_hooks_before_stop() first, which
 * sends what is kept back (on the loop's thread; elsewhere, nothing).
 */
extern volatile int dusk_hooks_no_stops;
void dusk_hooks_before_stop(void);

#endif /* DUSK_HOOK_H */
