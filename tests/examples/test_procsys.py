# SPDX-License-Identifier: GPL-2.0
"""procfs, seq_file and sysfs: each test module (mods/) as a .ko and as the
user-level program, driven by the same scripts in the target (the
machinery of test_chardev.py, with /proc and /sys as the places).

seqlist   LDD3's scull "seq" interface over a kmalloc'd list of 300 items
          (longer than a page: seq_read restarts start/next/stop several
          times): seq_open in the module's proc_open, seq_read, seq_lseek
          and seq_release as the kernel's own slots, seq_list_start/next,
          seq_puts and seq_printf, a mutex taken in start and dropped in
          stop; cat, dd bs=100, a read with an lseek in between; the same
          seq_operations again through proc_create_seq (one table)
procstat  a kernel course's procfs exercise: proc_mkdir, proc_create with
          single_open (the show function as an argument: a proxy
          function), a writable file (proc_write with copy_from_user,
          proc_read with simple_read_from_buffer, no open or release),
          proc_create_single; remove_proc_entry by name in exit
kobjattr  samples/kobject/kobject-example.c: kobject_create_and_add under
          kernel_kobj, an attribute group of kobj_attributes (show and
          store in static structs reached through &attr.attr), one show
          and store shared by two attributes, an attribute kmalloc'd at run
          time (its show stored into kernel memory: a proxy once
          sysfs_create_file gets it); class_create, device_create
          and device_create_file of a DEVICE_ATTR_RW

Each run asserts what test_chardev's do: the .ko's transcript is right,
the program's transcript, log and registrations equal the .ko's, it exits
0 after SIGINT, nothing is left in /proc or /sys, and the .ko then loads.
test_procsys_sigkill: the program killed by SIGKILL leaves nothing either
(dusk.ko releases what the session owned) and the .ko then loads.
test_open_proc_file_does_not_keep_the_module: rmmod of the .ko and the
program's SIGINT alike succeed while a proc file is held open.

    tests/run-pytest tests/examples/test_procsys.py
"""

import signal
import subprocess
import time

import pytest

from test_chardev import Chardev, Chardevs, assert_in_order, assert_same_as_ko
from diff import MODS_DIR, Module, harness, mod  # noqa: F401
from progrun import Program, wait_for_command

SEQLIST = mod("seqlist")
PROCSTAT = mod("procstat")
KOBJATTR = mod("kobjattr")

PLACES = {
    "/proc": "ls /proc | grep -v '^[0-9]*$'",
    "/proc/procstat": "ls /proc/procstat 2>/dev/null || true",
    "/sys/kernel": "ls /sys/kernel",
    "/sys/class": "ls /sys/class",
    "/sys/class/kobjattr": "ls /sys/class/kobjattr 2>/dev/null || true",
    "modules": "cut -d' ' -f1 /proc/modules",
}


class ProcSys(Chardevs):
    """test_chardev's runs, with procfs' and sysfs' places."""

    PLACES = PLACES


_runs = {}


@pytest.fixture(scope="session")
def procsys(harness):
    if harness.target.name not in _runs:
        _runs[harness.target.name] = ProcSys(harness)
    return _runs[harness.target.name]


SEQLIST_SCRIPT = """\
head -3 /proc/seqlist
tail -2 /proc/seqlist
wc -lc < /proc/seqlist
md5sum < /proc/seqlist
dd if=/proc/seqlist bs=100 2>/tmp/dd.log | md5sum; grep records /tmp/dd.log
dd if=/proc/seqlist bs=100 skip=30 count=2 2>/dev/null; echo
cmp /proc/seqlist /proc/seqlist2 && echo "seqlist2 is the same"
$C <<'EOF'
open a /proc/seqlist rdonly
read a 40
read a 30
lseek a 0 cur
lseek a 5000 set
read a 30
lseek a 0 set
read a 20
close a
EOF
"""


def check_seqlist(run):
    t = run.transcript
    assert_in_order(t, [
        "id   square    name",
        "0    0         item-000",
        "1    1         item-001",
        "298  88804     item-298",
        "299  89401     item-299",
    ], "seqlist .ko transcript")
    assert "0+83 records in" in t or any("records in" in x for x in t), t
    assert "seqlist2 is the same" in t, t
    assert run.appeared == {"/proc": ["+seqlist", "+seqlist2"],
                            "modules": ["+seqlist"]}, run.appeared


PROCSTAT_SCRIPT = """\
ls /proc/procstat
cat /proc/procstat/version
cat /proc/procstat/message
echo "hello from the shell" > /proc/procstat/message
cat /proc/procstat/message
dd if=/proc/procstat/message bs=4 2>/tmp/dd.log; grep records /tmp/dd.log
cat /proc/procstat/stats
printf '%070d' 0 > /proc/procstat/message 2>/dev/null || echo "long write: failed"
$C <<'EOF'
open m /proc/procstat/message rdwr
write m "abc"
lseek m 0 set
write m "xyz" @unmapped
close m
open m /proc/procstat/message rdonly
read m 10 @unmapped
read m 2
read m 100
read m 100
close m
open s /proc/procstat/stats rdonly
read s 12
read s 1000
lseek s 0 set
read s 7
close s
EOF
cat /proc/procstat/stats
"""


def check_procstat(run):
    assert_in_order(run.transcript, [
        "message", "stats", "version",
        "procstat 1.0",
        "nothing yet",
        "hello from the shell",
        "hello from the shell",
        "opens:  1",
        "long write: failed",
        'write m "abc" = 3',
        "lseek m 0 set = -1 ESPIPE",
        'write m "xyz" @unmapped = -1 EFAULT',
        "read m 10 @unmapped = -1 EFAULT",
        # the course's write copies straight into its buffer: the fault
        # left it zeroed (copy_from_user zero-fills what it missed)
        'read m 2 = 2 "\\x00\\x00"',
        'read m 100 = 1 "\\x00"',
        "read m 100 = 0",
        "lseek s 0 set = 0",
        'read s 7 = 7 "opens: "',
    ], "procstat .ko transcript")
    assert run.appeared == {"/proc": ["+procstat"],
                            "/proc/procstat": ["+message", "+stats",
                                               "+version"],
                            "modules": ["+procstat"]}, run.appeared
    assert_in_order(run.log, [
        "<6>procstat: loaded",
        "<6>procstat: message is now 21 bytes",
        "<6>procstat: message is now 3 bytes",
    ], "procstat .ko log")


KOBJATTR_SCRIPT = """\
cd /sys/kernel/kobjattr
ls
cat foo baz bar
echo 42 > foo
echo 7 > baz
echo -3 > bar
cat foo baz bar
cat sum
echo notanumber > foo 2>/dev/null || echo "foo: bad number refused"
cat foo
ls /sys/class/kobjattr
cat /sys/class/kobjattr/kobjattr0/level
echo high > /sys/class/kobjattr/kobjattr0/level
cat /sys/class/kobjattr/kobjattr0/level
dd if=foo bs=1 2>/dev/null; echo
"""


def check_kobjattr(run):
    assert_in_order(run.transcript, [
        "bar", "baz", "foo", "sum",
        "0", "0", "0",
        "42", "7", "-3",
        "sum 46",
        "foo: bad number refused",
        "42",
        "kobjattr0",
        "low",
        "high",
    ], "kobjattr .ko transcript")
    assert run.appeared == {"/sys/kernel": ["+kobjattr"],
                            "/sys/class": ["+kobjattr"],
                            "/sys/class/kobjattr": ["+kobjattr0"],
                            "modules": ["+kobjattr"]}, run.appeared
    assert_in_order(run.log, [
        "<6>kobjattr: loaded",
        "<6>kobjattr kobjattr0: level set to high",
        "<6>kobjattr: unloaded foo=42 baz=7 bar=-3",
    ], "kobjattr .ko log")


CASES = {
    "seqlist": Chardev(SEQLIST, ready="[ -e /proc/seqlist ]",
                       script=SEQLIST_SCRIPT, check=check_seqlist),
    "procstat": Chardev(PROCSTAT, ready="[ -e /proc/procstat/version ]",
                        script=PROCSTAT_SCRIPT, check=check_procstat),
    "kobjattr": Chardev(KOBJATTR,
                        ready="[ -e /sys/class/kobjattr/kobjattr0/level ]",
                        script=KOBJATTR_SCRIPT, check=check_kobjattr),
}


@pytest.mark.parametrize("key", CASES)
def test_procsys_ko(procsys, key):
    case = CASES[key]
    run = procsys.run(key, case, "ko")
    assert not run.trouble, run.trouble
    assert not run.left, run.left
    case.check(run)


@pytest.mark.parametrize("key", CASES)
def test_procsys_user(procsys, key):
    case = CASES[key]
    ko = procsys.run(key, case, "ko")
    run = procsys.run(key, case, "user")
    assert_same_as_ko(run, ko)
    procsys.ko_loads_again(case)


@pytest.mark.parametrize("key", CASES)
def test_procsys_sigkill(procsys, key):
    """SIGKILL once ready, a reader just before: dusk.ko releases the proc
    entries, sysfs files, kobject, class and device; nothing is left and
    the .ko then loads."""
    case = CASES[key]
    h = procsys.h
    prog = h.build_prog(case.module)
    before = procsys.places()
    proc = subprocess.Popen([str(prog)], env=procsys.target.env,
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not procsys.is_ready(case):
            assert proc.poll() is None, "the program ended before ready"
            assert time.monotonic() < deadline, "not ready"
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 30
    while True:
        left = procsys.differences(before, procsys.places(), ())
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not left, left
    procsys.ko_loads_again(case)


# What a reader loop reads while the program's exit removes it.
READERS = {
    "seqlist": "/proc/seqlist",
    "procstat": "/proc/procstat/stats",
    "kobjattr": "/sys/kernel/kobjattr/foo",
}


@pytest.mark.parametrize("key", CASES)
def test_procsys_exit_while_reading(procsys, key):
    """SIGINT while a reader loop in the target keeps a callback in flight
    (one reader: two would interleave seqlist's start/stop, which hold a
    mutex between them, on the program's one thread):
    the exit's proc_remove()/kobject_put() waits for the readers in the
    files' operations, which must not wait for the program (busy with the
    exit): its tables die first and their callers get EIO. The program
    exits 0 in time, nothing is left, the kernel log is clean."""
    case = CASES[key]
    h = procsys.h
    prog = h.build_prog(case.module)
    before = procsys.places()
    token = h.marker()
    loop = (f"while :; do cat {READERS[key]} >/dev/null 2>&1; "
            f"[ -e /tmp/stop-readers ] && break; done")
    proc = subprocess.Popen([str(prog)], env=procsys.target.env,
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not procsys.is_ready(case):
            assert proc.poll() is None, "the program ended before ready"
            assert time.monotonic() < deadline, "not ready"
            time.sleep(0.5)
        h.exec(["sh", "-c", "rm -f /tmp/stop-readers; "
                f"( {loop} ) >/dev/null 2>&1 &"])
        time.sleep(3)
        proc.send_signal(signal.SIGINT)
        try:
            status = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            status = None
        out = proc.stdout.read().decode(errors="replace")
    finally:
        h.exec(["sh", "-c", "touch /tmp/stop-readers"])
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert status == 0, f"exit status {status}:\n{out}"
    deadline = time.monotonic() + 30
    while True:
        left = procsys.differences(before, procsys.places(), ())
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not left, left
    time.sleep(2)
    assert not h.trouble(h.kernel_log(token))
    procsys.ko_loads_again(case)


# A shell that holds a proc file open (fd 3) and sleeps: its pid.
HOLD_OPEN = ("(exec 3<{path}; exec sleep 1000) </dev/null >/dev/null 2>&1 "
             "& echo $!")


def test_open_proc_file_does_not_keep_the_module(procsys):
    """A proc file held open does not keep the module, as a char device's
    file does (fops->owner): rmmod of procstat.ko succeeds while a shell
    holds /proc/procstat/stats, and the program exits 0 at the first SIGINT
    without "module in use"."""
    case = CASES["procstat"]
    h = procsys.h
    hold = HOLD_OPEN.format(path=READERS["procstat"])
    ko = h.build_ko(case.module)
    h.target.push(ko, "/tmp/procstat.ko")
    h.exec(["insmod", "/tmp/procstat.ko"])
    pid = h.exec(["sh", "-c", hold]).strip()
    try:
        rc, out, err = h.target.exec(["rmmod", "procstat"])
    finally:
        h.exec(["kill", pid])
    assert rc == 0, f"rmmod with the proc file open: {out}{err}"

    prog = h.build_prog(case.module)
    p = Program(prog, procsys.target.env)
    pid = None
    try:
        wait_for_command(procsys.target, case.ready, True, timeout=120)
        pid = h.exec(["sh", "-c", hold]).strip()
        wait_for_command(procsys.target,
                         f"ls -l /proc/{pid}/fd | grep -q procstat", True)
        p.proc.send_signal(signal.SIGINT)
        status = p.wait()
    finally:
        if pid:
            h.exec(["kill", pid])
        p.stop()
    out = p.stdout() + p.stderr()
    assert status == 0, out
    assert "module in use" not in out, out
    wait_for_command(procsys.target, case.ready, False, timeout=30)
