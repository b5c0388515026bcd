# SPDX-License-Identifier: GPL-2.0
"""Signals to a reader waiting in a module's read, and unloading a module
in use, the .ko and the program side by side.

sigdev (tests/examples/mods/sigdev) naps in its read with msleep() and
checks signal_pending(current) between naps, returning -ERESTARTSYS when
a signal came. sigread (tests/kmod/sigread.c) reads it with a handler
installed, without SA_RESTART (the read fails with EINTR) and with it
(the read is restarted and gets its tick): the same output and the same
kernel log from the .ko and from the program, whose read learns of the
signal from dusk.ko's SIGNAL (protocol 6).

And rmmod: the .ko cannot be unloaded while a file of it is open; SIGINT
to the program then says "module in use", and the program goes on
serving, then unloads once the file is closed.
"""

import signal
import subprocess
import time

from conftest import SRCDIR
from diff import harness, mod  # noqa: F401 (fixture)
from progrun import wait_for_command

SIGDEV = mod("sigdev")
GUEST_SIGREAD = "/tmp/sigread"
SESSION = """/tmp/sigread /dev/sigdev norestart & p=$!; sleep 1; kill -USR1 $p; wait $p; echo rc $?
/tmp/sigread /dev/sigdev restart & p=$!; sleep 1; kill -INT $p; wait $p; echo rc $?
"""
WANT = """read = -1 EINTR
signals = 1
rc 0
read = 4 tick
signals = 1
rc 0
"""


def sigread(harness, tmp_path_factory):
    exe = tmp_path_factory.mktemp("sigread") / "sigread"
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o", str(exe),
                    str(SRCDIR / "tests" / "kmod" / "sigread.c")], check=True)
    harness.target.push(exe, GUEST_SIGREAD)


def session(harness):
    token = harness.marker()
    out = harness.exec(["sh", "-c", SESSION], timeout=120)
    return out, harness.module_log(SIGDEV, harness.kernel_log(token))


def start(harness, prog):
    proc = subprocess.Popen([str(prog)], env=harness.target.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    wait_for_command(harness.target, "test -c /dev/sigdev", True)
    return proc


def test_sigdev_signals_same_as_ko(harness, tmp_path_factory):
    sigread(harness, tmp_path_factory)
    target = harness.target
    ko = harness.build_ko(SIGDEV)
    target.push(ko, "/tmp/sigdev.ko")
    harness.exec("insmod /tmp/sigdev.ko")
    try:
        ko_out, ko_log = session(harness)
    finally:
        harness.exec("rmmod sigdev")
    assert ko_out == WANT, ko_out
    assert ko_log == ["<6>sigdev: read by sigread interrupted",
                      "<6>sigdev: read by sigread interrupted",
                      "<6>sigdev: tick for sigread"], ko_log

    prog = harness.build_prog(SIGDEV)
    proc = start(harness, prog)
    try:
        user_out, user_log = session(harness)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    out = out.decode(errors="replace")
    assert proc.returncode == 0, out
    assert "dusk: error" not in out and "dusk: warning" not in out, out
    assert user_out == ko_out, f"program:\n{user_out}\n.ko:\n{ko_out}"
    assert user_log == ko_log, \
        f"program:\n{user_log}\n.ko:\n{ko_log}"


HOLD = "sh -c 'exec 3</dev/sigdev; exec sleep {s}' </dev/null >/dev/null 2>&1 &"


def test_unload_while_a_file_is_open(harness):
    """rmmod of the .ko fails while a shell holds the device open; SIGINT
    to the program says so and it keeps serving (a read still works);
    once the file is closed it unloads by itself."""
    target = harness.target
    ko = harness.build_ko(SIGDEV)
    target.push(ko, "/tmp/sigdev.ko")
    harness.exec("insmod /tmp/sigdev.ko wait_ms=10")
    harness.exec(HOLD.format(s=3))
    rc, _, err = target.exec("rmmod sigdev")
    assert rc != 0, err       # busybox: EAGAIN (O_NONBLOCK); kmod: in use
    wait_for_command(harness.target, "rmmod sigdev", True, timeout=30)

    prog = harness.build_prog(SIGDEV)
    proc = subprocess.Popen([str(prog), "wait_ms=10"], env=target.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_command(harness.target, "test -c /dev/sigdev", True)
        harness.exec(HOLD.format(s=8))
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        time.sleep(2)
        assert proc.poll() is None, "the program exited with a file open"
        assert harness.exec("cat /dev/sigdev") == "tick"
        assert target.exec("test -c /dev/sigdev")[0] == 0
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    out = out.decode(errors="replace")
    assert proc.returncode == 0, out
    assert "module in use: 1 open file" in out, out
    assert "dusk: error" not in out and "dusk: warning" not in out, out
    wait_for_command(harness.target, "test -e /dev/sigdev", False)


def test_unload_forced_by_a_second_interrupt(harness):
    """A second SIGINT unloads at once, as rmmod -f: the open file's
    reads then fail with EIO."""
    target = harness.target
    prog = harness.build_prog(SIGDEV)
    proc = subprocess.Popen([str(prog), "wait_ms=10"], env=target.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_command(harness.target, "test -c /dev/sigdev", True)
        harness.exec("sh -c 'exec 3</dev/sigdev; sleep 6; "
                     "cat <&3 >/tmp/forced.out 2>&1; echo rc $? >>/tmp/forced.out' "
                     "</dev/null >/dev/null 2>&1 &")
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        time.sleep(1.5)
        assert proc.poll() is None, proc.communicate()[0].decode()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    out = out.decode(errors="replace")
    assert proc.returncode == 0, out
    assert "module in use: 1 open file" in out, out
    wait_for_command(harness.target, "test -e /dev/sigdev", False)
    wait_for_command(harness.target, "grep -q 'rc ' /tmp/forced.out", True, timeout=30)
    res = harness.exec("cat /tmp/forced.out")
    assert "Input/output error" in res and "rc 1" in res, res
