// SPDX-License-Identifier: GPL-2.0
/*
 * klib-selftest: libdusk's user-level kernel library against a live target
 * kernel; test_klib.py runs it and checks its output against what the
 * target itself says. It links libdusk.a as a module program does and
 * calls the library's functions by their __dusk_impl_ names, as dusk-cc's
 * renaming makes module code call them.
 *
 *	printk TAG	printk with levels, a continuation, %pI4 of kernel
 *			memory, %p and %pS of kernel addresses (the kernel's
 *			own %p of the same address printed next to it by a
 *			kernel call of _printk), then one message with the
 *			kernel log switched off
 *	format		vsnprintf here and the kernel's snprintf on the same
 *			formats and arguments (kernel memory for the
 *			pointers): "format N same" or the differences
 *	strings		kstrto*, kstrtobool, strscpy, strcmp and friends,
 *			in4_pton/in6_pton, simple_strto*, hex2bin, sscanf
 *			here and in the kernel on the same kernel strings
 *	ctx		a lock in kernel memory taken here leaves the word
 *			alone; synchronize_rcu reaches the kernel; kfree_rcu
 *			frees a kernel object only after the grace period:
 *			not while another thread of the program holds
 *			rcu_read_lock (the object stays intact, rcu_barrier
 *			waits), and then really (the kernel's allocator has
 *			poisoned it as free: a slab cache of its own, with
 *			SLAB_POISON, so nothing else allocates from it)
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>

#include "dusk.h"

/* The library's functions, as module code calls them (klib_*.h). */
int __dusk_impl__printk(const char *fmt, ...);
int __dusk_impl_snprintf(char *buf, size_t size, const char *fmt, ...);
int __dusk_impl_kstrtoint(const char *s, unsigned int base, int *res);
int __dusk_impl_kstrtouint(const char *s, unsigned int base, unsigned int *res);
int __dusk_impl_kstrtoll(const char *s, unsigned int base, long long *res);
int __dusk_impl_kstrtoull(const char *s, unsigned int base,
			  unsigned long long *res);
int __dusk_impl_kstrtou8(const char *s, unsigned int base, unsigned char *res);
int __dusk_impl_kstrtos16(const char *s, unsigned int base, short *res);
int __dusk_impl_kstrtobool(const char *s, bool *res);
ssize_t __dusk_impl_strscpy(char *dest, const char *src, size_t count);
int __dusk_impl_strcmp(const char *a, const char *b);
int __dusk_impl_strncmp(const char *a, const char *b, size_t n);
int __dusk_impl_strcasecmp(const char *a, const char *b);
int __dusk_impl_strncasecmp(const char *a, const char *b, size_t n);
int __dusk_impl_memcmp(const void *a, const void *b, size_t n);
char *__dusk_impl_strnstr(const char *a, const char *b, size_t n);
char *__dusk_impl_skip_spaces(const char *s);
char *__dusk_impl_strim(char *s);
unsigned long __dusk_impl_simple_strtoul(const char *cp, char **endp,
					 unsigned int base);
long __dusk_impl_simple_strtol(const char *cp, char **endp, unsigned int base);
int __dusk_impl_hex2bin(unsigned char *dst, const char *src, size_t count);
int __dusk_impl_in4_pton(const char *src, int srclen, unsigned char *dst,
			 int delim, const char **end);
int __dusk_impl_in6_pton(const char *src, int srclen, unsigned char *dst,
			 int delim, const char **end);
int __dusk_impl_sscanf(const char *buf, const char *fmt, ...);
void __dusk_impl__dev_info(const void *dev, const char *fmt, ...);
void __dusk_impl__raw_spin_lock(void *lock);
void __dusk_impl__raw_spin_unlock(void *lock);
void __dusk_impl___rcu_read_lock(void);
void __dusk_impl___rcu_read_unlock(void);
void __dusk_impl_synchronize_rcu(void);
void __dusk_impl_kvfree_call_rcu(void *head, void *func);
void __dusk_impl_rcu_barrier(void);
void dusk_printk_set_outputs(unsigned int outputs);

#define DUSK_PRINTK_LOCAL	1
#define DUSK_PRINTK_KERNEL	2

static struct dusk_session *sess;
static uint64_t arena;
static size_t arena_used;
#define ARENA_SIZE	65536

static void die(const char *what, int err)
{
	fprintf(stderr, "klib-selftest: %s: %s\n", what, strerror(-err));
	exit(1);
}

/* Kernel memory holding data (reset with arena_used = 0). */
static uint64_t kput(const void *data, size_t len)
{
	uint64_t k = arena + arena_used;
	int err;

	if (arena_used + len > ARENA_SIZE)
		die("arena", -ENOMEM);
	err = dusk_kwrite(sess, k, data, len);
	if (err)
		die("kwrite", err);
	arena_used += (len + 15) & ~(size_t)15;
	return k;
}

static uint64_t kstr(const char *s)
{
	return kput(s, strlen(s) + 1);
}

static uint64_t kzalloc_arena(size_t len)
{
	char zero[256] = { 0 };

	return kput(zero, len);
}

static void kget(uint64_t k, void *buf, size_t len)
{
	int err = dusk_kread(sess, k, buf, len);

	if (err)
		die("kread", err);
}

static uint64_t ksym(const char *name)
{
	uint64_t addr;
	int err = dusk_ksym(sess, name, &addr, NULL);

	if (err)
		die(name, err);
	return addr;
}

/* name(args...) in the kernel. */
static uint64_t kcall(const char *name, unsigned int n, ...)
{
	uint64_t args[6], ret;
	unsigned int i;
	va_list ap;
	int err;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		args[i] = va_arg(ap, uint64_t);
	va_end(ap);
	err = dusk_kcall(sess, ksym(name), args, n, &ret);
	if (err)
		die(name, err);
	return ret;
}

#define KP(k)	((void *)(uintptr_t)(k))

/* ---- printk --------------------------------------------------------------- */

static int cmd_printk(const char *tag)
{
	uint64_t ip = kput("\x0a\x01\x02\x03", 4), fn = ksym("kfree");
	uint64_t fmt, dev;

	/* What the kernel itself prints for %p of that address. */
	fmt = kstr("\0016%s: kernel-hash %p\n");
	kcall("_printk", 3, fmt, kstr(tag), ip);

	__dusk_impl__printk("\0016%s: hello %pI4 from %s\n", tag, KP(ip),
			    "user level");
	__dusk_impl__printk("\0013%s: error level %d\n", tag, 3);
	__dusk_impl__printk("\0016%s: cont", tag);
	__dusk_impl__printk("\001cinued\n");
	__dusk_impl__printk("\0016%s: user-hash %p\n", tag, KP(ip));
	__dusk_impl__printk("\0016%s: symbol %pS\n", tag, KP(fn + 1));
	/* dev_info(): the kernel's own line, then ours, for one device */
	dev = ksym("platform_bus");
	kcall("_dev_info", 4, dev, kstr("%s: dev-info %d\n"), kstr(tag), 7ULL);
	__dusk_impl__dev_info(KP(dev), "%s: dev-info %d\n", tag, 8);
	dusk_printk_set_outputs(DUSK_PRINTK_LOCAL);
	__dusk_impl__printk("\0016%s: local only\n", tag);
	dusk_printk_set_outputs(DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL);
	fflush(stdout);
	return 0;
}

/* ---- the format language ------------------------------------------------------ */

/* At most three arguments: the kernel call takes six in all. */
struct fcase {
	const char *fmt;
	size_t size;
	uint64_t a[3];
};

static unsigned int mismatches;

static void compare(const struct fcase *c)
{
	char mine[512], theirs[512];
	uint64_t kbuf, kfmt, ret;
	int n;

	arena_used = 8192;	/* the data below stays */
	kbuf = kzalloc_arena(512);
	kfmt = kstr(c->fmt);
	ret = kcall("snprintf", 6, kbuf, (uint64_t)c->size, kfmt, c->a[0],
		    c->a[1], c->a[2]);
	memset(theirs, 0, sizeof(theirs));
	kget(kbuf, theirs, c->size ? c->size : 1);
	memset(mine, 0, sizeof(mine));
	n = __dusk_impl_snprintf(mine, c->size, c->fmt, c->a[0], c->a[1],
				 c->a[2]);
	if (n != (int)ret || memcmp(mine, theirs, c->size)) {
		mismatches++;
		printf("mismatch %s: kernel=%d \"%s\" user=%d \"%s\"\n", c->fmt,
		       (int)ret, theirs, n, mine);
	}
}

static int cmd_format(void)
{
	uint64_t d, ip4, ip6, ip6m, mac, bytes, uuid, sin, sin6, phys, str, fn;
	uint64_t bm;
	uint8_t b[64];
	unsigned int i, n;

	arena_used = 0;
	d = kzalloc_arena(16);
	ip4 = kput("\xc0\xa8\x01\x02", 4);
	ip6 = kput("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	ip6m = kput("\0\0\0\0\0\0\0\0\0\0\xff\xff\x01\x02\x03\x04", 16);
	mac = kput("\x00\x11\x22\xaa\xbb\xcc", 6);
	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7);
	bytes = kput(b, sizeof(b));
	uuid = kput("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\xff", 16);
	sin = kput("\x02\x00\x1f\x90\x0a\x00\x00\x01\0\0\0\0\0\0\0\0", 16);
	sin6 = kput("\x0a\x00\x00\x50\x01\x23\x45\x67"
		    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x03\0\0\0", 28);
	phys = kput("\x34\x12\0\0\0\0\0\0", 8);
	bm = kput("\xa5\x0f\0\0\x01\0\0\0", 8);
	str = kstr("a kernel string");
	fn = ksym("kfree");
	(void)d;

	const struct fcase cases[] = {
		{ "%d|%5d|%-5d|", 64, { 42, 42, (uint64_t)-42 } },
		{ "%05d|%05d|%-05d|", 64, { 42, (uint64_t)-42, 7 } },
		{ "%i %u %u", 64, { (uint64_t)-1, (uint64_t)-1, 0 } },
		{ "%x %X %o", 64, { 0xdeadbeef, 0xdeadbeef, 8 } },
		{ "%#x %#X %#o", 64, { 0, 255, 0 } },
		{ "%#o %#06x %-#8x|", 64, { 8, 255, 255 } },
		{ "%+d % d %+d", 64, { 5, 5, (uint64_t)-5 } },
		{ "%.3d %.0d %5.3d", 64, { 5, 0, 5 } },
		{ "%hhd %hhu %hd", 64, { 300, (uint64_t)-1, 70000 } },
		{ "%ld %lu %lld", 64, { (uint64_t)-1, (uint64_t)-1, 1ULL << 63 } },
		{ "%zu %zd %td", 64, { (uint64_t)-1, (uint64_t)-1, (uint64_t)-7 } },
		{ "%Lu %llx %lX", 64, { 1ULL << 40, 1ULL << 40, 0xabcdef } },
		{ "%c%3c%-3c|", 64, { 'a', 'b', 'c' } },
		{ "%*d|", 64, { 6, 7, 0 } },
		{ "%-*d|", 64, { 4, 7, 0 } },
		{ "%*d|", 64, { (uint64_t)-6, 7, 0 } },
		{ "%%|%5%|%c", 64, { 'x', 0, 0 } },
		{ "[%s] [%20s] [%-20s]", 128, { str, str, str } },
		{ "[%.5s] [%.*s]", 64, { str, 3, str } },
		{ "[%.*s]", 64, { (uint64_t)-1, str, 0 } },
		{ "[%.s]", 64, { str, 0, 0 } },
		{ "[%s] [%s] [%10s]", 64, { 0, 16, 0 } },
		{ "%s", 8, { str, 0, 0 } },
		{ "%12s", 6, { str, 0, 0 } },
		{ "%d", 3, { 12345, 0, 0 } },
		{ "%s", 0, { str, 0, 0 } },
		{ "%pI4 %pi4 %pI4n", 64, { ip4, ip4, ip4 } },
		{ "%pI4h %pI4l [%17pI4]", 64, { ip4, ip4, ip4 } },
		{ "%pI6", 64, { ip6, 0, 0 } },
		{ "%pi6 %pI6c", 128, { ip6, ip6, 0 } },
		{ "%pI6c %pI6c", 128, { ip6m, bytes, 0 } },
		{ "%pISpc %pIS %piS", 128, { sin, sin, sin } },
		{ "%pISpc %pISc %pISpfsc", 160, { sin6, sin6, sin6 } },
		{ "%pIS", 128, { sin6, 0, 0 } },
		{ "%pM %pMR %pMF", 128, { mac, mac, mac } },
		{ "%pm %pmR", 64, { mac, mac, 0 } },
		{ "%*ph|", 128, { 8, bytes, 0 } },
		{ "%*phC|", 128, { 5, bytes, 0 } },
		{ "%*phD|", 128, { 6, bytes, 0 } },
		{ "%*phN|", 128, { 7, bytes, 0 } },
		{ "%ph|%2phN", 64, { bytes, bytes, 0 } },
		{ "%*ph", 256, { 70, bytes, 0 } },
		{ "%pUb %pUB", 128, { uuid, uuid, 0 } },
		{ "%pUl %pUL", 128, { uuid, uuid, 0 } },
		{ "%pa %pad %pap", 128, { phys, phys, phys } },
		{ "%pNF", 64, { phys, 0, 0 } },
		{ "%8pb %40pb", 64, { bm, bm, 0 } },
		{ "%*pbl", 64, { 64, bm, 0 } },
		{ "%pe %pe %pe", 128, { (uint64_t)-22, (uint64_t)-517,
					(uint64_t)-4095 } },
		{ "%pe", 64, { (uint64_t)-11, 0, 0 } },
		{ "%p %pK %px", 128, { ip4, ip4, ip4 } },
		{ "%p %p", 128, { 0, (uint64_t)-22, 0 } },
		{ "%20p|%-20p|", 128, { ip4, ip4, 0 } },
		{ "%pS %ps %pB", 256, { fn, fn + 3, fn + 1 } },
		{ "%pI4 %pM", 64, { 0, 16, 0 } },
		{ "%pks", 64, { str, 0, 0 } },
	};

	n = sizeof(cases) / sizeof(cases[0]);
	for (i = 0; i < n; i++)
		compare(&cases[i]);
	/* %pe of every errno the kernel names and of those it does not: the
	 * runtime's names are generated from the kernel's headers
	 * (build-aux/gen-errnames), lib/errname.c is not among them. */
	for (i = 1; i <= 600; i += 3, n++) {
		struct fcase c = { "%pe %pe %pe", 128, {
			(uint64_t)-(int64_t)i, (uint64_t)-(int64_t)(i + 1),
			(uint64_t)-(int64_t)(i + 2) } };

		compare(&c);
	}
	printf("format %u %s\n", n, mismatches ? "differ" : "same");
	return 0;
}

/* ---- strings and numbers ---------------------------------------------------------- */

static void same(const char *what, long long kernel, long long user)
{
	if (kernel != user) {
		mismatches++;
		printf("mismatch %s: kernel=%lld user=%lld\n", what, kernel,
		       user);
	}
}

#define KSTRTO(fn, type, s, base) do {					\
	uint64_t ks_ = kstr(s), kr_ = kzalloc_arena(8);			\
	type ur_ = 0, kres_ = 0;					\
	int kret_ = (int)kcall(#fn, 3, ks_, (uint64_t)(base), kr_);	\
	int uret_ = __dusk_impl_##fn(KP(ks_), (base), &ur_);		\
	char what_[96];							\
									\
	kget(kr_, &kres_, sizeof(kres_));				\
	snprintf(what_, sizeof(what_), #fn "(\"%s\", %d)", (s), (base));	\
	same(what_, kret_, uret_);					\
	if (!kret_)							\
		same(what_, (long long)kres_, (long long)ur_);		\
	count++;							\
} while (0)

static int cmd_strings(void)
{
	static const char *const ints[] = {
		"0", "123", "-123", "+5", "0x1f", "0X1F", "010", "5\n",
		"5\n\n", "", " 5", "5 ", "-", "0x", "12a", "2147483647",
		"2147483648", "-2147483648", "-2147483649", "4294967295",
		"4294967296", "18446744073709551615", "18446744073709551616",
		"-9223372036854775808", "9223372036854775808", "--1", "+-1",
		"0777", "08", "1f", "0b1", "0xffffffffffffffff",
	};
	static const char *const bools[] = {
		"y", "Y", "yes", "n", "N", "no", "1", "0", "on", "ON", "off",
		"oFf", "o", "true", "t", "false", "f", "F", "enable", "e",
		"disable", "d", "x", "", "2", "on\n",
	};
	static const char *const pairs[][2] = {
		{ "abc", "abd" }, { "abd", "abc" }, { "abc", "abc" },
		{ "ab", "abc" }, { "\xff", "a" }, { "ABC", "abd" },
		{ "HeLLo", "hello" }, { "\xc4x", "\xe4X" }, { "b", "A" },
		{ "a", "" },
	};
	static const char *const v4[] = {
		"192.168.1.2", "1.2.3", "256.1.1.1", "1..2.3", "1.2.3.4.5",
		"10.0.0.1:80", "0.0.0.0", "1.2.3.4 rest", "01.2.3.4",
	};
	static const char *const v6[] = {
		"2001:db8::1", "::", "::1", "::ffff:1.2.3.4", "1::2::3",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "12345::",
		"fe80::1%eth0", "1:2:3:4:5:6:1.2.3.4", ":1", "1:",
		"a:b:c:d:e:f:0:1 x",
	};
	static const int bases[] = { 0, 10, 16, 8 };
	unsigned int i, j, count = 0;

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		for (j = 0; j < sizeof(bases) / sizeof(bases[0]); j++) {
			arena_used = 0;
			KSTRTO(kstrtoint, int, ints[i], bases[j]);
			KSTRTO(kstrtouint, unsigned int, ints[i], bases[j]);
			KSTRTO(kstrtoll, long long, ints[i], bases[j]);
			KSTRTO(kstrtoull, unsigned long long, ints[i], bases[j]);
			KSTRTO(kstrtou8, unsigned char, ints[i], bases[j]);
			KSTRTO(kstrtos16, short, ints[i], bases[j]);
		}
	}
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		uint64_t ks, kr;
		bool ub = false, kb = false;
		int kret, uret;
		char what[64];

		arena_used = 0;
		ks = kstr(bools[i]);
		kr = kzalloc_arena(8);
		kret = (int)kcall("kstrtobool", 2, ks, kr);
		uret = __dusk_impl_kstrtobool(KP(ks), &ub);
		kget(kr, &kb, 1);
		snprintf(what, sizeof(what), "kstrtobool(\"%s\")", bools[i]);
		same(what, kret, uret);
		if (!kret)
			same(what, kb, ub);
		count++;
	}
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		uint64_t a, b;
		char what[64];
		size_t n;

		arena_used = 0;
		a = kstr(pairs[i][0]);
		b = kstr(pairs[i][1]);
		n = strlen(pairs[i][0]) + 1;
		snprintf(what, sizeof(what), "strcmp #%u", i);
		same(what, (int)kcall("strcmp", 2, a, b),
		     __dusk_impl_strcmp(KP(a), KP(b)));
		snprintf(what, sizeof(what), "strncmp #%u", i);
		same(what, (int)kcall("strncmp", 3, a, b, 2ULL),
		     __dusk_impl_strncmp(KP(a), KP(b), 2));
		snprintf(what, sizeof(what), "strcasecmp #%u", i);
		same(what, (int)kcall("strcasecmp", 2, a, b),
		     __dusk_impl_strcasecmp(KP(a), KP(b)));
		snprintf(what, sizeof(what), "strncasecmp #%u", i);
		same(what, (int)kcall("strncasecmp", 3, a, b, 3ULL),
		     __dusk_impl_strncasecmp(KP(a), KP(b), 3));
		snprintf(what, sizeof(what), "memcmp #%u", i);
		same(what, (int)kcall("memcmp", 3, a, b, (uint64_t)n),
		     __dusk_impl_memcmp(KP(a), KP(b), n));
		count += 5;
	}
	for (i = 0; i < 12; i++) {
		/* strscpy of "hello world" into i bytes: its return code and
		 * what it leaves */
		uint64_t src, dk, du;
		char kd[16], ud[16], what[64];

		arena_used = 0;
		src = kstr("hello world");
		dk = kstr("###############");
		du = kstr("###############");
		snprintf(what, sizeof(what), "strscpy(%u)", i);
		same(what, (long long)kcall("strscpy", 3, dk, src, (uint64_t)i),
		     __dusk_impl_strscpy(KP(du), KP(src), i));
		dusk_commit(sess);
		kget(dk, kd, 16);
		kget(du, ud, 16);
		same(what, memcmp(kd, ud, 16), 0);
		count++;
	}
	for (i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		uint64_t s, kd, ud, ke, ue;
		uint8_t ka[4], ua[4];
		uint64_t kend = 0, uend = 0;
		char what[64];
		int kret, uret;

		arena_used = 0;
		s = kstr(v4[i]);
		kd = kzalloc_arena(16);
		ud = kzalloc_arena(16);
		ke = kzalloc_arena(8);
		ue = kzalloc_arena(8);
		kret = (int)kcall("in4_pton", 5, s, (uint64_t)-1, kd,
				  (uint64_t)-1, ke);
		uret = __dusk_impl_in4_pton(KP(s), -1, KP(ud), -1, KP(ue));
		dusk_commit(sess);
		kget(kd, ka, 4);
		kget(ud, ua, 4);
		kget(ke, &kend, 8);
		kget(ue, &uend, 8);
		snprintf(what, sizeof(what), "in4_pton(\"%s\")", v4[i]);
		same(what, kret, uret);
		same(what, memcmp(ka, ua, 4), 0);
		same(what, (long long)(kend - s), (long long)(uend - s));
		count++;
	}
	for (i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		uint64_t s, kd, ud, ke, ue;
		uint8_t ka[16], ua[16];
		uint64_t kend = 0, uend = 0;
		char what[64];
		int kret, uret;

		arena_used = 0;
		s = kstr(v6[i]);
		kd = kzalloc_arena(16);
		ud = kzalloc_arena(16);
		ke = kzalloc_arena(8);
		ue = kzalloc_arena(8);
		kret = (int)kcall("in6_pton", 5, s, (uint64_t)-1, kd,
				  (uint64_t)'%', ke);
		uret = __dusk_impl_in6_pton(KP(s), -1, KP(ud), '%', KP(ue));
		dusk_commit(sess);
		kget(kd, ka, 16);
		kget(ud, ua, 16);
		kget(ke, &kend, 8);
		kget(ue, &uend, 8);
		snprintf(what, sizeof(what), "in6_pton(\"%s\")", v6[i]);
		same(what, kret, uret);
		same(what, memcmp(ka, ua, 16), 0);
		same(what, (long long)(kend - s), (long long)(uend - s));
		count++;
	}
	{
		/* simple_strto*: value and end */
		static const char *const nums[] = {
			"0x1fz", "-12abc", "777", "  5", "-0x10", "08", "0x",
			"99999999999999999999x",
		};

		for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			uint64_t s, ke, kend = 0;
			char *uend = NULL, what[64];

			arena_used = 0;
			s = kstr(nums[i]);
			ke = kzalloc_arena(8);
			snprintf(what, sizeof(what), "simple_strtoul(\"%s\")",
				 nums[i]);
			same(what, (long long)kcall("simple_strtoul", 3, s, ke,
						    0ULL),
			     (long long)__dusk_impl_simple_strtoul(KP(s), &uend,
								   0));
			kget(ke, &kend, 8);
			same(what, (long long)(kend - s),
			     (long long)((uintptr_t)uend - s));
			snprintf(what, sizeof(what), "simple_strtol(\"%s\")",
				 nums[i]);
			same(what, (long long)kcall("simple_strtol", 3, s, 0ULL,
						    10ULL),
			     __dusk_impl_simple_strtol(KP(s), NULL, 10));
			count += 2;
		}
	}
	{
		/* strnstr, skip_spaces, strim: the pointers they return */
		uint64_t s = (arena_used = 0, kstr("  hello, world \t "));
		char what[64];

		snprintf(what, sizeof(what), "strnstr");
		same(what, (long long)kcall("strnstr", 3, s, kstr("world"),
					    13ULL),
		     (long long)(uintptr_t)__dusk_impl_strnstr(KP(s),
							       KP(kstr("world")),
							       13));
		same(what, (long long)kcall("strnstr", 3, s, kstr("world"),
					    12ULL),
		     (long long)(uintptr_t)__dusk_impl_strnstr(KP(s),
							       KP(kstr("world")),
							       12));
		same("skip_spaces", (long long)kcall("skip_spaces", 1, s),
		     (long long)(uintptr_t)__dusk_impl_skip_spaces(KP(s)));
		same("strim", (long long)kcall("strim", 1, s),
		     (long long)(uintptr_t)__dusk_impl_strim(KP(s)));
		count += 4;
	}
	{
		/* hex2bin */
		static const char *const hex[] = { "0aFf", "12zz", "g0", "" };

		for (i = 0; i < 4; i++) {
			uint64_t s, kd, ud;
			uint8_t kb[4] = { 0 }, ub[4] = { 0 };

			arena_used = 0;
			s = kstr(hex[i]);
			kd = kzalloc_arena(8);
			ud = kzalloc_arena(8);
			same("hex2bin", (int)kcall("hex2bin", 3, kd, s,
						   (uint64_t)strlen(hex[i]) / 2),
			     __dusk_impl_hex2bin(KP(ud), KP(s), strlen(hex[i]) / 2));
			dusk_commit(sess);
			kget(kd, kb, 4);
			kget(ud, ub, 4);
			same("hex2bin bytes", memcmp(kb, ub, 4), 0);
			count++;
		}
	}
	{
		/* sscanf: conversions and values */
		static const struct {
			const char *in, *fmt;
		} sc[] = {
			{ "12 34 56", "%d %d %d" }, { "12345", "%2d%3d%d" },
			{ "0x10 010 10", "%i %i %i" }, { "ff 7 -3", "%x %o %u" },
			{ "1-2", "%d:%d" }, { "  -7 9", "%d%d" },
			{ "300 1", "%hhu %d" },
		};

		for (i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
			uint64_t in, fmt, kv;
			int kvals[3], uvals[3] = { 0, 0, 0 };
			char what[64];

			arena_used = 0;
			in = kstr(sc[i].in);
			fmt = kstr(sc[i].fmt);
			kv = kzalloc_arena(16);
			snprintf(what, sizeof(what), "sscanf(\"%s\", \"%s\")",
				 sc[i].in, sc[i].fmt);
			same(what, (int)kcall("sscanf", 5, in, fmt, kv, kv + 4,
					      kv + 8),
			     __dusk_impl_sscanf(KP(in), sc[i].fmt, &uvals[0],
						&uvals[1], &uvals[2]));
			kget(kv, kvals, sizeof(kvals));
			same(what, memcmp(kvals, uvals, sizeof(kvals)), 0);
			count++;
		}
	}
	printf("strings %u %s\n", count, mismatches ? "differ" : "same");
	return 0;
}

/* ---- context ------------------------------------------------------------------------ */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * kfree_rcu's grace period. A reader thread holds rcu_read_lock from
 * before kfree_rcu until RCU_HOLD_MS after rcu_barrier has been entered,
 * reading the object meanwhile; then rcu_barrier must return, and the
 * object be free in the kernel.
 */

/* 6.1 include/linux/slab.h and include/linux/poison.h: what SLUB writes
 * over a freed object of a SLAB_POISON cache. */
#define K_SLAB_POISON	0x00000800UL
#define K_POISON_FREE	0x6b
#define K_POISON_END	0xa5
#define RCU_OBJ_SIZE	64
#define RCU_PATTERN	0x5c

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int reading;		/* the reader holds rcu_read_lock */
	int barrier_entered;	/* the main thread is in rcu_barrier */
	int barrier_done;	/* rcu_barrier has returned */
	uint64_t obj, hold_ms;
	/* the reader's findings */
	uint64_t held_ms, unlocked_ms;
	unsigned int reads, intact, done_early;
	int err;
} rr = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

static int obj_is(uint64_t k, int (*want)(const uint8_t *b, size_t i))
{
	uint8_t b[RCU_OBJ_SIZE];
	size_t i;
	int err = dusk_kread(sess, k, b, sizeof(b));

	if (err)
		return err;
	for (i = 0; i < sizeof(b); i++)
		if (!want(b, i))
			return 0;
	return 1;
}

static int is_pattern(const uint8_t *b, size_t i)
{
	return b[i] == RCU_PATTERN;
}

static int is_free_poison(const uint8_t *b, size_t i)
{
	return b[i] == (i == RCU_OBJ_SIZE - 1 ? K_POISON_END : K_POISON_FREE);
}

static void *rcu_reader(void *arg)
{
	uint64_t t0, deadline;
	int ok;

	(void)arg;
	__dusk_impl___rcu_read_lock();
	pthread_mutex_lock(&rr.mu);
	rr.reading = 1;
	pthread_cond_broadcast(&rr.cv);
	deadline = now_ms() + 30000;
	while (!rr.barrier_entered && now_ms() < deadline) {
		pthread_mutex_unlock(&rr.mu);
		usleep(1000);
		pthread_mutex_lock(&rr.mu);
	}
	pthread_mutex_unlock(&rr.mu);
	/* rcu_barrier is running (or about to): it must wait for us. The
	 * main thread makes no request while it waits, so the session is
	 * this thread's. */
	t0 = now_ms();
	do {
		ok = obj_is(rr.obj, is_pattern);
		if (ok < 0) {
			rr.err = ok;
			break;
		}
		rr.reads++;
		rr.intact += ok;
		pthread_mutex_lock(&rr.mu);
		rr.done_early += rr.barrier_done;
		pthread_mutex_unlock(&rr.mu);
		usleep(50000);
	} while (now_ms() - t0 < rr.hold_ms);
	rr.held_ms = now_ms() - t0;
	rr.unlocked_ms = now_ms();
	__dusk_impl___rcu_read_unlock();
	return NULL;
}

static int cmd_ctx(void)
{
	uint64_t lock, cache, obj, t0, sync_ms, done_ms;
	uint32_t word = 0xdead;
	uint8_t fill[RCU_OBJ_SIZE];
	char name[64];
	pthread_t reader;
	int freed;

	arena_used = 0;
	lock = kput("\0\0\0\0", 4);
	__dusk_impl__raw_spin_lock(KP(lock));
	dusk_commit(sess);
	kget(lock, &word, 4);
	printf("lock word while held %u\n", word);
	__dusk_impl__raw_spin_unlock(KP(lock));

	t0 = now_ms();
	__dusk_impl_synchronize_rcu();
	sync_ms = now_ms() - t0;
	printf("synchronize_rcu %llu ms\n", (unsigned long long)sync_ms);

	/* An object of a cache of its own, filled with a pattern. */
	snprintf(name, sizeof(name), "klib_selftest_rcu_%d", (int)getpid());
	cache = kcall("kmem_cache_create", 5, kstr(name),
		      (uint64_t)RCU_OBJ_SIZE, 0ULL, K_SLAB_POISON, 0ULL);
	if (!cache)
		die("kmem_cache_create", -ENOMEM);
	obj = kcall("kmem_cache_alloc", 2, cache, 0xcc0ULL);	/* GFP_KERNEL */
	if (!obj)
		die("kmem_cache_alloc", -ENOMEM);
	memset(fill, RCU_PATTERN, sizeof(fill));
	if (dusk_kwrite(sess, obj, fill, sizeof(fill)))
		die("kwrite", -EIO);
	printf("kfree_rcu object pattern %s\n",
	       obj_is(obj, is_pattern) == 1 ? "yes" : "no");

	/* A reader in another thread; kfree_rcu; rcu_barrier. */
	rr.obj = obj;
	rr.hold_ms = sync_ms * 10 > 1000 ? sync_ms * 10 : 1000;
	if (rr.hold_ms > 10000)
		rr.hold_ms = 10000;	/* well before the RCU stall warning */
	if (pthread_create(&reader, NULL, rcu_reader, NULL))
		die("pthread_create", -EAGAIN);
	pthread_mutex_lock(&rr.mu);
	while (!rr.reading)
		pthread_cond_wait(&rr.cv, &rr.mu);
	pthread_mutex_unlock(&rr.mu);
	__dusk_impl_kvfree_call_rcu(NULL, KP(obj));
	pthread_mutex_lock(&rr.mu);
	rr.barrier_entered = 1;
	pthread_mutex_unlock(&rr.mu);
	__dusk_impl_rcu_barrier();
	done_ms = now_ms();
	pthread_mutex_lock(&rr.mu);
	rr.barrier_done = 1;
	pthread_mutex_unlock(&rr.mu);
	pthread_join(reader, NULL);
	if (rr.err)
		die("kread in the reader", rr.err);
	printf("kfree_rcu reader held %llu ms reads %u intact %u barrier-returned %u\n",
	       (unsigned long long)rr.held_ms, rr.reads, rr.intact,
	       rr.done_early);
	printf("kfree_rcu barrier after reader %s\n",
	       done_ms >= rr.unlocked_ms ? "yes" : "no");

	/* Freed by the kernel's allocator: poisoned as free. */
	freed = obj_is(obj, is_free_poison);
	printf("kfree_rcu freed %s\n", freed == 1 ? "yes" : "no");
	if (freed == 1)
		kcall("kmem_cache_destroy", 1, cache);
	else
		printf("kfree_rcu cache %s left (an object may be live)\n", name);
	return 0;
}

int main(int argc, char **argv)
{
	struct dusk_config cfg;
	int err, ret;

	dusk_set_log(dusk_log_stderr);
	if (argc < 2) {
		fprintf(stderr, "usage: klib-selftest printk TAG|format|strings|ctx\n");
		return 2;
	}
	err = dusk_config_init(&cfg);
	if (!err)
		err = dusk_session_open(&cfg, &sess);
	if (err)
		die("session", err);
	err = dusk_kalloc(sess, ARENA_SIZE, 1, &arena);
	if (err)
		die("kalloc", err);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "printk") && argc > 2)
		ret = cmd_printk(argv[2]);
	else if (!strcmp(argv[1], "format"))
		ret = cmd_format();
	else if (!strcmp(argv[1], "strings"))
		ret = cmd_strings();
	else if (!strcmp(argv[1], "ctx"))
		ret = cmd_ctx();
	else
		ret = 2;
	dusk_session_close(sess);
	return ret;
}
