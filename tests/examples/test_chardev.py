# SPDX-License-Identifier: GPL-2.0
"""Character devices: each test module (mods/) as a .ko and as the
user-level program, driven by the same scripted clients in the target.

scull       LDD3's scull over three files and a header (main.c, fops.c,
            ioctl.c, scull.h; the LDD3 Makefile): alloc_chrdev_region or
            register_chrdev_region (scull_major=), a kmalloc'd array of
            four devices with an embedded cdev each (cdev_init, cdev_add),
            container_of in open, filp->private_data, quantum/qset
            storage, read and write (copy_to_user, copy_from_user, at most
            one quantum a call), llseek, the write-only open that trims,
            the SCULL_IOC* ioctls (access_ok, __get_user, __put_user,
            put_user, capable), mutex_lock_interruptible; printk with
            KERN_ levels through LDD3's PDEBUG
miscioctl   misc_register (MISC_DYNAMIC_MINOR) with a header in a sibling
            include folder shared with user space (include/miscioctl.h)
            and a Kbuild file: read (sprintf, simple_read_from_buffer),
            write (kstrtol_from_user, get_user of a byte), unlocked_ioctl
            (get_user and put_user of 1, 2, 4 and 8 bytes, copy_to_user
            and copy_from_user of a struct, strncpy_from_user), the kernel's
            default_llseek in the module's file_operations
hellochar   the kernel courses' first driver: register_chrdev(0, ...),
            class_create and device_create (the node appears in devtmpfs),
            a global message buffer, read with *offset bookkeeping, write
            that keeps what it can, a mutex_trylock'd open (EBUSY) that
            printks current->comm and current->pid, printk without KERN_
            level

Each case runs in both modes, the .ko first:

  ko    insmod, the scenario, rmmod;
  user  bin/dusk-cc builds the program from the same source, it runs on
        the host against the target (target.env), the scenario runs once
        the program's init has logged what the .ko's did and the device
        is there, SIGINT stops it.

A scenario is a shell script run in the target: shell clients (cat, dd
bs=3, echo >) and devclient (devclient.c), a static client that makes one
system call per script line and prints its result, errno name and data,
bad user pointers included (NULL, (void *)1, a kernel address, an
unmapped page, a buffer that ends K bytes before an unmapped page). Each
run records:

  transcript  the scenario's stdout;
  log         the kernel log lines after a marker written before the load
              (dmesg -r, "<LEVEL>TEXT"), less dusk.ko's own lines
              ("dusk: ") and what the kernel's module loader prints under
              the module's name (taint);
  appeared    what the load added to /dev, /proc/devices, /proc/misc,
              /sys/class, /sys/dev/char and the module list while the
              scenario ran;
  left        what differs in those places after the unload (must be
              nothing).

test_chardev[ko-*] asserts the .ko's transcript and log themselves (the
reference must be right: data written is read back, EFAULT for every bad
pointer, the ioctl values); test_chardev[user-*] asserts that the user
level run gives the same transcript, log and registrations as the .ko,
exits 0 after SIGINT, leaves the target as it was, and that the .ko then
loads and unloads again. Values that legitimately differ between two
loads are normalised in both runs alike, each rule in CASES saying why.

    tests/run-pytest tests/examples/test_chardev.py            # both modes
    tests/run-pytest tests/examples/test_chardev.py -k ko      # .ko halves
"""

import dataclasses
import pathlib
import re
import signal
import struct
import subprocess
import threading
import time

import pytest

from conftest import BUILDDIR, SRCDIR
from diff import (LOADER_LINES, MODS_DIR, Module,
                  assert_lines, harness, mod, normalised)  # noqa: F401

DEVCLIENT_SRC = SRCDIR / "tests" / "examples" / "devclient.c"
DEVCLIENT_BUILT = BUILDDIR / "tests" / "examples" / "devclient"
GUEST_DEVCLIENT = "/tmp/devclient"

SCULL = mod("scull")
MISCIOCTL = Module("miscioctl", MODS_DIR / "miscioctl" / "driver",
                   tree=MODS_DIR / "miscioctl")
HELLOCHAR = mod("hellochar")

READY_TIMEOUT = 120
STOP_TIMEOUT = 60
SCENARIO_TIMEOUT = 300

# Where a module's registrations show, one command each.
PLACES = {
    "/dev": "ls /dev",
    "/proc/devices": "cat /proc/devices",
    "/proc/misc": "cat /proc/misc",
    "/sys/class": "ls /sys/class",
    "/sys/class/misc": "ls /sys/class/misc",
    "/sys/dev/char": "ls /sys/dev/char",
    "modules": "cut -d' ' -f1 /proc/modules",
}

# dusk.ko's own lines in the kernel log (sessions, what it released).
DUSK_LINE = re.compile(r"^dusk: ")
# The target's own lines, of neither the module nor dusk: a software
# emulated guest under load reports its slow timer interrupts and clocks.
MACHINE_LINE = re.compile(r"^(hrtimer: interrupt took \d+ ns|clocksource: |"
                          r"sched: RT throttling activated)")


@dataclasses.dataclass
class Chardev:
    """One scenario of a character-device module.

    params      module parameters, as insmod and the program take them
    ready       shell test, true once the device can be used
    script      shell script run in the target (sh -c, set -e) once ready;
                $C is devclient. Its stdout is the transcript.
    normalise   (regex, replacement) pairs applied to the transcript, the
                log and the places of both runs, each saying why
    check       callable(run): assertions on the .ko's run (normalised)
    both        callable(run): assertions on the raw run of either mode
    reorder     callable(lines): the normalised log in one order where the
                kernel allows several (work run on another CPU while init
                goes on), asserting the order that does matter
    """
    module: Module
    params: tuple = ()
    ready: str = "true"
    script: str = ""
    normalise: tuple = ()
    check: object = None
    both: object = None
    reorder: object = None

    def log(self, run):
        """run's kernel log, normalised and in the one order."""
        lines = normalised(run.log, self.normalise)
        return self.reorder(lines) if self.reorder else lines


@dataclasses.dataclass
class Run:
    mode: str
    loaded: bool = False
    init_log: list = dataclasses.field(default_factory=list)
    transcript: list = dataclasses.field(default_factory=list)
    log: list = dataclasses.field(default_factory=list)
    appeared: dict = dataclasses.field(default_factory=dict)
    left: dict = dataclasses.field(default_factory=dict)
    trouble: list = dataclasses.field(default_factory=list)
    output: str = ""            # the program's stdout and stderr (user)
    exit_status: int = None     # the program's (user)
    error: str = ""             # why it did not get to the scenario


def assert_in_order(lines, wanted, what):
    """Every line of wanted is in lines, in this order (others between)."""
    i = 0
    for w in wanted:
        while i < len(lines) and lines[i] != w:
            i += 1
        assert i < len(lines), (
            f"{what}: {w!r} not found (in order) in:\n" + "\n".join(lines))
        i += 1


def assert_same_as_ko(run, ko):
    """A program's run of a case did what the .ko's did: the transcript,
    the module's log lines, what appeared in the places (the program is no
    module: but for /proc/modules), nothing left after, no trouble."""
    assert not run.error, run.error + "\n" + run.output
    assert run.exit_status == 0, run.output
    assert run.transcript == ko.transcript, (
        "\n".join(run.transcript) + "\n---- .ko:\n" +
        "\n".join(ko.transcript) + "\n---- output:\n" + run.output)
    assert run.log == ko.log, (run.log, ko.log, run.output)
    assert run.appeared == {k: v for k, v in ko.appeared.items()
                            if k != "modules"}, run.appeared
    assert not run.left, run.left
    assert not run.trouble, run.trouble


class Chardevs:
    """Runs of the cases against the session's target (cached: each case
    and mode runs once a session)."""

    def __init__(self, harness):
        self.h = harness
        self.target = harness.target
        self._runs = {}
        self._client = False

    # ---- the target ---------------------------------------------------------

    def client(self):
        """devclient, built statically on the host, pushed in."""
        if not self._client:
            exe = DEVCLIENT_BUILT
            if not (exe.exists() and
                    exe.stat().st_mtime >= DEVCLIENT_SRC.stat().st_mtime):
                exe = self.h.workdir / "devclient"
                subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o",
                                str(exe), str(DEVCLIENT_SRC)], check=True)
            self.target.push(exe, GUEST_DEVCLIENT)
            self._client = True
        return GUEST_DEVCLIENT

    # Where a module's traces show, {place: command}: the subclasses of
    # other kinds of module name theirs.
    PLACES = PLACES

    def places(self):
        return {name: sorted(self.h.exec(cmd).splitlines())
                for name, cmd in self.PLACES.items()}

    def differences(self, before, after, rules):
        """{place: ["+line", "-line"...]} where they differ, normalised."""
        diff = {}
        for name in self.PLACES:
            b, a = set(before[name]), set(after[name])
            lines = ["+" + x for x in sorted(a - b)] + \
                    ["-" + x for x in sorted(b - a)]
            if lines:
                diff[name] = normalised(lines, rules)
        return diff

    def module_log(self, module, entries):
        """The module's lines: all but dusk.ko's, the loader's and the
        machine's."""
        prefix = module.name + ": "
        lines = []
        for level, text in entries:
            if DUSK_LINE.match(text) or MACHINE_LINE.match(text):
                continue
            if text.startswith(prefix) and any(
                    rx.match(text[len(prefix):]) for rx in LOADER_LINES):
                continue
            lines.append(f"<{level}>{text}")
        return lines

    def is_ready(self, case):
        rc, _, _ = self.target.exec(["sh", "-c", case.ready])
        return rc == 0

    def scenario(self, case):
        """The transcript; a scenario that fails (a command's status, a
        devclient script error, a timeout) ends it with a line saying so,
        which no expected transcript has."""
        c = self.client()
        rc, out, err = self.target.exec(
            ["sh", "-c", f"C={c}\nset -e\n{case.script}"],
            timeout=SCENARIO_TIMEOUT)
        lines = out.splitlines()
        if rc != 0:
            lines.append(f"(the scenario ended with status {rc}: "
                         f"{' '.join(err.split())})")
        return lines

    # ---- runs ---------------------------------------------------------------

    def run_ko(self, case):
        module = case.module
        run = Run("ko")
        ko = self.h.build_ko(module)
        guest = f"/tmp/{module.name}.ko"
        self.target.push(ko, guest)
        self.client()
        before = self.places()
        token = self.h.marker()
        rc, out, err = self.target.exec(["insmod", guest, *case.params])
        assert rc == 0, f"insmod {module.name}.ko: {out}{err}"
        run.loaded = True
        try:
            assert self.is_ready(case), \
                f"{module.name}.ko loaded, not ready ({case.ready})"
            run.init_log = self.module_log(module, self.h.kernel_log(token))
            run.appeared = self.differences(before, self.places(),
                                            case.normalise)
            run.transcript = self.scenario(case)
        finally:
            self.h.exec(["rmmod", module.name])
        entries = self.h.kernel_log(token)
        run.log = self.module_log(module, entries)
        run.trouble = self.h.trouble(entries)
        run.left = self.differences(before, self.places(), ())
        return run

    def run_user(self, case, ko_run):
        module = case.module
        run = Run("user")
        prog = self.h.build_prog(module)
        self.client()
        before = self.places()
        token = self.h.marker()
        proc = subprocess.Popen([str(prog), *case.params],
                                env=self.target.env,
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        chunks = []
        reader = threading.Thread(
            target=lambda: chunks.extend(iter(
                lambda: proc.stdout.read1(65536), b"")),
            daemon=True)
        reader.start()
        try:
            # Ready: its init logged what the .ko's init logged, and the
            # device is there.
            want = len(ko_run.init_log)
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                if proc.poll() is not None:
                    run.error = (f"the program ended (status "
                                 f"{proc.returncode}) before its device "
                                 f"was ready")
                    break
                got = self.module_log(module, self.h.kernel_log(token))
                if len(got) >= want and self.is_ready(case):
                    run.loaded = True
                    run.init_log = got[:want]
                    break
                if time.monotonic() > deadline:
                    run.error = (f"not ready after {READY_TIMEOUT} s: its "
                                 f"init logged {got}, the .ko's "
                                 f"{ko_run.init_log}")
                    break
                time.sleep(0.5)
            if run.loaded:
                run.appeared = self.differences(before, self.places(),
                                                case.normalise)
                run.transcript = self.scenario(case)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                run.exit_status = proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                run.exit_status = proc.wait()
                run.error += (f"; did not stop within {STOP_TIMEOUT} s of "
                              f"SIGINT (killed)")
            reader.join(timeout=10)
            run.output = b"".join(chunks).decode(errors="replace")

        # Its exit's printk and dusk.ko's releases reach the log after it
        # ended: wait until the log and the places settle.
        prev = None
        deadline = time.monotonic() + 20
        while True:
            entries = self.h.kernel_log(token)
            log = self.module_log(module, entries)
            left = self.differences(before, self.places(), ())
            if ((log, left) == prev and not left) or \
                    time.monotonic() > deadline:
                break
            prev = (log, left)
            time.sleep(0.5)
        run.log = log
        run.left = left
        run.trouble = self.h.trouble(entries)
        return run

    def run(self, key, case, mode):
        k = (key, mode)
        if k not in self._runs:
            if mode == "ko":
                self._runs[k] = self.run_ko(case)
            else:
                ko = self.run(key, case, "ko")
                self._runs[k] = self.run_user(case, ko)
        return self._runs[k]

    def ko_loads_again(self, case):
        """After a user run: the .ko loads, is ready and unloads, and the
        target is as before."""
        module = case.module
        before = self.places()
        guest = f"/tmp/{module.name}.ko"
        self.target.push(self.h.build_ko(module), guest)
        rc, out, err = self.target.exec(["insmod", guest, *case.params])
        assert rc == 0, \
            f"the .ko does not load after the program: {out}{err}"
        try:
            assert self.is_ready(case), \
                f"the .ko loaded after the program, not ready ({case.ready})"
        finally:
            self.h.exec(["rmmod", module.name])
        left = self.differences(before, self.places(), ())
        assert not left, f"the reloaded .ko left {left}"


_chardevs = {}


@pytest.fixture(scope="session")
def chardevs(harness):
    if harness.target.name not in _chardevs:
        _chardevs[harness.target.name] = Chardevs(harness)
    return _chardevs[harness.target.name]


# ---- the cases --------------------------------------------------------------

# A dynamic major is whatever the kernel has free at load time: the same
# number in both runs today, but nothing promises it. Only where the
# scenario or the module prints it, and in the places.
MAJOR_PLACES = (r"^([+-])\d+ (scull|hellochar)$", r"\1MAJOR \2")
# scull_load's /sys/dev/char entries are none (no class); hellochar's.
DEVNO = (r"^([+-])\d+:(\d+)$", r"\1MAJOR:\2")
# MISC_DYNAMIC_MINOR: the first free one at load time.
MINOR = (r"^([+-]) *\d+ miscioctl$", r"\1MINOR miscioctl")
# The pids of the processes that open hellochar: new processes each run
# (same_pid checks devclient's against its getpid in each run).
PID = (r"\(pid \d+\)", "(pid PID)")
GETPID = (r"^getpid = \d+$", "getpid = PID")

SCULL_IOCTLS = """\
define SCULL_IOCRESET IO(k,0)
define SCULL_IOCSQUANTUM IOW(k,1,4)
define SCULL_IOCSQSET IOW(k,2,4)
define SCULL_IOCTQUANTUM IO(k,3)
define SCULL_IOCTQSET IO(k,4)
define SCULL_IOCGQUANTUM IOR(k,5,4)
define SCULL_IOCGQSET IOR(k,6,4)
define SCULL_IOCQQUANTUM IO(k,7)
define SCULL_IOCQQSET IO(k,8)
define SCULL_IOCXQUANTUM IOWR(k,9,4)
define SCULL_IOCXQSET IOWR(k,10,4)
define SCULL_IOCHQUANTUM IO(k,11)
define SCULL_IOCHQSET IO(k,12)
define SCULL_P_IOCTSIZE IO(k,13)
define SCULL_P_IOCQSIZE IO(k,14)
"""

# LDD3's scull_load: the nodes from the major in /proc/devices.
SCULL_LOAD = """\
major=$(awk '$2=="scull" {print $1}' /proc/devices)
for i in 0 1 2 3; do mknod /dev/scull$i c $major $i; done
ls /dev | grep scull | tr '\\n' ' '; echo
"""
SCULL_UNLOAD = "rm -f /dev/scull0 /dev/scull1 /dev/scull2 /dev/scull3\n"
DD_RECORDS = "2>/tmp/dd.log; grep records /tmp/dd.log"

SCULL_SCRIPT = SCULL_LOAD + f"""\
echo "hello, scull" > /dev/scull0
cat /dev/scull0
dd if=/dev/scull0 bs=3 {DD_RECORDS}
printf abcdefgh | dd of=/dev/scull1 bs=3 {DD_RECORDS}
cat /dev/scull1; echo
# a write-only open trims, O_APPEND or not (LDD3)
echo appended >> /dev/scull1
cat /dev/scull1
echo "scull2 has $(wc -c < /dev/scull2) bytes"
$C <<'EOF'
{SCULL_IOCTLS}
open a /dev/scull0 rdwr
read a 5
read a 100
read a 100
lseek a 0 cur
lseek a -6 end
read a 100
lseek a -100 set
lseek a 0 7
pread a 5 7
lseek a 0 cur
lseek a 0 set
write a "HELLO"
lseek a 0 set
read a 100
# bad user pointers: EFAULT, and the position stays
lseek a 0 set
read a 10 @null
read a 10 @one
read a 10 @kernel
read a 10 @unmapped
lseek a 0 set
read a 10 @straddle:4
lseek a 0 cur
write a "XXXXXXXX" @one
write a "XXXXXXXX" @kernel
write a "XXXXXXXX" @unmapped
# a copy_from_user that faults after 3 bytes zero-fills the rest
write a "XXXXXXXX" @straddle:3
lseek a 0 cur
read a 100
# the ioctls
ioctl a SCULL_IOCQQUANTUM
ioctl a SCULL_IOCQQSET
ioctl a SCULL_IOCGQUANTUM out:int
ioctl a SCULL_IOCGQSET out:int
ioctl a SCULL_IOCSQUANTUM in:int:100
ioctl a SCULL_IOCQQUANTUM
ioctl a SCULL_IOCTQUANTUM val:200
ioctl a SCULL_IOCXQUANTUM inout:int:300
ioctl a SCULL_IOCHQUANTUM val:400
ioctl a SCULL_IOCQQUANTUM
ioctl a SCULL_IOCSQSET in:int:50
ioctl a SCULL_IOCXQSET inout:int:60
ioctl a SCULL_IOCHQSET val:70
ioctl a SCULL_IOCQQSET
ioctl a SCULL_P_IOCTSIZE val:77
ioctl a SCULL_P_IOCQSIZE
ioctl a SCULL_IOCGQUANTUM @null
ioctl a SCULL_IOCGQUANTUM @one
ioctl a SCULL_IOCGQUANTUM @kernel
ioctl a SCULL_IOCGQUANTUM @unmapped
ioctl a SCULL_IOCGQSET @straddle:2
ioctl a SCULL_IOCSQSET @kernel
# LDD3 reads straight into the global: a faulting __get_user zeroes it
ioctl a SCULL_IOCXQUANTUM @unmapped
ioctl a SCULL_IOCQQUANTUM
ioctl a SCULL_IOCRESET
ioctl a SCULL_IOCQQUANTUM
ioctl a SCULL_IOCQQSET
ioctl a IO(k,15)
ioctl a IO(j,1)
ioctl a IOR(k,5,8)
# a new quantum applies at the next trim (a write-only open)
ioctl a SCULL_IOCTQUANTUM val:4
open w /dev/scull2 wronly
write w "0123456789"
write w "456789"
write w "89"
close w
ioctl a SCULL_IOCRESET
open r /dev/scull2 rdonly
read r 100
read r 100
read r 100
read r 100
close r
# a write past the end: the quantum in between is a hole, read as EOF
open w /dev/scull3 rdwr
lseek w 5000 set
write w "far"
lseek w 0 set
read w 10
pread w 10 5000
lseek w 0 end
close w
# without CAP_SYS_ADMIN: queries work, changes do not
setuid 65534
ioctl a SCULL_IOCQQUANTUM
ioctl a SCULL_IOCTQUANTUM val:1
ioctl a SCULL_IOCSQUANTUM in:int:1
ioctl a SCULL_IOCXQSET inout:int:1
ioctl a SCULL_IOCGQUANTUM out:int
close a
EOF
od -An -c /dev/scull0
cat /dev/scull2; echo
""" + SCULL_UNLOAD


def check_scull(run):
    t = run.transcript
    assert_in_order(t, [
        "scull0 scull1 scull2 scull3 ",
        "hello, scull",
        "hello, scull",                          # dd bs=3
        "4+1 records in",
        "abcdefgh",
        "appended",
        "scull2 has 0 bytes",
        "open a /dev/scull0 rdwr = 3",
        'read a 5 = 5 "hello"',
        'read a 100 = 8 ", scull\\n"',
        "read a 100 = 0",
        "lseek a 0 cur = 13",
        "lseek a -6 end = 7",
        'read a 100 = 6 "scull\\n"',
        "lseek a -100 set = -1 EINVAL",
        "lseek a 0 7 = -1 EINVAL",
        'pread a 5 7 = 5 "scull"',
        "lseek a 0 cur = 13",                    # pread leaves f_pos
        'write a "HELLO" = 5',
        'read a 100 = 13 "HELLO, scull\\n"',
        "lseek a 0 set = 0",
        "read a 10 @null = -1 EFAULT",
        "read a 10 @one = -1 EFAULT",
        "read a 10 @kernel = -1 EFAULT",
        "read a 10 @unmapped = -1 EFAULT",
        # the 4 good bytes got the data (copy_to_user stopped at the fault)
        'read a 10 @straddle:4 = -1 EFAULT buf "HELL"',
        "lseek a 0 cur = 0",
        'write a "XXXXXXXX" @one = -1 EFAULT',
        'write a "XXXXXXXX" @kernel = -1 EFAULT',
        'write a "XXXXXXXX" @unmapped = -1 EFAULT',
        'write a "XXXXXXXX" @straddle:3 = -1 EFAULT',
        "lseek a 0 cur = 0",
        'read a 100 = 13 "XXX\\x00\\x00\\x00\\x00\\x00cull\\n"',
        "ioctl a SCULL_IOCQQUANTUM = 4000",
        "ioctl a SCULL_IOCQQSET = 1000",
        "ioctl a SCULL_IOCGQUANTUM out:int = 0 value 4000",
        "ioctl a SCULL_IOCGQSET out:int = 0 value 1000",
        "ioctl a SCULL_IOCSQUANTUM in:int:100 = 0",
        "ioctl a SCULL_IOCQQUANTUM = 100",
        "ioctl a SCULL_IOCTQUANTUM val:200 = 0",
        "ioctl a SCULL_IOCXQUANTUM inout:int:300 = 0 value 200",
        "ioctl a SCULL_IOCHQUANTUM val:400 = 300",
        "ioctl a SCULL_IOCQQUANTUM = 400",
        "ioctl a SCULL_IOCXQSET inout:int:60 = 0 value 50",
        "ioctl a SCULL_IOCHQSET val:70 = 60",
        "ioctl a SCULL_IOCQQSET = 70",
        "ioctl a SCULL_P_IOCQSIZE = 77",
        "ioctl a SCULL_IOCGQUANTUM @null = -1 EFAULT",
        "ioctl a SCULL_IOCGQUANTUM @one = -1 EFAULT",
        "ioctl a SCULL_IOCGQUANTUM @kernel = -1 EFAULT",
        "ioctl a SCULL_IOCGQUANTUM @unmapped = -1 EFAULT",
        # one 4-byte store that faults: nothing written
        "ioctl a SCULL_IOCGQSET @straddle:2 = -1 EFAULT buf 5a5a",
        "ioctl a SCULL_IOCSQSET @kernel = -1 EFAULT",
        "ioctl a SCULL_IOCXQUANTUM @unmapped = -1 EFAULT",
        "ioctl a SCULL_IOCQQUANTUM = 0",
        "ioctl a SCULL_IOCRESET = 0",
        "ioctl a SCULL_IOCQQUANTUM = 4000",
        "ioctl a IO(k,15) = -1 ENOTTY",
        "ioctl a IO(j,1) = -1 ENOTTY",
        "ioctl a IOR(k,5,8) = -1 ENOTTY",
        'write w "0123456789" = 4',
        'write w "456789" = 4',
        'write w "89" = 2',
        'read r 100 = 4 "0123"',
        'read r 100 = 4 "4567"',
        'read r 100 = 2 "89"',
        "read r 100 = 0",
        "lseek w 5000 set = 5000",
        'write w "far" = 3',
        "read w 10 = 0",
        'pread w 10 5000 = 3 "far"',
        "lseek w 0 end = 5003",
        "setuid 65534 = 0",
        "ioctl a SCULL_IOCQQUANTUM = 4000",
        "ioctl a SCULL_IOCTQUANTUM val:1 = -1 EPERM",
        "ioctl a SCULL_IOCSQUANTUM in:int:1 = -1 EPERM",
        "ioctl a SCULL_IOCXQSET inout:int:1 = -1 EPERM value 1",
        "ioctl a SCULL_IOCGQUANTUM out:int = 0 value 4000",
        "0123456789",
    ], "scull .ko transcript")
    assert run.appeared == {"/proc/devices": ["+MAJOR scull"],
                            "modules": ["+scull"]}, run.appeared
    assert_in_order(run.log, [
        "<7>scull: major MAJOR, 4 devices, quantum 4000, qset 1000",
        # echo >: O_WRONLY|O_CREAT|O_TRUNC (and O_LARGEFILE)
        "<7>scull: open scull0, flags 0101101",
        "<7>scull: ioctl 7 by devclient",
        "<7>scull: open scull2, flags 0100001",
        "<7>scull: unloaded",
    ], "scull .ko log")


DIGITS = "0123456789" * 7
SCULL_SMALL_SCRIPT = SCULL_LOAD + f"""\
$C <<'EOF'
{SCULL_IOCTLS}
open a /dev/scull0 rdwr
ioctl a SCULL_IOCQQUANTUM
ioctl a SCULL_IOCQQSET
write a "0123456789abcdefghij"
write a "ghij"
lseek a 0 cur
lseek a 0 set
read a 100
read a 100
read a 100
pwrite a "hole" 96
lseek a 0 end
pread a 10 40
pread a 10 96
lseek a 0 set
read a 16 @straddle:7
# two open files of one device: one position each, one storage
open b /dev/scull0 rdonly
write a "WXYZ"
read b 6
lseek a 0 cur
lseek b 0 cur
close b
close a
EOF
# 71 bytes in one write go in at most one quantum (16) a call: echo and
# cat loop
echo {DIGITS} > /dev/scull1
cat /dev/scull1
echo "scull1 has $(wc -c < /dev/scull1) bytes"
dd if=/dev/scull1 bs=3 of=/tmp/scull1.dd {DD_RECORDS}
cmp /tmp/scull1.dd /dev/scull1 && echo "dd bs=3 read it all"
dd if=/dev/scull1 bs=40 skip=1 {DD_RECORDS}
""" + SCULL_UNLOAD


def check_scull_small(run):
    assert_in_order(run.transcript, [
        "ioctl a SCULL_IOCQQUANTUM = 16",
        "ioctl a SCULL_IOCQQSET = 2",
        'write a "0123456789abcdefghij" = 16',
        'write a "ghij" = 4',
        "lseek a 0 cur = 20",
        'read a 100 = 16 "0123456789abcdef"',
        'read a 100 = 4 "ghij"',
        "read a 100 = 0",
        'pwrite a "hole" 96 = 4',
        "lseek a 0 end = 100",
        "pread a 10 40 = 0",
        'pread a 10 96 = 4 "hole"',
        "lseek a 0 set = 0",
        'read a 16 @straddle:7 = -1 EFAULT buf "0123456"',
        "open b /dev/scull0 rdonly = 4",
        'write a "WXYZ" = 4',
        'read b 6 = 6 "WXYZ45"',
        "lseek a 0 cur = 4",
        "lseek b 0 cur = 6",
        "close a = 0",
        DIGITS,
        "scull1 has 71 bytes",
        # reads of 3 cut short where a quantum ends
        "22+5 records in",
        "dd bs=3 read it all",
        # skip=1 seeks to 40 (llseek); reads stop at quantum ends: 8, 16
        # and the last 7
        "012345678901234567890123456789",
        "0+3 records in",
    ], "scull (small quantum) .ko transcript")
    assert run.appeared == {"/proc/devices": ["+240 scull"],
                            "modules": ["+scull"]}, run.appeared
    assert run.log[0] == ("<7>scull: major 240, 4 devices, quantum 16, "
                          "qset 2"), run.log


MISCIOCTL_IOCTLS = """\
define MISCIOCTL_GET_COUNT IOR(M,1,4)
define MISCIOCTL_SET_COUNT IOW(M,2,4)
define MISCIOCTL_INC IO(M,3)
define MISCIOCTL_GET_INFO IOR(M,4,40)
define MISCIOCTL_SET_INFO IOW(M,5,40)
define MISCIOCTL_SET_NAME IOW(M,6,8)
define MISCIOCTL_ADD IOWR(M,7,8)
define MISCIOCTL_SET_STEP IOW(M,8,2)
define MISCIOCTL_GET_LAST IOR(M,9,1)
"""
# struct miscioctl_info: counter 3, opens 0, bytes_written 0, step 2,
# last 0, pad 0, name "info"
INFO_IN = ('"\\x03\\x00\\x00\\x00' + '\\x00' * 12 + '\\x02\\x00\\x00\\x00'
           'info' + '\\x00' * 16 + '"')

# 8 bytes of a struct miscioctl_info: counter 9, opens 0
NINE = '"\\x09' + '\\x00' * 7 + '"'
MISCIOCTL_SCRIPT = f"""\
ls /dev | grep miscioctl
cat /dev/miscioctl
echo 42 > /dev/miscioctl
cat /dev/miscioctl
dd if=/dev/miscioctl bs=3 {DD_RECORDS}
echo abc > /dev/miscioctl 2>/dev/null || echo "echo abc: failed"
$C <<'EOF'
{MISCIOCTL_IOCTLS}
open a /dev/miscioctl rdwr
read a 100
read a 100
lseek a 0 set
read a 7
read a 100
lseek a 8 set
read a 2
lseek a 0 end
lseek a -1 set
lseek a 0 set
# simple_read_from_buffer returns what it could copy
read a 100 @straddle:5
read a 100
lseek a 0 set
read a 100 @one
read a 100 @null
read a 100 @kernel
read a 100 @unmapped
write a "17"
write a "-5\\n"
write a "x17"
write a ""
write a "99" @one
write a "123456" @straddle:3
open b /dev/miscioctl rdonly
write b "1"
close b
ioctl a MISCIOCTL_GET_COUNT out:int
ioctl a MISCIOCTL_SET_COUNT in:int:7
ioctl a MISCIOCTL_INC
ioctl a MISCIOCTL_SET_STEP in:u16:5
ioctl a MISCIOCTL_INC
ioctl a MISCIOCTL_ADD inout:s64:10000000000
ioctl a MISCIOCTL_GET_COUNT out:int
ioctl a MISCIOCTL_GET_LAST out:u8
ioctl a MISCIOCTL_SET_NAME str:"widget"
ioctl a MISCIOCTL_GET_INFO outbuf:40
ioctl a MISCIOCTL_SET_NAME str:"a name longer than twenty bytes"
ioctl a MISCIOCTL_SET_INFO inbuf:{INFO_IN}
ioctl a MISCIOCTL_GET_INFO outbuf:40
# bad user pointers
ioctl a MISCIOCTL_GET_COUNT @one
ioctl a MISCIOCTL_GET_COUNT @kernel
ioctl a MISCIOCTL_GET_COUNT @null
ioctl a MISCIOCTL_SET_COUNT @unmapped
ioctl a MISCIOCTL_SET_STEP @one
ioctl a MISCIOCTL_ADD @kernel
ioctl a MISCIOCTL_GET_LAST @unmapped
ioctl a MISCIOCTL_GET_INFO @straddle:8
ioctl a MISCIOCTL_SET_INFO @straddle:8:inbuf:{NINE}
ioctl a MISCIOCTL_SET_NAME @unmapped
# strncpy_from_user faults after "xyz": EFAULT, the 3 bytes are in name
ioctl a MISCIOCTL_SET_NAME @straddle:3:inbuf:"xyz"
ioctl a MISCIOCTL_GET_INFO outbuf:40
# not an ioctl of the driver: its default answers EINVAL (not ENOTTY)
ioctl a IO(M,99)
close a
EOF
cat /dev/miscioctl
"""


def check_miscioctl(run):
    def info(counter, step, name):
        """struct miscioctl_info in hex, as the scenario leaves it."""
        return struct.pack("<iIQHBB20s", counter, 7, 8, step, 10, 0,
                           name).hex()

    assert_in_order(run.transcript, [
        "miscioctl",
        "counter=0 step=1 opens=1 name=miscioctl",
        "counter=42 step=1 opens=3 name=miscioctl",
        "counter=42 step=1 opens=4 name=miscioctl",      # dd bs=3
        "13+1 records in",
        "echo abc: failed",
        "open a /dev/miscioctl rdwr = 3",
        'read a 100 = 41 "counter=42 step=1 opens=6 name=miscioctl\\n"',
        "read a 100 = 0",
        "lseek a 0 set = 0",
        'read a 7 = 7 "counter"',
        'read a 100 = 34 "=42 step=1 opens=6 name=miscioctl\\n"',
        'read a 2 = 2 "42"',
        "lseek a 0 end = 0",
        "lseek a -1 set = -1 EINVAL",
        'read a 100 @straddle:5 = 5 buf "count"',
        'read a 100 = 36 "er=42 step=1 opens=6 name=miscioctl\\n"',
        "read a 100 @one = -1 EFAULT",
        "read a 100 @null = -1 EFAULT",
        "read a 100 @kernel = -1 EFAULT",
        "read a 100 @unmapped = -1 EFAULT",
        'write a "17" = 2',
        'write a "-5\\n" = 3',
        'write a "x17" = -1 EINVAL',
        'write a "" = -1 EINVAL',
        'write a "99" @one = -1 EFAULT',
        'write a "123456" @straddle:3 = -1 EFAULT',
        'write b "1" = -1 EBADF',
        "ioctl a MISCIOCTL_GET_COUNT out:int = 0 value -5",
        "ioctl a MISCIOCTL_INC = 8",
        "ioctl a MISCIOCTL_INC = 13",
        "ioctl a MISCIOCTL_ADD inout:s64:10000000000 = 0 value 10000000013",
        # the int counter keeps the low 32 bits
        "ioctl a MISCIOCTL_GET_COUNT out:int = 0 value 1410065421",
        "ioctl a MISCIOCTL_GET_LAST out:u8 = 0 value 10",
        # counter 0x540be40d, opens 7, bytes written 8 (3 of echo 42, 2
        # and 3 of the client), step 5, last a newline, name "widget"
        "ioctl a MISCIOCTL_GET_INFO outbuf:40 = 0 buf " +
        info(0x540be40d, 5, b"widget"),
        f"ioctl a MISCIOCTL_SET_INFO inbuf:{INFO_IN} = 0",
        "ioctl a MISCIOCTL_GET_INFO outbuf:40 = 0 buf " + info(3, 2, b"info"),
        "ioctl a MISCIOCTL_GET_COUNT @one = -1 EFAULT",
        "ioctl a MISCIOCTL_GET_COUNT @kernel = -1 EFAULT",
        "ioctl a MISCIOCTL_GET_COUNT @null = -1 EFAULT",
        "ioctl a MISCIOCTL_SET_COUNT @unmapped = -1 EFAULT",
        "ioctl a MISCIOCTL_SET_STEP @one = -1 EFAULT",
        "ioctl a MISCIOCTL_ADD @kernel = -1 EFAULT",
        "ioctl a MISCIOCTL_GET_LAST @unmapped = -1 EFAULT",
        # copy_to_user stopped at the fault: counter and opens got there
        "ioctl a MISCIOCTL_GET_INFO @straddle:8 = -1 EFAULT buf "
        "0300000007000000",
        f"ioctl a MISCIOCTL_SET_INFO @straddle:8:inbuf:{NINE} = -1 EFAULT "
        "buf 0900000000000000",
        "ioctl a MISCIOCTL_SET_NAME @unmapped = -1 EFAULT",
        'ioctl a MISCIOCTL_SET_NAME @straddle:3:inbuf:"xyz" = -1 EFAULT '
        "buf 78797a",
        # get_user(step, bad) zeroed step (the driver reads straight into
        # its global); strncpy_from_user left "xyz" over "inf"
        "ioctl a MISCIOCTL_GET_INFO outbuf:40 = 0 buf " +
        info(3, 0, b"xyzo"),
        "ioctl a IO(M,99) = -1 EINVAL",
        "close a = 0",
        "counter=3 step=0 opens=8 name=xyzo",
    ], "miscioctl .ko transcript")
    assert run.appeared == {
        "/dev": ["+miscioctl"], "/proc/misc": ["+MINOR miscioctl"],
        "/sys/class/misc": ["+miscioctl"], "/sys/dev/char": ["+10:MINOR"],
        "modules": ["+miscioctl"]}, run.appeared
    assert_in_order(run.log, [
        "<6>miscioctl: registered, minor MINOR",
        "<6>miscioctl: open #1 (ro)",
        "<6>miscioctl: release",
        "<6>miscioctl: open #2 (rw)",
        "<3>miscioctl: bad number (-22)",
        "<3>miscioctl: bad number (-14)",
        "<6>miscioctl: name is now widget",
        "<6>miscioctl: name is now a name longer than ",
        "<6>miscioctl: unregistered after 8 opens",
    ], "miscioctl .ko log")


LONG = "x" * 300
HELLOCHAR_SCRIPT = f"""\
[ -c /dev/hellochar ] && echo "/dev/hellochar is a char device"
ls /sys/class/hello
sed 's/^[0-9]*:/MAJOR:/' /sys/class/hello/hellochar/dev
cat /dev/hellochar
echo "first message" > /dev/hellochar
cat /dev/hellochar
dd if=/dev/hellochar bs=3 {DD_RECORDS}
$C <<'EOF'
getpid
open a /dev/hellochar rdwr
open b /dev/hellochar rdonly
read a 5
read a 100
read a 100
lseek a 0 set
# write keeps the message, not the file position
write a "written by devclient"
read a 100
read a 100
close a
open a /dev/hellochar rdwr
read a 100
close a
open a /dev/hellochar rdonly
read a 10 @one
read a 10 @null
read a 10 @kernel
read a 10 @unmapped
read a 30 @straddle:6
read a 7
close a
open a /dev/hellochar wronly
write a "XXXXXXXX" @unmapped
# faults after 4 bytes: the message is overwritten, the rest zeroed, its
# length unchanged
write a "ABCDEFGH" @straddle:4
close a
open a /dev/hellochar rdonly
pread a 100 0
read a 100
close a
# a message of 300: 255 taken by the first write, the rest by the next
open a /dev/hellochar wronly
write a "{LONG}"
write a "{LONG[255:]}"
close a
EOF
cat /dev/hellochar; echo
echo $(printf '%0300d' 0) > /dev/hellochar
echo "the message has $(cat /dev/hellochar | wc -c) bytes"
"""


def check_hellochar(run):
    assert_in_order(run.transcript, [
        "/dev/hellochar is a char device",
        "hellochar",
        "MAJOR:0",
        "Hello from the kernel!",
        "first message",
        "first message",                         # dd bs=3
        "4+1 records in",
        "getpid = PID",
        "open a /dev/hellochar rdwr = 3",
        "open b /dev/hellochar rdonly = -1 EBUSY",
        'read a 5 = 5 "first"',
        'read a 100 = 9 " message\\n"',
        "read a 100 = 0",
        "lseek a 0 set = -1 ESPIPE",
        'write a "written by devclient" = 20',
        'read a 100 = 6 "client"',
        "read a 100 = 0",
        'read a 100 = 20 "written by devclient"',
        "read a 10 @one = -1 EFAULT",
        "read a 10 @null = -1 EFAULT",
        "read a 10 @kernel = -1 EFAULT",
        "read a 10 @unmapped = -1 EFAULT",
        'read a 30 @straddle:6 = -1 EFAULT buf "writte"',
        'read a 7 = 7 "written"',
        'write a "XXXXXXXX" @unmapped = -1 EFAULT',
        'write a "ABCDEFGH" @straddle:4 = -1 EFAULT',
        'pread a 100 0 = 20 "ABCD\\x00\\x00\\x00\\x00by devclient"',
        'read a 100 = 20 "ABCD\\x00\\x00\\x00\\x00by devclient"',
        f'write a "{LONG}" = 255',
        f'write a "{LONG[255:]}" = 45',
        "x" * 45,
        "the message has 46 bytes",
    ], "hellochar .ko transcript")
    assert run.appeared == {
        "/dev": ["+hellochar"], "/proc/devices": ["+MAJOR hellochar"],
        "/sys/class": ["+hello"], "/sys/dev/char": ["+MAJOR:0"],
        "modules": ["+hellochar"]}, run.appeared
    assert_in_order(run.log, [
        "<6>hellochar: Initializing the hellochar LKM",
        "<6>hellochar: registered correctly with major number MAJOR",
        "<6>hellochar: device class registered correctly",
        "<6>hellochar: device class created correctly",
        "<6>hellochar: Device has been opened 1 time(s) by cat (pid PID)",
        "<6>hellochar: Sent 23 characters to the user",
        "<6>hellochar: Device successfully closed",
        "<6>hellochar: Device has been opened 2 time(s) by sh (pid PID)",
        # printk without a KERN_ level: the default (4)
        "<4>hellochar: Received 14 characters from the user",
        "<6>hellochar: Device has been opened 5 time(s) by devclient "
        "(pid PID)",
        "<1>hellochar: Device in use by another process",
        "<6>hellochar: Failed to send 10 characters to the user",
        "<6>hellochar: Failed to send 14 characters to the user",
        "<4>hellochar: Received 255 characters from the user",
        "<4>hellochar: Received 45 characters from the user",
        "<4>hellochar: Received 255 characters from the user",
        "<4>hellochar: Received 46 characters from the user",
        "<6>hellochar: Goodbye from the LKM!",
    ], "hellochar .ko log")


def same_pid(run):
    """current->pid and current->comm in the driver's open are the
    calling process's: devclient's own getpid."""
    pids = [int(line.split(" = ")[1]) for line in run.transcript
            if re.match(r"^getpid = \d+$", line)]
    said = [int(m.group(1)) for line in run.log
            for m in [re.search(r"opened \d+ time\(s\) by devclient "
                                r"\(pid (\d+)\)", line)] if m]
    assert len(pids) == 1 and said and set(said) == set(pids), (
        f"{run.mode}: devclient's pid {pids}, the driver's current "
        f"{said}")


CASES = {
    "scull": Chardev(
        SCULL, ready="grep -q ' scull$' /proc/devices",
        script=SCULL_SCRIPT,
        normalise=(MAJOR_PLACES, (r"major \d+", "major MAJOR")),
        check=check_scull),
    # register_chrdev_region on a fixed major (LANANA's local range) and a
    # small quantum, so that reads and writes stop at quantum ends
    "scull-small": Chardev(
        SCULL, params=("scull_major=240", "scull_quantum=16",
                       "scull_qset=2"),
        ready="grep -q '^240 scull$' /proc/devices",
        script=SCULL_SMALL_SCRIPT, check=check_scull_small),
    "miscioctl": Chardev(
        MISCIOCTL, ready="[ -c /dev/miscioctl ]",
        script=MISCIOCTL_SCRIPT,
        normalise=(MINOR, (r"minor \d+", "minor MINOR"),
                   (r"^([+-])10:\d+$", r"\g<1>10:MINOR")),
        check=check_miscioctl),
    "hellochar": Chardev(
        HELLOCHAR, ready="[ -c /dev/hellochar ]",
        script=HELLOCHAR_SCRIPT,
        normalise=(MAJOR_PLACES, DEVNO, PID, GETPID,
                   (r"major number \d+", "major number MAJOR")),
        check=check_hellochar, both=same_pid),
}


@pytest.mark.parametrize("key", CASES)
@pytest.mark.parametrize("mode", ("ko", "user"))
def test_chardev(chardevs, key, mode):
    check_case(chardevs, key, CASES[key], mode)


def check_case(chardevs, key, case, mode):
    """The .ko's run checked by case.check; the program's compared with
    the .ko's (other test files call this with cases of their own)."""
    run = chardevs.run(key, case, mode)
    where = f"{key} {mode}"
    assert not run.trouble, \
        f"{where}: kernel trouble:\n" + "\n".join(run.trouble)
    if mode == "ko":
        if case.both:
            case.both(run)
        assert not run.left, f"{where}: the .ko left {run.left}"
        ko = dataclasses.replace(
            run, transcript=normalised(run.transcript, case.normalise),
            log=case.log(run))
        case.check(ko)
        return

    ko = chardevs.run(key, case, "ko")
    errors = []
    try:
        assert run.loaded, f"{where}: {run.error}"
        assert run.exit_status == 0, (
            f"{where}: exit status {run.exit_status} after SIGINT "
            f"{run.error}")
        # The module list differs by the module itself: no .ko at user
        # level.
        registered = {k: v for k, v in run.appeared.items()
                      if k != "modules"}
        ko_registered = {k: v for k, v in ko.appeared.items()
                         if k != "modules"}
        assert registered == ko_registered, (
            f"{where}: registrations {registered}, the .ko's "
            f"{ko_registered}")
        assert_lines(normalised(run.transcript, case.normalise),
                     normalised(ko.transcript, case.normalise),
                     f"{where}: the transcript, against the .ko's "
                     f"(expected)")
        assert_lines(case.log(run), case.log(ko),
                     f"{where}: the module's log, against the .ko's "
                     f"(expected)")
        assert not run.left, f"{where}: the program left {run.left}"
        if case.both:
            case.both(run)
        # printk prints locally too.
        for line in run.log:
            text = line.partition(">")[2]
            assert text in run.output, \
                f"{where}: {text!r} not in the program's output"
    except AssertionError as e:
        errors.append(f"{e}\n---- the program's output (end):\n"
                      f"{run.output[-6000:]}")
    # Whatever the program did, the .ko loads and unloads afterwards.
    try:
        chardevs.ko_loads_again(case)
    except AssertionError as e:
        errors.append(f"{where}: after the program: {e}")
    if errors:
        raise AssertionError("\n\n".join(errors))


def test_devclient_builds_without_warnings(tmp_path):
    """The client compiles cleanly (statically, as it runs in the
    target)."""
    p = subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-o",
                        str(tmp_path / "devclient"), str(DEVCLIENT_SRC)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and not p.stderr, p.stderr


@pytest.mark.parametrize("module", (SCULL, MISCIOCTL, HELLOCHAR),
                         ids=lambda m: m.name)
def test_kbuild_without_warnings(harness, module):
    harness.build_ko(module)
    out = harness.kbuild_output[module.name]
    warnings = [line for line in out.splitlines()
                if re.search(r"warning|error", line, re.I)]
    assert not warnings, "\n".join(warnings)


@pytest.mark.parametrize("module", (SCULL, MISCIOCTL, HELLOCHAR),
                         ids=lambda m: m.name)
def test_nothing_for_dusk(module):
    """One unmodified source: no name or hint of dusk in it."""
    root = module.tree or module.srcdir
    for path in sorted(pathlib.Path(root).rglob("*")):
        if path.suffix in (".c", ".h") or path.name in ("Makefile",
                                                        "Kbuild"):
            assert not re.search(r"dusk", path.read_text(), re.I), path
