# SPDX-License-Identifier: GPL-2.0
"""examples/proctimer, the sampler (a timer feeding a work item feeding a
kernel thread through a completion, /proc/proctimer and
/sys/kernel/proctimer), as a .ko and as the user-level program on the
same script, compared as test_chardev.py compares, with test_timers.py's
places (/proc, /sys/kernel, the kernel threads in ps):

proctimer          the sysfs controls (period_ms, remaining, ticks; EBUSY
                   and EINVAL), a run of 10 ticks of 100 ms summed up in
                   two batches by the kernel thread, a run of 5 ticks of
                   80 ms, the seq_file history; the kernel thread
                   [proctimer] shows in ps while the module is there
proctimer-running  unloaded while its timer runs and the thread waits
                   (ticks=100000, batch=1000): del_timer_sync,
                   cancel_work_sync and kthread_stop in its exit

Rates on the target's clock, both modes: every sampled interval (jiffies
read in the timer) is at least the period; a run's intervals add up to at
most RATE_SLACK times the nominal (test_timers.py).

test_proctimer_sigkill: the program SIGKILLed with its timer armed and its
thread running: no [proctimer] thread, no /proc or /sys entry, no proxy
invoked afterwards, a clean kernel log, and the .ko then loads.

    tests/run-pytest tests/examples/test_example_proctimer.py
"""

import dataclasses

import pytest

import test_chardev as tc
from diff import assert_lines, example, harness  # noqa: F401
from test_chardev import Chardev, assert_in_order
from test_timers import (WAIT_FOR, Kill, assert_rate,
                         sigkill_leaves_nothing, timers, values)  # noqa: F401

PROCTIMER = example("proctimer")

SCRIPT = WAIT_FOR + """\
S=/sys/kernel/proctimer
P=/proc/proctimer
ls $S
cat $S/period_ms $S/remaining $S/ticks
cat $P
echo "threads: $(ps | grep -c '\\[proctimer\\]')"
echo 10 > $S/remaining
echo 10 > $S/remaining 2>/dev/null || echo "second run: busy"
wait_for $P '^batches: *2$'
cat $P
cat $S/remaining $S/ticks
echo 5 > $S/period_ms 2>/dev/null || echo "period 5: refused"
echo soon > $S/period_ms 2>/dev/null || echo "period soon: refused"
echo 80 > $S/period_ms
echo 5 > $S/remaining
wait_for $P '^batches: *3$'
cat $P
echo 0 > $S/remaining
cat $S/period_ms $S/remaining $S/ticks
"""

# The measured times: the timer's latency, on either side.
MEAN = (r", mean \d+ ms$", ", mean MS ms")
INTERVAL = (r"^ +(\d+) +\d+ ms$", r"\1 MS ms")


def state(period, remaining, ticks, batches):
    return [f"period:    {period} ms", f"remaining: {remaining}",
            f"ticks:     {ticks}", "lost:      0", f"batches:   {batches}"]


def check(run):
    assert_in_order(run.transcript, [
        "period_ms", "remaining", "ticks",
        "100", "0", "0",
        *state(100, 0, 0, 0), "tick  interval",
        "threads: 1",
        "second run: busy",
        *state(100, 0, 10, 2),
        "batch 1: ticks 1-5, mean MS ms",
        "batch 2: ticks 6-10, mean MS ms",
        "tick  interval",
        *[f"{i} MS ms" for i in range(1, 11)],
        "0", "10",
        "period 5: refused",
        "period soon: refused",
        *state(80, 0, 15, 3),
        "batch 1: ticks 1-5, mean MS ms",
        "batch 2: ticks 6-10, mean MS ms",
        "batch 3: ticks 11-15, mean MS ms",
        "tick  interval",
        *[f"{i} MS ms" for i in range(1, 16)],
        "80", "0", "15",
    ], "proctimer .ko transcript")
    assert_lines(run.log, [
        "<6>proctimer: loaded: period 100 ms, batches of 5",
        "<6>proctimer: run of 10 ticks every 100 ms",
        "<6>proctimer: batch 1: ticks 1-5",
        "<6>proctimer: run over at tick 10",
        "<6>proctimer: batch 2: ticks 6-10",
        "<6>proctimer: period is now 80 ms",
        "<6>proctimer: run of 5 ticks every 80 ms",
        "<6>proctimer: run over at tick 15",
        "<6>proctimer: batch 3: ticks 11-15",
        "<6>proctimer: stopped at tick 15",
        "<6>proctimer: summarizer stops after 3 batches",
        "<6>proctimer: unloaded after 15 ticks",
    ], "proctimer .ko log")
    assert run.appeared == {"/proc": ["+proctimer"],
                            "/sys/kernel": ["+proctimer"],
                            "kthreads": ["+proctimer"],
                            "modules": ["+proctimer"]}, run.appeared


def rates(run):
    """Each interval at least its period (jiffies: the timer re-arms from
    the time it read); each run's total within the slack."""
    t = run.transcript
    # the last listing: 15 samples, 10 of 100 ms and 5 of 80 ms
    last = max(i for i, line in enumerate(t) if line == "tick  interval")
    samples = values(t[last + 1:], r"^ +\d+ +(\d+) ms$")
    assert len(samples) == 15, t
    for i, (ms, period) in enumerate(zip(samples, [100] * 10 + [80] * 5)):
        assert ms >= period, f"{run.mode}: tick {i + 1} after {ms} ms"
    assert_rate(sum(samples[:10]), 1000, f"{run.mode}: 10 ticks of 100 ms")
    assert_rate(sum(samples[10:]), 400, f"{run.mode}: 5 ticks of 80 ms")


RUNNING_SCRIPT = WAIT_FOR + """\
S=/sys/kernel/proctimer
wait_for $S/ticks '^([3-9]|[1-9][0-9]+)$'
head -5 /proc/proctimer
echo 3 > $S/remaining 2>/dev/null || echo "another run: busy"
echo "threads: $(ps | grep -c '\\[proctimer\\]')"
"""


def check_running(run):
    assert_in_order(run.transcript, [
        "period:    100 ms", "remaining: N", "ticks:     N", "lost:      0",
        "batches:   0", "another run: busy", "threads: 1",
    ], "proctimer-running .ko transcript")
    assert run.log == [
        "<6>proctimer: loaded: period 100 ms, batches of 1000",
        "<6>proctimer: run of 100000 ticks every 100 ms",
        "<6>proctimer: summarizer stops after 0 batches",
        "<6>proctimer: unloaded after N ticks",
    ], run.log


CASES = {
    "proctimer": Chardev(
        PROCTIMER, ready="[ -e /sys/kernel/proctimer/remaining ]",
        script=SCRIPT, normalise=(MEAN, INTERVAL), check=check,
        both=rates),
    "proctimer-running": Chardev(
        PROCTIMER, params=("ticks=100000", "batch=1000"),
        ready="[ -e /sys/kernel/proctimer/remaining ]",
        script=RUNNING_SCRIPT,
        # how far the run got: time
        normalise=((r"^remaining: \d+$", "remaining: N"),
                   (r"^ticks: +\d+$", "ticks:     N"),
                   (r"after \d+ ticks$", "after N ticks")),
        check=check_running),
}


@pytest.mark.parametrize("key", CASES)
@pytest.mark.parametrize("mode", ("ko", "user"))
def test_example_proctimer(timers, key, mode):
    tc.check_case(timers, key, CASES[key], mode)


def test_proctimer_sigkill(timers):
    """SIGKILL with the timer armed, the work queued now and then and the
    thread waiting on its completion."""
    sigkill_leaves_nothing(timers, Kill(
        dataclasses.replace(CASES["proctimer"], params=("ticks=100000",)),
        prepare="",
        armed="grep -Eq '^batches: *[1-9]' /proc/proctimer"))
