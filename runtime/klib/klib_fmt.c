// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The kernel's vsnprintf() at user level (see klib_fmt.h for what is
 * formatted here and what the kernel formats). Written from the
 * semantics of Linux 6.1's lib/vsprintf.c and printk-formats.rst: output
 * goes through a [str, end) cursor that counts what would be written, so
 * a truncated result is always a prefix of the whole one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kerrnames.h"
#include "klib.h"
#include "klib_fmt.h"
#include "klib_string.h"
#include "log.h"
#include "session.h"
#include "util.h"

/* Set while a report formats (dusk_klib_local_only()): no kernel calls. */
static __thread int fmt_local_only;

/*
 * The value the kernel would see for pointer p: a mirror address's kernel
 * address, and a kernel function's stub in the program (what module code
 * holds for &kfree) that function's kernel address, so that %p, %px and
 * %pS of it print what the .ko prints.
 */
static uintptr_t kernel_value(const void *p)
{
	uintptr_t v = dusk_klib_ident(p);
	uint64_t k;

	if (v < DUSK_KERNEL_MIN && !fmt_local_only &&
	    dusk_klib_host.kfunc_kaddr && (k = dusk_klib_host.kfunc_kaddr(v)))
		return (uintptr_t)k;
	return v;
}

#define F_SIGN		1	/* unsigned/signed */
#define F_LEFT		2	/* left justified */
#define F_PLUS		4	/* show plus */
#define F_SPACE		8	/* space if plus */
#define F_ZEROPAD	16	/* pad with zero */
#define F_SMALL		32	/* lowercase hex */
#define F_SPECIAL	64	/* 0x prefix for hex, 0 for octal */

#define FIELD_WIDTH_MAX	((1 << 23) - 1)
#define PRECISION_MAX	((1 << 15) - 1)
#define KSYM_LEN	512

enum kfmt_type {
	T_NONE,
	T_CHAR,
	T_STR,
	T_PTR,
	T_PERCENT,
	T_INVALID,
	T_LONG_LONG,
	T_ULONG,
	T_LONG,
	T_UBYTE,
	T_BYTE,
	T_USHORT,
	T_SHORT,
	T_UINT,
	T_INT,
	T_SIZE_T,
	T_PTRDIFF,
};

struct kspec {
	enum kfmt_type type;
	int width;		/* -1: none */
	unsigned int flags;
	unsigned int base;
	int prec;		/* -1: none */
};

struct kout {
	char *str;
	char *end;
};

static const char hex_lo[] = "0123456789abcdef";
static const char hex_up[] = "0123456789ABCDEF";

static inline void out_c(struct kout *o, char c)
{
	if (o->str < o->end)
		*o->str = c;
	o->str++;
}

static void out_pad(struct kout *o, char c, int n)
{
	while (n-- > 0)
		out_c(o, c);
}

static const struct kspec dec_spec = { .width = -1, .base = 10, .prec = -1 };

/* ---- numbers and strings ------------------------------------------------- */

static void number(struct kout *o, unsigned long long num, struct kspec spec)
{
	char tmp[3 * sizeof(num)];
	char sign = 0, locase = (spec.flags & F_SMALL) ? 0x20 : 0;
	int need_pfx = (spec.flags & F_SPECIAL) && spec.base != 10;
	int is_zero = num == 0;
	int width = spec.width, prec = spec.prec;
	int i = 0;

	if (spec.flags & F_LEFT)
		spec.flags &= ~F_ZEROPAD;
	if (spec.flags & F_SIGN) {
		if ((long long)num < 0) {
			sign = '-';
			num = -(unsigned long long)num;
			width--;
		} else if (spec.flags & F_PLUS) {
			sign = '+';
			width--;
		} else if (spec.flags & F_SPACE) {
			sign = ' ';
			width--;
		}
	}
	if (need_pfx) {
		if (spec.base == 16)
			width -= 2;
		else if (!is_zero)
			width--;
	}
	/* Digits in reverse; a zero is one digit even with precision 0. */
	do {
		tmp[i++] = hex_up[num % spec.base] | locase;
		num /= spec.base;
	} while (num);
	if (i > prec)
		prec = i;
	width -= prec;
	if (!(spec.flags & (F_ZEROPAD | F_LEFT))) {
		out_pad(o, ' ', width);
		width = 0;
	}
	if (sign)
		out_c(o, sign);
	if (need_pfx) {
		if (spec.base == 16 || !is_zero)
			out_c(o, '0');
		if (spec.base == 16)
			out_c(o, 'X' | locase);
	}
	if (!(spec.flags & F_LEFT)) {
		out_pad(o, (spec.flags & F_ZEROPAD) ? '0' : ' ', width);
		width = 0;
	}
	out_pad(o, '0', prec - i);
	while (--i >= 0)
		out_c(o, tmp[i]);
	out_pad(o, ' ', width);
}

static void special_hex_number(struct kout *o, unsigned long long num,
			       int size)
{
	struct kspec spec = {
		.width = 2 + 2 * size,
		.flags = F_SPECIAL | F_SMALL | F_ZEROPAD,
		.base = 16,
		.prec = -1,
	};

	number(o, num, spec);
}

/* s[0, len) with the field's padding: the string is local memory. */
static void out_field(struct kout *o, const char *s, int len, struct kspec spec)
{
	int pad = spec.width > len ? spec.width - len : 0;

	if (!(spec.flags & F_LEFT))
		out_pad(o, ' ', pad);
	while (len-- > 0)
		out_c(o, *s++);
	if (spec.flags & F_LEFT)
		out_pad(o, ' ', pad);
}

/* string_nocheck(): up to precision bytes of a local string. */
static void string_nocheck(struct kout *o, const char *s, struct kspec spec)
{
	size_t n = spec.prec < 0 ? strlen(s) : strnlen(s, (size_t)spec.prec);

	out_field(o, s, (int)DUSK_MIN(n, (size_t)INT_MAX), spec);
}

static void error_string(struct kout *o, const char *s, struct kspec spec)
{
	if (spec.prec == -1)
		spec.prec = 2 * sizeof(void *);
	string_nocheck(o, s, spec);
}

static const char *check_pointer_msg(const void *p)
{
	if (!p)
		return "(null)";
	if ((uintptr_t)p < DUSK_PAGE_SIZE || (uintptr_t)p >= (uintptr_t)-4095)
		return "(efault)";
	return NULL;
}

static int check_pointer(struct kout *o, const void *p, struct kspec spec)
{
	const char *msg = check_pointer_msg(p);

	if (msg) {
		error_string(o, msg, spec);
		return -EFAULT;
	}
	return 0;
}

/* [p, p + n) readable here: the mirror of kernel memory, or p. */
static const uint8_t *readable(const void *p, size_t n)
{
	return __dusk_check(p, n ? n : 1);
}

static void string(struct kout *o, const char *s, struct kspec spec)
{
	if (check_pointer(o, s, spec))
		return;
	if (dusk_klib_remote(s))
		s = spec.prec >= 0 ? __dusk_check_strn(s, (size_t)spec.prec) :
				     __dusk_check_str(s);
	string_nocheck(o, s, spec);
}

static void pointer_string(struct kout *o, uintptr_t v, struct kspec spec)
{
	spec.base = 16;
	spec.flags |= F_SMALL;
	if (spec.width == -1) {
		spec.width = 2 * sizeof(void *);
		spec.flags |= F_ZEROPAD;
	}
	number(o, v, spec);
}

/* ---- what the kernel formats ---------------------------------------------- */

/* The conversion as the kernel is to see it: flags, width, precision,
 * 'p' and the extension letters. */
static void spec_text(char *buf, size_t len, struct kspec spec,
		      const char *ext, size_t ext_len)
{
	size_t n = 0;

	buf[n++] = '%';
	if (spec.flags & F_LEFT)
		buf[n++] = '-';
	if (spec.flags & F_PLUS)
		buf[n++] = '+';
	if (spec.flags & F_SPACE)
		buf[n++] = ' ';
	if (spec.flags & F_SPECIAL)
		buf[n++] = '#';
	if (spec.flags & F_ZEROPAD)
		buf[n++] = '0';
	if (spec.width >= 0)
		n += (size_t)snprintf(buf + n, len - n, "%d", spec.width);
	if (spec.prec >= 0)
		n += (size_t)snprintf(buf + n, len - n, ".%d", spec.prec);
	snprintf(buf + n, len - n, "p%.*s", (int)ext_len, ext);
}

/* Kernel-formatted values that only depend on the address within one
 * boot (%p, %pK, %pS...): cached for the session. */
#define KCACHE_SLOTS	256

struct kcache_ent {
	uint64_t arg;
	char spec[32];
	char *val;
};

static pthread_mutex_t kcache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kcache_ent kcache[KCACHE_SLOTS];
static struct dusk_session *kcache_s;
static uint32_t kcache_sid;

void dusk_kfmt_cache_flush(void)
{
	unsigned int i;

	pthread_mutex_lock(&kcache_mu);
	for (i = 0; i < KCACHE_SLOTS; i++) {
		free(kcache[i].val);
		memset(&kcache[i], 0, sizeof(kcache[i]));
	}
	kcache_s = NULL;
	pthread_mutex_unlock(&kcache_mu);
}

static unsigned int kcache_slot(const char *spec, uint64_t arg)
{
	uint64_t h = arg * DUSK_SHADOW_HASH_MUL;

	while (*spec)
		h = (h ^ (uint8_t)*spec++) * 0x100000001b3ULL;
	return (unsigned int)(h >> 56) & (KCACHE_SLOTS - 1);
}

void dusk_klib_local_only(int on)
{
	fmt_local_only = on;
}

/* The kernel's output for spec and arg into buf; -errno when there is no
 * kernel to ask. */
static int kformat(const char *spec, uint64_t arg, int cache, char *buf,
		   size_t len)
{
	struct dusk_session *s = fmt_local_only ? NULL : dusk_klib_session();
	struct kcache_ent *e;
	int ret;

	if (!s)
		return -ENOTCONN;
	if (cache && strlen(spec) < sizeof(e->spec)) {
		pthread_mutex_lock(&kcache_mu);
		if (kcache_s != s || kcache_sid != s->id) {
			pthread_mutex_unlock(&kcache_mu);
			dusk_kfmt_cache_flush();
			pthread_mutex_lock(&kcache_mu);
			kcache_s = s;
			kcache_sid = s->id;
		}
		e = &kcache[kcache_slot(spec, arg)];
		if (e->val && e->arg == arg && !strcmp(e->spec, spec)) {
			snprintf(buf, len, "%s", e->val);
			pthread_mutex_unlock(&kcache_mu);
			return 0;
		}
		pthread_mutex_unlock(&kcache_mu);
	}
	ret = dusk_klib_kformat(spec, arg, buf, len);
	if (ret < 0)
		return ret;
	if (cache && strlen(spec) < sizeof(e->spec)) {
		char *val = strdup(buf);

		pthread_mutex_lock(&kcache_mu);
		e = &kcache[kcache_slot(spec, arg)];
		free(e->val);
		e->val = val;
		e->arg = arg;
		strcpy(e->spec, spec);
		pthread_mutex_unlock(&kcache_mu);
	}
	return 0;
}

/* Output the kernel's formatting of the conversion at fmt (already with
 * its width and flags: no padding here). -errno: nothing was output. */
static int kernel_conv(struct kout *o, const char *fmt, struct kspec spec,
		       uint64_t arg, int cache)
{
	char sp[64], buf[KSYM_LEN];
	size_t n = 0;
	int err;

	while (dusk_kisalnum(fmt[n]))
		n++;
	spec_text(sp, sizeof(sp), spec, fmt, n);
	err = kformat(sp, arg, cache, buf, sizeof(buf));
	if (err)
		return err;
	for (n = 0; buf[n]; n++)
		out_c(o, buf[n]);
	return 0;
}

/* ---- plain pointers --------------------------------------------------------- */

static uint64_t ptr_key;
static pthread_once_t ptr_key_once = PTHREAD_ONCE_INIT;

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static void ptr_key_init(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ptr_key = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
			(uint64_t)(uintptr_t)&ts ^ (uint64_t)getpid());
}

/* ptr_to_id(): a 32-bit keyed hash of the program's own address. */
static void local_hash(struct kout *o, uintptr_t v, struct kspec spec)
{
	if (!v || v >= (uintptr_t)-4095) {
		pointer_string(o, v, spec);	/* NULL and ERR_PTRs as they are */
		return;
	}
	pthread_once(&ptr_key_once, ptr_key_init);
	pointer_string(o, (uintptr_t)(mix64(v ^ ptr_key) & 0xffffffffU), spec);
}

/* %p and %pK: the kernel's hash of a kernel address, ours of the
 * program's own. */
static void default_pointer(struct kout *o, const char *fmt, const void *ptr,
			    struct kspec spec)
{
	uintptr_t v = kernel_value(ptr);

	if (v >= DUSK_KERNEL_MIN && v < (uintptr_t)-4095 &&
	    !kernel_conv(o, *fmt == 'K' ? "K" : "", spec, v, 1))
		return;
	local_hash(o, v, spec);
}

/* ---- symbols ------------------------------------------------------------------ */

static void symbol_string(struct kout *o, const char *fmt, const void *ptr,
			  struct kspec spec)
{
	uintptr_t v = kernel_value(ptr);
	char buf[KSYM_LEN];
	const char *name = NULL;
	uintptr_t start = 0;
	uint64_t size = 0;

	if (v >= DUSK_KERNEL_MIN) {
		if (!kernel_conv(o, fmt, spec, v, 1))
			return;
		/* sprint_symbol()'s answer for an unknown address */
		snprintf(buf, sizeof(buf), "0x%lx", (unsigned long)v);
		string_nocheck(o, buf, spec);
		return;
	}
	const char *obj = program_invocation_short_name;

	/* %pB: a return address; the call may be the function's last
	 * instruction, so look up the byte before it. */
	uintptr_t look = *fmt == 'B' && v ? v - 1 : v;

	if (dusk_klib_host.func_at &&
	    dusk_klib_host.func_at(look, &name, &start, &size))
		name = NULL;
	if (!name) {
		const ElfW(Sym) *sym = NULL;
		Dl_info info;

		if (dladdr1((void *)look, &info, (void **)&sym, RTLD_DL_SYMENT) &&
		    info.dli_sname && sym) {
			name = info.dli_sname;
			start = (uintptr_t)info.dli_saddr;
			size = sym->st_size;
			if (info.dli_fname && *info.dli_fname) {
				const char *slash = strrchr(info.dli_fname, '/');

				obj = slash ? slash + 1 : info.dli_fname;
			}
		}
	}
	if (name && !strncmp(name, "__dusk_impl_", 12)) {
		/* libdusk's user-level version of a kernel function: the
		 * kernel's function of that name, as the .ko would print */
		uint64_t k;

		name += 12;
		if (!fmt_local_only && !dusk_klib_ksym(name, &k) &&
		    !kernel_conv(o, fmt, spec, k + (v - start), 1))
			return;
	}
	if (!name)
		snprintf(buf, sizeof(buf), "0x%lx", (unsigned long)v);
	else if (*fmt == 's')
		snprintf(buf, sizeof(buf), "%s [%s]", name, obj);
	else
		snprintf(buf, sizeof(buf), "%s+0x%lx/0x%llx [%s]", name,
			 (unsigned long)(v - start), (unsigned long long)size,
			 obj);
	string_nocheck(o, buf, spec);
}

/* ---- addresses ------------------------------------------------------------------- */

static char *hex_byte(char *p, uint8_t b)
{
	*p++ = hex_lo[b >> 4];
	*p++ = hex_lo[b & 15];
	return p;
}

static void hex_string(struct kout *o, const char *fmt, const void *ptr,
		       struct kspec spec)
{
	const uint8_t *a;
	char sep;
	int i, len = 1;

	if (spec.width == 0)
		return;
	if (check_pointer(o, ptr, spec))
		return;
	switch (fmt[1]) {
	case 'C':
		sep = ':';
		break;
	case 'D':
		sep = '-';
		break;
	case 'N':
		sep = 0;
		break;
	default:
		sep = ' ';
		break;
	}
	if (spec.width > 0)
		len = DUSK_MIN(spec.width, 64);
	a = readable(ptr, (size_t)len);
	for (i = 0; i < len; i++) {
		out_c(o, hex_lo[a[i] >> 4]);
		out_c(o, hex_lo[a[i] & 15]);
		if (sep && i != len - 1)
			out_c(o, sep);
	}
}

static void mac_address_string(struct kout *o, const char *fmt,
			       const void *ptr, struct kspec spec)
{
	char mac[sizeof("xx:xx:xx:xx:xx:xx")], *p = mac, sep = ':';
	int reversed = 0, i;
	uint8_t a[6];

	if (check_pointer(o, ptr, spec))
		return;
	memcpy(a, readable(ptr, 6), 6);
	if (fmt[1] == 'F')
		sep = '-';
	else if (fmt[1] == 'R')
		reversed = 1;
	for (i = 0; i < 6; i++) {
		p = hex_byte(p, a[reversed ? 5 - i : i]);
		if (fmt[0] == 'M' && i != 5)
			*p++ = sep;
	}
	*p = '\0';
	string_nocheck(o, mac, spec);
}

/* fmt: "I4", "i4h"... (order: h host = little on x86, l little, n/b
 * network). */
static char *ip4_string(char *p, const uint8_t *a, const char *fmt)
{
	int zeros = fmt[0] == 'i', idx = 0, step = 1, i;

	if (fmt[2] == 'h' || fmt[2] == 'l') {
		idx = 3;
		step = -1;
	}
	for (i = 0; i < 4; i++, idx += step) {
		p += sprintf(p, zeros ? "%03u" : "%u", a[idx]);
		if (i < 3)
			*p++ = '.';
	}
	*p = '\0';
	return p;
}

static char *ip6_string(char *p, const uint8_t *a, const char *fmt)
{
	int i;

	for (i = 0; i < 8; i++) {
		p = hex_byte(p, a[2 * i]);
		p = hex_byte(p, a[2 * i + 1]);
		if (fmt[0] == 'I' && i != 7)
			*p++ = ':';
	}
	*p = '\0';
	return p;
}

/* RFC 5952, as 6.1 compresses: the longest run (more than one) of zero
 * words, the first of equal ones; v4-mapped and ISATAP end in dotted
 * IPv4. */
static char *ip6_compressed_string(char *p, const uint8_t *a)
{
	uint16_t w[8];
	int range = 8, longest = 1, colonpos = -1, needcolon = 0, i, j;
	uint8_t zlen[8] = { 0 };
	int use4;

	for (i = 0; i < 8; i++)
		w[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
	use4 = (!w[0] && !w[1] && !w[2] && !w[3] && !w[4] && w[5] == 0xffff) ||
	       ((w[4] | 0x0200) == 0x0200 && w[5] == 0x5efe);
	if (use4)
		range = 6;
	for (i = 0; i < range; i++)
		for (j = i; j < range && !w[j]; j++)
			zlen[i]++;
	for (i = 0; i < range; i++) {
		if (zlen[i] > longest) {
			longest = zlen[i];
			colonpos = i;
		}
	}
	for (i = 0; i < range; i++) {
		if (i == colonpos) {
			if (needcolon || i == 0)
				*p++ = ':';
			*p++ = ':';
			needcolon = 0;
			i += longest - 1;
			continue;
		}
		if (needcolon)
			*p++ = ':';
		p += sprintf(p, "%x", w[i]);
		needcolon = 1;
	}
	if (use4) {
		if (needcolon)
			*p++ = ':';
		p = ip4_string(p, a + 12, "I4");
	}
	*p = '\0';
	return p;
}

static void ip6_addr_string(struct kout *o, const uint8_t *a, const char *fmt,
			    struct kspec spec)
{
	char s[sizeof("xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:255.255.255.255")];

	if (fmt[0] == 'I' && fmt[2] == 'c')
		ip6_compressed_string(s, a);
	else
		ip6_string(s, a, fmt);
	string_nocheck(o, s, spec);
}

/* A number into a local buffer the way number() would with spec. */
static char *local_number(char *p, char *pend, unsigned long long v,
			  struct kspec spec)
{
	struct kout t = { p, pend };

	number(&t, v, spec);
	return t.str < pend ? t.str : pend;
}

static void ip_sa_string(struct kout *o, const void *ptr, const char *fmt,
			 struct kspec spec)
{
	char s[sizeof("[xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:255.255.255.255]") +
	       sizeof(":12345") + sizeof("/123456789") + sizeof("%1234567890")];
	char *p = s, *pend = s + sizeof(s) - 1;
	int have_p = 0, have_s = 0, have_f = 0, have_c = 0;
	char f4[4] = { fmt[0], '4', 0, 0 }, f6[3] = { fmt[0], '6', 0 };
	const char *m = fmt + 2;
	uint8_t sa[28];
	uint16_t family;

	for (; dusk_kisalpha(*m); m++) {
		switch (*m) {
		case 'p':
			have_p = 1;
			break;
		case 'f':
			have_f = 1;
			break;
		case 's':
			have_s = 1;
			break;
		case 'c':
			have_c = 1;
			break;
		case 'h':
		case 'l':
		case 'n':
		case 'b':
			f4[2] = *m;
			break;
		}
	}
	memcpy(&family, readable(ptr, 2), 2);
	if (family == 2) {			/* AF_INET: sockaddr_in */
		memcpy(sa, readable(ptr, 16), 16);
		p = ip4_string(p, sa + 4, f4);
		if (have_p) {
			*p++ = ':';
			p = local_number(p, pend, (unsigned)(sa[2] << 8 | sa[3]),
					 spec);
		}
	} else if (family == 10) {		/* AF_INET6: sockaddr_in6 */
		uint32_t flow, scope;

		memcpy(sa, readable(ptr, 28), 28);
		if (have_p || have_s || have_f)
			*p++ = '[';
		if (f6[0] == 'I' && have_c)
			p = ip6_compressed_string(p, sa + 8);
		else
			p = ip6_string(p, sa + 8, f6);
		if (have_p || have_s || have_f)
			*p++ = ']';
		if (have_p) {
			*p++ = ':';
			p = local_number(p, pend, (unsigned)(sa[2] << 8 | sa[3]),
					 spec);
		}
		if (have_f) {
			flow = (uint32_t)(sa[4] & 0x0f) << 24 | sa[5] << 16 |
			       sa[6] << 8 | sa[7];
			*p++ = '/';
			p = local_number(p, pend, flow, spec);
		}
		if (have_s) {
			memcpy(&scope, sa + 24, 4);
			*p++ = '%';
			p = local_number(p, pend, scope, spec);
		}
	} else {
		error_string(o, "(einval)", spec);
		return;
	}
	*p = '\0';
	string_nocheck(o, s, spec);
}

static void ip_addr_string(struct kout *o, const char *fmt, const void *ptr,
			   struct kspec spec)
{
	char s[sizeof("255.255.255.255")];
	uint8_t a[16];

	if (check_pointer(o, ptr, spec))
		return;
	switch (fmt[1]) {
	case '6':
		memcpy(a, readable(ptr, 16), 16);
		ip6_addr_string(o, a, fmt, spec);
		return;
	case '4':
		memcpy(a, readable(ptr, 4), 4);
		ip4_string(s, a, fmt);
		string_nocheck(o, s, spec);
		return;
	case 'S':
		ip_sa_string(o, ptr, fmt, spec);
		return;
	}
	error_string(o, fmt[0] == 'i' ? "(%pi?)" : "(%pI?)", spec);
}

static void uuid_string(struct kout *o, const char *fmt, const void *ptr,
			struct kspec spec)
{
	static const uint8_t guid_index[16] = {
		3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15,
	};
	char s[37], *p = s;
	int upper = 0, guid = 0, i;
	uint8_t a[16];

	if (check_pointer(o, ptr, spec))
		return;
	memcpy(a, readable(ptr, 16), 16);
	switch (fmt[1]) {
	case 'L':
		upper = 1;
		/* fallthrough */
	case 'l':
		guid = 1;
		break;
	case 'B':
		upper = 1;
		break;
	}
	for (i = 0; i < 16; i++) {
		uint8_t b = a[guid ? guid_index[i] : i];
		const char *h = upper ? hex_up : hex_lo;

		*p++ = h[b >> 4];
		*p++ = h[b & 15];
		if (i == 3 || i == 5 || i == 7 || i == 9)
			*p++ = '-';
	}
	*p = '\0';
	string_nocheck(o, s, spec);
}

static void bitmap_string(struct kout *o, const char *fmt, const void *ptr,
			  struct kspec spec)
{
	int nr_bits = spec.width > 0 ? spec.width : 0;
	size_t words = ((size_t)nr_bits + 63) / 64;
	const uint64_t *bm;
	uint64_t *copy;
	int first = 1;

	if (check_pointer(o, ptr, spec))
		return;
	copy = calloc(words ? words : 1, sizeof(uint64_t));
	if (!copy)
		return;
	if (words) {
		bm = (const uint64_t *)readable(ptr, words * 8);
		memcpy(copy, bm, words * 8);
	}
	if (fmt[1] == 'l') {
		/* ranges: "0-3,5" */
		int cur = 0, rbot, rtop;

#define BIT_SET(n) ((copy[(n) / 64] >> ((n) % 64)) & 1)
		while (cur < nr_bits && !BIT_SET(cur))
			cur++;
		rbot = cur;
		while (cur < nr_bits) {
			rtop = cur;
			for (cur++; cur < nr_bits && !BIT_SET(cur); cur++)
				;
			if (cur < nr_bits && cur <= rtop + 1)
				continue;
			if (!first)
				out_c(o, ',');
			first = 0;
			number(o, (unsigned)rbot, dec_spec);
			if (rbot < rtop) {
				out_c(o, '-');
				number(o, (unsigned)rtop, dec_spec);
			}
			rbot = cur;
		}
#undef BIT_SET
	} else {
		/* 32-bit chunks from the top, comma separated */
		struct kspec hs = { .flags = F_SMALL | F_ZEROPAD, .base = 16,
				    .prec = -1 };
		int chunksz = nr_bits & 31, i;

		if (!chunksz)
			chunksz = 32;
		for (i = ((nr_bits + 31) & ~31) - 32; i >= 0; i -= 32) {
			uint32_t mask = (uint32_t)((1ULL << chunksz) - 1);
			uint32_t val = (uint32_t)(copy[i / 64] >> (i % 64)) & mask;

			if (!first)
				out_c(o, ',');
			first = 0;
			hs.width = (chunksz + 3) / 4;
			number(o, val, hs);
			chunksz = 32;
		}
	}
	free(copy);
}

static void fourcc_string(struct kout *o, const char *fmt, const void *ptr,
			  struct kspec spec)
{
	char s[sizeof("0123 little-endian (0x01234567)")], *p = s;
	uint32_t v, c;
	unsigned int i;

	if (fmt[1] != 'c' || fmt[2] != 'c') {
		error_string(o, "(%p4?)", spec);
		return;
	}
	if (check_pointer(o, ptr, spec))
		return;
	memcpy(&v, readable(ptr, 4), 4);
	c = v & ~(1U << 31);
	for (i = 0; i < 4; i++) {
		uint8_t ch = (uint8_t)(c >> (i * 8));

		*p++ = dusk_kisascii(ch) && dusk_kisprint(ch) ? (char)ch : '.';
	}
	p += sprintf(p, "%s (0x%08x)", v & (1U << 31) ? " big-endian" :
				       " little-endian", v);
	string_nocheck(o, s, spec);
}

static void err_ptr(struct kout *o, const void *ptr, struct kspec spec)
{
	int err = (int)(intptr_t)ptr;
	const char *name = dusk_errname(err);

	if (name) {
		string_nocheck(o, name, spec);
		return;
	}
	spec.flags |= F_SIGN;
	spec.base = 10;
	number(o, (unsigned long long)(long long)err, spec);
}

static int kvsnprintf(struct kout *o, const char *fmt, va_list *ap);

static void va_format(struct kout *o, const void *ptr, struct kspec spec)
{
	const struct dusk_va_format *vf;
	va_list va;

	if (check_pointer(o, ptr, spec))
		return;
	vf = (const struct dusk_va_format *)readable(ptr, sizeof(*vf));
	va_copy(va, *vf->va);
	kvsnprintf(o, vf->fmt, &va);
	va_end(va);
}

/* The extensions only the kernel formats: its own answer for a kernel
 * address; for the program's own data of a known size, a copy in kernel
 * memory formatted there. */
static void kernel_only(struct kout *o, const char *fmt, const void *ptr,
			struct kspec spec)
{
	uintptr_t v = dusk_klib_ident(ptr);
	char sp[64], buf[KSYM_LEN];
	size_t n = 0, len = 0;

	if (check_pointer(o, ptr, spec))
		return;
	if (v >= DUSK_KERNEL_MIN) {
		if (!kernel_conv(o, fmt, spec, v, 0))
			return;
	} else {
		if (fmt[0] == 't')
			len = fmt[1] == 'T' ? 8 : 36;	/* time64_t, rtc_time */
		else if (fmt[0] == 'E')
			len = spec.width < 0 ? 1 : (size_t)spec.width;
		while (dusk_kisalnum(fmt[n]))
			n++;
		spec_text(sp, sizeof(sp), spec, fmt, n);
		if (len && len <= 512 &&
		    dusk_klib_kformat_data(sp, readable(ptr, len), len, buf,
					   sizeof(buf)) >= 0) {
			for (n = 0; buf[n]; n++)
				out_c(o, buf[n]);
			return;
		}
	}
	default_pointer(o, "", ptr, spec);
}

static void pointer(struct kout *o, const char *fmt, const void *ptr,
		    struct kspec spec)
{
	uintptr_t v;

	switch (*fmt) {
	case 'S':
	case 's':
	case 'B':
		symbol_string(o, fmt, ptr, spec);
		return;
	case 'h':
		hex_string(o, fmt, ptr, spec);
		return;
	case 'b':
		bitmap_string(o, fmt, ptr, spec);
		return;
	case 'M':
	case 'm':
		mac_address_string(o, fmt, ptr, spec);
		return;
	case 'I':
	case 'i':
		ip_addr_string(o, fmt, ptr, spec);
		return;
	case 'U':
		uuid_string(o, fmt, ptr, spec);
		return;
	case 'V':
		va_format(o, ptr, spec);
		return;
	case 'K':
		default_pointer(o, fmt, ptr, spec);
		return;
	case 'N':
		if (check_pointer(o, ptr, spec))
			return;
		if (fmt[1] != 'F') {
			error_string(o, "(%pN?)", spec);
			return;
		}
		memcpy(&v, readable(ptr, 8), 8);
		special_hex_number(o, v, 8);
		return;
	case '4':
		fourcc_string(o, fmt, ptr, spec);
		return;
	case 'a': {
		uint64_t a;

		if (check_pointer(o, ptr, spec))
			return;
		memcpy(&a, readable(ptr, 8), 8);	/* phys/dma_addr_t */
		special_hex_number(o, a, 8);
		return;
	}
	case 'x':
		pointer_string(o, kernel_value(ptr), spec);
		return;
	case 'e':
		if ((uintptr_t)ptr >= (uintptr_t)-4095) {
			err_ptr(o, ptr, spec);
			return;
		}
		break;
	case 'u':
	case 'k':
		if (fmt[1] == 's')
			string(o, ptr, spec);
		else
			error_string(o, "(einval)", spec);
		return;
	case 'R':
	case 'r':
	case 'E':
	case 'd':
	case 'D':
	case 'g':
	case 't':
	case 'C':
	case 'G':
	case 'O':
	case 'f':
		kernel_only(o, fmt, ptr, spec);
		return;
	}
	default_pointer(o, "", ptr, spec);
}

/* ---- the format loop -------------------------------------------------------- */

static int skip_atoi(const char **s)
{
	long long i = 0;

	do {
		if (i < INT_MAX)
			i = i * 10 + *((*s)++) - '0';
		else
			(*s)++;
	} while (dusk_kisdigit(**s));
	return (int)DUSK_MIN(i, (long long)INT_MAX);
}

/* One directive at fmt ('%' ...): its spec; the number of characters it
 * takes. Width and precision given as '*' are taken from ap. */
static int format_decode(const char *fmt, struct kspec *spec, va_list *ap)
{
	const char *start = fmt;
	char q = 0;

	spec->flags = 0;
	for (;;) {
		switch (*++fmt) {
		case '-':
			spec->flags |= F_LEFT;
			continue;
		case '+':
			spec->flags |= F_PLUS;
			continue;
		case ' ':
			spec->flags |= F_SPACE;
			continue;
		case '#':
			spec->flags |= F_SPECIAL;
			continue;
		case '0':
			spec->flags |= F_ZEROPAD;
			continue;
		}
		break;
	}
	spec->width = -1;
	if (dusk_kisdigit(*fmt)) {
		int w = skip_atoi(&fmt);

		spec->width = DUSK_MIN(w, FIELD_WIDTH_MAX);
	} else if (*fmt == '*') {
		int w = va_arg(*ap, int);

		fmt++;
		if (w < 0) {
			spec->flags |= F_LEFT;
			w = w == INT_MIN ? INT_MAX : -w;
		}
		spec->width = DUSK_MIN(w, FIELD_WIDTH_MAX);
	}
	spec->prec = -1;
	if (*fmt == '.') {
		fmt++;
		if (dusk_kisdigit(*fmt)) {
			int p = skip_atoi(&fmt);

			spec->prec = DUSK_MIN(p, PRECISION_MAX);
		} else if (*fmt == '*') {
			int p = va_arg(*ap, int);

			fmt++;
			spec->prec = p < 0 ? 0 : DUSK_MIN(p, PRECISION_MAX);
		}
	}
	if (*fmt == 'h' || dusk_ktolower(*fmt) == 'l' || *fmt == 'z' ||
	    *fmt == 't') {
		q = *fmt++;
		if (q == *fmt && q == 'l') {
			q = 'L';
			fmt++;
		} else if (q == *fmt && q == 'h') {
			q = 'H';
			fmt++;
		}
	}
	spec->base = 10;
	switch (*fmt) {
	case 'c':
		spec->type = T_CHAR;
		return (int)(++fmt - start);
	case 's':
		spec->type = T_STR;
		return (int)(++fmt - start);
	case 'p':
		spec->type = T_PTR;
		return (int)(++fmt - start);
	case '%':
		spec->type = T_PERCENT;
		return (int)(++fmt - start);
	case 'o':
		spec->base = 8;
		break;
	case 'x':
		spec->flags |= F_SMALL;
		/* fallthrough */
	case 'X':
		spec->base = 16;
		break;
	case 'd':
	case 'i':
		spec->flags |= F_SIGN;
		break;
	case 'u':
		break;
	default:
		/* %n and anything unknown: the kernel WARNs and stops. */
		if (*fmt)
			dusk_klib_warn(1, NULL,
				       "Please remove unsupported %%%c in format string",
				       *fmt);
		spec->type = T_INVALID;
		return (int)(fmt - start);
	}
	switch (q) {
	case 'L':
		spec->type = T_LONG_LONG;
		break;
	case 'l':
		spec->type = spec->flags & F_SIGN ? T_LONG : T_ULONG;
		break;
	case 'z':
		spec->type = T_SIZE_T;
		break;
	case 't':
		spec->type = T_PTRDIFF;
		break;
	case 'H':
		spec->type = spec->flags & F_SIGN ? T_BYTE : T_UBYTE;
		break;
	case 'h':
		spec->type = spec->flags & F_SIGN ? T_SHORT : T_USHORT;
		break;
	default:
		spec->type = spec->flags & F_SIGN ? T_INT : T_UINT;
		break;
	}
	return (int)(++fmt - start);
}

static int kvsnprintf(struct kout *o, const char *fmt, va_list *ap)
{
	char *begin = o->str;
	struct kspec spec;
	unsigned long long num;

	while (*fmt) {
		if (*fmt != '%') {
			out_c(o, *fmt++);
			continue;
		}
		fmt += format_decode(fmt, &spec, ap);
		switch (spec.type) {
		case T_CHAR:
			if (!(spec.flags & F_LEFT))
				out_pad(o, ' ', spec.width - 1);
			out_c(o, (char)(unsigned char)va_arg(*ap, int));
			if (spec.flags & F_LEFT)
				out_pad(o, ' ', spec.width - 1);
			continue;
		case T_STR:
			string(o, va_arg(*ap, const char *), spec);
			continue;
		case T_PTR:
			pointer(o, fmt, va_arg(*ap, const void *), spec);
			while (dusk_kisalnum(*fmt))
				fmt++;
			continue;
		case T_PERCENT:
			out_c(o, '%');
			continue;
		case T_INVALID:
			goto out;
		case T_LONG_LONG:
			num = (unsigned long long)va_arg(*ap, long long);
			break;
		case T_ULONG:
			num = va_arg(*ap, unsigned long);
			break;
		case T_LONG:
			num = (unsigned long long)va_arg(*ap, long);
			break;
		case T_SIZE_T:
			num = spec.flags & F_SIGN ?
			      (unsigned long long)va_arg(*ap, ssize_t) :
			      va_arg(*ap, size_t);
			break;
		case T_PTRDIFF:
			num = (unsigned long long)va_arg(*ap, ptrdiff_t);
			break;
		case T_UBYTE:
			num = (unsigned char)va_arg(*ap, int);
			break;
		case T_BYTE:
			num = (unsigned long long)(signed char)va_arg(*ap, int);
			break;
		case T_USHORT:
			num = (unsigned short)va_arg(*ap, int);
			break;
		case T_SHORT:
			num = (unsigned long long)(short)va_arg(*ap, int);
			break;
		case T_INT:
			num = (unsigned long long)va_arg(*ap, int);
			break;
		default:
			num = va_arg(*ap, unsigned int);
			break;
		}
		number(o, num, spec);
	}
out:
	return (int)(o->str - begin);
}

/* A local copy of a format in kernel memory (it is read more than once
 * and kernel calls during formatting invalidate the mirror). */
static const char *local_fmt(const char *fmt, char **ret_copy)
{
	*ret_copy = NULL;
	if (!fmt || !dusk_klib_remote(fmt))
		return fmt;
	*ret_copy = strdup(__dusk_check_str(fmt));
	return *ret_copy ? *ret_copy : "";
}

int dusk_kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct kout o;
	char *copy;
	va_list aq;
	int ret;

	if (size > INT_MAX) {
		dusk_klib_warn_once("vsnprintf: size %zu > INT_MAX", size);
		return 0;
	}
	o.str = buf;
	o.end = buf + size;
	fmt = local_fmt(fmt, &copy);
	va_copy(aq, ap);
	ret = fmt ? kvsnprintf(&o, fmt, &aq) : 0;
	va_end(aq);
	free(copy);
	if (size) {
		if (o.str < o.end)
			*o.str = '\0';
		else
			o.end[-1] = '\0';
	}
	return ret;
}

int dusk_ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = dusk_kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return ret;
}

/* ---- the kernel's functions ----------------------------------------------- */

/* Into a buffer in kernel memory: format here, then copy what the kernel's
 * vsnprintf would have written (the whole output and its NUL, or size
 * bytes) through the shadow cache, after every kernel call the formatting
 * made. */
static int vsnprintf_remote(char *buf, size_t size, const char *fmt,
			    va_list ap)
{
	size_t cap = DUSK_MIN(size, (size_t)4096), n;
	char *tmp = malloc(cap);
	va_list aq;
	int ret;

	if (!tmp)
		dusk_klib_bug(NULL, "out of memory formatting into %p", buf);
	va_copy(aq, ap);
	ret = dusk_kvsnprintf(tmp, cap, fmt, aq);
	va_end(aq);
	if ((size_t)ret >= cap && cap < size) {
		cap = DUSK_MIN(size, (size_t)ret + 1);
		free(tmp);
		tmp = malloc(cap);
		if (!tmp)
			dusk_klib_bug(NULL, "out of memory formatting into %p",
				      buf);
		va_copy(aq, ap);
		ret = dusk_kvsnprintf(tmp, cap, fmt, aq);
		va_end(aq);
	}
	n = DUSK_MIN((size_t)ret + 1, size);
	memcpy(__dusk_check_w(buf, n), tmp, n);
	free(tmp);
	return ret;
}

DUSK_EXPORT int __dusk_impl_vsnprintf(char *buf, size_t size, const char *fmt,
				      va_list args)
{
	if (size && size <= INT_MAX && dusk_klib_remote(buf))
		return vsnprintf_remote(buf, size, fmt, args);
	return dusk_kvsnprintf(buf, size, fmt, args);
}

DUSK_EXPORT int __dusk_impl_snprintf(char *buf, size_t size, const char *fmt,
				     ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = __dusk_impl_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return ret;
}

DUSK_EXPORT int __dusk_impl_vscnprintf(char *buf, size_t size,
				       const char *fmt, va_list args)
{
	int i = __dusk_impl_vsnprintf(buf, size, fmt, args);

	if ((size_t)i < size)
		return i;
	return size ? (int)size - 1 : 0;
}

DUSK_EXPORT int __dusk_impl_scnprintf(char *buf, size_t size, const char *fmt,
				      ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = __dusk_impl_vscnprintf(buf, size, fmt, ap);
	va_end(ap);
	return ret;
}

DUSK_EXPORT int __dusk_impl_vsprintf(char *buf, const char *fmt, va_list args)
{
	return __dusk_impl_vsnprintf(buf, INT_MAX, fmt, args);
}

DUSK_EXPORT int __dusk_impl_sprintf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = __dusk_impl_vsnprintf(buf, INT_MAX, fmt, ap);
	va_end(ap);
	return ret;
}

DUSK_EXPORT char *__dusk_impl_kvasprintf(unsigned int gfp, const char *fmt,
					 va_list args)
{
	char *tmp;
	uint64_t k;
	va_list aq;
	int len;

	va_copy(aq, args);
	len = dusk_kvsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	tmp = malloc((size_t)len + 1);
	if (!tmp)
		return NULL;
	dusk_kvsnprintf(tmp, (size_t)len + 1, fmt, args);
	k = dusk_klib_kdup(tmp, (size_t)len + 1, gfp);
	if (!k)
		dusk_warn("kasprintf: no kernel memory for \"%s\": %s", tmp,
			  strerror(errno));
	free(tmp);
	return (char *)(uintptr_t)k;
}

DUSK_EXPORT char *__dusk_impl_kasprintf(unsigned int gfp, const char *fmt, ...)
{
	va_list ap;
	char *ret;

	va_start(ap, fmt);
	ret = __dusk_impl_kvasprintf(gfp, fmt, ap);
	va_end(ap);
	return ret;
}

/* ---- errno names ------------------------------------------------------------ */

/* lib/errname.c's table of the target kernel: the names its errno headers
 * define (build-aux/gen-errnames makes kerrnames.h from them; aliases such
 * as EWOULDBLOCK and EDEADLOCK are not names); "-EPERM" for -EPERM,
 * "EPERM" for EPERM. */
#define DUSK_ERRNAME(name, value) [value] = "-" #name,
static const char *const errnames[] = { DUSK_K_ERRNAMES(DUSK_ERRNAME) };
#undef DUSK_ERRNAME

const char *dusk_errname(int err)
{
	unsigned int e = err < 0 ? (unsigned int)-err : (unsigned int)err;

	if (!e || e >= DUSK_ARRAY_SIZE(errnames) || !errnames[e])
		return NULL;
	return err > 0 ? errnames[e] + 1 : errnames[e];
}
