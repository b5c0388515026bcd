# SPDX-License-Identifier: GPL-2.0
"""dusk caller, dusk uread: the task that called the callback this thread
serves, and its user memory."""

import gdb

from . import runtime
from .commands import DuskCommand, parse_int
from .cmd_target import hexdump

UREAD_DEFAULT = 64


def current_callback():
    """The status of the callback invocation this thread serves; GdbError
    when it serves none."""
    st = runtime.status()
    if st.get("invocation_kind") != "callback":
        raise gdb.GdbError("this thread serves no callback invocation "
                           "(\"dusk status\" lists those in flight and "
                           "their threads)")
    return st


class Caller(DuskCommand):
    """Show the task that called the callback this thread serves.
Usage: dusk caller

A file operation (read, write, ioctl, open...) runs in the program on
behalf of a task of the target, asleep in the kernel until the callback
returns: its pid, tgid and comm (current->pid... in the module are the
same), its task_struct's kernel address, the cpu it called from, how long
it has waited, a signal it got meanwhile (signal_pending(current) is then
true in the module) and the user memory the kernel gave the callback
(read's or write's buffer: "dusk uread" shows it)."""

    name = "caller"

    def run(self, arg, from_tty):
        self.no_arguments(arg)
        st = current_callback()
        g = st.get
        out = gdb.write
        out(f"caller      pid {g('invocation_pid')} "
            f"({g('invocation_comm')}), tgid {g('invocation_tgid')}, "
            f"task {int(g('invocation_task', '0'), 16):#x}\n")
        sig = {"pending": "signal pending",
               "killed": "killed (its callback's result is dropped)"}.get(
            g("invocation_signal"), "no signal pending")
        out(f"invocation  callback {g('invocation')} from cpu "
            f"{g('invocation_cpu')}, waiting {g('invocation_ms')} ms, "
            f"{sig}\n")
        rng = runtime.user_range()
        if rng:
            out(f"user memory {rng[0]:#x}, {rng[1]} bytes (dusk uread "
                f"{rng[0]:#x} {min(rng[1], UREAD_DEFAULT)})\n")


class Uread(DuskCommand):
    """Hexdump the calling task's user memory, read through the invocation.
Usage: dusk uread ADDR [LEN]

ADDR is an expression of the module (a char __user *buf argument) or a
number: an address in the memory of the task that called the callback
this thread serves, read by that task itself in the kernel, as the
module's copy_from_user() would. LEN is an expression too (count); it
defaults to what is left of the callback's buffer (read's or write's buf
and count) from ADDR, at most 64 bytes, else 64; at most 1 MiB.
"dusk print buf" shows the start of the buffer as a string."""

    name = "uread"
    completer = gdb.COMPLETE_EXPRESSION

    def run(self, arg, from_tty):
        w = self.words(arg)
        if len(w) not in (1, 2):
            self.usage()
        current_callback()
        addr = parse_int(w[0], "address")
        if runtime.is_kernel(addr):
            raise gdb.GdbError(f"{w[0]} = {addr:#x} is a kernel address: "
                               f"dusk kread or dusk print reads it")
        if len(w) == 2:
            size = parse_int(w[1], "length")
        else:
            rng = runtime.user_range()
            size = UREAD_DEFAULT
            if rng and 0 <= addr - rng[0] < rng[1]:
                size = min(rng[0] + rng[1] - addr, UREAD_DEFAULT)
        limit = runtime.C.DUSK_DBG_UREAD_MAX
        if not 0 < size <= limit:
            raise gdb.GdbError(f"length must be 1..{limit}")
        hexdump(addr, runtime.uread(addr, size), gdb.write)


def register():
    Caller()
    Uread()
