# SPDX-License-Identifier: GPL-2.0
"""dusk break-hook: breakpoints on the module's callbacks: its netfilter
hooks and the functions it gives the kernel to call (file operations,
proc_ops, seq_file operations, sysfs show and store...)."""

import re

import gdb

from . import cond as compiled
from . import runtime, stops
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
    read through the program's cache, as "dusk print" reads it.

    The condition is compiled into the program when it can be (cond.py):
    the runtime tests it before each call and reaches
    dusk_dbg_cond_anchor only when it holds or fails; the breakpoint's
    locations are then disabled (no trap at all while the condition is
    false), and _CondHit enables them for the thread on its way in, which
    alone stops here. Otherwise gdb tests it at each call (stop())."""

    def __init__(self, spec, cond=None):
        super().__init__(spec)
        self.dusk_cond = cond
        self.in_program = None      # (pid, fn, cond) the runtime tests
        self.armed = {}             # thread -> None, or why it failed
        self.said = None            # the last note about the condition
        self.gdb_stops = 0          # traps gdb saw here (tests count them)

    def stop(self):
        self.gdb_stops += 1
        if self.in_program is not None:
            th = gdb.selected_thread()
            key = th.global_num if th is not None else None
            if key not in self.armed:
                return False    # another thread while one is let in
            why = self.armed.pop(key)
            if why:
                gdb.write(f"dusk: breakpoint {self.number}: condition "
                          f"'{self.dusk_cond}': {why}\n")
            return True
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

    def traps(self, on):
        """Trap at the function's entry (on) or not at all."""
        for loc in self.locations:
            if loc.enabled != on:
                loc.enabled = on
        stops.sync()

    def note(self, text):
        """Say TEXT about the condition, once."""
        if self.said != text:
            self.said = text
            gdb.write(f"dusk: breakpoint {self.number}: {text}\n")


_in_program = {}        # function address -> HookBreakpoint


def _pid():
    return gdb.selected_inferior().pid


def _compile_in(bp, fn, quiet=False):
    """Have the program test bp's condition before each call of fn (its
    address in this run): True if it does now; a one-line note if gdb
    keeps testing it (not when QUIET and fn is not registered yet)."""
    want = (_pid(), fn, bp.dusk_cond)
    if bp.in_program == want:
        return True
    _uncompile(bp)
    if not bp.dusk_cond or not _pid():
        return False
    slow = "condition tested by gdb at each call (slower): "
    if not runtime.has_conds():
        bp.note(slow + "the program's libdusk takes no compiled condition")
        return False
    was = runtime.in_stop
    runtime.in_stop = True
    try:
        code, nparams = compiled.compile_condition(fn, bp.dusk_cond)
        err = runtime.cond_set(fn, nparams, code)
    except compiled.Uncompilable as e:
        bp.note(slow + str(e))
        return False
    except (gdb.GdbError, gdb.error) as e:
        bp.note(slow + str(e))
        return False
    finally:
        runtime.in_stop = was
        runtime.new_epoch()
    if err:
        if not quiet:
            bp.note(slow + f"{_name_at(fn)} is not a hook or callback the "
                    f"module registered (yet)")
        return False
    bp.in_program = want
    bp.armed.clear()
    _in_program[fn] = bp
    bp.traps(False)
    bp.note(f"condition '{bp.dusk_cond}' compiled into the program: no "
            f"stop while it is false")
    return True


def _uncompile(bp, traps=True):
    """gdb tests bp's condition again (if it has one; traps: its locations
    enabled again), the program no longer does."""
    if bp.in_program is None:
        return
    pid, fn, _ = bp.in_program
    bp.in_program = None
    bp.armed.clear()
    if _in_program.get(fn) is bp:
        del _in_program[fn]
    if pid == _pid() and runtime.running():
        try:
            runtime.cond_clear(fn)
        except gdb.GdbError:
            pass        # _CondHit clears it when it holds next
    if traps and bp.is_valid():
        bp.traps(True)


def _name_at(fn):
    sym = _function_at(fn)
    return sym.name if sym is not None else f"{fn:#x}"


def _fn_address(name):
    sym = runtime.symbol(name)
    if sym is None or sym.type.code != gdb.TYPE_CODE_FUNC:
        return None
    try:
        return int(sym.value().address)
    except gdb.error:
        return None


class _CondHit(gdb.Breakpoint):
    """dusk_dbg_cond_anchor: a compiled condition held (or failed) and the
    runtime is about to call the function: let this thread stop there.
    Never stops itself."""

    def __init__(self):
        super().__init__("dusk_dbg_cond_anchor", internal=True)
        self.silent = True
        self.hits = 0               # conditions that held or failed

    def stop(self):
        self.hits += 1
        try:
            frame = gdb.selected_frame()
            fn = int(frame.read_var("fn"))
            held = int(frame.read_var("held"))
            why = frame.read_var("why")
            why = why.string(errors="replace") if int(why) else \
                "the condition could not be evaluated"
        except (gdb.error, RuntimeError) as e:
            gdb.write(f"dusk: break-hook: {e}\n")
            return False
        bp = _in_program.get(fn)
        if bp is None or not bp.is_valid() or bp.in_program is None or \
                bp.in_program[0] != _pid():
            # Nobody breaks there any more.
            runtime.in_stop = True
            try:
                runtime.cond_clear(fn)
            except gdb.GdbError:
                pass
            finally:
                runtime.in_stop = False
                runtime.new_epoch()
            return False
        if not bp.enabled:
            return False        # the user disabled it
        bp.armed[gdb.selected_thread().global_num] = \
            why if held < 0 else None
        bp.traps(True)
        return False


_cond_hit = None


def _cond_anchor():
    global _cond_hit
    if _cond_hit is not None and _cond_hit.is_valid():
        return
    if runtime.has_conds():
        _cond_hit = _CondHit()


def _after_stop(event):
    """The stop is reported: no trap where no thread is let in."""
    for bp in list(_in_program.values()):
        if bp.is_valid() and not bp.armed:
            bp.traps(False)


def _exited(event):
    """The program is gone, and what its runtime tested with it: gdb tests
    the conditions until the next run's runtime takes them."""
    for bp in list(_in_program.values()):
        bp.in_program = None
        bp.armed.clear()
        if bp.is_valid():
            bp.traps(True)
    _in_program.clear()


def _deleted(bp):
    if isinstance(bp, HookBreakpoint):
        _uncompile(bp, traps=False)     # going: leave its locations be


def break_in(name, spec=None, cond=None):
    """A breakpoint on hook function NAME (once): True if it is new. Its
    condition is compiled into the program now if the program is stopped
    and the function registered, else when the module registers it."""
    bp = _breakpoints.get(name)
    new = bp is None or not bp.is_valid()
    if new:
        bp = _breakpoints[name] = HookBreakpoint(spec or name, cond)
    elif bp.dusk_cond != cond:
        _uncompile(bp)
        bp.dusk_cond = cond
        bp.said = None
    if cond and runtime.running():
        fn = _fn_address(name)
        if fn is not None:
            _compile_in(bp, fn, quiet=True)
    return new


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
    bp = _breakpoints.get(sym.name)
    if bp is not None and bp.dusk_cond:
        _compile_in(bp, fn)


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
        runtime.in_stop = True
        try:
            _want(int(gdb.selected_frame().read_var("fn")), self.kind)
        except (gdb.error, RuntimeError) as e:
            gdb.write(f"dusk: break-hook: {e}\n")
        finally:
            runtime.in_stop = False
            runtime.new_epoch()
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
                if runtime.symbol(name) is not None]


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
breakpoint set"). COND is a C expression of the function's arguments
and the module's variables, read through the program's cache like "dusk
print" reads it: break-hook markdrop_out if state->out->ifindex == 1
stops for loopback traffic only. It is compiled into the program, which
tests it before each call it makes of the function and stops only when
it holds (or cannot be evaluated: the stop says why), so a false
condition costs no stop; gdb tests one that cannot be compiled ($
variables, function calls, assignments, floating point, the function's
locals) at each call, and says so. Works before "run": the breakpoints
are on the program's own functions, which exist before the module
registers them; one registered later is caught when the module
registers it (a driver's file operations: in its init).

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
        _cond_anchor()
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
        sym = runtime.symbol(name)
        if sym is None or sym.type.code != gdb.TYPE_CODE_FUNC:
            raise gdb.GdbError(f"no function {name} in the program")
        if not break_in(name, None, cond):
            gdb.write(f"dusk: already breaking in {name}\n")


def register():
    BreakHook()
    gdb.events.stop.connect(_after_stop)
    gdb.events.exited.connect(_exited)
    gdb.events.breakpoint_deleted.connect(_deleted)
