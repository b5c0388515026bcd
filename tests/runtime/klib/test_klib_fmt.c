// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The kernel's format language at user level (klib_fmt.c): every
 * conversion and extension against the output 6.1's lib/vsprintf.c gives
 * (printk-formats.rst and lib/test_printf.c), truncation, and arguments
 * in kernel memory through the fake kernel: strings across pages, %pI4
 * and %ph of kernel data, %p and %pS of kernel addresses formatted by the
 * "kernel" (cached), formatting into a kernel buffer, kasprintf.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dusk.h"
#include "fake_kernel.h"
#include "klib.h"
#include "klib_fmt.h"
#include "session.h"

static char out[1024];

#define F(...) (dusk_ksnprintf(out, sizeof(out), __VA_ARGS__), out)

/* The output and the returned length. */
#define T(expect, ...) do {						\
	int n_ = dusk_ksnprintf(out, sizeof(out), __VA_ARGS__);		\
	if (!strcmp(out, (expect)) && n_ == (int)strlen(expect)) {	\
		check_passed++;						\
	} else {							\
		check_failed++;						\
		fprintf(stderr, "%s:%d: FAILED: %s: \"%s\" (%d), want \"%s\"\n", \
			__FILE__, __LINE__, #__VA_ARGS__, out, n_, (expect)); \
	}								\
} while (0)

static void test_numbers(void)
{
	T("0", "%d", 0);
	T("-1", "%d", -1);
	T("-2147483648", "%d", INT_MIN);
	T("4294967295", "%u", UINT_MAX);
	T("-9223372036854775808", "%lld", LLONG_MIN);
	T("18446744073709551615", "%llu", ULLONG_MAX);
	T("-9223372036854775808", "%ld", LONG_MIN);
	T("18446744073709551615", "%zu", SIZE_MAX);
	T("-1", "%zd", (ssize_t)-1);
	T("-5", "%td", (ptrdiff_t)-5);
	T("deadbeef DEADBEEF", "%x %X", 0xdeadbeefU, 0xdeadbeefU);
	T("17", "%o", 15);
	T("0x1f 0X1F", "%#x %#X", 31, 31);
	/* The kernel prefixes 0 in hex ("0x0"); libc would print "0". */
	T("0x0", "%#x", 0);
	T("0 010", "%#o %#o", 0, 8);
	T("   42|42   |00042|-0042", "%5d|%-5d|%05d|%05d", 42, 42, 42, -42);
	T("+5  5 -5", "%+d % d %+d", 5, 5, -5);
	T("005", "%.3d", 5);
	/* %.0d of 0 is "0" in the kernel (C prints nothing). */
	T("0", "%.0d", 0);
	T("  005", "%5.3d", 5);
	T("0x00ff", "%#06x", 255);
	T("ff  |", "%-4x|", 255);
	T("44 255 4464 -1", "%hhd %hhu %hd %hd", 300, -1, 70000, 65535);
	T("65535", "%hu", -1);
	T("1234", "%Lu", 1234ULL);
	T("   -7", "%*d", 5, -7);
	T("-7   |", "%*d|", -5, -7);	/* a negative * width: left */
	T("%", "%%");
	T("a%b", "a%%b");
}

static void test_chars_and_strings(void)
{
	T("A", "%c", 'A');
	T("  A|A  |", "%3c|%-3c|", 'A', 'A');
	T("abc", "%s", "abc");
	T("  abc|abc  |", "%5s|%-5s|", "abc", "abc");
	T("ab", "%.2s", "abc");
	T("  ab", "%*s", 4, "ab");
	T("ab  ", "%-*s", 4, "ab");
	T("ab", "%.*s", 2, "abcdef");
	/* A negative * precision is 0 in the kernel (C: no precision). */
	T("", "%.*s", -1, "abc");
	/* "%.s" has no precision in the kernel (C: precision 0). */
	T("abc", "%.s", "abc");
	T("(null)", "%s", (char *)NULL);
	T("(efault)", "%s", (char *)16);
	T("(efault)", "%s", (char *)-22L);
	T("    (null)", "%10s", (char *)NULL);
	T("(nu", "%.3s", (char *)NULL);
}

static void test_invalid_and_truncation(void)
{
	char small[8];
	int n;

	/* Unsupported conversions stop the output (after a WARNING). */
	T("a", "a%jdb", (intmax_t)1);
	T("x", "x%nz", (int *)NULL);
	T("1.", "1.%f", 2.0);
	T("q", "q%qd", 1LL);

	n = dusk_ksnprintf(small, 5, "%s", "abcdefgh");
	CHECK_EQ(n, 8);
	CHECK(!strcmp(small, "abcd"));
	/* A right-justified field cut short is a prefix of the whole. */
	n = dusk_ksnprintf(small, 4, "%6s", "ab");
	CHECK_EQ(n, 6);
	CHECK(!strcmp(small, "   "));
	n = dusk_ksnprintf(small, 5, "%-6s|", "ab");
	CHECK_EQ(n, 7);
	CHECK(!strcmp(small, "ab  "));
	n = dusk_ksnprintf(small, 3, "%d", 12345);
	CHECK_EQ(n, 5);
	CHECK(!strcmp(small, "12"));
	CHECK_EQ(dusk_ksnprintf(NULL, 0, "%d-%s", 123, "xy"), 6);
	memset(small, 'z', sizeof(small));
	CHECK_EQ(dusk_ksnprintf(small, 0, "abc"), 3);
	CHECK_EQ(small[0], 'z');
	/* size > INT_MAX: 0, nothing written (WARN_ON_ONCE in the kernel) */
	CHECK_EQ(dusk_ksnprintf(small, (size_t)INT_MAX + 1, "abc"), 0);

	CHECK_EQ(__dusk_impl_scnprintf(small, 5, "%s", "abcdefgh"), 4);
	CHECK_EQ(__dusk_impl_scnprintf(small, 0, "%s", "abcdefgh"), 0);
	CHECK_EQ(__dusk_impl_scnprintf(small, 8, "%s", "abc"), 3);
	CHECK_EQ(__dusk_impl_snprintf(small, 5, "%s", "abcdefgh"), 8);
	CHECK_EQ(__dusk_impl_sprintf(small, "%d", 1234567), 7);
	CHECK(!strcmp(small, "1234567"));
}

static void test_ip(void)
{
	uint8_t a4[4] = { 192, 168, 1, 2 };
	uint32_t h4 = 0xc0a80102;	/* host order */
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t lo6[16] = { [15] = 1 }, any6[16] = { 0 };
	uint8_t map6[16] = { [10] = 0xff, [11] = 0xff, 1, 2, 3, 4 };
	uint8_t two6[16] = { 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t one0[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1,
			     0, 1, 0, 1 };
	uint8_t sin[16] = { 2, 0, 0x1f, 0x90, 10, 0, 0, 1 };
	uint8_t sin6[28] = { 10, 0, 0, 80, 0x01, 0x23, 0x45, 0x67,
			     [23] = 1, [24] = 3 };

	T("192.168.1.2", "%pI4", a4);
	T("192.168.001.002", "%pi4", a4);
	T("192.168.1.2", "%pI4h", &h4);
	T("192.168.1.2", "%pI4l", &h4);
	T("192.168.1.2", "%pI4n", a4);
	T("192.168.1.2", "%pI4b", a4);
	T("[    192.168.1.2]", "[%15pI4]", a4);
	T("2001:0db8:0000:0000:0000:0000:0000:0001", "%pI6", a6);
	T("20010db8000000000000000000000001", "%pi6", a6);
	T("2001:db8::1", "%pI6c", a6);
	T("::1", "%pI6c", lo6);
	T("::", "%pI6c", any6);
	T("::ffff:1.2.3.4", "%pI6c", map6);
	T("1:0:0:1::1", "%pI6c", two6);
	T("2001:db8:0:1:1:1:1:1", "%pI6c", one0);
	T("10.0.0.1:8080", "%pISpc", sin);
	T("10.0.0.1", "%pIS", sin);
	T("010.000.000.001", "%piS", sin);
	T("[::1]:80", "%pISpc", sin6);
	T("::1", "%pISc", sin6);
	T("0000:0000:0000:0000:0000:0000:0000:0001", "%pIS", sin6);
	T("[::1]:80/19088743%3", "%pISpfsc", sin6);
	T("(null)", "%pI4", (void *)NULL);
	T("(%pI?)", "%pIx", a4);
	{
		uint8_t bad[16] = { 7, 0 };

		T("(einval)", "%pIS", bad);
	}
}

static void test_mac_hex(void)
{
	uint8_t mac[6] = { 0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc };
	uint8_t b[80];
	unsigned int i;

	T("00:11:22:aa:bb:cc", "%pM", mac);
	T("cc:bb:aa:22:11:00", "%pMR", mac);
	T("00-11-22-aa-bb-cc", "%pMF", mac);
	T("001122aabbcc", "%pm", mac);
	T("ccbbaa221100", "%pmR", mac);
	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	T("00 01 02 03", "%*ph", 4, b);
	T("00:01:02:03", "%*phC", 4, b);
	T("00-01-02-03", "%*phD", 4, b);
	T("00010203", "%*phN", 4, b);
	T("00", "%ph", b);		/* no width: one byte */
	T("", "%*ph", 0, b);
	T("0001", "%2phN", b);
	dusk_ksnprintf(out, sizeof(out), "%*phN", 100, b);
	CHECK_EQ(strlen(out), 128);	/* at most 64 bytes */
}

static void test_other_ext(void)
{
	uint8_t uuid[16] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
			     0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0xff };
	uint64_t phys = 0x1234, feat = 1;
	uint32_t cc = 0x44434241, cc_be = 0x44434241 | 1U << 31;
	unsigned long bm[2] = { 0xa5, 0 }, bm2[2] = { 0xffffffffffULL, 0 };
	unsigned long range[1] = { 0x0f | 0x30 << 4 | 1UL << 40 };

	T("00010203-0405-0607-0809-0a0b0c0d0eff", "%pUb", uuid);
	T("00010203-0405-0607-0809-0A0B0C0D0EFF", "%pUB", uuid);
	T("03020100-0504-0706-0809-0a0b0c0d0eff", "%pUl", uuid);
	T("03020100-0504-0706-0809-0A0B0C0D0EFF", "%pUL", uuid);
	T("0x0000000000001234", "%pa", &phys);
	T("0x0000000000001234", "%pad", &phys);
	T("0x0000000000001234", "%pap", &phys);
	T("0x0000000000000001", "%pNF", &feat);
	T("(%pN?)", "%pNx", &feat);
	T("ABCD little-endian (0x44434241)", "%p4cc", &cc);
	T("ABCD big-endian (0xc4434241)", "%p4cc", &cc_be);
	T("(%p4?)", "%p4xx", &cc);
	T("a5", "%8pb", bm);
	T("00,000000a5", "%40pb", bm);
	T("ff,ffffffff", "%*pb", 40, bm2);
	T("0,2,5,7", "%*pbl", 8, bm);
	T("0-3,8-9,40", "%*pbl", 64, range);
	T("", "%pbl", bm);
	T("-EINVAL", "%pe", (void *)-22L);
	T("-ENOENT", "%pe", (void *)-2L);
	T("-EPROBE_DEFER", "%pe", (void *)-517L);
	T("-ERESTARTSYS", "%pe", (void *)-512L);
	T("-4095", "%pe", (void *)-4095L);
	T("-EAGAIN", "%pe", (void *)-11L);
	T("hi", "%pks", "hi");
	T("(einval)", "%pkx", "hi");
	CHECK(!strcmp(dusk_errname(-22), "-EINVAL"));
	CHECK(!strcmp(dusk_errname(22), "EINVAL"));
	CHECK(dusk_errname(1000) == NULL);
	CHECK(dusk_errname(41) == NULL);
}

static int vf(char *buf, size_t n, const char *fmt, ...)
{
	struct dusk_va_format v;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	v.fmt = fmt;
	v.va = &ap;
	ret = dusk_ksnprintf(buf, n, "<%pV>", &v);
	va_end(ap);
	return ret;
}

static int is_hashed(const char *s)
{
	size_t i;

	if (strlen(s) != 16 || strncmp(s, "00000000", 8))
		return 0;
	for (i = 8; i < 16; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

static void test_pointers(void)
{
	int x, y;
	char a[32], b[32];

	CHECK_EQ(vf(out, sizeof(out), "%d-%s", 7, "v"), 5);
	CHECK(!strcmp(out, "<7-v>"));

	/* %p of the program's memory: a 32-bit hash, stable, distinct. */
	dusk_ksnprintf(a, sizeof(a), "%p", &x);
	dusk_ksnprintf(b, sizeof(b), "%p", &x);
	CHECK(is_hashed(a));
	CHECK(!strcmp(a, b));
	dusk_ksnprintf(b, sizeof(b), "%p", &y);
	CHECK(is_hashed(b) && strcmp(a, b));
	dusk_ksnprintf(b, sizeof(b), "%pK", &x);
	CHECK(!strcmp(a, b));
	/* %pe of an ordinary pointer is %p */
	dusk_ksnprintf(b, sizeof(b), "%pe", &x);
	CHECK(!strcmp(a, b));
	/* NULL and ERR_PTRs are not hashed */
	T("0000000000000000", "%p", (void *)NULL);
	T("ffffffffffffffea", "%p", (void *)-22L);
	T("0000000000001234", "%px", (void *)0x1234);
	T("ffff888000001000", "%px", (void *)0xffff888000001000UL);
	T("  1234", "%6px", (void *)0x1234);
	/* %pS of a function in the program: name+offset/size [object] */
	dusk_ksnprintf(a, sizeof(a), "%pS", (void *)(uintptr_t)printf);
	CHECK(strstr(a, "printf+0x0/0x") != NULL);
	CHECK(strstr(a, " [libc.so.6]") != NULL);
	dusk_ksnprintf(a, sizeof(a), "%pS", (char *)(uintptr_t)printf + 3);
	CHECK(strstr(a, "printf+0x3/0x") != NULL);
	dusk_ksnprintf(a, sizeof(a), "%ps", (void *)(uintptr_t)printf);
	CHECK(!strchr(a, '+') && strstr(a, "printf [libc.so.6]"));
	dusk_ksnprintf(a, sizeof(a), "%pS", (void *)0x1234);
	CHECK(!strcmp(a, "0x1234"));
	/* without a session, a kernel address hashes locally */
	dusk_ksnprintf(a, sizeof(a), "%p", (void *)0xffff888000001000UL);
	CHECK(is_hashed(a));
	dusk_ksnprintf(a, sizeof(a), "%pS", (void *)0xffffffff81000000UL);
	CHECK(!strcmp(a, "0xffffffff81000000"));
	/* an extension only the kernel formats: %p of it without one */
	dusk_ksnprintf(a, sizeof(a), "%pd", &x);
	CHECK(is_hashed(a));
}

/* ---- with the fake kernel ------------------------------------------------- */

static struct fake_kernel fk;
static struct dusk_session *s;
static unsigned int kformats;
static uint64_t last_kmalloc;

#define SYM_SNPRINTF	0xffffffff81100000ULL
#define SYM_KMALLOC	0xffffffff81200000ULL
#define SYM_KFREE	0xffffffff81300000ULL
#define SYM_PRINTK	0xffffffff81400000ULL

static int fk_sym(struct fake_kernel *k, const char *name, uint64_t *addr)
{
	if (!strcmp(name, "snprintf"))
		*addr = SYM_SNPRINTF;
	else if (!strcmp(name, "__kmalloc"))
		*addr = SYM_KMALLOC;
	else if (!strcmp(name, "kfree"))
		*addr = SYM_KFREE;
	else if (!strcmp(name, "_printk"))
		*addr = SYM_PRINTK;
	else
		return -ENOENT;
	return 0;
}

/* The "kernel's" snprintf(buf, size, "%...p<ext>", arg): a recognisable
 * answer per extension. */
static uint64_t fk_call(struct fake_kernel *k, uint64_t fn,
			const uint64_t *args, unsigned int nargs)
{
	if (fn == SYM_SNPRINTF) {
		const char *fmt = (const char *)fk_mem(k, args[2], 1);
		char *buf = (char *)fk_mem(k, args[0], args[1]);
		int n;

		kformats++;
		if (!strcmp(fmt, "%p"))
			n = snprintf(buf, args[1], "0000000012%06llx",
				     (unsigned long long)(args[3] & 0xffffff));
		else if (!strcmp(fmt, "%pS"))
			n = snprintf(buf, args[1], "fake_sym+0x%llx/0x40",
				     (unsigned long long)(args[3] & 0xf));
		else
			n = snprintf(buf, args[1], "kernel(%s)", fmt);
		return (uint64_t)n;
	}
	if (fn == SYM_KMALLOC) {
		last_kmalloc = FK_AREA_DIRECT + 0x4000;
		return last_kmalloc;
	}
	return 0;
}

static void test_kernel_args(void)
{
	uint64_t page = FK_AREA_DIRECT + 0x2000;
	uint8_t *mem = fk_mem(&fk, page - 8, 32);
	uint64_t ip = FK_AREA_DIRECT + 0x3000;
	unsigned int before;
	char a[64], b[64];

	/* A string across a page boundary of kernel memory. */
	memcpy(mem, "kernel-string!", 15);
	T("kernel-string!", "%s", (char *)(uintptr_t)(page - 8));
	T("kern", "%.4s", (char *)(uintptr_t)(page - 8));
	T("[  kernel-string!]", "[%16s]", (char *)(uintptr_t)(page - 8));
	/* %pI4 and %ph of kernel data */
	memcpy(fk_mem(&fk, ip, 4), "\x0a\x01\x02\x03", 4);
	T("10.1.2.3", "%pI4", (void *)(uintptr_t)ip);
	T("0a:01:02:03", "%*phC", 4, (void *)(uintptr_t)ip);
	/* the mirror of kernel memory works as the kernel address does */
	T("10.1.2.3", "%pI4", __dusk_check((void *)(uintptr_t)ip, 4));

	/* %p and %pS of kernel addresses: the kernel's own output, once. */
	before = kformats;
	dusk_ksnprintf(a, sizeof(a), "%p", (void *)(uintptr_t)(ip + 1));
	CHECK(!strcmp(a, "0000000012103001"));
	CHECK_EQ(kformats, before + 1);
	dusk_ksnprintf(b, sizeof(b), "%p", (void *)(uintptr_t)(ip + 1));
	CHECK(!strcmp(a, b));
	CHECK_EQ(kformats, before + 1);		/* cached */
	/* its mirror address is the same object */
	dusk_ksnprintf(b, sizeof(b), "%p", __dusk_check((void *)(uintptr_t)(ip + 1), 1));
	CHECK(!strcmp(a, b));
	T("fake_sym+0x3/0x40", "%pS", (void *)0xffffffff81000003UL);
	T("fake_sym+0x3/0x40", "%pS", (void *)0xffffffff81000003UL);
	CHECK_EQ(kformats, before + 2);
	T("kernel(%pK)", "%pK", (void *)(uintptr_t)ip);
	T("kernel(%-12pd)", "%-12pd", (void *)(uintptr_t)ip);
	/* the program's data for a kernel-only extension goes to the kernel */
	{
		long long t = 0;

		T("kernel(%ptT)", "%ptT", &t);
	}
	dusk_kfmt_cache_flush();
}

static void test_kernel_dest(void)
{
	uint64_t buf = FK_AREA_DIRECT + 0x5000;
	char *k = (char *)(uintptr_t)buf;
	char *p;
	int n;

	memset(fk_mem(&fk, buf, 64), 'x', 64);
	n = __dusk_impl_snprintf(k, 16, "%s-%d", "into-kernel", 42);
	CHECK_EQ(n, 14);
	CHECK(!dusk_commit(s));
	CHECK(!strcmp((char *)fk_mem(&fk, buf, 16), "into-kernel-42"));
	CHECK_EQ(fk_mem(&fk, buf, 16)[15], 'x');	/* only what was written */
	n = __dusk_impl_snprintf(k, 6, "%s", "truncated");
	CHECK_EQ(n, 9);
	CHECK(!dusk_commit(s));
	CHECK(!strcmp((char *)fk_mem(&fk, buf, 16), "trunc"));
	CHECK_EQ(__dusk_impl_scnprintf(k, 6, "%s", "truncated"), 5);
	CHECK_EQ(__dusk_impl_sprintf(k, "%08x", 0xbeef), 8);
	CHECK(!dusk_commit(s));
	CHECK(!strcmp((char *)fk_mem(&fk, buf, 16), "0000beef"));

	/* kasprintf: kernel memory holding the string */
	p = __dusk_impl_kasprintf(0xcc0, "%s=%u", "answer", 42u);
	CHECK((uintptr_t)p == last_kmalloc);
	CHECK(!strcmp((char *)fk_mem(&fk, last_kmalloc, 10), "answer=42"));
}

int main(void)
{
	struct dusk_config cfg;

	test_numbers();
	test_chars_and_strings();
	test_invalid_and_truncation();
	test_ip();
	test_mac_hex();
	test_other_ext();
	test_pointers();

	fk_init(&fk);
	fk.sym = fk_sym;
	fk.call = fk_call;
	fk_config(&cfg);
	if (fk_session_open(&fk, &cfg, &s)) {
		fprintf(stderr, "no session with the fake kernel\n");
		return 1;
	}
	test_kernel_args();
	test_kernel_dest();
	dusk_session_close(s);
	fk_deinit(&fk);
	return check_done("test_klib_fmt");
}
