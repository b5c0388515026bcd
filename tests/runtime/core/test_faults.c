// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The fault injector: its setting's syntax (shared with dusk.ko's faults=
 * parameter, proto/dusk_faults.h), the same seed giving the same
 * decisions, the rates it is asked for, and the transport wrapper doing
 * what it decided: each datagram lost, delivered once or twice, a held
 * one right after the next, in both directions, the same way every run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dusk.h"
#include "dusk_proto.h"
#include "faults.h"
#include "transport.h"

#define N	2000

/* A backend that records what is sent and serves a queue on receive. */
struct rec {
	struct dusk_transport t;
	uint32_t sent[3 * N];
	unsigned int nsent;
	uint32_t queue[N];
	unsigned int nqueue, next;
};

static int rec_send(struct dusk_transport *t, const void *buf, size_t len)
{
	struct rec *r = (struct rec *)t;

	if (len != sizeof(uint32_t) || r->nsent == 3 * N)
		return -EMSGSIZE;
	memcpy(&r->sent[r->nsent++], buf, len);
	return 0;
}

static ssize_t rec_recv(struct dusk_transport *t, void *buf, size_t cap,
			uint64_t *ret_rx_ns)
{
	struct rec *r = (struct rec *)t;

	if (r->next == r->nqueue)
		return -EAGAIN;
	if (cap < sizeof(uint32_t))
		return -EMSGSIZE;
	memcpy(buf, &r->queue[r->next++], sizeof(uint32_t));
	*ret_rx_ns = 1;
	return sizeof(uint32_t);
}

static int rec_fd(struct dusk_transport *t)
{
	(void)t;
	return -1;
}

static void rec_destroy(struct dusk_transport *t)
{
	free(t);
}

static const struct dusk_transport_ops rec_ops = {
	.name = "rec", .send = rec_send, .recv = rec_recv, .fd = rec_fd,
	.destroy = rec_destroy,
};

/* What one run delivered, each way. */
struct outcome {
	uint32_t tx[3 * N];
	unsigned int ntx;
	uint32_t rx[3 * N];
	unsigned int nrx;
	struct dusk_faults_stats stats;
};

static void run(const char *setting, struct outcome *o)
{
	struct rec *r = calloc(1, sizeof(*r));
	struct dusk_transport *t = &r->t;
	uint64_t rx_ns;
	uint32_t i, v;
	ssize_t n;

	memset(o, 0, sizeof(*o));
	r->t.ops = &rec_ops;
	for (i = 0; i < N; i++)
		r->queue[i] = i;
	r->nqueue = N;
	CHECK_EQ(dusk_transport_faults_setup(&t, setting), 0);
	CHECK(t != &r->t);
	for (i = 0; i < N; i++)
		CHECK_EQ(t->ops->send(t, &i, sizeof(i)), 0);
	memcpy(o->tx, r->sent, r->nsent * sizeof(uint32_t));
	o->ntx = r->nsent;
	while ((n = t->ops->recv(t, &v, sizeof(v), &rx_ns)) > 0 &&
	       o->nrx < 3 * N)
		o->rx[o->nrx++] = v;
	CHECK_EQ(n, -EAGAIN);
	CHECK_EQ(dusk_transport_faults_stats(t, &o->stats), 0);
	dusk_transport_destroy(t);
}

/*
 * Every datagram came 0, 1 or 2 times; the lost and duplicated ones as
 * counted; nothing came before a datagram sent two or more earlier
 * (a held one comes right after the next); some did come out of order.
 */
static void check_delivery(const uint32_t *got, unsigned int n,
			   uint64_t lost, uint64_t dups, uint64_t reordered)
{
	static unsigned int times[N];
	unsigned int i, zero = 0, two = 0, swaps = 0;

	memset(times, 0, sizeof(times));
	for (i = 0; i < n; i++) {
		CHECK(got[i] < N);
		times[got[i]]++;
		if (i && got[i] < got[i - 1] && got[i] != got[i - 1])
			swaps++;
	}
	for (i = 0; i < N; i++) {
		CHECK(times[i] <= 2);
		zero += times[i] == 0;
		two += times[i] == 2;
	}
	CHECK_EQ(zero, lost);
	CHECK_EQ(two, dups);
	CHECK(swaps > 0 && swaps <= reordered);
	CHECK_EQ(n, N - lost + dups);
}

static void test_parse(void)
{
	struct dusk_faults_cfg c;

	CHECK_EQ(dusk_faults_parse("seed=42,loss=5,dup=6,reorder=7", &c), 0);
	CHECK(c.seed == 42 && c.loss == 5 && c.dup == 6 && c.reorder == 7);
	CHECK_EQ(dusk_faults_parse("reorder=1,seed=18446744073709551\n", &c), 0);
	CHECK(c.seed == 18446744073709551ULL && c.loss == 0 && c.reorder == 1);
	CHECK(dusk_faults_on(&c));
	CHECK_EQ(dusk_faults_parse("off\n", &c), 0);
	CHECK(!dusk_faults_on(&c));
	CHECK_EQ(dusk_faults_parse("", &c), 0);
	CHECK(!dusk_faults_on(&c));
	c.loss = 9;
	CHECK_EQ(dusk_faults_parse("loss=101", &c), -EINVAL);
	CHECK_EQ(dusk_faults_parse("loss=50,dup=51", &c), -EINVAL);
	CHECK_EQ(dusk_faults_parse("lost=5", &c), -EINVAL);
	CHECK_EQ(dusk_faults_parse("loss=5;dup=1", &c), -EINVAL);
	CHECK_EQ(dusk_faults_parse("loss=", &c), -EINVAL);
	CHECK_EQ(dusk_faults_parse("loss=-1", &c), -EINVAL);
	CHECK_EQ(dusk_faults_parse("seed=12345678901234567890", &c), -EINVAL);
	CHECK_EQ(dusk_faults_parse("loss=5\nx", &c), -EINVAL);
	CHECK_EQ(c.loss, 9);		/* unchanged by a refusal */
}

static void test_decisions(void)
{
	struct dusk_faults_cfg a = { 42, 5, 5, 5 }, b = a;
	struct dusk_faults_rng ra, rb, rc;
	unsigned int i, same = 0, count[__DUSK_FAULT_MAX] = { 0 };
	enum dusk_fault f;

	dusk_faults_seed(&ra, &a);
	dusk_faults_seed(&rb, &b);
	for (i = 0; i < 100000; i++) {
		f = dusk_faults_decide(&a, &ra, DUSK_FAULT_TX);
		CHECK_EQ(f, dusk_faults_decide(&b, &rb, DUSK_FAULT_TX));
		count[f]++;
	}
	/* 5 % each: 5000 expected, sigma about 69. */
	for (f = DUSK_FAULT_LOSS; f <= DUSK_FAULT_REORDER; f++)
		CHECK(count[f] > 4600 && count[f] < 5400);

	/* Another seed, or the other direction: another sequence. */
	b.seed = 43;
	dusk_faults_seed(&rb, &b);
	dusk_faults_seed(&ra, &a);
	dusk_faults_seed(&rc, &a);
	for (i = 0; i < 1000; i++) {
		f = dusk_faults_decide(&a, &ra, DUSK_FAULT_TX);
		same += f == dusk_faults_decide(&b, &rb, DUSK_FAULT_TX);
	}
	CHECK(same < 1000);
	same = 0;
	dusk_faults_seed(&ra, &a);
	for (i = 0; i < 1000; i++)
		same += dusk_faults_decide(&a, &ra, DUSK_FAULT_TX) ==
			dusk_faults_decide(&a, &rc, DUSK_FAULT_RX);
	CHECK(same < 1000);

	/* Off: everything passes, and nothing is drawn. */
	memset(&b, 0, sizeof(b));
	rb.state[DUSK_FAULT_TX] = 7;
	CHECK_EQ(dusk_faults_decide(&b, &rb, DUSK_FAULT_TX), DUSK_FAULT_PASS);
	CHECK_EQ(rb.state[DUSK_FAULT_TX], 7);
}

static void test_wrapper(void)
{
	static struct outcome one, two, three;
	struct dusk_transport *t = NULL;
	const char *setting = "seed=42,loss=5,dup=5,reorder=5";

	run(setting, &one);
	check_delivery(one.tx, one.ntx, one.stats.lost[DUSK_FAULT_TX],
		       one.stats.duplicated[DUSK_FAULT_TX],
		       one.stats.reordered[DUSK_FAULT_TX]);
	check_delivery(one.rx, one.nrx, one.stats.lost[DUSK_FAULT_RX],
		       one.stats.duplicated[DUSK_FAULT_RX],
		       one.stats.reordered[DUSK_FAULT_RX]);
	CHECK(one.stats.lost[DUSK_FAULT_TX] > 50);
	CHECK(one.stats.reordered[DUSK_FAULT_RX] > 50);

	/* The same seed: the very same deliveries, both ways. */
	run(setting, &two);
	CHECK_EQ(one.ntx, two.ntx);
	CHECK_EQ(one.nrx, two.nrx);
	CHECK(!memcmp(one.tx, two.tx, sizeof(one.tx)));
	CHECK(!memcmp(one.rx, two.rx, sizeof(one.rx)));
	CHECK(!memcmp(&one.stats, &two.stats, sizeof(one.stats)));

	/* Another seed: other ones. */
	run("seed=7,loss=5,dup=5,reorder=5", &three);
	CHECK(memcmp(one.tx, three.tx, sizeof(one.tx)) ||
	      memcmp(one.rx, three.rx, sizeof(one.rx)));

	/* Off or malformed: no wrapper. */
	CHECK_EQ(dusk_transport_faults_setup(&t, "off"), 0);
	CHECK(t == NULL);
	CHECK_EQ(dusk_transport_faults_setup(&t, "loss=x"), -EINVAL);
	CHECK(t == NULL);
}

/* DUSK_FAULTS as dusk_config_init() takes it: refused when malformed. */
static void test_config(void)
{
	struct dusk_config cfg;

	setenv("DUSK_TARGET", "127.0.0.1:1", 1);
	setenv("DUSK_KEY", "/nonexistent", 1);
	setenv("DUSK_FAULTS", "seed=1,loss=2", 1);
	CHECK_EQ(dusk_config_init(&cfg), 0);
	CHECK(!strcmp(cfg.faults, "seed=1,loss=2"));
	setenv("DUSK_FAULTS", "loss=2,", 1);
	CHECK_EQ(dusk_config_init(&cfg), 0);
	setenv("DUSK_FAULTS", "loss=200", 1);
	CHECK_EQ(dusk_config_init(&cfg), -EINVAL);
	unsetenv("DUSK_FAULTS");
	CHECK_EQ(dusk_config_init(&cfg), 0);
	CHECK_EQ(cfg.faults[0], '\0');
}

int main(void)
{
	test_parse();
	test_config();
	test_decisions();
	test_wrapper();
	return check_done("test_faults");
}
