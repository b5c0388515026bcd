// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Sessions, requests and the event loop against the fake kernel: the
 * handshake (a cookie, then the session; also with a lost HELLO and a
 * stale cookie), a wrong key named as such, request ids, retransmission with the
 * same id (a request executes once), timeouts with a doubling RTO,
 * replayed and forged datagrams, and HOOK handling: queued during waits,
 * run in arrival order, deduplicated, VERDICT not blocking, -ESTALE, late
 * packets, keepalive, dusk_stop from a signal handler. Blocking
 * invocations (INVOKE): requests on the invocation channel numbered 1,
 * 2, 3... per invocation, uaccess, RETURN with the commit left pending
 * and retransmitted, duplicates deduplicated, queued with HOOKs in
 * arrival order, -ESRCH final.
 */
#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>
#include <linux/netfilter.h>

#include "check.h"
#include "dusk.h"
#include "fake_kernel.h"
#include "hook.h"
#include "invoke.h"
#include "observe.h"
#include "trace.h"
#include "session.h"
#include "shadow.h"
#include "util.h"

static struct fake_kernel fk;
static struct dusk_session *s;
static unsigned int log_warnings;
static char log_last[512];

static void sink(enum dusk_log_level level, const char *fmt, va_list ap)
{
	vsnprintf(log_last, sizeof(log_last), fmt, ap);
	if (level <= DUSK_LOG_WARN)
		log_warnings++;
}

#define PAGE(n)		(FK_AREA_DIRECT + (uint64_t)(n) * 4096)
#define KP(k)		((void *)(uintptr_t)(k))

static uint64_t now_ms(void)
{
	return dusk_now_ms();
}

static void test_handshake_and_ids(void)
{
	struct dusk_config cfg;
	uint8_t buf[16];
	unsigned int i, first;
	int err;

	fk_config(&cfg);
	fk.drop_hello = 1;	/* the first HELLO is lost */
	fk.stale_cookies = 1;	/* the first cookie is stale on arrival */
	err = fk_session_open(&fk, &cfg, &s);
	CHECK_EQ(err, 0);
	if (err)
		exit(check_done("test_session"));
	/* HELLO 1 lost and sent again: a cookie; HELLO 2 with it: stale,
	 * another cookie; HELLO 3 with that one: the session. */
	CHECK_EQ(fk.received[DUSK_MSG_HELLO], 4);
	CHECK_EQ(fk.cookies_sent, 2);
	CHECK_EQ(s->hello_id, 3);
	CHECK_EQ(s->id, FK_SESSION);
	/* The fake derived the session key on its own: the first PING
	 * authenticated on both sides. */
	CHECK_EQ(fk.executed[DUSK_MSG_PING], 1);
	CHECK_EQ(fk.rejected, 0);
	CHECK_EQ(fk.ids[0], 1);

	/* Ids 1, 2, 3... one per request. */
	first = fk.nr_log;
	for (i = 0; i < 5; i++)
		CHECK_EQ(dusk_kread(s, PAGE(0), buf, sizeof(buf)), 0);
	for (i = first; i < fk.nr_log; i++)
		CHECK_EQ(fk.ids[i], fk.ids[i - 1] + 1);
	CHECK_EQ(fk.nr_log - first, 5);
	CHECK_EQ(fk.invocations[first], 0);	/* no invocation */
}

/* A wrong key: the kernel drops every HELLO (its MAC is wrong) and
 * answers none, which the program must name, not just time out. */
static void test_wrong_key(void)
{
	static const char want[] = "no answer from dusk.ko at fake: wrong key, "
				   "or the target is down (dusk-target status)";
	struct fake_kernel other;
	struct dusk_session *s2 = NULL;
	struct dusk_config cfg;
	uint8_t key[DUSK_KEY_LEN];

	fk_init(&other);
	fk_config(&cfg);
	memcpy(key, other.master, sizeof(key));
	key[0] ^= 1;
	CHECK_EQ(dusk_session_open_transport(&cfg, key, fk_transport(&other),
					     &s2), -ETIMEDOUT);
	CHECK(!s2);
	CHECK(other.rejected >= 1);	/* each transmission dropped */
	CHECK_EQ(other.received[DUSK_MSG_HELLO], 0);
	CHECK(!strcmp(log_last, want));
	fk_deinit(&other);
}

/* The seam: an observer sees every message sent and accepted, in order,
 * a retransmission as a message of its own; handlers are only for what
 * the kernel sends. */
static struct {
	unsigned int n;
	uint8_t dir[64], type[64], reply[64];
	uint64_t id[64];
} seen;

static void seam(void *ctx, struct dusk_session *ss, enum dusk_dir dir,
		 const struct dusk_msg *m)
{
	(void)ctx;
	(void)ss;
	if (seen.n < 64) {
		seen.dir[seen.n] = (uint8_t)dir;
		seen.type[seen.n] = m->type;
		seen.reply[seen.n] = !!(m->flags & DUSK_F_REPLY);
		seen.id[seen.n] = m->id;
	}
	seen.n++;
}

static void test_seam(void)
{
	static const struct dusk_observer obs = { .msg = seam };
	const struct dusk_msg_handler h = { 0 };
	uint8_t buf[8];

	CHECK_EQ(dusk_observer_attach(&obs), 0);
	CHECK_EQ(dusk_observer_attach(&obs), -EEXIST);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(dusk_kread(s, PAGE(0), buf, sizeof(buf)), 0);
	fk.drop_replies = 1;	/* the reply of the next one is lost once */
	CHECK_EQ(dusk_kread(s, PAGE(0), buf, sizeof(buf)), 0);
	dusk_observer_detach(&obs);
	CHECK_EQ(dusk_kread(s, PAGE(0), buf, sizeof(buf)), 0);
	/* READ, its reply; READ, READ again (same id), its reply. */
	CHECK_EQ(seen.n, 5);
	CHECK_EQ(seen.dir[0], DUSK_DIR_TX);
	CHECK_EQ(seen.type[0], DUSK_MSG_READ);
	CHECK_EQ(seen.reply[0], 0);
	CHECK_EQ(seen.dir[1], DUSK_DIR_RX);
	CHECK_EQ(seen.reply[1], 1);
	CHECK_EQ(seen.id[1], seen.id[0]);
	CHECK_EQ(seen.id[2], seen.id[0] + 1);
	CHECK_EQ(seen.id[3], seen.id[2]);
	CHECK_EQ(seen.dir[3], DUSK_DIR_TX);
	CHECK_EQ(seen.dir[4], DUSK_DIR_RX);

	/* Only the kernel's requests have handlers. */
	CHECK_EQ(dusk_session_set_handler(s, DUSK_MSG_READ, &h), -EINVAL);
	CHECK_EQ(dusk_session_set_handler(s, DUSK_MSG_INVALID, &h), -EINVAL);
	CHECK_EQ(dusk_session_set_handler(s, __DUSK_MSG_MAX, &h), -EINVAL);
}

/* --trace: one line per message, in order, saying what it carries. */
static void test_trace(void)
{
	char path[] = "/tmp/dusk-test-trace-XXXXXX", line[512], want[256];
	uint8_t buf[8];
	uint64_t id;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(dusk_trace_open(path), 0);
	CHECK_EQ(dusk_trace_open(path), -EBUSY);
	id = s->shared->next_id[DUSK_CHAN_MAIN];
	CHECK_EQ(dusk_kread(s, PAGE(0) + 8, buf, sizeof(buf)), 0);
	CHECK_EQ(dusk_kread(s, 8, buf, sizeof(buf)), -EFAULT);
	dusk_trace_close();
	CHECK_EQ(dusk_kread(s, PAGE(0), buf, sizeof(buf)), 0);	/* not traced */
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	snprintf(want, sizeof(want), " > READ ch main id %llu addr 0x%llx len 8\n",
		 (unsigned long long)id, (unsigned long long)(PAGE(0) + 8));
	CHECK(fgets(line, sizeof(line), f) && strstr(line, want));
	snprintf(want, sizeof(want), " < READ/reply ch main id %llu bytes 8\n",
		 (unsigned long long)id);
	CHECK(fgets(line, sizeof(line), f) && strstr(line, want));
	snprintf(want, sizeof(want), " > READ ch main id %llu addr 0x8 len 8\n",
		 (unsigned long long)id + 1);
	CHECK(fgets(line, sizeof(line), f) && strstr(line, want));
	snprintf(want, sizeof(want), " < READ/reply ch main id %llu status -14 (Bad address)\n",
		 (unsigned long long)id + 1);
	CHECK(fgets(line, sizeof(line), f) && strstr(line, want));
	CHECK(!fgets(line, sizeof(line), f));
	fclose(f);
	unlink(path);
}

/* A program stopped (gdb, SIGSTOP) past a request's timeout finds the
 * reply waiting when it resumes: the request succeeds, it does not time
 * out with its answer unread. */
static void test_stopped_past_timeout(void)
{
	struct dusk_read rd = { .addr = htole64(PAGE(0)), .len = htole32(8) };
	unsigned int executed = fk.executed[DUSK_MSG_READ];
	uint8_t got[8];
	struct dusk_req *r;

	CHECK_EQ(dusk_req_create(s, DUSK_MSG_READ, sizeof(rd), got,
				 sizeof(got), &r), 0);
	memcpy(dusk_req_payload(r), &rd, sizeof(rd));
	CHECK_EQ(dusk_req_submit(s, r, sizeof(rd)), 0);
	usleep((s->cfg.timeout_ms + 200) * 1000);	/* "stopped" */
	CHECK_EQ(dusk_req_wait(s, r), 0);
	CHECK_EQ(r->reply_len, 8);
	CHECK(!memcmp(got, fk_mem(&fk, PAGE(0), 8), 8));
	CHECK_EQ(fk.executed[DUSK_MSG_READ] - executed, 1);
	dusk_req_destroy(s, r);
}

static void test_retransmission(void)
{
	unsigned int received, executed, again, applied;
	uint8_t v = 0x66, buf[8];
	uint64_t t0;
	int err;

	/* The first transmission is lost: the retransmission (same id, new
	 * seq: the fake's replay window let it in) executes, once. */
	fk.drop_new_requests = 1;
	received = fk.received[DUSK_MSG_WRITE];
	executed = fk.executed[DUSK_MSG_WRITE];
	CHECK_EQ(dusk_kwrite(s, PAGE(1), &v, 1), 0);
	CHECK_EQ(fk.received[DUSK_MSG_WRITE] - received, 2);
	CHECK_EQ(fk.executed[DUSK_MSG_WRITE] - executed, 1);
	CHECK_EQ(fk.ids[fk.nr_log - 1], fk.ids[fk.nr_log - 2]);
	CHECK_EQ(*fk_mem(&fk, PAGE(1), 1), 0x66);

	/* The reply is lost: the retransmission is answered from the
	 * kernel's record, not executed again. */
	fk.drop_replies = 1;
	executed = fk.executed[DUSK_MSG_WRITE];
	again = fk.answered_again;
	applied = fk.nr_applied;
	CHECK_EQ(dusk_kwrite(s, PAGE(1), &v, 1), 0);
	CHECK_EQ(fk.executed[DUSK_MSG_WRITE] - executed, 1);
	CHECK_EQ(fk.answered_again - again, 1);
	CHECK_EQ(fk.nr_applied - applied, 1);

	/* No answer at all: -ETIMEDOUT after timeout_ms, the interval
	 * doubling (rto 5 ms over 300 ms: 7 sends, not 60). */
	fk.silent = 1;
	received = fk.received[DUSK_MSG_READ];
	t0 = now_ms();
	err = dusk_kread(s, PAGE(0), buf, sizeof(buf));
	CHECK_EQ(err, -ETIMEDOUT);
	CHECK(now_ms() - t0 >= 290 && now_ms() - t0 < 2000);
	CHECK(fk.received[DUSK_MSG_READ] - received >= 4);
	CHECK(fk.received[DUSK_MSG_READ] - received <= 10);
	fk.silent = 0;
	CHECK_EQ(s->stats.timeouts, 1);
}

static void test_bad_datagrams(void)
{
	uint64_t replayed = s->stats.rx_replayed, bad = s->stats.rx_bad_mac;
	uint64_t malformed = s->stats.rx_malformed;
	uint8_t buf[8], junk[200];

	/* Every reply arrives twice: the copy is a replay, dropped. */
	fk.dup_output = 1;
	CHECK_EQ(dusk_kread(s, PAGE(0), buf, sizeof(buf)), 0);
	fk.dup_output = 0;
	CHECK_EQ(dusk_kread(s, PAGE(0), buf, sizeof(buf)), 0);
	CHECK_EQ(s->stats.rx_replayed - replayed, 1);

	/* Forged (another session, then ours with a bad MAC), then junk. */
	memset(junk, 0, sizeof(junk));
	dusk_msg_init(junk, DUSK_MSG_READ, DUSK_F_REPLY, 0, FK_SESSION + 1, 99, 0, 0);
	dusk_msg_seal(junk, 8, 1, &fk.key);
	fk_inject(&fk, junk, DUSK_HDR_LEN + 8);
	dusk_msg_init(junk, DUSK_MSG_READ, DUSK_F_REPLY, 0, FK_SESSION, 99, 0, 0);
	dusk_msg_seal(junk, 8, 1000, &fk.master_key);
	fk_inject(&fk, junk, DUSK_HDR_LEN + 8);
	fk_inject(&fk, "garbage", 7);
	CHECK_EQ(dusk_kread(s, PAGE(0), buf, sizeof(buf)), 0);
	CHECK_EQ(s->stats.rx_bad_mac - bad, 2);
	CHECK_EQ(s->stats.rx_malformed - malformed, 1);
}

/* ---- hooks ---- */

struct hook_log {
	uint64_t packets[64];
	void *skbs[64];
	const void *states[64];
	unsigned int n;
	int depth, max_depth;
};

static struct hook_log hl;
static unsigned int (*hook_action)(void *skb, const void *state);

static unsigned int hookfn(void *priv, void *skb, const void *state)
{
	unsigned int v;

	CHECK(priv == &hl);
	hl.depth++;
	if (hl.depth > hl.max_depth)
		hl.max_depth = hl.depth;
	hl.skbs[hl.n] = skb;
	hl.states[hl.n] = state;
	hl.packets[hl.n++] = dusk_session_current() ? fk.hooks_sent[0].packet : 0;
	v = hook_action ? hook_action(skb, state) : NF_ACCEPT;
	hl.depth--;
	return v;
}

static unsigned int act_stop(void *skb, const void *state)
{
	dusk_stop(s);
	return NF_ACCEPT;
}

static int verdicts_for(uint64_t packet, struct fk_verdict *last);

/* Packet 16 writes kernel memory beyond its own bytes; packet 17 sees
 * whether 16's verdict went first. */
static int sent_before_next;

static unsigned int act_sent_before(void *skb, const void *state)
{
	sent_before_next = verdicts_for(16, NULL);
	hook_action = NULL;
	return NF_ACCEPT;
}

static unsigned int act_write_other(void *skb, const void *state)
{
	memcpy(__dusk_check_w(KP(PAGE(6)), 4), "GLOB", 4);
	hook_action = act_sent_before;
	return NF_ACCEPT;
}

/* Longer than the hold time of the test that uses it (30 ms). */
static unsigned int act_slow(void *skb, const void *state)
{
	usleep(60 * 1000);
	return NF_ACCEPT;
}

static unsigned int reads_in_hook;

/* Packet 1: reads the prefetched skb (no READ), writes a field (commit in
 * the VERDICT), makes a request (carries the invocation) during which
 * HOOK 2 and a duplicate of HOOK 1 arrive. */
static unsigned int act_first(void *skb, const void *state)
{
	unsigned int before = fk.executed[DUSK_MSG_READ];
	uint8_t *u, buf[4];

	u = __dusk_check(skb, 256);
	CHECK(!memcmp(u, fk_mem(&fk, PAGE(2), 256), 256));
	reads_in_hook = fk.executed[DUSK_MSG_READ] - before;
	u = __dusk_check_w(KP((uintptr_t)skb + 8), 4);
	memcpy(u, "MARK", 4);
	fk_hook(&fk, 2, 1, PAGE(3), PAGE(4), NULL, 0);
	fk_hook_again(&fk, 1);
	CHECK_EQ(dusk_kread(s, PAGE(5), buf, sizeof(buf)), 0);
	hook_action = act_stop;
	return NF_DROP;
}

static int verdicts_for(uint64_t packet, struct fk_verdict *last)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i < fk.nr_verdicts; i++) {
		if (fk.verdicts[i].packet == packet) {
			n++;
			if (last)
				*last = fk.verdicts[i];
		}
	}
	return n;
}

static void run_until_idle(void)
{
	/* Stop once nothing is queued: a timer that fires soon. */
	struct itimerval it = { { 0, 0 }, { 0, 60000 } };

	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_EQ(dusk_run(s), 0);
}

static void on_alarm(int sig)
{
	dusk_stop(s);
}

static void test_hooks(void)
{
	struct dusk_nf_hook hook = {
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = -100,
		.fn = hookfn,
		.priv = &hl,
	};
	struct fk_range pre = { PAGE(2), 256 };
	struct fk_verdict v;
	unsigned int i, executed, again, runs;
	uint32_t handle = 0;
	uint64_t t0;

	CHECK_EQ(dusk_nf_hook_register(s, &hook, &handle), 0);
	CHECK_EQ(handle, 1);
	CHECK_EQ(fk.cookies[0] != 0, 1);

	/* Packet 1 then 2 (which arrives during 1's request). */
	fk_hook(&fk, 1, 1, PAGE(2), PAGE(2) + 512, &pre, 1);
	hook_action = act_first;
	memset(&hl, 0, sizeof(hl));
	CHECK_EQ(dusk_run(s), 0);
	CHECK_EQ(hl.n, 2);
	CHECK_EQ(hl.max_depth, 1);	/* never dispatched from a wait */
	CHECK(hl.skbs[0] == KP(PAGE(2)) && hl.states[0] == KP(PAGE(2) + 512));
	CHECK(hl.skbs[1] == KP(PAGE(3)) && hl.states[1] == KP(PAGE(4)));
	CHECK_EQ(reads_in_hook, 0);	/* the prefetch seeded the cache */
	/* The READ made in packet 1's callback carries invocation 1. */
	for (i = 0; i < fk.nr_log; i++)
		if (fk.types[i] == DUSK_MSG_READ && fk.invocations[i] == 1)
			break;
	CHECK(i < fk.nr_log);
	/* VERDICTs: NF_DROP for 1 with its commit, NF_ACCEPT for 2, in one
	 * datagram: 1's commit writes only its own skb. */
	CHECK_EQ(verdicts_for(1, &v), 1);
	CHECK_EQ(v.verdict, NF_DROP);
	CHECK_EQ(v.nr_segs, 1);
	CHECK(!memcmp(fk_mem(&fk, PAGE(2) + 8, 4), "MARK", 4));
	i = (unsigned int)v.id;
	CHECK_EQ(verdicts_for(2, &v), 1);
	CHECK_EQ(v.verdict, NF_ACCEPT);
	CHECK_EQ(v.nr_segs, 0);
	CHECK_EQ(v.id, i);

	/* HOOK 1 again, answered already: its record again, in a VERDICT of
	 * its own, which the kernel skips (not held); no second run. */
	executed = fk.executed[DUSK_MSG_VERDICT];
	again = fk.verdicts_unheld;
	runs = hl.n;
	verdicts_for(1, &v);
	fk_hook_again(&fk, 1);
	hook_action = NULL;
	run_until_idle();
	CHECK_EQ(hl.n, runs);
	CHECK_EQ(fk.executed[DUSK_MSG_VERDICT] - executed, 1);
	CHECK_EQ(fk.verdicts_unheld - again, 1);
	CHECK_EQ(verdicts_for(1, NULL), 1);

	/* Duplicates of a queued packet: run once. Several packets: in
	 * arrival order, their verdicts in one VERDICT. */
	memset(&hl, 0, sizeof(hl));
	executed = fk.executed[DUSK_MSG_VERDICT];
	fk_hook(&fk, 10, 1, PAGE(10), 0, NULL, 0);
	fk_hook_again(&fk, 10);
	fk_hook(&fk, 11, 1, PAGE(11), 0, NULL, 0);
	fk_hook(&fk, 12, 1, PAGE(12), 0, NULL, 0);
	fk_hook_again(&fk, 11);
	run_until_idle();
	CHECK_EQ(hl.n, 3);
	CHECK(hl.skbs[0] == KP(PAGE(10)) && hl.skbs[1] == KP(PAGE(11)) &&
	      hl.skbs[2] == KP(PAGE(12)));
	CHECK_EQ(verdicts_for(10, NULL), 1);
	CHECK_EQ(verdicts_for(12, NULL), 1);
	CHECK_EQ(fk.executed[DUSK_MSG_VERDICT] - executed, 1);

	/* Several packets in one HOOK: each run once, in order. */
	memset(&hl, 0, sizeof(hl));
	fk.batch_hooks = 1;
	fk_hook(&fk, 13, 1, PAGE(13), 0, NULL, 0);
	fk_hook(&fk, 14, 1, PAGE(14), 0, NULL, 0);
	fk_hook(&fk, 15, 1, PAGE(15), 0, NULL, 0);
	fk_hooks_flush(&fk);
	fk.batch_hooks = 0;
	run_until_idle();
	CHECK_EQ(hl.n, 3);
	CHECK(hl.skbs[0] == KP(PAGE(13)) && hl.skbs[2] == KP(PAGE(15)));
	CHECK_EQ(verdicts_for(14, NULL), 1);

	/* A commit beyond the packet's own bytes reaches the kernel before
	 * the next packet's hook runs. */
	memset(&hl, 0, sizeof(hl));
	fk.batch_hooks = 1;
	fk_hook(&fk, 16, 1, PAGE(13), 0, NULL, 0);
	fk_hook(&fk, 17, 1, PAGE(14), 0, NULL, 0);
	fk_hooks_flush(&fk);
	fk.batch_hooks = 0;
	hook_action = act_write_other;
	run_until_idle();
	CHECK_EQ(hl.n, 2);
	CHECK_EQ(sent_before_next, 1);
	CHECK(!memcmp(fk_mem(&fk, PAGE(6), 4), "GLOB", 4));

	/* A lost VERDICT: the kernel sends the packet again and gets the
	 * same record, without a second run. */
	memset(&hl, 0, sizeof(hl));
	fk.drop_verdicts = 1;
	fk_hook(&fk, 20, 1, PAGE(10), 0, NULL, 0);
	run_until_idle();
	CHECK_EQ(hl.n, 1);
	CHECK_EQ(verdicts_for(20, NULL), 0);
	fk_hook_again(&fk, 20);
	run_until_idle();
	CHECK_EQ(hl.n, 1);
	CHECK_EQ(verdicts_for(20, NULL), 1);

	/* held_from acknowledges: a late copy of a packet older than it is
	 * neither run nor answered. */
	executed = fk.executed[DUSK_MSG_VERDICT];
	fk.held_from = 21;
	fk_hook_again(&fk, 20);
	run_until_idle();
	CHECK_EQ(hl.n, 1);
	CHECK_EQ(fk.executed[DUSK_MSG_VERDICT], executed);
	fk.held_from = 0;

	/* A verdict after the hold time: dusk.ko released the packet by
	 * policy meanwhile; a warning, nothing else. */
	s->cfg.hold_ms = 30;
	hook_action = act_slow;
	i = log_warnings;
	fk_hook(&fk, 30, 1, PAGE(10), 0, NULL, 0);
	run_until_idle();
	CHECK_EQ(log_warnings - i, 1);
	CHECK(strstr(log_last, "released by policy") != NULL);
	hook_action = NULL;
	s->cfg.hold_ms = 1000;

	/* A HOOK older than hold_ms (the program was stopped in gdb) is
	 * not run: its packet is gone. Its duplicates neither. */
	s->cfg.hold_ms = 50;
	memset(&hl, 0, sizeof(hl));
	executed = fk.executed[DUSK_MSG_VERDICT];
	fk_hook(&fk, 40, 1, PAGE(10), 0, NULL, 0);
	usleep(100 * 1000);
	fk_hook_again(&fk, 40);
	fk_hook(&fk, 41, 1, PAGE(11), 0, NULL, 0);	/* a fresh one */
	run_until_idle();
	CHECK_EQ(hl.n, 1);
	CHECK(hl.skbs[0] == KP(PAGE(11)));
	CHECK_EQ(verdicts_for(40, NULL), 0);
	CHECK_EQ(fk.executed[DUSK_MSG_VERDICT] - executed, 1);
	s->cfg.hold_ms = 1000;

	/* A HOOK naming a hook we do not have: accepted, not run. */
	memset(&hl, 0, sizeof(hl));
	fk.cookies[1] = 0xdead;
	fk_hook(&fk, 50, 2, PAGE(10), 0, NULL, 0);
	run_until_idle();
	CHECK_EQ(hl.n, 0);
	CHECK_EQ(verdicts_for(50, &v), 1);
	CHECK_EQ(v.verdict, NF_ACCEPT);

	CHECK_EQ(dusk_nf_hook_unregister(s, 77), -ENOENT);
	CHECK_EQ(dusk_nf_hook_unregister(s, handle), 0);
	CHECK_EQ(fk.executed[DUSK_MSG_HOOK_UNREGISTER], 1);
}

/* ---- blocking invocations ---- */

static struct {
	unsigned int n;
	uint64_t ids[16];		/* dusk_session_blocking() in each */
	uint64_t tasks[16];
	uint64_t args[16][6];
	int64_t ua_ret[16];
	uint8_t from[16][8];
} cl;
static uint64_t (*cb_action)(const uint64_t *args);

static uint64_t cbfn(void *priv, const uint64_t *args)
{
	CHECK(priv == &cl);
	cl.ids[cl.n] = dusk_session_blocking();
	cl.tasks[cl.n] = dusk_invocation_task();
	memcpy(cl.args[cl.n], args, sizeof(cl.args[0]));
	cl.n++;
	return cb_action ? cb_action(args) : args[2] + 1;
}

/* A read(): a READ of kernel memory, copy_to_user, copy_from_user, a
 * store in the cache (committed in the RETURN); arrives during it: a
 * duplicate of itself and a HOOK. */
static uint64_t act_read(const uint64_t *args)
{
	uint8_t buf[8], *u;
	int64_t ret = -1;
	uint64_t val = 0;

	CHECK_EQ(dusk_kread(s, PAGE(6), buf, sizeof(buf)), 0);
	CHECK_EQ(dusk_uaccess_request(s, DUSK_UA_TO, FK_UBASE + 16, 5, "hello",
				      NULL, &ret, NULL), 0);
	CHECK_EQ(ret, 0);
	CHECK_EQ(dusk_uaccess_request(s, DUSK_UA_FROM, FK_UBASE + 16, 8, NULL,
				      cl.from[cl.n - 1], &ret, NULL), 0);
	CHECK_EQ(ret, 0);
	/* Past the end of the caller's memory: what is not copied. */
	CHECK_EQ(dusk_uaccess_request(s, DUSK_UA_TO, FK_UBASE + FK_ULEN - 2, 5,
				      "abcde", NULL, &ret, NULL), 0);
	CHECK_EQ(ret, 3);
	val = 0x11223344;
	CHECK_EQ(dusk_uaccess_request(s, DUSK_UA_PUT, FK_UBASE + 64, 4, &val,
				      NULL, &ret, NULL), 0);
	val = 0;
	CHECK_EQ(dusk_uaccess_request(s, DUSK_UA_GET, FK_UBASE + 64, 4, NULL,
				      NULL, &ret, &val), 0);
	CHECK_EQ(val, 0x11223344);
	CHECK_EQ(dusk_uaccess_request(s, DUSK_UA_GET, 0x1000, 4, NULL, NULL,
				      &ret, &val), 0);
	CHECK_EQ(ret, -EFAULT);
	CHECK_EQ(dusk_uaccess_request(s, DUSK_UA_TO, FK_UBASE,
				      dusk_uaccess_request_max(s) + 1, "", NULL,
				      &ret, NULL), -EMSGSIZE);
	u = __dusk_check_w(KP(PAGE(7) + 8), 4);
	memcpy(u, "RETN", 4);
	fk_invoke_again(&fk, 100);
	fk_hook(&fk, 60, fk.nr_hooks, PAGE(10), 0, NULL, 0);
	return (uint64_t)args[2];
}

static struct fk_inv *inv_of(uint64_t id)
{
	return fk_inv_find(&fk, id);
}

/* The requests fk logged for invocation id, on which channel, in order. */
static unsigned int inv_requests(uint64_t id, uint64_t *ids, unsigned int cap)
{
	unsigned int i, n = 0;

	for (i = 0; i < fk.nr_log; i++) {
		if (fk.invocations[i] != id || fk.chans[i] != DUSK_CHAN_INV)
			continue;
		if (n < cap)
			ids[n] = fk.ids[i];
		n++;
	}
	return n;
}

static void test_invocations(void)
{
	struct dusk_nf_hook hook = {
		.pf = NFPROTO_IPV4, .hooknum = NF_INET_LOCAL_IN, .fn = hookfn,
		.priv = &hl,
	};
	uint64_t args[6] = { PAGE(8), FK_UBASE, 100, PAGE(9), 0, 0 };
	struct fk_range pre = { PAGE(7), 64 };
	uint64_t cookie = 0, cookie2 = 0, ids[32];
	uint32_t handle = 0;
	unsigned int i, n, runs, again, resent;
	int64_t ret;
	struct dusk_pslot slot;
	uint64_t table = 0;
	struct fk_inv *inv;

	/* Outside an invocation: no uaccess. */
	CHECK_EQ(dusk_uaccess_request(s, DUSK_UA_TO, FK_UBASE, 1, "x", NULL,
				      &ret, NULL), -ENOTCONN);
	CHECK_EQ(dusk_callback_register(s, cbfn, &cl, &cookie), 0);
	CHECK_EQ(dusk_callback_register(s, cbfn, &cl, &cookie2), 0);
	CHECK(cookie && cookie2 && cookie != cookie2);
	slot = (struct dusk_pslot){ 8, DUSK_SLOT_USER, cookie };
	CHECK_EQ(dusk_proxy_register(s, DUSK_PROXY_FOPS, 0x1234, 0, &slot, 1,
				     &table, &handle), 0);
	CHECK_EQ(table, FK_AREA_DIRECT + 0xe000 + 0x100 * fk.nr_proxies);
	CHECK_EQ(le64toh(fk.proxy_slots[0].value), cookie);
	CHECK_EQ(dusk_nf_hook_register(s, &hook, &handle), 0);

	/* Invocation 100: its requests 1, 2, 3... on the INV channel,
	 * a duplicate INVOKE and a HOOK arriving meanwhile, then RETURN. */
	memset(&cl, 0, sizeof(cl));
	memset(&hl, 0, sizeof(hl));
	memset(fk.umem, 0, sizeof(fk.umem));
	cb_action = act_read;
	hook_action = NULL;
	fk_invoke(&fk, 100, cookie, args, 0xffff888000aa0000ULL, 4242, "cat",
		  &pre, 1);
	run_until_idle();
	CHECK_EQ(cl.n, 1);		/* run once, not for the duplicate */
	CHECK_EQ(cl.ids[0], 100);
	CHECK_EQ(cl.tasks[0], 0xffff888000aa0000ULL);
	CHECK(!memcmp(cl.args[0], args, sizeof(args)));
	CHECK(!memcmp(fk.umem + 16, "hello", 5));
	CHECK(!memcmp(cl.from[0], "hello\0\0\0", 8));
	CHECK(!memcmp(fk.umem + FK_ULEN - 2, "ab", 2));
	CHECK_EQ(hl.n, 1);		/* the HOOK, after the invocation */
	inv = inv_of(100);
	CHECK(inv && inv->returned);
	CHECK_EQ(inv->ret, 100);
	CHECK_EQ(inv->return_segs, 1);	/* the commit rode on RETURN */
	CHECK(!memcmp(fk_mem(&fk, PAGE(7) + 8, 4), "RETN", 4));
	/* READ, 6 UACCESS, RETURN; then the RETURN again for the INVOKE
	 * that came again while it ran. */
	n = inv_requests(100, ids, 32);
	CHECK_EQ(n, 9);
	for (i = 0; i < 8; i++)
		CHECK_EQ(ids[i], i + 1);
	CHECK_EQ(ids[8], 8);
	CHECK_EQ(inv->return_id, 8);
	CHECK_EQ(fk.inv_stale + fk.inv_skipped, 0);
	CHECK_EQ(dusk_session_blocking(), 0);
	CHECK_EQ(dusk_invocation_task(), 0);
	/* Requests on MAIN go on numbering as before, invocation 0. */
	{
		uint8_t buf[4];

		CHECK_EQ(dusk_kread(s, PAGE(0), buf, 4), 0);
		CHECK_EQ(fk.chans[fk.nr_log - 1], DUSK_CHAN_MAIN);
		CHECK_EQ(fk.invocations[fk.nr_log - 1], 0);
	}

	/* The INVOKE again once answered: the same RETURN (same id) again,
	 * no second run. */
	runs = cl.n;
	resent = inv->returns;
	fk_invoke_again(&fk, 100);
	run_until_idle();
	CHECK_EQ(cl.n, runs);
	CHECK_EQ(inv->returns - resent, 1);
	n = inv_requests(100, ids, 32);
	CHECK_EQ(ids[n - 1], inv->return_id);

	/* Two invocations, each numbered from 1; a HOOK between them and
	 * a duplicate of the first: arrival order, each once. */
	memset(&cl, 0, sizeof(cl));
	memset(&hl, 0, sizeof(hl));
	cb_action = NULL;
	fk_invoke(&fk, 101, cookie, args, 0x1, 1, "a", NULL, 0);
	fk_hook(&fk, 61, handle, PAGE(10), 0, NULL, 0);
	fk_invoke(&fk, 102, cookie2, args, 0x2, 2, "b", NULL, 0);
	fk_invoke_again(&fk, 101);
	run_until_idle();
	CHECK_EQ(cl.n, 2);
	CHECK_EQ(cl.ids[0], 101);
	CHECK_EQ(cl.ids[1], 102);
	CHECK_EQ(hl.n, 1);
	CHECK_EQ(inv_of(101)->ret, 101);	/* args[2] + 1 */
	CHECK_EQ(inv_of(101)->return_id, 1);
	CHECK_EQ(inv_of(102)->return_id, 1);

	/* RETURN's ack lost: the loop goes on, RETURN retransmitted. */
	s->cfg.rto_ms = 50;
	fk.drop_replies = 1;
	again = fk.answered_again;
	memset(&cl, 0, sizeof(cl));
	fk_invoke(&fk, 103, cookie, args, 0x3, 3, "c", NULL, 0);
	fk_invoke(&fk, 104, cookie, args, 0x4, 4, "d", NULL, 0);
	{
		struct itimerval it = { { 0, 0 }, { 0, 300000 } };

		setitimer(ITIMER_REAL, &it, NULL);
		CHECK_EQ(dusk_run(s), 0);
	}
	CHECK_EQ(cl.n, 2);
	CHECK(inv_of(103)->returned && inv_of(104)->returned);
	CHECK(inv_of(103)->returns >= 2);
	CHECK_EQ(fk.answered_again - again, 1);
	s->cfg.rto_ms = 5;

	/* The caller is gone: -ESRCH, a warning, final (not sent again). */
	fk.verdict_status = -ESRCH;
	i = log_warnings;
	fk_invoke(&fk, 105, cookie, args, 0x5, 5, "e", NULL, 0);
	run_until_idle();
	CHECK_EQ(log_warnings - i, 1);
	CHECK(strstr(log_last, "caller is gone") != NULL);
	CHECK_EQ(inv_of(105)->returns, 1);
	fk.verdict_status = 0;

	/* An unknown cookie: -EIO, a warning. */
	i = log_warnings;
	fk_invoke(&fk, 106, 0xdead, args, 0x6, 6, "f", NULL, 0);
	run_until_idle();
	CHECK_EQ(log_warnings - i, 1);
	CHECK_EQ((int64_t)inv_of(106)->ret, -EIO);

	CHECK_EQ(dusk_callback_unregister(s, cookie2), 0);
	CHECK_EQ(dusk_callback_unregister(s, cookie2), -ENOENT);
	CHECK_EQ(dusk_proxy_unregister(s, 1), 0);
	CHECK_EQ(dusk_nf_hook_unregister(s, handle), 0);
}

static void test_keepalive(void)
{
	unsigned int pings = fk.executed[DUSK_MSG_PING];
	struct itimerval it = { { 0, 0 }, { 0, 300000 } };

	/* Idle, the loop pings every heartbeat_ms / 4 (no watchdog). */
	s->cfg.heartbeat_ms = 200;
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_EQ(dusk_run(s), 0);
	CHECK(fk.executed[DUSK_MSG_PING] - pings >= 3);
	CHECK(fk.executed[DUSK_MSG_PING] - pings <= 8);

	/* The target stops answering: dusk_run says so. */
	fk.silent = 1;
	it.it_value.tv_usec = 0;
	it.it_value.tv_sec = 5;
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_EQ(dusk_run(s), -ETIMEDOUT);
	it.it_value.tv_sec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	fk.silent = 0;
	s->cfg.heartbeat_ms = 5000;
}

int main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	dusk_set_log(sink);
	fk_init(&fk);
	test_wrong_key();
	test_handshake_and_ids();
	test_seam();
	test_trace();
	test_stopped_past_timeout();
	test_retransmission();
	test_bad_datagrams();
	test_hooks();
	test_invocations();
	test_keepalive();
	dusk_session_close(s);
	CHECK(fk.ended);
	fk_deinit(&fk);
	return check_done("test_session");
}
