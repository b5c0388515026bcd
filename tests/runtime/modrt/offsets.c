// SPDX-License-Identifier: GPL-2.0
/*
 * Layouts of the target kernel's objects the module runtime's integration
 * test (modprog.c) uses or checks libdusk's defaults against, taken from
 * the kernel's own headers the way the kernel makes asm-offsets.h.
 */
#include <linux/kbuild.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/gfp.h>

void dusk_modrt_offsets(void);

void dusk_modrt_offsets(void)
{
	OFFSET(SKB_DATA, sk_buff, data);
	OFFSET(TASK_COMM, task_struct, comm);
	DEFINE(TASK_COMM_SIZE, TASK_COMM_LEN);
	DEFINE(NF_HOOK_OPS_SIZE, sizeof(struct nf_hook_ops));
	OFFSET(NF_HOOK_OPS_HOOK, nf_hook_ops, hook);
	OFFSET(NF_HOOK_OPS_PRIV, nf_hook_ops, priv);
	OFFSET(NF_HOOK_OPS_PF, nf_hook_ops, pf);
	OFFSET(NF_HOOK_OPS_HOOKNUM, nf_hook_ops, hooknum);
	OFFSET(NF_HOOK_OPS_PRIORITY, nf_hook_ops, priority);
	DEFINE(KERNEL_PARAM_SIZE, sizeof(struct kernel_param));
	OFFSET(KERNEL_PARAM_OPS, kernel_param, ops);
	OFFSET(KERNEL_PARAM_ARG, kernel_param, arg);
	DEFINE(KPARAM_ARRAY_SIZE, sizeof(struct kparam_array));
	OFFSET(KPARAM_ARRAY_ELEM, kparam_array, elem);
	DEFINE(KGFP_KERNEL, GFP_KERNEL);
	DEFINE(KNFPROTO_IPV4, NFPROTO_IPV4);
	DEFINE(KNF_INET_LOCAL_OUT, NF_INET_LOCAL_OUT);
	DEFINE(KNF_ACCEPT, NF_ACCEPT);
	DEFINE(KNF_DROP, NF_DROP);
	DEFINE(KHZ, HZ);
}
