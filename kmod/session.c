// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions: a HELLO with a good cookie (cookie.c) opens a pending session;
 * its first authenticated request, from the HELLO's address and port,
 * makes it the active one, ending the previous session. A HELLO without
 * one gets a cookie and leaves nothing behind, and a client nonce opens
 * one session at most: so a stranger replaying HELLOs opens nothing and
 * displaces no one, and only a key holder's new HELLO (a new program
 * starting) replaces the pending session. A session ends on BYE, on
 * heartbeat silence, or at rmmod, and then every resource it owns goes:
 * invocations in flight (woken to answer as dead), proxy tables (dead),
 * hooks, queued packets (released by its policy), what its kernel calls
 * acquired (owned.c), allocations.
 *
 * The thread holds a session's first reference; a task in a proxy holds
 * one while it invokes (invoke.c). The last put frees it, in whichever
 * context that is.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/jiffies.h>
#include <linux/utsname.h>
#include <linux/vmalloc.h>
#include <linux/pgtable.h>
#include <linux/inet.h>

#include "dusk_kmod.h"

#define DUSK_PENDING_MS		10000

static int dusk_params_parse(const struct dusk_hello *h, struct dusk_params *p)
{
	p->max_dgram = clamp_t(u32, le32_to_cpu(h->max_dgram), DUSK_MIN_DGRAM,
			       DUSK_MAX_DGRAM);
	p->heartbeat_ms = le32_to_cpu(h->heartbeat_ms);
	p->hold_ms = le32_to_cpu(h->hold_ms);
	p->hold_max = le32_to_cpu(h->hold_max);
	p->policy = le32_to_cpu(h->policy);
	p->prefetch = le32_to_cpu(h->prefetch);
	p->window = le32_to_cpu(h->window);
	if (le32_to_cpu(h->max_dgram) < DUSK_MIN_DGRAM ||
	    p->heartbeat_ms < 100 || p->heartbeat_ms > 3600 * 1000 ||
	    p->hold_ms < 1 || p->hold_ms > 3600 * 1000 ||
	    p->hold_max < 1 || p->hold_max > 65536 ||
	    p->policy >= __DUSK_POLICY_MAX || p->prefetch > 65536 ||
	    p->window < 1 || p->window > 1024 || h->pad)
		return -EINVAL;
	return 0;
}

static void dusk_region_put(struct dusk_region *r, u32 kind, unsigned long start,
			    unsigned long size)
{
	r->start = cpu_to_le64(start);
	r->size = cpu_to_le64(size);
	r->kind = cpu_to_le32(kind);
	r->pad = 0;
}

/* Where the kernel keeps what a module may point at, on this boot. */
static u32 dusk_regions(struct dusk_region *r)
{
	unsigned long max_pfn = *(unsigned long *)dusk_ksym("max_pfn");
	unsigned long text = dusk_ksym("_text"), end = dusk_ksym("_end");
	u32 n = 0;

	dusk_region_put(&r[n++], DUSK_REGION_DIRECT_MAP, PAGE_OFFSET,
			max_pfn << PAGE_SHIFT);
	dusk_region_put(&r[n++], DUSK_REGION_VMALLOC, VMALLOC_START,
			VMALLOC_END - VMALLOC_START + 1);
	dusk_region_put(&r[n++], DUSK_REGION_VMEMMAP, (unsigned long)vmemmap,
			max_pfn * sizeof(struct page));
	dusk_region_put(&r[n++], DUSK_REGION_KERNEL_IMAGE,
			round_down(text, PAGE_SIZE),
			round_up(end, PAGE_SIZE) - round_down(text, PAGE_SIZE));
	dusk_region_put(&r[n++], DUSK_REGION_MODULES, MODULES_VADDR,
			MODULES_END - MODULES_VADDR);
	return n;
}

static void dusk_hello_reply(struct dusk_session *s, const struct dusk_hdr *hdr,
			     const struct sockaddr_in *to)
{
	struct dusk_hello_reply *rep;
	struct dusk_region *regions;
	u32 n;

	rep = dusk_msg_start(DUSK_MSG_HELLO, DUSK_F_REPLY, hdr->channel,
			     le64_to_cpu(hdr->id), 0, 0);
	memset(rep, 0, sizeof(*rep));
	memcpy(rep->client_nonce, s->client_nonce, DUSK_NONCE_LEN);
	memcpy(rep->nonce, s->server_nonce, DUSK_NONCE_LEN);
	rep->session = cpu_to_le32(s->id);
	rep->max_dgram = cpu_to_le32(s->params.max_dgram);
	rep->page_size = cpu_to_le32(PAGE_SIZE);
	rep->nr_cpus = cpu_to_le32(num_possible_cpus());
	rep->hz = cpu_to_le32(HZ);
	strscpy(rep->release, utsname()->release, sizeof(rep->release));
	regions = (struct dusk_region *)(rep + 1);
	n = dusk_regions(regions);
	rep->nr_regions = cpu_to_le32(n);
	dusk_send(NULL, hdr->channel, to, dusk.tx_buf,
		  sizeof(*rep) + n * sizeof(*regions));
}

static void dusk_hello_refuse(const struct dusk_hdr *hdr,
			      const struct sockaddr_in *to, s32 status)
{
	dusk_msg_start(DUSK_MSG_HELLO, DUSK_F_REPLY, hdr->channel,
		       le64_to_cpu(hdr->id), 0, status);
	dusk_send(NULL, hdr->channel, to, dusk.tx_buf, 0);
}

/* -EAGAIN with the cookie to send again: smaller than the HELLO itself. */
static void dusk_hello_cookie(const struct dusk_hdr *hdr,
			      const struct sockaddr_in *to, const u8 *nonce,
			      const u8 *cookie)
{
	struct dusk_hello_cookie *c;

	BUILD_BUG_ON(sizeof(*c) > sizeof(struct dusk_hello));
	c = dusk_msg_start(DUSK_MSG_HELLO, DUSK_F_REPLY, hdr->channel,
			   le64_to_cpu(hdr->id), 0, -EAGAIN);
	memcpy(c->client_nonce, nonce, DUSK_NONCE_LEN);
	memcpy(c->cookie, cookie, DUSK_COOKIE_LEN);
	dusk.cnt.cookie_replies++;
	dusk_send(NULL, hdr->channel, to, dusk.tx_buf, sizeof(*c));
}

static bool dusk_addr_eq(const struct sockaddr_in *a,
			 const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr &&
	       a->sin_port == b->sin_port;
}

/* A pending session hears only the address its HELLO came from. */
bool dusk_session_heard_from(const struct dusk_session *s,
			     const struct sockaddr_in *from)
{
	return s->active || dusk_addr_eq(from, &s->hello_from);
}

static void dusk_session_release(struct kref *ref)
{
	struct dusk_session *s = container_of(ref, struct dusk_session, ref);

	/* Here, not at the end: a proxy's caller may be in a kernel call
	 * given one of them (misc_register of an ALLOCed miscdevice). */
	dusk_allocs_free(s);
	kvfree(s->replies);
	memzero_explicit(&s->key, sizeof(s->key));
	kfree(s);
}

void dusk_session_get(struct dusk_session *s)
{
	kref_get(&s->ref);
}

void dusk_session_put(struct dusk_session *s)
{
	if (s)
		kref_put(&s->ref, dusk_session_release);
}

/* The session is over: invocations wake, and what callers acquire from
 * now on they release themselves (s->dead). */
static void dusk_session_kill(struct dusk_session *s)
{
	mutex_lock(&s->lock);
	dusk_invs_end(s);	/* sets s->dead under inv_lock */
	mutex_unlock(&s->lock);
	dusk_proxies_end(s);
}

/* A new pending session for HELLO h from from; NULL: no memory. */
static struct dusk_session *dusk_session_create(const struct dusk_hello *h,
						const struct dusk_params *params,
						const struct sockaddr_in *from)
{
	struct dusk_session *s;
	u32 id;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	s->replies = kvcalloc(__DUSK_CHAN_MAX, sizeof(*s->replies), GFP_KERNEL);
	if (!s->replies) {
		kfree(s);
		return NULL;
	}
	do {
		id = get_random_u32();
	} while (!id || (dusk.session && dusk.session->id == id));
	s->id = id;
	s->params = *params;
	s->hello_from = *from;
	memcpy(s->client_nonce, h->nonce, DUSK_NONCE_LEN);
	get_random_bytes(s->server_nonce, DUSK_NONCE_LEN);
	dusk_session_key(dusk.master, s->client_nonce, s->server_nonce, s->id,
			 &s->key);
	s->created = jiffies;
	s->last_rx = jiffies;
	kref_init(&s->ref);
	mutex_init(&s->lock);
	spin_lock_init(&s->inv_lock);
	INIT_LIST_HEAD(&s->invs);
	INIT_LIST_HEAD(&s->allocs);
	INIT_LIST_HEAD(&s->hooks);
	INIT_LIST_HEAD(&s->owned);
	return s;
}

/* A HELLO, its MAC checked with the master key. */
void dusk_hello(const struct dusk_hdr *hdr, u32 len,
		const struct sockaddr_in *from)
{
	const struct dusk_msg_rule *rule = dusk_msg_rule(DUSK_MSG_HELLO);
	const struct dusk_hello *h = (const void *)(hdr + 1);
	u8 cookie[DUSK_COOKIE_LEN];
	struct dusk_params params;
	struct dusk_session *s;
	bool good;

	/* Session 0 carries HELLO only, on the channels the table allows. */
	if (hdr->type != DUSK_MSG_HELLO || hdr->flags || hdr->reserved ||
	    !dusk_msg_chan_ok(rule, hdr->channel)) {
		dusk.cnt.rx_malformed++;
		return;
	}
	if (hdr->version != DUSK_PROTO_VERSION) {
		dusk.cnt.rx_ok++;
		dusk_hello_refuse(hdr, from, -EPROTONOSUPPORT);
		return;
	}
	if (!dusk_msg_size_ok(rule, len) || dusk_params_parse(h, &params)) {
		dusk.cnt.rx_ok++;
		dusk_hello_refuse(hdr, from, -EINVAL);
		return;
	}

	/* Nothing is kept for a HELLO until its sender has shown that it
	 * hears at its address: the cookie proves it. */
	good = dusk_cookie_check(from, h->nonce, h->cookie, cookie);
	if (!good)
		dusk_hello_cookie(hdr, from, h->nonce, cookie);
	memzero_explicit(cookie, sizeof(cookie));
	if (!good) {
		dusk.cnt.rx_ok++;
		return;
	}

	/* A retransmitted HELLO (the cookie bound it to the same address)
	 * gets the same answer. */
	s = dusk.pending;
	if (s && !memcmp(s->client_nonce, h->nonce, DUSK_NONCE_LEN)) {
		dusk.cnt.rx_ok++;
		dusk_hello_reply(s, hdr, from);
		return;
	}
	/*
	 * A nonce opens one session at most: its session was replaced or
	 * became the active one, so this HELLO is a replay (a client sends
	 * its first request only once it has its answer). Dropped: it must
	 * not displace a new program's pending session.
	 */
	if (dusk_nonce_spent(h->nonce)) {
		dusk.cnt.rx_replayed++;
		return;
	}
	dusk.cnt.rx_ok++;

	s = dusk_session_create(h, &params, from);
	if (!s) {
		dusk_hello_refuse(hdr, from, -ENOMEM);
		return;
	}
	dusk_nonce_spend(s->client_nonce);
	dusk.cnt.sessions_opened++;
	/* A pending session there was, another new program's, goes: of
	 * two programs starting at once the later one wins. */
	mutex_lock(&dusk.state_lock);
	dusk_session_put(dusk.pending);
	dusk.pending = s;
	mutex_unlock(&dusk.state_lock);
	dusk_hello_reply(s, hdr, from);
}

struct dusk_session *dusk_session_find(u32 id)
{
	if (dusk.session && dusk.session->id == id)
		return dusk.session;
	if (dusk.pending && dusk.pending->id == id)
		return dusk.pending;
	return NULL;
}

void dusk_session_activate(struct dusk_session *s)
{
	if (dusk.session)
		dusk_session_end(dusk.session, "replaced by a new session");
	mutex_lock(&dusk.state_lock);
	dusk.pending = NULL;
	s->active = true;
	dusk.session = s;
	mutex_unlock(&dusk.state_lock);

	spin_lock_bh(&dusk.pq_lock);
	dusk.hold_max = s->params.hold_max;
	spin_unlock_bh(&dusk.pq_lock);
	pr_info("dusk: session %08x from %pISpc\n", s->id,
		&s->peer[DUSK_CHAN_MAIN]);
}

void dusk_session_end(struct dusk_session *s, const char *why)
{
	if (s == dusk.pending) {
		mutex_lock(&dusk.state_lock);
		dusk.pending = NULL;
		mutex_unlock(&dusk.state_lock);
		dusk_session_put(s);
		return;
	}
	pr_info("dusk: session %08x ended: %s\n", s->id, why);
	/* First: a task waiting in a proxy answers at once. */
	dusk_session_kill(s);
	dusk_hooks_end(s);
	/* Before the allocations (freed with the last reference): a cdev
	 * or a timer may lie in one. */
	dusk_own_release_all(s);
	spin_lock_bh(&dusk.pq_lock);
	dusk.hold_max = 0;
	spin_unlock_bh(&dusk.pq_lock);
	mutex_lock(&dusk.state_lock);
	dusk.session = NULL;
	mutex_unlock(&dusk.state_lock);
	dusk_session_put(s);
}

void dusk_inv_end_session(struct dusk_session *s, const char *why)
{
	WRITE_ONCE(s->end_why, why);
	dusk_wake();
}

void dusk_session_service(void)
{
	struct dusk_session *s = dusk.session;

	if (s && READ_ONCE(s->end_why)) {
		dusk_session_end(s, READ_ONCE(s->end_why));
		s = NULL;
	}
	if (s && time_after(jiffies, s->last_rx +
			    msecs_to_jiffies(s->params.heartbeat_ms)))
		dusk_session_end(s, "heartbeat lost");
	s = dusk.pending;
	if (s && time_after(jiffies, s->created +
			    msecs_to_jiffies(DUSK_PENDING_MS)))
		dusk_session_end(s, "never used");
}

void dusk_sessions_exit(void)
{
	if (dusk.pending)
		dusk_session_end(dusk.pending, "unload");
	if (dusk.session)
		dusk_session_end(dusk.session, "unload");
}
