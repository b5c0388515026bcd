// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * printk, rate limits, hex dumps and the kernel's reports (WARN, BUG,
 * panic) at user level (klib_printk.h).
 */
#include <errno.h>
#include <execinfo.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "kconst.h"
#include "console.h"
#include "klib.h"
#include "klib_ctx.h"
#include "klib_fmt.h"
#include "klib_printk.h"
#include "klib_string.h"
#include "log.h"
#include "util.h"
#include "plock.h"

/* LOGLEVEL_DEFAULT, and default_message_loglevel as the target kernel's
 * configuration sets it (CONFIG_MESSAGE_LOGLEVEL_DEFAULT): kconst.h. */
#define LOGLEVEL_DEFAULT	DUSK_K_LOGLEVEL_DEFAULT
#define MESSAGE_LOGLEVEL	DUSK_K_CONFIG_MESSAGE_LOGLEVEL_DEFAULT
/* What the kernel keeps of one message (6.1: LOG_LINE_MAX is 1024 minus
 * a prefix); the local line gets the same. */
#define PRINTK_MAX		1024
#define CUT_HERE		"------------[ cut here ]------------\n"

static pthread_mutex_t printk_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned int printk_outputs = DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL;
/* The program's --no-kernel-log/--no-local-log mask the outputs. */
static unsigned int printk_allowed = DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL;
static FILE *printk_stream;
static int printk_line_open;	/* the last local message had no newline */
static int printk_kernel_failed;
static uint64_t printk_kernel_retry;	/* no kernel log before (ms) */
#define PRINTK_RETRY_MS		5000

DUSK_EXPORT void dusk_printk_set_outputs(unsigned int outputs)
{
	dusk_plock_mutex_lock(&printk_mu);
	printk_outputs = outputs & (DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL);
	pthread_mutex_unlock(&printk_mu);
}

void dusk_printk_allow(unsigned int outputs)
{
	dusk_plock_mutex_lock(&printk_mu);
	printk_allowed = outputs & (DUSK_PRINTK_LOCAL | DUSK_PRINTK_KERNEL);
	pthread_mutex_unlock(&printk_mu);
}

DUSK_EXPORT unsigned int dusk_printk_outputs(void)
{
	return __atomic_load_n(&printk_outputs, __ATOMIC_RELAXED);
}

void dusk_printk_set_stream(FILE *f)
{
	dusk_plock_mutex_lock(&printk_mu);
	printk_stream = f;
	printk_line_open = 0;
	pthread_mutex_unlock(&printk_mu);
}

int dusk_klib_tid(void)
{
	return (int)syscall(SYS_gettid);
}

/* 6.1 printk_parse_prefix(): every KERN_SOH pair at the start; the first
 * level counts. Returns the prefix length. */
static size_t parse_prefix(const char *text, int *level, int *cont)
{
	size_t n = 0;

	while (text[n] == '\001' && text[n + 1]) {
		char c = text[n + 1];

		if (c >= '0' && c <= '7') {
			if (*level == LOGLEVEL_DEFAULT)
				*level = c - '0';
		} else if (c == 'c') {
			*cont = 1;
		} else {
			break;
		}
		n += 2;
	}
	return n;
}

/* The message as printk stores it: locally and in the kernel's log. */
static int printk_emit(int level, const char *text, size_t len)
{
	unsigned int outputs;
	size_t plen;
	int cont = 0, err;
	FILE *f;

	plen = parse_prefix(text, &level, &cont);
	if (level == LOGLEVEL_DEFAULT)
		level = MESSAGE_LOGLEVEL;
	dusk_plock_mutex_lock(&printk_mu);
	outputs = printk_outputs;
	outputs &= printk_allowed;
	if (outputs & DUSK_PRINTK_LOCAL) {
		f = printk_stream ? printk_stream : dusk_console_out();
		flockfile(f);
		if (printk_line_open && !cont)
			putc_unlocked('\n', f);
		if (!printk_line_open || !cont)
			fprintf(f, "<%d>", level);
		fwrite(text + plen, 1, len - plen, f);
		printk_line_open = len > plen && text[len - 1] != '\n';
		funlockfile(f);
		fflush(f);
	}
	pthread_mutex_unlock(&printk_mu);
	if ((outputs & DUSK_PRINTK_KERNEL) && dusk_klib_session() &&
	    dusk_now_ms() >= __atomic_load_n(&printk_kernel_retry,
					     __ATOMIC_RELAXED)) {
		err = dusk_klib_kprintk(text, len);
		if (err) {
			/* Each try may wait for the request timeout: not for
			 * every message while the target does not answer. */
			__atomic_store_n(&printk_kernel_retry,
					 dusk_now_ms() + PRINTK_RETRY_MS,
					 __ATOMIC_RELAXED);
			if (!__atomic_exchange_n(&printk_kernel_failed, 1,
						 __ATOMIC_RELAXED))
				dusk_warn("printk to the target's log failed (%s): local only until it works again (tried again every %d s)",
					  strerror(-err), PRINTK_RETRY_MS / 1000);
		} else {
			__atomic_store_n(&printk_kernel_failed, 0,
					 __ATOMIC_RELAXED);
		}
	}
	return (int)(len - plen);
}

static int vprintk_level(int level, const char *fmt, va_list args)
{
	char text[PRINTK_MAX];
	int len = dusk_kvsnprintf(text, sizeof(text), fmt, args);

	if (len < 0)
		return 0;
	if ((size_t)len >= sizeof(text))
		len = sizeof(text) - 1;
	return printk_emit(level, text, (size_t)len);
}

DUSK_EXPORT int __dusk_impl_vprintk(const char *fmt, va_list args)
{
	return vprintk_level(LOGLEVEL_DEFAULT, fmt, args);
}

DUSK_EXPORT int __dusk_impl__printk(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vprintk_level(LOGLEVEL_DEFAULT, fmt, ap);
	va_end(ap);
	return ret;
}

/* Deferred to a safe context in the kernel (irq_work); nothing to defer
 * at user level. */
DUSK_EXPORT int __dusk_impl__printk_deferred(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vprintk_level(LOGLEVEL_DEFAULT, fmt, ap);
	va_end(ap);
	return ret;
}

DUSK_EXPORT int __dusk_impl_vprintk_emit(int facility, int level,
					 const void *dev_info,
					 const char *fmt, va_list args)
{
	return vprintk_level(level, fmt, args);
}

/* ---- dev_printk ----------------------------------------------------------------------- */

/*
 * dev_driver_string(dev) (a kernel call: the driver's or the bus's name)
 * and dev_name(dev): a registered device's name is its kobject's, the
 * first member of struct device, whose first member is the name pointer.
 * Only for a kernel address: the kernel must never read the program's.
 */
static void dev_prefix(const void *dev, char *buf, size_t len)
{
	uint64_t k = dusk_klib_ident(dev), drv = 0;
	const char *name = NULL;
	char dname[128] = "";

	if (k < DUSK_KERNEL_MIN) {
		snprintf(buf, len, "(device %p) ", dev);
		return;
	}
	if (!dusk_klib_kcall("dev_driver_string", &k, 1, &drv) && drv)
		snprintf(dname, sizeof(dname), "%s",
			 (const char *)__dusk_check_str((void *)(uintptr_t)drv));
	name = *(const char *const *)__dusk_check((void *)(uintptr_t)k,
						  sizeof(name));
	snprintf(buf, len, "%s %s: ", dname,
		 name ? (const char *)__dusk_check_str(name) : "(null)");
}

int dusk_klib_dev_vprintk(const char *level, const char *extra,
			  const void *dev, const char *fmt, va_list ap)
{
	char text[PRINTK_MAX], prefix[384], dprefix[320];
	struct dusk_va_format vaf;
	const char *lvl = level ? (const char *)__dusk_check_str(level) : "";
	char lv[8];
	va_list aq;
	int len;

	snprintf(lv, sizeof(lv), "%s", lvl);
	if (dev) {
		dev_prefix(dev, dprefix, sizeof(dprefix));
		snprintf(prefix, sizeof(prefix), "%s%s", extra, dprefix);
	} else
		snprintf(prefix, sizeof(prefix), "(NULL device *): ");
	va_copy(aq, ap);
	vaf.fmt = fmt;
	vaf.va = &aq;
	len = dusk_ksnprintf(text, sizeof(text), "%s%s%pV", lv, prefix, &vaf);
	va_end(aq);
	if ((size_t)len >= sizeof(text))
		len = sizeof(text) - 1;
	return printk_emit(LOGLEVEL_DEFAULT, text, (size_t)len);
}

DUSK_EXPORT void __dusk_impl__dev_printk(const char *level, const void *dev,
					 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dusk_klib_dev_vprintk(level, "", dev, fmt, ap);
	va_end(ap);
}

#define DEV_LEVEL(name, lvl)						\
DUSK_EXPORT void __dusk_impl__dev_##name(const void *dev,		\
					 const char *fmt, ...)		\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	dusk_klib_dev_vprintk("\001" #lvl, "", dev, fmt, ap);		\
	va_end(ap);							\
}

DEV_LEVEL(emerg, 0)
DEV_LEVEL(alert, 1)
DEV_LEVEL(crit, 2)
DEV_LEVEL(err, 3)
DEV_LEVEL(warn, 4)
DEV_LEVEL(notice, 5)
DEV_LEVEL(info, 6)

/* ---- reports ---------------------------------------------------------------------- */

static pthread_mutex_t report_mu = PTHREAD_MUTEX_INITIALIZER;

/* The calling thread's frames, named from the program's symbols (the
 * module runtime's ELF reader, else the dynamic symbols) as the kernel's
 * call traces are: "func+0x1c/0x90 [object]". Frames of code compiled
 * without unwind tables may end the trace early. */
void dusk_klib_backtrace(void)
{
	void *frames[64];
	char line[600];
	int n = backtrace(frames, (int)DUSK_ARRAY_SIZE(frames)), i;

	fputs("Call Trace (the program's):\n", dusk_console_err());
	/* The first frame is this function. */
	dusk_klib_local_only(1);
	for (i = 1; i < n; i++) {
		dusk_ksnprintf(line, sizeof(line), " %pB", frames[i]);
		if (strstr(line, "+0x"))
			fprintf(dusk_console_err(), "%s\n", line);
		else
			backtrace_symbols_fd(frames + i, 1, STDERR_FILENO);
	}
	dusk_klib_local_only(0);
	fflush(dusk_console_err());
}

static void report_header(const char *what, const char *where)
{
	fprintf(dusk_console_err(), "%s: CPU: %d PID: %d Comm: %s%s%s\n", what,
		dusk_ctx_cpu(), dusk_klib_tid(), program_invocation_short_name,
		where ? " at " : "", where ? where : "");
}

void dusk_klib_warn(int cut, const char *where, const char *fmt, ...)
{
	char msg[1024] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	dusk_plock_mutex_lock(&report_mu);
	fflush(dusk_console_out());
	if (cut)
		fputs(CUT_HERE, dusk_console_err());
	if (*msg)
		fprintf(dusk_console_err(), "%s\n", msg);
	report_header("WARNING", where);
	dusk_klib_backtrace();
	fputs("---[ end trace ]---\n", dusk_console_err());
	fflush(dusk_console_err());
	pthread_mutex_unlock(&report_mu);
}

void dusk_klib_bug(const char *where, const char *fmt, ...)
{
	char msg[1024] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	dusk_plock_mutex_lock(&report_mu);
	fflush(dusk_console_out());
	fputs(CUT_HERE, dusk_console_err());
	if (where)
		fprintf(dusk_console_err(), "kernel BUG at %s!\n", where);
	if (*msg)
		fprintf(dusk_console_err(), "BUG: %s\n", msg);
	report_header("Oops", NULL);
	dusk_klib_backtrace();
	fputs("---[ end trace ]--- (the program stops here: where the .ko would oops)\n",
	      dusk_console_err());
	fflush(dusk_console_err());
	pthread_mutex_unlock(&report_mu);
	dusk_console_abort();
}

/* BUGFLAG_ONCE: the kernel marks the __bug_table entry done; here, the
 * (file, line) pairs seen. */
static int bug_once_seen(const char *file, unsigned int line)
{
	static struct {
		const char *file;
		unsigned int line;
	} seen[256];
	static unsigned int nr;
	unsigned int i;
	int found = 0;

	dusk_plock_mutex_lock(&report_mu);
	for (i = 0; i < nr && !found; i++)
		found = seen[i].file == file && seen[i].line == line;
	if (!found && nr < DUSK_ARRAY_SIZE(seen)) {
		seen[nr].file = file;
		seen[nr].line = line;
		nr++;
	}
	pthread_mutex_unlock(&report_mu);
	return found;
}

DUSK_EXPORT void __dusk_bug(const char *file, unsigned int line,
			    unsigned int flags)
{
	char where[512];

	if (file)
		snprintf(where, sizeof(where), "%s:%u",
			 (const char *)__dusk_check_str(file), line);
	else
		snprintf(where, sizeof(where), "%p",
			 __builtin_return_address(0));
	if (flags & DUSK_BUGFLAG_WARNING) {
		if ((flags & DUSK_BUGFLAG_ONCE) && bug_once_seen(file, line))
			return;
		dusk_klib_warn(!(flags & DUSK_BUGFLAG_NO_CUT_HERE), where,
			       "%s", "");
		return;
	}
	dusk_klib_bug(where, "%s", "");
}

DUSK_EXPORT void __dusk_impl___warn_printk(const char *fmt, ...)
{
	va_list ap;

	__dusk_impl__printk("\0014" CUT_HERE);
	va_start(ap, fmt);
	vprintk_level(LOGLEVEL_DEFAULT, fmt, ap);
	va_end(ap);
}

/* Only without __WARN_FLAGS (not on x86): the message, then the report. */
DUSK_EXPORT void __dusk_impl_warn_slowpath_fmt(const char *file,
					       const int line,
					       unsigned int taint,
					       const char *fmt, ...)
{
	char where[512];
	va_list ap;

	__dusk_impl__printk("\0014" CUT_HERE);
	if (fmt) {
		va_start(ap, fmt);
		vprintk_level(LOGLEVEL_DEFAULT, fmt, ap);
		va_end(ap);
	}
	snprintf(where, sizeof(where), "%s:%d",
		 file ? (const char *)__dusk_check_str(file) : "?", line);
	dusk_klib_warn(0, where, "%s", "");
}

DUSK_EXPORT void __dusk_impl_panic(const char *fmt, ...)
{
	char msg[PRINTK_MAX];
	va_list ap;

	va_start(ap, fmt);
	dusk_kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dusk_plock_mutex_lock(&report_mu);
	fflush(dusk_console_out());
	fprintf(dusk_console_err(), "Kernel panic - not syncing: %s\n", msg);
	report_header("Panic", NULL);
	dusk_klib_backtrace();
	fputs("---[ end Kernel panic ]--- (of the program, not of the target)\n",
	      dusk_console_err());
	fflush(dusk_console_err());
	pthread_mutex_unlock(&report_mu);
	dusk_console_abort();
}

DUSK_EXPORT void __dusk_impl_fortify_panic(const char *name)
{
	dusk_klib_bug(NULL, "detected buffer overflow in %s",
		      name ? (const char *)__dusk_check_str(name) : "?");
}

DUSK_EXPORT void __dusk_impl_dump_stack_lvl(const char *log_lvl)
{
	dusk_plock_mutex_lock(&report_mu);
	fflush(dusk_console_out());
	report_header("dump_stack", NULL);
	dusk_klib_backtrace();
	fflush(dusk_console_err());
	pthread_mutex_unlock(&report_mu);
}

DUSK_EXPORT void __dusk_impl_dump_stack(void)
{
	__dusk_impl_dump_stack_lvl(NULL);
}

/* ---- rate limits ------------------------------------------------------------------ */

/* struct dusk_ratelimit_state is the target kernel's ratelimit_state. */
#define DUSK_RS_FIELD(f, F)						\
	(offsetof(struct dusk_ratelimit_state, f) ==			\
	 DUSK_K_RATELIMIT_STATE__##F &&					\
	 sizeof(((struct dusk_ratelimit_state *)0)->f) ==		\
	 DUSK_K_SIZEOF_RATELIMIT_STATE__##F)
_Static_assert(sizeof(struct dusk_ratelimit_state) ==
	       DUSK_K_SIZEOF_RATELIMIT_STATE &&
	       DUSK_RS_FIELD(lock, LOCK) && DUSK_RS_FIELD(interval, INTERVAL) &&
	       DUSK_RS_FIELD(burst, BURST) && DUSK_RS_FIELD(printed, PRINTED) &&
	       DUSK_RS_FIELD(missed, MISSED) && DUSK_RS_FIELD(begin, BEGIN) &&
	       DUSK_RS_FIELD(flags, FLAGS),
	       "struct dusk_ratelimit_state is not the target kernel's struct ratelimit_state (kconst.h)");
_Static_assert(DUSK_RATELIMIT_MSG_ON_RELEASE == DUSK_K_RATELIMIT_MSG_ON_RELEASE,
	       "RATELIMIT_MSG_ON_RELEASE of the target kernel");

static inline int time_after(unsigned long a, unsigned long b)
{
	return (long)(b - a) < 0;
}

/* lib/ratelimit.c. rs may be kernel memory: its lock is taken in the lock
 * emulation (never written); the "callbacks suppressed" message is printed
 * once the state is updated (printing may call the kernel, which
 * invalidates the mirror). */
DUSK_EXPORT int __dusk_impl____ratelimit(struct dusk_ratelimit_state *rs,
					 const char *func)
{
	struct dusk_ratelimit_state *m;
	unsigned long flags, now;
	int missed = 0, ret;

	m = __dusk_check_w(rs, sizeof(*rs));
	if (!m->interval)
		return 1;
	flags = __dusk_irq_flags();
	__dusk_irq_disable();
	if (!__dusk_impl__raw_spin_trylock(&rs->lock)) {
		if (flags & DUSK_X86_EFLAGS_IF)
			__dusk_irq_enable();
		return 0;
	}
	m = __dusk_check_w(rs, sizeof(*rs));
	now = dusk_klib_jiffies();
	if (!m->begin)
		m->begin = now;
	if (time_after(now, m->begin + (unsigned long)m->interval)) {
		if (m->missed && !(m->flags & DUSK_RATELIMIT_MSG_ON_RELEASE)) {
			missed = m->missed;
			m->missed = 0;
		}
		m->begin = now;
		m->printed = 0;
	}
	if (m->burst && m->burst > m->printed) {
		m->printed++;
		ret = 1;
	} else {
		m->missed++;
		ret = 0;
	}
	__dusk_impl__raw_spin_unlock_irqrestore(&rs->lock, flags);
	if (missed)
		__dusk_impl__printk("\0014%s: %d callbacks suppressed\n",
				    func ? (const char *)__dusk_check_str(func) :
					   "?", missed);
	return ret;
}

/* The kernel's printk_ratelimit_state and net_ratelimit_state: 5 * HZ,
 * burst 10; here for the program's own messages. */
static struct dusk_ratelimit_state printk_rs, net_rs;
static pthread_once_t rs_once = PTHREAD_ONCE_INIT;

static void rs_init(void)
{
	printk_rs.interval = net_rs.interval = 5 * (int)dusk_klib_hz();
	printk_rs.burst = net_rs.burst = 10;
}

DUSK_EXPORT int __dusk_impl___printk_ratelimit(const char *func)
{
	pthread_once(&rs_once, rs_init);
	return __dusk_impl____ratelimit(&printk_rs, func);
}

DUSK_EXPORT int __dusk_impl_net_ratelimit(void)
{
	pthread_once(&rs_once, rs_init);
	return __dusk_impl____ratelimit(&net_rs, "net_ratelimit");
}

DUSK_EXPORT bool __dusk_impl_printk_timed_ratelimit(unsigned long *caller_jiffies,
						    unsigned int interval_msecs)
{
	unsigned long *m = __dusk_check_w(caller_jiffies, sizeof(*m));
	unsigned long now = dusk_klib_jiffies();
	unsigned long ivl = ((unsigned long)interval_msecs * dusk_klib_hz() +
			     999) / 1000;

	if (*m && now - *m <= ivl)
		return false;
	*m = now;
	return true;
}

/* ---- hex dumps (lib/hexdump.c) -------------------------------------------------------- */

static int hexdump_line(const uint8_t *ptr, size_t len, int rowsize,
			int groupsize, char *linebuf, size_t linebuflen,
			bool ascii)
{
	int j, ngroups, ascii_column;
	size_t lx = 0;
	int ret;

	if (rowsize != 16 && rowsize != 32)
		rowsize = 16;
	if (len > (size_t)rowsize)
		len = (size_t)rowsize;
	if (groupsize <= 0 || (groupsize & (groupsize - 1)) || groupsize > 8)
		groupsize = 1;
	if (len % (size_t)groupsize)
		groupsize = 1;
	ngroups = (int)len / groupsize;
	ascii_column = rowsize * 2 + rowsize / groupsize + 1;
	if (!linebuflen)
		goto overflow1;
	if (!len)
		goto nil;
	if (groupsize > 1) {
		for (j = 0; j < ngroups; j++) {
			unsigned long long v = 0;
			const char *f = groupsize == 8 ? "%s%16.16llx" :
					groupsize == 4 ? "%s%8.8llx" :
							 "%s%4.4llx";

			memcpy(&v, ptr + (size_t)j * groupsize,
			       (size_t)groupsize);
			ret = snprintf(linebuf + lx, linebuflen - lx, f,
				       j ? " " : "", v);
			if (ret < 0 || (size_t)ret >= linebuflen - lx)
				goto overflow1;
			lx += (size_t)ret;
		}
	} else {
		for (j = 0; (size_t)j < len; j++) {
			if (linebuflen < lx + 2)
				goto overflow2;
			linebuf[lx++] = __dusk_impl_hex_asc[ptr[j] >> 4];
			if (linebuflen < lx + 2)
				goto overflow2;
			linebuf[lx++] = __dusk_impl_hex_asc[ptr[j] & 15];
			if (linebuflen < lx + 2)
				goto overflow2;
			linebuf[lx++] = ' ';
		}
		if (j)
			lx--;
	}
	if (!ascii)
		goto nil;
	while (lx < (size_t)ascii_column) {
		if (linebuflen < lx + 2)
			goto overflow2;
		linebuf[lx++] = ' ';
	}
	for (j = 0; (size_t)j < len; j++) {
		if (linebuflen < lx + 2)
			goto overflow2;
		linebuf[lx++] = dusk_kisascii(ptr[j]) && dusk_kisprint(ptr[j]) ?
				(char)ptr[j] : '.';
	}
nil:
	linebuf[lx] = '\0';
	return (int)lx;
overflow2:
	linebuf[lx++] = '\0';
overflow1:
	return ascii ? ascii_column + (int)len :
		       (groupsize * 2 + 1) * ngroups - 1;
}

DUSK_EXPORT int __dusk_impl_hex_dump_to_buffer(const void *buf, size_t len,
					       int rowsize, int groupsize,
					       char *linebuf,
					       size_t linebuflen, bool ascii)
{
	char tmp[32 * 3 + 2 + 32 + 1];
	size_t n = DUSK_MIN(len, (size_t)32);
	uint8_t data[32];
	int ret;

	if (n)
		memcpy(data, __dusk_check(buf, n), n);
	if (!dusk_klib_remote(linebuf))
		return hexdump_line(data, len, rowsize, groupsize, linebuf,
				    linebuflen, ascii);
	ret = hexdump_line(data, len, rowsize, groupsize, tmp,
			   DUSK_MIN(linebuflen, sizeof(tmp)), ascii);
	if (linebuflen)
		memcpy(__dusk_check_w(linebuf, strlen(tmp) + 1), tmp,
		       strlen(tmp) + 1);
	return ret;
}

DUSK_EXPORT void __dusk_impl_print_hex_dump(const char *level,
					    const char *prefix_str,
					    int prefix_type, int rowsize,
					    int groupsize, const void *buf,
					    size_t len, bool ascii)
{
	char linebuf[32 * 3 + 2 + 32 + 1];
	char *lvl = strdup(level ? (const char *)__dusk_check_str(level) : "");
	char *prefix = strdup(prefix_str ?
			      (const char *)__dusk_check_str(prefix_str) : "");
	uint8_t *data = malloc(len ? len : 1);
	size_t i, linelen, remaining = len;

	if (!lvl || !prefix || !data)
		dusk_klib_bug(NULL, "out of memory in print_hex_dump");
	if (len)
		memcpy(data, __dusk_check(buf, len), len);
	if (rowsize != 16 && rowsize != 32)
		rowsize = 16;
	for (i = 0; i < len; i += (size_t)rowsize) {
		linelen = DUSK_MIN(remaining, (size_t)rowsize);
		remaining -= linelen;
		hexdump_line(data + i, linelen, rowsize, groupsize, linebuf,
			     sizeof(linebuf), ascii);
		switch (prefix_type) {
		case DUSK_DUMP_PREFIX_ADDRESS:
			__dusk_impl__printk("%s%s%p: %s\n", lvl, prefix,
					    (const char *)buf + i, linebuf);
			break;
		case DUSK_DUMP_PREFIX_OFFSET:
			__dusk_impl__printk("%s%s%.8zx: %s\n", lvl, prefix, i,
					    linebuf);
			break;
		default:
			__dusk_impl__printk("%s%s%s\n", lvl, prefix, linebuf);
			break;
		}
	}
	free(data);
	free(prefix);
	free(lvl);
}
