// SPDX-License-Identifier: GPL-2.0
/*
 * Proxy tables: dusk.ko's own struct file_operations, struct proc_ops,
 * struct seq_operations or single function (single_open's show, a sysfs
 * attribute's show or store: any function pointer), a pool
 * of DUSK_PROXY_NR, each with proxy functions of its own (generated below,
 * one set per table: a proxy knows its table by its index, since procfs'
 * and seq_file's callbacks get no pointer to their table).
 *
 * PROXY_REGISTER fills a free table for the session: the module's
 * functions (user slots) become the table's proxies, kernel functions
 * (noop_llseek) go in as they are, the rest is NULL, owner is dusk.ko (an
 * open file pins dusk.ko, never a session's memory). The program hands
 * the table's address to the kernel in place of its own struct. A proxy
 * runs the module's function through an invocation (invoke.c).
 *
 * open and release (proc_open, proc_release) are always proxies, so that
 * the open files of a table are counted: a table the session left
 * (PROXY_UNREGISTER, the session's end) is dead, its proxies answer
 * -ENODEV (open), -EIO, EPOLLERR|EPOLLHUP (poll) or 0 (release, flush)
 * without invoking (seq_file's: start ERR_PTR(-EIO), next NULL, show
 * -EIO), and it is reused only once its last open file is closed. A
 * seq_operations table or a show function has no files of its own to
 * count: it is reused once dead, last among the free tables (a file that
 * still holds it after its session ended would call another session's).
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/err.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "dusk_kmod.h"

/* A sysfs attribute's show and store are a table each. */
#define DUSK_PROXY_NR	64

/* What a proxy stands for; a kind names some of these by its members. */
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
	DUSK_SEQ_START,
	DUSK_SEQ_STOP,
	DUSK_SEQ_NEXT,
	DUSK_SEQ_SHOW,			/* also the FN kind's one function */
	__DUSK_FOP_MAX
};

#define DUSK_NO_OFF	0xffffffffU

/* Each kind's members a slot may name (DUSK_NO_OFF: not the kind's). */
static const u32 dusk_kind_off[__DUSK_PROXY_MAX][__DUSK_FOP_MAX] = {
	[DUSK_PROXY_FOPS] = {
		[0 ... __DUSK_FOP_MAX - 1] = DUSK_NO_OFF,
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
	},
	[DUSK_PROXY_PROC_OPS] = {
		[0 ... __DUSK_FOP_MAX - 1] = DUSK_NO_OFF,
		[DUSK_FOP_OPEN] = offsetof(struct proc_ops, proc_open),
		[DUSK_FOP_RELEASE] = offsetof(struct proc_ops, proc_release),
		[DUSK_FOP_READ] = offsetof(struct proc_ops, proc_read),
		[DUSK_FOP_WRITE] = offsetof(struct proc_ops, proc_write),
		[DUSK_FOP_LLSEEK] = offsetof(struct proc_ops, proc_lseek),
		[DUSK_FOP_UNLOCKED_IOCTL] = offsetof(struct proc_ops,
						     proc_ioctl),
#ifdef CONFIG_COMPAT
		[DUSK_FOP_COMPAT_IOCTL] = offsetof(struct proc_ops,
						   proc_compat_ioctl),
#endif
		[DUSK_FOP_POLL] = offsetof(struct proc_ops, proc_poll),
	},
	[DUSK_PROXY_SEQ_OPS] = {
		[0 ... __DUSK_FOP_MAX - 1] = DUSK_NO_OFF,
		[DUSK_SEQ_START] = offsetof(struct seq_operations, start),
		[DUSK_SEQ_STOP] = offsetof(struct seq_operations, stop),
		[DUSK_SEQ_NEXT] = offsetof(struct seq_operations, next),
		[DUSK_SEQ_SHOW] = offsetof(struct seq_operations, show),
	},
	[DUSK_PROXY_FN] = {
		[0 ... __DUSK_FOP_MAX - 1] = DUSK_NO_OFF,
		[DUSK_SEQ_SHOW] = 0,
	},
};

/* Kernel-function members of a kind that no proxy stands for (a kernel
 * slot may fill them): proc_read_iter (seq_read_iter). */
static bool dusk_kind_kernel_only(u32 kind, u32 off)
{
	return kind == DUSK_PROXY_PROC_OPS &&
	       off == offsetof(struct proc_ops, proc_read_iter);
}

struct dusk_proxy {
	union {
		struct file_operations fops;
		struct proc_ops pops;
		struct seq_operations sops;
	};
	u32 kind;			/* enum dusk_proxy_kind */
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
static long dusk_proxy_call6(unsigned int i, unsigned int slot,
			     u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5,
			     const struct dusk_fop_answer *ans)
{
	struct dusk_proxy *t = &dusk_proxies[i];
	struct dusk_invoke_args a = {
		.args = { a0, a1, a2, a3, a4, a5 },
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
	/*
	 * The caller sleeps until the program answers: never in atomic
	 * context (a function pointer the kernel calls from a timer, a
	 * softirq, under a spin lock or in an RCU read section).
	 */
	if (in_atomic() || irqs_disabled() || rcu_preempt_depth()) {
		pr_warn_once("dusk: a proxied callback called in atomic context (%ps): refused\n",
			     __builtin_return_address(0));
		atomic64_inc(&dusk.inv.dead);
		return ans->dead;
	}
	spin_lock(&dusk_proxy_lock);
	if (!t->dead && t->s && !READ_ONCE(t->s->dead)) {
		s = t->s;
		dusk_session_get(s);
		a.cookie = t->cookie[slot];
		a.handle = t->handle;
		a.off = dusk_kind_off[t->kind][slot];
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

static long dusk_proxy_call(unsigned int i, unsigned int slot,
			    u64 a0, u64 a1, u64 a2, u64 a3,
			    const struct dusk_fop_answer *ans)
{
	return dusk_proxy_call6(i, slot, a0, a1, a2, a3, 0, 0, ans);
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

static void *dusk_seq_start(unsigned int i, struct seq_file *m, loff_t *pos)
{
	/* ERR_PTR(-EIO), ERR_PTR(-EINTR): seq_read() returns the error. */
	static const struct dusk_fop_answer ans = { -EIO, -EINTR };

	return (void *)dusk_proxy_call(i, DUSK_SEQ_START, (unsigned long)m,
				       (unsigned long)pos, 0, 0, &ans);
}

static void dusk_seq_stop(unsigned int i, struct seq_file *m, void *v)
{
	static const struct dusk_fop_answer ans = { 0, 0 };

	dusk_proxy_call(i, DUSK_SEQ_STOP, (unsigned long)m, (unsigned long)v,
			0, 0, &ans);
}

static void *dusk_seq_next(unsigned int i, struct seq_file *m, void *v,
			   loff_t *pos)
{
	/* Dead: NULL, the end of the sequence. */
	static const struct dusk_fop_answer ans = { 0, 0 };

	return (void *)dusk_proxy_call(i, DUSK_SEQ_NEXT, (unsigned long)m,
				       (unsigned long)v, (unsigned long)pos, 0,
				       &ans);
}

static int dusk_seq_show(unsigned int i, struct seq_file *m, void *v)
{
	static const struct dusk_fop_answer ans = { -EIO, -EINTR };

	return dusk_proxy_call(i, DUSK_SEQ_SHOW, (unsigned long)m,
			       (unsigned long)v, 0, 0, &ans);
}

/*
 * The FN kind's one function, of any prototype the kernel gives a module
 * function pointer (single_open's show, a sysfs attribute's show and
 * store...): all six argument registers go to the program, and its value
 * comes back whole (a caller of an int or bool function reads the part
 * it wants). Dead: -EIO.
 */
static long dusk_fn(unsigned int i, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4,
		    u64 a5)
{
	static const struct dusk_fop_answer ans = { -EIO, -EINTR };

	return dusk_proxy_call6(i, DUSK_SEQ_SHOW, a0, a1, a2, a3, a4, a5, &ans);
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
{ return dusk_fop_flush(i, f, id); }					\
static void *dusk_sstart_##i(struct seq_file *m, loff_t *p)		\
{ return dusk_seq_start(i, m, p); }					\
static void dusk_sstop_##i(struct seq_file *m, void *v)			\
{ dusk_seq_stop(i, m, v); }						\
static void *dusk_snext_##i(struct seq_file *m, void *v, loff_t *p)	\
{ return dusk_seq_next(i, m, v, p); }					\
static int dusk_sshow_##i(struct seq_file *m, void *v)			\
{ return dusk_seq_show(i, m, v); }					\
static long dusk_fn_##i(u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5) \
{ return dusk_fn(i, a0, a1, a2, a3, a4, a5); }

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

#define DUSK_POPS_TEMPLATE(i)						\
	[i] = {								\
		.proc_open = dusk_open_##i,				\
		.proc_release = dusk_release_##i,			\
		.proc_read = dusk_read_##i,				\
		.proc_write = dusk_write_##i,				\
		.proc_lseek = dusk_llseek_##i,				\
		.proc_ioctl = dusk_uioctl_##i,				\
		DUSK_POPS_COMPAT(i)					\
		.proc_poll = dusk_poll_##i,				\
	},

#ifdef CONFIG_COMPAT
#define DUSK_POPS_COMPAT(i)	.proc_compat_ioctl = dusk_cioctl_##i,
#else
#define DUSK_POPS_COMPAT(i)
#endif

#define DUSK_SOPS_TEMPLATE(i)						\
	[i] = {								\
		.start = dusk_sstart_##i,				\
		.stop = dusk_sstop_##i,					\
		.next = dusk_snext_##i,					\
		.show = dusk_sshow_##i,					\
	},

#define DUSK_FOR_EACH_TABLE(X)						\
	X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)				\
	X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)			\
	X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)			\
	X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31)			\
	X(32) X(33) X(34) X(35) X(36) X(37) X(38) X(39)			\
	X(40) X(41) X(42) X(43) X(44) X(45) X(46) X(47)			\
	X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55)			\
	X(56) X(57) X(58) X(59) X(60) X(61) X(62) X(63)

DUSK_FOR_EACH_TABLE(DUSK_FOPS_FNS)

static const struct file_operations dusk_fops_proxies[DUSK_PROXY_NR] = {
	DUSK_FOR_EACH_TABLE(DUSK_FOPS_TEMPLATE)
};

static const struct proc_ops dusk_pops_proxies[DUSK_PROXY_NR] = {
	DUSK_FOR_EACH_TABLE(DUSK_POPS_TEMPLATE)
};

static const struct seq_operations dusk_sops_proxies[DUSK_PROXY_NR] = {
	DUSK_FOR_EACH_TABLE(DUSK_SOPS_TEMPLATE)
};

#define DUSK_FN_TEMPLATE(i)	[i] = dusk_fn_##i,

static long (*const dusk_fn_proxies[DUSK_PROXY_NR])(u64, u64, u64, u64, u64,
						      u64) = {
	DUSK_FOR_EACH_TABLE(DUSK_FN_TEMPLATE)
};

static_assert(ARRAY_SIZE(dusk_fops_proxies) == DUSK_PROXY_NR);

/* Table i's proxies of kind, as a structure of that kind. */
static const void *dusk_kind_proto(u32 kind, unsigned int i)
{
	switch (kind) {
	case DUSK_PROXY_FOPS:
		return &dusk_fops_proxies[i];
	case DUSK_PROXY_PROC_OPS:
		return &dusk_pops_proxies[i];
	default:
		return &dusk_sops_proxies[i];
	}
}

static int dusk_fop_slot_of(u32 kind, u32 off)
{
	unsigned int i;

	if (off == DUSK_NO_OFF)		/* the marker of members it lacks */
		return -1;
	for (i = 0; i < __DUSK_FOP_MAX; i++)
		if (dusk_kind_off[kind][i] == off)
			return i;
	return -1;
}

/* The pointer-sized member at off of a table of any kind. */
static void **dusk_table_member(const void *table, u32 off)
{
	return (void **)((char *)table + off);
}

/*
 * PROXY_REGISTER: struct dusk_proxy_register, then nr slots. -EINVAL:
 * kind, flags (none, PROC_ENTRY_PERMANENT included: its entry would be
 * called without procfs' use counts), a slot's offset (not one of the
 * kind's members above, or twice), kind, or a kernel value that is not
 * kernel text; -EBADMSG: the payload is not nr slots long; -ENOSPC: no
 * free table; -ESRCH: the session ended meanwhile. For DUSK_PROXY_FN the
 * reply's table is the proxy function itself (what single_open takes).
 */
int dusk_do_proxy_register(struct dusk_req *r)
{
	const struct dusk_proxy_register *pr = r->payload;
	const struct dusk_proxy_slot *sl = (const void *)(pr + 1);
	struct dusk_proxy_reply *rep = r->reply;
	u32 nr = le32_to_cpu(pr->nr), off, kind, seen = 0;
	u32 pkind = le32_to_cpu(pr->kind);
	const void *proto;
	struct dusk_proxy *t = NULL;
	unsigned int i, n;
	u64 value;
	int slot;

	if ((r->len - sizeof(*pr)) / sizeof(*sl) != nr ||
	    (r->len - sizeof(*pr)) % sizeof(*sl))
		return -EBADMSG;
	if (pkind == DUSK_PROXY_INVALID || pkind >= __DUSK_PROXY_MAX ||
	    pr->flags)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		off = le32_to_cpu(sl[i].off);
		kind = le32_to_cpu(sl[i].kind);
		value = le64_to_cpu(sl[i].value);
		slot = dusk_fop_slot_of(pkind, off);
		if (slot < 0 && kind == DUSK_SLOT_KERNEL &&
		    dusk_kind_kernel_only(pkind, off)) {
			if (seen & BIT(__DUSK_FOP_MAX))
				return -EINVAL;
			seen |= BIT(__DUSK_FOP_MAX);
		} else if (slot < 0 || (seen & BIT(slot))) {
			return -EINVAL;
		} else {
			seen |= BIT(slot);
		}
		if (kind == DUSK_SLOT_KERNEL) {
			if (!dusk_is_text(value))
				return -EINVAL;
		} else if (kind != DUSK_SLOT_USER) {
			return -EINVAL;
		}
	}
	/* One function: its value is the program's. */
	if (pkind == DUSK_PROXY_FN &&
	    (nr != 1 || le32_to_cpu(sl[0].kind) != DUSK_SLOT_USER))
		return -EINVAL;

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
	proto = dusk_kind_proto(pkind, i);
	memset(t, 0, sizeof(*t));
	t->kind = pkind;
	if (pkind == DUSK_PROXY_FOPS || pkind == DUSK_PROXY_PROC_OPS) {
		/* Always: they count the open files. */
		for (slot = DUSK_FOP_OPEN; slot <= DUSK_FOP_RELEASE; slot++) {
			off = dusk_kind_off[pkind][slot];
			*dusk_table_member(&t->fops, off) =
				*dusk_table_member(proto, off);
		}
	}
	if (pkind == DUSK_PROXY_FOPS)
		t->fops.owner = THIS_MODULE;
	for (n = 0; n < nr; n++) {
		off = le32_to_cpu(sl[n].off);
		slot = dusk_fop_slot_of(pkind, off);
		value = le64_to_cpu(sl[n].value);
		if (le32_to_cpu(sl[n].kind) == DUSK_SLOT_USER) {
			t->user[slot] = true;
			t->cookie[slot] = value;
			if (pkind != DUSK_PROXY_FN)
				*dusk_table_member(&t->fops, off) =
					*dusk_table_member(proto, off);
		} else if (slot == DUSK_FOP_OPEN) {
			t->kopen = (void *)(unsigned long)value;
		} else if (slot == DUSK_FOP_RELEASE) {
			t->krelease = (void *)(unsigned long)value;
		} else {
			*dusk_table_member(&t->fops, off) =
				(void *)(unsigned long)value;
		}
	}
	t->s = r->s;
	t->used = true;
	t->table = le64_to_cpu(pr->table);
	t->handle = ++dusk_proxy_next_handle ? : ++dusk_proxy_next_handle;
	if (pkind == DUSK_PROXY_FN)
		rep->table = cpu_to_le64((unsigned long)dusk_fn_proxies[i]);
	else
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
	if (!ret)
		dusk_invs_abandon(r->s, handle);
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

/* Open files that pin the module, as fops->owner does for a .ko: those
 * of file_operations. An open proc file does not keep rmmod waiting
 * (proc_remove() waits only for the operations in progress). */
u64 dusk_proxies_open_files(struct dusk_session *s)
{
	unsigned int i;
	u64 n = 0;

	spin_lock(&dusk_proxy_lock);
	for (i = 0; i < DUSK_PROXY_NR; i++)
		if (dusk_proxies[i].used && !dusk_proxies[i].dead &&
		    dusk_proxies[i].kind == DUSK_PROXY_FOPS &&
		    dusk_proxies[i].s == s)
			n += dusk_proxies[i].opens;
	spin_unlock(&dusk_proxy_lock);
	return n;
}
