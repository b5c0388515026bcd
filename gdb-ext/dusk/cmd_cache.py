# SPDX-License-Identifier: GPL-2.0
"""dusk map, dusk commit, dusk refresh: the program's shadow cache."""

import gdb

from . import runtime
from .commands import DuskCommand
from .expr import Expr


class Map(DuskCommand):
    """Show the address map: what of the kernel the program holds.
Usage: dusk map [-a]

One line per range, by kernel address: kernel address, user address (the
mirror, or the program's object), size, type where known (the current
invocation's sk_buff, its data, hook state, devices; kernel copies'
types), state (clean, dirty: changed and not committed yet, stale: of
an earlier invocation, fetched again on use), owner (fetched: cached
kernel memory; copy:OBJECT: a kernel copy of the program's object;
placeholder:VAR: the stand-in of a kernel variable). Stale pages are left
out unless -a."""

    name = "map"

    def run(self, arg, from_tty):
        w = self.words(arg)
        if w not in ([], ["-a"]):
            self.usage()
        rows = [r for r in runtime.address_map()
                if w or r.state != "stale"]
        if not rows:
            gdb.write("dusk: the program holds no kernel memory now\n")
            return
        tw = max(len("type"), max(len(r.type) for r in rows))
        gdb.write(f"{'kernel address':<18}  {'user address':<14}  "
                  f"{'size':>6}  {'state':<5}  {'type':<{tw}}  owner\n")
        for r in rows:
            gdb.write(f"{r.kaddr:#018x}  {r.user:#014x}  {r.size:>6}  "
                      f"{r.state:<5}  {r.type:<{tw}}  {r.owner}\n")
        hidden = len(runtime.address_map()) - len(rows)
        if hidden:
            gdb.write(f"({hidden} stale ranges not shown: dusk map -a)\n")


def object_range(text):
    """(kernel address, size, what) of the object EXPR denotes."""
    e = Expr(text)
    addr, size = e.address()
    k = runtime.kaddr(addr)
    if k is None:
        raise gdb.GdbError(f"{e.text} is the program's own memory with no "
                           f"kernel copy")
    return k, size, e.text


class _RangeCommand(DuskCommand):
    """A command on one object (EXPR) or on the whole cache."""

    completer = gdb.COMPLETE_EXPRESSION
    done = None         # "committed"
    everything = None   # what "all" is, in the message

    def action(self, kaddr=0, size=0):
        raise NotImplementedError

    def run(self, arg, from_tty):
        if arg:
            k, size, what = object_range(arg)
            self.action(k, size)
            gdb.write(f"dusk: {self.done} {what} ({k:#x}, {size} bytes)\n")
        else:
            self.action()
            gdb.write(f"dusk: {self.done} {self.everything}\n")


class Commit(_RangeCommand):
    """Send the shadow's uncommitted changes to the kernel now.
Usage: dusk commit [EXPR]

With EXPR, only the changes within the object it denotes (for a pointer:
the object it points to; skb->mark: that field); without, all of them,
and the program's objects' changes to their kernel copies. Only bytes
that changed go. Refused when the changes include the current packet's
objects and the packet may already be gone (see dusk status: late)."""

    name = "commit"
    done, everything = "committed", "all changes"
    action = staticmethod(runtime.commit)


class Refresh(_RangeCommand):
    """Forget cached kernel memory, so that the next use reads it again.
Usage: dusk refresh [EXPR]

With EXPR, the object it denotes (whole 64-byte lines); without, the
whole cache, and the program's objects are read back from their kernel
copies. Uncommitted changes there are lost."""

    name = "refresh"
    done, everything = "refreshed", "the whole cache"
    action = staticmethod(runtime.refresh)


def register():
    for cls in (Map, Commit, Refresh):
        cls()
