// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The big program lock (core/plock.c) and the threaded receive: re-entry,
 * letting go for a wait and taking it back, mutual exclusion among
 * threads that interleave only at their waits, runtime mutexes held
 * across a wait, and a thread waiting in the transport woken by another
 * (the reply it waits for was received elsewhere) or by a datagram, with
 * the lock let go in the event loop's idle wait only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "plock.h"
#include "transport.h"

static void test_reentrant(void)
{
	unsigned int depth;
	uint64_t h;

	CHECK(!dusk_plock_held());
	CHECK_EQ(dusk_plock_release(), 0);	/* not held: nothing */
	dusk_plock_retake(0);
	CHECK(!dusk_plock_held());
	dusk_plock_take();
	dusk_plock_take();			/* gdb's inferior call */
	CHECK(dusk_plock_held());
	dusk_plock_put();
	CHECK(dusk_plock_held());
	depth = dusk_plock_release();
	CHECK_EQ(depth, 1);
	CHECK(!dusk_plock_held());
	h = dusk_plock_handoffs();
	dusk_plock_retake(depth);
	CHECK(dusk_plock_held());
	CHECK_EQ(dusk_plock_handoffs(), h);	/* the same thread again */
	dusk_plock_take();
	CHECK_EQ(dusk_plock_release(), 2);
	dusk_plock_retake(2);
	dusk_plock_put();
	dusk_plock_put();
	CHECK(!dusk_plock_held());
	dusk_plock_put();			/* unbalanced: ignored */
	CHECK(!dusk_plock_held());
}

/* Threads that run only under the lock and let it go at "sleeps". */
#define NR_THREADS	4
#define ROUNDS		2000
static int shared_counter;
static atomic_int inside;
static atomic_int overlap;

static void *worker(void *arg)
{
	unsigned int i, depth;
	int v;

	(void)arg;
	dusk_plock_take();
	for (i = 0; i < ROUNDS; i++) {
		if (atomic_fetch_add(&inside, 1))
			atomic_fetch_add(&overlap, 1);
		v = shared_counter;
		shared_counter = v + 1;
		atomic_fetch_sub(&inside, 1);
		if (i % 7 == 0) {		/* a sleep */
			depth = dusk_plock_release();
			usleep(10);
			dusk_plock_retake(depth);
		}
	}
	dusk_plock_put();
	return NULL;
}

static void test_exclusion(void)
{
	pthread_t th[NR_THREADS];
	uint64_t h = dusk_plock_handoffs();
	unsigned int i;

	for (i = 0; i < NR_THREADS; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(shared_counter, NR_THREADS * ROUNDS);
	CHECK_EQ(atomic_load(&overlap), 0);
	CHECK(dusk_plock_handoffs() > h);
}

/* A runtime mutex held across a wait (a request under printk's lock):
 * another thread that wants it must not sit on the program lock. */
static pthread_mutex_t rt_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int holder_in;

static void *mutex_holder(void *arg)
{
	unsigned int depth;

	(void)arg;
	dusk_plock_take();
	dusk_plock_mutex_lock(&rt_mu);
	atomic_store(&holder_in, 1);
	depth = dusk_plock_release();	/* waits for its reply */
	usleep(50000);
	dusk_plock_retake(depth);	/* needs the program lock back */
	pthread_mutex_unlock(&rt_mu);
	dusk_plock_put();
	return NULL;
}

static void test_mutex_across_wait(void)
{
	pthread_t th;

	pthread_create(&th, NULL, mutex_holder, NULL);
	while (!atomic_load(&holder_in))
		usleep(1000);
	dusk_plock_take();
	dusk_plock_mutex_lock(&rt_mu);	/* would deadlock with a plain lock */
	CHECK(dusk_plock_held());
	pthread_mutex_unlock(&rt_mu);
	dusk_plock_put();
	pthread_join(th, NULL);
}

/* ---- the threaded receive ---- */

static struct dusk_transport *udp;
static int peer;
static atomic_int waiter_fd = -1;
static atomic_int waiter_result;
static atomic_int waiter_idle;

static void *waiter(void *arg)
{
	char buf[64];
	uint64_t rx;
	ssize_t n;

	(void)arg;
	atomic_store(&waiter_fd, dusk_plock_wake_fd());
	dusk_plock_take();
	dusk_plock_set_idle(atomic_load(&waiter_idle));
	n = dusk_transport_recv(udp, buf, sizeof(buf), 5000, -1, &rx);
	dusk_plock_set_idle(0);
	CHECK(dusk_plock_held());	/* taken back after the wait */
	atomic_store(&waiter_result, (int)n);
	dusk_plock_put();
	dusk_plock_wake_close();
	return NULL;
}

static int run_waiter(int idle, int by_datagram)
{
	pthread_t th;

	atomic_store(&waiter_fd, -1);
	atomic_store(&waiter_result, 1);
	atomic_store(&waiter_idle, idle);
	pthread_create(&th, NULL, waiter, NULL);
	while (atomic_load(&waiter_fd) < 0)
		usleep(1000);
	usleep(50000);			/* it is in poll() now */
	/* Idle: the lock is free while it waits (a request's wait keeps
	 * it). */
	if (idle) {
		dusk_plock_take();	/* would block if it were kept */
		dusk_plock_put();
	}
	if (by_datagram)
		CHECK_EQ(send(peer, "x", 1, 0), 1);
	else
		dusk_plock_wake(atomic_load(&waiter_fd));
	pthread_join(th, NULL);
	return atomic_load(&waiter_result);
}

static void test_threaded_receive(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int srv;

	/* A "kernel" socket the transport is connected to, and back. */
	srv = socket(AF_INET, SOCK_DGRAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(bind(srv, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(srv, (struct sockaddr *)&a, &len);
	CHECK_EQ(dusk_transport_udp_create((struct sockaddr *)&a, sizeof(a),
					   &udp), 0);
	/* Learn the transport's address from its first datagram. */
	CHECK_EQ(dusk_transport_send(udp, "hi", 2), 0);
	{
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		char b[8];

		CHECK_EQ(recvfrom(srv, b, sizeof(b), 0,
				  (struct sockaddr *)&from, &flen), 2);
		connect(srv, (struct sockaddr *)&from, flen);
	}
	peer = srv;

	/* Another thread received its reply: woken by its descriptor. */
	CHECK_EQ(run_waiter(0, 0), -EINTR);
	CHECK_EQ(run_waiter(1, 0), -EINTR);
	/* Its datagram: it receives it itself. */
	CHECK_EQ(run_waiter(1, 1), 1);
	CHECK_EQ(run_waiter(0, 1), 1);
	/* A wake-up for the calling thread itself is nothing. */
	dusk_plock_wake(dusk_plock_wake_fd());
	dusk_transport_destroy(udp);
	close(srv);
}

int main(void)
{
	test_reentrant();
	test_exclusion();
	test_mutex_across_wait();
	test_threaded_receive();
	return check_done("test_plock");
}
