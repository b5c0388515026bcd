# SPDX-License-Identifier: GPL-2.0
"""Whether a breakpoint can stop the program, told to the program.

Under a debugger the runtime sends each packet's verdict at once, so that
a stop never holds packets decided before it; it sends them together, as
without a debugger, while dusk_hooks_no_stops is 1 (runtime/core/hook.h).
This module keeps that variable true to the user's breakpoints: before
each prompt, whenever a breakpoint changes, and when the module
registers a hook (a program started with "run" gets no prompt before its
packets).
A break-hook whose condition the program tests is no stop: its locations
are disabled, and the runtime sends what it keeps back before the stop
the condition asks for."""

import struct

import gdb

from . import runtime

VARIABLE = "dusk_hooks_no_stops"


def _can_stop(bp):
    # Internal ones (dusk's own, which never stop) are not the user's.
    if not bp.is_valid() or not bp.enabled or not bp.visible:
        return False
    if bp.type != gdb.BP_BREAKPOINT:
        return True             # watchpoints and catchpoints
    return any(loc.enabled for loc in bp.locations)


def sync(gone=None):
    """Write whether any breakpoint of the user's (but gone, being
    deleted) can stop the program into the program, if it runs and has
    the variable."""
    inferior = gdb.selected_inferior()
    if not inferior.pid:
        return
    try:
        addr = int(gdb.parse_and_eval(f"(unsigned long)&{VARIABLE}"))
        quiet = not any(_can_stop(bp) for bp in gdb.breakpoints()
                        if bp is not gone)
        inferior.write_memory(addr, struct.pack("<i", int(quiet)))
    except gdb.error:
        pass                    # an older libdusk, or not a dusk program


class _HookRegistered(gdb.Breakpoint):
    """dusk_dbg_hook_anchor: the module registered a hook. Never stops."""

    def __init__(self):
        super().__init__("dusk_dbg_hook_anchor", internal=True)
        self.silent = True

    def stop(self):
        sync()
        return False


_anchor = None


def _watch_registrations(event=None):
    """The anchor breakpoint, once the program's symbols are there."""
    global _anchor
    if _anchor is not None and _anchor.is_valid():
        return
    if runtime.symbol(VARIABLE) is not None:
        _anchor = _HookRegistered()


def register():
    gdb.events.before_prompt.connect(sync)
    # Batch mode has no prompt: breakpoints changed while stopped count.
    gdb.events.breakpoint_created.connect(lambda bp: sync())
    gdb.events.breakpoint_modified.connect(lambda bp: sync())
    gdb.events.breakpoint_deleted.connect(lambda bp: sync(gone=bp))
    gdb.events.new_objfile.connect(_watch_registrations)
    _watch_registrations()
