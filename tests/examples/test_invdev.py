# SPDX-License-Identifier: GPL-2.0
"""A misc device served at user level: file operations proxied by dusk.ko
(protocol 5's invocations), run by the program's event loop.

invdev (tests/examples/mods/invdev) is a course's first misc device,
without uaccess: open logs current->comm and current->pid, read gives five
bytes once per open file (advancing *ppos, the kernel's caller's stack
variable), write swallows its bytes, an ioctl answers its argument plus
one, llseek is the kernel's noop_llseek. The same shell session in the
target, against its .ko and against its program, gives the same output
and the same kernel log; the pids logged are the callers' own (cat's,
the shell's); when the program stops, the device is gone. Also: scullreg
(a cdev, simple_read_from_buffer run by the reader), a crash in an ioctl,
and dusk-gdb stopped in a read.
"""

import re
import signal
import subprocess
import sys

from conftest import SRCDIR
from diff import harness, mod  # noqa: F401 (fixture)
from progrun import wait_for_command

INVDEV = mod("invdev")
GUEST_INVCTL = "/tmp/invctl"
SESSION = """cat /dev/invdev > /tmp/invdev.out & echo cat $!; wait
wc -c < /tmp/invdev.out
echo hi > /dev/invdev; echo write $? shell $$
/tmp/invctl /dev/invdev 41
dd if=/dev/invdev of=/dev/null bs=2 2>&1 | grep records
"""
PID = re.compile(r"\b(pid|cat|shell) (\d+)")


def invctl(harness, tmp_path_factory):
    exe = tmp_path_factory.mktemp("invctl") / "invctl"
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o", str(exe),
                    str(INVDEV.srcdir / "invctl.c")], check=True)
    harness.target.push(exe, GUEST_INVCTL)


def session(harness):
    """The session's output and the module's kernel log, pids named."""
    token = harness.marker()
    out = harness.exec(["sh", "-c", SESSION])
    log = harness.module_log(INVDEV, harness.kernel_log(token))
    names = {}
    for kind, pid in PID.findall(out):
        names[pid] = kind
    named = [PID.sub(lambda m: f"{m.group(1)} <{names.get(m.group(2), '?')}>",
                     line) for line in log]
    return PID.sub(lambda m: f"{m.group(1)} <{m.group(1)}>", out), named


def test_invdev_same_as_ko(harness, tmp_path_factory):
    invctl(harness, tmp_path_factory)
    target = harness.target

    ko = harness.build_ko(INVDEV)
    target.push(ko, "/tmp/invdev.ko")
    harness.exec("insmod /tmp/invdev.ko")
    try:
        ko_out, ko_log = session(harness)
    finally:
        harness.exec("rmmod invdev")

    prog = harness.build_prog(INVDEV)
    proc = subprocess.Popen([str(prog)], env=target.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_command(harness.target, "test -c /dev/invdev", True)
        user_out, user_log = session(harness)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    out = out.decode(errors="replace")
    assert proc.returncode == 0, out
    assert "dusk: error" not in out and "dusk: warning" not in out, out
    assert "invdev: 4 opens" in out, out
    wait_for_command(harness.target, "test -e /dev/invdev", False)

    assert "cat <cat>" in ko_out and "ioctl: 42" in ko_out, ko_out
    assert user_out == ko_out, f"program:\n{user_out}\n.ko:\n{ko_out}"
    assert "<6>invdev: open #1 by cat (pid <cat>)" in ko_log, ko_log
    assert "<6>invdev: write of 3 bytes by pid <shell>" in ko_log, ko_log
    assert user_log == ko_log, f"program:\n{user_log}\n.ko:\n{ko_log}"


SCULLREG = mod("scullreg")
SCULL_SESSION = """mknod /tmp/scullreg0 c 240 0; mknod /tmp/scullreg1 c 240 1
cat /tmp/scullreg0 /tmp/scullreg1
dd if=/tmp/scullreg1 bs=3 2>/dev/null
dd if=/tmp/scullreg0 bs=4 skip=1 2>/dev/null
rm /tmp/scullreg0 /tmp/scullreg1
"""


def test_scullreg_same_as_ko(harness):
    """scullreg (LDD3: register_chrdev_region, kcalloc'ed devices,
    cdev_init/cdev_add; open finds its device by container_of on
    inode->i_cdev, read is simple_read_from_buffer, called in the reading
    task with its __user buffer): cat and dd read the same as from the
    .ko."""
    target = harness.target
    ko = harness.build_ko(SCULLREG)
    target.push(ko, "/tmp/scullreg.ko")
    harness.exec("insmod /tmp/scullreg.ko major=240")
    try:
        ko_out = harness.exec(["sh", "-c", SCULL_SESSION])
    finally:
        harness.exec("rmmod scullreg")
    assert ko_out == "scullreg0\nscullreg1\nscullreg1\nlreg0\n", ko_out

    prog = harness.build_prog(SCULLREG)
    proc = subprocess.Popen([str(prog), "major=240"], env=target.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_command(harness.target, "grep -q '^240 scullreg$' /proc/devices", True)
        user_out = harness.exec(["sh", "-c", SCULL_SESSION])
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    out = out.decode(errors="replace")
    assert proc.returncode == 0, out
    assert "dusk: error" not in out and "dusk: warning" not in out, out
    wait_for_command(harness.target, "grep -q '^240 scullreg$' /proc/devices", False)
    assert user_out == ko_out, f"program:\n{user_out}\n.ko:\n{ko_out}"


CRASHDEV = mod("crashdev")


def test_crash_in_ioctl(harness, tmp_path_factory):
    """crashdev's ioctl dereferences the NULL its table lookup gives for
    an unknown command: the program's crash is reported as the oops of
    that file operation, named with its caller (pid, comm); the caller's
    ioctl fails with EIO at once, and the device is gone."""
    target = harness.target
    exe = tmp_path_factory.mktemp("crashctl") / "crashctl"
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o", str(exe),
                    str(CRASHDEV.srcdir / "crashctl.c")], check=True)
    target.push(exe, "/tmp/crashctl")
    prog = harness.build_prog(CRASHDEV)
    proc = subprocess.Popen([str(prog)], env=target.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_command(harness.target, "test -c /dev/crashdev", True)
        out = harness.exec(["sh", "-c",
                            "/tmp/crashctl /dev/crashdev 1 21; "
                            "/tmp/crashctl /dev/crashdev 5 21 & "
                            "echo pid $!; wait"])
    finally:
        report, _ = proc.communicate(timeout=60)
    report = report.decode(errors="replace")
    assert proc.returncode == -signal.SIGSEGV, report
    pid = re.search(r"pid (\d+)", out).group(1)
    assert out.startswith("ioctl: 42\n") and "ioctl: -5\n" in out, out
    assert "BUG: kernel NULL pointer dereference, address: " \
        "0000000000000008" in report, report
    assert re.search(r"RIP: 0010:crashdev_ioctl\+0x[0-9a-f]+/0x[0-9a-f]+ "
                     r"\[crashdev\S*\] \S*crashdev\.c:43", report), report
    assert f"In: unlocked_ioctl of crashdev_fops, process context of pid " \
        f"{pid} (crashctl), CPU " in report, report
    wait_for_command(harness.target, "test -e /dev/crashdev", False)


GDB_SCRIPT = r"""
set pagination off
set width 0
set confirm off
break invdev_read
run
python print("dusk-test-pid", gdb.selected_inferior().pid)
dusk status
dusk print *ppos
dusk set *ppos = 3
delete
handle SIGINT nostop noprint pass
continue
"""


def test_gdb_in_a_read(harness, tmp_path):
    """Stopped in invdev's read under dusk-gdb: dusk status shows the
    invocation as a callback with its caller (cat's pid) and age; *ppos
    (the caller's kernel stack) is set from gdb, and the change rides on
    the RETURN: cat gets the 2 bytes left after offset 3."""
    sys.path.insert(0, str(SRCDIR / "tests" / "gdb-ext"))
    from gdbdrive import Gdb

    prog = harness.build_prog(INVDEV)
    cmds = tmp_path / "cmds.gdb"
    cmds.write_text(GDB_SCRIPT)
    gdb = Gdb(["-batch", "-nx", "-x", str(cmds), "--args", str(prog)],
              harness.target.env)
    try:
        gdb.wait_for(r"invdev: minor")
        out = harness.exec(["sh", "-c", "cat /dev/invdev > /tmp/invdev.gdb "
                            "& echo $!; wait; wc -c < /tmp/invdev.gdb"])
        gdb.wait_for(r"dusk-test-pid")
        gdb.interrupt_program()
        text = gdb.finish()
    finally:
        if gdb.proc.poll() is None:
            gdb.proc.kill()
    pid, count = out.split()
    assert count == "2", text
    assert re.search(rf"^invocation  callback \d+ for pid {pid} \(cat\) on "
                     rf"cpu \d+, waiting \d+ ms$", text, re.M), text
    assert re.search(r"^hooks +0 registered, \d+ invocations, 1 in flight "
                     r"here$", text, re.M), text
    assert "invdev: read 2 of 65536 at 3" in text, text
