// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * A stand-in for the runtime's dusk_uaccess() (modrt.h) until the
 * invocation code that implements it is merged: replaced at integration
 * (delete this file and its line in runtime/Makefile.am). No thread
 * serves a blocking invocation yet, so every request is -ENOTCONN.
 */
#include <errno.h>

#include "modrt.h"

int dusk_uaccess(unsigned int op, uint64_t uaddr, uint64_t len,
		 const void *data, void *out, int64_t *ret, uint64_t *val)
{
	(void)op;
	(void)uaddr;
	(void)len;
	(void)data;
	(void)out;
	(void)ret;
	(void)val;
	return -ENOTCONN;
}

uint32_t dusk_uaccess_max(void)
{
	return 1024;
}
