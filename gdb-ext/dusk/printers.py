# SPDX-License-Identifier: GPL-2.0
"""Pretty-printers for plain "print": sk_buff, nf_hook_state and
net_device pointers (and objects) decoded from the program's shadow.

A kernel pointer in the program is a kernel address, which gdb cannot read
in the program; these printers show the object as the program's cache
has it, and only what is cached: they read the cache's table with memory
reads, never by an inferior call or a fetch (gdb calls them while it
prints a stop, where an inferior call is not safe). "dusk print" fetches
and shows the kernel's side too.
"""

import gdb

from . import decode, runtime, types

TAGS = frozenset(decode.DECODERS)


class PointerPrinter:
    """struct sk_buff *skb: its kernel address and the object in a line."""

    def __init__(self, val, tag):
        self.val, self.tag = val, tag

    def to_string(self):
        addr = int(self.val) & ((1 << 64) - 1)
        text = f"{addr:#x}"
        if not addr or not runtime.running() or not (
                runtime.is_kernel(addr) or runtime.is_mirror(addr)):
            return text
        line = decode.pointer_summary(self.tag, addr,
                                      decode.ShadowView(fetch=False))
        return f"{text} {{{line}}}" if line else f"{text} <not cached>"


class ObjectPrinter:
    """*skb: the decoded line, then the members as the shadow has them."""

    def __init__(self, val, tag):
        self.val, self.tag = val, tag
        self.shadow = None
        addr = val.address
        if addr is not None and runtime.running():
            a = int(addr) & ((1 << 64) - 1)
            if runtime.is_kernel(a):
                view = decode.ShadowView(fetch=False)
                self.shadow = view.obj(a, val.type)
                self.kaddr = a

    def to_string(self):
        v = self.shadow if self.shadow is not None else self.val
        line = decode.summary(self.tag, v, decode.ShadowView(fetch=False))
        prefix = f"kernel {self.kaddr:#x} " if self.shadow is not None \
            else ""
        return f"{prefix}{{{line}}}" if line else prefix or None

    def children(self):
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


def lookup(val):
    t = types.basic(val.type)
    if t.code == gdb.TYPE_CODE_PTR:
        tag = types.tag(t.target())
        return PointerPrinter(val, tag) if tag in TAGS else None
    tag = types.tag(t)
    if tag in TAGS and t.code == gdb.TYPE_CODE_STRUCT:
        return ObjectPrinter(val, tag)
    return None


def register():
    gdb.pretty_printers.append(lookup)
