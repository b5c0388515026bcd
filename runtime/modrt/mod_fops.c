// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * File operations at user level: the kernel copy of a module's struct
 * file_operations, struct proc_ops or struct seq_operations is a proxy
 * table of dusk.ko's, and a single module function the kernel gets (a
 * call's argument, a field of a kernel copy, a store into kernel memory:
 * single_open's show, a sysfs attribute's show and store) is a proxy
 * function of dusk.ko's (DUSK_PROXY_FN).
 *
 * Whatever path hands &my_fops to the kernel (misc_register's miscdevice,
 * cdev_init, __register_chrdev, a `cdev.ops = &my_fops` store, proc_create,
 * seq_open), the translation of the pointer (mod_copy.c, dusk_xlate_out)
 * comes here instead of making a plain copy: PROXY_REGISTER of the kind
 * with one slot per non-NULL function field, the module's own functions as
 * user slots (a cookie the event loop's INVOKE leads back to:
 * hook.h, dusk_callback_register), kernel functions (noop_llseek,
 * seq_read, single_release...: a stub or libdusk impl of the glue) as
 * kernel slots with their kernel address. owner is dusk.ko's business
 * (an open file pins dusk.ko, not a session's memory). The reply's table
 * is then the kernel address of the module's object everywhere, and
 * __dusk_check on it leads back to the user object, so filp->f_op->read
 * in the module calls its own function.
 *
 * The table is made once, from the object as it is then: a module that
 * changes its file_operations after handing them to the kernel (rare: most
 * are const) is not followed. A function is proxied once for the session,
 * whatever hands it to the kernel.
 *
 * A user function in a slot dusk.ko has no proxy for (mmap, read_iter,
 * splice...) is refused: the program stops naming the object and field.
 *
 * An invocation of a user slot runs as the kernel runs a file operation:
 * in process context (the calling task's: current, mod_kvar.c), after the
 * user objects shared with the kernel were refreshed, and what the module
 * changed in them goes out before the RETURN. dusk.ko never invokes from
 * atomic context (it answers as a dead table does and warns once).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "invoke.h"
#include "klib_ctx.h"
#include "log.h"
#include "mod_lines.h"
#include "modrt.h"
#include "observe.h"
#include "session.h"
#include "util.h"

/* What each kind of table dusk.ko has proxies for: the C type, the
 * fields it proxies (all other function fields are refused, but kernel
 * functions in kernel_only ones) and the kind's non-function field that
 * PROXY_REGISTER's flags carry. */
struct dusk_ptable_kind {
	const char *type;		/* the type record's name */
	const char *c_name;		/* as C says it */
	uint32_t kind;			/* enum dusk_proxy_kind */
	const char *const *proxied;
	const char *proxied_text;
	const char *kernel_only;	/* a field only a kernel function fills */
	const char *flags;		/* its value is PROXY_REGISTER's flags */
};

static const char *const dusk_fops_proxied[] = {
	"llseek", "read", "write", "poll", "unlocked_ioctl", "compat_ioctl",
	"open", "flush", "release", "fasync", NULL,
};

static const char *const dusk_pops_proxied[] = {
	"proc_open", "proc_read", "proc_write", "proc_lseek", "proc_release",
	"proc_poll", "proc_ioctl", "proc_compat_ioctl", NULL,
};

static const char *const dusk_sops_proxied[] = {
	"start", "stop", "next", "show", NULL,
};

static const struct dusk_ptable_kind dusk_ptable_kinds[] = {
	{ "struct_file_operations", "struct file_operations", DUSK_PROXY_FOPS,
	  dusk_fops_proxied, "llseek, read, write, poll, unlocked_ioctl, compat_ioctl, open, flush, release and fasync",
	  NULL, NULL },
	{ "struct_proc_ops", "struct proc_ops", DUSK_PROXY_PROC_OPS,
	  dusk_pops_proxied, "proc_open, proc_read, proc_write, proc_lseek, proc_release, proc_poll, proc_ioctl and proc_compat_ioctl, and the kernel's seq_read_iter as proc_read_iter",
	  "proc_read_iter", "proc_flags" },
	{ "struct_seq_operations", "struct seq_operations", DUSK_PROXY_SEQ_OPS,
	  dusk_sops_proxied, "start, stop, next and show", NULL, NULL },
};

#define DUSK_FOPS_TYPE		"struct_file_operations"

/* An ioctl's arg as a pointer: how far after it the module may reach. */
#define DUSK_FOPS_IOCTL_WINDOW	(1U << 20)

enum dusk_fop_user {
	DUSK_FOP_USER_NONE,
	DUSK_FOP_USER_BUF,		/* (file, buf, count, ppos) */
	DUSK_FOP_USER_ARG,		/* (file, cmd, arg) */
};

/* The callback's return type: RETURN carries it sign-extended, as the
 * protocol says (the upper half of %rax is not the callee's). */
enum dusk_fop_ret {
	DUSK_FOP_RET_LONG,		/* ssize_t, loff_t, long */
	DUSK_FOP_RET_INT,		/* int */
	DUSK_FOP_RET_UINT,		/* __poll_t */
};

struct dusk_fop_cb {
	uintptr_t fn;			/* the module's function */
	enum dusk_fop_user user;	/* which argument is __user */
	enum dusk_fop_ret ret;
	char what[128];			/* "read of my_fops" */
};

/* The callback this thread runs (a crash report names it). */
static __thread const struct dusk_fop_cb *dusk_fop_running;

const char *dusk_fops_current(void)
{
	return dusk_fop_running ? dusk_fop_running->what : NULL;
}

typedef uint64_t (*dusk_fop_fn)(uint64_t, uint64_t, uint64_t, uint64_t,
				uint64_t, uint64_t);

static int dusk_fops_is_proxied(const struct dusk_ptable_kind *k,
				const char *field)
{
	size_t i;

	for (i = 0; k->proxied[i]; i++)
		if (!strcmp(field, k->proxied[i]))
			return 1;
	return 0;
}

static const struct dusk_ptable_kind *dusk_ptable_kind_of(const struct dusk_mtype *t)
{
	size_t i;

	for (i = 0; t && i < DUSK_ARRAY_SIZE(dusk_ptable_kinds); i++)
		if (!strcmp(t->name, dusk_ptable_kinds[i].type))
			return &dusk_ptable_kinds[i];
	return NULL;
}

/* The callbacks this session registered (dusk_fops_foreach()). */
static struct {
	const struct dusk_fop_cb **v;
	size_t nr, cap;
	struct dusk_session *s;
} dusk_cbs;

/* fn is given to the kernel as cb: observers learn of it (dusk-gdb's
 * "break-hook all" breaks in it). */
static void dusk_fops_registered(struct dusk_session *s,
				 const struct dusk_fop_cb *cb)
{
	if (dusk_cbs.s != s) {
		dusk_cbs.nr = 0;
		dusk_cbs.s = s;
	}
	if (DUSK_GROW(dusk_cbs.v, dusk_cbs.cap, dusk_cbs.nr, 16))
		dusk_mod_fatal(1, "out of memory");
	dusk_cbs.v[dusk_cbs.nr++] = cb;
	dusk_observe_callback((void *)cb->fn, cb->what);
}

void dusk_fops_foreach(void (*fn)(uintptr_t fn, const char *what, void *arg),
		       void *arg)
{
	size_t i;

	if (dusk_cbs.s != dusk_mod_session())
		return;
	for (i = 0; i < dusk_cbs.nr; i++)
		fn(dusk_cbs.v[i]->fn, dusk_cbs.v[i]->what, arg);
}

/* The tables this session registered (dusk_fops_unregister_all()). */
static struct {
	uint32_t *v;
	size_t nr, cap;
	struct dusk_session *s;
} dusk_handles;

static void dusk_fops_remember(struct dusk_session *s, uint32_t handle)
{
	if (dusk_handles.s != s) {
		dusk_handles.nr = 0;
		dusk_handles.s = s;
	}
	if (DUSK_GROW(dusk_handles.v, dusk_handles.cap, dusk_handles.nr, 16))
		dusk_mod_fatal(1, "out of memory");
	dusk_handles.v[dusk_handles.nr++] = handle;
}

void dusk_fops_unregister_all(void)
{
	struct dusk_session *s = dusk_mod_session();
	char ebuf[64];
	size_t i;
	int err;

	if (!s || dusk_handles.s != s)
		return;
	for (i = 0; i < dusk_handles.nr; i++) {
		err = dusk_proxy_unregister(s, dusk_handles.v[i]);
		if (err && err != -ENOENT)
			dusk_warn("unregistering proxy table %u: %s",
				  dusk_handles.v[i],
				  dusk_errno_text(err, ebuf, sizeof(ebuf)));
	}
	dusk_handles.nr = 0;
}

/* The INVOKE of a user slot (hook.h, dusk_callback_fn). */
static uint64_t dusk_fop_tramp(void *priv, const uint64_t *args)
{
	const struct dusk_fop_cb *cb = priv, *prev;
	struct dusk_ctx_saved saved;
	uint64_t ret;

	dusk_kcopy_begin(1);
	if (cb->user == DUSK_FOP_USER_BUF)
		dusk_inv_user_set(args[1], args[2]);
	else if (cb->user == DUSK_FOP_USER_ARG)
		dusk_inv_user_set(args[2], DUSK_FOPS_IOCTL_WINDOW);
	dusk_ctx_enter(DUSK_CTX_TASK, (int)dusk_mod_cpu(), &saved);
	prev = dusk_fop_running;
	dusk_fop_running = cb;
	dusk_lockup_enter();
	dusk_observe_call((void *)cb->fn, args, 6);
	ret = ((dusk_fop_fn)cb->fn)(args[0], args[1], args[2], args[3],
				    args[4], args[5]);
	dusk_lockup_leave();
	dusk_fop_running = prev;
	/* A task may go back to user space holding a mutex (open takes
	 * it, release drops it: a course's one-opener device), which the
	 * kernel allows; a spin lock still held shows in the preempt count. */
	saved.locks = dusk_ctx_locks_held();
	if (cb->ret == DUSK_FOP_RET_INT)
		ret = (uint64_t)(int64_t)(int32_t)ret;
	else if (cb->ret == DUSK_FOP_RET_UINT)
		ret = (uint32_t)ret;
	dusk_inv_user_set(0, 0);
	dusk_ctx_leave(&saved);
	dusk_kcopy_end(cb->what, 0);
	return ret;
}

/* "my_fops", or "the file_operations at 0x..." without a symbol. */
static const char *dusk_fops_name(uintptr_t base,
				  const struct dusk_ptable_kind *k, char *buf,
				  size_t len)
{
	const struct dusk_msym *sym = dusk_image_object(base);

	if (sym && sym->addr == base)
		snprintf(buf, len, "%s", sym->name);
	else
		snprintf(buf, len, "the %s at %p", k->c_name + 7, (void *)base);
	return buf;
}

const struct dusk_mtype *dusk_fops_type(const struct dusk_mtype *type)
{
	return dusk_ptable_kind_of(type) ? type : NULL;
}

const struct dusk_mtype *dusk_fops_guess(uintptr_t base, uint64_t size)
{
	const struct dusk_mtype *t = dusk_type_named(DUSK_FOPS_TYPE);
	const struct dusk_mfield *f;
	uint64_t o, v;
	int fns = 0;

	if (!t || !t->size || t->size != size || (base & 7))
		return NULL;
	for (o = 0; o + 8 <= size; o += 8) {
		memcpy(&v, (const void *)(base + o), 8);
		if (!v)
			continue;
		f = dusk_mtype_field_at(t, o);
		if (!f || f->off != o)
			return NULL;
		if (f->kind == DUSK_MF_FN &&
		    dusk_mem_class((uintptr_t)v) == DUSK_MEM_TEXT)
			fns++;
		else if (strcmp(f->name, "owner"))
			return NULL;
	}
	return fns ? t : NULL;
}

/* How the INVOKE of field f of a table of kind k is run. */
static void dusk_fop_cb_kind(const struct dusk_ptable_kind *k, const char *f,
			     struct dusk_fop_cb *cb)
{
	if (k->kind == DUSK_PROXY_SEQ_OPS) {
		if (!strcmp(f, "show"))
			cb->ret = DUSK_FOP_RET_INT;
		return;		/* start, next: pointers; stop: void */
	}
	if (k->kind == DUSK_PROXY_PROC_OPS && !strncmp(f, "proc_", 5))
		f += 5;
	if (!strcmp(f, "read") || !strcmp(f, "write"))
		cb->user = DUSK_FOP_USER_BUF;
	else if (strstr(f, "ioctl"))
		cb->user = DUSK_FOP_USER_ARG;
	if (!strcmp(f, "poll"))
		cb->ret = DUSK_FOP_RET_UINT;
	else if (!strcmp(f, "open") || !strcmp(f, "release") ||
		 !strcmp(f, "flush") || !strcmp(f, "fasync"))
		cb->ret = DUSK_FOP_RET_INT;
}

uint64_t dusk_fops_proxy(uintptr_t base, const struct dusk_mtype *t,
			 const struct dusk_xlate_ctx *ctx)
{
	const struct dusk_ptable_kind *k = dusk_ptable_kind_of(t);
	struct dusk_session *s = dusk_mod_session();
	char name[96], what[160], fname[128], ebuf[64];
	const struct dusk_kfunc_stub *ks;
	struct dusk_pslot *slots;
	struct dusk_fop_cb *cb;
	uint64_t table, v, flags = 0;
	uint32_t handle, i;
	unsigned int n = 0;
	int err;

	if (!k)
		dusk_mod_fatal(1, "%s: %s is no table dusk.ko has proxies of",
			       dusk_xlate_describe(ctx, what, sizeof(what)),
			       t ? t->name : "?");
	dusk_fops_name(base, k, name, sizeof(name));
	if (!s)
		dusk_mod_fatal(1, "%s: %s: no session with the target",
			       dusk_xlate_describe(ctx, what, sizeof(what)), name);
	slots = calloc(t->nr_fields ? t->nr_fields : 1, sizeof(*slots));
	if (!slots)
		dusk_mod_fatal(1, "out of memory");
	for (i = 0; i < t->nr_fields; i++) {
		const struct dusk_mfield *f = &t->fields[i];

		if (k->flags && !strcmp(f->name, k->flags) && f->size <= 8) {
			v = 0;
			memcpy(&v, (const void *)(base + f->off), f->size);
			flags = v;
			continue;
		}
		if (f->kind != DUSK_MF_FN || f->size != 8)
			continue;	/* owner: dusk.ko sets its own */
		memcpy(&v, (const void *)(base + f->off), 8);
		if (!v)
			continue;
		ks = dusk_kfunc_of_stub((uintptr_t)v);
		if (ks && ks->f) {
			/* noop_llseek, seq_read...: the kernel's own. */
			err = dusk_kfunc_resolve(ks->f);
			if (err)
				dusk_mod_fatal(1, "%s of %s: kernel function %s: %s",
					       f->name, name, ks->f->name,
					       err == -ENOENT ? "the target kernel has no such symbol" :
					       dusk_errno_text(err, ebuf, sizeof(ebuf)));
			slots[n].off = f->off;
			slots[n].kind = DUSK_SLOT_KERNEL;
			slots[n].value = ks->f->kaddr;
			n++;
			continue;
		}
		if (!dusk_image_func((uintptr_t)v))
			dusk_mod_fatal(1, "%s of %s: %p is neither a function of the module nor a kernel function",
				       f->name, name, (void *)(uintptr_t)v);
		if (!dusk_fops_is_proxied(k, f->name)) {
			const struct dusk_msym *fn = dusk_image_func((uintptr_t)v);

			snprintf(fname, sizeof(fname), "%s", fn ? fn->name : "?");
			dusk_mod_fatal(1, "%s of %s (%s): not supported at user level yet (dusk.ko proxies %s of a %s): run this part of the module as its .ko",
				       f->name, name, fname, k->proxied_text,
				       k->c_name);
		}
		cb = calloc(1, sizeof(*cb));
		if (!cb)
			dusk_mod_fatal(1, "out of memory");
		cb->fn = (uintptr_t)v;
		dusk_fop_cb_kind(k, f->name, cb);
		snprintf(cb->what, sizeof(cb->what), "%s of %s", f->name, name);
		err = dusk_callback_register(s, dusk_fop_tramp, cb,
					     &slots[n].value);
		if (err)
			dusk_mod_fatal(1, "%s: %s", cb->what,
				       dusk_errno_text(err, ebuf, sizeof(ebuf)));
		dusk_fops_registered(s, cb);
		slots[n].off = f->off;
		slots[n].kind = DUSK_SLOT_USER;
		n++;
	}
	err = dusk_proxy_register(s, k->kind, base, flags, slots, n, &table,
				  &handle);
	free(slots);
	if (err)
		dusk_mod_fatal(1, "%s: the kernel's proxy of %s: %s%s",
			       dusk_xlate_describe(ctx, what, sizeof(what)), name,
			       dusk_errno_text(err, ebuf, sizeof(ebuf)),
			       err == -ENOSPC ? " (dusk.ko has no free proxy table)" :
			       err == -EINVAL && flags ? " (dusk.ko takes a struct proc_ops whose proc_flags are 0: a PROC_ENTRY_PERMANENT entry is called without procfs' use counts)" : "");
	dusk_fops_remember(s, handle);
	dusk_dbg("%s: proxy table %u at 0x%llx (%u slots)", name, handle,
		 (unsigned long long)table, n);
	dusk_kcopy_add_proxy(base, t->size, t, table);
	return table;
}

/* ---- single functions ---- */

struct dusk_fn_proxy {
	uintptr_t fn;
	uint64_t kaddr;			/* dusk.ko's proxy function */
};

static struct {
	struct dusk_fn_proxy *v;
	size_t nr, cap;
	struct dusk_session *s;		/* whose they are */
} dusk_fns;

uint64_t dusk_fn_proxy(uintptr_t fn, const struct dusk_xlate_ctx *ctx)
{
	struct dusk_session *s = dusk_mod_session();
	const struct dusk_msym *sym = dusk_image_func(fn);
	char what[160], ebuf[64];
	struct dusk_pslot slot = { 0 };
	struct dusk_fop_cb *cb;
	uint64_t table;
	uint32_t handle;
	size_t i;
	int err;

	if (!s)
		dusk_mod_fatal(1, "%s: no session with the target",
			       dusk_xlate_describe(ctx, what, sizeof(what)));
	if (dusk_fns.s != s) {
		/* Another session's proxies are gone with it. */
		dusk_fns.nr = 0;
		dusk_fns.s = s;
	}
	for (i = 0; i < dusk_fns.nr; i++)
		if (dusk_fns.v[i].fn == fn)
			return dusk_fns.v[i].kaddr;
	cb = calloc(1, sizeof(*cb));
	if (!cb || DUSK_GROW(dusk_fns.v, dusk_fns.cap, dusk_fns.nr, 8))
		dusk_mod_fatal(1, "out of memory");
	cb->fn = fn;
	/* Its prototype is not known: the whole value goes back (a caller
	 * of an int function reads the part it wants). */
	cb->ret = DUSK_FOP_RET_LONG;
	if (sym && sym->addr == fn)
		snprintf(cb->what, sizeof(cb->what), "%s", sym->name);
	else
		snprintf(cb->what, sizeof(cb->what), "the function at %p",
			 (void *)fn);
	err = dusk_callback_register(s, dusk_fop_tramp, cb, &slot.value);
	if (err)
		dusk_mod_fatal(1, "%s: %s", cb->what,
			       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	dusk_fops_registered(s, cb);
	slot.off = 0;
	slot.kind = DUSK_SLOT_USER;
	err = dusk_proxy_register(s, DUSK_PROXY_FN, fn, 0, &slot, 1, &table,
				  &handle);
	if (err)
		dusk_mod_fatal(1, "%s: the kernel's proxy of user function %s: %s%s",
			       dusk_xlate_describe(ctx, what, sizeof(what)),
			       cb->what, dusk_errno_text(err, ebuf, sizeof(ebuf)),
			       err == -ENOSPC ? " (dusk.ko has no free proxy table)" : "");
	dusk_fops_remember(s, handle);
	dusk_dbg("%s: proxy function %u at 0x%llx", cb->what, handle,
		 (unsigned long long)table);
	dusk_fns.v[dusk_fns.nr].fn = fn;
	dusk_fns.v[dusk_fns.nr].kaddr = table;
	dusk_fns.nr++;
	return table;
}

uintptr_t dusk_fn_proxy_user(uint64_t k)
{
	size_t i;

	if (dusk_fns.s != dusk_mod_session())
		return 0;
	for (i = 0; i < dusk_fns.nr; i++)
		if (dusk_fns.v[i].kaddr == k)
			return dusk_fns.v[i].fn;
	return 0;
}
