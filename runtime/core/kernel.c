// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Kernel memory, calls, symbols, allocations. Every request made here
 * carries the calling thread's invocation (session.c does that).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "observe.h"
#include "kernel.h"
#include "log.h"
#include "plock.h"
#include "session.h"
#include "shadow.h"

static struct dusk_session *dusk_session_or_current(struct dusk_session *s)
{
	return s ? s : dusk_session_current();
}

/* WRITE requests until what remains fits in final_room. */
static int dusk_write_segs(struct dusk_session *s, const struct dusk_segs *segs,
			   struct dusk_segs_cursor *cur, size_t final_room)
{
	uint32_t room = dusk_session_payload_max(s) - sizeof(struct dusk_write);
	struct dusk_write *w;
	struct dusk_req *r;
	uint32_t nr;
	size_t used;
	int err;

	while (dusk_segs_remaining(segs, cur) > final_room) {
		err = dusk_req_create(s, DUSK_MSG_WRITE,
				      dusk_session_payload_max(s), NULL, 0, &r);
		if (err)
			return err;
		w = dusk_req_payload(r);
		used = dusk_segs_pack(segs, cur, w + 1, room, &nr);
		w->nr_segs = htole32(nr);
		w->pad = 0;
		err = dusk_req_submit(s, r, (uint32_t)(sizeof(*w) + used));
		if (!err)
			err = dusk_req_wait(s, r);
		dusk_req_destroy(s, r);
		if (err)
			return err;
	}
	return 0;
}

void (*dusk_commit_guard)(struct dusk_session *s);
int (*dusk_call_guard)(struct dusk_session *s, const char *name,
		       const uint64_t *args, unsigned int nargs);

int dusk_commit_prepare(struct dusk_session *s, struct dusk_segs *segs,
			struct dusk_segs_cursor *cur, size_t final_room)
{
	int err;

	memset(cur, 0, sizeof(*cur));
	if (dusk_commit_guard)
		dusk_commit_guard(s);
	err = dusk_shadow_diff(s->shadow, segs);
	if (err)
		return err;
	if (segs->n) {
		size_t i;

		s->shadow->stats.commits++;
		for (i = 0; i < segs->n; i++)
			s->shadow->stats.committed_bytes += segs->v[i].len;
	}
	return dusk_write_segs(s, segs, cur, final_room);
}

DUSK_EXPORT int dusk_commit(struct dusk_session *s)
{
	struct dusk_segs_cursor cur;
	struct dusk_segs segs;
	int err;

	s = dusk_session_or_current(s);
	if (!s)
		return -ENOTCONN;
	dusk_segs_init(&segs);
	err = dusk_commit_prepare(s, &segs, &cur, 0);
	if (!err)
		dusk_segs_done(s, &segs);
	dusk_segs_deinit(&segs);
	return err;
}

/* What segs sent is in the kernel now; only that: other threads may have
 * changed other bytes while this one waited for the acknowledgement. */
void dusk_segs_done(struct dusk_session *s, const struct dusk_segs *segs)
{
	size_t i;

	for (i = 0; i < segs->n; i++)
		dusk_shadow_diff_done_range(s->shadow, segs->v[i].kaddr,
					    segs->v[i].kaddr + segs->v[i].len);
}

int dusk_commit_settled(struct dusk_session *s)
{
	unsigned int tries = 0;
	uint64_t handoffs;
	int err;

	do {
		handoffs = dusk_plock_handoffs();
		err = dusk_commit(s);
	} while (!err && handoffs != dusk_plock_handoffs() && ++tries < 16);
	return err;
}

DUSK_EXPORT int dusk_kread(struct dusk_session *s, uint64_t kaddr, void *buf,
			   size_t len)
{
	struct dusk_read rd;
	uint32_t chunk, got;
	uint8_t *p = buf;
	int err;

	s = dusk_session_or_current(s);
	if (!s)
		return -ENOTCONN;
	while (len) {
		chunk = (uint32_t)DUSK_MIN(len, (size_t)dusk_session_payload_max(s));
		rd.addr = htole64(kaddr);
		rd.len = htole32(chunk);
		rd.pad = 0;
		err = dusk_request(s, DUSK_MSG_READ, &rd, sizeof(rd), p, chunk,
				   &got);
		if (err)
			return err;
		if (got != chunk)
			return -EPROTO;
		p += chunk;
		kaddr += chunk;
		len -= chunk;
	}
	return 0;
}

DUSK_EXPORT int dusk_kwrite(struct dusk_session *s, uint64_t kaddr,
			    const void *buf, size_t len)
{
	struct dusk_segs_cursor cur = { 0 };
	struct dusk_segs segs;
	const uint8_t *p = buf;
	size_t off, n;
	int err = 0;

	s = dusk_session_or_current(s);
	if (!s)
		return -ENOTCONN;
	if (kaddr + len < kaddr)
		return -EFAULT;
	dusk_segs_init(&segs);
	for (off = 0; off < len && !err; off += n) {
		n = DUSK_MIN(len - off, (size_t)UINT32_MAX & ~7UL);
		err = dusk_segs_add(&segs, kaddr + off, p + off, (uint32_t)n);
	}
	if (!err)
		err = dusk_write_segs(s, &segs, &cur, 0);
	dusk_segs_deinit(&segs);
	/* Whatever of it is cached now shows what the kernel holds. */
	if (!err)
		dusk_shadow_update(s->shadow, kaddr, buf, len);
	return err;
}

static int dusk_kcall_do(struct dusk_session *s, uint64_t fn,
			 const uint64_t *args, unsigned int nargs,
			 struct dusk_kcall_probe *probe, uint64_t *ret);

int dusk_segs_send(struct dusk_session *s, const struct dusk_segs *segs)
{
	struct dusk_segs_cursor cur = { 0 };

	return dusk_write_segs(s, segs, &cur, 0);
}

DUSK_EXPORT int dusk_kcall(struct dusk_session *s, uint64_t fn,
			   const uint64_t *args, unsigned int nargs,
			   uint64_t *ret)
{
	return dusk_kcall_as(s, NULL, NULL, fn, args, nargs, NULL, ret);
}

int dusk_kcall_as(struct dusk_session *s, const char *name, const void *kfunc,
		  uint64_t fn, const uint64_t *args, unsigned int nargs,
		  struct dusk_kcall_probe *probe, uint64_t *ret)
{
	struct dusk_kcall_tokens tokens;
	uint64_t result = 0;
	int err;

	s = dusk_session_or_current(s);
	if (!s)
		return -ENOTCONN;
	if (nargs > DUSK_MAX_CALL_ARGS)
		return -E2BIG;
	/* Observed (dusk-gdb records it, and its breakpoint may stop here). */
	dusk_observe_kcall_begin(&tokens, name, kfunc, fn, args, nargs);
	err = dusk_call_guard ? dusk_call_guard(s, name, args, nargs) : 0;
	if (!err)
		err = dusk_kcall_do(s, fn, args, nargs, probe, &result);
	dusk_observe_kcall_end(&tokens, err, result);
	if (!err && ret)
		*ret = result;
	return err;
}

static int dusk_kcall_do(struct dusk_session *s, uint64_t fn,
			 const uint64_t *args, unsigned int nargs,
			 struct dusk_kcall_probe *probe, uint64_t *ret)
{
	uint32_t room, nr = 0;
	struct dusk_call_reply rep;
	struct dusk_segs_cursor cur;
	struct dusk_segs segs;
	struct dusk_call *call;
	struct dusk_req *r;
	uint64_t handoffs;
	unsigned int i;
	size_t used;
	int err;

	room = dusk_session_payload_max(s) - sizeof(*call);
	dusk_segs_init(&segs);
	err = dusk_commit_prepare(s, &segs, &cur, room);
	if (err)
		goto out_segs;
	err = dusk_req_create(s, DUSK_MSG_CALL, dusk_session_payload_max(s),
			      &rep, sizeof(rep), &r);
	if (err)
		goto out_segs;
	call = dusk_req_payload(r);
	memset(call, 0, sizeof(*call));
	call->fn = htole64(fn);
	for (i = 0; i < nargs; i++)
		call->args[i] = htole64(args[i]);
	call->nargs = htole32(nargs);
	if (probe) {
		probe->refused = -1;
		memcpy(call->probe, probe->spec, sizeof(call->probe));
	}
	used = dusk_segs_pack(&segs, &cur, call + 1, room, &nr);
	call->nr_segs = htole32(nr);
	handoffs = dusk_plock_handoffs();
	err = dusk_req_submit(s, r, (uint32_t)(sizeof(*call) + used));
	if (!err)
		err = dusk_req_wait(s, r);
	dusk_req_destroy(s, r);
	if (!err && handoffs != dusk_plock_handoffs()) {
		/* Other threads ran while this one waited (plock.h): what
		 * they changed and did not commit yet is not this call's,
		 * and must reach the kernel before the refresh. */
		dusk_segs_done(s, &segs);
		dusk_commit_settled(s);
	}
	if (!err) {
		dusk_shadow_diff_done(s->shadow);
		if (ret)
			*ret = le64toh(rep.ret);
		if (rep.refused_arg) {
			/* Not called: an argument failed its probe. */
			if (probe) {
				probe->refused = (int)le32toh(rep.refused_arg) - 1;
				probe->fault_off = le32toh(rep.fault_off);
			}
			err = -EFAULT;
		}
	}
	/* The callee may have changed anything: refresh, whatever came of
	 * the call. */
	dusk_shadow_invalidate(s->shadow);
out_segs:
	dusk_segs_deinit(&segs);
	return err;
}

DUSK_EXPORT int dusk_ksym(struct dusk_session *s, const char *name,
			  uint64_t *ret_addr, uint64_t *ret_size)
{
	struct dusk_sym_reply rep;
	size_t len;
	int err;

	s = dusk_session_or_current(s);
	if (!s)
		return -ENOTCONN;
	len = name ? strlen(name) : 0;
	if (!len || len > dusk_session_payload_max(s))
		return -EINVAL;
	err = dusk_request(s, DUSK_MSG_SYM, name, (uint32_t)len, &rep,
			   sizeof(rep), NULL);
	if (err)
		return err;
	if (ret_addr)
		*ret_addr = le64toh(rep.addr);
	if (ret_size)
		*ret_size = le64toh(rep.size);
	return 0;
}

DUSK_EXPORT int dusk_kalloc(struct dusk_session *s, size_t size, int zero,
			    uint64_t *ret)
{
	struct dusk_alloc a = {
		.size = htole64(size),
		.flags = htole32(zero ? DUSK_ALLOC_ZERO : 0),
	};
	struct dusk_alloc_reply rep;
	int err;

	s = dusk_session_or_current(s);
	if (!s)
		return -ENOTCONN;
	err = dusk_request(s, DUSK_MSG_ALLOC, &a, sizeof(a), &rep, sizeof(rep),
			   NULL);
	if (!err)
		*ret = le64toh(rep.addr);
	return err;
}

DUSK_EXPORT int dusk_kfree(struct dusk_session *s, uint64_t kaddr)
{
	struct dusk_free f = { .addr = htole64(kaddr) };

	s = dusk_session_or_current(s);
	if (!s)
		return -ENOTCONN;
	return dusk_request(s, DUSK_MSG_FREE, &f, sizeof(f), NULL, 0, NULL);
}

/* ---- the shadow cache of a session (dusk.h) ---- */

DUSK_EXPORT void *dusk_shadow(struct dusk_session *s, uint64_t kaddr,
			      size_t size, int write)
{
	struct dusk_shadow *c;
	void *user;
	int err;

	if (!s)
		s = dusk_session_current();
	if (!s) {
		errno = ENOTCONN;
		return NULL;
	}
	c = s->shadow;
	if (kaddr < DUSK_KERNEL_MIN) {
		uint64_t k = dusk_shadow_kaddr(c, (const void *)(uintptr_t)kaddr);

		if (!k)
			return (void *)(uintptr_t)kaddr;	/* a user address */
		kaddr = k;
	}
	if (dusk_shadow_user_of && (user = dusk_shadow_user_of(kaddr, size)))
		return user;		/* a kernel copy of a user object */
	if (dusk_shadow_frozen && (user = dusk_shadow_frozen(kaddr, size)))
		return user;		/* a released packet, as it was */
	err = dusk_shadow_get(c, kaddr, size, write, &user);
	if (err) {
		errno = -err;
		return NULL;
	}
	return user;
}

DUSK_EXPORT void dusk_refresh(struct dusk_session *s)
{
	if (!s)
		s = dusk_session_current();
	if (s)
		dusk_shadow_invalidate(s->shadow);
}
