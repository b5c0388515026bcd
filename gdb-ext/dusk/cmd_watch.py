# SPDX-License-Identifier: GPL-2.0
"""dusk watch: stop when the module writes a kernel object's bytes.

No debug register can see kernel memory from the program, but the module
never writes kernel memory itself: every store goes, through the
plugin's checks (inline or not), to the shadow cache's mirror of the
kernel address, and the mirror of an address in one of the kernel's
regions stays at one user address for the whole session
(runtime/core/shadow.h: window(r) + (k - r.start); a reset unmaps the
page and maps it again in place). So a hardware watchpoint on the mirror
sees every write of the module's. It also sees the runtime's own writes
there: the kernel's bytes coming in when the cache fetches them again (a
new invocation's prefetch, a fetch after a kernel call or a refresh).
The watchpoint's stop() tells them apart by the stack: a write from
inside the functions that take the kernel's bytes in is the kernel's
(shown and stopped at only with -k), any other is the module's, by its
own store or through a library function it called.

A kernel copy of a program object (shadow.h: dusk_shadow_user_of) is
watched on the program's object, which is what module code uses; mirrors
that may move (stray pages, sections) and a late packet's frozen bytes
are refused by the runtime (dusk_dbg_shadow, DUSK_DBG_FIXED). A program
address is watched as gdb watches it.
"""

import gdb

from . import runtime, show, skips, types
from .commands import DuskCommand
from .expr import Expr

# x86: four debug registers, each watching 1, 2, 4 or 8 aligned bytes.
DEBUG_REGISTERS = 4
DEBUG_REGISTER_BYTES = 8

# Where the runtime takes the kernel's bytes into the mirror (or into a
# kernel copy's program object): a write from inside one of these is the
# kernel's change arriving, not the module's store. By priority: the
# copy of a line and the fetch serve both a prefetch and a fetch. Static
# ones may be inlined: gdb still shows their frames. Each with when the
# kernel changed the bytes and how the change came in.
INCOMING = (
    ("dusk_shadow_seed", "between invocations",
     "an invocation's prefetch brought it in"),
    ("dusk_kcopy_merge", "since the runtime last read the object's kernel "
     "copy", "the runtime read the copy back"),
    ("dusk_shadow_update", "through the runtime", "the runtime wrote the "
     "kernel for the module"),
    ("dusk_shadow_fill", "since the cache last held it",
     "the cache fetched it again"),
    ("dusk_shadow_get", "since the cache last held it",
     "the cache fetched it again"),
    ("dusk_shadow_copy_line", "since the cache last held it",
     "the cache fetched it again"),
)


def debug_registers(addr, size):
    """How many x86 debug registers watch [addr, addr + size): each one
    the largest aligned 1, 2, 4 or 8 bytes that fit (as gdb splits it)."""
    n = 0
    while size > 0:
        step = DEBUG_REGISTER_BYTES
        while step > 1 and (addr % step or step > size):
            step //= 2
        n += 1
        addr += step
        size -= step
    return n


def _writer(frame):
    """The INCOMING entry of the runtime's function the write came from,
    looking from frame to the first module frame; None: the module's."""
    names = set()
    f = frame
    while f is not None:
        try:
            if not skips.is_runtime_frame(f):
                break
            names.add(f.name())
            f = f.older()
        except gdb.error:
            break
    return next((entry for entry in INCOMING if entry[0] in names), None)


def _line(frame):
    """"file:line, in function" of a frame of the module's. The newest
    frame stopped after the store: the store is the instruction before
    its pc, whose line is the one that wrote."""
    sal = None
    if frame == gdb.newest_frame():
        sal = gdb.find_pc_line(frame.pc() - 1)
    if sal is None or sal.symtab is None:
        sal = frame.find_sal()
    where = f"{sal.symtab.filename}:{sal.line}" if sal.symtab else \
        f"{frame.pc():#x}"
    return f"{where}, in {frame.name() or '??'}"


class DuskWatchpoint(gdb.Breakpoint):
    """A hardware watchpoint on the bytes module code finds an object at
    (a kernel object's mirror, a kernel copy's program object, or the
    program's own object), reporting writes in the expression's terms."""

    def __init__(self, spec, text, addr, vtype, kaddr, kernel_too):
        # Set before gdb makes it: its creation's events (stops.sync
        # writing the program's memory) already see it.
        self.dusk_text = text
        self.addr = addr
        self.vtype = vtype
        self.size = max(types.basic(vtype).sizeof, 1)
        self.kaddr = kaddr
        self.on_mirror = bool(kaddr) and runtime.is_mirror(addr)
        self.kernel_too = kernel_too
        self.module_writes = 0
        self.kernel_changes = 0
        self.last = self._bytes()
        super().__init__(spec, gdb.BP_WATCHPOINT, gdb.WP_WRITE)

    def _bytes(self):
        try:
            return gdb.selected_inferior().read_memory(
                self.addr, self.size).tobytes()
        except (gdb.error, gdb.MemoryError):
            return None

    def fmt(self, data):
        if data is None:
            return "<unreadable>"
        return show.fmt(gdb.Value(data, self.vtype))

    def what(self):
        return f"{self.dusk_text} (kernel {self.kaddr:#x})" if self.kaddr \
            else self.dusk_text

    def stop(self):
        new = self._bytes()
        old, self.last = self.last, new
        if new == old:
            return False
        frame = gdb.newest_frame()
        incoming = _writer(frame)
        if incoming is not None:
            if self.on_mirror:
                # The kernel's bytes as the cache last took them in (the
                # page's pristine copy, not yet overwritten: the mirror's
                # line is copied first). Equal: the kernel did not change
                # them; the mirror held a change of the module's or
                # dusk-gdb's, or was filled by a read of gdb's meanwhile.
                try:
                    before = runtime.pristine_bytes(self.kaddr, self.size)
                except (gdb.error, gdb.MemoryError, types.LayoutError):
                    before = None
                if before == new:
                    return False
                old = before or old
            self.kernel_changes += 1
        change = f"{self.fmt(old)} -> {self.fmt(new)}"
        if incoming is not None:
            if not self.kernel_too:
                return False
            fn, when, how = incoming
            gdb.write(f"dusk watch {self.number}: the kernel changed "
                      f"{self.what()} {when}: {change} (seen when {how}: "
                      f"{fn}; stopped in the runtime)\n")
            return True
        self.module_writes += 1
        module = skips.module_frame()
        where = _line(module) if module is not None else "?"
        gdb.write(f"dusk watch {self.number}: the module wrote "
                  f"{self.what()}: {change} at {where}\n")
        return True


def _ours():
    return [b for b in gdb.breakpoints()
            if isinstance(b, DuskWatchpoint) and b.is_valid()]


def _after_call():
    """dusk-gdb's own inferior call is over. gdb reports no watchpoint hit
    inside one (nor while the program is stopped: the relay's reads), yet
    it may have fetched kernel bytes into a watched mirror (a "dusk print"
    after a refresh): gdb is made to read the value again (a write of the
    same bytes: gdb forgets the old value it keeps for the watchpoint),
    so that the next write's old value is not a stale one."""
    for b in _ours():
        now = b._bytes()
        if now is None or now == b.last:
            continue
        b.last = now
        try:
            gdb.selected_inferior().write_memory(b.addr, now)
        except (gdb.error, gdb.MemoryError):
            pass


def _memory_changed(event):
    """gdb wrote the program's memory (dusk set, set var): the next
    write's old value is what gdb wrote."""
    lo, hi = int(event.address), int(event.address) + int(event.length)
    for b in _ours():
        if b.addr < hi and lo < b.addr + b.size:
            b.last = b._bytes()


def _exited(event):
    """The session ended: the kernel addresses watched mean nothing in
    the next one."""
    for b in _ours():
        if b.kaddr:
            n = b.number
            b.delete()
            gdb.write(f"dusk: watchpoint {n} deleted: the kernel memory it "
                      f"watched belonged to the session that ended\n")


class Watch(DuskCommand):
    """Stop when the module writes a kernel object (or, -k, the kernel does).
Usage: dusk watch [-k] EXPR

EXPR is C as in the module's source (skb->mark, state->sk->sk_mark,
*(u32 *)ptr), an lvalue of at most what x86's four debug registers
watch (8 aligned bytes each). The program stops after each write of the
module's that changes those kernel bytes - its own store, or one made
by a library function it called - and shows the old and new value and
the module's line that wrote them. With -k it also stops when the
kernel changed them between invocations, as the program sees it: when
the cache takes the kernel's bytes in again (a new invocation's
prefetch, a fetch after a kernel call or a refresh) and they differ from
the kernel's bytes it last took in; it stops then in the runtime, where
the bytes came in.

The watch is a gdb hardware watchpoint on the bytes the module's code
uses for the object - the shadow cache's mirror of the kernel address,
which stays put for the session: "info breakpoints" lists it by that
address, "delete", "disable" and "condition" work on it. It watches the
address, not the expression: another packet's skb is another object. A
program variable is watched as gdb's "watch" watches it. Refused: a
bit-field, an address outside the kernel regions the cache mirrors
whole, a late packet's bytes, a kernel address with no memory (the
error the runtime gives), and more bytes than the debug registers left
can watch."""

    name = "watch"
    completer = gdb.COMPLETE_EXPRESSION

    def run(self, arg, from_tty):
        opts, text = self.options(arg, ("-k",))
        if not text:
            self.usage()
        kernel_too = "-k" in opts
        e = Expr(text)
        vtype = e.type
        addr, size = e.location()
        if size <= 0:
            raise gdb.GdbError(f"{e.text} has no size to watch ({vtype})")
        # A mirror is the kernel address's offset in its page: the same
        # alignment, the same registers.
        need = debug_registers(addr, size)
        used = sum(debug_registers(b.addr, b.size) for b in _ours()
                   if b.enabled)
        if need + used > DEBUG_REGISTERS:
            others = f" ({used} taken by other dusk watches)" if used \
                else ""
            raise gdb.GdbError(
                f"{e.text} is {size} bytes: it needs {need} of x86's "
                f"{DEBUG_REGISTERS} debug registers{others}, each watching "
                f"at most {DEBUG_REGISTER_BYTES} aligned bytes")
        # The kernel address it stands for: its own, a mirror's, a kernel
        # copy's or a placeholder's (a kernel variable of the glue).
        kaddr = None
        if runtime.is_kernel(addr):
            runtime.require()
            kaddr = addr
        elif runtime.running():
            kaddr = runtime.kaddr(addr)
        if kaddr:
            # Where module code finds those bytes: the mirror, or the
            # program object of a kernel copy.
            addr = runtime.shadow(kaddr, size, fixed=True)
            spec = f"*({vtype.pointer()}){addr:#x}"
        elif e.kernel_access:
            spec = f"*({vtype.pointer()}){addr:#x}"
        else:
            spec = e.text       # as gdb's own "watch" takes it
        bp = DuskWatchpoint(spec, e.text, addr, vtype, kaddr, kernel_too)
        if bp.type != gdb.BP_HARDWARE_WATCHPOINT:
            bp.delete()
            raise gdb.GdbError(f"gdb could not make {e.text} a hardware "
                               f"watchpoint (set can-use-hw-watchpoints 1)")
        if kaddr:
            also = "; -k: and when the kernel changed them" if kernel_too \
                else ""
            gdb.write(f"dusk: watchpoint {bp.number} watches {e.text}: "
                      f"kernel {kaddr:#x}, {size} bytes, at {addr:#x} in "
                      f"the program; it stops when the module writes "
                      f"them{also}\n")


def register():
    Watch()
    runtime.after_call.append(_after_call)
    gdb.events.memory_changed.connect(_memory_changed)
    gdb.events.exited.connect(_exited)
