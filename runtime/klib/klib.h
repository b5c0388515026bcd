/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * klib.h - what the user-level kernel library's files (klib_*.c) share.
 * Internal (hidden) only.
 *
 * The user-level kernel library is every kernel function a module calls
 * that must run in the program rather than in the kernel: printk and the
 * kernel's format language (klib_fmt.c, klib_printk.c), the string and
 * number library (klib_string.c), the execution context: preemption,
 * bottom halves, interrupts, locks, RCU (klib_ctx.c), and the kernel-side
 * resources these use (klib_kernel.c). Each kernel function NAME is
 * defined as __dusk_impl_NAME with the prototype and semantics of Linux
 * 6.1 (dusk_module.h, "Names"); its pointer arguments may be kernel
 * addresses, mirror addresses or the program's own memory, and every
 * access goes through the shadow cache (__dusk_check and friends).
 *
 * Pointers a function returns into one of its arguments are returned in
 * that argument's address space (a kernel address stays a kernel
 * address), never as a mirror address, so that the module compares and
 * stores them as it would in the kernel.
 */
#ifndef DUSK_KLIB_H
#define DUSK_KLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "dusk_module.h"
#include "shadow_fast.h"

/* A kernel address, or a mirror address (which stands for one). */
/*
 * What the module runtime, the layer above, lends the library: klib never
 * names the module runtime, it calls these (dusk_klib_host_set(), once at
 * program start). Each may be NULL, and all are for the library alone
 * (its unit tests): klib then runs on CPU 0, takes pointers as they are
 * and names no function of the program's glue.
 */
struct dusk_klib_host {
	/* The CPU the current invocation runs on (the HOOK's). */
	unsigned int (*cpu)(void);
	/* A pointer loaded from memory, as module code sees it (__dusk_uptr). */
	void *(*uptr)(void *value);
	/* A function pointer the program may call (__dusk_fnptr). */
	void *(*fnptr)(void *fn);
	/* The kernel address of the kernel function whose stub (or libdusk
	 * impl) is at addr; 0 when addr is none or it cannot be resolved. */
	uint64_t (*kfunc_kaddr)(uintptr_t addr);
	/* The program's function containing addr, from its symbol table:
	 * 0 and its name, start and size; -ENOENT. */
	int (*func_at)(uintptr_t addr, const char **ret_name,
		       uintptr_t *ret_start, size_t *ret_size);
	/* The kernel address of the object at p (a mirror address's, a
	 * kernel copy's), 0 if the kernel has none (klib_wait.c). */
	uint64_t (*kaddr_of)(const void *p);
	/* Does the caller of this thread's invocation have a signal pending
	 * (fatal_only: SIGKILL)? An interruptible sleep then ends. */
	int (*signal_pending)(int fatal_only);
	/* Around every sleep of a thread (locks, wait queues, delays): what
	 * the thread holds that others need meanwhile is let go. */
	void (*sleep_begin)(void);
	void (*sleep_end)(void);
};

extern struct dusk_klib_host dusk_klib_host;
void dusk_klib_host_set(const struct dusk_klib_host *host);

static inline int dusk_klib_remote(const void *p)
{
	return (uintptr_t)p >= DUSK_KERNEL_MIN || dusk_kaddr(p) != 0;
}

/* The address p stands for: a mirror address's kernel address, any other
 * address unchanged. What identifies an object on both sides (locks). */
static inline uintptr_t dusk_klib_ident(const void *p)
{
	uint64_t k;

	if ((uintptr_t)p >= DUSK_KERNEL_MIN)
		return (uintptr_t)p;
	k = dusk_kaddr(p);
	return k ? (uintptr_t)k : (uintptr_t)p;
}

/* p + (q - m): the address in p's space of the byte q points to in m,
 * p's mirror (or p itself). */
static inline void *dusk_klib_rebase(const void *p, const void *m,
				     const void *q)
{
	return (char *)p + ((const char *)q - (const char *)m);
}

/* ---- reports (klib_printk.c) --------------------------------------------- */

/*
 * The kernel's WARN(): "------------[ cut here ]------------" (unless
 * cut is 0), "WARNING: CPU: n PID: tid at WHERE" and a backtrace of the
 * program on stderr. where may be NULL (the caller's address then).
 */
void dusk_klib_warn(int cut, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, once per call site (the caller's return address). */
#define dusk_klib_warn_once(...) do {					\
	static int dusk_warned_;					\
	if (!__atomic_exchange_n(&dusk_warned_, 1, __ATOMIC_RELAXED))	\
		dusk_klib_warn(1, NULL, __VA_ARGS__);			\
} while (0)
/* The kernel's BUG(): "kernel BUG at WHERE!" and a backtrace on stderr,
 * then abort(): the program stops as the kernel would oops. */
void dusk_klib_bug(const char *where, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* dev_printk() at level (a KERN_ prefix): "driver device: " (extra
 * before it) then the message; "(NULL device *): " without a device. */
int dusk_klib_dev_vprintk(const char *level, const char *extra,
			  const void *dev, const char *fmt, va_list ap);
/* A backtrace of the calling thread on stderr. */
void dusk_klib_backtrace(void);
/* The calling thread's id, for "PID:" in reports. */
int dusk_klib_tid(void);

/* ---- formatting (klib_fmt.c) ---------------------------------------------- */

/* The kernel's vsnprintf() (lib/vsprintf.c of 6.1) at user level, into a
 * user buffer: the return value is the length of the whole output. */
int dusk_kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int dusk_ksnprintf(char *buf, size_t size, const char *fmt, ...);
/* While on (per thread), formatting makes no kernel call: kernel
 * addresses print as without a session (reports, which may come from
 * anywhere, even from inside a request). */
void dusk_klib_local_only(int on);
/* Forget the per-session cache of kernel-formatted values (tests). */
void dusk_kfmt_cache_flush(void);

/* ---- the kernel's own services (klib_kernel.c) ---------------------------- */

struct dusk_session;

/* The current session, or NULL when none is open (formatting and logging
 * then stay local). */
struct dusk_session *dusk_klib_session(void);
/* A kernel function's address (cached per session). -ENOENT, -ENOTCONN. */
int dusk_klib_ksym(const char *name, uint64_t *ret);
/* Call kernel function name(args). */
int dusk_klib_kcall(const char *name, const uint64_t *args,
		    unsigned int nargs, uint64_t *ret);
/*
 * The kernel's own output of snprintf(buf, size, spec, arg), one
 * conversion (e.g. "%pS", "%-20pd") with one argument, into out (at
 * most cap bytes, NUL-terminated). The length, or -errno (no session,
 * or the call failed).
 */
int dusk_klib_kformat(const char *spec, uint64_t arg, char *out, size_t cap);
/* The same with the argument pointing to len bytes of data, copied to
 * kernel memory first (for a user-memory argument of a conversion only
 * the kernel implements). */
int dusk_klib_kformat_data(const char *spec, const void *data, size_t len,
			   char *out, size_t cap);
/* printk(text) in the kernel: text (with its KERN_ prefix, as formatted
 * at user level) reaches the target's log. */
int dusk_klib_kprintk(const char *text, size_t len);
/* Kernel memory holding a copy of [data, data + len) (kmalloc with gfp);
 * 0 on failure (errno set). */
uint64_t dusk_klib_kdup(const void *data, size_t len, unsigned int gfp);
/* kfree() in the kernel. */
int dusk_klib_kfree(uint64_t kaddr);
/* Forget everything kept for the session (the session changed). */
void dusk_klib_kernel_reset(void);

/* ---- the emulated clock --------------------------------------------------- */

/* A user-level jiffies counter (HZ of the target, 250 without a session),
 * for the rate limiters: never 0. */
unsigned long dusk_klib_jiffies(void);
unsigned int dusk_klib_hz(void);

#endif /* DUSK_KLIB_H */
