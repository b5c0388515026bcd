# SPDX-License-Identifier: GPL-2.0
"""dusk-gdb's relay (gdb-ext/dusk/relay.py) without a target: a program
with a fake dusk_dbg_shadow() (relay/fakecache.c) whose "kernel" addresses
map onto a buffer. Plain gdb commands on those addresses go through the
relay's call into the stopped program: reads, writes marked for commit,
a page the "runtime" cannot read, a hardware watchpoint on a kernel
address (set at its mirror, reported at the kernel address), and attach
and detach. The real target's tests are test_plain_gdb.py, test_mi_ide.py
and test_attach_gdb.py."""

import os
import re
import subprocess

import pytest

from conftest import SRCDIR
from gdbdrive import Gdb

SOURCE = SRCDIR / "tests" / "gdb-ext" / "relay" / "fakecache.c"
KERNEL = 0xffff888000000000
SKB = f"((struct fake_skb *){KERNEL:#x}ULL)"


@pytest.fixture(scope="module")
def fakecache(tmp_path_factory):
    exe = tmp_path_factory.mktemp("relay") / "fakecache"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(exe), str(SOURCE)],
                   check=True)
    return exe


def batch(exe, *commands, args=()):
    gdb = Gdb(["-batch", "-nx", "-ex", "set confirm off",
               *[a for c in commands for a in ("-ex", c)],
               "--args", str(exe), *args], None)
    return gdb.finish(timeout=60)


def values(out):
    """gdb's $N = VALUE lines, by N."""
    return {int(n): v for n, v in re.findall(r"^\$(\d+) = (.*)$", out, re.M)}


def test_plain_commands_read_and_write_kernel_addresses(fakecache):
    out = batch(
        fakecache, "break fake_stop", "run",
        "set $before = $pc",
        "print skb->len",                               # $1
        "print/x skb->data[0]",                         # $2
        "x/4xb skb->data",
        "print fake_calls",                             # $3
        "print skb->len + skb->mark",                   # $4: cached
        "print fake_calls",                             # $5
        "print skb->mark = 7",                          # $6
        "print fake_write_calls",                       # $7
        "print ((struct fake_skb *)fake_mirror)->mark",  # $8
        f"print *(int *){KERNEL + 2 * 4096:#x}ULL",     # the hole
        "print $pc == $before && $sp == $sp",           # $9: regs kept
        "continue")
    v = values(out)
    assert v[1] == "33", out
    assert v[2] == "0x45", out
    assert re.search(r"0x45\s+0x00\s+0x00\s+0x21", out), out
    assert int(v[3]) >= 1, out
    assert v[5] == v[3], "a second read of the same lines in one stop " \
        f"asked the program again:\n{out}"
    assert v[6] == "7" and v[8] == "7", out
    assert int(v[7]) >= 1, f"the write was not marked for commit:\n{out}"
    assert re.search(rf"^Cannot access memory at address "
                     rf"{KERNEL + 2 * 4096:#x}$", out, re.M), out
    assert v[9] == "1", out
    assert "Traceback" not in out, out
    assert re.search(r"^mark 9 calls \d+ writes [1-9]", out, re.M), out
    assert "end mark 11" in out and "exited normally" in out, out


def test_hardware_watchpoint_on_a_kernel_address(fakecache):
    """watch -l on a kernel field: set at its mirror, stops where the
    module's code writes it, old and new value in the kernel field's
    terms."""
    out = batch(fakecache, "break fake_stop", "run",
                "watch -l skb->mark", "continue", "bt 1", "continue",
                "continue")
    assert re.search(r"Hardware watchpoint 2: -location skb->mark\s+"
                     r"Old value = 0\s+New value = 9", out), out
    assert re.search(r"#0 .*fake_module_store", out), out
    assert re.search(r"Old value = 9\s+New value = 11", out), out
    assert "exited normally" in out, out


def test_attach_and_detach(fakecache):
    """dusk-gdb -p: kernel addresses read in a running program, which
    goes on once detached."""
    prog = subprocess.Popen([str(fakecache), "wait"], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert prog.stdout.readline().startswith("fake_stop")
        assert prog.stdout.readline().startswith("mark 9")
        gdb = Gdb(["-batch", "-nx", "-ex", f"print {SKB}->len",
                   "-ex", f"print {SKB}->mark", "-ex", "set var fake_go = 1",
                   "-ex", "detach"], dict(os.environ, DUSK_GDB_ATTACH=str(prog.pid)))
        out = gdb.finish(timeout=60)
        v = values(out)
        assert v[1] == "33" and v[2] == "9", out
        assert "detached" in out, out
        assert prog.stdout.readline().strip() == "end mark 11"
        assert prog.wait(timeout=10) == 0
    finally:
        if prog.poll() is None:
            prog.kill()
            prog.wait()
