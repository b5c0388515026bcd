/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TINYFW_HOOK_H
#define _TINYFW_HOOK_H

#define TINYFW_HOOKS "PRE_ROUTING,LOCAL_OUT"

#endif
