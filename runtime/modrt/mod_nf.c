// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Netfilter registration at user level: nf_register_net_hook(s) and
 * nf_unregister_net_hook(s) as libdusk impls. The module's struct
 * nf_hook_ops (static, in user memory, or kmalloc()ed, in kernel memory:
 * read through __dusk_check() either way) is read by the type records'
 * layout; dusk.ko installs a proxy hook (dusk_nf_hook_register) whose
 * packets come to a trampoline here, which calls ops->hook(priv, skb,
 * state) on the CPU the hook ran on, in the context the kernel ran the
 * hook in (dusk_nf_context()).
 *
 * The ops is the key for unregistration, as in the kernel: the same
 * pointer the module registered (a mirror address counts as its kernel
 * address, a kernel copy's as its user object).
 *
 * Not proxied: NFPROTO_NETDEV (and ARP, bridge) hooks, whose dev dusk.ko's
 * protocol cannot carry: -EOPNOTSUPP with a log line, as a kernel without
 * that family would refuse them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dusk.h"
#include "observe.h"
#include "klib_ctx.h"
#include "kconst.h"
#include "log.h"
#include "modrt.h"
#include "packet.h"
#include "session.h"
#include "shadow_fast.h"
#include "util.h"

/* struct nf_hook_ops and NFPROTO_* come from the target kernel's headers
 * (kconst.h); the fields are read as these types: */
_Static_assert(DUSK_K_SIZEOF_NF_HOOK_OPS__HOOK == sizeof(uintptr_t) &&
	       DUSK_K_SIZEOF_NF_HOOK_OPS__DEV == sizeof(void *) &&
	       DUSK_K_SIZEOF_NF_HOOK_OPS__PRIV == sizeof(void *) &&
	       DUSK_K_SIZEOF_NF_HOOK_OPS__PF == sizeof(uint8_t) &&
	       DUSK_K_SIZEOF_NF_HOOK_OPS__HOOKNUM == sizeof(unsigned int) &&
	       DUSK_K_SIZEOF_NF_HOOK_OPS__PRIORITY == sizeof(int),
	       "the target kernel's struct nf_hook_ops is not read as kconst.h says");

typedef unsigned int (*dusk_mod_hookfn)(void *priv, void *skb,
					const void *state);

struct dusk_nf_layout {
	uint32_t size, hook, dev, priv, pf, hooknum, priority;
};

struct dusk_nf_reg {
	struct dusk_nf_reg *next;
	uintptr_t key;			/* the ops, normalised */
	uint32_t handle;		/* dusk.ko's */
	dusk_mod_hookfn hook;		/* the module's function */
	void *priv;
	int pf;
	unsigned int hooknum;
	int priority;
};

static struct dusk_nf_reg *dusk_nf_regs;
/* The hook this thread runs (a crash report names it). */
static __thread const struct dusk_nf_reg *dusk_nf_running;
static struct dusk_nf_layout dusk_nfl;
static int dusk_nfl_known;

static const struct dusk_nf_layout *dusk_nf_layout(void)
{
	const struct dusk_mtype *t;

	if (dusk_nfl_known)
		return &dusk_nfl;
	/* The target kernel's (kconst.h): the module's record must agree. */
	dusk_nfl = (struct dusk_nf_layout){
		.size = DUSK_K_SIZEOF_NF_HOOK_OPS,
		.hook = DUSK_K_NF_HOOK_OPS__HOOK, .dev = DUSK_K_NF_HOOK_OPS__DEV,
		.priv = DUSK_K_NF_HOOK_OPS__PRIV, .pf = DUSK_K_NF_HOOK_OPS__PF,
		.hooknum = DUSK_K_NF_HOOK_OPS__HOOKNUM,
		.priority = DUSK_K_NF_HOOK_OPS__PRIORITY,
	};
	t = dusk_types_type(dusk_mod_types(), "struct_nf_hook_ops");
	if (t) {
		dusk_mtype_layout_size(t, dusk_nfl.size);
		dusk_mtype_layout(t, "hook", DUSK_K_SIZEOF_NF_HOOK_OPS__HOOK,
				  &dusk_nfl.hook);
		dusk_mtype_layout(t, "dev", DUSK_K_SIZEOF_NF_HOOK_OPS__DEV,
				  &dusk_nfl.dev);
		dusk_mtype_layout(t, "priv", DUSK_K_SIZEOF_NF_HOOK_OPS__PRIV,
				  &dusk_nfl.priv);
		dusk_mtype_layout(t, "pf", DUSK_K_SIZEOF_NF_HOOK_OPS__PF,
				  &dusk_nfl.pf);
		dusk_mtype_layout(t, "hooknum", DUSK_K_SIZEOF_NF_HOOK_OPS__HOOKNUM,
				  &dusk_nfl.hooknum);
		dusk_mtype_layout(t, "priority",
				  DUSK_K_SIZEOF_NF_HOOK_OPS__PRIORITY,
				  &dusk_nfl.priority);
	}
	dusk_nfl_known = 1;
	return &dusk_nfl;
}

/* The ops as a key: one object, whichever address the module holds. */
static uintptr_t dusk_nf_key(const void *ops)
{
	uintptr_t a = (uintptr_t)ops;
	uint64_t k;

	if (dusk_mem_class(a) == DUSK_MEM_MIRROR) {
		k = dusk_kaddr(ops);
		if (k)
			a = (uintptr_t)k;
	}
	if (a >= DUSK_KERNEL_MIN)
		a = dusk_xlate_in(a);
	return a;
}

/* The kernel memory of a sender's object (see dusk_nf_sender()). */
static int dusk_nf_peek(uint64_t k, void *buf, size_t len)
{
	const void *p;

	if (k < DUSK_KERNEL_MIN)
		return -EFAULT;
	p = dusk_shadow(dusk_mod_session(), k, len, 0);
	if (!p)
		return -errno;
	memcpy(buf, p, len);
	return 0;
}

/*
 * Who sent the packet a LOCAL_OUT or POST_ROUTING hook sees, and so in
 * which context the kernel runs the hook (klib_ctx.h; what 6.1 does is
 * checked by tests/examples/mods/hookctx). The HOOK message does not say:
 * it is found from the packet's socket, skb->sk (prefetched with the
 * skb), the first time the module looks at its context:
 *  - a full socket that a program opened (its struct socket has a file):
 *    the task that called sendmsg/connect on it;
 *  - a request or timewait socket (TCP's SYN-ACKs, timewait ACKs and
 *    RSTs) or a kernel socket (the per-CPU control sockets that send
 *    ICMP replies and RSTs): the softirq that received what the kernel
 *    answers, with bottom halves disabled on top;
 *  - no socket (forwarded at POST_ROUTING, or built by the kernel): the
 *    receiving softirq.
 * Not told apart (the kernel's own state, not the packet's): a TCP
 * segment of a program's socket that the kernel sends from softirq (an
 * ACK, data clocked out by one, a retransmission from a timer) looks as
 * if the task sent it; a kernel socket used from a kernel thread (a
 * network file system's) as if softirq did.
 */
static enum dusk_ctx_kind dusk_nf_sender(void *skb)
{
	uint64_t sk = 0, sock = 0, file = 0;
	uint8_t state;
	int err;

	err = dusk_nf_peek((uintptr_t)skb + DUSK_K_SK_BUFF__SK, &sk, sizeof(sk));
	if (!err && !sk)
		return DUSK_CTX_SOFTIRQ;
	if (!err)
		err = dusk_nf_peek(sk + DUSK_K_SOCK__STATE, &state,
				   sizeof(state));
	if (!err && (state == DUSK_K_TCP_TIME_WAIT ||
		     state == DUSK_K_TCP_NEW_SYN_RECV))
		return DUSK_CTX_SOFTIRQ_BH;
	if (!err)
		err = dusk_nf_peek(sk + DUSK_K_SOCK__SOCKET, &sock,
				   sizeof(sock));
	if (!err && sock)
		err = dusk_nf_peek(sock + DUSK_K_SOCKET__FILE, &file,
				   sizeof(file));
	if (err) {
		dusk_dbg("skb %p: its socket 0x%llx could not be read (%s): softirq context",
			 skb, (unsigned long long)sk, strerror(-err));
		return DUSK_CTX_SOFTIRQ;
	}
	return file ? DUSK_CTX_TASK : DUSK_CTX_SOFTIRQ_BH;
}

/* The context of an invocation of r's hook: the receiving hooks always
 * run in NET_RX softirq; the sending ones, in their sender's. */
static void dusk_nf_context(const struct dusk_nf_reg *r, void *skb)
{
	_Static_assert(DUSK_K_SIZEOF_SK_BUFF__SK == 8 &&
		       DUSK_K_SIZEOF_SOCK__STATE == 1 &&
		       DUSK_K_SIZEOF_SOCK__SOCKET == 8 &&
		       DUSK_K_SIZEOF_SOCKET__FILE == 8,
		       "the target kernel's sk_buff, sock and socket are not read as kconst.h says");

	if (r->hooknum == DUSK_K_NF_INET_LOCAL_OUT ||
	    r->hooknum == DUSK_K_NF_INET_POST_ROUTING)
		dusk_ctx_enter_hook(DUSK_CTX_TASK, dusk_nf_sender, skb);
	else
		dusk_ctx_enter_hook(DUSK_CTX_SOFTIRQ, NULL, NULL);
}

/* The packet's trip through the module: a new invocation (refresh what
 * the kernel may have changed in shared objects), the kernel's context
 * (softirq, or the sending task's), the hook, then the module's changes
 * to shared objects go out. */
static unsigned int dusk_nf_tramp(void *priv, void *skb, const void *state)
{
	struct dusk_nf_reg *r = priv;
	const struct dusk_nf_reg *prev;
	unsigned int verdict;
	char ebuf[64], when[64];
	int err;

	err = dusk_kcopy_refresh_all();
	if (err)
		dusk_mod_fatal(1, "refreshing user objects shared with the kernel: %s",
			       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	dusk_nf_context(r, skb);
	prev = dusk_nf_running;
	dusk_nf_running = r;
	dusk_lockup_enter();
	dusk_observe_call((void *)r->hook, (const uint64_t[]){
		(uintptr_t)r->priv, (uintptr_t)skb, (uintptr_t)state }, 3);
	verdict = r->hook(r->priv, skb, state);
	dusk_lockup_leave();
	dusk_nf_running = prev;
	dusk_ctx_leave_hook();
	err = dusk_kcopy_sync(0);
	if (err)
		dusk_mod_fatal(1, "sending user objects shared with the kernel: %s",
			       dusk_errno_text(err, ebuf, sizeof(ebuf)));
	snprintf(when, sizeof(when), "at the end of a hook (pf %d hooknum %u)",
		 r->pf, r->hooknum);
	dusk_kcopy_check_deferred(when);
	return verdict;
}

static const char *dusk_nf_pf_name(int pf)
{
	return pf == DUSK_K_NFPROTO_IPV4 ? "ipv4" :
	       pf == DUSK_K_NFPROTO_IPV6 ? "ipv6" : "inet";
}

const char *dusk_nf_hook_name(unsigned int hooknum)
{
	static const char *const names[] = {
		"NF_INET_PRE_ROUTING", "NF_INET_LOCAL_IN", "NF_INET_FORWARD",
		"NF_INET_LOCAL_OUT", "NF_INET_POST_ROUTING",
	};

	return hooknum < DUSK_ARRAY_SIZE(names) ? names[hooknum] : NULL;
}

/*
 * A hook's own hold time and policy, set without touching the module:
 * DUSK_HOLD_MS_<function> and DUSK_POLICY_<function>, as DUSK_HOLD_MS
 * and DUSK_POLICY set the session's (the function is the one in the
 * nf_hook_ops's .hook: every place it is registered at). A bad value
 * stops the program before the hook is registered, as a bad parameter.
 */
static void dusk_nf_hook_settings(const char *fn, struct dusk_nf_hook *h)
{
	struct dusk_config cfg;
	char var[160];
	const char *v;

	if (!fn)
		return;
	snprintf(var, sizeof(var), "DUSK_HOLD_MS_%s", fn);
	v = getenv(var);
	if (v && *v) {
		if (dusk_config_hold_ms(&cfg, v))
			dusk_mod_fatal(2, "%s=%s: not a number of milliseconds (1 to %u)",
				       var, v, DUSK_HOLD_MS_MAX);
		h->hold_ms = cfg.hold_ms;
	}
	snprintf(var, sizeof(var), "DUSK_POLICY_%s", fn);
	v = getenv(var);
	if (v && *v) {
		if (dusk_config_policy(&cfg, v))
			dusk_mod_fatal(2, "%s=%s: not accept or drop", var, v);
		h->policy = cfg.policy == DUSK_POLICY_DROP ?
			    DUSK_HOOK_POLICY_DROP : DUSK_HOOK_POLICY_ACCEPT;
	}
}

static int dusk_nf_register_one(void *net, const void *ops)
{
	const struct dusk_nf_layout *l = dusk_nf_layout();
	struct dusk_xlate_ctx ctx = { .fn = "nf_register_net_hook", .in_call = 0 };
	struct dusk_session *s = dusk_mod_session();
	struct dusk_nf_hook h = { 0 };
	const struct dusk_msym *fn;
	const char *hook_name;
	char name[128];
	struct dusk_nf_reg *r;
	const uint8_t *o;
	uintptr_t hook;
	uint64_t ops_k = 0;
	uint8_t pf;
	void *dev;
	int err;

	if (!s)
		return -ENOTCONN;
	if (!ops)
		return -EINVAL;
	o = __dusk_check(ops, l->size);
	if ((uintptr_t)o >= DUSK_KERNEL_MIN)
		return -EFAULT;		/* a bad kernel address: logged */
	memcpy(&hook, o + l->hook, sizeof(hook));
	memcpy(&dev, o + l->dev, sizeof(dev));
	pf = o[l->pf];
	if (dusk_mem_class((uintptr_t)o) == DUSK_MEM_MIRROR)
		ops_k = dusk_kaddr(o);
	if (ops_k) {
		/* kmalloc()ed ops: the module's function was deferred when
		 * it was stored there (mod_copy.c). */
		void *fn = dusk_kcopy_claim_fn(ops_k + l->hook);

		if (!fn) {
			dusk_err("nf_register_net_hook: ops at 0x%llx holds no user hook function (0x%lx): dusk can only proxy hooks of the module",
				 (unsigned long long)ops_k, (unsigned long)hook);
			return -EOPNOTSUPP;
		}
		hook = (uintptr_t)fn;
	} else {
		/* A static ops: a copy of it the kernel got may hold deferred
		 * functions too. */
		dusk_kcopy_claim_user((uintptr_t)o, l->size);
		if (dusk_mem_class(hook) != DUSK_MEM_TEXT || dusk_kfunc_of_stub(hook)) {
			dusk_err("nf_register_net_hook: ops->hook %p is not a function of the module: dusk can only proxy hooks of the module",
				 (void *)hook);
			return -EOPNOTSUPP;
		}
	}
	if (pf != DUSK_K_NFPROTO_IPV4 && pf != DUSK_K_NFPROTO_IPV6 &&
	    pf != DUSK_K_NFPROTO_INET) {
		dusk_err("nf_register_net_hook: protocol family %u%s cannot be proxied by dusk.ko (IPv4, IPv6 and INET hooks can)",
			 pf, pf == DUSK_K_NFPROTO_NETDEV ? " (netdev, bound to a device)" :
			 pf == DUSK_K_NFPROTO_ARP ? " (ARP)" :
			 pf == DUSK_K_NFPROTO_BRIDGE ? " (bridge)" : "");
		return -EOPNOTSUPP;
	}
	(void)dev;	/* only NFPROTO_NETDEV hooks use it */
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->key = dusk_nf_key(ops);
	r->hook = (dusk_mod_hookfn)hook;
	memcpy(&r->priv, o + l->priv, sizeof(r->priv));
	r->pf = pf;
	memcpy(&r->hooknum, o + l->hooknum, sizeof(r->hooknum));
	memcpy(&h.priority, o + l->priority, sizeof(h.priority));
	/* The net: a kernel address (&init_net through __dusk_gvar), or a
	 * placeholder (&init_net in a static initializer), or a mirror
	 * address of one read from the kernel. */
	ctx.argno = 0;
	h.net = dusk_xlate_out((uintptr_t)net, 0, 0, NULL, "struct_net", &ctx);
	h.pf = pf;
	h.hooknum = r->hooknum;
	h.fn = dusk_nf_tramp;
	h.priv = r;
	fn = dusk_image_func(hook);
	dusk_nf_hook_settings(fn ? fn->name : NULL, &h);
	hook_name = dusk_nf_hook_name(r->hooknum);
	snprintf(name, sizeof(name), "%s (%s %s)", fn ? fn->name : "?",
		 dusk_nf_pf_name(pf),
		 hook_name ? hook_name + strlen("NF_INET_") : "?");
	h.name = name;
	err = dusk_nf_hook_register(s, &h, &r->handle);
	if (err) {
		dusk_err("nf_register_net_hook: %s (pf %u hooknum %u priority %d) refused: %s",
			 dusk_image_func(hook) ? dusk_image_func(hook)->name : "hook",
			 pf, r->hooknum, h.priority, strerror(-err));
		free(r);
		return err;
	}
	r->priority = h.priority;
	/* From now on invocations run here: keep late ones off their packet. */
	dusk_packet_guards_install();
	r->next = dusk_nf_regs;
	dusk_nf_regs = r;
	dusk_dbg("hook %p registered: pf %u hooknum %u priority %d, handle %u",
		 (void *)hook, pf, r->hooknum, h.priority, r->handle);
	/* Observers learn of it (dusk-gdb's "break-hook all" stops there). */
	dusk_observe_callback((void *)hook, NULL);
	return 0;
}

static void dusk_nf_unregister_one(const void *ops)
{
	struct dusk_session *s = dusk_mod_session();
	uintptr_t key = dusk_nf_key(ops);
	struct dusk_nf_reg **pp, *r;
	int err;

	for (pp = &dusk_nf_regs; (r = *pp); pp = &r->next)
		if (r->key == key)
			break;
	if (!r) {
		/* The kernel WARNs: "hook not found". */
		dusk_warn("nf_unregister_net_hook: ops %p was not registered",
			  ops);
		return;
	}
	*pp = r->next;
	err = s ? dusk_nf_hook_unregister(s, r->handle) : -ENOTCONN;
	if (err)
		dusk_warn("nf_unregister_net_hook: handle %u: %s", r->handle,
			  strerror(-err));
	free(r);
}

DUSK_EXPORT int __dusk_impl_nf_register_net_hook(void *net, const void *ops)
{
	return dusk_nf_register_one(net, ops);
}

DUSK_EXPORT void __dusk_impl_nf_unregister_net_hook(void *net, const void *ops)
{
	(void)net;
	dusk_nf_unregister_one(ops);
}

DUSK_EXPORT int __dusk_impl_nf_register_net_hooks(void *net, const void *reg,
						  unsigned int n)
{
	uint32_t size = dusk_nf_layout()->size;
	unsigned int i;
	int err = 0;

	for (i = 0; i < n; i++) {
		err = dusk_nf_register_one(net, (const char *)reg + (size_t)i * size);
		if (err)
			break;
	}
	if (err)
		while (i-- > 0)
			dusk_nf_unregister_one((const char *)reg + (size_t)i * size);
	return err;
}

DUSK_EXPORT void __dusk_impl_nf_unregister_net_hooks(void *net,
						     const void *reg,
						     unsigned int n)
{
	uint32_t size = dusk_nf_layout()->size;
	unsigned int i;

	(void)net;
	for (i = 0; i < n; i++)
		dusk_nf_unregister_one((const char *)reg + (size_t)i * size);
}

void dusk_nf_forget(void)
{
	struct dusk_nf_reg *r;

	while ((r = dusk_nf_regs)) {
		dusk_nf_regs = r->next;
		free(r);
	}
}

void dusk_nf_unregister_all(const char *when)
{
	struct dusk_nf_reg *r;

	while ((r = dusk_nf_regs)) {
		if (when)
			dusk_warn("%s with a hook registered (pf %d hooknum %u): unregistered",
				  when, r->pf, r->hooknum);
		dusk_nf_unregister_one((void *)r->key);
	}
}

void dusk_nf_foreach(void (*fn)(const struct dusk_nf_info *h, void *arg),
		     void *arg)
{
	const struct dusk_nf_reg *r;
	struct dusk_nf_info h;

	for (r = dusk_nf_regs; r; r = r->next) {
		h.handle = r->handle;
		h.fn = (void *)r->hook;
		h.pf = r->pf;
		h.hooknum = r->hooknum;
		h.priority = r->priority;
		fn(&h, arg);
	}
}

unsigned int dusk_nf_count(void)
{
	struct dusk_nf_reg *r;
	unsigned int n = 0;

	for (r = dusk_nf_regs; r; r = r->next)
		n++;
	return n;
}

int dusk_nf_current(struct dusk_nf_info *ret)
{
	const struct dusk_nf_reg *r = dusk_nf_running;

	if (!r)
		return -ENOENT;
	ret->handle = r->handle;
	ret->fn = (void *)r->hook;
	ret->pf = r->pf;
	ret->hooknum = r->hooknum;
	ret->priority = r->priority;
	return 0;
}
