/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * modprog.h - what modprog.c (the "module") and modglue.c (its glue, by
 * hand in the shape dusk-cc generates) share: the kernel symbols the
 * module uses, renamed as dusk-cc renames them.
 */
#ifndef MODPROG_H
#define MODPROG_H

#include <stdint.h>

/* Placeholders of kernel variables (section dusk_kdata). */
extern char __dusk_kv_jiffies[], __dusk_kv_init_net[], __dusk_kv_cpu_number[],
	__dusk_kv_current_task[], __dusk_kv___this_module[];

#define STUB_DECL(name)							\
	uint64_t __dusk_k_##name(uint64_t a0, uint64_t a1, uint64_t a2,	\
				 uint64_t a3, uint64_t a4, uint64_t a5)
STUB_DECL(strscpy);
STUB_DECL(__kmalloc);
STUB_DECL(kfree);
STUB_DECL(memcpy);
STUB_DECL(memcpy_ops);
STUB_DECL(memset);
STUB_DECL(skb_copy_bits);
STUB_DECL(try_module_get);
STUB_DECL(_raw_spin_lock);
STUB_DECL(__list_del_entry_valid);

/* libdusk's own versions. */
int __dusk_impl_nf_register_net_hook(void *net, const void *ops);
void __dusk_impl_nf_unregister_net_hook(void *net, const void *ops);
unsigned int __dusk_impl_debug_smp_processor_id(void);
int dusk_module_depth(void);

/* struct nf_hook_ops of 6.1. */
struct mp_nf_ops {
	void *rcu[2];
	unsigned int (*hook)(void *priv, void *skb, const void *state);
	void *dev;
	void *priv;
	uint8_t pf;
	uint8_t hook_ops_type;
	unsigned int hooknum;
	int priority;
};

#endif /* MODPROG_H */
