// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The watchdog process (see watchdog.h). After fork() it runs only this
 * file's code and ends with _exit(): no atexit handlers, no stdio flush,
 * nothing of the program's runs twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <limits.h>
#include <endian.h>
#include <sys/wait.h>

#include "log.h"
#include "observe.h"
#include "session.h"
#include "faults.h"
#include "transport.h"
#include "watchdog.h"

#define DUSK_WD_PIPE_FD		3
#define DUSK_WD_BYE_MS		1000
/* Released packets are reported at most this often. */
#define DUSK_WD_REPORT_MS	1000
#define DUSK_WD_HOOKS		64
#define DUSK_WD_NAME_LEN	120

/* What the program writes into the pipe: a byte, then its record. */
#define DUSK_WD_QUIT		'q'
#define DUSK_WD_HOOK		'h'

struct dusk_wd_hook_rec {
	uint32_t handle;
	char name[DUSK_WD_NAME_LEN];	/* "nf_hook_fn (ipv4 PRE_ROUTING)" */
};

struct dusk_wd_hook {
	struct dusk_wd_hook_rec rec;
	uint32_t policy;		/* enum dusk_policy, dusk.ko's word */
	uint64_t released;		/* dusk.ko's count, last seen */
	uint64_t reported;		/* ... when last reported */
};

struct dusk_wd {
	struct dusk_session *s;		/* the program's, as of fork() */
	struct dusk_transport *t;
	uint64_t seq;			/* DUSK_CHAN_WATCHDOG's counter */
	struct dusk_wd_hook hooks[DUSK_WD_HOOKS];
	unsigned int nr_hooks;
	uint64_t reported_ms;		/* when the last report was made */
	uint8_t pipe[1 + sizeof(struct dusk_wd_hook_rec)];
	size_t pipe_len;
	uint8_t buf[DUSK_HDR_LEN + 64];
	uint8_t rx[DUSK_MAX_DGRAM];
};

/* Send a PING or BYE on the watchdog channel: its id. */
static uint64_t dusk_wd_send(struct dusk_wd *wd, uint8_t type, uint64_t id)
{
	size_t len;

	if (!id)
		id = atomic_fetch_add(&wd->s->shared->next_id[DUSK_CHAN_WATCHDOG], 1);
	dusk_msg_init(wd->buf, type, 0, DUSK_CHAN_WATCHDOG, wd->s->id, id, 0, 0);
	len = dusk_msg_seal(wd->buf, 0, ++wd->seq, &wd->s->key);
	dusk_transport_send(wd->t, wd->buf, len);
	return id;
}

static struct dusk_wd_hook *dusk_wd_hook_find(struct dusk_wd *wd,
					      uint32_t handle)
{
	unsigned int i;

	for (i = 0; i < wd->nr_hooks; i++)
		if (wd->hooks[i].rec.handle == handle)
			return &wd->hooks[i];
	return NULL;
}

/* PING's reply: each hook's count of packets released by its policy. */
static void dusk_wd_counts(struct dusk_wd *wd, const struct dusk_msg *m)
{
	const uint8_t *p = m->payload + sizeof(struct dusk_stats);
	struct dusk_hook_count c;
	struct dusk_wd_hook *h;
	uint32_t left;

	if (m->type != DUSK_MSG_PING || m->status ||
	    m->len < sizeof(struct dusk_stats))
		return;
	for (left = m->len - (uint32_t)sizeof(struct dusk_stats);
	     left >= sizeof(c); left -= (uint32_t)sizeof(c), p += sizeof(c)) {
		memcpy(&c, p, sizeof(c));
		h = dusk_wd_hook_find(wd, le32toh(c.handle));
		if (!h)
			continue;
		h->released = le64toh(c.released);
		h->policy = le32toh(c.policy);
	}
}

/*
 * A packet released by policy went on unseen by the module (accepted or
 * dropped after the hold time, or with the queue full): say so, once a
 * second at most, so that a firewall failing open is never silent. The
 * watchdog says it because it runs while the program cannot: stopped in
 * a debugger, or stuck in a hook.
 */
static void dusk_wd_report(struct dusk_wd *wd)
{
	uint64_t now = dusk_now_ms(), span = now - wd->reported_ms;
	struct dusk_wd_hook *h;
	char line[256];
	unsigned int i;
	int n;

	if (span < DUSK_WD_REPORT_MS)
		return;
	for (i = 0; i < wd->nr_hooks; i++) {
		h = &wd->hooks[i];
		if (h->released <= h->reported)
			continue;
		n = snprintf(line, sizeof(line),
			     "dusk: hook %s: %llu packet%s released by policy (%s) in the last %llu s\n",
			     h->rec.name,
			     (unsigned long long)(h->released - h->reported),
			     h->released - h->reported == 1 ? "" : "s",
			     h->policy == DUSK_POLICY_DROP ? "drop" : "accept",
			     (unsigned long long)((span + 500) / 1000));
		h->reported = h->released;
		if (n > 0 && write(STDERR_FILENO, line,
				   DUSK_MIN((size_t)n, sizeof(line) - 1)) < 0)
			break;		/* stderr is gone: nothing to tell */
	}
	wd->reported_ms = now;
}

/* Read what arrived; 1 if it includes the reply to request id. */
static int dusk_wd_drain(struct dusk_wd *wd, uint64_t id)
{
	struct dusk_msg m;
	uint64_t rx_ns;
	ssize_t n;
	int got = 0;

	while ((n = dusk_transport_recv(wd->t, wd->rx, sizeof(wd->rx), 0, -1,
					&rx_ns)) >= 0 || n == -EMSGSIZE ||
	       n == -ECONNREFUSED) {
		if (n < 0)
			continue;
		if (dusk_msg_parse(wd->rx, (size_t)n, &wd->s->key,
				   DUSK_ROLE_RUNTIME, &m) ||
		    !(m.flags & DUSK_F_REPLY) || m.channel != DUSK_CHAN_WATCHDOG ||
		    m.session != wd->s->id)
			continue;
		dusk_wd_counts(wd, &m);
		if (id && m.id == id)
			got = 1;
	}
	return got;
}

/*
 * What came through the pipe: a hook's name, or quit. Returns 1 to quit
 * quietly, -1 on EOF (the program is gone), 0 otherwise.
 */
static int dusk_wd_pipe(struct dusk_wd *wd)
{
	struct dusk_wd_hook_rec rec;
	ssize_t n;

	n = read(DUSK_WD_PIPE_FD, wd->pipe + wd->pipe_len,
		 sizeof(wd->pipe) - wd->pipe_len);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	wd->pipe_len += (size_t)n;
	if (wd->pipe[0] == DUSK_WD_QUIT)
		return 1;
	if (wd->pipe[0] != DUSK_WD_HOOK)
		return -1;
	if (wd->pipe_len < sizeof(wd->pipe))
		return 0;
	memcpy(&rec, wd->pipe + 1, sizeof(rec));
	rec.name[DUSK_WD_NAME_LEN - 1] = '\0';
	wd->pipe_len = 0;
	if (wd->nr_hooks < DUSK_WD_HOOKS && !dusk_wd_hook_find(wd, rec.handle))
		wd->hooks[wd->nr_hooks++].rec = rec;
	return 0;
}

static void dusk_wd_bye(struct dusk_wd *wd)
{
	uint64_t start = dusk_now_ms(), now, id;
	unsigned int rto = wd->s->cfg.rto_ms ? wd->s->cfg.rto_ms : 1;

	id = dusk_wd_send(wd, DUSK_MSG_BYE, 0);
	while ((now = dusk_now_ms()) - start < DUSK_WD_BYE_MS) {
		ssize_t n;
		uint64_t rx_ns;

		n = dusk_transport_recv(wd->t, wd->rx, sizeof(wd->rx), (int)rto, -1,
					&rx_ns);
		if (n >= 0) {
			struct dusk_msg m;

			if (!dusk_msg_parse(wd->rx, (size_t)n, &wd->s->key,
					    DUSK_ROLE_RUNTIME, &m) &&
			    (m.flags & DUSK_F_REPLY) && m.id == id)
				return;
			continue;
		}
		if (n == -ETIMEDOUT) {
			dusk_wd_send(wd, DUSK_MSG_BYE, id);
			rto = DUSK_MIN(2 * rto, (unsigned int)DUSK_RTO_MAX_MS);
		}
	}
}

/* Hold nothing of the program's but its stderr (for the reports of
 * released packets): stdin and stdout to /dev/null, the pipe's read end
 * at DUSK_WD_PIPE_FD, every other descriptor closed. */
static int dusk_wd_fds(int pipe_rd)
{
	int fd, devnull;

	fd = fcntl(pipe_rd, F_DUPFD, 16);	/* out of stdio's way */
	if (fd < 0)
		return -1;
	devnull = open("/dev/null", O_RDWR);
	if (devnull < 0)
		return -1;
	if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0)
		return -1;
	if (dup2(fd, DUSK_WD_PIPE_FD) < 0)
		return -1;
	return close_range(DUSK_WD_PIPE_FD + 1, ~0U, 0);
}

static void __attribute__((noreturn))
dusk_wd_main(struct dusk_session *s, int pipe_rd)
{
	static const int ignore[] = {
		SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGHUP, SIGPIPE, SIGUSR1,
		SIGUSR2, SIGALRM,
	};
	static struct dusk_wd wd;	/* big rx buffer: not on the stack */
	unsigned int every = s->cfg.heartbeat_ms / 4;
	uint64_t next_ping;
	struct pollfd pfd;
	sigset_t none;
	unsigned int i;
	int quit;

	/* The program's log sink and observers are not ours to call. */
	dusk_set_log(NULL);
	dusk_observers_reset();
	if (dusk_wd_fds(pipe_rd) < 0)
		_exit(1);
	/* Out of the terminal's foreground group: ^C, ^Z are gdb's. */
	setpgid(0, 0);
	for (i = 0; i < DUSK_ARRAY_SIZE(ignore); i++)
		signal(ignore[i], SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	wd.s = s;
	wd.reported_ms = dusk_now_ms();
	if (dusk_transport_udp_create((struct sockaddr *)&s->addr, s->addr_len,
				      &wd.t) ||
	    dusk_transport_faults_setup(&wd.t, s->cfg.faults))
		_exit(1);
	if (!every)
		every = 1;
	next_ping = dusk_now_ms() + every;
	pfd.fd = DUSK_WD_PIPE_FD;
	pfd.events = POLLIN;
	for (;;) {
		uint64_t now = dusk_now_ms();

		if (now >= next_ping) {
			dusk_wd_drain(&wd, 0);
			dusk_wd_report(&wd);
			dusk_wd_send(&wd, DUSK_MSG_PING, 0);
			/* With hooks, once a second: their counts come back. */
			next_ping = now + (wd.nr_hooks ?
					   DUSK_MIN(every, DUSK_WD_REPORT_MS) :
					   every);
			continue;
		}
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)(next_ping - now)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents) {
			quit = dusk_wd_pipe(&wd);
			if (quit > 0)
				_exit(0);	/* closed by the program */
			if (quit < 0)
				break;		/* EOF: the program is gone */
		}
	}
	dusk_wd_bye(&wd);
	_exit(0);
}

int dusk_watchdog_start(struct dusk_session *s)
{
	int p[2];
	pid_t pid;

	if (!s->addr_len)
		return -EINVAL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		close(p[1]);	/* only the program may hold the write end */
		dusk_wd_main(s, p[0]);
	}
	close(p[0]);
	s->wd.pid = pid;
	s->wd.pipe_wr = p[1];
	dusk_dbg("watchdog %d for session %08x", (int)pid, s->id);
	return 0;
}

void dusk_watchdog_stop(struct dusk_session *s)
{
	ssize_t n;

	if (!s->wd.pid)
		return;
	n = write(s->wd.pipe_wr, (char[]){ DUSK_WD_QUIT }, 1);
	(void)n;
	close(s->wd.pipe_wr);
	while (waitpid(s->wd.pid, NULL, 0) < 0 && errno == EINTR)
		;
	s->wd.pid = 0;
	s->wd.pipe_wr = -1;
}

int dusk_watchdog_hook(struct dusk_session *s, uint32_t handle,
		       const char *name)
{
	uint8_t msg[1 + sizeof(struct dusk_wd_hook_rec)];
	struct dusk_wd_hook_rec rec;
	ssize_t n;

	_Static_assert(sizeof(msg) <= PIPE_BUF, "one atomic write");
	if (!s->wd.pid || s->wd.pipe_wr < 0)
		return -ENOENT;
	memset(&rec, 0, sizeof(rec));
	rec.handle = handle;
	snprintf(rec.name, sizeof(rec.name), "%s", name);
	msg[0] = DUSK_WD_HOOK;
	memcpy(msg + 1, &rec, sizeof(rec));
	n = write(s->wd.pipe_wr, msg, sizeof(msg));
	return n == (ssize_t)sizeof(msg) ? 0 : n < 0 ? -errno : -EIO;
}

int dusk_watchdog_release(struct dusk_session *s, unsigned int timeout_ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	unsigned int waited;
	pid_t r;

	if (!s || !s->wd.pid)
		return -ENOENT;
	close(s->wd.pipe_wr);	/* EOF: the watchdog's BYE */
	s->wd.pipe_wr = -1;
	for (waited = 0; waited <= timeout_ms; waited += 10) {
		r = waitpid(s->wd.pid, NULL, WNOHANG);
		if (r == s->wd.pid || (r < 0 && errno != EINTR)) {
			s->wd.pid = 0;
			return 0;
		}
		nanosleep(&tick, NULL);
	}
	return -ETIMEDOUT;
}
