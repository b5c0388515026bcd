# SPDX-License-Identifier: GPL-2.0
"""Kernel types as the program's DWARF has them (the module was compiled
against the target kernel's headers), looked up lazily and cached; the
cache is cleared when an objfile is loaded (a new run, another program).
"""

import gdb

_types = {}
_enums = {}


def clear(event=None):
    _types.clear()
    _enums.clear()


def register():
    gdb.events.new_objfile.connect(clear)
    gdb.events.clear_objfiles.connect(clear)


def lookup(name):
    """The complete type NAME ("struct sk_buff", "u32"), or None."""
    if name not in _types:
        try:
            t = gdb.lookup_type(name)
            if t.strip_typedefs().code in (gdb.TYPE_CODE_STRUCT,
                                           gdb.TYPE_CODE_UNION) and \
                    t.strip_typedefs().sizeof == 0:
                t = None        # only declared
        except gdb.error:
            t = None
        _types[name] = t
    return _types[name]


def basic(t):
    """t without typedefs and qualifiers."""
    return t.strip_typedefs().unqualified()


def is_pointer(t):
    return basic(t).code == gdb.TYPE_CODE_PTR


def is_aggregate(t):
    return basic(t).code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION)


def tag(t):
    """"sk_buff" for struct sk_buff (and typedefs of it), else None."""
    b = basic(t)
    return b.tag if b.code in (gdb.TYPE_CODE_STRUCT,
                               gdb.TYPE_CODE_UNION) else None


def find_field(t, name):
    """(field, byte offset) of member NAME of struct/union t, looking into
    anonymous members as C does; None when it has none."""
    b = basic(t)
    if b.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        return None
    for f in b.fields():
        if f.name == name:
            return f, f.bitpos // 8
        if f.name is None and is_aggregate(f.type):
            inner = find_field(f.type, name)
            if inner:
                return inner[0], f.bitpos // 8 + inner[1]
    return None


def offsetof(t, name, default=None):
    f = find_field(t, name) if t is not None else None
    return f[1] if f else default


def enum_names(enumerator):
    """{value: name} of the enum that has ENUMERATOR among its names
    (kernel enums such as nf_inet_hooks, from the program's DWARF), or {}
    when the program's debug info has none."""
    if enumerator not in _enums:
        names = {}
        try:
            sym = gdb.lookup_static_symbol(enumerator) or \
                gdb.lookup_global_symbol(enumerator) or \
                gdb.lookup_symbol(enumerator)[0]
            if sym is not None and basic(sym.type).code == gdb.TYPE_CODE_ENUM:
                for f in basic(sym.type).fields():
                    names.setdefault(f.enumval, f.name)
        except gdb.error:
            pass
        _enums[enumerator] = names
    return _enums[enumerator]
