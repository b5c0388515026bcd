// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer over dusk.ko's request path, built for user space: kmod/msg.c
 * (header checks, message table), auth.c (MAC, sealing, replay window),
 * dispatch.c (table rules, request ids, kept replies, segments) and mem.c
 * (READ, WRITE and the kernel-address rule), unchanged, with kshim.h for
 * the kernel. The loop's order is followed: dusk_dgram_check(), the MAC,
 * dusk_hdr_check(), the replay window, dusk_dispatch(); a datagram on
 * DUSK_CHAN_INV goes, as invoke.c routes it, to the one invocation there
 * is (id 1: dusk_dispatch_inv(), executed as its caller would, with its
 * own reply buffer) or gets -ESRCH.
 *
 * An input is a config (2 bytes: paging levels, agreed max_dgram) then
 * records of one datagram each: ctl (1 byte), length (le16), bytes. The
 * ctl bits fix up header fields so that the fuzzer gets past them, and
 * every datagram is signed with the session key (bit 4: then spoiled), so
 * that what lies behind the MAC is fuzzed.
 *
 * Beyond what ASan and UBSan catch, it checks: a spoiled MAC is refused
 * and a good one accepted; every request dispatched gets exactly one
 * reply (a VERDICT none), within the agreed max_dgram; a reply to a request the table
 * allows passes the runtime's codec (fuzz_peer.c), an error reply to one
 * it does not says -EBADMSG; a request with side effects runs at most
 * once per id; the nofault accessors are given only addresses in the
 * kernel half, never the vsyscall page (issue 11).
 */
#include <linux/types.h>

#include "dusk_kmod.h"
#include "fuzz_peer.h"

#define FUZZ_SID	0x5e551011U
#define FUZZ_RECORDS	16

struct dusk dusk;
struct cpuinfo_x86 boot_cpu_data;

static const u8 fuzz_master[DUSK_KEY_LEN] = "dusk-fuzz-master-key-0123456789";
static const u8 fuzz_cnonce[DUSK_NONCE_LEN] = "client-nonce-16";
static const u8 fuzz_snonce[DUSK_NONCE_LEN] = "server-nonce-16";

static struct dusk_session fuzz_session;

/* The one invocation in flight, and its caller's record of requests. */
#define FUZZ_INV	1
static struct dusk_inv_rec fuzz_inv_rec;

/* The request being dispatched, and what happened to it. */
static struct {
	const struct dusk_hdr *req;
	unsigned int replies;
	const char *ended;
	/* (channel, id) of requests with side effects executed */
	u64 done_id[FUZZ_RECORDS];
	u8 done_ch[FUZZ_RECORDS];
	unsigned int nr_done;
} fz;

/* A message of a type nobody answers (VERDICT) that the table lets
 * through on the main channels: dispatched without a reply. */
static bool fuzz_unanswered(const struct dusk_hdr *hdr)
{
	const struct dusk_msg_rule *rule = dusk_msg_rule(hdr->type);

	return rule && rule->rep_kind == DUSK_SIZE_NONE && hdr->id &&
	       hdr->channel != DUSK_CHAN_INV &&
	       !dusk_msg_check(hdr->type, hdr->channel,
			       le32_to_cpu(hdr->len));
}

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_kmod: %s\n", what);
	abort();
}

/* The kernel half of this boot's address space, minus the vsyscall page:
 * what the nofault accessors may be given. */
static void fuzz_check_kernel_range(u64 addr, size_t len)
{
	u8 bits = boot_cpu_data.x86_virt_bits;
	u64 lowest = ~0ULL << (bits - 1), last = addr + len - 1;

	if (!len || last < addr || addr < lowest)
		fuzz_fail("nofault accessor given an address outside the kernel half");
	if (addr < VSYSCALL_ADDR + PAGE_SIZE && last >= VSYSCALL_ADDR)
		fuzz_fail("nofault accessor given the vsyscall page");
}

long copy_from_kernel_nofault(void *dst, const void *src, size_t size)
{
	fuzz_check_kernel_range((unsigned long)src, size);
	memset(dst, 0xa5, size);
	return 0;
}

static volatile u8 fuzz_sink;

static long fuzz_copy_to_kernel_nofault(void *dst, const void *src,
					size_t size)
{
	const u8 *p = src;
	u8 sum = 0;
	size_t i;

	fuzz_check_kernel_range((unsigned long)dst, size);
	for (i = 0; i < size; i++)
		sum += p[i];
	fuzz_sink = sum;
	return 0;
}

unsigned long dusk_ksym(const char *name)
{
	if (!strcmp(name, "copy_to_kernel_nofault"))
		return (unsigned long)fuzz_copy_to_kernel_nofault;
	return 0;
}

/* transport.c's send, less the socket: seal it, then read it as the
 * runtime would. */
int dusk_send(struct dusk_session *s, unsigned int channel,
	      const struct sockaddr_in *to, void *dgram, size_t payload_len)
{
	const struct dusk_hdr *req = fz.req, *rep = dgram;
	size_t len = sizeof(*rep) + payload_len;
	int32_t status;
	int err;

	/* The thread's buffer, the invocation's, or a header of its own. */
	if (s != &fuzz_session || !req ||
	    (dgram != dusk.tx_buf && dgram != fuzz_inv_rec.buf && payload_len))
		fuzz_fail("reply outside a request");
	if (len > s->params.max_dgram)
		fuzz_fail("reply longer than the agreed max_dgram");
	fz.replies++;
	dusk_seal(s, channel, dgram, payload_len);
	if (rep->type != req->type || rep->channel != req->channel ||
	    rep->id != req->id || rep->invocation != req->invocation ||
	    !(rep->flags & DUSK_F_REPLY))
		fuzz_fail("reply does not name its request");
	err = fuzz_peer_parse(dgram, len, &status);
	if (!dusk_msg_check(req->type, req->channel, le32_to_cpu(req->len)) &&
	    req->id && req->channel == DUSK_CHAN_INV &&
	    le64_to_cpu(req->invocation) != FUZZ_INV) {
		if (status != -ESRCH)
			fuzz_fail("a datagram of no invocation got other than -ESRCH");
	} else if (!dusk_msg_check(req->type, req->channel,
				   le32_to_cpu(req->len)) && req->id) {
		if (err) {
			fprintf(stderr, "fuzz_kmod: reply to type %u on channel %u, status %d, %zu bytes: codec says %d\n",
				req->type, req->channel, (int)le32_to_cpu(rep->status),
				payload_len, err);
			fuzz_fail("the runtime's codec refuses a reply of dusk.ko");
		}
	} else if (status != -EBADMSG) {
		fuzz_fail("a request the table refuses got other than -EBADMSG");
	}
	return 0;
}

void dusk_session_end(struct dusk_session *s, const char *why)
{
	fz.ended = why;
}

void dusk_inv_end_session(struct dusk_session *s, const char *why)
{
	fz.ended = why;
}

/*
 * Stand-ins for the handlers of the files not built here (call.c,
 * ksym.c, alloc.c, nf_hook.c, pktq.c): they read their whole payload,
 * apply its segments as the table describes them, check that a request
 * with side effects runs once per id, and answer the table's reply size.
 */
static int fuzz_handler(struct dusk_req *r)
{
	const struct dusk_msg_rule *rule = dusk_msg_rule(r->hdr->type);
	const u8 *p = r->payload;
	u64 id = le64_to_cpu(r->hdr->id);
	u32 nr_segs, i;
	u8 sum = 0;
	int ret;

	for (i = 0; i < r->len; i++)
		sum += p[i];
	fuzz_sink = sum;
	/* VERDICT: nobody answers it, and it has no reply area. */
	if (rule->rep_kind == DUSK_SIZE_NONE) {
		if (r->reply)
			fuzz_fail("a reply area for a message nobody answers");
		return 0;
	}
	/* An invocation executes each of its ids once, whatever the type. */
	if (rule->keep || r->hdr->channel == DUSK_CHAN_INV) {
		for (i = 0; i < fz.nr_done; i++)
			if (fz.done_id[i] == id &&
			    fz.done_ch[i] == r->hdr->channel)
				fuzz_fail("a request with side effects ran twice");
		if (fz.nr_done < FUZZ_RECORDS) {
			fz.done_id[fz.nr_done] = id;
			fz.done_ch[fz.nr_done++] = r->hdr->channel;
		}
	}
	if (rule->kind == DUSK_SIZE_SEGS) {
		memcpy(&nr_segs, p + rule->segs_at, sizeof(nr_segs));
		ret = dusk_segs_apply(p + rule->size, r->len - rule->size,
				      le32_to_cpu(nr_segs));
		if (ret)
			return ret;
	}
	if ((id & 3) == 3)
		return -ENOENT;
	if (rule->rep_size > r->reply_max)
		fuzz_fail("reply_max below the table's reply size");
	memset(r->reply, 0x5a, rule->rep_size);
	r->reply_len = rule->rep_size;
	return 0;
}

int dusk_do_call(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_sym(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_alloc(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_free(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_hook_register(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_hook_unregister(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_verdict(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_return(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_uaccess(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_proxy_register(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_proxy_unregister(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_kthread_create(struct dusk_req *r) { return fuzz_handler(r); }
int dusk_do_kthread_stop(struct dusk_req *r) { return fuzz_handler(r); }

/* PING's per-hook counts (nf_hook.c): the stand-ins register none. */
u32 dusk_hooks_count(struct dusk_session *s, void *p, u32 max)
{
	return 0;
}

/* PING's open files (proxy.c): the stand-ins have no tables. */
u64 dusk_proxies_open_files(struct dusk_session *s)
{
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct dusk_reply_slot replies[__DUSK_CHAN_MAX][DUSK_ID_WINDOW];

	dusk.tx_buf = malloc(DUSK_MAX_DGRAM);
	fuzz_inv_rec.buf = malloc(DUSK_MAX_DGRAM);
	if (!dusk.tx_buf || !fuzz_inv_rec.buf || dusk_mem_init())
		abort();
	memcpy(dusk.master, fuzz_master, DUSK_KEY_LEN);
	dusk_mac_key_init(&dusk.master_key, dusk.master, DUSK_KEY_LEN);
	fuzz_session.replies = replies;
	fuzz_peer_key(fuzz_master, fuzz_cnonce, fuzz_snonce, FUZZ_SID);
	return 0;
}

/* A fresh session, as HELLO and its first request leave it. */
static void fuzz_session_reset(const u8 *cfg)
{
	struct dusk_session *s = &fuzz_session;
	struct dusk_reply_slot (*replies)[DUSK_ID_WINDOW] = s->replies;
	u32 max_dgram = DUSK_MIN_DGRAM + (cfg[1] | (u32)cfg[0] >> 1 << 8) * 4;

	memset(s, 0, sizeof(*s));
	memset(replies, 0, __DUSK_CHAN_MAX * sizeof(*replies));
	s->replies = replies;
	s->id = FUZZ_SID;
	s->active = true;
	s->params.max_dgram = min_t(u32, max_dgram, DUSK_MAX_DGRAM);
	memcpy(s->client_nonce, fuzz_cnonce, DUSK_NONCE_LEN);
	memcpy(s->server_nonce, fuzz_snonce, DUSK_NONCE_LEN);
	dusk_session_key(dusk.master, s->client_nonce, s->server_nonce, s->id,
			 &s->key);
	boot_cpu_data.x86_virt_bits = cfg[0] & 1 ? 57 : 48;
	fuzz_inv_rec.last_id = 0;
	fuzz_inv_rec.last_len = 0;
	fuzz_inv_rec.last_type = 0;
	fuzz_inv_rec.buf_len = s->params.max_dgram;
	memset(&dusk.cnt, 0, sizeof(dusk.cnt));
	memset(&fz, 0, sizeof(fz));
}

/* One datagram, as loop.c's dusk_rx_one() takes it. */
static void fuzz_datagram(u8 ctl, const u8 *data, size_t len)
{
	struct dusk_session *s = &fuzz_session;
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct dusk_hdr *hdr;
	u8 *buf = malloc(len ? len : 1);	/* exactly len: ASan sees past it */
	bool spoil = ctl & 0x10, ok;

	memcpy(buf, data, len);
	hdr = (struct dusk_hdr *)buf;
	if (len >= sizeof(*hdr)) {
		if (ctl & 1)
			hdr->len = cpu_to_le32(len - sizeof(*hdr));
		if (ctl & 2)
			hdr->magic = cpu_to_le32(DUSK_MAGIC);
		if (ctl & 4)
			hdr->session = cpu_to_le32(FUZZ_SID);
		if (ctl & 8) {
			hdr->version = DUSK_PROTO_VERSION;
			hdr->flags = 0;
			hdr->reserved = 0;
		}
		dusk_mac_sign(hdr->session ? &s->key : &dusk.master_key,
			      buf, len);
		if (spoil)
			buf[ctl & 31] ^= 1 << (ctl >> 5);
	}
	if (dusk_dgram_check(buf, len))
		goto out;
	if (!hdr->session) {
		/* HELLO: session.c's, not built here. */
		if (dusk_mac_ok(&dusk.master_key, buf, len) == spoil)
			fuzz_fail("master-key MAC check wrong");
		goto out;
	}
	if (le32_to_cpu(hdr->session) != FUZZ_SID)
		goto out;
	ok = dusk_mac_ok(&s->key, buf, len);
	if (ok == spoil)
		fuzz_fail("session MAC check wrong");
	if (!ok || dusk_hdr_check(hdr) ||
	    !dusk_replay_check(&s->replay[hdr->channel],
			       le64_to_cpu(hdr->seq)))
		goto out;
	fz.req = hdr;
	fz.replies = 0;
	if (hdr->channel != DUSK_CHAN_INV)
		dusk_dispatch(s, hdr, &from);
	else if (le64_to_cpu(hdr->invocation) == FUZZ_INV)
		dusk_dispatch_inv(s, NULL, &fuzz_inv_rec, hdr, &from);
	else
		dusk_reply_status(s, hdr, &from,
				  dusk_inv_check(hdr) ? -EBADMSG : -ESRCH);
	if (fz.replies != (fuzz_unanswered(hdr) ? 0 : 1))
		fuzz_fail("a request got other than one reply (none: VERDICT)");
	fz.req = NULL;
out:
	free(buf);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	unsigned int n;
	size_t len;
	u8 ctl;

	if (size < 2)
		return -1;
	fuzz_session_reset(data);
	data += 2;
	size -= 2;
	for (n = 0; n < FUZZ_RECORDS && size >= 3 && !fz.ended; n++) {
		ctl = data[0];
		len = data[1] | (size_t)data[2] << 8;
		data += 3;
		size -= 3;
		len = min_t(size_t, len, min_t(size_t, size, DUSK_MAX_DGRAM));
		fuzz_datagram(ctl, data, len);
		data += len;
		size -= len;
	}
	return 0;
}
