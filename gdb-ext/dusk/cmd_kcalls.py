# SPDX-License-Identifier: GPL-2.0
"""dusk kcalls, dusk step-kcall: the module's calls into the kernel."""

import gdb

from . import runtime, skips
from .commands import DuskCommand, parse_int

DEFAULT_KCALLS = 20


def _int(v):
    """A register-sized integer as C would print it, signed if negative."""
    if v >= 1 << 63:
        return str(v - (1 << 64))
    return str(v) if v < 1 << 16 else f"{v:#x}"


def _value(v, kind, origin="-"):
    if kind == "int":
        return _int(v)
    if kind.startswith("ptr:"):
        t = kind[4:]
        text = "NULL" if v == 0 else f"{v:#x}"
        text = f"({t} *){text}" if t != "-" else text
    elif kind == "fn":
        text = f"{v:#x}"
        sym = runtime.symbol_at(v)
        if sym:
            text += f" <{sym}>"
    else:
        text = f"{v:#x}" if v >= 1 << 16 else str(v)
    if origin != "-":
        text += f" <{origin}>"
    return text


def describe(c):
    """One line for a KCall."""
    args = ", ".join(_value(a, k, o) for a, k, o in
                     zip(c.args, c.arg_kinds, c.origins))
    head = f"#{c.seq:<4} {c.name}({args})"
    if c.status == "pending":
        return f"{head}  ... (about to be made)"
    if c.status:
        return f"{head}  failed: {runtime.errno_name(-c.status)}"
    if c.ret_kind == "void":
        res = ""
    else:
        res = " = " + _value(c.result, c.ret_kind if c.ret_kind != "-"
                             else "int")
    return f"{head}{res}  {c.usec} us"


class Kcalls(DuskCommand):
    """Show the module's recent kernel calls, oldest first.
Usage: dusk kcalls [N]

N calls (default 20; 0: all the runtime keeps, 256): the kernel function,
its arguments as the kernel got them (kernel addresses; a kernel copy of
the program's object is named after the object), the result, how long it
took. Arguments and results are decoded by the function's prototype."""

    name = "kcalls"

    def run(self, arg, from_tty):
        w = self.words(arg)
        if len(w) > 1:
            self.usage()
        n = parse_int(w[0], "count") if w else DEFAULT_KCALLS
        calls = runtime.kcalls(n)
        if not calls:
            gdb.write("dusk: no kernel call made yet\n")
        for c in calls:
            gdb.write(describe(c) + "\n")


class _KcallStop(gdb.Breakpoint):
    """Stops just before the next kernel call (once)."""

    def __init__(self):
        super().__init__("dusk_dbg_kcall_anchor", internal=True,
                         temporary=True)
        self.silent = True
        self.hit = False

    def stop(self):
        self.hit = True
        return True


class StepKcall(DuskCommand):
    """Run until just before the module's next kernel call, and show it.
Usage: dusk step-kcall

The program stops with the call recorded but not made yet (in the
runtime); the frame shown is the module's line that makes it. "finish"
then makes the call and returns to that line; "dusk kcalls 1" shows how
it went."""

    name = "step-kcall"

    def run(self, arg, from_tty):
        self.no_arguments(arg)
        runtime.require()
        bp = _KcallStop()
        try:
            gdb.execute("continue", to_string=False)
        finally:
            hit = bp.hit
            if bp.is_valid():
                bp.delete()
        if not hit:
            gdb.write("dusk: stopped before any kernel call\n")
            return
        calls = runtime.kcalls(1)
        gdb.write("dusk: next kernel call " +
                  (describe(calls[-1]) if calls else "(unknown)") + "\n")
        frame = skips.module_frame()
        if frame is None:
            return
        # Show the module's line; leave the function it called selected,
        # so that "finish" makes the call and returns to that line.
        gdb.execute(f"frame {frame.level()}", to_string=False)
        callee = frame.newer()
        if callee is not None:
            callee.select()
            gdb.write("dusk: 'finish' makes the call and returns to the "
                      "module\n")


def register():
    Kcalls()
    StepKcall()
