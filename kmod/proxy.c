// SPDX-License-Identifier: GPL-2.0
/*
 * Proxy tables: dusk.ko's own struct file_operations, a pool of
 * DUSK_PROXY_NR, each with proxy functions of its own (generated below,
 * one set per table: a proxy knows its table by its index, as procfs'
 * callbacks, which get no pointer to their table, will need).
 *
 * PROXY_REGISTER fills a free table for the session: the module's
 * functions (user slots) become the table's proxies, kernel functions
 * (noop_llseek) go in as they are, the rest is NULL, owner is dusk.ko (an
 * open file pins dusk.ko, never a session's memory). The program hands
 * the table's address to the kernel in place of its own struct. A proxy
 * runs the module's function through an invocation (invoke.c).
 *
 * open and release are always proxies, so that the open files of a table
 * are counted: a table the session left (PROXY_UNREGISTER, the session's
 * end) is dead, its proxies answer -ENODEV (open), -EIO, EPOLLERR|EPOLLHUP
 * (poll) or 0 (release, flush) without invoking, and it is reused only
 * once its last open file is closed.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "dusk_kmod.h"

#define DUSK_PROXY_NR	32

enum dusk_fop_slot {
	DUSK_FOP_OPEN,
	DUSK_FOP_RELEASE,
	DUSK_FOP_READ,
	DUSK_FOP_WRITE,
	DUSK_FOP_LLSEEK,
	DUSK_FOP_UNLOCKED_IOCTL,
	DUSK_FOP_COMPAT_IOCTL,
	DUSK_FOP_POLL,
	DUSK_FOP_FASYNC,
	DUSK_FOP_FLUSH,
	__DUSK_FOP_MAX
};

/* The members a slot may name. */
static const u32 dusk_fop_off[__DUSK_FOP_MAX] = {
	[DUSK_FOP_OPEN] = offsetof(struct file_operations, open),
	[DUSK_FOP_RELEASE] = offsetof(struct file_operations, release),
	[DUSK_FOP_READ] = offsetof(struct file_operations, read),
	[DUSK_FOP_WRITE] = offsetof(struct file_operations, write),
	[DUSK_FOP_LLSEEK] = offsetof(struct file_operations, llseek),
	[DUSK_FOP_UNLOCKED_IOCTL] = offsetof(struct file_operations,
					     unlocked_ioctl),
	[DUSK_FOP_COMPAT_IOCTL] = offsetof(struct file_operations,
					   compat_ioctl),
	[DUSK_FOP_POLL] = offsetof(struct file_operations, poll),
	[DUSK_FOP_FASYNC] = offsetof(struct file_operations, fasync),
	[DUSK_FOP_FLUSH] = offsetof(struct file_operations, flush),
};

struct dusk_proxy {
	struct file_operations fops;
	/* The rest is under dusk_proxy_lock. */
	struct dusk_session *s;		/* live: its session, else NULL */
	bool used;			/* registered, or files still open */
	bool dead;
	u32 handle;
	u32 opens;			/* open files */
	u64 table;			/* the program's own, for the record */
	u64 cookie[__DUSK_FOP_MAX];
	bool user[__DUSK_FOP_MAX];
	/* Kernel functions in the always-proxied slots. */
	int (*kopen)(struct inode *, struct file *);
	int (*krelease)(struct inode *, struct file *);
};

static DEFINE_SPINLOCK(dusk_proxy_lock);
static struct dusk_proxy dusk_proxies[DUSK_PROXY_NR];
static u32 dusk_proxy_next_handle;
static unsigned int dusk_proxy_cursor;	/* least recently used first */

/* What a slot's proxy answers when it does not invoke. */
struct dusk_fop_answer {
	long dead;			/* table or session dead */
	long killed;			/* a fatal signal came first */
};

/*
 * Invoke slot of table i with args: the callback's value, or the slot's
 * answers. The session is referenced while the caller invokes.
 */
static long dusk_proxy_call(unsigned int i, unsigned int slot,
			    u64 a0, u64 a1, u64 a2, u64 a3,
			    const struct dusk_fop_answer *ans)
{
	struct dusk_proxy *t = &dusk_proxies[i];
	struct dusk_invoke_args a = {
		.off = dusk_fop_off[slot],
		.args = { a0, a1, a2, a3 },
	};
	struct dusk_session *s = NULL;
	s64 ret;
	int err;

	/* The thread cannot serve the requests it would wait for. */
	if (current == dusk.thread) {
		pr_warn_once("dusk: a proxied callback called from dusk's own thread: refused\n");
		atomic64_inc(&dusk.inv.dead);
		return ans->dead;
	}
	spin_lock(&dusk_proxy_lock);
	if (!t->dead && t->s && !READ_ONCE(t->s->dead)) {
		s = t->s;
		dusk_session_get(s);
		a.cookie = t->cookie[slot];
		a.handle = t->handle;
	}
	spin_unlock(&dusk_proxy_lock);
	if (!s) {
		atomic64_inc(&dusk.inv.dead);
		return ans->dead;
	}
	err = dusk_invoke(s, &a, &ret);
	dusk_session_put(s);
	if (err == -EINTR)
		return ans->killed;
	if (err) {
		atomic64_inc(&dusk.inv.dead);
		return ans->dead;
	}
	return (long)ret;
}

/* A table whose last file closed after it died is free again. */
static void dusk_proxy_put_locked(struct dusk_proxy *t)
{
	if (t->dead && !t->opens) {
		t->used = false;
		t->s = NULL;
	}
}

static int dusk_fop_open(unsigned int i, struct inode *inode,
			 struct file *file)
{
	static const struct dusk_fop_answer ans = { -ENODEV, -EINTR };
	struct dusk_proxy *t = &dusk_proxies[i];
	int (*kopen)(struct inode *, struct file *);
	bool user;
	int ret = 0;

	spin_lock(&dusk_proxy_lock);
	if (t->dead) {
		spin_unlock(&dusk_proxy_lock);
		return -ENODEV;
	}
	t->opens++;
	user = t->user[DUSK_FOP_OPEN];
	kopen = t->kopen;
	spin_unlock(&dusk_proxy_lock);

	if (user)
		ret = dusk_proxy_call(i, DUSK_FOP_OPEN, (unsigned long)inode,
				      (unsigned long)file, 0, 0, &ans);
	else if (kopen)
		ret = kopen(inode, file);
	if (ret) {
		/* A failed open is never released. */
		spin_lock(&dusk_proxy_lock);
		t->opens--;
		dusk_proxy_put_locked(t);
		spin_unlock(&dusk_proxy_lock);
	}
	return ret;
}

static int dusk_fop_release(unsigned int i, struct inode *inode,
			    struct file *file)
{
	static const struct dusk_fop_answer ans = { 0, 0 };
	struct dusk_proxy *t = &dusk_proxies[i];
	int (*krelease)(struct inode *, struct file *);
	bool user;
	int ret = 0;

	spin_lock(&dusk_proxy_lock);
	user = t->user[DUSK_FOP_RELEASE];
	krelease = t->krelease;
	spin_unlock(&dusk_proxy_lock);

	if (user)
		ret = dusk_proxy_call(i, DUSK_FOP_RELEASE,
				      (unsigned long)inode,
				      (unsigned long)file, 0, 0, &ans);
	else if (krelease)	/* kernel code: run even on a dead table */
		ret = krelease(inode, file);

	spin_lock(&dusk_proxy_lock);
	if (!WARN_ON_ONCE(!t->opens))
		t->opens--;
	dusk_proxy_put_locked(t);
	spin_unlock(&dusk_proxy_lock);
	return ret;
}

static ssize_t dusk_fop_read(unsigned int i, struct file *file,
			     char __user *buf, size_t n, loff_t *pos)
{
	static const struct dusk_fop_answer ans = { -EIO, -EINTR };

	return dusk_proxy_call(i, DUSK_FOP_READ, (unsigned long)file,
			       (unsigned long)buf, n, (unsigned long)pos, &ans);
}

static ssize_t dusk_fop_write(unsigned int i, struct file *file,
			      const char __user *buf, size_t n, loff_t *pos)
{
	static const struct dusk_fop_answer ans = { -EIO, -EINTR };

	return dusk_proxy_call(i, DUSK_FOP_WRITE, (unsigned long)file,
			       (unsigned long)buf, n, (unsigned long)pos, &ans);
}

static loff_t dusk_fop_llseek(unsigned int i, struct file *file, loff_t off,
			      int whence)
{
	static const struct dusk_fop_answer ans = { -EIO, -EINTR };

	return dusk_proxy_call(i, DUSK_FOP_LLSEEK, (unsigned long)file,
			       (u64)off, (u64)(s64)whence, 0, &ans);
}

static long dusk_fop_unlocked_ioctl(unsigned int i, struct file *file,
				    unsigned int cmd, unsigned long arg)
{
	static const struct dusk_fop_answer ans = { -EIO, -EINTR };

	return dusk_proxy_call(i, DUSK_FOP_UNLOCKED_IOCTL, (unsigned long)file,
			       cmd, arg, 0, &ans);
}

static long dusk_fop_compat_ioctl(unsigned int i, struct file *file,
				  unsigned int cmd, unsigned long arg)
{
	static const struct dusk_fop_answer ans = { -EIO, -EINTR };

	return dusk_proxy_call(i, DUSK_FOP_COMPAT_IOCTL, (unsigned long)file,
			       cmd, arg, 0, &ans);
}

static __poll_t dusk_fop_poll(unsigned int i, struct file *file,
			      struct poll_table_struct *pt)
{
	static const struct dusk_fop_answer ans = {
		(__force long)(EPOLLERR | EPOLLHUP),
		(__force long)(EPOLLERR | EPOLLHUP),
	};

	return (__force __poll_t)dusk_proxy_call(i, DUSK_FOP_POLL,
						 (unsigned long)file,
						 (unsigned long)pt, 0, 0,
						 &ans);
}

static int dusk_fop_fasync(unsigned int i, int fd, struct file *file, int on)
{
	static const struct dusk_fop_answer ans = { -EIO, -EINTR };

	return dusk_proxy_call(i, DUSK_FOP_FASYNC, (u64)(s64)fd,
			       (unsigned long)file, (u64)(s64)on, 0, &ans);
}

static int dusk_fop_flush(unsigned int i, struct file *file, fl_owner_t id)
{
	static const struct dusk_fop_answer ans = { 0, 0 };

	return dusk_proxy_call(i, DUSK_FOP_FLUSH, (unsigned long)file,
			       (unsigned long)id, 0, 0, &ans);
}

/* Table i's proxies: each calls the generic one above with i. */
#define DUSK_FOPS_FNS(i)						\
static int dusk_open_##i(struct inode *n, struct file *f)		\
{ return dusk_fop_open(i, n, f); }					\
static int dusk_release_##i(struct inode *n, struct file *f)		\
{ return dusk_fop_release(i, n, f); }					\
static ssize_t dusk_read_##i(struct file *f, char __user *b, size_t n,	\
			     loff_t *p)					\
{ return dusk_fop_read(i, f, b, n, p); }				\
static ssize_t dusk_write_##i(struct file *f, const char __user *b,	\
			      size_t n, loff_t *p)			\
{ return dusk_fop_write(i, f, b, n, p); }				\
static loff_t dusk_llseek_##i(struct file *f, loff_t o, int w)		\
{ return dusk_fop_llseek(i, f, o, w); }					\
static long dusk_uioctl_##i(struct file *f, unsigned int c,		\
			    unsigned long a)				\
{ return dusk_fop_unlocked_ioctl(i, f, c, a); }				\
static long dusk_cioctl_##i(struct file *f, unsigned int c,		\
			    unsigned long a)				\
{ return dusk_fop_compat_ioctl(i, f, c, a); }				\
static __poll_t dusk_poll_##i(struct file *f, struct poll_table_struct *p) \
{ return dusk_fop_poll(i, f, p); }					\
static int dusk_fasync_##i(int fd, struct file *f, int on)		\
{ return dusk_fop_fasync(i, fd, f, on); }				\
static int dusk_flush_##i(struct file *f, fl_owner_t id)		\
{ return dusk_fop_flush(i, f, id); }

#define DUSK_FOPS_TEMPLATE(i)						\
	[i] = {								\
		.open = dusk_open_##i,					\
		.release = dusk_release_##i,				\
		.read = dusk_read_##i,					\
		.write = dusk_write_##i,				\
		.llseek = dusk_llseek_##i,				\
		.unlocked_ioctl = dusk_uioctl_##i,			\
		.compat_ioctl = dusk_cioctl_##i,			\
		.poll = dusk_poll_##i,					\
		.fasync = dusk_fasync_##i,				\
		.flush = dusk_flush_##i,				\
	},

#define DUSK_FOR_EACH_TABLE(X)						\
	X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)				\
	X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)			\
	X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)			\
	X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31)

DUSK_FOR_EACH_TABLE(DUSK_FOPS_FNS)

static const struct file_operations dusk_fops_proxies[DUSK_PROXY_NR] = {
	DUSK_FOR_EACH_TABLE(DUSK_FOPS_TEMPLATE)
};

static_assert(ARRAY_SIZE(dusk_fops_proxies) == DUSK_PROXY_NR);

static int dusk_fop_slot_of(u32 off)
{
	unsigned int i;

	for (i = 0; i < __DUSK_FOP_MAX; i++)
		if (dusk_fop_off[i] == off)
			return i;
	return -1;
}

/* The pointer-sized member at off of a struct file_operations. */
static void **dusk_fops_member(struct file_operations *f, u32 off)
{
	return (void **)((char *)f + off);
}

/*
 * PROXY_REGISTER: struct dusk_proxy_register, then nr slots. -EINVAL:
 * kind (FOPS only here), flags, a slot's offset (not one of the members
 * above, or twice), kind, or a kernel value that is not kernel text;
 * -EBADMSG: the payload is not nr slots long; -ENOSPC: no free table;
 * -ESRCH: the session ended meanwhile.
 */
int dusk_do_proxy_register(struct dusk_req *r)
{
	const struct dusk_proxy_register *pr = r->payload;
	const struct dusk_proxy_slot *sl = (const void *)(pr + 1);
	struct dusk_proxy_reply *rep = r->reply;
	u32 nr = le32_to_cpu(pr->nr), off, kind, seen = 0;
	const struct file_operations *proto;
	struct dusk_proxy *t = NULL;
	unsigned int i, n;
	u64 value;
	int slot;

	if ((r->len - sizeof(*pr)) / sizeof(*sl) != nr ||
	    (r->len - sizeof(*pr)) % sizeof(*sl))
		return -EBADMSG;
	if (le32_to_cpu(pr->kind) != DUSK_PROXY_FOPS || pr->flags)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		off = le32_to_cpu(sl[i].off);
		kind = le32_to_cpu(sl[i].kind);
		value = le64_to_cpu(sl[i].value);
		slot = dusk_fop_slot_of(off);
		if (slot < 0 || (seen & BIT(slot)))
			return -EINVAL;
		seen |= BIT(slot);
		if (kind == DUSK_SLOT_KERNEL) {
			if (!dusk_is_text(value))
				return -EINVAL;
		} else if (kind != DUSK_SLOT_USER) {
			return -EINVAL;
		}
	}

	spin_lock(&dusk_proxy_lock);
	if (READ_ONCE(r->s->dead)) {
		spin_unlock(&dusk_proxy_lock);
		return -ESRCH;
	}
	for (n = 0; n < DUSK_PROXY_NR; n++) {
		i = (dusk_proxy_cursor + n) % DUSK_PROXY_NR;
		if (!dusk_proxies[i].used) {
			t = &dusk_proxies[i];
			dusk_proxy_cursor = i + 1;
			break;
		}
	}
	if (!t) {
		spin_unlock(&dusk_proxy_lock);
		return -ENOSPC;
	}
	proto = &dusk_fops_proxies[i];
	memset(t, 0, sizeof(*t));
	t->fops.owner = THIS_MODULE;
	t->fops.open = proto->open;
	t->fops.release = proto->release;
	for (n = 0; n < nr; n++) {
		off = le32_to_cpu(sl[n].off);
		slot = dusk_fop_slot_of(off);
		value = le64_to_cpu(sl[n].value);
		if (le32_to_cpu(sl[n].kind) == DUSK_SLOT_USER) {
			t->user[slot] = true;
			t->cookie[slot] = value;
			*dusk_fops_member(&t->fops, off) =
				*dusk_fops_member((struct file_operations *)proto,
						  off);
		} else if (slot == DUSK_FOP_OPEN) {
			t->kopen = (void *)(unsigned long)value;
		} else if (slot == DUSK_FOP_RELEASE) {
			t->krelease = (void *)(unsigned long)value;
		} else {
			*dusk_fops_member(&t->fops, off) =
				(void *)(unsigned long)value;
		}
	}
	t->s = r->s;
	t->used = true;
	t->table = le64_to_cpu(pr->table);
	t->handle = ++dusk_proxy_next_handle ? : ++dusk_proxy_next_handle;
	rep->table = cpu_to_le64((unsigned long)&t->fops);
	rep->handle = cpu_to_le32(t->handle);
	rep->pad = 0;
	spin_unlock(&dusk_proxy_lock);
	r->reply_len = sizeof(*rep);
	return 0;
}

static void dusk_proxy_kill_locked(struct dusk_proxy *t)
{
	t->dead = true;
	t->s = NULL;
	dusk_proxy_put_locked(t);
}

/* PROXY_UNREGISTER: -ENOENT unless a live table of this session. */
int dusk_do_proxy_unregister(struct dusk_req *r)
{
	const struct dusk_proxy_handle *h = r->payload;
	u32 handle = le32_to_cpu(h->handle);
	unsigned int i;
	int ret = -ENOENT;

	if (h->pad)
		return -EINVAL;
	spin_lock(&dusk_proxy_lock);
	for (i = 0; i < DUSK_PROXY_NR; i++) {
		struct dusk_proxy *t = &dusk_proxies[i];

		if (t->used && !t->dead && t->s == r->s &&
		    t->handle == handle) {
			dusk_proxy_kill_locked(t);
			ret = 0;
			break;
		}
	}
	spin_unlock(&dusk_proxy_lock);
	return ret;
}

void dusk_proxies_end(struct dusk_session *s)
{
	unsigned int i;

	spin_lock(&dusk_proxy_lock);
	for (i = 0; i < DUSK_PROXY_NR; i++)
		if (dusk_proxies[i].used && dusk_proxies[i].s == s)
			dusk_proxy_kill_locked(&dusk_proxies[i]);
	spin_unlock(&dusk_proxy_lock);
}
