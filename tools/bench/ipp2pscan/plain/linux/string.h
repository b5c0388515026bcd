/* SPDX-License-Identifier: GPL-2.0 */
/* <linux/string.h> for the plain user-space build: the C library's. */
#include <string.h>
