# SPDX-License-Identifier: GPL-2.0
"""The kernel log check every test gets (conftest.kernel_log_clean) sees
trouble the kernel prints: a line in the kernel's WARN_ON form reaches the
host-side console and is found, and the fixture's view of it is what fails
a test. The line is written through /dev/kmsg, at KERN_WARNING as WARN_ON
prints it, so no kernel code is broken on purpose.
"""
import time

from conftest import KERNEL_TROUBLE


def test_console_shows_a_warning(target):
    start = target.console_size()
    line = ("WARNING: CPU: 0 PID: 1 at kernel_log_check.c:1 "
            "test_console_shows_a_warning")
    rc, out, err = target.exec(f"echo '<4>{line}' > /dev/kmsg")
    assert rc == 0, err
    deadline = time.monotonic() + 10
    while not (found := target.console_trouble(start)):
        assert time.monotonic() < deadline, "the line never reached the console"
        time.sleep(0.1)
    assert any(line in f for f in found), found
    # Provoked on purpose and asserted: not this test's failure.
    target.acknowledge_console()


def test_trouble_patterns():
    for bad in ("BUG: kernel NULL pointer dereference, address: 0",
                "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [x:1]",
                "WARNING: CPU: 1 PID: 5 at mm/slub.c:1 f+0x1/0x2",
                "Oops: 0000 [#1] PREEMPT SMP NOPTI",
                "general protection fault, probably for non-canonical"):
        assert KERNEL_TROUBLE.search(bad), bad
    for fine in ("dusk: session 3 ended (bye)", "BUGS: none",
                 "random: crng init done"):
        assert not KERNEL_TROUBLE.search(fine), fine
