# SPDX-License-Identifier: GPL-2.0
"""dusk break-hook: breakpoints on the module's netfilter hook callbacks."""

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
_anchor = None


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


class _Registration(gdb.Breakpoint):
    """Where the runtime says the module registered a hook: break in the
    callback if "break-hook" asked for it (all, or its name). Never
    stops."""

    def __init__(self):
        super().__init__("dusk_dbg_hook_anchor", internal=True)
        self.silent = True

    def stop(self):
        try:
            fn = int(gdb.selected_frame().read_var("fn"))
            sym = _function_at(fn)
            want = sym is not None and (sym.name in _wanted or
                                        "all" in _wanted)
            if want:
                cond = _wanted.get(sym.name, _wanted.get("all"))
                if break_in(sym.name, f"*{fn:#x}" if sym.symtab is None
                            else f"{sym.symtab.filename}:{sym.name}", cond):
                    gdb.write(f"dusk: the module registered hook "
                              f"{sym.name}: breakpoint set\n")
        except (gdb.error, RuntimeError) as e:
            gdb.write(f"dusk: break-hook: {e}\n")
        return False


def _anchor_breakpoint():
    global _anchor
    if _anchor is None or not _anchor.is_valid():
        _anchor = _Registration()


class BreakHook(DuskCommand):
    """Break in the module's netfilter hook callbacks.
Usage: dusk break-hook NAME|all [if COND]

NAME is a hook function of the module; "all" is every function of the
program with a hook's type (unsigned int (void *, struct sk_buff *, const
struct nf_hook_state *)) and any other function the module registers as a
hook later. COND is a C expression of the hook's arguments, read through
the program's cache like "dusk print" reads it: break-hook markdrop_out if
state->out->ifindex == 1 stops for loopback traffic only. Works before
"run": the breakpoints are on the program's own
functions, which exist before the module registers them; a hook
registered later is caught when the module registers it."""

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
        _anchor_breakpoint()
        _wanted[name] = cond
        if name == "all":
            found = hook_functions()
            for f, fn in found:
                break_in(fn, f"{f}:{fn}", cond)
            if runtime.running():
                for h in runtime.hooks():
                    if h.name:
                        break_in(h.name, None, cond)
            names = sorted({fn for _, fn in found})
            gdb.write(f"dusk: breaking in {len(names)} hook function"
                      f"{'' if len(names) == 1 else 's'}"
                      f"{': ' + ', '.join(names) if names else ''}, and in "
                      f"any hook the module registers later\n")
            return
        sym = gdb.lookup_global_symbol(name) or \
            gdb.lookup_static_symbol(name)
        if sym is None or sym.type.code != gdb.TYPE_CODE_FUNC:
            raise gdb.GdbError(f"no function {name} in the program")
        if not break_in(name, None, cond):
            gdb.write(f"dusk: already breaking in {name}\n")


def register():
    BreakHook()
