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
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/wait.h>

#include "log.h"
#include "observe.h"
#include "session.h"
#include "faults.h"
#include "transport.h"
#include "watchdog.h"

#define DUSK_WD_PIPE_FD		3
#define DUSK_WD_BYE_MS		1000

struct dusk_wd {
	struct dusk_session *s;		/* the program's, as of fork() */
	struct dusk_transport *t;
	uint64_t seq;			/* DUSK_CHAN_WATCHDOG's counter */
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
		if (!dusk_msg_parse(wd->rx, (size_t)n, &wd->s->key,
				    DUSK_ROLE_RUNTIME, &m) &&
		    (m.flags & DUSK_F_REPLY) && m.channel == DUSK_CHAN_WATCHDOG &&
		    m.session == wd->s->id && id && m.id == id)
			got = 1;
	}
	return got;
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

/* Hold nothing of the program's: stdio to /dev/null, the pipe's read end
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
	if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
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
	struct pollfd pfd;
	sigset_t none;
	unsigned int i;
	char c;
	ssize_t n;

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
	if (dusk_transport_udp_create((struct sockaddr *)&s->addr, s->addr_len,
				      &wd.t) ||
	    dusk_transport_faults_setup(&wd.t, s->cfg.faults))
		_exit(1);
	if (!every)
		every = 1;
	pfd.fd = DUSK_WD_PIPE_FD;
	pfd.events = POLLIN;
	for (;;) {
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)every) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents) {
			n = read(DUSK_WD_PIPE_FD, &c, 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 1 && c == 'q')
				_exit(0);	/* closed by the program */
			break;			/* EOF: the program is gone */
		}
		dusk_wd_drain(&wd, 0);
		dusk_wd_send(&wd, DUSK_MSG_PING, 0);
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
	n = write(s->wd.pipe_wr, "q", 1);
	(void)n;
	close(s->wd.pipe_wr);
	while (waitpid(s->wd.pid, NULL, 0) < 0 && errno == EINTR)
		;
	s->wd.pid = 0;
	s->wd.pipe_wr = -1;
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
