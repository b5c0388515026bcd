// SPDX-License-Identifier: GPL-2.0
/*
 * The target kernel's layouts and constants that libdusk relies on, taken
 * from its own headers and configuration the way the kernel makes
 * asm-offsets.h: kbuild compiles this file to assembly (never to an
 * object), and runtime/kconst.am turns each "->SYM value" line into
 * "#define SYM value" of kconst.h. Nothing here is copied by hand.
 *
 * Names: DUSK_K_SIZEOF_<STRUCT> the size of a struct, DUSK_K_<STRUCT>_<FIELD>
 * a field's offset, DUSK_K_SIZEOF_<STRUCT>_<FIELD> its size; any other
 * DUSK_K_<NAME> is the kernel's <NAME> (CONFIG_* from its configuration).
 * Unsigned constants are widened to unsigned long, so that a value with
 * its top bit set comes out positive.
 *
 * Who uses what: runtime/modrt/mod_nf.c (nf_hook_ops, NFPROTO_*),
 * runtime/modrt/mod_param.c (kernel_param and friends),
 * runtime/klib/klib_printk.c (ratelimit_state, log levels),
 * runtime/klib/klib_ctx.c (semaphore, the preempt count's layout, EFLAGS,
 * the RCU stall timeout). The errno names are build-aux/gen-errnames's,
 * from the errno headers this file's compilation includes.
 */
#include <linux/kbuild.h>
#include <linux/errno.h>
#include <linux/kern_levels.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/preempt.h>
#include <linux/ratelimit_types.h>
#include <linux/semaphore.h>
#include <asm/processor-flags.h>

#define SIZE(sym, s) DEFINE(DUSK_K_SIZEOF_##sym, sizeof(struct s))
#define FIELD(sym, s, m) do {						\
	OFFSET(DUSK_K_##sym, s, m);					\
	DEFINE(DUSK_K_SIZEOF_##sym, sizeof_field(struct s, m));		\
} while (0)
#define CONST(name) DEFINE(DUSK_K_##name, name)
#define UCONST(name) DEFINE(DUSK_K_##name, (unsigned long)(name))

void dusk_kconst(void);

void dusk_kconst(void)
{
	/* include/linux/netfilter.h, uapi/linux/netfilter.h */
	SIZE(NF_HOOK_OPS, nf_hook_ops);
	FIELD(NF_HOOK_OPS_HOOK, nf_hook_ops, hook);
	FIELD(NF_HOOK_OPS_DEV, nf_hook_ops, dev);
	FIELD(NF_HOOK_OPS_PRIV, nf_hook_ops, priv);
	FIELD(NF_HOOK_OPS_PF, nf_hook_ops, pf);
	FIELD(NF_HOOK_OPS_HOOKNUM, nf_hook_ops, hooknum);
	FIELD(NF_HOOK_OPS_PRIORITY, nf_hook_ops, priority);
	CONST(NFPROTO_INET);
	CONST(NFPROTO_IPV4);
	CONST(NFPROTO_ARP);
	CONST(NFPROTO_NETDEV);
	CONST(NFPROTO_BRIDGE);
	CONST(NFPROTO_IPV6);
	BLANK();

	/* include/linux/moduleparam.h */
	SIZE(KERNEL_PARAM, kernel_param);
	FIELD(KERNEL_PARAM_NAME, kernel_param, name);
	FIELD(KERNEL_PARAM_OPS, kernel_param, ops);
	FIELD(KERNEL_PARAM_ARG, kernel_param, arg);
	SIZE(KPARAM_STRING, kparam_string);
	FIELD(KPARAM_STRING_MAXLEN, kparam_string, maxlen);
	FIELD(KPARAM_STRING_STRING, kparam_string, string);
	SIZE(KPARAM_ARRAY, kparam_array);
	FIELD(KPARAM_ARRAY_MAX, kparam_array, max);
	FIELD(KPARAM_ARRAY_ELEMSIZE, kparam_array, elemsize);
	FIELD(KPARAM_ARRAY_NUM, kparam_array, num);
	FIELD(KPARAM_ARRAY_OPS, kparam_array, ops);
	FIELD(KPARAM_ARRAY_ELEM, kparam_array, elem);
	SIZE(KERNEL_PARAM_OPS, kernel_param_ops);
	FIELD(KERNEL_PARAM_OPS_FLAGS, kernel_param_ops, flags);
	FIELD(KERNEL_PARAM_OPS_SET, kernel_param_ops, set);
	FIELD(KERNEL_PARAM_OPS_GET, kernel_param_ops, get);
	FIELD(KERNEL_PARAM_OPS_FREE, kernel_param_ops, free);
	CONST(KERNEL_PARAM_OPS_FL_NOARG);
	BLANK();

	/* include/linux/ratelimit_types.h, kern_levels.h, printk.h */
	SIZE(RATELIMIT_STATE, ratelimit_state);
	FIELD(RATELIMIT_STATE_LOCK, ratelimit_state, lock);
	FIELD(RATELIMIT_STATE_INTERVAL, ratelimit_state, interval);
	FIELD(RATELIMIT_STATE_BURST, ratelimit_state, burst);
	FIELD(RATELIMIT_STATE_PRINTED, ratelimit_state, printed);
	FIELD(RATELIMIT_STATE_MISSED, ratelimit_state, missed);
	FIELD(RATELIMIT_STATE_BEGIN, ratelimit_state, begin);
	FIELD(RATELIMIT_STATE_FLAGS, ratelimit_state, flags);
	UCONST(RATELIMIT_MSG_ON_RELEASE);
	CONST(LOGLEVEL_DEFAULT);
	CONST(CONFIG_MESSAGE_LOGLEVEL_DEFAULT);
	BLANK();

	/* include/linux/semaphore.h */
	SIZE(SEMAPHORE, semaphore);
	FIELD(SEMAPHORE_COUNT, semaphore, count);
	BLANK();

	/* include/linux/preempt.h, arch/x86/include/asm/preempt.h and
	 * uapi/asm/processor-flags.h: what instrumented code's own
	 * preempt_count() and irqs_disabled() test */
	UCONST(PREEMPT_OFFSET);
	UCONST(SOFTIRQ_OFFSET);
	UCONST(SOFTIRQ_DISABLE_OFFSET);
	UCONST(SOFTIRQ_LOCK_OFFSET);
	UCONST(HARDIRQ_OFFSET);
	UCONST(NMI_OFFSET);
	UCONST(PREEMPT_MASK);
	UCONST(SOFTIRQ_MASK);
	UCONST(HARDIRQ_MASK);
	UCONST(NMI_MASK);
	UCONST(PREEMPT_NEED_RESCHED);
	UCONST(PREEMPT_ENABLED);
	UCONST(X86_EFLAGS_FIXED);
	UCONST(X86_EFLAGS_IF);
	BLANK();

	/* The configuration (include/generated/autoconf.h): seconds; 0 when
	 * the kernel has no RCU stall detector. */
#ifdef CONFIG_RCU_CPU_STALL_TIMEOUT
	CONST(CONFIG_RCU_CPU_STALL_TIMEOUT);
#else
	DEFINE(DUSK_K_CONFIG_RCU_CPU_STALL_TIMEOUT, 0);
#endif
}
