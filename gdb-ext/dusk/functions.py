# SPDX-License-Identifier: GPL-2.0
"""Convenience functions that reach kernel objects the way the program
does. "dusk print" rewrites expressions into them (expr.py); they work in
plain gdb expressions too:

  print $dusk(skb)->len          the program's view (its shadow cache)
  print $dusk_kernel(skb).len    the live kernel's bytes
  set var $dusk_w(skb)->mark = 5 a change the next commit sends
  print/x $dusk_kaddr(p)         the kernel address behind a mirror address
"""

import functools

import gdb

from . import runtime, types


def _gdb_errors(invoke):
    """A failure inside a convenience function is one line (GdbError),
    not a Python exception report."""
    @functools.wraps(invoke)
    def wrapper(self, *args):
        try:
            return invoke(self, *args)
        except gdb.GdbError:
            raise
        except (gdb.error, gdb.MemoryError) as e:
            raise gdb.GdbError(str(e)) from None
    return wrapper


def _pointer(fn, ptr):
    """(address, pointee type, its size) of a pointer argument."""
    t = types.basic(ptr.type)
    if t.code == gdb.TYPE_CODE_ARRAY:
        ptr = ptr[0].address
        t = types.basic(ptr.type)
    if t.code != gdb.TYPE_CODE_PTR:
        raise gdb.GdbError(f"{fn}: argument is not a pointer ({ptr.type})")
    target = t.target()
    tb = types.basic(target)
    if tb.code == gdb.TYPE_CODE_VOID:
        raise gdb.GdbError(f"{fn}: cannot dereference a void pointer")
    if tb.code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION) and \
            tb.sizeof == 0:
        raise gdb.GdbError(f"{fn}: {target} is incomplete in the program's "
                           f"debug information")
    addr = int(ptr) & ((1 << 64) - 1)
    if addr == 0:
        raise gdb.GdbError(f"{fn}: NULL pointer dereference ({ptr.type})")
    return addr, target, max(tb.sizeof, 1)


class Dusk(gdb.Function):
    """$dusk(PTR): PTR as the program sees it - a pointer of PTR's type into
    the program's shadow cache, where its pointee is mirrored (fetched
    from the kernel if need be, as the module's own access would). A
    pointer to the program's own memory is returned as it is."""

    write = False

    def __init__(self, name="dusk"):
        super().__init__(name)

    @_gdb_errors
    def invoke(self, ptr):
        addr, _, size = _pointer("$" + self.name_, ptr)
        if not runtime.is_kernel(addr) and not runtime.is_mirror(addr):
            return ptr          # the program's own memory
        m = runtime.shadow(addr, size, write=self.write)
        return gdb.Value(m).cast(ptr.type)

    name_ = "dusk"


class DuskW(Dusk):
    """$dusk_w(PTR): like $dusk(PTR), for writing: the mirrored lines are
    marked dirty, so that the next commit (at the next kernel call, at the
    end of the callback, or "dusk commit") sends what changed."""

    write = True
    name_ = "dusk_w"

    def __init__(self):
        super().__init__("dusk_w")


class DuskKernel(gdb.Function):
    """$dusk_kernel(PTR): the object PTR points to, as the kernel holds it
    now (its live bytes, read around the cache: a value, not an lvalue).
    For the program's own object, its kernel copy's bytes (an error when
    it has none)."""

    def __init__(self):
        super().__init__("dusk_kernel")

    @_gdb_errors
    def invoke(self, ptr):
        addr, target, size = _pointer("$dusk_kernel", ptr)
        k = runtime.kaddr(addr)
        if k is None:
            raise gdb.GdbError(
                f"$dusk_kernel: {addr:#x} is the program's own memory "
                f"with no kernel copy")
        return gdb.Value(runtime.kread(k, size), target)


class DuskKaddr(gdb.Function):
    """$dusk_kaddr(PTR): the kernel address PTR stands for - a mirror
    address's kernel address, a user object's kernel copy, a placeholder's
    kernel variable - as a pointer of PTR's type (0 when none)."""

    def __init__(self):
        super().__init__("dusk_kaddr")

    @_gdb_errors
    def invoke(self, ptr):
        addr = int(ptr) & ((1 << 64) - 1)
        k = runtime.kaddr(addr) or 0
        t = ptr.type if types.is_pointer(ptr.type) else \
            gdb.lookup_type("void").pointer()
        return gdb.Value(k).cast(t)


def register():
    Dusk()
    DuskW()
    DuskKernel()
    DuskKaddr()
