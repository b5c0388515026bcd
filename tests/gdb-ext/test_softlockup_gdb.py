# SPDX-License-Identifier: GPL-2.0
"""Time at a breakpoint is not a soft lockup (tests/examples/mods/radlog).

Stopped in its hook under dusk-gdb for longer than the threshold
(DUSK_SOFTLOCKUP_S=2), with inferior calls made meanwhile (each lets the
program run for a moment, as printing through dusk-gdb does), then
continued: the invocation ends, and no soft-lockup report is printed."""

import sys
import threading
import time

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / "tests" / "examples"))
from diff import harness, mod  # noqa: E402,F401 (fixture)
from gdbdrive import Gdb  # noqa: E402

RADLOG = mod("radlog")
PORT = 9500
GOOD = (r"\x01\x07\x00\x1b" + r"\0" * 16 + r"\x01\x07alice")
SEND = ("$N udp -w 30000 -s 127.0.0.1:4000 -r 127.0.0.2:{p} 127.0.0.2 {p} "
        "'{payload}'").format(p=PORT, payload=GOOD)
# Stopped about 8 s in all; every 2 s an inferior call runs the program.
STOPPED = "\n".join(["shell sleep 2", "call (int) getpid()"] * 4)
SCRIPT = f"""
set pagination off
set width 0
set confirm off
break radlog_hook
run port={PORT}
python print("dusk-test-pid", gdb.selected_inferior().pid)
echo dusk-test-stopped\\n
{STOPPED}
delete
echo dusk-test-continued\\n
continue
"""


def test_breakpoint_stop_is_not_a_soft_lockup(harness, tmp_path):
    prog = harness.build_prog(RADLOG)
    harness.nettest()
    cmds = tmp_path / "cmds.gdb"
    cmds.write_text(SCRIPT)
    gdb = Gdb(["-batch", "-nx", "-x", str(cmds), "--args", str(prog)],
              dict(harness.target.env, DUSK_SOFTLOCKUP_S="2",
                   DUSK_HOLD_MS="60000"))
    seen = []
    try:
        gdb.wait_for(r"radlog: loaded")
        t = threading.Thread(target=lambda: seen.extend(harness.script(SEND)))
        t.start()
        gdb.wait_for(r"^dusk-test-stopped$")
        cont = gdb.wait_for(r"^dusk-test-continued$", timeout=120)
        # The datagram is served after the stop (if the stop was for
        # another packet, when its turn comes); a report would come
        # within the threshold of the continue.
        gdb.wait_for(r'user "alice"', timeout=120, start=cont.end())
        t.join(timeout=120)
        time.sleep(4)
        gdb.interrupt_program()
        out = gdb.finish()
    finally:
        if gdb.proc.poll() is None:
            gdb.proc.kill()
    assert "Breakpoint 1, radlog_hook" in out, out
    assert "soft lockup" not in out, out
    assert seen == ["udp sent 1 received 1"], out
