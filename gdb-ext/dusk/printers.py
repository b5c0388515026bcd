# SPDX-License-Identifier: GPL-2.0
"""Pretty-printers for plain "print": sk_buff, nf_hook_state and
net_device pointers (and objects) decoded from the program's shadow.

A kernel pointer in the program is a kernel address, which gdb cannot read
in the program; these printers show the object as the program's cache
has it, and only what is cached: they read the cache's table with memory
reads, never by an inferior call or a fetch (gdb calls them while it
prints a stop, where an inferior call is not safe). "dusk print" fetches
and shows the kernel's side too.

They are one collection named "dusk", a subprinter per struct, so that
gdb's own commands manage them:

  info pretty-printer                         lists dusk and its subprinters
  disable pretty-printer global dusk          plain values again
  disable pretty-printer global dusk;sk_buff  only sk_buff's
"""

import gdb
import gdb.printing

from . import decode, runtime, types

NAME = "dusk"


def _layout_error(text, e):
    """A printer's line when the program's layout is not the expected one:
    the error in the value's place, never a decoded guess."""
    return f"{text} <dusk: {e}>" if text else f"<dusk: {e}>"


class PointerPrinter:
    """struct sk_buff *skb: its kernel address and the object in a line."""

    def __init__(self, val, tag):
        self.val, self.tag = val, tag

    def to_string(self):
        addr = int(self.val) & ((1 << 64) - 1)
        text = f"{addr:#x}"
        try:
            if not addr or not runtime.running() or not (
                    runtime.is_kernel(addr) or runtime.is_mirror(addr)):
                return text
            line = decode.pointer_summary(self.tag, addr,
                                          decode.ShadowView(fetch=False))
        except types.LayoutError as e:
            return _layout_error(text, e)
        return f"{text} {{{line}}}" if line else f"{text} <not cached>"


class ObjectPrinter:
    """*skb: the decoded line, then the members as the shadow has them."""

    def __init__(self, val, tag):
        self.val, self.tag = val, tag
        self.shadow = None
        self.error = None
        addr = val.address
        try:
            if addr is not None and runtime.running():
                a = int(addr) & ((1 << 64) - 1)
                if runtime.is_kernel(a):
                    view = decode.ShadowView(fetch=False)
                    self.shadow = view.obj(a, val.type)
                    self.kaddr = a
        except types.LayoutError as e:
            self.error = e

    def to_string(self):
        if self.error is not None:
            return _layout_error("", self.error)
        v = self.shadow if self.shadow is not None else self.val
        prefix = f"kernel {self.kaddr:#x} " if self.shadow is not None \
            else ""
        try:
            line = decode.summary(self.tag, v, decode.ShadowView(fetch=False))
        except types.LayoutError as e:
            return _layout_error(prefix.strip(), e)
        return f"{prefix}{{{line}}}" if line else prefix or None

    def children(self):
        if self.error is not None:
            return
        v = self.shadow if self.shadow is not None else self.val
        yield from _members(v)


def _members(v):
    """(name, value) of v's members, anonymous ones' members in their place
    (as C reaches them)."""
    for f in types.basic(v.type).fields():
        if f.name is None and types.is_aggregate(f.type):
            yield from _members(v[f])
        elif f.name is not None:
            yield f.name, v[f.name]


class StructPrinter(gdb.printing.SubPrettyPrinter):
    """The subprinter of one struct (its tag is its name): pointers to it
    and objects of it."""

    def printer(self, val):
        t = types.basic(val.type)
        if t.code == gdb.TYPE_CODE_PTR:
            if types.tag(t.target()) == self.name:
                return PointerPrinter(val, self.name)
        elif t.code == gdb.TYPE_CODE_STRUCT and t.tag == self.name:
            return ObjectPrinter(val, self.name)
        return None


class DuskPrinters(gdb.printing.PrettyPrinter):
    """dusk's printers: one subprinter per decoded struct."""

    def __init__(self):
        super().__init__(NAME, [StructPrinter(tag)
                                for tag in sorted(decode.DECODERS)])

    def __call__(self, val):
        if not self.enabled:
            return None
        for sub in self.subprinters:
            if sub.enabled:
                p = sub.printer(val)
                if p is not None:
                    return p
        return None


def register():
    gdb.printing.register_pretty_printer(None, DuskPrinters(), replace=True)
