// SPDX-License-Identifier: GPL-2.0
/*
 * Layouts of the target kernel's objects the libdusk tests look into,
 * taken from its own headers the way the kernel makes asm-offsets.h: the
 * values come out of the compiler, never from a hand-kept list.
 */
#include <linux/kbuild.h>
#include <linux/skbuff.h>
#include <linux/netfilter.h>
#include <linux/gfp.h>

void dusk_test_offsets(void);

void dusk_test_offsets(void)
{
	OFFSET(SKB_DATA, sk_buff, data);
	OFFSET(SKB_MARK, sk_buff, mark);
	OFFSET(SKB_LEN, sk_buff, len);
	OFFSET(STATE_HOOK, nf_hook_state, hook);
	DEFINE(KGFP_KERNEL, GFP_KERNEL);
	DEFINE(KNFPROTO_IPV4, NFPROTO_IPV4);
	DEFINE(KNF_INET_LOCAL_OUT, NF_INET_LOCAL_OUT);
	DEFINE(KNF_ACCEPT, NF_ACCEPT);
	DEFINE(KNF_DROP, NF_DROP);
}
