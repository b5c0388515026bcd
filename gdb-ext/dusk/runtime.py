# SPDX-License-Identifier: GPL-2.0
"""The program's runtime (libdusk), asked by inferior calls.

Every question about the cache, the session or the kernel is answered by
the runtime's own code through the functions of
runtime/include/dusk_debug.h;
this module is the only one that calls them. A failure comes back as
gdb.GdbError with the runtime's own one-line explanation (dusk_dbg_error).

Answers are kept for as long as the program stays stopped (an "epoch"):
one "dusk print" reading skb->dev twice asks once. Anything that resumes
the program, and the commands that change the cache, start a new epoch.
"""

import collections

import gdb

from . import constants as C
from . import types

KERNEL_MIN = C.DUSK_KERNEL_MIN

Range = collections.namedtuple(
    "Range", "kaddr user size type state owner")
Hook = collections.namedtuple(
    "Hook", "handle name addr pf hooknum priority")
Invocation = collections.namedtuple(
    "Invocation", "id kind pid tgid comm cpu ms signal lwp state mine")
Callback = collections.namedtuple("Callback", "addr name what")
Cond = collections.namedtuple("Cond", "addr name tested held failed")
Deferred = collections.namedtuple(
    "Deferred", "kind fn name obj expires due_ms state runs")
KCall = collections.namedtuple(
    "KCall", "seq name args result status usec ret_kind arg_kinds origins")

_memo = {}
_calling = 0
# Set while a breakpoint's stop() decides whether to stop: the program is
# stopped then, though gdb still calls its thread running.
in_stop = False


def new_epoch(event=None):
    """Forget what the runtime said: the program ran, or the cache changed."""
    if not _calling:
        _memo.clear()


def register():
    for ev in (gdb.events.stop, gdb.events.cont, gdb.events.exited,
               gdb.events.new_objfile):
        ev.connect(new_epoch)


def is_kernel(addr):
    return addr >= KERNEL_MIN


def symbol(name):
    """The program's symbol NAME, global or file-static, or None."""
    return gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)


# ---- preconditions -----------------------------------------------------------

def has_runtime():
    """Is the program linked with libdusk's debugger interface?"""
    try:
        gdb.parse_and_eval("&dusk_dbg_status")
        return True
    except gdb.error:
        return False


def require():
    """Raise unless the program runs, is stopped and has a runtime."""
    if not has_runtime():
        raise gdb.GdbError("this program has no dusk runtime (libdusk): "
                           "build it with dusk-cc")
    if gdb.selected_inferior().pid == 0:
        raise gdb.GdbError("the program is not running: 'run' it first "
                           "(e.g. dusk break-hook all; run)")
    th = gdb.selected_thread()
    if th is None or (th.is_running() and not in_stop):
        raise gdb.GdbError("the program is running: interrupt it first")


def running():
    """Like require(), but True/False."""
    try:
        require()
        return True
    except gdb.GdbError:
        return False


# ---- calls ---------------------------------------------------------------------

# Called after each inferior call of dusk-gdb's (the outermost): gdb
# reports no watchpoint hit inside one, so what it wrote is looked at
# then (cmd_watch).
after_call = []


def _call(text):
    global _calling
    _calling += 1
    try:
        return gdb.parse_and_eval(text)
    except gdb.error as e:
        fn = text.split("(", 1)[0]
        raise gdb.GdbError(f"{fn}() in the program failed: {e}") from None
    finally:
        _calling -= 1
        if not _calling:
            for fn in after_call:
                fn()


def _error(default):
    try:
        msg = gdb.parse_and_eval("dusk_dbg_error").string()
    except (gdb.error, UnicodeDecodeError):
        msg = ""
    return msg or default


def _text(call, what):
    require()
    v = _call(call)
    if int(v) == 0:
        raise gdb.GdbError(_error(f"the runtime could not give {what}"))
    return v.string(errors="replace")


def _memoized(key, fn):
    if key not in _memo:
        _memo[key] = fn()
    return _memo[key]


def _read(addr, size):
    return gdb.selected_inferior().read_memory(addr, size).tobytes()


# ---- questions -------------------------------------------------------------------

def status():
    """The session's state: {key: value} (dusk_dbg_status)."""
    text = _text("dusk_dbg_status()", "its status")
    return dict(line.split("\t", 1) for line in text.splitlines()
                if "\t" in line)


def _records(call, what, nfields):
    """The lines of a text result with nfields tab-separated fields."""
    return [f for f in (line.split("\t") for line in
                        _text(call, what).splitlines()) if len(f) == nfields]


def address_map():
    """[Range] (dusk_dbg_map), by kernel address."""
    return [Range(int(f[0], 16), int(f[1], 16), int(f[2]), f[3], f[4], f[5])
            for f in _records("dusk_dbg_map()", "the address map", 6)]


def hooks():
    """[Hook] registered by the module (dusk_dbg_hooks)."""
    return [Hook(int(f[0]), None if f[1] == "-" else f[1], int(f[2], 16),
                 int(f[3]), int(f[4]), int(f[5]))
            for f in _records("dusk_dbg_hooks()", "the hooks", 6)]


def invocations():
    """[Invocation] in flight on any thread (dusk_dbg_invocations)."""
    return [Invocation(int(f[0]), f[1], int(f[2]), int(f[3]),
                       None if f[4] == "-" else f[4], int(f[5]), int(f[6]),
                       None if f[7] == "-" else f[7], int(f[8]), f[9],
                       f[10] == "1")
            for f in _records("dusk_dbg_invocations()",
                              "the invocations in flight", 11)]


def callbacks():
    """[Callback]: the module's functions given to the kernel
    (dusk_dbg_callbacks)."""
    return [Callback(int(f[0], 16), None if f[1] == "-" else f[1], f[2])
            for f in _records("dusk_dbg_callbacks()", "the callbacks", 3)]


def deferred():
    """[Deferred]: the module's timers, hrtimers and delayed work armed
    or running, its work queued or running (dusk_dbg_deferred). A work
    item's expires is its workqueue's name."""
    def rec(f):
        exp = f[4] if f[0] == "work" else int(f[4])
        return Deferred(f[0], int(f[1], 16), None if f[2] == "-" else f[2],
                        int(f[3], 16), exp, int(f[5]), f[6], int(f[7]))
    return [rec(f) for f in _records("dusk_dbg_deferred()",
                                     "the timers and work", 8)]


def user_range():
    """(start, length) of the __user range the callback this thread
    serves was given (read's buf and count), or None."""
    v = status().get("invocation_user")
    if not v:
        return None
    lo, n = v.split("\t")
    return int(lo, 16), int(n)


def _bytes_of(fn, addr, size, what, whose=None):
    """size bytes at addr that the runtime's fn(addr, size) gives (a
    pointer, NULL on error), once an epoch (and once for whose)."""
    def fetch():
        require()
        v = _call(f"{fn}({addr:#x}, {int(size)})")
        if int(v) == 0:
            raise gdb.GdbError(_error(f"cannot read {what} at {addr:#x}"))
        return _read(int(v), size)
    return _memoized((fn, addr, size, whose), fetch)


def uread(uaddr, size):
    """size bytes of the caller's user memory at uaddr, read by the
    calling task through the invocation this thread serves."""
    # Each thread serves its own caller: another process's memory.
    return _bytes_of("dusk_dbg_uread", uaddr, size, "the caller's memory",
                     gdb.selected_thread().global_num)


def _split(field):
    return [] if field == "-" else field.split(",")


def kcalls(n=0):
    """The last n kernel calls (0: all kept), oldest first: [KCall]."""
    out = []
    for f in _records(f"dusk_dbg_kcalls({int(n)})", "the kernel calls", 9):
        args = [int(a, 16) for a in _split(f[2])]
        pending = f[4] == "pending"
        out.append(KCall(
            int(f[0]), f[1], args, None if pending else int(f[3], 16),
            "pending" if pending else int(f[4]),
            None if pending else int(f[5]), f[6],
            _split(f[7]) or ["-"] * len(args),
            _split(f[8]) or ["-"] * len(args)))
    return out


def kread(kaddr, size):
    """size bytes of live kernel memory at kaddr (not the cache)."""
    return _bytes_of("dusk_dbg_kread", kaddr, size, "kernel memory")


def shadow(addr, size, write=False, fixed=False):
    """The address of the cache's mirror of [addr, addr + size), fetched
    if need be (write: marked dirty); a user address comes back as it
    is. fixed: only an address that module code will find those bytes at
    for the rest of the session (to watch it), else GdbError."""
    flags = (C.DUSK_DBG_WRITE if write else 0) | \
        (C.DUSK_DBG_FIXED if fixed else 0)

    def fetch():
        require()
        v = _call(f"dusk_dbg_shadow({addr:#x}, {int(size)}, {flags})")
        if int(v) == 0:
            raise gdb.GdbError(_error(
                f"cannot read kernel memory at {addr:#x} into the cache"))
        return int(v)
    return _memoized(("s", addr, size, flags), fetch)


def read_shadow(addr, size, fetch=True):
    """The bytes of [addr, addr + size) as the program sees them, or None
    (not cached, when not fetch)."""
    if not fetch:
        return peek_bytes(addr, size)
    return _read(shadow(addr, size), size)


def _table():
    """The cache's table __dusk_shadow (struct dusk_shadow_table, whose
    layout is ABI: runtime/core/shadow_fast.h) read with memory reads
    alone: (its bytes, its Layout), or None when the program has no table.
    The layouts come from the program's DWARF (libdusk is built with -g),
    checked against the ones generated from the header (GdbError when they
    differ)."""
    try:
        addr = int(gdb.parse_and_eval("(unsigned long)&__dusk_shadow"))
    except gdb.error:
        return None
    lay = types.layout("dusk_shadow_table")
    return _read(addr, lay.sizeof), lay


def _entry(ents, mask, kpn):
    """The table's entry of kernel page kpn (its bytes), or None."""
    ent = types.layout("dusk_shadow_entry")
    slot = ((kpn * C.DUSK_SHADOW_HASH_MUL) & (1 << 64) - 1) >> 32 & mask
    for _ in range(mask + 1):
        e = _read(ents + slot * ent.sizeof, ent.sizeof)
        ekpn = ent.read(e, "kpn")
        if ekpn == kpn:
            return e
        if ekpn == 0:
            return None
        slot = (slot + 1) & mask
    return None


def pristine_bytes(kaddr, size):
    """What the cache last knew the kernel to hold at [kaddr, kaddr +
    size), within one page: the entry's pristine copy (the kernel's bytes
    as fetched or last committed, whatever the generation), read with
    memory reads only; None when the table has no such page."""
    tab = _table()
    if tab is None or not is_kernel(kaddr):
        return None
    raw, tlay = tab
    e = _entry(tlay.read(raw, "ents"), tlay.read(raw, "mask"),
               kaddr >> C.DUSK_PAGE_SHIFT)
    if e is None:
        return None
    p = types.layout("dusk_shadow_entry").read(e, "pristine")
    return _read(p + (kaddr & (C.DUSK_PAGE_SIZE - 1)), size) if p else None


def peek_bytes(kaddr, size):
    """The cached bytes of kernel memory [kaddr, kaddr + size), or None if
    any line of it is not cached in this generation - read from the cache's
    table (__dusk_shadow) with memory reads only, no inferior call: safe
    while gdb prints a stop (an inferior call from a printer there brings
    gdb 13's MI down). GdbError when the table's layout in the program is
    not the one dusk-gdb was built with."""
    if not is_kernel(kaddr) or size <= 0:
        return None
    tab = _table()
    if tab is None:
        return None
    raw, tlay = tab
    ents, mask, gen = (tlay.read(raw, f) for f in ("ents", "mask", "gen"))
    ent = types.layout("dusk_shadow_entry")
    out = b""
    a, end = kaddr, kaddr + size
    while a < end:
        kpn = a >> C.DUSK_PAGE_SHIFT
        off = a & (C.DUSK_PAGE_SIZE - 1)
        n = min(end - a, C.DUSK_PAGE_SIZE - off)
        e = _entry(ents, mask, kpn)
        if e is None or ent.read(e, "gen") != gen:
            return None
        first, last = off >> C.DUSK_LINE_SHIFT, (off + n - 1) >> \
            C.DUSK_LINE_SHIFT
        lines = ((1 << (last + 1)) - 1) & ~((1 << first) - 1)
        if ent.read(e, "valid") & lines != lines:
            return None
        out += _read(ent.read(e, "user") + off, n)
        a += n
    return out


def kaddr(user):
    """The kernel address a user address stands for (a mirror address, a
    user object's kernel copy, a placeholder), or None."""
    if is_kernel(user):
        return user

    def fetch():
        require()
        v = int(_call(f"dusk_dbg_kaddr({user:#x})"))
        return v or None
    return _memoized(("a", user), fetch)


def _range_call(fn, kaddr, size, what):
    require()
    err = int(_call(f"{fn}({kaddr:#x}, {int(size)})"))
    new_epoch()
    if err:
        raise gdb.GdbError(_error(f"{what} failed ({err})"))


def commit(kaddr=0, size=0):
    """Send the cache's changes in [kaddr, kaddr + size) now (size 0:
    all)."""
    _range_call("dusk_dbg_commit", kaddr, size, "commit")


def refresh(kaddr=0, size=0):
    """Forget [kaddr, kaddr + size) in the cache (size 0: all)."""
    _range_call("dusk_dbg_refresh", kaddr, size, "refresh")


def ksym(name):
    """A kernel symbol's address."""
    require()
    data = name.encode() + b"\0"
    if len(data) > C.DUSK_DBG_ARG_LEN:
        raise gdb.GdbError(f"symbol name too long: {name}")
    arg = int(gdb.parse_and_eval("(unsigned long)&dusk_dbg_arg"))
    gdb.selected_inferior().write_memory(arg, data)
    v = int(_call("dusk_dbg_ksym(dusk_dbg_arg)"))
    if not v:
        raise gdb.GdbError(_error(f"no kernel symbol {name}"))
    return v


def cond_set(fn, nparams, code):
    """Have the runtime test CODE (a condition compiled for the function
    at fn, taking nparams parameters: cond.py) before each call of fn: 0,
    or -ENOENT when fn is not a hook or callback the module registered;
    GdbError for any other failure."""
    import errno
    require()
    block = int(_call(f"dusk_dbg_cond_alloc({len(code)})"))
    if not block:
        raise gdb.GdbError(_error("no memory for the condition's code"))
    gdb.selected_inferior().write_memory(block, code)
    err = int(_call(f"dusk_dbg_cond_set((void *){fn:#x}, {int(nparams)}, "
                    f"(void *){block:#x}, {C.DUSK_DBG_COND_ABI})"))
    if err == -errno.ENOENT:
        return err
    if err:
        raise gdb.GdbError(_error(f"the runtime refused the condition "
                                  f"({err})"))
    return 0


def cond_clear(fn):
    """The runtime no longer tests fn's condition."""
    require()
    _call(f"dusk_dbg_cond_clear((void *){fn:#x})")


def has_conds():
    """Does the program's runtime take compiled conditions?"""
    return symbol("dusk_dbg_cond_set") is not None


def conds():
    """[Cond]: the compiled conditions the runtime tests, with how many
    times it tested each, how many held and how many failed
    (dusk_dbg_conds)."""
    return [Cond(int(f[0], 16), None if f[1] == "-" else f[1], int(f[2]),
                 int(f[3]), int(f[4]))
            for f in _records("dusk_dbg_conds()", "the conditions", 5)]


def mirror_range():
    """(lo, span): every mirror address is in [lo, lo + span)
    (__dusk_shadow, the cache's table: _table())."""
    def fetch():
        try:
            tab = _table()
        except gdb.MemoryError:
            tab = None
        if tab is None:
            return 0, 0
        raw, lay = tab
        return lay.read(raw, "mirror_lo"), lay.read(raw, "mirror_span")
    return _memoized(("m",), fetch)


def is_mirror(addr):
    lo, span = mirror_range()
    return 0 <= addr - lo < span


def symbol_at(addr):
    """"name+off" of a program address (a function), or None."""
    try:
        text = gdb.execute(f"info symbol {addr:#x}", to_string=True)
    except gdb.error:
        return None
    if text.startswith("No symbol"):
        return None
    return text.split(" in section")[0].replace(" + ", "+").strip()


def errno_name(err):
    """"ENOENT (No such file or directory)" for 2."""
    import errno
    import os
    return f"{errno.errorcode.get(err, 'E?')} ({os.strerror(err)})"
