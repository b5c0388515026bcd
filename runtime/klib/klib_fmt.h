/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * klib_fmt.h - the kernel's format language at user level: vsnprintf()
 * and its family as Linux 6.1 defines them (lib/vsprintf.c), not libc's.
 *
 * Conversions: %d %i %u %x %X %o %c %s %% and %p, with the kernel's
 * flags (- + space # 0), widths and precisions (digits or *; a negative
 * * precision counts as 0, "%.s" has none), and qualifiers hh h l ll L z
 * t. Anything else (%n, %j, %q, a float) is what the kernel calls an
 * unsupported specifier: a WARNING, and the output stops there, exactly
 * as the kernel's does. Kernel differences from libc that show: %.0d of
 * 0 prints "0"; NULL %s prints "(null)", a pointer below 4096 or an
 * ERR_PTR "(efault)".
 *
 * %p extensions formatted here, reading their data through the shadow
 * cache (so a kernel address works as in the kernel, and a bad one stops
 * the program where the .ko would oops):
 *   %pI4 %pi4 (h/n/b/l byte orders) %pI6 %pi6 %pI6c %pIS %piS with
 *   p/f/s/c (sockaddr_in, sockaddr_in6), %pM %pMR %pMF %pm %pmR,
 *   %ph %phC %phD %phN with %*ph lengths (64 at most), %pU[bBlL],
 *   %pa[pd], %pNF, %p4cc, %pb %pbl (width = bits), %pe (errno names:
 *   -ENOENT), %pV, %pks/%pus, %px.
 * %p, %pK and %pS/%ps/%pB of a kernel address are what the kernel itself
 * prints for it: one kernel call of snprintf() with that conversion
 * (cached per session), so hashed pointers are the very values the target
 * shows in its own messages for the same objects (6.1 hashes %p with a
 * boot-time siphash key no one else knows). For the program's own
 * addresses, %p/%pK print a 32-bit keyed hash of the address in the same
 * "00000000xxxxxxxx" shape (stable for the run, random per run) and %pS
 * the function's name from the program's symbols ("fn+0x1c/0x90
 * [prog]"). Without a session, kernel addresses hash locally too and
 * symbols print as 0x addresses, as a kernel without KALLSYMS would.
 * The rarer extensions (%pd %pD %pg %pC %pOF %pfw %pG %pR %pr %pt %pE)
 * are formatted by the kernel's own snprintf() for kernel addresses (data
 * of %pt/%pE in the program's memory is copied there first); for the
 * program's own memory, and without a session, they print as %p.
 */
#ifndef DUSK_KLIB_FMT_H
#define DUSK_KLIB_FMT_H

#include <stdarg.h>
#include <stddef.h>

#include "dusk_module.h"

/* The kernel's struct va_format (include/linux/printk.h), for %pV. */
struct dusk_va_format {
	const char *fmt;
	va_list *va;
};

/* The buffer may be kernel memory (written through the shadow cache: the
 * bytes reach the kernel with the next commit). */
DUSK_EXPORT int __dusk_impl_vsnprintf(char *buf, size_t size, const char *fmt,
				      va_list args);
DUSK_EXPORT int __dusk_impl_snprintf(char *buf, size_t size, const char *fmt,
				     ...) __attribute__((format(printf, 3, 4)));
DUSK_EXPORT int __dusk_impl_vscnprintf(char *buf, size_t size,
				       const char *fmt, va_list args);
DUSK_EXPORT int __dusk_impl_scnprintf(char *buf, size_t size, const char *fmt,
				      ...) __attribute__((format(printf, 3, 4)));
DUSK_EXPORT int __dusk_impl_vsprintf(char *buf, const char *fmt, va_list args);
DUSK_EXPORT int __dusk_impl_sprintf(char *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Kernel memory (kmalloc in the kernel with gfp), as the kernel's: the
 * module kfree()s it. NULL without a session or on failure. */
DUSK_EXPORT char *__dusk_impl_kvasprintf(unsigned int gfp, const char *fmt,
					 va_list args);
DUSK_EXPORT char *__dusk_impl_kasprintf(unsigned int gfp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* errname() of lib/errname.c: "-EINVAL" for -EINVAL, NULL if unknown. */
const char *dusk_errname(int err);

#endif /* DUSK_KLIB_FMT_H */
