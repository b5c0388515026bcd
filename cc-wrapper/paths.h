/* SPDX-License-Identifier: GPL-2.0 */
/*
 * paths.h - where dusk-cc finds its plugin, libdusk and headers: the
 * installed locations (from the Makefile: each relative to bindir, where
 * dusk-cc itself is), or the build tree when DUSK_BUILDDIR names one
 * (bin/dusk-cc sets it).
 */
#ifndef DUSK_CC_PATHS_H
#define DUSK_CC_PATHS_H

#ifndef DUSK_KERNEL_RELEASE
#define DUSK_KERNEL_RELEASE	""
#endif
#ifndef DUSK_PKGLIBDIR
#define DUSK_PKGLIBDIR		"/usr/local/lib/dusk"
#endif
#ifndef DUSK_LIBDIR
#define DUSK_LIBDIR		"/usr/local/lib"
#endif
#ifndef DUSK_INCLUDEDIR
#define DUSK_INCLUDEDIR		"/usr/local/include/dusk"
#endif
#ifndef DUSK_BIN_TO_PKGLIBDIR
#define DUSK_BIN_TO_PKGLIBDIR	"../lib/dusk"
#endif
#ifndef DUSK_BIN_TO_LIBDIR
#define DUSK_BIN_TO_LIBDIR	"../lib"
#endif
#ifndef DUSK_BIN_TO_INCLUDEDIR
#define DUSK_BIN_TO_INCLUDEDIR	"../include/dusk"
#endif
#ifndef DUSK_VERSION
#define DUSK_VERSION		""
#endif

struct dusk_paths {
	char *plugin;		/* dusk.so */
	char *libdusk;		/* libdusk.a */
	char *libdusk_main;	/* libdusk-main.a */
	char *include[2];	/* dusk_module.h, dusk_proto.h */
};

void dusk_paths_init(struct dusk_paths *p);

#endif /* DUSK_CC_PATHS_H */
