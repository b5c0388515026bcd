// SPDX-License-Identifier: GPL-2.0
/*
 * UACCESS: the module's copy_to_user(), get_user()... executed by the task
 * that called the proxy (the request comes on DUSK_CHAN_INV, so its
 * caller runs it: invoke.c), with the kernel's own functions: a bad user
 * pointer gives the program exactly what it gives the .ko.
 */
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/string.h>

#include "dusk_kmod.h"

static int dusk_ua_get(u64 uaddr, u64 len, u64 *val)
{
	int ret;

	switch (len) {
	case 1: {
		u8 v = 0;

		ret = get_user(v, (u8 __user *)(unsigned long)uaddr);
		*val = v;
		return ret;
	}
	case 2: {
		u16 v = 0;

		ret = get_user(v, (u16 __user *)(unsigned long)uaddr);
		*val = v;
		return ret;
	}
	case 4: {
		u32 v = 0;

		ret = get_user(v, (u32 __user *)(unsigned long)uaddr);
		*val = v;
		return ret;
	}
	default: {
		u64 v = 0;

		ret = get_user(v, (u64 __user *)(unsigned long)uaddr);
		*val = v;
		return ret;
	}
	}
}

static int dusk_ua_put(u64 uaddr, u64 len, u64 val)
{
	switch (len) {
	case 1:
		return put_user((u8)val, (u8 __user *)(unsigned long)uaddr);
	case 2:
		return put_user((u16)val, (u16 __user *)(unsigned long)uaddr);
	case 4:
		return put_user((u32)val, (u32 __user *)(unsigned long)uaddr);
	default:
		return put_user(val, (u64 __user *)(unsigned long)uaddr);
	}
}

/*
 * The payload after struct dusk_uaccess: TO's len bytes, PUT's __le64,
 * nothing for the others. -EINVAL: op, len (1, 2, 4 or 8 for GET and PUT;
 * FROM's and STRNCPY's reply must fit the agreed datagram), pad.
 */
int dusk_do_uaccess(struct dusk_req *r)
{
	const struct dusk_uaccess *u = r->payload;
	struct dusk_uaccess_reply *rep = r->reply;
	void __user *p = (void __user *)(unsigned long)le64_to_cpu(u->uaddr);
	u64 uaddr = le64_to_cpu(u->uaddr), len = le64_to_cpu(u->len);
	u32 op = le32_to_cpu(u->op), dlen = r->len - sizeof(*u);
	u32 room = r->reply_max - sizeof(*rep);
	const void *data = u + 1;
	char *out = (char *)(rep + 1);
	s64 ret;
	u64 val = 0, v64;

	if (!r->inv || u->pad)
		return -EINVAL;
	if (op == DUSK_UA_GET || op == DUSK_UA_PUT) {
		if (len != 1 && len != 2 && len != 4 && len != 8)
			return -EINVAL;
	}
	if (dlen != (op == DUSK_UA_TO || op == DUSK_UA_STRNCPY ? len :
		     op == DUSK_UA_PUT ? 8 : 0))
		return -EINVAL;
	r->reply_len = sizeof(*rep);

	switch (op) {
	case DUSK_UA_TO:
		ret = copy_to_user(p, data, len);
		break;
	case DUSK_UA_FROM:
		if (len > room)
			return -EINVAL;
		/* The bytes not copied are zero, as copy_from_user leaves
		 * them. */
		ret = copy_from_user(out, p, len);
		r->reply_len += len;
		break;
	case DUSK_UA_CLEAR:
		ret = clear_user(p, len);
		break;
	case DUSK_UA_STRNCPY:
		/* Into the destination's own bytes, and all of them back:
		 * what a fault leaves in it is what it leaves in the .ko's. */
		if (len > room || len > LONG_MAX)
			return -EINVAL;
		memcpy(out, data, len);
		ret = strncpy_from_user(out, p, len);
		r->reply_len += len;
		break;
	case DUSK_UA_STRNLEN:
		ret = strnlen_user(p, len > LONG_MAX ? LONG_MAX : len);
		break;
	case DUSK_UA_GET:
		ret = dusk_ua_get(uaddr, len, &val);
		break;
	case DUSK_UA_PUT:
		memcpy(&v64, data, sizeof(v64));
		ret = dusk_ua_put(uaddr, len, le64_to_cpu(v64));
		break;
	case DUSK_UA_ACCESS_OK:
		ret = access_ok(p, len) ? 1 : 0;
		break;
	default:
		return -EINVAL;
	}
	rep->ret = cpu_to_le64((u64)ret);
	rep->val = cpu_to_le64(val);
	return 0;
}
