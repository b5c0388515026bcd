/* SPDX-License-Identifier: GPL-2.0 */
/*
 * link.h - the link step: find the kernel symbols the module's user-level
 * objects need (libelf), generate the glue (a stub per kernel function, a
 * placeholder per kernel variable, dusk_module.h), rename the objects'
 * references (dusk_module.h, "Names") and link the program with libdusk.
 */
#ifndef DUSK_CC_LINK_H
#define DUSK_CC_LINK_H

#include "paths.h"
#include "util.h"

struct link {
	const char *prog;		/* the program to write */
	const char *tmpdir;		/* scratch space */
	const struct strvec *objs;	/* the module's user-level objects */
	const struct dusk_paths *paths;
	const struct strvec *ldflags;	/* from the command line */
};

int link_program(const struct link *l);

#endif /* DUSK_CC_LINK_H */
