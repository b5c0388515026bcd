// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * seq_file output at user level (klib_seq.h), after fs/seq_file.c of 6.1:
 * each function appends to m->buf at m->count while it fits (leaving
 * room, as the kernel does for seq_printf, for the terminating NUL), and
 * otherwise marks the overflow (count = size) for seq_read() to retry.
 */
#include <stdint.h>
#include <string.h>

#include "kconst.h"
#include "klib.h"
#include "klib_fmt.h"
#include "klib_seq.h"

#define RD(p, n)	((const void *)__dusk_check((p), (n)))
#define WR(p, n)	((void *)__dusk_check_w((p), (n)))

_Static_assert(DUSK_K_SIZEOF_SEQ_FILE__BUF == 8 &&
	       DUSK_K_SIZEOF_SEQ_FILE__SIZE == 8 &&
	       DUSK_K_SIZEOF_SEQ_FILE__COUNT == 8, "seq_file fields");

struct dusk_seq {
	char *buf;
	uint64_t size, count;
};

static struct dusk_seq dusk_seq_get(void *m)
{
	struct dusk_seq sq;

	memcpy(&sq.buf, RD((char *)m + DUSK_K_SEQ_FILE__BUF, 8), 8);
	memcpy(&sq.size, RD((char *)m + DUSK_K_SEQ_FILE__SIZE, 8), 8);
	memcpy(&sq.count, RD((char *)m + DUSK_K_SEQ_FILE__COUNT, 8), 8);
	return sq;
}

static void dusk_seq_set_count(void *m, uint64_t count)
{
	memcpy(WR((char *)m + DUSK_K_SEQ_FILE__COUNT, 8), &count, 8);
}

/* Append len bytes if they fit: 0, else the overflow (-1). */
static int dusk_seq_append(void *m, const void *data, size_t len)
{
	struct dusk_seq sq = dusk_seq_get(m);

	if (sq.count + len < sq.size) {
		if (len)
			memcpy(WR(sq.buf + sq.count, len), data, len);
		dusk_seq_set_count(m, sq.count + len);
		return 0;
	}
	dusk_seq_set_count(m, sq.size);
	return -1;
}

DUSK_EXPORT void __dusk_impl_seq_vprintf(void *m, const char *fmt,
					 va_list args)
{
	struct dusk_seq sq = dusk_seq_get(m);
	int len;

	if (sq.count < sq.size) {
		len = __dusk_impl_vsnprintf(sq.buf + sq.count,
					    sq.size - sq.count, fmt, args);
		if (len >= 0 && sq.count + (uint64_t)len < sq.size) {
			dusk_seq_set_count(m, sq.count + (uint64_t)len);
			return;
		}
	}
	dusk_seq_set_count(m, sq.size);
}

DUSK_EXPORT void __dusk_impl_seq_printf(void *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	__dusk_impl_seq_vprintf(m, fmt, ap);
	va_end(ap);
}

DUSK_EXPORT void __dusk_impl_seq_puts(void *m, const char *s)
{
	const char *str = __dusk_check_str(s);

	dusk_seq_append(m, str, strlen(str));
}

DUSK_EXPORT void __dusk_impl_seq_putc(void *m, char c)
{
	struct dusk_seq sq = dusk_seq_get(m);

	if (sq.count >= sq.size)
		return;
	*(char *)WR(sq.buf + sq.count, 1) = c;
	dusk_seq_set_count(m, sq.count + 1);
}

DUSK_EXPORT int __dusk_impl_seq_write(void *m, const void *data, size_t len)
{
	return dusk_seq_append(m, len ? RD(data, len) : data, len);
}

DUSK_EXPORT void __dusk_impl_seq_put_decimal_ull(void *m,
						 const char *delimiter,
						 unsigned long long num)
{
	__dusk_impl_seq_printf(m, "%s%llu", delimiter ? delimiter : "", num);
}

DUSK_EXPORT void __dusk_impl_seq_put_decimal_ll(void *m, const char *delimiter,
						long long num)
{
	__dusk_impl_seq_printf(m, "%s%lld", delimiter ? delimiter : "", num);
}
