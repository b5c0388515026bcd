// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The shadow cache against the fake kernel: mirror layout and contiguity,
 * fetching, line seeding, commit of changed bytes only, generations,
 * cross-page ranges, stray pages and bad addresses, resets.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "check.h"
#include "dusk.h"
#include "fake_kernel.h"
#include "session.h"
#include "shadow.h"

static struct fake_kernel fk;
static struct dusk_session *s;
static unsigned int log_errors;
static char log_last[512];

static void sink(enum dusk_log_level level, const char *fmt, va_list ap)
{
	vsnprintf(log_last, sizeof(log_last), fmt, ap);
	if (level == DUSK_LOG_ERROR)
		log_errors++;
}

#define PAGE(n)		(FK_AREA_DIRECT + (uint64_t)(n) * 4096)
#define KP(k)		((void *)(uintptr_t)(k))

static unsigned int reads(void)
{
	return fk.executed[DUSK_MSG_READ];
}

static void test_layout(void)
{
	uint8_t *u, *u2, *v;
	int local = 5;
	void *heap = malloc(16);

	/* User addresses pass unchanged; NULL too. */
	CHECK(__dusk_check(&local, sizeof(local)) == &local);
	CHECK(__dusk_check(heap, 16) == heap);
	CHECK(__dusk_check(NULL, 1) == NULL);
	CHECK_EQ(dusk_kaddr(&local), 0);
	free(heap);

	/* A kernel address: its mirror, holding the kernel's bytes. */
	u = __dusk_check(KP(PAGE(0) + 8), 8);
	CHECK((uintptr_t)u < DUSK_KERNEL_MIN);
	CHECK(!memcmp(u, fk_mem(&fk, PAGE(0) + 8, 8), 8));
	CHECK_EQ(dusk_kaddr(u), PAGE(0) + 8);
	CHECK_EQ(reads(), 1);

	/* Contiguity: a kernel range is a user range. */
	u2 = __dusk_check(KP(PAGE(3) + 100), 8);
	CHECK(u2 - u == 3 * 4096 + 92);
	CHECK(!memcmp(u2, fk_mem(&fk, PAGE(3) + 100, 8), 8));
	CHECK_EQ(dusk_kaddr(u + 4096 * 7), PAGE(7) + 8);	/* not fetched */

	/* Another region, another window; its far end maps back. */
	v = __dusk_check(KP(FK_AREA_VMALLOC), 16);
	CHECK(!memcmp(v, fk_mem(&fk, FK_AREA_VMALLOC, 16), 16));
	CHECK_EQ(dusk_kaddr(v), FK_AREA_VMALLOC);
	CHECK_EQ(dusk_kaddr(v - (FK_AREA_VMALLOC - FK_VMALLOC_START) +
			    (32ULL << 40) - 1),
		 FK_VMALLOC_START + (32ULL << 40) - 1);
	CHECK(dusk_kaddr(v - (FK_AREA_VMALLOC - FK_VMALLOC_START) +
			 (32ULL << 40)) != FK_VMALLOC_START + (32ULL << 40));

	/* The cached line is found by the inline fast path: no call, no
	 * READ; a line of the page not checked yet is valid too (the whole
	 * page was fetched). */
	CHECK(dusk_shadow_fast(KP(PAGE(0) + 8), 8, 0) == u);
	CHECK(dusk_shadow_fast(KP(PAGE(0) + 4000), 8, 0) == u + 3992);
	CHECK(dusk_shadow_fast(KP(PAGE(1)), 8, 0) == NULL);	/* not cached */
	CHECK(dusk_shadow_fast(u, 8, 0) == NULL);	/* a mirror address */
	CHECK(dusk_shadow_fast(&local, 4, 0) == &local);

	/* A mirror address given back is its kernel address. */
	CHECK(__dusk_check(u, 8) == u);
	CHECK_EQ(reads(), 3);
}

static void test_cross_page(void)
{
	unsigned int before = reads();
	uint8_t *u;

	u = __dusk_check(KP(PAGE(5) + 4096 - 10), 20);
	CHECK_EQ(reads() - before, 2);	/* one READ per page */
	CHECK(!memcmp(u, fk_mem(&fk, PAGE(5) + 4096 - 10, 20), 20));
	CHECK_EQ(dusk_kaddr(u + 19), PAGE(6) + 9);

	/* A large range over four pages, two of them cached already. */
	before = reads();
	u = __dusk_check(KP(PAGE(4)), 4 * 4096);
	CHECK_EQ(reads() - before, 2);
	CHECK(!memcmp(u, fk_mem(&fk, PAGE(4), 4 * 4096), 4 * 4096));
}

static void test_seeding(void)
{
	struct dusk_shadow *c = s->shadow;
	uint8_t fake[160], *u;
	unsigned int before;

	/* Seeded lines are served without a READ. */
	memset(fake, 0xab, sizeof(fake));
	dusk_shadow_seed(c, PAGE(8) + 128, fake, 128);
	before = reads();
	u = __dusk_check(KP(PAGE(8) + 130), 100);
	CHECK_EQ(reads(), before);
	CHECK(u[0] == 0xab && u[99] == 0xab);

	/* A miss elsewhere in the page fetches it, filling only the lines
	 * that were not valid: the seeded ones keep their bytes. */
	u = __dusk_check(KP(PAGE(8)), 8);
	CHECK_EQ(reads(), before + 1);
	CHECK(!memcmp(u, fk_mem(&fk, PAGE(8), 8), 8));
	CHECK(u[128] == 0xab && u[255] == 0xab);
	CHECK(u[256] == *fk_mem(&fk, PAGE(8) + 256, 1));

	/* Seeding never overwrites a line that is valid (maybe written). */
	u = __dusk_check_w(KP(PAGE(8) + 320), 1);
	*u = 0x11;
	memset(fake, 0xcd, sizeof(fake));
	dusk_shadow_seed(c, PAGE(8) + 320, fake, 64);
	CHECK_EQ(*u, 0x11);

	/* Partial lines are not seeded: the line would be half valid. */
	before = reads();
	dusk_shadow_seed(c, PAGE(9) + 10, fake, 130);	/* line 1 only */
	u = __dusk_check(KP(PAGE(9) + 64), 64);
	CHECK_EQ(reads(), before);
	CHECK_EQ(u[0], 0xcd);
	u = __dusk_check(KP(PAGE(9) + 10), 1);
	CHECK_EQ(reads(), before + 1);
	CHECK_EQ(*u, *fk_mem(&fk, PAGE(9) + 10, 1));
	u = __dusk_check(KP(PAGE(9) + 130), 1);
	CHECK_EQ(*u, *fk_mem(&fk, PAGE(9) + 130, 1));
	dusk_refresh(s);	/* forget the fake bytes seeded above */
}

static void test_commit(void)
{
	unsigned int applied, writes;
	uint64_t bytes;
	uint8_t *u, orig;

	/* Only the bytes that changed are sent, as two runs. */
	u = __dusk_check(KP(PAGE(10)), 1);
	applied = fk.nr_applied;
	bytes = fk.applied_bytes;
	u = __dusk_check_w(KP(PAGE(10) + 100), 3);
	u[0] ^= 0xff;
	u[1] ^= 0xff;
	u[2] ^= 0xff;
	u = __dusk_check_w(KP(PAGE(10) + 2000), 1);
	u[0] ^= 0x0f;
	CHECK_EQ(dusk_commit(s), 0);
	CHECK_EQ(fk.nr_applied - applied, 2);
	CHECK_EQ(fk.applied_bytes - bytes, 4);
	CHECK(fk.applied[applied].addr == PAGE(10) + 100 &&
	      fk.applied[applied].len == 3);
	CHECK(fk.applied[applied + 1].addr == PAGE(10) + 2000 &&
	      fk.applied[applied + 1].len == 1);
	CHECK(!memcmp(fk_mem(&fk, PAGE(10), 4096),
		      __dusk_check(KP(PAGE(10)), 4096), 4096));

	/* Nothing changed since: no WRITE at all. A byte written with its
	 * own value is no change either. */
	writes = fk.executed[DUSK_MSG_WRITE];
	u = __dusk_check_w(KP(PAGE(10) + 50), 1);
	u[0] = u[0];
	CHECK_EQ(dusk_commit(s), 0);
	CHECK_EQ(fk.executed[DUSK_MSG_WRITE], writes);

	/* A field the kernel changed meanwhile is not clobbered: the module
	 * writes bytes 0..3, the kernel byte 8 of the same line. */
	u = __dusk_check_w(KP(PAGE(11)), 4);
	memcpy(u, "DUSK", 4);
	*fk_mem(&fk, PAGE(11) + 8, 1) = 0x42;
	orig = u[8];
	CHECK(orig != 0x42);
	CHECK_EQ(dusk_commit(s), 0);
	CHECK(!memcmp(fk_mem(&fk, PAGE(11), 4), "DUSK", 4));
	CHECK_EQ(*fk_mem(&fk, PAGE(11) + 8, 1), 0x42);

	/* The fast path's store marks the page dirty: a page fetched by a
	 * read check, written through a cached __dusk_check_w. */
	u = __dusk_check(KP(PAGE(12)), 8);
	CHECK(dusk_shadow_fast(KP(PAGE(12) + 4), 1, 1) == u + 4);
	u[4] = (uint8_t)~u[4];
	applied = fk.nr_applied;
	CHECK_EQ(dusk_commit(s), 0);
	CHECK_EQ(fk.nr_applied - applied, 1);
	CHECK_EQ(*fk_mem(&fk, PAGE(12) + 4, 1), u[4]);

	/* A commit bigger than a datagram: all of it, in several WRITEs. */
	writes = fk.executed[DUSK_MSG_WRITE];
	u = __dusk_check_w(KP(PAGE(0)), 16 * 4096);
	{
		size_t i;

		for (i = 0; i < 16 * 4096; i++)
			u[i] = (uint8_t)(i * 31 + 1);
	}
	CHECK_EQ(dusk_commit(s), 0);
	CHECK(fk.executed[DUSK_MSG_WRITE] - writes >= 2);
	CHECK(!memcmp(fk_mem(&fk, PAGE(0), 16 * 4096), u, 16 * 4096));
}

static uint64_t callee_writes(struct fake_kernel *f, uint64_t fn,
			      const uint64_t *args, unsigned int nargs)
{
	/* The callee sees the committed byte, and changes another. */
	uint8_t seen = *fk_mem(f, PAGE(13), 1);

	*fk_mem(f, PAGE(13) + 16, 1) = 0x77;
	return fn + args[0] + nargs + seen;
}

static void test_kcall(void)
{
	uint64_t args[2] = { 1000, 2000 }, ret = 0;
	unsigned int before, applied;
	uint8_t *u;

	fk.call = callee_writes;
	u = __dusk_check_w(KP(PAGE(13)), 1);
	u[0] = 9;
	applied = fk.nr_applied;
	CHECK_EQ(dusk_kcall(s, 0xffffffff81000000ULL, args, 2, &ret), 0);
	CHECK_EQ(ret, 0xffffffff81000000ULL + 1000 + 2 + 9);
	/* The commit rode in the CALL itself. */
	CHECK_EQ(fk.nr_applied - applied, 1);
	CHECK_EQ(fk.applied[applied].type, DUSK_MSG_CALL);
	/* After the call the cache is stale: the callee's change shows. */
	CHECK(dusk_shadow_fast(KP(PAGE(13)), 1, 0) == NULL);
	before = reads();
	u = __dusk_check(KP(PAGE(13) + 16), 1);
	CHECK_EQ(reads(), before + 1);
	CHECK_EQ(*u, 0x77);
	CHECK_EQ(dusk_kcall(s, 1, args, 7, &ret), -E2BIG);
	fk.call = NULL;
}

static void test_generations(void)
{
	unsigned int before;
	uint64_t gen = __dusk_shadow.gen, epoch = __dusk_shadow.epoch;
	uint8_t *u;

	u = __dusk_check(KP(PAGE(14)), 8);
	/* Fetching and checking leave the epoch (module code's memo of the
	 * last whole page it read) alone... */
	CHECK_EQ(__dusk_shadow.epoch, epoch);
	*fk_mem(&fk, PAGE(14), 1) = (uint8_t)(u[0] + 1);
	dusk_refresh(s);
	CHECK_EQ(__dusk_shadow.gen, gen + 1);
	/* ...a new generation changes it, and so does forgetting lines. */
	CHECK(__dusk_shadow.epoch != epoch);
	epoch = __dusk_shadow.epoch;
	dusk_shadow_forget(s->shadow, PAGE(14) + 64, 1);
	CHECK(__dusk_shadow.epoch != epoch);
	CHECK(dusk_shadow_fast(KP(PAGE(14)), 8, 0) == NULL);
	before = reads();
	u = __dusk_check(KP(PAGE(14)), 8);
	CHECK_EQ(reads(), before + 1);
	CHECK_EQ(u[0], *fk_mem(&fk, PAGE(14), 1));

	/* A stale mirror pointer is refreshed through its kernel address. */
	*fk_mem(&fk, PAGE(14) + 1, 1) = 0x99;
	dusk_refresh(s);
	CHECK(__dusk_check(u + 1, 1) == u + 1);
	CHECK_EQ(u[1], 0x99);

	/* Uncommitted changes die with their generation. */
	before = fk.executed[DUSK_MSG_WRITE];
	u = __dusk_check_w(KP(PAGE(14) + 2), 1);
	u[0] ^= 1;
	dusk_refresh(s);
	CHECK_EQ(dusk_commit(s), 0);
	CHECK_EQ(fk.executed[DUSK_MSG_WRITE], before);
}

static void test_bad_addresses(void)
{
	uint64_t bad = FK_AREA_DIRECT + (64 << 10);	/* mapped region, no memory */
	unsigned int errs = log_errors;
	pid_t pid;
	int status;
	uint8_t *u;

	/* Handed back unchanged (logged), so the module's own access
	 * faults at the kernel address. */
	CHECK(__dusk_check(KP(bad + 8), 8) == KP(bad + 8));
	CHECK_EQ(log_errors, errs + 1);
	CHECK(strstr(log_last, "bad kernel address") != NULL);
	errno = 0;
	CHECK(dusk_shadow(s, bad, 8, 0) == NULL);
	CHECK_EQ(errno, EFAULT);
	pid = fork();
	if (pid == 0) {
		dusk_set_log(NULL);
		u = __dusk_check(KP(bad), 1);
		_exit(*(volatile uint8_t *)u);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);

	/* Outside every region: a page of its own. */
	u = __dusk_check(KP(FK_AREA_STRAY + 100), 8);
	CHECK((uintptr_t)u < DUSK_KERNEL_MIN);
	CHECK(!memcmp(u, fk_mem(&fk, FK_AREA_STRAY + 100, 8), 8));
	CHECK_EQ(dusk_kaddr(u), FK_AREA_STRAY + 100);
	CHECK(__dusk_check(u, 8) == u);
	/* ... contiguous within the page only. */
	errs = log_errors;
	CHECK(__dusk_check(KP(FK_AREA_STRAY + 4090), 8) == KP(FK_AREA_STRAY + 4090));
	CHECK_EQ(log_errors, errs + 2);	/* the reason, and the address */
	/* A range running off the end of its region. */
	errno = 0;
	CHECK(dusk_shadow(s, 0xffffffff80000000ULL + (64 << 20) - 4, 8, 0) == NULL);
	CHECK_EQ(errno, EFAULT);
	/* The range wraps past the top of the address space. */
	CHECK(dusk_shadow(s, ~0ULL - 2, 8, 0) == NULL);
}

static void test_kwrite_kread(void)
{
	uint8_t buf[300], *u;
	uint64_t addr = 0, size = 0;
	unsigned int writes;

	u = __dusk_check(KP(PAGE(15)), 64);
	memset(buf, 0x3c, sizeof(buf));
	CHECK_EQ(dusk_kwrite(s, PAGE(15) + 10, buf, 20), 0);
	CHECK_EQ(*fk_mem(&fk, PAGE(15) + 10, 1), 0x3c);
	CHECK_EQ(u[10], 0x3c);	/* the cache shows it */
	writes = fk.executed[DUSK_MSG_WRITE];
	CHECK_EQ(dusk_commit(s), 0);
	CHECK_EQ(fk.executed[DUSK_MSG_WRITE], writes);	/* nothing to commit */
	CHECK_EQ(dusk_kread(s, PAGE(15) + 5, buf, sizeof(buf)), 0);
	CHECK(!memcmp(buf, fk_mem(&fk, PAGE(15) + 5, sizeof(buf)), sizeof(buf)));
	CHECK_EQ(dusk_kread(s, FK_AREA_DIRECT - 4096, buf, 8), -EFAULT);
	CHECK_EQ(dusk_ksym(s, "jiffies", &addr, &size), 0);
	CHECK(addr == FK_AREA_DIRECT + 0x40 && size == 8);
	CHECK_EQ(dusk_ksym(s, "no_such_symbol", &addr, NULL), -ENOENT);
	CHECK_EQ(dusk_kalloc(s, 64, 1, &addr), 0);
	CHECK_EQ(addr, FK_AREA_DIRECT + 0x8000);
	CHECK_EQ(dusk_kfree(s, addr), 0);
}

/* More pages than the table's first size: it grows, and what was
 * written before still gets committed. */
static void test_growth(void)
{
	struct dusk_shadow *c = s->shadow;
	uint64_t slots = __dusk_shadow.mask + 1, i;
	uint8_t line[64], *u;
	unsigned int applied, before;

	dusk_refresh(s);
	u = __dusk_check_w(KP(PAGE(2) + 64), 1);
	u[0] ^= 0x5a;
	memset(line, 0x21, sizeof(line));
	for (i = 0; i < 3 * slots; i++)
		dusk_shadow_seed(c, FK_DIRECT_START + (1ULL << 28) + i * 4096 + 64,
				 line, sizeof(line));
	CHECK(__dusk_shadow.mask + 1 > slots);
	CHECK(c->nr_live >= 3 * slots);
	before = reads();
	for (i = 0; i < 3 * slots; i += 97) {
		u = __dusk_check(KP(FK_DIRECT_START + (1ULL << 28) + i * 4096 + 70), 4);
		if (u[0] != 0x21)
			break;
	}
	CHECK(i >= 3 * slots);
	CHECK_EQ(reads(), before);
	applied = fk.nr_applied;
	CHECK_EQ(dusk_commit(s), 0);
	CHECK_EQ(fk.nr_applied - applied, 1);
	CHECK_EQ(fk.applied[applied].addr, PAGE(2) + 64);
}

/* A reset (more than DUSK_SHADOW_MAX_PAGES mapped, then a new generation)
 * unmaps every mirror page: a region's page comes back at its address, a
 * stray page need not (dusk_shadow_moves: what a watchpoint may watch). */
static void test_reset(void)
{
	struct dusk_shadow *c = s->shadow;
	uint64_t resets = c->stats.resets, i;
	uint8_t line[64], *u, *a, *b;

	dusk_refresh(s);
	u = __dusk_check(KP(PAGE(5) + 8), 8);
	a = __dusk_check(KP(FK_AREA_STRAY + 8), 8);
	b = __dusk_check(KP(FK_AREA_STRAY + 4096 + 8), 8);
	CHECK(u && a && b && a != b);
	CHECK(dusk_shadow_moves(c, PAGE(5)) == NULL);
	CHECK(dusk_shadow_moves(c, FK_AREA_VMALLOC) == NULL);
	CHECK(dusk_shadow_moves(c, FK_AREA_STRAY + 8) != NULL);
	memset(line, 0x33, sizeof(line));
	for (i = 0; i <= DUSK_SHADOW_MAX_PAGES; i++)
		dusk_shadow_seed(c, FK_DIRECT_START + (1ULL << 30) + i * 4096,
				 line, sizeof(line));
	dusk_refresh(s);
	CHECK_EQ(c->stats.resets, resets + 1);
	CHECK_EQ(c->mapped_pages, 0);
	/* The stray pages again, the other first: it takes the first's. */
	CHECK(__dusk_check(KP(FK_AREA_STRAY + 4096 + 8), 8) == a);
	CHECK(__dusk_check(KP(FK_AREA_STRAY + 8), 8) == b);
	CHECK(__dusk_check(KP(PAGE(5) + 8), 8) == u);
	CHECK(!memcmp(u, fk_mem(&fk, PAGE(5) + 8, 8), 8));
}

/* 5-level paging: kernel addresses from 0xff00..., and a vmalloc region
 * larger than user space, mirrored by 1 GiB sections. */
static void test_la57(void)
{
	struct dusk_config cfg;
	uint8_t *u, *v;
	int err;

	fk_init_la57(&fk);
	fk_config(&cfg);
	err = fk_session_open(&fk, &cfg, &s);
	CHECK_EQ(err, 0);
	if (err)
		return;
	u = __dusk_check(KP(FK57_AREA_DIRECT + 16), 8);
	CHECK((uintptr_t)u < DUSK_KERNEL_MIN);
	CHECK(!memcmp(u, fk_mem(&fk, FK57_AREA_DIRECT + 16, 8), 8));
	CHECK_EQ(dusk_kaddr(u), FK57_AREA_DIRECT + 16);
	CHECK(dusk_shadow_moves(s->shadow, FK57_AREA_DIRECT) == NULL);
	CHECK(dusk_shadow_moves(s->shadow, FK57_AREA_VMALLOC) != NULL);

	/* Contiguous within a section, across pages. */
	v = __dusk_check(KP(FK57_AREA_VMALLOC + 4096 - 8), 16);
	CHECK((uintptr_t)v < DUSK_KERNEL_MIN);
	CHECK(!memcmp(v, fk_mem(&fk, FK57_AREA_VMALLOC + 4096 - 8, 16), 16));
	CHECK_EQ(dusk_kaddr(v + 15), FK57_AREA_VMALLOC + 4096 + 7);
	CHECK(__dusk_check(v, 16) == v);
	/* The next section has a window of its own once touched. */
	u = __dusk_check(KP(FK57_VMALLOC_START + (1ULL << 30) + 64), 8);
	CHECK((uintptr_t)u < DUSK_KERNEL_MIN);
	CHECK(!memcmp(u, fk_mem(&fk, FK57_VMALLOC_START + (1ULL << 30) + 64, 8), 8));
	CHECK_EQ(dusk_kaddr(u), FK57_VMALLOC_START + (1ULL << 30) + 64);
	/* A range across the section boundary has no contiguous mirror. */
	errno = 0;
	CHECK(dusk_shadow(s, FK57_VMALLOC_START + (1ULL << 30) - 8, 16, 0) == NULL);
	CHECK_EQ(errno, EFAULT);
	/* Far into the region: its own section, and a bad address there. */
	CHECK(dusk_shadow(s, FK57_VMALLOC_START + (1ULL << 52), 8, 0) == NULL);
	CHECK_EQ(errno, EFAULT);
	dusk_session_close(s);
	fk_deinit(&fk);
}

int main(void)
{
	struct dusk_config cfg;
	int err;

	dusk_set_log(sink);
	fk_init(&fk);
	fk_config(&cfg);
	err = fk_session_open(&fk, &cfg, &s);
	CHECK_EQ(err, 0);
	if (err)
		return check_done("test_shadow");
	CHECK(dusk_session_current() == s);
	CHECK(!strcmp(dusk_kernel_release(s), "6.1.0-fake"));
	test_layout();
	test_cross_page();
	test_seeding();
	test_commit();
	test_kcall();
	test_generations();
	test_bad_addresses();
	test_kwrite_kread();
	test_growth();
	test_reset();
	dusk_session_close(s);
	CHECK(fk.ended);
	CHECK(dusk_session_current() == NULL);
	/* With no session, kernel addresses are left alone. */
	CHECK(__dusk_check(KP(PAGE(0)), 8) == KP(PAGE(0)));
	fk_deinit(&fk);
	test_la57();
	return check_done("test_shadow");
}
