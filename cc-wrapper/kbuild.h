/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbuild.h - asking the target kernel's kbuild how to compile the module.
 *
 * dusk-cc runs kbuild on (a copy of) the module with CC set to itself in
 * its --kbuild-cc role: for every object of the module, kbuild's exact
 * compiler command runs unchanged (so the .ko builds as always) and, beside
 * it, the same command minus what only kernel code generation needs, plus
 * the GCC plugin, makes the user-level object. Nothing about the flags is
 * hard-coded but that list of kernel-only ones. The DWARF of both objects
 * then proves that both builds lay out every struct and union they share
 * alike (layout.h).
 */
#ifndef DUSK_CC_KBUILD_H
#define DUSK_CC_KBUILD_H

#include "util.h"

struct kbuild {
	const char *kdir;	/* the kernel's kbuild tree */
	const char *moddir;	/* the module's (copied) directory */
	const char *root;	/* -M: the mirror it lies in (mirror_ancestors) */
	const char *outdir;	/* where user-level objects go */
	const char *plugin;	/* dusk.so */
	const char *cflags;	/* extra flags for the user-level compiles */
	int jobs;
	/* Paths in moddir and where they came from: diagnostics and debug
	 * information name the developer's files, not dusk-cc's copies. */
	struct strvec map_from, map_to;
};

/* --kdir, else the running default target's kernel, else the kernel the
 * target boots (configure's), else the running kernel. Returns a path. */
char *kbuild_kdir(const char *opt);

/* Build the module's .ko and, beside it, its user-level objects. */
int kbuild_run(const struct kbuild *kb);

/* The objects of module name (kbuild's name.mod), as paths under outdir. */
int kbuild_module_objects(const struct kbuild *kb, const char *name,
			  struct strvec *ret);

/* The modules a directory built (names of its *.mod files). */
int kbuild_modules(const char *moddir, struct strvec *ret);

/* dusk-cc --kbuild-cc REALCC ARGS...: the compiler kbuild runs. */
int kbuild_cc_main(int argc, char **argv);

#endif /* DUSK_CC_KBUILD_H */
