// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The observer list (observe.h). Attached at program start, before any
 * thread but the main one runs, so the list is read without a lock.
 */
#include <errno.h>
#include <string.h>

#include "observe.h"

const struct dusk_observer *dusk_observers[DUSK_OBSERVERS_MAX];
unsigned int dusk_nr_observers;

int dusk_observer_attach(const struct dusk_observer *o)
{
	unsigned int i;

	for (i = 0; i < dusk_nr_observers; i++)
		if (dusk_observers[i] == o)
			return -EEXIST;
	if (dusk_nr_observers == DUSK_OBSERVERS_MAX)
		return -ENOSPC;
	dusk_observers[dusk_nr_observers] = o;
	__atomic_store_n(&dusk_nr_observers, dusk_nr_observers + 1,
			 __ATOMIC_RELEASE);
	return 0;
}

void dusk_observer_detach(const struct dusk_observer *o)
{
	unsigned int i;

	for (i = 0; i < dusk_nr_observers; i++) {
		if (dusk_observers[i] != o)
			continue;
		memmove(&dusk_observers[i], &dusk_observers[i + 1],
			(dusk_nr_observers - i - 1) * sizeof(dusk_observers[0]));
		__atomic_store_n(&dusk_nr_observers, dusk_nr_observers - 1,
				 __ATOMIC_RELEASE);
		return;
	}
}

void dusk_observers_reset(void)
{
	__atomic_store_n(&dusk_nr_observers, 0, __ATOMIC_RELEASE);
}

void dusk_observe_msg(struct dusk_session *s, enum dusk_dir dir,
		      const struct dusk_msg *m)
{
	unsigned int i, n = __atomic_load_n(&dusk_nr_observers, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++)
		if (dusk_observers[i]->msg)
			dusk_observers[i]->msg(dusk_observers[i]->ctx, s, dir, m);
}

void dusk_observe_kcall_begin(struct dusk_kcall_tokens *t, const char *name,
			      const void *kfunc, uint64_t fn,
			      const uint64_t *args, unsigned int nargs)
{
	unsigned int i, n = __atomic_load_n(&dusk_nr_observers, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++)
		t->token[i] = dusk_observers[i]->kcall_begin ?
			dusk_observers[i]->kcall_begin(dusk_observers[i]->ctx,
						       name, kfunc, fn, args,
						       nargs) : NULL;
	for (; i < DUSK_OBSERVERS_MAX; i++)
		t->token[i] = NULL;
}

void dusk_observe_kcall_end(const struct dusk_kcall_tokens *t, int status,
			    uint64_t ret)
{
	unsigned int i, n = __atomic_load_n(&dusk_nr_observers, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++)
		if (dusk_observers[i]->kcall_end)
			dusk_observers[i]->kcall_end(dusk_observers[i]->ctx,
						     t->token[i], status, ret);
}

void dusk_observe_callback(void *fn, const char *what)
{
	unsigned int i, n = __atomic_load_n(&dusk_nr_observers, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++)
		if (dusk_observers[i]->callback)
			dusk_observers[i]->callback(dusk_observers[i]->ctx, fn,
							   what);
}

void dusk_observe_call(void *fn, const uint64_t *args, unsigned int nargs)
{
	unsigned int i, n = __atomic_load_n(&dusk_nr_observers, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++)
		if (dusk_observers[i]->call)
			dusk_observers[i]->call(dusk_observers[i]->ctx, fn, args,
						nargs);
}
