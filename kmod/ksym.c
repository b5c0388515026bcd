// SPDX-License-Identifier: GPL-2.0
/*
 * Symbols: kallsyms_lookup_name() is not exported since 5.7; a kprobe on
 * it tells us its address once, at load. SYM answers with any symbol the
 * kernel knows, exported or not (CONFIG_KALLSYMS_ALL gives data too).
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/kallsyms.h>
#include <linux/string.h>

#include "dusk_kmod.h"

static unsigned long (*dusk_lookup_name)(const char *name);
static int (*dusk_lookup_size_offset)(unsigned long addr, unsigned long *size,
				      unsigned long *offset);
static bool (*dusk_text_address)(unsigned long addr);

int dusk_ksym_init(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	int ret;

	ret = register_kprobe(&kp);
	if (ret) {
		pr_err("dusk: cannot find kallsyms_lookup_name (kprobe: %d)\n",
		       ret);
		return ret;
	}
	dusk_lookup_name = (void *)kp.addr;
	unregister_kprobe(&kp);

	dusk_lookup_size_offset = (void *)dusk_ksym("kallsyms_lookup_size_offset");
	dusk_text_address = (void *)dusk_ksym("kernel_text_address");
	if (!dusk_lookup_size_offset || !dusk_text_address) {
		pr_err("dusk: kallsyms lacks kernel_text_address or kallsyms_lookup_size_offset\n");
		return -ENOENT;
	}
	return 0;
}

unsigned long dusk_ksym(const char *name)
{
	return dusk_lookup_name(name);
}

/* Code the kernel may run: core or module text, not data, not dusk.ko. */
bool dusk_is_text(unsigned long addr)
{
	return dusk_text_address(addr) && !within_module(addr, THIS_MODULE);
}

int dusk_do_sym(struct dusk_req *r)
{
	struct dusk_sym_reply *rep = r->reply;
	unsigned long addr, size = 0, offset;
	char name[KSYM_NAME_LEN];

	if (r->len >= sizeof(name) || memchr(r->payload, 0, r->len))
		return -EINVAL;
	memcpy(name, r->payload, r->len);
	name[r->len] = '\0';
	addr = dusk_ksym(name);
	if (!addr)
		return -ENOENT;
	if (!dusk_lookup_size_offset(addr, &size, &offset) || offset)
		size = 0;
	rep->addr = cpu_to_le64(addr);
	rep->size = cpu_to_le64(size);
	r->reply_len = sizeof(*rep);
	return 0;
}
