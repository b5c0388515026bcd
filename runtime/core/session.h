/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * session.h - a session with dusk.ko: the HELLO handshake, the session
 * key, and requests.
 *
 * Requests. Ids are 1, 2, 3... per channel per session, drawn from
 * counters in a MAP_SHARED page (the watchdog process draws from its
 * channel's). dusk.ko keeps one id window per channel, so a run's
 * messages on the main channel are numbered alike whatever the watchdog
 * did meanwhile. A thread serving a blocking invocation (an INVOKE:
 * dusk_session_set_blocking()) sends its requests on DUSK_CHAN_INV with
 * hdr.invocation = the invocation's id, numbered 1, 2, 3... by that
 * invocation's own counter (the types the protocol allows there; the
 * others, PING say, still go on the main channel); their replies are
 * matched by channel, invocation and id.
 * A request is sent, and sent again after rto_ms with the same id and a
 * fresh seq, the timeout doubling up to DUSK_RTO_MAX_MS, until its reply
 * arrives (matched by id and type) or timeout_ms passed (-ETIMEDOUT).
 * Synchronous requests wait in dusk_req_wait(); asynchronous ones (RETURN,
 * keepalive PING) are left pending with a completion callback and are
 * retransmitted by whoever next waits for anything: dusk_req_wait() or
 * the event loop. Requests from the kernel (HOOK) go to the handler a
 * higher layer registered for their type (dusk_session_set_handler()),
 * which queues them for its event loop: nothing runs inside a wait.
 *
 * The seam: every message sent (each transmission, before it is sealed)
 * and every one accepted (after verification, before it is acted on)
 * passes dusk_observe_msg() (observe.h) in this file, and nowhere else.
 *
 * A session is used by one thread at a time (the program's main thread
 * of control); serialising several threads is for the blocking
 * extensions to come, whose per-invocation state is already separate.
 */
#ifndef DUSK_SESSION_H
#define DUSK_SESSION_H

#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dusk.h"
#include "dusk_proto.h"
#include "codec.h"
#include "hmac_sha256.h"
#include "window.h"
#include "util.h"

struct dusk_transport;
struct dusk_shadow;
struct dusk_hooks;

#define DUSK_RTO_MAX_MS		1000

/* Shared with the watchdog process (MAP_SHARED). */
struct dusk_shared {
	_Atomic uint64_t next_id[__DUSK_CHAN_MAX];
};

struct dusk_req;
typedef void (*dusk_req_done_fn)(struct dusk_session *s, struct dusk_req *r);

struct dusk_req {
	struct dusk_list node;		/* in s->pending while in flight */
	uint64_t id;
	uint64_t invocation;		/* hdr.invocation (matched on INV) */
	uint8_t type;
	uint8_t channel;
	uint8_t hello;			/* keyed with the master key, session 0 */
	uint8_t pending;
	int done;
	int status;			/* the reply's, or a local -errno */
	uint64_t started_ms;
	uint64_t next_tx_ms;
	uint64_t give_up_ms;
	unsigned int rto_ms;
	unsigned int tx_count;
	uint8_t *dgram;			/* header and payload, resealed per send */
	uint32_t payload_len;
	uint32_t payload_cap;
	void *reply;			/* where the reply's payload is copied */
	uint32_t reply_cap;
	uint32_t reply_len;		/* of the reply as received */
	dusk_req_done_fn done_fn;	/* asynchronous requests */
	void *owner;
	int waiter_fd;			/* the waiting thread's wake fd (-1:
					 * none): whoever receives the reply
					 * wakes it (plock.h) */
};

struct dusk_session_stats {
	uint64_t rx_ok;
	uint64_t rx_bad_mac;		/* bad MAC or not our session */
	uint64_t rx_malformed;
	uint64_t rx_replayed;
	uint64_t rx_unmatched;		/* replies nobody waits for (late) */
	uint64_t requests;
	uint64_t retransmits;
	uint64_t timeouts;
};

/*
 * What a higher layer does with requests of one type from the kernel:
 * input() gets each, authenticated and fresh (rx_ns: when it arrived,
 * CLOCK_REALTIME); close() is called once when the session is
 * disconnected (after BYE), to drop what the layer keeps for it.
 */
struct dusk_msg_handler {
	void (*input)(struct dusk_session *s, const struct dusk_msg *m,
		      uint64_t rx_ns, void *ctx);
	void (*close)(struct dusk_session *s, void *ctx);
	void *ctx;
};

struct dusk_watchdog {
	int pid;			/* 0: none */
	int pipe_wr;			/* only the program holds it */
};

struct dusk_session {
	struct dusk_config cfg;
	struct dusk_transport *t;
	struct sockaddr_storage addr;
	socklen_t addr_len;

	struct dusk_hmac_key master_key;
	struct dusk_hmac_key key;	/* the session key */
	uint32_t id;
	uint8_t client_nonce[DUSK_NONCE_LEN];
	uint8_t server_nonce[DUSK_NONCE_LEN];
	uint32_t max_dgram;		/* agreed */
	uint32_t page_size;
	uint32_t nr_cpus;
	uint32_t hz;
	char release[DUSK_RELEASE_LEN + 1];

	uint64_t hello_id;		/* of the latest HELLO */
	uint64_t hello_seq;
	uint64_t tx_seq[__DUSK_CHAN_MAX];
	struct dusk_seq_window seq_window[__DUSK_CHAN_MAX];
	struct dusk_shared *shared;
	struct dusk_list pending;	/* struct dusk_req in flight */
	uint8_t *rxbuf;
	uint64_t last_tx_ms;		/* on DUSK_CHAN_MAIN */

	struct dusk_shadow *shadow;
	struct dusk_msg_handler handlers[__DUSK_MSG_MAX];
	struct dusk_hooks *hooks;	/* hook.c's, created on first use */
	struct dusk_watchdog wd;

	int wake[2];			/* self-pipe: dusk_stop() */
	volatile sig_atomic_t stop;

	struct dusk_session_stats stats;
};

struct dusk_shadow_region;

/*
 * The connection: HELLO (the kernel's regions in regions[], *nr of
 * them, at most DUSK_SHADOW_MAX_REGIONS), the session key, and the first
 * request that makes it dusk.ko's active session. Takes ownership of t,
 * even on failure. disconnect: BYE, then the handlers' close() and
 * everything of the session freed. open.c builds dusk.h's session on
 * these (the cache, the watchdog).
 */
int dusk_session_connect(const struct dusk_config *cfg,
			 const uint8_t master[DUSK_KEY_LEN],
			 struct dusk_transport *t, const struct sockaddr *addr,
			 socklen_t addr_len, struct dusk_shadow_region *regions,
			 unsigned int *nr, struct dusk_session **ret);
void dusk_session_disconnect(struct dusk_session *s);

/*
 * Open a session over an existing transport (the UDP one for
 * dusk_session_open(); the unit tests' fake kernel otherwise). Takes
 * ownership of t, even on failure. (open.c)
 */
int dusk_session_open_transport(const struct dusk_config *cfg,
				const uint8_t master[DUSK_KEY_LEN],
				struct dusk_transport *t,
				struct dusk_session **ret);

/* Largest payload of one message. */
static inline uint32_t dusk_session_payload_max(const struct dusk_session *s)
{
	return s->max_dgram - DUSK_HDR_LEN;
}

/* A request with room for payload_cap bytes of payload (filled by the
 * caller at r->dgram + DUSK_HDR_LEN) and reply_cap of reply (reply may
 * be NULL). Carries the calling thread's current invocation. */
int dusk_req_create(struct dusk_session *s, uint8_t type, uint32_t payload_cap,
		    void *reply, uint32_t reply_cap, struct dusk_req **ret);
static inline void *dusk_req_payload(struct dusk_req *r)
{
	return r->dgram + DUSK_HDR_LEN;
}
/* A message nobody answers (VERDICT): numbered, sent once, not kept. */
int dusk_session_send(struct dusk_session *s, uint8_t type,
		      const void *payload, uint32_t len);
/* Send it and keep it pending. */
int dusk_req_submit(struct dusk_session *s, struct dusk_req *r,
		    uint32_t payload_len);
/* Until r is done: its status. */
int dusk_req_wait(struct dusk_session *s, struct dusk_req *r);
/* Forget it (taking it off the pending list if needed). */
void dusk_req_destroy(struct dusk_session *s, struct dusk_req *r);
/* Send a finished request's datagram once more (new seq, same id). */
int dusk_req_resend(struct dusk_session *s, struct dusk_req *r);

/* One synchronous request with a flat payload; the reply's payload is
 * copied to reply (reply_cap bytes at most), its length to *ret_len
 * (may be NULL). Returns the reply's status or a local -errno. */
int dusk_request(struct dusk_session *s, uint8_t type, const void *payload,
		 uint32_t len, void *reply, uint32_t reply_cap,
		 uint32_t *ret_len);

/* Receive and act on datagrams until timeout_ms passes or wake_fd is
 * readable (-EINTR); retransmits and expires pending requests. One
 * datagram at most per call when one arrives: 0. -ETIMEDOUT. */
int dusk_session_poll(struct dusk_session *s, int timeout_ms, int wake_fd);
/* Retransmit and expire pending requests; returns ms until the next
 * timer of theirs (-1: none). */
int dusk_session_timers(struct dusk_session *s);

/* Handle requests of type (sent by the kernel) with h: 0; -EINVAL for a
 * type the kernel does not send; -EBUSY if one is set (h NULL clears). */
int dusk_session_set_handler(struct dusk_session *s, uint8_t type,
			     const struct dusk_msg_handler *h);

/* The invocation (hdr.invocation) requests this thread makes now carry:
 * 0 for none. Set by whoever runs an invocation (hook.c). */
void dusk_session_set_invocation(uint64_t invocation);
uint64_t dusk_session_invocation(void);
/* This thread serves blocking invocation invocation (0: none, ids
 * ignored): its requests go on DUSK_CHAN_INV, numbered by *ids (the
 * last id used; the caller keeps it per invocation). Also sets what
 * dusk_session_invocation() returns. */
void dusk_session_set_blocking(uint64_t invocation, uint64_t *ids);
/* The blocking invocation this thread serves, 0 for none. */
uint64_t dusk_session_blocking(void);

extern struct dusk_session *dusk_session_cur;

#endif /* DUSK_SESSION_H */
