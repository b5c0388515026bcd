# SPDX-License-Identifier: GPL-2.0
"""dusk-gdb -p PID against the real target: lwfw, started on its own and
filtering, attached to, stopped in its hook on a datagram, looked at with
plain gdb commands, and detached; it goes on filtering with the same
session (its hook was never removed: a datagram to the blocked port is
dropped after as before), and the datagram it was stopped on is let
through by its verdict."""

import re
import subprocess
import sys
import threading
import time

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / "tests" / "examples"))
from diff import example, harness  # noqa: E402,F401 (fixture)
from gdbdrive import CLEAN, Console, Gdb  # noqa: E402

LWFW = example("lwfw")
HOLD_MS = 60000
BLOCKED = "$N udp -s 127.0.0.1:4001 127.0.0.1 9100 blocked"
PASSED = "$N udp -s 127.0.0.1:4001 127.0.0.1 9101 passed"
# The datagram the hook stops on: it waits for the program's verdict.
HELD = "$N udp -w 50000 -s 127.0.0.1:4002 127.0.0.1 9101 held!"


class Program:
    """The module program on its own, its output gathered."""

    def __init__(self, exe, env):
        self.proc = subprocess.Popen(
            [str(exe), "block_port=9100"], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            assert self.proc.poll() is None, "\n".join(self.lines)
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen:\n" + "\n".join(self.lines))


def test_attach_break_detach(harness):
    exe = harness.build_prog(LWFW)
    harness.nettest()
    env = dict(harness.target.env, DUSK_HOLD_MS=str(HOLD_MS))
    prog = Program(exe, env)
    gdb = None
    try:
        prog.wait_for("lwfw: loaded")
        before = harness.script(f"{BLOCKED}\n{PASSED}")
        assert before == ["udp sent 1 received 0", "udp sent 1 received 1"]

        gdb = Gdb(["-nx"], dict(env, DUSK_GDB_ATTACH=str(prog.proc.pid)))
        console = Console(gdb)
        for line in ("set pagination off", "set width 0", "set confirm off",
                     "break lwfw_hook if state->in->ifindex == 1"):
            console.cmd(line)
        held = []
        traffic = threading.Thread(
            target=lambda: held.extend(harness.script(HELD)), daemon=True)
        stop = console.cmd("continue", timeout=180, meanwhile=traffic.start)
        assert re.search(r"Breakpoint 1, lwfw_hook \(", stop), gdb.output
        assert console.cmd("print skb->len").strip() == "$1 = 33"
        assert console.cmd("print state->in->name").startswith(
            '$2 = "lo"'), gdb.output
        # the UDP destination port, 9101, in the packet's bytes
        assert re.search(r":\s+0x23\s+0x8d$", console.cmd(
            "x/2xb skb->head + skb->network_header + 22"), re.M), gdb.output
        console.cmd("delete")
        detached = console.cmd("detach")
        assert re.search(r"\[Inferior 1 \(process \d+\) detached\]",
                         detached), gdb.output
        gdb.finish(timeout=60)
        assert not CLEAN.search(gdb.output), gdb.output

        traffic.join(timeout=120)
        assert held == ["udp sent 1 received 1"], (held, gdb.output)
        after = harness.script(f"{BLOCKED}\n{PASSED}")
        assert after == ["udp sent 1 received 0", "udp sent 1 received 1"]
        assert prog.proc.poll() is None, "\n".join(prog.lines)
    finally:
        if gdb and gdb.proc.poll() is None:
            gdb.proc.kill()
        prog.proc.send_signal(2)
        rc = prog.proc.wait(timeout=60)
        prog.reader.join(timeout=10)
    drops = [line for line in prog.lines if "lwfw: drop UDP" in line]
    assert len(drops) == 2 and all(":9100 on lo (port)" in d for d in drops), \
        "\n".join(prog.lines)
    assert "<6>lwfw: unloaded" in prog.lines and rc == 0, \
        "\n".join(prog.lines)
