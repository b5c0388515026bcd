// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The fault-injecting transport (faults.h). Each datagram sent or
 * received takes one draw of its direction's generator: lost, sent twice,
 * or held back and delivered right after the next one of its direction
 * (one held at a time per direction; a reorder drawn while one is held
 * is delivered in order). Retransmission, on both sides, provides the
 * next datagram that frees a held one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dusk_proto.h"
#include "faults.h"
#include "transport.h"
#include "util.h"

struct dusk_held {
	uint8_t *buf;			/* DUSK_MAX_DGRAM bytes */
	size_t len;			/* 0: empty */
	uint64_t rx_ns;
	int due;			/* received: deliver it next */
};

struct dusk_faulty {
	struct dusk_transport t;
	struct dusk_transport *inner;
	struct dusk_faults_cfg cfg;
	struct dusk_faults_rng rng;
	struct dusk_held held[__DUSK_FAULT_DIR_MAX];
	struct dusk_faults_stats stats;
};

static struct dusk_faulty *dusk_faulty_of(struct dusk_transport *t)
{
	return dusk_container_of(t, struct dusk_faulty, t);
}

static void dusk_hold(struct dusk_held *h, const void *buf, size_t len,
		      uint64_t rx_ns, int due)
{
	memcpy(h->buf, buf, len);
	h->len = len;
	h->rx_ns = rx_ns;
	h->due = due;
}

static int dusk_faulty_send(struct dusk_transport *t, const void *buf,
			    size_t len)
{
	struct dusk_faulty *f = dusk_faulty_of(t);
	struct dusk_held *h = &f->held[DUSK_FAULT_TX];
	int err;

	switch (dusk_faults_decide(&f->cfg, &f->rng, DUSK_FAULT_TX)) {
	case DUSK_FAULT_LOSS:
		f->stats.lost[DUSK_FAULT_TX]++;
		return 0;		/* as if the network lost it */
	case DUSK_FAULT_DUP:
		f->stats.duplicated[DUSK_FAULT_TX]++;
		f->inner->ops->send(f->inner, buf, len);
		break;
	case DUSK_FAULT_REORDER:
		if (h->len || len > DUSK_MAX_DGRAM)
			break;
		f->stats.reordered[DUSK_FAULT_TX]++;
		dusk_hold(h, buf, len, 0, 0);
		return 0;
	default:
		break;
	}
	err = f->inner->ops->send(f->inner, buf, len);
	if (h->len) {
		f->inner->ops->send(f->inner, h->buf, h->len);
		h->len = 0;
	}
	return err;
}

static ssize_t dusk_faulty_recv(struct dusk_transport *t, void *buf,
				size_t cap, uint64_t *ret_rx_ns)
{
	struct dusk_faulty *f = dusk_faulty_of(t);
	struct dusk_held *h = &f->held[DUSK_FAULT_RX];
	ssize_t n;

	for (;;) {
		if (h->len && h->due) {
			n = (ssize_t)DUSK_MIN(h->len, cap);
			memcpy(buf, h->buf, (size_t)n);
			*ret_rx_ns = h->rx_ns;
			h->len = 0;
			return n;
		}
		n = f->inner->ops->recv(f->inner, buf, cap, ret_rx_ns);
		if (n < 0)
			return n;
		switch (dusk_faults_decide(&f->cfg, &f->rng, DUSK_FAULT_RX)) {
		case DUSK_FAULT_LOSS:
			f->stats.lost[DUSK_FAULT_RX]++;
			continue;
		case DUSK_FAULT_DUP:
			if (h->len)
				break;
			f->stats.duplicated[DUSK_FAULT_RX]++;
			dusk_hold(h, buf, (size_t)n, *ret_rx_ns, 1);
			return n;
		case DUSK_FAULT_REORDER:
			if (h->len)
				break;
			f->stats.reordered[DUSK_FAULT_RX]++;
			dusk_hold(h, buf, (size_t)n, *ret_rx_ns, 0);
			continue;
		default:
			break;
		}
		if (h->len)
			h->due = 1;	/* the held one follows this one */
		return n;
	}
}

static int dusk_faulty_fd(struct dusk_transport *t)
{
	struct dusk_faulty *f = dusk_faulty_of(t);

	return f->inner->ops->fd(f->inner);
}

static void dusk_faulty_destroy(struct dusk_transport *t)
{
	struct dusk_faulty *f = dusk_faulty_of(t);
	unsigned int d;

	dusk_transport_destroy(f->inner);
	for (d = 0; d < __DUSK_FAULT_DIR_MAX; d++)
		free(f->held[d].buf);
	free(f);
}

static const struct dusk_transport_ops dusk_faulty_ops = {
	.name = "faults",
	.send = dusk_faulty_send,
	.recv = dusk_faulty_recv,
	.fd = dusk_faulty_fd,
	.destroy = dusk_faulty_destroy,
};

int dusk_transport_faults_wrap(struct dusk_transport **t,
			       const struct dusk_faults_cfg *cfg)
{
	struct dusk_faulty *f;
	unsigned int d;

	if (!dusk_faults_on(cfg))
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (d = 0; d < __DUSK_FAULT_DIR_MAX; d++) {
		f->held[d].buf = malloc(DUSK_MAX_DGRAM);
		if (!f->held[d].buf) {
			while (d--)
				free(f->held[d].buf);
			free(f);
			return -ENOMEM;
		}
	}
	f->t.ops = &dusk_faulty_ops;
	f->inner = *t;
	f->cfg = *cfg;
	dusk_faults_seed(&f->rng, cfg);
	*t = &f->t;
	return 0;
}

int dusk_transport_faults_setup(struct dusk_transport **t, const char *setting)
{
	struct dusk_faults_cfg cfg;

	if (!setting || !*setting)
		return 0;
	if (dusk_faults_parse(setting, &cfg))
		return -EINVAL;
	return dusk_transport_faults_wrap(t, &cfg);
}

int dusk_transport_faults_stats(struct dusk_transport *t,
				struct dusk_faults_stats *ret)
{
	if (!t || t->ops != &dusk_faulty_ops)
		return -EINVAL;
	*ret = dusk_faulty_of(t)->stats;
	return 0;
}
