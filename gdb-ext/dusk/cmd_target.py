# SPDX-License-Identifier: GPL-2.0
"""dusk status, dusk ksym, dusk kread, dusk log: the target side."""

import os
import shutil
import subprocess

import gdb

from . import runtime
from .commands import DuskCommand, parse_int

KREAD_MAX = 1 << 20
KREAD_DEFAULT = 64


def _threads_by_lwp():
    """{LWP: gdb thread number} of the program's threads."""
    try:
        return {th.ptid[1]: th.num
                for th in gdb.selected_inferior().threads()}
    except gdb.error:
        return {}


def invocation_line(inv, threads):
    """One invocation in flight, as "dusk status" lists it."""
    if inv.kind == "callback":
        text = f"callback {inv.id} for pid {inv.pid} ({inv.comm or '?'})"
        if inv.tgid and inv.tgid != inv.pid:
            text += f" tgid {inv.tgid}"
    else:
        text = f"packet {inv.id}"
    text += f" on cpu {inv.cpu}, waiting {inv.ms} ms"
    if inv.signal:
        text += ", signal pending" if inv.signal == "pending" \
            else ", caller killed"
    if inv.state == "queued" or not inv.lwp:
        text += ", queued"
    else:
        num = threads.get(inv.lwp)
        text += f", thread {num} (LWP {inv.lwp})" if num is not None \
            else f", LWP {inv.lwp}"
    return text


class Status(DuskCommand):
    """Show the target, the session, hooks and every invocation in flight.
Usage: dusk status

While the program sits at a breakpoint the target keeps running: packets
that reach a hook of the module wait in the kernel at most hold_ms, then
go by the session's policy (accept or drop). "queued" is how many wait
now, "released" how many went by policy so far, "late" says whether the
packet of the invocation this thread serves may be gone already (its
changes would then not be committed).

"in flight" lists every invocation the program serves, on any of its
threads: a packet at a hook, or a callback (a file operation...) with the
task that called it (pid, comm), its cpu, how long it has waited since
the kernel sent it, a signal the caller got meanwhile and the gdb thread
that runs it (a reader asleep in the module keeps its thread: "thread N"
then "bt" shows where). '*' marks the selected thread's.

"conditions" lists the break-hook conditions the program tests itself:
how many times, how many held (each a stop) and failed.

"timers" lists the module's timers, hrtimers and delayed work armed (their
expiry in the target's jiffies, or ns of an hrtimer's clock, and how soon
the program's softirq thread runs them) and "work" its work items queued
or running on the program's workers."""

    name = "status"

    @staticmethod
    def deferred(out):
        """The timers armed and the work pending."""
        ds = runtime.deferred()
        timers = [d for d in ds if d.kind != "work"]
        works = [d for d in ds if d.kind == "work"]
        out(f"timers      {len(timers)} armed or running\n")
        for d in timers:
            out(f"            {deferred_line(d)}\n")
        out(f"work        {len(works)} queued or running\n")
        for d in works:
            out(f"            {deferred_line(d)}\n")

    def run(self, arg, from_tty):
        self.no_arguments(arg)
        st = runtime.status()
        g = st.get
        out = gdb.write
        out(f"target      {g('target')}  (kernel {g('release')})\n")
        if g("state_dir", "-") != "-":
            out(f"            embedded target {os.path.basename(g('state_dir'))}"
                f" ({g('state_dir')})\n")
        kernel = g("kernel")
        out(f"session     {g('session')}  dusk.ko {kernel}"
            f"  watchdog pid {g('watchdog')}\n")
        out(f"hooks       {g('hooks')} registered, "
            f"{g('invocations')} invocations, {g('inflight')} in flight here\n")
        inv = int(g("invocation", "0"))
        if inv and g("invocation_kind") == "callback":
            sig = {"pending": ", signal pending",
                   "killed": ", caller killed"}.get(g("invocation_signal"), "")
            out(f"invocation  callback {inv} for pid {g('invocation_pid')} "
                f"({g('invocation_comm')}) on cpu {g('invocation_cpu')}, "
                f"waiting {g('invocation_ms')} ms{sig}\n")
        elif inv:
            late = " - LATE: the kernel may have released it by policy" \
                if g("late") == "1" else ""
            out(f"invocation  packet {inv} on cpu {g('invocation_cpu')}, "
                f"waiting {g('invocation_ms')} ms{late}\n")
        else:
            out("invocation  none (this thread serves no packet)\n")
        invs = runtime.invocations()
        threads = _threads_by_lwp()
        out(f"in flight   {len(invs)} invocation"
            f"{'' if len(invs) == 1 else 's'}"
            f"{' (* this thread)' if any(i.mine for i in invs) else ''}\n")
        for i in invs:
            out(f"          {'*' if i.mine else ' '} "
                f"{invocation_line(i, threads)}\n")
        self.deferred(out)
        pol = g("policy")
        if kernel == "ok":
            out(f"packets     {g('queued')} queued in the kernel, "
                f"{g('released')} released by policy ({pol}), "
                f"{g('verdicts')} verdicts\n")
        out(f"policy      hold up to {g('hold_ms')} ms "
            f"(at most {g('hold_max')} packets), then {pol}\n")
        out(f"cache       generation {g('generation')}, {g('pages')} pages, "
            f"{g('dirty')} dirty, {g('copies')} kernel copies of user "
            f"objects\n")
        out(f"kcalls      {g('kcalls')} made; {g('skipped')} hooks came too "
            f"late to run, {g('stale')} verdicts refused\n")
        conds = runtime.conds() if runtime.has_conds() else []
        if conds:
            out("conditions  compiled into the program (break-hook ... if)\n")
        for c in conds:
            out(f"            {c.name or hex(c.addr)}: tested "
                f"{_times(c.tested)}, held {c.held}, failed {c.failed}\n")


def _times(n):
    return f"{n} time{'' if n == 1 else 's'}"


def deferred_line(d):
    """One timer or work item, as "dusk status" lists it."""
    fn = d.name or f"{d.fn:#x}"
    if d.kind == "work":
        return f"work {fn} ({d.obj:#x}) on {d.expires}: {d.state}" \
            f", ran {_times(d.runs)}"
    unit = "ns" if d.kind == "hrtimer" else "jiffies"
    what = {"timer": "timer", "hrtimer": "hrtimer",
            "dwork": "delayed work"}[d.kind]
    when = "running now" if d.state == "running" else \
        f"due in {d.due_ms} ms"
    return f"{what} {fn} ({d.obj:#x}) expires {d.expires} {unit}, " \
        f"{when}, fired {_times(d.runs)}"


class Ksym(DuskCommand):
    """Show a kernel symbol's address in the target kernel.
Usage: dusk ksym NAME"""

    name = "ksym"

    def run(self, arg, from_tty):
        w = self.words(arg)
        if len(w) != 1:
            self.usage()
        gdb.write(f"{w[0]} = {runtime.ksym(w[0]):#018x}\n")


def hexdump(addr, data, out):
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        hx = " ".join(f"{b:02x}" for b in chunk[:8])
        if len(chunk) > 8:
            hx += "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        out(f"{addr + off:016x}  {hx:<49} |{text}|\n")


class Kread(DuskCommand):
    """Hexdump live kernel memory (read now, around the program's cache).
Usage: dusk kread ADDR [LEN]

ADDR is a number, a kernel symbol (dusk ksym) or an expression of the
program (a pointer variable of the module: its kernel address). LEN
defaults to 64 bytes, at most 1 MiB."""

    name = "kread"

    def run(self, arg, from_tty):
        w = self.words(arg)
        if len(w) not in (1, 2):
            self.usage()
        addr = self._address(w[0])
        size = parse_int(w[1], "length") if len(w) == 2 else KREAD_DEFAULT
        if not 0 < size <= KREAD_MAX:
            raise gdb.GdbError(f"length must be 1..{KREAD_MAX}")
        hexdump(addr, runtime.kread(addr, size), gdb.write)

    def _address(self, text):
        try:
            return int(text, 0)
        except ValueError:
            pass
        try:
            v = int(gdb.parse_and_eval(text)) & ((1 << 64) - 1)
        except gdb.error:
            return runtime.ksym(text)
        k = runtime.kaddr(v)
        if k is None:
            raise gdb.GdbError(f"{text} = {v:#x} is program memory with no "
                               f"kernel copy")
        return k


def dusk_target():
    """The dusk-target command (the build tree's, else the installed one)."""
    src = os.environ.get("DUSK_SRCDIR")
    if src and os.access(os.path.join(src, "bin", "dusk-target"), os.X_OK):
        return os.path.join(src, "bin", "dusk-target")
    return shutil.which("dusk-target")


class Log(DuskCommand):
    """Show the target kernel's log (its dmesg), the last N lines (all: 0).
Usage: dusk log [N]

The embedded target is asked through dusk-target; the one the program's
session talks to when the program runs, else $DUSK_TARGET_NAME (default
"default")."""

    name = "log"

    def run(self, arg, from_tty):
        w = self.words(arg)
        if len(w) > 1:
            self.usage()
        n = parse_int(w[0], "line count") if w else 40
        env = dict(os.environ)
        if runtime.running():
            d = runtime.status().get("state_dir", "-")
            if d == "-":
                raise gdb.GdbError("the session's target is not an embedded "
                                   "target (dusk-target): no log to show")
            env["DUSK_STATE_DIR"] = os.path.dirname(d)
            env["DUSK_TARGET_NAME"] = os.path.basename(d)
        tool = dusk_target()
        if not tool:
            raise gdb.GdbError("dusk-target not found (set DUSK_SRCDIR or "
                               "install dusk)")
        try:
            p = subprocess.run([tool, "log"], env=env, capture_output=True,
                               text=True, errors="replace", timeout=60)
        except subprocess.TimeoutExpired:
            raise gdb.GdbError("dusk-target log timed out") from None
        if p.returncode and not p.stdout:
            err = p.stderr.strip().splitlines()
            raise gdb.GdbError(err[-1] if err else
                               f"dusk-target log failed ({p.returncode})")
        lines = p.stdout.splitlines()
        for line in lines[-n:] if n else lines:
            gdb.write(line + "\n")


def register():
    for cls in (Status, Ksym, Kread, Log):
        cls()
