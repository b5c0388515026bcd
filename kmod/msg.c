// SPDX-License-Identifier: GPL-2.0
/*
 * The message table: proto/dusk_proto.h's DUSK_MSG_TABLE expanded into the
 * rules every incoming message is checked against (who sends it, on which
 * channels, how large its payload and its reply are, whether its reply is
 * kept), the checks of a datagram's header, and the start of every
 * message sent. The runtime's codec expands the same list, so the two
 * sides cannot disagree on a rule. Nothing here calls into another file,
 * and nothing here touches the kernel: tests/fuzz/ builds this file for
 * user space and fuzzes it.
 */
#include <linux/kernel.h>
#include <linux/string.h>

#include "dusk_kmod.h"

#define DUSK_X_RULE(name_, from_, chans_, kind_, size_, segs_at_,	\
		    rep_kind_, rep_size_, keep_)			\
	[DUSK_MSG_##name_] = {						\
		.name = #name_,						\
		.from = DUSK_FROM_##from_,				\
		.chans = DUSK_CHANS_##chans_,				\
		.kind = DUSK_SIZE_##kind_,				\
		.rep_kind = DUSK_SIZE_##rep_kind_,			\
		.keep = (keep_),					\
		.size = (size_),					\
		.segs_at = (segs_at_),					\
		.rep_size = (rep_size_),				\
	},

static const struct dusk_msg_rule dusk_msg_rules[__DUSK_MSG_MAX] = {
	DUSK_MSG_TABLE(DUSK_X_RULE)
};

#undef DUSK_X_RULE

/* The rule of a type; NULL for DUSK_MSG_INVALID and unknown types. */
const struct dusk_msg_rule *dusk_msg_rule(unsigned int type)
{
	if (type == DUSK_MSG_INVALID || type >= __DUSK_MSG_MAX)
		return NULL;
	return &dusk_msg_rules[type];
}

static bool dusk_size_fits(u8 kind, u32 size, u32 len)
{
	switch (kind) {
	case DUSK_SIZE_EXACT:
		return len == size;
	case DUSK_SIZE_MIN:
	case DUSK_SIZE_SEGS:	/* the segments are checked by the handler */
		return len >= size;
	}
	return false;
}

/*
 * A request as the table allows it: a type the runtime sends, on one of
 * its channels, with a payload of its size. 0 or -EBADMSG.
 */
int dusk_msg_check(unsigned int type, unsigned int channel, u32 len)
{
	const struct dusk_msg_rule *rule = dusk_msg_rule(type);

	if (!rule || rule->from != DUSK_FROM_RUNTIME ||
	    !dusk_msg_chan_ok(rule, channel) ||
	    !dusk_size_fits(rule->kind, rule->size, len))
		return -EBADMSG;
	return 0;
}

bool dusk_msg_chan_ok(const struct dusk_msg_rule *rule, unsigned int channel)
{
	return channel < __DUSK_CHAN_MAX && (rule->chans & (1U << channel));
}

bool dusk_msg_size_ok(const struct dusk_msg_rule *rule, u32 len)
{
	return dusk_size_fits(rule->kind, rule->size, len);
}

/* A successful reply's payload as the table describes it. */
bool dusk_msg_reply_ok(const struct dusk_msg_rule *rule, u32 len)
{
	return dusk_size_fits(rule->rep_kind, rule->rep_size, len);
}

/*
 * What can be checked before the key is known: a whole header, our magic,
 * and hdr.len saying what follows. 0 or -EBADMSG.
 */
int dusk_dgram_check(const void *dgram, size_t len)
{
	const struct dusk_hdr *hdr = dgram;

	if (len < sizeof(*hdr) || le32_to_cpu(hdr->magic) != DUSK_MAGIC ||
	    le32_to_cpu(hdr->len) != len - sizeof(*hdr))
		return -EBADMSG;
	return 0;
}

/*
 * The header of an authenticated datagram of a session. A type outside
 * the message table, or HELLO (session 0 only), is dropped like any
 * malformed header; the table's other rules (sender, channel, size) are
 * dispatch's, answered with -EBADMSG. 0 or -EBADMSG.
 */
int dusk_hdr_check(const struct dusk_hdr *hdr)
{
	if (hdr->version != DUSK_PROTO_VERSION || hdr->flags ||
	    hdr->reserved || hdr->channel >= __DUSK_CHAN_MAX ||
	    !dusk_msg_rule(hdr->type) || hdr->type == DUSK_MSG_HELLO)
		return -EBADMSG;
	return 0;
}

void *dusk_msg_start(u8 type, u8 flags, u8 channel, u64 id, u64 invocation,
		     s32 status)
{
	return dusk_msg_start_in(dusk.tx_buf, type, flags, channel, id,
				 invocation, status);
}

void *dusk_msg_start_in(void *buf, u8 type, u8 flags, u8 channel, u64 id,
			u64 invocation, s32 status)
{
	struct dusk_hdr *hdr = buf;

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_le32(DUSK_MAGIC);
	hdr->version = DUSK_PROTO_VERSION;
	hdr->type = type;
	hdr->flags = flags;
	hdr->channel = channel;
	hdr->id = cpu_to_le64(id);
	hdr->invocation = cpu_to_le64(invocation);
	hdr->status = cpu_to_le32((u32)status);
	return hdr + 1;
}
