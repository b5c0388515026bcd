# SPDX-License-Identifier: GPL-2.0
"""Exactly once under injected faults: a user-level module runs while
dusk.ko (its faults parameter) and libdusk (DUSK_FAULTS) lose, duplicate
and reorder datagrams in both directions, with fixed seeds; every kernel
call it makes is executed exactly once and every packet its hook sees
gets its verdict.

exec_tally (a .ko, loaded in the target) counts executions per tag in
/proc/exec_tally. tallyhook (the user-level program, built by dusk-cc from
an unmodified module source) calls exec_tally(1..calls) in its init, and
its hook counts each ICMPv6 echo request at packet_base + its size,
dropping the odd sizes. Afterwards each of those tags was executed once,
the pings of even size were answered and the others not, dusk.ko applied
verdicts and released no packet by policy, and both sides did inject
faults.
"""

import re
import shutil
import signal
import subprocess
import threading
import time

from diff import DUSK_CC, MODS_DIR, harness  # noqa: F401 (fixture)

TALLY = MODS_DIR / "tally"
CALLS = 300
PACKET_BASE = 100000
SIZES = range(20, 40)           # even: answered; odd: dropped
PING_WAIT = 5                   # s: far over a faulty round trip
SEEDS = {"kernel": "seed=42,loss=5,dup=5,reorder=5",
         "program": "seed=7,loss=5,dup=5,reorder=5"}
TROUBLE = re.compile(r"BUG: |WARNING: |Oops|general protection fault|"
                     r"Call Trace:|refcount_t: |list_(add|del) corruption")
FAULTS_PARAM = "/sys/module/dusk/parameters/faults"


def counters(target):
    rc, out, err = target.exec("cat /proc/dusk")
    assert rc == 0, err
    return {k: int(v) for k, v in (line.split(" ", 1)
                                   for line in out.splitlines())
            if v.strip().isdigit()}


def kernel_log(target):
    rc, out, _ = target.exec("dmesg")
    assert rc == 0
    return out


def tally(target):
    rc, out, err = target.exec("cat /proc/exec_tally")
    assert rc == 0, err
    return {int(t): int(n) for t, n in (line.split()
                                        for line in out.splitlines())}


def pings(target):
    """One ping -6 ::1 per size, all at once: {size: exit status}."""
    script = "".join(
        f"( ping -6 -c 1 -W {PING_WAIT} -s {s} ::1 >/dev/null 2>&1; "
        f"echo $? > /tmp/tp{s}.rc ) & " for s in SIZES)
    rc, _, err = target.exec(f"rm -f /tmp/tp*.rc; {script} wait",
                             timeout=PING_WAIT + 60)
    assert rc == 0, err
    rc, out, err = target.exec(
        "for s in " + " ".join(map(str, SIZES)) +
        "; do echo $s $(cat /tmp/tp$s.rc); done")
    assert rc == 0, err
    return {int(s): int(r) for s, r in (line.split()
                                        for line in out.splitlines())}


def build(harness):
    """exec_tally.ko, then the tallyhook program, as their developer
    would: in one copy of the tree, exec_tally first (its Module.symvers
    names the export tallyhook uses). Their paths."""
    tree = harness.workdir / "tally"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(TALLY, tree)
    p = subprocess.run(["make", "-C", str(harness.kdir),
                        f"M={tree / 'exec_tally'}", "modules"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    prog = tree / "tallyhook.prog"
    p = subprocess.run([str(DUSK_CC), "--kdir", str(harness.kdir), "-M",
                        str(tree / "tallyhook"), "-o", str(prog)],
                       env=harness.target.env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return tree / "exec_tally" / "exec_tally.ko", prog


def test_every_call_and_verdict_exactly_once_under_faults(harness):
    target = harness.target
    ko, prog = build(harness)
    target.push(ko, "/tmp/exec_tally.ko")
    rc, out, err = target.exec("rmmod exec_tally 2>/dev/null; "
                               "insmod /tmp/exec_tally.ko")
    assert rc == 0, out + err
    since = len(kernel_log(target))
    before = counters(target)
    proc = None
    chunks = []
    try:
        rc, _, err = target.exec(
            f"echo {SEEDS['kernel']} > {FAULTS_PARAM}")
        assert rc == 0, err
        rc, out, _ = target.exec(f"cat {FAULTS_PARAM}")
        assert out.strip() == SEEDS["kernel"], out

        proc = subprocess.Popen(
            [str(prog), f"calls={CALLS}", f"packet_base={PACKET_BASE}"],
            env=dict(target.env, DUSK_FAULTS=SEEDS["program"],
                     DUSK_HOLD_MS="30000"),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        reader = threading.Thread(target=lambda: chunks.extend(
            iter(lambda: proc.stdout.read1(65536), b"")), daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        while "tallyhook: counted" not in kernel_log(target)[since:]:
            assert proc.poll() is None, b"".join(chunks).decode()
            assert time.monotonic() < deadline, "init never finished"
            time.sleep(0.5)

        answered = pings(target)
        assert answered == {s: 1 if s % 2 else 0 for s in SIZES}, answered

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        reader.join(timeout=10)
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        target.exec(f"echo off > {FAULTS_PARAM}")
    output = b"".join(chunks).decode(errors="replace")
    after = counters(target)
    counts = tally(target)
    target.exec("rmmod exec_tally")

    # Every kernel call of the init, and of each hook invocation, once.
    want = {t: 1 for t in range(1, CALLS + 1)}
    want.update({PACKET_BASE + s: 1 for s in SIZES})
    assert counts == want, (
        f"executed other than once: "
        f"{ {t: n for t, n in counts.items() if want.get(t) != n} }, "
        f"never: {sorted(set(want) - set(counts))}\n{output}")
    log = kernel_log(target)[since:]
    assert f"tallyhook: counted {CALLS} tags, 0 seen before; hooked" in log
    assert (f"tallyhook: unloaded: {len(SIZES)} echo requests, "
            f"{len(SIZES) // 2} dropped, 0 seen before") in log, log
    assert not TROUBLE.search(log), log

    # No verdict lost: each echo request, and each reply, got one; none
    # was let go by policy.
    assert after["released"] - before["released"] == 0, (before, after)
    assert after["verdicts"] - before["verdicts"] >= \
        len(SIZES) + len(SIZES) // 2
    # The faults did happen, on both sides and both ways.
    for name in ("fault_lost", "fault_duplicated", "fault_reordered"):
        assert after[name] > before[name], (name, before, after)
    m = re.search(r"faults injected: sent (\d+) lost, (\d+) duplicated, "
                  r"(\d+) reordered; received (\d+) lost, (\d+) duplicated, "
                  r"(\d+) reordered", output)
    assert m and all(int(n) > 0 for n in m.groups()), output
