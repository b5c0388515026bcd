# SPDX-License-Identifier: GPL-2.0
"""The program runs under gdbserver, behind dusk's relay (relay.py).

gdb's own memory reads and writes of kernel addresses then reach the
relay, which serves them from the program's shadow cache and the kernel:
plain "print skb->len", "x", "set var", watchpoints and every MI front end
see kernel objects as the module does. Everything else is gdbserver's.

DUSK_GDB_NATIVE=1 keeps gdb's native target (kernel addresses are then
only reachable through the dusk commands); so does a machine without
gdbserver, with a note.
"""

import os
import shlex
import shutil

import gdb

RELAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "relay.py")

def _python3():
    """Debian's python3 (run isolated, -I: the package's types.py must not
    hide the standard library's): the relay needs only the standard library,
    and a pyenv first on PATH may not be whole."""
    for path in ("/usr/bin/python3", shutil.which("python3")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def _exec_file(event=None):
    """gdbserver starts the program gdb was given ("file", --args, MI's
    -file-exec-and-symbols)."""
    name = gdb.current_progspace().filename
    if name:
        gdb.execute(f"set remote exec-file {name}", to_string=True)


def connect():
    """Connect gdb to a gdbserver of its own through the relay. False when
    gdb stays native."""
    if os.environ.get("DUSK_GDB_NATIVE"):
        return False
    py = _python3()
    if not shutil.which("gdbserver") or not py:
        gdb.write("dusk-gdb: gdbserver (Debian's package) is not installed:"
                  " plain gdb commands will not see kernel memory; the dusk"
                  " commands will\n", gdb.STDERR)
        return False
    # The program's libraries are this machine's: read them here, not
    # through the protocol.
    gdb.execute("set sysroot /", to_string=True)
    gdb.execute("target extended-remote | exec "
                f"{shlex.quote(py)} -I {shlex.quote(RELAY)}", to_string=True)
    _exec_file()
    gdb.events.new_objfile.connect(_exec_file)
    return True


def attach():
    """dusk-gdb -p PID: attach to the program already running (its
    session goes on; packets meanwhile go by the hold policy)."""
    pid = os.environ.get("DUSK_GDB_ATTACH")
    if pid:
        gdb.execute(f"attach {int(pid)}")
