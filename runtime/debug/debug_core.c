// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * dusk_debug.h, the first half: results and errors of the dusk_dbg_*
 * functions, the breakpoint anchors, the record of kernel calls (an
 * observer of the core, attached when the program starts) and reads of
 * live kernel memory. debug.c has the half that shows the module runtime.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "debug.h"
#include "log.h"
#include "modrt.h"
#include "observe.h"
#include "session.h"
#include "shadow_fast.h"
#include "util.h"

#define DUSK_DBG_KREAD_MAX	(1U << 20)	/* one dusk_dbg_kread */
#define DUSK_DBG_KREAD_TOTAL	(8U << 20)	/* all of them at once */

DUSK_EXPORT char dusk_dbg_error[DUSK_DBG_ERROR_LEN];
DUSK_EXPORT char dusk_dbg_arg[DUSK_DBG_ARG_LEN];

/* ---- anchors ---- */

/* Empty, but with a side effect the compiler must keep: a call to them is
 * never optimised away, and they are never inlined. */
DUSK_EXPORT __attribute__((noinline, noclone)) void
dusk_dbg_kcall_anchor(const struct dusk_dbg_kcall *call)
{
	__asm__ volatile("" : : "r"(call) : "memory");
}

DUSK_EXPORT __attribute__((noinline, noclone)) void
dusk_dbg_hook_anchor(void *fn)
{
	__asm__ volatile("" : : "r"(fn) : "memory");
}

DUSK_EXPORT __attribute__((noinline, noclone)) void
dusk_dbg_callback_anchor(void *fn, const char *what)
{
	__asm__ volatile("" : : "r"(fn), "r"(what) : "memory");
}

/* ---- results and errors ---- */

static struct {
	char *buf;
	size_t len, cap;
	int oom;
} dbg_text;

static struct {
	void **blocks;
	size_t nr, cap, total;
} dbg_kr;

static void dbg_kread_reset(void)
{
	size_t i;

	for (i = 0; i < dbg_kr.nr; i++)
		free(dbg_kr.blocks[i]);
	dbg_kr.nr = 0;
	dbg_kr.total = 0;
}

/* The start of every dusk_dbg_* call but dusk_dbg_kread. */
void dusk_dbg_enter(void)
{
	dbg_kread_reset();
	dbg_text.len = 0;
	dbg_text.oom = 0;
	if (dbg_text.buf)
		dbg_text.buf[0] = '\0';
	dusk_dbg_error[0] = '\0';
}

void dusk_dbg_printf(const char *fmt, ...)
{
	va_list ap;
	size_t room;
	char *buf;
	int n;

	if (dbg_text.oom)
		return;
	for (;;) {
		room = dbg_text.cap - dbg_text.len;
		va_start(ap, fmt);
		n = vsnprintf(dbg_text.buf ? dbg_text.buf + dbg_text.len : NULL,
			      room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			dbg_text.oom = 1;
			return;
		}
		if ((size_t)n < room) {
			dbg_text.len += (size_t)n;
			return;
		}
		buf = realloc(dbg_text.buf, DUSK_MAX(2 * dbg_text.cap,
						     dbg_text.len + n + 4096));
		if (!buf) {
			dbg_text.oom = 1;
			return;
		}
		dbg_text.cap = DUSK_MAX(2 * dbg_text.cap, dbg_text.len + n + 4096);
		dbg_text.buf = buf;
	}
}

/* errno and dusk_dbg_error for a failure err (-errno). */
void dusk_dbg_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dusk_dbg_error, sizeof(dusk_dbg_error), fmt, ap);
	va_end(ap);
	errno = -err;
}

const char *dusk_dbg_text(void)
{
	if (!dbg_text.buf && !dbg_text.oom)
		dusk_dbg_printf("%s", "");
	if (dbg_text.oom) {
		dusk_dbg_fail(-ENOMEM, "out of memory in the program");
		return NULL;
	}
	return dbg_text.buf;
}

struct dusk_session *dusk_dbg_session(void)
{
	struct dusk_session *s = dusk_session_current();

	if (!s)
		dusk_dbg_fail(-ENOTCONN, "the program has no session with a target (not connected yet, or closed)");
	return s;
}

static uint64_t dbg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* "struct sk_buff" for the type record name "struct_sk_buff". */
const char *dusk_dbg_ctype(const char *rec, char *buf, size_t len)
{
	static const char *const tags[] = { "struct_", "union_", "enum_" };
	size_t i, n;

	if (!rec || !*rec)
		return "-";
	for (i = 0; i < DUSK_ARRAY_SIZE(tags); i++) {
		n = strlen(tags[i]);
		if (!strncmp(rec, tags[i], n)) {
			snprintf(buf, len, "%.*s %s", (int)n - 1, tags[i], rec + n);
			return buf;
		}
	}
	snprintf(buf, len, "%s", rec);
	return buf;
}

/* A user address as an owner: "copy:SYMBOL[+0xOFF]" or "copy:0xADDR". */
const char *dusk_dbg_owner(const char *kind, uintptr_t user,
			     const char *name, char *buf, size_t len)
{
	const struct dusk_msym *sym;

	if (name) {
		snprintf(buf, len, "%s:%s", kind, name);
		return buf;
	}
	sym = dusk_image_object(user);
	if (sym && sym->addr == user)
		snprintf(buf, len, "%s:%s", kind, sym->name);
	else if (sym)
		snprintf(buf, len, "%s:%s+0x%lx", kind, sym->name,
			 (unsigned long)(user - sym->addr));
	else
		snprintf(buf, len, "%s:0x%lx", kind, (unsigned long)user);
	return buf;
}

/* ---- kernel calls ---- */

static struct dusk_dbg_kcall dbg_kcalls[DUSK_DBG_KCALLS];
static uint64_t dbg_kcall_seq;

struct dusk_dbg_kcall *dusk_dbg_kcall_begin(const char *name,
					    const void *kfunc, uint64_t fn,
					    const uint64_t *args,
					    unsigned int nargs)
{
	struct dusk_dbg_kcall *r = &dbg_kcalls[dbg_kcall_seq % DUSK_DBG_KCALLS];
	const struct dusk_kfunc *f = kfunc;
	unsigned int i;
	uintptr_t u;

	memset(r, 0, sizeof(*r));
	r->seq = ++dbg_kcall_seq;
	r->name = name;
	r->kfunc = kfunc;
	r->fn = fn;
	r->nargs = DUSK_MIN(nargs, (unsigned int)DUSK_ARRAY_SIZE(r->args));
	for (i = 0; i < r->nargs; i++) {
		r->args[i] = args[i];
		if (args[i] < DUSK_KERNEL_MIN ||
		    (f && i < f->nargs && f->arg_kind &&
		     f->arg_kind[i] == DUSK_KARG_INT))
			continue;
		/* A kernel copy the runtime made of a user object. */
		u = dusk_xlate_in(args[i]);
		if (u != (uintptr_t)args[i])
			r->orig[i] = u;
	}
	r->status = DUSK_DBG_KCALL_PENDING;
	r->start_ns = dbg_now_ns();
	dusk_dbg_kcall_anchor(r);
	return r;
}

void dusk_dbg_kcall_end(struct dusk_dbg_kcall *rec, int status, uint64_t ret)
{
	if (!rec)
		return;
	rec->status = status;
	rec->ret = status ? 0 : ret;
	rec->usec = (dbg_now_ns() - rec->start_ns) / 1000;
}

static void *dbg_observe_kcall_begin(void *ctx, const char *name,
				     const void *kfunc, uint64_t fn,
				     const uint64_t *args, unsigned int nargs)
{
	(void)ctx;
	return dusk_dbg_kcall_begin(name, kfunc, fn, args, nargs);
}

static void dbg_observe_kcall_end(void *ctx, void *token, int status,
				  uint64_t ret)
{
	(void)ctx;
	dusk_dbg_kcall_end(token, status, ret);
}

static void dbg_observe_callback(void *ctx, void *fn, const char *what)
{
	(void)ctx;
	/* dusk-gdb's "break-hook all" stops here to add a breakpoint. */
	if (what)
		dusk_dbg_callback_anchor(fn, what);
	else
		dusk_dbg_hook_anchor(fn);
}

static void dbg_observe_call(void *ctx, void *fn, const uint64_t *args,
			     unsigned int nargs)
{
	(void)ctx;
	dusk_dbg_cond_check(fn, args, nargs);
}

static const struct dusk_observer dbg_observer = {
	.kcall_begin = dbg_observe_kcall_begin,
	.kcall_end = dbg_observe_kcall_end,
	.callback = dbg_observe_callback,
	.call = dbg_observe_call,
};

/* The debugger's view is there from the program's first kernel call,
 * whoever its main() is: libdusk.a is one object, so this always runs. */
__attribute__((constructor)) static void dbg_observer_attach(void)
{
	dusk_observer_attach(&dbg_observer);
}

static const char *dbg_kind(const struct dusk_marg *a, char *buf, size_t len)
{
	char t[128];

	switch (a->kind) {
	case DUSK_MK_VOID:
		return "void";
	case DUSK_MK_INT:
		return "int";
	case DUSK_MK_PTR:
		snprintf(buf, len, "ptr:%s", dusk_dbg_ctype(a->target, t, sizeof(t)));
		return buf;
	case DUSK_MK_FN:
		return "fn";
	case DUSK_MK_AGG:
		return "agg";
	}
	return "-";
}

static void dbg_kcall_line(const struct dusk_dbg_kcall *r)
{
	const struct dusk_kfunc *f = r->kfunc;
	const struct dusk_mfunc *mf = r->name ?
		dusk_types_func(dusk_mod_types(), r->name) : NULL;
	char buf[160], t[128];
	unsigned int i;

	if (r->name)
		dusk_dbg_printf("%llu\t%s\t", (unsigned long long)r->seq, r->name);
	else
		dusk_dbg_printf("%llu\t0x%llx\t", (unsigned long long)r->seq,
			   (unsigned long long)r->fn);
	for (i = 0; i < r->nargs; i++)
		dusk_dbg_printf("%s0x%llx", i ? "," : "",
			   (unsigned long long)r->args[i]);
	if (!r->nargs)
		dusk_dbg_printf("-");
	if (r->status == DUSK_DBG_KCALL_PENDING)
		dusk_dbg_printf("\t-\tpending\t-\t");
	else
		dusk_dbg_printf("\t0x%llx\t%d\t%llu\t", (unsigned long long)r->ret,
			   r->status, (unsigned long long)r->usec);
	dusk_dbg_printf("%s\t", mf ? dbg_kind(&mf->ret, buf, sizeof(buf)) : "-");
	for (i = 0; i < r->nargs; i++) {
		const char *k = "-";

		if (f && i < f->nargs && f->arg_kind) {
			switch (f->arg_kind[i]) {
			case DUSK_KARG_INT:
				k = "int";
				break;
			case DUSK_KARG_FN:
				k = "fn";
				break;
			default:
				snprintf(buf, sizeof(buf), "ptr:%s",
					 dusk_dbg_ctype(f->arg_type ? f->arg_type[i] :
						   NULL, t, sizeof(t)));
				k = buf;
			}
		} else if (mf && i < mf->nargs) {
			k = dbg_kind(&mf->args[i], buf, sizeof(buf));
		}
		dusk_dbg_printf("%s%s", i ? "," : "", k);
	}
	if (!r->nargs)
		dusk_dbg_printf("-");
	dusk_dbg_printf("\t");
	for (i = 0; i < r->nargs; i++)
		dusk_dbg_printf("%s%s", i ? "," : "",
			   r->orig[i] ? dusk_dbg_owner("copy", r->orig[i], NULL, buf,
						 sizeof(buf)) : "-");
	if (!r->nargs)
		dusk_dbg_printf("-");
	dusk_dbg_printf("\n");
}

DUSK_EXPORT const char *dusk_dbg_kcalls(unsigned int n)
{
	uint64_t first, seq;

	dusk_dbg_enter();
	if (!n || n > DUSK_DBG_KCALLS)
		n = DUSK_DBG_KCALLS;
	first = dbg_kcall_seq > n ? dbg_kcall_seq - n + 1 : 1;
	for (seq = first; seq <= dbg_kcall_seq; seq++)
		dbg_kcall_line(&dbg_kcalls[(seq - 1) % DUSK_DBG_KCALLS]);
	return dusk_dbg_text();
}

uint64_t dusk_dbg_kcall_count(void)
{
	return dbg_kcall_seq;
}

/* ---- kernel memory ---- */

DUSK_EXPORT void *dusk_dbg_kread(uint64_t kaddr, size_t len)
{
	struct dusk_session *s;
	void *buf;
	int err;

	dusk_dbg_error[0] = '\0';
	s = dusk_dbg_session();
	if (!s)
		return NULL;
	if (!len || len > DUSK_DBG_KREAD_MAX ||
	    dbg_kr.total + len > DUSK_DBG_KREAD_TOTAL) {
		dusk_dbg_fail(-EINVAL, "cannot read %zu bytes at once (1 to %u)", len,
			 DUSK_DBG_KREAD_MAX);
		return NULL;
	}
	if (kaddr < DUSK_KERNEL_MIN || kaddr + len < kaddr) {
		dusk_dbg_fail(-EFAULT, "0x%llx is not a kernel address",
			 (unsigned long long)kaddr);
		return NULL;
	}
	if (DUSK_GROW(dbg_kr.blocks, dbg_kr.cap, dbg_kr.nr, 16)) {
		dusk_dbg_fail(-ENOMEM, "out of memory in the program");
		return NULL;
	}
	buf = malloc(len);
	if (!buf) {
		dusk_dbg_fail(-ENOMEM, "out of memory in the program");
		return NULL;
	}
	err = dusk_kread(s, kaddr, buf, len);
	if (err) {
		free(buf);
		dusk_dbg_fail(err, "cannot read kernel memory 0x%llx (%zu bytes): %s",
			 (unsigned long long)kaddr, len, strerror(-err));
		return NULL;
	}
	dbg_kr.blocks[dbg_kr.nr++] = buf;
	dbg_kr.total += len;
	return buf;
}

