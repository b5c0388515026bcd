/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dusk.ko internals: the state shared by the files of the helper module.
 *
 * One kernel thread (loop.c) owns the socket's receiving side and the
 * sessions: it receives and authenticates every datagram, executes the
 * requests of the main and watchdog channels, sends HOOK messages and runs
 * the timers. The other contexts: the netfilter proxy (softirq, which
 * queues packets under pq_lock and wakes the thread), the queue handler
 * callbacks, the socket's data_ready callback (wakes the thread),
 * /proc/dusk (reads counters under state_lock), and the tasks that call a
 * proxy of a table of dusk.ko (proxy.c): each such caller sends INVOKE
 * and executes the requests of its own invocation itself (invoke.c), in
 * its own context, with its own reply buffer, while the thread only
 * routes the DUSK_CHAN_INV datagrams to it (a copy in its queue).
 *
 * So callers and the thread run handlers at once: sending (sealing,
 * tx_seq, injected faults) is under net_lock; a session's allocations and
 * owned resources are under its lock; a session is reference-counted, and
 * once it is dead (ended) a caller releases at once whatever it acquires.
 * The thread never waits for a caller beyond those short locks.
 *
 * Who calls whom: the loop calls transport (receive), session, dispatch,
 * invoke (routing) and pktq; those call transport to send and msg.c for
 * the message table. Neither transport.c (which calls auth.c to seal) nor
 * msg.c calls back up; dusk_wake() only sets a flag of the shared state
 * and wakes it.
 */
#ifndef DUSK_KMOD_H
#define DUSK_KMOD_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/in.h>
#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/netfilter.h>
#include <crypto/sha2.h>

#include "dusk_proto.h"
#include "dusk_faults.h"

struct socket;
struct task_struct;
struct net;
struct nf_queue_entry;

/* ---- authentication (auth.c) ---- */

struct dusk_mac_key {
	struct sha256_state inner;	/* after absorbing key ^ ipad */
	struct sha256_state outer;	/* after absorbing key ^ opad */
};

struct dusk_replay {
	u64 top;			/* highest seq accepted */
	unsigned long bits[DUSK_REPLAY_WINDOW / BITS_PER_LONG];
};

int dusk_key_parse(const char *hex, u8 key[DUSK_KEY_LEN]);
void dusk_mac_key_init(struct dusk_mac_key *mk, const u8 *key, size_t len);
void dusk_mac(const struct dusk_mac_key *mk, const void *data, size_t len,
	      u8 out[DUSK_MAC_LEN]);
bool dusk_mac_ok(const struct dusk_mac_key *mk, const void *dgram,
		 size_t len);
void dusk_mac_sign(const struct dusk_mac_key *mk, void *dgram, size_t len);
struct dusk_session;
void dusk_seal(struct dusk_session *s, unsigned int channel, void *dgram,
	       size_t payload_len);
void dusk_session_key(const u8 master[DUSK_KEY_LEN], const u8 *client_nonce,
		      const u8 *server_nonce, u32 session_id,
		      struct dusk_mac_key *ret);
bool dusk_replay_check(struct dusk_replay *rw, u64 seq);

/* ---- cookie.c: HELLO cookies and spent nonces (called by the thread) ---- */

void dusk_cookie_init(void);
void dusk_cookie_exit(void);
/* Is cookie good for from and nonce? fresh: the one to give them now. */
bool dusk_cookie_check(const struct sockaddr_in *from, const u8 *nonce,
		       const u8 *cookie, u8 fresh[DUSK_COOKIE_LEN]);
/* Has nonce opened a session while a cookie naming it can be good? */
bool dusk_nonce_spent(const u8 *nonce);
void dusk_nonce_spend(const u8 *nonce);

/* ---- sessions (session.c) ---- */

struct dusk_params {
	u32 max_dgram;
	u32 heartbeat_ms;
	u32 hold_ms;
	u32 hold_max;
	u32 policy;
	u32 prefetch;
	u32 window;
};

/* A reply kept so that a retransmitted request is answered, not redone. */
struct dusk_reply_slot {
	u64 id;
	s32 status;
	u16 len;
	u8 type;
	u8 payload[16];
};

/* Invocations that ended by RETURN, for a RETURN sent again whose reply
 * was lost: it gets that reply, not -ESRCH. */
#define DUSK_INV_ENDED	64

struct dusk_inv_ended {
	u64 inv;
	u64 id;				/* the RETURN's request id */
	s32 status;
};

struct dusk_session {
	u32 id;
	bool active;
	struct kref ref;		/* the thread's, and each caller's */
	struct dusk_mac_key key;
	u8 client_nonce[DUSK_NONCE_LEN];
	u8 server_nonce[DUSK_NONCE_LEN];
	struct sockaddr_in hello_from;	/* pending: the only peer heard */
	struct dusk_params params;
	struct dusk_replay replay[__DUSK_CHAN_MAX];
	u64 tx_seq[__DUSK_CHAN_MAX];
	struct sockaddr_in peer[__DUSK_CHAN_MAX];
	unsigned long created;		/* jiffies */
	unsigned long last_rx;		/* jiffies */
	/*
	 * Request ids are numbered per channel: the newest id seen on each,
	 * and each channel's DUSK_ID_WINDOW kept replies (64 KiB in all,
	 * allocated with the session).
	 */
	u64 max_id[__DUSK_CHAN_MAX];
	struct dusk_reply_slot (*replies)[DUSK_ID_WINDOW];
	struct list_head allocs;
	u64 alloc_bytes;
	u32 nr_allocs;
	struct list_head hooks;
	u32 nr_hooks;
	struct list_head owned;		/* struct dusk_own_rec, newest first */
	u32 nr_owned;
	/*
	 * lock: allocs and owned (the thread and callers execute requests
	 * at once). dead: the session ended; set under lock and inv_lock;
	 * from then on the lists are the thread's, and a caller releases
	 * at once what it acquires.
	 */
	struct mutex lock;
	bool dead;
	/* Invocations in flight (struct dusk_inv), under inv_lock. */
	spinlock_t inv_lock;
	struct list_head invs;
	u64 next_inv;
	struct dusk_inv_ended ended[DUSK_INV_ENDED];
	u32 ended_next;
	const char *end_why;		/* a caller asks the thread to end it */
};

/* ---- the module's state ---- */

struct dusk_counters {
	u64 rx_ok;
	u64 rx_bad_mac;
	u64 rx_malformed;
	u64 rx_replayed;
	u64 tx;
	u64 tx_errors;
	u64 retransmits;
	u64 verdicts;
	u64 verdicts_late;		/* for a packet past its hold time */
	u64 verdicts_unheld;		/* for no packet held: duplicates */
	u64 verdicts_bad;		/* VERDICT datagrams malformed */
	u64 hook_batches;		/* HOOK datagrams sent */
	u64 released;
	u64 cookie_replies;		/* HELLOs answered with a cookie */
	u64 sessions_opened;		/* pending sessions HELLO opened */
	/* Injected (faults.c), both directions together. */
	u64 fault_lost;
	u64 fault_duplicated;
	u64 fault_reordered;
};

/* Counted by callers (invocations) and the thread at once. */
struct dusk_inv_counters {
	atomic64_t invokes;		/* INVOKE messages first sent */
	atomic64_t resent;		/* INVOKE messages sent again */
	atomic64_t routed;		/* INV datagrams given to an invocation */
	atomic64_t unrouted;		/* INV datagrams answered -ESRCH */
	atomic64_t dead;		/* proxies answered as dead */
	atomic64_t interrupted;		/* invocations a fatal signal ended */
	atomic64_t signals;		/* SIGNAL messages first sent */
	atomic64_t signals_resent;	/* SIGNAL messages sent again */
};

struct dusk {
	u16 port;
	__be32 addr;		/* bound to, INADDR_ANY by default */
	u8 master[DUSK_KEY_LEN];
	struct dusk_mac_key master_key;

	struct socket *sock;
	struct task_struct *thread;
	wait_queue_head_t wq;
	bool wake;			/* work for the thread */

	void *rx_buf;
	void *tx_buf;			/* the thread's; callers have their own */
	/* Sending: sealing (tx_seq), injected faults, held datagrams, the
	 * tx counters; the thread's receiving too (fault state). */
	struct mutex net_lock;
	struct dusk_inv_counters inv;

	/* Written by the thread; state_lock lets /proc/dusk read them. */
	struct mutex state_lock;
	struct dusk_session *session;	/* the active one */
	struct dusk_session *pending;	/* HELLO answered, not yet used */
	struct dusk_counters cnt;

	/* The packet queue, shared with softirq context. */
	spinlock_t pq_lock;
	struct list_head packets;	/* struct dusk_packet, oldest first */
	u32 nr_packets;
	u64 next_packet_id;
	u32 hold_max;			/* of the active session, 0 if none */
	u64 rejected;			/* refused at enqueue: queue full */
};

extern struct dusk dusk;

static inline void dusk_wake(void)
{
	WRITE_ONCE(dusk.wake, true);
	wake_up(&dusk.wq);
}

/* ---- transport.c: the socket ---- */

int dusk_transport_init(void);
void dusk_transport_exit(void);
int dusk_send(struct dusk_session *s, unsigned int channel,
	      const struct sockaddr_in *to, void *dgram, size_t payload_len);
int dusk_recv(struct sockaddr_in *from);

/* ---- faults.c: injected faults, the "faults" parameter ---- */

enum dusk_fault dusk_faults_next_fate(enum dusk_fault_dir dir);
bool dusk_faults_active(void);

/* ---- loop.c: the thread ---- */

int dusk_loop_init(void);
void dusk_loop_exit(void);

/* ---- msg.c: proto's DUSK_MSG_TABLE, expanded ---- */

struct dusk_msg_rule {
	const char *name;
	u8 from;			/* enum dusk_msg_from */
	u8 chans;			/* DUSK_CHANS_* */
	u8 kind;			/* enum dusk_msg_size */
	u8 rep_kind;
	bool keep;			/* reply kept by id */
	u32 size;
	u32 segs_at;
	u32 rep_size;
};

const struct dusk_msg_rule *dusk_msg_rule(unsigned int type);
int dusk_msg_check(unsigned int type, unsigned int channel, u32 len);
bool dusk_msg_chan_ok(const struct dusk_msg_rule *rule, unsigned int channel);
bool dusk_msg_size_ok(const struct dusk_msg_rule *rule, u32 len);
bool dusk_msg_reply_ok(const struct dusk_msg_rule *rule, u32 len);
int dusk_dgram_check(const void *dgram, size_t len);
int dusk_hdr_check(const struct dusk_hdr *hdr);
/* Start a message in dusk.tx_buf (the thread's) or in buf; returns the
 * payload area. */
void *dusk_msg_start(u8 type, u8 flags, u8 channel, u64 id, u64 invocation,
		     s32 status);
void *dusk_msg_start_in(void *buf, u8 type, u8 flags, u8 channel, u64 id,
			u64 invocation, s32 status);

/* ---- dispatch.c ---- */

struct dusk_inv;

/*
 * An invocation's record of its requests (ids 1, 2, 3...): the last one
 * executed and its whole reply, kept in buf (a datagram of max_dgram
 * bytes, the caller's own) for a retransmission.
 */
struct dusk_inv_rec {
	u64 last_id;
	u32 last_len;			/* the kept reply's payload */
	u8 last_type;
	void *buf;
	u32 buf_len;
};

/* The request being executed. */
struct dusk_req {
	struct dusk_session *s;
	struct dusk_inv *inv;		/* executed by its caller, or NULL */
	const struct dusk_hdr *hdr;
	const void *payload;
	u32 len;
	void *reply;			/* reply payload area */
	u32 reply_len;
	u32 reply_max;
	const char *end_session;	/* set: end it once the reply is out */
};

void dusk_dispatch(struct dusk_session *s, const struct dusk_hdr *hdr,
		   const struct sockaddr_in *from);
/* A request of invocation inv, executed by its caller (invoke.c). */
void dusk_dispatch_inv(struct dusk_session *s, struct dusk_inv *inv,
		       struct dusk_inv_rec *rec, const struct dusk_hdr *hdr,
		       const struct sockaddr_in *from);
/* Pure: the table's rules for an INV datagram, before routing it. */
int dusk_inv_check(const struct dusk_hdr *hdr);
/* A reply with no payload, from a buffer of its own (any context). */
void dusk_reply_status(struct dusk_session *s, const struct dusk_hdr *hdr,
		       const struct sockaddr_in *to, s32 status);
/* The struct dusk_seg records of a payload: checked (pure), or checked
 * and applied as kernel writes; -EBADMSG if malformed. */
int dusk_segs_check(const void *p, u32 len, u32 nr_segs);
int dusk_segs_apply(const void *p, u32 len, u32 nr_segs);

/* ---- session.c ---- */

void dusk_hello(const struct dusk_hdr *hdr, u32 len,
		const struct sockaddr_in *from);
struct dusk_session *dusk_session_find(u32 id);
bool dusk_session_heard_from(const struct dusk_session *s,
			     const struct sockaddr_in *from);
void dusk_session_activate(struct dusk_session *s);
void dusk_session_end(struct dusk_session *s, const char *why);
void dusk_session_service(void);
void dusk_sessions_exit(void);
void dusk_session_get(struct dusk_session *s);
/* Any context: the thread ends s at its next pass, for why. */
void dusk_inv_end_session(struct dusk_session *s, const char *why);
void dusk_session_put(struct dusk_session *s);

/* ---- invoke.c: invocations (callers' side) and their routing ---- */

/* What a proxy invokes: the slot, and the arguments the kernel passed. */
struct dusk_invoke_args {
	u64 cookie;
	u32 handle;
	u32 off;
	u64 args[DUSK_MAX_CALL_ARGS];
};

/*
 * Run the program's callback for a (the caller sleeps interruptibly, then
 * killable once a signal came and SIGNAL told the program; it executes
 * its invocation's requests itself): 0 and the callback's value in *ret;
 * -EINTR if a fatal signal came first; -ESHUTDOWN if the session ended
 * first.
 */
int dusk_invoke(struct dusk_session *s, const struct dusk_invoke_args *a,
		s64 *ret);
/*
 * An announced invocation (kthread.c's threads): on the session's list
 * with its id from now on, so that the program's requests of it are
 * routed, but no INVOKE is ever sent; ERR_PTR(-ESHUTDOWN) if the session
 * is dead, ERR_PTR(-ENOMEM). Its server (a kernel thread: it waits
 * TASK_IDLE) executes its requests until RETURN: 0 and the value in
 * *ret, or -ESHUTDOWN when the session ended first. Whoever made it
 * frees it with dusk_inv_discard(), served or not.
 */
struct dusk_inv *dusk_inv_announce(struct dusk_session *s);
int dusk_inv_serve_announced(struct dusk_session *s, struct dusk_inv *inv,
			     s64 *ret);
void dusk_inv_discard(struct dusk_session *s, struct dusk_inv *inv);
u64 dusk_inv_id(const struct dusk_inv *inv);
/* RETURN was executed: its server is on its way out. */
bool dusk_inv_returned(const struct dusk_inv *inv);
/* The thread: an authenticated INV datagram, to its invocation. */
void dusk_inv_route(struct dusk_session *s, const struct dusk_hdr *hdr,
		    u32 len, const struct sockaddr_in *from);
/* The thread, as session s ends: every invocation wakes to its end. */
void dusk_invs_end(struct dusk_session *s);
/* Proxy table handle died: its invocations not yet heard end dead. */
void dusk_invs_abandon(struct dusk_session *s, u32 handle);
int dusk_do_return(struct dusk_req *r);
int dusk_do_uaccess(struct dusk_req *r);

/* ---- proxy.c: dusk.ko's own tables of proxies ---- */

int dusk_do_proxy_register(struct dusk_req *r);
int dusk_do_proxy_unregister(struct dusk_req *r);
/* The session ended: its tables answer as dead, reused once closed. */
void dusk_proxies_end(struct dusk_session *s);
/* The open files of the session's live tables (PING). */
u64 dusk_proxies_open_files(struct dusk_session *s);

/* ---- handlers: mem.c, call.c, ksym.c, alloc.c, nf_hook.c, pktq.c ---- */

int dusk_do_read(struct dusk_req *r);
int dusk_do_write(struct dusk_req *r);
int dusk_kwrite(u64 addr, const void *src, size_t len);
int dusk_probe_arg(u64 v, const struct dusk_probe *p, u32 *ret_off);
int dusk_do_call(struct dusk_req *r);
int dusk_do_sym(struct dusk_req *r);
int dusk_do_alloc(struct dusk_req *r);
int dusk_do_free(struct dusk_req *r);
void dusk_allocs_free(struct dusk_session *s);
int dusk_do_hook_register(struct dusk_req *r);
int dusk_do_hook_unregister(struct dusk_req *r);
int dusk_do_verdict(struct dusk_req *r);

int dusk_ksym_init(void);
unsigned long dusk_ksym(const char *name);
bool dusk_is_text(unsigned long addr);
int dusk_mem_init(void);

/* The queue number dusk's proxy hooks queue to; other numbers go on to
 * the queue handler that was there before (nfnetlink_queue). */
#define DUSK_NF_QUEUE	0xd05c

struct dusk_hook {
	struct list_head list;		/* in the session's hooks */
	struct nf_hook_ops ops;
	struct net *net;		/* referenced while registered */
	struct dusk_session *s;
	u64 cookie;
	u32 handle;
	u32 hold_ms;			/* its own, or the session's */
	u32 policy;			/* enum dusk_policy, the same */
	atomic64_t released;		/* packets released by policy */
	bool dying;			/* proxy lets packets pass */
};

void dusk_hooks_end(struct dusk_session *s);
/* Each hook's struct dusk_hook_count at p, room for max: how many. */
u32 dusk_hooks_count(struct dusk_session *s, void *p, u32 max);
void dusk_nf_keys_hold(void);
void dusk_nf_keys_release(void);
unsigned int dusk_nf_proxy(void *priv, struct sk_buff *skb,
			   const struct nf_hook_state *state);
struct dusk_hook *dusk_hook_of_entry(const struct nf_queue_entry *entry);
bool dusk_hook_entry_fix(struct nf_queue_entry *entry,
			 const struct dusk_hook *hook);

int dusk_pktq_init(void);
void dusk_pktq_exit(void);
int dusk_pktq_enqueue(struct nf_queue_entry *entry, struct dusk_hook *hook);
void dusk_pktq_service(struct dusk_session *s);
void dusk_pktq_release_hook(struct dusk_hook *hook);
unsigned long dusk_pktq_next_timeout(void);

/* ---- owned.c: session-owned kernel resources (owned.h's table) ---- */

struct dusk_own_rec;
struct dusk_own_acq;

/* One CALL, between dusk_own_prepare() and dusk_own_done(). */
struct dusk_own_call {
	const struct dusk_own_acq *acq;	/* fn acquires: its rule */
	struct dusk_own_rec *rec;	/* the record it will fill */
	bool release;			/* fn releases */
};

int dusk_own_init(void);
int dusk_own_prepare(struct dusk_session *s, unsigned long fn,
		     const char *name, struct dusk_own_call *oc);
void dusk_own_done(struct dusk_session *s, struct dusk_own_call *oc,
		   unsigned long fn, const u64 *args, u64 ret);
void dusk_own_cancel(struct dusk_own_call *oc);
void dusk_own_forget_range(struct dusk_session *s, u64 start, u64 size);
/*
 * What dusk.ko acquires itself: a kernel thread of kthread.c's for the
 * session (kt its record, handle its invocation's id), released at the
 * end by dusk_kthread_release(kt). -ESRCH: the session is dead (release
 * it yourself); -EDQUOT, -ENOMEM.
 */
int dusk_own_add_kthread(struct dusk_session *s, u64 kt, u64 handle);
/*
 * Take s's record of kind whose second value is key off the list, if
 * claim(its first value) says 0 (under the session's lock: claim must not
 * sleep): 0 and that value in *ret; claim's error; -ENOENT; -ESRCH when s
 * is dead (its end releases the thing).
 */
int dusk_own_claim(struct dusk_session *s, unsigned int kind, u64 key,
		   int (*claim)(u64 v0), u64 *ret);
void dusk_own_release_all(struct dusk_session *s);

/* ---- kthread.c: kernel threads for the module's (KTHREAD_*) ---- */

int dusk_do_kthread_create(struct dusk_req *r);
int dusk_do_kthread_stop(struct dusk_req *r);
/* The session's end (owned.c): stop the thread whose record is kt. */
u64 dusk_kthread_release(u64 kt, u64 handle, u64 unused2, u64 unused3);

int dusk_procfs_init(void);
void dusk_procfs_exit(void);

#endif /* DUSK_KMOD_H */
