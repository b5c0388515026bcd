// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The big program lock and the threads' wake descriptors (plock.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "plock.h"

static pthread_mutex_t dusk_plock_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t dusk_plock_gen;
static _Atomic(const void *) dusk_plock_last;	/* its last owner */
static __thread unsigned int dusk_plock_depth;
static __thread char dusk_plock_me;		/* an identity per thread */
static __thread int dusk_plock_fd = -1;
static __thread int dusk_plock_fd_failed;
static __thread int dusk_plock_idle;

static void dusk_plock_lock(void)
{
	pthread_mutex_lock(&dusk_plock_mu);
	if (atomic_load(&dusk_plock_last) != &dusk_plock_me) {
		atomic_store(&dusk_plock_last, &dusk_plock_me);
		atomic_fetch_add(&dusk_plock_gen, 1);
	}
}

void dusk_plock_take(void)
{
	if (!dusk_plock_depth++)
		dusk_plock_lock();
}

void dusk_plock_put(void)
{
	if (dusk_plock_depth && !--dusk_plock_depth)
		pthread_mutex_unlock(&dusk_plock_mu);
}

int dusk_plock_held(void)
{
	return dusk_plock_depth != 0;
}

unsigned int dusk_plock_release(void)
{
	unsigned int depth = dusk_plock_depth;

	if (depth) {
		dusk_plock_depth = 0;
		pthread_mutex_unlock(&dusk_plock_mu);
	}
	return depth;
}

void dusk_plock_retake(unsigned int depth)
{
	if (!depth)
		return;
	dusk_plock_lock();
	dusk_plock_depth = depth;
}

uint64_t dusk_plock_handoffs(void)
{
	return atomic_load(&dusk_plock_gen);
}

int dusk_plock_wake_fd(void)
{
	if (dusk_plock_fd < 0 && !dusk_plock_fd_failed) {
		dusk_plock_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		dusk_plock_fd_failed = dusk_plock_fd < 0;
	}
	return dusk_plock_fd;
}

void dusk_plock_wake(int fd)
{
	uint64_t one = 1;
	int saved = errno;
	ssize_t n;

	if (fd < 0 || fd == dusk_plock_fd)
		return;
	n = write(fd, &one, sizeof(one));
	(void)n;
	errno = saved;
}

void dusk_plock_wake_drain(void)
{
	uint64_t v;
	ssize_t n;

	if (dusk_plock_fd >= 0) {
		n = read(dusk_plock_fd, &v, sizeof(v));
		(void)n;
	}
}

void dusk_plock_wake_close(void)
{
	if (dusk_plock_fd >= 0)
		close(dusk_plock_fd);
	dusk_plock_fd = -1;
}

void dusk_plock_mutex_lock(pthread_mutex_t *mu)
{
	unsigned int depth;

	if (!pthread_mutex_trylock(mu))
		return;
	depth = dusk_plock_release();
	pthread_mutex_lock(mu);
	dusk_plock_retake(depth);
}

void dusk_plock_set_idle(int idle)
{
	dusk_plock_idle = idle;
}

unsigned int dusk_plock_release_idle(void)
{
	return dusk_plock_idle ? dusk_plock_release() : 0;
}

void dusk_plock_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu,
			  const struct timespec *until,
			  int (*done)(void *arg), void *arg)
{
	unsigned int depth;

	pthread_mutex_unlock(mu);
	depth = dusk_plock_release();
	pthread_mutex_lock(mu);
	if (done(arg))
		;
	else if (until)
		pthread_cond_timedwait(cv, mu, until);
	else
		pthread_cond_wait(cv, mu);
	pthread_mutex_unlock(mu);
	dusk_plock_retake(depth);
	pthread_mutex_lock(mu);
}
