# SPDX-License-Identifier: GPL-2.0
"""examples/chardev, the ring buffer behind a character device, as a .ko
and as the user-level program on the same script, compared as
test_chardev.py compares (its Chardevs runs and assertions): writes and
reads in order, a reader asleep until another process writes, O_NONBLOCK,
poll, the ioctls (put_user and get_user, a bad pointer, a resize), the
/proc/chardev statistics (single_open, seq_printf), and a signal to a
sleeping reader without and with SA_RESTART.

test_sigkill_with_reader_inside_read: the program SIGKILLed while a cat
sleeps in its read(): the cat gets an error instead of hanging, nothing
is left in /dev, /proc, sysfs or /proc/devices, and the .ko then loads.

    tests/run-pytest tests/examples/test_example_chardev.py
"""

import pytest

import test_chardev as tc
from diff import example, harness  # noqa: F401
from progrun import Program, wait_for_command
from test_chardev import Chardev, assert_in_order, chardevs  # noqa: F401
from test_scullpipe import pollclient, sigread  # noqa: F401

CHARDEV = example("chardev")
# CHARDEV_IOC_* of chardev_ioctl.h ('k', 0 to 3), as devclient takes them.
SCRIPT = """\
P=/tmp/pollclient
echo hello > /dev/chardev
echo world > /dev/chardev
head -c 12 /dev/chardev
$C <<'END'
open a /dev/chardev rdwr,nonblock
read a 10
ioctl a IOR(k,2,4) outbuf:4
write a "0123456789abcdefghij"
ioctl a IOR(k,1,4) outbuf:4
ioctl a IOR(k,1,4) @unmapped
ioctl a IO(k,0)
ioctl a IOR(k,1,4) outbuf:4
ioctl a IOW(k,3,4) inbuf:"\\x10\\x00\\x00\\x00"
ioctl a IOR(k,2,4) outbuf:4
write a "0123456789abcdefghij"
write a "x"
read a 100
ioctl a IOW(k,3,4) inbuf:"\\x00\\x10\\x00\\x00"
close a
END
# a reader asleep until another process writes
head -c 6 /dev/chardev > /tmp/r0 &
r=$!
sleep 2
if kill -0 $r; then echo "reader asleep"; fi
echo awake > /dev/chardev
wait $r
echo "reader got $(cat /tmp/r0)"
# poll: nothing to read, then woken by a write
$P poll /dev/chardev 300 in
($P poll /dev/chardev 5000 in > /tmp/p) &
sleep 2
echo polled > /dev/chardev
wait
cat /tmp/p
# a signal to a sleeping reader, without and with SA_RESTART
/tmp/sigread /dev/chardev norestart 4 & p=$!
sleep 2; kill -USR1 $p; wait $p; echo "norestart rc $?"
/tmp/sigread /dev/chardev restart 4 & p=$!
sleep 2; kill -INT $p; sleep 1; printf abcd > /dev/chardev
wait $p; echo "restart rc $?"
cat /proc/chardev
"""


def check(run):
    assert_in_order(run.transcript, [
        "hello", "world",
        "reader asleep", "reader got awake",
        "poll = 0", "poll = 1 IN", "read = 7 polled",
        "read = -1 EINTR", "norestart rc 0",
        "read = 4 abcd", "restart rc 0",
        "size:        4096",
    ], "chardev.ko's transcript")
    assert any("EAGAIN" in line for line in run.transcript), run.transcript
    assert any("EFAULT" in line for line in run.transcript), run.transcript


CASES = {
    "chardev": Chardev(
        CHARDEV, ready="test -c /dev/chardev", script=SCRIPT,
        normalise=((r"\(\d+:\d+\)", "(MAJOR:MINOR)"),
                   (r"^([+-])\d+ chardev$", r"\1MAJOR chardev")),
        check=check),
}


@pytest.mark.parametrize("key", CASES)
@pytest.mark.parametrize("mode", ("ko", "user"))
def test_example_chardev(chardevs, pollclient, sigread, key, mode):
    tc.check_case(chardevs, key, CASES[key], mode)


# cat asleep in chardev_read (its own pid), its complaint kept.
SLEEPING_CAT = "cat /dev/chardev </dev/null >/dev/null 2>/tmp/cat.err & echo $!"


def test_sigkill_with_reader_inside_read(chardevs):
    """The program is SIGKILLed while a cat sleeps in its read (the
    syscall cat is in, /proc/PID/syscall, is read(2): number 0, and dusk
    has the invocation in flight): dusk.ko ends the session, the cat's
    read fails instead of sleeping forever, the device node, its class,
    /proc/chardev and the major are gone, and chardev.ko then loads."""
    case = CASES["chardev"]
    h = chardevs.h
    prog = h.build_prog(case.module)
    before = chardevs.places()
    h.exec(["rm", "-f", "/tmp/cat.err"])
    p = Program(prog, chardevs.target.env)
    try:
        wait_for_command(chardevs.target, case.ready, True, timeout=120)
        pid = h.exec(["sh", "-c", SLEEPING_CAT]).strip()
        # cat in read(2): syscall number 0
        wait_for_command(chardevs.target,
                         f"[ \"$(cut -d' ' -f1 /proc/{pid}/syscall)\" = 0 ]",
                         True)
    finally:
        p.stop()            # SIGKILL
    # cat woken with an error, not asleep forever
    wait_for_command(chardevs.target, f"[ ! -e /proc/{pid} ] || grep -q "
                     f"'^State:.*zombie' /proc/{pid}/status", True, timeout=30)
    err = h.exec(["cat", "/tmp/cat.err"])
    assert "error" in err, f"cat's read of a dead device: {err!r}"
    wait_for_command(chardevs.target, "test -e /proc/chardev", False,
                     timeout=30)
    left = chardevs.differences(before, chardevs.places(), ())
    assert not left, left
    chardevs.ko_loads_again(case)
