# SPDX-License-Identifier: GPL-2.0
"""Callbacks that sleep: scullpipe (mods/scullpipe, LDD3 chapter 6's
blocking fifo) as a .ko and as the user-level program, driven by the same
scripts in the target, compared as test_chardev.py compares (its
Chardevs runs and assertions):

scullpipe        a blocking cat-like reader (head -c) woken by another
                 process's write; four concurrent readers of one device
                 sharing one write; O_NONBLOCK reads (-EAGAIN); poll() and
                 select() (pollclient.c) that time out on an empty device,
                 see it writable, and are woken by a write; an O_ASYNC
                 reader (fasync_helper) that gets SIGIO for a write
                 (kill_fasync) and none without one
scullpipe-full   a 16-byte buffer: a writer sleeps (prepare_to_wait,
                 schedule) until a reader makes room
scullpipe-signals a reader asleep in wait_event_interruptible gets a
                 signal: EINTR without SA_RESTART, the read restarted (and
                 then woken by a write) with it; SIGKILL ends a sleeper
sleepy           LDD3's sleepy: a static DECLARE_WAIT_QUEUE_HEAD, a cat
                 asleep until a write raises the flag, poll() (its
                 poll_wait() on the static head: the kernel's waiters are
                 on the head's kernel copy) woken by a write

At user level each read() and write() runs on its own program thread: a
reader asleep in wait_event_interruptible lets the others run.

    tests/run-pytest tests/examples/test_scullpipe.py
"""

import subprocess

import pytest

import test_chardev as tc
from conftest import SRCDIR
from diff import harness, mod  # noqa: F401
from test_chardev import Chardev, assert_in_order, chardevs  # noqa: F401

POLLCLIENT_SRC = SRCDIR / "tests" / "examples" / "pollclient.c"
GUEST_POLLCLIENT = "/tmp/pollclient"
# One read(2) with a SIGUSR1/SIGINT handler, with SA_RESTART or without.
SIGREAD_SRC = SRCDIR / "tests" / "kmod" / "sigread.c"
GUEST_SIGREAD = "/tmp/sigread"

SCULLPIPE = mod("scullpipe")
SLEEPY = mod("sleepy")
# A dynamic major: whatever the kernel has free at load time.
MAJOR = ((r"^([+-])\d+ scullp$", r"\1MAJOR scullp"),)

LOAD = """\
major=$(awk '$2=="scullp" {print $1}' /proc/devices)
for i in 0 1 2 3; do mknod /dev/scullpipe$i c $major $i; done
P=/tmp/pollclient
"""
UNLOAD = "rm -f /dev/scullpipe0 /dev/scullpipe1 /dev/scullpipe2 " \
         "/dev/scullpipe3\n"

SCRIPT = LOAD + """\
# a reader sleeps until another process writes
head -c 6 /dev/scullpipe0 > /tmp/r0 &
r=$!
sleep 2
if kill -0 $r; then echo "reader asleep"; fi
echo hello > /dev/scullpipe0
wait $r
echo "reader got $(cat /tmp/r0)"
# four readers asleep on one device, one write for all
# (one read(fd, buf, 4) each: head -c reads ahead through stdio)
for i in 1 2 3 4; do
  printf 'open a /dev/scullpipe1 rdonly\\nread a 4\\n' | $C |
    sed -n 's/^read a 4 = \\([0-9]*\\) "\\(.*\\)"$/\\1 \\2/p' > /tmp/m$i &
done
sleep 3
printf aaaabbbbccccdddd > /dev/scullpipe1
wait
for i in 1 2 3 4; do echo "reader $i: $(cut -d' ' -f1 /tmp/m$i) bytes"; done
cut -d' ' -f2 /tmp/m1 /tmp/m2 /tmp/m3 /tmp/m4 | sort | tr -d '\\n'; echo
# O_NONBLOCK: -EAGAIN on an empty pipe
$C <<'EOF'
open a /dev/scullpipe3 rdwr,nonblock
read a 10
write a "xyz"
read a 10
read a 10
close a
EOF
# poll and select with a timeout: none, writable, woken by a write
$P poll /dev/scullpipe2 300 in
$P select /dev/scullpipe2 300 in
$P poll /dev/scullpipe2 300 out
$P poll /dev/scullpipe2 30000 in > /tmp/p &
sleep 2
echo polled > /dev/scullpipe2
wait
cat /tmp/p
$P select /dev/scullpipe2 30000 in > /tmp/s &
sleep 2
echo selected > /dev/scullpipe2
wait
cat /tmp/s
# O_ASYNC (LDD3's asynctest): no SIGIO without a write; SIGIO for another
# process's write once the reader is armed; a write after its close (its
# release took it off the queue)
$P async /dev/scullpipe3 300
rm -f /tmp/a
$P async /dev/scullpipe3 30000 > /tmp/a &
a=$!
while kill -0 $a && ! grep -qs '^async' /tmp/a; do sleep 0.1; done
echo signalled > /dev/scullpipe3
wait
cat /tmp/a
$C <<'EOF'
open a /dev/scullpipe3 rdwr
write a "after"
read a 10
close a
EOF
""" + UNLOAD

FULL_SCRIPT = LOAD + """\
# 15 bytes fit; the writer sleeps for the other 5 until a reader reads
(printf 0123456789abcdefghij > /dev/scullpipe0; echo "writer done" > /tmp/w) &
w=$!
sleep 2
if kill -0 $w; then echo "writer asleep"; fi
head -c 20 /dev/scullpipe0; echo
wait $w
cat /tmp/w
""" + UNLOAD


SLEEPY_SCRIPT = """\
major=$(awk '$2=="sleepy" {print $1}' /proc/devices)
mknod /dev/sleepy c $major 0
P=/tmp/pollclient
cat /dev/sleepy &
r=$!
sleep 2
if kill -0 $r; then echo "cat asleep"; fi
echo x > /dev/sleepy
wait $r
echo "cat woken"
$P poll /dev/sleepy 300 in
$P poll /dev/sleepy 30000 in > /tmp/p &
sleep 2
echo x > /dev/sleepy
wait
cat /tmp/p
rm -f /dev/sleepy
"""
SIGNAL_SCRIPT = LOAD + """\
/tmp/sigread /dev/scullpipe0 norestart 4 & p=$!
sleep 2; kill -USR1 $p; wait $p; echo "norestart rc $?"
/tmp/sigread /dev/scullpipe0 restart 4 & p=$!
sleep 2; kill -INT $p; sleep 1; printf abcd > /dev/scullpipe0
wait $p; echo "restart rc $?"
cat /dev/scullpipe1 & p=$!
sleep 2; kill -9 $p; wait $p || echo "killed rc $?"
""" + UNLOAD


def check_signals(run):
    assert_in_order(run.transcript, [
        "read = -1 EINTR", "signals = 1", "norestart rc 0",
        "read = 4 abcd", "signals = 1", "restart rc 0",
        "killed rc 137",
    ], "scullpipe.ko's transcript (signals)")


# The pids of the processes that read and write.
SLEEPY_NORMALISE = ((r"^([+-])\d+ sleepy$", r"\1MAJOR sleepy"),
                    (r"(process|awoken) \d+", r"\1 PID"))


def check_sleepy(run):
    assert_in_order(run.transcript, [
        "cat asleep", "cat woken", "poll = 0", "poll = 1 IN", "read = 0 ",
    ], "sleepy.ko's transcript")
    assert_in_order(run.log, [
        "<7>process PID (cat) going to sleep",
        "<7>process PID (sh) awakening the readers...",
        "<7>awoken PID (cat)",
    ], "sleepy.ko's log")


def check_pipe(run):
    t = run.transcript
    assert_in_order(t, [
        "reader asleep", "reader got hello",
        "reader 1: 4 bytes", "reader 2: 4 bytes", "reader 3: 4 bytes",
        "reader 4: 4 bytes", "aaaabbbbccccdddd",
        "poll = 0", "select = 0", "poll = 1 OUT",
        "poll = 1 IN", "read = 7 polled",
        "select = 1 read", "read = 9 selected",
        "async = 0", "no SIGIO", "async = 0", "sigio: 10 bytes signalled",
        'read a 10 = 5 "after"',
    ], "scullpipe.ko's transcript")
    assert any("EAGAIN" in line for line in t), t
    assert any('"xyz"' in line or "xyz" in line for line in t), t
    assert "<6>scullpipe: 4 devices of 4000 bytes" in run.log, run.log


def check_full(run):
    assert_in_order(run.transcript, [
        "writer asleep", "0123456789abcdefghij", "writer done",
    ], "scullpipe.ko's transcript (full)")


CASES = {
    "scullpipe": Chardev(
        SCULLPIPE, ready="grep -q scullp /proc/devices", script=SCRIPT,
        normalise=MAJOR, check=check_pipe),
    "scullpipe-full": Chardev(
        SCULLPIPE, params=("scull_p_buffer=16",),
        ready="grep -q scullp /proc/devices", script=FULL_SCRIPT,
        normalise=MAJOR, check=check_full),
    "scullpipe-signals": Chardev(
        SCULLPIPE, ready="grep -q scullp /proc/devices",
        script=SIGNAL_SCRIPT, normalise=MAJOR, check=check_signals),
    "sleepy": Chardev(
        SLEEPY, ready="grep -q sleepy /proc/devices", script=SLEEPY_SCRIPT,
        normalise=SLEEPY_NORMALISE, check=check_sleepy),
}


@pytest.fixture(scope="session")
def pollclient(harness, chardevs):
    exe = harness.workdir / "pollclient"
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-o",
                    str(exe), str(POLLCLIENT_SRC)], check=True)
    chardevs.target.push(exe, GUEST_POLLCLIENT)
    return GUEST_POLLCLIENT


@pytest.fixture(scope="session")
def sigread(harness, chardevs):
    exe = harness.workdir / "sigread"
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o", str(exe),
                    str(SIGREAD_SRC)], check=True)
    chardevs.target.push(exe, GUEST_SIGREAD)
    return GUEST_SIGREAD


@pytest.mark.parametrize("key", CASES)
@pytest.mark.parametrize("mode", ("ko", "user"))
def test_scullpipe(chardevs, pollclient, sigread, key, mode):
    tc.check_case(chardevs, key, CASES[key], mode)


@pytest.mark.parametrize("module", (SCULLPIPE, SLEEPY),
                         ids=lambda m: m.name)
def test_nothing_for_dusk(module):
    for path in sorted(module.srcdir.rglob("*")):
        if path.suffix in (".c", ".h") or path.name == "Makefile":
            assert "dusk" not in path.read_text().lower(), path
