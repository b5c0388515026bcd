// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Requests of blocking extensions: proxy tables, uaccess and kernel
 * threads (invoke.h).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "invoke.h"
#include "session.h"

int dusk_proxy_register(struct dusk_session *s, uint32_t kind, uint64_t table,
			uint64_t flags, const struct dusk_pslot *slots,
			unsigned int nr, uint64_t *ret_table,
			uint32_t *ret_handle)
{
	struct dusk_proxy_register *pr;
	struct dusk_proxy_slot *ps;
	struct dusk_proxy_reply rep;
	uint32_t len;
	unsigned int i;
	uint8_t *buf;
	int err;

	if (!s)
		s = dusk_session_current();
	if (!s)
		return -ENOTCONN;
	if ((uint64_t)nr * sizeof(*ps) + sizeof(*pr) > dusk_session_payload_max(s))
		return -EMSGSIZE;
	len = (uint32_t)(sizeof(*pr) + nr * sizeof(*ps));
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	pr = (struct dusk_proxy_register *)buf;
	pr->table = htole64(table);
	pr->flags = htole64(flags);
	pr->kind = htole32(kind);
	pr->nr = htole32(nr);
	ps = (struct dusk_proxy_slot *)(pr + 1);
	for (i = 0; i < nr; i++) {
		ps[i].off = htole32(slots[i].off);
		ps[i].kind = htole32(slots[i].kind);
		ps[i].value = htole64(slots[i].value);
	}
	memset(&rep, 0, sizeof(rep));
	err = dusk_request(s, DUSK_MSG_PROXY_REGISTER, buf, len, &rep,
			   sizeof(rep), NULL);
	free(buf);
	if (err)
		return err;
	*ret_table = le64toh(rep.table);
	*ret_handle = le32toh(rep.handle);
	return 0;
}

int dusk_proxy_unregister(struct dusk_session *s, uint32_t handle)
{
	struct dusk_proxy_handle ph = { .handle = htole32(handle) };

	if (!s)
		s = dusk_session_current();
	if (!s)
		return -ENOTCONN;
	return dusk_request(s, DUSK_MSG_PROXY_UNREGISTER, &ph, sizeof(ph), NULL,
			    0, NULL);
}

/* The most bytes one UACCESS moves: its request or its reply fits. */
uint32_t dusk_uaccess_request_max(const struct dusk_session *s)
{
	uint32_t room = dusk_session_payload_max(s);

	return room - (uint32_t)sizeof(struct dusk_uaccess);
}

int dusk_uaccess_request(struct dusk_session *s, unsigned int op,
			 uint64_t uaddr, uint64_t len, const void *data,
			 void *out, int64_t *ret, uint64_t *val)
{
	struct dusk_uaccess_reply rep;
	struct dusk_uaccess *ua;
	uint32_t plen = sizeof(*ua), rcap = sizeof(rep), got = 0;
	uint8_t *reply;
	struct dusk_req *r;
	int64_t kret;
	int err;

	if (!s)
		s = dusk_session_current();
	if (!s || !dusk_session_blocking())
		return -ENOTCONN;
	if (op == DUSK_UA_INVALID || op >= __DUSK_UA_MAX)
		return -EINVAL;
	if (len > dusk_uaccess_request_max(s))
		return -EMSGSIZE;
	if (op == DUSK_UA_TO || op == DUSK_UA_STRNCPY)
		plen += (uint32_t)len;
	else if (op == DUSK_UA_PUT)
		plen += 8;
	if (op == DUSK_UA_FROM || op == DUSK_UA_STRNCPY)
		rcap += (uint32_t)len;
	reply = malloc(rcap);
	if (!reply)
		return -ENOMEM;
	err = dusk_req_create(s, DUSK_MSG_UACCESS, plen, reply, rcap, &r);
	if (err)
		goto out_reply;
	ua = dusk_req_payload(r);
	ua->uaddr = htole64(uaddr);
	ua->len = htole64(len);
	ua->op = htole32(op);
	ua->pad = 0;
	if ((op == DUSK_UA_TO || op == DUSK_UA_STRNCPY) && len)
		memcpy(ua + 1, data, len);
	else if (op == DUSK_UA_PUT)
		memcpy(ua + 1, data, 8);	/* the __le64 value */
	err = dusk_req_submit(s, r, plen);
	if (!err)
		err = dusk_req_wait(s, r);
	got = r->reply_len;
	dusk_req_destroy(s, r);
	if (err)
		goto out_reply;
	if (got < sizeof(rep)) {
		err = -EPROTO;
		goto out_reply;
	}
	memcpy(&rep, reply, sizeof(rep));
	kret = (int64_t)le64toh(rep.ret);
	got -= (uint32_t)sizeof(rep);
	if (op == DUSK_UA_FROM || op == DUSK_UA_STRNCPY) {
		if (got < len) {
			err = -EPROTO;
			goto out_reply;
		}
		memcpy(out, reply + sizeof(rep), len);
	}
	*ret = kret;
	if (val)
		*val = le64toh(rep.val);
out_reply:
	free(reply);
	return err;
}

int dusk_kthread_create_request(struct dusk_session *s, int node,
				const char *name, uint64_t *ret_task,
				uint64_t *ret_handle)
{
	struct dusk_kthread_create kc;
	struct dusk_kthread_reply rep;
	size_t len = strlen(name);
	int err;

	if (!s)
		s = dusk_session_current();
	if (!s)
		return -ENOTCONN;
	if (len >= sizeof(kc.name))
		return -ENAMETOOLONG;
	memset(&kc, 0, sizeof(kc));
	kc.node = htole32((uint32_t)node);
	memcpy(kc.name, name, len);
	memset(&rep, 0, sizeof(rep));
	err = dusk_request(s, DUSK_MSG_KTHREAD_CREATE, &kc, sizeof(kc), &rep,
			   sizeof(rep), NULL);
	if (err)
		return err;
	*ret_task = le64toh(rep.task);
	*ret_handle = le64toh(rep.handle);
	return 0;
}

int dusk_kthread_stop_request(struct dusk_session *s, uint64_t handle,
			      int64_t *ret)
{
	struct dusk_kthread_handle kh = { .handle = htole64(handle) };
	struct dusk_kthread_stop_reply rep;
	int err;

	if (!s)
		s = dusk_session_current();
	if (!s)
		return -ENOTCONN;
	memset(&rep, 0, sizeof(rep));
	err = dusk_request(s, DUSK_MSG_KTHREAD_STOP, &kh, sizeof(kh), &rep,
			   sizeof(rep), NULL);
	if (err)
		return err;
	*ret = (int64_t)le64toh(rep.ret);
	return 0;
}
