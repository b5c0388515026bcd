// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The kernel-side resources of the user-level kernel library (klib.h):
 * kernel symbols it calls, and one session-owned scratch buffer in kernel
 * memory through which printk text and formats reach the kernel.
 *
 * Round trips. A printk forwarded to the target must put its text in
 * kernel memory and call _printk: a WRITE and a CALL. Instead, the text
 * is written into the shadow cache's mirror of the scratch buffer, so
 * that it rides, as a commit, on the CALL itself (dusk_kcall commits
 * first): one round trip. For that the mirror's lines must be valid
 * without a READ: they are seeded (dusk_shadow_seed) with what the kernel
 * holds there, which is known exactly, since only this file writes the
 * buffer and the kernel only reads it (the kernel's snprintf output goes
 * to a separate part that is read back and never seeded). Whenever that
 * knowledge may be wrong (a new buffer, a failed call), the buffer is
 * written whole with dusk_kwrite first.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "kernel.h"
#include "klib.h"
#include "log.h"
#include "session.h"
#include "shadow.h"
#include "util.h"
#include "plock.h"

/* Layout of the scratch buffer (64-byte lines, as the mirror's). */
#define KB_TEXT		0		/* printk text, NUL-terminated */
#define KB_TEXT_LEN	1024
#define KB_FMT		1024		/* a format: "%s", "%pS"... */
#define KB_FMT_LEN	64
#define KB_DATA		1088		/* data a conversion points to */
#define KB_DATA_LEN	512
#define KB_KNOWN	1600		/* [0, KB_KNOWN): written only here */
#define KB_OUT		1600		/* the kernel's snprintf output */
#define KB_OUT_LEN	512
#define KB_SIZE		(KB_OUT + KB_OUT_LEN)

_Static_assert(KB_KNOWN % DUSK_LINE_SIZE == 0, "whole lines");

#define KB_MAX_SYMS	24

struct dusk_klib_kstate {
	struct dusk_session *s;		/* what all this belongs to */
	uint32_t sid;
	uint64_t alloc;			/* the scratch allocation */
	uint64_t base;			/* its first 64-byte aligned byte */
	int known_ok;			/* known[] is what the kernel holds */
	uint8_t known[KB_KNOWN];
	struct {
		char name[40];
		uint64_t addr;
	} syms[KB_MAX_SYMS];
	unsigned int nr_syms;
};

struct dusk_klib_host dusk_klib_host;

void dusk_klib_host_set(const struct dusk_klib_host *host)
{
	dusk_klib_host = *host;
}

static pthread_mutex_t dusk_klib_kmu = PTHREAD_MUTEX_INITIALIZER;
static struct dusk_klib_kstate kst;

struct dusk_session *dusk_klib_session(void)
{
	return dusk_session_current();
}

/* Under dusk_klib_kmu: the state of the current session, NULL if none. */
static struct dusk_session *dusk_klib_kstate_get(void)
{
	struct dusk_session *s = dusk_session_current();

	if (!s)
		return NULL;
	if (kst.s != s || kst.sid != s->id) {
		/* A new session: the old one's allocations went with it. */
		memset(&kst, 0, sizeof(kst));
		kst.s = s;
		kst.sid = s->id;
	}
	return s;
}

void dusk_klib_kernel_reset(void)
{
	dusk_plock_mutex_lock(&dusk_klib_kmu);
	memset(&kst, 0, sizeof(kst));
	pthread_mutex_unlock(&dusk_klib_kmu);
}

static int dusk_klib_ksym_locked(struct dusk_session *s, const char *name,
				 uint64_t *ret)
{
	unsigned int i;
	uint64_t addr;
	int err;

	for (i = 0; i < kst.nr_syms; i++) {
		if (!strcmp(kst.syms[i].name, name)) {
			*ret = kst.syms[i].addr;
			return 0;
		}
	}
	err = dusk_ksym(s, name, &addr, NULL);
	if (err)
		return err;
	if (kst.nr_syms < KB_MAX_SYMS && strlen(name) < sizeof(kst.syms[0].name)) {
		strcpy(kst.syms[kst.nr_syms].name, name);
		kst.syms[kst.nr_syms++].addr = addr;
	}
	*ret = addr;
	return 0;
}

int dusk_klib_ksym(const char *name, uint64_t *ret)
{
	struct dusk_session *s;
	int err;

	dusk_plock_mutex_lock(&dusk_klib_kmu);
	s = dusk_klib_kstate_get();
	err = s ? dusk_klib_ksym_locked(s, name, ret) : -ENOTCONN;
	pthread_mutex_unlock(&dusk_klib_kmu);
	return err;
}

static int dusk_klib_kcall_locked(struct dusk_session *s, const char *name,
				  const uint64_t *args, unsigned int nargs,
				  uint64_t *ret)
{
	uint64_t fn;
	int err;

	err = dusk_klib_ksym_locked(s, name, &fn);
	if (!err)
		err = dusk_kcall_as(s, name, NULL, fn, args, nargs, NULL, ret);
	if (err)
		kst.known_ok = 0;	/* a commit may have half happened */
	return err;
}

int dusk_klib_kcall(const char *name, const uint64_t *args,
		    unsigned int nargs, uint64_t *ret)
{
	struct dusk_session *s;
	int err;

	dusk_plock_mutex_lock(&dusk_klib_kmu);
	s = dusk_klib_kstate_get();
	err = s ? dusk_klib_kcall_locked(s, name, args, nargs, ret) : -ENOTCONN;
	pthread_mutex_unlock(&dusk_klib_kmu);
	return err;
}

/* The scratch buffer exists and known[] is what it holds. */
static int dusk_klib_kbuf_ready(struct dusk_session *s)
{
	int err;

	if (!kst.alloc) {
		err = dusk_kalloc(s, KB_SIZE + DUSK_LINE_SIZE, 1, &kst.alloc);
		if (err)
			return err;
		kst.base = (kst.alloc + DUSK_LINE_SIZE - 1) &
			   ~(uint64_t)(DUSK_LINE_SIZE - 1);
		kst.known_ok = 0;
	}
	if (!kst.known_ok) {
		err = dusk_kwrite(s, kst.base, kst.known, KB_KNOWN);
		if (err)
			return err;
		kst.known_ok = 1;
	}
	return 0;
}

/* Put data at off of the scratch buffer, to be committed by the next
 * kernel call. */
static int dusk_klib_kbuf_stage(struct dusk_session *s, size_t off,
				const void *data, size_t len)
{
	void *m;
	int err;

	err = dusk_klib_kbuf_ready(s);
	if (err)
		return err;
	if (!memcmp(kst.known + off, data, len))
		return 0;
	dusk_shadow_seed(s->shadow, kst.base, kst.known, KB_KNOWN);
	m = dusk_shadow(s, kst.base + off, len, 1);
	if (m) {
		memcpy(m, data, len);
		memcpy(kst.known + off, data, len);
		return 0;
	}
	/* No mirror for it (out of memory?): write it now. */
	err = dusk_kwrite(s, kst.base + off, data, len);
	if (!err)
		memcpy(kst.known + off, data, len);
	else
		kst.known_ok = 0;
	return err;
}

int dusk_klib_kprintk(const char *text, size_t len)
{
	struct dusk_session *s;
	uint64_t args[2], ret;
	char buf[KB_TEXT_LEN];
	int err;

	if (len > KB_TEXT_LEN - 1)
		len = KB_TEXT_LEN - 1;	/* the kernel keeps less anyway */
	memcpy(buf, text, len);
	buf[len] = '\0';
	dusk_plock_mutex_lock(&dusk_klib_kmu);
	s = dusk_klib_kstate_get();
	if (!s) {
		err = -ENOTCONN;
		goto out;
	}
	err = dusk_klib_kbuf_stage(s, KB_FMT, "%s", 3);
	if (!err)
		err = dusk_klib_kbuf_stage(s, KB_TEXT, buf, len + 1);
	args[0] = kst.base + KB_FMT;
	args[1] = kst.base + KB_TEXT;
	if (!err)
		err = dusk_klib_kcall_locked(s, "_printk", args, 2, &ret);
out:
	pthread_mutex_unlock(&dusk_klib_kmu);
	return err;
}

static int dusk_klib_kformat_locked(struct dusk_session *s, const char *spec,
				    uint64_t arg, char *out, size_t cap)
{
	uint64_t args[4], ret;
	size_t n = strlen(spec);
	char res[KB_OUT_LEN];
	int err, len;

	if (n >= KB_FMT_LEN)
		return -EINVAL;
	err = dusk_klib_kbuf_stage(s, KB_FMT, spec, n + 1);
	if (err)
		return err;
	args[0] = kst.base + KB_OUT;
	args[1] = KB_OUT_LEN;
	args[2] = kst.base + KB_FMT;
	args[3] = arg;
	err = dusk_klib_kcall_locked(s, "snprintf", args, 4, &ret);
	if (err)
		return err;
	len = (int)ret;
	if (len < 0)
		return -EINVAL;
	n = DUSK_MIN((size_t)len, sizeof(res) - 1);
	err = dusk_kread(s, kst.base + KB_OUT, res, n + 1);
	if (err)
		return err;
	res[n] = '\0';
	if (cap) {
		n = DUSK_MIN(n, cap - 1);
		memcpy(out, res, n);
		out[n] = '\0';
	}
	return len;
}

int dusk_klib_kformat(const char *spec, uint64_t arg, char *out, size_t cap)
{
	struct dusk_session *s;
	int ret;

	dusk_plock_mutex_lock(&dusk_klib_kmu);
	s = dusk_klib_kstate_get();
	ret = s ? dusk_klib_kformat_locked(s, spec, arg, out, cap) : -ENOTCONN;
	pthread_mutex_unlock(&dusk_klib_kmu);
	return ret;
}

int dusk_klib_kformat_data(const char *spec, const void *data, size_t len,
			   char *out, size_t cap)
{
	struct dusk_session *s;
	int ret;

	if (len > KB_DATA_LEN)
		return -E2BIG;
	dusk_plock_mutex_lock(&dusk_klib_kmu);
	s = dusk_klib_kstate_get();
	if (!s)
		ret = -ENOTCONN;
	else
		ret = dusk_klib_kbuf_stage(s, KB_DATA, data, len);
	if (!ret)
		ret = dusk_klib_kformat_locked(s, spec, kst.base + KB_DATA, out,
					       cap);
	pthread_mutex_unlock(&dusk_klib_kmu);
	return ret;
}

/* 6.1 include/linux/slab.h: void *__kmalloc(size_t size, gfp_t flags). */
uint64_t dusk_klib_kdup(const void *data, size_t len, unsigned int gfp)
{
	struct dusk_session *s;
	uint64_t args[2] = { len ? len : 1, gfp }, k = 0;
	int err;

	dusk_plock_mutex_lock(&dusk_klib_kmu);
	s = dusk_klib_kstate_get();
	err = s ? dusk_klib_kcall_locked(s, "__kmalloc", args, 2, &k) :
		  -ENOTCONN;
	if (!err && !k)
		err = -ENOMEM;
	if (!err && len) {
		err = dusk_kwrite(s, k, data, len);
		if (err) {
			dusk_klib_kcall_locked(s, "kfree", &k, 1, NULL);
			k = 0;
		}
	}
	pthread_mutex_unlock(&dusk_klib_kmu);
	if (err) {
		errno = -err;
		return 0;
	}
	return k;
}

int dusk_klib_kfree(uint64_t kaddr)
{
	return dusk_klib_kcall("kfree", &kaddr, 1, NULL);
}

unsigned int dusk_klib_hz(void)
{
	struct dusk_session *s = dusk_session_current();

	return s && s->hz ? s->hz : 250;
}

unsigned long dusk_klib_jiffies(void)
{
	struct timespec ts;
	unsigned __int128 ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (unsigned __int128)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
	return (unsigned long)(ns * dusk_klib_hz() / 1000000000) + 1;
}
