/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * dusk_module.h - the ABI between a module compiled by dusk-cc and libdusk.
 *
 * Three parties meet here:
 *  - the module's own code, instrumented by the GCC plugin
 *    (cc-wrapper/dusk_plugin.cc), calls the __dusk_* entry points below;
 *  - the glue dusk-cc generates at link time (one C file per program,
 *    compiled without the plugin) defines a stub for every kernel function
 *    the module calls and a placeholder for every kernel variable it uses,
 *    and describes them in the tables below;
 *  - libdusk implements the entry points, main() (module_init/module_exit,
 *    parameters), and user-level versions of the kernel functions that must
 *    not be forwarded one call at a time (printk, registration APIs, locks,
 *    RCU, the string library...), each as __dusk_impl_<name>.
 *
 * Names: dusk-cc renames, in (copies of) the module's objects, every
 * reference to a symbol no object of the module defines:
 *	<name> -> __dusk_impl_<name>	if libdusk defines that (functions
 *					and objects such as param_ops_int);
 *	<name> -> __dusk_k_<name>	a kernel function: the glue's stub;
 *	<name> -> __dusk_kv_<name>	a kernel variable: the glue's
 *					placeholder in section dusk_kdata.
 * So module code never binds to a libc symbol of the same name (memcpy,
 * bsearch...), and libdusk's own code never binds to the module's.
 *
 * Addresses: bit 63 set means kernel. Everything else is the program's own
 * memory: its data, its stack, the mirror of kernel memory (the shadow
 * cache) and the placeholders of kernel variables; the runtime translates
 * each of those to a kernel address wherever one crosses into the kernel.
 */
#ifndef DUSK_MODULE_H
#define DUSK_MODULE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "dusk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- called by instrumented code ---------------------------------------- */

/* (dusk.h) The mirror of [p, p+size), p itself if it is user memory. */
/* void *__dusk_check(const void *p, size_t size); */
/* void *__dusk_check_w(void *p, size_t size); */

/* A NUL-terminated string at s (at most n bytes): its mirror. */
DUSK_EXPORT void *__dusk_check_str(const void *s);
DUSK_EXPORT void *__dusk_check_strn(const void *s, size_t n);

/*
 * value is about to be stored at dest (a mirror or user address) as a
 * pointer: what to store. If dest mirrors kernel memory, value must become
 * a kernel address: a mirror address maps back, a placeholder becomes its
 * variable's kernel address, a kernel function's stub its kernel address,
 * a user object its (possibly new) kernel copy, found again on later
 * accesses. A user function with no kernel proxy is refused: the program
 * stops with an error naming it (the kernel must never jump to user
 * memory); the one exception is a function a registration API then takes
 * from the kernel memory it was stored in (ops = kzalloc(...); ops->hook =
 * fn; nf_register_net_hook(net, ops)): until the end of the callback it
 * may be claimed, and a harmless kernel function stands in its place. If
 * dest is user memory, value is returned unchanged.
 */
DUSK_EXPORT void *__dusk_kptr(void *dest, void *value);

/*
 * value was just loaded as a pointer through a pointer (from kernel
 * memory, or any memory): what the module sees. The address of a user
 * object's kernel copy (what __dusk_kptr stored) becomes the user
 * object's own, so that pointers compare as in the kernel: a kernel list
 * whose head is a static of the module ends at &head. Anything else is
 * returned unchanged (cheap when no user object has a kernel copy).
 */
DUSK_EXPORT void *__dusk_uptr(void *value);

/*
 * The address instrumented code uses for an extern variable whose symbol
 * is at placeholder: for a kernel variable (a placeholder in the glue's
 * dusk_kdata section) its kernel address, resolved once per session; for
 * a per-CPU kernel variable its per-CPU offset (the symbol's value); for a
 * variable another file of the module defines, placeholder itself.
 */
DUSK_EXPORT void *__dusk_gvar(const void *placeholder);

/*
 * this_cpu_ptr(addr): for a kernel per-CPU address (a per-CPU offset, as
 * __dusk_gvar() gives it, or a __percpu pointer read from the kernel) the
 * kernel address of the copy of the CPU the current invocation runs on;
 * for a module per-CPU variable (user memory: one copy at user level),
 * addr itself.
 */
DUSK_EXPORT void *__dusk_this_cpu_ptr(const void *addr);

/* The emulated preempt count of this thread: preemption, softirq and
 * hardirq state are emulated at user level (in a netfilter hook the
 * count says "serving softirq", as in the kernel). */
DUSK_EXPORT void *__dusk_preempt_count_ptr(void);

/* The emulated interrupt flag (X86_EFLAGS_IF in the returned flags). */
DUSK_EXPORT unsigned long __dusk_irq_flags(void);
DUSK_EXPORT void __dusk_irq_disable(void);
DUSK_EXPORT void __dusk_irq_enable(void);

/* fn is about to be called through a pointer: fn itself if it is user
 * code, else a trampoline that makes the kernel call with the integer
 * arguments it is given (up to six). */
DUSK_EXPORT void *__dusk_fnptr(void *fn);

/* Nesting of the module's own (non-inline) functions: when the outermost
 * one returns to the runtime, the runtime commits. */
DUSK_EXPORT void __dusk_enter(void);
DUSK_EXPORT void __dusk_leave(void);
/* This thread's nesting: 0 while it runs the runtime (for dusk-gdb). */
DUSK_EXPORT int dusk_module_depth(void);

/* BUG() (flags without BUGFLAG_WARNING): report and abort, like an oops
 * of this process. WARN(): report with file:line and return. */
DUSK_EXPORT void __dusk_bug(const char *file, unsigned int line,
			    unsigned int flags);

/* The next kernel call's argument argno points into a local object at
 * [base, base + size): how much to copy to the kernel and back. */
DUSK_EXPORT void __dusk_hint(unsigned int argno, const void *base,
			     size_t size);

/* ---- type records ---------------------------------------------------------- */

/*
 * The plugin records what the runtime needs to know about kernel types in
 * the section "dusk_types" of each object (so the program has
 * __start_dusk_types and __stop_dusk_types): NUL-terminated text records,
 * fields separated by one space, repeated freely across files (the first
 * of a name counts):
 *
 *   type NAME SIZE
 *	a struct or union ("struct sk_buff", spaces as '_': struct_sk_buff).
 *   field TYPE NAME OFFSET SIZE KIND [TARGET]
 *	one member of TYPE at byte OFFSET. KIND: int, ptr (TARGET: the
 *	pointee's type name, "void", "char" or "-"), fn (a function
 *	pointer), agg (TARGET: an embedded struct/union), arr (TARGET: the
 *	element type name), bits (a bit-field, OFFSET its first byte).
 *   func NAME RET NARGS VARIADIC ARG...
 *	a kernel function the module calls or takes the address of. RET and
 *	each ARG: int, ptr:TARGET, fn, agg:SIZE (by value), void (RET only).
 *	Then "probe:P1,...,Pn" (when NARGS > 0): what dusk.ko probes of each
 *	argument before the call: 0 nothing, s a const char * string (to
 *	its NUL), else the pointee's bytes. Then "printf:M:N", if any.
 *   var NAME SIZE
 *	a variable the module uses but does not define.
 */
#define DUSK_TYPES_SECTION	"dusk_types"

/*
 * The module's own per-CPU variables (DEFINE_PER_CPU): dusk-cc renames
 * the section .data..percpu of the module's objects to this one (the
 * linker would fold the kernel's name into .data), so that the runtime
 * finds them between __start_dusk_percpu and __stop_dusk_percpu and
 * gives each CPU of the target its own copy.
 */
#define DUSK_PERCPU_SECTION	"dusk_percpu"

/* ---- the glue dusk-cc generates ----------------------------------------- */

enum dusk_karg_kind {
	DUSK_KARG_INT = 0,	/* passed as is */
	DUSK_KARG_PTR,		/* translated (kernel copy of user objects) */
	DUSK_KARG_FN,		/* stub -> kernel function; user fn refused */
};

/* arg_probe: a const char * string, probed to its NUL. */
#define DUSK_KPROBE_STR		UINT32_MAX

struct dusk_kfunc {
	const char *name;
	uint64_t kaddr;			/* resolved on first call; 0: not yet */
	uint16_t nargs;
	uint16_t variadic;
	const uint8_t *arg_kind;	/* nargs of enum dusk_karg_kind */
	const char *const *arg_type;	/* pointee type names (NULL: unknown) */
	/* nargs: what dusk.ko probes of each argument before the call, 0
	 * (nothing), DUSK_KPROBE_STR or the pointee's bytes; NULL: none */
	const uint32_t *arg_probe;
	/* libdusk's, zero in the glue, set once (mod_probe.c): which
	 * arguments (bit i) the function accepts NULL in, an ERR_PTR in,
	 * or anything in (not probed) */
	uint8_t probe_ready, null_ok, err_ok, unprobed;
};

/*
 * The body of every stub:
 *	uint64_t __dusk_k_NAME(uint64_t a0, ..., uint64_t a5)
 *	{ return __dusk_kcall_stub(&<its struct dusk_kfunc>, a0, ..., a5); }
 * Commits, translates pointer arguments, calls, refreshes user objects
 * from their kernel copies, invalidates the cache. A failed call (the
 * target refused it, the session is gone) stops the program with an
 * error naming the function.
 */
DUSK_EXPORT uint64_t __dusk_kcall_stub(struct dusk_kfunc *f, uint64_t a0,
				       uint64_t a1, uint64_t a2, uint64_t a3,
				       uint64_t a4, uint64_t a5);

/*
 * The stub of a kernel function with a printf format and variable
 * arguments (__printf(m, n)) that libdusk has no version of:
 *	uint64_t __dusk_k_NAME(uint64_t a0, ..., const char *fmt, ..., ...)
 *	{ va_start(ap, <last named>);
 *	  return __dusk_kcall_printf(&<its dusk_kfunc>, args, m - 1, n - 1,
 *				     ap); }
 * args holds the n - 1 named arguments. The message is formatted here by
 * the kernel's format language (klib_fmt.h: %pI4 and friends, reading
 * through the shadow cache), and the kernel function is called with "%s"
 * as its format and the formatted text as its one variable argument.
 */
DUSK_EXPORT uint64_t __dusk_kcall_printf(struct dusk_kfunc *f,
					 const uint64_t *args,
					 unsigned int fmt_arg,
					 unsigned int str_arg, va_list ap);

struct dusk_kvar {
	const char *name;		/* the kernel's name: "jiffies" */
	void *placeholder;		/* __dusk_kv_jiffies, in dusk_kdata */
	size_t size;
};

/* Defined by the glue: every kernel variable the module uses, and every
 * kernel function it refers to, stubbed or implemented by libdusk (for
 * __dusk_kptr and __dusk_fnptr to map those addresses to the kernel's
 * function: stub is __dusk_k_NAME or __dusk_impl_NAME). */
extern const struct dusk_kvar __dusk_kvars[];
extern const size_t __dusk_nr_kvars;
struct dusk_kfunc_stub {
	void *stub;
	struct dusk_kfunc *f;
};
extern const struct dusk_kfunc_stub __dusk_kfuncs[];
extern const size_t __dusk_nr_kfuncs;

/* The glue hands its tables to libdusk before main() (a constructor it
 * has): libdusk names nothing of the program's. kdata_start/kdata_stop
 * bound the section dusk_kdata, the placeholders (NULL: none). */
struct dusk_glue {
	const struct dusk_kvar *kvars;
	size_t nr_kvars;
	const struct dusk_kfunc_stub *kfuncs;
	size_t nr_kfuncs;
	const char *kdata_start, *kdata_stop;
};
DUSK_EXPORT void __dusk_glue_register(const struct dusk_glue *glue);
/* The module's dynamic debug descriptors, its section __dyndbg (the
 * glue's constructor, when there is one; klib_dyndbg.h). */
DUSK_EXPORT void __dusk_dyndbg_register(void *start, void *stop);

#ifdef __cplusplus
}
#endif

#endif /* DUSK_MODULE_H */
