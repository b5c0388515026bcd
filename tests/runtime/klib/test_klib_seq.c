// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * seq_file output at user level (klib_seq.c): appends at count, the
 * kernel's overflow rule (count = size when a record does not fit, with
 * room kept for seq_printf's NUL), seq_putc at the very end, seq_write's
 * return value.
 */
#include <string.h>

#include "check.h"
#include "kconst.h"
#include "klib.h"
#include "klib_seq.h"

static char seq[DUSK_K_SEQ_FILE__COUNT + 8];
static char buf[16];

static void seq_reset(size_t size)
{
	char *b = buf;
	unsigned long sz = size, count = 0;

	memset(buf, '.', sizeof(buf));
	memcpy(seq + DUSK_K_SEQ_FILE__BUF, &b, 8);
	memcpy(seq + DUSK_K_SEQ_FILE__SIZE, &sz, 8);
	memcpy(seq + DUSK_K_SEQ_FILE__COUNT, &count, 8);
}

static unsigned long count(void)
{
	unsigned long c;

	memcpy(&c, seq + DUSK_K_SEQ_FILE__COUNT, 8);
	return c;
}

int main(void)
{
	seq_reset(16);
	__dusk_impl_seq_printf(seq, "a=%d ", 42);
	__dusk_impl_seq_puts(seq, "bc");
	__dusk_impl_seq_putc(seq, '\n');
	__dusk_impl_seq_put_decimal_ull(seq, " ", 7);
	CHECK_EQ(count(), 10);
	CHECK(!memcmp(buf, "a=42 bc\n 7", 10));
	/* A record that does not fit: count = size, nothing written. */
	__dusk_impl_seq_printf(seq, "%s", "0123456789");
	CHECK_EQ(count(), 16);
	__dusk_impl_seq_putc(seq, 'x');
	CHECK_EQ(count(), 16);

	/* seq_write: 0 when it fits (strictly below size), -1 and overflow. */
	seq_reset(8);
	CHECK_EQ(__dusk_impl_seq_write(seq, "1234567", 7), 0);
	CHECK_EQ(count(), 7);
	/* seq_putc fills the last byte; seq_puts of one more overflows. */
	__dusk_impl_seq_putc(seq, '8');
	CHECK_EQ(count(), 8);
	seq_reset(8);
	__dusk_impl_seq_puts(seq, "12345678");
	CHECK_EQ(count(), 8);
	CHECK_EQ(buf[0], '.');
	seq_reset(8);
	CHECK_EQ(__dusk_impl_seq_write(seq, "12345678", 8), -1);
	CHECK_EQ(count(), 8);
	return check_done("test_klib_seq");
}
