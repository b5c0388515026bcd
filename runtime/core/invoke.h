/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * invoke.h - the requests of blocking extensions: proxy tables in dusk.ko
 * (PROXY_REGISTER/UNREGISTER), the caller's user memory (UACCESS) and
 * kernel threads that stand for the module's (KTHREAD_CREATE/STOP).
 * Invocations themselves (INVOKE, RETURN) run in the event loop (hook.h).
 */
#ifndef DUSK_INVOKE_H
#define DUSK_INVOKE_H

#include <stdint.h>

#include "dusk_proto.h"

struct dusk_session;

/* One slot of a proxy table, host order (struct dusk_proxy_slot). */
struct dusk_pslot {
	uint32_t off;			/* of the function pointer */
	uint32_t kind;			/* enum dusk_proxy_slot_kind */
	uint64_t value;			/* USER: a cookie; KERNEL: an address */
};

/*
 * PROXY_REGISTER: a table of dusk.ko's of kind (enum dusk_proxy_kind)
 * with these slots; table is the program's own (for dusk.ko's record),
 * flags proc_ops.proc_flags (0 otherwise). Its kernel address in
 * *ret_table, its handle in *ret_handle. -EINVAL, -ENOSPC (dusk.ko's),
 * -EMSGSIZE (too many slots for one datagram), transport errors.
 */
int dusk_proxy_register(struct dusk_session *s, uint32_t kind, uint64_t table,
			uint64_t flags, const struct dusk_pslot *slots,
			unsigned int nr, uint64_t *ret_table,
			uint32_t *ret_handle);
int dusk_proxy_unregister(struct dusk_session *s, uint32_t handle);

/*
 * One UACCESS request of the blocking invocation this thread serves (see
 * dusk_uaccess() in modrt.h for the arguments): 0 and the kernel's *ret
 * (GET's value in *val), or -ENOTCONN (no blocking invocation here),
 * -EMSGSIZE (len over dusk_uaccess_request_max()), -EINVAL (op),
 * -EPROTO (a reply shorter than its op needs), transport errors.
 */
int dusk_uaccess_request(struct dusk_session *s, unsigned int op,
			 uint64_t uaddr, uint64_t len, const void *data,
			 void *out, int64_t *ret, uint64_t *val);
/* The largest len of one such request on s. */
uint32_t dusk_uaccess_request_max(const struct dusk_session *s);

/*
 * KTHREAD_CREATE: a kernel thread named name (up to
 * DUSK_KTHREAD_NAME_LEN - 1 bytes) on node (-1: NUMA_NO_NODE), created
 * and not woken, that serves blocking invocation *ret_handle once woken
 * (dusk_proto.h; hook.h's dusk_invocation_start() runs its callback):
 * its task_struct's kernel address in *ret_task. -ENAMETOOLONG, dusk.ko's
 * errors (-EINVAL, -ENOMEM...), transport errors.
 */
int dusk_kthread_create_request(struct dusk_session *s, int node,
				const char *name, uint64_t *ret_task,
				uint64_t *ret_handle);
/* KTHREAD_STOP: kthread_stop()'s value in *ret; -EBUSY while the thread
 * serves its invocation without a RETURN, -ENOENT, transport errors. */
int dusk_kthread_stop_request(struct dusk_session *s, uint64_t handle,
			      int64_t *ret);

#endif /* DUSK_INVOKE_H */
