/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * transport.h - the one path every datagram between the program and the
 * kernel takes: dusk_transport_send() out, dusk_transport_recv() in.
 *
 * A backend (struct dusk_transport_ops) moves whole datagrams: the UDP
 * socket here, a fake kernel in the unit tests, and later a recorder that
 * wraps another backend or a player that serves a recorded run without a
 * target. Backends see sealed datagrams only; they never parse them.
 */
#ifndef DUSK_TRANSPORT_H
#define DUSK_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct dusk_transport;

struct dusk_transport_ops {
	const char *name;
	/* Send one datagram: 0 or a negative errno. */
	int (*send)(struct dusk_transport *t, const void *buf, size_t len);
	/* Take one queued datagram without blocking: its length, -EAGAIN when
	 * none is queued, -EMSGSIZE when it did not fit in cap (it is
	 * consumed), or another negative errno. *ret_rx_ns: when it arrived,
	 * CLOCK_REALTIME nanoseconds. */
	ssize_t (*recv)(struct dusk_transport *t, void *buf, size_t cap,
			uint64_t *ret_rx_ns);
	/* A descriptor that polls readable when recv may have something. */
	int (*fd)(struct dusk_transport *t);
	void (*destroy)(struct dusk_transport *t);
};

struct dusk_transport {
	const struct dusk_transport_ops *ops;
	uint64_t tx;
	uint64_t tx_errors;
	uint64_t rx;
};

int dusk_transport_send(struct dusk_transport *t, const void *buf, size_t len);
/*
 * Wait up to timeout_ms (-1: forever) for a datagram: its length,
 * -ETIMEDOUT, -EINTR when wake_fd (-1: none) became readable first (it is
 * not drained), or what the backend's recv returned.
 */
ssize_t dusk_transport_recv(struct dusk_transport *t, void *buf, size_t cap,
			    int timeout_ms, int wake_fd, uint64_t *ret_rx_ns);
void dusk_transport_destroy(struct dusk_transport *t);

/* "HOST:PORT" or "[V6ADDR]:PORT" to an address. -EINVAL, -ENOENT. */
int dusk_addr_parse(const char *target, struct sockaddr_storage *ret,
		    socklen_t *ret_len);
/* A UDP socket connected to addr: only its datagrams are received. */
int dusk_transport_udp_create(const struct sockaddr *addr, socklen_t len,
			      struct dusk_transport **ret);

#endif /* DUSK_TRANSPORT_H */
