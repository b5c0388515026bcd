# SPDX-License-Identifier: GPL-2.0
"""dusk print, dusk set: expressions of the module, both sides."""

import gdb

from . import decode, runtime, show, types
from .commands import DuskCommand
from .expr import KERNEL, SHADOW, Expr


def _object_bytes(addr, t):
    """(shadow value, kernel value or None) of the object of type t at
    addr (kernel, mirror or program address)."""
    size = max(types.basic(t).sizeof, 1)
    if runtime.is_kernel(addr) or runtime.is_mirror(addr):
        sv = gdb.Value(runtime.read_shadow(addr, size), t)
    else:
        sv = gdb.Value(addr).cast(t.pointer()).dereference()
        sv.fetch_lazy()
    k = runtime.kaddr(addr)
    kv = gdb.Value(runtime.kread(k, size), t) if k else None
    return sv, kv, k


def _is_object_pointer(t):
    b = types.basic(t)
    if b.code != gdb.TYPE_CODE_PTR:
        return False
    target = types.basic(b.target())
    return target.code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION) and \
        target.sizeof > 0


def _is_int_pointer(t):
    """A pointer to an integer wider than a char (loff_t *ppos)."""
    b = types.basic(t)
    if b.code != gdb.TYPE_CODE_PTR:
        return False
    target = types.basic(b.target())
    return target.code == gdb.TYPE_CODE_INT and target.sizeof > 1


def show_object(t, sv, kv, kaddr, diff_only):
    tag = types.tag(t)
    where = f"kernel {kaddr:#x}" if kaddr else "program memory, no kernel copy"
    gdb.write(f"  {types.basic(t)} at {where}, {types.basic(t).sizeof} "
              f"bytes\n")
    if tag:
        show.decoded(tag, sv, kv)
    show.compare(sv, kv, diff_only)


USER_SHOWN = 64          # bytes of a caller's buffer "dusk print" shows


def _caller_range(addr):
    """(start, length) of the callback's __user range if addr is in it
    (the calling task's memory, not the program's), else None."""
    if runtime.is_kernel(addr) or runtime.is_mirror(addr):
        return None
    rng = runtime.user_range()
    return rng if rng and 0 <= addr - rng[0] < rng[1] else None


def _c_string(data):
    out = []
    for b in data:
        c = chr(b)
        if c in "\\\"":
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append({10: "\\n", 9: "\\t", 13: "\\r", 0: "\\0"}.get(
                b, f"\\x{b:02x}"))
    return '"' + "".join(out) + '"'


def show_caller_bytes(addr, rng):
    """The start of a caller's buffer, read through the invocation."""
    left = rng[0] + rng[1] - addr
    n = min(left, USER_SHOWN)
    data = runtime.uread(addr, n)
    more = f" (of {left}: dusk uread {addr:#x} {left})" if left > n else ""
    gdb.write(f"  the caller's {n} bytes{more}: {_c_string(data)}\n")


def print_expr(text, diff_only=False):
    e = Expr(text)
    sv = e.value(SHADOW)
    kv, kerr = None, None
    if e.kernel_access:
        try:
            kv = e.value(KERNEL)
        except gdb.GdbError as err:
            kerr = str(err)
    t = sv.type
    if types.is_aggregate(t):
        addr = int(sv.address) if sv.address is not None else 0
        k = runtime.kaddr(addr) if addr else None
        if kv is None and k:
            kv = gdb.Value(runtime.kread(k, types.basic(t).sizeof), t)
        gdb.write(f"{e.text}:\n")
        show_object(t, sv, kv, k, diff_only)
        return
    s, kt = show.fmt(sv), (show.fmt(kv) if kv is not None else None)
    line = f"{e.text} = {s}"
    caller = None
    if types.is_pointer(t) and types.basic(
            types.basic(t).target()).code != gdb.TYPE_CODE_FUNC:
        addr = int(sv) & (1 << 64) - 1
        caller = _caller_range(addr)
        line += f"  ({t}, " + ("the caller's user memory" if caller else
                               show.where(addr)) + ")"
    if kt is not None:
        line += "   kernel: " + kt + ("   * differs" if kt != s else "")
    elif kerr:
        line += f"   kernel: <{kerr}>"
    gdb.write(line + "\n")
    if caller:
        show_caller_bytes(addr, caller)
        return
    if _is_int_pointer(t):
        addr = int(sv) & ((1 << 64) - 1)
        if runtime.is_kernel(addr) or runtime.is_mirror(addr):
            # loff_t *ppos: the value is what matters.
            print_expr(f"*({e.text})", diff_only)
        return
    if _is_object_pointer(t):
        addr = int(sv) & ((1 << 64) - 1)
        if addr:
            target = types.basic(t).target()
            psv, pkv, k = _object_bytes(addr, target)
            show_object(target, psv, pkv, k, diff_only)


class Print(DuskCommand):
    """Print a module expression, the program's shadow beside the kernel.
Usage: dusk print [-d] EXPR

EXPR is C as in the module's source (skb->mark, *state, iph->saddr,
skb->dev->name). Every read through a pointer is made the way the module
makes it - through the program's shadow cache, fetched if need be - and
again from the kernel's live memory. A pointer to a struct is followed:
the object is shown member by member, shadow and kernel side by side,
differing members marked '*' (-d: only those), with sk_buff, nf_hook_state
and net_device decoded in a line (device, lengths, mark, the IP and
TCP/UDP/ICMP headers of the linear data), and a struct file (its name,
f_pos, f_flags, f_mode, inode number and device major:minor,
private_data) and a struct inode (number, mode, device, size) too. A
pointer to an integer (loff_t *ppos) shows the integer. Pointers are
kernel addresses, but in a callback: a pointer into the buffer the
kernel gave it (read's or write's buf) is the calling task's memory,
whose first bytes are read through the invocation and shown as a string
("dusk uread BUF LEN" dumps any of it). "--" ends the options (an
expression that starts with "-")."""

    name = "print"
    completer = gdb.COMPLETE_EXPRESSION

    def run(self, arg, from_tty):
        opts, expr = self.options(arg, ("-d",))
        if not expr:
            self.usage()
        runtime.require()
        print_expr(expr, "-d" in opts)


class Set(DuskCommand):
    """Change a value of the module: kernel objects change in the shadow.
Usage: dusk set EXPR = VALUE

The left side is written in the program's shadow cache (marked dirty),
as the module's own store would; the kernel copy changes when the change
is committed: at the module's next kernel call, at the end of the hook
(with its verdict), or now with "dusk commit"."""

    name = "set"
    completer = gdb.COMPLETE_EXPRESSION

    def run(self, arg, from_tty):
        runtime.require()
        e = Expr(arg, assignment=True)
        try:
            gdb.parse_and_eval(e.text_for(SHADOW))
        except gdb.error as err:
            raise gdb.GdbError(f"{e.text}: {err}") from None
        runtime.new_epoch()
        print_expr(e.source(e.node.lvalue))


def register():
    Print()
    Set()
