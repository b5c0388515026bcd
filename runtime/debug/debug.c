// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * What dusk-gdb asks of a stopped program (dusk_debug.h), answered by the
 * runtime's own code: the session's state, the address map of the shadow
 * cache, of kernel copies and of placeholders, hooks, the cache's mirror
 * of kernel memory, commit and refresh, symbols. debug_core.c has the
 * results and errors, the anchors, the record of kernel calls and reads
 * of live kernel memory.
 *
 * Everything here runs as an inferior call from gdb, on a stopped
 * program: it keeps its results in buffers of its own, never calls module
 * code, and reports a failure both as errno and as one line in
 * dusk_dbg_error.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "config.h"
#include "debug.h"
#include "hook.h"
#include "kernel.h"
#include "log.h"
#include "modrt.h"
#include "packet.h"
#include "session.h"
#include "shadow.h"
#include "util.h"

/* ---- status ---- */

/* The embedded target's state directory whose endpoint is s's target. */
static int dbg_state_dir(const struct dusk_session *s, char *buf, size_t len)
{
	char root[4096 - 512], dir[4096], ep[256];
	const char *name = getenv("DUSK_TARGET_NAME");
	struct dirent *d;
	DIR *dp;
	int found = 0;

	if (dusk_config_state_root(root, sizeof(root)))
		return -ENOENT;
	/* The one the program was pointed at first, then any other. */
	snprintf(dir, sizeof(dir), "%s/%s", root, name && *name ? name : "default");
	if (!dusk_config_endpoint(dir, ep, sizeof(ep)) && !strcmp(ep, s->cfg.target)) {
		snprintf(buf, len, "%s", dir);
		return 0;
	}
	dp = opendir(root);
	if (!dp)
		return -ENOENT;
	while (!found && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", root, d->d_name);
		if (!dusk_config_endpoint(dir, ep, sizeof(ep)) &&
		    !strcmp(ep, s->cfg.target)) {
			snprintf(buf, len, "%s", dir);
			found = 1;
		}
	}
	closedir(dp);
	return found ? 0 : -ENOENT;
}

struct dbg_pages {
	uint64_t pages, dirty;
};

static void dbg_count_page(const struct dusk_shadow_entry *e, int current,
			   void *arg)
{
	struct dbg_pages *p = arg;
	unsigned int l;

	if (!current)
		return;
	p->pages++;
	if (!e->dirty)
		return;
	for (l = 0; l < DUSK_LINES_PER_PAGE; l++) {
		if ((e->valid & (1ULL << l)) &&
		    memcmp(e->user + (l << DUSK_LINE_SHIFT),
			   e->pristine + (l << DUSK_LINE_SHIFT), DUSK_LINE_SIZE)) {
			p->dirty++;
			return;
		}
	}
}

static void dbg_count_copy(const struct dusk_kcopy_info *c, void *arg)
{
	(*(uint64_t *)arg)++;
}

DUSK_EXPORT const char *dusk_dbg_status(void)
{
	struct dusk_session *s;
	struct dusk_hooks_info hi;
	struct dusk_inv_info inv;
	struct dbg_pages pages = { 0 };
	struct dusk_stats st;
	uint64_t copies = 0, ulo, ulen;
	char dir[4096];
	uint32_t len = 0;
	int err;

	dusk_dbg_enter();
	s = dusk_dbg_session();
	if (!s)
		return NULL;
	dusk_mod_session();	/* the module runtime's view, up to date */
	dusk_hooks_info(s, &hi);
	dusk_invocation_info(&inv);
	dusk_shadow_foreach(s->shadow, dbg_count_page, &pages);
	dusk_kcopy_foreach(dbg_count_copy, &copies);

	dusk_dbg_printf("target\t%s\n", s->cfg.target);
	dusk_dbg_printf("release\t%s\n", s->release);
	dusk_dbg_printf("session\t%08x\n", s->id);
	dusk_dbg_printf("policy\t%s\n", s->cfg.policy == DUSK_POLICY_DROP ? "drop" :
		   "accept");
	dusk_dbg_printf("hold_ms\t%u\n", s->cfg.hold_ms);
	dusk_dbg_printf("hold_max\t%u\n", s->cfg.hold_max);
	dusk_dbg_printf("heartbeat_ms\t%u\n", s->cfg.heartbeat_ms);
	dusk_dbg_printf("hooks\t%u\n", hi.registered);
	dusk_dbg_printf("inflight\t%u\n", hi.queued + hi.running);
	dusk_dbg_printf("invocation\t%llu\n", (unsigned long long)inv.packet);
	dusk_dbg_printf("invocation_ms\t%llu\n", (unsigned long long)inv.age_ms);
	dusk_dbg_printf("invocation_cpu\t%u\n", inv.cpu);
	dusk_dbg_printf("invocation_kind\t%s\n", !inv.packet ? "-" :
			inv.kind == DUSK_INV_CALLBACK ? "callback" : "hook");
	dusk_dbg_printf("invocation_pid\t%u\n", inv.pid);
	dusk_dbg_printf("invocation_tgid\t%u\n", inv.tgid);
	dusk_dbg_printf("invocation_task\t0x%llx\n", (unsigned long long)inv.task);
	if (!dusk_inv_user_range(&ulo, &ulen))
		dusk_dbg_printf("invocation_user\t0x%llx\t%llu\n",
				(unsigned long long)ulo, (unsigned long long)ulen);
	dusk_dbg_printf("invocation_comm\t%s\n", inv.comm[0] ? inv.comm : "-");
	dusk_dbg_printf("invocation_signal\t%s\n", inv.signalled == 2 ? "killed" :
			inv.signalled ? "pending" : "-");
	dusk_dbg_printf("late\t%d\n", dusk_packet_late(s, &inv));

	/* The kernel's side: a PING answers with dusk.ko's counters. */
	memset(&st, 0, sizeof(st));
	err = dusk_request(s, DUSK_MSG_PING, NULL, 0, &st, sizeof(st), &len);
	if (!err && len < sizeof(st))
		err = -EPROTO;
	if (err) {
		dusk_dbg_printf("kernel\t%s\n", strerror(-err));
	} else {
		dusk_dbg_printf("kernel\tok\n");
		dusk_dbg_printf("queued\t%llu\n", (unsigned long long)le64toh(st.queued));
		dusk_dbg_printf("released\t%llu\n",
			   (unsigned long long)le64toh(st.released));
		dusk_dbg_printf("verdicts\t%llu\n",
			   (unsigned long long)le64toh(st.verdicts));
		dusk_dbg_printf("retransmits\t%llu\n",
			   (unsigned long long)le64toh(st.retransmits));
		dusk_dbg_printf("allocs\t%llu\n", (unsigned long long)le64toh(st.allocs));
		dusk_dbg_printf("open_files\t%llu\n",
				(unsigned long long)le64toh(st.open_files));
	}
	dusk_dbg_printf("depth\t%d\n", dusk_module_depth());
	dusk_dbg_printf("generation\t%llu\n", (unsigned long long)s->shadow->tab->gen);
	dusk_dbg_printf("pages\t%llu\n", (unsigned long long)pages.pages);
	dusk_dbg_printf("dirty\t%llu\n", (unsigned long long)pages.dirty);
	dusk_dbg_printf("copies\t%llu\n", (unsigned long long)copies);
	dusk_dbg_printf("kcalls\t%llu\n", (unsigned long long)dusk_dbg_kcall_count());
	dusk_dbg_printf("invocations\t%llu\n", (unsigned long long)hi.hooks);
	dusk_dbg_printf("callbacks\t%u\n", hi.callbacks);
	dusk_dbg_printf("invokes\t%llu\n", (unsigned long long)hi.invokes);
	dusk_dbg_printf("skipped\t%llu\n", (unsigned long long)hi.late);
	dusk_dbg_printf("stale\t%llu\n", (unsigned long long)hi.stale);
	dusk_dbg_printf("watchdog\t%d\n", s->wd.pid);
	dusk_dbg_printf("state_dir\t%s\n", dbg_state_dir(s, dir, sizeof(dir)) ? "-" : dir);
	return dusk_dbg_text();
}

/* ---- the map ---- */

enum { DBG_CLEAN, DBG_DIRTY, DBG_STALE, DBG_NONE };
static const char *const dbg_state_names[] = { "clean", "dirty", "stale", "-" };

struct dbg_range {
	uint64_t k;
	uintptr_t u;
	uint64_t size;
	int state;
	char type[48];
	char owner[112];
};

struct dbg_ranges {
	struct dbg_range *v;
	size_t n, cap;
	int oom;
	int merge;		/* merge with the last one when contiguous */
};

static void dbg_range_add(struct dbg_ranges *r, uint64_t k, uintptr_t u,
			  uint64_t size, int state, const char *type,
			  const char *owner)
{
	struct dbg_range *last = r->n ? &r->v[r->n - 1] : NULL;

	if (r->oom || !size)
		return;
	if (r->merge && last && last->k + last->size == k &&
	    last->u + last->size == u && last->state == state &&
	    !strcmp(last->owner, owner) && !strcmp(last->type, type)) {
		last->size += size;
		return;
	}
	if (DUSK_GROW(r->v, r->cap, r->n, 64)) {
		r->oom = 1;
		return;
	}
	last = &r->v[r->n++];
	last->k = k;
	last->u = u;
	last->size = size;
	last->state = state;
	snprintf(last->type, sizeof(last->type), "%s", type);
	snprintf(last->owner, sizeof(last->owner), "%s", owner);
}

struct dbg_pagelist {
	const struct dusk_shadow_entry **v;
	size_t n, cap;
	int current;
	int oom;
};

static void dbg_collect_page(const struct dusk_shadow_entry *e, int current,
			     void *arg)
{
	struct dbg_pagelist *l = arg;

	if (current != l->current || l->oom)
		return;
	if (DUSK_GROW(l->v, l->cap, l->n, 256)) {
		l->oom = 1;
		return;
	}
	l->v[l->n++] = e;
}

static int dbg_cmp_page(const void *a, const void *b)
{
	uint64_t x = (*(const struct dusk_shadow_entry *const *)a)->kpn;
	uint64_t y = (*(const struct dusk_shadow_entry *const *)b)->kpn;

	return x < y ? -1 : x > y;
}

/* Add [k, k + size) (mirrored at u) cut at the objects' boundaries, each
 * piece typed by the object it is in. */
static void dbg_add_cut(struct dbg_ranges *r, uint64_t k, uintptr_t u,
			uint64_t size, int state, const struct dusk_pkt_obj *objs,
			unsigned int nr_objs)
{
	uint64_t end = k + size, cut, a;
	const char *type;
	unsigned int i;

	for (a = k; a < end; a = cut) {
		cut = end;
		type = "-";
		for (i = 0; i < nr_objs; i++) {
			uint64_t o0 = objs[i].k, o1 = objs[i].k + objs[i].size;

			if (a >= o0 && a < o1) {
				if (!strcmp(type, "-"))
					type = objs[i].type;
				cut = DUSK_MIN(cut, o1);
			} else if (o0 > a && o0 < cut) {
				cut = o0;
			}
		}
		r->merge = 1;
		dbg_range_add(r, a, u + (a - k), cut - a, state, type, "fetched");
	}
}

static void dbg_map_cache(struct dusk_session *s, struct dbg_ranges *r,
			  const struct dusk_pkt_obj *objs, unsigned int nr_objs)
{
	struct dbg_pagelist cur = { .current = 1 }, old = { .current = 0 };
	size_t i;
	unsigned int l;

	dusk_shadow_foreach(s->shadow, dbg_collect_page, &cur);
	dusk_shadow_foreach(s->shadow, dbg_collect_page, &old);
	if (cur.oom || old.oom)
		r->oom = 1;
	qsort(cur.v, cur.n, sizeof(*cur.v), dbg_cmp_page);
	qsort(old.v, old.n, sizeof(*old.v), dbg_cmp_page);

	/* This generation: runs of valid lines, dirty where they differ. */
	for (i = 0; i < cur.n; i++) {
		const struct dusk_shadow_entry *e = cur.v[i];
		uint64_t base = e->kpn << DUSK_PAGE_SHIFT;

		for (l = 0; l < DUSK_LINES_PER_PAGE; l++) {
			size_t off = (size_t)l << DUSK_LINE_SHIFT;
			int state;

			if (!(e->valid & (1ULL << l)))
				continue;
			state = e->dirty && memcmp(e->user + off, e->pristine + off,
						   DUSK_LINE_SIZE) ?
				DBG_DIRTY : DBG_CLEAN;
			dbg_add_cut(r, base + off, (uintptr_t)(e->user + off),
				    DUSK_LINE_SIZE, state, objs, nr_objs);
		}
	}
	/* Older generations: whole pages, stale. */
	for (i = 0; i < old.n; i++) {
		const struct dusk_shadow_entry *e = old.v[i];

		r->merge = 1;
		dbg_range_add(r, e->kpn << DUSK_PAGE_SHIFT, (uintptr_t)e->user,
			      DUSK_PAGE_SIZE, DBG_STALE, "-", "fetched");
	}
	free(cur.v);
	free(old.v);
}

static void dbg_map_copy(const struct dusk_kcopy_info *c, void *arg)
{
	struct dbg_ranges *r = arg;
	char owner[112], t[64];

	r->merge = 0;
	dbg_range_add(r, c->kaddr, c->user, c->size,
		      c->changed ? DBG_DIRTY : DBG_CLEAN,
		      dusk_dbg_ctype(c->type, t, sizeof(t)),
		      dusk_dbg_owner("copy", c->user, c->name, owner, sizeof(owner)));
}

static void dbg_map_kvar(const struct dusk_kvar *kv, uint64_t kaddr, void *arg)
{
	struct dbg_ranges *r = arg;
	char owner[112];

	if (dusk_kvar_is_this_module(kv))
		return;		/* never reaches the kernel */
	r->merge = 0;
	snprintf(owner, sizeof(owner), "placeholder:%s", kv->name);
	dbg_range_add(r, kaddr, (uintptr_t)kv->placeholder, kv->size,
		      kaddr ? DBG_NONE : DBG_STALE, "-", owner);
}

static int dbg_cmp_range(const void *a, const void *b)
{
	const struct dbg_range *x = a, *y = b;
	uint64_t kx = x->k ? x->k : UINT64_MAX, ky = y->k ? y->k : UINT64_MAX;

	if (kx != ky)
		return kx < ky ? -1 : 1;
	return x->u < y->u ? -1 : x->u > y->u;
}

DUSK_EXPORT const char *dusk_dbg_map(void)
{
	struct dusk_pkt_obj objs[DUSK_PKT_OBJS];
	struct dbg_ranges r = { 0 };
	struct dusk_inv_info inv;
	struct dusk_session *s;
	unsigned int nr_objs;
	size_t i;

	dusk_dbg_enter();
	s = dusk_dbg_session();
	if (!s)
		return NULL;
	dusk_mod_session();
	nr_objs = dusk_packet_objects(s, objs, &inv);
	dbg_map_cache(s, &r, objs, nr_objs);
	dusk_kcopy_foreach(dbg_map_copy, &r);
	dusk_kvar_foreach(dbg_map_kvar, &r);
	if (r.oom) {
		free(r.v);
		dusk_dbg_fail(-ENOMEM, "out of memory in the program");
		return NULL;
	}
	qsort(r.v, r.n, sizeof(*r.v), dbg_cmp_range);
	for (i = 0; i < r.n; i++)
		dusk_dbg_printf("0x%016llx\t0x%llx\t%llu\t%s\t%s\t%s\n",
			   (unsigned long long)r.v[i].k,
			   (unsigned long long)r.v[i].u,
			   (unsigned long long)r.v[i].size, r.v[i].type,
			   dbg_state_names[r.v[i].state], r.v[i].owner);
	free(r.v);
	return dusk_dbg_text();
}

/* ---- hooks ---- */

static void dbg_hook_line(const struct dusk_nf_info *h, void *arg)
{
	const struct dusk_msym *sym = dusk_image_func((uintptr_t)h->fn);

	if (sym)
		dusk_dbg_printf("%u\t%s\t%p\t%d\t%u\t%d\n", h->handle, sym->name,
			   h->fn, h->pf, h->hooknum, h->priority);
	else
		dusk_dbg_printf("%u\t-\t%p\t%d\t%u\t%d\n", h->handle, h->fn, h->pf,
			   h->hooknum, h->priority);
}

DUSK_EXPORT const char *dusk_dbg_hooks(void)
{
	dusk_dbg_enter();
	if (!dusk_dbg_session())
		return NULL;
	dusk_mod_session();
	dusk_nf_foreach(dbg_hook_line, NULL);
	return dusk_dbg_text();
}

/* ---- invocations and callbacks ---- */

struct dbg_invs {
	uint64_t mine;			/* the one this thread serves */
	enum dusk_inv_kind mine_kind;
};

static void dbg_inv_line(const struct dusk_inv_info *inv, void *arg)
{
	const struct dbg_invs *d = arg;

	dusk_dbg_printf("%llu\t%s\t%u\t%u\t%s\t%u\t%llu\t%s\t%d\t%s\t%d\n",
			(unsigned long long)inv->packet,
			inv->kind == DUSK_INV_CALLBACK ? "callback" : "hook",
			inv->pid, inv->tgid, inv->comm[0] ? inv->comm : "-",
			inv->cpu, (unsigned long long)inv->age_ms,
			inv->signalled == 2 ? "killed" :
			inv->signalled ? "pending" : "-", inv->tid,
			inv->running ? "running" : "queued",
			inv->packet == d->mine && inv->kind == d->mine_kind);
}

DUSK_EXPORT const char *dusk_dbg_invocations(void)
{
	struct dusk_inv_info cur;
	struct dbg_invs d = { 0 };
	struct dusk_session *s;

	dusk_dbg_enter();
	s = dusk_dbg_session();
	if (!s)
		return NULL;
	dusk_mod_session();
	if (!dusk_invocation_info(&cur)) {
		d.mine = cur.packet;
		d.mine_kind = cur.kind;
	}
	dusk_inv_foreach(s, dbg_inv_line, &d);
	return dusk_dbg_text();
}

static void dbg_callback_line(uintptr_t fn, const char *what, void *arg)
{
	const struct dusk_msym *sym = dusk_image_func(fn);

	(void)arg;
	dusk_dbg_printf("%p\t%s\t%s\n", (void *)fn,
			sym && sym->addr == fn ? sym->name : "-", what);
}

DUSK_EXPORT const char *dusk_dbg_callbacks(void)
{
	dusk_dbg_enter();
	if (!dusk_dbg_session())
		return NULL;
	dusk_mod_session();
	dusk_fops_foreach(dbg_callback_line, NULL);
	dusk_defer_foreach_fn(dbg_callback_line, NULL);
	return dusk_dbg_text();
}

/* ---- timers and work ---- */

static const char *dbg_fn_name(uintptr_t fn)
{
	const struct dusk_msym *sym = fn ? dusk_image_func(fn) : NULL;

	return sym && sym->addr == fn ? sym->name : "-";
}

static void dbg_alarm_line(const struct dusk_alarm *a, void *arg)
{
	static const char *const kinds[] = {
		[DUSK_ALARM_TIMER] = "timer",
		[DUSK_ALARM_HRTIMER] = "hrtimer",
		[DUSK_ALARM_DWORK] = "dwork",
	};
	uint64_t now = *(const uint64_t *)arg;
	int64_t in_ns = (int64_t)(a->due_ns - now);

	dusk_dbg_printf("%s\t%#llx\t%s\t%#llx\t%llu\t%lld\t%s\t%llu\n",
			kinds[a->kind], (unsigned long long)a->fn,
			dbg_fn_name(a->fn), (unsigned long long)(uintptr_t)a->obj, (unsigned long long)a->expires,
			a->armed ? (long long)(in_ns / 1000000) : 0LL,
			a->running ? "running" : "armed",
			(unsigned long long)a->fired);
}

static void dbg_work_line(const struct dusk_work_info *w, void *arg)
{
	(void)arg;
	dusk_dbg_printf("work\t%#llx\t%s\t%#llx\t%s\t0\t%s\t%llu\n",
			(unsigned long long)w->fn, dbg_fn_name(w->fn),
			(unsigned long long)(uintptr_t)w->work,
			w->wq[0] ? w->wq : "-",
			w->running ? "running" : w->delayed ? "delayed" : "queued",
			(unsigned long long)w->runs);
}

/* Lines: kind, fn, its name, the module's struct, expiry (jiffies, or ns
 * of an hrtimer's clock; a work's workqueue), ms until due, state, runs. */
DUSK_EXPORT const char *dusk_dbg_deferred(void)
{
	struct timespec ts;
	uint64_t now;

	dusk_dbg_enter();
	if (!dusk_dbg_session())
		return NULL;
	dusk_mod_session();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (dusk_alarm_foreach(dbg_alarm_line, &now) ||
	    dusk_work_foreach(dbg_work_line, NULL)) {
		dusk_dbg_fail(-EBUSY, "a thread stopped while it changed the timers or work: continue a little and ask again");
		return NULL;
	}
	return dusk_dbg_text();
}

/* The caller's bytes (dusk_dbg_uread()), until the next call. */
static struct {
	uint8_t *buf;
	size_t cap;
} dbg_ur;

DUSK_EXPORT void *dusk_dbg_uread(uint64_t uaddr, size_t len)
{
	uint64_t off = 0, n, max;
	char ebuf[64];
	int64_t ret;
	uint8_t *p;
	int err;

	dusk_dbg_enter();
	if (!dusk_dbg_session())
		return NULL;
	dusk_mod_session();
	if (!len || len > DUSK_DBG_UREAD_MAX) {
		dusk_dbg_fail(-EINVAL, "length must be 1..%u", DUSK_DBG_UREAD_MAX);
		return NULL;
	}
	if (len > dbg_ur.cap) {
		p = realloc(dbg_ur.buf, len);
		if (!p) {
			dusk_dbg_fail(-ENOMEM, "out of memory in the program");
			return NULL;
		}
		dbg_ur.buf = p;
		dbg_ur.cap = len;
	}
	max = dusk_uaccess_max();
	while (off < len) {
		n = DUSK_MIN(len - off, max);
		err = dusk_uaccess(DUSK_UA_FROM, uaddr + off, n, NULL,
				   dbg_ur.buf + off, &ret, NULL);
		if (err == -ENOTCONN) {
			dusk_dbg_fail(err, "this thread serves no callback: no caller's memory to read (select the thread of a callback invocation)");
			return NULL;
		}
		if (err) {
			dusk_dbg_fail(err, "reading the caller's memory at 0x%llx: %s",
				      (unsigned long long)(uaddr + off),
				      dusk_errno_text(err, ebuf, sizeof(ebuf)));
			return NULL;
		}
		if (ret) {
			if (ret > 0 && (uint64_t)ret <= n)
				off += n - (uint64_t)ret;
			dusk_dbg_fail(-EFAULT, "the caller's memory at 0x%llx is not readable (%llu of %zu bytes were)",
				      (unsigned long long)uaddr,
				      (unsigned long long)off, len);
			return NULL;
		}
		off += n;
	}
	return dbg_ur.buf;
}

/* ---- memory ---- */

/* Is p, what dusk_shadow() gave for [kaddr, kaddr + len), where module
 * code will find those bytes for the rest of the session? (Else fail.) */
static int dbg_fixed(struct dusk_session *s, uint64_t kaddr, size_t len,
		     const void *p)
{
	const char *why;

	if (kaddr < DUSK_KERNEL_MIN)
		kaddr = dusk_shadow_kaddr(s->shadow, (const void *)(uintptr_t)kaddr);
	if (!kaddr)
		return 1;	/* a user address: the program's own */
	if (dusk_shadow_kaddr(s->shadow, p)) {
		why = dusk_shadow_moves(s->shadow, kaddr);
		if (!why)
			return 1;
	} else if (dusk_shadow_user_of && dusk_shadow_user_of(kaddr, len) == p) {
		return 1;	/* a kernel copy: the user object stays */
	} else {
		why = "it is a late packet's, whose bytes are a frozen copy the invocation drops";
	}
	dusk_dbg_fail(-EADDRNOTAVAIL, "kernel 0x%llx cannot be watched: %s",
		      (unsigned long long)kaddr, why);
	return 0;
}

DUSK_EXPORT void *dusk_dbg_shadow(uint64_t kaddr, size_t len,
				  unsigned int flags)
{
	struct dusk_session *s;
	void *p;

	dusk_dbg_enter();
	s = dusk_dbg_session();
	if (!s)
		return NULL;
	dusk_mod_session();
	p = dusk_shadow(s, kaddr, len, flags & DUSK_DBG_WRITE);
	if (!p)
		dusk_dbg_fail(-errno, "cannot read kernel memory 0x%llx (%zu bytes) into the cache: %s",
			      (unsigned long long)kaddr, len, strerror(errno));
	else if (flags & DUSK_DBG_FIXED && !dbg_fixed(s, kaddr, len, p))
		p = NULL;
	return p;
}

DUSK_EXPORT uint64_t dusk_dbg_kaddr(uint64_t user)
{
	const struct dusk_kvar *kv;
	uint64_t k, off;

	dusk_dbg_enter();
	if (user >= DUSK_KERNEL_MIN)
		return user;
	k = dusk_kaddr((const void *)(uintptr_t)user);
	if (!k)
		k = dusk_kcopy_kaddr_of((uintptr_t)user);
	if (!k && (kv = dusk_kvar_of((uintptr_t)user, &off)) &&
	    !dusk_kvar_is_this_module(kv) && !dusk_kvar_kaddr(kv, &k))
		k += off;
	if (!k)
		dusk_dbg_fail(-ENOENT, "0x%llx stands for no kernel address",
			 (unsigned long long)user);
	return k;
}

/* Do segs touch an object of the packet? */
static const struct dusk_pkt_obj *dbg_segs_packet(const struct dusk_segs *segs,
					     const struct dusk_pkt_obj *objs,
					     unsigned int n)
{
	size_t i;
	unsigned int j;

	for (i = 0; i < segs->n; i++)
		for (j = 0; j < n; j++)
			if (objs[j].packet &&
			    segs->v[i].kaddr < objs[j].k + objs[j].size &&
			    objs[j].k < segs->v[i].kaddr + segs->v[i].len)
				return &objs[j];
	return NULL;
}

DUSK_EXPORT int dusk_dbg_commit(uint64_t kaddr, size_t len)
{
	struct dusk_pkt_obj objs[DUSK_PKT_OBJS];
	const struct dusk_pkt_obj *o;
	struct dusk_inv_info inv;
	struct dusk_session *s;
	struct dusk_segs segs;
	uint64_t lo = 0, hi = UINT64_MAX;
	unsigned int n;
	size_t i;
	int err;

	dusk_dbg_enter();
	s = dusk_dbg_session();
	if (!s)
		return -ENOTCONN;
	dusk_mod_session();
	if (len && kaddr < DUSK_KERNEL_MIN) {
		if (!dusk_kcopy_kaddr_of((uintptr_t)kaddr)) {
			dusk_dbg_fail(-EINVAL, "0x%llx is user memory with no kernel copy: nothing to commit",
				 (unsigned long long)kaddr);
			return -EINVAL;
		}
		len = 0;	/* a user object's copy: sync the copies */
	}
	if (len) {
		lo = kaddr;
		hi = kaddr + len < kaddr ? UINT64_MAX : kaddr + len;
	}
	n = dusk_packet_objects(s, objs, &inv);
	dusk_segs_init(&segs);
	err = dusk_shadow_diff_range(s->shadow, lo, hi, &segs);
	if (!err && dusk_packet_late(s, &inv) && (o = dbg_segs_packet(&segs, objs, n))) {
		dusk_segs_deinit(&segs);
		dusk_dbg_fail(-ESTALE, "packet %llu has waited %llu ms (hold_ms %u): the kernel may have released it by policy, so its %s may be gone; not committed",
			 (unsigned long long)inv.packet,
			 (unsigned long long)inv.age_ms, s->cfg.hold_ms, o->type);
		return -ESTALE;
	}
	if (!err && !len) {
		/* User objects' changes to their kernel copies first: that
		 * commits (and refreshes) the cache itself if any. */
		dusk_segs_deinit(&segs);
		err = dusk_kcopy_sync(0);
		if (!err)
			err = dusk_shadow_diff_range(s->shadow, lo, hi, &segs);
	}
	if (!err && segs.n) {
		err = dusk_segs_send(s, &segs);
		if (!err) {
			s->shadow->stats.commits++;
			for (i = 0; i < segs.n; i++)
				s->shadow->stats.committed_bytes += segs.v[i].len;
		}
	}
	if (!err)
		dusk_shadow_diff_done_range(s->shadow, lo, hi);
	dusk_segs_deinit(&segs);
	if (err)
		dusk_dbg_fail(err, "commit failed: %s", strerror(-err));
	return err;
}

DUSK_EXPORT int dusk_dbg_refresh(uint64_t kaddr, size_t len)
{
	struct dusk_session *s;
	int err = 0;

	dusk_dbg_enter();
	s = dusk_dbg_session();
	if (!s)
		return -ENOTCONN;
	dusk_mod_session();
	if (len && kaddr >= DUSK_KERNEL_MIN) {
		dusk_shadow_forget(s->shadow, kaddr, len);
		return 0;
	}
	if (len && !dusk_kcopy_kaddr_of((uintptr_t)kaddr)) {
		dusk_dbg_fail(-EINVAL, "0x%llx is user memory with no kernel copy: nothing to refresh",
			 (unsigned long long)kaddr);
		return -EINVAL;
	}
	err = dusk_kcopy_refresh_all();
	if (!len)
		dusk_refresh(s);
	if (err)
		dusk_dbg_fail(err, "reading user objects back from their kernel copies: %s",
			 strerror(-err));
	return err;
}

DUSK_EXPORT uint64_t dusk_dbg_ksym(const char *name)
{
	struct dusk_session *s;
	uint64_t addr = 0;
	int err;

	dusk_dbg_enter();
	s = dusk_dbg_session();
	if (!s)
		return 0;
	if (!name || !*name) {
		dusk_dbg_fail(-EINVAL, "no symbol name given");
		return 0;
	}
	err = dusk_ksym(s, name, &addr, NULL);
	if (err) {
		if (err == -ENOENT)
			dusk_dbg_fail(err, "the target kernel has no symbol %s", name);
		else
			dusk_dbg_fail(err, "looking up %s: %s", name, strerror(-err));
		return 0;
	}
	return addr;
}
