// SPDX-License-Identifier: GPL-2.0
/*
 * Session-owned allocations: kernel copies of the program's objects. They
 * are kmalloc()ed, so the kernel may kfree() one it was handed, and freed
 * with the session. A quota keeps a runaway program from eating the box.
 * The list is under the session's lock: a proxy's caller allocates for
 * its invocation while the thread serves the main channel.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/list.h>

#include "dusk_kmod.h"

#define DUSK_ALLOC_MAX		(4UL << 20)	/* one object */
#define DUSK_ALLOC_QUOTA	(64ULL << 20)	/* a session */

struct dusk_alloc_rec {
	struct list_head list;
	void *ptr;
	size_t size;
};

int dusk_do_alloc(struct dusk_req *r)
{
	const struct dusk_alloc *a = r->payload;
	struct dusk_alloc_reply *rep = r->reply;
	u64 size = le64_to_cpu(a->size);
	u32 flags = le32_to_cpu(a->flags);
	struct dusk_session *s = r->s;
	struct dusk_alloc_rec *rec;
	gfp_t gfp = GFP_KERNEL;

	if (!size || size > DUSK_ALLOC_MAX || (flags & ~DUSK_ALLOC_F_ALL) ||
	    a->pad)
		return -EINVAL;
	if (READ_ONCE(s->alloc_bytes) + size > DUSK_ALLOC_QUOTA)
		return -EDQUOT;
	if (flags & DUSK_ALLOC_ZERO)
		gfp |= __GFP_ZERO;
	rec = kmalloc(sizeof(*rec), GFP_KERNEL);
	if (!rec)
		return -ENOMEM;
	rec->ptr = kmalloc(size, gfp);
	if (!rec->ptr) {
		kfree(rec);
		return -ENOMEM;
	}
	rec->size = size;
	mutex_lock(&s->lock);
	if (s->dead) {
		/* The session ended meanwhile: nobody would free it. */
		mutex_unlock(&s->lock);
		kfree(rec->ptr);
		kfree(rec);
		return -ESRCH;
	}
	list_add(&rec->list, &s->allocs);
	s->alloc_bytes += size;
	s->nr_allocs++;
	mutex_unlock(&s->lock);
	rep->addr = cpu_to_le64((unsigned long)rec->ptr);
	r->reply_len = sizeof(*rep);
	return 0;
}

static void dusk_alloc_rec_free(struct dusk_session *s,
				struct dusk_alloc_rec *rec)
{
	list_del(&rec->list);
	s->alloc_bytes -= rec->size;
	s->nr_allocs--;
	kfree(rec->ptr);
	kfree(rec);
}

int dusk_do_free(struct dusk_req *r)
{
	const struct dusk_free *f = r->payload;
	u64 addr = le64_to_cpu(f->addr);
	struct dusk_session *s = r->s;
	struct dusk_alloc_rec *rec;
	int ret = -ENOENT;

	mutex_lock(&s->lock);
	if (s->dead) {
		ret = -ESRCH;
		goto out;
	}
	list_for_each_entry(rec, &s->allocs, list) {
		if ((unsigned long)rec->ptr == addr) {
			/* What the kernel was given inside it is gone too. */
			dusk_own_forget_range(s, addr, rec->size);
			dusk_alloc_rec_free(s, rec);
			ret = 0;
			break;
		}
	}
out:
	mutex_unlock(&s->lock);
	return ret;
}

/* The session is dead: the list is the thread's alone. */
void dusk_allocs_free(struct dusk_session *s)
{
	struct dusk_alloc_rec *rec, *tmp;

	list_for_each_entry_safe(rec, tmp, &s->allocs, list)
		dusk_alloc_rec_free(s, rec);
}
