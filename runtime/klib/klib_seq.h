/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * klib_seq.h - seq_file output at user level (klib_seq.c): what a show
 * callback prints goes straight into the seq_file's buffer (kernel memory,
 * through the cache) and reaches the kernel with the callback's commit,
 * with the kernel's own overflow rule (a record that does not fit sets
 * count to size, and seq_read() retries with a buffer twice as large).
 */
#ifndef DUSK_KLIB_SEQ_H
#define DUSK_KLIB_SEQ_H

#include <stdarg.h>

void __dusk_impl_seq_vprintf(void *m, const char *fmt, va_list args);
void __dusk_impl_seq_printf(void *m, const char *fmt, ...);
void __dusk_impl_seq_puts(void *m, const char *s);
void __dusk_impl_seq_putc(void *m, char c);
int __dusk_impl_seq_write(void *m, const void *data, size_t len);
void __dusk_impl_seq_put_decimal_ull(void *m, const char *delimiter,
				     unsigned long long num);
void __dusk_impl_seq_put_decimal_ll(void *m, const char *delimiter,
				    long long num);

#endif /* DUSK_KLIB_SEQ_H */
