// SPDX-License-Identifier: GPL-2.0
/* dusk-cc's small helpers. Allocation failure ends the tool: it is one. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

bool cc_verbose;

static void oom(void)
{
	fputs("dusk-cc: out of memory\n", stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return strcpy(xrealloc(NULL, strlen(s) + 1), s);
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	return s;
}

void strvec_push(struct strvec *sv, const char *s)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? 2 * sv->cap : 16;
		sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	sv->v[sv->n++] = xstrdup(s);
	sv->v[sv->n] = NULL;
}

void strvec_pushf(struct strvec *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	strvec_push(sv, s);
	free(s);
}

void strvec_free(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

bool strvec_has(const struct strvec *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

bool str_starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

bool str_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

void cc_error(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("dusk-cc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err < 0)
		fprintf(stderr, ": %s", strerror(-err));
	fputc('\n', stderr);
}

static void print_cmd(char *const argv[], const char *cwd)
{
	if (cwd)
		fprintf(stderr, "  (cd %s &&", cwd);
	for (size_t i = 0; argv[i]; i++)
		fprintf(stderr, " %s", argv[i]);
	fputs(cwd ? ")\n" : "\n", stderr);
}

static const int cc_caught_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define CC_NR_CAUGHT	(sizeof(cc_caught_signals) / sizeof(cc_caught_signals[0]))
static struct sigaction cc_saved_actions[CC_NR_CAUGHT];
static bool cc_catching[CC_NR_CAUGHT];
static volatile sig_atomic_t cc_signal;
static volatile pid_t cc_child;		/* its process group: the running command */

static void cc_on_signal(int sig)
{
	int saved = errno;

	cc_signal = sig;
	if (cc_child > 0)
		kill(-cc_child, sig);
	errno = saved;
}

void cc_signals_catch(void)
{
	struct sigaction sa = { .sa_handler = cc_on_signal };
	size_t i;

	/* No SA_RESTART: a wait is interrupted, and goes on in cc_wait(). */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < CC_NR_CAUGHT; i++) {
		int sig = cc_caught_signals[i];

		if (sigaction(sig, NULL, &cc_saved_actions[i]) ||
		    cc_saved_actions[i].sa_handler == SIG_IGN)
			continue;
		cc_catching[i] = !sigaction(sig, &sa, NULL);
	}
}

int cc_signal_caught(void)
{
	return cc_signal;
}

void cc_signals_reraise(void)
{
	int sig = cc_signal;
	size_t i;

	if (!sig)
		return;
	for (i = 0; i < CC_NR_CAUGHT; i++)
		if (cc_catching[i])
			sigaction(cc_caught_signals[i], &cc_saved_actions[i], NULL);
	fflush(NULL);
	raise(sig);
}

pid_t cc_fork(void)
{
	sigset_t block, old;
	pid_t pid;
	size_t i;

	/* No signal between fork() and knowing the child. */
	sigemptyset(&block);
	for (i = 0; i < CC_NR_CAUGHT; i++)
		sigaddset(&block, cc_caught_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (cc_signal) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = EINTR;
		return -1;
	}
	pid = fork();
	if (!pid) {
		setpgid(0, 0);
		for (i = 0; i < CC_NR_CAUGHT; i++)
			if (cc_catching[i])
				sigaction(cc_caught_signals[i],
					  &cc_saved_actions[i], NULL);
	} else if (pid > 0) {
		setpgid(pid, pid);
		cc_child = pid;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return pid;
}

int cc_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			cc_child = 0;
			return -errno;
		}
	}
	cc_child = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int run_cmd(char *const argv[], const char *cwd, const char *out_path)
{
	int fd;
	pid_t pid;

	if (cc_verbose)
		print_cmd(argv, cwd);
	fflush(NULL);
	pid = cc_fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		if (cwd && chdir(cwd))
			_exit(127);
		if (out_path) {
			fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || dup2(fd, 1) < 0)
				_exit(127);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "dusk-cc: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	return cc_wait(pid);
}

char *run_line(char *const argv[], const char *cwd, const char *prefix)
{
	char tmpl[] = "/tmp/dusk-cc-line.XXXXXX";
	char *text, *line, *found = NULL;
	size_t plen = strlen(prefix);
	int fd;

	fd = mkstemp(tmpl);
	if (fd < 0)
		return NULL;
	close(fd);
	if (run_cmd(argv, cwd, tmpl)) {
		unlink(tmpl);
		return NULL;
	}
	text = read_file(tmpl, NULL);
	unlink(tmpl);
	for (line = text; line && *line && !found; ) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (!strncmp(line, prefix, plen))
			found = xstrdup(line + plen);
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	return found;
}

int mkdir_p(const char *path)
{
	char *p = xstrdup(path), *s;
	int ret = 0;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST) {
			ret = -errno;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path) ? -errno : 0;
}

int rm_rf(const char *path)
{
	if (access(path, F_OK))
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int copy_tree(const char *from, const char *to)
{
	char *src = xasprintf("%s/.", from);
	char *argv[] = { "cp", "-a", src, (char *)to, NULL };
	int ret;

	ret = mkdir_p(to);
	if (!ret)
		ret = run_cmd(argv, NULL, NULL) ? -EIO : 0;
	free(src);
	return ret;
}

/* Link every entry of dir but skip into root/dir. */
static int link_entries(const char *root, const char *dir, const char *skip)
{
	DIR *d = opendir(*dir ? dir : "/");
	struct dirent *e;
	int ret = 0;

	/* an unreadable ancestor: nothing of it is reachable by listing */
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *from, *to;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, skip))
			continue;
		from = xasprintf("%s/%s", dir, e->d_name);
		to = xasprintf("%s%s/%s", root, dir, e->d_name);
		if (symlink(from, to) && errno != EEXIST)
			ret = -errno;
		free(to);
		free(from);
		if (ret)
			break;
	}
	closedir(d);
	return ret;
}

int mirror_ancestors(const char *root, const char *dir)
{
	char *path = xstrdup(dir), *next, *here;
	int ret = 0;

	if (path[0] != '/') {
		free(path);
		return -EINVAL;
	}
	/* what precedes s is an ancestor; comp, after it, is on our way */
	for (char *s = path; s && !ret; s = next) {
		char *comp = s + 1, save;

		next = strchr(comp, '/');
		if (next)
			*next = '\0';
		save = *s;
		*s = '\0';
		here = xasprintf("%s%s", root, path);
		ret = mkdir_p(here);
		if (!ret && *comp)
			ret = link_entries(root, path, comp);
		free(here);
		*s = save;
		if (next)
			*next = '/';
	}
	if (!ret) {
		here = xasprintf("%s%s", root, path);
		ret = mkdir_p(here);
		free(here);
	}
	free(path);
	return ret;
}

static int copy_file(const char *from, const char *to, const struct stat *st)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	char buf[65536];
	ssize_t n = 0;
	int in, out, ret = 0;

	in = open(from, O_RDONLY);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL, st->st_mode & 07777);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			n = -1;
			break;
		}
	if (n < 0)
		ret = errno ? -errno : -EIO;
	/* the copy is as old as its original: make sees no change */
	if (!ret && futimens(out, times))
		ret = -errno;
	if (close(out) && !ret)
		ret = -errno;
	close(in);
	return ret;
}

/* root+dir, a link to dir, becomes a directory of copies and links. */
static int shadow_one(const char *root, const char *dir)
{
	char *mirror = xasprintf("%s%s", root, dir);
	char *tmp = xasprintf("%s.dusk-shadow", mirror);
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		ret = -errno;
		goto out;
	}
	if (mkdir(tmp, 0755)) {
		ret = -errno;
		goto out;
	}
	while (!ret && (e = readdir(d))) {
		char *from, *to;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		from = xasprintf("%s/%s", dir, e->d_name);
		to = xasprintf("%s/%s", tmp, e->d_name);
		if (lstat(from, &st))
			ret = -errno;
		else if (S_ISREG(st.st_mode))
			ret = copy_file(from, to, &st);
		else if (symlink(from, to))
			ret = -errno;
		free(to);
		free(from);
	}
	if (!ret && renameat2(AT_FDCWD, tmp, AT_FDCWD, mirror, RENAME_EXCHANGE))
		ret = -errno;
	/* tmp is now the link, or (on error) the unfinished directory */
	if (ret)
		rm_rf(tmp);
	else if (unlink(tmp))
		ret = -errno;
out:
	if (d)
		closedir(d);
	free(tmp);
	free(mirror);
	return ret;
}

int shadow_dir(const char *root, const char *dir, const char *lock_path)
{
	char *path = xstrdup(dir), *mirror;
	int lock, ret = 0;
	struct stat st;

	if (path[0] != '/') {
		free(path);
		return -EINVAL;
	}
	lock = open(lock_path, O_RDWR | O_CREAT, 0644);
	if (lock < 0 || flock(lock, LOCK_EX)) {
		ret = -errno;
		goto out;
	}
	/* each ancestor from the top, then dir itself */
	for (char *s = path + 1; !ret; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;

		*s = '\0';
		mirror = xasprintf("%s%s", root, path);
		if (lstat(mirror, &st))
			ret = -errno;
		else if (S_ISLNK(st.st_mode))
			ret = shadow_one(root, path);
		else if (!S_ISDIR(st.st_mode))
			ret = -ENOTDIR;
		free(mirror);
		*s = c;
		if (!c)
			break;
	}
out:
	if (lock >= 0)
		close(lock);
	free(path);
	return ret;
}

char *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	size_t len = 0, cap = 0, n;
	char *buf = NULL;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 8192;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	fclose(f);
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return buf;
}

int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) < 0)
		ret = -EIO;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
