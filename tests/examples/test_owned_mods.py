# SPDX-License-Identifier: GPL-2.0
"""What a module's user-level program acquired in the target is given back
however the program ends, and the target is then as before: the same
/proc/devices, /proc/misc, /proc and sysfs entries, and the module's .ko
loads and unloads (dusk.ko's session-owned resources, kmod/owned.h).

scullmap    a scull-style char driver (LDD3): register_chrdev_region on a
            fixed major, kcalloc'ed devices, cdev_init/cdev_add with its
            file operations, one of them mmap. At user level cdev_init is
            refused (dusk.ko has no proxy for mmap), so init fails
            half-way, with the region and the memory held.
ownres      a char region (dynamic major), a class, a /proc directory, a
            kobject under /sys/kernel and a kzalloc'ed block; its init
            succeeds. The program is then SIGKILLed, or dusk.ko is removed
            under it.
leakyexit   an exit that forgets its region and its /proc directory (its
            .ko would leave them in the kernel for good: not loaded here).
srcstat     a char region, a /proc directory, a kzalloc'ed record and a
            netfilter hook that writes through the NULL its lookup returns
            for a source nobody watches: the program crashes.
"""

import re
import signal
import subprocess
import time

from diff import harness, mod  # noqa: F401 (fixture)

SCULLMAP = mod("scullmap")
OWNRES = mod("ownres")
LEAKYEXIT = mod("leakyexit")
SRCSTAT = mod("srcstat")
# A fixed major from the range left for local use (LANANA 240-254).
MAJOR = 240

RELOAD = ('. /etc/dusk/boot.conf && '
          'modprobe dusk key="$(cat /etc/dusk/key)" port="$DUSK_PORT"')
TROUBLE = re.compile(r"BUG: |WARNING: |Oops|general protection fault|"
                     r"Call Trace:|refcount_t: |list_(add|del) corruption")
# Where a module's registrations show, one command each.
PLACES = {
    "/proc/devices": "cat /proc/devices",
    "/proc/misc": "cat /proc/misc",
    "/proc": "ls /proc | grep -v '^[0-9]'",
    "/sys/class": "ls /sys/class",
    "/sys/kernel": "ls /sys/kernel",
    "modules": "cut -d' ' -f1 /proc/modules",
}


def places(target):
    """What the target shows in PLACES."""
    seen = {}
    for name, cmd in PLACES.items():
        rc, out, err = target.exec(cmd)
        assert rc == 0, f"{cmd}: {err}"
        seen[name] = sorted(out.splitlines())   # a reloaded module moves
    return seen


def assert_as_before(target, before, what):
    """PLACES as in before, waiting a little for a session's end (the
    watchdog's BYE after a SIGKILL) to be carried out."""
    deadline = time.monotonic() + 20
    while True:
        now = places(target)
        if now == before or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for name in PLACES:
        assert now[name] == before[name], (
            f"{what}: {name} differs: more {sorted(set(now[name]) - set(before[name]))}, "
            f"less {sorted(set(before[name]) - set(now[name]))}")


def kernel_log(target):
    rc, out, _ = target.exec("dmesg")
    assert rc == 0
    return out


def assert_healthy(target, since):
    log = kernel_log(target)[since:]
    assert not TROUBLE.search(log), log


class Program:
    """The module's user-level program, running on the host."""

    def __init__(self, harness, module, *params):
        self.prog = harness.build_prog(module)
        self.proc = subprocess.Popen([str(self.prog), *params],
                                     env=harness.target.env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)

    def wait(self, timeout=60):
        """(exit status, output)."""
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out.decode(errors="replace")

    def kill(self):
        self.proc.kill()
        return self.wait()


def wait_log(target, since, text, timeout=60):
    deadline = time.monotonic() + timeout
    while text not in kernel_log(target)[since:]:
        assert time.monotonic() < deadline, f"{text!r} never logged"
        time.sleep(0.5)


def ko_loads(harness, module, *params, expect=None):
    """The module's .ko loads (its init logs expect) and unloads."""
    target = harness.target
    ko = harness.build_ko(module)
    guest = f"/tmp/{module.name}.ko"
    target.push(ko, guest)
    since = len(kernel_log(target))
    rc, out, err = target.exec(f"insmod {guest} {' '.join(params)}")
    assert rc == 0, f"insmod {module.name}.ko: {out}{err}"
    if expect:
        wait_log(target, since, expect)
    rc, out, err = target.exec(f"rmmod {module.name}")
    assert rc == 0, f"rmmod {module.name}: {out}{err}"


def test_init_failed_half_way_leaves_nothing(harness):
    """scullmap's init is refused at cdev_init after it registered its
    region and allocated its devices: both are given back; a second run
    fails the same way, not with -EBUSY; the .ko then loads on the same
    major."""
    target = harness.target
    harness.build_ko(SCULLMAP)
    before = places(target)
    since = len(kernel_log(target))
    for run in (1, 2):
        rc, out = Program(harness, SCULLMAP, f"major={MAJOR}").wait()
        assert rc != 0, out
        assert "EBUSY" not in out and "can't get major" not in out, \
            f"run {run}:\n{out}"
        assert "mmap of scullmap_fops (scullmap_mmap): not supported at " \
            "user level yet" in out, f"run {run}:\n{out}"
        assert_as_before(target, before, f"after failed run {run}")
    log = kernel_log(target)[since:]
    assert "unregister_chrdev_region(0xf000000, 0x2) left by " \
        "register_chrdev_region" in log, log
    ko_loads(harness, SCULLMAP, f"major={MAJOR}",
             expect=f"scullmap: major {MAJOR}, 2 devices")
    assert_as_before(target, before, "after the .ko")
    assert_healthy(target, since)


def test_sigkill_leaves_nothing(harness):
    """ownres runs (its class, proc directory, kobject and region are
    there), is SIGKILLed: all are given back; it runs again, and its .ko
    loads."""
    target = harness.target
    harness.build_ko(OWNRES)
    before = places(target)
    since = len(kernel_log(target))
    p = Program(harness, OWNRES)
    try:
        wait_log(target, since, "ownres: ready, major ")
        during = places(target)
        assert "ownres" in during["/proc"]
        assert "ownres" in during["/sys/kernel"]
        assert "ownres" in during["/sys/class"]
        assert any(line.endswith(" ownres")
                   for line in during["/proc/devices"])
    finally:
        rc, out = p.kill()
    assert rc == -signal.SIGKILL, out
    assert_as_before(target, before, "after SIGKILL")

    # Again: nothing is in its way; SIGINT runs its exit.
    again = len(kernel_log(target))
    p = Program(harness, OWNRES)
    wait_log(target, again, "ownres: ready, major ")
    p.proc.send_signal(signal.SIGINT)
    rc, out = p.wait()
    assert rc == 0, out
    assert_as_before(target, before, "after a second run")
    ko_loads(harness, OWNRES, expect="ownres: ready, major ")
    assert_as_before(target, before, "after the .ko")
    assert_healthy(target, since)


def test_rmmod_dusk_under_a_running_program(harness):
    """rmmod dusk while ownres's program holds its registrations (on a
    fixed major): all are given back at the unload."""
    target = harness.target
    harness.build_ko(OWNRES)
    before = places(target)
    since = len(kernel_log(target))
    p = Program(harness, OWNRES, f"major={MAJOR}")
    try:
        wait_log(target, since, f"ownres: ready, major {MAJOR}")
        rc, _, err = target.exec("rmmod dusk")
        assert rc == 0, err
        try:
            without = {k: [x for x in v if x != "dusk"]
                       for k, v in before.items()}
            assert_as_before(target, without, "after rmmod dusk")
        finally:
            rc, _, err = target.exec(RELOAD)
            assert rc == 0, err
    finally:
        p.kill()
    assert_as_before(target, before, "after dusk.ko is back")
    ko_loads(harness, OWNRES, f"major={MAJOR}",
             expect=f"ownres: ready, major {MAJOR}")
    assert_healthy(target, since)


def test_what_module_exit_forgot_is_released(harness):
    """leakyexit's exit runs (SIGINT) and forgets its region and /proc
    directory: dusk.ko releases them when the program says BYE, and says
    which."""
    target = harness.target
    before = places(target)
    since = len(kernel_log(target))
    p = Program(harness, LEAKYEXIT)
    wait_log(target, since, "leakyexit: major ")
    p.proc.send_signal(signal.SIGINT)
    rc, out = p.wait()
    assert rc == 0, out
    assert_as_before(target, before, "after its exit")
    log = kernel_log(target)[since:]
    assert "leakyexit: unloaded" in log
    assert re.search(r"proc_remove\(0x[0-9a-f]+, 0x0\) left by proc_mkdir", log)
    assert re.search(r"unregister_chrdev_region\(0x[0-9a-f]+, 0x1\) left by "
                     r"alloc_chrdev_region", log)
    # Its kfree removed the block's record: nothing else was left.
    assert "released 2 thing(s) and 0 allocation(s)" in log, log
    assert_healthy(target, since)


def test_crash_leaves_nothing(harness):
    """srcstat's program crashes in its hook (a NULL pointer, reported as
    an oops): its region, /proc directory, record and hook are given back,
    and its .ko then loads and unloads (no traffic reaches its bug)."""
    target = harness.target
    harness.build_ko(SRCSTAT)
    before = places(target)
    since = len(kernel_log(target))
    p = Program(harness, SRCSTAT, "watch=127.0.0.2", "port=9500")
    try:
        wait_log(target, since, "srcstat: watching 127.0.0.2 on port 9500")
        during = places(target)
        assert "srcstat" in during["/proc"]
        assert any(line.endswith(" srcstat")
                   for line in during["/proc/devices"])
        harness.script("$N udp -s 127.0.0.2:4000 -r 127.0.0.2:9500 "
                       "127.0.0.2 9500 counted")
        wait_log(target, since, "srcstat: 127.0.0.2: 1")
        # From a source nobody watches: the fault.
        harness.script("$N udp -w 3000 -s 127.0.0.1:4000 -r 127.0.0.2:9500 "
                       "127.0.0.2 9500 boom", timeout=60)
        rc, out = p.wait()
    finally:
        if p.proc.poll() is None:
            p.kill()
    assert rc == -signal.SIGSEGV, out
    assert "BUG: kernel NULL pointer dereference" in out, out
    assert_as_before(target, before, "after the crash")
    dusk = harness.exec("cat /proc/dusk").splitlines()
    assert "session none" in dusk, dusk
    log = kernel_log(target)[since:]
    assert re.search(r"proc_remove\(0x[0-9a-f]+, 0x0\) left by proc_mkdir",
                     log), log
    assert re.search(r"unregister_chrdev_region\(0x[0-9a-f]+, 0x1\) left by "
                     r"alloc_chrdev_region", log), log
    # The record went too: a kernel call's block or the session's own.
    m = re.search(r"released (\d+) thing\(s\) and (\d+) allocation\(s\)",
                  log)
    assert m and int(m.group(1)) + int(m.group(2)) >= 3, log
    ko_loads(harness, SRCSTAT, expect="srcstat: watching 127.0.0.2 on port "
             "9500")
    assert_as_before(target, before, "after the .ko")
    assert_healthy(target, since)
