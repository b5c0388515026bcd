// SPDX-License-Identifier: GPL-2.0
/*
 * dusk-cc - compile an unmodified kernel module into a user-level program.
 *
 *	dusk-cc [options] [gcc options] -o PROG SRC.c...
 *	dusk-cc [options] -M DIR -o PROG
 *
 * The module is built by the target kernel's own kbuild (which yields the
 * .ko as usual); every object is compiled a second time, with the same
 * flags minus kernel-only code generation, through the dusk GCC plugin;
 * the link step adds the glue for the kernel symbols and libdusk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kbuild.h"
#include "link.h"
#include "paths.h"
#include "util.h"

static const char *const synopsis[] = {
	"dusk-cc [options] [gcc options] -o PROG SRC.c...",
	"dusk-cc [options] -M DIR -o PROG",
};

static const char usage_text[] =
	"\n"
	"Compile a kernel module into a user-level program that runs it against\n"
	"a live kernel (dusk.ko). -M builds from the module's own Kbuild/Makefile,\n"
	"in a copy of its folder that still sees what is beside it (../include),\n"
	"writing nothing in or beside the folder. Every struct and union both\n"
	"builds of an object use must be laid out alike (DWARF): a difference\n"
	"stops the build, naming the type and the member.\n"
	"\n"
	"Options:\n"
	"  -M DIR             the module's directory (its obj-m lists)\n"
	"  --module NAME      which module of DIR, if it builds several\n"
	"  -o PROG            the program to write\n"
	"  --kdir DIR         the kernel build tree (default: the default\n"
	"                     target's kernel, then /lib/modules/$(uname -r)/build)\n"
	"  --user-cflags STR  extra flags for the user-level compile only (-O0...);\n"
	"                     none may change a layout\n"
	"  --keep             keep the work directory and print it\n"
	"  -v                 show every command, how many types each object's\n"
	"                     layout check compared, how long the steps took\n"
	"  --help             show this help and exit\n"
	"  --version          show the version and exit\n"
	"\n"
	"gcc options (SRC.c mode): -I -D -U -W -f -O -g go to the module's\n"
	"ccflags-y (both builds); -l -L -Wl, go to the program's link.\n"
	"\n"
	"Run PROG [PARAM=VALUE...] like insmod: it loads the module, runs its\n"
	"hooks and callbacks until SIGINT or SIGTERM, then unloads it. Its target\n"
	"is the default embedded one (dusk-target up), or DUSK_TARGET and\n"
	"DUSK_KEY; debug it with dusk-gdb PROG [PARAM=VALUE...].\n";

/*
 * An installed directory, from where this dusk-cc is: REL is the directory
 * relative to the installation's bindir (the Makefile's), so an
 * installation moved as a whole (make install prefix=..., DESTDIR) still
 * finds its own plugin and libdusk, never another one. ABS, the configured
 * directory, only when /proc cannot say where dusk-cc is.
 */
static char *installed_dir(const char *rel, const char *abs)
{
	static char *bindir;
	char *dir, *real;

	if (!bindir) {
		char *self = realpath("/proc/self/exe", NULL);

		if (!self)
			return xstrdup(abs);
		bindir = xstrdup(dirname(self));
		free(self);
	}
	dir = xasprintf("%s/%s", bindir, rel);
	/* No "bin/.." in what it prints; a missing one is named as it is. */
	real = realpath(dir, NULL);
	if (!real)
		return dir;
	free(dir);
	return real;
}

void dusk_paths_init(struct dusk_paths *p)
{
	const char *b = getenv("DUSK_BUILDDIR"), *s = getenv("DUSK_SRCDIR");
	char *pkglibdir, *libdir, *includedir;

	if (b && *b) {
		p->plugin = xasprintf("%s/cc-wrapper/dusk.so", b);
		p->libdusk = xasprintf("%s/runtime/libdusk.a", b);
		p->libdusk_main = xasprintf("%s/runtime/libdusk-main.a", b);
		p->include[0] = xasprintf("%s/runtime/include", s && *s ? s : b);
		p->include[1] = xasprintf("%s/proto", s && *s ? s : b);
		return;
	}
	pkglibdir = installed_dir(DUSK_BIN_TO_PKGLIBDIR, DUSK_PKGLIBDIR);
	libdir = installed_dir(DUSK_BIN_TO_LIBDIR, DUSK_LIBDIR);
	includedir = installed_dir(DUSK_BIN_TO_INCLUDEDIR, DUSK_INCLUDEDIR);
	p->plugin = xasprintf("%s/dusk.so", pkglibdir);
	p->libdusk = xasprintf("%s/libdusk.a", libdir);
	p->libdusk_main = xasprintf("%s/libdusk-main.a", libdir);
	p->include[0] = includedir;
	p->include[1] = xstrdup(includedir);
	free(pkglibdir);
	free(libdir);
}

struct opts {
	const char *moddir;
	const char *module;
	const char *prog;
	const char *kdir;
	const char *user_cflags;
	bool keep;
	struct strvec srcs;
	struct strvec ccflags;		/* to the module's ccflags-y */
	struct strvec ldflags;
};

static char *absolute(const char *path)
{
	char *p = realpath(path, NULL);

	return p ? p : xstrdup(path);
}

/* --help's synopsis is help2man's (dusk-cc.1): "Usage:", then "  or:". */
static void usage(FILE *f, bool help)
{
	fprintf(f, "%s %s\n%s %s\n", help ? "Usage:" : "usage:", synopsis[0],
		help ? "  or: " : "      ", synopsis[1]);
	fputs(usage_text, f);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "kdir", required_argument, NULL, 'k' },
		{ "module", required_argument, NULL, 'm' },
		{ "user-cflags", required_argument, NULL, 'u' },
		{ "keep", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	/* "-" first: sources and unknown gcc options come in order as 1. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-M:o:vI:D:U:W:f:O::g::l:L:",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'M': o->moddir = optarg; break;
		case 'o': o->prog = optarg; break;
		case 'k': o->kdir = optarg; break;
		case 'm': o->module = optarg; break;
		case 'u': o->user_cflags = optarg; break;
		case 'K': o->keep = true; break;
		case 'v': cc_verbose = true; break;
		case 'h': usage(stdout, true); exit(0);
		case 'V': printf("dusk-cc (dusk) %s\n", DUSK_VERSION); exit(0);
		case 'I': {
			char *p = absolute(optarg);

			strvec_pushf(&o->ccflags, "-I%s", p);
			free(p);
			break;
		}
		case 'D': strvec_pushf(&o->ccflags, "-D%s", optarg); break;
		case 'U': strvec_pushf(&o->ccflags, "-U%s", optarg); break;
		case 'f': strvec_pushf(&o->ccflags, "-f%s", optarg); break;
		case 'O': strvec_pushf(&o->ccflags, "-O%s", optarg ? optarg : ""); break;
		case 'g': strvec_pushf(&o->ccflags, "-g%s", optarg ? optarg : ""); break;
		case 'l': strvec_pushf(&o->ldflags, "-l%s", optarg); break;
		case 'L': strvec_pushf(&o->ldflags, "-L%s", optarg); break;
		case 'W':
			if (str_starts(optarg, "l,"))
				strvec_pushf(&o->ldflags, "-W%s", optarg);
			else
				strvec_pushf(&o->ccflags, "-W%s", optarg);
			break;
		case 1:
			if (optarg[0] == '-') {
				cc_error(0, "unknown option %s (see dusk-cc --help)", optarg);
				return -EINVAL;
			}
			strvec_push(&o->srcs, optarg);
			break;
		default:
			cc_error(0, "bad option %s (see dusk-cc --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (!o->prog || (!o->moddir == !o->srcs.n)) {
		usage(stderr, false);
		return -EINVAL;
	}
	return 0;
}

static bool c_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* SRC.c mode: a module directory of our own, with a Kbuild naming them. */
static int make_module_dir(struct opts *o, const char *moddir, char **ret_name,
			   struct kbuild *kb)
{
	struct strvec objs = { 0 }, dirs = { 0 };
	char *name, *kbuild, *text = NULL, *p;
	size_t i;
	int err = 0;

	if (o->srcs.n == 1) {
		name = xstrdup(basename(o->srcs.v[0]));
		name[strcspn(name, ".")] = '\0';
	} else {
		char *prog = xstrdup(o->prog);

		name = xstrdup(basename(prog));
		free(prog);
	}
	if (!c_name(name)) {
		cc_error(0, "module name '%s' is not a C identifier: rename the program "
			 "or use -M with a Kbuild file", name);
		free(name);
		return -EINVAL;
	}
	mkdir_p(moddir);
	for (i = 0; i < o->srcs.n; i++) {
		char *src = absolute(o->srcs.v[i]), *base = xstrdup(basename(src));
		char *dir = xstrdup(src), *dst;
		char *cp[] = { "cp", src, NULL, NULL };

		if (!str_ends(base, ".c")) {
			cc_error(0, "%s: not a C source", o->srcs.v[i]);
			err = -EINVAL;
		}
		base[strlen(base) - 2] = '\0';
		if (o->srcs.n > 1 && !strcmp(base, name)) {
			cc_error(0, "%s.c has the module's own name '%s': name the "
				 "program differently or use -M", base, name);
			err = -EINVAL;
		}
		if (strvec_has(&objs, base)) {
			cc_error(0, "two sources named %s.c", base);
			err = -EINVAL;
		}
		strvec_push(&objs, base);
		/* the source's own headers ("foo.h") stay reachable */
		p = xasprintf("-I%s", dirname(dir));
		if (!strvec_has(&dirs, p))
			strvec_push(&dirs, p);
		free(p);
		dst = xasprintf("%s/%s.c", moddir, base);
		cp[2] = dst;
		strvec_push(&kb->map_from, dst);
		strvec_push(&kb->map_to, src);
		if (!err && run_cmd(cp, NULL, NULL))
			err = -EIO;
		free(dst);
		free(dir);
		free(base);
		free(src);
	}
	if (err)
		goto out;
	text = xasprintf("obj-m := %s.o\n", name);
	if (o->srcs.n > 1) {
		p = text;
		text = xasprintf("%s%s-y :=", p, name);
		free(p);
		for (i = 0; i < objs.n; i++) {
			p = text;
			text = xasprintf("%s %s.o", p, objs.v[i]);
			free(p);
		}
		p = text;
		text = xasprintf("%s\n", p);
		free(p);
	}
	p = text;
	text = xasprintf("%sccflags-y +=", p);
	free(p);
	for (i = 0; i < dirs.n + o->ccflags.n; i++) {
		p = text;
		text = xasprintf("%s %s", p, i < dirs.n ? dirs.v[i] : o->ccflags.v[i - dirs.n]);
		free(p);
	}
	p = text;
	text = xasprintf("%s\n", p);
	free(p);
	kbuild = xasprintf("%s/Kbuild", moddir);
	err = write_file(kbuild, text);
	free(kbuild);
	*ret_name = name;
	name = NULL;
out:
	free(name);
	free(text);
	strvec_free(&objs);
	strvec_free(&dirs);
	return err;
}

/*
 * -M mode: a clean copy of the module's directory, at root/ followed by its
 * own absolute path, beside links to everything else around it (see
 * mirror_ancestors): kbuild reads the module's headers in ../include, or
 * wherever its flags point, as in place, and writes only into the copy (or
 * into copies of the folders beside it where it puts objects: shadow_dir).
 * work/module leads to the copy, for --keep.
 */
static int copy_module_dir(const struct opts *o, const char *kdir,
			   const char *root, const char *work, char **ret_moddir)
{
	char *orig = realpath(o->moddir, NULL), *moddir = NULL, *m = NULL, *link;
	char *argv[] = { "make", "-C", (char *)kdir, NULL, "-s", "clean", NULL };
	int err;

	if (!orig) {
		err = -errno;
		goto out;
	}
	moddir = xasprintf("%s%s", root, orig);
	err = mirror_ancestors(root, orig);
	if (!err)
		err = copy_tree(orig, moddir);
	link = xasprintf("%s/module", work);
	if (!err && symlink(moddir, link))
		err = -errno;
	free(link);
	m = xasprintf("M=%s", moddir);
	argv[3] = m;
	if (!err)
		err = run_cmd(argv, moddir, "/dev/null") ? -EIO : 0;
out:
	if (err)
		cc_error(err, "copying %s", o->moddir);
	free(m);
	free(orig);
	*ret_moddir = moddir;
	return err;
}

static char *choose_module(const struct opts *o, const char *moddir)
{
	struct strvec mods = { 0 };
	char *name = NULL;

	kbuild_modules(moddir, &mods);
	if (o->module) {
		if (strvec_has(&mods, o->module))
			name = xstrdup(o->module);
		else
			cc_error(0, "%s builds no module named %s", o->moddir, o->module);
	} else if (mods.n == 1) {
		name = xstrdup(mods.v[0]);
	} else if (!mods.n) {
		cc_error(0, "%s builds no module (no obj-m in its Kbuild/Makefile?)",
			 o->moddir);
	} else {
		fprintf(stderr, "dusk-cc: %s builds %zu modules; pick one with --module:",
			o->moddir, mods.n);
		for (size_t i = 0; i < mods.n; i++)
			fprintf(stderr, " %s", mods.v[i]);
		fputc('\n', stderr);
	}
	strvec_free(&mods);
	return name;
}

/* The work directory, removed on every way out unless --keep. */
static char *work_dir;

static void work_dir_remove(void)
{
	if (work_dir) {
		rm_rf(work_dir);
		free(work_dir);
		work_dir = NULL;
	}
}

/*
 * -M DIR: a directory whose kbuild file (Kbuild, else Makefile, as kbuild
 * reads them) has obj- lists: say so now, not as a failed copy or make.
 */
static int check_module_dir(const char *dir)
{
	struct stat st;
	char *path, *text;
	bool found;

	if (stat(dir, &st)) {
		if (errno == ENOENT)
			cc_error(0, "-M %s: no such directory", dir);
		else
			cc_error(-errno, "-M %s", dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		cc_error(0, "-M %s: not a directory", dir);
		return -1;
	}
	path = xasprintf("%s/Kbuild", dir);
	if (access(path, F_OK)) {
		free(path);
		path = xasprintf("%s/Makefile", dir);
	}
	text = read_file(path, NULL);
	found = text && strstr(text, "obj-");
	free(text);
	free(path);
	if (!found) {
		cc_error(0, "-M %s: no Kbuild or Makefile with obj-m here", dir);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct dusk_paths paths;
	struct kbuild kb = { 0 };
	struct strvec objs = { 0 };
	char tmpl[PATH_MAX], *work, *root, *moddir = NULL, *outdir, *name = NULL;
	char *prog;
	const char *tmp = getenv("TMPDIR");
	double t0, t1, t2;
	int err;

	if (argc > 1 && !strcmp(argv[1], "--kbuild-cc"))
		return kbuild_cc_main(argc, argv);
	if (parse(argc, argv, &o))
		return 2;
	dusk_paths_init(&paths);
	kb.kdir = kbuild_kdir(o.kdir);
	if (!kb.kdir) {
		cc_error(0, "no kernel build tree: give --kdir, or install the target "
			 "kernel's headers (linux-headers-*)");
		return 1;
	}
	if (access(paths.plugin, R_OK)) {
		cc_error(-errno, "%s", paths.plugin);
		return 1;
	}

	if (o.moddir && check_module_dir(o.moddir))
		return 1;

	/* From here on, the work directory goes however dusk-cc ends:
	 * exit() (atexit), a signal (reraised after the unwinding), or
	 * the end of main. */
	cc_signals_catch();
	atexit(work_dir_remove);
	snprintf(tmpl, sizeof(tmpl), "%s/dusk-cc.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl)) {
		cc_error(-errno, "mkdtemp %s", tmpl);
		return 1;
	}
	if (!o.keep)
		work_dir = xstrdup(tmpl);
	/* kbuild's paths, and the names in diagnostics, have no symlinks */
	work = realpath(tmpl, NULL);
	if (!work) {
		cc_error(-errno, "%s", tmpl);
		return 1;
	}
	root = xasprintf("%s/root", work);
	outdir = xasprintf("%s/user", work);
	prog = absolute(o.prog);
	t0 = now_seconds();

	if (o.moddir) {
		err = copy_module_dir(&o, kb.kdir, root, work, &moddir);
		/* root/home/dev/fw/include/x.h is /home/dev/fw/include/x.h */
		strvec_push(&kb.map_from, root);
		strvec_push(&kb.map_to, "");
		kb.root = root;
	} else {
		moddir = xasprintf("%s/module", work);
		err = make_module_dir(&o, moddir, &name, &kb);
	}
	if (err)
		goto out;
	kb.moddir = moddir;
	kb.outdir = outdir;
	kb.plugin = paths.plugin;
	kb.cflags = o.user_cflags;
	kb.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (kb.jobs < 1)
		kb.jobs = 1;
	err = kbuild_run(&kb);
	if (err)
		goto out;
	t1 = now_seconds();
	if (!name) {
		name = choose_module(&o, moddir);
		if (!name) {
			err = -EINVAL;
			goto out;
		}
	}
	err = kbuild_module_objects(&kb, name, &objs);
	if (err)
		goto out;
	{
		struct link l = {
			.prog = prog, .tmpdir = work, .objs = &objs,
			.paths = &paths, .ldflags = &o.ldflags,
		};

		err = link_program(&l);
	}
	t2 = now_seconds();
	if (!err && cc_verbose)
		fprintf(stderr, "dusk-cc: %s: kbuild with user-level compiles %.2f s, "
			"link %.2f s\n", o.prog, t1 - t0, t2 - t1);
out:
	if (o.keep)
		fprintf(stderr, "dusk-cc: work directory kept: %s\n", work);
	work_dir_remove();
	if (cc_signal_caught()) {
		fprintf(stderr, "dusk-cc: %s\n", strsignal(cc_signal_caught()));
		cc_signals_reraise();
	}
	return err ? 1 : 0;
}
