// SPDX-License-Identifier: GPL-2.0
/*
 * The target kernel's layouts and constants that libdusk relies on, taken
 * from its own headers and configuration the way the kernel makes
 * asm-offsets.h: kbuild compiles this file to assembly (never to an
 * object), and runtime/kconst.am turns each "->SYM value" line into
 * "#define SYM value" of kconst.h. Nothing here is copied by hand.
 *
 * Names: DUSK_K_SIZEOF_<STRUCT> the size of a struct, DUSK_K_<STRUCT>__<FIELD>
 * a field's offset, DUSK_K_SIZEOF_<STRUCT>__<FIELD> its size (two
 * underscores: kernel_param's ops is not struct kernel_param_ops); any
 * other DUSK_K_<NAME> is the kernel's <NAME> (CONFIG_* from its
 * configuration).
 * Unsigned constants are widened to unsigned long, so that a value with
 * its top bit set comes out positive.
 *
 * Who uses what: runtime/modrt/mod_nf.c (nf_hook_ops, NFPROTO_*, and
 * sk_buff, sock and socket to tell who sent a packet at LOCAL_OUT),
 * runtime/modrt/mod_param.c (kernel_param and friends),
 * runtime/klib/klib_printk.c (ratelimit_state, log levels),
 * runtime/klib/klib_dyndbg.c (struct _ddebug, static_key, the flags),
 * runtime/klib/klib_ctx.c (semaphore, the preempt count's layout, EFLAGS,
 * the RCU stall timeout), runtime/klib/klib_wait.c (wait queues,
 * completions, task states), runtime/modrt/mod_softirq.c and the files
 * of each deferred kind (timers, hrtimers, tasklets, work items). The
 * errno names are build-aux/gen-errnames's,
 * from the errno headers this file's compilation includes.
 */
#include <linux/kbuild.h>
#include <linux/dynamic_debug.h>
#include <linux/errno.h>
#include <linux/kern_levels.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/netfilter.h>
#include <linux/preempt.h>
#include <linux/ratelimit_types.h>
#include <linux/semaphore.h>
#include <linux/completion.h>
#include <linux/sched.h>
#include <linux/wait.h>
#include <linux/seq_file.h>
#include <linux/timer.h>
#include <linux/hrtimer.h>
#include <linux/workqueue.h>
#include <linux/interrupt.h>
#include <linux/skbuff.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include <asm/processor-flags.h>

#define SIZE(sym, s) DEFINE(DUSK_K_SIZEOF_##sym, sizeof(struct s))
#define FIELD(S, F, s, m) do {						\
	OFFSET(DUSK_K_##S##__##F, s, m);				\
	DEFINE(DUSK_K_SIZEOF_##S##__##F, sizeof_field(struct s, m));	\
} while (0)
#define CONST(name) DEFINE(DUSK_K_##name, name)
#define UCONST(name) DEFINE(DUSK_K_##name, (unsigned long)(name))

void dusk_kconst(void);

void dusk_kconst(void)
{
	/* include/linux/netfilter.h, uapi/linux/netfilter.h */
	SIZE(NF_HOOK_OPS, nf_hook_ops);
	FIELD(NF_HOOK_OPS, HOOK, nf_hook_ops, hook);
	FIELD(NF_HOOK_OPS, DEV, nf_hook_ops, dev);
	FIELD(NF_HOOK_OPS, PRIV, nf_hook_ops, priv);
	FIELD(NF_HOOK_OPS, PF, nf_hook_ops, pf);
	FIELD(NF_HOOK_OPS, HOOKNUM, nf_hook_ops, hooknum);
	FIELD(NF_HOOK_OPS, PRIORITY, nf_hook_ops, priority);
	CONST(NFPROTO_INET);
	CONST(NFPROTO_IPV4);
	CONST(NFPROTO_ARP);
	CONST(NFPROTO_NETDEV);
	CONST(NFPROTO_BRIDGE);
	CONST(NFPROTO_IPV6);
	CONST(NF_INET_LOCAL_OUT);
	CONST(NF_INET_POST_ROUTING);
	BLANK();

	/* include/linux/skbuff.h, include/net/sock.h, include/linux/net.h:
	 * who sent a packet a LOCAL_OUT or POST_ROUTING hook sees (the
	 * context the kernel runs the hook in) */
	FIELD(SK_BUFF, SK, sk_buff, sk);
	FIELD(SOCK, STATE, sock, __sk_common.skc_state);
	FIELD(SOCK, SOCKET, sock, sk_socket);
	FIELD(SOCKET, FILE, socket, file);
	CONST(TCP_TIME_WAIT);
	CONST(TCP_NEW_SYN_RECV);
	BLANK();

	/* include/linux/moduleparam.h */
	SIZE(KERNEL_PARAM, kernel_param);
	FIELD(KERNEL_PARAM, NAME, kernel_param, name);
	FIELD(KERNEL_PARAM, OPS, kernel_param, ops);
	FIELD(KERNEL_PARAM, ARG, kernel_param, arg);
	SIZE(KPARAM_STRING, kparam_string);
	FIELD(KPARAM_STRING, MAXLEN, kparam_string, maxlen);
	FIELD(KPARAM_STRING, STRING, kparam_string, string);
	SIZE(KPARAM_ARRAY, kparam_array);
	FIELD(KPARAM_ARRAY, MAX, kparam_array, max);
	FIELD(KPARAM_ARRAY, ELEMSIZE, kparam_array, elemsize);
	FIELD(KPARAM_ARRAY, NUM, kparam_array, num);
	FIELD(KPARAM_ARRAY, OPS, kparam_array, ops);
	FIELD(KPARAM_ARRAY, ELEM, kparam_array, elem);
	SIZE(KERNEL_PARAM_OPS, kernel_param_ops);
	FIELD(KERNEL_PARAM_OPS, FLAGS, kernel_param_ops, flags);
	FIELD(KERNEL_PARAM_OPS, SET, kernel_param_ops, set);
	FIELD(KERNEL_PARAM_OPS, GET, kernel_param_ops, get);
	FIELD(KERNEL_PARAM_OPS, FREE, kernel_param_ops, free);
	CONST(KERNEL_PARAM_OPS_FL_NOARG);
	BLANK();

	/* include/linux/ratelimit_types.h, kern_levels.h, printk.h */
	SIZE(RATELIMIT_STATE, ratelimit_state);
	FIELD(RATELIMIT_STATE, LOCK, ratelimit_state, lock);
	FIELD(RATELIMIT_STATE, INTERVAL, ratelimit_state, interval);
	FIELD(RATELIMIT_STATE, BURST, ratelimit_state, burst);
	FIELD(RATELIMIT_STATE, PRINTED, ratelimit_state, printed);
	FIELD(RATELIMIT_STATE, MISSED, ratelimit_state, missed);
	FIELD(RATELIMIT_STATE, BEGIN, ratelimit_state, begin);
	FIELD(RATELIMIT_STATE, FLAGS, ratelimit_state, flags);
	BLANK();

	/* include/linux/dynamic_debug.h, jump_label.h: a module's dynamic
	 * debug descriptors (lineno, class_id and flags are bit-fields in
	 * the word after format) and their static keys */
	SIZE(DDEBUG, _ddebug);
	FIELD(DDEBUG, MODNAME, _ddebug, modname);
	FIELD(DDEBUG, FUNCTION, _ddebug, function);
	FIELD(DDEBUG, FILENAME, _ddebug, filename);
	FIELD(DDEBUG, FORMAT, _ddebug, format);
	FIELD(DDEBUG, KEY, _ddebug, key);
	SIZE(STATIC_KEY, static_key);
	FIELD(STATIC_KEY, ENABLED, static_key, enabled);
	CONST(_DPRINTK_FLAGS_PRINT);
	CONST(_DPRINTK_FLAGS_INCL_MODNAME);
	CONST(_DPRINTK_FLAGS_INCL_FUNCNAME);
	CONST(_DPRINTK_FLAGS_INCL_LINENO);
	CONST(_DPRINTK_FLAGS_INCL_TID);
	CONST(_DPRINTK_CLASS_DFLT);
	UCONST(RATELIMIT_MSG_ON_RELEASE);
	CONST(LOGLEVEL_DEFAULT);
	CONST(CONFIG_MESSAGE_LOGLEVEL_DEFAULT);
	BLANK();

	/* include/linux/semaphore.h */
	SIZE(SEMAPHORE, semaphore);
	FIELD(SEMAPHORE, COUNT, semaphore, count);
	BLANK();

	/* include/linux/wait.h, swait.h, completion.h, sched.h */
	SIZE(WAIT_QUEUE_HEAD, wait_queue_head);
	FIELD(WAIT_QUEUE_HEAD, HEAD, wait_queue_head, head);
	SIZE(WAIT_QUEUE_ENTRY, wait_queue_entry);
	FIELD(WAIT_QUEUE_ENTRY, FLAGS, wait_queue_entry, flags);
	FIELD(SWAIT_QUEUE_HEAD, TASK_LIST, swait_queue_head, task_list);
	SIZE(COMPLETION, completion);
	FIELD(COMPLETION, DONE, completion, done);
	UCONST(WQ_FLAG_EXCLUSIVE);
	UCONST(TASK_RUNNING);
	UCONST(TASK_INTERRUPTIBLE);
	UCONST(TASK_UNINTERRUPTIBLE);
	UCONST(TASK_WAKEKILL);
	UCONST(TASK_NORMAL);
	CONST(ERESTARTSYS);
	/* signal_pending(current): a SIGNAL sets it in the cached task */
	FIELD(TASK, TI_FLAGS, task_struct, thread_info.flags);
	UCONST(TIF_SIGPENDING);
	/* set_current_state() writes the task's state, schedule() reads
	 * it; a kthread's invocation names its task by these */
	FIELD(TASK, STATE, task_struct, __state);
	FIELD(TASK, PID, task_struct, pid);
	FIELD(TASK, TGID, task_struct, tgid);
	FIELD(TASK, COMM, task_struct, comm);
	UCONST(TASK_COMM_LEN);
	CONST(NUMA_NO_NODE);
	BLANK();

	/* include/linux/timer.h, hrtimer.h, interrupt.h, workqueue.h:
	 * what module code reads inline (timer_pending(), hrtimer_is_queued(),
	 * work_pending(), tasklet_schedule()'s state bit) */
	SIZE(TIMER_LIST, timer_list);
	FIELD(TIMER_LIST, PPREV, timer_list, entry.pprev);
	FIELD(TIMER_LIST, EXPIRES, timer_list, expires);
	FIELD(TIMER_LIST, FUNCTION, timer_list, function);
	FIELD(TIMER_LIST, FLAGS, timer_list, flags);
	SIZE(HRTIMER, hrtimer);
	FIELD(HRTIMER, EXPIRES, hrtimer, node.expires);
	FIELD(HRTIMER, SOFTEXPIRES, hrtimer, _softexpires);
	FIELD(HRTIMER, FUNCTION, hrtimer, function);
	FIELD(HRTIMER, BASE, hrtimer, base);
	FIELD(HRTIMER, STATE, hrtimer, state);
	FIELD(HRTIMER, IS_REL, hrtimer, is_rel);
	FIELD(HRTIMER, IS_SOFT, hrtimer, is_soft);
	FIELD(HRTIMER_CPU_BASE, CLOCK_BASE, hrtimer_cpu_base, clock_base);
	SIZE(HRTIMER_CLOCK_BASE, hrtimer_clock_base);
	CONST(HRTIMER_MODE_REL);
	CONST(HRTIMER_MODE_SOFT);
	CONST(HRTIMER_MODE_HARD);
	CONST(HRTIMER_RESTART);
	CONST(HRTIMER_STATE_ENQUEUED);
	CONST(HRTIMER_BASE_MONOTONIC);
	CONST(HRTIMER_BASE_REALTIME);
	CONST(HRTIMER_BASE_BOOTTIME);
	CONST(HRTIMER_BASE_TAI);
	CONST(HRTIMER_BASE_MONOTONIC_SOFT);
	SIZE(TASKLET_STRUCT, tasklet_struct);
	FIELD(TASKLET_STRUCT, STATE, tasklet_struct, state);
	FIELD(TASKLET_STRUCT, COUNT, tasklet_struct, count);
	FIELD(TASKLET_STRUCT, USE_CALLBACK, tasklet_struct, use_callback);
	FIELD(TASKLET_STRUCT, FUNC, tasklet_struct, func);
	FIELD(TASKLET_STRUCT, DATA, tasklet_struct, data);
	CONST(TASKLET_STATE_SCHED);
	CONST(TASKLET_STATE_RUN);
	SIZE(WORK_STRUCT, work_struct);
	FIELD(WORK_STRUCT, DATA, work_struct, data);
	FIELD(WORK_STRUCT, FUNC, work_struct, func);
	SIZE(DELAYED_WORK, delayed_work);
	FIELD(DELAYED_WORK, TIMER, delayed_work, timer);
	FIELD(DELAYED_WORK, WQ, delayed_work, wq);
	CONST(WORK_STRUCT_PENDING_BIT);
	UCONST(WQ_UNBOUND);
	UCONST(__WQ_ORDERED);
	BLANK();

	/* include/linux/seq_file.h */
	FIELD(SEQ_FILE, BUF, seq_file, buf);
	FIELD(SEQ_FILE, SIZE, seq_file, size);
	FIELD(SEQ_FILE, COUNT, seq_file, count);
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
