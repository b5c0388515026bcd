// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The kernel's user-space accessors at user level. The plugin turns what
 * a module writes (copy_to_user(), get_user(), clear_user()...) into calls
 * of these; each becomes UACCESS requests (dusk_uaccess()) that the task
 * of the blocking invocation being served executes with the kernel's own
 * accessors, so a bad user pointer gives what it gives the .ko.
 *
 * The module's side of a copy (copy_to_user's source, copy_from_user's
 * destination) may be the program's own memory or kernel memory (a
 * kmalloc'd buffer): it is read and written through the shadow cache, as
 * every access of the module is (__dusk_check, __dusk_check_w), so what a
 * copy writes into kernel memory goes back with the next commit.
 *
 * Lengths are cut at dusk_uaccess_max() per request; a copy stops at the
 * first chunk the kernel did not copy whole and returns what the kernel
 * would: the bytes not copied. Outside a blocking invocation (module init
 * and exit, a netfilter hook: -ENOTCONN) there is no user space to reach:
 * nothing is copied, the accessor returns what the kernel returns for a
 * fault, and the module's line is warned about once.
 *
 * Kernel 6.1, x86-64 semantics (lib/usercopy.c, lib/strncpy_from_user.c,
 * lib/strnlen_user.c, arch/x86/include/asm/uaccess*.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dusk_proto.h"
#include "klib.h"
#include "log.h"
#include "mod_lines.h"
#include "modrt.h"
#include "session.h"
#include "shadow_fast.h"
#include "util.h"
#include "plock.h"

/* arch/x86/include/asm/page_64.h task_size_max() */
#define DUSK_TASK_SIZE_MAX_L4	((1ULL << 47) - 4096)
#define DUSK_TASK_SIZE_MAX_L5	((1ULL << 56) - 4096)

static int (*ua_send)(unsigned int op, uint64_t uaddr, uint64_t len,
		      const void *data, void *out, int64_t *ret,
		      uint64_t *val) = dusk_uaccess;
static uint32_t (*ua_max)(void) = dusk_uaccess_max;

void dusk_uaccess_backend_set(int (*uaccess)(unsigned int op, uint64_t uaddr,
					     uint64_t len, const void *data,
					     void *out, int64_t *ret,
					     uint64_t *val),
			      uint32_t (*max)(void))
{
	ua_send = uaccess ? uaccess : dusk_uaccess;
	ua_max = max ? max : dusk_uaccess_max;
}

/* ---- the warning, once per call site ---- */

#define UA_SITES	256

static struct {
	pthread_mutex_t lock;
	uintptr_t pc[UA_SITES];
	unsigned int n, warned;
} ua_warn = { .lock = PTHREAD_MUTEX_INITIALIZER };

unsigned int dusk_uaccess_warnings(void)
{
	return ua_warn.warned;
}

static const char *ua_why(int err, char *buf, size_t len)
{
	if (err == -ENOTCONN)
		return "outside a blocking invocation (module init or exit, a netfilter hook...) there is no calling process whose memory to reach";
	return dusk_errno_text(err, buf, len);
}

/* what failed with err, at the module's call site (its return address
 * in the module, and its file:line): said once per call site. Past
 * UA_SITES sites, new ones are not warned about. */
static void ua_warn_once(const char *what, int err)
{
	struct dusk_line l;
	uintptr_t pc = 0;
	char where[512] = "", ebuf[64];
	unsigned int i;
	bool warn = false;

	/* The caller is gone (killed while the callback ran): there is no
	 * memory of its to reach, and nobody to tell. */
	if (err == -ESRCH)
		return;
	if (!dusk_lines_caller(&pc, &l) && l.file)
		snprintf(where, sizeof(where), "%s:%u: ", l.file, l.line);
	dusk_plock_mutex_lock(&ua_warn.lock);
	for (i = 0; i < ua_warn.n && ua_warn.pc[i] != pc; i++)
		;
	if (i == ua_warn.n && ua_warn.n < UA_SITES) {
		ua_warn.pc[ua_warn.n++] = pc;
		ua_warn.warned++;
		warn = true;
	}
	pthread_mutex_unlock(&ua_warn.lock);
	if (warn)
		dusk_warn("%s%s: %s: it fails as on a bad user address",
			  where, what, ua_why(err, ebuf, sizeof(ebuf)));
}

/* ---- one request, and chunks ---- */

/* One request; -EMSGSIZE never comes back (the chunk is halved). *len
 * is what the request covered (maybe less than asked). */
static int ua_one(const char *what, unsigned int op, uint64_t uaddr,
		  uint64_t *len, const void *data, void *out, int64_t *ret,
		  uint64_t *val)
{
	int err;

	for (;;) {
		err = ua_send(op, uaddr, *len, data, out, ret, val);
		/* GET and PUT are of one size */
		if (err != -EMSGSIZE || *len <= 1 || op == DUSK_UA_GET ||
		    op == DUSK_UA_PUT)
			break;
		*len /= 2;
	}
	if (err)
		ua_warn_once(what, err);
	return err;
}

static uint64_t ua_chunk(uint64_t left)
{
	uint32_t max = ua_max();

	return left < max ? left : (max ? max : 1);
}

/* TASK_SIZE_MAX of the target: 5-level paging (qemu -cpu max has LA57)
 * gives user space 56 bits. Read once per session. */
static struct {
	pthread_mutex_t lock;
	const struct dusk_session *s;
	uint32_t sid;
	uint64_t limit;
} ua_task_size = { .lock = PTHREAD_MUTEX_INITIALIZER };

DUSK_EXPORT unsigned long __dusk_impl_task_size_max(void)
{
	struct dusk_session *s = dusk_mod_session();
	uint64_t k, limit;
	uint32_t l5 = 0;

	pthread_mutex_lock(&ua_task_size.lock);
	if (!s) {
		ua_task_size.s = NULL;
		limit = DUSK_TASK_SIZE_MAX_L4;
	} else if (ua_task_size.s == s && ua_task_size.sid == s->id) {
		limit = ua_task_size.limit;
	} else {
		/* arch/x86/kernel/head64.c: set at boot when LA57 is on; a
		 * kernel without CONFIG_X86_5LEVEL has no such symbol */
		if (dusk_mod_ksym("__pgtable_l5_enabled", &k) ||
		    dusk_kread(s, k, &l5, sizeof(l5)))
			l5 = 0;
		limit = l5 ? DUSK_TASK_SIZE_MAX_L5 : DUSK_TASK_SIZE_MAX_L4;
		ua_task_size.s = s;
		ua_task_size.sid = s->id;
		ua_task_size.limit = limit;
	}
	pthread_mutex_unlock(&ua_task_size.lock);
	return limit;
}

/* include/asm-generic/access_ok.h __access_ok() */
static bool ua_access_ok(uint64_t addr, uint64_t size)
{
	uint64_t limit = __dusk_impl_task_size_max();

	return size <= limit && addr <= limit - size;
}

/* Copy n bytes from the module's memory at from to user address to;
 * the bytes not copied. */
static unsigned long ua_to(const char *what, uint64_t to, const void *from,
			   unsigned long n)
{
	uint64_t off = 0, len;
	int64_t ret;

	while (off < n) {
		const void *src;

		len = ua_chunk(n - off);
		src = __dusk_check((const char *)from + off, len);
		if (ua_one(what, DUSK_UA_TO, to + off, &len, src, NULL, &ret,
			   NULL))
			return n - off;
		if (ret < 0 || (uint64_t)ret > len)
			ret = (int64_t)len;	/* not a count: nothing */
		off += len - (uint64_t)ret;
		if (ret)
			break;
	}
	return n - off;
}

/* Copy n bytes from user address from into the module's memory at to;
 * the bytes not copied (those bytes of to are left as they were). */
static unsigned long ua_from(const char *what, void *to, uint64_t from,
			     unsigned long n)
{
	uint64_t off = 0, len, done;
	uint8_t *buf;
	int64_t ret;

	if (!n)
		return 0;
	buf = malloc(ua_chunk(n));
	if (!buf) {
		ua_warn_once(what, -ENOMEM);
		return n;
	}
	while (off < n) {
		len = ua_chunk(n - off);
		if (ua_one(what, DUSK_UA_FROM, from + off, &len, NULL, buf,
			   &ret, NULL))
			break;
		if (ret < 0 || (uint64_t)ret > len)
			ret = (int64_t)len;
		done = len - (uint64_t)ret;
		if (done)
			memcpy(__dusk_check_w((char *)to + off, done), buf, done);
		off += done;
		if (ret)
			break;
	}
	free(buf);
	return n - off;
}

static void ua_zero(void *to, unsigned long n)
{
	if (n)
		memset(__dusk_check_w(to, n), 0, n);
}

/* ---- copy_to_user, copy_from_user and their relatives ---- */

/* lib/usercopy.c */
DUSK_EXPORT unsigned long __dusk_impl__copy_to_user(void *to, const void *from,
						    unsigned long n)
{
	if (!ua_access_ok((uintptr_t)to, n))
		return n;
	return ua_to("copy_to_user", (uintptr_t)to, from, n);
}

DUSK_EXPORT unsigned long __dusk_impl__copy_from_user(void *to,
						      const void *from,
						      unsigned long n)
{
	unsigned long res = n;

	if (ua_access_ok((uintptr_t)from, n))
		res = ua_from("copy_from_user", to, (uintptr_t)from, n);
	/* the kernel's: a short copy leaves no stale bytes behind */
	ua_zero((char *)to + (n - res), res);
	return res;
}

/* Inline in the kernel's headers (uaccess_64.h): __copy_to_user(),
 * __copy_from_user() and their _inatomic forms reach these through the
 * plugin. No access_ok() and no zeroing (include/linux/uaccess.h). */
DUSK_EXPORT unsigned long __dusk_impl_raw_copy_to_user(void *to,
						       const void *from,
						       unsigned long n)
{
	return ua_to("__copy_to_user", (uintptr_t)to, from, n);
}

DUSK_EXPORT unsigned long __dusk_impl_raw_copy_from_user(void *to,
							 const void *from,
							 unsigned long n)
{
	return ua_from("__copy_from_user", to, (uintptr_t)from, n);
}

/* arch/x86/lib/copy_user_64.S: zerorest is never set by 6.1's callers */
DUSK_EXPORT long __dusk_impl___copy_user_nocache(void *dst, const void *src,
						 unsigned int size,
						 int zerorest)
{
	unsigned long res = ua_from("__copy_from_user_inatomic_nocache", dst,
				    (uintptr_t)src, size);

	if (zerorest)
		ua_zero((char *)dst + (size - res), res);
	return (long)res;
}

DUSK_EXPORT long __dusk_impl___copy_user_flushcache(void *dst, const void *src,
						    unsigned int size)
{
	return (long)ua_from("__copy_from_user_flushcache", dst,
			     (uintptr_t)src, size);
}

/* lib/usercopy.c: 1 when the user range is all zero, 0 when not,
 * -EFAULT (copy_struct_from_user() reaches it). */
DUSK_EXPORT int __dusk_impl_check_zeroed_user(const void *from, size_t size)
{
	uint8_t buf[256];
	size_t off = 0, len, i;

	if (!size)
		return 1;
	if (!ua_access_ok((uintptr_t)from, size))
		return -EFAULT;
	while (off < size) {
		len = DUSK_MIN(size - off, sizeof(buf));
		if (ua_from("check_zeroed_user", buf, (uintptr_t)from + off,
			    len))
			return -EFAULT;
		for (i = 0; i < len; i++)
			if (buf[i])
				return 0;
		off += len;
	}
	return 1;
}

/*
 * CONFIG_HARDENED_USERCOPY (mm/usercopy.c): the kernel checks that a copy
 * stays inside the kernel object it reads or writes. Never a kernel call
 * here: the pointer may be the program's own memory, and a failed check
 * in the kernel is a BUG() there. What the kernel would refuse of the
 * program's memory is refused here, as its report says it: a copy out of
 * code, or across the end of the stack. Kernel objects are left to the
 * shadow cache's own checks.
 */
DUSK_EXPORT void __dusk_impl___check_object_size(const void *ptr,
						 unsigned long n, bool to_user)
{
	uintptr_t p = (uintptr_t)ptr, lo, hi;
	const char *type = NULL;

	if (!n || p >= DUSK_KERNEL_MIN)
		return;
	if (dusk_mem_class(p) == DUSK_MEM_TEXT ||
	    dusk_mem_class(p + n - 1) == DUSK_MEM_TEXT)
		type = "kernel text";
	else if (!dusk_stack_bounds(&lo, &hi) && p >= lo && p < hi &&
		 (n > hi - p))
		type = "process stack";
	if (type)
		dusk_mod_fatal(1, "usercopy: Kernel memory %s attempt detected %s %s (offset %lu, size %lu)!",
			       to_user ? "exposure" : "overwrite",
			       to_user ? "from" : "to", type, 0UL, n);
}

/* include/linux/thread_info.h check_copy_size(): a copy larger than its
 * object, known at compile time only in part. */
DUSK_EXPORT void __dusk_impl___copy_overflow(int size, unsigned long count)
{
	char where[512];

	dusk_lines_caller_text(where, sizeof(where));
	dusk_warn("%s%sWARNING: Buffer overflow detected (%d < %lu)!", where,
		  *where ? ": " : "", size, count);
}

/* ---- clear_user, strncpy_from_user, strnlen_user ---- */

static unsigned long ua_clear(const char *what, uint64_t to, unsigned long n)
{
	uint64_t off = 0, len;
	int64_t ret;

	while (off < n) {
		/* no bytes travel: one request unless it is refused */
		len = n - off;
		if (ua_one(what, DUSK_UA_CLEAR, to + off, &len, NULL, NULL,
			   &ret, NULL))
			break;
		if (ret < 0 || (uint64_t)ret > len)
			ret = (int64_t)len;
		off += len - (uint64_t)ret;
		if (ret)
			break;
	}
	return n - off;
}

/* arch/x86/include/asm/uaccess_64.h (inline there: rep stos between stac
 * and clac) */
DUSK_EXPORT unsigned long __dusk_impl_clear_user(void *to, unsigned long n)
{
	if (!ua_access_ok((uintptr_t)to, n))
		return n;
	return ua_clear("clear_user", (uintptr_t)to, n);
}

DUSK_EXPORT unsigned long __dusk_impl___clear_user(void *to, unsigned long n)
{
	return ua_clear("__clear_user", (uintptr_t)to, n);
}

/* lib/strncpy_from_user.c: the length of the string (its NUL copied
 * too), count when it is that long or longer (no NUL), -EFAULT. Each
 * chunk goes to the kernel as the destination holds it and comes back
 * as the kernel's strncpy_from_user() left it, fault or not. */
DUSK_EXPORT long __dusk_impl_strncpy_from_user(char *dst, const char *src,
					       long count)
{
	uint64_t off = 0, len, got;
	uint8_t *buf;
	int64_t ret = 0;

	if (count <= 0)
		return 0;
	buf = malloc(ua_chunk((uint64_t)count));
	if (!buf) {
		ua_warn_once("strncpy_from_user", -ENOMEM);
		return -EFAULT;
	}
	while (off < (uint64_t)count) {
		len = ua_chunk((uint64_t)count - off);
		memcpy(buf, __dusk_check(dst + off, len), len);
		if (ua_one("strncpy_from_user", DUSK_UA_STRNCPY,
			   (uintptr_t)src + off, &len, buf, buf, &ret, NULL)) {
			ret = -EFAULT;
			break;
		}
		memcpy(__dusk_check_w(dst + off, len), buf, len);
		if (ret < 0 || (uint64_t)ret > len) {
			ret = -EFAULT;
			break;
		}
		got = (uint64_t)ret;
		off += got;
		if (got < len)
			break;
	}
	free(buf);
	return ret < 0 ? ret : (long)off;
}

/* lib/strnlen_user.c: the size of the string with its NUL, a number
 * larger than n when it is longer, 0 on a fault. */
DUSK_EXPORT long __dusk_impl_strnlen_user(const char *str, long n)
{
	uint64_t off = 0, len;
	int64_t ret;

	if (n <= 0)
		return 0;
	while (off < (uint64_t)n) {
		len = (uint64_t)n - off;
		if (ua_one("strnlen_user", DUSK_UA_STRNLEN, (uintptr_t)str + off,
			   &len, NULL, NULL, &ret, NULL))
			return 0;
		if (ret <= 0)
			return 0;
		if ((uint64_t)ret <= len)
			return (long)(off + (uint64_t)ret);
		off += len;	/* no NUL in this part */
	}
	return n + 1;
}

/* ---- fs/libfs.c: what char devices and debugfs files read and write with ---- */

/* *ppos may be kernel memory (the file's f_pos, the proxy's loff_t). */
static int64_t ua_pos_get(const int64_t *ppos)
{
	int64_t pos;

	memcpy(&pos, __dusk_check(ppos, sizeof(pos)), sizeof(pos));
	return pos;
}

static void ua_pos_set(int64_t *ppos, int64_t pos)
{
	memcpy(__dusk_check_w(ppos, sizeof(pos)), &pos, sizeof(pos));
}

DUSK_EXPORT long __dusk_impl_simple_read_from_buffer(void *to, size_t count,
						     int64_t *ppos,
						     const void *from,
						     size_t available)
{
	int64_t pos = ua_pos_get(ppos);
	size_t ret;

	if (pos < 0)
		return -EINVAL;
	if ((uint64_t)pos >= available || !count)
		return 0;
	if (count > available - (uint64_t)pos)
		count = available - (uint64_t)pos;
	ret = __dusk_impl__copy_to_user(to, (const char *)from + pos, count);
	if (ret == count)
		return -EFAULT;
	count -= ret;
	ua_pos_set(ppos, pos + (int64_t)count);
	return (long)count;
}

DUSK_EXPORT long __dusk_impl_simple_write_to_buffer(void *to, size_t available,
						    int64_t *ppos,
						    const void *from,
						    size_t count)
{
	int64_t pos = ua_pos_get(ppos);
	size_t res;

	if (pos < 0)
		return -EINVAL;
	if ((uint64_t)pos >= available || !count)
		return 0;
	if (count > available - (uint64_t)pos)
		count = available - (uint64_t)pos;
	res = __dusk_impl__copy_from_user((char *)to + pos, from, count);
	if (res == count)
		return -EFAULT;
	count -= res;
	ua_pos_set(ppos, pos + (int64_t)count);
	return (long)count;
}

/* ---- memdup_user and friends (mm/util.c) ---- */

/* include/linux/gfp_types.h, 6.1 */
#define UA_GFP_KERNEL	0xcc0u
#define UA_GFP_USER	(UA_GFP_KERNEL | 0x100000u)	/* | __GFP_HARDWALL */
#define UA_GFP_NOWARN	0x2000u
#define UA_ERR_PTR(e)	((void *)(intptr_t)(e))

/*
 * len bytes from user address src, plus nul zero bytes, in kernel memory
 * from kmalloc (what the module kfree()s), or an ERR_PTR. The user bytes
 * are fetched first: when both the copy and the allocation would fail,
 * -EFAULT wins here where the kernel's -ENOMEM would.
 */
static void *ua_memdup(const char *what, const void *src, size_t len,
		       size_t nul, unsigned int gfp)
{
	uint8_t *buf = calloc(1, len + nul ? len + nul : 1);
	uint64_t k;

	if (!buf)
		return UA_ERR_PTR(-ENOMEM);
	if (len && (!ua_access_ok((uintptr_t)src, len) ||
		    ua_from(what, buf, (uintptr_t)src, len))) {
		free(buf);
		return UA_ERR_PTR(-EFAULT);
	}
	k = dusk_klib_kdup(buf, len + nul, gfp);
	free(buf);
	return k ? (void *)(uintptr_t)k : UA_ERR_PTR(-ENOMEM);
}

DUSK_EXPORT void *__dusk_impl_memdup_user(const void *src, size_t len)
{
	return ua_memdup("memdup_user", src, len, 0,
			 UA_GFP_USER | UA_GFP_NOWARN);
}

/* kvmalloc()'s memory, kvfree()d: kmalloc's here (kvfree() takes it). */
DUSK_EXPORT void *__dusk_impl_vmemdup_user(const void *src, size_t len)
{
	return ua_memdup("vmemdup_user", src, len, 0, UA_GFP_USER);
}

DUSK_EXPORT void *__dusk_impl_memdup_user_nul(const void *src, size_t len)
{
	return ua_memdup("memdup_user_nul", src, len, 1, UA_GFP_KERNEL);
}

DUSK_EXPORT char *__dusk_impl_strndup_user(const char *s, long n)
{
	long length = __dusk_impl_strnlen_user(s, n);

	if (!length)
		return UA_ERR_PTR(-EFAULT);
	if (length > n)
		return UA_ERR_PTR(-EINVAL);
	/* its last byte is the NUL strnlen_user counted, or made one */
	return ua_memdup("strndup_user", s, (size_t)length - 1, 1,
			 UA_GFP_USER | UA_GFP_NOWARN);
}

/* ---- get_user, put_user ---- */

/*
 * get_user(x, p) and __get_user(x, p), whose asm calls __get_user_N (a
 * register convention of its own), become ret = __dusk_get_user(p,
 * sizeof(*p), &v); x = v. 0 or -EFAULT; the value is 0 on a fault, as
 * the kernel's __get_user_N leaves it.
 */
DUSK_EXPORT int __dusk_get_user(const void *ptr, unsigned long size,
				uint64_t *val)
{
	uint64_t len = size, v = 0;
	int64_t ret;

	*val = 0;
	if (ua_one("get_user", DUSK_UA_GET, (uintptr_t)ptr, &len, NULL, NULL,
		   &ret, &v))
		return -EFAULT;
	if (ret)
		return ret < 0 ? (int)ret : -EFAULT;
	if (size < 8)
		v &= (1ULL << (8 * size)) - 1;
	*val = v;
	return 0;
}

/* put_user(x, p) and __put_user(x, p): ret = __dusk_put_user(p, x,
 * sizeof(*p)). 0 or -EFAULT. */
DUSK_EXPORT int __dusk_put_user(void *ptr, uint64_t val, unsigned long size)
{
	uint64_t len = size;
	int64_t ret;

	if (ua_one("put_user", DUSK_UA_PUT, (uintptr_t)ptr, &len, &val, NULL,
		   &ret, NULL))
		return -EFAULT;
	if (ret)
		return ret < 0 ? (int)ret : -EFAULT;
	return 0;
}
