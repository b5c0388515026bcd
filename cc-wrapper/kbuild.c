// SPDX-License-Identifier: GPL-2.0
/* Asking kbuild how to compile the module (see kbuild.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kbuild.h"
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

/* kbuild's own compiler command ("gcc-12" on Debian 12), asked of make. */
static char *kbuild_cc(const struct kbuild *kb)
{
	char *m = xasprintf("M=%s", kb->moddir);
	char *argv[] = { "make", "-C", (char *)kb->kdir, m, "--no-print-directory",
			 "-s", "--eval=dusk-print-cc: ; @echo dusk-cc=$(CC)",
			 "dusk-print-cc", NULL };
	char *cc = run_line(argv, NULL, "dusk-cc="), *p;

	free(m);
	if (!cc)
		return NULL;
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

	while (in && getline(&line, &cap, in) > 0) {
		char *out = xstrdup(line);

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

static int run_filtered(char *const argv[], const struct kbuild *kb)
{
	int fds[2], status;
	pid_t pid;

	if (cc_verbose || !kb->map_from.n)
		return run_cmd(argv, NULL, NULL);
	if (pipe(fds))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		close(fds[0]);
		dup2(fds[1], 2);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	filter_paths(fds[0], kb);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int kbuild_run(const struct kbuild *kb)
{
	char *cc = kbuild_cc(kb), *self, *ccvar, *m, *jobs, *cflags;
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
	jobs = mf && strstr(mf, "--jobserver-") ? NULL :
		xasprintf("-j%d", kb->jobs);
	setenv("DUSK_CC_MODDIR", kb->moddir, 1);
	setenv("DUSK_CC_OUTDIR", kb->outdir, 1);
	setenv("DUSK_CC_PLUGIN", kb->plugin, 1);
	cflags = prefix_maps(kb);
	setenv("DUSK_CC_CFLAGS", cflags, 1);
	{
		char *argv[] = { "make", "-C", (char *)kb->kdir, m, ccvar,
				 cc_verbose ? "V=1" : "-s", "modules", jobs, NULL };

		ret = run_filtered(argv, kb);
	}
	if (ret)
		cc_error(ret < 0 ? ret : 0, "kbuild failed");
	free(cflags);
	free(jobs);
	free(m);
	free(ccvar);
	free(self);
	free(cc);
	return ret ? -EIO : 0;
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
		strvec_pushf(ret, "%s/%s", kb->outdir, rel);
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

int kbuild_cc_main(int argc, char **argv)
{
	const char *moddir = getenv("DUSK_CC_MODDIR");
	const char *outdir = getenv("DUSK_CC_OUTDIR");
	const char *cc, *rel, *src;
	struct strvec kv = { 0 }, uv = { 0 };
	char *outpath, *slash;
	pid_t kpid, upid;
	int i, kst, ust;

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

	rel = module_object(argc, argv, moddir, &src);
	if (!rel) {
		execvp(kv.v[0], kv.v);
		fprintf(stderr, "dusk-cc: cannot run %s: %s\n", cc, strerror(errno));
		return 127;
	}
	outpath = xasprintf("%s/%s", outdir, rel);
	slash = strrchr(outpath, '/');
	*slash = '\0';
	mkdir_p(outpath);
	*slash = '/';
	user_args(&uv, cc, argc, argv, outpath);

	/* Both compiles at once: the user-level one costs little extra time. */
	kpid = spawn(kv.v);
	upid = spawn(uv.v);
	kst = reap(kpid);
	ust = reap(upid);
	if (!kst && ust)
		fprintf(stderr, "dusk-cc: %s compiles as a kernel object but not "
			"as a user-level one (see above)\n", src);
	return kst ? kst : ust;
}
