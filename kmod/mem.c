// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel memory access for the peer: READ and WRITE through the nofault
 * accessors, so that a bad address is an error reply, never an oops.
 */
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/mm.h>
#include <linux/err.h>
#include <linux/string.h>
#include <asm/page.h>
#include <asm/processor.h>
#include <asm/vsyscall.h>

#include "dusk_kmod.h"

/* Not exported in 6.1: resolved at load. */
static long (*dusk_copy_to_kernel_nofault)(void *dst, const void *src,
					   size_t size);

/*
 * What the nofault accessors may be given, by the kernel's own rule
 * (copy_from_kernel_nofault_allowed): above the user half and its guard
 * page, canonical at both ends. copy_to_kernel_nofault() checks nothing,
 * and on this CPU a write to the vsyscall page (a user page in the kernel
 * half) oopses without consulting the fault table, and one to a
 * non-canonical address leaves a WARNING: both are refused here.
 */
static bool dusk_kernel_range(u64 addr, size_t len)
{
	u64 last = addr + len - 1;
	u8 bits = boot_cpu_data.x86_virt_bits;

	if (!len || last < addr || addr < TASK_SIZE_MAX + PAGE_SIZE)
		return false;
	if (!__is_canonical_address(addr, bits) ||
	    !__is_canonical_address(last, bits))
		return false;
	return last < VSYSCALL_ADDR || addr >= VSYSCALL_ADDR + PAGE_SIZE;
}

/*
 * Probe one CALL argument as its record says (dusk_proto.h, struct
 * dusk_probe): 0 if the callee may be given it, else -EFAULT with the
 * offset of the first byte it could not read in *ret_off. Reads one
 * byte per page of a sized object; a string in chunks that never cross
 * a page, so that a fault is at the chunk's first byte.
 */
int dusk_probe_arg(u64 v, const struct dusk_probe *p, u32 *ret_off)
{
	u32 size = le32_to_cpu(p->size), off, step, len;
	bool str = p->kind == DUSK_PROBE_STR;
	char buf[64];

	*ret_off = 0;
	if (p->kind == DUSK_PROBE_NONE)
		return 0;
	if (!v && (p->flags & DUSK_PROBE_F_NULL_OK))
		return 0;
	if (IS_ERR_VALUE(v) && (p->flags & DUSK_PROBE_F_ERR_OK))
		return 0;
	if (v < DUSK_PROBE_LOW_ADDR)
		return -EFAULT;
	if (v < TASK_SIZE_MAX)
		return 0;	/* a __user pointer, or the callee's fault */
	for (off = 0; off < size; off += step) {
		/* To the end of the page at most: a sized object's first
		 * byte there stands for the page; a string is read on. */
		step = min_t(u32, size - off,
			     PAGE_SIZE - ((v + off) & ~PAGE_MASK));
		len = str ? min_t(u32, step, sizeof(buf)) : 1;
		if (str)
			step = len;
		*ret_off = off;
		if (!dusk_kernel_range(v + off, len) ||
		    copy_from_kernel_nofault(buf,
					     (const void *)(unsigned long)(v + off),
					     len))
			return -EFAULT;
		if (str && memchr(buf, '\0', len))
			return 0;
	}
	return 0;
}

int dusk_kwrite(u64 addr, const void *src, size_t len)
{
	if (!len)
		return 0;
	if (!dusk_kernel_range(addr, len))
		return -EFAULT;
	if (dusk_copy_to_kernel_nofault((void *)(unsigned long)addr, src, len))
		return -EFAULT;
	return 0;
}

int dusk_do_read(struct dusk_req *r)
{
	const struct dusk_read *rd = r->payload;
	u64 addr = le64_to_cpu(rd->addr);
	u32 len = le32_to_cpu(rd->len);

	if (!len || len > r->reply_max || rd->pad)
		return -EINVAL;
	if (!dusk_kernel_range(addr, len))
		return -EFAULT;
	if (copy_from_kernel_nofault(r->reply, (void *)(unsigned long)addr, len))
		return -EFAULT;
	r->reply_len = len;
	return 0;
}

int dusk_do_write(struct dusk_req *r)
{
	const struct dusk_write *wr = r->payload;

	if (wr->pad)
		return -EINVAL;
	return dusk_segs_apply(wr + 1, r->len - sizeof(*wr),
			       le32_to_cpu(wr->nr_segs));
}

int dusk_mem_init(void)
{
	dusk_copy_to_kernel_nofault = (void *)dusk_ksym("copy_to_kernel_nofault");
	if (!dusk_copy_to_kernel_nofault) {
		pr_err("dusk: copy_to_kernel_nofault not found\n");
		return -ENOENT;
	}
	return 0;
}
