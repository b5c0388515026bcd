# SPDX-License-Identifier: GPL-2.0
"""A crash of the module under dusk-gdb (tests/examples/mods/crashmod: a
hook that writes through the NULL a failed lookup returned).

gdb sees the signal before the program's crash report: it stops at the
faulting line of the module's source, where the developer can look
around; continued, the program reports the crash as the kernel would,
releases its session and dies by the signal."""

import re
import sys
import threading

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / "tests" / "examples"))
from diff import harness, mod  # noqa: E402,F401 (fixture)
from gdbdrive import Gdb  # noqa: E402

CRASHMOD = mod("crashmod")
SOURCE = (CRASHMOD.srcdir / "crashmod.c").read_text().splitlines()
FAULT_LINE = next(i + 1 for i, line in enumerate(SOURCE)
                  if "/* crashmod: the fault */" in line)
BAD = ("$N udp -w 20000 -s 127.0.0.1:4000 -r 127.0.0.2:9400 127.0.0.2 9400 "
       "boom")
SCRIPT = """
set pagination off
set width 0
set confirm off
run watch=127.0.0.2 port=9400
echo dusk-test-stopped\\n
frame
print $_siginfo._sifields._sigfault.si_addr
continue
echo dusk-test-continued\\n
continue
"""


def test_gdb_stops_at_the_faulting_line(harness, tmp_path):
    """Stopped by SIGSEGV in crashmod_hook at the fault's line (the
    faulting address in $_siginfo); continued, the report follows and
    the program is killed by the signal; the held datagram is released
    when the session ends (received by the socket)."""
    prog = harness.build_prog(CRASHMOD)
    harness.nettest()
    cmds = tmp_path / "cmds.gdb"
    cmds.write_text(SCRIPT)
    gdb = Gdb(["-batch", "-nx", "-x", str(cmds), "--args", str(prog)],
              dict(harness.target.env, DUSK_HOLD_MS="30000"))
    seen = []
    try:
        gdb.wait_for(r"crashmod: loaded")
        t = threading.Thread(target=lambda: seen.extend(harness.script(BAD)))
        t.start()
        t.join(timeout=300)
        out = gdb.finish()
    finally:
        if gdb.proc.poll() is None:
            gdb.proc.kill()
    stop = out.index("Program received signal SIGSEGV")
    assert re.search(rf"^#0  (0x[0-9a-f]+ in )?crashmod_hook \(.*\) at "
                     rf"\S*/crashmod\.c:{FAULT_LINE}\n{FAULT_LINE}\t.*"
                     rf"st->packets\+\+;", out[stop:], re.M), out
    # The faulting address: st (NULL) plus the offset of packets.
    assert re.search(r"^\$1 = \(void \*\) 0x18$", out, re.M), out
    # Nothing of the report before gdb's stop: gdb saw the signal first.
    assert "BUG: kernel NULL" not in out[:stop], out
    assert "BUG: kernel NULL pointer dereference, address: " \
           "0000000000000018" in out[stop:], out
    assert re.search(rf"^RIP: 0010:crashmod_hook\+0x[0-9a-f]+/0x[0-9a-f]+ "
                     rf"\[crashmod\.prog\] \S*/crashmod\.c:{FAULT_LINE}$",
                     out, re.M), out
    assert "Program terminated with signal SIGSEGV" in out, out
    assert seen == ["udp sent 1 received 1"], out
