# SPDX-License-Identifier: GPL-2.0
"""A hook that loops forever (mods/radlog: a RADIUS attribute walk that
does not move on over an attribute of Length 0).

The program reports it as the kernel's watchdog reports a soft lockup,
at the module's file:line in the loop, once the threshold
(DUSK_SOFTLOCKUP_S) has passed, and goes on; the packets its hook holds
meanwhile are released by policy, and the watchdog process says how many,
so that a fail-open is never silent. Time stopped at a breakpoint in gdb
does not count as a lockup."""

import re
import time

import pytest

from progrun import Program, wait_until
from diff import harness, mod  # noqa: F401 (fixture)

RADLOG = mod("radlog")
PORT = 9500
SOURCE = (RADLOG.srcdir / "radlog.c").read_text().splitlines()
LOOP_FIRST = next(i + 1 for i, line in enumerate(SOURCE)
                  if "while (off + 2 <= len)" in line)
LOOP_LAST = next(i + 1 for i, line in enumerate(SOURCE)
                 if "/* radlog: the walk */" in line)
AUTH = r"\0" * 16
# Access-Request 7, length 27: User-Name "alice".
GOOD = r"\x01\x07\x00\x1b" + AUTH + r"\x01\x07alice"
# Access-Request 8, length 24: an attribute of Length 0.
BAD = r"\x01\x08\x00\x18" + AUTH + r"\x05\x00\x00\x00"
SEND = ("$N udp -w {w} -s 127.0.0.1:4000 -r 127.0.0.2:{p} 127.0.0.2 {p} "
        "'{payload}'")
RELEASED = (r"^dusk: hook radlog_hook \(ipv4 PRE_ROUTING\): (\d+) packets? "
            r"released by policy \((accept|drop)\) in the last \d+ s$")
LOCKUP = (r"^watchdog: BUG: soft lockup - CPU#\d+ stuck for (\d+)s! "
          r"\[radlog\.prog:\d+\]$")


@pytest.fixture(scope="module")
def stuck(harness):
    """radlog stuck on a malformed request, threshold 2 s: its output."""
    prog = harness.build_prog(RADLOG)
    harness.nettest()
    p = Program(prog, dict(harness.target.env, DUSK_SOFTLOCKUP_S="2"),
                (f"port={PORT}",))
    try:
        p.wait_output("radlog: loaded, port")
        good = harness.script(SEND.format(w=5000, p=PORT, payload=GOOD))
        p.wait_output('user "alice"')
        start = time.monotonic()
        bad = harness.script(SEND.format(w=8000, p=PORT, payload=BAD))
        wait_until(lambda: re.search(RELEASED, p.stderr(), re.M)
                   and re.search(LOCKUP, p.stderr(), re.M),
                   lambda: p.stdout() + p.stderr())
        seen_s = time.monotonic() - start
        running = p.proc.poll() is None
    finally:
        p.stop()
    return dict(stderr=p.stderr(), good=good, bad=bad, seen_s=seen_s,
                running=running)


def test_soft_lockup_report_names_the_loop(stuck):
    """The kernel's soft-lockup line, at least the threshold, with RIP in
    the attribute walk at one of the loop's lines of radlog.c."""
    err = stuck["stderr"]
    m = re.search(LOCKUP, err, re.M)
    assert m and int(m.group(1)) >= 2, err
    # RIP in the module, or in the runtime's check of its load (a
    # __dusk_check of msg[off]) with the module's frame named after it.
    where = re.search(r"^RIP: 0010:(.*)\n(\(in the module: (.*)\)\n)?", err,
                      re.M)
    assert where, err
    mod_line = where.group(3) or where.group(1)
    assert re.match(r"(radius_user_name|radlog_hook)\+0x[0-9a-f]+/0x[0-9a-f]+ "
                    r"\[radlog\.prog\] ", mod_line), err
    # The walk's line: the line's own, or (radius_user_name inlined into
    # the hook) the inlined function's row that the report adds.
    lines = [int(n) for n in re.findall(r"/radlog\.c:(\d+)", mod_line)]
    assert any(LOOP_FIRST <= n <= LOOP_LAST for n in lines), err
    trace = re.search(r"^Call Trace:\n <IRQ>\n((?: .*\n)*?) </IRQ>$", err,
                      re.M)
    assert trace and "radlog.c:" in trace.group(1), err
    assert re.search(r"^Hook: NF_INET_PRE_ROUTING \(0\) of NFPROTO_IPV4 "
                     r"\(2\), radlog_hook, ", err, re.M), err


def test_soft_lockup_is_reported_once_and_the_program_goes_on(stuck):
    """One report for the stuck invocation, a few seconds after the
    datagram, and the program still runs (as the kernel without
    softlockup_panic)."""
    assert len(re.findall(LOCKUP, stuck["stderr"], re.M)) == 1, \
        stuck["stderr"]
    assert stuck["running"], stuck["stderr"]
    assert stuck["seen_s"] < 30, stuck


def test_released_packets_are_counted_and_reported(stuck):
    """The stuck datagram went on by the default policy after the hold
    time (received), and the watchdog said so, naming the hook."""
    assert stuck["good"] == ["udp sent 1 received 1"], stuck
    assert stuck["bad"] == ["udp sent 1 received 1"], stuck
    counts = re.findall(RELEASED, stuck["stderr"], re.M)
    assert counts and all(pol == "accept" for _, pol in counts), \
        stuck["stderr"]
    assert sum(int(n) for n, _ in counts) >= 1, stuck["stderr"]
