/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * fake_kernel.h - a simulated dusk.ko for the unit tests only: it speaks
 * the wire protocol (its own session-key derivation, its own id window)
 * and serves READ/WRITE/CALL/... from byte arrays standing for kernel
 * memory. Its transport backend plugs into the runtime's transport seam,
 * so a test drives the real session, shadow cache and event loop.
 */
#ifndef DUSK_FAKE_KERNEL_H
#define DUSK_FAKE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "dusk_proto.h"
#include "codec.h"
#include "hmac_sha256.h"
#include "window.h"

struct dusk_transport;
struct dusk_session;
struct dusk_config;

#define FK_AREA_DIRECT	0xffff888000100000ULL	/* in the direct map */
#define FK_AREA_VMALLOC	0xffffc90000010000ULL	/* in vmalloc */
#define FK_AREA_STRAY	0xfffffe0000000000ULL	/* outside every region */
#define FK_DIRECT_START	0xffff888000000000ULL
#define FK_VMALLOC_START 0xffffc90000000000ULL
#define FK_SESSION	0x5eed1234U
#define FK_MAX_LOG	4096
/* With 5-level paging (fk.la57): vmalloc is larger than user space. */
#define FK57_DIRECT_START	0xff11000000000000ULL
#define FK57_VMALLOC_START	0xffa0000000000000ULL
#define FK57_VMALLOC_SIZE	0x0032000000000000ULL
#define FK57_AREA_DIRECT	(FK57_DIRECT_START + 0x100000)
#define FK57_AREA_VMALLOC	(FK57_VMALLOC_START + (1ULL << 30) - 0x2000)

struct fk_area {
	uint64_t base;
	size_t len;
	uint8_t *bytes;
};

struct fk_applied {
	uint64_t addr;
	uint32_t len;
	uint8_t type;
};

struct fk_verdict {
	uint64_t packet;
	uint32_t verdict;
	uint64_t id;
	uint64_t invocation;
	uint32_t nr_segs;
};

struct fk_slot {
	uint64_t id;
	int32_t status;
	uint8_t type;
	uint32_t len;
	uint8_t payload[16];
};

/* Invocations (INVOKE), each with its own request numbering. */
#define FK_MAX_INVS	32
#define FK_UBASE	0x0000000010000000ULL	/* the caller's user memory */
#define FK_ULEN		4096
struct fk_inv {
	uint64_t id;
	int ended;			/* RETURN applied, or killed */
	uint64_t last_id;		/* of its requests, executed */
	int32_t last_status;
	uint8_t last_type;
	uint32_t last_len;
	uint8_t last_reply[64];
	int returned;
	uint64_t ret;			/* RETURN's */
	uint64_t return_id;		/* RETURN's request id */
	uint32_t return_segs;
	unsigned int returns;		/* RETURNs received (with resends) */
	uint8_t *payload;		/* the INVOKE, to send again */
	uint32_t len;
};

struct fake_kernel;
typedef uint64_t (*fk_call_fn)(struct fake_kernel *fk, uint64_t fn,
			       const uint64_t *args, unsigned int nargs);

struct fake_kernel {
	uint8_t master[DUSK_KEY_LEN];
	struct dusk_hmac_key master_key;
	struct dusk_hmac_key key;
	int have_session;
	uint32_t session;
	uint8_t cnonce[DUSK_NONCE_LEN];
	uint8_t snonce[DUSK_NONCE_LEN];
	uint32_t max_dgram;		/* what HELLO agrees on, at most */
	uint64_t tx_seq[__DUSK_CHAN_MAX];
	struct dusk_seq_window seq_window[__DUSK_CHAN_MAX];
	int ended;			/* BYE received */

	struct fk_area areas[3];

	/* What happened. */
	unsigned int received[__DUSK_MSG_MAX];
	unsigned int received_chan[__DUSK_CHAN_MAX][__DUSK_MSG_MAX];
	unsigned int executed[__DUSK_MSG_MAX];
	unsigned int rejected;		/* failed to parse or replayed */
	unsigned int answered_again;	/* replies resent from the record */
	uint64_t ids[FK_MAX_LOG];	/* id of each request received */
	uint64_t invocations[FK_MAX_LOG];	/* and its hdr.invocation */
	uint8_t types[FK_MAX_LOG];
	uint8_t chans[FK_MAX_LOG];
	unsigned int nr_log;
	struct fk_applied applied[FK_MAX_LOG];	/* segments written */
	unsigned int nr_applied;
	uint64_t applied_bytes;
	struct fk_verdict verdicts[FK_MAX_LOG];
	unsigned int nr_verdicts;
	uint64_t last_id_window_max;

	/* Faults to inject. */
	unsigned int drop_new_requests;	/* drop the first datagram of that
					 * many new request ids */
	unsigned int drop_replies;	/* execute, then lose that many replies */
	int32_t verdict_status;		/* answer RETURNs with this */
	int silent;			/* answer nothing */
	unsigned int drop_hello;	/* lose that many HELLOs */
	unsigned int stale_cookies;	/* answer that many good cookies
					 * with a new one, as if stale */
	unsigned int cookies_sent;	/* HELLOs answered -EAGAIN */
	int dup_output;			/* send every datagram twice */
	int la57;			/* 5-level paging layout */
	fk_call_fn call;
	/* SYM of other names than jiffies: 0 and *addr, or -ENOENT. */
	int (*sym)(struct fake_kernel *fk, const char *name, uint64_t *addr);
	/* ALLOC: 0 gives every allocation FK_AREA_DIRECT + 0x8000; else
	 * the next one's address, bumped (sizes of a page or more page
	 * aligned, as kmalloc's power-of-two sizes are). */
	uint64_t alloc_next;
	uint32_t hook_cpu;		/* HOOK messages' cpu */

	/* Kept replies (ids of requests with side effects). */
	uint64_t max_id;
	struct fk_slot slots[DUSK_ID_WINDOW];

	/* Invocations, the proxy tables handed out and the caller's user
	 * memory (FK_UBASE, FK_ULEN bytes) uaccess reaches. */
	struct fk_inv invs[FK_MAX_INVS];
	unsigned int nr_invs;
	unsigned int inv_stale, inv_skipped;	/* -ESTALE, -EPROTO answers */
	unsigned int nr_proxies;
	struct dusk_proxy_slot proxy_slots[32];
	unsigned int nr_proxy_slots;
	uint8_t umem[FK_ULEN];

	/* Hooks registered. */
	uint64_t cookies[16];
	unsigned int nr_hooks;

	/* HOOK records sent, to send again; held: no VERDICT record yet. */
	struct {
		uint64_t packet;
		uint8_t *payload;
		uint32_t len;
		int held;
	} hooks_sent[64];
	unsigned int nr_hooks_sent;
	int batch_hooks;		/* fk_hook() waits for fk_hooks_flush() */
	unsigned int hooks_waiting;	/* the last ones of hooks_sent */
	uint64_t held_from;		/* HOOK's, as dusk.ko's */
	unsigned int verdict_records;	/* received, duplicates too */
	unsigned int verdicts_unheld;	/* for no packet held */
	unsigned int drop_verdicts;	/* lose that many VERDICT datagrams */

	/* Datagrams to the runtime. */
	struct {
		uint8_t *buf;
		size_t len;
		uint64_t at_ns;		/* when it "reached the socket" */
	} out[1024];
	unsigned int out_head, out_tail;
	int evfd;
};

void fk_init(struct fake_kernel *fk);
/* The 5-level paging layout: areas and regions move. */
void fk_init_la57(struct fake_kernel *fk);
void fk_deinit(struct fake_kernel *fk);
/* A datagram from the runtime. */
void fk_input(struct fake_kernel *fk, const void *buf, size_t len);
/* Pop a datagram for the runtime: its length, or 0. */
size_t fk_output(struct fake_kernel *fk, void *buf, size_t cap,
		 uint64_t *ret_at_ns);
/* Put any bytes on the way to the runtime. */
void fk_inject(struct fake_kernel *fk, const void *buf, size_t len);

/* Kernel memory as the fake holds it; NULL outside every area. */
uint8_t *fk_mem(struct fake_kernel *fk, uint64_t addr, size_t len);

/* Send a HOOK for packet: prefetch the given ranges (line aligned). With
 * fk->batch_hooks set, its record waits for fk_hooks_flush(), which sends
 * all those waiting in one HOOK. */
struct fk_range {
	uint64_t addr;
	uint32_t len;
};
void fk_hook(struct fake_kernel *fk, uint64_t packet, unsigned int hook,
	     uint64_t skb, uint64_t state, const struct fk_range *pre,
	     unsigned int nr_pre);
void fk_hooks_flush(struct fake_kernel *fk);
/* The packet's record again, alone in a HOOK. */
void fk_hook_again(struct fake_kernel *fk, uint64_t packet);

/* Send an INVOKE (a task called a proxy): id, the slot's cookie, args. */
void fk_invoke(struct fake_kernel *fk, uint64_t id, uint64_t cookie,
	       const uint64_t args[6], uint64_t task, uint32_t pid,
	       const char *comm, const struct fk_range *pre,
	       unsigned int nr_pre);
/* The same INVOKE again: new seq, same id. */
void fk_invoke_again(struct fake_kernel *fk, uint64_t id);
/* A SIGNAL for invocation inv: its signal number id, fatal, signo. */
void fk_signal(struct fake_kernel *fk, uint64_t inv, uint64_t id, int fatal,
	       uint32_t signo);
/* The invocation id (NULL: never sent). */
struct fk_inv *fk_inv_find(struct fake_kernel *fk, uint64_t id);

/* The runtime's side of it: a transport backend, and a session over it. */
struct dusk_transport *fk_transport(struct fake_kernel *fk);
int fk_session_open(struct fake_kernel *fk, struct dusk_config *cfg,
		    struct dusk_session **ret);
/* A config for the fake: no watchdog, quick timers. */
void fk_config(struct dusk_config *cfg);

#endif /* DUSK_FAKE_KERNEL_H */
