# SPDX-License-Identifier: GPL-2.0
"""dusk break-hook: breakpoints on the module's callbacks: its netfilter
hooks and the functions it gives the kernel to call (file operations,
proc_ops, seq_file operations, sysfs show and store...)."""

import re

import gdb

from . import runtime
from .commands import DuskCommand

# A netfilter hook: unsigned int fn(void *priv, struct sk_buff *skb,
# const struct nf_hook_state *state), as "info functions -t" prints it.
_HOOK_TYPE = re.compile(r"\(void \*, struct sk_buff \*, "
                        r"(const )?struct nf_hook_state \*\)")
_FUNC = re.compile(r"^(\d+):\s+(.*?)(\w+)\((.*)\);$")

_breakpoints = {}       # function -> HookBreakpoint
_wanted = {}            # name (or "all") -> condition, to break in when
                        # the module registers it
_anchors = []


def _is_runtime(name):
    return name.startswith(("dusk_", "__dusk_"))


def hook_functions():
    """[(file, function)]: the program's functions of a hook's type."""
    text = gdb.execute("info functions -q -t nf_hook_state", to_string=True)
    out, current = [], None
    for line in text.splitlines():
        if line.startswith("File ") and line.endswith(":"):
            current = line[5:-1]
            continue
        m = _FUNC.match(line.strip())
        if m and current and _HOOK_TYPE.search(f"({m.group(4)})") and \
                not _is_runtime(m.group(3)):
            out.append((current, m.group(3)))
    return out


def _function_at(addr):
    try:
        block = gdb.block_for_pc(addr)
    except RuntimeError:
        block = None
    while block is not None and block.function is None:
        block = block.superblock
    return block.function if block is not None else None


class HookBreakpoint(gdb.Breakpoint):
    """A breakpoint on a hook callback, with an optional condition: a C
    expression of the module's (skb->len > 1000, state->out->ifindex == 1)
    read through the program's cache, as "dusk print" reads it."""

    def __init__(self, spec, cond=None):
        super().__init__(spec)
        self.dusk_cond = cond

    def stop(self):
        if not self.dusk_cond:
            return True
        from .expr import Expr
        runtime.in_stop = True
        try:
            return bool(Expr(self.dusk_cond).value())
        except (gdb.GdbError, gdb.error) as e:
            gdb.write(f"dusk: breakpoint {self.number}: condition "
                      f"'{self.dusk_cond}': {e}\n")
            return True
        except KeyboardInterrupt:
            return True         # interrupted: stop here
        finally:
            runtime.in_stop = False
            runtime.new_epoch()


def break_in(name, spec=None, cond=None):
    """A breakpoint on hook function NAME (once): True if it is new."""
    bp = _breakpoints.get(name)
    if bp is not None and bp.is_valid():
        bp.dusk_cond = cond
        return False
    _breakpoints[name] = HookBreakpoint(spec or name, cond)
    return True


def _want(fn, kind):
    """Break in the module's function at fn if "break-hook" asked for it
    (all, or its name)."""
    sym = _function_at(fn)
    if sym is None or (sym.name not in _wanted and "all" not in _wanted):
        return
    cond = _wanted.get(sym.name, _wanted.get("all"))
    if break_in(sym.name, f"*{fn:#x}" if sym.symtab is None
                else f"{sym.symtab.filename}:{sym.name}", cond):
        gdb.write(f"dusk: the module registered {kind} {sym.name}: "
                  f"breakpoint set\n")


class _Registration(gdb.Breakpoint):
    """Where the runtime says the module registered a hook (kind "hook",
    dusk_dbg_hook_anchor) or gave the kernel a callback (kind "callback",
    dusk_dbg_callback_anchor): break in the function if asked. Never
    stops."""

    def __init__(self, anchor, kind):
        super().__init__(anchor, internal=True)
        self.silent = True
        self.kind = kind

    def stop(self):
        try:
            _want(int(gdb.selected_frame().read_var("fn")), self.kind)
        except (gdb.error, RuntimeError) as e:
            gdb.write(f"dusk: break-hook: {e}\n")
        return False


ANCHORS = (("dusk_dbg_hook_anchor", "hook"),
           ("dusk_dbg_callback_anchor", "callback"))


def _anchor_breakpoints():
    global _anchors
    if _anchors and all(a.is_valid() for a in _anchors):
        return
    for a in _anchors:
        if a.is_valid():
            a.delete()
    # A program of an older libdusk has no callback anchor.
    _anchors = [_Registration(name, kind) for name, kind in ANCHORS
                if gdb.lookup_global_symbol(name) is not None or
                gdb.lookup_static_symbol(name) is not None]


class BreakHook(DuskCommand):
    """Break in the module's callbacks: netfilter hooks, file operations...
Usage: dusk break-hook NAME|all [if COND]

NAME is a function of the module: a netfilter hook, or a callback it
gives the kernel (a member of its struct file_operations, proc_ops or
seq_operations, a sysfs show or store, single_open's show). "all" is
every function of the program with a hook's type (unsigned int (void *,
struct sk_buff *, const struct nf_hook_state *)), every callback the
module has given the kernel so far, and any hook or callback it
registers later ("dusk: the module registered callback scull_read:
breakpoint set"). COND is a C expression of the function's arguments,
read through the program's cache like "dusk print" reads it:
break-hook markdrop_out if state->out->ifindex == 1 stops for loopback
traffic only. Works before "run": the breakpoints are on the program's
own functions, which exist before the module registers them; one
registered later is caught when the module registers it (a driver's
file operations: in its init).

Stopped in a callback: "dusk caller" shows the calling task, "dusk
uread BUF LEN" the caller's buffer, "dusk status" every invocation in
flight."""

    name = "break-hook"
    completer = gdb.COMPLETE_SYMBOL

    def run(self, arg, from_tty):
        name, rest = self.first_word(arg)
        m = re.fullmatch(r"if\b\s*(.*)", rest, re.S)
        cond = m.group(1).strip() if m else None
        if not name or (rest and not cond):
            self.usage()
        if not runtime.has_runtime():
            raise gdb.GdbError("this program has no dusk runtime (libdusk): "
                               "build it with dusk-cc")
        _anchor_breakpoints()
        _wanted[name] = cond
        if name == "all":
            found = hook_functions()
            for f, fn in found:
                break_in(fn, f"{f}:{fn}", cond)
            names = sorted({fn for _, fn in found})
            cbs = []
            if runtime.running():
                for h in runtime.hooks():
                    if h.name:
                        break_in(h.name, None, cond)
                for c in runtime.callbacks():
                    if c.name:
                        break_in(c.name, None, cond)
                        cbs.append(c.name)
            cbs = sorted(set(cbs) - set(names))
            gdb.write(f"dusk: breaking in {len(names)} hook function"
                      f"{'' if len(names) == 1 else 's'}"
                      f"{': ' + ', '.join(names) if names else ''}, "
                      + (f"{len(cbs)} callback"
                         f"{'' if len(cbs) == 1 else 's'}: "
                         f"{', '.join(cbs)}, " if cbs else "")
                      + "and in any hook or callback the module registers "
                      "later\n")
            return
        sym = gdb.lookup_global_symbol(name) or \
            gdb.lookup_static_symbol(name)
        if sym is None or sym.type.code != gdb.TYPE_CODE_FUNC:
            raise gdb.GdbError(f"no function {name} in the program")
        if not break_in(name, None, cond):
            gdb.write(f"dusk: already breaking in {name}\n")


def register():
    BreakHook()
