// SPDX-License-Identifier: GPL-2.0
/* Asking kbuild how to compile the module (see kbuild.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kbuild.h"
#include "layout.h"
#include "paths.h"

/*
 * Flags that only kernel code generation needs: the kernel code model,
 * ftrace's entry hooks (not -DCC_USING_FENTRY: asm/ftrace.h, which
 * trace_events.h and kprobes.h include, stops the build without it), retpoline/return thunks and SLS hardening (their
 * thunks live in the kernel), the %gs stack-protector guard, the kernel's
 * stack alignment, patchable entries, kernel sanitizers, and kbuild's
 * dependency files.
 */
static const char *const kernel_only[] = {
	"-mcmodel=kernel", "-pg", "-mfentry", "-mrecord-mcount",
	"-mindirect-branch-register",
	"-mindirect-branch-cs-prefix", "-mskip-rax-setup",
	/* the kernel's 8-byte stack alignment: user-level ABI wants 16 */
	"-mpreferred-stack-boundary=3",
};

static const char *const kernel_only_prefix[] = {
	"-mindirect-branch=", "-mfunction-return=", "-mharden-sls=",
	"-mstack-protector-guard", "-fpatchable-function-entry=",
	"-fsanitize", "--param=asan", "-Wp,-MMD,", "-Wp,-MD,",
};

static bool kernel_only_flag(const char *a)
{
	size_t i;

	for (i = 0; i < sizeof(kernel_only) / sizeof(*kernel_only); i++)
		if (!strcmp(a, kernel_only[i]))
			return true;
	for (i = 0; i < sizeof(kernel_only_prefix) / sizeof(*kernel_only_prefix); i++)
		if (str_starts(a, kernel_only_prefix[i]))
			return true;
	return false;
}

static char *target_release(void)
{
	const char *state = getenv("DUSK_STATE_DIR");
	const char *name = getenv("DUSK_TARGET_NAME");
	const char *home = getenv("HOME");
	char *dir, *path, *text;

	if (state)
		dir = xstrdup(state);
	else if (getenv("XDG_STATE_HOME"))
		dir = xasprintf("%s/dusk", getenv("XDG_STATE_HOME"));
	else
		dir = xasprintf("%s/.local/state/dusk", home ? home : "/");
	path = xasprintf("%s/%s/release", dir, name && *name ? name : "default");
	text = read_file(path, NULL);
	free(path);
	free(dir);
	if (text)
		text[strcspn(text, "\n")] = '\0';
	return text;
}

static char *kdir_of(const char *release)
{
	char *kdir = xasprintf("/lib/modules/%s/build", release);

	if (!access(kdir, F_OK))
		return kdir;
	free(kdir);
	return NULL;
}

char *kbuild_kdir(const char *opt)
{
	struct utsname u;
	char *rel, *kdir = NULL;

	if (opt)
		return xstrdup(opt);
	rel = target_release();
	if (rel) {
		kdir = kdir_of(rel);
		free(rel);
	}
	if (!kdir && *DUSK_KERNEL_RELEASE)
		kdir = kdir_of(DUSK_KERNEL_RELEASE);
	if (!kdir && !uname(&u))
		kdir = kdir_of(u.release);
	return kdir;
}

/*
 * kbuild's own compiler command ("gcc-12" on Debian 12), asked of make, and
 * the kernel's source tree (Debian's headers are split in two: -common,
 * and the configured tree kdir): where the kernel's own types are declared.
 */
/*
 * MAKEFLAGS names a jobserver this process can use: its pipe's two
 * descriptors are open here (a fifo: its path). A make that did not mark
 * our rule with '+', or a test harness that closed the descriptors, gives
 * the flags without the pipe: its make would then run one job at a time.
 */
static int jobserver_inherited(const char *mf)
{
	const char *p = strstr(mf, "--jobserver-auth=");
	int rfd, wfd;

	if (!p)
		p = strstr(mf, "--jobserver-fds=");
	if (!p)
		return 0;
	p = strchr(p, '=') + 1;
	if (!strncmp(p, "fifo:", 5))
		return 1;
	if (sscanf(p, "%d,%d", &rfd, &wfd) != 2)
		return 0;
	return fcntl(rfd, F_GETFD) != -1 && fcntl(wfd, F_GETFD) != -1;
}

static char *kbuild_cc(const struct kbuild *kb, char **ret_srctree)
{
	char *m = xasprintf("M=%s", kb->moddir);
	char *argv[] = { "make", "-C", (char *)kb->kdir, m, "--no-print-directory",
			 "-s", "--eval=dusk-print-cc: ; @echo "
			 "'dusk-cc=$(abspath $(srctree))|$(CC)'",
			 "dusk-print-cc", NULL };
	char *cc = run_line(argv, NULL, "dusk-cc="), *p;

	free(m);
	if (!cc)
		return NULL;
	p = strchr(cc, '|');
	if (!p) {
		free(cc);
		return NULL;
	}
	*p = '\0';
	*ret_srctree = xstrdup(cc);
	memmove(cc, p + 1, strlen(p + 1) + 1);
	for (p = cc; *p == ' '; p++)
		;
	memmove(cc, p, strlen(p) + 1);
	if (!*cc) {
		free(cc);
		return NULL;
	}
	return cc;
}

/* Copy fd to stderr, naming the developer's files instead of our copies. */
static void filter_paths(int fd, const struct kbuild *kb)
{
	FILE *in = fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0;

	while (in) {
		char *out;

		errno = 0;
		if (getline(&line, &cap, in) <= 0) {
			/* A signal (cc_signals_catch): read on to the end. */
			if (errno == EINTR && !feof(in)) {
				clearerr(in);
				continue;
			}
			break;
		}
		out = xstrdup(line);

		for (size_t i = 0; i < kb->map_from.n; i++) {
			const char *from = kb->map_from.v[i], *to = kb->map_to.v[i];
			char *at;

			while ((at = strstr(out, from))) {
				char *next;

				*at = '\0';
				next = xasprintf("%s%s%s", out, to, at + strlen(from));
				free(out);
				out = next;
			}
		}
		fputs(out, stderr);
		free(out);
	}
	free(line);
	if (in)
		fclose(in);
}

/* The user-level compiles' debug information names the developer's files. */
static char *prefix_maps(const struct kbuild *kb)
{
	char *flags = xstrdup(kb->cflags ? kb->cflags : ""), *next;

	for (size_t i = 0; i < kb->map_from.n; i++) {
		next = xasprintf("%s -ffile-prefix-map=%s=%s", flags,
				 kb->map_from.v[i], kb->map_to.v[i]);
		free(flags);
		flags = next;
	}
	return flags;
}

static int run_filtered(char *const argv[], const char *cwd,
			const struct kbuild *kb)
{
	int fds[2], ret;
	pid_t pid;

	if (cc_verbose || !kb->map_from.n)
		return run_cmd(argv, cwd, NULL);
	if (pipe(fds))
		return -errno;
	fflush(NULL);
	pid = cc_fork();
	if (pid < 0) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	if (!pid) {
		close(fds[0]);
		dup2(fds[1], 2);
		close(fds[1]);
		if (cwd && chdir(cwd))
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	filter_paths(fds[0], kb);
	return cc_wait(pid);
}

int kbuild_run(const struct kbuild *kb)
{
	char *srctree = NULL, *cc = kbuild_cc(kb, &srctree), *self, *ccvar, *m;
	char *jobs, *cflags, *kdir, *kernel_dirs, *pwd;
	const char *mf;
	int ret;

	if (!cc) {
		cc_error(0, "cannot ask kbuild in %s for its compiler", kb->kdir);
		return -EINVAL;
	}
	self = realpath("/proc/self/exe", NULL);
	ccvar = xasprintf("CC=%s --kbuild-cc %s", self, cc);
	m = xasprintf("M=%s", kb->moddir);
	/* Under make -j (examples/, a module's own Makefile), share its
	 * jobserver: a -j of our own would reset it. */
	mf = getenv("MAKEFLAGS");
	jobs = mf && jobserver_inherited(mf) ? NULL :
		xasprintf("-j%d", kb->jobs);
	setenv("DUSK_CC_MODDIR", kb->moddir, 1);
	setenv("DUSK_CC_OUTDIR", kb->outdir, 1);
	setenv("DUSK_CC_PLUGIN", kb->plugin, 1);
	if (kb->root)
		setenv("DUSK_CC_ROOT", kb->root, 1);
	cflags = prefix_maps(kb);
	setenv("DUSK_CC_CFLAGS", cflags, 1);
	setenv("DUSK_CC_USER_CFLAGS", kb->cflags ? kb->cflags : "", 1);
	kdir = realpath(kb->kdir, NULL);
	kernel_dirs = xasprintf("%s:%s", srctree, kdir ? kdir : kb->kdir);
	setenv("DUSK_CC_KERNEL_DIRS", kernel_dirs, 1);
	if (cc_verbose)
		setenv("DUSK_CC_VERBOSE", "1", 1);
	/* As when the developer runs make in the module's folder: some
	 * Makefiles say -I$(PWD)/../include. */
	pwd = getenv("PWD") ? xstrdup(getenv("PWD")) : NULL;
	setenv("PWD", kb->moddir, 1);
	{
		char *argv[] = { "make", "-C", (char *)kb->kdir, m, ccvar,
				 cc_verbose ? "V=1" : "-s", "modules", jobs, NULL };

		ret = run_filtered(argv, kb->moddir, kb);
	}
	if (pwd)
		setenv("PWD", pwd, 1);
	else
		unsetenv("PWD");
	if (ret)
		cc_error(ret < 0 ? ret : 0, "kbuild failed");
	free(pwd);
	free(kernel_dirs);
	free(kdir);
	free(cflags);
	free(jobs);
	free(m);
	free(ccvar);
	free(self);
	free(cc);
	free(srctree);
	return ret ? -EIO : 0;
}

/*
 * Where the user-level object of rel (an object's path from the module's
 * folder) goes: under outdir, a ".." of ../lib/x.o named "dotdot" so that
 * it stays there.
 */
static char *user_object(const char *outdir, const char *rel)
{
	char *path = xstrdup(outdir), *copy = xstrdup(rel), *tok, *save, *next;

	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		next = xasprintf("%s/%s", path, strcmp(tok, "..") ? tok : "dotdot");
		free(path);
		path = next;
	}
	free(copy);
	return path;
}

int kbuild_modules(const char *moddir, struct strvec *ret)
{
	DIR *d = opendir(moddir);
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (str_ends(e->d_name, ".mod") && e->d_name[0] != '.') {
			char *name = xstrdup(e->d_name);

			name[strlen(name) - 4] = '\0';
			strvec_push(ret, name);
			free(name);
		}
	}
	closedir(d);
	return 0;
}

int kbuild_module_objects(const struct kbuild *kb, const char *name,
			  struct strvec *ret)
{
	char *path = xasprintf("%s/%s.mod", kb->moddir, name);
	char *text = read_file(path, NULL), *tok, *save;
	size_t mlen = strlen(kb->moddir);
	int err = 0;

	if (!text) {
		cc_error(-errno, "%s", path);
		free(path);
		return -ENOENT;
	}
	for (tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		const char *rel = tok;

		/* kbuild lists objects by path, absolute or from the module dir */
		if (!strncmp(tok, kb->moddir, mlen) && tok[mlen] == '/')
			rel = tok + mlen + 1;
		{
			char *obj = user_object(kb->outdir, rel);

			strvec_push(ret, obj);
			free(obj);
		}
		if (access(ret->v[ret->n - 1], R_OK)) {
			cc_error(0, "no user-level object for %s (did kbuild compile it with dusk-cc?)",
				 rel);
			err = -ENOENT;
		}
	}
	free(text);
	free(path);
	return err;
}

/* ---- the compiler kbuild runs --------------------------------------------- */

/* A compile of one of the module's own C files into an object? */
static const char *module_object(int argc, char **argv, const char *moddir,
				 const char **ret_src)
{
	const char *out = NULL, *src = NULL;
	size_t mlen = strlen(moddir);
	bool compile = false;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-c"))
			compile = true;
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] != '-' && str_ends(argv[i], ".c"))
			src = argv[i];
	}
	if (!compile || !out || !src || !str_ends(out, ".o") ||
	    str_ends(src, ".mod.c") || strncmp(out, moddir, mlen) ||
	    out[mlen] != '/')
		return NULL;
	*ret_src = src;
	return out + mlen + 1;
}

static void user_args(struct strvec *uv, const char *cc, int argc, char **argv,
		      const char *outpath)
{
	const char *extra = getenv("DUSK_CC_CFLAGS");
	char *copy, *tok, *save;
	int i;

	strvec_push(uv, cc);
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-o") && i + 1 < argc) {
			i++;
			continue;
		}
		if (kernel_only_flag(a))
			continue;
		if (!strcmp(a, "-fno-PIE") || !strcmp(a, "-fno-pie"))
			a = "-fPIE";
		/* backtraces (glibc's, gdb's) want unwind tables */
		if (!strcmp(a, "-fno-asynchronous-unwind-tables"))
			a = "-fasynchronous-unwind-tables";
		strvec_push(uv, a);
	}
	strvec_pushf(uv, "-fplugin=%s", getenv("DUSK_CC_PLUGIN"));
	/* Each function in one piece: the inline checks' cold misses make
	 * GCC move more of a function to a .cold part, through which gdb's
	 * step loses the line (kfree's line, then "return": stopped at the
	 * declarations), and backtraces name function.cold. */
	strvec_push(uv, "-fno-reorder-blocks-and-partition");
	/* kbuild's compile beside this one already shows every warning */
	strvec_push(uv, "-w");
	if (extra && *extra) {
		copy = xstrdup(extra);
		for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			strvec_push(uv, tok);
		free(copy);
	}
	strvec_push(uv, "-o");
	strvec_push(uv, outpath);
}

static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();

	if (!pid) {
		execvp(argv[0], argv);
		fprintf(stderr, "dusk-cc: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Does kbuild's command give the object full DWARF types? Not with -g0 or
 * -g1 or without -g (a kernel without CONFIG_DEBUG_INFO), nor with split
 * DWARF or reduced struct debug information (CONFIG_DEBUG_INFO_SPLIT,
 * _REDUCED): then the layouts come from a compile of our own.
 */
static bool full_dwarf(int argc, char **argv)
{
	bool full = false, other = false;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-g0") || !strcmp(a, "-g1"))
			full = false;
		else if (!strcmp(a, "-gsplit-dwarf") || str_starts(a, "-femit-struct-debug"))
			other = true;
		else if (str_starts(a, "-g") && strcmp(a, "-gz") && !str_starts(a, "-gz=") &&
			 !str_starts(a, "-gno-"))
			full = true;
	}
	return full && !other;
}

/* What gives an object full DWARF types, last on a command line. */
static void push_full_dwarf(struct strvec *v)
{
	strvec_push(v, "-g");
	strvec_push(v, "-gno-split-dwarf");
	strvec_push(v, "-femit-struct-debug-detailed=any");
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/*
 * An object kbuild writes outside the module's folder (foo-objs :=
 * ../lib/x.o, or in a subfolder that links outside): in -M mode its
 * directory is, in the mirror, a link to the developer's own. It becomes a
 * directory of copies (shadow_dir) before anything is written there; an
 * object that still lands outside the mirror (an absolute link in the
 * module's folder) is refused. 0, or 1 if refused.
 */
static int keep_inside(int argc, char **argv, const char *moddir)
{
	const char *root = getenv("DUSK_CC_ROOT"), *out = NULL;
	char *dir, *real, *slash, *lock;
	bool compile = false;
	int err = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-c"))
			compile = true;
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
	}
	if (!compile || !out || !str_ends(out, ".o") || !under(out, moddir))
		return 0;
	dir = xstrdup(out);
	slash = strrchr(dir, '/');
	*slash = '\0';
	real = realpath(dir, NULL);
	if (real && !under(real, moddir) && root && !under(real, root)) {
		lock = xasprintf("%s.lock", root);
		err = shadow_dir(root, real, lock);
		free(lock);
		free(real);
		real = err ? NULL : realpath(dir, NULL);
		if (err)
			fprintf(stderr, "dusk-cc: %s: cannot make a place for it in "
				"dusk-cc's copy: %s\n", out, strerror(-err));
	}
	if (real && !under(real, moddir) && !(root && under(real, root))) {
		fprintf(stderr, "dusk-cc: %s: an object outside the module's folder, "
			"that kbuild would write into %s: dusk-cc writes nothing "
			"there; link its folder relatively, or move its source into "
			"the module's folder\n", out, real);
		err = -EPERM;
	}
	free(real);
	free(dir);
	return err ? 1 : 0;
}

/* NULL-terminated list of a colon-separated string's parts. */
static void split_colons(const char *s, struct strvec *ret)
{
	char *copy = xstrdup(s ? s : ""), *tok, *save;

	for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
		strvec_push(ret, tok);
	free(copy);
}

#define LAYOUT_DIFFS_SHOWN 8

/*
 * The proof that dropping the kernel-only flags kept every layout: the
 * structs and unions both objects describe, compared. 0 if alike.
 */
static int check_layouts(const char *src, const char *shown, const char *kobj,
			 const char *uobj)
{
	struct layout k, u;
	struct layout_diff *diffs = NULL;
	struct strvec kernel_dirs = { 0 };
	const char *user_cflags = getenv("DUSK_CC_USER_CFLAGS");
	size_t n = 0, common = 0, i;
	double t0 = now_seconds();
	char line[1024];
	int err;

	err = layout_read(kobj, &k);
	if (err) {
		fprintf(stderr, "dusk-cc: %s: cannot read the types of its .ko build's "
			"object: %s\n", src, strerror(-err));
		return err;
	}
	err = layout_read(uobj, &u);
	if (err) {
		fprintf(stderr, "dusk-cc: %s: cannot read the types of its user-level "
			"object: %s%s\n", src, strerror(-err), err == -ENODATA ?
			" (no debug information: -g0 in --user-cflags?)" : "");
		layout_free(&k);
		return err;
	}
	split_colons(getenv("DUSK_CC_KERNEL_DIRS"), &kernel_dirs);
	err = layout_compare(&k, &u, (const char *const *)kernel_dirs.v, &diffs,
			     &n, &common);
	if (err) {
		fprintf(stderr, "dusk-cc: %s: comparing layouts: %s\n", src,
			strerror(-err));
	} else if (n) {
		fprintf(stderr, "dusk-cc: %s: the user-level build lays out types "
			"differently from the .ko build:\n", src);
		for (i = 0; i < n && i < LAYOUT_DIFFS_SHOWN; i++) {
			layout_diff_describe(&diffs[i], ".ko build", "user-level build",
					     line, sizeof(line));
			fprintf(stderr, "dusk-cc:   %s\n", line);
		}
		if (n > LAYOUT_DIFFS_SHOWN)
			fprintf(stderr, "dusk-cc:   ... and %zu more differences\n",
				n - LAYOUT_DIFFS_SHOWN);
		fprintf(stderr, "dusk-cc: the module's user-level code would read and "
			"write these where the kernel does not keep them: a flag that "
			"only one build has changes them%s%s%s\n",
			user_cflags && *user_cflags ? " (--user-cflags '" : "",
			user_cflags && *user_cflags ? user_cflags : "",
			user_cflags && *user_cflags ? "'?)" : "");
		err = -EPROTO;
	} else if (getenv("DUSK_CC_VERBOSE")) {
		fprintf(stderr, "dusk-cc: layouts of %s: %zu structs and unions alike "
			"in both builds (%.2f s)\n", shown, common, now_seconds() - t0);
	}
	free(diffs);
	strvec_free(&kernel_dirs);
	layout_free(&u);
	layout_free(&k);
	return err;
}

int kbuild_cc_main(int argc, char **argv)
{
	const char *moddir = getenv("DUSK_CC_MODDIR");
	const char *outdir = getenv("DUSK_CC_OUTDIR");
	const char *cc, *rel, *src;
	struct strvec kv = { 0 }, uv = { 0 }, gv = { 0 };
	char *outpath, *slash, *gpath = NULL;
	pid_t kpid, upid, gpid = -1;
	int i, kst, ust, gst = 0;
	bool full;

	if (argc < 3 || !moddir || !outdir || !getenv("DUSK_CC_PLUGIN")) {
		fputs("dusk-cc: --kbuild-cc is dusk-cc's own role inside kbuild\n", stderr);
		return 2;
	}
	cc = argv[2];
	argc -= 3;
	argv += 3;
	strvec_push(&kv, cc);
	for (i = 0; i < argc; i++)
		strvec_push(&kv, argv[i]);

	if (keep_inside(argc, argv, moddir))
		return 1;
	rel = module_object(argc, argv, moddir, &src);
	if (!rel) {
		execvp(kv.v[0], kv.v);
		fprintf(stderr, "dusk-cc: cannot run %s: %s\n", cc, strerror(errno));
		return 127;
	}
	outpath = user_object(outdir, rel);
	slash = strrchr(outpath, '/');
	*slash = '\0';
	mkdir_p(outpath);
	*slash = '/';
	user_args(&uv, cc, argc, argv, outpath);
	full = full_dwarf(argc, argv);
	if (!full) {
		/* the user-level object's types, for the check and for gdb */
		uv.n -= 2;
		free(uv.v[uv.n]);
		free(uv.v[uv.n + 1]);
		uv.v[uv.n] = NULL;
		push_full_dwarf(&uv);
		strvec_push(&uv, "-o");
		strvec_push(&uv, outpath);
		/* kbuild's own command, with types, to an object of ours */
		gpath = xasprintf("%s.kernel-dwarf.o", outpath);
		for (i = 0; i < (int)kv.n; i++) {
			if (!strcmp(kv.v[i], "-o")) {
				i++;
				continue;
			}
			if (!str_starts(kv.v[i], "-Wp,-MMD,") && !str_starts(kv.v[i], "-Wp,-MD,"))
				strvec_push(&gv, kv.v[i]);
		}
		push_full_dwarf(&gv);
		strvec_push(&gv, "-o");
		strvec_push(&gv, gpath);
	}

	/* All compiles at once: the user-level one costs little extra time. */
	kpid = spawn(kv.v);
	upid = spawn(uv.v);
	if (gpath)
		gpid = spawn(gv.v);
	kst = reap(kpid);
	ust = reap(upid);
	if (gpath)
		gst = reap(gpid);
	if (!kst && ust)
		fprintf(stderr, "dusk-cc: %s compiles as a kernel object but not "
			"as a user-level one (see above)\n", src);
	if (!kst && !ust && gst) {
		fprintf(stderr, "dusk-cc: %s: kbuild's command with -g added failed "
			"(see above)\n", src);
		ust = gst;
	} else if (!kst && !ust) {
		char *kobj = xasprintf("%s/%s", moddir, rel);
		size_t mlen = strlen(moddir);
		/* verbose output is not filtered: the module's own name */
		const char *shown = !strncmp(src, moddir, mlen) && src[mlen] == '/' ?
			src + mlen + 1 : src;

		if (check_layouts(src, shown, gpath ? gpath : kobj, outpath))
			ust = 1;
		free(kobj);
	}
	if (gpath)
		unlink(gpath);
	if (ust)
		unlink(outpath);
	return kst ? kst : ust;
}
