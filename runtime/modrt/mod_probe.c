// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The probes of a kernel call's pointer arguments: what dusk.ko reads of
 * each before it calls the function (dusk_proto.h, struct dusk_probe), so
 * that a bad pointer the module passes (strlen-like functions given NULL,
 * an address computed wrongly) ends the program with an oops report
 * instead of oopsing the target.
 *
 * What is probed comes from the prototype the plugin recorded (the glue's
 * arg_probe): a const char * to its NUL, any other object pointer for its
 * pointee's size, void * never (opaque data: kfree(), kvfree(), vfree(),
 * kfree_sensitive() take NULL for that reason alone). NULL fails a probe,
 * except where the kernel function accepts it: the one table below, by
 * function and argument, and by pointee type for the kinds of pointer
 * the kernel passes as NULL everywhere.
 */
#include <endian.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "modrt.h"
#include "util.h"

/* Kernel functions that take NULL (or an ERR_PTR, or anything) in some
 * typed pointer argument, each checked in the 6.1 sources: bit i for
 * argument i (from 0). Looked up once per function and program. */
struct dusk_probe_exempt {
	const char *name;
	uint8_t null_ok;	/* NULL: nothing to do, or "none" */
	uint8_t err_ok;		/* an ERR_PTR too (IS_ERR_OR_NULL) */
	uint8_t any;		/* not read unless another argument is valid */
};

#define B(i)	(1U << (i))

static const struct dusk_probe_exempt dusk_probe_exempt[] = {
	/* releases that do nothing for NULL */
	{ "bitmap_free", B(0), 0, 0 },
	{ "class_destroy", B(0), B(0), 0 },
	{ "consume_skb", B(0), 0, 0 },
	{ "debugfs_remove", B(0), B(0), 0 },
	{ "dma_pool_destroy", B(0), 0, 0 },
	{ "dput", B(0), 0, 0 },
	{ "dst_release", B(0), 0, 0 },
	{ "fwnode_handle_put", B(0), 0, 0 },
	{ "gpiod_put", B(0), 0, 0 },
	{ "input_free_device", B(0), 0, 0 },
	{ "iput", B(0), 0, 0 },
	{ "key_put", B(0), 0, 0 },
	{ "kfree_skb_list_reason", B(0), 0, 0 },
	{ "kfree_skb_reason", B(0), 0, 0 },	/* kfree_skb() */
	{ "__dev_kfree_skb_any", B(0), 0, 0 },	/* dev_kfree_skb_any() */
	{ "__dev_kfree_skb_irq", B(0), 0, 0 },
	{ "kmem_cache_destroy", B(0), 0, 0 },
	{ "kobject_del", B(0), 0, 0 },
	{ "kobject_put", B(0), 0, 0 },
	{ "kset_unregister", B(0), 0, 0 },
	{ "mempool_destroy", B(0), 0, 0 },
	{ "mntput", B(0), 0, 0 },
	{ "of_node_put", B(0), 0, 0 },
	{ "pci_dev_put", B(0), 0, 0 },
	{ "proc_remove", B(0), 0, 0 },
	{ "put_device", B(0), 0, 0 },
	{ "put_disk", B(0), 0, 0 },
	{ "put_pid", B(0), 0, 0 },
	{ "regulator_put", B(0), B(0), 0 },
	{ "release_firmware", B(0), 0, 0 },
	{ "tty_kref_put", B(0), 0, 0 },
	{ "unregister_sysctl_table", B(0), 0, 0 },
	{ "usb_free_urb", B(0), 0, 0 },
	{ "usb_put_dev", B(0), 0, 0 },
	{ "usb_put_intf", B(0), 0, 0 },
	/* a const char __user * of the calling task (read or write), which
	 * the function reads by the uaccess accessors: a bad one is its
	 * -EFAULT, not an oops (other __user pointers are void *) */
	{ "kstrtobool_from_user", 0, 0, B(0) },
	{ "kstrtoint_from_user", 0, 0, B(0) },
	{ "kstrtol_from_user", 0, 0, B(0) },
	{ "kstrtoll_from_user", 0, 0, B(0) },
	{ "kstrtos16_from_user", 0, 0, B(0) },
	{ "kstrtos8_from_user", 0, 0, B(0) },
	{ "kstrtou16_from_user", 0, 0, B(0) },
	{ "kstrtou8_from_user", 0, 0, B(0) },
	{ "kstrtouint_from_user", 0, 0, B(0) },
	{ "kstrtoul_from_user", 0, 0, B(0) },
	{ "kstrtoull_from_user", 0, 0, B(0) },
	{ "strndup_user", 0, 0, B(0) },
	/* crypto_free_*(tfm): tfm's base, &NULL->base when tfm is NULL */
	{ "crypto_destroy_tfm", 0, 0, B(1) },
	/* what a header's inline wrapper passes as NULL (dev_queue_xmit(),
	 * dev_alloc_skb(), netlink_kernel_create()...) */
	{ "__dev_queue_xmit", B(1), 0, 0 },
	{ "__netdev_alloc_skb", B(0), 0, 0 },
	{ "__netlink_kernel_create", B(3), 0, 0 },
	/* optional parents, names, outputs and options */
	{ "debugfs_create_atomic_t", B(2), B(2), 0 },
	{ "debugfs_create_bool", B(2), B(2), 0 },
	{ "debugfs_create_dir", B(1), B(1), 0 },
	{ "debugfs_create_file", B(2), B(2), 0 },
	{ "debugfs_create_u16", B(2), B(2), 0 },
	{ "debugfs_create_u32", B(2), B(2), 0 },
	{ "debugfs_create_u64", B(2), B(2), 0 },
	{ "debugfs_create_u8", B(2), B(2), 0 },
	{ "debugfs_create_ulong", B(2), B(2), 0 },
	{ "debugfs_create_x32", B(2), B(2), 0 },
	{ "device_create", B(0) | B(1), B(0), 0 },
	{ "firmware_request_nowarn", B(2), 0, 0 },
	{ "inet_pton_with_scope", B(3), 0, 0 },
	/* timer_setup() without lockdep: no name, no key */
	{ "init_timer_key", B(3), 0, 0 },
	{ "ip6_route_output_flags", B(1), 0, 0 },
	{ "ip_route_output_flow", B(2), 0, 0 },
	{ "ipv6_find_hdr", B(3) | B(4), 0, 0 },
	{ "kernel_read", B(3), 0, 0 },
	{ "kernel_write", B(3), 0, 0 },
	{ "kobject_create_and_add", B(1), 0, 0 },
	{ "kobject_uevent_env", B(2), 0, 0 },
	{ "proc_create", B(2), 0, 0 },
	{ "proc_create_data", B(2), 0, 0 },
	{ "proc_create_seq_private", B(2), 0, 0 },
	{ "proc_create_single_data", B(2), 0, 0 },
	{ "proc_mkdir", B(1), 0, 0 },
	{ "proc_mkdir_data", B(2), 0, 0 },
	{ "proc_mkdir_mode", B(2), 0, 0 },
	{ "proc_symlink", B(1), 0, 0 },
	{ "remove_proc_entry", B(1), 0, 0 },
	{ "remove_proc_subtree", B(1), 0, 0 },
	{ "request_firmware", B(2), 0, 0 },
	{ "string_escape_mem", B(5), 0, 0 },
	{ "sysfs_notify", B(1), 0, 0 },
	{ "tcp_parse_options", B(4), 0, 0 },
};

#undef B

/* Pointee types the kernel passes as NULL to every function that takes
 * them: THIS_MODULE of built-in code (and of the user-level module), a
 * lockdep key without lockdep, the socket of a packet no socket owns. */
static const char *const dusk_probe_null_types[] = {
	"struct_lock_class_key", "struct_module", "struct_sock",
};

static const struct dusk_probe_exempt *dusk_probe_exempt_of(const char *name)
{
	size_t i;

	for (i = 0; i < DUSK_ARRAY_SIZE(dusk_probe_exempt); i++)
		if (!strcmp(name, dusk_probe_exempt[i].name))
			return &dusk_probe_exempt[i];
	return NULL;
}

/* Once per function: its exemptions, from the table and the types. */
static void dusk_probe_prepare(struct dusk_kfunc *f)
{
	const struct dusk_probe_exempt *e = dusk_probe_exempt_of(f->name);
	unsigned int i, j;

	f->null_ok = e ? e->null_ok : 0;
	f->err_ok = e ? e->err_ok : 0;
	f->unprobed = e ? e->any : 0;
	for (i = 0; f->arg_type && i < f->nargs && i < 8; i++)
		for (j = 0; f->arg_type[i] &&
		     j < DUSK_ARRAY_SIZE(dusk_probe_null_types); j++)
			if (!strcmp(f->arg_type[i], dusk_probe_null_types[j]))
				f->null_ok |= 1U << i;
	f->probe_ready = 1;
}

void dusk_probe_spec(struct dusk_kfunc *f, unsigned int n,
		     struct dusk_kcall_probe *ret)
{
	struct dusk_probe *p;
	unsigned int i;
	uint32_t want;

	memset(ret, 0, sizeof(*ret));
	ret->refused = -1;
	if (!f || !f->arg_probe || !f->arg_kind)
		return;
	if (!f->probe_ready)
		dusk_probe_prepare(f);
	for (i = 0; i < n && i < f->nargs; i++) {
		want = f->arg_probe[i];
		if (!want || f->arg_kind[i] != DUSK_KARG_PTR ||
		    (f->unprobed & (1U << i)))
			continue;
		p = &ret->spec[i];
		p->kind = want == DUSK_KPROBE_STR ? DUSK_PROBE_STR :
			  DUSK_PROBE_SIZE;
		p->size = htole32(want == DUSK_KPROBE_STR ? DUSK_PROBE_STR_MAX :
				  want);
		p->flags = (f->null_ok & (1U << i) ? DUSK_PROBE_F_NULL_OK : 0) |
			   (f->err_ok & (1U << i) ? DUSK_PROBE_F_ERR_OK : 0);
	}
}

const char *dusk_probe_describe(const struct dusk_kfunc *f, unsigned int i,
				char *buf, size_t len)
{
	const char *t = f && f->arg_type && i < f->nargs ? f->arg_type[i] : NULL;
	const char *kw = "";

	if (!t) {
		snprintf(buf, len, "argument %u", i + 1);
		return buf;
	}
	if (f->arg_probe && f->arg_probe[i] == DUSK_KPROBE_STR) {
		snprintf(buf, len, "argument %u (const char *)", i + 1);
		return buf;
	}
	if (!strncmp(t, "struct_", 7))
		kw = "struct ", t += 7;
	else if (!strncmp(t, "union_", 6))
		kw = "union ", t += 6;
	snprintf(buf, len, "argument %u (%s%s *)", i + 1, kw, t);
	return buf;
}
