// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * A crash of the module's code (SIGSEGV, SIGBUS, SIGILL, SIGFPE), reported
 * as the kernel reports an oops of the .ko (arch/x86/mm/fault.c,
 * arch/x86/kernel/traps.c, dumpstack.c), then the session released and
 * the program ended by the signal:
 *
 *	BUG: kernel NULL pointer dereference, address: 0000000000000008
 *	#PF: supervisor write access in kernel mode
 *	#PF: error_code(0x0002) - not-present page
 *	Oops: 0002 [#1] PREEMPT SMP NOPTI
 *	CPU: 1 PID: 4242 Comm: crashmod (a user-level module program)
 *	RIP: 0010:crashmod_hook+0x5e/0x140 [crashmod] /src/crashmod.c:57
 *	RSP: ...registers...
 *	Call Trace:
 *	 <IRQ>
 *	 crashmod_hook+0x5e/0x140 [crashmod] /src/crashmod.c:57
 *	 </IRQ>
 *	Hook: NF_INET_PRE_ROUTING (0) of NFPROTO_IPV4 (2), crashmod_hook, packet 3: 127.0.0.1:4000 -> 127.0.0.1:9300 UDP len 33, CPU 1
 *	---[ end trace 0000000000000000 ]---
 *
 * The lines come from the DWARF tables read at start (mod_lines.c); the
 * frames from the unwinder (glibc's backtrace(), loaded at start), which
 * steps through the signal frame with the unwind tables dusk-cc keeps in
 * module objects (-fasynchronous-unwind-tables: no layout changes). Only
 * the module's frames are shown, as the kernel shows only kernel code.
 *
 * Everything here formats into a buffer on the stack and writes it with
 * write(2); the packet line uses snprintf of integers and strings (no
 * allocation). Then the watchdog's pipe is closed: it sends BYE, dusk.ko
 * removes the session's hooks and releases its queued packets by policy;
 * the handler waits for that (2 s at most), restores the default action
 * and lets the fault happen again: the program dies by the signal (exit
 * status 128 + signal in a shell, a core if enabled). Under gdb, gdb
 * sees the signal before this handler and stops at the faulting line.
 */
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "console.h"
#include "kconst.h"
#include "mod_lines.h"
#include "modrt.h"
#include "hook.h"
#include "packet.h"
#include "session.h"
#include "util.h"
#include "watchdog.h"

#define CRASH_RELEASE_MS	2000
#define CRASH_ALTSTACK		(64 * 1024)

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };

/* ---- formatting without allocation ---- */

struct cbuf {
	int fd;
	size_t n;
	char b[1024];
};

static void cb_flush(struct cbuf *c)
{
	size_t off = 0;
	ssize_t w;

	while (off < c->n) {
		w = write(c->fd, c->b + off, c->n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	c->n = 0;
}

static void cb_s(struct cbuf *c, const char *s)
{
	if (!s)
		s = "?";
	for (; *s; s++) {
		if (c->n == sizeof(c->b))
			cb_flush(c);
		c->b[c->n++] = *s;
	}
}

/* v in hex, at least width digits, no prefix. */
static void cb_x(struct cbuf *c, uint64_t v, int width)
{
	char t[17];
	int i = 16;

	t[16] = '\0';
	do {
		t[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v || 16 - i < width);
	cb_s(c, t + i);
}

static void cb_u(struct cbuf *c, uint64_t v)
{
	char t[21];
	int i = 20;

	t[20] = '\0';
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	cb_s(c, t + i);
}

/* ---- the report ---- */

/* "func+0x5e/0x140 [prog] /src/x.c:57" of pc (the lines of line_pc),
 * then end. */
static void crash_frame(struct cbuf *c, uintptr_t pc, uintptr_t line_pc,
			const char *end)
{
	const struct dusk_msym *sym = dusk_image_func(pc);
	struct dusk_line l;

	if (sym) {
		cb_s(c, sym->name);
		cb_s(c, "+0x");
		cb_x(c, pc - sym->addr, 1);
		cb_s(c, "/0x");
		cb_x(c, sym->size, 1);
	} else {
		cb_s(c, "0x");
		cb_x(c, pc, 1);
	}
	cb_s(c, " [");
	cb_s(c, program_invocation_short_name);
	cb_s(c, "]");
	if (!dusk_lines_find(line_pc, &l)) {
		cb_s(c, " ");
		cb_s(c, l.file);
		cb_s(c, ":");
		cb_u(c, l.line);
		if (l.inl_func) {
			cb_s(c, " (in ");
			cb_s(c, l.inl_func);
			cb_s(c, " inlined from ");
			cb_s(c, l.inl_file);
			cb_s(c, ":");
			cb_u(c, l.inl_line);
			cb_s(c, ")");
		}
	}
	cb_s(c, end);
}

static const char *crash_hook_name(unsigned int hooknum)
{
	const char *name = dusk_nf_hook_name(hooknum);

	return name ? name : "hook";
}

static const char *crash_pf_name(int pf)
{
	switch (pf) {
	case 1: return "NFPROTO_INET";
	case 2: return "NFPROTO_IPV4";
	case 10: return "NFPROTO_IPV6";
	default: return "NFPROTO";
	}
}

/* A page fault at addr, error code err, as the kernel words it, up to
 * "Oops: <code>". */
static void crash_pf(struct cbuf *c, uint64_t addr, uint64_t err)
{
	if (addr < 4096)
		cb_s(c, "BUG: kernel NULL pointer dereference, address: ");
	else
		cb_s(c, "BUG: unable to handle page fault for address: ");
	cb_x(c, addr, 16);
	cb_s(c, "\n#PF: supervisor ");
	cb_s(c, err & 16 ? "instruction fetch" :
		err & 2 ? "write access" : "read access");
	cb_s(c, " in kernel mode\n#PF: error_code(0x");
	cb_x(c, err, 4);
	cb_s(c, ") - ");
	cb_s(c, !(err & 1) ? "not-present page" :
		err & 8 ? "reserved bit violation" :
		err & 32 ? "protection keys violation" :
		"permissions violation");
	cb_s(c, "\nOops: ");
	cb_x(c, err, 4);
}

/* The rest of the "Oops:" line, and the CPU line. */
static void crash_oops_tail(struct cbuf *c)
{
	cb_s(c, " [#1] PREEMPT SMP NOPTI\nCPU: ");
	cb_u(c, dusk_mod_cpu());
	cb_s(c, " PID: ");
	cb_u(c, (uint64_t)gettid());
	cb_s(c, " Comm: ");
	cb_s(c, program_invocation_short_name);
	cb_s(c, " (a user-level module program, not the kernel)\n");
}

/* The first lines: what the kernel says for this fault. */
static void crash_header(struct cbuf *c, int sig, const siginfo_t *si,
			 const greg_t *g)
{
	uint64_t addr = (uintptr_t)si->si_addr;
	uint64_t err = (uint64_t)g[REG_ERR] & ~4ULL;	/* as in kernel mode */
	int pf = sig == SIGSEGV && g[REG_TRAPNO] == 14;

	if (pf || sig == SIGBUS) {
		crash_pf(c, addr, err);
	} else if (sig == SIGSEGV) {
		/* #GP: a non-canonical address, whose value the CPU does not
		 * report */
		cb_s(c, "general protection fault, probably for non-canonical address: ");
		cb_x(c, 0, 4);
	} else if (sig == SIGFPE) {
		cb_s(c, "divide error: ");
		cb_x(c, 0, 4);
	} else {
		cb_s(c, "invalid opcode: ");
		cb_x(c, 0, 4);
	}
	crash_oops_tail(c);
}

static void crash_regs(struct cbuf *c, const greg_t *g)
{
	static const struct { const char *name; int reg; } r[] = {
		{ "RAX", REG_RAX }, { "RBX", REG_RBX }, { "RCX", REG_RCX },
		{ "RDX", REG_RDX }, { "RSI", REG_RSI }, { "RDI", REG_RDI },
		{ "RBP", REG_RBP }, { "R08", REG_R8 }, { "R09", REG_R9 },
		{ "R10", REG_R10 }, { "R11", REG_R11 }, { "R12", REG_R12 },
		{ "R13", REG_R13 }, { "R14", REG_R14 }, { "R15", REG_R15 },
	};
	unsigned int i;

	cb_s(c, "RSP: 0018:");
	cb_x(c, (uint64_t)g[REG_RSP], 16);
	cb_s(c, " EFLAGS: ");
	cb_x(c, (uint64_t)g[REG_EFL], 8);
	cb_s(c, "\n");
	for (i = 0; i < DUSK_ARRAY_SIZE(r); i++) {
		cb_s(c, r[i].name);
		cb_s(c, ": ");
		cb_x(c, (uint64_t)g[r[i].reg], 16);
		cb_s(c, i % 3 == 2 ? "\n" : " ");
	}
}

/* The module's frames among frames[from..n): the first is the faulting
 * pc itself when exact, else (as all others) a return address. */
static void crash_frames(struct cbuf *c, void *const *frames, int from, int n,
			 int exact)
{
	int i;

	for (i = from; i < n; i++) {
		uintptr_t pc = (uintptr_t)frames[i];
		uintptr_t line_pc = i == from && exact ? pc : pc - 1;

		if (!dusk_lines_module(line_pc))
			continue;
		cb_s(c, " ");
		crash_frame(c, pc, line_pc, "\n");
	}
}

/* The module's frames, from the faulting instruction outwards. */
static void crash_trace(struct cbuf *c, const greg_t *g, int in_irq)
{
	uintptr_t rip = (uintptr_t)g[REG_RIP];
	void *frames[64];
	int n, i, from = -1;

	n = backtrace(frames, (int)DUSK_ARRAY_SIZE(frames));
	for (i = 0; i < n && from < 0; i++)
		if ((uintptr_t)frames[i] == rip)
			from = i;
	cb_s(c, "Call Trace:\n");
	cb_s(c, in_irq ? " <IRQ>\n" : " <TASK>\n");
	if (from < 0) {
		/* No unwind information at rip (a jump to a bad address):
		 * the call that went there left its return address on top
		 * of the stack. */
		uintptr_t ret = *(const uintptr_t *)g[REG_RSP];

		if (dusk_lines_module(rip)) {
			cb_s(c, " ");
			crash_frame(c, rip, rip, "\n");
		}
		if (dusk_lines_module(ret - 1)) {
			cb_s(c, " ");
			crash_frame(c, ret, ret - 1, "\n");
		}
	} else {
		crash_frames(c, frames, from, n, 1);
	}
	cb_s(c, in_irq ? " </IRQ>\n" : " </TASK>\n");
}

/* The module's frame the report's "RIP" line names when the faulting
 * instruction is not the module's (a libc function it called). */
static uintptr_t crash_module_pc(const greg_t *g, uintptr_t *line_pc)
{
	uintptr_t rip = (uintptr_t)g[REG_RIP];
	void *frames[64];
	int n, i, seen = 0;

	if (dusk_lines_module(rip)) {
		*line_pc = rip;
		return rip;
	}
	n = backtrace(frames, (int)DUSK_ARRAY_SIZE(frames));
	for (i = 0; i < n; i++) {
		uintptr_t pc = (uintptr_t)frames[i];

		if (pc == rip)
			seen = 1;
		else if (seen && dusk_lines_module(pc - 1)) {
			*line_pc = pc - 1;
			return pc;
		}
	}
	return 0;
}

/* The kernel runs netfilter hooks in softirq context, but for the
 * output hooks of locally sent packets. */
static int crash_in_irq(int in_hook, const struct dusk_nf_info *h)
{
	return in_hook && h->hooknum != DUSK_K_NF_INET_LOCAL_OUT &&
	       h->hooknum != DUSK_K_NF_INET_POST_ROUTING;
}

/* What the module was doing: "Hook: NF_INET_PRE_ROUTING (0) of
 * NFPROTO_IPV4 (2), fn, packet, CPU", or process context. */
static void crash_hook_line(struct cbuf *c, int in_hook,
			    const struct dusk_nf_info *h)
{
	const char *fop = dusk_fops_current();
	const struct dusk_msym *fn;
	struct dusk_inv_info inv;
	char pkt[160];

	if (!in_hook && fop && !dusk_invocation_info(&inv) &&
	    inv.kind == DUSK_INV_CALLBACK) {
		/* A file operation, in the calling task's context. */
		cb_s(c, "In: ");
		cb_s(c, fop);
		cb_s(c, ", process context of pid ");
		cb_u(c, inv.pid);
		cb_s(c, " (");
		cb_s(c, inv.comm);
		cb_s(c, "), CPU ");
		cb_u(c, inv.cpu);
		cb_s(c, "\n");
		return;
	}
	if (!in_hook) {
		cb_s(c, "In: process context (init_module, cleanup_module or a call from them)\n");
		return;
	}
	fn = dusk_image_func((uintptr_t)h->fn);
	cb_s(c, "Hook: ");
	cb_s(c, crash_hook_name(h->hooknum));
	cb_s(c, " (");
	cb_u(c, h->hooknum);
	cb_s(c, ") of ");
	cb_s(c, crash_pf_name(h->pf));
	cb_s(c, " (");
	cb_u(c, (uint64_t)h->pf);
	cb_s(c, "), ");
	cb_s(c, fn ? fn->name : "?");
	if (!dusk_packet_describe(pkt, sizeof(pkt))) {
		cb_s(c, ", ");
		cb_s(c, pkt);
	}
	cb_s(c, ", CPU ");
	cb_u(c, dusk_mod_cpu());
	cb_s(c, "\n");
}

/* From RIP on: where, the registers, the module's frames, what it was
 * doing. */
static void crash_body(struct cbuf *c, const greg_t *g)
{
	uintptr_t rip = (uintptr_t)g[REG_RIP], mpc, line_pc = 0;
	struct dusk_nf_info h;
	int in_hook = !dusk_nf_current(&h);

	cb_s(c, "RIP: 0010:");
	crash_frame(c, rip, rip, "\n");
	mpc = crash_module_pc(g, &line_pc);
	if (mpc && mpc != rip) {
		cb_s(c, "(in the module: ");
		crash_frame(c, mpc, line_pc, ")\n");
	}
	crash_regs(c, g);
	crash_trace(c, g, crash_in_irq(in_hook, &h));
	crash_hook_line(c, in_hook, &h);
}

/* The end of an oops report, then the session released (the watchdog's
 * BYE). */
static void crash_end(struct cbuf *c)
{
	cb_s(c, "---[ end trace 0000000000000000 ]---\n");
	cb_flush(c);
	if (!dusk_watchdog_release(dusk_session_cur, CRASH_RELEASE_MS)) {
		cb_s(c, "dusk: session ended: dusk.ko removed the module's hooks and released its queued packets\n");
		cb_flush(c);
	}
}

static atomic_int crash_busy;

/* Whatever printk said before the report comes first, unless the
 * report interrupts stdio (its lock held). */
static void crash_flush_console(void)
{
	FILE *out = dusk_console_out();

	if (!ftrylockfile(out)) {
		fflush_unlocked(out);
		funlockfile(out);
	}
}

/*
 * A kernel call dusk.ko refused: the .ko would have faulted reading the
 * argument in fn, so the report is that oops (a read, of a page not
 * present), with fn as RIP, the call's arguments in the registers the
 * kernel function gets them in, and the module's frames from its call.
 */
void dusk_crash_kcall(const char *fn, const uint64_t *args, unsigned int n,
		      const char *what, uint64_t value, uint64_t fault)
{
	static const char *const regs[DUSK_MAX_CALL_ARGS] = {
		"RDI", "RSI", "RDX", "RCX", "R08", "R09",
	};
	struct dusk_nf_info h;
	void *frames[64];
	struct cbuf c;
	int nf, i, in_hook;
	unsigned int r;

	if (atomic_exchange(&crash_busy, 1))
		for (;;)
			pause();
	crash_flush_console();
	c.fd = fileno(dusk_console_err());
	c.n = 0;
	in_hook = !dusk_nf_current(&h);
	crash_pf(&c, fault, 0);
	crash_oops_tail(&c);
	cb_s(&c, "RIP: 0010:");
	cb_s(&c, fn);
	cb_s(&c, " (kernel function, not called: dusk.ko found its ");
	cb_s(&c, what);
	cb_s(&c, " = ");
	cb_x(&c, value, 16);
	cb_s(&c, " unreadable)\n");
	nf = backtrace(frames, (int)DUSK_ARRAY_SIZE(frames));
	for (i = 0; i < nf; i++)
		if (dusk_lines_module((uintptr_t)frames[i] - 1))
			break;
	if (i < nf) {
		cb_s(&c, "(in the module: ");
		crash_frame(&c, (uintptr_t)frames[i], (uintptr_t)frames[i] - 1,
			    ")\n");
	}
	for (r = 0; r < DUSK_MAX_CALL_ARGS; r++) {
		cb_s(&c, regs[r]);
		cb_s(&c, ": ");
		cb_x(&c, r < n ? args[r] : 0, 16);
		cb_s(&c, r % 3 == 2 ? "\n" : " ");
	}
	cb_s(&c, "Call Trace:\n");
	cb_s(&c, crash_in_irq(in_hook, &h) ? " <IRQ>\n" : " <TASK>\n");
	crash_frames(&c, frames, 0, nf, 0);
	cb_s(&c, crash_in_irq(in_hook, &h) ? " </IRQ>\n" : " </TASK>\n");
	crash_hook_line(&c, in_hook, &h);
	crash_end(&c);
	/* Killed as the kernel kills the task of an oops; under gdb, the
	 * signal stops the program at the module's call. */
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	_exit(128 + SIGSEGV);
}

static void crash_handler(int sig, siginfo_t *si, void *ucv)
{
	const ucontext_t *uc = ucv;
	const greg_t *g = uc->uc_mcontext.gregs;
	struct cbuf c;
	int saved = errno;

	if (atomic_exchange(&crash_busy, 1)) {
		/* Another thread crashed first: it ends the program. */
		for (;;)
			pause();
	}
	crash_flush_console();
	c.fd = fileno(dusk_console_err());
	c.n = 0;
	crash_header(&c, sig, si, g);
	crash_body(&c, g);
	crash_end(&c);
	/* Die by the signal: the fault happens again on return (a signal
	 * sent by kill() is sent again). */
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);
	errno = saved;
}

/*
 * A soft lockup (mod_lockup.c), as kernel/watchdog.c reports one: its
 * line, then the registers and the trace of where the CPU is stuck. The
 * program goes on, as the kernel does without softlockup_panic. Called
 * in the stuck thread's signal handler, with its interrupted context.
 */
void dusk_crash_lockup_report(const void *ucv, unsigned int secs)
{
	const ucontext_t *uc = ucv;
	const greg_t *g = uc->uc_mcontext.gregs;
	struct cbuf c;

	c.fd = fileno(dusk_console_err());
	c.n = 0;
	cb_s(&c, "watchdog: BUG: soft lockup - CPU#");
	cb_u(&c, dusk_mod_cpu());
	cb_s(&c, " stuck for ");
	cb_u(&c, secs);
	cb_s(&c, "s! [");
	cb_s(&c, program_invocation_short_name);
	cb_s(&c, ":");
	cb_u(&c, (uint64_t)gettid());
	cb_s(&c, "]\nCPU: ");
	cb_u(&c, dusk_mod_cpu());
	cb_s(&c, " PID: ");
	cb_u(&c, (uint64_t)gettid());
	cb_s(&c, " Comm: ");
	cb_s(&c, program_invocation_short_name);
	cb_s(&c, " (a user-level module program, not the kernel)\n");
	crash_body(&c, g);
	cb_flush(&c);
}

int dusk_crash_install(void)
{
	static char altstack[CRASH_ALTSTACK];
	struct sigaction sa;
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	unsigned int i;

	/* What the handler reads, ready before it may run: the DWARF
	 * tables, the unwinder, the program's symbols. */
	dusk_lines_load();
	dusk_image_func(0);
	/* A stack overflow still gets its report (this thread's). */
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < DUSK_ARRAY_SIZE(crash_signals); i++)
		if (sigaction(crash_signals[i], &sa, NULL))
			return -errno;
	return 0;
}
