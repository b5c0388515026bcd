// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The user-space accessors of the module runtime (mod_uaccess.c) against
 * a fake caller: a process whose user memory is one buffer at UBASE, the
 * requests answered as the kernel's accessors answer them (a short copy
 * at the end of the mapping, -EFAULT, zeroed tails), lengths limited to a
 * small maximum so that every copy is cut in chunks. The module's side of
 * a copy is the program's memory, or kernel memory of the fake kernel
 * (through the shadow cache, back with the commit).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "check.h"
#include "dusk.h"
#include "dusk_proto.h"
#include "fake_kernel.h"
#include "modrt.h"
#include "util.h"

unsigned long __dusk_impl__copy_to_user(void *to, const void *from,
					unsigned long n);
unsigned long __dusk_impl__copy_from_user(void *to, const void *from,
					  unsigned long n);
unsigned long __dusk_impl_raw_copy_from_user(void *to, const void *from,
					     unsigned long n);
unsigned long __dusk_impl_raw_copy_to_user(void *to, const void *from,
					   unsigned long n);
unsigned long __dusk_impl_clear_user(void *to, unsigned long n);
long __dusk_impl_strncpy_from_user(char *dst, const char *src, long count);
long __dusk_impl_strnlen_user(const char *str, long n);
int __dusk_impl_check_zeroed_user(const void *from, size_t size);
void *__dusk_impl_memdup_user(const void *src, size_t len);
void *__dusk_impl_memdup_user_nul(const void *src, size_t len);
char *__dusk_impl_strndup_user(const char *s, long n);
unsigned long __dusk_impl_task_size_max(void);
long __dusk_impl_simple_read_from_buffer(void *to, size_t count,
					 int64_t *ppos, const void *from,
					 size_t available);
long __dusk_impl_simple_write_to_buffer(void *to, size_t available,
					int64_t *ppos, const void *from,
					size_t count);
int __dusk_get_user(const void *ptr, unsigned long size, uint64_t *val);
int __dusk_put_user(void *ptr, uint64_t val, unsigned long size);

#define UBASE	0x10000000ULL	/* the fake caller's mapping */
#define USIZE	4096
#define UP(off)	((void *)(uintptr_t)(UBASE + (off)))
#define MAXLEN	100		/* dusk_uaccess_max() */

static uint8_t umem[USIZE];
static struct {
	unsigned int requests[__DUSK_UA_MAX];
	uint64_t largest;
	int refuse;		/* answer every request with this */
	uint64_t msgsize;	/* -EMSGSIZE above this length (0: none) */
} ua;

/* How many bytes from uaddr are in the mapping, at most len. */
static uint64_t mapped(uint64_t uaddr, uint64_t len)
{
	if (uaddr < UBASE || uaddr >= UBASE + USIZE)
		return 0;
	return DUSK_MIN(len, UBASE + USIZE - uaddr);
}

static int fake_uaccess(unsigned int op, uint64_t uaddr, uint64_t len,
			const void *data, void *out, int64_t *ret,
			uint64_t *val)
{
	uint64_t ok = mapped(uaddr, len), v = 0, i;
	uint8_t *u = umem + (uaddr - UBASE);

	if (ua.refuse)
		return ua.refuse;
	if (ua.msgsize && len > ua.msgsize)
		return -EMSGSIZE;
	if (op >= __DUSK_UA_MAX || (op != DUSK_UA_STRNLEN &&
				    op != DUSK_UA_CLEAR && len > MAXLEN))
		return -EINVAL;
	ua.requests[op]++;
	ua.largest = DUSK_MAX(ua.largest, len);
	switch (op) {
	case DUSK_UA_TO:
		memcpy(u, data, ok);
		*ret = (int64_t)(len - ok);
		break;
	case DUSK_UA_FROM:
		memset(out, 0, len);
		memcpy(out, u, ok);
		*ret = (int64_t)(len - ok);
		break;
	case DUSK_UA_CLEAR:
		memset(u, 0, ok);
		*ret = (int64_t)(len - ok);
		break;
	case DUSK_UA_STRNCPY:
		/* the destination as it was, then what the kernel copies */
		memcpy(out, data, len);
		for (i = 0; i < ok && u[i]; i++)
			;
		if (i == ok && ok < len) {
			memcpy(out, u, ok);	/* copied before the fault */
			*ret = -EFAULT;
			break;
		}
		memcpy(out, u, i < len ? i + 1 : len);
		*ret = (int64_t)i;
		break;
	case DUSK_UA_STRNLEN:
		for (i = 0; i < ok && u[i]; i++)
			;
		if (i == ok && ok < len)
			*ret = 0;
		else
			*ret = (int64_t)(i < len ? i + 1 : len + 1);
		break;
	case DUSK_UA_GET:
		if (ok < len) {
			*ret = -EFAULT;
			*val = 0;
			break;
		}
		memcpy(&v, u, len);
		*val = v;
		*ret = 0;
		break;
	case DUSK_UA_PUT:
		if (ok < len) {
			*ret = -EFAULT;
			break;
		}
		memcpy(u, data, len);
		*ret = 0;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static uint32_t fake_max(void)
{
	return MAXLEN;
}

static void reset(void)
{
	memset(&ua, 0, sizeof(ua));
	for (unsigned int i = 0; i < USIZE; i++)
		umem[i] = (uint8_t)(i * 7 + 1);
}

static unsigned int requests(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < __DUSK_UA_MAX; i++)
		n += ua.requests[i];
	return n;
}

static void test_copy_to_user(void)
{
	uint8_t src[1000];

	reset();
	for (unsigned int i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(255 - i);
	CHECK_EQ(__dusk_impl__copy_to_user(UP(10), src, sizeof(src)), 0);
	CHECK(!memcmp(umem + 10, src, sizeof(src)));
	CHECK_EQ(ua.requests[DUSK_UA_TO], 10);	/* cut at the maximum */
	CHECK_EQ(ua.largest, MAXLEN);

	/* across the end of the mapping: the first short chunk ends it */
	reset();
	CHECK_EQ(__dusk_impl__copy_to_user(UP(USIZE - 150), src, 250), 100);
	CHECK(!memcmp(umem + USIZE - 150, src, 150));
	CHECK_EQ(ua.requests[DUSK_UA_TO], 2);

	/* nothing mapped: nothing copied */
	reset();
	CHECK_EQ(__dusk_impl__copy_to_user(UP(USIZE), src, 30), 30);
	CHECK_EQ(__dusk_impl_raw_copy_to_user(UP(USIZE), src, 30), 30);
	CHECK_EQ(__dusk_impl__copy_to_user(UP(0), src, 0), 0);

	/* beyond TASK_SIZE_MAX: access_ok() says no, nothing is asked */
	reset();
	CHECK_EQ(__dusk_impl__copy_to_user((void *)((1ULL << 47) - 8), src, 16),
		 16);
	CHECK_EQ(requests(), 0);

	/* a length dusk.ko refuses is halved until it fits */
	reset();
	ua.msgsize = 40;
	CHECK_EQ(__dusk_impl__copy_to_user(UP(0), src, 250), 0);
	CHECK(!memcmp(umem, src, 250));
	CHECK(ua.largest <= 40);
}

static void test_copy_from_user(void)
{
	uint8_t dst[300];

	reset();
	memset(dst, 0xaa, sizeof(dst));
	CHECK_EQ(__dusk_impl__copy_from_user(dst, UP(5), 250), 0);
	CHECK(!memcmp(dst, umem + 5, 250));
	CHECK_EQ(dst[250], 0xaa);
	CHECK_EQ(ua.requests[DUSK_UA_FROM], 3);

	/* short: the rest of the destination is zeroed, as the kernel does */
	reset();
	memset(dst, 0xaa, sizeof(dst));
	CHECK_EQ(__dusk_impl__copy_from_user(dst, UP(USIZE - 130), 250), 120);
	CHECK(!memcmp(dst, umem + USIZE - 130, 130));
	for (unsigned int i = 130; i < 250; i++)
		CHECK_EQ(dst[i], 0);
	CHECK_EQ(dst[250], 0xaa);
	CHECK_EQ(ua.requests[DUSK_UA_FROM], 2);

	/* raw_copy_from_user (__copy_from_user): the rest left alone */
	reset();
	memset(dst, 0xaa, sizeof(dst));
	CHECK_EQ(__dusk_impl_raw_copy_from_user(dst, UP(USIZE - 130), 250), 120);
	CHECK(!memcmp(dst, umem + USIZE - 130, 130));
	CHECK_EQ(dst[130], 0xaa);
	CHECK_EQ(dst[249], 0xaa);

	/* access_ok() fails: all of it zeroed */
	memset(dst, 0xaa, sizeof(dst));
	CHECK_EQ(__dusk_impl__copy_from_user(dst, (void *)(1ULL << 48), 20), 20);
	CHECK_EQ(dst[0], 0);
	CHECK_EQ(dst[19], 0);
	CHECK_EQ(dst[20], 0xaa);

	/* check_zeroed_user(), copy_struct_from_user()'s */
	reset();
	memset(umem + 100, 0, 600);
	CHECK_EQ(__dusk_impl_check_zeroed_user(UP(100), 600), 1);
	CHECK_EQ(__dusk_impl_check_zeroed_user(UP(100), 601), 0);
	CHECK_EQ(__dusk_impl_check_zeroed_user(UP(USIZE - 10), 20), -EFAULT);
	CHECK_EQ(__dusk_impl_check_zeroed_user(UP(0), 0), 1);
}

static void test_get_put(void)
{
	static const unsigned long sizes[] = { 1, 2, 4, 8 };
	uint64_t v;

	reset();
	for (unsigned int i = 0; i < 4; i++) {
		unsigned long sz = sizes[i];
		uint64_t want = 0x8877665544332211ULL &
				(sz == 8 ? ~0ULL : (1ULL << (8 * sz)) - 1);

		CHECK_EQ(__dusk_put_user(UP(64), 0x8877665544332211ULL, sz), 0);
		v = 0xdead;
		CHECK_EQ(__dusk_get_user(UP(64), sz, &v), 0);
		CHECK_EQ(v, want);
	}
	/* a fault: -EFAULT, and the value 0 as __get_user_N leaves it */
	v = 0xdead;
	CHECK_EQ(__dusk_get_user(UP(USIZE - 2), 4, &v), -EFAULT);
	CHECK_EQ(v, 0);
	CHECK_EQ(__dusk_put_user(UP(USIZE), 1, 1), -EFAULT);
	CHECK_EQ(ua.requests[DUSK_UA_GET], 5);
	CHECK_EQ(ua.requests[DUSK_UA_PUT], 5);
}

static void test_strings(void)
{
	char dst[400];

	reset();
	memset(umem, 'x', 250);
	umem[250] = '\0';
	memset(dst, 0xaa, sizeof(dst));
	CHECK_EQ(__dusk_impl_strncpy_from_user(dst, UP(0), 300), 250);
	CHECK_EQ(strlen(dst), 250);
	CHECK_EQ((uint8_t)dst[251], 0xaa);
	CHECK(ua.requests[DUSK_UA_STRNCPY] >= 3);

	/* as long as count: count bytes, no NUL */
	memset(dst, 0xaa, sizeof(dst));
	CHECK_EQ(__dusk_impl_strncpy_from_user(dst, UP(0), 200), 200);
	CHECK_EQ(dst[199], 'x');
	CHECK_EQ((uint8_t)dst[200], 0xaa);
	CHECK_EQ(__dusk_impl_strncpy_from_user(dst, UP(0), 0), 0);
	/* no NUL before the end of the mapping */
	memset(umem + USIZE - 20, 'y', 20);
	memset(dst, 0xaa, sizeof(dst));
	CHECK_EQ(__dusk_impl_strncpy_from_user(dst, UP(USIZE - 20), 100),
		 -EFAULT);
	/* what was copied before the fault stays, the rest is untouched */
	CHECK_EQ(dst[19], 'y');
	CHECK_EQ((uint8_t)dst[20], 0xaa);

	CHECK_EQ(__dusk_impl_strnlen_user(UP(0), 300), 251);
	CHECK_EQ(__dusk_impl_strnlen_user(UP(0), 250), 251);	/* n + 1 */
	CHECK_EQ(__dusk_impl_strnlen_user(UP(0), 10), 11);
	CHECK_EQ(__dusk_impl_strnlen_user(UP(USIZE - 20), 100), 0);

	reset();
	CHECK_EQ(__dusk_impl_clear_user(UP(1000), 300), 0);
	for (unsigned int i = 1000; i < 1300; i++)
		CHECK_EQ(umem[i], 0);
	CHECK_EQ(umem[1300], (uint8_t)(1300 * 7 + 1));
	CHECK_EQ(__dusk_impl_clear_user(UP(USIZE - 10), 30), 20);
	CHECK_EQ(__dusk_impl_clear_user((void *)(1ULL << 48), 30), 30);
}

/* fs/libfs.c's helpers, on the module's buffer and the file's pos. */
static void test_simple_buffer(void)
{
	static const char text[] = "the device's contents\n";
	char store[32];
	int64_t pos = 4;

	reset();
	CHECK_EQ(__dusk_impl_simple_read_from_buffer(UP(0), 100, &pos, text,
						     sizeof(text) - 1), 18);
	CHECK(!memcmp(umem, text + 4, 18));
	CHECK_EQ(pos, 22);
	CHECK_EQ(__dusk_impl_simple_read_from_buffer(UP(0), 100, &pos, text,
						     sizeof(text) - 1), 0);
	pos = -1;
	CHECK_EQ(__dusk_impl_simple_read_from_buffer(UP(0), 100, &pos, text,
						     sizeof(text) - 1), -EINVAL);
	pos = 0;
	CHECK_EQ(__dusk_impl_simple_read_from_buffer(UP(USIZE), 5, &pos, text,
						     sizeof(text) - 1), -EFAULT);
	CHECK_EQ(pos, 0);
	/* short: what was copied */
	CHECK_EQ(__dusk_impl_simple_read_from_buffer(UP(USIZE - 3), 10, &pos,
						     text, sizeof(text) - 1), 3);
	CHECK_EQ(pos, 3);

	memset(store, 0, sizeof(store));
	memcpy(umem + 500, "written", 7);
	pos = 2;
	CHECK_EQ(__dusk_impl_simple_write_to_buffer(store, sizeof(store), &pos,
						    UP(500), 7), 7);
	CHECK(!memcmp(store + 2, "written", 7));
	CHECK_EQ(pos, 9);
	pos = 30;
	CHECK_EQ(__dusk_impl_simple_write_to_buffer(store, sizeof(store), &pos,
						    UP(500), 7), 2);
	CHECK_EQ(pos, 32);
	CHECK_EQ(__dusk_impl_simple_write_to_buffer(store, sizeof(store), &pos,
						    UP(500), 7), 0);
}

/* Outside a blocking invocation: nothing reaches the caller, the
 * accessors fail as on a bad address, and the line is warned about
 * (once: this program has no module lines, so one site). */
static void test_not_connected(void)
{
	uint8_t buf[50];
	uint64_t v = 1;
	unsigned int warned = dusk_uaccess_warnings();

	reset();
	ua.refuse = -ENOTCONN;
	memset(buf, 0xaa, sizeof(buf));
	CHECK_EQ(__dusk_impl__copy_to_user(UP(0), buf, 50), 50);
	CHECK_EQ(__dusk_impl__copy_from_user(buf, UP(0), 50), 50);
	CHECK_EQ(buf[0], 0);
	CHECK_EQ(buf[49], 0);
	CHECK_EQ(__dusk_get_user(UP(0), 8, &v), -EFAULT);
	CHECK_EQ(v, 0);
	CHECK_EQ(__dusk_put_user(UP(0), 1, 8), -EFAULT);
	CHECK_EQ(__dusk_impl_clear_user(UP(0), 10), 10);
	CHECK_EQ(__dusk_impl_strncpy_from_user((char *)buf, UP(0), 10), -EFAULT);
	CHECK_EQ(__dusk_impl_strnlen_user(UP(0), 10), 0);
	CHECK_EQ(dusk_uaccess_warnings(), warned + 1);
	CHECK_EQ(umem[0], 1);		/* untouched */
}

/* ---- the module's side in kernel memory ---- */

static struct fake_kernel fk;
static struct dusk_session *sess;

#define K(off)	(FK_AREA_DIRECT + (off))
#define KP(off)	((void *)(uintptr_t)K(off))
#define L5_FLAG	K(0x3f00)

#define KF_KMALLOC	0xffffffff81000100ULL
#define KF_KFREE	0xffffffff81000200ULL
#define KHEAP		K(0x2000)	/* what __kmalloc gives */

static int fake_sym(struct fake_kernel *k, const char *name, uint64_t *addr)
{
	(void)k;
	if (!strcmp(name, "__pgtable_l5_enabled"))
		*addr = L5_FLAG;
	else if (!strcmp(name, "__kmalloc"))
		*addr = KF_KMALLOC;
	else if (!strcmp(name, "kfree"))
		*addr = KF_KFREE;
	else
		return -ENOENT;
	return 0;
}

static struct {
	unsigned int kmallocs, kfrees;
	uint64_t size, gfp;
} heap;

static uint64_t fake_call(struct fake_kernel *k, uint64_t fn,
			  const uint64_t *args, unsigned int nargs)
{
	(void)k;
	(void)nargs;
	if (fn == KF_KMALLOC) {
		heap.kmallocs++;
		heap.size = args[0];
		heap.gfp = args[1];
		return args[0] <= 0x800 ? KHEAP : 0;
	}
	if (fn == KF_KFREE)
		heap.kfrees++;
	return 0;
}

/* memdup_user() and its kin: kmalloc'd kernel memory, or an ERR_PTR. */
static void test_memdup(void)
{
	uint8_t *kheap = fk_mem(&fk, KHEAP, 0x1000);
	void *p;

	reset();
	memset(&heap, 0, sizeof(heap));
	p = __dusk_impl_memdup_user(UP(100), 300);
	CHECK(p == (void *)(uintptr_t)KHEAP);
	CHECK(!memcmp(kheap, umem + 100, 300));
	CHECK_EQ(heap.size, 300);
	CHECK_EQ(heap.gfp, 0x100cc0 | 0x2000);	/* GFP_USER | __GFP_NOWARN */
	CHECK_EQ(ua.requests[DUSK_UA_FROM], 3);

	/* a fault: -EFAULT, nothing allocated */
	memset(&heap, 0, sizeof(heap));
	p = __dusk_impl_memdup_user(UP(USIZE - 10), 20);
	CHECK(p == (void *)(intptr_t)-EFAULT);
	CHECK_EQ(heap.kmallocs, 0);
	/* the kernel says no: -ENOMEM */
	p = __dusk_impl_memdup_user(UP(0), 0x900);
	CHECK(p == (void *)(intptr_t)-ENOMEM);
	CHECK_EQ(heap.kmallocs, 1);
	/* both: the copy fails first here */
	p = __dusk_impl_memdup_user(UP(USIZE - 10), 0x900);
	CHECK(p == (void *)(intptr_t)-EFAULT);
	memset(&heap, 0, sizeof(heap));

	/* memdup_user_nul: a NUL after the bytes */
	memset(kheap, 0xaa, 64);
	p = __dusk_impl_memdup_user_nul(UP(8), 16);
	CHECK(p == (void *)(uintptr_t)KHEAP);
	CHECK(!memcmp(kheap, umem + 8, 16));
	CHECK_EQ(kheap[16], 0);
	CHECK_EQ(heap.size, 17);

	/* strndup_user: the string with its NUL; -EINVAL when longer */
	memcpy(umem + 200, "a name", 7);
	memset(kheap, 0xaa, 64);
	p = __dusk_impl_strndup_user(UP(200), 32);
	CHECK(p == (void *)(uintptr_t)KHEAP);
	CHECK(!strcmp((char *)kheap, "a name"));
	CHECK_EQ(heap.size, 7);
	CHECK(__dusk_impl_strndup_user(UP(200), 4) == (void *)(intptr_t)-EINVAL);
	CHECK(__dusk_impl_strndup_user(UP(USIZE), 4) ==
	      (void *)(intptr_t)-EFAULT);
}

static void test_kernel_buffer(void)
{
	uint8_t *kmem = fk_mem(&fk, K(0x1000 - 50), 200);

	/* copy_to_user from a kmalloc'd buffer: read through the cache */
	reset();
	for (unsigned int i = 0; i < 200; i++)
		kmem[i] = (uint8_t)(i ^ 0x5a);
	dusk_refresh(sess);
	CHECK_EQ(__dusk_impl__copy_to_user(UP(0), KP(0x1000 - 50), 200), 0);
	CHECK(!memcmp(umem, kmem, 200));

	/* copy_from_user into it: written to the mirror, then committed */
	reset();
	CHECK_EQ(__dusk_impl__copy_from_user(KP(0x1000 - 50), UP(300), 200), 0);
	CHECK(memcmp(kmem, umem + 300, 200));	/* not yet in the kernel */
	CHECK(!dusk_commit(sess));
	CHECK(!memcmp(kmem, umem + 300, 200));

	/* a short copy zeroes the rest in the kernel's buffer too */
	CHECK_EQ(__dusk_impl__copy_from_user(KP(0x1000 - 50), UP(USIZE - 60),
					     200), 140);
	CHECK(!dusk_commit(sess));
	CHECK(!memcmp(kmem, umem + USIZE - 60, 60));
	CHECK_EQ(kmem[60], 0);
	CHECK_EQ(kmem[199], 0);

	/* TASK_SIZE_MAX from the target: 4-level paging, then 5-level */
	CHECK_EQ(__dusk_impl_task_size_max(), (1ULL << 47) - 4096);
	dusk_session_close(sess);
	fk_deinit(&fk);
	/* no session: no target to ask */
	CHECK_EQ(__dusk_impl_task_size_max(), (1ULL << 47) - 4096);
}

static void test_la57(void)
{
	struct dusk_config cfg;

	fk_init(&fk);
	fk.sym = fake_sym;
	fk_config(&cfg);
	if (fk_session_open(&fk, &cfg, &sess)) {
		CHECK(!"no second session with the fake kernel");
		return;
	}
	*(uint32_t *)fk_mem(&fk, L5_FLAG, 4) = 1;
	CHECK_EQ(__dusk_impl_task_size_max(), (1ULL << 56) - 4096);
	fk.call = fake_call;
	test_memdup();
	/* and access_ok() with it */
	reset();
	CHECK_EQ(__dusk_impl_clear_user((void *)(1ULL << 48), 30), 30);
	CHECK_EQ(ua.requests[DUSK_UA_CLEAR], 1);
	dusk_session_close(sess);
	fk_deinit(&fk);
}

static void quiet(enum dusk_log_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
}

int main(void)
{
	struct dusk_config cfg;

	dusk_set_log(quiet);
	dusk_mod_klib_host();	/* as __dusk_main() does */
	dusk_uaccess_backend_set(fake_uaccess, fake_max);
	/* no session: TASK_SIZE_MAX of 4-level paging */
	test_copy_to_user();
	test_copy_from_user();
	test_get_put();
	test_strings();
	test_simple_buffer();
	test_not_connected();

	fk_init(&fk);
	fk_config(&cfg);
	if (fk_session_open(&fk, &cfg, &sess)) {
		fprintf(stderr, "no session with the fake kernel\n");
		return 1;
	}
	test_kernel_buffer();
	test_la57();
	dusk_uaccess_backend_set(NULL, NULL);
	return check_done("test_uaccess");
}
