# SPDX-License-Identifier: GPL-2.0
"""A kernel call with a bad pointer argument (mods/cmdfw: a hook hands
in_aton() the NULL strsep() returned for a command without its argument).

dusk.ko probes the argument before the call and refuses it; the program
reports what the .ko's oops would have said, in the kernel's words, at the
module's file:line, and dies as a crash does (its session released). The
target stays up with a clean log, dusk.ko serves the next program, and
kfree(NULL) (a void * is never probed) still works.
"""

import re
import signal
import subprocess
import threading
import time

import pytest

from diff import Harness, harness, mod  # noqa: F401

CMDFW = mod("cmdfw")
PARAMS = ("ctl=9500",)
MARK = "/* cmdfw: the fault */"
HOLD_MS = 20000     # longer than the test waits: a release is the BYE's
BLOCK = "$N udp -w 300 -s 127.0.0.1:4000 127.0.0.1 9500 'block 127.0.0.3'"
FLUSH = "$N udp -w 300 -s 127.0.0.1:4001 127.0.0.1 9500 flush"
BAD = "$N udp -w 300 -s 127.0.0.1:4002 127.0.0.1 9500 block"


def fault_line():
    """The source line of the bad call, found by its comment."""
    lines = (CMDFW.srcdir / "cmdfw.c").read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if MARK in line)


def at_fault_line(frame):
    """A frame of the report names the bad call's line: as its own line,
    or as the line within cmdfw_command when GCC inlined that into the
    hook ("cmdfw.c:93 (in cmdfw_command inlined from .../cmdfw.c:53)")."""
    return re.search(rf"/cmdfw\.c:{fault_line()}\b", frame) is not None


def run(harness, prog, bad):
    """One run of the program, bad: "block 127.0.0.3" then the bad
    "block" (the program must end by itself); else "flush" with nothing
    blocked (kfree(NULL)) then SIGINT. Its exit status and output."""
    env = dict(harness.target.env, DUSK_HOLD_MS=str(HOLD_MS))
    proc = subprocess.Popen([str(prog), *PARAMS], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = [], []
    readers = [threading.Thread(
        target=lambda f=f, v=v: v.extend(iter(lambda: f.read1(65536), b"")),
        daemon=True) for f, v in ((proc.stdout, out), (proc.stderr, err))]
    for r in readers:
        r.start()

    def text(v):
        return b"".join(v).decode(errors="replace")

    def wait_for(what, timeout=120):
        deadline = time.monotonic() + timeout
        while what not in text(out):
            assert proc.poll() is None, text(out) + text(err)
            assert time.monotonic() < deadline, text(out) + text(err)
            time.sleep(0.2)

    try:
        wait_for("cmdfw: loaded")
        if bad:
            harness.script(BLOCK)
            wait_for("cmdfw: blocking 127.0.0.3")
            harness.script(BAD)
        else:
            harness.script(FLUSH)
            wait_for("cmdfw: flushed")
            proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for r in readers:
            r.join(timeout=10)
    return dict(status=status, stdout=text(out), stderr=text(err))


@pytest.fixture(scope="module")
def runs(harness):
    """The program refused; then a second one, run to its end."""
    prog = harness.build_prog(CMDFW)
    harness.nettest()
    token = harness.marker()
    first = run(harness, prog, bad=True)
    dusk = harness.exec("cat /proc/dusk")
    second = run(harness, prog, bad=False)
    return dict(first=first, second=second, dusk=dusk,
                log=harness.kernel_log(token))


def test_refused_call_reported_as_the_ko_oops(runs):
    """The kernel's words for a read of NULL, RIP the kernel function
    (not called) with the argument, the module's line of the call."""
    err = runs["first"]["stderr"]
    line = fault_line()
    assert "BUG: kernel NULL pointer dereference, address: " \
           "0000000000000000\n#PF: supervisor read access in kernel mode\n" \
           "#PF: error_code(0x0000) - not-present page\n" in err, err
    assert re.search(r"^Oops: 0000 \[#1\]", err, re.M), err
    assert re.search(r"^RIP: 0010:in_aton \(kernel function, not called: "
                     r"dusk\.ko found its argument 1 \(const char \*\) = "
                     r"0000000000000000 unreadable\)$", err, re.M), err
    m = re.search(r"^\(in the module: (cmdfw_\w+\+0x[0-9a-f]+/0x[0-9a-f]+ "
                  r"\[cmdfw\.prog\] .*)\)$", err, re.M)
    assert m and at_fault_line(m.group(1)), err
    assert re.search(r"^RDI: 0000000000000000 ", err, re.M), err


def test_refused_call_trace_is_the_modules(runs):
    """Call Trace: the module's frames only, from the call outwards, in
    softirq (<IRQ>); then the hook and packet it served."""
    err = runs["first"]["stderr"]
    m = re.search(r"^Call Trace:\n <IRQ>\n((?: .*\n)*?) </IRQ>$", err, re.M)
    assert m, err
    frames = m.group(1).splitlines()
    assert frames and re.match(r" cmdfw_\w+\+0x[0-9a-f]+/0x[0-9a-f]+ "
                               r"\[cmdfw\.prog\] ", frames[0]), frames
    assert at_fault_line(frames[0]), frames
    assert all("cmdfw.c:" in f for f in frames), frames
    assert re.search(r"^Hook: NF_INET_PRE_ROUTING \(0\) of NFPROTO_IPV4 "
                     r"\(2\), cmdfw_hook, packet \d+: 127\.0\.0\.1:4002 -> "
                     r"127\.0\.0\.1:9500 UDP", err, re.M), err


def test_refused_call_ends_the_program_like_a_crash(runs):
    """Killed by SIGSEGV after its report; the session released by
    dusk.ko (no session left); the good command before it worked."""
    first = runs["first"]
    assert first["status"] == -signal.SIGSEGV, first
    assert "cmdfw: blocking 127.0.0.3" in first["stdout"], first
    assert first["stderr"].rstrip().endswith(
        "dusk: session ended: dusk.ko removed the module's hooks and "
        "released its queued packets"), first["stderr"]
    assert "session none" in runs["dusk"].splitlines(), runs["dusk"]


def test_target_stays_up_with_a_clean_log(runs):
    """No Oops, BUG or WARNING in the target's log: in_aton never ran."""
    assert not Harness.trouble(runs["log"]), runs["log"]
    assert any(re.match(r"dusk: session [0-9a-f]+ ended: ", t)
               for _, t in runs["log"]), runs["log"]


def test_dusk_keeps_serving_and_kfree_null_works(runs):
    """A second program runs: "flush" with nothing blocked is kfree(NULL)
    in the hook, and again in module_exit; it ends normally."""
    second = runs["second"]
    assert second["status"] == 0, second
    assert "cmdfw: flushed" in second["stdout"], second
    assert "cmdfw: unloaded" in second["stdout"], second
    assert "BUG:" not in second["stderr"], second
