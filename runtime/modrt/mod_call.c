// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Kernel calls from module code: the glue's stubs (__dusk_kcall_stub),
 * calls through pointers that hold kernel text addresses (__dusk_fnptr and
 * its trampoline), the plugin's hints about local arguments, and the
 * nesting of the module's functions.
 *
 * The common case, every pointer argument already a kernel address (an
 * skb, something read from kernel memory) and no user object shared with
 * the kernel, goes straight to dusk_kcall(): no copies, no table walks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "klib.h"
#include "log.h"
#include "modrt.h"
#include "session.h"
#include "shadow_fast.h"
#include "util.h"

/* An argument beyond a variadic function's named ones: translated only
 * when it is an address of the program's own memory. */
#define DUSK_KARG_GUESS	0xff

/* ---- hints and nesting ---- */

struct dusk_hint {
	uintptr_t base;
	uint64_t size;
	uint64_t epoch;
};

/*
 * A hint counts for the next kernel call only: the plugin emits it right
 * before the call, after the arguments are computed. Entering or leaving
 * a module function, and every kernel call, start a new epoch, so a hint
 * left behind by a call that was not a kernel call (a libdusk impl) can
 * only ever serve a later call of the same function activation, where
 * the local it describes is still live.
 */
static __thread struct dusk_hint dusk_hints[DUSK_MAX_CALL_ARGS];
static __thread uint64_t dusk_hint_epoch = 1;
static __thread int dusk_depth;

DUSK_EXPORT void __dusk_hint(unsigned int argno, const void *base,
			     size_t size)
{
	if (argno >= DUSK_MAX_CALL_ARGS)
		return;
	dusk_hints[argno].base = (uintptr_t)base;
	dusk_hints[argno].size = size;
	dusk_hints[argno].epoch = dusk_hint_epoch;
}

/*
 * The hint for argument argno covering v, else any current hint covering
 * v: an inline wrapper passes its caller's local on in another position
 * (skb_header_pointer(skb, off, len, &local) calls skb_copy_bits(skb, off,
 * buffer, len): the hint names argument 3 of the wrapper, the kernel call
 * gets it as argument 2), and inline functions do not start an epoch.
 */
int dusk_hint_find(unsigned int argno, uintptr_t v, uintptr_t *ret_base,
		   uint64_t *ret_size)
{
	const struct dusk_hint *h = NULL;
	unsigned int i;

	if (argno < DUSK_MAX_CALL_ARGS &&
	    dusk_hints[argno].epoch == dusk_hint_epoch &&
	    v - dusk_hints[argno].base < dusk_hints[argno].size)
		h = &dusk_hints[argno];
	for (i = 0; !h && i < DUSK_MAX_CALL_ARGS; i++)
		if (dusk_hints[i].epoch == dusk_hint_epoch &&
		    v - dusk_hints[i].base < dusk_hints[i].size)
			h = &dusk_hints[i];
	if (!h)
		return -ENOENT;
	*ret_base = h->base;
	*ret_size = h->size;
	return 0;
}

void dusk_hints_clear(void)
{
	dusk_hint_epoch++;
}

DUSK_EXPORT void __dusk_enter(void)
{
	dusk_depth++;
	dusk_hint_epoch++;
}

DUSK_EXPORT void __dusk_leave(void)
{
	dusk_depth--;
	dusk_hint_epoch++;
}

/* How deep in the module's own (non-inline) functions this thread is: 0
 * when it is in the runtime (for dusk-gdb). */
DUSK_EXPORT int dusk_module_depth(void)
{
	return dusk_depth;
}

/* ---- calls ---- */

static unsigned int dusk_arg_kind(const struct dusk_kfunc *f, unsigned int i)
{
	if (!f)
		return DUSK_KARG_GUESS;
	if (i < f->nargs)
		return f->arg_kind ? f->arg_kind[i] : DUSK_KARG_INT;
	return f->variadic ? DUSK_KARG_GUESS : DUSK_KARG_INT;
}

static const char *dusk_call_name(const struct dusk_kfunc *f, uint64_t fn,
				  char *buf, size_t len)
{
	if (f)
		return f->name;
	snprintf(buf, len, "0x%llx", (unsigned long long)fn);
	return buf;
}

/* Does the call need the slow path: a user value in a pointer argument,
 * or user objects shared with the kernel to keep in step? */
static int dusk_call_slow(const struct dusk_kfunc *f, const uint64_t *args,
			  unsigned int n)
{
	unsigned int i, kind;

	if (dusk_kcopy_busy())
		return 1;
	for (i = 0; i < n; i++) {
		kind = dusk_arg_kind(f, i);
		/* Below DUSK_PROBE_LOW_ADDR: no object of anyone's, NULL
		 * plus an offset; passed as it is, for dusk.ko's probe. */
		if (kind == DUSK_KARG_INT || args[i] < DUSK_PROBE_LOW_ADDR ||
		    args[i] >= DUSK_KERNEL_MIN)
			continue;
		if (kind != DUSK_KARG_GUESS || dusk_mem_ours(args[i]))
			return 1;
	}
	return 0;
}

/* Translate the arguments that are the program's addresses. A user
 * object's kernel copy is valid by construction: its probe is dropped;
 * a mirror address stands for kernel memory, probed as any kernel
 * address is. */
static void dusk_call_translate(const struct dusk_kfunc *f, const char *name,
				uint64_t *args, unsigned int n,
				struct dusk_kcall_probe *probe)
{
	struct dusk_xlate_ctx ctx = { .fn = name, .in_call = 1 };
	const char *target;
	unsigned int i, kind;
	uintptr_t base;
	uint64_t size;
	char what[160];

	for (i = 0; i < n; i++) {
		uintptr_t v = (uintptr_t)args[i];

		kind = dusk_arg_kind(f, i);
		if (kind == DUSK_KARG_INT || !v)
			continue;
		if (kind != DUSK_KARG_FN && v < DUSK_PROBE_LOW_ADDR)
			continue;	/* for dusk.ko's probe */
		ctx.argno = (int)i;
		if (kind == DUSK_KARG_FN) {
			enum dusk_mem_class cls = dusk_mem_class(v);

			if (cls != DUSK_MEM_KERNEL && cls != DUSK_MEM_TEXT)
				dusk_mod_fatal(1, "%s: %p is not a function",
					       dusk_xlate_describe(&ctx, what,
								   sizeof(what)),
					       (void *)v);
			args[i] = dusk_xlate_out(v, 0, 0, NULL, NULL, &ctx);
			continue;
		}
		if (kind == DUSK_KARG_GUESS && !dusk_mem_ours(v))
			continue;	/* an integer, or a kernel address */
		target = NULL;
		if (kind == DUSK_KARG_PTR && f->arg_type)
			target = f->arg_type[i];
		else if (kind == DUSK_KARG_GUESS && !f &&
			 dusk_mem_class(v) == DUSK_MEM_RW && dusk_image_object(v))
			/* A function of unknown prototype (a kernel function
			 * pointer: poll_wait()'s __pollwait) given a static:
			 * a struct as likely as a string (a static wait
			 * queue head, whose list points into itself). */
			target = NULL;
		else if (kind == DUSK_KARG_GUESS)
			target = "char";	/* %s, most likely */
		if (dusk_mem_ours(v) && dusk_mem_class(v) != DUSK_MEM_MIRROR)
			memset(&probe->spec[i], 0, sizeof(probe->spec[i]));
		base = 0;
		size = 0;
		dusk_hint_find(i, v, &base, &size);
		args[i] = dusk_xlate_out(v, base, size, dusk_type_named(target),
					 target, &ctx);
	}
}

/* What the module gets from a kernel call the runtime did not make
 * because it would reach a late packet (packet.h): NULL from a function
 * returning a pointer (or unknown), -ESTALE from one returning an int. */
static uint64_t dusk_call_refused(const struct dusk_kfunc *f)
{
	const struct dusk_mfunc *mf = f ?
		dusk_types_func(dusk_mod_types(), f->name) : NULL;

	return mf && mf->ret.kind == DUSK_MK_INT ? (uint64_t)(int64_t)-ESTALE : 0;
}

/* Why dusk.ko refused a call, in words: the two refusals of its table of
 * session-owned resources (kmod/owned.h), else the errno's text. */
static const char *dusk_call_error(int err, char *buf, size_t len)
{
	if (err == -EOPNOTSUPP)
		return "refused by dusk.ko: it acquires something dusk.ko does not know how to give back when the program ends (kmod/owned.h lists what it knows)";
	if (err == -EDQUOT)
		return "refused by dusk.ko: the program holds as many kernel resources as dusk.ko allows (its own_max parameter)";
	return dusk_errno_text(err, buf, len);
}

/* A call dusk.ko refused for a bad pointer argument: the .ko would have
 * oopsed in the function; so does the program, in the kernel's words. */
static void dusk_call_probe_failed(const struct dusk_kfunc *f, const char *name,
				   const uint64_t *args, unsigned int n,
				   const struct dusk_kcall_probe *probe)
{
	unsigned int i = (unsigned int)probe->refused;
	char what[96];

	dusk_crash_kcall(name, args, n, dusk_probe_describe(f, i, what,
							    sizeof(what)),
			 args[i], args[i] + probe->fault_off);
}

/*
 * A release given nothing to release does nothing in the kernel:
 * kfree(NULL) and kfree(ZERO_SIZE_PTR) return at once (mm/slab_common.c),
 * so do kvfree() and kfree_sensitive(), and vfree(NULL). Not a round trip
 * each: LDD3's scull_trim() kfree()s a thousand mostly NULL quanta.
 */
static int dusk_call_noop(const struct dusk_kfunc *f, const uint64_t *args,
			  unsigned int n)
{
	if (!f || !f->name || n < 1 || args[0] > 16)
		return 0;
	if (!strcmp(f->name, "kfree") || !strcmp(f->name, "kvfree") ||
	    !strcmp(f->name, "kfree_sensitive"))
		return 1;
	return !strcmp(f->name, "vfree") && !args[0];
}

/* The call itself, with f (the glue's record) or without (a kernel
 * function reached through a pointer). Stops the program on failure
 * (but for a call refused for a late packet). */
static uint64_t dusk_call(struct dusk_kfunc *f, uint64_t fn, uint64_t *args,
			  unsigned int n)
{
	struct dusk_session *s = dusk_mod_session();
	struct dusk_kcall_probe probe;
	const struct dusk_mfunc *mf;
	char nbuf[32], ebuf[64];
	const char *name = dusk_call_name(f, fn, nbuf, sizeof(nbuf));
	uint64_t ret = 0;
	int err, slow;

	if (!s)
		dusk_mod_fatal(1, "kernel call %s failed: no session with the target",
			       name);
	if (dusk_call_noop(f, args, n))
		return 0;
	if (f && !f->kaddr) {
		err = dusk_kfunc_resolve(f);
		if (err)
			dusk_mod_fatal(1, "kernel call %s failed: %s", name,
				       err == -ENOENT ? "the target kernel has no such symbol" :
				       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	}
	if (f)
		fn = f->kaddr;
	/* Before any translation: a late packet's objects are not touched. */
	if (dusk_call_guard && dusk_call_guard(s, name, args, n))
		return dusk_call_refused(f);
	/* User functions stored into kernel memory: proxies before the
	 * kernel may call them (they ride on the call's commit). */
	dusk_kcopy_resolve_deferred();
	dusk_probe_spec(f, n, &probe);
	slow = dusk_call_slow(f, args, n);
	if (!slow) {
		err = dusk_kcall_as(s, f ? f->name : NULL, f, fn, args, n,
				    &probe, &ret);
		dusk_hints_clear();
		if (err == -ESTALE)
			return dusk_call_refused(f);
		if (probe.refused >= 0)
			dusk_call_probe_failed(f, name, args, n, &probe);
		if (err)
			dusk_mod_fatal(1, "kernel call %s failed: %s", name,
				       dusk_call_error(err, ebuf, sizeof(ebuf)));
		return ret;
	}

	dusk_kcopy_call_begin();
	dusk_call_translate(f, name, args, n, &probe);
	err = dusk_kcopy_sync(1);
	if (err)
		dusk_mod_fatal(1, "kernel call %s failed: sending user objects: %s",
			       name, dusk_errno_text(err, ebuf, sizeof(ebuf)));
	err = dusk_kcall_as(s, f ? f->name : NULL, f, fn, args, n, &probe,
			    &ret);
	dusk_hints_clear();
	if (err == -ESTALE) {
		/* Not made (a late packet's object): nothing to read back. */
		dusk_kcopy_call_end(0, &ret, 0);
		return dusk_call_refused(f);
	}
	if (probe.refused >= 0)
		dusk_call_probe_failed(f, name, args, n, &probe);
	if (err)
		dusk_mod_fatal(1, "kernel call %s failed: %s", name,
			       dusk_call_error(err, ebuf, sizeof(ebuf)));
	mf = f ? dusk_types_func(dusk_mod_types(), f->name) : NULL;
	err = dusk_kcopy_call_end(1, &ret, !mf || mf->ret.kind == DUSK_MK_PTR);
	if (err)
		dusk_mod_fatal(1, "kernel call %s: reading its arguments back: %s",
			       name, dusk_errno_text(err, ebuf, sizeof(ebuf)));
	return ret;
}

DUSK_EXPORT uint64_t __dusk_kcall_stub(struct dusk_kfunc *f, uint64_t a0,
				       uint64_t a1, uint64_t a2, uint64_t a3,
				       uint64_t a4, uint64_t a5)
{
	uint64_t args[DUSK_MAX_CALL_ARGS] = { a0, a1, a2, a3, a4, a5 };
	unsigned int n = f->variadic ? DUSK_MAX_CALL_ARGS :
			 DUSK_MIN(f->nargs, (uint16_t)DUSK_MAX_CALL_ARGS);

	return dusk_call(f, 0, args, n);
}

/* ---- calls through pointers ---- */

/*
 * The kernel function the trampoline calls next. Safe as one thread-local
 * slot: instrumented code calls __dusk_fnptr(fn) immediately before the
 * indirect call, with the call's arguments already computed (the plugin
 * inserts it right before the call statement), so nothing runs between
 * setting the target and the trampoline reading it on the same thread,
 * and the trampoline reads it first thing.
 */
static __thread uint64_t dusk_tramp_target;

static uint64_t dusk_kernel_tramp(uint64_t a0, uint64_t a1, uint64_t a2,
				  uint64_t a3, uint64_t a4, uint64_t a5)
{
	uint64_t args[DUSK_MAX_CALL_ARGS] = { a0, a1, a2, a3, a4, a5 };
	uint64_t fn = dusk_tramp_target;

	dusk_tramp_target = 0;
	if (!fn)
		dusk_mod_fatal(1, "kernel call trampoline entered without a target");
	return dusk_call(NULL, fn, args, DUSK_MAX_CALL_ARGS);
}

DUSK_EXPORT void *__dusk_fnptr(void *fn)
{
	const struct dusk_kfunc_stub *ks;
	uintptr_t a = (uintptr_t)fn;

	if (a < DUSK_KERNEL_MIN)
		return fn;	/* module code, a stub or an impl: user code */
	/* A kernel function the glue knows: its stub translates by type. */
	ks = dusk_kfunc_of_kaddr(a);
	if (ks)
		return ks->stub;
	dusk_tramp_target = a;
	return (void *)dusk_kernel_tramp;
}

/* ---- variadic functions with a printf format ---- */

/* What one message may take on the program's stack: the kernel's own
 * limits (a seq_file's page, a workqueue's name...) are far below it. */
#define DUSK_KFMT_MAX	(64 << 10)

DUSK_EXPORT uint64_t __dusk_kcall_printf(struct dusk_kfunc *f,
					 const uint64_t *args,
					 unsigned int fmt_arg,
					 unsigned int str_arg, va_list ap)
{
	static const char fmt_s[] = "%s";
	uint64_t call[DUSK_MAX_CALL_ARGS] = { 0 };
	const char *fmt = (const char *)(uintptr_t)args[fmt_arg];
	int len;

	if (str_arg >= DUSK_MAX_CALL_ARGS || fmt_arg >= str_arg)
		dusk_mod_fatal(1, "kernel call %s: format argument %u, first variable argument %u: dusk calls kernel functions with six arguments at most",
			       f->name, fmt_arg + 1, str_arg + 1);
	memcpy(call, args, str_arg * sizeof(*call));
	len = dusk_kvsnprintf(NULL, 0, fmt, ap);
	if (len < 0)
		len = 0;
	if (len >= DUSK_KFMT_MAX) {
		dusk_warn("kernel call %s: a message of %d bytes is cut to %d",
			  f->name, len, DUSK_KFMT_MAX - 1);
		len = DUSK_KFMT_MAX - 1;
	}
	{
		/* On the stack: its kernel copy lives for this call only. */
		char text[len + 1];

		dusk_kvsnprintf(text, sizeof(text), fmt, ap);
		call[fmt_arg] = (uintptr_t)fmt_s;
		call[str_arg] = (uintptr_t)text;
		__dusk_hint(str_arg, text, sizeof(text));
		return dusk_call(f, 0, call, str_arg + 1);
	}
}
