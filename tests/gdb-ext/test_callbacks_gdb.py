# SPDX-License-Identifier: GPL-2.0
"""dusk-gdb in the callbacks the kernel calls in process context.

The program is scullpipe (tests/examples/mods/scullpipe, LDD3's blocking
fifo, shown identical as a .ko and at user level by test_scullpipe.py)
under dusk-gdb, driven a command at a time through its stdin while
processes of the target use the device: "dusk break-hook all" (before
"run") catches the file operations the module's init gives the kernel
and stops in each open, read and write. Two readers (dd) stop in
scull_p_read and then sleep in it; a writer (the shell's printf) stops in
scull_p_write, where "dusk status" lists the three invocations in flight
with their callers, "dusk print buf" and "dusk uread" show the bytes the
writer wrote (read from its memory through the invocation), "dusk
caller" names it and "dusk print filp" decodes its struct file.
"""

import re
import sys
import threading

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / "tests" / "examples"))
from diff import harness, mod  # noqa: E402,F401 (fixture)
from gdbdrive import Gdb  # noqa: E402

SCULLPIPE = mod("scullpipe")
START = r"""
set pagination off
set width 0
set confirm off
dusk break-hook all
run
python print("dusk-test-pid", gdb.selected_inferior().pid)
"""
PROMPT = "(gdb) "       # not followed by a newline: commands come from a pipe
CLEAN = re.compile(r"Traceback|Python Exception|Error occurred in Python")
DEV = "/dev/scullpipe0"
READER = f"echo $$; exec dd if={DEV} bs=4 count=1 2>/dev/null"
WRITER = f"echo $$; printf abcd1234 > {DEV}"


class Session:
    """dusk-gdb fed a command at a time, and the target's processes each
    on its own thread (dusk-target exec: one connection each)."""

    def __init__(self, harness, gdb):
        self.h, self.gdb = harness, gdb
        self.pos = 0
        self.out = {}
        self.threads = []

    def spawn(self, name, script):
        def run():
            self.out[name] = self.h.exec(["sh", "-c", script], timeout=240)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)

    def stop_in(self, fn):
        """Wait for the next stop, in fn."""
        m = self.gdb.wait_for(r"Breakpoint \d+, (\w+) \(", start=self.pos)
        self.pos = m.end()
        assert m.group(1) == fn, (fn, self.gdb.output[m.start():])
        return m

    def commands(self, mark, *cmds):
        """Run cmds at the stop; their output, up to the mark echoed."""
        for c in cmds:
            self.gdb.send(c)
        self.gdb.send(f"echo dusk-test-{mark}\\n")
        # After gdb's prompt, on its line: commands are not echoed.
        m = self.gdb.wait_for(rf"dusk-test-{mark}$", start=self.pos)
        text = self.gdb.output[self.pos:m.start()]
        self.pos = m.end()
        return text.replace(PROMPT, "")

    def go(self, *cmds):
        """Let the program run (after cmds): "continue" gives no output
        to wait for until the next stop."""
        for c in cmds + ("continue",):
            self.gdb.send(c)

    def join(self):
        for t in self.threads:
            t.join(timeout=240)
            assert not t.is_alive(), self.gdb.output


def test_callbacks(harness, tmp_path):
    prog = harness.build_prog(SCULLPIPE)
    cmds = tmp_path / "cmds.gdb"
    cmds.write_text(START)
    gdb = Gdb(["-nx", "-q", "-x", str(cmds), "--args", str(prog)],
              harness.target.env)
    s = Session(harness, gdb)
    try:
        gdb.wait_for(r"scullpipe: \d+ devices")
        major = int(harness.exec(
            "awk '$2==\"scullp\" {print $1}' /proc/devices").strip())
        harness.exec(f"rm -f {DEV}; mknod {DEV} c {major} 0")

        s.spawn("r1", READER)
        s.stop_in("scull_p_open")
        s.go()
        s.stop_in("scull_p_read")
        r1 = s.commands("read1", "dusk print filp", "dusk print f_pos",
                        "dusk caller", "dusk break-hook all")
        s.go()

        s.spawn("r2", READER)
        s.stop_in("scull_p_open")
        s.go()
        s.stop_in("scull_p_read")
        s.go()

        s.spawn("w", WRITER)
        s.stop_in("scull_p_open")
        s.go()
        s.stop_in("scull_p_write")
        w = s.commands("write", "dusk status", "dusk print buf",
                       "dusk uread buf count", "dusk caller",
                       "dusk print filp")
        s.go("delete", "handle SIGINT nostop noprint pass")
        s.join()
        gdb.interrupt_program()
        text = gdb.finish()
    finally:
        if gdb.proc.poll() is None:
            gdb.proc.kill()
        harness.exec(f"rm -f {DEV}")
    assert not CLEAN.search(text), text
    pid1, got1 = s.out["r1"].split("\n", 1)
    pid2, got2 = s.out["r2"].split("\n", 1)
    wpid = s.out["w"].strip()
    # The writer's 8 bytes went to the readers, 4 each.
    assert sorted([got1, got2]) == ["1234", "abcd"], s.out

    # Registered by init (cdev_init's fops), before any stop.
    for fn in ("scull_p_open", "scull_p_read", "scull_p_write"):
        assert f"dusk: the module registered callback {fn}: breakpoint " \
            f"set\n" in text, text

    # The first reader's read: its struct file (the device's minor 0),
    # *f_pos and its caller.
    assert re.search(rf'^  shadow: "scullpipe0" pos 0 flags O_RDONLY\S* '
                     rf'mode read\|\S*can_read\S* inode ino \d+ dev {major}:0 '
                     rf'private_data 0x[0-9a-f]+$', r1, re.M), r1
    assert re.search(r"^\*\(f_pos\) = 0\b", r1, re.M), r1
    # "all" again, the program running: the callbacks registered so far.
    assert "dusk: breaking in 0 hook functions, 6 callbacks: " \
        "scull_p_fasync, scull_p_open, scull_p_poll, scull_p_read, " \
        "scull_p_release, scull_p_write, and " \
        "in any hook or callback the module registers later\n" in r1, r1
    assert re.search(rf"^caller +pid {pid1} \(dd\), tgid {pid1}, task "
                     rf"0xff[0-9a-f]+$", r1, re.M), r1

    # At the write: the two readers asleep in scull_p_read, the writer
    # here (*).
    assert re.search(r"^in flight   3 invocations \(\* this thread\)$", w,
                     re.M), w
    for pid, comm, mine in ((pid1, "dd", " "), (pid2, "dd", " "),
                            (wpid, "sh", r"\*")):
        assert re.search(rf"^ +{mine} callback \d+ for pid {pid} \({comm}\)"
                         rf" on cpu \d+, waiting \d+ ms, thread \d+ "
                         rf"\(LWP \d+\)$", w, re.M), (pid, w)
    assert re.search(r"^buf = 0x[0-9a-f]+  \(const char \*, the caller's "
                     r"user memory\)$", w, re.M), w
    assert '  the caller\'s 8 bytes: "abcd1234"\n' in w, w
    assert re.search(r"^[0-9a-f]{16}  61 62 63 64 31 32 33 34 +\|abcd1234\|$",
                     w, re.M), w
    assert re.search(rf"^caller +pid {wpid} \(sh\)", w, re.M), w
    assert re.search(rf'^  shadow: "scullpipe0" pos 0 flags O_WRONLY\S* '
                     rf'mode write\S* inode ino \d+ dev {major}:0 ', w,
                     re.M), w
