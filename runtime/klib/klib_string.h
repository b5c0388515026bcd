/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * klib_string.h - the kernel's string and number library at user level
 * (Linux 6.1: lib/string.c, lib/kstrtox.c, lib/vsprintf.c's simple_strto*
 * and vsscanf, lib/hexdump.c's hex helpers, lib/ctype.c, lib/sort.c,
 * lib/bsearch.c, net/core/utils.c's in4_pton/in6_pton, mm/util.c's
 * kstrdup family).
 *
 * Every pointer argument may be kernel memory: strings are read through
 * __dusk_check_str()/__dusk_check_strn() (the mirror, fetched page by
 * page up to the NUL), ranges through __dusk_check()/__dusk_check_w(),
 * exactly the bytes the kernel's function reads or writes. Results keep
 * the kernel's conventions: strcmp() and strncmp() return -1/0/1,
 * memcmp() and strcasecmp() differences, strscpy() -E2BIG, kstrto*()
 * -EINVAL/-ERANGE and leave *res alone on error, the kernel's Latin-1
 * ctype (isspace(0xa0) is true), strreplace() returns the end.
 * kstrdup() and friends return kernel memory (kmalloc in the kernel), as
 * the kernel's do: the module kfree()s it.
 */
#ifndef DUSK_KLIB_STRING_H
#define DUSK_KLIB_STRING_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dusk_module.h"

/* ---- the kernel's ctype (lib/ctype.c) ---------------------------------------- */

#define DUSK_K_U	0x01	/* upper */
#define DUSK_K_L	0x02	/* lower */
#define DUSK_K_D	0x04	/* digit */
#define DUSK_K_C	0x08	/* cntrl */
#define DUSK_K_P	0x10	/* punct */
#define DUSK_K_S	0x20	/* white space (space/lf/tab) */
#define DUSK_K_X	0x40	/* hex digit */
#define DUSK_K_SP	0x80	/* hard space (0x20) */

/* The module's own isdigit() and friends read this table (the kernel's
 * _ctype, provided here so that they need no kernel memory). */
DUSK_EXPORT extern const unsigned char __dusk_impl__ctype[256];
DUSK_EXPORT extern const char __dusk_impl_hex_asc[];
DUSK_EXPORT extern const char __dusk_impl_hex_asc_upper[];

static inline int dusk_kctype(int c)
{
	return __dusk_impl__ctype[(unsigned char)c];
}
static inline int dusk_kisdigit(int c) { return dusk_kctype(c) & DUSK_K_D; }
static inline int dusk_kisxdigit(int c)
{
	return dusk_kctype(c) & (DUSK_K_D | DUSK_K_X);
}
static inline int dusk_kisalpha(int c)
{
	return dusk_kctype(c) & (DUSK_K_U | DUSK_K_L);
}
static inline int dusk_kisalnum(int c)
{
	return dusk_kctype(c) & (DUSK_K_U | DUSK_K_L | DUSK_K_D);
}
static inline int dusk_kisspace(int c) { return dusk_kctype(c) & DUSK_K_S; }
static inline int dusk_kisupper(int c) { return dusk_kctype(c) & DUSK_K_U; }
static inline int dusk_kisprint(int c)
{
	return dusk_kctype(c) & (DUSK_K_P | DUSK_K_U | DUSK_K_L | DUSK_K_D |
				 DUSK_K_SP);
}
static inline int dusk_kisascii(int c) { return (unsigned char)c <= 0x7f; }
static inline int dusk_ktolower(int c)
{
	return dusk_kisupper(c) ? (unsigned char)c - 'A' + 'a' :
				  (unsigned char)c;
}

/* ---- strings --------------------------------------------------------------- */

DUSK_EXPORT size_t __dusk_impl_strlen(const char *s);
DUSK_EXPORT size_t __dusk_impl_strnlen(const char *s, size_t count);
DUSK_EXPORT int __dusk_impl_strcmp(const char *cs, const char *ct);
DUSK_EXPORT int __dusk_impl_strncmp(const char *cs, const char *ct,
				    size_t count);
DUSK_EXPORT int __dusk_impl_strcasecmp(const char *s1, const char *s2);
DUSK_EXPORT int __dusk_impl_strncasecmp(const char *s1, const char *s2,
					size_t len);
DUSK_EXPORT char *__dusk_impl_strchr(const char *s, int c);
DUSK_EXPORT char *__dusk_impl_strchrnul(const char *s, int c);
DUSK_EXPORT char *__dusk_impl_strrchr(const char *s, int c);
DUSK_EXPORT char *__dusk_impl_strnchr(const char *s, size_t count, int c);
DUSK_EXPORT char *__dusk_impl_strnchrnul(const char *s, size_t count, int c);
DUSK_EXPORT char *__dusk_impl_strstr(const char *s1, const char *s2);
DUSK_EXPORT char *__dusk_impl_strnstr(const char *s1, const char *s2,
				      size_t len);
DUSK_EXPORT char *__dusk_impl_strpbrk(const char *cs, const char *ct);
DUSK_EXPORT size_t __dusk_impl_strspn(const char *s, const char *accept);
DUSK_EXPORT size_t __dusk_impl_strcspn(const char *s, const char *reject);
DUSK_EXPORT char *__dusk_impl_strsep(char **s, const char *ct);
DUSK_EXPORT char *__dusk_impl_strim(char *s);
DUSK_EXPORT char *__dusk_impl_skip_spaces(const char *str);
DUSK_EXPORT char *__dusk_impl_strcpy(char *dest, const char *src);
DUSK_EXPORT char *__dusk_impl_strncpy(char *dest, const char *src,
				      size_t count);
DUSK_EXPORT char *__dusk_impl_stpcpy(char *dest, const char *src);
DUSK_EXPORT char *__dusk_impl_strcat(char *dest, const char *src);
DUSK_EXPORT char *__dusk_impl_strncat(char *dest, const char *src,
				      size_t count);
DUSK_EXPORT ssize_t __dusk_impl_strscpy(char *dest, const char *src,
					size_t count);
DUSK_EXPORT ssize_t __dusk_impl_strscpy_pad(char *dest, const char *src,
					    size_t count);
DUSK_EXPORT size_t __dusk_impl_strlcpy(char *dest, const char *src,
				       size_t size);
DUSK_EXPORT size_t __dusk_impl_strlcat(char *dest, const char *src,
				       size_t count);
DUSK_EXPORT char *__dusk_impl_strreplace(char *s, char old, char new_);
DUSK_EXPORT bool __dusk_impl_sysfs_streq(const char *s1, const char *s2);
DUSK_EXPORT int __dusk_impl_match_string(const char *const *array, size_t n,
					 const char *string);
DUSK_EXPORT int __dusk_impl___sysfs_match_string(const char *const *array,
						 size_t n, const char *s);

DUSK_EXPORT void *__dusk_impl_memcpy(void *dest, const void *src, size_t count);
DUSK_EXPORT void *__dusk_impl_memmove(void *dest, const void *src,
				      size_t count);
DUSK_EXPORT void *__dusk_impl_memset(void *s, int c, size_t count);
DUSK_EXPORT void *__dusk_impl_mempcpy(void *dest, const void *src,
				      size_t count);
DUSK_EXPORT void *__dusk_impl_memset16(uint16_t *s, uint16_t v, size_t n);
DUSK_EXPORT void *__dusk_impl_memset32(uint32_t *s, uint32_t v, size_t n);
DUSK_EXPORT void *__dusk_impl_memset64(uint64_t *s, uint64_t v, size_t n);
DUSK_EXPORT void __dusk_impl_memcpy_and_pad(void *dest, size_t dest_len,
					    const void *src, size_t count,
					    int pad);
DUSK_EXPORT int __dusk_impl_memcmp(const void *cs, const void *ct,
				   size_t count);
DUSK_EXPORT int __dusk_impl_bcmp(const void *a, const void *b, size_t len);
DUSK_EXPORT void *__dusk_impl_memchr(const void *s, int c, size_t n);
DUSK_EXPORT void *__dusk_impl_memchr_inv(const void *start, int c,
					 size_t bytes);
DUSK_EXPORT void *__dusk_impl_memscan(void *addr, int c, size_t size);

/* Kernel memory (the module kfree()s it); NULL without a session. */
DUSK_EXPORT char *__dusk_impl_kstrdup(const char *s, unsigned int gfp);
DUSK_EXPORT char *__dusk_impl_kstrndup(const char *s, size_t max,
				       unsigned int gfp);
DUSK_EXPORT void *__dusk_impl_kmemdup(const void *src, size_t len,
				      unsigned int gfp);
DUSK_EXPORT char *__dusk_impl_kmemdup_nul(const char *s, size_t len,
					  unsigned int gfp);

/* ---- numbers ----------------------------------------------------------------- */

DUSK_EXPORT int __dusk_impl_kstrtoull(const char *s, unsigned int base,
				      unsigned long long *res);
DUSK_EXPORT int __dusk_impl_kstrtoll(const char *s, unsigned int base,
				     long long *res);
DUSK_EXPORT int __dusk_impl__kstrtoul(const char *s, unsigned int base,
				      unsigned long *res);
DUSK_EXPORT int __dusk_impl__kstrtol(const char *s, unsigned int base,
				     long *res);
DUSK_EXPORT int __dusk_impl_kstrtoul(const char *s, unsigned int base,
				     unsigned long *res);
DUSK_EXPORT int __dusk_impl_kstrtol(const char *s, unsigned int base,
				    long *res);
DUSK_EXPORT int __dusk_impl_kstrtouint(const char *s, unsigned int base,
				       unsigned int *res);
DUSK_EXPORT int __dusk_impl_kstrtoint(const char *s, unsigned int base,
				      int *res);
DUSK_EXPORT int __dusk_impl_kstrtou16(const char *s, unsigned int base,
				      uint16_t *res);
DUSK_EXPORT int __dusk_impl_kstrtos16(const char *s, unsigned int base,
				      int16_t *res);
DUSK_EXPORT int __dusk_impl_kstrtou8(const char *s, unsigned int base,
				     uint8_t *res);
DUSK_EXPORT int __dusk_impl_kstrtos8(const char *s, unsigned int base,
				     int8_t *res);
DUSK_EXPORT int __dusk_impl_kstrtobool(const char *s, bool *res);
DUSK_EXPORT unsigned long long __dusk_impl_simple_strtoull(const char *cp,
							   char **endp,
							   unsigned int base);
DUSK_EXPORT unsigned long __dusk_impl_simple_strtoul(const char *cp,
						     char **endp,
						     unsigned int base);
DUSK_EXPORT long __dusk_impl_simple_strtol(const char *cp, char **endp,
					   unsigned int base);
DUSK_EXPORT long long __dusk_impl_simple_strtoll(const char *cp, char **endp,
						 unsigned int base);
DUSK_EXPORT int __dusk_impl_vsscanf(const char *buf, const char *fmt,
				    va_list args);
DUSK_EXPORT int __dusk_impl_sscanf(const char *buf, const char *fmt, ...)
	__attribute__((format(scanf, 2, 3)));

DUSK_EXPORT int __dusk_impl_hex_to_bin(unsigned char ch);
DUSK_EXPORT int __dusk_impl_hex2bin(uint8_t *dst, const char *src,
				    size_t count);
DUSK_EXPORT char *__dusk_impl_bin2hex(char *dst, const void *src,
				      size_t count);
DUSK_EXPORT int __dusk_impl_in4_pton(const char *src, int srclen,
				     uint8_t *dst, int delim,
				     const char **end);
DUSK_EXPORT int __dusk_impl_in6_pton(const char *src, int srclen,
				     uint8_t *dst, int delim,
				     const char **end);

/* ---- sort and search ------------------------------------------------------------ */

typedef int (*dusk_cmp_func_t)(const void *a, const void *b);
typedef int (*dusk_cmp_r_func_t)(const void *a, const void *b,
				 const void *priv);
typedef void (*dusk_swap_func_t)(void *a, void *b, int size);

/* 6.1's heapsort (bottom-up sift, the same comparisons in the same order):
 * not stable, as the kernel's. cmp and swap get the elements' addresses
 * in base's address space. */
DUSK_EXPORT void __dusk_impl_sort_r(void *base, size_t num, size_t size,
				    dusk_cmp_r_func_t cmp,
				    dusk_swap_func_t swap, const void *priv);
DUSK_EXPORT void __dusk_impl_sort(void *base, size_t num, size_t size,
				  dusk_cmp_func_t cmp, dusk_swap_func_t swap);
DUSK_EXPORT void *__dusk_impl_bsearch(const void *key, const void *base,
				      size_t num, size_t size,
				      dusk_cmp_func_t cmp);

/* ---- internal ---------------------------------------------------------------------- */

/* lib/kstrtox.c's _parse_integer_limit(): digits of base at s (at most
 * max_chars), their value in *res; the count of characters, with
 * DUSK_KSTRTOX_OVERFLOW set on overflow. */
#define DUSK_KSTRTOX_OVERFLOW	(1U << 31)
unsigned int dusk_parse_integer_limit(const char *s, unsigned int base,
				      unsigned long long *res,
				      size_t max_chars);
const char *dusk_parse_integer_fixup_radix(const char *s, unsigned int *base);

#endif /* DUSK_KLIB_STRING_H */
