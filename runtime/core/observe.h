/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * observe.h - observers of the runtime: the debugger's record of kernel
 * calls, a trace of every message, later a recorder. An observer is one
 * structure of optional callbacks that a higher layer attaches; the core
 * calls whatever is attached, in attach order, and costs a load and a
 * compare when nothing is. Callbacks must not make requests of their own.
 */
#ifndef DUSK_OBSERVE_H
#define DUSK_OBSERVE_H

#include <stdint.h>

struct dusk_session;
struct dusk_msg;

enum dusk_dir {
	DUSK_DIR_TX,		/* sent by the program */
	DUSK_DIR_RX,		/* received, verified and fresh */
};

struct dusk_observer {
	/*
	 * The session's seam: every message the program sends (each
	 * transmission, before sealing) and every one it accepts (after
	 * verification), HELLO to BYE. m->payload holds m->len bytes.
	 */
	void (*msg)(void *ctx, struct dusk_session *s, enum dusk_dir dir,
		    const struct dusk_msg *m);
	/*
	 * A kernel call is about to be made (name and kfunc may be NULL);
	 * what begin returns is handed to end with the outcome.
	 */
	void *(*kcall_begin)(void *ctx, const char *name, const void *kfunc,
			     uint64_t fn, const uint64_t *args,
			     unsigned int nargs);
	void (*kcall_end)(void *ctx, void *token, int status, uint64_t ret);
	/* The module gave the kernel fn to call: a netfilter hook (what
	 * NULL), a proxied callback (what: "read of my_fops"). */
	void (*callback)(void *ctx, void *fn, const char *what);
	/* The runtime is about to call the module's fn, a hook or a
	 * callback it gave the kernel, with these arguments (a debugger's
	 * breakpoint condition is tested here). */
	void (*call)(void *ctx, void *fn, const uint64_t *args,
		     unsigned int nargs);
	void *ctx;
};

#define DUSK_OBSERVERS_MAX	4

/* 0; -ENOSPC when DUSK_OBSERVERS_MAX are attached; -EEXIST. */
int dusk_observer_attach(const struct dusk_observer *o);
void dusk_observer_detach(const struct dusk_observer *o);
/* Forget every observer (a forked child that must not call them). */
void dusk_observers_reset(void);

/* For the core and the layers that report to observers. */
extern const struct dusk_observer *dusk_observers[DUSK_OBSERVERS_MAX];
extern unsigned int dusk_nr_observers;

void dusk_observe_msg(struct dusk_session *s, enum dusk_dir dir,
		      const struct dusk_msg *m);
/* The tokens of each observer's kcall_begin, for dusk_observe_kcall_end. */
struct dusk_kcall_tokens {
	void *token[DUSK_OBSERVERS_MAX];
};
void dusk_observe_kcall_begin(struct dusk_kcall_tokens *t, const char *name,
			      const void *kfunc, uint64_t fn,
			      const uint64_t *args, unsigned int nargs);
void dusk_observe_kcall_end(const struct dusk_kcall_tokens *t, int status,
			    uint64_t ret);
void dusk_observe_callback(void *fn, const char *what);
void dusk_observe_call(void *fn, const uint64_t *args, unsigned int nargs);

#endif /* DUSK_OBSERVE_H */
