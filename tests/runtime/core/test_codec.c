// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The codec: round trips of every message type, and every kind of
 * rejection, each with its own errno.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "golden.h"
#include "window.h"
#include "shadow.h"
#include "util.h"

static struct dusk_hmac_key key, other;
static uint8_t buf[DUSK_MAX_DGRAM];

static size_t build(uint8_t type, uint8_t flags, uint32_t session, int32_t status,
		    const void *payload, uint32_t len)
{
	memcpy(dusk_msg_init(buf, type, flags, DUSK_CHAN_MAIN, session, 42, 7,
			     status), payload, len);
	return dusk_msg_seal(buf, len, 9, &key);
}

/* Recompute the MAC after tampering with a field, so that the field's own
 * check is what rejects the datagram. */
static void remac(size_t len)
{
	dusk_hmac_sha256(&key, buf + DUSK_MAC_LEN, len - DUSK_MAC_LEN, buf);
}

static int parse(size_t len, enum dusk_role role)
{
	struct dusk_msg m;

	return dusk_msg_parse(buf, len, &key, role, &m);
}

static void test_round_trips(void)
{
	struct dusk_call call;
	struct dusk_msg m;
	struct dusk_read rd = { htole64(0xffff888000001000ULL), htole32(64), 0 };
	uint8_t pay[256];
	struct dusk_verdict_batch vb = { htole32(1), 0 };
	struct dusk_verdict v = { htole64(77), htole32(1), htole32(2),
				  htole32(16 + 8 + 16 + 8), 0 };
	uint32_t len;
	size_t n;

	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
	CHECK_EQ(n, DUSK_HDR_LEN + sizeof(rd));
	CHECK_EQ(dusk_msg_parse(buf, n, &key, DUSK_ROLE_KERNEL, &m), 0);
	CHECK_EQ(m.type, DUSK_MSG_READ);
	CHECK_EQ(m.session, 5);
	CHECK_EQ(m.seq, 9);
	CHECK_EQ(m.id, 42);
	CHECK_EQ(m.invocation, 7);
	CHECK_EQ(m.len, sizeof(rd));
	CHECK(!memcmp(m.payload, &rd, sizeof(rd)));
	/* The same message the other way round is not accepted. */
	CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -EOPNOTSUPP);

	/* A READ reply, an error reply, a PING reply. */
	memset(pay, 0x5a, sizeof(pay));
	n = build(DUSK_MSG_READ, DUSK_F_REPLY, 5, 0, pay, 64);
	CHECK_EQ(dusk_msg_parse(buf, n, &key, DUSK_ROLE_RUNTIME, &m), 0);
	CHECK_EQ(m.len, 64);
	n = build(DUSK_MSG_READ, DUSK_F_REPLY, 5, -EFAULT, NULL, 0);
	CHECK_EQ(dusk_msg_parse(buf, n, &key, DUSK_ROLE_RUNTIME, &m), 0);
	CHECK_EQ(m.status, -EFAULT);
	n = build(DUSK_MSG_PING, DUSK_F_REPLY, 5, 0, pay,
		  sizeof(struct dusk_stats));
	CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), 0);

	/* A CALL with two segments, one needing padding. */
	memset(&call, 0, sizeof(call));
	call.fn = htole64(0xffffffff81000000ULL);
	call.nargs = htole32(2);
	call.nr_segs = htole32(2);
	memcpy(pay, &call, sizeof(call));
	len = sizeof(call);
	len += dusk_seg_put(pay + len, 0xffff888000000100ULL, "abcde", 5);
	CHECK_EQ(len, sizeof(call) + 16 + 8);
	CHECK(!memcmp(pay + sizeof(call) + 16 + 5, "\0\0\0", 3));	/* padded */
	len += dusk_seg_put(pay + len, 0xffff888000000200ULL, "12345678", 8);
	n = build(DUSK_MSG_CALL, 0, 5, 0, pay, len);
	CHECK_EQ(dusk_msg_parse(buf, n, &key, DUSK_ROLE_KERNEL, &m), 0);
	{
		struct dusk_seg_iter it;
		const void *data;
		uint64_t addr;
		uint32_t l;

		dusk_seg_iter_init(&it, m.payload + sizeof(call),
				   m.len - sizeof(call), 2);
		CHECK_EQ(dusk_seg_next(&it, &addr, &data, &l), 1);
		CHECK(addr == 0xffff888000000100ULL && l == 5 &&
		      !memcmp(data, "abcde", 5));
		CHECK_EQ(dusk_seg_next(&it, &addr, &data, &l), 1);
		CHECK(addr == 0xffff888000000200ULL && l == 8 &&
		      !memcmp(data, "12345678", 8));
		CHECK_EQ(dusk_seg_next(&it, &addr, &data, &l), 0);
	}

	/* HOOK (kernel to runtime) with no segment; VERDICT the other way. */
	{
		struct {
			struct dusk_hook_batch b;
			struct dusk_hook_msg hm;
		} hook = { { htole64(1), htole32(1), 0 },
			   { htole64(1), htole64(2), htole64(3), htole64(4),
			     htole32(1), 0, 0, 0 } };

		n = build(DUSK_MSG_HOOK, 0, 5, 0, &hook, sizeof(hook));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), 0);
		CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EOPNOTSUPP);
		/* Two records said, one there. */
		hook.b.nr = htole32(2);
		n = build(DUSK_MSG_HOOK, 0, 5, 0, &hook, sizeof(hook));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);
		/* Bytes after the last record. */
		hook.b.nr = 0;
		n = build(DUSK_MSG_HOOK, 0, 5, 0, &hook, sizeof(hook));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);
		hook.b.nr = htole32(1);
		hook.b.pad = htole32(1);
		n = build(DUSK_MSG_HOOK, 0, 5, 0, &hook, sizeof(hook));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -EILSEQ);
	}
	memcpy(pay, &vb, sizeof(vb));
	memcpy(pay + sizeof(vb), &v, sizeof(v));
	len = sizeof(vb) + sizeof(v);
	len += dusk_seg_put(pay + len, 0xffff888000000300ULL, "x", 1);
	len += dusk_seg_put(pay + len, 0xffff888000000400ULL, "yz", 2);
	n = build(DUSK_MSG_VERDICT, 0, 5, 0, pay, len);
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), 0);
	CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -EOPNOTSUPP);
	/* Nobody answers a VERDICT: a reply to one is malformed. */
	n = build(DUSK_MSG_VERDICT, DUSK_F_REPLY, 5, 0, NULL, 0);
	CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);

	/* HELLO and its reply live in session 0. */
	{
		struct {
			struct dusk_hello_reply r;
			struct dusk_region reg[2];
		} __attribute__((packed)) hr;
		struct dusk_hello h;

		memset(&h, 0, sizeof(h));
		n = build(DUSK_MSG_HELLO, 0, 0, 0, &h, sizeof(h));
		CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), 0);
		memset(&hr, 0, sizeof(hr));
		hr.r.nr_regions = htole32(2);
		n = build(DUSK_MSG_HELLO, DUSK_F_REPLY, 0, 0, &hr, sizeof(hr));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), 0);
		/* nr_regions says 3: the length is wrong for it. */
		hr.r.nr_regions = htole32(3);
		n = build(DUSK_MSG_HELLO, DUSK_F_REPLY, 0, 0, &hr, sizeof(hr));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);
		/* A region's pad must be zero. */
		hr.r.nr_regions = htole32(2);
		hr.reg[1].pad = htole32(1);
		n = build(DUSK_MSG_HELLO, DUSK_F_REPLY, 0, 0, &hr, sizeof(hr));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -EILSEQ);
		/* HELLO in a session, or anything else in session 0. */
		hr.reg[1].pad = 0;
		n = build(DUSK_MSG_HELLO, DUSK_F_REPLY, 5, 0, &hr, sizeof(hr));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ESRCH);
		n = build(DUSK_MSG_PING, DUSK_F_REPLY, 0, 0, pay,
			  sizeof(struct dusk_stats));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ESRCH);
	}

	/* HELLO's cookie reply: -EAGAIN with struct dusk_hello_cookie,
	 * the one error reply with a payload; exactly that one. */
	{
		struct dusk_hello_cookie c;

		memset(&c, 0x5a, sizeof(c));
		n = build(DUSK_MSG_HELLO, DUSK_F_REPLY, 0, -EAGAIN, &c,
			  sizeof(c));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), 0);
		n = build(DUSK_MSG_HELLO, DUSK_F_REPLY, 0, -EAGAIN, &c,
			  sizeof(c) - 1);
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);
		n = build(DUSK_MSG_HELLO, DUSK_F_REPLY, 0, -EAGAIN, &c, 0);
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);
		n = build(DUSK_MSG_HELLO, DUSK_F_REPLY, 0, -EINVAL, &c,
			  sizeof(c));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);
		n = build(DUSK_MSG_READ, DUSK_F_REPLY, 5, -EAGAIN, &c,
			  sizeof(c));
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);
	}
}

static void test_rejections(void)
{
	struct dusk_hdr *h = (struct dusk_hdr *)buf;
	struct dusk_msg m;
	uint8_t pay[128];
	size_t n;
	struct dusk_read rd = { htole64(0xffff888000001000ULL), htole32(64), 0 };

	memset(pay, 0, sizeof(pay));
	/* MAC: a flipped payload bit, a flipped MAC bit, the wrong key. */
	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
	buf[n - 1] ^= 1;
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EBADMSG);
	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
	buf[3] ^= 0x80;
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EBADMSG);
	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
	CHECK_EQ(dusk_msg_parse(buf, n, &other, DUSK_ROLE_KERNEL, &m), -EBADMSG);

	/* Magic. */
	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
	h->magic = htole32(DUSK_MAGIC + 1);
	remac(n);
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EPROTO);

	/* Version: rejected, but the header is readable (HELLO refusal). */
	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
	h->version = DUSK_PROTO_VERSION + 1;
	remac(n);
	CHECK_EQ(dusk_msg_parse(buf, n, &key, DUSK_ROLE_KERNEL, &m),
		 -EPROTONOSUPPORT);
	CHECK_EQ(m.version, DUSK_PROTO_VERSION + 1);
	CHECK_EQ(m.type, DUSK_MSG_READ);

	/* Type: invalid, past the end, or not for this side. */
	n = build(DUSK_MSG_INVALID, 0, 5, 0, NULL, 0);
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EOPNOTSUPP);
	n = build(__DUSK_MSG_MAX, 0, 5, 0, NULL, 0);
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EOPNOTSUPP);
	n = build(DUSK_MSG_HOOK, DUSK_F_REPLY, 5, 0, NULL, 0);
	CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -EOPNOTSUPP);
	n = build(DUSK_MSG_PING, 0, 5, 0, NULL, 0);
	CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -EOPNOTSUPP);

	/* Channel. */
	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
	h->channel = __DUSK_CHAN_MAX;
	remac(n);
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -ECHRNG);

	/* Flags: in the header, and in a message's own flags field. */
	n = build(DUSK_MSG_READ, 0x80, 5, 0, &rd, sizeof(rd));
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EINVAL);
	{
		struct dusk_alloc a = { htole64(64), htole32(0x100), 0 };
		struct dusk_call c;

		n = build(DUSK_MSG_ALLOC, 0, 5, 0, &a, sizeof(a));
		CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EINVAL);
		a.flags = htole32(DUSK_ALLOC_ZERO);
		n = build(DUSK_MSG_ALLOC, 0, 5, 0, &a, sizeof(a));
		CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), 0);
		memset(&c, 0, sizeof(c));
		c.flags = htole32(1);
		n = build(DUSK_MSG_CALL, 0, 5, 0, &c, sizeof(c));
		CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EINVAL);
	}

	/* Reserved, pad and status fields. */
	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
	h->reserved = htole32(1);
	remac(n);
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EILSEQ);
	n = build(DUSK_MSG_READ, 0, 5, -1, &rd, sizeof(rd));
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EILSEQ);	/* status in a request */
	n = build(DUSK_MSG_WRITE, DUSK_F_REPLY, 5, 1, NULL, 0);
	CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -EILSEQ);	/* positive status */
	rd.pad = htole32(1);
	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EILSEQ);
	rd.pad = 0;

	/* Length: short datagram, hdr.len not the rest, wrong for the type. */
	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
	CHECK_EQ(parse(DUSK_HDR_LEN - 1, DUSK_ROLE_KERNEL), -EMSGSIZE);
	CHECK_EQ(parse(n - 1, DUSK_ROLE_KERNEL), -EMSGSIZE);
	h->len = htole32(sizeof(rd) + 1);
	remac(n);
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -EMSGSIZE);
	n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd) - 8);
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -ERANGE);		/* exact */
	n = build(DUSK_MSG_PING, 0, 5, 0, pay, 8);
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -ERANGE);		/* exact 0 */
	n = build(DUSK_MSG_READ, DUSK_F_REPLY, 5, 0, NULL, 0);
	CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);		/* min 1 */
	n = build(DUSK_MSG_CALL, DUSK_F_REPLY, 5, 0, pay, 7);
	CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);
	n = build(DUSK_MSG_SYM, 0, 5, 0, NULL, 0);
	CHECK_EQ(parse(n, DUSK_ROLE_KERNEL), -ERANGE);
	n = build(DUSK_MSG_READ, DUSK_F_REPLY, 5, -EFAULT, pay, 8);
	CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);	/* error with payload */

	/* Segments that do not fill the record exactly, or a bad pad. */
	{
		struct dusk_hook_batch b = { htole64(1), htole32(1), 0 };
		struct dusk_hook_msg hm = { 0 };
		const uint32_t at = sizeof(b) + sizeof(hm);	/* the segment */
		uint32_t len = at;

		memcpy(pay, &b, sizeof(b));
		len += dusk_seg_put(pay + len, 0xffff888000000000ULL, "abcdefgh", 8);
		hm.len = htole32(len - at);
		hm.nr_segs = htole32(2);
		memcpy(pay + sizeof(b), &hm, sizeof(hm));
		n = build(DUSK_MSG_HOOK, 0, 5, 0, pay, len);
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);	/* one missing */
		hm.nr_segs = htole32(0);
		memcpy(pay + sizeof(b), &hm, sizeof(hm));
		n = build(DUSK_MSG_HOOK, 0, 5, 0, pay, len);
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);	/* one too many */
		hm.nr_segs = htole32(1);
		memcpy(pay + sizeof(b), &hm, sizeof(hm));
		n = build(DUSK_MSG_HOOK, 0, 5, 0, pay, len);
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), 0);
		n = build(DUSK_MSG_HOOK, 0, 5, 0, pay, len - 1);
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);	/* cut short */
		pay[at + 12] = 1;				/* seg.pad */
		n = build(DUSK_MSG_HOOK, 0, 5, 0, pay, len);
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -EILSEQ);
		pay[at + 12] = 0;
		/* A length that would run past the end (and wrap). */
		pay[at + 8] = 0xff;
		pay[at + 9] = 0xff;
		pay[at + 10] = 0xff;
		pay[at + 11] = 0xff;
		n = build(DUSK_MSG_HOOK, 0, 5, 0, pay, len);
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);
		/* A record's len past the end. */
		hm.len = htole32(0xfffffff8U);
		memcpy(pay + sizeof(b), &hm, sizeof(hm));
		n = build(DUSK_MSG_HOOK, 0, 5, 0, pay, len);
		CHECK_EQ(parse(n, DUSK_ROLE_RUNTIME), -ERANGE);
	}

	/* Replay: a valid datagram accepted once in its channel's window. */
	{
		struct dusk_seq_window r;

		dusk_seq_window_init(&r);
		n = build(DUSK_MSG_READ, 0, 5, 0, &rd, sizeof(rd));
		CHECK_EQ(dusk_msg_parse(buf, n, &key, DUSK_ROLE_KERNEL, &m), 0);
		CHECK_EQ(dusk_seq_window_accept(&r, m.seq), 0);
		CHECK_EQ(dusk_msg_parse(buf, n, &key, DUSK_ROLE_KERNEL, &m), 0);
		CHECK_EQ(dusk_seq_window_accept(&r, m.seq), -EALREADY);
	}
}

/* Packing runs into messages of limited room: split where needed, every
 * byte once, in order. */
static void test_segs_pack(void)
{
	static uint8_t data[6000], out[6000], msg[256];
	static const uint32_t lens[] = { 100, 3, 5000, 8, 1 };
	struct dusk_segs_cursor cur = { 0 };
	struct dusk_segs segs;
	uint64_t addr, base = 0xffff888000010000ULL, off = 0;
	size_t i, used, total = 0, msgs = 0;
	uint32_t nr, l;
	int ok = 1, fits = 1;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	dusk_segs_init(&segs);
	for (i = 0; i < DUSK_ARRAY_SIZE(lens); i++) {
		/* Gaps between runs: they do not merge. */
		dusk_segs_add(&segs, base + off + i, data + off, lens[i]);
		off += lens[i];
	}
	CHECK_EQ(segs.n, DUSK_ARRAY_SIZE(lens));
	while (cur.i < segs.n) {
		struct dusk_seg_iter it;
		const void *d;

		used = dusk_segs_pack(&segs, &cur, msg, sizeof(msg), &nr);
		if (used > sizeof(msg) || !nr)
			fits = 0;
		if (!nr)
			break;
		msgs++;
		CHECK_EQ(dusk_segs_validate(msg, used, nr), 0);
		dusk_seg_iter_init(&it, msg, used, nr);
		while (dusk_seg_next(&it, &addr, &d, &l)) {
			memcpy(out + total, d, l);
			/* Address continuity: base + offset + index of run. */
			if (addr < base + total || addr > base + total + 4)
				ok = 0;
			total += l;
		}
	}
	CHECK(fits);
	CHECK(ok);
	CHECK_EQ(total, off);
	CHECK(!memcmp(out, data, off));
	CHECK(msgs >= 5000 / 256);
	dusk_segs_deinit(&segs);

	/* Adjacent runs merge into one. */
	dusk_segs_init(&segs);
	dusk_segs_add(&segs, base, data, 10);
	dusk_segs_add(&segs, base + 10, data + 10, 6);
	CHECK_EQ(segs.n, 1);
	CHECK_EQ(segs.v[0].len, 16);
	dusk_segs_deinit(&segs);
}

/* ---- golden datagrams of the independent wire client (golden.py) ---- */

static struct dusk_hmac_key gkey;

/* The runtime's requests, built by the codec, byte for byte as the
 * protocol's text says. */
static void test_golden_build(void)
{
	struct dusk_call call = { 0 };
	struct dusk_verdict_batch vb = { 0 };
	struct dusk_verdict v = { 0 };
	static const uint8_t commit[] = { 0x2a, 0, 0, 0, 7 };
	uint8_t *p;
	size_t len;

	p = dusk_msg_init(buf, DUSK_MSG_CALL, 0, DUSK_CHAN_MAIN,
			  GOLDEN_SESSION, 17, 99, 0);
	call.fn = htole64(0xffffffff81234560ULL);
	call.args[0] = htole64(1);
	call.args[1] = htole64(0xffff888000001000ULL);
	call.args[2] = htole64(3);
	call.nargs = htole32(3);
	call.nr_segs = htole32(1);
	call.probe[1].kind = DUSK_PROBE_STR;
	call.probe[1].flags = DUSK_PROBE_F_NULL_OK;
	call.probe[1].size = htole32(DUSK_PROBE_STR_MAX);
	memcpy(p, &call, sizeof(call));
	len = sizeof(call) + dusk_seg_put(p + sizeof(call), 0xffff888000002008ULL,
					  commit, sizeof(commit));
	len = dusk_msg_seal(buf, (uint32_t)len, 5, &gkey);
	CHECK_EQ(len, sizeof(golden_call));
	CHECK(!memcmp(buf, golden_call, sizeof(golden_call)));

	p = dusk_msg_init(buf, DUSK_MSG_VERDICT, 0, DUSK_CHAN_MAIN,
			  GOLDEN_SESSION, 18, 99, 0);
	vb.nr = htole32(2);
	memcpy(p, &vb, sizeof(vb));
	len = sizeof(vb);
	v.packet = htole64(99);
	v.verdict = htole32(1);
	memcpy(p + len, &v, sizeof(v));
	len += sizeof(v);
	v.packet = htole64(100);
	v.verdict = 0;
	v.nr_segs = htole32(1);
	v.len = htole32(dusk_seg_size(1));
	memcpy(p + len, &v, sizeof(v));
	len += sizeof(v);
	len += dusk_seg_put(p + len, 0xffff888000003000ULL, "\x5e", 1);
	len = dusk_msg_seal(buf, (uint32_t)len, 6, &gkey);
	CHECK_EQ(len, sizeof(golden_verdict));
	CHECK(!memcmp(buf, golden_verdict, sizeof(golden_verdict)));

	dusk_msg_init(buf, DUSK_MSG_PING, 0, DUSK_CHAN_WATCHDOG, GOLDEN_SESSION,
		      1, 0, 0);
	len = dusk_msg_seal(buf, 0, 2, &gkey);
	CHECK_EQ(len, sizeof(golden_watchdog_ping));
	CHECK(!memcmp(buf, golden_watchdog_ping, sizeof(golden_watchdog_ping)));
}

/* The kernel's messages, as the protocol's text lays them out, parsed. */
static void test_golden_parse(void)
{
	struct dusk_batch_iter bi;
	struct dusk_hook_batch hb;
	struct dusk_hook_msg hm;
	struct dusk_seg_iter it;
	const uint8_t *rec;
	const void *data;
	struct dusk_msg m;
	uint64_t addr;
	uint32_t n, rec_len;
	uint8_t first[64];
	unsigned int i;

	CHECK_EQ(dusk_msg_parse(golden_hook, sizeof(golden_hook), &gkey,
				DUSK_ROLE_RUNTIME, &m), 0);
	CHECK_EQ(m.type, DUSK_MSG_HOOK);
	CHECK_EQ(m.flags, 0);
	CHECK_EQ(m.session, GOLDEN_SESSION);
	CHECK_EQ(m.seq, 3);
	CHECK_EQ(m.id, 99);
	CHECK_EQ(m.invocation, 99);
	memcpy(&hb, m.payload, sizeof(hb));
	CHECK_EQ(le64toh(hb.held_from), 98);
	CHECK_EQ(le32toh(hb.nr), 2);
	CHECK_EQ(dusk_batch_iter_init(&bi, &m), 0);
	CHECK_EQ(dusk_batch_next(&bi, &rec, &rec_len), 1);
	memcpy(&hm, rec, sizeof(hm));
	CHECK_EQ(le64toh(hm.packet), 99);
	CHECK_EQ(le64toh(hm.cookie), 7);
	CHECK_EQ(le64toh(hm.skb), 0xffff888000003000ULL);
	CHECK_EQ(le64toh(hm.state), 0xffffc90000004000ULL);
	CHECK_EQ(le32toh(hm.handle), 2);
	CHECK_EQ(le32toh(hm.cpu), 1);
	CHECK_EQ(rec_len, sizeof(hm) + le32toh(hm.len));
	dusk_seg_iter_init(&it, rec + sizeof(hm), rec_len - sizeof(hm),
			   le32toh(hm.nr_segs));
	for (i = 0; i < sizeof(first); i++)
		first[i] = (uint8_t)i;
	CHECK_EQ(dusk_seg_next(&it, &addr, &data, &n), 1);
	CHECK_EQ(addr, 0xffff888000003000ULL);
	CHECK_EQ(n, 64);
	CHECK(!memcmp(data, first, sizeof(first)));
	CHECK_EQ(dusk_seg_next(&it, &addr, &data, &n), 1);
	CHECK_EQ(addr, 0xffff888000003ec0ULL);
	CHECK_EQ(n, 4);
	CHECK(!memcmp(data, "\x45\0\0\x54", 4));
	CHECK_EQ(dusk_seg_next(&it, &addr, &data, &n), 0);
	CHECK_EQ(dusk_batch_next(&bi, &rec, &rec_len), 1);
	memcpy(&hm, rec, sizeof(hm));
	CHECK_EQ(le64toh(hm.packet), 100);
	CHECK_EQ(le64toh(hm.skb), 0xffff888000005000ULL);
	CHECK_EQ(rec_len, sizeof(hm));
	CHECK_EQ(dusk_batch_next(&bi, &rec, &rec_len), 0);

	CHECK_EQ(dusk_msg_parse(golden_read_reply, sizeof(golden_read_reply),
				&gkey, DUSK_ROLE_RUNTIME, &m), 0);
	CHECK_EQ(m.flags, DUSK_F_REPLY);
	CHECK_EQ(m.type, DUSK_MSG_READ);
	CHECK_EQ(m.id, 16);
	CHECK_EQ(m.status, 0);
	CHECK_EQ(m.len, 12);
	CHECK(!memcmp(m.payload, "dusk golden", 12));

	CHECK_EQ(dusk_msg_parse(golden_efault, sizeof(golden_efault), &gkey,
				DUSK_ROLE_RUNTIME, &m), 0);
	CHECK_EQ(m.status, -EFAULT);
	CHECK_EQ(m.len, 0);

	CHECK_EQ(dusk_msg_parse(golden_hello_cookie, sizeof(golden_hello_cookie),
				&gkey, DUSK_ROLE_RUNTIME, &m), 0);
	CHECK_EQ(m.type, DUSK_MSG_HELLO);
	CHECK_EQ(m.session, 0);
	CHECK_EQ(m.id, 1);
	CHECK_EQ(m.status, -EAGAIN);
	CHECK_EQ(m.len, sizeof(struct dusk_hello_cookie));
	CHECK_EQ(m.payload[0], 0xc0);
	CHECK_EQ(m.payload[DUSK_NONCE_LEN], 0xc1);

	/* The same bytes, one flipped: not authentic. */
	memcpy(buf, golden_hook, sizeof(golden_hook));
	buf[sizeof(golden_hook) - 1] ^= 1;
	CHECK_EQ(dusk_msg_parse(buf, sizeof(golden_hook), &gkey,
				DUSK_ROLE_RUNTIME, &m), -EBADMSG);
}

int main(void)
{
	dusk_hmac_key_init(&key, "0123456789abcdef0123456789abcdef", 32);
	dusk_hmac_key_init(&other, "0123456789abcdef0123456789abcdeF", 32);
	dusk_hmac_key_init(&gkey, golden_key, sizeof(golden_key));
	test_golden_build();
	test_golden_parse();
	test_round_trips();
	test_rejections();
	test_segs_pack();
	return check_done("test_codec");
}
