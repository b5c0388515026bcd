# SPDX-License-Identifier: GPL-2.0
"""dusk-gdb: gdb for kernel modules that run at user level (dusk-cc).

A module program keeps kernel objects in a shadow cache: a user-level
mirror of kernel memory that libdusk fills lazily and commits back. This
package lets gdb show both sides of every kernel object the module touches
(the program's mirror and the live kernel's bytes), the address map,
hooks and kernel calls. It never re-implements the runtime: every
question about the cache, the session or the kernel goes to libdusk's
own code (runtime/include/dusk_debug.h) by an inferior call, through
runtime.py.

Modules, one per concern:
  runtime     the inferior calls into dusk_dbg_* and their results
  types       types and layouts from the program's DWARF, looked up
              lazily, checked against the generated ones (constants)
  expr        C expressions rewritten to read through the cache
  functions   $dusk, $dusk_w, $dusk_kernel, $dusk_kaddr
  decode      sk_buff, nf_hook_state, net_device, file and inode in a
              line each
  show        the shadow and kernel side by side
  printers    pretty-printers for plain "print"
  skips       "step" steps over the runtime and the glue
  stops       tells the program whether a breakpoint can stop it (its
              verdicts go together when none can)
  xstate      inferior calls where gdb cannot write the XSAVE area back
  remote      the program under gdbserver behind the relay; attach
  relay       (a python3 script of its own, run by gdb through a pipe)
              gdb's reads and writes of kernel addresses served from the
              program's cache, the rest passed to gdbserver
  cmd_*       the "dusk" commands: hooks, inspect (print, set), cache
              (map, commit, refresh), kcalls (kcalls, step-kcall), target
              (status, ksym, kread, log), callbacks (caller, uread),
              watch (watchpoints on the mirror of kernel memory)
  constants   generated at build time: from proto/dusk_proto.h and the
              runtime's headers, and the layouts the compiler computed
              (gdb-ext/runtime-layout.c, gdb-ext/kernel-layout/layout.c)

load() registers all of it; gdb-ext/dusk-gdb.py (the loader) calls it.
"""

import os

# An out-of-tree build keeps the generated module (constants) in
# its own gdb-ext/dusk.
_builddir = os.environ.get("DUSK_BUILDDIR")
if _builddir:
    _gen = os.path.join(_builddir, "gdb-ext", "dusk")
    if os.path.isdir(_gen) and os.path.realpath(_gen) not in map(
            os.path.realpath, __path__):
        __path__.append(_gen)

_loaded = False


def load():
    """Register the commands, functions, printers and event handlers."""
    global _loaded
    if _loaded:
        return
    import gdb
    from . import (cmd_cache, cmd_callbacks, cmd_hooks, cmd_inspect,
                   cmd_kcalls, cmd_target, cmd_watch, commands, functions,
                   printers, remote, runtime, skips, stops, types, xstate)

    # The program forks a watchdog that keeps its session alive while it
    # sits at a breakpoint: gdb must stay with the program and let the
    # watchdog run on its own.
    for setting in ("set detach-on-fork on", "set follow-fork-mode parent",
                    # An inferior call that faults (a corrupt cache in a
                    # crashed program) must not leave the program in it.
                    "set unwindonsignal on"):
        gdb.execute(setting, to_string=True)
    # Behind the relay, gdbserver moves the registers (its warnings about
    # the XSAVE area are the relay's to drop); natively, gdb needs help.
    if not remote.connect():
        xstate.register()   # before the program runs
    types.register()
    runtime.register()
    functions.register()
    printers.register()
    skips.register()
    stops.register()
    commands.register()
    for mod in (cmd_hooks, cmd_inspect, cmd_cache, cmd_kcalls, cmd_target,
                cmd_callbacks, cmd_watch):
        mod.register()
    _loaded = True
    remote.attach()
