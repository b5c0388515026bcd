/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * dusk.h - libdusk, the runtime linked into every user-level module.
 *
 * Error contract: functions returning int return 0 or a negative errno;
 * functions returning a pointer return NULL and set errno. The library never
 * exits the process and prints only through the log sink (dusk_set_log).
 *
 * Kernel addresses are uint64_t at this interface, or pointers whose value
 * is a kernel address (the hook callback's skb and state): dereference those
 * only through __dusk_check()/__dusk_check_w(), which instrumented module
 * code does on every dereference.
 */
#ifndef DUSK_H
#define DUSK_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DUSK_EXPORT __attribute__((visibility("default")))

/* ---- log sink ---------------------------------------------------------- */

enum dusk_log_level {
	DUSK_LOG_ERROR = 0,
	DUSK_LOG_WARN,
	DUSK_LOG_INFO,
	DUSK_LOG_DEBUG,
};

typedef void (*dusk_log_fn)(enum dusk_log_level level, const char *fmt,
			    va_list ap);

/* Replace the log sink; NULL (the default) silences the library. */
DUSK_EXPORT void dusk_set_log(dusk_log_fn fn);
/* A ready sink: "dusk: warning: ..." lines on stderr, errors and warnings
 * (everything with DUSK_DEBUG=1). The default is no sink: silence. */
DUSK_EXPORT void dusk_log_stderr(enum dusk_log_level level, const char *fmt,
				 va_list ap);

/* ---- session ----------------------------------------------------------- */

struct dusk_config {
	char target[256];	/* "HOST:PORT" of dusk.ko */
	char key_file[4096];	/* 64 hex digits: the 32-byte master key */
	unsigned int heartbeat_ms;	/* session ends after this long unheard */
	unsigned int hold_ms;	/* longest a packet waits for a verdict */
	unsigned int hold_max;	/* most packets waiting at once */
	unsigned int policy;	/* DUSK_POLICY_ACCEPT or _DROP (dusk_proto.h) */
	unsigned int prefetch;	/* linear packet bytes carried in HOOK */
	unsigned int window;	/* HOOK messages in flight at once */
	unsigned int rto_ms;	/* first retransmission timeout */
	unsigned int timeout_ms;	/* a request fails with -ETIMEDOUT after */
	int watchdog;		/* fork a watchdog (heartbeats, BYE on crash) */
	/* Injected faults (DUSK_FAULTS): "seed=S,loss=P,dup=P,reorder=P",
	 * percent, on every datagram both ways; "" for none. */
	char faults[128];
};

/*
 * Fill @cfg with defaults, the endpoint and key of the default target
 * (DUSK_STATE_DIR, default ~/.local/state/dusk, subdirectory
 * DUSK_TARGET_NAME, default "default": files "endpoint" and "key"),
 * then the environment overrides DUSK_TARGET=HOST:PORT and DUSK_KEY=FILE,
 * DUSK_HOLD_MS (how long a packet waits for its verdict before it goes
 * on by policy: a program stopped in gdb may want long) and DUSK_POLICY
 * (accept or drop), and DUSK_FAULTS (faults injected on purpose, to test
 * a module under a lossy network: see dusk_faults.h). -ENOENT: no target
 * is known (none running and nothing given); -EINVAL: a bad DUSK_HOLD_MS,
 * DUSK_POLICY or DUSK_FAULTS (logged).
 */
DUSK_EXPORT int dusk_config_init(struct dusk_config *cfg);

struct dusk_session;

/* Connect, authenticate, HELLO. The first session opened becomes the
 * process's current one (what instrumented code uses). */
DUSK_EXPORT int dusk_session_open(const struct dusk_config *cfg,
				  struct dusk_session **ret);
/* Commit pending changes, BYE, free. The kernel removes the session's
 * hooks, releases its queued packets by policy, frees its allocations. */
DUSK_EXPORT void dusk_session_close(struct dusk_session *s);
DUSK_EXPORT struct dusk_session *dusk_session_current(void);
/* utsname()->release of the target kernel. */
DUSK_EXPORT const char *dusk_kernel_release(const struct dusk_session *s);

/* ---- kernel memory, calls, symbols, allocations -------------------------- */

/* Uncached access to live kernel memory. -EFAULT: not readable/writable. */
DUSK_EXPORT int dusk_kread(struct dusk_session *s, uint64_t kaddr, void *buf,
			   size_t len);
DUSK_EXPORT int dusk_kwrite(struct dusk_session *s, uint64_t kaddr,
			    const void *buf, size_t len);
/* Commit, call fn(args[0..nargs-1]) in the kernel, invalidate the cache. */
DUSK_EXPORT int dusk_kcall(struct dusk_session *s, uint64_t fn,
			   const uint64_t *args, unsigned int nargs,
			   uint64_t *ret);
/* Any kernel symbol, exported or not. -ENOENT. ret_size may be NULL. */
DUSK_EXPORT int dusk_ksym(struct dusk_session *s, const char *name,
			  uint64_t *ret_addr, uint64_t *ret_size);
/* Session-owned kernel memory (freed when the session ends). */
DUSK_EXPORT int dusk_kalloc(struct dusk_session *s, size_t size, int zero,
			    uint64_t *ret);
DUSK_EXPORT int dusk_kfree(struct dusk_session *s, uint64_t kaddr);

/* ---- the shadow cache ---------------------------------------------------- */

/*
 * The user-level mirror of [p, p+size). A user address is returned
 * unchanged; a kernel address is translated to its mirror, fetching what
 * is missing. The _w variant marks the bytes for commit. On a bad kernel
 * address these raise SIGSEGV at the faulting address, as the .ko would
 * oops, after logging the address.
 */
DUSK_EXPORT void *__dusk_check(const void *p, size_t size);
DUSK_EXPORT void *__dusk_check_w(void *p, size_t size);
/* Same, returning NULL and setting errno instead of raising. */
DUSK_EXPORT void *dusk_shadow(struct dusk_session *s, uint64_t kaddr,
			      size_t size, int write);
/* Send every changed byte to the kernel (only those that changed). */
DUSK_EXPORT int dusk_commit(struct dusk_session *s);
/* Forget every cached page: the next access fetches afresh. */
DUSK_EXPORT void dusk_refresh(struct dusk_session *s);
/* The kernel address a mirror address stands for; 0 when it is none. */
DUSK_EXPORT uint64_t dusk_kaddr(const void *user);

/* ---- netfilter hooks and the event loop ---------------------------------- */

/* skb and state are kernel addresses (struct sk_buff *, struct
 * nf_hook_state *); the return value is the verdict (NF_ACCEPT...). */
typedef unsigned int (*dusk_nf_hookfn)(void *priv, void *skb,
				       const void *state);

struct dusk_nf_hook {
	uint64_t net;		/* struct net *, 0 for init_net */
	int pf;			/* NFPROTO_* */
	unsigned int hooknum;	/* NF_INET_* */
	int priority;
	dusk_nf_hookfn fn;
	void *priv;
	/* Its packets' hold time and the policy that releases them after
	 * it (1 accept, 2 drop: dusk_proto.h's DUSK_HOOK_POLICY_*); 0:
	 * the session's. */
	unsigned int hold_ms;
	unsigned int policy;
	/* What reports of its released packets call it (NULL: its handle). */
	const char *name;
};

DUSK_EXPORT int dusk_nf_hook_register(struct dusk_session *s,
				      const struct dusk_nf_hook *hook,
				      uint32_t *ret_handle);
DUSK_EXPORT int dusk_nf_hook_unregister(struct dusk_session *s,
					uint32_t handle);

/* Serve the kernel's requests (HOOK messages) until dusk_stop() or an
 * error; returns 0 after dusk_stop(). */
DUSK_EXPORT int dusk_run(struct dusk_session *s);
/* Async-signal-safe: make dusk_run() return. */
DUSK_EXPORT void dusk_stop(struct dusk_session *s);

#ifdef __cplusplus
}
#endif

#endif /* DUSK_H */
