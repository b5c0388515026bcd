# SPDX-License-Identifier: GPL-2.0
"""A crash of the module's code at user level (mods/crashmod: a hook that
writes through the NULL a failed lookup returned).

The program reports it as the kernel reports the .ko's oops: the kernel's
words for the fault, RIP as function+offset/size and the module's
file:line (DWARF), the module's frames, the hook and packet it was
serving; the session ends at once (hooks gone, the held packet released
by policy, traffic passes again) and the program dies by the signal.

The .ko half oopses its kernel, so it runs in a target of its own
(target_factory) and is compared through its console: same fault
address, same function, and the .ko's RIP maps to the same source line.
"""

import re
import signal
import subprocess
import time

import pytest

from progrun import Program
from diff import GUEST_NETTEST, NETTEST_BUILT, harness, mod  # noqa: F401

CRASHMOD = mod("crashmod")
PARAMS = ("watch=127.0.0.2", "port=9400")
# A watched source: counted. Then one nobody watches: the crash.
GOOD = "$N udp -s 127.0.0.2:4000 -r 127.0.0.2:9400 127.0.0.2 9400 counted"
BAD = "$N udp -w 8000 -s 127.0.0.1:4000 -r 127.0.0.2:9400 127.0.0.2 9400 boom"
MARK = "/* crashmod: the fault */"
HOLD_MS = 20000     # longer than the test waits: a release is the BYE's


def fault_line():
    """The source line of the fault, found by its comment."""
    lines = (CRASHMOD.srcdir / "crashmod.c").read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if MARK in line)


@pytest.fixture(scope="module")
def user_crash(harness):
    """The user-level run: the program's output, exit status, what the
    traffic saw, and the target's state after the crash."""
    prog = harness.build_prog(CRASHMOD)
    harness.nettest()
    token = harness.marker()
    p = Program(prog, dict(harness.target.env, DUSK_HOLD_MS=str(HOLD_MS)),
                PARAMS)
    try:
        p.wait_output("crashmod: loaded, port 9400")
        good = harness.script(GOOD)
        start = time.monotonic()
        bad = harness.script(BAD, timeout=60)
        status = p.wait(timeout=60)
        crash_s = time.monotonic() - start
    finally:
        p.stop()
    after = harness.script(
        "$N udp -s 127.0.0.1:4001 -r 127.0.0.2:9400 127.0.0.2 9400 after")
    return dict(stdout=p.stdout(), stderr=p.stderr(), status=status,
                good=good, bad=bad, after=after, crash_s=crash_s,
                dusk=harness.exec("cat /proc/dusk"),
                log=[t for _, t in harness.kernel_log(token)], prog=prog)


def test_user_crash_report_names_the_fault(user_crash):
    """The kernel's words for a NULL write at the record's offset, and RIP
    as function+offset/size [program] at the module's own file:line."""
    err = user_crash["stderr"]
    line = fault_line()
    assert "BUG: kernel NULL pointer dereference, address: " \
           "0000000000000018\n" in err, err
    assert re.search(r"^#PF: supervisor (read|write) access in kernel mode$",
                     err, re.M), err
    assert re.search(r"^Oops: [0-9a-f]{4} \[#1\]", err, re.M), err
    assert re.search(rf"^RIP: 0010:crashmod_hook\+0x[0-9a-f]+/0x[0-9a-f]+ "
                     rf"\[crashmod\.prog\] \S*/crashmod\.c:{line}$", err,
                     re.M), err


def test_user_crash_report_shows_the_module_frames_only(user_crash):
    """Call Trace: the hook, at the fault's line, in softirq (<IRQ>), and
    no frame of libdusk or libc."""
    err = user_crash["stderr"]
    m = re.search(r"^Call Trace:\n <IRQ>\n((?: .*\n)*?) </IRQ>$", err, re.M)
    assert m, err
    frames = m.group(1).splitlines()
    assert frames and re.match(rf" crashmod_hook\+0x[0-9a-f]+/0x[0-9a-f]+ "
                               rf"\[crashmod\.prog\] \S*/crashmod\.c:"
                               rf"{fault_line()}$", frames[0]), frames
    assert all("crashmod.c:" in f for f in frames), frames


def test_user_crash_report_names_the_invocation(user_crash):
    """The hook, the packet it was serving and the CPU."""
    err = user_crash["stderr"]
    assert re.search(r"^Hook: NF_INET_PRE_ROUTING \(0\) of NFPROTO_IPV4 \(2\), "
                     r"crashmod_hook, packet \d+: 127\.0\.0\.1:4000 -> "
                     r"127\.0\.0\.2:9400 UDP len \d+, CPU \d+$", err,
                     re.M), err
    assert err.rstrip().endswith("dusk: session ended: dusk.ko removed the "
                                 "module's hooks and released its queued "
                                 "packets"), err


def test_user_crash_ends_the_program_by_its_signal(user_crash):
    """Killed by SIGSEGV (128 + 11 in a shell), after the counted
    datagram and before any other module output."""
    assert user_crash["status"] == -signal.SIGSEGV, user_crash
    assert "crashmod: 127.0.0.2 -> port 9400: 1 datagrams" in \
        user_crash["stdout"], user_crash["stdout"]
    assert user_crash["good"] == ["udp sent 1 received 1"], user_crash


def test_user_crash_releases_the_session(user_crash):
    """The crashing datagram is released by policy (accept) at the crash,
    not after the 20 s hold; then the hooks are gone (traffic passes
    with no program) and dusk.ko has no session."""
    assert user_crash["bad"] == ["udp sent 1 received 1"], user_crash
    assert user_crash["crash_s"] < HOLD_MS / 1000 - 5, user_crash
    assert user_crash["after"] == ["udp sent 1 received 1"], user_crash
    assert "session none" in user_crash["dusk"].splitlines(), \
        user_crash["dusk"]
    assert any(re.match(r"dusk: session [0-9a-f]+ ended: ", t)
               for t in user_crash["log"]), user_crash["log"]


def ko_symbol_line(ko, func, off):
    """file:line of func+off in the .ko (its DWARF, through addr2line:
    the symbol's value is an offset in its own section)."""
    table = subprocess.run(["objdump", "-t", str(ko)], capture_output=True,
                           text=True, check=True).stdout
    m = re.search(rf"^([0-9a-f]+) .* (\S+)\s+[0-9a-f]+ {re.escape(func)}$",
                  table, re.M)
    assert m, table
    out = subprocess.run(["addr2line", "-e", str(ko), "-j", m.group(2),
                          hex(int(m.group(1), 16) + off)],
                         capture_output=True, text=True,
                         check=True).stdout.strip()
    return out.rsplit("/", 1)[-1].split(" ")[0]


def source_function(symbol):
    """The C function a symbol is part of: GCC names a function's cold
    part (the unlikely path a NULL dereference is often on) or a
    specialised copy with a suffix (crashmod_hook.cold)."""
    return symbol.split(".")[0]


def test_ko_oopses_at_the_same_place(harness, target_factory,
                                     user_crash):
    """Differential: the .ko on a target of its own, the same traffic.
    Its Oops names the same fault address and function as the program's
    report, and its RIP maps (the .ko's DWARF) to the same line."""
    ko = harness.build_ko(CRASHMOD)
    t = target_factory()
    try:
        # Two TCG guests on two cores: the new one's agent may miss its
        # first handshake.
        for attempt in range(3):
            try:
                t.push(ko, "/tmp/crashmod.ko")
                break
            except Exception:
                if attempt == 2:
                    raise
                time.sleep(5)
        harness.nettest()       # built here when the build tree has none
        exe = NETTEST_BUILT if NETTEST_BUILT.exists() else \
            harness.workdir / "nettest"
        t.push(exe, GUEST_NETTEST)
        rc, out, err = t.exec("insmod /tmp/crashmod.ko " + " ".join(PARAMS))
        assert rc == 0, out + err
        rc, out, err = t.exec(f"N={GUEST_NETTEST}; {GOOD}")
        assert out.split() == "udp sent 1 received 1".split(), out + err
        # The kernel dies in it (an oops in softirq is fatal): no answer.
        t.exec(f"N={GUEST_NETTEST}; {BAD}", timeout=20)
        console = t.state_dir / "console.log"
        deadline = time.monotonic() + 60
        while "end trace" not in console.read_text(errors="replace"):
            assert time.monotonic() < deadline, console.read_text()
            time.sleep(1)
        oops = console.read_text(errors="replace").replace("\r", "")
        assert "BUG: kernel NULL pointer dereference, address: " \
               "0000000000000018" in oops, oops
        m = re.search(r"RIP: 0010:([\w.]+)\+0x([0-9a-f]+)/0x[0-9a-f]+ "
                      r"\[crashmod\]", oops)
        assert m, oops
        user = re.search(r"^RIP: 0010:([\w.]+)\+", user_crash["stderr"], re.M)
        assert user, user_crash["stderr"]
        assert source_function(user.group(1)) == source_function(m.group(1)), \
            (oops, user_crash["stderr"])
        assert ko_symbol_line(ko, m.group(1), int(m.group(2), 16)) == \
            f"crashmod.c:{fault_line()}", oops
    finally:
        # Its kernel died: a guest left spinning would slow every later
        # test.
        t.down()
