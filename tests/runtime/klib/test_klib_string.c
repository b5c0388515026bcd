// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The kernel's string and number library at user level (klib_string.c)
 * against the results 6.1 documents (lib/string.c, lib/kstrtox.c,
 * lib/test_kstrtox.c, net/core/utils.c, lib/sort.c), then the same
 * functions on kernel memory through the fake kernel: reads fetch only the
 * string's pages, writes reach the kernel with the commit, returned
 * pointers stay kernel addresses.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dusk.h"
#include "fake_kernel.h"
#include "klib.h"
#include "klib_string.h"
#include "session.h"

static void test_copy(void)
{
	char d[8];

	memset(d, 'x', sizeof(d));
	CHECK_EQ(__dusk_impl_strscpy(d, "hello", sizeof(d)), 5);
	CHECK(!strcmp(d, "hello"));
	CHECK_EQ(__dusk_impl_strscpy(d, "hello world", sizeof(d)), -E2BIG);
	CHECK(!strcmp(d, "hello w"));
	CHECK_EQ(__dusk_impl_strscpy(d, "1234567", sizeof(d)), 7);
	CHECK_EQ(__dusk_impl_strscpy(d, "12345678", sizeof(d)), -E2BIG);
	CHECK_EQ(__dusk_impl_strscpy(d, "abc", 0), -E2BIG);
	CHECK(!strcmp(d, "1234567"));	/* count 0: untouched */
	memset(d, 'x', sizeof(d));
	CHECK_EQ(__dusk_impl_strscpy_pad(d, "ab", sizeof(d)), 2);
	CHECK(!memcmp(d, "ab\0\0\0\0\0\0", 8));
	CHECK_EQ(__dusk_impl_strscpy_pad(d, "abcdefghij", sizeof(d)), -E2BIG);

	CHECK_EQ(__dusk_impl_strlcpy(d, "hello world", sizeof(d)), 11);
	CHECK(!strcmp(d, "hello w"));
	CHECK_EQ(__dusk_impl_strlcpy(d, "hi", sizeof(d)), 2);
	CHECK(!strcmp(d, "hi"));
	CHECK_EQ(__dusk_impl_strlcpy(d, "zz", 0), 2);
	CHECK(!strcmp(d, "hi"));
	CHECK_EQ(__dusk_impl_strlcat(d, "gh", sizeof(d)), 4);
	CHECK(!strcmp(d, "high"));
	CHECK_EQ(__dusk_impl_strlcat(d, "-level", sizeof(d)), 10);
	CHECK(!strcmp(d, "high-le"));
}

/* The copies GCC lowers its builtins to (lib/string.c's semantics). */
static void test_lowered(void)
{
	char d[16];
	uint64_t q[2] = { 0, 0 };
	uint32_t w[3] = { 0, 0, 0 };

	memset(d, 'x', sizeof(d));
	CHECK(__dusk_impl_strcpy(d, "abc") == d);
	CHECK(!memcmp(d, "abc\0xxxx", 8));
	/* strncpy: exactly count bytes, NUL-padded; no NUL if src fills it */
	CHECK(__dusk_impl_strncpy(d, "hi", 6) == d);
	CHECK(!memcmp(d, "hi\0\0\0\0xx", 8));
	CHECK(__dusk_impl_strncpy(d, "SSH-2.0", 5) == d);
	CHECK(!memcmp(d, "SSH-2\0xx", 8));	/* no NUL of its own */
	CHECK(__dusk_impl_strncpy(d, "zz", 0) == d && d[0] == 'S');
	CHECK(__dusk_impl_stpcpy(d, "end") == d + 3);
	CHECK(!memcmp(d, "end\0", 4));
	CHECK(__dusk_impl_strcat(d, "+cat") == d);
	CHECK(!strcmp(d, "end+cat"));
	CHECK(__dusk_impl_strncat(d, "12345", 3) == d);
	CHECK(!strcmp(d, "end+cat123"));
	CHECK(__dusk_impl_strncat(d, "9", 5) == d);
	CHECK(!strcmp(d, "end+cat1239"));
	CHECK(__dusk_impl_mempcpy(d, "abcd", 4) == d + 4);
	CHECK(__dusk_impl_memset64(q, 0x0102030405060708ULL, 2) == q);
	CHECK(q[0] == 0x0102030405060708ULL && q[1] == q[0]);
	CHECK(__dusk_impl_memset32(w, 7, 2) == w && w[1] == 7 && !w[2]);
	memset(d, 'x', sizeof(d));
	__dusk_impl_memcpy_and_pad(d, 6, "abc", 3, '#');
	CHECK(!memcmp(d, "abc###xx", 8));
	memset(d, 'x', sizeof(d));
	__dusk_impl_memcpy_and_pad(d, 2, "abc", 3, '#');	/* cut to dest_len */
	CHECK(!memcmp(d, "abxx", 4));
}

static void test_compare(void)
{
	CHECK_EQ(__dusk_impl_strlen("hello"), 5);
	CHECK_EQ(__dusk_impl_strnlen("hello", 3), 3);
	CHECK_EQ(__dusk_impl_strnlen("hello", 0), 0);
	CHECK_EQ(__dusk_impl_strnlen("hi", 10), 2);
	/* lib/string.c: -1, 0, 1 (not the difference) */
	CHECK_EQ(__dusk_impl_strcmp("a", "c"), -1);
	CHECK_EQ(__dusk_impl_strcmp("c", "a"), 1);
	CHECK_EQ(__dusk_impl_strcmp("ab", "ab"), 0);
	CHECK_EQ(__dusk_impl_strcmp("ab", "abc"), -1);
	CHECK_EQ(__dusk_impl_strcmp("\xff", "a"), 1);	/* unsigned chars */
	CHECK_EQ(__dusk_impl_strncmp("abcX", "abcY", 3), 0);
	CHECK_EQ(__dusk_impl_strncmp("abcX", "abcZ", 4), -1);
	CHECK_EQ(__dusk_impl_strncmp("x", "y", 0), 0);
	/* memcmp: the difference of the bytes */
	CHECK_EQ(__dusk_impl_memcmp("abc", "abe", 3), -2);
	CHECK_EQ(__dusk_impl_memcmp("abz", "aba", 3), 'z' - 'a');
	CHECK_EQ(__dusk_impl_memcmp("a\0b", "a\0b", 3), 0);
	CHECK_EQ(__dusk_impl_bcmp("ab", "ac", 2), -1);
	/* strcasecmp: the difference, lowered; Latin-1 letters too */
	CHECK_EQ(__dusk_impl_strcasecmp("HeLLo", "hello"), 0);
	CHECK_EQ(__dusk_impl_strcasecmp("ABC", "abd"), -1);
	CHECK_EQ(__dusk_impl_strcasecmp("b", "A"), 1);
	CHECK_EQ(__dusk_impl_strcasecmp("\xc4", "\xe4"), 0);
	CHECK_EQ(__dusk_impl_strncasecmp("ABCx", "abcY", 3), 0);
	CHECK_EQ(__dusk_impl_strncasecmp("ABCx", "abcY", 4), 'x' - 'y');
	CHECK_EQ(__dusk_impl_strncasecmp("a", "b", 0), 0);
	CHECK(__dusk_impl_sysfs_streq("on", "on\n"));
	CHECK(__dusk_impl_sysfs_streq("on\n", "on"));
	CHECK(!__dusk_impl_sysfs_streq("on", "on\n\n"));
	CHECK(!__dusk_impl_sysfs_streq("on", "off"));
	{
		static const char *const modes[] = { "off", "on", "auto", NULL };

		CHECK_EQ(__dusk_impl_match_string(modes, 3, "auto"), 2);
		CHECK_EQ(__dusk_impl_match_string(modes, 3, "bad"), -EINVAL);
		CHECK_EQ(__dusk_impl_match_string(modes, 4, "auto"), 2);
		CHECK_EQ(__dusk_impl___sysfs_match_string(modes, 3, "on\n"), 1);
	}
}

static void test_search(void)
{
	const char *s = "hello, world";
	char buf[32], *p, *tok;
	unsigned char bytes[8] = { 7, 7, 7, 9, 7, 7, 7, 7 };

	CHECK(__dusk_impl_strchr(s, 'o') == s + 4);
	CHECK(__dusk_impl_strchr(s, '\0') == s + 12);
	CHECK(__dusk_impl_strchr(s, 'z') == NULL);
	CHECK(__dusk_impl_strrchr(s, 'o') == s + 8);
	CHECK(__dusk_impl_strchrnul(s, 'z') == s + 12);
	CHECK(__dusk_impl_strnchr(s, 4, 'o') == NULL);
	CHECK(__dusk_impl_strnchr(s, 5, 'o') == s + 4);
	CHECK(__dusk_impl_strnchrnul(s, 3, 'o') == s + 3);
	CHECK(__dusk_impl_strstr(s, "wor") == s + 7);
	CHECK(__dusk_impl_strstr(s, "") == s);
	CHECK(__dusk_impl_strstr(s, "xyz") == NULL);
	CHECK(__dusk_impl_strnstr(s, "wor", 9) == NULL);
	CHECK(__dusk_impl_strnstr(s, "wor", 10) == s + 7);
	CHECK(__dusk_impl_strnstr(s, "", 0) == s);
	CHECK(__dusk_impl_strpbrk(s, " ,") == s + 5);
	CHECK_EQ(__dusk_impl_strspn("aaab", "a"), 3);
	CHECK_EQ(__dusk_impl_strcspn("aaab", "b"), 3);
	CHECK(__dusk_impl_memchr(s, 'w', 12) == s + 7);
	CHECK(__dusk_impl_memchr(s, 'w', 7) == NULL);
	CHECK(__dusk_impl_memchr_inv(bytes, 7, 8) == bytes + 3);
	CHECK(__dusk_impl_memchr_inv(bytes, 7, 3) == NULL);
	CHECK(__dusk_impl_memscan(bytes, 9, 8) == bytes + 3);
	CHECK(__dusk_impl_memscan(bytes, 1, 8) == bytes + 8);

	strcpy(buf, "a,b;;c");
	p = buf;
	tok = __dusk_impl_strsep(&p, ",;");
	CHECK(tok == buf && !strcmp(tok, "a") && p == buf + 2);
	tok = __dusk_impl_strsep(&p, ",;");
	CHECK(!strcmp(tok, "b"));
	tok = __dusk_impl_strsep(&p, ",;");
	CHECK(!strcmp(tok, ""));
	tok = __dusk_impl_strsep(&p, ",;");
	CHECK(!strcmp(tok, "c") && p == NULL);
	CHECK(__dusk_impl_strsep(&p, ",") == NULL);

	strcpy(buf, " \t hi there \n ");
	p = __dusk_impl_strim(buf);
	CHECK(p == buf + 3 && !strcmp(p, "hi there"));
	strcpy(buf, "\xa0x");
	CHECK(__dusk_impl_skip_spaces(buf) == buf + 1);	/* Latin-1 nbsp */
	strcpy(buf, "a-b-c");
	CHECK(__dusk_impl_strreplace(buf, '-', '+') == buf + 5);
	CHECK(!strcmp(buf, "a+b+c"));

	memset(buf, 1, sizeof(buf));
	CHECK(__dusk_impl_memset(buf, 0, 4) == buf && !buf[3] && buf[4] == 1);
	CHECK(__dusk_impl_memcpy(buf, "abcd", 4) == buf && buf[2] == 'c');
	CHECK(__dusk_impl_memmove(buf + 1, buf, 3) == buf + 1 &&
	      !memcmp(buf, "aabc", 4));
}

/* ---- numbers ------------------------------------------------------------------ */

#define KU(fn, type, str, base, ret, val) do {				\
	type r_ = (type)0x5a;						\
	int e_ = __dusk_impl_##fn((str), (base), &r_);			\
	CHECK_EQ(e_, (ret));						\
	CHECK_EQ(r_, e_ ? (type)0x5a : (type)(val));			\
} while (0)

static void test_kstrto(void)
{
	bool b;

	KU(kstrtoint, int, "123", 0, 0, 123);
	KU(kstrtoint, int, "-123", 10, 0, -123);
	KU(kstrtoint, int, "0x1f", 0, 0, 31);
	KU(kstrtoint, int, "0x1f", 16, 0, 31);
	KU(kstrtoint, int, "1f", 16, 0, 31);
	KU(kstrtoint, int, "0X1F", 0, 0, 31);
	KU(kstrtoint, int, "010", 0, 0, 8);
	KU(kstrtoint, int, "010", 10, 0, 10);
	KU(kstrtoint, int, "+5", 10, 0, 5);
	KU(kstrtoint, int, "5\n", 10, 0, 5);
	KU(kstrtoint, int, "5\n\n", 10, -EINVAL, 0);
	KU(kstrtoint, int, "", 10, -EINVAL, 0);
	KU(kstrtoint, int, " 5", 10, -EINVAL, 0);
	KU(kstrtoint, int, "5 ", 10, -EINVAL, 0);
	KU(kstrtoint, int, "-", 10, -EINVAL, 0);
	KU(kstrtoint, int, "0x", 0, -EINVAL, 0);
	KU(kstrtoint, int, "0x", 16, -EINVAL, 0);
	KU(kstrtoint, int, "12a", 10, -EINVAL, 0);
	KU(kstrtoint, int, "2147483647", 10, 0, INT_MAX);
	KU(kstrtoint, int, "2147483648", 10, -ERANGE, 0);
	KU(kstrtoint, int, "-2147483648", 10, 0, INT_MIN);
	KU(kstrtoint, int, "-2147483649", 10, -ERANGE, 0);
	KU(kstrtoint, int, "--1", 10, -EINVAL, 0);
	KU(kstrtouint, unsigned int, "4294967295", 10, 0, UINT_MAX);
	KU(kstrtouint, unsigned int, "4294967296", 10, -ERANGE, 0);
	KU(kstrtouint, unsigned int, "-1", 10, -EINVAL, 0);
	KU(kstrtouint, unsigned int, "+0", 10, 0, 0);
	KU(kstrtou8, uint8_t, "255", 10, 0, 255);
	KU(kstrtou8, uint8_t, "256", 10, -ERANGE, 0);
	KU(kstrtos8, int8_t, "-128", 10, 0, -128);
	KU(kstrtos8, int8_t, "-129", 10, -ERANGE, 0);
	KU(kstrtos8, int8_t, "127", 10, 0, 127);
	KU(kstrtou16, uint16_t, "0xffff", 0, 0, 0xffff);
	KU(kstrtou16, uint16_t, "0x10000", 0, -ERANGE, 0);
	KU(kstrtos16, int16_t, "-32768", 0, 0, -32768);
	KU(kstrtos16, int16_t, "32768", 0, -ERANGE, 0);
	KU(kstrtoull, unsigned long long, "18446744073709551615", 10, 0,
	   ULLONG_MAX);
	KU(kstrtoull, unsigned long long, "18446744073709551616", 10, -ERANGE,
	   0);
	KU(kstrtoull, unsigned long long, "0xffffffffffffffff", 16, 0,
	   ULLONG_MAX);
	KU(kstrtoull, unsigned long long, "0x10000000000000000", 16, -ERANGE,
	   0);
	KU(kstrtoull, unsigned long long, "1777777777777777777777", 8, 0,
	   ULLONG_MAX);
	KU(kstrtoll, long long, "-9223372036854775808", 10, 0, LLONG_MIN);
	KU(kstrtoll, long long, "9223372036854775808", 10, -ERANGE, 0);
	KU(kstrtoll, long long, "-9223372036854775809", 10, -ERANGE, 0);
	KU(kstrtol, long, "-42", 10, 0, -42);
	KU(kstrtoul, unsigned long, "42", 10, 0, 42);
	KU(_kstrtol, long, "-0x10", 0, 0, -16);
	KU(_kstrtoul, unsigned long, "077", 0, 0, 63);
	KU(kstrtouint, unsigned int, "1010", 2, 0, 10);
	KU(kstrtouint, unsigned int, "102", 2, -EINVAL, 0);

	b = false;
	CHECK_EQ(__dusk_impl_kstrtobool("y", &b), 0);
	CHECK(b);
	b = true;
	CHECK_EQ(__dusk_impl_kstrtobool("N", &b), 0);
	CHECK(!b);
	CHECK_EQ(__dusk_impl_kstrtobool("1", &b), 0);
	CHECK(b);
	CHECK_EQ(__dusk_impl_kstrtobool("0", &b), 0);
	CHECK(!b);
	CHECK_EQ(__dusk_impl_kstrtobool("on", &b), 0);
	CHECK(b);
	CHECK_EQ(__dusk_impl_kstrtobool("OFF", &b), 0);
	CHECK(!b);
	CHECK_EQ(__dusk_impl_kstrtobool("true", &b), 0);
	CHECK(b);
	CHECK_EQ(__dusk_impl_kstrtobool("f", &b), 0);
	CHECK(!b);
	CHECK_EQ(__dusk_impl_kstrtobool("yes please", &b), 0);
	CHECK(b);
	b = true;
	CHECK_EQ(__dusk_impl_kstrtobool("o", &b), -EINVAL);
	CHECK_EQ(__dusk_impl_kstrtobool("x", &b), -EINVAL);
	CHECK_EQ(__dusk_impl_kstrtobool("", &b), -EINVAL);
	CHECK_EQ(__dusk_impl_kstrtobool(NULL, &b), -EINVAL);
	CHECK(b);	/* untouched on error */
}

static void test_simple_strto(void)
{
	const char *s;
	char *end;

	s = "0x1fz";
	CHECK_EQ(__dusk_impl_simple_strtoul(s, &end, 0), 31);
	CHECK(end == s + 4);
	s = "-12abc";
	CHECK_EQ(__dusk_impl_simple_strtol(s, &end, 10), -12);
	CHECK(end == s + 3);
	CHECK_EQ(__dusk_impl_simple_strtoull("777", NULL, 8), 511);
	s = "  5";	/* no leading white space skipped */
	CHECK_EQ(__dusk_impl_simple_strtoul(s, &end, 10), 0);
	CHECK(end == s);
	s = "-0x10";
	CHECK_EQ(__dusk_impl_simple_strtoll(s, &end, 0), -16);
	CHECK(end == s + 5);
	s = "99999999999999999999x";	/* overflow: wraps, stops at x */
	__dusk_impl_simple_strtoull(s, &end, 10);
	CHECK(end == s + 20);
}

static void test_hex(void)
{
	uint8_t bin[4] = { 0 };
	char hex[16];

	CHECK_EQ(__dusk_impl_hex_to_bin('0'), 0);
	CHECK_EQ(__dusk_impl_hex_to_bin('9'), 9);
	CHECK_EQ(__dusk_impl_hex_to_bin('a'), 10);
	CHECK_EQ(__dusk_impl_hex_to_bin('F'), 15);
	CHECK_EQ(__dusk_impl_hex_to_bin('g'), -1);
	CHECK_EQ(__dusk_impl_hex_to_bin(':'), -1);
	CHECK_EQ(__dusk_impl_hex_to_bin('@'), -1);
	CHECK_EQ(__dusk_impl_hex2bin(bin, "0aFf", 2), 0);
	CHECK(bin[0] == 0x0a && bin[1] == 0xff);
	CHECK_EQ(__dusk_impl_hex2bin(bin, "12zz34", 3), -EINVAL);
	CHECK(bin[0] == 0x12 && bin[1] == 0xff);	/* up to the bad digit */
	memset(hex, '#', sizeof(hex));
	CHECK(__dusk_impl_bin2hex(hex, "\x01\xab", 2) == hex + 4);
	CHECK(!memcmp(hex, "01ab#", 5));	/* no NUL written */
	CHECK_EQ(__dusk_impl_hex_asc[11], 'b');
	CHECK_EQ(__dusk_impl_hex_asc_upper[11], 'B');
	/* the kernel's ctype: Latin-1 aware */
	CHECK(dusk_kisspace(0xa0) && dusk_kisspace('\v') && !dusk_kisspace(0x85));
	CHECK(dusk_kisupper(0xc0) && !dusk_kisupper(0xd7) && dusk_ktolower(0xc0) == 0xe0);
	CHECK(dusk_kisalpha(0xdf) && !dusk_kisupper(0xdf));
}

static int memchr_inv_zero(const uint8_t *a)
{
	return __dusk_impl_memchr_inv(a, 0, 16) != NULL;
}

static void test_pton(void)
{
	uint8_t a[16];
	const char *s, *end;

	s = "192.168.1.2";
	CHECK_EQ(__dusk_impl_in4_pton(s, -1, a, -1, &end), 1);
	CHECK(!memcmp(a, "\xc0\xa8\x01\x02", 4) && end == s + 11);
	CHECK_EQ(__dusk_impl_in4_pton("1.2.3", -1, a, -1, NULL), 0);
	CHECK_EQ(__dusk_impl_in4_pton("256.1.1.1", -1, a, -1, NULL), 0);
	CHECK_EQ(__dusk_impl_in4_pton("1..2.3", -1, a, -1, NULL), 0);
	CHECK_EQ(__dusk_impl_in4_pton("1.2.3.4.5", -1, a, -1, NULL), 0);
	s = "10.0.0.1:80";
	CHECK_EQ(__dusk_impl_in4_pton(s, -1, a, ':', &end), 1);
	CHECK(!memcmp(a, "\x0a\x00\x00\x01", 4) && *end == ':');
	CHECK_EQ(__dusk_impl_in4_pton(s, -1, a, -1, &end), 1);	/* -1: any */
	/* ':' ends an IPv4 address whatever the delimiter */
	CHECK_EQ(__dusk_impl_in4_pton(s, -1, a, '/', &end), 1);
	CHECK_EQ(__dusk_impl_in4_pton("1.2.3.4/8", -1, a, ' ', &end), 0);
	s = "1.2.3.45";
	CHECK_EQ(__dusk_impl_in4_pton(s, 7, a, -1, &end), 1);
	CHECK(a[3] == 4 && end == s + 7);
	CHECK_EQ(__dusk_impl_in4_pton("0.0.0.0", -1, a, -1, NULL), 1);

	CHECK_EQ(__dusk_impl_in6_pton("2001:db8::1", -1, a, -1, NULL), 1);
	CHECK(!memcmp(a, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16));
	CHECK_EQ(__dusk_impl_in6_pton("::", -1, a, -1, NULL), 1);
	CHECK(!memchr_inv_zero(a));
	CHECK_EQ(__dusk_impl_in6_pton("::1", -1, a, -1, NULL), 1);
	CHECK(a[15] == 1 && !a[14]);
	CHECK_EQ(__dusk_impl_in6_pton("::ffff:1.2.3.4", -1, a, -1, NULL), 1);
	CHECK(a[10] == 0xff && a[11] == 0xff && a[12] == 1 && a[15] == 4);
	CHECK_EQ(__dusk_impl_in6_pton("1::2::3", -1, a, -1, NULL), 0);
	CHECK_EQ(__dusk_impl_in6_pton("1:2:3:4:5:6:7:8", -1, a, -1, NULL), 1);
	CHECK(a[0] == 0 && a[1] == 1 && a[15] == 8);
	CHECK_EQ(__dusk_impl_in6_pton("1:2:3:4:5:6:7:8:9", -1, a, -1, NULL), 0);
	CHECK_EQ(__dusk_impl_in6_pton("12345::", -1, a, -1, NULL), 0);
	CHECK_EQ(__dusk_impl_in6_pton("fe80::1%eth0", -1, a, '%', &end), 1);
	CHECK(*end == '%' && a[0] == 0xfe && a[1] == 0x80);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

static int cmp_int_r(const void *a, const void *b, const void *priv)
{
	return *(const int *)priv * cmp_int(a, b);
}

static unsigned int swaps;

static void swap_int(void *a, void *b, int size)
{
	int t = *(int *)a;

	swaps++;
	*(int *)a = *(int *)b;
	*(int *)b = t;
}

static void test_sort(void)
{
	int v[100], i, ok = 1, *found, key, down = -1;
	int one[1] = { 5 };
	struct { char c[3]; } odd[4] = { { "d" }, { "b" }, { "c" }, { "a" } };

	for (i = 0; i < 100; i++)
		v[i] = (i * 37) % 100;
	__dusk_impl_sort(v, 100, sizeof(int), cmp_int, NULL);
	for (i = 0; i < 100; i++)
		ok &= v[i] == i;
	CHECK(ok);
	__dusk_impl_sort(one, 1, sizeof(int), cmp_int, NULL);
	CHECK_EQ(one[0], 5);
	__dusk_impl_sort(v, 0, sizeof(int), cmp_int, NULL);
	/* a swap function of the module's */
	for (i = 0; i < 100; i++)
		v[i] = 99 - i;
	__dusk_impl_sort(v, 100, sizeof(int), cmp_int, swap_int);
	CHECK(swaps > 0 && v[0] == 0 && v[99] == 99);
	/* sort_r with priv: descending */
	__dusk_impl_sort_r(v, 100, sizeof(int), cmp_int_r, NULL, &down);
	CHECK(v[0] == 99 && v[99] == 0);
	/* odd element size */
	__dusk_impl_sort(odd, 4, sizeof(odd[0]), (dusk_cmp_func_t)strcmp, NULL);
	CHECK(!strcmp(odd[0].c, "a") && !strcmp(odd[3].c, "d"));

	__dusk_impl_sort(v, 100, sizeof(int), cmp_int, NULL);
	key = 42;
	found = __dusk_impl_bsearch(&key, v, 100, sizeof(int), cmp_int);
	CHECK(found == &v[42]);
	key = 100;
	CHECK(__dusk_impl_bsearch(&key, v, 100, sizeof(int), cmp_int) == NULL);
	key = 0;
	CHECK(__dusk_impl_bsearch(&key, v, 100, sizeof(int), cmp_int) == &v[0]);
	CHECK(__dusk_impl_bsearch(&key, v, 0, sizeof(int), cmp_int) == NULL);
}

static void test_sscanf(void)
{
	int a = 0, b = 0, n = 0;
	unsigned int x = 0;
	char s[16] = "", t[16] = "";
	unsigned char hh = 0;
	long long ll = 0;
	short h = 0;
	size_t z = 0;

	CHECK_EQ(__dusk_impl_sscanf("12 abc 1f", "%d %s %x", &a, s, &x), 3);
	CHECK(a == 12 && !strcmp(s, "abc") && x == 31);
	CHECK_EQ(__dusk_impl_sscanf("12345", "%2d%3d", &a, &b), 2);
	CHECK(a == 12 && b == 345);
	CHECK_EQ(__dusk_impl_sscanf("  -7 rest", "%d%n", &a, &n), 1);
	CHECK(a == -7 && n == 4);
	CHECK_EQ(__dusk_impl_sscanf("0x10 010 10", "%i %i %i", &a, &b, &n), 3);
	CHECK(a == 16 && b == 8 && n == 10);
	CHECK_EQ(__dusk_impl_sscanf("300 -2 9999999999 70000 12",
				    "%hhu %hd %lld %zu %*d", &hh, &h, &ll, &z),
		 4);
	CHECK(hh == 44 && h == -2 && ll == 9999999999LL && z == 70000);
	CHECK_EQ(__dusk_impl_sscanf("key=value;", "%15[^=]=%15[^;]", s, t), 2);
	CHECK(!strcmp(s, "key") && !strcmp(t, "value"));
	CHECK_EQ(__dusk_impl_sscanf("abc", "%[abc]", s), 0);	/* width required */
	CHECK_EQ(__dusk_impl_sscanf("x", "%3[abc]", s), 0);	/* empty match */
	CHECK_EQ(__dusk_impl_sscanf("ab", "%c%c", s, t), 2);
	CHECK(s[0] == 'a' && t[0] == 'b');
	CHECK_EQ(__dusk_impl_sscanf("1:2", "%d:%d", &a, &b), 2);
	CHECK(a == 1 && b == 2);
	CHECK_EQ(__dusk_impl_sscanf("1-2", "%d:%d", &a, &b), 1);
	CHECK_EQ(__dusk_impl_sscanf("", "%d", &a), 0);
	CHECK_EQ(__dusk_impl_sscanf("100%", "%d%%", &a), 1);
	CHECK_EQ(__dusk_impl_sscanf("abc", "%d", &a), 0);
	CHECK_EQ(__dusk_impl_sscanf("7", "%o", &x), 1);
	CHECK_EQ(__dusk_impl_sscanf("8", "%o", &x), 0);
	CHECK_EQ(__dusk_impl_sscanf("hello world", "%5s%s", s, t), 2);
	CHECK(!strcmp(s, "hello") && !strcmp(t, "world"));
}

/* ---- on kernel memory ------------------------------------------------------------- */

static struct fake_kernel fk;
static struct dusk_session *sess;

#define K(off)	(FK_AREA_DIRECT + (off))
#define KP(off)	((char *)(uintptr_t)K(off))

/* Fake kernel memory changed behind the cache's back: refresh. */
static void kput(uint64_t off, const void *data, size_t len)
{
	memcpy(fk_mem(&fk, K(off), len), data, len);
	dusk_refresh(sess);
}

/* A comparison as instrumented module code does it: through the cache. */
static int cmp_kint(const void *a, const void *b)
{
	return cmp_int(__dusk_check(a, sizeof(int)), __dusk_check(b, sizeof(int)));
}

static unsigned int reads(void)
{
	return fk.executed[DUSK_MSG_READ];
}

static void test_kernel_memory(void)
{
	char *str = KP(0x2000 - 6);	/* "kernel text" across a page */
	uint8_t *mem = fk_mem(&fk, K(0x2000 - 6), 32);
	unsigned long long v = 0;
	unsigned int r;
	char local[32], *p, *q;
	int ival = 7;
	int *kint = (int *)KP(0x3100);

	memcpy(mem, "kernel text", 12);
	/* A string in the last bytes of a page fetches the next page only
	 * when it goes on there. */
	dusk_refresh(sess);
	r = reads();
	memcpy(fk_mem(&fk, K(0x1000 - 3), 3), "ab", 3);
	CHECK_EQ(__dusk_impl_strlen(KP(0x1000 - 3)), 2);
	CHECK_EQ(reads(), r + 1);
	CHECK_EQ(__dusk_impl_strlen(str), 11);
	CHECK_EQ(reads(), r + 3);	/* its two pages */
	CHECK(__dusk_check_str(str) != str);
	CHECK(dusk_kaddr(__dusk_check_str(str)) == K(0x2000 - 6));
	/* user memory is returned as it is */
	CHECK(__dusk_check_str("user") != NULL);
	CHECK(__dusk_check_strn(local, 0) == local);

	/* pointers into a kernel string stay kernel addresses */
	CHECK(__dusk_impl_strchr(str, 't') == str + 7);
	CHECK(__dusk_impl_strstr(str, "text") == str + 7);
	CHECK(__dusk_impl_strrchr(str, 'e') == str + 8);
	CHECK(__dusk_impl_memchr(str, 'x', 11) == str + 9);
	CHECK(__dusk_impl_skip_spaces(str + 6) == str + 7);
	CHECK_EQ(__dusk_impl_strcmp(str, "kernel text"), 0);
	CHECK_EQ(__dusk_impl_strncmp(str, "kernel tExt", 8), 0);
	CHECK_EQ(__dusk_impl_memcmp(str, "kernel", 6), 0);

	/* copies out of and into kernel memory */
	CHECK_EQ(__dusk_impl_strscpy(local, str, sizeof(local)), 11);
	CHECK(!strcmp(local, "kernel text"));
	CHECK_EQ(__dusk_impl_strscpy(KP(0x3000), "to the kernel", 32), 13);
	CHECK(!dusk_commit(sess));
	CHECK(!strcmp((char *)fk_mem(&fk, K(0x3000), 14), "to the kernel"));
	CHECK_EQ(__dusk_impl_strscpy(KP(0x3000), str, 7), -E2BIG);
	__dusk_impl_memset(KP(0x3040), 0xab, 4);
	__dusk_impl_memcpy(KP(0x3044), "wxyz", 4);
	CHECK(!dusk_commit(sess));
	CHECK(!strcmp((char *)fk_mem(&fk, K(0x3000), 7), "kernel"));
	CHECK(!memcmp(fk_mem(&fk, K(0x3040), 8), "\xab\xab\xab\xabwxyz", 8));

	/* the copies lowered builtins become, into kernel memory: the
	 * changed bytes reach it with the commit, results stay kernel
	 * addresses */
	kput(0x3800, "SSH-1.99 ab\0", 12);
	CHECK(__dusk_impl_strncpy(KP(0x3800), "SSH-2", 5) == KP(0x3800));
	CHECK(__dusk_impl_stpcpy(KP(0x3809), "cd") == KP(0x380b));
	CHECK(__dusk_impl_strcat(KP(0x3809), "e") == KP(0x3809));
	CHECK(__dusk_impl_strncat(KP(0x3809), "fgh", 1) == KP(0x3809));
	CHECK(!dusk_commit(sess));
	CHECK(!memcmp(fk_mem(&fk, K(0x3800), 14), "SSH-2.99 cdef\0", 14));
	__dusk_impl_memset64((uint64_t *)KP(0x3840), 0x3131313131313131ULL, 1);
	__dusk_impl_memcpy_and_pad(KP(0x3848), 4, "z", 1, '-');
	CHECK(!dusk_commit(sess));
	CHECK(!memcmp(fk_mem(&fk, K(0x3840), 12), "11111111z---", 12));

	/* numbers parsed from kernel memory into kernel memory */
	kput(0x3080, "0x2a\n", 6);
	CHECK_EQ(__dusk_impl_kstrtoint(KP(0x3080), 0, kint), 0);
	CHECK(!dusk_commit(sess));
	memcpy(&ival, fk_mem(&fk, K(0x3100), 4), 4);
	CHECK_EQ(ival, 42);
	CHECK_EQ(__dusk_impl_kstrtoull(KP(0x3080), 16, &v), 0);
	CHECK_EQ(v, 42);

	/* strsep on a kernel string, through a kernel pointer */
	kput(0x3200, "a b", 4);
	p = KP(0x3200);
	q = __dusk_impl_strsep(&p, " ");
	CHECK(q == KP(0x3200) && p == KP(0x3202));
	CHECK(!dusk_commit(sess));
	CHECK(!memcmp(fk_mem(&fk, K(0x3200), 4), "a\0b\0", 4));

	/* sort and bsearch of a kernel array: results in its space */
	{
		int arr[5] = { 5, 3, 4, 1, 2 }, key = 4;
		int *karr = (int *)KP(0x3400), *hit;

		kput(0x3400, arr, sizeof(arr));
		__dusk_impl_sort(karr, 5, sizeof(int), cmp_kint, NULL);
		CHECK(!dusk_commit(sess));
		memcpy(arr, fk_mem(&fk, K(0x3400), sizeof(arr)), sizeof(arr));
		CHECK(arr[0] == 1 && arr[4] == 5);
		hit = __dusk_impl_bsearch(&key, karr, 5, sizeof(int), cmp_kint);
		CHECK(hit == karr + 3);
	}

	/* in4_pton from kernel text, end in its space */
	{
		const char *end;
		uint8_t a[4];

		kput(0x3500, "10.9.8.7 x", 11);
		CHECK_EQ(__dusk_impl_in4_pton(KP(0x3500), -1, a, ' ', &end), 1);
		CHECK(end == KP(0x3508) && a[0] == 10 && a[3] == 7);
	}
	/* sscanf of kernel text */
	{
		int x = 0, y = 0;

		kput(0x3600, "3,4", 4);
		CHECK_EQ(__dusk_impl_sscanf(KP(0x3600), "%d,%d", &x, &y), 2);
		CHECK(x == 3 && y == 4);
	}
}

int main(void)
{
	struct dusk_config cfg;

	test_copy();
	test_lowered();
	test_compare();
	test_search();
	test_kstrto();
	test_simple_strto();
	test_hex();
	test_pton();
	test_sort();
	test_sscanf();

	fk_init(&fk);
	fk_config(&cfg);
	if (fk_session_open(&fk, &cfg, &sess)) {
		fprintf(stderr, "no session with the fake kernel\n");
		return 1;
	}
	test_kernel_memory();
	dusk_session_close(sess);
	fk_deinit(&fk);
	return check_done("test_klib_string");
}
