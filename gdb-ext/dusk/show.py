# SPDX-License-Identifier: GPL-2.0
"""The program's shadow and the live kernel side by side."""

import gdb

from . import decode, runtime, types

MAX_DEPTH = 4
NAME_WIDTH = 28
VALUE_WIDTH = 26


def where(addr):
    """What an address is, in a few words."""
    if runtime.is_kernel(addr):
        return "kernel address"
    if runtime.is_mirror(addr):
        k = runtime.kaddr(addr)
        return f"mirror of kernel {k:#x}" if k else "in the mirror"
    return "program memory"


def _struct_group(t, f):
    """Is member f of union t the named twin of an anonymous struct with
    the same members (the kernel's struct_group())?"""
    if types.basic(t).code != gdb.TYPE_CODE_UNION or f.name is None or \
            not types.is_aggregate(f.type):
        return False
    names = [x.name for x in types.basic(f.type).fields()]
    return any(g.name is None and types.is_aggregate(g.type) and
               [x.name for x in types.basic(g.type).fields()] == names
               for g in types.basic(t).fields())


def fields(t, prefix="", depth=0):
    """[(name, path)]: the leaf members of struct/union type t, nested
    struct members as "a.b", anonymous ones flattened; path is the list of
    gdb.Field to reach it."""
    out = []
    b = types.basic(t)
    for f in b.fields():
        if getattr(f, "is_base_class", False) or _struct_group(b, f):
            continue
        if f.name is None:
            if types.is_aggregate(f.type):
                out += [(n, [f] + p)
                        for n, p in fields(f.type, prefix, depth)]
            continue
        if types.is_aggregate(f.type) and depth < MAX_DEPTH:
            out += [(n, [f] + p) for n, p in
                    fields(f.type, f"{prefix}{f.name}.", depth + 1)]
        else:
            out.append((prefix + f.name, [f]))
    return out


def _member(v, path):
    for f in path:
        v = v[f]
    return v


def fmt(v):
    """A value, compact, without pretty-printers."""
    try:
        t = types.basic(v.type)
        if t.code == gdb.TYPE_CODE_PTR and \
                types.basic(t.target()).code != gdb.TYPE_CODE_FUNC:
            return f"{int(v) & (1 << 64) - 1:#x}"
        if t.code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_BOOL) and \
                t.sizeof == 1:
            return str(int(v))      # a u8 field, not a character
        return v.format_string(raw=True, max_elements=24,
                               repeat_threshold=4, symbols=True,
                               pretty_structs=False, pretty_arrays=False)
    except (gdb.error, gdb.MemoryError) as e:
        return f"<{e}>"


def table(rows, diff_only=False, out=None):
    """rows: [(name, shadow text, kernel text or None)]. Differing rows
    are marked with '*'. Returns how many differ."""
    write = out or gdb.write
    width = min(NAME_WIDTH, max([len(r[0]) for r in rows] + [5]))
    ndiff = 0
    lines = []
    for name, s, k in rows:
        differs = k is not None and s != k
        ndiff += differs
        if diff_only and not differs:
            continue
        k = "-" if k is None else k
        pad = max(VALUE_WIDTH - len(s), 0)
        lines.append(f"  {'*' if differs else ' '} {name:<{width}}  "
                     f"{s}{' ' * pad}  {k}\n")
    if lines:
        write(f"    {'field':<{width}}  {'shadow':<{VALUE_WIDTH}}  kernel\n")
        for line in lines:
            write(line)
    return ndiff


def compare(sv, kv, diff_only=False):
    """Two values of one struct/union type, member by member."""
    rows = []
    for name, path in fields(sv.type):
        s = fmt(_member(sv, path))
        k = fmt(_member(kv, path)) if kv is not None else None
        rows.append((name, s, k))
    n = table(rows, diff_only)
    if diff_only and not n:
        gdb.write("    (no member differs)\n")
    return n


def decoded(tag, sv, kv):
    """The decoder's line for each side."""
    s = decode.summary(tag, sv, decode.ShadowView())
    k = decode.summary(tag, kv, decode.KernelView()) if kv is not None \
        else None
    if s is None and k is None:
        return
    gdb.write(f"  shadow: {s if s is not None else '-'}\n")
    if kv is not None:
        mark = "" if s == k else "   <- differs"
        gdb.write(f"  kernel: {k if k is not None else '-'}{mark}\n")
