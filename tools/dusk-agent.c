// SPDX-License-Identifier: GPL-2.0
/*
 * dusk-agent - the command channel of dusk's embedded default target.
 *
 * One program, built twice: statically for the guest (the initramfs has no
 * libc) and normally for the host.
 *
 *   guest:	dusk-agent serve --port PORT --key FILE
 *   host:	dusk-agent exec --connect HOST:PORT --key FILE [--timeout S]
 *			-- CMD [ARG...]
 *		dusk-agent push --connect HOST:PORT --key FILE FILE DEST
 *		dusk-agent freeport tcp|udp...
 *		dusk-agent selftest
 *
 * "exec" runs CMD in the guest as root (stdin is /dev/null), copies its
 * stdout and stderr to ours separately as they come, and exits with its
 * status (128 + signal number if it was killed). It exits 124 if the
 * command timed out, 255 if it could not be run at all. "push" copies FILE
 * to DEST in the guest (into DEST/basename if DEST is a directory) with
 * FILE's permission bits. "freeport" prints ports of 127.0.0.1 that are
 * free now, one per protocol named. "selftest" checks SHA-256 and HMAC against published vectors.
 *
 * The protocol, over one TCP connection per command. Every frame is
 *
 *	u8 type | u8 zero[3] | le32 len | len bytes of payload
 *
 * with len <= AGENT_MAX_PAYLOAD.
 *
 *	S->C HELLO	le32 AGENT_VERSION | 32-byte random challenge
 *	C->S AUTH	HMAC-SHA256(key, AGENT_AUTH_LABEL | challenge)
 *	S->C OK		(empty): authenticated
 *	C->S EXEC	le32 timeout in seconds (0: none) | argv, each string
 *			NUL-terminated
 *	S->C STDOUT, STDERR  output bytes, as they come
 *	S->C EXIT	le32 status: the exit code, or 128 + signal
 *	C->S PUSH	le32 mode | destination NUL | source basename NUL
 *	C->S DATA	file bytes; an empty DATA frame ends the file
 *	S->C EXIT	le32 0: the file is in place
 *	S->C ERROR	le32 errno | message: the request failed; the server
 *			closes the connection after sending it
 *
 * The key is the target's 32-byte master key, the one dusk.ko gets. The
 * label keeps these MACs apart from dusk.ko's datagram MACs made with the
 * same key. The client proves that it knows the key without sending it;
 * the channel itself is not encrypted: it runs over the host's loopback
 * and qemu's user-mode network only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hmac_sha256.h"

#define AGENT_VERSION		1
#define AGENT_AUTH_LABEL	"dusk-agent-auth-v1"
#define AGENT_KEY_LEN		32
#define AGENT_MAC_LEN		32
#define AGENT_CHALLENGE_LEN	32
#define AGENT_MAX_PAYLOAD	65536
#define AGENT_MAX_ARGS		4096
/* Reads of AGENT_MAX_PAYLOAD that surely empty a pipe (64 KiB by default,
 * at most 1 MiB unless root raised fs.pipe-max-size). */
#define AGENT_DRAIN_READS	16
/* A peer that says nothing for this long during the handshake, or during a
 * push, has gone away. */
#define AGENT_IO_TIMEOUT_MS	15000
/* Exit statuses of "exec" that are not the command's own. */
#define EXIT_TIMEDOUT		124
#define EXIT_FAILED		255

enum agent_frame_type {
	AGENT_INVALID = 0,
	AGENT_HELLO,
	AGENT_AUTH,
	AGENT_OK,
	AGENT_EXEC,
	AGENT_PUSH,
	AGENT_DATA,
	AGENT_STDOUT,
	AGENT_STDERR,
	AGENT_EXIT,
	AGENT_ERROR,
	__AGENT_MAX
};

struct agent_frame {
	uint8_t type;
	uint32_t len;
	/* One spare byte so string payloads can always be NUL-terminated. */
	uint8_t data[AGENT_MAX_PAYLOAD + 1];
};

static const char *prog = "dusk-agent";

static void pr_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void pr_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- authentication: HMAC-SHA256, libdusk's (runtime/hmac_sha256.c) ---- */

static void agent_auth_mac(const uint8_t key[AGENT_KEY_LEN],
			   const uint8_t challenge[AGENT_CHALLENGE_LEN],
			   uint8_t mac[AGENT_MAC_LEN])
{
	struct dusk_hmac_key k;
	struct dusk_hmac h;

	dusk_hmac_key_init(&k, key, AGENT_KEY_LEN);
	dusk_hmac_init(&h, &k);
	dusk_hmac_update(&h, AGENT_AUTH_LABEL, strlen(AGENT_AUTH_LABEL));
	dusk_hmac_update(&h, challenge, AGENT_CHALLENGE_LEN);
	dusk_hmac_final(&h, mac);
	dusk_hmac_key_wipe(&k);
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The key file holds 64 hex digits and optionally a newline. */
static int key_load(const char *path, uint8_t key[AGENT_KEY_LEN])
{
	char buf[2 * AGENT_KEY_LEN + 3];
	ssize_t n;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("key file %s: %s", path, strerror(errno));
		return -errno;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		pr_err("key file %s: %s", path, strerror(errno));
		return -EIO;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n != 2 * AGENT_KEY_LEN)
		goto bad;
	for (i = 0; i < AGENT_KEY_LEN; i++) {
		int hi = hex_digit(buf[2 * i]), lo = hex_digit(buf[2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto bad;
		key[i] = hi << 4 | lo;
	}
	return 0;
bad:
	pr_err("key file %s: expected 64 hex digits", path);
	return -EINVAL;
}

/* ---- framing ------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until @deadline for poll(); -1 (forever) if none. */
static int ms_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Read exactly @len bytes. -EPIPE: the peer closed the connection first.
 * -ETIMEDOUT: nothing came before @deadline (monotonic ms, -1: none). */
static int read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r;

		r = poll(&pfd, 1, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

/* Write all of @buf to a file or pipe. */
static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* Send all of @buf; MSG_NOSIGNAL makes a vanished peer -EPIPE, not a
 * signal. */
static int send_full(int sock, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(sock, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

static int frame_send(int fd, uint8_t type, const void *data, size_t len)
{
	uint8_t hdr[8] = { type };
	int r;

	put_le32(hdr + 4, len);
	r = send_full(fd, hdr, sizeof(hdr));
	if (!r && len)
		r = send_full(fd, data, len);
	return r;
}

static int frame_send_le32(int fd, uint8_t type, uint32_t v)
{
	uint8_t p[4];

	put_le32(p, v);
	return frame_send(fd, type, p, sizeof(p));
}

/* Tell the peer why its request failed: errno and a one-line message. */
static int frame_send_error(int fd, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int frame_send_error(int fd, int err, const char *fmt, ...)
{
	uint8_t buf[4 + 512];
	va_list ap;
	int n;

	put_le32(buf, err);
	va_start(ap, fmt);
	n = vsnprintf((char *)buf + 4, sizeof(buf) - 4, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(buf) - 5)
		n = sizeof(buf) - 5;
	return frame_send(fd, AGENT_ERROR, buf, 4 + n);
}

/* Receive one frame; its payload is NUL-terminated for convenience.
 * -EPROTO: not a frame of this protocol. */
static int frame_recv(int fd, struct agent_frame *f, int64_t deadline)
{
	uint8_t hdr[8];
	int r;

	r = read_full(fd, hdr, sizeof(hdr), deadline);
	if (r)
		return r;
	f->type = hdr[0];
	f->len = get_le32(hdr + 4);
	if (f->type == AGENT_INVALID || f->type >= __AGENT_MAX ||
	    hdr[1] || hdr[2] || hdr[3] || f->len > AGENT_MAX_PAYLOAD)
		return -EPROTO;
	r = read_full(fd, f->data, f->len, deadline);
	if (r)
		return r;
	f->data[f->len] = '\0';
	return 0;
}

/* ---- guest side: the server ------------------------------------------- */

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/*
 * Copy what the pipe @fd holds into a frame of @type. Returns the bytes
 * copied, 0 at end of file or when nothing is there (non-blocking), or a
 * negative errno (the client is gone).
 */
static ssize_t relay_pipe(int sock, int fd, uint8_t type, bool *eof)
{
	static uint8_t buf[AGENT_MAX_PAYLOAD];
	ssize_t n;
	int r;

	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		/* A read error on our own pipe is as final as its end. */
		*eof = true;
		return 0;
	}
	r = frame_send(sock, type, buf, n);
	return r ? r : n;
}

static int pidfd_open_(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

/* Kill the command and everything it started. The group may not exist yet
 * if the child has not reached setsid(): kill the child itself too. */
static void kill_command(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void exec_child(char **argv, int out, int err)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* Its own session and process group, so a timeout or a vanished
	 * client can kill everything the command started. */
	setsid();
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(err, 2) < 0)
		_exit(EXIT_FAILED);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	if (chdir("/") < 0)
		_exit(EXIT_FAILED);
	execvp(argv[0], argv);
	dprintf(2, "%s: %s: %s\n", prog, argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/*
 * Run argv, relaying its output to @sock. It is done when the command
 * exits: what it wrote before is still in the pipes and is sent, but a
 * background process it left holding the pipes is not waited for.
 */
static int serve_exec(int sock, uint32_t timeout_s, char **argv)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, pidfd = -1;
	bool out_eof = false, err_eof = false, exited = false;
	int64_t deadline = timeout_s ? now_ms() + 1000LL * timeout_s : -1;
	int status = 0, r = 0;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		r = -errno;
		frame_send_error(sock, -r, "pipe: %s", strerror(-r));
		goto out_pipes;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		frame_send_error(sock, -r, "fork: %s", strerror(-r));
		goto out_pipes;
	}
	if (pid == 0)
		exec_child(argv, out[1], err[1]);
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	pidfd = pidfd_open_(pid);
	if (pidfd < 0 || set_nonblock(out[0]) || set_nonblock(err[0])) {
		r = -errno;
		kill_command(pid);
		frame_send_error(sock, -r, "pidfd_open: %s", strerror(-r));
		goto out_pipes;
	}

	while (!exited) {
		struct pollfd pfd[4] = {
			{ .fd = sock, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = out_eof ? -1 : out[0], .events = POLLIN },
			{ .fd = err_eof ? -1 : err[0], .events = POLLIN },
		};
		int n;

		/* Checked on every round: a chatty command never lets poll()
		 * time out. */
		if (deadline >= 0 && now_ms() >= deadline) {
			kill_command(pid);
			frame_send_error(sock, ETIMEDOUT,
					 "%s: timed out after %u s, killed",
					 argv[0], timeout_s);
			r = -ETIMEDOUT;
			goto out_pipes;
		}
		n = poll(pfd, 4, ms_left(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		/* The client sends nothing during exec: readable means it
		 * closed the connection (it was interrupted). */
		if (pfd[0].revents) {
			r = -EPIPE;
			break;
		}
		if (pfd[2].revents && (r = relay_pipe(sock, out[0], AGENT_STDOUT, &out_eof)) < 0)
			break;
		if (pfd[3].revents && (r = relay_pipe(sock, err[0], AGENT_STDERR, &err_eof)) < 0)
			break;
		r = 0;
		if (pfd[1].revents) {
			if (waitpid(pid, &status, 0) < 0)
				status = EXIT_FAILED << 8;
			exited = true;
		}
	}
	if (!exited) {
		/* The client is gone (r < 0): take the command with it. */
		kill_command(pid);
		goto out_pipes;
	}
	/*
	 * Drain what the command wrote before it exited: at most a pipe's
	 * capacity, so a background process that keeps writing cannot keep
	 * us here.
	 */
	for (int i = 0; i < AGENT_DRAIN_READS && !out_eof &&
			(r = relay_pipe(sock, out[0], AGENT_STDOUT, &out_eof)) > 0; i++)
		;
	for (int i = 0; i < AGENT_DRAIN_READS && r >= 0 && !err_eof &&
			(r = relay_pipe(sock, err[0], AGENT_STDERR, &err_eof)) > 0; i++)
		;
	if (r >= 0) {
		status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
					       WEXITSTATUS(status);
		r = frame_send_le32(sock, AGENT_EXIT, status);
	}
out_pipes:
	if (pidfd >= 0)
		close(pidfd);
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return r;
}

/*
 * Receive a file into @dest (or @dest/@base if @dest is a directory). It is
 * written to a temporary name next to its destination and renamed into
 * place, so a failed push never leaves half a file under the real name.
 *
 * After a failure the rest of the file is still read: closing a socket
 * with unread data makes it send a reset, which would destroy our error
 * message before the client reads it.
 */
static int serve_push(int sock, struct agent_frame *f, uint32_t mode,
		      const char *dest, const char *base)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	bool made = false;
	struct stat st;
	int fd = -1, err = 0, r;

	if (!stat(dest, &st) && S_ISDIR(st.st_mode))
		r = snprintf(path, sizeof(path), "%s/%s", dest, base);
	else
		r = snprintf(path, sizeof(path), "%s", dest);
	if (r < 0 || (size_t)r >= sizeof(path)) {
		snprintf(path, sizeof(path), "%s", dest);
		err = ENAMETOOLONG;
	} else {
		snprintf(tmp, sizeof(tmp), "%s.dusk-push.%d", path,
			 (int)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			err = errno;
		made = fd >= 0;
	}
	for (;;) {
		r = frame_recv(sock, f, now_ms() + AGENT_IO_TIMEOUT_MS);
		if (!r && f->type != AGENT_DATA)
			r = -EPROTO;
		if (r)
			goto out_tmp;
		if (!f->len)
			break;
		if (!err)
			err = -write_full(fd, f->data, f->len);
	}
	if (!err && fchmod(fd, mode & 07777))
		err = errno;
	if (fd >= 0 && close(fd) && !err)
		err = errno;
	fd = -1;
	if (!err && rename(tmp, path))
		err = errno;
	if (!err)
		return frame_send_le32(sock, AGENT_EXIT, 0);
	frame_send_error(sock, err, "%s: %s", path, strerror(err));
	r = -err;
out_tmp:
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);
	return r;
}

/* Split a payload of NUL-terminated strings into a NULL-terminated vector.
 * Returns the count, or -EINVAL. */
static int split_strings(char *p, size_t len, char **vec, int max)
{
	int n = 0;

	if (!len || p[len - 1] != '\0')
		return -EINVAL;
	for (char *end = p + len; p < end; p += strlen(p) + 1) {
		if (n == max)
			return -E2BIG;
		vec[n++] = p;
	}
	vec[n] = NULL;
	return n;
}

/* One connection: handshake, then one request. */
static int serve_session(int sock, const uint8_t key[AGENT_KEY_LEN])
{
	static struct agent_frame f;
	static char *argv[AGENT_MAX_ARGS + 1];
	uint8_t hello[4 + AGENT_CHALLENGE_LEN], mac[AGENT_MAC_LEN];
	int64_t deadline = now_ms() + AGENT_IO_TIMEOUT_MS;
	int r;

	put_le32(hello, AGENT_VERSION);
	if (getrandom(hello + 4, AGENT_CHALLENGE_LEN, 0) != AGENT_CHALLENGE_LEN) {
		r = -errno;
		frame_send_error(sock, -r, "getrandom: %s", strerror(-r));
		return r;
	}
	r = frame_send(sock, AGENT_HELLO, hello, sizeof(hello));
	if (!r)
		r = frame_recv(sock, &f, deadline);
	if (r)
		return r;
	agent_auth_mac(key, hello + 4, mac);
	if (f.type != AGENT_AUTH || f.len != AGENT_MAC_LEN ||
	    dusk_memneq(f.data, mac, AGENT_MAC_LEN)) {
		pr_err("connection refused: authentication failed");
		frame_send_error(sock, EACCES, "authentication failed (wrong key?)");
		return -EACCES;
	}
	r = frame_send(sock, AGENT_OK, NULL, 0);
	if (!r)
		r = frame_recv(sock, &f, deadline);
	if (r)
		return r;

	if (f.type == AGENT_EXEC && f.len > 4) {
		r = split_strings((char *)f.data + 4, f.len - 4, argv,
				  AGENT_MAX_ARGS);
		if (r > 0)
			return serve_exec(sock, get_le32(f.data), argv);
	} else if (f.type == AGENT_PUSH && f.len > 4) {
		char *names[3];

		r = split_strings((char *)f.data + 4, f.len - 4, names, 2);
		if (r == 2 && names[0][0] && names[1][0] &&
		    !strchr(names[1], '/'))
			return serve_push(sock, &f, get_le32(f.data),
					  names[0], names[1]);
	}
	frame_send_error(sock, EPROTO, "malformed request");
	return -EPROTO;
}

static int agent_serve(uint16_t port, const uint8_t key[AGENT_KEY_LEN])
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
	int one = 1, lfd;

	/* Connection children are reaped by the kernel, not by us. */
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 16)) {
		pr_err("listen on port %u: %s", port, strerror(errno));
		return -errno;
	}
	for (;;) {
		int sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (sock < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				pr_err("accept: %s", strerror(errno));
			continue;
		}
		pid = fork();
		if (pid == 0) {
			struct sigaction dfl = { .sa_handler = SIG_DFL };

			/* serve_exec waits for its command itself. */
			sigaction(SIGCHLD, &dfl, NULL);
			close(lfd);
			_exit(serve_session(sock, key) ? 1 : 0);
		}
		if (pid < 0)
			pr_err("fork: %s", strerror(errno));
		close(sock);
	}
}

/* ---- host side: the client ---------------------------------------------- */

/* Connect to HOST:PORT (IPv4 literal) and authenticate with @key. */
static int agent_connect(const char *hostport, const uint8_t key[AGENT_KEY_LEN],
			 int *ret)
{
	static struct agent_frame f;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int64_t deadline = now_ms() + AGENT_IO_TIMEOUT_MS;
	char host[64], *colon, *end;
	uint8_t mac[AGENT_MAC_LEN];
	unsigned long port;
	int fd, r;

	colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		goto bad_address;
	memcpy(host, hostport, colon - hostport);
	host[colon - hostport] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || !port || port > 65535 ||
	    inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		goto bad_address;
	sin.sin_port = htons(port);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		r = -errno;
		pr_err("connect to %s: %s", hostport, strerror(-r));
		goto out_fd;
	}
	r = frame_recv(fd, &f, deadline);
	if (r)
		goto out_handshake;
	if (f.type != AGENT_HELLO || f.len != 4 + AGENT_CHALLENGE_LEN ||
	    get_le32(f.data) != AGENT_VERSION) {
		r = -EPROTO;
		pr_err("%s: not a dusk-agent of version %d", hostport,
		       AGENT_VERSION);
		goto out_fd;
	}
	agent_auth_mac(key, f.data + 4, mac);
	r = frame_send(fd, AGENT_AUTH, mac, sizeof(mac));
	if (!r)
		r = frame_recv(fd, &f, deadline);
	if (r)
		goto out_handshake;
	if (f.type == AGENT_ERROR && f.len >= 4) {
		pr_err("%s: %s", hostport, (char *)f.data + 4);
		r = -(int)get_le32(f.data);
		goto out_fd;
	}
	if (f.type != AGENT_OK) {
		r = -EPROTO;
		goto out_handshake;
	}
	*ret = fd;
	return 0;

bad_address:
	pr_err("bad address '%s': expected IPV4:PORT", hostport);
	return -EINVAL;
out_handshake:
	/* qemu accepts forwarded connections itself and closes them when
	 * nothing listens in the guest: that is the usual cause of EPIPE. */
	if (r == -EPIPE)
		pr_err("%s: connection closed during the handshake (is the guest agent running?)",
		       hostport);
	else
		pr_err("%s: handshake failed: %s", hostport, strerror(-r));
out_fd:
	close(fd);
	return r;
}

/* Print the ERROR frame in @f and return its (negative) errno. */
static int report_error(const struct agent_frame *f)
{
	if (f->len < 4) {
		pr_err("malformed error from the target");
		return -EPROTO;
	}
	pr_err("%s", (const char *)f->data + 4);
	return -(int)get_le32(f->data);
}

/* Returns the command's exit status (>= 0) or a negative errno. */
static int client_exec(int fd, uint32_t timeout_s, char **argv)
{
	static struct agent_frame f;
	int64_t deadline = -1;
	size_t len = 4;
	int r;

	put_le32(f.data, timeout_s);
	for (; *argv; argv++) {
		size_t n = strlen(*argv) + 1;

		if (len + n > AGENT_MAX_PAYLOAD) {
			pr_err("command line too long");
			return -E2BIG;
		}
		memcpy(f.data + len, *argv, n);
		len += n;
	}
	r = frame_send(fd, AGENT_EXEC, f.data, len);
	if (r)
		goto out_lost;
	/* The server enforces the timeout; this one only guards against a
	 * target that stopped answering altogether. */
	if (timeout_s)
		deadline = now_ms() + 1000LL * timeout_s + AGENT_IO_TIMEOUT_MS;
	for (;;) {
		r = frame_recv(fd, &f, deadline);
		if (r)
			goto out_lost;
		switch (f.type) {
		case AGENT_STDOUT:
		case AGENT_STDERR:
			/* A closed stdout of ours must not stop the command's
			 * stderr, nor its exit status, from reaching us. */
			write_full(f.type == AGENT_STDOUT ? 1 : 2, f.data, f.len);
			break;
		case AGENT_EXIT:
			if (f.len != 4)
				goto out_proto;
			return get_le32(f.data) & 0xff;
		case AGENT_ERROR:
			return report_error(&f);
		default:
			goto out_proto;
		}
	}
out_proto:
	pr_err("unexpected frame %u from the target", f.type);
	return -EPROTO;
out_lost:
	pr_err("lost the target: %s", strerror(-r));
	return r;
}

static int client_push(int fd, const char *src, const char *dest)
{
	static struct agent_frame f;
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	size_t len = 4, ld = strlen(dest) + 1, lb = strlen(base) + 1;
	struct stat st;
	int in, r;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st)) {
		r = -errno;
		pr_err("%s: %s", src, strerror(-r));
		goto out_in;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		pr_err("%s: not a regular file", src);
		goto out_in;
	}
	if (!*base || 4 + ld + lb > AGENT_MAX_PAYLOAD) {
		r = -EINVAL;
		pr_err("%s: bad file name", src);
		goto out_in;
	}
	put_le32(f.data, st.st_mode & 0777);
	memcpy(f.data + len, dest, ld);
	memcpy(f.data + len + ld, base, lb);
	r = frame_send(fd, AGENT_PUSH, f.data, len + ld + lb);
	while (!r) {
		ssize_t n = read(in, f.data, AGENT_MAX_PAYLOAD);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			pr_err("%s: %s", src, strerror(-r));
			goto out_in;
		}
		r = frame_send(fd, AGENT_DATA, f.data, n);
		if (n == 0)
			break;
	}
	/* If sending failed, the server may have said why before closing:
	 * read its answer either way. */
	r = frame_recv(fd, &f, now_ms() + AGENT_IO_TIMEOUT_MS);
	if (r) {
		pr_err("lost the target: %s", strerror(-r));
	} else if (f.type == AGENT_ERROR) {
		r = report_error(&f);
	} else if (f.type != AGENT_EXIT || f.len != 4 || get_le32(f.data)) {
		pr_err("unexpected frame %u from the target", f.type);
		r = -EPROTO;
	}
out_in:
	if (in >= 0)
		close(in);
	return r;
}

/*
 * Print, one a line, a port of 127.0.0.1 that nothing uses now for each
 * protocol named ("tcp" or "udp"). All stay bound until all are chosen, so
 * they are distinct. The caller must cope with someone else taking one
 * before it binds it.
 */
static int agent_freeport(int argc, char **argv)
{
	int fds[16], n, r = 0;

	if (argc > 16)
		return -E2BIG;
	for (n = 0; n < argc; n++) {
		struct sockaddr_in sin = {
			.sin_family = AF_INET,
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		};
		socklen_t len = sizeof(sin);
		int type;

		if (!strcmp(argv[n], "tcp")) {
			type = SOCK_STREAM;
		} else if (!strcmp(argv[n], "udp")) {
			type = SOCK_DGRAM;
		} else {
			pr_err("freeport: unknown protocol '%s'", argv[n]);
			r = -EINVAL;
			break;
		}
		fds[n] = socket(AF_INET, type | SOCK_CLOEXEC, 0);
		if (fds[n] < 0 ||
		    bind(fds[n], (struct sockaddr *)&sin, sizeof(sin)) ||
		    getsockname(fds[n], (struct sockaddr *)&sin, &len)) {
			r = -errno;
			pr_err("freeport: %s", strerror(-r));
			if (fds[n] >= 0)
				close(fds[n]);
			break;
		}
		printf("%u\n", ntohs(sin.sin_port));
	}
	while (n--)
		close(fds[n]);
	return r;
}

static int hex_equal(const uint8_t *bin, size_t len, const char *hex)
{
	char buf[2 * 64 + 1];

	for (size_t i = 0; i < len; i++)
		sprintf(buf + 2 * i, "%02x", bin[i]);
	return !strcmp(buf, hex);
}

/* FIPS 180-2 appendix B and RFC 4231 test case 2: this build's crypto. */
static void sha256_of(const void *data, size_t len, size_t times, uint8_t out[32])
{
	struct dusk_sha256 s;

	dusk_sha256_init(&s);
	while (times--)
		dusk_sha256_update(&s, data, len);
	dusk_sha256_final(&s, out);
}

static int agent_selftest(void)
{
	static const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	struct dusk_hmac_key k;
	uint8_t out[32], a[1000];
	int fail = 0;

	sha256_of("abc", 3, 1, out);
	fail |= !hex_equal(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_of(two, strlen(two), 1, out);
	fail |= !hex_equal(out, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(a, 'a', sizeof(a));
	sha256_of(a, sizeof(a), 1000, out);
	fail |= !hex_equal(out, 32, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	dusk_hmac_key_init(&k, "Jefe", 4);
	dusk_hmac_sha256(&k, "what do ya want for nothing?", 28, out);
	fail |= !hex_equal(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	puts(fail ? "selftest: FAIL" : "selftest: ok");
	return fail ? -EINVAL : 0;
}

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: %s serve --port PORT --key FILE\n"
		"       %s exec --connect HOST:PORT --key FILE [--timeout S] -- CMD [ARG...]\n"
		"       %s push --connect HOST:PORT --key FILE FILE DEST\n"
		"       %s freeport tcp|udp...\n"
		"       %s selftest\n", prog, prog, prog, prog, prog);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(s, &end, 10);
	if (errno || end == s || *end || *ret > max || *s == '-')
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *cmd, *connect_to = NULL, *key_file = NULL;
	unsigned long port = 0, timeout_s = 0;
	uint8_t key[AGENT_KEY_LEN];
	int c, fd, r;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "+c:k:p:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			connect_to = optarg;
			break;
		case 'k':
			key_file = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 65535, &port) || !port) {
				pr_err("bad port '%s'", optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_uint(optarg, 1000000, &timeout_s)) {
				pr_err("bad timeout '%s'", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;

	if (!strcmp(cmd, "freeport") && argc > 0)
		return agent_freeport(argc, argv) ? 1 : 0;
	if (!strcmp(cmd, "selftest") && argc == 0)
		return agent_selftest() ? 1 : 0;
	if (!strcmp(cmd, "serve") && argc == 0 && port && key_file) {
		/* Commands get their output pipes as fds 1 and 2: those must
		 * not be where the pipes themselves land. */
		while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
			;
		if (fd > 2)
			close(fd);
		if (key_load(key_file, key))
			return 1;
		return agent_serve(port, key) ? 1 : 0;
	}
	if (!strcmp(cmd, "exec") && argc > 0 && connect_to && key_file) {
		signal(SIGPIPE, SIG_IGN);
		if (key_load(key_file, key) || agent_connect(connect_to, key, &fd))
			return EXIT_FAILED;
		r = client_exec(fd, timeout_s, argv);
		close(fd);
		if (r == -ETIMEDOUT)
			return EXIT_TIMEDOUT;
		return r < 0 ? EXIT_FAILED : r;
	}
	if (!strcmp(cmd, "push") && argc == 2 && connect_to && key_file) {
		signal(SIGPIPE, SIG_IGN);
		if (key_load(key_file, key) || agent_connect(connect_to, key, &fd))
			return 1;
		r = client_push(fd, argv[0], argv[1]);
		close(fd);
		return r ? 1 : 0;
	}
	usage(stderr);
	return 2;
}
