// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Sessions: HELLO, the session key, requests and what arrives.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "config.h"
#include "observe.h"
#include "plock.h"
#include "log.h"
#include "session.h"
#include "shadow.h"
#include "transport.h"

struct dusk_session *dusk_session_cur;

/* The invocation this thread serves, and for a blocking one the counter
 * of its request ids (session.h). */
static __thread uint64_t dusk_session_inv;
static __thread uint64_t *dusk_session_inv_ids;
/* Its caller is gone (a request of it was answered -ESRCH: killed, or
 * the session's end woke it): what the callback still asks of the kernel
 * goes on MAIN, executed by dusk.ko's thread, so that it finishes
 * as the .ko's code would (a caller killed in a read does not stop the
 * module's read), only without a calling process. */
static __thread int dusk_session_inv_gone;

/* ---- requests ---- */

int dusk_req_create(struct dusk_session *s, uint8_t type, uint32_t payload_cap,
		    void *reply, uint32_t reply_cap, struct dusk_req **ret)
{
	struct dusk_req *r;

	if (payload_cap > dusk_session_payload_max(s))
		return -EMSGSIZE;
	r = calloc(1, sizeof(*r) + DUSK_HDR_LEN + payload_cap);
	if (!r)
		return -ENOMEM;
	dusk_list_init(&r->node);
	r->type = type;
	r->channel = DUSK_CHAN_MAIN;
	r->hello = type == DUSK_MSG_HELLO;
	if (!r->hello && dusk_session_inv_ids &&
	    (dusk_msg_chans(type) & DUSK_CHANS_INV) &&
	    (!dusk_session_inv_gone || !(dusk_msg_chans(type) &
					 DUSK_CHANS_MAIN))) {
		/* The invocation's own numbering (dusk_proto.h). */
		r->channel = DUSK_CHAN_INV;
		r->id = ++*dusk_session_inv_ids;
		r->invocation = dusk_session_inv;
	} else {
		/* HELLO is session 0's only request, numbered 1, 2... per
		 * cookie tried; the session's own start at 1. */
		r->id = r->hello ? ++s->hello_id :
			atomic_fetch_add(&s->shared->next_id[r->channel], 1);
		/* A blocking invocation's number means nothing on MAIN. */
		r->invocation = dusk_session_inv_ids ? 0 :
				dusk_session_invocation();
	}
	r->waiter_fd = -1;
	r->dgram = (uint8_t *)(r + 1);
	r->payload_cap = payload_cap;
	r->reply = reply;
	r->reply_cap = reply_cap;
	dusk_msg_init(r->dgram, type, 0, r->channel, r->hello ? 0 : s->id,
		      r->id, r->invocation, 0);
	*ret = r;
	return 0;
}

static int dusk_req_send(struct dusk_session *s, struct dusk_req *r)
{
	const struct dusk_hmac_key *key = r->hello ? &s->master_key : &s->key;
	uint64_t seq = r->hello ? ++s->hello_seq : ++s->tx_seq[r->channel];
	struct dusk_msg m;
	size_t len;
	int err;

	if (dusk_nr_observers) {
		dusk_msg_view(r->dgram, r->payload_len, &m);
		m.seq = seq;
		dusk_observe_msg(s, DUSK_DIR_TX, &m);
	}
	len = dusk_msg_seal(r->dgram, r->payload_len, seq, key);
	err = dusk_transport_send(s->t, r->dgram, len);
	r->tx_count++;
	if (r->channel != DUSK_CHAN_WATCHDOG)
		s->last_tx_ms = dusk_now_ms();
	if (err)
		dusk_dbg("send %s id %llu: %s", dusk_msg_type_name(r->type),
			 (unsigned long long)r->id, strerror(-err));
	return err;
}

int dusk_req_submit(struct dusk_session *s, struct dusk_req *r,
		    uint32_t payload_len)
{
	uint64_t now = dusk_now_ms();
	int err;

	if (payload_len > r->payload_cap)
		return -EMSGSIZE;
	r->payload_len = payload_len;
	r->started_ms = now;
	r->rto_ms = s->cfg.rto_ms ? s->cfg.rto_ms : 1;
	r->next_tx_ms = now + r->rto_ms;
	r->give_up_ms = now + s->cfg.timeout_ms;
	r->done = 0;
	r->status = 0;
	dusk_list_add_tail(&r->node, &s->pending);
	r->pending = 1;
	s->stats.requests++;
	err = dusk_req_send(s, r);
	/* Lost or refused (ICMP): retransmission will try again; anything
	 * else will not get better. */
	if (err && err != -ECONNREFUSED && err != -ENOBUFS && err != -EAGAIN &&
	    err != -EHOSTUNREACH && err != -ENETUNREACH) {
		dusk_list_del(&r->node);
		r->pending = 0;
		return err;
	}
	return 0;
}

int dusk_session_send(struct dusk_session *s, uint8_t type,
		      const void *payload, uint32_t len)
{
	struct dusk_req *r;
	int err;

	err = dusk_req_create(s, type, len, NULL, 0, &r);
	if (err)
		return err;
	memcpy(dusk_req_payload(r), payload, len);
	r->payload_len = len;
	s->stats.requests++;
	err = dusk_req_send(s, r);
	dusk_req_destroy(s, r);
	return err;
}

int dusk_req_resend(struct dusk_session *s, struct dusk_req *r)
{
	s->stats.retransmits++;
	return dusk_req_send(s, r);
}

void dusk_req_destroy(struct dusk_session *s, struct dusk_req *r)
{
	if (!r)
		return;
	if (r->pending)
		dusk_list_del(&r->node);
	free(r);
}

static void dusk_req_complete(struct dusk_session *s, struct dusk_req *r,
			      int status)
{
	dusk_list_del(&r->node);
	r->pending = 0;
	r->done = 1;
	r->status = status;
	/* Another thread may have received this thread's reply. */
	dusk_plock_wake(r->waiter_fd);
	/* May free r. */
	if (r->done_fn)
		r->done_fn(s, r);
}

int dusk_session_timers(struct dusk_session *s)
{
	struct dusk_list expired, *pos, *tmp;
	uint64_t now = dusk_now_ms(), next = UINT64_MAX;
	struct dusk_req *r;
	int completed = 0;

	dusk_list_init(&expired);
	dusk_list_for_each_safe(pos, tmp, &s->pending) {
		r = dusk_container_of(pos, struct dusk_req, node);
		if (now >= r->give_up_ms) {
			dusk_list_del(&r->node);
			dusk_list_add_tail(&r->node, &expired);
			continue;
		}
		if (now >= r->next_tx_ms) {
			dusk_req_resend(s, r);
			r->rto_ms = DUSK_MIN(2 * r->rto_ms, DUSK_RTO_MAX_MS);
			r->next_tx_ms = now + r->rto_ms;
		}
		next = DUSK_MIN(next, DUSK_MIN(r->next_tx_ms, r->give_up_ms));
	}
	/* Completion callbacks run once the list walk is over: they may
	 * free requests or start new ones. */
	dusk_list_for_each_safe(pos, tmp, &expired) {
		r = dusk_container_of(pos, struct dusk_req, node);
		s->stats.timeouts++;
		dusk_dbg("%s id %llu: no reply after %u transmissions",
			 dusk_msg_type_name(r->type), (unsigned long long)r->id,
			 r->tx_count);
		dusk_list_add_tail(&r->node, &s->pending);	/* for complete */
		dusk_req_complete(s, r, -ETIMEDOUT);
		completed = 1;
	}
	/* Something completed: the caller must look before waiting. */
	if (completed)
		next = now;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)DUSK_MIN(next - now, (uint64_t)1 << 30);
}

/* The pending request a reply answers: same id and channel, and on
 * DUSK_CHAN_INV the same invocation (each numbers its own). */
static struct dusk_req *dusk_req_find(struct dusk_session *s,
				      const struct dusk_msg *m, int hello)
{
	struct dusk_list *pos, *tmp;
	struct dusk_req *r;

	dusk_list_for_each_safe(pos, tmp, &s->pending) {
		r = dusk_container_of(pos, struct dusk_req, node);
		if (r->id == m->id && r->hello == hello &&
		    r->channel == m->channel &&
		    (m->channel != DUSK_CHAN_INV ||
		     r->invocation == m->invocation))
			return r;
	}
	return NULL;
}

/* ---- what arrives ---- */

int dusk_session_set_handler(struct dusk_session *s, uint8_t type,
			     const struct dusk_msg_handler *h)
{
	if (type == DUSK_MSG_INVALID || type >= __DUSK_MSG_MAX ||
	    dusk_msg_sender(type) != DUSK_FROM_KERNEL)
		return -EINVAL;
	if (h && s->handlers[type].input)
		return -EBUSY;
	if (h)
		s->handlers[type] = *h;
	else
		memset(&s->handlers[type], 0, sizeof(s->handlers[type]));
	return 0;
}

static void dusk_session_handlers_close(struct dusk_session *s)
{
	struct dusk_msg_handler h;
	unsigned int type;

	for (type = __DUSK_MSG_MAX; type-- > 0;) {
		h = s->handlers[type];
		memset(&s->handlers[type], 0, sizeof(s->handlers[type]));
		if (h.close)
			h.close(s, h.ctx);
	}
}

void dusk_session_set_invocation(uint64_t invocation)
{
	dusk_session_inv = invocation;
}

uint64_t dusk_session_invocation(void)
{
	return dusk_session_inv;
}

void dusk_session_set_blocking(uint64_t invocation, uint64_t *ids)
{
	dusk_session_inv = invocation;
	dusk_session_inv_ids = invocation ? ids : NULL;
	dusk_session_inv_gone = 0;
}

uint64_t dusk_session_blocking(void)
{
	return dusk_session_inv_ids ? dusk_session_inv : 0;
}

static void dusk_session_input(struct dusk_session *s, const void *buf,
			       size_t len, uint64_t rx_ns)
{
	const struct dusk_hmac_key *key;
	const struct dusk_msg_handler *h;
	struct dusk_msg m;
	struct dusk_req *r;
	uint32_t sid;
	int cookie, err;

	err = dusk_msg_peek(buf, len, &sid);
	if (err) {
		s->stats.rx_malformed++;
		return;
	}
	if (sid == 0) {
		key = &s->master_key;
	} else if (sid == s->id) {
		key = &s->key;
	} else {
		s->stats.rx_bad_mac++;	/* another session's, or forged */
		return;
	}
	err = dusk_msg_parse(buf, len, key, DUSK_ROLE_RUNTIME, &m);
	/* A HELLO reply refusing our version is in the kernel's version. */
	if (err == -EPROTONOSUPPORT && sid == 0 && m.type == DUSK_MSG_HELLO &&
	    (m.flags & DUSK_F_REPLY) && m.status < 0)
		err = 0;
	if (err) {
		if (err == -EBADMSG || err == -ESRCH)
			s->stats.rx_bad_mac++;
		else
			s->stats.rx_malformed++;
		dusk_dbg("dropped a datagram: %s", strerror(-err));
		return;
	}
	if (sid) {
		/* Replies to the watchdog go to the watchdog's socket. */
		if (m.channel == DUSK_CHAN_WATCHDOG) {
			s->stats.rx_malformed++;
			return;
		}
		if (dusk_seq_window_accept(&s->seq_window[m.channel], m.seq)) {
			s->stats.rx_replayed++;
			return;
		}
	}
	s->stats.rx_ok++;
	dusk_observe_msg(s, DUSK_DIR_RX, &m);
	if (!(m.flags & DUSK_F_REPLY)) {
		h = &s->handlers[m.type];
		if (h->input)
			h->input(s, &m, rx_ns, h->ctx);
		else
			s->stats.rx_unmatched++;
		return;
	}
	r = dusk_req_find(s, &m, sid == 0);
	/* A HELLO's cookie reply carries a payload too (the codec checked
	 * its size). */
	cookie = r && r->hello && m.status == -EAGAIN;
	/* A HELLO reply must echo our nonce: an old one replayed must not
	 * pass for the answer. */
	if (!r || r->type != m.type ||
	    (r->hello && (!m.status || cookie) &&
	     dusk_memneq(m.payload, s->client_nonce, DUSK_NONCE_LEN))) {
		s->stats.rx_unmatched++;	/* a late duplicate reply */
		return;
	}
	r->reply_len = m.len;
	if (r->reply && (!m.status || cookie))
		memcpy(r->reply, m.payload, DUSK_MIN(m.len, r->reply_cap));
	if (m.status && r->type == DUSK_MSG_HELLO && m.version != DUSK_PROTO_VERSION)
		dusk_err("dusk.ko speaks protocol version %u, this runtime %u",
			 m.version, DUSK_PROTO_VERSION);
	dusk_req_complete(s, r, m.status);
}

/* Receive and act on one datagram within timeout_ms: 0, -ETIMEDOUT,
 * -EINTR (wake_fd), or a transport error. */
static int dusk_session_recv(struct dusk_session *s, int timeout_ms,
			     int wake_fd)
{
	uint64_t rx_ns = 0;
	ssize_t n;

	n = dusk_transport_recv(s->t, s->rxbuf, DUSK_MAX_DGRAM, timeout_ms,
				wake_fd, &rx_ns);
	if (n >= 0) {
		dusk_session_input(s, s->rxbuf, (size_t)n, rx_ns);
		return 0;
	}
	switch (n) {
	case -ETIMEDOUT:
	case -EINTR:
		return (int)n;
	case -EMSGSIZE:
		s->stats.rx_malformed++;
		return 0;
	case -ECONNREFUSED:	/* ICMP port unreachable: dusk.ko not there */
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		dusk_dbg("target %s: %s", s->cfg.target, strerror((int)-n));
		return 0;
	default:
		return (int)n;
	}
}

int dusk_session_poll(struct dusk_session *s, int timeout_ms, int wake_fd)
{
	int next, err;

	/* What has arrived first: a program stopped (in gdb, by SIGSTOP)
	 * past a request's timeout finds its reply waiting, and must not
	 * give up on the request before reading it. */
	err = dusk_session_recv(s, 0, -1);
	if (err != -ETIMEDOUT)
		return err;
	next = dusk_session_timers(s);
	if (next >= 0 && (timeout_ms < 0 || next < timeout_ms))
		timeout_ms = next;
	return dusk_session_recv(s, timeout_ms, wake_fd);
}

/* An invocation's request answered -ESRCH was not executed: its caller
 * is gone. Send it again on MAIN (when it may go there), and all the
 * invocation's later ones (dusk_session_inv_gone): 1 if sent. */
static int dusk_req_to_main(struct dusk_session *s, struct dusk_req *r)
{
	if (r->channel != DUSK_CHAN_INV || r->status != -ESRCH)
		return 0;
	dusk_session_inv_gone = 1;
	if (!(dusk_msg_chans(r->type) & DUSK_CHANS_MAIN))
		return 0;
	r->channel = DUSK_CHAN_MAIN;
	r->id = atomic_fetch_add(&s->shared->next_id[DUSK_CHAN_MAIN], 1);
	r->invocation = 0;
	dusk_msg_init(r->dgram, r->type, 0, r->channel, s->id, r->id, 0, 0);
	if (dusk_req_submit(s, r, r->payload_len)) {
		r->done = 1;
		return 0;
	}
	return 1;
}

int dusk_req_wait(struct dusk_session *s, struct dusk_req *r)
{
	int err;

	r->waiter_fd = dusk_plock_wake_fd();
	do {
		while (!r->done) {
			err = dusk_session_poll(s, -1, -1);
			if (err && err != -ETIMEDOUT && err != -EINTR &&
			    !r->done) {
				dusk_req_complete(s, r, err);
				break;
			}
		}
	} while (dusk_req_to_main(s, r));
	return r->status;
}

int dusk_request(struct dusk_session *s, uint8_t type, const void *payload,
		 uint32_t len, void *reply, uint32_t reply_cap,
		 uint32_t *ret_len)
{
	struct dusk_req *r;
	int err;

	err = dusk_req_create(s, type, len, reply, reply_cap, &r);
	if (err)
		return err;
	if (len)
		memcpy(dusk_req_payload(r), payload, len);
	err = dusk_req_submit(s, r, len);
	if (!err)
		err = dusk_req_wait(s, r);
	if (!err && ret_len)
		*ret_len = r->reply_len;
	dusk_req_destroy(s, r);
	return err;
}

/* ---- the handshake ---- */

/*
 * HELLOs sent for one session at most: the first gets a cookie; one
 * whose cookie went stale on its way (a program stopped in between, or
 * dusk.ko renewing its secrets) gets another.
 */
#define DUSK_HELLO_ROUNDS	4

/* One HELLO carrying cookie (NULL: none): its reply's status, its payload
 * in reply (cap bytes), its length in *ret_len. */
static int dusk_hello_send(struct dusk_session *s, const uint8_t *cookie,
			   uint8_t *reply, uint32_t cap, uint32_t *ret_len)
{
	struct dusk_hello *h;
	struct dusk_req *r;
	int err;

	err = dusk_req_create(s, DUSK_MSG_HELLO, sizeof(*h), reply, cap, &r);
	if (err)
		return err;
	h = dusk_req_payload(r);
	memset(h, 0, sizeof(*h));
	memcpy(h->nonce, s->client_nonce, DUSK_NONCE_LEN);
	h->max_dgram = htole32(DUSK_MAX_DGRAM);
	h->heartbeat_ms = htole32(s->cfg.heartbeat_ms);
	h->hold_ms = htole32(s->cfg.hold_ms);
	h->hold_max = htole32(s->cfg.hold_max);
	h->policy = htole32(s->cfg.policy);
	h->prefetch = htole32(s->cfg.prefetch);
	h->window = htole32(s->cfg.window);
	if (cookie)
		memcpy(h->cookie, cookie, DUSK_COOKIE_LEN);
	err = dusk_req_submit(s, r, sizeof(*h));
	if (!err)
		err = dusk_req_wait(s, r);
	*ret_len = r->reply_len;
	dusk_req_destroy(s, r);
	return err;
}

static int dusk_hello(struct dusk_session *s, struct dusk_shadow_region *regions,
		      unsigned int *nr)
{
	uint32_t cap = dusk_session_payload_max(s), len = 0, i, n;
	uint8_t cookie[DUSK_COOKIE_LEN];
	struct dusk_hello_reply rep;
	struct dusk_region reg;
	unsigned int tries;
	uint8_t *reply;
	int err;

	if (getrandom(s->client_nonce, DUSK_NONCE_LEN, 0) != DUSK_NONCE_LEN)
		return -errno;
	reply = malloc(cap);
	if (!reply)
		return -ENOMEM;
	/* The handshake (dusk_proto.h): a cookie first, then the session. */
	for (tries = 0; tries < DUSK_HELLO_ROUNDS; tries++) {
		err = dusk_hello_send(s, tries ? cookie : NULL, reply, cap,
				      &len);
		if (err != -EAGAIN)
			break;
		memcpy(cookie, reply + offsetof(struct dusk_hello_cookie, cookie),
		       DUSK_COOKIE_LEN);
	}
	if (err == -ETIMEDOUT && !tries) {
		/* dusk.ko answers no datagram whose MAC is wrong. */
		dusk_err("no answer from dusk.ko at %s: wrong key, or the "
			 "target is down (dusk-target status)", s->cfg.target);
		goto out_reply;
	}
	if (err) {
		dusk_err("HELLO to %s%s: %s", s->cfg.target,
			 tries ? " with its cookie" : "", strerror(-err));
		goto out_reply;
	}

	memcpy(&rep, reply, sizeof(rep));
	s->id = le32toh(rep.session);
	memcpy(s->server_nonce, rep.nonce, DUSK_NONCE_LEN);
	s->max_dgram = le32toh(rep.max_dgram);
	s->page_size = le32toh(rep.page_size);
	s->nr_cpus = le32toh(rep.nr_cpus);
	s->hz = le32toh(rep.hz);
	memcpy(s->release, rep.release, DUSK_RELEASE_LEN);
	s->release[DUSK_RELEASE_LEN] = '\0';
	n = le32toh(rep.nr_regions);
	err = -EPROTO;
	if (!s->id || s->max_dgram < DUSK_MIN_DGRAM ||
	    s->max_dgram > DUSK_MAX_DGRAM) {
		dusk_err("HELLO reply: bad session %u or max_dgram %u", s->id,
			 s->max_dgram);
		goto out_reply;
	}
	if (s->page_size != DUSK_PAGE_SIZE) {
		dusk_err("target page size %u: only %lu is supported",
			 s->page_size, DUSK_PAGE_SIZE);
		err = -EOPNOTSUPP;
		goto out_reply;
	}
	if (n > DUSK_SHADOW_MAX_REGIONS || len != sizeof(rep) + n * sizeof(reg))
		goto out_reply;
	for (i = 0; i < n; i++) {
		memcpy(&reg, reply + sizeof(rep) + i * sizeof(reg), sizeof(reg));
		regions[i].start = le64toh(reg.start);
		regions[i].size = le64toh(reg.size);
		regions[i].kind = le32toh(reg.kind);
	}
	*nr = n;
	err = 0;
out_reply:
	free(reply);
	return err;
}

/* HMAC(master, label | client nonce | server nonce | session as __le32),
 * as dusk_proto.h says; the label without its NUL. */
static void dusk_session_key_derive(struct dusk_session *s)
{
	static const char label[] = DUSK_SESSION_LABEL;
	uint8_t key[DUSK_SHA256_DIGEST];
	uint32_t id = htole32(s->id);
	struct dusk_hmac h;

	dusk_hmac_init(&h, &s->master_key);
	dusk_hmac_update(&h, label, sizeof(label) - 1);
	dusk_hmac_update(&h, s->client_nonce, DUSK_NONCE_LEN);
	dusk_hmac_update(&h, s->server_nonce, DUSK_NONCE_LEN);
	dusk_hmac_update(&h, &id, sizeof(id));
	dusk_hmac_final(&h, key);
	dusk_hmac_key_init(&s->key, key, sizeof(key));
	dusk_memzero_explicit(key, sizeof(key));
}

int dusk_session_connect(const struct dusk_config *cfg,
			 const uint8_t master[DUSK_KEY_LEN],
			 struct dusk_transport *t, const struct sockaddr *addr,
			 socklen_t addr_len, struct dusk_shadow_region *regions,
			 unsigned int *nr, struct dusk_session **ret)
{
	struct dusk_stats stats;
	struct dusk_session *s;
	unsigned int i;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto out_transport;
	}
	s->cfg = *cfg;
	if (!s->cfg.rto_ms)
		s->cfg.rto_ms = 1;
	if (!s->cfg.timeout_ms)
		s->cfg.timeout_ms = 1;
	s->t = t;
	if (addr) {
		memcpy(&s->addr, addr, addr_len);
		s->addr_len = addr_len;
	}
	dusk_list_init(&s->pending);
	s->max_dgram = DUSK_MAX_DGRAM;	/* until HELLO agrees */
	for (i = 0; i < __DUSK_CHAN_MAX; i++)
		dusk_seq_window_init(&s->seq_window[i]);
	dusk_hmac_key_init(&s->master_key, master, DUSK_KEY_LEN);

	s->rxbuf = malloc(DUSK_MAX_DGRAM);
	if (!s->rxbuf) {
		err = -ENOMEM;
		goto out_session;
	}
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		err = -errno;
		goto out_rxbuf;
	}
	s->shared = mmap(NULL, sizeof(*s->shared), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->shared == MAP_FAILED) {
		err = -errno;
		goto out_wake;
	}
	for (i = 0; i < __DUSK_CHAN_MAX; i++)
		atomic_store(&s->shared->next_id[i], 1);

	err = dusk_hello(s, regions, nr);
	if (err)
		goto out_shared;
	dusk_session_key_derive(s);
	/* The session becomes dusk.ko's active one with its first
	 * authenticated request: this one, which also proves both sides
	 * derived the same session key. */
	err = dusk_request(s, DUSK_MSG_PING, NULL, 0, &stats, sizeof(stats),
			   NULL);
	if (err) {
		dusk_err("first request of session %08x: %s", s->id,
			 strerror(-err));
		goto out_shared;
	}
	*ret = s;
	return 0;

out_shared:
	munmap(s->shared, sizeof(*s->shared));
out_wake:
	close(s->wake[0]);
	close(s->wake[1]);
out_rxbuf:
	free(s->rxbuf);
out_session:
	dusk_hmac_key_wipe(&s->master_key);
	dusk_hmac_key_wipe(&s->key);
	free(s);
out_transport:
	dusk_transport_destroy(t);
	return err;
}

void dusk_session_disconnect(struct dusk_session *s)
{
	struct dusk_list *pos, *tmp;
	int err;

	s->cfg.timeout_ms = DUSK_MIN(s->cfg.timeout_ms, 1000U);
	err = dusk_request(s, DUSK_MSG_BYE, NULL, 0, NULL, 0, NULL);
	if (err)
		dusk_warn("BYE: %s (dusk.ko ends the session when its heartbeat stops)",
			  strerror(-err));
	dusk_session_handlers_close(s);
	dusk_list_for_each_safe(pos, tmp, &s->pending)
		dusk_req_destroy(s, dusk_container_of(pos, struct dusk_req, node));
	dusk_transport_destroy(s->t);
	munmap(s->shared, sizeof(*s->shared));
	close(s->wake[0]);
	close(s->wake[1]);
	free(s->rxbuf);
	dusk_hmac_key_wipe(&s->master_key);
	dusk_hmac_key_wipe(&s->key);
	if (dusk_session_cur == s)
		dusk_session_cur = NULL;
	free(s);
}

DUSK_EXPORT struct dusk_session *dusk_session_current(void)
{
	return dusk_session_cur;
}

DUSK_EXPORT const char *dusk_kernel_release(const struct dusk_session *s)
{
	return s ? s->release : NULL;
}
