// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * printk at user level (klib_printk.c): the local line and its level,
 * continuations, the output switches; through the fake kernel, the
 * forwarded _printk("%s", text) call with the text riding on the call
 * (one request per message); rate limits; hex dumps; WARN, BUG, panic.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "check.h"
#include "dusk.h"
#include "fake_kernel.h"
#include "klib.h"
#include "klib_dyndbg.h"
#include "klib_printk.h"
#include "klib_string.h"
#include "session.h"

static FILE *cap;
static char *cap_buf;
static size_t cap_len;

/* What was printed locally since the last call. */
static const char *local(void)
{
	static char last[4096];

	fflush(cap);
	snprintf(last, sizeof(last), "%s", cap_buf ? cap_buf : "");
	fclose(cap);
	free(cap_buf);
	cap_buf = NULL;
	cap = open_memstream(&cap_buf, &cap_len);
	dusk_printk_set_stream(cap);
	return last;
}

#define LOCAL_IS(expect) do {						\
	const char *l_ = local();					\
	if (!strcmp(l_, (expect))) {					\
		check_passed++;						\
	} else {							\
		check_failed++;						\
		fprintf(stderr, "%s:%d: FAILED: local output \"%s\", want \"%s\"\n", \
			__FILE__, __LINE__, l_, (expect));		\
	}								\
} while (0)

static void test_local(void)
{
	dusk_printk_set_outputs(DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL);
	CHECK_EQ(__dusk_impl__printk("\0016hello: %d\n", 5), 9);
	LOCAL_IS("<6>hello: 5\n");
	__dusk_impl__printk("no level\n");
	LOCAL_IS("<4>no level\n");
	__dusk_impl__printk("\0013err\n");
	LOCAL_IS("<3>err\n");
	/* the level is parsed from the formatted text, as 6.1 does */
	__dusk_impl__printk("%s%s\n", "\0012", "from an argument");
	LOCAL_IS("<2>from an argument\n");
	/* continuations join their line */
	__dusk_impl__printk("\0016a");
	__dusk_impl__printk("\001cb");
	__dusk_impl__printk("\001c%c\n", 'c');
	LOCAL_IS("<6>abc\n");
	/* a new message closes an open line */
	__dusk_impl__printk("\0016open");
	__dusk_impl__printk("\0015next\n");
	LOCAL_IS("<6>open\n<5>next\n");
	/* a continuation with nothing to continue starts a line */
	__dusk_impl__printk("\001clone\n");
	LOCAL_IS("<4>lone\n");
	__dusk_impl__printk("\0017\n");
	LOCAL_IS("<7>\n");
	__dusk_impl__printk("\0016multi\nline\n");
	LOCAL_IS("<6>multi\nline\n");
	__dusk_impl__printk_deferred("\0016deferred\n");
	LOCAL_IS("<6>deferred\n");

	/* the local output can be switched off */
	dusk_printk_set_outputs(DUSK_PRINTK_KERNEL);
	CHECK_EQ(dusk_printk_outputs(), DUSK_PRINTK_KERNEL);
	__dusk_impl__printk("\0016quiet\n");
	LOCAL_IS("");
	dusk_printk_set_outputs(DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL);
}

/* struct _ddebug of 6.1 with CONFIG_JUMP_LABEL, as modules define them. */
struct ddebug {
	const char *modname, *function, *filename, *format;
	unsigned int lineno:18;
	unsigned int class_id:6;
	unsigned int flags:8;
	struct {
		int enabled;
		unsigned long type;
	} key;
} __attribute__((aligned(8)));

#define P 1	/* _DPRINTK_FLAGS_PRINT */
#define M 2	/* _DPRINTK_FLAGS_INCL_MODNAME */
#define F 4
#define L 8
#define DFLT 63	/* _DPRINTK_CLASS_DFLT */

static struct ddebug dd[] = {
	{ "m", "m_init", "/src/m/m_main.c", "m: init %d\n", 10, DFLT, 0, { 0, 0 } },
	{ "m", "m_hook", "/src/m/m_main.c", "m: hook %s\n", 20, DFLT, 0, { 0, 0 } },
	/* a file built with DEBUG: on from the start */
	{ "m", "m_count", "/src/m/m_stats.c", "m: count\tdone\n", 5, DFLT, P,
	  { 1, 1 } },
	/* a class'd site (DECLARE_DYNDBG_CLASSMAP): plain queries skip it */
	{ "m", "m_class", "/src/m/m_main.c", "m: classed\n", 30, 3, 0, { 0, 0 } },
};

/* ---- forwarded to the (fake) kernel ------------------------------------------------ */

static struct fake_kernel fk;
static struct dusk_session *sess;
static char klog[16][256];
static unsigned int nr_klog;

#define SYM_PRINTK	0xffffffff81400000ULL
#define SYM_DRVSTR	0xffffffff81600000ULL
#define DEV		(FK_AREA_DIRECT + 0x3800)	/* a struct device */

static int fk_sym(struct fake_kernel *k, const char *name, uint64_t *addr)
{
	if (!strcmp(name, "_printk"))
		*addr = SYM_PRINTK;
	else if (!strcmp(name, "dev_driver_string"))
		*addr = SYM_DRVSTR;
	else
		return -ENOENT;
	return 0;
}

/* _printk(fmt, text): record what the kernel would log. */
static uint64_t fk_call(struct fake_kernel *k, uint64_t fn,
			const uint64_t *args, unsigned int nargs)
{
	const char *fmt, *text;

	if (fn == SYM_DRVSTR)
		return args[0] == DEV ? DEV + 0x100 : 0;
	if (fn != SYM_PRINTK || nargs != 2 || nr_klog >= 16)
		return (uint64_t)-1;
	fmt = (const char *)fk_mem(k, args[0], 3);
	text = (const char *)fk_mem(k, args[1], 1);
	if (!fmt || strcmp(fmt, "%s") || !text)
		return (uint64_t)-1;
	snprintf(klog[nr_klog++], sizeof(klog[0]), "%s", text);
	return strlen(text);
}

static unsigned int requests(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < __DUSK_MSG_MAX; i++)
		if (i != DUSK_MSG_PING)
			n += fk.executed[i];
	return n;
}

static void test_kernel_log(void)
{
	struct dusk_config cfg;
	uint64_t ip = FK_AREA_DIRECT + 0x3000;
	unsigned int before;
	char longer[1500];

	fk_init(&fk);
	fk.sym = fk_sym;
	fk.call = fk_call;
	fk_config(&cfg);
	if (fk_session_open(&fk, &cfg, &sess)) {
		CHECK(0);
		return;
	}
	memcpy(fk_mem(&fk, ip, 4), "\x0a\x01\x02\x03", 4);
	__dusk_impl__printk("\0016klib: %pI4 from %s\n", (void *)(uintptr_t)ip,
			    "a kernel address");
	LOCAL_IS("<6>klib: 10.1.2.3 from a kernel address\n");
	CHECK_EQ(nr_klog, 1);
	CHECK(!strcmp(klog[0], "\0016klib: 10.1.2.3 from a kernel address\n"));

	/* Later messages: one request each, the CALL carrying the text. */
	before = requests();
	__dusk_impl__printk("\0013second message, shorter\n");
	CHECK_EQ(requests(), before + 1);
	CHECK_EQ(fk.executed[DUSK_MSG_WRITE], 1);	/* the buffer's first */
	CHECK(!strcmp(klog[1], "\0013second message, shorter\n"));
	__dusk_impl__printk("\001cthird\n");
	CHECK_EQ(requests(), before + 2);
	CHECK(!strcmp(klog[2], "\001cthird\n"));
	__dusk_impl__printk("\0016second message, shorter\n");
	CHECK(!strcmp(klog[3], "\0016second message, shorter\n"));

	/* What the kernel keeps of a long message: 1023 bytes at most. */
	memset(longer, 'x', sizeof(longer) - 2);
	longer[sizeof(longer) - 2] = '\n';
	longer[sizeof(longer) - 1] = '\0';
	local();
	__dusk_impl__printk("\0016%s", longer);
	CHECK_EQ(strlen(local()), 3 + 1021);
	CHECK_EQ(nr_klog, 5);
	local();

	/* dev_info(): "driver device: " from the kernel's struct device (its
	 * kobject's name comes first) and dev_driver_string() */
	{
		uint64_t name = DEV + 0x80;

		memcpy(fk_mem(&fk, DEV, 8), &name, 8);
		memcpy(fk_mem(&fk, DEV + 0x80, 6), "eth42", 6);
		memcpy(fk_mem(&fk, DEV + 0x100, 8), "e1000e", 7);
		dusk_refresh(sess);
		local();
		__dusk_impl__dev_info((void *)(uintptr_t)DEV, "link %s\n", "up");
		LOCAL_IS("<6>e1000e eth42: link up\n");
		CHECK(!strcmp(klog[nr_klog - 1], "\0016e1000e eth42: link up\n"));
		__dusk_impl__dev_err(NULL, "no device\n");
		LOCAL_IS("<3>(NULL device *): no device\n");
		__dusk_impl__dev_printk("\0015", (void *)(uintptr_t)DEV, "%d\n", 5);
		LOCAL_IS("<5>e1000e eth42: 5\n");
	}

	/* a static key of the kernel's: read through the cache, as it is
	 * now (the cache is refreshed after kernel calls) */
	{
		uint64_t key = DEV + 0x400;
		int one = 1;

		memset(fk_mem(&fk, key, 16), 0, 16);
		dusk_refresh(sess);
		CHECK(!__dusk_static_branch((void *)(uintptr_t)key, 2));
		CHECK(__dusk_static_branch((void *)(uintptr_t)key, 3));
		memcpy(fk_mem(&fk, key, 4), &one, 4);
		CHECK(!__dusk_static_branch((void *)(uintptr_t)key, 2));
		dusk_refresh(sess);
		CHECK(__dusk_static_branch((void *)(uintptr_t)key, 2));
		CHECK(!__dusk_static_branch((void *)(uintptr_t)key, 3));
	}

	/* dev_dbg(): the flags' prefix, then dev_printk()'s */
	{
		struct ddebug d = { "m", "m_probe", "/src/m/m.c", "m: up\n", 7,
				    DFLT, P | F | L, { 1, 0 } };

		local();
		__dusk_impl___dynamic_dev_dbg(&d, (void *)(uintptr_t)DEV,
					      "link %s\n", "up");
		LOCAL_IS("<7>m_probe:7: e1000e eth42: link up\n");
		CHECK(!strcmp(klog[nr_klog - 1],
			      "\0017m_probe:7: e1000e eth42: link up\n"));
	}

	/* --no-kernel-log */
	dusk_printk_set_outputs(DUSK_PRINTK_LOCAL);
	before = requests();
	__dusk_impl__printk("\0016local only\n");
	CHECK_EQ(requests(), before);
	LOCAL_IS("<6>local only\n");
	dusk_printk_set_outputs(DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL);

	/* a failing kernel: reported once, the local line still printed */
	fk.sym = NULL;
	dusk_klib_kernel_reset();
	__dusk_impl__printk("\0016after failure\n");
	LOCAL_IS("<6>after failure\n");
	/* and no more tries for a while: no request per message */
	before = requests();
	__dusk_impl__printk("\0016still failing\n");
	CHECK_EQ(requests(), before);
	LOCAL_IS("<6>still failing\n");
	dusk_session_close(sess);
	fk_deinit(&fk);
}

/* ---- rate limits --------------------------------------------------------------------- */

static void test_ratelimit(void)
{
	struct dusk_ratelimit_state rs = { .interval = 1000000, .burst = 3 };
	struct dusk_ratelimit_state fast = { .interval = 1, .burst = 1 };
	struct dusk_ratelimit_state off = { .interval = 0, .burst = 0 };
	unsigned long cj = 0;
	int i, ok = 0;

	for (i = 0; i < 5; i++)
		ok += __dusk_impl____ratelimit(&rs, "f");
	CHECK_EQ(ok, 3);
	CHECK_EQ(rs.printed, 3);
	CHECK_EQ(rs.missed, 2);
	CHECK(rs.begin != 0);
	CHECK_EQ(rs.lock, 0);		/* never written */
	CHECK_EQ(__dusk_impl____ratelimit(&off, "f"), 1);

	CHECK_EQ(__dusk_impl____ratelimit(&fast, "fn"), 1);
	CHECK_EQ(__dusk_impl____ratelimit(&fast, "fn"), 0);
	usleep(20000);		/* more than a jiffy at HZ 250 */
	local();
	CHECK_EQ(__dusk_impl____ratelimit(&fast, "fn"), 1);
	LOCAL_IS("<4>fn: 1 callbacks suppressed\n");
	CHECK_EQ(fast.missed, 0);

	for (i = 0, ok = 0; i < 20; i++)
		ok += __dusk_impl_net_ratelimit();
	CHECK_EQ(ok, 10);
	for (i = 0, ok = 0; i < 20; i++)
		ok += __dusk_impl___printk_ratelimit("x");
	CHECK_EQ(ok, 10);

	CHECK(__dusk_impl_printk_timed_ratelimit(&cj, 1000));
	CHECK(cj != 0);
	CHECK(!__dusk_impl_printk_timed_ratelimit(&cj, 1000));
	cj = 1;		/* long ago */
	CHECK(__dusk_impl_printk_timed_ratelimit(&cj, 10));
}

/* ---- hex dumps ---------------------------------------------------------------------- */

static void test_hexdump(void)
{
	const char *data = "0123456789abcdefXYZ";
	char line[200], want[400];
	int n;

	n = __dusk_impl_hex_dump_to_buffer(data, 16, 16, 1, line, sizeof(line),
					   true);
	CHECK(!strcmp(line, "30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66  0123456789abcdef"));
	CHECK_EQ(n, (int)strlen(line));
	__dusk_impl_hex_dump_to_buffer(data, 16, 16, 4, line, sizeof(line),
				       false);
	CHECK(!strcmp(line, "33323130 37363534 62613938 66656463"));
	__dusk_impl_hex_dump_to_buffer(data, 8, 16, 8, line, sizeof(line),
				       false);
	CHECK(!strcmp(line, "3736353433323130"));
	__dusk_impl_hex_dump_to_buffer(data, 3, 16, 2, line, sizeof(line),
				       true);	/* 3 % 2: bytes */
	snprintf(want, sizeof(want), "%-49s%s", "30 31 32", "012");
	CHECK(!strcmp(line, want));
	/* too small a buffer: the length it would take */
	n = __dusk_impl_hex_dump_to_buffer(data, 16, 16, 1, line, 10, true);
	CHECK_EQ(n, 16 * 2 + 16 + 1 + 16);
	CHECK(!strcmp(line, "30 31 32 "));

	local();
	__dusk_impl_print_hex_dump("\0017", "pkt: ", DUSK_DUMP_PREFIX_OFFSET,
				   16, 1, data, 19, true);
	snprintf(want, sizeof(want),
		 "<7>pkt: 00000000: 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66  0123456789abcdef\n"
		 "<7>pkt: 00000010: %-49sXYZ\n", "58 59 5a");
	LOCAL_IS(want);
	__dusk_impl_print_hex_dump("\0016", "", DUSK_DUMP_PREFIX_NONE, 32, 4,
				   data, 8, false);
	LOCAL_IS("<6>33323130 37363534\n");
}

/* ---- reports ---------------------------------------------------------------------------- */

static int died_of_abort(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 2);
		fn();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void do_bug(void)
{
	__dusk_bug("drivers/x.c", 12, 0);
}

static void do_panic(void)
{
	__dusk_impl_panic("out of %s", "luck");
}

static void do_fortify(void)
{
	__dusk_impl_fortify_panic("strscpy");
}

static void do_strlcat_bug(void)
{
	char d[8] = "abcdefg";	/* not terminated within 4 */

	__dusk_impl_strlcat(d, "x", 4);
}

static void test_reports(void)
{
	int saved = dup(2), devnull = open("/dev/null", O_WRONLY);

	/* A WARNING returns (its report on stderr, silenced here). */
	dup2(devnull, 2);
	__dusk_bug("net/x.c", 42, DUSK_BUGFLAG_WARNING);
	__dusk_bug("net/x.c", 43, DUSK_BUGFLAG_WARNING | DUSK_BUGFLAG_ONCE);
	__dusk_bug("net/x.c", 43, DUSK_BUGFLAG_WARNING | DUSK_BUGFLAG_ONCE);
	__dusk_impl___warn_printk("\0014warned %d\n", 7);
	__dusk_impl_dump_stack();
	dup2(saved, 2);
	close(saved);
	close(devnull);
	LOCAL_IS("<4>------------[ cut here ]------------\n<4>warned 7\n");
	CHECK(died_of_abort(do_bug));
	CHECK(died_of_abort(do_panic));
	CHECK(died_of_abort(do_fortify));
	CHECK(died_of_abort(do_strlcat_bug));
}

static unsigned int dd_on(void)
{
	unsigned int i, on = 0;

	for (i = 0; i < 4; i++)
		on |= (!!(dd[i].flags & P) << i) | (!!dd[i].key.enabled << (i + 4));
	return on;
}

/* lib/dynamic_debug.c's queries on the program's own descriptors, their
 * static keys, and __dynamic_pr_debug's prefixes. */
static void test_dyndbg(void)
{
	int key[2] = { 0, 1 };

	/* label taken iff enabled XOR (branch & 1); bit 1 is objtool's */
	CHECK(!__dusk_static_branch(&key[0], 0));
	CHECK(__dusk_static_branch(&key[0], 1));
	CHECK(__dusk_static_branch(&key[1], 2));
	CHECK(!__dusk_static_branch(&key[1], 3));

	__dusk_dyndbg_register(dd, dd + 4);
	dusk_printk_set_outputs(DUSK_PRINTK_LOCAL);
	CHECK_EQ(dusk_dyndbg_exec("+p", NULL), 3);
	CHECK_EQ(dd_on(), 0x77u);	/* flags and keys, not the class'd */
	CHECK_EQ(dusk_dyndbg_exec("-p", NULL), 3);
	CHECK_EQ(dd_on(), 0u);
	CHECK_EQ(dusk_dyndbg_exec("func m_hook +pfl", NULL), 1);
	CHECK_EQ(dd[1].flags, P | F | L);
	CHECK_EQ(dd[1].key.enabled, 1);
	__dusk_impl___dynamic_pr_debug(&dd[1], "m: hook %s\n", "x");
	LOCAL_IS("<7>m_hook:20: m: hook x\n");
	CHECK_EQ(dusk_dyndbg_exec("func m_hook =pm", NULL), 1);
	__dusk_impl___dynamic_pr_debug(&dd[1], "m: hook %s\n", "y");
	LOCAL_IS("<7>m: m: hook y\n");
	CHECK_EQ(dusk_dyndbg_exec("func m_hook =_", NULL), 1);
	CHECK_EQ(dd[1].flags, 0);
	CHECK_EQ(dd[1].key.enabled, 0);
	/* files by base name or path, line ranges, wildcards */
	CHECK_EQ(dusk_dyndbg_exec("file m_stats.c +p", NULL), 1);
	CHECK_EQ(dusk_dyndbg_exec("file /src/m/m_main.c line 10-20 +p", NULL), 2);
	CHECK_EQ(dd_on(), 0x77u);
	CHECK_EQ(dusk_dyndbg_exec("file m_main.c:15- -p", NULL), 1);
	CHECK_EQ(dusk_dyndbg_exec("line 1-9 -p", NULL), 1);
	CHECK_EQ(dd_on(), 0x11u);
	CHECK_EQ(dusk_dyndbg_exec("file m_*.c:m_h* +p", NULL), 1);
	CHECK_EQ(dusk_dyndbg_exec("func m_?nit -p", NULL), 1);
	CHECK_EQ(dd_on(), 0x22u);
	/* formats: substrings, escapes, ^ anchors; quoted words */
	CHECK_EQ(dusk_dyndbg_exec("format 'count\\tdone' +p", NULL), 1);
	CHECK_EQ(dusk_dyndbg_exec("format \"^m:\\040init\" +p", NULL), 1);
	CHECK_EQ(dusk_dyndbg_exec("format ^init +p", NULL), 0);
	CHECK_EQ(dd_on(), 0x77u);
	/* several queries; module names; comments */
	CHECK_EQ(dusk_dyndbg_exec("module m -p; module other +p\n# +p", NULL), 3);
	CHECK_EQ(dd_on(), 0u);
	CHECK_EQ(dusk_dyndbg_exec("func m_init +p", "other"), 0);
	/* errors, as the kernel reports them; the other queries still run */
	CHECK_EQ(dusk_dyndbg_exec("func m_init", NULL), -EINVAL);
	CHECK_EQ(dusk_dyndbg_exec("nosuch x +p", NULL), -EINVAL);
	CHECK_EQ(dusk_dyndbg_exec("+q", NULL), -EINVAL);
	CHECK_EQ(dusk_dyndbg_exec("line 9-3 +p", NULL), -EINVAL);
	CHECK_EQ(dusk_dyndbg_exec("func 'm_init +p", NULL), -EINVAL);
	CHECK_EQ(dusk_dyndbg_exec("func m_init func m_hook +p", NULL), -EINVAL);
	CHECK_EQ(dusk_dyndbg_exec("func m_init +p; bad", NULL), -EINVAL);
	CHECK_EQ(dd_on(), 0x11u);
	/* insmod's parameters: dyndbg (alone: +p), NAME.dyndbg */
	CHECK_EQ(dusk_dyndbg_param("dyndbg", "func m_hook +p"), 0);
	CHECK_EQ(dd_on(), 0x33u);
	CHECK_EQ(dusk_dyndbg_param("other.dyndbg", "+p"), 0);
	CHECK_EQ(dd_on(), 0x33u);
	CHECK_EQ(dusk_dyndbg_param("m.dyndbg", NULL), 0);
	CHECK_EQ(dd_on(), 0x77u);
	CHECK_EQ(dusk_dyndbg_param("dyndbgx", "+p"), -ENOENT);
	CHECK_EQ(dusk_dyndbg_param("x.debug", "+p"), -ENOENT);
	/* the thread's id, and no prefix at all without m/f/l/t */
	CHECK_EQ(dusk_dyndbg_exec("func m_count =pt", NULL), 1);
	__dusk_impl___dynamic_pr_debug(&dd[2], "m: n=%d\n", 3);
	{
		char want[64];

		snprintf(want, sizeof(want), "<7>[%d] m: n=3\n", dusk_klib_tid());
		LOCAL_IS(want);
	}
	__dusk_impl___dynamic_pr_debug(&dd[0], "m: init %d\n", 1);
	LOCAL_IS("<7>m: init 1\n");
	__dusk_impl___dynamic_dev_dbg(&dd[0], NULL, "m: no device\n");
	LOCAL_IS("<7>(NULL device *): m: no device\n");
	__dusk_dyndbg_register(NULL, NULL);
	CHECK_EQ(dusk_dyndbg_exec("+p", NULL), 0);
	dusk_printk_set_outputs(DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL);
}

int main(void)
{
	cap = open_memstream(&cap_buf, &cap_len);
	dusk_printk_set_stream(cap);
	test_local();
	test_kernel_log();
	test_ratelimit();
	test_hexdump();
	test_reports();
	test_dyndbg();
	dusk_printk_set_stream(NULL);
	return check_done("test_klib_printk");
}
