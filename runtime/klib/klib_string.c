// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The kernel's string and number library at user level (klib_string.h),
 * and __dusk_check_str()/__dusk_check_strn() (dusk_module.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "klib.h"
#include "klib_string.h"
#include "log.h"
#include "util.h"

/* ---- the kernel's ctype ------------------------------------------------------ */

#define U_ DUSK_K_U
#define L_ DUSK_K_L
#define D_ DUSK_K_D
#define C_ DUSK_K_C
#define P_ DUSK_K_P
#define S_ DUSK_K_S
#define X_ DUSK_K_X
#define SP_ DUSK_K_SP

/* 6.1 lib/ctype.c: ASCII, and Latin-1 letters and punctuation (0xa0 is
 * a space, 0xd7 and 0xf7 are punctuation). */
DUSK_EXPORT const unsigned char __dusk_impl__ctype[256] = {
	C_, C_, C_, C_, C_, C_, C_, C_,				/* 0-7 */
	C_, C_ | S_, C_ | S_, C_ | S_, C_ | S_, C_ | S_, C_, C_,	/* 8-15 */
	C_, C_, C_, C_, C_, C_, C_, C_,				/* 16-23 */
	C_, C_, C_, C_, C_, C_, C_, C_,				/* 24-31 */
	S_ | SP_, P_, P_, P_, P_, P_, P_, P_,			/* 32-39 */
	P_, P_, P_, P_, P_, P_, P_, P_,				/* 40-47 */
	D_, D_, D_, D_, D_, D_, D_, D_,				/* 48-55 */
	D_, D_, P_, P_, P_, P_, P_, P_,				/* 56-63 */
	P_, U_ | X_, U_ | X_, U_ | X_, U_ | X_, U_ | X_, U_ | X_, U_,	/* 64-71 */
	U_, U_, U_, U_, U_, U_, U_, U_,				/* 72-79 */
	U_, U_, U_, U_, U_, U_, U_, U_,				/* 80-87 */
	U_, U_, U_, P_, P_, P_, P_, P_,				/* 88-95 */
	P_, L_ | X_, L_ | X_, L_ | X_, L_ | X_, L_ | X_, L_ | X_, L_,	/* 96-103 */
	L_, L_, L_, L_, L_, L_, L_, L_,				/* 104-111 */
	L_, L_, L_, L_, L_, L_, L_, L_,				/* 112-119 */
	L_, L_, L_, P_, P_, P_, P_, C_,				/* 120-127 */
	[160] = S_ | SP_,
	[161 ... 191] = P_,
	[192 ... 214] = U_,
	[215] = P_,
	[216 ... 222] = U_,
	[223 ... 246] = L_,
	[247] = P_,
	[248 ... 255] = L_,
};

DUSK_EXPORT const char __dusk_impl_hex_asc[] = "0123456789abcdef";
DUSK_EXPORT const char __dusk_impl_hex_asc_upper[] = "0123456789ABCDEF";

/* ---- strings in kernel memory ---------------------------------------------------- */

/* The mirror of the string at s (at most n bytes if bounded), fetched a
 * page at a time until its NUL, so that only pages the string is in are
 * read. */
static void *check_strn(const void *s, size_t n, int bounded)
{
	uint64_t k = (uintptr_t)s;
	size_t len = 0, chunk;
	const char *m;

	if (k < DUSK_KERNEL_MIN) {
		k = dusk_kaddr(s);
		if (!k)
			return (void *)s;	/* the program's own memory */
	}
	if (bounded && !n)
		return (void *)s;		/* nothing will be read */
	for (;;) {
		chunk = DUSK_PAGE_SIZE - ((k + len) & (DUSK_PAGE_SIZE - 1));
		if (bounded && chunk > n - len)
			chunk = n - len;
		/* The whole string so far: its pages stay contiguous. On a
		 * bad address this logs and hands back the kernel address,
		 * where the caller's access then faults (dusk.h). */
		m = __dusk_check((const void *)(uintptr_t)k, len + chunk);
		if ((uintptr_t)m >= DUSK_KERNEL_MIN)
			return (void *)m;
		if (memchr(m + len, 0, chunk))
			return (void *)m;
		len += chunk;
		if (bounded && len >= n)
			return (void *)m;
	}
}

DUSK_EXPORT void *__dusk_check_str(const void *s)
{
	return check_strn(s, 0, 0);
}

DUSK_EXPORT void *__dusk_check_strn(const void *s, size_t n)
{
	return check_strn(s, n, 1);
}

#define STR(s)		((const char *)__dusk_check_str(s))
#define STRN(s, n)	((const char *)__dusk_check_strn((s), (n)))
#define RD(p, n)	((const void *)__dusk_check((p), (n)))
#define WR(p, n)	((void *)__dusk_check_w((p), (n)))

/* Write n bytes at dest (any memory). */
static void put(void *dest, const void *src, size_t n)
{
	if (n)
		memcpy(WR(dest, n), src, n);
}

/* ---- strings ------------------------------------------------------------------------ */

DUSK_EXPORT size_t __dusk_impl_strlen(const char *s)
{
	return strlen(STR(s));
}

DUSK_EXPORT size_t __dusk_impl_strnlen(const char *s, size_t count)
{
	return count ? strnlen(STRN(s, count), count) : 0;
}

/* lib/string.c: -1, 0 or 1. */
DUSK_EXPORT int __dusk_impl_strcmp(const char *cs, const char *ct)
{
	int r = strcmp(STR(cs), STR(ct));

	return r < 0 ? -1 : r > 0;
}

DUSK_EXPORT int __dusk_impl_strncmp(const char *cs, const char *ct,
				    size_t count)
{
	int r;

	if (!count)
		return 0;
	r = strncmp(STRN(cs, count), STRN(ct, count), count);
	return r < 0 ? -1 : r > 0;
}

/* The difference of the first differing characters, lowered by the
 * kernel's tolower() (Latin-1 aware). */
DUSK_EXPORT int __dusk_impl_strcasecmp(const char *s1, const char *s2)
{
	const unsigned char *a = (const unsigned char *)STR(s1);
	const unsigned char *b = (const unsigned char *)STR(s2);
	int c1, c2;

	do {
		c1 = dusk_ktolower(*a++);
		c2 = dusk_ktolower(*b++);
	} while (c1 == c2 && c1 != 0);
	return c1 - c2;
}

DUSK_EXPORT int __dusk_impl_strncasecmp(const char *s1, const char *s2,
					size_t len)
{
	const unsigned char *a, *b;
	unsigned char c1, c2;

	if (!len)
		return 0;
	a = (const unsigned char *)STRN(s1, len);
	b = (const unsigned char *)STRN(s2, len);
	do {
		c1 = *a++;
		c2 = *b++;
		if (!c1 || !c2)
			break;
		if (c1 == c2)
			continue;
		c1 = (unsigned char)dusk_ktolower(c1);
		c2 = (unsigned char)dusk_ktolower(c2);
		if (c1 != c2)
			break;
	} while (--len);
	return (int)c1 - (int)c2;
}

DUSK_EXPORT char *__dusk_impl_strchr(const char *s, int c)
{
	const char *m = STR(s), *r = strchr(m, (char)c);

	return r ? dusk_klib_rebase(s, m, r) : NULL;
}

DUSK_EXPORT char *__dusk_impl_strchrnul(const char *s, int c)
{
	const char *m = STR(s);

	return dusk_klib_rebase(s, m, strchrnul(m, (char)c));
}

DUSK_EXPORT char *__dusk_impl_strrchr(const char *s, int c)
{
	const char *m = STR(s), *r = strrchr(m, (char)c);

	return r ? dusk_klib_rebase(s, m, r) : NULL;
}

DUSK_EXPORT char *__dusk_impl_strnchrnul(const char *s, size_t count, int c)
{
	const char *m;
	size_t i;

	if (!count)
		return (char *)s;
	m = STRN(s, count);
	for (i = 0; i < count && m[i] && m[i] != (char)c; i++)
		;
	return dusk_klib_rebase(s, m, m + i);
}

DUSK_EXPORT char *__dusk_impl_strnchr(const char *s, size_t count, int c)
{
	const char *m;
	size_t i;

	if (!count)
		return NULL;
	m = STRN(s, count);
	for (i = 0; i < count; i++) {
		if (m[i] == (char)c)
			return dusk_klib_rebase(s, m, m + i);
		if (!m[i])
			break;
	}
	return NULL;
}

DUSK_EXPORT char *__dusk_impl_strstr(const char *s1, const char *s2)
{
	const char *m = STR(s1), *r = strstr(m, STR(s2));

	return r ? dusk_klib_rebase(s1, m, r) : NULL;
}

DUSK_EXPORT char *__dusk_impl_strnstr(const char *s1, const char *s2,
				      size_t len)
{
	const char *n = STR(s2), *m, *p;
	size_t l2 = strlen(n), l1;

	if (!l2)
		return (char *)s1;
	if (len < l2)
		return NULL;
	m = STRN(s1, len);
	/* The kernel compares at every position below len; beyond the
	 * string's NUL nothing can match. */
	l1 = strnlen(m, len);
	for (p = m; l1 >= l2; l1--, p++)
		if (!memcmp(p, n, l2))
			return dusk_klib_rebase(s1, m, p);
	return NULL;
}

DUSK_EXPORT char *__dusk_impl_strpbrk(const char *cs, const char *ct)
{
	const char *m = STR(cs), *r = strpbrk(m, STR(ct));

	return r ? dusk_klib_rebase(cs, m, r) : NULL;
}

DUSK_EXPORT size_t __dusk_impl_strspn(const char *s, const char *accept)
{
	return strspn(STR(s), STR(accept));
}

DUSK_EXPORT size_t __dusk_impl_strcspn(const char *s, const char *reject)
{
	return strcspn(STR(s), STR(reject));
}

DUSK_EXPORT char *__dusk_impl_strsep(char **s, const char *ct)
{
	char **sp = WR(s, sizeof(*s));
	char *sbegin = *sp, *end;

	if (!sbegin)
		return NULL;
	end = __dusk_impl_strpbrk(sbegin, ct);
	if (end) {
		put(end, "", 1);
		end++;
	}
	/* s may be kernel memory (the mirror is still valid: no kernel call
	 * happened since); end is in the same space *s was. */
	*(char **)WR(s, sizeof(*s)) = end;
	return sbegin;
}

DUSK_EXPORT char *__dusk_impl_skip_spaces(const char *str)
{
	const char *m = STR(str), *p = m;

	while (dusk_kisspace(*p))
		p++;
	return dusk_klib_rebase(str, m, p);
}

DUSK_EXPORT char *__dusk_impl_strim(char *s)
{
	const char *m = STR(s);
	size_t size = strlen(m), end;

	if (!size)
		return s;
	end = size;
	while (end > 0 && dusk_kisspace(m[end - 1]))
		end--;
	if (end < size)
		put(s + end, "", 1);
	return __dusk_impl_skip_spaces(s);
}

/*
 * The copies and concatenations of lib/string.c. GCC lowers its builtins
 * to these names after dusk's pass has run (and the kernel's out-of-line
 * ones have the same names): each writes exactly the bytes the kernel's
 * writes, through __dusk_check_w(), so that commit sends them. The source
 * is read in full before the destination is written (they may overlap
 * where the kernel's byte loops would not care).
 */
DUSK_EXPORT char *__dusk_impl_strcpy(char *dest, const char *src)
{
	const char *m = STR(src);

	memmove(WR(dest, strlen(m) + 1), m, strlen(m) + 1);
	return dest;
}

/* lib/string.c: exactly count bytes, NUL-padded after a short src. */
DUSK_EXPORT char *__dusk_impl_strncpy(char *dest, const char *src,
				      size_t count)
{
	const char *m;
	size_t len;
	char *d;

	if (!count)
		return dest;
	m = STRN(src, count);
	len = strnlen(m, count);
	d = WR(dest, count);
	memmove(d, m, len);
	memset(d + len, 0, count - len);
	return dest;
}

/* The end of the copy: the NUL it wrote. */
DUSK_EXPORT char *__dusk_impl_stpcpy(char *dest, const char *src)
{
	const char *m = STR(src);
	size_t len = strlen(m);

	memmove(WR(dest, len + 1), m, len + 1);
	return dest + len;
}

DUSK_EXPORT char *__dusk_impl_strcat(char *dest, const char *src)
{
	size_t dlen = strlen(STR(dest));

	__dusk_impl_strcpy(dest + dlen, src);
	return dest;
}

/* At most count bytes of src, then a NUL. */
DUSK_EXPORT char *__dusk_impl_strncat(char *dest, const char *src,
				      size_t count)
{
	size_t dlen, len;
	const char *m;
	char *d;

	if (!count)
		return dest;
	dlen = strlen(STR(dest));
	m = STRN(src, count);
	len = strnlen(m, count);
	d = WR(dest + dlen, len + 1);
	memmove(d, m, len);
	d[len] = '\0';
	return dest;
}

DUSK_EXPORT ssize_t __dusk_impl_strscpy(char *dest, const char *src,
					size_t count)
{
	const char *m;
	size_t len;

	if (!count || count > INT_MAX) {
		if (count)
			dusk_klib_warn_once("strscpy: count %zu > INT_MAX", count);
		return -E2BIG;
	}
	m = STRN(src, count);
	len = strnlen(m, count);
	if (len == count) {
		char *d = WR(dest, count);

		memmove(d, m, count - 1);
		d[count - 1] = '\0';
		return -E2BIG;
	}
	memmove(WR(dest, len + 1), m, len + 1);
	return (ssize_t)len;
}

DUSK_EXPORT ssize_t __dusk_impl_strscpy_pad(char *dest, const char *src,
					    size_t count)
{
	ssize_t written = __dusk_impl_strscpy(dest, src, count);

	if (written < 0 || (size_t)written == count - 1)
		return written;
	memset(WR(dest + written + 1, count - (size_t)written - 1), 0,
	       count - (size_t)written - 1);
	return written;
}

DUSK_EXPORT size_t __dusk_impl_strlcpy(char *dest, const char *src,
				       size_t size)
{
	const char *m = STR(src);
	size_t ret = strlen(m), len;
	char *d;

	if (size) {
		len = ret >= size ? size - 1 : ret;
		d = WR(dest, len + 1);
		memmove(d, m, len);
		d[len] = '\0';
	}
	return ret;
}

DUSK_EXPORT size_t __dusk_impl_strlcat(char *dest, const char *src,
				       size_t count)
{
	size_t dsize = strlen(STR(dest)), len = strlen(STR(src));
	size_t res = dsize + len;
	char *d;

	if (dsize >= count)
		dusk_klib_bug(NULL, "strlcat: destination (%zu bytes) not terminated within %zu",
			      dsize, count);
	count -= dsize;
	if (len >= count)
		len = count - 1;
	d = WR(dest + dsize, len + 1);
	memmove(d, STR(src), len);
	d[len] = '\0';
	return res;
}

DUSK_EXPORT char *__dusk_impl_strreplace(char *s, char old, char new_)
{
	size_t len = strlen(STR(s)), i;
	char *m;

	if (!len)
		return s;
	m = WR(s, len);
	for (i = 0; i < len; i++)
		if (m[i] == old)
			m[i] = new_;
	return s + len;
}

DUSK_EXPORT bool __dusk_impl_sysfs_streq(const char *s1, const char *s2)
{
	const char *a = STR(s1), *b = STR(s2);

	while (*a && *a == *b) {
		a++;
		b++;
	}
	if (*a == *b)
		return true;
	if (!*a && *b == '\n' && !b[1])
		return true;
	if (*a == '\n' && !a[1] && !*b)
		return true;
	return false;
}

static int match_string_with(const char *const *array, size_t n,
			     const char *string,
			     bool (*eq)(const char *, const char *))
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *item = *(const char *const *)RD(&array[i],
							    sizeof(array[i]));

		if (!item)
			break;
		if (eq(item, string))
			return (int)i;
	}
	return -EINVAL;
}

static bool streq(const char *a, const char *b)
{
	return !__dusk_impl_strcmp(a, b);
}

DUSK_EXPORT int __dusk_impl_match_string(const char *const *array, size_t n,
					 const char *string)
{
	return match_string_with(array, n, string, streq);
}

DUSK_EXPORT int __dusk_impl___sysfs_match_string(const char *const *array,
						 size_t n, const char *s)
{
	return match_string_with(array, n, s, __dusk_impl_sysfs_streq);
}

/* ---- memory ---------------------------------------------------------------------------- */

DUSK_EXPORT void *__dusk_impl_memcpy(void *dest, const void *src, size_t count)
{
	if (count)
		memcpy(WR(dest, count), RD(src, count), count);
	return dest;
}

DUSK_EXPORT void *__dusk_impl_memmove(void *dest, const void *src,
				      size_t count)
{
	if (count)
		memmove(WR(dest, count), RD(src, count), count);
	return dest;
}

DUSK_EXPORT void *__dusk_impl_memset(void *s, int c, size_t count)
{
	if (count)
		memset(WR(s, count), c, count);
	return s;
}

/* GCC's lowering of __builtin_mempcpy (the kernel has none). */
DUSK_EXPORT void *__dusk_impl_mempcpy(void *dest, const void *src,
				      size_t count)
{
	__dusk_impl_memcpy(dest, src, count);
	return (char *)dest + count;
}

/* asm/string_64.h: "rep stos" inline asm, which writes through a register
 * no access check sees; the plugin sends calls here (dusk_asm_helpers). */
#define DUSK_MEMSET_N(bits)							\
DUSK_EXPORT void *__dusk_impl_memset##bits(uint##bits##_t *s, uint##bits##_t v,	\
					   size_t n)				\
{										\
	uint##bits##_t *m;							\
	size_t i;								\
										\
	if (!n)									\
		return s;							\
	m = WR(s, n * sizeof(*s));						\
	for (i = 0; i < n; i++)							\
		memcpy(m + i, &v, sizeof(v));					\
	return s;								\
}
DUSK_MEMSET_N(16)
DUSK_MEMSET_N(32)
DUSK_MEMSET_N(64)

/* lib/string_helpers.c: count bytes of src, then pad up to dest_len. */
DUSK_EXPORT void __dusk_impl_memcpy_and_pad(void *dest, size_t dest_len,
					    const void *src, size_t count,
					    int pad)
{
	char *d;

	if (!dest_len)
		return;
	if (count > dest_len)
		count = dest_len;
	d = WR(dest, dest_len);
	if (count)
		memmove(d, RD(src, count), count);
	memset(d + count, pad, dest_len - count);
}

/* lib/string.c: the difference of the first differing bytes. */
DUSK_EXPORT int __dusk_impl_memcmp(const void *cs, const void *ct,
				   size_t count)
{
	const unsigned char *a, *b;
	size_t i;

	if (!count)
		return 0;
	a = RD(cs, count);
	b = RD(ct, count);
	for (i = 0; i < count; i++)
		if (a[i] != b[i])
			return (int)a[i] - (int)b[i];
	return 0;
}

DUSK_EXPORT int __dusk_impl_bcmp(const void *a, const void *b, size_t len)
{
	return __dusk_impl_memcmp(a, b, len);
}

DUSK_EXPORT void *__dusk_impl_memchr(const void *s, int c, size_t n)
{
	const void *m, *r;

	if (!n)
		return NULL;
	m = RD(s, n);
	r = memchr(m, c, n);
	return r ? dusk_klib_rebase(s, m, r) : NULL;
}

DUSK_EXPORT void *__dusk_impl_memchr_inv(const void *start, int c,
					 size_t bytes)
{
	const unsigned char *m;
	size_t i;

	if (!bytes)
		return NULL;
	m = RD(start, bytes);
	for (i = 0; i < bytes; i++)
		if (m[i] != (unsigned char)c)
			return dusk_klib_rebase(start, m, m + i);
	return NULL;
}

DUSK_EXPORT void *__dusk_impl_memscan(void *addr, int c, size_t size)
{
	const unsigned char *m;
	size_t i;

	if (!size)
		return addr;
	m = RD(addr, size);
	for (i = 0; i < size && m[i] != (unsigned char)c; i++)
		;
	return (char *)addr + i;
}

/* ---- kernel copies ---------------------------------------------------------------------------- */

static void *kdup(const void *m, size_t len, int nul, unsigned int gfp)
{
	char *tmp = malloc(len + 1);
	uint64_t k;

	if (!tmp)
		return NULL;
	memcpy(tmp, m, len);
	tmp[len] = '\0';
	k = dusk_klib_kdup(tmp, len + !!nul, gfp);
	free(tmp);
	return (void *)(uintptr_t)k;
}

DUSK_EXPORT char *__dusk_impl_kstrdup(const char *s, unsigned int gfp)
{
	const char *m;

	if (!s)
		return NULL;
	m = STR(s);
	return kdup(m, strlen(m), 1, gfp);
}

DUSK_EXPORT char *__dusk_impl_kstrndup(const char *s, size_t max,
				       unsigned int gfp)
{
	const char *m;

	if (!s)
		return NULL;
	m = max ? STRN(s, max) : "";
	return kdup(m, strnlen(m, max), 1, gfp);
}

DUSK_EXPORT void *__dusk_impl_kmemdup(const void *src, size_t len,
				      unsigned int gfp)
{
	return kdup(len ? RD(src, len) : "", len, 0, gfp);
}

DUSK_EXPORT char *__dusk_impl_kmemdup_nul(const char *s, size_t len,
					  unsigned int gfp)
{
	if (!s)
		return NULL;
	return kdup(len ? RD(s, len) : "", len, 1, gfp);
}

/* ---- numbers ------------------------------------------------------------------------------------ */

const char *dusk_parse_integer_fixup_radix(const char *s, unsigned int *base)
{
	if (*base == 0) {
		if (s[0] == '0') {
			if (dusk_ktolower(s[1]) == 'x' && dusk_kisxdigit(s[2]))
				*base = 16;
			else
				*base = 8;
		} else {
			*base = 10;
		}
	}
	if (*base == 16 && s[0] == '0' && dusk_ktolower(s[1]) == 'x')
		s += 2;
	return s;
}

unsigned int dusk_parse_integer_limit(const char *s, unsigned int base,
				      unsigned long long *res,
				      size_t max_chars)
{
	unsigned long long r = 0;
	unsigned int rv = 0;

	while (max_chars--) {
		unsigned int c = (unsigned char)*s, lc = c | 0x20, val;

		if (c >= '0' && c <= '9')
			val = c - '0';
		else if (lc >= 'a' && lc <= 'f')
			val = lc - 'a' + 10;
		else
			break;
		if (val >= base)
			break;
		/* Overflow is only possible from 2^60 on. */
		if (r & (~0ULL << 60)) {
			if (r > (ULLONG_MAX - val) / base)
				rv |= DUSK_KSTRTOX_OVERFLOW;
		}
		r = r * base + val;
		rv++;
		s++;
	}
	*res = r;
	return rv;
}

static int kstrtoull_local(const char *s, unsigned int base,
			   unsigned long long *res)
{
	unsigned long long r;
	unsigned int rv;

	s = dusk_parse_integer_fixup_radix(s, &base);
	rv = dusk_parse_integer_limit(s, base, &r, INT_MAX);
	if (rv & DUSK_KSTRTOX_OVERFLOW)
		return -ERANGE;
	if (rv == 0)
		return -EINVAL;
	s += rv;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*res = r;
	return 0;
}

static int kstrtoull_str(const char *s, unsigned int base,
			 unsigned long long *res)
{
	if (s[0] == '+')
		s++;
	return kstrtoull_local(s, base, res);
}

static int kstrtoll_str(const char *s, unsigned int base, long long *res)
{
	unsigned long long tmp;
	int rv;

	if (s[0] == '-') {
		rv = kstrtoull_local(s + 1, base, &tmp);
		if (rv < 0)
			return rv;
		if ((long long)-tmp > 0)
			return -ERANGE;
		*res = (long long)-tmp;
	} else {
		rv = kstrtoull_str(s, base, &tmp);
		if (rv < 0)
			return rv;
		if ((long long)tmp < 0)
			return -ERANGE;
		*res = (long long)tmp;
	}
	return 0;
}

/* The unsigned parsers: parse, check the range, store only on success. */
#define KSTRTOU(name, type, max)					\
DUSK_EXPORT int __dusk_impl_##name(const char *s, unsigned int base,	\
				   type *res)				\
{									\
	unsigned long long tmp;						\
	type v;								\
	int rv = kstrtoull_str(STR(s), base, &tmp);			\
									\
	if (rv < 0)							\
		return rv;						\
	if (tmp > (max))						\
		return -ERANGE;						\
	v = (type)tmp;							\
	put(res, &v, sizeof(v));					\
	return 0;							\
}

#define KSTRTOS(name, type, min, max)					\
DUSK_EXPORT int __dusk_impl_##name(const char *s, unsigned int base,	\
				   type *res)				\
{									\
	long long tmp;							\
	type v;								\
	int rv = kstrtoll_str(STR(s), base, &tmp);			\
									\
	if (rv < 0)							\
		return rv;						\
	if (tmp < (min) || tmp > (max))					\
		return -ERANGE;						\
	v = (type)tmp;							\
	put(res, &v, sizeof(v));					\
	return 0;							\
}

KSTRTOU(kstrtoull, unsigned long long, ULLONG_MAX)
KSTRTOS(kstrtoll, long long, LLONG_MIN, LLONG_MAX)
KSTRTOU(_kstrtoul, unsigned long, ULONG_MAX)
KSTRTOS(_kstrtol, long, LONG_MIN, LONG_MAX)
KSTRTOU(kstrtoul, unsigned long, ULONG_MAX)
KSTRTOS(kstrtol, long, LONG_MIN, LONG_MAX)
KSTRTOU(kstrtouint, unsigned int, UINT_MAX)
KSTRTOS(kstrtoint, int, INT_MIN, INT_MAX)
KSTRTOU(kstrtou16, uint16_t, UINT16_MAX)
KSTRTOS(kstrtos16, int16_t, INT16_MIN, INT16_MAX)
KSTRTOU(kstrtou8, uint8_t, UINT8_MAX)
KSTRTOS(kstrtos8, int8_t, INT8_MIN, INT8_MAX)

/* 6.1 lib/kstrtox.c: the first character decides (y/t/1, n/f/0), "on" and
 * "off" the second. */
DUSK_EXPORT int __dusk_impl_kstrtobool(const char *s, bool *res)
{
	const char *m;
	bool v;

	if (!s)
		return -EINVAL;
	m = STRN(s, 2);
	switch (m[0]) {
	case 'y':
	case 'Y':
	case 't':
	case 'T':
	case '1':
		v = true;
		break;
	case 'n':
	case 'N':
	case 'f':
	case 'F':
	case '0':
		v = false;
		break;
	case 'o':
	case 'O':
		switch (m[1]) {
		case 'n':
		case 'N':
			v = true;
			break;
		case 'f':
		case 'F':
			v = false;
			break;
		default:
			return -EINVAL;
		}
		break;
	default:
		return -EINVAL;
	}
	put(res, &v, sizeof(v));
	return 0;
}

/* simple_strntoull() of lib/vsprintf.c: no sign, no leading spaces. */
static unsigned long long simple_strntoull(const char *m, size_t max_chars,
					   size_t *ret_used, unsigned int base)
{
	const char *cp = dusk_parse_integer_fixup_radix(m, &base);
	size_t prefix = (size_t)(cp - m);
	unsigned long long r = 0;
	unsigned int rv;

	if (prefix < max_chars) {
		rv = dusk_parse_integer_limit(cp, base, &r, max_chars - prefix);
		cp += rv & ~DUSK_KSTRTOX_OVERFLOW;
	} else {
		cp = m + max_chars;	/* too short for prefix and digit */
	}
	*ret_used = (size_t)(cp - m);
	return r;
}

static long long simple_strntoll(const char *m, size_t max_chars,
				 size_t *ret_used, unsigned int base)
{
	unsigned long long v;

	if (*m == '-' && max_chars > 0) {
		v = simple_strntoull(m + 1, max_chars - 1, ret_used, base);
		(*ret_used)++;
		return -(long long)v;
	}
	return (long long)simple_strntoull(m, max_chars, ret_used, base);
}

static void set_endp(char **endp, const char *cp, size_t used)
{
	char *e = (char *)cp + used;

	if (endp)
		put(endp, &e, sizeof(e));
}

DUSK_EXPORT unsigned long long __dusk_impl_simple_strtoull(const char *cp,
							   char **endp,
							   unsigned int base)
{
	size_t used;
	unsigned long long v = simple_strntoull(STR(cp), INT_MAX, &used, base);

	set_endp(endp, cp, used);
	return v;
}

DUSK_EXPORT unsigned long __dusk_impl_simple_strtoul(const char *cp,
						     char **endp,
						     unsigned int base)
{
	return (unsigned long)__dusk_impl_simple_strtoull(cp, endp, base);
}

DUSK_EXPORT long __dusk_impl_simple_strtol(const char *cp, char **endp,
					   unsigned int base)
{
	if (*STR(cp) == '-')
		return -(long)__dusk_impl_simple_strtoul(cp + 1, endp, base);
	return (long)__dusk_impl_simple_strtoul(cp, endp, base);
}

DUSK_EXPORT long long __dusk_impl_simple_strtoll(const char *cp, char **endp,
						 unsigned int base)
{
	size_t used;
	long long v = simple_strntoll(STR(cp), INT_MAX, &used, base);

	set_endp(endp, cp, used);
	return v;
}

/* 6.1 lib/hexdump.c: the constant-time one; -1 for a non-hex digit. */
DUSK_EXPORT int __dusk_impl_hex_to_bin(unsigned char ch)
{
	unsigned char cu = ch & 0xdf;

	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (cu >= 'A' && cu <= 'F')
		return cu - 'A' + 10;
	return -1;
}

DUSK_EXPORT int __dusk_impl_hex2bin(uint8_t *dst, const char *src,
				    size_t count)
{
	const char *m;
	uint8_t *out;
	size_t i;
	int hi, lo, ret = 0;

	if (!count)
		return 0;
	m = RD(src, 2 * count);
	out = malloc(count);
	if (!out)
		dusk_klib_bug(NULL, "out of memory in hex2bin");
	for (i = 0; i < count; i++) {
		hi = __dusk_impl_hex_to_bin((unsigned char)m[2 * i]);
		lo = __dusk_impl_hex_to_bin((unsigned char)m[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			ret = -EINVAL;
			break;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	put(dst, out, i);	/* the bytes before a bad digit, as the kernel */
	free(out);
	return ret;
}

DUSK_EXPORT char *__dusk_impl_bin2hex(char *dst, const void *src, size_t count)
{
	const uint8_t *m;
	char *out;
	size_t i;

	if (!count)
		return dst;
	m = RD(src, count);
	out = malloc(2 * count);
	if (!out)
		dusk_klib_bug(NULL, "out of memory in bin2hex");
	for (i = 0; i < count; i++) {
		out[2 * i] = __dusk_impl_hex_asc[m[i] >> 4];
		out[2 * i + 1] = __dusk_impl_hex_asc[m[i] & 15];
	}
	put(dst, out, 2 * count);
	free(out);
	return dst + 2 * count;
}

/* ---- addresses (net/core/utils.c) ----------------------------------------------------------------- */

#define IN6PTON_XDIGIT		0x00010000
#define IN6PTON_DIGIT		0x00020000
#define IN6PTON_COLON_MASK	0x00700000
#define IN6PTON_COLON_1		0x00100000	/* single : requested */
#define IN6PTON_COLON_2		0x00200000	/* second : requested */
#define IN6PTON_COLON_1_2	0x00400000	/* :: requested */
#define IN6PTON_DOT		0x00800000	/* . */
#define IN6PTON_DELIM		0x10000000
#define IN6PTON_NULL		0x20000000	/* first/tail */
#define IN6PTON_UNKNOWN		0x40000000

static int xdigit2bin(char c, int delim)
{
	int val;

	if (c == delim || c == '\0')
		return IN6PTON_DELIM;
	if (c == ':')
		return IN6PTON_COLON_MASK;
	if (c == '.')
		return IN6PTON_DOT;
	val = __dusk_impl_hex_to_bin((unsigned char)c);
	if (val >= 0)
		return val | IN6PTON_XDIGIT | (val < 10 ? IN6PTON_DIGIT : 0);
	if (delim == -1)
		return IN6PTON_DELIM;
	return IN6PTON_UNKNOWN;
}

/* On a local copy of the text: 1 and the address in dst, or 0; *used:
 * where parsing stopped. */
static int in4_parse(const char *src, int srclen, uint8_t *dst, int delim,
		     size_t *used)
{
	const char *s = src;
	uint8_t dbuf[4], *d = dbuf;
	int i = 0, w = 0, ret = 0;

	for (;;) {
		int c = xdigit2bin(srclen > 0 ? *s : '\0', delim);

		if (!(c & (IN6PTON_DIGIT | IN6PTON_DOT | IN6PTON_DELIM |
			   IN6PTON_COLON_MASK)))
			goto out;
		if (c & (IN6PTON_DOT | IN6PTON_DELIM | IN6PTON_COLON_MASK)) {
			/* w carries the digit flags: 0 means no digit */
			if (w == 0)
				goto out;
			*d++ = (uint8_t)(w & 0xff);
			w = 0;
			i++;
			if (c & (IN6PTON_DELIM | IN6PTON_COLON_MASK)) {
				if (i != 4)
					goto out;
				break;
			}
			goto cont;
		}
		w = w * 10 + c;
		if ((w & 0xffff) > 255)
			goto out;
cont:
		if (i >= 4)
			goto out;
		s++;
		srclen--;
	}
	ret = 1;
	memcpy(dst, dbuf, sizeof(dbuf));
out:
	*used = (size_t)(s - src);
	return ret;
}

static int in6_parse(const char *src, int srclen, uint8_t *dst, int delim,
		     size_t *used)
{
	const char *s = src, *tok = NULL;
	uint8_t dbuf[16], *d = dbuf, *dc = NULL;
	int state = IN6PTON_COLON_1_2 | IN6PTON_XDIGIT | IN6PTON_NULL;
	int ret = 0, i, w = 0;

	memset(dbuf, 0, sizeof(dbuf));
	for (;;) {
		int c = xdigit2bin(srclen > 0 ? *s : '\0', delim);

		if (!(c & state))
			goto out;
		if (c & (IN6PTON_DELIM | IN6PTON_COLON_MASK)) {
			/* one 16-bit word */
			if (!(state & IN6PTON_NULL)) {
				*d++ = (uint8_t)((w >> 8) & 0xff);
				*d++ = (uint8_t)(w & 0xff);
			}
			w = 0;
			if (c & IN6PTON_DELIM)
				break;	/* the last one */
			/* COLON_1 => XDIGIT, COLON_2 => XDIGIT|DELIM,
			 * COLON_1_2 => COLON_2 */
			switch (state & IN6PTON_COLON_MASK) {
			case IN6PTON_COLON_2:
				dc = d;
				state = IN6PTON_XDIGIT | IN6PTON_DELIM;
				if (dc - dbuf >= (ptrdiff_t)sizeof(dbuf))
					state |= IN6PTON_NULL;
				break;
			case IN6PTON_COLON_1 | IN6PTON_COLON_1_2:
				state = IN6PTON_XDIGIT | IN6PTON_COLON_2;
				break;
			case IN6PTON_COLON_1:
				state = IN6PTON_XDIGIT;
				break;
			case IN6PTON_COLON_1_2:
				state = IN6PTON_COLON_2;
				break;
			default:
				state = 0;
			}
			tok = s + 1;
			goto cont;
		}
		if (c & IN6PTON_DOT) {
			size_t u4;
			const char *t = tok ? tok : s;

			ret = in4_parse(t, srclen + (int)(s - t), d, delim, &u4);
			s = t + u4;
			if (ret > 0) {
				d += 4;
				break;
			}
			goto out;
		}
		w = (w << 4) | (0xff & c);
		state = IN6PTON_COLON_1 | IN6PTON_DELIM;
		if (!(w & 0xf000))
			state |= IN6PTON_XDIGIT;
		if (!dc && d + 2 < dbuf + sizeof(dbuf)) {
			state |= IN6PTON_COLON_1_2;
			state &= ~IN6PTON_DELIM;
		}
		if (d + 2 >= dbuf + sizeof(dbuf))
			state &= ~(IN6PTON_COLON_1 | IN6PTON_COLON_1_2);
cont:
		if ((dc && d + 4 < dbuf + sizeof(dbuf)) ||
		    d + 4 == dbuf + sizeof(dbuf))
			state |= IN6PTON_DOT;
		if (d >= dbuf + sizeof(dbuf))
			state &= ~(IN6PTON_XDIGIT | IN6PTON_COLON_MASK);
		s++;
		srclen--;
	}
	i = 15;
	d--;
	if (dc) {
		while (d >= dc)
			dst[i--] = *d--;
		while (i >= dc - dbuf)
			dst[i--] = 0;
		while (i >= 0)
			dst[i--] = *d--;
	} else {
		memcpy(dst, dbuf, sizeof(dbuf));
	}
	ret = 1;
out:
	*used = (size_t)(s - src);
	return ret;
}

/* The text the parsers may read: srclen bytes, or up to the NUL. */
static const char *pton_text(const char *src, int *srclen)
{
	const char *m;

	if (*srclen < 0) {
		m = STR(src);
		*srclen = (int)strlen(m);
		return m;
	}
	return *srclen ? STRN(src, (size_t)*srclen) : "";
}

/* in4_pton/in6_pton: parse the text, write the address (n bytes) and the
 * end pointer through the cache. */
static int pton(const char *src, int srclen, uint8_t *dst, int delim,
		const char **end, size_t n,
		int (*parse)(const char *, int, uint8_t *, int, size_t *))
{
	const char *m = pton_text(src, &srclen);
	uint8_t a[16];
	size_t used;
	int ret = parse(m, srclen, a, delim, &used);
	const char *e = src + used;

	if (ret)
		put(dst, a, n);
	if (end)
		put(end, &e, sizeof(e));
	return ret;
}

DUSK_EXPORT int __dusk_impl_in4_pton(const char *src, int srclen,
				     uint8_t *dst, int delim,
				     const char **end)
{
	return pton(src, srclen, dst, delim, end, 4, in4_parse);
}

DUSK_EXPORT int __dusk_impl_in6_pton(const char *src, int srclen,
				     uint8_t *dst, int delim,
				     const char **end)
{
	return pton(src, srclen, dst, delim, end, 16, in6_parse);
}

/* ---- sort and search --------------------------------------------------------------------------------- */

static void *user_fn(void *fn)
{
	if (dusk_klib_host.fnptr)
		fn = dusk_klib_host.fnptr(fn);
	if ((uintptr_t)fn >= DUSK_KERNEL_MIN)
		dusk_klib_bug(NULL, "sort/bsearch: comparison function %p is kernel code",
			      fn);
	return fn;
}

struct sort_ctx {
	char *base;
	size_t size;
	dusk_cmp_r_func_t cmp_r;
	dusk_cmp_func_t cmp;
	dusk_swap_func_t swap;
	const void *priv;
};

static int sort_cmp(const struct sort_ctx *c, size_t a, size_t b)
{
	if (c->cmp_r)
		return c->cmp_r(c->base + a, c->base + b, c->priv);
	return c->cmp(c->base + a, c->base + b);
}

/* Elements are re-checked at each swap: a comparison function may have
 * made a kernel call, which invalidates the mirror. */
static void sort_swap(const struct sort_ctx *c, size_t a, size_t b)
{
	char tmp[256], *x, *y;
	size_t off, n;

	if (c->swap) {
		c->swap(c->base + a, c->base + b, (int)c->size);
		return;
	}
	for (off = 0; off < c->size; off += n) {
		n = DUSK_MIN(c->size - off, sizeof(tmp));
		x = WR(c->base + a + off, n);
		memcpy(tmp, x, n);
		y = WR(c->base + b + off, n);
		x = WR(c->base + a + off, n);
		memcpy(x, y, n);
		memcpy(y, tmp, n);
	}
}

/* The parent of the element at byte offset i (lib/sort.c). */
static size_t sort_parent(size_t i, unsigned int lsbit, size_t size)
{
	i -= size;
	i -= size & -(i & lsbit);
	return i / 2;
}

static void sort_heap(struct sort_ctx *c, size_t num)
{
	size_t size = c->size, n = num * size, a = (num / 2) * size;
	unsigned int lsbit = (unsigned int)(size & -size);
	size_t b, cc, d;

	if (!a)
		return;		/* num < 2 or size 0 */
	for (;;) {
		if (a)			/* building the heap: sift down --a */
			a -= size;
		else if (n -= size)	/* sorting: the root goes to --n */
			sort_swap(c, 0, n);
		else
			break;
		/* Bottom-up: the path of larger children down to a leaf... */
		for (b = a; cc = 2 * b + size, (d = cc + size) < n;)
			b = sort_cmp(c, cc, d) >= 0 ? cc : d;
		if (d == n)		/* the last leaf, without sibling */
			b = cc;
		/* ...then back up to where a belongs, and shift it there. */
		while (b != a && sort_cmp(c, a, b) >= 0)
			b = sort_parent(b, lsbit, size);
		cc = b;
		while (b != a) {
			b = sort_parent(b, lsbit, size);
			sort_swap(c, b, cc);
		}
	}
}

DUSK_EXPORT void __dusk_impl_sort_r(void *base, size_t num, size_t size,
				    dusk_cmp_r_func_t cmp,
				    dusk_swap_func_t swap, const void *priv)
{
	struct sort_ctx c = {
		.base = base,
		.size = size,
		.cmp_r = user_fn((void *)(uintptr_t)cmp),
		.swap = swap ? user_fn((void *)(uintptr_t)swap) : NULL,
		.priv = priv,
	};

	sort_heap(&c, num);
}

DUSK_EXPORT void __dusk_impl_sort(void *base, size_t num, size_t size,
				  dusk_cmp_func_t cmp, dusk_swap_func_t swap)
{
	struct sort_ctx c = {
		.base = base,
		.size = size,
		.cmp = user_fn((void *)(uintptr_t)cmp),
		.swap = swap ? user_fn((void *)(uintptr_t)swap) : NULL,
	};

	sort_heap(&c, num);
}

/* lib/bsearch.c (__inline_bsearch): the same probes, so the same element
 * among equal ones. */
DUSK_EXPORT void *__dusk_impl_bsearch(const void *key, const void *base,
				      size_t num, size_t size,
				      dusk_cmp_func_t cmp)
{
	const char *pivot, *b = base;
	dusk_cmp_func_t f = user_fn((void *)(uintptr_t)cmp);
	int result;

	while (num > 0) {
		pivot = b + (num >> 1) * size;
		result = f(key, pivot);
		if (result == 0)
			return (void *)pivot;
		if (result > 0) {
			b = pivot + size;
			num--;
		}
		num >>= 1;
	}
	return NULL;
}

/* ---- sscanf (lib/vsprintf.c's vsscanf) ---------------------------------------------------------------- */

static const char *sk_spaces(const char *s)
{
	while (dusk_kisspace(*s))
		s++;
	return s;
}

static int sk_atoi(const char **s)
{
	int i = 0;

	while (dusk_kisdigit(**s) && i < SHRT_MAX)
		i = i * 10 + *((*s)++) - '0';
	while (dusk_kisdigit(**s))
		(*s)++;
	return i;
}

/* The conversions of 6.1's vsscanf: %c %s %N[set] (width required) %n %d %i %u %x %X %o %%
 * with widths, * (suppress) and hh h l ll L z Z qualifiers. The input may
 * be kernel memory (read once, up to its NUL); every output pointer may be
 * too (written through the shadow cache). */
DUSK_EXPORT int __dusk_impl_vsscanf(const char *buf, const char *fmt,
				    va_list args)
{
	char *text = strdup(STR(buf)), *fcopy = strdup(STR(fmt));
	const char *str = text, *f = fcopy;
	char qualifier;
	unsigned int base;
	int num = 0, field_width;
	bool is_sign;

	if (!text || !fcopy)
		dusk_klib_bug(NULL, "out of memory in sscanf");
	while (*f) {
		/* White space in the format matches any amount of it. */
		if (dusk_kisspace(*f)) {
			f = sk_spaces(++f);
			str = sk_spaces(str);
		}
		/* Anything not a conversion must match exactly. */
		if (*f != '%' && *f) {
			if (*f++ != *str++)
				break;
			continue;
		}
		if (!*f)
			break;
		++f;
		/* %*: skip a field (a word of input) */
		if (*f == '*') {
			if (!*str)
				break;
			while (!dusk_kisspace(*f) && *f != '%' && *f) {
				if (*f++ == '[') {
					if (*f == '^')
						f++;
					if (*f == ']')
						f++;
					while (*f && *f != ']')
						f++;
					if (*f)
						f++;
				}
			}
			while (!dusk_kisspace(*str) && *str)
				str++;
			continue;
		}
		field_width = -1;
		if (dusk_kisdigit(*f)) {
			field_width = sk_atoi(&f);
			if (field_width <= 0)
				break;
		}
		qualifier = 0;
		if (*f == 'h' || dusk_ktolower(*f) == 'l' || *f == 'z' ||
		    *f == 'Z') {
			qualifier = *f++;
			if (qualifier == *f) {
				if (qualifier == 'h') {
					qualifier = 'H';
					f++;
				} else if (qualifier == 'l') {
					qualifier = 'L';
					f++;
				}
			}
		}
		if (!*f)
			break;
		if (*f == 'n') {
			int n = (int)(str - text);

			put(va_arg(args, int *), &n, sizeof(n));
			f++;
			continue;
		}
		if (!*str)
			break;
		base = 10;
		is_sign = false;
		switch (*f++) {
		case 'c': {
			char *s = va_arg(args, char *);
			size_t n = 0;

			if (field_width == -1)
				field_width = 1;
			do {
				n++;
			} while (--field_width > 0 && str[n]);
			put(s, str, n);
			str += n;
			num++;
			continue;
		}
		case 's': {
			char *s = va_arg(args, char *);
			size_t n = 0;

			if (field_width == -1)
				field_width = SHRT_MAX;
			str = sk_spaces(str);
			while (str[n] && !dusk_kisspace(str[n]) &&
			       field_width-- > 0)
				n++;
			put(s, str, n);
			put(s + n, "", 1);
			str += n;
			num++;
			continue;
		}
		case '[': {
			char *s = va_arg(args, char *);
			unsigned char set[256] = { 0 };
			bool negate = *f == '^';
			size_t n = 0, len = 0;
			unsigned int i;

			/* the field width is required */
			if (field_width == -1)
				goto out;
			if (negate)
				f++;
			for (; *f && *f != ']'; f++, len++)
				set[(unsigned char)*f] = 1;
			/* no ']' or an empty set */
			if (!*f || !len)
				goto out;
			f++;
			if (negate) {
				for (i = 0; i < 256; i++)
					set[i] = !set[i];
				set[0] = 0;
			}
			/* the match must not be empty */
			if (!set[(unsigned char)*str])
				goto out;
			while (set[(unsigned char)str[n]] && field_width-- > 0)
				n++;
			put(s, str, n);
			put(s + n, "", 1);
			str += n;
			num++;
			continue;
		}
		case 'o':
			base = 8;
			break;
		case 'x':
		case 'X':
			base = 16;
			break;
		case 'i':
			base = 0;
			/* fallthrough */
		case 'd':
			is_sign = true;
			/* fallthrough */
		case 'u':
			break;
		case '%':
			if (*str++ != '%')
				goto out;
			continue;
		default:
			goto out;	/* invalid format: stop */
		}
		/* A number: leading white space is skipped. */
		str = sk_spaces(str);
		{
			char digit = *str;
			size_t used, maxc = field_width >= 0 ?
					    (size_t)field_width : INT_MAX;
			union {
				long long s;
				unsigned long long u;
			} val;

			if (is_sign && digit == '-') {
				if (field_width == 1)
					break;
				digit = str[1];
			}
			if (!digit || (base == 16 && !dusk_kisxdigit(digit)) ||
			    (base == 10 && !dusk_kisdigit(digit)) ||
			    (base == 8 && (!dusk_kisdigit(digit) || digit > '7')) ||
			    (base == 0 && !dusk_kisdigit(digit)))
				break;
			if (is_sign)
				val.s = simple_strntoll(str, maxc, &used, base);
			else
				val.u = simple_strntoull(str, maxc, &used, base);
			switch (qualifier) {
			case 'H': {
				uint8_t v = (uint8_t)val.u;

				put(va_arg(args, void *), &v, sizeof(v));
				break;
			}
			case 'h': {
				uint16_t v = (uint16_t)val.u;

				put(va_arg(args, void *), &v, sizeof(v));
				break;
			}
			case 'l': {
				unsigned long v = (unsigned long)val.u;

				put(va_arg(args, void *), &v, sizeof(v));
				break;
			}
			case 'L': {
				unsigned long long v = val.u;

				put(va_arg(args, void *), &v, sizeof(v));
				break;
			}
			case 'Z':
			case 'z': {
				size_t v = (size_t)val.u;

				put(va_arg(args, void *), &v, sizeof(v));
				break;
			}
			default: {
				unsigned int v = (unsigned int)val.u;

				put(va_arg(args, void *), &v, sizeof(v));
				break;
			}
			}
			num++;
			str += used;
		}
	}
out:
	free(text);
	free(fcopy);
	return num;
}

DUSK_EXPORT int __dusk_impl_sscanf(const char *buf, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = __dusk_impl_vsscanf(buf, fmt, ap);
	va_end(ap);
	return ret;
}
