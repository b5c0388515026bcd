/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * modrt.h - the module runtime: libdusk's side of dusk_module.h, the part
 * that runs a kernel module compiled by dusk-cc as a user-level program.
 * Internal (hidden) except where marked DUSK_EXPORT.
 *
 *   mod_types.c   the plugin's type records (section dusk_types) by name
 *   mod_image.c   the program's own image: segments, ELF symbols (libelf),
 *                 .modinfo, thread stacks; what a user address is
 *   mod_kvar.c    kernel variables and functions of the glue: __dusk_gvar,
 *                 __dusk_this_cpu_ptr, placeholders, stubs, per-session
 *                 resolution
 *   mod_copy.c    kernel copies of user objects (one per object, found
 *                 again by both addresses), pointer translation both ways,
 *                 __dusk_kptr
 *   mod_call.c    __dusk_kcall_stub, __dusk_fnptr and its trampoline,
 *                 __dusk_hint, __dusk_enter/__dusk_leave
 *   mod_param.c   module parameters: param_ops_*, param=value parsing
 *   mod_nf.c      nf_register_net_hook(s) and their unregistration
 *   mod_fops.c    struct file_operations: their kernel copies are proxy
 *                 tables of dusk.ko's, their functions callbacks
 *   mod_inv.c     what a blocking invocation (a callback) gives the
 *                 module: uaccess on the caller's memory
 *   mod_kthread.c the module's kernel threads: a kernel thread of
 *                 dusk.ko's each, their functions run here
 *   mod_packet.c  the packet of the invocation served (packet.h): its
 *                 objects, and guards once it may have been released
 *   mod_klib.c    what klib, the layer below, is lent (struct
 *                 dusk_klib_host)
 *   mod_lines.c   the module's source lines from the program's DWARF
 *                 (mod_lines.h): pc -> function, file:line
 *   mod_probe.c   what dusk.ko probes of a kernel call's pointer
 *                 arguments; the functions that accept NULL
 *   mod_crash.c   a crash of the module's code reported as the kernel
 *                 reports an oops, the session released; so is a kernel
 *                 call dusk.ko refused for a bad pointer argument
 *   mod_lockup.c  a hook running too long reported as the kernel's
 *                 watchdog reports a soft lockup
 *   mod_softirq.c the program's softirq thread, on the target's clock,
 *                 and what the deferred functions' files share
 *   mod_timer.c   timer_list: timer_setup, mod_timer, del_timer_sync...
 *   mod_hrtimer.c hrtimers
 *   mod_tasklet.c tasklets
 *   mod_work.c    work items and workqueues: the program's workers
 *   mod_kthread.c the module's kernel threads
 *   mod_uaccess.c the kernel's user-space accessors (copy_to_user,
 *                 get_user, clear_user, strncpy_from_user, access_ok's
 *                 limit...) as UACCESS requests of the blocking
 *                 invocation served (dusk_uaccess())
 *   mod_main.c    __dusk_main(): the program's life (libdusk-main.a's
 *                 main() calls it): options, --trace, the console as log
 *                 sink, init, serving, exit
 *
 * Sessions. Everything here that holds a kernel address (resolved
 * variables and functions, per-CPU offsets, kernel copies, registered
 * hooks) belongs to one session and is forgotten when the current session
 * is not that one any more (KASLR: nothing kernel may outlive a session).
 *
 * Threads. As the session (session.h), the module runtime is driven by one
 * thread at a time; the per-invocation state (hints, nesting depth, the
 * CPU, the pending trampoline target) is per thread already.
 */
#ifndef DUSK_MODRT_H
#define DUSK_MODRT_H

#include <stddef.h>
#include <stdint.h>

#include "dusk_module.h"

struct dusk_session;

/* ---- program-level failure ------------------------------------------------ */

/*
 * The module did something the runtime must not let reach the kernel, or a
 * kernel call failed: like an oops of the .ko, this ends the process (never
 * the kernel). Prints "FILE:LINE: PROG: <message>" on stderr, FILE:LINE
 * the module's call into the runtime that led here (mod_lines.h; left
 * out when no module frame is on the stack), and exits with status.
 * Only the paths dusk_module.h says "stop the program" use it. Set a
 * breakpoint on it to see the module's stack.
 */
void dusk_mod_fatal(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* The same naming where (the module's "FILE:LINE", "" or NULL: none). */
void dusk_mod_fatal_at(const char *where, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
/* "-ENODEV (No such device)" for err = -ENODEV. */
const char *dusk_errno_text(int err, char *buf, size_t len);

/* ---- type records ---------------------------------------------------------- */

enum dusk_mfield_kind {
	DUSK_MF_INT,
	DUSK_MF_PTR,
	DUSK_MF_FN,
	DUSK_MF_AGG,
	DUSK_MF_ARR,
	DUSK_MF_BITS,
};

struct dusk_mtype;

struct dusk_mfield {
	const char *name;
	uint32_t off;
	uint32_t size;
	enum dusk_mfield_kind kind;
	const char *target;		/* pointee/embedded/element; NULL: none */
};

struct dusk_mtype {
	const char *name;		/* "struct_sk_buff" */
	uint64_t size;			/* 0: only named by fields so far */
	struct dusk_mfield *fields;	/* by offset, then by record order */
	uint32_t nr_fields, cap_fields;
	int sized;			/* its "type" record was seen */
};

enum dusk_mkind {
	DUSK_MK_VOID,
	DUSK_MK_INT,
	DUSK_MK_PTR,
	DUSK_MK_FN,
	DUSK_MK_AGG,
};

struct dusk_marg {
	enum dusk_mkind kind;
	const char *target;		/* ptr: pointee type name */
	uint64_t size;			/* agg: bytes */
};

struct dusk_mfunc {
	const char *name;
	struct dusk_marg ret;
	uint32_t nargs;
	int variadic;
	struct dusk_marg *args;
};

struct dusk_mvar {
	const char *name;
	uint64_t size;
};

struct dusk_types_stats {
	uint32_t records, types, fields, funcs, vars, duplicates, malformed;
};

struct dusk_types;

/* Parse the records in [start, end) (NUL-terminated strings, empty ones
 * skipped). A malformed record is counted, logged once, and skipped. */
int dusk_types_create(const char *start, const char *end,
		      struct dusk_types **ret);
void dusk_types_destroy(struct dusk_types *t);
const struct dusk_mtype *dusk_types_type(const struct dusk_types *t,
					 const char *name);
const struct dusk_mfunc *dusk_types_func(const struct dusk_types *t,
					 const char *name);
const struct dusk_mvar *dusk_types_var(const struct dusk_types *t,
				       const char *name);
const struct dusk_types_stats *dusk_types_stats(const struct dusk_types *t);
/* The field of type named name (NULL if type is NULL or has none). */
const struct dusk_mfield *dusk_mtype_field(const struct dusk_mtype *type,
					   const char *name);
/* The offset of type's size-byte field name in *off: 0, or -ENOENT (no
 * such field of that size, or no type) with *off unchanged. */
int dusk_mtype_offset(const struct dusk_mtype *type, const char *name,
		      uint32_t size, uint32_t *off);
/* The same for a runtime's own layout of a kernel struct, whose target
 * kernel's value (kconst.h) *off holds already: a field missing from the
 * record keeps it, with a warning; a record that disagrees (another
 * offset or size: the module was compiled for another kernel) stops the
 * program (dusk_mod_fatal). */
void dusk_mtype_layout(const struct dusk_mtype *type, const char *name,
		       uint32_t size, uint32_t *off);
/* The same for the struct's size, if the record has one. */
void dusk_mtype_layout_size(const struct dusk_mtype *type, uint32_t size);
/* The innermost field at byte off, for naming it in errors. */
const struct dusk_mfield *dusk_mtype_field_at(const struct dusk_mtype *type,
					      uint64_t off);
/* The program's own records (__start_dusk_types..): parsed once; never
 * NULL (empty when the program has none). */
const struct dusk_types *dusk_mod_types(void);

/* ---- the program's image ------------------------------------------------- */

enum dusk_mem_class {
	DUSK_MEM_OTHER = 0,	/* heap, mmap, anything unknown */
	DUSK_MEM_TEXT,		/* the program's executable segments */
	DUSK_MEM_RO,		/* its read-only data (string literals...) */
	DUSK_MEM_RW,		/* its data and bss */
	DUSK_MEM_STACK,		/* the calling thread's stack */
	DUSK_MEM_HEAP,		/* malloc's main heap (the runtime's strings) */
	DUSK_MEM_KDATA,		/* a placeholder of a kernel variable */
	DUSK_MEM_MIRROR,	/* the shadow cache's mirror of kernel memory */
	DUSK_MEM_KERNEL,	/* bit 63: a kernel address */
};

struct dusk_msym {
	uintptr_t addr;
	uint64_t size;
	const char *name;
};

/* What addr is. Cheap: a few range tests (the image is read once). */
enum dusk_mem_class dusk_mem_class(uintptr_t addr);
/* The data object (STT_OBJECT, size > 0) of the program containing addr,
 * from its ELF symbol table; NULL when none (or the table is stripped). */
const struct dusk_msym *dusk_image_object(uintptr_t addr);
/* The function containing addr (for naming it); NULL when none. */
const struct dusk_msym *dusk_image_func(uintptr_t addr);
/* The program's load bias (it is a PIE): its link-time addresses + this. */
uintptr_t dusk_image_bias(void);
/* The module's own per-CPU variables (section DUSK_PERCPU_SECTION, or
 * .data..percpu if the link kept it): -ENOENT when it has none. */
int dusk_image_percpu(uintptr_t *lo, uintptr_t *hi);
/* The .modinfo section's "key=value\0" strings; NULL/0 when none. */
const char *dusk_image_modinfo(size_t *ret_len);
/* addr is in the program's own memory (code, data, stack, heap,
 * placeholders, the mirror): a pointer that must not reach the kernel as
 * it is. Not: NULL, small integers, kernel addresses, unknown mappings. */
int dusk_mem_ours(uintptr_t addr);
/* Bounds of the calling thread's stack. */
int dusk_stack_bounds(uintptr_t *lo, uintptr_t *hi);
/* For tests: forget the image and read it again on next use. */
void dusk_image_reset(void);

/* ---- kernel variables and functions of the glue ---------------------------- */

/* The module runtime's view of the session it works with: the current one
 * (NULL: none open). Per-session state is dropped when it changes. */
struct dusk_session *dusk_mod_session(void);

/* The kvar whose placeholder contains p, and p's offset in it; NULL when p
 * is no placeholder. */
const struct dusk_kvar *dusk_kvar_of(uintptr_t p, uint64_t *ret_off);
/* Resolve kv (once per session): its kernel address, or 0 for
 * __this_module (the module is "built in": no owner, no refcounting).
 * -ENOENT: the kernel has no such symbol. -ENOTCONN: no session. */
int dusk_kvar_kaddr(const struct dusk_kvar *kv, uint64_t *ret);
int dusk_kvar_is_this_module(const struct dusk_kvar *kv);
/* Each kernel variable of the glue with its kernel address if resolved
 * in this session (0: not yet), without resolving any (the debugger's
 * map). */
void dusk_kvar_foreach(void (*fn)(const struct dusk_kvar *kv, uint64_t kaddr,
				  void *arg),
		       void *arg);

/* The glue's kernel function whose stub (or libdusk impl) is at addr;
 * NULL for any other address. */
const struct dusk_kfunc_stub *dusk_kfunc_of_stub(uintptr_t addr);
/* The glue's kernel function whose (resolved) kernel address is k. */
const struct dusk_kfunc_stub *dusk_kfunc_of_kaddr(uint64_t k);
/* f->kaddr, resolved once per session. -ENOENT, -ENOTCONN. */
int dusk_kfunc_resolve(struct dusk_kfunc *f);
/* A kernel symbol by name (once per session for the ones cached here). */
int dusk_mod_ksym(const char *name, uint64_t *ret);

/* The CPU the current invocation runs on (the HOOK's); 0 in init/exit. */
unsigned int dusk_mod_cpu(void);
/* __per_cpu_offset[cpu] of the target (read once per session). */
int dusk_percpu_offset(unsigned int cpu, uint64_t *ret);
/* Keep the module's per-CPU section as the program started: each CPU's
 * copy starts from it (__dusk_main, before init_module). */
void dusk_percpu_snapshot(void);
/* The user address per_cpu_ptr(&var, cpu) of a module per-CPU variable
 * stands for, given the kernel-looking k = &var + __per_cpu_offset[cpu]
 * the kernel's macros compute; NULL when k is no such address. */
void *dusk_percpu_user(uint64_t k);

/* ---- probes of kernel call arguments (mod_probe.c) ---------------------- */

struct dusk_kcall_probe;
/* What dusk.ko is to probe of the n arguments of a call of f (NULL: none)
 * before calling it: from f's prototype and the table of functions that
 * accept NULL. Arguments that are user objects need none (their kernel
 * copies are valid by construction): the caller clears those. */
void dusk_probe_spec(struct dusk_kfunc *f, unsigned int n,
		     struct dusk_kcall_probe *ret);
/* "argument 2 (struct sk_buff *)": argument i of f, for reports. */
const char *dusk_probe_describe(const struct dusk_kfunc *f, unsigned int i,
				char *buf, size_t len);
/* Report a call of kernel function fn that dusk.ko refused because
 * argument argno (what: dusk_probe_describe()) could not be read at
 * fault, as the kernel reports the .ko's oops in fn, release the session
 * like a crash and end the program by SIGSEGV (mod_crash.c). */
__attribute__((noreturn))
void dusk_crash_kcall(const char *fn, const uint64_t *args, unsigned int n,
		      const char *what, uint64_t value, uint64_t fault);

/* ---- kernel copies of user objects -------------------------------------- */

/* Where a translation happens: what an error names, and what it may do. */
struct dusk_kcopy;
struct dusk_xlate_ctx {
	const char *fn;			/* an argument of this kernel function */
	int argno;			/* ... this one (-1: not an argument) */
	uint64_t dest_kaddr;		/* a store to this kernel address */
	const struct dusk_kcopy *parent;	/* a word of this copy ... */
	uint64_t off;			/* ... at this offset */
	int in_call;			/* temporaries allowed (a kernel call) */
	int defer_fn;			/* user functions: deferred (see below) */
};

/* "argument 2 of strscpy", "struct_foo.bar (offset 8) of obj"... */
const char *dusk_xlate_describe(const struct dusk_xlate_ctx *ctx, char *buf,
				size_t len);

/*
 * The kernel value of v, a pointer-sized value going to the kernel: NULL,
 * kernel addresses as they are; a mirror address its kernel address; a
 * placeholder its variable's kernel address (__this_module: 0); a stub or
 * impl its kernel function; a user object [base, base + size) (base and
 * size: 0 to find them) its kernel copy, typed type (NULL: unknown). A user
 * function is refused: the program stops naming it, unless ctx->defer_fn.
 */
uint64_t dusk_xlate_out(uintptr_t v, uintptr_t base, uint64_t size,
			const struct dusk_mtype *type, const char *target,
			const struct dusk_xlate_ctx *ctx);
/* The user value of a kernel value k read back from the kernel: the user
 * object a kernel copy stands for, else k. */
uintptr_t dusk_xlate_in(uint64_t k);

/* The user object whose kernel copy holds kernel address k (or the
 * module per-CPU variable's copy k stands for: dusk_percpu_user()); NULL
 * when k is in none. The shadow cache's slow path asks this first, so
 * that __dusk_check on a copy's kernel address leads back to the
 * original. */
void *dusk_kcopy_user(uint64_t k, size_t size);

/* A type record by name; NULL for void, char, "-" and unknown names. */
const struct dusk_mtype *dusk_type_named(const char *name);
/* Copies the module may have changed exist: kernel calls must sync. */
int dusk_kcopy_busy(void);

/* Kernel calls: temporaries and refresh. */
void dusk_kcopy_call_begin(void);
/* After the call: refresh user objects from the copies the call got (not
 * read-only ones), free the temporaries. ret: the call's return value,
 * translated back when it points into a copy (if ret_ptr). */
int dusk_kcopy_call_end(int refresh, uint64_t *ret, int ret_ptr);
/* Before a kernel call or the end of a callback: send what the module
 * changed in user objects that have a kernel copy (kernel memory then holds
 * the translated bytes). stage: through the shadow cache, to ride on the
 * next commit (only right before dusk_kcall, which invalidates); else now,
 * with WRITE requests. */
int dusk_kcopy_sync(int stage);
/* At a new invocation: refresh every writable copy from the kernel (the
 * kernel may have changed them, e.g. list linkage). */
int dusk_kcopy_refresh_all(void);
/* User functions stored into kernel memory and not yet claimed by a
 * registration API: each becomes its proxy (dusk_fn_proxy), but for a
 * work item's function, which stops the program (see mod_copy.c). */
void dusk_kcopy_check_deferred(const char *when);
/* Around a callback of the module (a file operation, a thread, a timer):
 * begin, on its thread (self: the invocations it is itself among, 1 for
 * one of hook.h's, 0 otherwise), makes user objects shared with the
 * kernel what the kernel holds; end sends what the callback changed in
 * them (and, commit: in the cache) and reports what it stored that the
 * kernel must not get ("at the end of WHAT"). */
void dusk_kcopy_begin(unsigned int self);
void dusk_kcopy_end(const char *what, int commit);
/* The same before a kernel call (which may make the kernel call them):
 * the proxies go with the call's commit. */
void dusk_kcopy_resolve_deferred(void);
/* A registration API claims the user function stored at kernel address k:
 * the function, or NULL if none was stored there. */
void *dusk_kcopy_claim_fn(uint64_t k);
/* ... and every one stored in the kernel copy of the user object at u (a
 * registered static struct that also has a kernel copy). */
void dusk_kcopy_claim_user(uintptr_t u, uint64_t size);
/* The kernel address of the copy of the user object at u, 0 if none. */
uint64_t dusk_kcopy_kaddr_of(uintptr_t u);
/* Forget every copy (the session changed or closes). */
void dusk_kcopy_reset(void);
/* The user object [base, base + size) has kernel address kaddr, a table
 * of dusk.ko's (mod_fops.c): never written, synced nor read back. */
void dusk_kcopy_add_proxy(uintptr_t base, uint64_t size,
			  const struct dusk_mtype *type, uint64_t kaddr);

/* ---- file operations (mod_fops.c) ----------------------------------------- */

/* type if it is struct file_operations, struct proc_ops or struct
 * seq_operations (a table dusk.ko has proxies of), else NULL. */
const struct dusk_mtype *dusk_fops_type(const struct dusk_mtype *type);
/* An untyped object (a static reached through a void * store: `cdev.ops
 * = &my_fops` into kernel memory) that looks like a struct
 * file_operations (its size; non-zero words only in function fields,
 * functions, and owner): that type, else NULL. */
const struct dusk_mtype *dusk_fops_guess(uintptr_t base, uint64_t size);
/* The kernel copy of the table at base (dusk_fops_type): a proxy table
 * of dusk.ko's (PROXY_REGISTER), its kernel address. Stops the program
 * (naming the object and field) on a function dusk.ko has no proxy for,
 * or when dusk.ko refuses. */
uint64_t dusk_fops_proxy(uintptr_t base, const struct dusk_mtype *t,
			 const struct dusk_xlate_ctx *ctx);

/* The kernel's proxy of the module's function fn (DUSK_PROXY_FN), made
 * once for the session: what a user function the kernel may call becomes
 * when it reaches kernel memory (mod_copy.c decides which may). Stops the
 * program when dusk.ko refuses. */
uint64_t dusk_fn_proxy(uintptr_t fn, const struct dusk_xlate_ctx *ctx);
/*
 * Before the module's exit: every proxy table and function of the session
 * dies (PROXY_UNREGISTER), and the callers waiting in them end with the
 * dead answers (-EIO...). The one thread runs the exit instead of them,
 * and the exit's proc_remove() or kobject_put() waits for them in dusk's
 * thread, which they would wait for.
 */
void dusk_fops_unregister_all(void);
/* The module's function whose proxy is at kernel address k, 0 if none. */
uintptr_t dusk_fn_proxy_user(uint64_t k);

/* "read of my_fops": the file operation this thread runs, NULL for none.
 * Async-signal-safe (a crash report names it). */
const char *dusk_fops_current(void);
/* Each callback of the module the session gave the kernel (a member of
 * a proxy table, a proxy function): the module's function and what it
 * is ("read of my_fops", "my_show"), in registration order. */
void dusk_fops_foreach(void (*fn)(uintptr_t fn, const char *what, void *arg),
		       void *arg);

/* ---- kernel threads (mod_kthread.c) ----------------------------------------- */

/* This thread runs a module thread's function that kthread_stop() was
 * asked to stop: its interruptible sleeps end as signalled. */
int dusk_kthread_stop_pending(void);
/* After the module's exit (or a failed init; after names it): its
 * threads still running are reported and stopped, the rest released. */
void dusk_kthreads_end(const char *after);

/* ---- blocking invocations (mod_inv.c) -------------------------------------- */

/*
 * One UACCESS request for the blocking invocation this thread serves:
 * op is enum dusk_uaccess_op; data: TO's len bytes, STRNCPY's
 * destination as it is (len bytes) or PUT's value (8 bytes); out: FROM's
 * len bytes, STRNCPY's destination after the copy (len bytes; NULL
 * otherwise).
 * Returns 0 with the kernel's *ret (and GET's *val), or a negative errno:
 * -ENOTCONN when this thread serves no blocking invocation (module
 * init/exit, a netfilter hook), -EMSGSIZE when len does not fit one
 * datagram (the caller chunks), or a transport error.
 */
int dusk_uaccess(unsigned int op, uint64_t uaddr, uint64_t len,
		 const void *data, void *out, int64_t *ret, uint64_t *val);
/* The largest len of one request. */
uint32_t dusk_uaccess_max(void);
/*
 * The __user range the callback this thread runs was given by the kernel
 * (read's and write's buf and count; an ioctl's arg and a window after
 * it; len 0: none): a value in it is the calling task's address, which
 * goes to the kernel as it is. The task's addresses are user-half
 * addresses like the program's own, and may fall in its mappings (the
 * cache's mirror reserves terabytes): without this, read's buf passed on
 * to simple_read_from_buffer() could be taken for a mirror address.
 */
void dusk_inv_user_set(uint64_t lo, uint64_t len);
/* v is in that range, and this thread serves a blocking invocation. */
int dusk_inv_user(uintptr_t v);
/* The range itself (the debugger shows what is there): 0, or -ENOENT
 * when this thread serves no blocking invocation or has none. */
int dusk_inv_user_range(uint64_t *lo, uint64_t *len);

struct dusk_kcopy_stats {
	uint64_t persistent, temporaries, bytes_out, refreshed, deferred_fns;
};
void dusk_kcopy_stats(struct dusk_kcopy_stats *ret);

/* Each kernel copy, persistent ones and the current call's temporaries
 * (for the debugger's address map). */
struct dusk_kcopy_info {
	uint64_t kaddr;
	uintptr_t user;
	uint64_t size;
	const char *type;		/* type record name, NULL: unknown */
	const char *name;		/* symbol of the object, NULL: none */
	int temp;			/* a local's, for the current call */
	int changed;			/* the module changed it since sent */
};
void dusk_kcopy_foreach(void (*fn)(const struct dusk_kcopy_info *c,
				   void *arg),
			void *arg);

/* ---- calls ------------------------------------------------------------------ */

/* The hint for argument argno of the next kernel call covering v (or
 * any current hint covering v: see mod_call.c). */
int dusk_hint_find(unsigned int argno, uintptr_t v, uintptr_t *ret_base,
		   uint64_t *ret_size);
void dusk_hints_clear(void);

/* ---- parameters --------------------------------------------------------------- */

/* Mirrors struct kernel_param_ops of the kernel (the layout is ABI). */
struct dusk_kparam_ops {
	unsigned int flags;
	int (*set)(const char *val, const void *kp);
	int (*get)(char *buffer, const void *kp);
	void (*free)(void *arg);
};

/*
 * Apply "param=value ..." (the words of argv, joined as insmod joins them)
 * to the parameters in [start, end) (struct kernel_param of the module).
 * Errors are described in err_msg (for "PROG: <err_msg>"):
 * -ENOENT unknown parameter, -EINVAL and others: a bad value.
 */
int dusk_params_apply(void *start, void *end, int argc, char **argv,
		      char *err_msg, size_t err_len);
/* "name type description" lines of the module's parameters (from
 * .modinfo parm=/parmtype= and the __param section) into buf. */
void dusk_params_describe(void *start, void *end, char *buf, size_t len);

/* ---- netfilter ------------------------------------------------------------------- */

/* Unregister every hook the module left registered (after a failed init,
 * at exit), with a warning naming when ("init_module failed"; NULL: no
 * warning). */
void dusk_nf_unregister_all(const char *when);
/* Forget them without a word to the kernel (the session changed: its
 * hooks went with it). */
void dusk_nf_forget(void);
/* How many are registered. */
unsigned int dusk_nf_count(void);
/* Each registered hook (for the debugger). */
struct dusk_nf_info {
	uint32_t handle;		/* dusk.ko's */
	void *fn;			/* the module's function */
	int pf;
	unsigned int hooknum;
	int priority;
};
void dusk_nf_foreach(void (*fn)(const struct dusk_nf_info *h, void *arg),
		     void *arg);
/* The hook the calling thread runs: 0, or -ENOENT (none). For a crash
 * report: async-signal-safe. */
int dusk_nf_current(struct dusk_nf_info *ret);
/* "NF_INET_PRE_ROUTING"... as the kernel names hooknum, NULL for none. */
const char *dusk_nf_hook_name(unsigned int hooknum);

/* ---- the program ------------------------------------------------------------------ */

/* What libdusk-main.a's main() hands over: the module's own symbols,
 * weak there (a module without init, exit or parameters is fine). */
struct dusk_module_desc {
	int (*init)(void);
	void (*exit)(void);
	void *param_start, *param_stop;	/* __start___param, __stop___param */
};

DUSK_EXPORT int __dusk_main(const struct dusk_module_desc *m, int argc,
			    char **argv);

/* Report a crash of the module (SIGSEGV, SIGBUS, SIGILL, SIGFPE) as the
 * kernel reports an oops, release the session, die by the signal
 * (mod_crash.c). 0 or -errno. */
int dusk_crash_install(void);
/* The report of a soft lockup of secs seconds, from a signal handler's
 * ucontext_t (mod_crash.c). Async-signal-safe once dusk_crash_install()
 * has run. */
void dusk_crash_lockup_report(const void *uc, unsigned int secs);
/* The soft-lockup detector (mod_lockup.c): install its signal handler
 * (threshold from DUSK_SOFTLOCKUP_S: -EINVAL if bad); an invocation of
 * the module is timed between enter and leave (they nest). */
int dusk_lockup_install(void);
void dusk_lockup_enter(void);
void dusk_lockup_leave(void);
/* Around a sleep: the invocation's time asleep does not count. */
int dusk_lockup_pause(void);
void dusk_lockup_resume(int depth);

/* ---- user-space access (mod_uaccess.c) ------------------------------------ */

/* One UACCESS request for the blocking invocation this thread serves:
 * op is enum dusk_uaccess_op; data: TO's len bytes or PUT's value
 * (8 bytes); out: FROM's len bytes, STRNCPY's ret+1 bytes (NULL
 * otherwise). Returns 0 with the kernel's *ret (and GET's *val), or a
 * negative errno: -ENOTCONN when this thread serves no blocking
 * invocation (module init/exit, a netfilter hook), -EMSGSIZE when len
 * does not fit one datagram (the caller chunks), or a transport error. */
int dusk_uaccess(unsigned int op, uint64_t uaddr, uint64_t len,
                 const void *data, void *out, int64_t *ret,
                 uint64_t *val);
uint32_t dusk_uaccess_max(void);	/* largest len of one request */

/* For tests: make mod_uaccess.c's accessors send through these instead
 * of dusk_uaccess()/dusk_uaccess_max() (NULL, NULL: back to those), and
 * forget which call sites were warned about. */
void dusk_uaccess_backend_set(int (*uaccess)(unsigned int op, uint64_t uaddr,
					     uint64_t len, const void *data,
					     void *out, int64_t *ret,
					     uint64_t *val),
			      uint32_t (*max)(void));
/* How many warnings of uaccess outside a blocking invocation were given
 * (one per call site), for tests. */
unsigned int dusk_uaccess_warnings(void);

/* Lend klib what it needs of the module runtime (mod_klib.c). */
void dusk_mod_klib_host(void);

/* ---- deferred functions: timers, tasklets, work (mod_softirq.c and the
 * files of each kind) ---- */

/* The module's object at obj + off, read or written through the cache
 * (obj may be the program's memory, a mirror or a kernel address). */
uint64_t dusk_obj_get64(const void *obj, size_t off);
uint32_t dusk_obj_get32(const void *obj, size_t off);
uint8_t dusk_obj_get8(const void *obj, size_t off);
void dusk_obj_put64(void *obj, size_t off, uint64_t v);
void dusk_obj_put32(void *obj, size_t off, uint32_t v);
void dusk_obj_put8(void *obj, size_t off, uint8_t v);
/* The kernel address of the module's p, 0 when it is the program's own
 * memory without a kernel copy. */
uint64_t dusk_obj_kaddr(const void *p);
/* The target's jiffies, and an hrtimer base's clock (HRTIMER_BASE_*)
 * in ns: read now (fresh), or estimated from the last reading (if less
 * than a second old). */
int dusk_tclock_jiffies(int fresh, uint64_t *ret);
int dusk_tclock_ns(unsigned int base, int fresh, int64_t *ret);

/*
 * Run the module's fn(arg) on this thread, which holds the program lock,
 * as the kernel runs a deferred function: in context kind (enum
 * dusk_ctx_kind), what the kernel changed seen first, what fn changed
 * committed after; what names it in reports.
 */
void dusk_defer_run(void (*fn)(void *), void *arg, int kind,
		    const char *what);
/* The module's function pointer at obj + off as the program calls it
 * (a user function the module stored into kernel memory: the one it
 * stored); 0 when it is NULL or a kernel function (*ret_kfn: its
 * address, 1 if unresolved). */
uintptr_t dusk_defer_get_fn(void *obj, size_t off, uint64_t *ret_kfn);
/* Store fn at obj + off (kernel memory gets a harmless kernel function,
 * and the program keeps fn for it). */
void dusk_defer_put_fn(void *obj, size_t off, uintptr_t fn);
const char *dusk_defer_fn_name(uintptr_t fn, char *buf, size_t len);
/* Is kernel address k the function field of a timer, hrtimer, tasklet
 * or delayed work the program knows (whose function it runs)? */
int dusk_defer_owns(uint64_t k);
/* fn is a deferred function of the module (what: "timer", "work"...):
 * observers learn of it once (dusk-gdb's break-hook all); the foreach
 * gives each one known. */
void dusk_defer_seen(uintptr_t fn, const char *what);
void dusk_defer_foreach_fn(void (*fn)(uintptr_t fn, const char *what,
				      void *arg), void *arg);

enum dusk_alarm_kind {
	DUSK_ALARM_TIMER,		/* a timer_list, expiry in jiffies */
	DUSK_ALARM_HRTIMER,		/* an hrtimer, in ns of its clock */
	DUSK_ALARM_DWORK,		/* a delayed work's timer, jiffies */
};

/* The program's record of a timer of the module (under the softirq
 * lock). */
struct dusk_alarm {
	struct dusk_alarm *next;
	uintptr_t key;			/* dusk_klib_obj_key() of obj */
	void *obj;			/* the module's struct */
	enum dusk_alarm_kind kind;
	int armed, running, shutdown;
	uint64_t expires;		/* jiffies, or ns of the clock */
	unsigned int base;		/* hrtimer: HRTIMER_BASE_* */
	uint64_t due_ns;		/* local CLOCK_MONOTONIC */
	uint64_t fired;
	uintptr_t fn;			/* its function, as last seen */
};

void dusk_softirq_lock(void);
void dusk_softirq_unlock(void);
/* Under the softirq lock: the thread runs (for this session) and looks
 * again at what is due. */
void dusk_softirq_kick(void);
/* Under the softirq lock, holding the program lock: wait (letting both
 * go) until *running is 0, or until any callback finishes. */
void dusk_softirq_wait_done(const int *running);
void dusk_softirq_wait_any(void);
/* Is this the softirq thread? */
int dusk_softirq_self(void);
/* Under the softirq lock: obj's record (made if need be); armed. */
struct dusk_alarm *dusk_alarm_get(void *obj, enum dusk_alarm_kind kind);
void dusk_alarm_arm(struct dusk_alarm *a, uint64_t expires);
/* Each armed or running one (the lock held: fn must not wait); -EBUSY
 * when another thread holds the lock (gdb stopped it there). */
int dusk_alarm_foreach(void (*fn)(const struct dusk_alarm *a, void *arg),
		       void *arg);
/* Under the softirq lock: disarmed, and its callback not running on
 * another thread (del_timer_sync()). */
void dusk_alarm_cancel_sync(struct dusk_alarm *a);
/* On the softirq thread, holding the program lock: a expired. */
void dusk_timer_fire(struct dusk_alarm *a);
void dusk_hrtimer_fire(struct dusk_alarm *a);

/* Tasklets (mod_tasklet.c), for the softirq thread, under the softirq
 * lock: take a ready one (running from then on), tell it ran; any
 * scheduled but disabled? is k the function field of one? cancel the
 * scheduled ones (reported "when", unless NULL). dusk_tasklet_run()
 * runs one, holding the program lock only. */
struct dusk_tasklet;
struct dusk_tasklet *dusk_tasklet_take(void);
void dusk_tasklet_run(struct dusk_tasklet *t);
void dusk_tasklet_ran(struct dusk_tasklet *t);
int dusk_tasklet_parked(void);
int dusk_tasklet_owns(uint64_t k);
unsigned int dusk_tasklet_cancel_all(const char *when);
/* A delayed work's timer expired: its work is queued. */
void dusk_dwork_expired(void *dwork);
/*
 * Module exit or the session's end (when: "after cleanup_module", for
 * reports; NULL: quietly): what is still armed or queued is cancelled
 * and the threads end. Returns how many were left. The caller holds the
 * program lock.
 */
unsigned int dusk_softirq_stop(const char *when);
unsigned int dusk_work_stop(const char *when);

/* A work item queued, pending on its timer or running, for dusk-gdb. */
struct dusk_work_info {
	void *work;
	uintptr_t fn;
	const char *wq;			/* its workqueue's name */
	int queued, delayed, running;
	uint64_t runs;
};
int dusk_work_foreach(void (*fn)(const struct dusk_work_info *w,
				 void *arg), void *arg);

#endif /* DUSK_MODRT_H */
