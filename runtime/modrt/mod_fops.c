// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * File operations at user level: the kernel copy of a module's struct
 * file_operations is a proxy table of dusk.ko's.
 *
 * Whatever path hands &my_fops to the kernel (misc_register's miscdevice,
 * cdev_init, __register_chrdev, a `cdev.ops = &my_fops` store), the
 * translation of the pointer (mod_copy.c, dusk_xlate_out) comes here
 * instead of making a plain copy: PROXY_REGISTER(DUSK_PROXY_FOPS) with
 * one slot per non-NULL function field, the module's own functions as
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
 * are const) is not followed.
 *
 * A user function in a slot dusk.ko has no proxy for (mmap, read_iter,
 * splice...) is refused: the program stops naming the object and field.
 *
 * An invocation of a user slot runs as the kernel runs a file operation:
 * in process context (the calling task's: current, mod_kvar.c), after the
 * user objects shared with the kernel were refreshed, and what the module
 * changed in them goes out before the RETURN.
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
#include "session.h"
#include "util.h"

#define DUSK_FOPS_TYPE		"struct_file_operations"

/* The fields dusk.ko has proxies for (its struct file_operations pool). */
static const char *const dusk_fops_proxied[] = {
	"llseek", "read", "write", "poll", "unlocked_ioctl", "compat_ioctl",
	"open", "flush", "release", "fasync",
};

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

static int dusk_fops_is_proxied(const char *field)
{
	size_t i;

	for (i = 0; i < DUSK_ARRAY_SIZE(dusk_fops_proxied); i++)
		if (!strcmp(field, dusk_fops_proxied[i]))
			return 1;
	return 0;
}

/* The INVOKE of a user slot (hook.h, dusk_callback_fn). */
static uint64_t dusk_fop_tramp(void *priv, const uint64_t *args)
{
	const struct dusk_fop_cb *cb = priv, *prev;
	struct dusk_ctx_saved saved;
	char ebuf[64], when[160];
	uint64_t ret;
	int err;

	/* Another invocation asleep or waiting may have changed user
	 * objects with kernel copies: that goes to the kernel before the
	 * refresh reads the copies back. */
	if (dusk_inv_busy() > 1)
		dusk_kcopy_sync(0);
	/* A new invocation: the kernel may have changed shared objects. */
	err = dusk_kcopy_refresh_all();
	if (err)
		dusk_mod_fatal(1, "refreshing user objects shared with the kernel: %s",
			       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	if (cb->user == DUSK_FOP_USER_BUF)
		dusk_inv_user_set(args[1], args[2]);
	else if (cb->user == DUSK_FOP_USER_ARG)
		dusk_inv_user_set(args[2], DUSK_FOPS_IOCTL_WINDOW);
	dusk_ctx_enter(DUSK_CTX_TASK, (int)dusk_mod_cpu(), &saved);
	prev = dusk_fop_running;
	dusk_fop_running = cb;
	dusk_lockup_enter();
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
	err = dusk_kcopy_sync(0);
	if (err)
		dusk_mod_fatal(1, "sending user objects shared with the kernel: %s",
			       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	snprintf(when, sizeof(when), "at the end of %s", cb->what);
	dusk_kcopy_check_deferred(when);
	return ret;
}

/* "my_fops", or "the file_operations at 0x..." without a symbol. */
static const char *dusk_fops_name(uintptr_t base, char *buf, size_t len)
{
	const struct dusk_msym *sym = dusk_image_object(base);

	if (sym && sym->addr == base)
		snprintf(buf, len, "%s", sym->name);
	else
		snprintf(buf, len, "the file_operations at %p", (void *)base);
	return buf;
}

const struct dusk_mtype *dusk_fops_type(const struct dusk_mtype *type)
{
	return type && !strcmp(type->name, DUSK_FOPS_TYPE) ? type : NULL;
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

uint64_t dusk_fops_proxy(uintptr_t base, const struct dusk_mtype *t,
			 const struct dusk_xlate_ctx *ctx)
{
	struct dusk_session *s = dusk_mod_session();
	char name[96], what[160], fname[128], ebuf[64];
	const struct dusk_kfunc_stub *ks;
	struct dusk_pslot *slots;
	struct dusk_fop_cb *cb;
	uint64_t table, v;
	uint32_t handle, i;
	unsigned int n = 0;
	int err;

	dusk_fops_name(base, name, sizeof(name));
	if (!s)
		dusk_mod_fatal(1, "%s: %s: no session with the target",
			       dusk_xlate_describe(ctx, what, sizeof(what)), name);
	slots = calloc(t->nr_fields ? t->nr_fields : 1, sizeof(*slots));
	if (!slots)
		dusk_mod_fatal(1, "out of memory");
	for (i = 0; i < t->nr_fields; i++) {
		const struct dusk_mfield *f = &t->fields[i];

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
		if (!dusk_fops_is_proxied(f->name)) {
			const struct dusk_msym *fn = dusk_image_func((uintptr_t)v);

			snprintf(fname, sizeof(fname), "%s", fn ? fn->name : "?");
			dusk_mod_fatal(1, "%s of %s (%s): not supported at user level yet (dusk.ko proxies llseek, read, write, poll, unlocked_ioctl, compat_ioctl, open, flush, release and fasync): run this part of the module as its .ko",
				       f->name, name, fname);
		}
		cb = calloc(1, sizeof(*cb));
		if (!cb)
			dusk_mod_fatal(1, "out of memory");
		cb->fn = (uintptr_t)v;
		if (!strcmp(f->name, "read") || !strcmp(f->name, "write"))
			cb->user = DUSK_FOP_USER_BUF;
		else if (strstr(f->name, "ioctl"))
			cb->user = DUSK_FOP_USER_ARG;
		if (!strcmp(f->name, "poll"))
			cb->ret = DUSK_FOP_RET_UINT;
		else if (!strcmp(f->name, "open") || !strcmp(f->name, "release") ||
			 !strcmp(f->name, "flush") || !strcmp(f->name, "fasync"))
			cb->ret = DUSK_FOP_RET_INT;
		snprintf(cb->what, sizeof(cb->what), "%s of %s", f->name, name);
		err = dusk_callback_register(s, dusk_fop_tramp, cb,
					     &slots[n].value);
		if (err)
			dusk_mod_fatal(1, "%s: %s", cb->what,
				       dusk_errno_text(err, ebuf, sizeof(ebuf)));
		slots[n].off = f->off;
		slots[n].kind = DUSK_SLOT_USER;
		n++;
	}
	err = dusk_proxy_register(s, DUSK_PROXY_FOPS, base, 0, slots, n, &table,
				  &handle);
	free(slots);
	if (err)
		dusk_mod_fatal(1, "%s: the kernel's proxy of %s: %s%s",
			       dusk_xlate_describe(ctx, what, sizeof(what)), name,
			       dusk_errno_text(err, ebuf, sizeof(ebuf)),
			       err == -ENOSPC ? " (dusk.ko has no free proxy table)" : "");
	dusk_dbg("%s: proxy table %u at 0x%llx (%u slots)", name, handle,
		 (unsigned long long)table, n);
	dusk_kcopy_add_proxy(base, t->size, t, table);
	return table;
}
