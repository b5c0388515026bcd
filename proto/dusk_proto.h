/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * dusk_proto.h - the dusk wire protocol.
 *
 * This one file is used verbatim by the kernel helper (kmod/, dusk.ko) and
 * by the user-level runtime (runtime/, libdusk). Everything on the wire is a
 * fixed-width little-endian field; structures are packed by construction
 * (every field naturally aligned, explicit padding that must be zero).
 *
 * Transport: UDP. Each datagram is one message:
 *
 *	struct dusk_hdr | payload (hdr.len bytes)
 *
 * Authentication: hdr.mac is HMAC-SHA256 over the datagram from hdr.magic
 * (offset DUSK_MAC_LEN) to its end. HELLO and its reply are keyed with the
 * 32-byte master key given to both sides (dusk.ko's "key" parameter, the
 * runtime's key file). Every other message is keyed with the session key
 *
 *	HMAC-SHA256(master, "dusk-session-v1" | client nonce | server nonce |
 *		    session id as __le32)
 *
 * A datagram whose MAC, magic, version, type, flags, length or reserved
 * fields are wrong is dropped and counted, never answered. A replayed one
 * (seq not fresh in its channel's window) is dropped and counted.
 *
 * Sequence numbers: each sender keeps one counter per channel per session,
 * starting at 1; each receiver keeps a DUSK_REPLAY_WINDOW-bit window per
 * channel. A retransmission is a new datagram (new seq) with the same id.
 *
 * Request ids: the runtime numbers its requests 1, 2, 3... per channel per
 * session, so that a run's sequence of messages on one channel does not
 * depend on another's timing. The kernel keeps one record per channel and
 * executes an id at most once: a retransmitted request whose id it has
 * executed gets the recorded reply again (-EBADMSG if that id was a
 * request of another type). An id older than the channel's
 * record (more than DUSK_ID_WINDOW behind its newest) gets -ESTALE and is
 * not executed. A reply carries its request's id, type and
 * DUSK_F_REPLY, and hdr.status: 0 or a negative errno.
 *
 * Channels: the runtime's main thread of control talks on DUSK_CHAN_MAIN;
 * its watchdog (a separate process that outlives a stopped or crashed
 * program) sends PING and BYE on DUSK_CHAN_WATCHDOG. The kernel answers on
 * the channel and to the address a request came from; HOOK messages go to
 * the address of the latest authenticated DUSK_CHAN_MAIN datagram.
 *
 * Messages (R = runtime to kernel request, K = kernel to runtime):
 *
 * R HELLO	session 0, struct dusk_hello -> struct dusk_hello_reply and
 *		DUSK_REGION records. With a good cookie (see Handshake),
 *		opens a pending session; it replaces the current one when
 *		its first authenticated request arrives. -EAGAIN: no good
 *		cookie; the reply carries struct dusk_hello_cookie (the one
 *		error reply with a payload) and nothing was opened.
 *		-EPROTONOSUPPORT: version mismatch (the reply's hdr.version
 *		is the kernel's). -EINVAL: bad parameters.
 * R BYE	no payload -> empty. Ends the session now.
 * R PING	no payload -> struct dusk_stats, then one struct
 *		dusk_hook_count per hook of the session. A heartbeat: a
 *		session with no authenticated datagram for
 *		hello.heartbeat_ms ends.
 * R READ	struct dusk_read -> len bytes. -EFAULT: some byte is not
 *		readable kernel memory. -EINVAL: len 0 or beyond max_dgram.
 * R WRITE	struct dusk_write, then nr_segs segments -> empty. Segments
 *		are applied in order; -EFAULT stops at the first bad one.
 * R CALL	struct dusk_call, then nr_segs segments (a commit applied
 *		first) -> struct dusk_call_reply. -EFAULT: fn is not kernel
 *		text. -EPERM: fn changes the caller's context (locks, RCU,
 *		preemption, irqs) and must be emulated by the runtime.
 *		-EDEADLK: fn returned with the preempt count, RCU nesting or
 *		irqs changed all the same; dusk.ko put them back (a lock fn
 *		took stays taken) and ends the session after this reply.
 *		What fn acquires (device numbers, proc entries, memory...)
 *		is session-owned: released when the session ends unless
 *		the program released it (kmod/owned.h). -EOPNOTSUPP: fn
 *		acquires and dusk.ko does not know its release; -EDQUOT:
 *		the session holds dusk.ko's own_max resources. Not called.
 *		Before the call, each argument is probed as its struct
 *		dusk_probe says (below); an argument that fails is not
 *		passed: the reply (status 0) names it in refused_arg and
 *		its first unreadable byte in fault_off, and the function
 *		is not called (the commit was applied). -EINVAL: a probe
 *		record out of range.
 * R SYM	name bytes (no NUL) -> struct dusk_sym_reply. -ENOENT.
 * R ALLOC	struct dusk_alloc -> struct dusk_alloc_reply. Session-owned:
 *		freed when the session ends. -ENOMEM, -EINVAL, -EDQUOT.
 * R FREE	struct dusk_free -> empty. -ENOENT: not this session's.
 * R HOOK_REGISTER struct dusk_hook_register -> struct dusk_hook_handle.
 *		-EINVAL: pf/hooknum, hold_ms (over an hour) or policy;
 *		-ENODEV: net unknown, -ENOSPC.
 * R HOOK_UNREGISTER struct dusk_hook_handle -> empty. -ENOENT.
 * K HOOK	struct dusk_hook_batch, then nr records: each a struct
 *		dusk_hook_msg (a packet held for a verdict) then its nr_segs
 *		prefetched segments, len bytes. hdr.id = hdr.invocation =
 *		the first record's packet id. Each packet is sent again
 *		(new seq), with whatever else is due then, until a VERDICT
 *		names it or it is released by policy after its hold time.
 *		held_from acknowledges: every packet of the session older
 *		than it has been reinjected or released, so the runtime
 *		forgets them and ignores a late copy of their HOOK.
 * R VERDICT	struct dusk_verdict_batch, then nr records: each a struct
 *		dusk_verdict then its nr_segs segments, len bytes (the
 *		commit, applied just before that packet is reinjected).
 *		Records are applied in order. Not answered: held_from in
 *		the next HOOK acknowledges, and a packet whose VERDICT was
 *		lost comes again in a HOOK, which the runtime answers with
 *		the same record. A record for a packet not held (a
 *		duplicate, or released by policy: a packet past its hold
 *		time is released, its commit not applied) is counted and
 *		skipped; a malformed VERDICT is dropped whole.
 * K INVOKE	chan INV; hdr.id = hdr.invocation = the invocation's id.
 *		struct dusk_invoke, then nr_segs prefetched segments. A
 *		task called a proxied callback (Invocations, below). Sent
 *		again (new seq, same id) until a datagram of that
 *		invocation arrives.
 * R RETURN	chan INV. struct dusk_return, then nr_segs segments (the
 *		commit, applied first) -> empty. The callback returns ret
 *		to the kernel. -ESRCH: the invocation is over (its caller
 *		was killed, or the session ended); nothing was applied.
 * R UACCESS	chan INV. struct dusk_uaccess (then 8 bytes of value for
 *		PUT, len bytes for TO, and for STRNCPY the destination's
 *		len bytes as they are) -> struct dusk_uaccess_reply (then
 *		len bytes for FROM, and for STRNCPY the destination after
 *		the copy: what a fault leaves there is the kernel's).
 *		Executed by the calling task with the kernel's own
 *		accessors: a bad user pointer gives what it gives the .ko.
 *		-EINVAL: op or len (1, 2, 4, 8 for GET and PUT; the reply
 *		must fit max_dgram).
 * R PROXY_REGISTER struct dusk_proxy_register, then nr struct
 *		dusk_proxy_slot -> struct dusk_proxy_reply: the kernel
 *		address of a table of dusk.ko's own, of the kind's type,
 *		whose user slots are proxies and whose kernel slots are
 *		the functions given; the program gives that table to the
 *		kernel in place of its own. -EINVAL: kind, an offset that
 *		is not a function of the kind, a kernel slot that is not
 *		kernel text; -ENOSPC: no free table.
 * R PROXY_UNREGISTER struct dusk_proxy_handle -> empty. The table's
 *		proxies answer -ENODEV (open) or -EIO from now on; the
 *		table is reused once its last open file is closed.
 *		-ENOENT: not this session's.
 * R KTHREAD_CREATE struct dusk_kthread_create -> struct
 *		dusk_kthread_reply: a kernel thread named name
 *		(kthread_create_on_node(), not woken: ps shows it) that
 *		stands for a thread of the module: once woken it serves the
 *		blocking invocation whose id the reply gives as handle, as a
 *		proxy's caller serves its INVOKE (Invocations, below), only
 *		no INVOKE is sent: the program knows it from this reply and
 *		runs the thread's function once it wakes the thread. So
 *		`current` is that thread in what the function asks of the
 *		kernel. RETURN ends the function, and the thread with its
 *		value. Session-owned: the session's end stops it. -EINVAL:
 *		node (not NUMA_NO_NODE nor an online node), name (empty or
 *		not NUL-terminated), pad; -ENOMEM, -EINTR, -EDQUOT.
 * R KTHREAD_STOP struct dusk_kthread_handle -> struct
 *		dusk_kthread_stop_reply: kthread_stop() of that thread, its
 *		value in ret (the function's, or -EINTR if it never ran:
 *		stopped before it was woken). It never waits for the
 *		program: -EBUSY while the thread serves its invocation and
 *		RETURN has not come (the program stops its function first,
 *		and asks once RETURN has its reply). -ENOENT: no thread of
 *		this session's.
 * K SIGNAL	chan INV; hdr.invocation = the invocation; hdr.id = the
 *		signal's number in it (1, 2...); struct dusk_signal. The
 *		caller got a signal while its proxy waits for the program
 *		(Signals, below). fatal 0: sent again (new seq, same id),
 *		backing off, until a request of the invocation with an id
 *		newer than the latest one executed when the signal came
 *		arrives, or RETURN. fatal 1: sent once, as the invocation
 *		is abandoned. No reply.
 *
 * Requests made on behalf of an invocation (a HOOK being processed) carry
 * its id in hdr.invocation; 0 means none.
 *
 * Invocations. A kernel task that calls a callback of the module (a file
 * operation, ...) enters a proxy of dusk.ko, which sends INVOKE and
 * sleeps. The program runs the callback on a thread of its own; every
 * request it makes for it goes on DUSK_CHAN_INV with hdr.invocation = the
 * INVOKE's id, and is executed by the sleeping task itself, so that
 * `current` is the caller and uaccess reaches the caller's memory. Those
 * requests are numbered 1, 2, 3... per invocation, one at a time: the
 * task keeps its last reply, answers the same id again with it, and
 * executes only the next id (-ESTALE for an older one, -EPROTO for one
 * that skips). RETURN ends the invocation. Several invocations are in
 * flight at once, each with its own numbering. If the session ends, or
 * the caller is killed, the proxy returns -EIO (read, write, ioctl,
 * llseek...), -ENODEV (open), EPOLLERR (poll) or 0 (release, flush)
 * without waiting; later requests of that invocation get -ESRCH.
 *
 * Signals. A proxy waits for the program interruptibly, as the .ko's
 * code would sleep. A signal the caller may handle (SIGINT, SIGUSR1...)
 * does not end the wait: the caller sends SIGNAL (fatal 0) once and keeps
 * executing its invocation's requests, waiting killable from then on.
 * The program marks the invocation signalled, so that the module's
 * signal_pending(current) is true and its interruptible sleeps end; the
 * module typically returns -ERESTARTSYS, RETURN carries it, the proxy
 * returns it, and the kernel restarts the system call (SA_RESTART) or
 * fails it with EINTR, as with the .ko. A fatal signal abandons the
 * invocation at once (above); SIGNAL with fatal 1 tells the program.
 *
 * Version 6 added SIGNAL and dusk_stats.open_files; version 7
 * KTHREAD_CREATE and KTHREAD_STOP; version 8 batched HOOK and VERDICT
 * and stopped answering VERDICT.
 *
 * Handshake. A HELLO costs dusk.ko no state until its sender has shown
 * that it receives datagrams at the address it sends from (as WireGuard's
 * cookie reply or a SYN cookie), so that a HELLO a stranger captured and
 * replays, or sends from a forged address, opens nothing:
 *
 *	R HELLO, cookie zero		-> -EAGAIN, struct dusk_hello_cookie
 *	R HELLO, that cookie		-> struct dusk_hello_reply: pending
 *	R the session's first request	-> the session is the active one
 *
 * The runtime numbers its HELLOs 1, 2, 3... (one id per cookie it tries)
 * with one client nonce. The cookie is opaque to it: dusk.ko makes it
 * from a secret of its own, the HELLO's source address and port and its
 * client nonce; it is good for 10 to 20 seconds, from that address, for
 * that nonce. A HELLO whose cookie is not good gets a new one (-EAGAIN).
 * A client nonce opens one pending session at most: the same HELLO again
 * (a retransmission) is answered from that pending session, and once it
 * was replaced or became active a HELLO with that nonce is dropped
 * unanswered. A pending session takes datagrams only from the address
 * and port its HELLO came from. The cookie reply is smaller than the
 * HELLO, so a forged source address gains no amplification.
 */
#ifndef DUSK_PROTO_H
#define DUSK_PROTO_H

#include <linux/types.h>

#define DUSK_PROTO_VERSION	8
#define DUSK_MAGIC		0x4b535544	/* "DUSK" */
#define DUSK_DEFAULT_PORT	7000
#define DUSK_KEY_LEN		32
#define DUSK_MAC_LEN		32
#define DUSK_NONCE_LEN		16
#define DUSK_COOKIE_LEN		32
#define DUSK_RELEASE_LEN	64
#define DUSK_SESSION_LABEL	"dusk-session-v1"

/* Largest datagram either side sends unless HELLO agreed on less. */
#define DUSK_MAX_DGRAM		60000
#define DUSK_MIN_DGRAM		1024
#define DUSK_REPLAY_WINDOW	1024
#define DUSK_ID_WINDOW		1024
#define DUSK_MAX_CALL_ARGS	6
/* Prefetched segments start and end on these boundaries (within a page). */
#define DUSK_LINE_SIZE		64

/*
 * Every message type, stated once; the runtime's codec and dusk.ko's
 * dispatch both expand this list, so their rules cannot drift.
 *
 * X(name, from, chans, kind, size, segs_at, rep_kind, rep_size, keep)
 *
 * from:	who sends its requests (DUSK_FROM_*).
 * chans:	the channels it may come on (DUSK_CHANS_*).
 * kind, size:	its payload: exactly size bytes (EXACT), at least size
 *		bytes (MIN: what follows is checked by the type's own
 *		rules), or size bytes then segments (SEGS), whose count is
 *		the __le32 at offset segs_at.
 * rep_kind, rep_size: its reply's payload, the same way; NONE: never
 *		answered.
 * keep:	it has side effects: the executor keeps its reply by id, so
 *		that a retransmission is answered without executing it again.
 *
 * Sizes are expressions of the structures below, expanded where those are
 * defined.
 */
#define DUSK_MSG_TABLE(X)						\
	X(HELLO, RUNTIME, MAIN, EXACT, sizeof(struct dusk_hello), 0,	\
	  MIN, sizeof(struct dusk_hello_reply), 0)			\
	X(BYE, RUNTIME, CTRL, EXACT, 0, 0, EXACT, 0, 1)		\
	X(PING, RUNTIME, CTRL, EXACT, 0, 0,				\
	  MIN, sizeof(struct dusk_stats), 0)				\
	X(READ, RUNTIME, MAIN_INV, EXACT, sizeof(struct dusk_read), 0,	\
	  MIN, 1, 0)							\
	X(WRITE, RUNTIME, MAIN_INV, SEGS, sizeof(struct dusk_write),	\
	  DUSK_OFFSETOF(struct dusk_write, nr_segs), EXACT, 0, 1)	\
	X(CALL, RUNTIME, MAIN_INV, SEGS, sizeof(struct dusk_call),		\
	  DUSK_OFFSETOF(struct dusk_call, nr_segs),			\
	  EXACT, sizeof(struct dusk_call_reply), 1)			\
	X(SYM, RUNTIME, MAIN_INV, MIN, 1, 0,				\
	  EXACT, sizeof(struct dusk_sym_reply), 0)			\
	X(ALLOC, RUNTIME, MAIN_INV, EXACT, sizeof(struct dusk_alloc), 0,	\
	  EXACT, sizeof(struct dusk_alloc_reply), 1)			\
	X(FREE, RUNTIME, MAIN_INV, EXACT, sizeof(struct dusk_free), 0,	\
	  EXACT, 0, 1)							\
	X(HOOK_REGISTER, RUNTIME, MAIN, EXACT,				\
	  sizeof(struct dusk_hook_register), 0,				\
	  EXACT, sizeof(struct dusk_hook_handle), 1)			\
	X(HOOK_UNREGISTER, RUNTIME, MAIN, EXACT,			\
	  sizeof(struct dusk_hook_handle), 0, EXACT, 0, 1)		\
	/* The VERDICT request answers HOOK; held_from acknowledges	\
	 * VERDICT. */							\
	X(HOOK, KERNEL, MAIN, MIN, sizeof(struct dusk_hook_batch), 0,	\
	  NONE, 0, 0)							\
	X(VERDICT, RUNTIME, MAIN, MIN, sizeof(struct dusk_verdict_batch),	\
	  0, NONE, 0, 0)						\
	/* INVOKE has no reply: RETURN answers it. */			\
	X(INVOKE, KERNEL, INV, SEGS, sizeof(struct dusk_invoke),	\
	  DUSK_OFFSETOF(struct dusk_invoke, nr_segs), EXACT, 0, 0)	\
	X(RETURN, RUNTIME, INV, SEGS, sizeof(struct dusk_return),	\
	  DUSK_OFFSETOF(struct dusk_return, nr_segs), EXACT, 0, 1)	\
	X(UACCESS, RUNTIME, INV, MIN, sizeof(struct dusk_uaccess), 0,	\
	  MIN, sizeof(struct dusk_uaccess_reply), 0)			\
	X(PROXY_REGISTER, RUNTIME, MAIN_INV, MIN,			\
	  sizeof(struct dusk_proxy_register), 0,			\
	  EXACT, sizeof(struct dusk_proxy_reply), 1)			\
	X(PROXY_UNREGISTER, RUNTIME, MAIN_INV, EXACT,			\
	  sizeof(struct dusk_proxy_handle), 0, EXACT, 0, 1)		\
	/* SIGNAL has no reply: the next request acknowledges it. */	\
	X(SIGNAL, KERNEL, INV, EXACT, sizeof(struct dusk_signal), 0,	\
	  EXACT, 0, 0)							\
	X(KTHREAD_CREATE, RUNTIME, MAIN_INV, EXACT,			\
	  sizeof(struct dusk_kthread_create), 0,			\
	  EXACT, sizeof(struct dusk_kthread_reply), 1)			\
	X(KTHREAD_STOP, RUNTIME, MAIN_INV, EXACT,			\
	  sizeof(struct dusk_kthread_handle), 0,			\
	  EXACT, sizeof(struct dusk_kthread_stop_reply), 1)

#define DUSK_OFFSETOF(type, member)	__builtin_offsetof(type, member)

enum dusk_msg_type {
	DUSK_MSG_INVALID = 0,
#define DUSK_X_ENUM(name, ...)	DUSK_MSG_##name,
	DUSK_MSG_TABLE(DUSK_X_ENUM)
#undef DUSK_X_ENUM
	__DUSK_MSG_MAX
};

/* The table's columns. */
enum dusk_msg_from {
	DUSK_FROM_NONE = 0,
	DUSK_FROM_RUNTIME,
	DUSK_FROM_KERNEL,
};

enum dusk_msg_size {
	DUSK_SIZE_EXACT = 0,
	DUSK_SIZE_MIN,
	DUSK_SIZE_SEGS,
	DUSK_SIZE_NONE,		/* replies only: none is sent */
};

enum dusk_msg_flag {
	DUSK_F_REPLY = 1U << 0,
	DUSK_F_ALL = DUSK_F_REPLY
};

enum dusk_channel {
	DUSK_CHAN_MAIN = 0,
	DUSK_CHAN_WATCHDOG = 1,
	DUSK_CHAN_INV = 2,	/* the requests of blocking invocations */
	__DUSK_CHAN_MAX
};

/* Sets of channels, for the table's chans column. */
#define DUSK_CHANS_MAIN		(1U << DUSK_CHAN_MAIN)
#define DUSK_CHANS_INV		(1U << DUSK_CHAN_INV)
#define DUSK_CHANS_MAIN_INV	(DUSK_CHANS_MAIN | DUSK_CHANS_INV)
#define DUSK_CHANS_CTRL		(DUSK_CHANS_MAIN | (1U << DUSK_CHAN_WATCHDOG))

struct dusk_hdr {
	__u8 mac[DUSK_MAC_LEN];
	__le32 magic;
	__u8 version;
	__u8 type;		/* enum dusk_msg_type */
	__u8 channel;		/* enum dusk_channel */
	__u8 flags;		/* enum dusk_msg_flag */
	__le32 session;		/* 0 in HELLO and its reply */
	__le32 len;		/* payload bytes that follow */
	__le64 seq;
	__le64 id;
	__le64 invocation;
	__le32 status;		/* replies: 0 or a negative errno (s32) */
	__le32 reserved;	/* zero */
};

/* A run of kernel bytes: header then len bytes, padded to 8 with zeros. */
struct dusk_seg {
	__le64 addr;
	__le32 len;
	__le32 pad;
};

/* len rounded up to 8, in len's own type: given a __u64, never wraps (a
 * mask of ~7U would cut a __u64 to 32 bits). */
#define DUSK_SEG_PAD(len)	(((len) + 7U) / 8U * 8U)

enum dusk_policy {
	DUSK_POLICY_ACCEPT = 0,
	DUSK_POLICY_DROP = 1,
	__DUSK_POLICY_MAX
};

struct dusk_hello {
	__u8 nonce[DUSK_NONCE_LEN];
	__le32 max_dgram;	/* largest datagram the runtime takes */
	__le32 heartbeat_ms;	/* session ends after this long unheard */
	__le32 hold_ms;		/* longest a packet waits for a verdict */
	__le32 hold_max;	/* most packets waiting at once */
	__le32 policy;		/* enum dusk_policy, for released packets */
	__le32 prefetch;	/* linear data bytes carried in HOOK */
	__le32 window;		/* HOOK messages in flight at once */
	__le32 pad;
	__u8 cookie[DUSK_COOKIE_LEN];	/* zero, or dusk.ko's (Handshake) */
};

/* HELLO's -EAGAIN reply: send the HELLO again with this cookie. */
struct dusk_hello_cookie {
	__u8 client_nonce[DUSK_NONCE_LEN];	/* echoed */
	__u8 cookie[DUSK_COOKIE_LEN];
};

enum dusk_region_kind {
	DUSK_REGION_INVALID = 0,
	DUSK_REGION_DIRECT_MAP,
	DUSK_REGION_VMALLOC,
	DUSK_REGION_VMEMMAP,
	DUSK_REGION_KERNEL_IMAGE,
	DUSK_REGION_MODULES,
	__DUSK_REGION_MAX
};

/* A range of kernel virtual addresses the runtime mirrors contiguously. */
struct dusk_region {
	__le64 start;
	__le64 size;
	__le32 kind;		/* enum dusk_region_kind */
	__le32 pad;
};

struct dusk_hello_reply {
	__u8 client_nonce[DUSK_NONCE_LEN];	/* echoed */
	__u8 nonce[DUSK_NONCE_LEN];
	__le32 session;
	__le32 max_dgram;	/* agreed: min of both sides */
	__le32 page_size;
	__le32 nr_cpus;
	__le32 hz;
	__le32 nr_regions;	/* struct dusk_region records follow */
	__u8 release[DUSK_RELEASE_LEN];	/* utsname()->release, NUL padded */
};

/* Counters, as PING's reply and /proc/dusk show them. */
struct dusk_stats {
	__le64 rx_ok;
	__le64 rx_bad_mac;	/* unauthenticated or wrong session */
	__le64 rx_malformed;
	__le64 rx_replayed;
	__le64 tx;
	__le64 tx_errors;
	__le64 retransmits;	/* HOOK messages sent again */
	__le64 hooks;		/* hooks of the session */
	__le64 queued;		/* packets waiting for a verdict now */
	__le64 verdicts;
	__le64 released;	/* packets released by policy */
	__le64 allocs;		/* live session allocations */
	__le64 open_files;	/* open files of its live file_operations */
};

/* After dusk_stats in PING's reply: each hook's packets released by its
 * policy (at the hold time, or refused with the queue full), since it was
 * registered. */
struct dusk_hook_count {
	__le32 handle;
	__le32 policy;		/* enum dusk_policy, the hook's */
	__le64 released;
};

struct dusk_read {
	__le64 addr;
	__le32 len;
	__le32 pad;
};

struct dusk_write {
	__le32 nr_segs;
	__le32 pad;
};

enum dusk_call_flag {
	DUSK_CALL_F_ALL = 0
};

/*
 * What dusk.ko checks of a CALL argument before the call, so that a bad
 * pointer the module computed is refused instead of oopsing the kernel:
 * DUSK_PROBE_SIZE reads (through the nofault accessors) every page of
 * [arg, arg + size); DUSK_PROBE_STR reads up to the string's NUL, size
 * bytes at most. Values below DUSK_PROBE_LOW_ADDR (NULL and the pages no
 * process may map) always fail, unless DUSK_PROBE_F_NULL_OK allows NULL
 * or DUSK_PROBE_F_ERR_OK an ERR_PTR (-4095..-1); kernel addresses are
 * read; other user-half addresses pass unread (the __user pointers of
 * the calling task, which the callee reaches by the uaccess helpers).
 */
enum dusk_probe_kind {
	DUSK_PROBE_NONE = 0,
	DUSK_PROBE_SIZE,
	DUSK_PROBE_STR,
	__DUSK_PROBE_MAX
};

enum dusk_probe_flag {
	DUSK_PROBE_F_NULL_OK = 1U << 0,
	DUSK_PROBE_F_ERR_OK = 1U << 1,
	DUSK_PROBE_F_ALL = DUSK_PROBE_F_NULL_OK | DUSK_PROBE_F_ERR_OK
};

#define DUSK_PROBE_LOW_ADDR	0x10000
#define DUSK_PROBE_STR_MAX	4096

struct dusk_probe {
	__le32 size;		/* SIZE: bytes; STR: the most to scan */
	__u8 kind;		/* enum dusk_probe_kind */
	__u8 flags;		/* enum dusk_probe_flag */
	__le16 pad;
};

struct dusk_call {
	__le64 fn;
	__le64 args[DUSK_MAX_CALL_ARGS];
	__le32 nargs;
	__le32 flags;		/* enum dusk_call_flag */
	__le32 nr_segs;
	__le32 pad;
	struct dusk_probe probe[DUSK_MAX_CALL_ARGS];	/* NONE past nargs */
};

struct dusk_call_reply {
	__le64 ret;
	__le32 refused_arg;	/* 0: called; else 1 + the argument refused */
	__le32 fault_off;	/* refused: its first unreadable byte */
};

struct dusk_sym_reply {
	__le64 addr;
	__le64 size;		/* to the next symbol (an upper bound), or 0 */
};

enum dusk_alloc_flag {
	DUSK_ALLOC_ZERO = 1U << 0,
	DUSK_ALLOC_F_ALL = DUSK_ALLOC_ZERO
};

struct dusk_alloc {
	__le64 size;
	__le32 flags;		/* enum dusk_alloc_flag */
	__le32 pad;
};

struct dusk_alloc_reply {
	__le64 addr;
};

struct dusk_free {
	__le64 addr;
};

/* A hook's own policy for its released packets: the session's, or one. */
enum dusk_hook_policy {
	DUSK_HOOK_POLICY_SESSION = 0,	/* hello.policy */
	DUSK_HOOK_POLICY_ACCEPT,
	DUSK_HOOK_POLICY_DROP,
	__DUSK_HOOK_POLICY_MAX
};

struct dusk_hook_register {
	__le64 net;		/* struct net *, 0 for init_net */
	__le64 cookie;		/* the runtime's tag, echoed in HOOK */
	__le32 pf;		/* NFPROTO_* */
	__le32 hooknum;		/* NF_INET_* */
	__le32 priority;	/* s32 */
	__le32 hold_ms;		/* its packets' hold time, 0: hello.hold_ms */
	__le32 policy;		/* enum dusk_hook_policy */
	__le32 pad;
};

struct dusk_hook_handle {
	__le32 handle;
	__le32 pad;
};

struct dusk_hook_batch {
	__le64 held_from;	/* the session's oldest packet held, or the
				 * next packet id when none is */
	__le32 nr;		/* records follow */
	__le32 pad;
};

struct dusk_hook_msg {
	__le64 packet;		/* its id: 1, 2, 3... per dusk.ko */
	__le64 cookie;
	__le64 skb;		/* struct sk_buff * */
	__le64 state;		/* struct nf_hook_state * */
	__le32 handle;
	__le32 nr_segs;		/* prefetched struct dusk_seg follow */
	__le32 cpu;		/* the CPU the hook ran on */
	__le32 len;		/* bytes of those segments */
};

struct dusk_verdict_batch {
	__le32 nr;		/* records follow */
	__le32 pad;
};

struct dusk_verdict {
	__le64 packet;
	__le32 verdict;		/* NF_ACCEPT, NF_DROP, NF_STOLEN */
	__le32 nr_segs;		/* the commit's struct dusk_seg follow */
	__le32 len;		/* bytes of those segments */
	__le32 pad;
};

/* The callback a proxy stands for: its kernel's caller, the task below. */
struct dusk_invoke {
	__le64 cookie;		/* the slot's, from PROXY_REGISTER */
	__le64 args[DUSK_MAX_CALL_ARGS];	/* as the kernel passed them */
	__le64 task;		/* current: struct task_struct * */
	__le64 parent;		/* the invocation this task is inside, or 0 */
	__le32 handle;		/* the proxy table's */
	__le32 off;		/* the slot's offset in its table */
	__le32 pid;		/* the caller's, as the kernel numbers them */
	__le32 tgid;
	__le32 cpu;
	__le32 nr_segs;		/* prefetched struct dusk_seg follow */
	__u8 comm[16];		/* the caller's, NUL padded */
};

struct dusk_return {
	__le64 ret;		/* the callback's value, sign-extended */
	__le32 nr_segs;
	__le32 pad;
};

/* K SIGNAL: the caller of an invocation got a signal. */
struct dusk_signal {
	__le32 fatal;		/* 1: killed, the invocation is over; else 0 */
	__le32 signo;		/* the lowest pending one, for the record */
};

enum dusk_uaccess_op {
	DUSK_UA_INVALID = 0,
	DUSK_UA_TO,		/* copy_to_user(uaddr, data, len) */
	DUSK_UA_FROM,		/* copy_from_user(reply, uaddr, len) */
	DUSK_UA_CLEAR,		/* clear_user(uaddr, len) */
	DUSK_UA_STRNCPY,	/* strncpy_from_user(dst, uaddr, len) */
	DUSK_UA_STRNLEN,	/* strnlen_user(uaddr, len) */
	DUSK_UA_GET,		/* get_user of len (1, 2, 4, 8) bytes */
	DUSK_UA_PUT,		/* put_user of len bytes: the __le64 after */
	DUSK_UA_ACCESS_OK,	/* access_ok(uaddr, len): ret 1 or 0 */
	__DUSK_UA_MAX
};

struct dusk_uaccess {
	__le64 uaddr;
	__le64 len;
	__le32 op;		/* enum dusk_uaccess_op */
	__le32 pad;
};

/*
 * ret: what the kernel's function returned (bytes not copied for TO, FROM
 * and CLEAR; the length or -EFAULT for STRNCPY; 0 or -EFAULT for GET and
 * PUT), sign-extended. val: GET's value, zero-extended. FROM's reply
 * carries all len bytes (the ones not copied are zero, as
 * copy_from_user leaves them).
 */
struct dusk_uaccess_reply {
	__le64 ret;
	__le64 val;
};

/* The kernel structures dusk.ko has proxy tables of. */
enum dusk_proxy_kind {
	DUSK_PROXY_INVALID = 0,
	DUSK_PROXY_FOPS,	/* struct file_operations */
	DUSK_PROXY_PROC_OPS,	/* struct proc_ops */
	DUSK_PROXY_SEQ_OPS,	/* struct seq_operations */
	DUSK_PROXY_FN,		/* one function (single_open's show): off 0 */
	__DUSK_PROXY_MAX
};

enum dusk_proxy_slot_kind {
	DUSK_SLOT_USER = 1,	/* the module's function: value is a cookie */
	DUSK_SLOT_KERNEL,	/* a kernel function (seq_read): its address */
};

struct dusk_proxy_register {
	__le64 table;		/* the program's own, for the record */
	__le64 flags;		/* proc_ops.proc_flags; 0 for the others */
	__le32 kind;		/* enum dusk_proxy_kind */
	__le32 nr;		/* struct dusk_proxy_slot follow */
};

struct dusk_proxy_slot {
	__le32 off;		/* of a function pointer in the kind's type */
	__le32 kind;		/* enum dusk_proxy_slot_kind */
	__le64 value;
};

struct dusk_proxy_reply {
	__le64 table;		/* dusk.ko's table, to give the kernel */
	__le32 handle;
	__le32 pad;
};

struct dusk_proxy_handle {
	__le32 handle;
	__le32 pad;
};

/* The name of a thread: what ps shows (the kernel keeps TASK_COMM_LEN
 * bytes as comm, the rest as the kthread's full name). */
#define DUSK_KTHREAD_NAME_LEN	64

struct dusk_kthread_create {
	__le32 node;		/* s32: NUMA_NO_NODE (-1), or a node */
	__le32 pad;
	char name[DUSK_KTHREAD_NAME_LEN];	/* NUL-terminated */
};

struct dusk_kthread_reply {
	__le64 task;		/* struct task_struct *, referenced */
	__le64 handle;		/* the invocation it serves once woken */
};

struct dusk_kthread_handle {
	__le64 handle;
};

struct dusk_kthread_stop_reply {
	__le64 ret;		/* kthread_stop()'s, sign-extended */
};

/*
 * Every field is naturally aligned, so these sizes hold with every
 * compiler on both sides: a change to a structure above that breaks them
 * fails the build of dusk.ko and of the runtime alike.
 */
#define DUSK_WIRE_SIZE(type, bytes)	\
	_Static_assert(sizeof(struct type) == (bytes), #type " on the wire")
DUSK_WIRE_SIZE(dusk_hdr, 80);
DUSK_WIRE_SIZE(dusk_seg, 16);
DUSK_WIRE_SIZE(dusk_hello, 80);
DUSK_WIRE_SIZE(dusk_hello_cookie, 48);
DUSK_WIRE_SIZE(dusk_region, 24);
DUSK_WIRE_SIZE(dusk_hello_reply, 120);
DUSK_WIRE_SIZE(dusk_stats, 104);
DUSK_WIRE_SIZE(dusk_hook_count, 16);
DUSK_WIRE_SIZE(dusk_read, 16);
DUSK_WIRE_SIZE(dusk_write, 8);
DUSK_WIRE_SIZE(dusk_probe, 8);
DUSK_WIRE_SIZE(dusk_call, 120);
DUSK_WIRE_SIZE(dusk_call_reply, 16);
DUSK_WIRE_SIZE(dusk_sym_reply, 16);
DUSK_WIRE_SIZE(dusk_alloc, 16);
DUSK_WIRE_SIZE(dusk_alloc_reply, 8);
DUSK_WIRE_SIZE(dusk_free, 8);
DUSK_WIRE_SIZE(dusk_hook_register, 40);
DUSK_WIRE_SIZE(dusk_hook_handle, 8);
DUSK_WIRE_SIZE(dusk_hook_batch, 16);
DUSK_WIRE_SIZE(dusk_hook_msg, 48);
DUSK_WIRE_SIZE(dusk_verdict_batch, 8);
DUSK_WIRE_SIZE(dusk_verdict, 24);
DUSK_WIRE_SIZE(dusk_invoke, 112);
DUSK_WIRE_SIZE(dusk_return, 16);
DUSK_WIRE_SIZE(dusk_signal, 8);
DUSK_WIRE_SIZE(dusk_uaccess, 24);
DUSK_WIRE_SIZE(dusk_uaccess_reply, 16);
DUSK_WIRE_SIZE(dusk_proxy_register, 24);
DUSK_WIRE_SIZE(dusk_proxy_slot, 16);
DUSK_WIRE_SIZE(dusk_proxy_reply, 16);
DUSK_WIRE_SIZE(dusk_proxy_handle, 8);
DUSK_WIRE_SIZE(dusk_kthread_create, 72);
DUSK_WIRE_SIZE(dusk_kthread_reply, 16);
DUSK_WIRE_SIZE(dusk_kthread_handle, 8);
DUSK_WIRE_SIZE(dusk_kthread_stop_reply, 8);
#undef DUSK_WIRE_SIZE

/* A SEGS message's segment count lies within its fixed part. */
#define DUSK_X_SEGS_AT(name, from, chans, kind, size, segs_at, rep_kind, \
		       rep_size, keep)					\
	_Static_assert(DUSK_SIZE_##kind != DUSK_SIZE_SEGS ||		\
		       (segs_at) + sizeof(__le32) <= (size),		\
		       #name "'s segment count");
DUSK_MSG_TABLE(DUSK_X_SEGS_AT)
#undef DUSK_X_SEGS_AT

#endif /* DUSK_PROTO_H */
