"""The plugin's inline fast path, run without a target: module code built
by dusk-cc, linked with a harness whose libdusk shadow cache holds fake
kernel pages, and __dusk_check/__dusk_check_w wrapped (ld --wrap) to
count what reaches the runtime. A cached page costs no call; a miss,
a page crossing and a mirror address take the call; writes are marked
dirty for the commit; the one-page memo follows the table's epoch."""
import subprocess

from conftest import BUILDDIR, SRCDIR
from test_dusk_cc import dusk_cc, module, work_dir

MODULE = '''
    #include <linux/types.h>
    unsigned int fast_count(const u8 *p, unsigned int n, u8 c)
    {
    \tunsigned int i, hits = 0;

    \tfor (i = 0; i < n; i++)
    \t\thits += p[i] == c;
    \treturn hits;
    }
    u32 fast_sum32(const u32 *p, unsigned int n)
    {
    \tu32 sum = 0;

    \twhile (n--)
    \t\tsum += *p++;
    \treturn sum;
    }
    void fast_fill(u8 *p, unsigned int n, u8 v)
    {
    \twhile (n--)
    \t\t*p++ = v;
    }
    /* p[0], then what cb leaves there: the memo must not hide it */
    unsigned int fast_reread(const u8 *p, void (*cb)(void))
    {
    \tunsigned int first = p[0] | p[1] << 8;

    \tcb();
    \treturn first << 16 | p[0] | p[1] << 8;
    }
'''

HARNESS = r'''
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "shadow.h"

#define KBASE 0xffff888000200000ULL
#define KP(off) ((void *)(uintptr_t)(KBASE + (off)))
#define FAIL(...) do { printf(__VA_ARGS__); putchar('\n'); return 1; } while (0)

unsigned int fast_count(const uint8_t *p, unsigned int n, uint8_t c);
uint32_t fast_sum32(const uint32_t *p, unsigned int n);
void fast_fill(uint8_t *p, unsigned int n, uint8_t v);
unsigned int fast_reread(const uint8_t *p, void (*cb)(void));

static uint8_t kmem[4 * 4096];
static unsigned int reads, calls;
static struct dusk_shadow *c;

void *__dusk_check(const void *p, size_t size);
void *__real___dusk_check(const void *p, size_t size);
void *__real___dusk_check_w(void *p, size_t size);
void *__wrap___dusk_check(const void *p, size_t size)
{
	calls++;
	return __real___dusk_check(p, size);
}
void *__wrap___dusk_check_w(void *p, size_t size)
{
	calls++;
	return __real___dusk_check_w(p, size);
}

static int kread(void *ctx, uint64_t k, void *buf, size_t len)
{
	reads++;
	memcpy(buf, kmem + (k - KBASE), len);
	return 0;
}

/* The kernel changes p[0..1] behind the cache, which forgets them. */
static void change_and_forget(void)
{
	kmem[100] = 0x5a;
	kmem[101] = 0xa5;
	dusk_shadow_forget(c, KBASE + 100, 2);
}

static void change_and_invalidate(void)
{
	kmem[200] = 0x77;
	dusk_shadow_invalidate(c);
}

int main(void)
{
	struct dusk_shadow_backing backing = { kread, NULL };
	struct dusk_shadow_region region = {
		KBASE & ~((1ULL << 30) - 1), 1ULL << 30, DUSK_REGION_DIRECT_MAP
	};
	struct dusk_segs segs;
	uint8_t local[64], *mirror;
	unsigned int i, n, r;
	uint32_t sum = 0;

	for (i = 0; i < sizeof(kmem); i++)
		kmem[i] = (uint8_t)(i * 7 + i / 4096);
	memset(kmem + 4096, 0, 256);	/* what fast_fill changes, all of it */
	if (dusk_shadow_create(&backing, &region, 1, 1, &c))
		FAIL("no cache");

	/* 3 pages of bytes: the first pass fetches each page once. */
	for (i = n = 0; i < 3 * 4096; i++)
		n += kmem[i] == 3;
	calls = 0;
	if ((r = fast_count(KP(0), 3 * 4096, 3)) != n)
		FAIL("count %u, not %u", r, n);
	if (reads != 3 || calls != 3)
		FAIL("first pass: %u reads, %u calls", reads, calls);
	calls = 0;
	if ((r = fast_count(KP(0), 3 * 4096, 3)) != n || calls)
		FAIL("cached pass: count %u of %u, %u calls", r, n, calls);

	/* Aligned words: none crosses a page, no call; one that does
	 * crosses on the slow path, still right. */
	for (i = 0; i < 3 * 1024; i++)
		sum += ((uint32_t *)kmem)[i];
	calls = 0;
	if (fast_sum32(KP(0), 3 * 1024) != sum || calls)
		FAIL("sum32: %u calls", calls);
	if (fast_sum32(KP(4094), 1) != *(uint32_t *)(kmem + 4094) || calls != 1)
		FAIL("crossing word: %u calls", calls);

	/* Writes on a cached page: no call, the bytes and their lines dirty
	 * for the commit. */
	calls = 0;
	fast_fill(KP(4096 + 10), 100, 0xee);
	if (calls)
		FAIL("fill: %u calls", calls);
	dusk_segs_init(&segs);
	if (dusk_shadow_diff(c, &segs) || segs.n != 1 ||
	    segs.v[0].kaddr != KBASE + 4096 + 10 || segs.v[0].len != 100 ||
	    segs.v[0].data[0] != 0xee || segs.v[0].data[99] != 0xee)
		FAIL("fill: %zu runs to commit", segs.n);
	dusk_shadow_diff_done(c);
	dusk_segs_deinit(&segs);

	/* User memory passes unchanged, with no call; a mirror address is
	 * translated back by the runtime. */
	memset(local, 3, sizeof(local));
	calls = 0;
	if (fast_count(local, sizeof(local), 3) != sizeof(local) || calls)
		FAIL("user memory: %u calls", calls);
	mirror = __dusk_check(KP(0), 1);
	calls = 0;
	if (fast_count(mirror, 4096, 3) != fast_count(KP(0), 4096, 3) ||
	    !calls)
		FAIL("mirror address: %u calls", calls);

	/* The memo of the last page read goes with the table's epoch: lines
	 * forgotten or a new generation in the middle of the function, and
	 * the new bytes are read. */
	n = kmem[100] | kmem[101] << 8;
	r = fast_reread(KP(100), change_and_forget);
	if (r != (n << 16 | 0xa55a))
		FAIL("after forget: 0x%x, not 0x%x", r, n << 16 | 0xa55a);
	r = fast_reread(KP(200), change_and_invalidate);
	if ((r & 0xff) != 0x77)
		FAIL("after a new generation: 0x%x", r);
	puts("ok");
	return 0;
}
'''


def test_fast_path_inline(tmp_path):
    """Counts, sums, fills and re-reads of fake kernel pages by module code
    built by dusk-cc give the kernel's bytes, with a call only where the
    cache cannot decide inline."""
    d = module(tmp_path, 'fastmod', MODULE)
    p = dusk_cc('--keep', '-M', d, '-o', tmp_path / 'fastmod-prog')
    work = work_dir(p.stderr)
    try:
        assert p.returncode == 0, p.stderr
        obj = tmp_path / 'fastmod.o'
        subprocess.run(['cp', str(work / 'user' / 'fastmod.o'), str(obj)],
                       check=True)
    finally:
        subprocess.run(['rm', '-rf', str(work)])
    (tmp_path / 'harness.c').write_text(HARNESS)
    prog = tmp_path / 'harness'
    subprocess.run(['gcc', '-O2', '-std=gnu11', '-Wall',
                    '-I', str(SRCDIR / 'runtime' / 'core'),
                    '-I', str(SRCDIR / 'proto'), '-o', str(prog),
                    str(tmp_path / 'harness.c'), str(obj),
                    '-Wl,--wrap=__dusk_check,--wrap=__dusk_check_w',
                    str(BUILDDIR / 'runtime' / 'libdusk_internal.a'),
                    '-lelf', '-ldwarf', '-lpthread'], check=True)
    r = subprocess.run([str(prog)], capture_output=True, text=True,
                       timeout=60)
    assert r.stdout == 'ok\n', r.stdout + r.stderr


def test_check_calls_option_keeps_the_calls(tmp_path):
    """-fplugin-arg-dusk-check-calls: every access a call, as before."""
    d = module(tmp_path, 'callmod', MODULE)
    p = dusk_cc('--keep', '--user-cflags=-fplugin-arg-dusk-check-calls',
                '-M', d, '-o', tmp_path / 'callmod-prog')
    work = work_dir(p.stderr)
    try:
        assert p.returncode == 0, p.stderr
        dis = subprocess.run(['objdump', '-dr', str(work / 'user' / 'callmod.o')],
                             capture_output=True, text=True, check=True).stdout
    finally:
        subprocess.run(['rm', '-rf', str(work)])
    assert '__dusk_check' in dis and '__dusk_shadow' not in dis, dis
