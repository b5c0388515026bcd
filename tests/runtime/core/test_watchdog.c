// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The watchdog, over real UDP on 127.0.0.1 against the fake kernel served
 * by a thread: it pings on its channel while the program is stopped
 * (SIGSTOP, as under gdb), sends BYE when the program is killed, holds
 * none of the program's descriptors, and exits quietly on an orderly
 * close. Request ids stay unique across the two channels.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "check.h"
#include "dusk.h"
#include "fake_kernel.h"

static struct fake_kernel fk;
static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int server_stop;
static int server_fd;

static void *server(void *arg)
{
	static uint8_t buf[DUSK_MAX_DGRAM], out[DUSK_MAX_DGRAM];
	struct sockaddr_in from;
	socklen_t fromlen;
	struct pollfd pfd = { .fd = server_fd, .events = POLLIN };
	uint64_t at;
	ssize_t n;
	size_t m;

	while (!server_stop) {
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		fromlen = sizeof(from);
		n = recvfrom(server_fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &fromlen);
		if (n <= 0)
			continue;
		pthread_mutex_lock(&fk_lock);
		fk_input(&fk, buf, (size_t)n);
		/* Replies go where the request came from (its channel's
		 * socket), as dusk.ko does. */
		while ((m = fk_output(&fk, out, sizeof(out), &at)))
			sendto(server_fd, out, m, 0, (struct sockaddr *)&from,
			       fromlen);
		pthread_mutex_unlock(&fk_lock);
	}
	return NULL;
}

static unsigned int count(int chan, int type)
{
	unsigned int n;

	pthread_mutex_lock(&fk_lock);
	n = fk.received_chan[chan][type];
	pthread_mutex_unlock(&fk_lock);
	return n;
}

/* The one child of pid (the watchdog), 0 if none. */
static pid_t child_of(pid_t pid)
{
	char path[64];
	FILE *f;
	int c = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &c) != 1)
		c = 0;
	fclose(f);
	return c;
}

/* The "module program": opens a session, says so, then waits to die. */
static pid_t program(struct dusk_config *cfg, int out_fd, int ready_fd,
		     int close_it)
{
	struct dusk_session *s;
	pid_t pid = fork();

	if (pid)
		return pid;
	dup2(out_fd, 1);
	dup2(out_fd, 2);
	if (dusk_session_open(cfg, &s)) {
		fprintf(stderr, "session open failed\n");
		_exit(1);
	}
	/* Requests on the main channel while the watchdog pings. */
	for (int i = 0; i < 6; i++) {
		uint64_t a;

		if (dusk_ksym(s, "jiffies", &a, NULL))
			_exit(1);
		usleep(40 * 1000);
	}
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	if (close_it) {
		usleep(300 * 1000);
		dusk_session_close(s);
		_exit(0);
	}
	for (;;)
		pause();
}

static void fd_check(pid_t wd, pid_t prog)
{
	char path[320], link[256], err_link[256], own_err[256];
	struct dirent *d;
	DIR *dir;
	int n = 0, devnull = 0, sockets = 0, pipes = 0;
	ssize_t l;

	/* Its stderr is the program's (the reports of released packets). */
	snprintf(path, sizeof(path), "/proc/%d/fd/2", wd);
	l = readlink(path, err_link, sizeof(err_link) - 1);
	CHECK(l > 0);
	err_link[l > 0 ? l : 0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/fd/2", prog);
	l = readlink(path, own_err, sizeof(own_err) - 1);
	CHECK(l > 0);
	own_err[l > 0 ? l : 0] = '\0';
	CHECK(!strcmp(err_link, own_err));

	snprintf(path, sizeof(path), "/proc/%d/fd", wd);
	dir = opendir(path);
	CHECK(dir != NULL);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || !strcmp(d->d_name, "2"))
			continue;
		n++;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", wd, d->d_name);
		l = readlink(path, link, sizeof(link) - 1);
		if (l < 0)
			continue;
		link[l] = '\0';
		devnull += !strcmp(link, "/dev/null");
		sockets += !strncmp(link, "socket:", 7);
		pipes += !strncmp(link, "pipe:", 5);
	}
	closedir(dir);
	/* stdin and stdout on /dev/null, its pipe, its socket: nothing
	 * else but stderr. */
	CHECK_EQ(devnull, 2);
	CHECK_EQ(pipes, 1);
	CHECK_EQ(sockets, 1);
	CHECK_EQ(n, 4);
}

int main(void)
{
	static const char hex[] = "00112233445566778899aabbccddeeff"
				  "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
	char keyfile[] = "/tmp/dusk-test-key-XXXXXX";
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	struct dusk_config cfg;
	pthread_t th;
	int kfd, outp[2], readyp[2], status;
	unsigned int pings, i, j, dup_ids;
	uint64_t first_wd;
	pid_t prog, wd;
	char c;

	fk_init(&fk);
	kfd = mkstemp(keyfile);
	CHECK(kfd >= 0 && write(kfd, hex, 64) == 64);
	close(kfd);
	server_fd = socket(AF_INET, SOCK_DGRAM, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(server_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	getsockname(server_fd, (struct sockaddr *)&addr, &alen);
	pthread_create(&th, NULL, server, NULL);
	/* Orphaned watchdogs become ours to reap. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.target, sizeof(cfg.target), "127.0.0.1:%u",
		 ntohs(addr.sin_port));
	snprintf(cfg.key_file, sizeof(cfg.key_file), "%s", keyfile);
	cfg.heartbeat_ms = 400;	/* a PING every 100 ms */
	cfg.hold_ms = 1000;
	cfg.hold_max = 16;
	cfg.window = 4;
	cfg.rto_ms = 20;
	cfg.timeout_ms = 2000;
	cfg.watchdog = 1;

	/* 1. Killed while stopped. */
	CHECK(pipe(outp) == 0 && pipe(readyp) == 0);
	prog = program(&cfg, outp[1], readyp[1], 0);
	close(outp[1]);
	CHECK(read(readyp[0], &c, 1) == 1);
	wd = child_of(prog);
	CHECK(wd > 0);
	usleep(150 * 1000);	/* past its setup: it has pinged once */
	if (wd > 0)
		fd_check(wd, prog);
	kill(prog, SIGSTOP);
	pings = count(DUSK_CHAN_WATCHDOG, DUSK_MSG_PING);
	usleep(650 * 1000);
	CHECK(count(DUSK_CHAN_WATCHDOG, DUSK_MSG_PING) - pings >= 4);
	CHECK(count(DUSK_CHAN_WATCHDOG, DUSK_MSG_PING) - pings <= 8);
	CHECK_EQ(count(DUSK_CHAN_WATCHDOG, DUSK_MSG_BYE), 0);
	kill(prog, SIGKILL);
	CHECK(waitpid(prog, &status, 0) == prog);
	for (i = 0; i < 200 && !count(DUSK_CHAN_WATCHDOG, DUSK_MSG_BYE); i++)
		usleep(10 * 1000);
	CHECK_EQ(count(DUSK_CHAN_WATCHDOG, DUSK_MSG_BYE), 1);
	CHECK(fk.ended);
	/* The watchdog exits after BYE... */
	if (wd > 0) {
		CHECK(waitpid(wd, &status, 0) == wd);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* ...and never held the program's stdout: EOF right away. */
	{
		struct pollfd pfd = { .fd = outp[0], .events = POLLIN };
		char buf[256];
		ssize_t n = 1;

		CHECK(poll(&pfd, 1, 2000) == 1);
		while (n > 0)
			n = read(outp[0], buf, sizeof(buf));
		CHECK_EQ(n, 0);
	}
	close(outp[0]);

	/* Ids are numbered per channel, from 1: within a channel an id
	 * sent twice is a retransmission of one request. */
	pthread_mutex_lock(&fk_lock);
	dup_ids = 0;
	first_wd = 0;
	for (i = 0; i < fk.nr_log; i++) {
		if (fk.chans[i] == DUSK_CHAN_WATCHDOG && !first_wd)
			first_wd = fk.ids[i];
		for (j = i + 1; j < fk.nr_log; j++)
			if (fk.ids[i] == fk.ids[j] &&
			    fk.chans[i] == fk.chans[j] &&
			    fk.types[i] != fk.types[j])
				dup_ids++;
	}
	pthread_mutex_unlock(&fk_lock);
	CHECK_EQ(dup_ids, 0);
	CHECK_EQ(first_wd, 1);

	/* 2. An orderly close: BYE on the main channel, the watchdog quiet. */
	fk.ended = 0;
	CHECK(pipe(outp) == 0);
	prog = program(&cfg, outp[1], readyp[1], 1);
	close(outp[1]);
	CHECK(read(readyp[0], &c, 1) == 1);
	wd = child_of(prog);
	CHECK(waitpid(prog, &status, 0) == prog);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(fk.ended);
	CHECK_EQ(count(DUSK_CHAN_MAIN, DUSK_MSG_BYE), 1);
	CHECK_EQ(count(DUSK_CHAN_WATCHDOG, DUSK_MSG_BYE), 1);	/* unchanged */
	/* Reaped by the program itself: not left to us. */
	CHECK(wd > 0 && waitpid(wd, &status, WNOHANG) < 0 && errno == ECHILD);
	close(outp[0]);

	server_stop = 1;
	pthread_join(th, NULL);
	unlink(keyfile);
	fk_deinit(&fk);
	return check_done("test_watchdog");
}
