// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The transport seam and its UDP backend.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include "log.h"
#include "plock.h"
#include "transport.h"
#include "util.h"

/* Room for the HOOK messages that pile up while the program is stopped in
 * gdb (capped by net.core.rmem_max). */
#define DUSK_UDP_RCVBUF		(4 << 20)

int dusk_transport_send(struct dusk_transport *t, const void *buf, size_t len)
{
	int err = t->ops->send(t, buf, len);

	if (err)
		t->tx_errors++;
	else
		t->tx++;
	return err;
}

ssize_t dusk_transport_recv(struct dusk_transport *t, void *buf, size_t cap,
			    int timeout_ms, int wake_fd, uint64_t *ret_rx_ns)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : dusk_now_ms() + timeout_ms;
	struct pollfd pfd[3];
	unsigned int depth;
	ssize_t n;
	int wait, nfds, self_fd = dusk_plock_wake_fd(), rc;

	for (;;) {
		n = t->ops->recv(t, buf, cap, ret_rx_ns);
		if (n != -EAGAIN) {
			if (n >= 0)
				t->rx++;
			return n;
		}
		if (timeout_ms < 0) {
			wait = -1;
		} else {
			uint64_t now = dusk_now_ms();

			if (now >= deadline)
				return -ETIMEDOUT;
			wait = (int)DUSK_MIN(deadline - now, (uint64_t)1 << 30);
		}
		pfd[0].fd = t->ops->fd(t);
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		nfds = 1;
		if (wake_fd >= 0) {
			pfd[1].fd = wake_fd;
			pfd[1].events = POLLIN;
			pfd[1].revents = 0;
			nfds = 2;
		}
		if (self_fd >= 0) {
			pfd[nfds].fd = self_fd;
			pfd[nfds].events = POLLIN;
			pfd[nfds].revents = 0;
			nfds++;
		}
		/* The event loop's wait lets other threads run (plock.h). */
		depth = dusk_plock_release_idle();
		rc = poll(pfd, (nfds_t)nfds, wait);
		if (rc < 0)
			rc = -errno;
		dusk_plock_retake(depth);
		if (rc < 0) {
			if (rc == -EINTR)
				continue;	/* a signal: dusk_stop writes wake_fd */
			return rc;
		}
		if (self_fd >= 0 && pfd[nfds - 1].revents) {
			/* Another thread completed what this one waits for. */
			dusk_plock_wake_drain();
			return -EINTR;
		}
		if (wake_fd >= 0 && pfd[1].revents)
			return -EINTR;
	}
}

void dusk_transport_destroy(struct dusk_transport *t)
{
	if (t)
		t->ops->destroy(t);
}

int dusk_addr_parse(const char *target, struct sockaddr_storage *ret,
		    socklen_t *ret_len)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_DGRAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res;
	char host[256];
	const char *colon, *port;
	size_t hlen;
	int err;

	if (!target)
		return -EINVAL;
	if (target[0] == '[') {
		const char *close = strchr(target, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - target - 1);
		memcpy(host, target + 1, DUSK_MIN(hlen, sizeof(host) - 1));
		port = close + 2;
	} else {
		colon = strrchr(target, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - target);
		memcpy(host, target, DUSK_MIN(hlen, sizeof(host) - 1));
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || !*port)
		return -EINVAL;
	host[hlen] = '\0';
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		dusk_err("target %s: %s", target, gai_strerror(err));
		return err == EAI_SERVICE || err == EAI_FAMILY ? -EINVAL : -ENOENT;
	}
	memcpy(ret, res->ai_addr, res->ai_addrlen);
	*ret_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

struct dusk_udp {
	struct dusk_transport t;
	int fd;
};

static int dusk_udp_send(struct dusk_transport *t, const void *buf, size_t len)
{
	struct dusk_udp *u = dusk_container_of(t, struct dusk_udp, t);
	ssize_t n;

	do {
		n = send(u->fd, buf, len, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

static ssize_t dusk_udp_recv(struct dusk_transport *t, void *buf, size_t cap,
			     uint64_t *ret_rx_ns)
{
	struct dusk_udp *u = dusk_container_of(t, struct dusk_udp, t);
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct timespec))];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	do {
		n = recvmsg(u->fd, &msg, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	*ret_rx_ns = 0;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			*ret_rx_ns = (uint64_t)ts.tv_sec * 1000000000 +
				     (uint64_t)ts.tv_nsec;
		}
	}
	if (!*ret_rx_ns)
		*ret_rx_ns = dusk_now_real_ns();
	return n;
}

static int dusk_udp_fd(struct dusk_transport *t)
{
	return dusk_container_of(t, struct dusk_udp, t)->fd;
}

static void dusk_udp_destroy(struct dusk_transport *t)
{
	struct dusk_udp *u = dusk_container_of(t, struct dusk_udp, t);

	close(u->fd);
	free(u);
}

static const struct dusk_transport_ops dusk_udp_ops = {
	.name = "udp",
	.send = dusk_udp_send,
	.recv = dusk_udp_recv,
	.fd = dusk_udp_fd,
	.destroy = dusk_udp_destroy,
};

int dusk_transport_udp_create(const struct sockaddr *addr, socklen_t len,
			      struct dusk_transport **ret)
{
	int one = 1, rcvbuf = DUSK_UDP_RCVBUF;
	struct dusk_udp *u;
	int err;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->t.ops = &dusk_udp_ops;
	u->fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       IPPROTO_UDP);
	if (u->fd < 0) {
		err = -errno;
		goto out_udp;
	}
	/* Best effort: both only make things better. */
	setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(u->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (connect(u->fd, addr, len) < 0) {
		err = -errno;
		goto out_socket;
	}
	*ret = &u->t;
	return 0;

out_socket:
	close(u->fd);
out_udp:
	free(u);
	return err;
}
