// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * A simulated dusk.ko (see fake_kernel.h). Unit tests only.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "dusk.h"
#include "fake_kernel.h"
#include "session.h"
#include "transport.h"

static const uint8_t fk_master_key[DUSK_KEY_LEN] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
	0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
};

void fk_init(struct fake_kernel *fk)
{
	static const size_t lens[3] = { 64 << 10, 16 << 10, 8 << 10 };
	static const uint64_t bases[3] = {
		FK_AREA_DIRECT, FK_AREA_VMALLOC, FK_AREA_STRAY,
	};
	unsigned int i;
	size_t j;

	memset(fk, 0, sizeof(*fk));
	memcpy(fk->master, fk_master_key, DUSK_KEY_LEN);
	dusk_hmac_key_init(&fk->master_key, fk->master, DUSK_KEY_LEN);
	fk->max_dgram = DUSK_MAX_DGRAM;
	for (i = 0; i < __DUSK_CHAN_MAX; i++)
		dusk_seq_window_init(&fk->seq_window[i]);
	for (i = 0; i < 3; i++) {
		fk->areas[i].base = bases[i];
		fk->areas[i].len = lens[i];
		fk->areas[i].bytes = malloc(lens[i]);
		/* A recognisable pattern: byte = low bits of its address. */
		for (j = 0; j < lens[i]; j++)
			fk->areas[i].bytes[j] = (uint8_t)((bases[i] + j) * 7 + i);
	}
	fk->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

void fk_init_la57(struct fake_kernel *fk)
{
	fk_init(fk);
	fk->la57 = 1;
	fk->areas[0].base = FK57_AREA_DIRECT;
	/* 8 KiB right below a 1 GiB section boundary, and 8 KiB above. */
	fk->areas[1].base = FK57_AREA_VMALLOC;
}

void fk_deinit(struct fake_kernel *fk)
{
	unsigned int i;

	for (i = 0; i < 3; i++)
		free(fk->areas[i].bytes);
	for (i = 0; i < fk->nr_hooks_sent; i++)
		free(fk->hooks_sent[i].payload);
	for (i = 0; i < fk->nr_invs; i++)
		free(fk->invs[i].payload);
	while (fk->out_head != fk->out_tail)
		free(fk->out[fk->out_head++ % 1024].buf);
	close(fk->evfd);
}

uint8_t *fk_mem(struct fake_kernel *fk, uint64_t addr, size_t len)
{
	unsigned int i;

	for (i = 0; i < 3; i++) {
		struct fk_area *a = &fk->areas[i];

		if (addr >= a->base && addr - a->base <= a->len &&
		    len <= a->len - (addr - a->base))
			return a->bytes + (addr - a->base);
	}
	return NULL;
}

static uint64_t fk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void fk_queue(struct fake_kernel *fk, const void *buf, size_t len)
{
	uint64_t one = 1;
	ssize_t n;

	fk->out[fk->out_tail % 1024].at_ns = fk_now_ns();
	fk->out[fk->out_tail % 1024].buf = malloc(len);
	memcpy(fk->out[fk->out_tail % 1024].buf, buf, len);
	fk->out[fk->out_tail % 1024].len = len;
	fk->out_tail++;
	n = write(fk->evfd, &one, sizeof(one));
	(void)n;
}

void fk_inject(struct fake_kernel *fk, const void *buf, size_t len)
{
	fk_queue(fk, buf, len);
}

size_t fk_output(struct fake_kernel *fk, void *buf, size_t cap,
		 uint64_t *ret_at_ns)
{
	uint64_t v;
	size_t len;
	ssize_t n;

	if (fk->out_head == fk->out_tail)
		return 0;
	len = fk->out[fk->out_head % 1024].len;
	*ret_at_ns = fk->out[fk->out_head % 1024].at_ns;
	memcpy(buf, fk->out[fk->out_head % 1024].buf, len < cap ? len : cap);
	free(fk->out[fk->out_head % 1024].buf);
	fk->out_head++;
	if (fk->out_head == fk->out_tail) {
		n = read(fk->evfd, &v, sizeof(v));
		(void)n;
	}
	return len;
}

/* Seal and queue a message in the session (or session 0 for HELLO). */
static void fk_send(struct fake_kernel *fk, uint8_t type, uint8_t flags,
		    uint8_t channel, uint64_t id, uint64_t invocation,
		    int32_t status, const void *payload, uint32_t len)
{
	static uint8_t buf[DUSK_MAX_DGRAM];
	int hello = type == DUSK_MSG_HELLO;
	size_t n;

	memcpy(dusk_msg_init(buf, type, flags, channel,
			     hello ? 0 : fk->session, id, invocation, status),
	       payload, len);
	n = dusk_msg_seal(buf, len, hello ? 1 : ++fk->tx_seq[channel],
			  hello ? &fk->master_key : &fk->key);
	if (!fk->silent)
		fk_queue(fk, buf, n);
	if (!fk->silent && fk->dup_output)
		fk_queue(fk, buf, n);
}

/* Written independently of the runtime's: one buffer, one HMAC. */
static void fk_derive(struct fake_kernel *fk)
{
	uint8_t msg[15 + 2 * DUSK_NONCE_LEN + 4], key[32];
	uint32_t id = htole32(fk->session);

	memcpy(msg, "dusk-session-v1", 15);
	memcpy(msg + 15, fk->cnonce, DUSK_NONCE_LEN);
	memcpy(msg + 15 + DUSK_NONCE_LEN, fk->snonce, DUSK_NONCE_LEN);
	memcpy(msg + 15 + 2 * DUSK_NONCE_LEN, &id, 4);
	dusk_hmac_sha256(&fk->master_key, msg, sizeof(msg), key);
	dusk_hmac_key_init(&fk->key, key, sizeof(key));
}

/* The fake's cookie for a nonce: opaque to the runtime, as dusk.ko's. */
static void fk_cookie(const uint8_t *nonce, uint8_t cookie[DUSK_COOKIE_LEN])
{
	unsigned int i;

	for (i = 0; i < DUSK_COOKIE_LEN; i++)
		cookie[i] = (uint8_t)(nonce[i % DUSK_NONCE_LEN] ^ (0x5a + i));
}

/* The handshake: a HELLO without its good cookie gets one (-EAGAIN);
 * stale_cookies makes that many good ones count as stale. */
static int fk_hello_cookie(struct fake_kernel *fk, const struct dusk_msg *m)
{
	const struct dusk_hello *h = (const void *)m->payload;
	struct dusk_hello_cookie c;

	fk_cookie(h->nonce, c.cookie);
	if (!memcmp(c.cookie, h->cookie, DUSK_COOKIE_LEN)) {
		if (!fk->stale_cookies)
			return 0;
		fk->stale_cookies--;
	}
	memcpy(c.client_nonce, h->nonce, DUSK_NONCE_LEN);
	fk->cookies_sent++;
	fk_send(fk, DUSK_MSG_HELLO, DUSK_F_REPLY, m->channel, m->id, 0,
		-EAGAIN, &c, sizeof(c));
	return -EAGAIN;
}

static void fk_hello(struct fake_kernel *fk, const struct dusk_msg *m)
{
	struct {
		struct dusk_hello_reply rep;
		struct dusk_region regions[4];
	} __attribute__((packed)) out;
	const struct dusk_hello *h = (const void *)m->payload;
	unsigned int i;

	if (fk_hello_cookie(fk, m))
		return;
	if (!(fk->have_session &&
	      !memcmp(fk->cnonce, h->nonce, DUSK_NONCE_LEN))) {
		fk->have_session = 1;
		fk->session = FK_SESSION;
		memcpy(fk->cnonce, h->nonce, DUSK_NONCE_LEN);
		for (i = 0; i < DUSK_NONCE_LEN; i++)
			fk->snonce[i] = (uint8_t)(0xa0 + i);
		fk_derive(fk);
		memset(fk->tx_seq, 0, sizeof(fk->tx_seq));
		for (i = 0; i < __DUSK_CHAN_MAX; i++)
			dusk_seq_window_init(&fk->seq_window[i]);
		if (le32toh(h->max_dgram) < fk->max_dgram)
			fk->max_dgram = le32toh(h->max_dgram);
	}
	memset(&out, 0, sizeof(out));
	memcpy(out.rep.client_nonce, fk->cnonce, DUSK_NONCE_LEN);
	memcpy(out.rep.nonce, fk->snonce, DUSK_NONCE_LEN);
	out.rep.session = htole32(fk->session);
	out.rep.max_dgram = htole32(fk->max_dgram);
	out.rep.page_size = htole32(4096);
	out.rep.nr_cpus = htole32(2);
	out.rep.hz = htole32(250);
	out.rep.nr_regions = htole32(4);
	strcpy((char *)out.rep.release, "6.1.0-fake");
	if (fk->la57) {
		out.regions[0] = (struct dusk_region){
			htole64(FK57_DIRECT_START), htole64(1ULL << 30),
			htole32(DUSK_REGION_DIRECT_MAP), 0 };
		out.regions[1] = (struct dusk_region){
			htole64(FK57_VMALLOC_START), htole64(FK57_VMALLOC_SIZE),
			htole32(DUSK_REGION_VMALLOC), 0 };
		goto regions_done;
	}
	out.regions[0] = (struct dusk_region){ htole64(FK_DIRECT_START),
		htole64(1ULL << 30), htole32(DUSK_REGION_DIRECT_MAP), 0 };
	/* 32 TiB, as on x86-64 with 4-level paging. */
	out.regions[1] = (struct dusk_region){ htole64(FK_VMALLOC_START),
		htole64(32ULL << 40), htole32(DUSK_REGION_VMALLOC), 0 };
regions_done:
	out.regions[2] = (struct dusk_region){ htole64(0xffffffff80000000ULL),
		htole64(64ULL << 20), htole32(DUSK_REGION_KERNEL_IMAGE), 0 };
	out.regions[3] = (struct dusk_region){ htole64(0xffffffffa0000000ULL),
		htole64(1ULL << 30), htole32(DUSK_REGION_MODULES), 0 };
	fk_send(fk, DUSK_MSG_HELLO, DUSK_F_REPLY, m->channel, m->id, 0, 0, &out,
		sizeof(out));
}

/* Apply segments; -EFAULT at the first one outside fake memory. */
static int fk_apply(struct fake_kernel *fk, uint8_t type, const uint8_t *p,
		    size_t len, uint32_t nr)
{
	struct dusk_seg_iter it;
	const void *data;
	uint64_t addr;
	uint32_t n;
	uint8_t *dst;

	dusk_seg_iter_init(&it, p, len, nr);
	while (dusk_seg_next(&it, &addr, &data, &n)) {
		dst = fk_mem(fk, addr, n);
		if (!dst)
			return -EFAULT;
		memcpy(dst, data, n);
		if (fk->nr_applied < FK_MAX_LOG) {
			fk->applied[fk->nr_applied].addr = addr;
			fk->applied[fk->nr_applied].len = n;
			fk->applied[fk->nr_applied].type = type;
			fk->nr_applied++;
		}
		fk->applied_bytes += n;
	}
	return 0;
}

struct fk_inv *fk_inv_find(struct fake_kernel *fk, uint64_t id)
{
	unsigned int i;

	for (i = 0; i < fk->nr_invs; i++)
		if (fk->invs[i].id == id)
			return &fk->invs[i];
	return NULL;
}

/* The caller's memory: NULL outside FK_UBASE..+FK_ULEN. */
static uint8_t *fk_umem(struct fake_kernel *fk, uint64_t a, uint64_t len)
{
	if (a < FK_UBASE || a - FK_UBASE > FK_ULEN || len > FK_ULEN - (a - FK_UBASE))
		return NULL;
	return fk->umem + (a - FK_UBASE);
}

/* How much of [a, a + len) is the caller's memory, from a. */
static uint64_t fk_ureach(uint64_t a, uint64_t len)
{
	if (a < FK_UBASE || a >= FK_UBASE + FK_ULEN)
		return 0;
	return len < FK_UBASE + FK_ULEN - a ? len : FK_UBASE + FK_ULEN - a;
}

/* UACCESS, by the rules of the kernel's accessors. */
static int32_t fk_uaccess(struct fake_kernel *fk, const uint8_t *p, uint32_t plen,
			  uint8_t *reply, uint32_t *rlen)
{
	struct dusk_uaccess ua;
	struct dusk_uaccess_reply r = { 0 };
	uint64_t a, len, n, v = 0;
	uint8_t *u;

	memcpy(&ua, p, sizeof(ua));
	a = le64toh(ua.uaddr);
	len = le64toh(ua.len);
	*rlen = sizeof(r);
	switch (le32toh(ua.op)) {
	case DUSK_UA_TO:
		if (plen != sizeof(ua) + len)
			return -EINVAL;
		n = fk_ureach(a, len);
		if (n)
			memcpy(fk_umem(fk, a, n), p + sizeof(ua), n);
		r.ret = htole64(len - n);
		break;
	case DUSK_UA_FROM:
		n = fk_ureach(a, len);
		memset(reply + sizeof(r), 0, len);
		if (n)
			memcpy(reply + sizeof(r), fk_umem(fk, a, n), n);
		r.ret = htole64(len - n);
		*rlen += (uint32_t)len;
		break;
	case DUSK_UA_CLEAR:
		n = fk_ureach(a, len);
		if (n)
			memset(fk_umem(fk, a, n), 0, n);
		r.ret = htole64(len - n);
		break;
	case DUSK_UA_STRNLEN:
	case DUSK_UA_STRNCPY:
		n = fk_ureach(a, len);
		u = fk_umem(fk, a, n);
		if (!u) {
			r.ret = htole64((uint64_t)-EFAULT);
			break;
		}
		v = strnlen((const char *)u, n);
		if (le32toh(ua.op) == DUSK_UA_STRNLEN) {
			r.ret = htole64(v < n ? v + 1 : 0);
			break;
		}
		r.ret = htole64(v);
		memcpy(reply + sizeof(r), u, v);
		reply[sizeof(r) + v] = 0;
		*rlen += (uint32_t)v + 1;
		v = 0;
		break;
	case DUSK_UA_GET:
		if (len != 1 && len != 2 && len != 4 && len != 8)
			return -EINVAL;
		u = fk_umem(fk, a, len);
		if (u)
			memcpy(&v, u, len);
		r.ret = htole64(u ? 0 : (uint64_t)-EFAULT);
		break;
	case DUSK_UA_PUT:
		if ((len != 1 && len != 2 && len != 4 && len != 8) ||
		    plen != sizeof(ua) + 8)
			return -EINVAL;
		u = fk_umem(fk, a, len);
		if (u)
			memcpy(u, p + sizeof(ua), len);
		r.ret = htole64(u ? 0 : (uint64_t)-EFAULT);
		break;
	case DUSK_UA_ACCESS_OK:
		r.ret = htole64(a + len >= a && a + len <= 0x00007ffffffff000ULL);
		break;
	default:
		return -EINVAL;
	}
	r.val = htole64(v);
	memcpy(reply, &r, sizeof(r));
	return 0;
}

static int32_t fk_run(struct fake_kernel *fk, const struct dusk_msg *m,
		      uint8_t *reply, uint32_t *ret_rlen);

/*
 * A request on DUSK_CHAN_INV, as the calling task executes it: one at a
 * time per invocation, the last reply kept for its retransmission,
 * -ESTALE for an older id, -EPROTO for one that skips, -ESRCH once the
 * invocation is over (a RETURN again is answered 0).
 */
static void fk_execute_inv(struct fake_kernel *fk, const struct dusk_msg *m)
{
	static uint8_t reply[DUSK_MAX_DGRAM];
	struct fk_inv *inv = fk_inv_find(fk, m->invocation);
	const uint8_t *p = m->payload;
	uint32_t rlen = 0;
	int32_t status = 0;

	if (!inv) {
		fk_send(fk, m->type, DUSK_F_REPLY, m->channel, m->id,
			m->invocation, -ESRCH, NULL, 0);
		return;
	}
	if (m->type == DUSK_MSG_RETURN)
		inv->returns++;
	if (inv->ended) {
		status = m->type == DUSK_MSG_RETURN && inv->returned ? 0 : -ESRCH;
		if (!status)
			fk->answered_again++;
		fk_send(fk, m->type, DUSK_F_REPLY, m->channel, m->id,
			m->invocation, status, NULL, 0);
		return;
	}
	if (m->id == inv->last_id && m->type == inv->last_type) {
		fk->answered_again++;
		fk_send(fk, m->type, DUSK_F_REPLY, m->channel, m->id,
			m->invocation, inv->last_status, inv->last_reply,
			inv->last_len);
		return;
	}
	if (m->id <= inv->last_id || m->id > inv->last_id + 1) {
		if (m->id <= inv->last_id)
			fk->inv_stale++;
		else
			fk->inv_skipped++;
		fk_send(fk, m->type, DUSK_F_REPLY, m->channel, m->id,
			m->invocation, m->id <= inv->last_id ? -ESTALE : -EPROTO,
			NULL, 0);
		return;
	}
	fk->executed[m->type]++;
	switch (m->type) {
	case DUSK_MSG_UACCESS:
		status = fk_uaccess(fk, p, m->len, reply, &rlen);
		break;
	case DUSK_MSG_RETURN: {
		struct dusk_return rt;

		memcpy(&rt, p, sizeof(rt));
		status = fk->verdict_status;
		if (status == -ESRCH) {
			inv->ended = 1;		/* the caller was killed */
			break;
		}
		status = fk_apply(fk, m->type, p + sizeof(rt), m->len - sizeof(rt),
				  le32toh(rt.nr_segs));
		inv->returned = 1;
		inv->ended = 1;
		inv->ret = le64toh(rt.ret);
		inv->return_id = m->id;
		inv->return_segs = le32toh(rt.nr_segs);
		break;
	}
	default:
		/* READ, WRITE, CALL, SYM...: as on the main channel. */
		status = fk_run(fk, m, reply, &rlen);
	}
	if (status)
		rlen = 0;
	inv->last_id = m->id;
	inv->last_type = m->type;
	inv->last_status = status;
	inv->last_len = rlen < sizeof(inv->last_reply) ? rlen :
			sizeof(inv->last_reply);
	memcpy(inv->last_reply, reply, inv->last_len);
	if (fk->drop_replies) {
		fk->drop_replies--;
		return;
	}
	fk_send(fk, m->type, DUSK_F_REPLY, m->channel, m->id, m->invocation,
		status, reply, rlen);
}

static int fk_keeps_reply(uint8_t type)
{
	return type != DUSK_MSG_PING && type != DUSK_MSG_READ &&
	       type != DUSK_MSG_SYM;
}

/* A VERDICT's records, as dusk.ko takes them: a packet not held (a
 * duplicate) is counted and skipped. */
static void fk_verdicts(struct fake_kernel *fk, const struct dusk_msg *m)
{
	struct dusk_batch_iter it;
	struct dusk_verdict v;
	struct fk_verdict *rec;
	const uint8_t *p;
	uint32_t len;
	unsigned int i;

	dusk_batch_iter_init(&it, m);
	while (dusk_batch_next(&it, &p, &len) > 0) {
		memcpy(&v, p, sizeof(v));
		fk->verdict_records++;
		for (i = 0; i < fk->nr_hooks_sent; i++)
			if (fk->hooks_sent[i].packet == le64toh(v.packet) &&
			    fk->hooks_sent[i].held)
				break;
		if (i == fk->nr_hooks_sent) {
			fk->verdicts_unheld++;
			continue;
		}
		fk->hooks_sent[i].held = 0;
		rec = &fk->verdicts[fk->nr_verdicts++ % FK_MAX_LOG];
		rec->packet = le64toh(v.packet);
		rec->verdict = le32toh(v.verdict);
		rec->id = m->id;
		rec->invocation = m->invocation;
		rec->nr_segs = le32toh(v.nr_segs);
		fk_apply(fk, m->type, p + sizeof(v), len - (uint32_t)sizeof(v),
			 le32toh(v.nr_segs));
	}
}

/* Execute a request (not UACCESS nor RETURN): its status, its reply in
 * reply (*rlen bytes). */
static int32_t fk_run(struct fake_kernel *fk, const struct dusk_msg *m,
		      uint8_t *reply, uint32_t *ret_rlen)
{
	const uint8_t *p = m->payload;
	uint32_t rlen = 0;
	int32_t status = 0;

	switch (m->type) {
	case DUSK_MSG_PING:
		memset(reply, 0, sizeof(struct dusk_stats));
		rlen = sizeof(struct dusk_stats);
		break;
	case DUSK_MSG_BYE:
		fk->ended = 1;
		break;
	case DUSK_MSG_READ: {
		struct dusk_read rd;
		uint8_t *src;

		memcpy(&rd, p, sizeof(rd));
		rlen = le32toh(rd.len);
		src = fk_mem(fk, le64toh(rd.addr), rlen);
		if (!rlen || rlen > fk->max_dgram - DUSK_HDR_LEN)
			status = -EINVAL;
		else if (!src)
			status = -EFAULT;
		else
			memcpy(reply, src, rlen);
		break;
	}
	case DUSK_MSG_WRITE: {
		struct dusk_write w;

		memcpy(&w, p, sizeof(w));
		status = fk_apply(fk, m->type, p + sizeof(w), m->len - sizeof(w),
				  le32toh(w.nr_segs));
		break;
	}
	case DUSK_MSG_CALL: {
		struct dusk_call c;
		struct dusk_call_reply r = { 0 };
		uint64_t args[DUSK_MAX_CALL_ARGS];
		unsigned int i;

		memcpy(&c, p, sizeof(c));
		status = fk_apply(fk, m->type, p + sizeof(c), m->len - sizeof(c),
				  le32toh(c.nr_segs));
		if (status)
			break;
		for (i = 0; i < DUSK_MAX_CALL_ARGS; i++)
			args[i] = le64toh(c.args[i]);
		if (fk->call)
			r.ret = htole64(fk->call(fk, le64toh(c.fn), args,
						 le32toh(c.nargs)));
		memcpy(reply, &r, sizeof(r));
		rlen = sizeof(r);
		break;
	}
	case DUSK_MSG_SYM: {
		struct dusk_sym_reply r = { 0 };

		char name[256];
		uint64_t addr;

		if (m->len == 7 && !memcmp(p, "jiffies", 7)) {
			r.addr = htole64(FK_AREA_DIRECT + 0x40);
			r.size = htole64(8);
			memcpy(reply, &r, sizeof(r));
			rlen = sizeof(r);
		} else if (fk->sym && m->len < sizeof(name) &&
			   (memcpy(name, p, m->len), name[m->len] = '\0',
			    !fk->sym(fk, name, &addr))) {
			r.addr = htole64(addr);
			memcpy(reply, &r, sizeof(r));
			rlen = sizeof(r);
		} else {
			status = -ENOENT;
		}
		break;
	}
	case DUSK_MSG_ALLOC: {
		struct dusk_alloc_reply r = { htole64(FK_AREA_DIRECT + 0x8000) };
		struct dusk_alloc a;

		memcpy(&a, p, sizeof(a));
		if (fk->alloc_next) {
			uint64_t size = le64toh(a.size);
			uint64_t align = size >= 4096 ? 4096 : 64;

			fk->alloc_next = (fk->alloc_next + align - 1) & ~(align - 1);
			r.addr = htole64(fk->alloc_next);
			fk->alloc_next += size;
			if (le32toh(a.flags) & DUSK_ALLOC_ZERO) {
				uint8_t *z = fk_mem(fk, le64toh(r.addr), size);

				if (z)
					memset(z, 0, size);
			}
		}
		memcpy(reply, &r, sizeof(r));
		rlen = sizeof(r);
		break;
	}
	case DUSK_MSG_FREE:
		break;
	case DUSK_MSG_HOOK_REGISTER: {
		struct dusk_hook_register hr;
		struct dusk_hook_handle hh = { 0 };

		memcpy(&hr, p, sizeof(hr));
		fk->cookies[fk->nr_hooks] = le64toh(hr.cookie);
		hh.handle = htole32(++fk->nr_hooks);
		memcpy(reply, &hh, sizeof(hh));
		rlen = sizeof(hh);
		break;
	}
	case DUSK_MSG_HOOK_UNREGISTER:
		break;
	case DUSK_MSG_PROXY_REGISTER: {
		struct dusk_proxy_register pr;
		struct dusk_proxy_reply r = { 0 };
		uint32_t i, nr;

		memcpy(&pr, p, sizeof(pr));
		nr = le32toh(pr.nr);
		if (le32toh(pr.kind) == DUSK_PROXY_INVALID ||
		    le32toh(pr.kind) >= __DUSK_PROXY_MAX ||
		    m->len != sizeof(pr) + nr * sizeof(struct dusk_proxy_slot)) {
			status = -EINVAL;
			break;
		}
		for (i = 0; i < nr && fk->nr_proxy_slots < 32; i++)
			memcpy(&fk->proxy_slots[fk->nr_proxy_slots++],
			       p + sizeof(pr) + i * sizeof(struct dusk_proxy_slot),
			       sizeof(struct dusk_proxy_slot));
		fk->nr_proxies++;
		r.table = htole64(FK_AREA_DIRECT + 0xe000 + 0x100 * fk->nr_proxies);
		r.handle = htole32(fk->nr_proxies);
		memcpy(reply, &r, sizeof(r));
		rlen = sizeof(r);
		break;
	}
	case DUSK_MSG_PROXY_UNREGISTER:
		break;
	default:
		status = -EOPNOTSUPP;
	}
	*ret_rlen = rlen;
	return status;
}

static void fk_execute(struct fake_kernel *fk, const struct dusk_msg *m)
{
	uint8_t reply[DUSK_MAX_DGRAM];
	uint32_t rlen = 0;
	int32_t status = 0;
	struct fk_slot *slot = NULL;

	if (m->type == DUSK_MSG_VERDICT) {	/* never answered */
		if (fk->drop_verdicts) {
			fk->drop_verdicts--;
			return;
		}
		fk->executed[m->type]++;
		fk_verdicts(fk, m);
		return;
	}
	if (fk_keeps_reply(m->type)) {
		if (m->id + DUSK_ID_WINDOW <= fk->max_id) {
			fk_send(fk, m->type, DUSK_F_REPLY, m->channel, m->id,
				m->invocation, -ESTALE, NULL, 0);
			return;
		}
		slot = &fk->slots[m->id % DUSK_ID_WINDOW];
		if (slot->id == m->id) {
			fk->answered_again++;
			fk_send(fk, m->type, DUSK_F_REPLY, m->channel, m->id,
				m->invocation, slot->status, slot->payload,
				slot->len);
			return;
		}
	}
	if (m->id > fk->max_id)
		fk->max_id = m->id;
	fk->executed[m->type]++;
	status = fk_run(fk, m, reply, &rlen);
	if (status)
		rlen = 0;
	if (slot) {
		slot->id = m->id;
		slot->status = status;
		slot->type = m->type;
		slot->len = rlen < 16 ? rlen : 16;
		memcpy(slot->payload, reply, slot->len);
	}
	if (fk->drop_replies) {
		fk->drop_replies--;
		return;
	}
	fk_send(fk, m->type, DUSK_F_REPLY, m->channel, m->id, m->invocation,
		status, reply, rlen);
}

void fk_input(struct fake_kernel *fk, const void *buf, size_t len)
{
	static uint64_t last_dropped;
	struct dusk_msg m;
	uint32_t sid;

	if (dusk_msg_peek(buf, len, &sid)) {
		fk->rejected++;
		return;
	}
	if (sid == 0) {
		if (dusk_msg_parse(buf, len, &fk->master_key, DUSK_ROLE_KERNEL,
				   &m) || m.type != DUSK_MSG_HELLO) {
			fk->rejected++;
			return;
		}
		fk->received[m.type]++;
		if (fk->drop_hello) {
			fk->drop_hello--;
			return;
		}
		fk_hello(fk, &m);
		return;
	}
	if (!fk->have_session || sid != fk->session ||
	    dusk_msg_parse(buf, len, &fk->key, DUSK_ROLE_KERNEL, &m) ||
	    dusk_seq_window_accept(&fk->seq_window[m.channel], m.seq)) {
		fk->rejected++;
		return;
	}
	fk->received[m.type]++;
	fk->received_chan[m.channel][m.type]++;
	if (m.channel == DUSK_CHAN_INV && !m.invocation) {
		fk->rejected++;
		return;
	}
	if (fk->nr_log < FK_MAX_LOG) {
		fk->ids[fk->nr_log] = m.id;
		fk->invocations[fk->nr_log] = m.invocation;
		fk->types[fk->nr_log] = m.type;
		fk->chans[fk->nr_log] = m.channel;
		fk->nr_log++;
	}
	/* Lose the first transmission of new request ids. */
	if (fk->drop_new_requests && m.id > fk->max_id && m.id != last_dropped) {
		fk->drop_new_requests--;
		last_dropped = m.id;
		return;
	}
	if (m.channel == DUSK_CHAN_INV)
		fk_execute_inv(fk, &m);
	else
		fk_execute(fk, &m);
}

void fk_invoke(struct fake_kernel *fk, uint64_t id, uint64_t cookie,
	       const uint64_t args[6], uint64_t task, uint32_t pid,
	       const char *comm, const struct fk_range *pre,
	       unsigned int nr_pre)
{
	uint8_t *payload = malloc(DUSK_MAX_DGRAM);
	struct dusk_invoke iv = { 0 };
	uint32_t len = sizeof(iv);
	struct fk_inv *inv = &fk->invs[fk->nr_invs++];
	unsigned int i;

	for (i = 0; i < nr_pre; i++)
		len += dusk_seg_put(payload + len, pre[i].addr,
				    fk_mem(fk, pre[i].addr, pre[i].len),
				    pre[i].len);
	iv.cookie = htole64(cookie);
	for (i = 0; i < DUSK_MAX_CALL_ARGS; i++)
		iv.args[i] = htole64(args ? args[i] : 0);
	iv.task = htole64(task);
	iv.handle = htole32(1);
	iv.pid = htole32(pid);
	iv.tgid = htole32(pid);
	iv.cpu = htole32(1);
	iv.nr_segs = htole32(nr_pre);
	memcpy(iv.comm, comm, strnlen(comm, sizeof(iv.comm)));
	memcpy(payload, &iv, sizeof(iv));
	memset(inv, 0, sizeof(*inv));
	inv->id = id;
	inv->payload = payload;
	inv->len = len;
	fk_send(fk, DUSK_MSG_INVOKE, 0, DUSK_CHAN_INV, id, id, 0, payload, len);
}

void fk_signal(struct fake_kernel *fk, uint64_t inv, uint64_t id, int fatal,
	       uint32_t signo)
{
	struct dusk_signal sg = {
		.fatal = htole32(fatal ? 1 : 0),
		.signo = htole32(signo),
	};

	fk_send(fk, DUSK_MSG_SIGNAL, 0, DUSK_CHAN_INV, id, inv, 0, &sg,
		sizeof(sg));
}

void fk_invoke_again(struct fake_kernel *fk, uint64_t id)
{
	struct fk_inv *inv = fk_inv_find(fk, id);

	if (inv)
		fk_send(fk, DUSK_MSG_INVOKE, 0, DUSK_CHAN_INV, id, id, 0,
			inv->payload, inv->len);
}

/* One HOOK of the records hooks_sent[first..first + nr). */
static void fk_hooks_send(struct fake_kernel *fk, unsigned int first,
			  unsigned int nr)
{
	uint8_t *payload = malloc(DUSK_MAX_DGRAM);
	struct dusk_hook_batch b = {
		.held_from = htole64(fk->held_from),
		.nr = htole32(nr),
	};
	uint32_t len = sizeof(b);
	unsigned int i;

	memcpy(payload, &b, sizeof(b));
	for (i = first; i < first + nr; i++) {
		memcpy(payload + len, fk->hooks_sent[i].payload,
		       fk->hooks_sent[i].len);
		len += fk->hooks_sent[i].len;
	}
	fk_send(fk, DUSK_MSG_HOOK, 0, DUSK_CHAN_MAIN,
		fk->hooks_sent[first].packet, fk->hooks_sent[first].packet, 0,
		payload, len);
	free(payload);
}

void fk_hook(struct fake_kernel *fk, uint64_t packet, unsigned int hook,
	     uint64_t skb, uint64_t state, const struct fk_range *pre,
	     unsigned int nr_pre)
{
	uint8_t *payload = malloc(DUSK_MAX_DGRAM);
	struct dusk_hook_msg hm = { 0 };
	uint32_t len = sizeof(hm);
	unsigned int i;

	for (i = 0; i < nr_pre; i++)
		len += dusk_seg_put(payload + len, pre[i].addr,
				    fk_mem(fk, pre[i].addr, pre[i].len),
				    pre[i].len);
	hm.packet = htole64(packet);
	hm.cookie = htole64(fk->cookies[hook - 1]);
	hm.skb = htole64(skb);
	hm.state = htole64(state);
	hm.handle = htole32(hook);
	hm.nr_segs = htole32(nr_pre);
	hm.cpu = htole32(fk->hook_cpu);
	hm.len = htole32(len - (uint32_t)sizeof(hm));
	memcpy(payload, &hm, sizeof(hm));
	i = fk->nr_hooks_sent++;
	fk->hooks_sent[i].packet = packet;
	fk->hooks_sent[i].payload = payload;
	fk->hooks_sent[i].len = len;
	fk->hooks_sent[i].held = 1;
	if (fk->batch_hooks)
		fk->hooks_waiting++;
	else
		fk_hooks_send(fk, i, 1);
}

void fk_hooks_flush(struct fake_kernel *fk)
{
	if (fk->hooks_waiting)
		fk_hooks_send(fk, fk->nr_hooks_sent - fk->hooks_waiting,
			      fk->hooks_waiting);
	fk->hooks_waiting = 0;
}

void fk_hook_again(struct fake_kernel *fk, uint64_t packet)
{
	unsigned int i;

	for (i = 0; i < fk->nr_hooks_sent; i++)
		if (fk->hooks_sent[i].packet == packet)
			fk_hooks_send(fk, i, 1);
}

/* ---- the runtime's side ---- */

struct fk_transport {
	struct dusk_transport t;
	struct fake_kernel *fk;
};

static int fk_t_send(struct dusk_transport *t, const void *buf, size_t len)
{
	fk_input(((struct fk_transport *)t)->fk, buf, len);
	return 0;
}

static ssize_t fk_t_recv(struct dusk_transport *t, void *buf, size_t cap,
			 uint64_t *ret_rx_ns)
{
	size_t n = fk_output(((struct fk_transport *)t)->fk, buf, cap,
			     ret_rx_ns);

	return n ? (ssize_t)n : -EAGAIN;
}

static int fk_t_fd(struct dusk_transport *t)
{
	return ((struct fk_transport *)t)->fk->evfd;
}

static void fk_t_destroy(struct dusk_transport *t)
{
	free(t);
}

static const struct dusk_transport_ops fk_ops = {
	.name = "fake",
	.send = fk_t_send,
	.recv = fk_t_recv,
	.fd = fk_t_fd,
	.destroy = fk_t_destroy,
};

struct dusk_transport *fk_transport(struct fake_kernel *fk)
{
	struct fk_transport *t = calloc(1, sizeof(*t));

	t->t.ops = &fk_ops;
	t->fk = fk;
	return &t->t;
}

void fk_config(struct dusk_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->target, "fake");
	cfg->heartbeat_ms = 5000;
	cfg->hold_ms = 1000;
	cfg->hold_max = 64;
	cfg->prefetch = 256;
	cfg->window = 16;
	cfg->rto_ms = 5;
	cfg->timeout_ms = 300;
	cfg->watchdog = 0;
}

int fk_session_open(struct fake_kernel *fk, struct dusk_config *cfg,
		    struct dusk_session **ret)
{
	return dusk_session_open_transport(cfg, fk->master, fk_transport(fk),
					   ret);
}
