// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * A kernel module as dusk-cc's plugin would leave it, written by hand: the
 * module runtime's integration test against the real target (test_modrt.py).
 * Every access to memory that may be the kernel's goes through
 * __dusk_check(), kernel globals through __dusk_gvar(), per-CPU variables
 * through __dusk_this_cpu_ptr(), kernel functions through the glue's stubs
 * (modglue.c), with the hints the plugin gives for locals. Module code
 * does not print (it would printk); here printf() tells the test what
 * happened, one line per fact.
 *
 * Parameters (insmod style): mode=N (0: serve; 1: init fails with
 * -initerr; 2: a refused kernel call; 3: a user function in a struct
 * given to the kernel), drop_addr=A.B.C.D (ICMP echo to it is dropped),
 * verbose (bool), ports=a,b,c (int array), tag=S (string, 15 chars).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dusk_module.h"
#include "kernel_offsets.h"
#include "modprog.h"

#define KREAD(type, addr) \
	(*(type *)__dusk_check((const void *)(uintptr_t)(addr), sizeof(type)))

/* ---- parameters ---- */

static int mode;
static int initerr = 19;
static char *drop_addr = "127.0.0.9";
static bool verbose;
static int ports[4];
static unsigned int nr_ports;
static char tag[16] = "none";

extern const char __dusk_impl_param_ops_int[], __dusk_impl_param_ops_charp[],
	__dusk_impl_param_ops_bool[], __dusk_impl_param_array_ops[],
	__dusk_impl_param_ops_string[];

/* As module_param() and friends lay them out (struct kernel_param,
 * kparam_array, kparam_string of 6.1; checked in modglue.c). */
struct mp_param {
	const char *name;
	void *mod;
	const void *ops;
	uint16_t perm;
	int8_t level;
	uint8_t flags;
	const void *arg;
};

static const struct { unsigned int max, elemsize; unsigned int *num;
		      const void *ops; void *elem; } ports_arr = {
	4, sizeof(int), &nr_ports, __dusk_impl_param_ops_int, ports,
};
static const struct { unsigned int maxlen; char *string; } tag_str = {
	sizeof(tag), tag,
};

#define PARAM(var, name_, ops_, arg_)					\
	static const struct mp_param __param_##var			\
	__attribute__((section("__param"), used, aligned(8))) =	\
		{ name_, __dusk_kv___this_module, ops_, 0444, -1, 0, arg_ }

PARAM(mode, "mode", __dusk_impl_param_ops_int, &mode);
PARAM(initerr, "initerr", __dusk_impl_param_ops_int, &initerr);
PARAM(drop_addr, "drop_addr", __dusk_impl_param_ops_charp, &drop_addr);
PARAM(verbose, "verbose", __dusk_impl_param_ops_bool, &verbose);
PARAM(ports, "ports", __dusk_impl_param_array_ops, &ports_arr);
PARAM(tag, "tag", __dusk_impl_param_ops_string, &tag_str);

#define MODINFO(id, s)							\
	static const char __modinfo_##id[]				\
	__attribute__((section(".modinfo"), used, aligned(1))) = s
MODINFO(d, "description=the module runtime's integration test");
MODINFO(t0, "parmtype=mode:int");
MODINFO(p0, "parm=mode:what to do (0 serve, 1 failing init, 2 refused call, 3 user function)");
MODINFO(t1, "parmtype=drop_addr:charp");
MODINFO(p1, "parm=drop_addr:ICMP echo to this address is dropped");

/* ---- objects shared with the kernel ---- */

struct node {
	const char *name;
	struct node *next;
	long value;
};

static struct node second = { "second", NULL, 2 };
static struct node first = { "first", &second, 1 };

struct modprog_ops {
	void (*fn)(void);
};

static void some_fn(void)
{
}

static struct modprog_ops bad_ops = { some_fn };

/* A kernel list whose head is the module's (LIST_HEAD), entries kmalloc()ed,
 * instrumented as the plugin instruments list_add_tail(), list_for_each()
 * and list_del(): pointer stores through __dusk_kptr, pointer loads
 * through __dusk_uptr. */
struct klist {
	struct klist *next, *prev;
};

static struct klist head = { &head, &head };

static void *load_ptr(void *addr)
{
	return __dusk_uptr(KREAD(void *, addr));
}

static void store_ptr(void *addr, void *value)
{
	void **p = __dusk_check_w(addr, sizeof(void *));

	*p = __dusk_kptr(p, value);
}

static void list_add_tail_(struct klist *new, struct klist *h)
{
	struct klist *prev = load_ptr(&h->prev);

	store_ptr(&h->prev, new);
	store_ptr(&new->next, h);
	store_ptr(&new->prev, prev);
	store_ptr(&prev->next, new);
}

static void list_del_(struct klist *e)
{
	struct klist *prev = load_ptr(&e->prev), *next = load_ptr(&e->next);

	store_ptr(&next->prev, prev);
	store_ptr(&prev->next, next);
}

static void kernel_list(void)
{
	struct klist *e[2], *p;
	int n = 0, valid;

	e[0] = (void *)(uintptr_t)__dusk_k___kmalloc(sizeof(struct klist),
						      KGFP_KERNEL, 0, 0, 0, 0);
	e[1] = (void *)(uintptr_t)__dusk_k___kmalloc(sizeof(struct klist),
						      KGFP_KERNEL, 0, 0, 0, 0);
	list_add_tail_(e[0], &head);
	list_add_tail_(e[1], &head);
	for (p = load_ptr(&head.next); p != &head; p = load_ptr(&p->next))
		n++;
	/* The kernel's own check (CONFIG_DEBUG_LIST): e->prev->next == e
	 * and e->next->prev == e, through the head's kernel copy. */
	valid = (int)(__dusk_k___list_del_entry_valid((uintptr_t)e[0], 0, 0, 0,
						      0, 0) & 0xff);
	list_del_(e[0]);
	list_del_(e[1]);
	printf("list entries %d kernel-valid %d empty %d\n", n, valid,
	       head.next == &head && head.prev == &head);
	__dusk_k_kfree((uintptr_t)e[0], 0, 0, 0, 0, 0);
	__dusk_k_kfree((uintptr_t)e[1], 0, 0, 0, 0, 0);
}

/* ---- the hook ---- */

static int drops, hooks;

static unsigned int hook_fn(void *priv, void *skb, const void *state)
{
	uint8_t icmp[8];
	uint64_t data, jif;
	const uint8_t *iph;
	uint32_t daddr;
	int cpu_number;
	char dst[INET_ADDRSTRLEN];
	long err;

	__dusk_enter();
	hooks++;
	data = KREAD(uint64_t, (uintptr_t)skb + SKB_DATA);
	iph = __dusk_check((void *)(uintptr_t)data, 20);
	if (iph[9] != 1) {		/* not ICMP */
		__dusk_leave();
		return KNF_ACCEPT;
	}
	memcpy(&daddr, iph + 16, 4);
	/* skb_header_pointer() on a local: a kernel call with a hint. */
	__dusk_hint(2, icmp, sizeof(icmp));
	err = (long)__dusk_k_skb_copy_bits((uintptr_t)skb, (iph[0] & 15) * 4,
					   (uintptr_t)icmp, sizeof(icmp), 0, 0);
	cpu_number = KREAD(int, __dusk_this_cpu_ptr(__dusk_gvar(__dusk_kv_cpu_number)));
	jif = KREAD(uint64_t, __dusk_gvar(__dusk_kv_jiffies));
	inet_ntop(AF_INET, &daddr, dst, sizeof(dst));
	/* smp_processor_id() (klib's debug version): the HOOK's CPU. */
	printf("hook %s type %u copy %ld cpu %u cpu_number %d priv %s jiffies %llu\n",
	       dst, icmp[0], err, __dusk_impl_debug_smp_processor_id(), cpu_number,
	       priv == &first ? "first" : "?", (unsigned long long)jif);
	fflush(stdout);
	if (icmp[0] == 8 && daddr == inet_addr(drop_addr)) {
		drops++;
		printf("drop %s\n", dst);
		fflush(stdout);
		__dusk_leave();
		return KNF_DROP;
	}
	__dusk_leave();
	return KNF_ACCEPT;
}

/* struct nf_hook_ops of 6.1 (checked against the kernel's in modglue.c). */
struct mp_nf_ops ops = {
	.hook = hook_fn, .priv = &first, .pf = KNFPROTO_IPV4,
	.hooknum = KNF_INET_LOCAL_OUT, .priority = -10,
};
/* A second one, registered with &init_net as a static initializer holds
 * it: a placeholder. */
struct mp_nf_ops ops2 = {
	.hook = hook_fn, .priv = &first, .pf = KNFPROTO_IPV4,
	.hooknum = KNF_INET_LOCAL_OUT, .priority = 10,
};
static void *ops2_net = __dusk_kv_init_net;

/* ---- init and exit ---- */

static void kernel_calls(void)
{
	char dst[16];
	long n;
	uint64_t k, next, task;
	struct node *back;
	char comm[TASK_COMM_SIZE + 1] = "";

	/* A local buffer both ways. */
	__dusk_hint(0, dst, sizeof(dst));
	n = (long)__dusk_k_strscpy((uintptr_t)dst, (uintptr_t)"hello kernel",
				   sizeof(dst), 0, 0, 0);
	printf("strscpy %ld %s\n", n, dst);
	__dusk_hint(0, dst, sizeof(dst));
	n = (long)__dusk_k_strscpy((uintptr_t)dst,
				   (uintptr_t)"0123456789abcdefXYZ", sizeof(dst),
				   0, 0, 0);
	printf("strscpy-trunc %ld %s\n", n, dst);

	/* Static objects shared with the kernel: their copies lead back. */
	k = __dusk_k___kmalloc(sizeof(first), KGFP_KERNEL, 0, 0, 0, 0);
	__dusk_k_memcpy(k, (uintptr_t)&first, sizeof(first), 0, 0, 0);
	next = KREAD(uint64_t, k + 8);
	back = __dusk_check((void *)(uintptr_t)next, sizeof(*back));
	printf("shared next-kernel %d back %s name %s\n", next >= (1ULL << 63),
	       back == &second ? "second" : "?",
	       (char *)__dusk_check_str((void *)(uintptr_t)KREAD(uint64_t, next)));
	/* The kernel changes the copy: the module sees it after the call. */
	__dusk_k_memset(next + 16, 0x11, 8, 0, 0, 0);
	printf("kernel-wrote second.value %#lx\n", second.value);
	/* The module changes it: the kernel sees it at its next call. */
	second.value = 4242;
	__dusk_k_memcpy(k, next, sizeof(second), 0, 0, 0);
	printf("kernel-read value %ld\n", KREAD(long, k + 16));
	__dusk_k_kfree(k, 0, 0, 0, 0, 0);

	/* THIS_MODULE is NULL in the kernel: "built in". */
	printf("try_module_get %d\n",
	       (int)(__dusk_k_try_module_get((uintptr_t)__dusk_kv___this_module,
					     0, 0, 0, 0, 0) & 0xff));

	/* current and cpu_number: per-CPU, on CPU 0 in init. */
	task = KREAD(uint64_t, __dusk_this_cpu_ptr(__dusk_gvar(__dusk_kv_current_task)));
	memcpy(comm, __dusk_check((void *)(uintptr_t)(task + TASK_COMM),
				  TASK_COMM_SIZE), TASK_COMM_SIZE);
	printf("current %d comm %s cpu_number %d\n", task >= (1ULL << 63), comm,
	       KREAD(int, __dusk_this_cpu_ptr(__dusk_gvar(__dusk_kv_cpu_number))));
}

int init_module(void)
{
	uint64_t jif;
	int err;

	__dusk_enter();
	printf("params mode %d drop_addr %s verbose %d ports %u:%d,%d,%d tag %s\n",
	       mode, drop_addr, verbose, nr_ports, ports[0], ports[1], ports[2],
	       tag);
	jif = KREAD(uint64_t, __dusk_gvar(__dusk_kv_jiffies));
	printf("jiffies %llu hz %d\n", (unsigned long long)jif, KHZ);
	kernel_calls();
	kernel_list();
	if (mode == 2) {
		/* dusk.ko refuses context-changing primitives: a crash of
		 * the program. */
		__dusk_k__raw_spin_lock((uintptr_t)&first, 0, 0, 0, 0, 0);
	}
	if (mode == 3) {
		uint64_t k = __dusk_k___kmalloc(sizeof(bad_ops), KGFP_KERNEL,
						0, 0, 0, 0);

		__dusk_k_memcpy_ops(k, (uintptr_t)&bad_ops, sizeof(bad_ops),
				    0, 0, 0);
	}
	err = __dusk_impl_nf_register_net_hook(__dusk_gvar(__dusk_kv_init_net),
					       &ops);
	if (!err)
		err = __dusk_impl_nf_register_net_hook(ops2_net, &ops2);
	printf("registered %d\n", err);
	if (mode == 1) {
		__dusk_leave();
		return -initerr;
	}
	printf("ready\n");
	fflush(stdout);
	__dusk_leave();
	return err;
}

void cleanup_module(void)
{
	__dusk_enter();
	__dusk_impl_nf_unregister_net_hook(__dusk_gvar(__dusk_kv_init_net), &ops);
	__dusk_impl_nf_unregister_net_hook(ops2_net, &ops2);
	printf("exit hooks %d drops %d depth %d\n", hooks, drops,
	       dusk_module_depth());
	fflush(stdout);
	__dusk_leave();
}
