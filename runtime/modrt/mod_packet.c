// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The packet of the invocation this thread serves (packet.h).
 *
 * While the program sits at a breakpoint (or is slow), the kernel holds
 * the packet at most hold_ms, then releases it by policy: its skb goes
 * on through the stack and is freed, its hook state with the queue entry.
 * The module's hook may still be running on it. From then on nothing of
 * that invocation may reach those objects: its changes to them are
 * discarded before any commit (a VERDICT's would be refused by dusk.ko,
 * but a commit rides on every kernel call too), its reads get the bytes
 * its HOOK carried (not what the freed memory holds now), and a kernel
 * call with an argument pointing into them is not made (-ESTALE: the
 * module gets NULL, or -ESTALE where the function returns an int). One
 * warning says so per packet.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "log.h"
#include "modrt.h"
#include "packet.h"
#include "session.h"
#include "shadow.h"
#include "util.h"

#define DUSK_PKT_LATE_MARGIN_MS	100

static const struct dusk_mtype *pkt_rec(const char *name)
{
	return dusk_types_type(dusk_mod_types(), name);
}

/* [k, k + size) as the HOOK carried it (its prefetched segments: the
 * packet as the kernel queued it), or NULL. */
static const uint8_t *pkt_seg_bytes(const struct dusk_inv_info *inv,
				    uint64_t k, uint64_t size)
{
	struct dusk_seg_iter it;
	const void *data;
	uint64_t addr;
	uint32_t len;

	dusk_seg_iter_init(&it, inv->segs, inv->segs_len, inv->nr_segs);
	while (dusk_seg_next(&it, &addr, &data, &len))
		if (k - addr < len && len - (k - addr) >= size)
			return (const uint8_t *)data + (k - addr);
	return NULL;
}

/* A field of a record as the HOOK carried it, else as the cache has it
 * (no fetch): a late invocation's cache may hold what the memory became
 * since. */
static int pkt_field(struct dusk_session *s, const struct dusk_inv_info *inv,
		     uint64_t obj, const struct dusk_mtype *t,
		     const char *field, uint32_t size, uint64_t *ret)
{
	uint32_t off;
	const void *p;

	*ret = 0;
	if (dusk_mtype_offset(t, field, size, &off))
		return -ENOENT;
	p = pkt_seg_bytes(inv, obj + off, size);
	if (!p)
		p = dusk_shadow_peek(s->shadow, obj + off, size);
	if (!p)
		return -ENODATA;
	memcpy(ret, p, size);
	return 0;
}

static void pkt_obj_add(struct dusk_pkt_obj *v, unsigned int *n, uint64_t k,
			uint64_t size, const char *type, int packet)
{
	if (*n == DUSK_PKT_OBJS || !k || !size)
		return;
	v[*n].k = k;
	v[*n].size = size;
	snprintf(v[*n].type, sizeof(v[*n].type), "%s", type);
	v[*n].packet = packet;
	(*n)++;
}

/* The length of the prefetched segment at k (line-widened), 0: none. */
static uint64_t pkt_seg_len(const struct dusk_inv_info *inv, uint64_t k)
{
	struct dusk_seg_iter it;
	const void *data;
	uint64_t addr;
	uint32_t len;

	dusk_seg_iter_init(&it, inv->segs, inv->segs_len, inv->nr_segs);
	while (dusk_seg_next(&it, &addr, &data, &len))
		if (k - addr < len)
			return addr + len - k;
	return 0;
}

/* The packet invocation (a HOOK) this thread serves: 0; -ENOENT for
 * none and for a callback's (no packet). */
static int pkt_invocation(struct dusk_inv_info *inv)
{
	int err = dusk_invocation_info(inv);

	if (!err && inv->kind != DUSK_INV_HOOK)
		err = -ENOENT;
	return err;
}

/*
 * The objects of the invocation this thread serves: the skb, the hook
 * state, the skb's linear data and shared info, the devices. Sizes from
 * the module's type records (the prefetched segment without them).
 */
unsigned int dusk_packet_objects(struct dusk_session *s, struct dusk_pkt_obj *v,
				struct dusk_inv_info *inv)
{
	const struct dusk_mtype *skb_t = pkt_rec("struct_sk_buff");
	const struct dusk_mtype *st_t = pkt_rec("struct_nf_hook_state");
	const struct dusk_mtype *sh_t = pkt_rec("struct_skb_shared_info");
	const struct dusk_mtype *dev_t = pkt_rec("struct_net_device");
	uint64_t head, end, dev;
	unsigned int n = 0;

	if (pkt_invocation(inv))
		return 0;
	pkt_obj_add(v, &n, inv->skb, skb_t && skb_t->size ? skb_t->size :
		    pkt_seg_len(inv, inv->skb), "struct sk_buff", 1);
	pkt_obj_add(v, &n, inv->state, st_t && st_t->size ? st_t->size :
		    pkt_seg_len(inv, inv->state), "struct nf_hook_state", 1);
	if (!pkt_field(s, inv, inv->skb, skb_t, "head", 8, &head) &&
	    !pkt_field(s, inv, inv->skb, skb_t, "end", 4, &end) &&
	    head >= DUSK_KERNEL_MIN) {
		pkt_obj_add(v, &n, head, end, "skb data", 1);
		pkt_obj_add(v, &n, head + end, sh_t && sh_t->size ? sh_t->size :
			    DUSK_LINE_SIZE, "struct skb_shared_info", 1);
	}
	if (!pkt_field(s, inv, inv->state, st_t, "in", 8, &dev) &&
	    dev >= DUSK_KERNEL_MIN)
		pkt_obj_add(v, &n, dev, dev_t && dev_t->size ? dev_t->size : 16,
			    "struct net_device", 0);
	if (!pkt_field(s, inv, inv->state, st_t, "out", 8, &dev) &&
	    dev >= DUSK_KERNEL_MIN)
		pkt_obj_add(v, &n, dev, dev_t && dev_t->size ? dev_t->size : 16,
			    "struct net_device", 0);
	return n;
}

/* The packet of the current invocation may have been released already. */
int dusk_packet_late(const struct dusk_session *s, const struct dusk_inv_info *inv)
{
	unsigned int hold = inv->hold_ms ? inv->hold_ms : s->cfg.hold_ms;
	uint64_t margin = DUSK_MAX((uint64_t)DUSK_PKT_LATE_MARGIN_MS,
				   (uint64_t)hold / 10);

	return inv->kind == DUSK_INV_HOOK && inv->packet &&
	       inv->age_ms + margin >= hold;
}

/* Into which of the late packet's objects does [k, k + len) fall? */
static const struct dusk_pkt_obj *pkt_hit(const struct dusk_pkt_obj *v,
					  unsigned int n, uint64_t k,
					  uint64_t len)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (v[i].packet && k < v[i].k + v[i].size && v[i].k < k + len)
			return &v[i];
	return NULL;
}

static __thread uint64_t pkt_warned;	/* the packet last warned about */

static void pkt_warn_once(const struct dusk_session *s,
			  const struct dusk_inv_info *inv)
{
	if (pkt_warned == inv->packet)
		return;
	pkt_warned = inv->packet;
	dusk_warn("packet %llu has waited %llu ms (hold_ms %u): the kernel may have released it by policy; its objects are left alone from now on (changes discarded, calls on them not made)",
		  (unsigned long long)inv->packet,
		  (unsigned long long)inv->age_ms,
		  inv->hold_ms ? inv->hold_ms : s->cfg.hold_ms);
}

/* Cheap first: most commits and calls are not late. */
static int pkt_late_now(const struct dusk_session *s)
{
	struct dusk_inv_info inv;

	return !pkt_invocation(&inv) && dusk_packet_late(s, &inv);
}

static void pkt_commit_guard(struct dusk_session *s)
{
	struct dusk_pkt_obj v[DUSK_PKT_OBJS];
	struct dusk_inv_info inv;
	unsigned int i, n;

	if (!pkt_late_now(s))
		return;
	n = dusk_packet_objects(s, v, &inv);
	if (!n || !dusk_packet_late(s, &inv))
		return;
	pkt_warn_once(s, &inv);
	for (i = 0; i < n; i++)
		if (v[i].packet)
			dusk_shadow_forget(s->shadow, v[i].k, v[i].size);
}

static int pkt_call_guard(struct dusk_session *s, const char *name,
			  const uint64_t *args, unsigned int nargs)
{
	struct dusk_pkt_obj v[DUSK_PKT_OBJS];
	const struct dusk_pkt_obj *o;
	struct dusk_inv_info inv;
	unsigned int i, n;

	if (!pkt_late_now(s))
		return 0;
	n = dusk_packet_objects(s, v, &inv);
	if (!n || !dusk_packet_late(s, &inv))
		return 0;
	for (i = 0; i < nargs; i++) {
		o = pkt_hit(v, n, args[i], 1);
		if (!o)
			continue;
		pkt_warn_once(s, &inv);
		dusk_warn("kernel call %s not made: argument %u points into packet %llu's %s",
			  name ? name : "(by pointer)", i + 1,
			  (unsigned long long)inv.packet, o->type);
		return -ESTALE;
	}
	return 0;
}

/*
 * Reads of a late packet: what its HOOK carried (the skb, the hook state,
 * the headers the kernel prefetched), not what the freed memory holds
 * now, so that the hook going on never derives a pointer from garbage.
 * The bytes live in the invocation's copy of the HOOK; a write there is
 * lost with it, as it must be.
 */
static void *pkt_frozen(uint64_t k, size_t size)
{
	struct dusk_session *s = dusk_mod_session();
	struct dusk_inv_info inv;

	if (!s || pkt_invocation(&inv) || !dusk_packet_late(s, &inv))
		return NULL;
	return (void *)(uintptr_t)pkt_seg_bytes(&inv, k, size);
}

void dusk_packet_guards_install(void)
{
	dusk_commit_guard = pkt_commit_guard;
	dusk_call_guard = pkt_call_guard;
	dusk_shadow_frozen = pkt_frozen;
}

static const char *pkt_proto_name(unsigned int proto)
{
	switch (proto) {
	case 1: return "ICMP";
	case 6: return "TCP";
	case 17: return "UDP";
	case 58: return "ICMPv6";
	default: return NULL;
	}
}

/*
 * "packet 17: 127.0.0.1:4000 -> 127.0.0.1:9100 UDP len 33" of the
 * invocation this thread serves, from its HOOK's bytes and the cache
 * (never a fetch: a crash report calls it from a signal handler; no
 * allocation, snprintf of integers and strings only). -ENOENT: none.
 */
int dusk_packet_describe(char *buf, size_t len)
{
	struct dusk_session *s = dusk_session_cur;
	const struct dusk_mtype *skb_t = pkt_rec("struct_sk_buff");
	struct dusk_inv_info inv;
	uint64_t head = 0, nh = 0, data = 0, skb_len = 0;
	const uint8_t *ip;
	int n;

	if (!s || pkt_invocation(&inv))
		return -ENOENT;
	n = snprintf(buf, len, "packet %llu", (unsigned long long)inv.packet);
	if (n < 0 || (size_t)n >= len)
		return 0;
	pkt_field(s, &inv, inv.skb, skb_t, "len", 4, &skb_len);
	if (!pkt_field(s, &inv, inv.skb, skb_t, "head", 8, &head) &&
	    !pkt_field(s, &inv, inv.skb, skb_t, "network_header", 2, &nh) &&
	    nh != 0xffff)
		data = head + nh;
	else
		pkt_field(s, &inv, inv.skb, skb_t, "data", 8, &data);
	ip = data ? pkt_seg_bytes(&inv, data, 20) : NULL;
	if (ip && (ip[0] >> 4) == 4) {
		const uint8_t *l4 = pkt_seg_bytes(&inv, data + (ip[0] & 15U) * 4, 4);
		const char *pn = pkt_proto_name(ip[9]);
		char sport[8] = "", dport[8] = "", proto[16];

		if (l4 && (ip[9] == 6 || ip[9] == 17)) {
			snprintf(sport, sizeof(sport), ":%u", l4[0] << 8 | l4[1]);
			snprintf(dport, sizeof(dport), ":%u", l4[2] << 8 | l4[3]);
		}
		if (pn)
			snprintf(proto, sizeof(proto), "%s", pn);
		else
			snprintf(proto, sizeof(proto), "protocol %u", ip[9]);
		snprintf(buf + n, len - (size_t)n,
			 ": %u.%u.%u.%u%s -> %u.%u.%u.%u%s %s len %u",
			 ip[12], ip[13], ip[14], ip[15], sport, ip[16], ip[17],
			 ip[18], ip[19], dport, proto, ip[2] << 8 | ip[3]);
	} else if (skb_len) {
		snprintf(buf + n, len - (size_t)n, ": len %llu",
			 (unsigned long long)skb_len);
	}
	return 0;
}
