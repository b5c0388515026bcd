// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * What a blocking invocation gives the module (modrt.h): uaccess on the
 * caller's memory, executed by the calling task itself in dusk.ko, so a
 * bad user pointer gives what it gives the .ko. (current is mod_kvar.c's;
 * the invocations themselves are core's, hook.h.)
 */
#include <errno.h>
#include <stddef.h>

#include "invoke.h"
#include "modrt.h"
#include "session.h"

/* The calling task's user memory the callback this thread runs was given
 * (read's buf, ioctl's arg): [lo, lo + len). */
static __thread uintptr_t dusk_inv_ulo, dusk_inv_ulen;

void dusk_inv_user_set(uint64_t lo, uint64_t len)
{
	dusk_inv_ulo = (uintptr_t)lo;
	dusk_inv_ulen = lo + len < lo ? -lo : (uintptr_t)len;
}

int dusk_inv_user(uintptr_t v)
{
	return v - dusk_inv_ulo < dusk_inv_ulen && dusk_session_blocking();
}

int dusk_inv_user_range(uint64_t *lo, uint64_t *len)
{
	if (!dusk_inv_ulen || !dusk_session_blocking())
		return -ENOENT;
	*lo = dusk_inv_ulo;
	*len = dusk_inv_ulen;
	return 0;
}

int dusk_uaccess(unsigned int op, uint64_t uaddr, uint64_t len,
		 const void *data, void *out, int64_t *ret, uint64_t *val)
{
	struct dusk_session *s = dusk_mod_session();

	if (!s || !dusk_session_blocking())
		return -ENOTCONN;
	return dusk_uaccess_request(s, op, uaddr, len, data, out, ret, val);
}

uint32_t dusk_uaccess_max(void)
{
	struct dusk_session *s = dusk_mod_session();

	/* Before a session: what the smallest agreed datagram allows. */
	if (!s)
		return DUSK_MIN_DGRAM - (uint32_t)sizeof(struct dusk_hdr) -
		       (uint32_t)sizeof(struct dusk_uaccess_reply) - 8;
	return dusk_uaccess_request_max(s);
}
