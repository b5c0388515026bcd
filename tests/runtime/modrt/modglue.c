// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * modprog.c's glue, by hand in the shape dusk-cc generates: placeholders
 * for the kernel variables (section dusk_kdata), __dusk_kvars, a stub per
 * kernel function calling __dusk_kcall_stub, __dusk_kfuncs (the stubs and
 * libdusk's impls the module refers to), and the type records the plugin
 * would put in section dusk_types.
 */
#include <stddef.h>
#include <stdint.h>

#include "dusk_module.h"
#include "kernel_offsets.h"
#include "modprog.h"

/* This module's hand-written structs (modprog.c) must be what the target
 * kernel's headers lay out, as libdusk reads them (its kconst.h): checked. */
_Static_assert(sizeof(struct mp_nf_ops) == NF_HOOK_OPS_SIZE, "nf_hook_ops");
_Static_assert(offsetof(struct mp_nf_ops, hook) == NF_HOOK_OPS_HOOK, "hook");
_Static_assert(offsetof(struct mp_nf_ops, priv) == NF_HOOK_OPS_PRIV, "priv");
_Static_assert(offsetof(struct mp_nf_ops, pf) == NF_HOOK_OPS_PF, "pf");
_Static_assert(offsetof(struct mp_nf_ops, hooknum) == NF_HOOK_OPS_HOOKNUM, "hooknum");
_Static_assert(offsetof(struct mp_nf_ops, priority) == NF_HOOK_OPS_PRIORITY, "priority");
_Static_assert(KERNEL_PARAM_SIZE == 40 && KERNEL_PARAM_OPS == 16 &&
	       KERNEL_PARAM_ARG == 32, "kernel_param");
_Static_assert(KPARAM_ARRAY_SIZE == 32 && KPARAM_ARRAY_ELEM == 24, "kparam_array");

/* What the plugin records: the types of the module's variables, the
 * kernel functions it calls, the variables it uses. */
__asm__(".pushsection dusk_types,\"a\",@progbits\n"
	".asciz \"type struct_node 24\"\n"
	".asciz \"field struct_node name 0 8 ptr char\"\n"
	".asciz \"field struct_node next 8 8 ptr struct_node\"\n"
	".asciz \"field struct_node value 16 8 int\"\n"
	".asciz \"type struct_modprog_ops 8\"\n"
	".asciz \"field struct_modprog_ops fn 0 8 fn\"\n"
	".asciz \"func strscpy int 3 0 ptr:char ptr:char int\"\n"
	".asciz \"func memcpy ptr:void 3 0 ptr:void ptr:void int\"\n"
	".asciz \"func __kmalloc ptr:void 2 0 int int\"\n"
	".asciz \"var jiffies 8\"\n"
	".popsection\n");

#define KDATA __attribute__((section("dusk_kdata"), aligned(64)))
KDATA char __dusk_kv_jiffies[8];
KDATA char __dusk_kv_init_net[64];
KDATA char __dusk_kv_cpu_number[4];
KDATA char __dusk_kv_current_task[8];
KDATA char __dusk_kv___this_module[64];

const struct dusk_kvar __dusk_kvars[] = {
	{ "jiffies", __dusk_kv_jiffies, 8 },
	{ "init_net", __dusk_kv_init_net, 64 },
	{ "cpu_number", __dusk_kv_cpu_number, 4 },
	{ "current_task", __dusk_kv_current_task, 8 },
	{ "__this_module", __dusk_kv___this_module, 64 },
	{ 0 }
};
const size_t __dusk_nr_kvars = 5;

#define P DUSK_KARG_PTR
#define I DUSK_KARG_INT

#define STUB(stub, kname, n, kinds, types)				\
static const uint8_t kind_##stub[] = kinds;				\
static const char *const type_##stub[] = types;			\
static struct dusk_kfunc kf_##stub = { kname, 0, n, 0, kind_##stub,	\
				       type_##stub };			\
STUB_DECL(stub)								\
{									\
	return __dusk_kcall_stub(&kf_##stub, a0, a1, a2, a3, a4, a5);	\
}
#define L(...) { __VA_ARGS__ }

STUB(strscpy, "strscpy", 3, L(P, P, I), L("char", "char", NULL))
STUB(__kmalloc, "__kmalloc", 2, L(I, I), L(NULL, NULL))
STUB(kfree, "kfree", 1, L(P), L("void"))
STUB(memcpy, "memcpy", 3, L(P, P, I), L("void", "void", NULL))
STUB(memcpy_ops, "memcpy", 3, L(P, P, I), L("void", "struct_modprog_ops", NULL))
STUB(memset, "memset", 3, L(P, I, I), L("void", NULL, NULL))
STUB(skb_copy_bits, "skb_copy_bits", 4, L(P, I, P, I),
     L("struct_sk_buff", NULL, "void", NULL))
STUB(try_module_get, "try_module_get", 1, L(P), L("struct_module"))
STUB(_raw_spin_lock, "_raw_spin_lock", 1, L(P), L("void"))
STUB(__list_del_entry_valid, "__list_del_entry_valid", 1, L(P), L("struct_list_head"))

static struct dusk_kfunc kf_nfreg = { "nf_register_net_hook", 0, 0, 0, NULL, NULL };
static struct dusk_kfunc kf_nfunreg = { "nf_unregister_net_hook", 0, 0, 0, NULL, NULL };
static struct dusk_kfunc kf_smp = { "debug_smp_processor_id", 0, 0, 0, NULL, NULL };

const struct dusk_kfunc_stub __dusk_kfuncs[] = {
	{ (void *)__dusk_k_strscpy, &kf_strscpy },
	{ (void *)__dusk_k___kmalloc, &kf___kmalloc },
	{ (void *)__dusk_k_kfree, &kf_kfree },
	{ (void *)__dusk_k_memcpy, &kf_memcpy },
	{ (void *)__dusk_k_memcpy_ops, &kf_memcpy_ops },
	{ (void *)__dusk_k_memset, &kf_memset },
	{ (void *)__dusk_k_skb_copy_bits, &kf_skb_copy_bits },
	{ (void *)__dusk_k_try_module_get, &kf_try_module_get },
	{ (void *)__dusk_k__raw_spin_lock, &kf__raw_spin_lock },
	{ (void *)__dusk_k___list_del_entry_valid, &kf___list_del_entry_valid },
	{ (void *)__dusk_impl_nf_register_net_hook, &kf_nfreg },
	{ (void *)__dusk_impl_nf_unregister_net_hook, &kf_nfunreg },
	{ (void *)__dusk_impl_debug_smp_processor_id, &kf_smp },
	{ 0 }
};
const size_t __dusk_nr_kfuncs = 13;

/* Handed to libdusk before main(), as dusk-cc's glue does. */
extern char __start_dusk_kdata[], __stop_dusk_kdata[];

__attribute__((constructor)) static void glue_register(void)
{
	static const struct dusk_glue glue = {
		__dusk_kvars, 5, __dusk_kfuncs, 13,
		__start_dusk_kdata, __stop_dusk_kdata
	};

	__dusk_glue_register(&glue);
}
