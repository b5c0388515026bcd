/* SPDX-License-Identifier: GPL-2.0 */
/* util.h - dusk-cc's small helpers: string vectors, processes, files. */
#ifndef DUSK_CC_UTIL_H
#define DUSK_CC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct strvec {
	char **v;		/* NULL-terminated */
	size_t n, cap;
};

void strvec_push(struct strvec *sv, const char *s);
void strvec_pushf(struct strvec *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strvec_free(struct strvec *sv);
bool strvec_has(const struct strvec *sv, const char *s);

char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool str_starts(const char *s, const char *prefix);
bool str_ends(const char *s, const char *suffix);

/* Print a one-line error "dusk-cc: ..." (errno text if err < 0). */
void cc_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

extern bool cc_verbose;

/*
 * Signals. After cc_signals_catch(), SIGINT, SIGTERM and SIGHUP (unless
 * ignored, as under nohup) do not kill dusk-cc at once: the command
 * running (each runs in a process group of its own) gets the signal, no
 * other starts (cc_fork() fails with EINTR), the error unwinds as any
 * other and the work directory goes; then cc_signals_reraise() ends
 * dusk-cc by the signal, so that its caller sees what killed it.
 */
void cc_signals_catch(void);
int cc_signal_caught(void);
void cc_signals_reraise(void);
/* fork(), the child in a process group of its own with the signals as
 * dusk-cc found them; -1 with errno EINTR once a signal was caught. */
pid_t cc_fork(void);
/* Wait for a child of cc_fork(): its exit status, 128 + the signal that
 * killed it, or -errno. */
int cc_wait(pid_t pid);

/*
 * Run argv (argv[0] looked up in PATH) in cwd (NULL: ours); stdout to
 * out_path if given. Returns its exit status (0 success), or -errno if it
 * could not run. With cc_verbose the command is printed first.
 */
int run_cmd(char *const argv[], const char *cwd, const char *out_path);
/* The rest of the first line of a command's output that starts with
 * prefix (make may print its own lines around a recipe's); NULL if none
 * or on error. */
char *run_line(char *const argv[], const char *cwd, const char *prefix);

int mkdir_p(const char *path);
int rm_rf(const char *path);
int copy_tree(const char *from, const char *to);
/*
 * Make root/DIR (DIR absolute, symlinks resolved) an empty directory whose
 * ancestors up to root are real directories holding a symlink to every
 * other entry of their originals: relative paths that leave root/DIR
 * ("../include/x.h", $(src)/../include) reach the developer's files,
 * read-only, as they would from DIR itself.
 */
int mirror_ancestors(const char *root, const char *dir);
/*
 * Make root/DIR (DIR absolute, symlinks resolved), and each of its
 * ancestors that is one of mirror_ancestors' links, a real directory
 * holding copies of the original's files and links to its subfolders, so
 * that what is written there stays under root. Each swap is atomic (other
 * compiles may be reading through the link) and done under a lock on
 * lock_path (make -j runs several at once).
 */
int shadow_dir(const char *root, const char *dir, const char *lock_path);
char *read_file(const char *path, size_t *ret_len);
int write_file(const char *path, const char *text);
double now_seconds(void);

#endif /* DUSK_CC_UTIL_H */
