/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <linux/types.h> for dusk.ko's files built for user space (tests/fuzz/):
 * the UAPI header's __u8.. __le64, then kshim.h's kernel names.
 */
#include_next <linux/types.h>
#include "kshim.h"
