# SPDX-License-Identifier: GPL-2.0
"""Timers, tasklets, work queues: each test module (mods/) as a .ko and as
the user-level program, driven by the same scripts in the target and
compared as test_chardev.py compares (its Chardevs runs and assertions),
with /proc, /sys/kernel and the kernel threads (ps) as the places.

jiffytimer        LDD3's jitimer in a course's clothes: timer_setup on a
                  kmalloc'd struct, a callback that finds it with
                  from_timer and re-arms with mod_timer every HZ/10 for
                  ticks= ticks, timer_pending in init and in the callback,
                  a static DEFINE_TIMER one-shot that reports each run, a
                  restart from a /proc write (expires by hand, add_timer),
                  EBUSY while a run goes, del_timer_sync in exit; a
                  single_open /proc file with the count and state, and
                  one whose read sleeps (wait_event_interruptible) until
                  the report wakes it (wake_up_interruptible)
jiffytimer-armed  the same, unloaded while its timer is armed (ticks=100000,
                  verbose=0): del_timer_sync returns 1
taskletlog        tasklet_setup on a kmalloc'd struct, from_tasklet; the
                  tasklet scheduled from a /proc write (process context,
                  in_task) and from a timer (softirq context), logging
                  in_softirq/in_interrupt/in_task (in_softirq is true under
                  spin_lock_bh too); a static DECLARE_TASKLET run by
                  tasklet_hi_schedule; tasklet_disable holds a scheduled
                  tasklet back until tasklet_enable; scheduled three times
                  under spin_lock_bh it runs once; tasklet_kill in exit
                  lets a scheduled run happen
wqdemo            create_singlethread_workqueue (its rescuer thread shows in
                  ps), jobs kmalloc'd with INIT_WORK queued from /proc
                  writes, run in order and sleeping (msleep), in_task;
                  flush_workqueue waits for them; schedule_work and
                  flush_work on the system queue; INIT_DELAYED_WORK,
                  schedule_delayed_work (never early, already pending),
                  delayed_work_pending, cancel_delayed_work_sync (1, then
                  0), mod_delayed_work (1 pending, 0 idle),
                  flush_delayed_work (runs it now); a delayed work on the
                  private queue that requeues itself (queue_delayed_work)
                  N times; a job still queued at unload runs before
                  destroy_workqueue returns
wqdemo-polling    unloaded while the delayed work requeues itself for ever:
                  cancel_delayed_work_sync stops it
hrtick            a static hrtimer (hrtimer_init, .function set by hand,
                  hrtimer_start REL, hrtimer_forward_now, HRTIMER_RESTART
                  then NORESTART), in_interrupt/in_hardirq/in_softirq in
                  its callback, hrtimer_active, hrtimer_cancel in exit
hrtick-soft       the same in HRTIMER_MODE_REL_SOFT: a softirq callback
hrtick-armed      unloaded while armed: hrtimer_cancel returns 1

Rates, on the target's clock (jiffies and ktime in the modules, /proc/uptime
in the script), in both modes: a run of N ticks never ends before N
periods and takes at most 50 % more (RATE_SLACK); measured from the shell
(from a write that starts a run to the end of a read that sleeps until
it is over), LATENCY_MS more is allowed. The measured values are
normalised away before the two runs are compared.

test_timers_sigkill: the program SIGKILLed while its timers are armed, a
tasklet or work pending, a job asleep in a work function: nothing is left
in /proc, /sys/kernel or ps, dusk.ko ends the session, no proxy is invoked
afterwards (its counters stay), no hrtimer of the program stays in
/proc/timer_list, the kernel log is clean, and the .ko then loads.

    tests/run-pytest tests/examples/test_timers.py            # both modes
    tests/run-pytest tests/examples/test_timers.py -k ko      # .ko halves
"""

import dataclasses
import re
import time

import pytest

import test_chardev as tc
from diff import assert_lines, harness, mod, normalised  # noqa: F401
from progrun import Program, wait_for_command, wait_until
from test_chardev import Chardev, Chardevs, assert_in_order

JIFFYTIMER = mod("jiffytimer")
TASKLETLOG = mod("taskletlog")
WQDEMO = mod("wqdemo")
HRTICK = mod("hrtick")

# A run of N periods: at least N periods (a timer never fires early), at
# most RATE_SLACK times that.
RATE_SLACK = 1.5
# Measured from the shell: the run's report comes HZ/20 after the last
# tick, and the shell's own commands (a write, a reader's open and read:
# callbacks of the program) take their time, more on a loaded machine.
LATENCY_MS = 500

# Where the modules' traces show, one command each. Kernel threads by name
# (what ps shows in brackets), known by their parent, kthreadd (pid 2): ps
# brackets a process of no command line too (one the agent is starting),
# less the kworkers, which come and go.
PLACES = {
    "/proc": "ls /proc | grep -v '^[0-9]*$'",
    "/sys/kernel": "ls /sys/kernel",
    "kthreads": "awk '$4 == 2 { print $2 }' /proc/[0-9]*/stat 2>/dev/null | "
                "sed 's/^(\\(.*\\))$/\\1/' | grep -v '^kworker/' | sort -u",
    "modules": "cut -d' ' -f1 /proc/modules",
}

# The functions of the hrtimers in the target (/proc/timer_list).
HRTIMER_FUNCTIONS = (r"sed -n 's/^ *#[0-9]*: <[0-9a-f]*>, \([^,]*\),.*/\1/p' "
                     r"/proc/timer_list | sort -u")
# Those of anybody's sleeps and alarms: come and go with the shell.
TRANSIENT_HRTIMERS = re.compile(r"^(hrtimer_wakeup|it_real_fn|"
                                r"posix_timer_fn|tick_sched_timer)\b")

# dusk.ko's counters of proxied calls (/proc/dusk): steady once a session
# has ended, unless something of it is still armed.
PROXY_COUNTERS = ("invokes", "inv_unrouted", "proxy_dead")


class TimerRuns(Chardevs):
    """test_chardev's runs, with the places of timers and threads."""

    PLACES = PLACES

    def hrtimers(self):
        return set(self.h.exec(HRTIMER_FUNCTIONS).splitlines())

    def dusk_state(self):
        """/proc/dusk: its session line and the proxy counters."""
        fields = dict(line.partition(" ")[::2] for line in
                      self.h.exec("cat /proc/dusk").splitlines())
        return fields.get("session"), {k: int(fields[k])
                                       for k in PROXY_COUNTERS}


_runs = {}


@pytest.fixture(scope="session")
def timers(harness):
    if harness.target.name not in _runs:
        _runs[harness.target.name] = TimerRuns(harness)
    return _runs[harness.target.name]


# ---- helpers for the scripts and checks -------------------------------------

# wait_for FILE PATTERN: until grep -E finds PATTERN in FILE (every 50 ms,
# 20 s at most: then a line no transcript expects).
WAIT_FOR = """\
wait_for() {
	i=0
	until grep -Eq "$2" "$1"; do
		i=$((i + 1))
		if [ $i -gt 400 ]; then echo "timed out waiting for $2"; return 0; fi
		sleep 0.05
	done
}
now_ms() { awk '{ printf "%d\\n", $1 * 1000 }' /proc/uptime; }
"""


def values(lines, pattern):
    """The integers of pattern's first group, line by line, in order."""
    rx = re.compile(pattern)
    return [int(m.group(1)) for line in lines for m in [rx.search(line)] if m]


def assert_rate(measured, nominal, what, latency=0):
    """nominal <= measured <= nominal * RATE_SLACK + latency (ms)."""
    top = nominal * RATE_SLACK + latency
    assert nominal <= measured <= top, (
        f"{what}: {measured} ms, expected {nominal} to {top:.0f} ms")


# ---- jiffytimer ---------------------------------------------------------------

JIFFYTIMER_SCRIPT = WAIT_FOR + """\
P=/proc/jiffytimer
cat /proc/jitwait
cat $P
t0=$(now_ms)
echo 5 > $P
echo 5 > $P 2>/dev/null || echo "second start: busy"
grep '^state' $P
cat /proc/jitwait
t1=$(now_ms)
echo "run 2 took $((t1 - t0)) ms"
cat $P
echo 0 > $P 2>/dev/null || echo "0 ticks: refused"
echo abc > $P 2>/dev/null || echo "abc: refused"
"""

JIFFIES = (r"ticks every \d+ jiffies", "ticks every HZ/10 jiffies")
ELAPSED = (r"^elapsed: \d+ ms$", "elapsed: MS ms")
TOOK = (r"^run (\d+) took -?\d+ ms$", r"run \1 took MS ms")


def tick_lines(n):
    return [f"<6>jiffytimer: tick {i}/{n}, pending {int(i < n)}"
            for i in range(1, n + 1)]


def check_jiffytimer(run):
    assert_in_order(run.transcript, [
        # the reader slept until the run was over
        "run 1 over: 10 ticks",
        "runs:    1", "ticks:   10/10", "total:   10", "state:   done",
        "pending: 0",
        "elapsed: MS ms",
        "second start: busy",
        "state:   running",
        "run 2 over: 5 ticks",
        "run 2 took MS ms",
        "runs:    2", "ticks:   5/5", "total:   15", "state:   done",
        "pending: 0",
        "elapsed: MS ms",
        "0 ticks: refused",
        "abc: refused",
    ], "jiffytimer .ko transcript")
    assert any(re.match(r"^delay: +\d+ jiffies \(100 ms\)$", line)
               for line in run.transcript), run.transcript
    assert_lines(run.log, [
        "<6>jiffytimer: run 1: 10 ticks every HZ/10 jiffies, pending 1",
        *tick_lines(10),
        "<6>jiffytimer: run 1 over: 10 ticks",
        "<6>jiffytimer: run 2: 5 ticks every HZ/10 jiffies",
        "<6>jiffytimer: busy: run 2 is not over",
        *tick_lines(5),
        "<6>jiffytimer: run 2 over: 5 ticks",
        "<6>jiffytimer: unloaded after 2 runs, del_timer_sync 0",
    ], "jiffytimer .ko log")
    assert run.appeared == {"/proc": ["+jiffytimer", "+jitwait"],
                            "modules": ["+jiffytimer"]}, run.appeared


def jiffytimer_rates(run):
    """10 ticks of HZ/10 take 1 s, 5 take 0.5 s (jiffies in the module);
    the second run as the shell saw it, from its write to the end of a
    read that sleeps until the report."""
    elapsed = values(run.transcript, r"^elapsed: (\d+) ms$")
    assert len(elapsed) == 2, run.transcript
    assert_rate(elapsed[0], 1000, f"{run.mode}: run 1 (10 ticks, jiffies)")
    assert_rate(elapsed[1], 500, f"{run.mode}: run 2 (5 ticks, jiffies)")
    took = values(run.transcript, r"^run 2 took (\d+) ms$")
    assert len(took) == 1, run.transcript
    assert_rate(took[0], 500, f"{run.mode}: run 2 (5 ticks, /proc/uptime)",
                latency=LATENCY_MS)


JIFFYTIMER_ARMED_SCRIPT = WAIT_FOR + """\
P=/proc/jiffytimer
wait_for $P '^ticks: *([3-9]|[1-9][0-9]+)/'
cat $P
echo 5 > $P 2>/dev/null || echo "start: busy"
"""

ARMED_COUNTS = ((r"^ticks: +\d+/", "ticks:   N/"),
                (r"^total: +\d+$", "total:   N"),
                # timer_pending: 0 while the callback runs
                (r"^pending: \d$", "pending: P"))


def check_jiffytimer_armed(run):
    assert_in_order(run.transcript, [
        "runs:    1", "ticks:   N/100000", "total:   N", "state:   running",
        "pending: P", "start: busy",
    ], "jiffytimer-armed .ko transcript")
    assert_lines(run.log, [
        "<6>jiffytimer: run 1: 100000 ticks every HZ/10 jiffies, pending 1",
        "<6>jiffytimer: busy: run 1 is not over",
        # the exit took the armed timer off
        "<6>jiffytimer: unloaded after 1 runs, del_timer_sync 1",
    ], "jiffytimer-armed .ko log")


# ---- taskletlog -----------------------------------------------------------------

TASKLETLOG_SCRIPT = WAIT_FOR + """\
P=/proc/taskletlog
cat $P
echo hello > $P
wait_for $P '^runs: *1$'
echo hi > $P
wait_for $P '^hi runs: *1$'
echo "tick 3" > $P
echo "tick 3" > $P 2>/dev/null || echo "tick again: busy"
wait_for $P '^runs: *4$'
cat $P
echo disable > $P
echo held > $P
sleep 0.3
cat $P
echo enable > $P
wait_for $P '^runs: *5$'
cat $P
echo "burst 3" > $P
wait_for $P '^runs: *6$'
sleep 0.2
grep -E '^(scheduled|runs):' $P
echo "tick 0" > $P 2>/dev/null || echo "tick 0: refused"
echo last > $P
"""


def tasklet_run(n, msg):
    return (f"<6>taskletlog: tasklet run {n} ({msg}): in_softirq 1, "
            f"in_interrupt 1, in_task 0")


def timer_tick(n):
    return f"<6>taskletlog: timer tick {n}: in_softirq 1, in_task 0"


def check_taskletlog(run):
    assert_in_order(run.transcript, [
        "scheduled: 0", "runs:      0", "hi runs:   0", "ticks:     0",
        "disabled:  0", "last:      none",
        "tick again: busy",
        "scheduled: 4", "runs:      4", "hi runs:   1", "ticks:     3",
        "disabled:  0", "last:      tick 3",
        # scheduled while disabled: not run
        "scheduled: 5", "runs:      4", "hi runs:   1", "ticks:     3",
        "disabled:  1", "last:      held",
        "scheduled: 5", "runs:      5", "hi runs:   1", "ticks:     3",
        "disabled:  0", "last:      held",
        # three schedules with bottom halves off: one run
        "scheduled: 8", "runs:      6",
        "tick 0: refused",
    ], "taskletlog .ko transcript")
    assert_lines(run.log, [
        "<6>taskletlog: loaded",
        # in_softirq: the write holds spin_lock_bh
        '<6>taskletlog: write: scheduling for "hello" (in_task 1, '
        'in_softirq 1)',
        tasklet_run(1, "hello"),
        "<6>taskletlog: write: hi (in_task 1)",
        "<6>taskletlog: hi tasklet: in_softirq 1, in_interrupt 1, in_task 0",
        "<6>taskletlog: write: 3 ticks",
        timer_tick(1), tasklet_run(2, "tick 1"),
        timer_tick(2), tasklet_run(3, "tick 2"),
        timer_tick(3), tasklet_run(4, "tick 3"),
        "<6>taskletlog: tasklet disabled",
        '<6>taskletlog: write: scheduling for "held" (in_task 1, '
        'in_softirq 1)',
        "<6>taskletlog: tasklet enabled",
        tasklet_run(5, "held"),
        "<6>taskletlog: write: burst of 3",
        tasklet_run(6, "burst"),
        '<6>taskletlog: write: scheduling for "last" (in_task 1, '
        'in_softirq 1)',
        # scheduled just before the unload: tasklet_kill lets it run
        tasklet_run(7, "last"),
        "<6>taskletlog: unloaded: 9 scheduled, 7 runs, 1 hi",
    ], "taskletlog .ko log")
    assert run.appeared == {"/proc": ["+taskletlog"],
                            "modules": ["+taskletlog"]}, run.appeared


# ---- wqdemo -------------------------------------------------------------------

WQDEMO_SCRIPT = WAIT_FOR + """\
P=/proc/wqdemo
echo "job one" > $P
echo "job two" > $P
echo "job three" > $P
echo flush > $P
cat $P
echo sys > $P
echo sysflush > $P
echo "delay 1000" > $P
echo "delay 100" > $P
grep pending $P
wait_for $P '^delayed runs: *1'
cat $P
echo "delay 60000" > $P
grep pending $P
echo cancel > $P
echo cancel > $P
grep pending $P
echo "delay 60000" > $P
echo "redelay 100" > $P
wait_for $P '^delayed runs: *2'
echo "redelay 100" > $P
wait_for $P '^delayed runs: *3'
echo "delay 60000" > $P
echo dflush > $P
grep -E '^delayed (runs|pending):' $P
echo "poll 5" > $P
wait_for $P '^polls: *5/5'
grep polls $P
echo bogus > $P 2>/dev/null || echo "bogus: refused"
echo "job four" > $P
"""


def wq_state(queued, done, sys_runs, delayed_runs, pending, polls):
    return [f"queued:          {queued}", f"done:            {done}",
            f"system runs:     {sys_runs}",
            f"delayed runs:    {delayed_runs}",
            f"delayed pending: {pending}",
            f"polls:           {polls}"]


def jobs_after_queueing(lines):
    """wqdemo queues its jobs on an ordered workqueue: the worker may run
    one before the module queues the next (the .ko's kworker can, on
    another CPU; it seldom does). A job's line goes after the queueing
    lines that follow it, before the next other line; what matters is
    asserted: each job after its own queueing, the jobs in order."""
    out, held, queued, ran = [], [], set(), []
    for line in lines:
        q = re.search(r"wqdemo: queueing job (\d+)", line)
        j = re.search(r"wqdemo: job (\d+):", line)
        if j:
            assert j[1] in queued, f"job {j[1]} ran before it was queued"
            ran.append(int(j[1]))
            held.append(line)
            continue
        if q:
            queued.add(q[1])
        else:
            out += held
            held = []
        out.append(line)
    assert ran == sorted(ran), f"jobs of an ordered workqueue ran as {ran}"
    return out + held


def check_wqdemo(run):
    assert_lines(run.transcript, [
        *wq_state(3, 3, 0, 0, 0, "0/0"),
        "delayed pending: 1",
        *wq_state(3, 3, 1, 1, 0, "0/0"),
        "delayed pending: 1",
        "delayed pending: 0",
        "delayed runs:    4",
        "delayed pending: 0",
        "polls:           5/5",
        "bogus: refused",
    ], "wqdemo .ko transcript")
    job = "(in_task 1, in_interrupt 0)"
    assert_lines(run.log, [
        "<6>wqdemo: loaded",
        "<6>wqdemo: queueing job 1",
        "<6>wqdemo: queueing job 2",
        "<6>wqdemo: queueing job 3",
        f"<6>wqdemo: job 1: one {job}",
        f"<6>wqdemo: job 2: two {job}",
        f"<6>wqdemo: job 3: three {job}",
        "<6>wqdemo: flushed: 3 of 3 jobs done",
        "<6>wqdemo: system work run 1 (in_task 1)",
        "<6>wqdemo: system work flushed: 1 runs",
        "<6>wqdemo: delayed work in 1000 ms",
        "<6>wqdemo: delayed work already pending",
        "<6>wqdemo: delayed work ran, not early (in_task 1)",
        "<6>wqdemo: delayed work in 60000 ms",
        "<6>wqdemo: cancel_delayed_work_sync: 1",
        "<6>wqdemo: cancel_delayed_work_sync: 0",
        "<6>wqdemo: delayed work in 60000 ms",
        # moved from a minute to 100 ms, then queued anew
        "<6>wqdemo: mod_delayed_work: 1",
        "<6>wqdemo: delayed work ran, not early (in_task 1)",
        "<6>wqdemo: mod_delayed_work: 0",
        "<6>wqdemo: delayed work ran, not early (in_task 1)",
        "<6>wqdemo: delayed work in 60000 ms",
        # run at once, and waited for
        "<6>wqdemo: delayed work ran, not early (in_task 1)",
        "<6>wqdemo: delayed work flushed: 4 runs",
        "<6>wqdemo: polled 5 times",
        "<6>wqdemo: queueing job 4",
        # queued just before the unload: destroy_workqueue runs it first
        f"<6>wqdemo: job 4: four {job}",
        "<6>wqdemo: unloaded: 4 jobs queued, 4 done, delayed work "
        "pending 0",
    ], "wqdemo .ko log")
    # the single-threaded queue's rescuer is a kernel thread of its name
    assert run.appeared == {"/proc": ["+wqdemo"], "kthreads": ["+wqdemo"],
                            "modules": ["+wqdemo"]}, run.appeared


# ---- hrtick -------------------------------------------------------------------

HRTICK_SCRIPT = WAIT_FOR + """\
P=/proc/hrtick
wait_for $P '^state: *done'
cat $P
"""


def check_hrtick(run):
    assert_lines(run.transcript, [
        "ticks:  25/25", "state:  done", "active: 0", "elapsed: MS ms",
    ], "hrtick .ko transcript")
    assert_lines(run.log, [
        "<6>hrtick: starting: 25 ticks every 20 ms",
        # an hrtimer's callback runs in hard interrupt context
        "<6>hrtick: first tick (in_interrupt 1, in_hardirq 1, "
        "in_softirq 0)",
        "<6>hrtick: done: 25 ticks",
        "<6>hrtick: hrtimer_cancel 0, done",
    ], "hrtick .ko log")
    assert run.appeared == {"/proc": ["+hrtick"],
                            "modules": ["+hrtick"]}, run.appeared


# Each tick re-arms from the moment it ran (hrtimer_forward_now): a tick
# the guest delivers late (qemu TCG with two targets busy on two cores)
# makes every later one late too, for the .ko as for the program.
HRTICK_LATE_MS = 15


def hrtick_rate(run):
    """25 ticks of 20 ms take 500 ms (ktime_get in the module), each up to
    HRTICK_LATE_MS late."""
    elapsed = values(run.transcript, r"^elapsed: (\d+) ms$")
    assert len(elapsed) == 1, run.transcript
    assert_rate(elapsed[0], 500, f"{run.mode}: 25 hrtimer ticks of 20 ms",
                latency=25 * HRTICK_LATE_MS)


HRTICK_ARMED_SCRIPT = WAIT_FOR + """\
P=/proc/hrtick
wait_for $P '^ticks: *([3-9]|[1-9][0-9]+)/'
cat $P
"""


def check_hrtick_armed(run):
    assert_lines(run.transcript, [
        "ticks:  N/100000", "state:  running", "active: 1",
    ], "hrtick-armed .ko transcript")
    assert_lines(run.log, [
        "<6>hrtick: starting: 100000 ticks every 20 ms",
        "<6>hrtick: first tick (in_interrupt 1, in_hardirq 1, "
        "in_softirq 0)",
        "<6>hrtick: hrtimer_cancel 1, not done",
    ], "hrtick-armed .ko log")


def check_hrtick_soft(run):
    assert_lines(run.transcript, [
        "ticks:  25/25", "state:  done", "active: 0", "elapsed: MS ms",
    ], "hrtick-soft .ko transcript")
    assert_lines(run.log, [
        "<6>hrtick: starting: 25 ticks every 20 ms (soft)",
        # HRTIMER_MODE_SOFT: the callback runs in softirq context
        "<6>hrtick: first tick (in_interrupt 1, in_hardirq 0, "
        "in_softirq 1)",
        "<6>hrtick: done: 25 ticks",
        "<6>hrtick: hrtimer_cancel 0, done",
    ], "hrtick-soft .ko log")


WQDEMO_POLLING_SCRIPT = WAIT_FOR + """\
P=/proc/wqdemo
echo "poll 1000000" > $P
wait_for $P '^polls: *([3-9]|[1-9][0-9]+)/'
grep polls $P
"""


def check_wqdemo_polling(run):
    assert_lines(run.transcript, ["polls:           N/1000000"],
                 "wqdemo-polling .ko transcript")
    assert_lines(run.log, [
        "<6>wqdemo: loaded",
        "<6>wqdemo: unloaded: 0 jobs queued, 0 done, delayed work "
        "pending 0",
    ], "wqdemo-polling .ko log")


CASES = {
    "jiffytimer": Chardev(
        JIFFYTIMER, ready="[ -e /proc/jiffytimer ]",
        script=JIFFYTIMER_SCRIPT, normalise=(JIFFIES, ELAPSED, TOOK),
        check=check_jiffytimer, both=jiffytimer_rates),
    "jiffytimer-armed": Chardev(
        JIFFYTIMER, params=("ticks=100000", "verbose=0"),
        ready="[ -e /proc/jiffytimer ]", script=JIFFYTIMER_ARMED_SCRIPT,
        # how far the timer got when the script looked: time
        normalise=(JIFFIES, *ARMED_COUNTS),
        check=check_jiffytimer_armed),
    "taskletlog": Chardev(
        TASKLETLOG, ready="[ -e /proc/taskletlog ]",
        script=TASKLETLOG_SCRIPT, check=check_taskletlog),
    "wqdemo": Chardev(
        WQDEMO, ready="[ -e /proc/wqdemo ]", script=WQDEMO_SCRIPT,
        check=check_wqdemo, reorder=jobs_after_queueing),
    "hrtick": Chardev(
        HRTICK, ready="[ -e /proc/hrtick ]", script=HRTICK_SCRIPT,
        normalise=(ELAPSED,), check=check_hrtick, both=hrtick_rate),
    "hrtick-soft": Chardev(
        HRTICK, params=("soft=1",), ready="[ -e /proc/hrtick ]",
        script=HRTICK_SCRIPT, normalise=(ELAPSED,), check=check_hrtick_soft,
        both=hrtick_rate),
    "wqdemo-polling": Chardev(
        WQDEMO, ready="[ -e /proc/wqdemo ]", script=WQDEMO_POLLING_SCRIPT,
        # how often it polled when the script looked: time
        normalise=((r"^polls: +\d+/", "polls:           N/"),),
        check=check_wqdemo_polling),
    "hrtick-armed": Chardev(
        HRTICK, params=("ticks=100000",), ready="[ -e /proc/hrtick ]",
        script=HRTICK_ARMED_SCRIPT,
        # how far the timer got when the script looked: time
        normalise=((r"^ticks: +\d+/", "ticks:  N/"),),
        check=check_hrtick_armed),
}


@pytest.mark.parametrize("key", CASES)
@pytest.mark.parametrize("mode", ("ko", "user"))
def test_timers(timers, key, mode):
    tc.check_case(timers, key, CASES[key], mode)


# ---- SIGKILL ------------------------------------------------------------------------


@dataclasses.dataclass
class Kill:
    """The program killed once armed: its case (module, params, ready),
    a script run in the target once ready that arms more, a shell test
    true once everything is armed, and one true soon after the kill."""
    case: Chardev
    prepare: str
    armed: str
    after: str = "true"     # a shell test true soon after the kill


KILLS = {
    # the timer re-arming itself, a tick every 100 ms, and a reader asleep
    # until the run is over: woken with an error
    "jiffytimer": Kill(
        dataclasses.replace(CASES["jiffytimer"], params=("ticks=100000",)),
        prepare="rm -f /tmp/jitwait.out\n"
                "(cat /proc/jitwait </dev/null >/dev/null 2>/tmp/jitwait.out;"
                " echo \"status $?\" >>/tmp/jitwait.out) "
                "</dev/null >/dev/null 2>&1 &",
        armed="grep -Eq '^ticks: *([2-9]|[1-9][0-9]+)/' /proc/jiffytimer "
              "&& ps | grep -q '[c]at /proc/jitwait'",
        after="grep -q '^status [1-9]' /tmp/jitwait.out"),
    # the timer scheduling the tasklet every 50 ms, and the tasklet
    # disabled with a run pending
    "taskletlog": Kill(
        CASES["taskletlog"],
        prepare="echo 'tick 1000' > /proc/taskletlog\n"
                "echo disable > /proc/taskletlog\n"
                "echo held > /proc/taskletlog",
        armed="grep -q '^disabled: *1' /proc/taskletlog"),
    # a job asleep in its work function (5 s), another queued behind it,
    # a delayed work a minute away, another requeueing itself every 20 ms,
    # the system queue's work
    "wqdemo": Kill(
        dataclasses.replace(CASES["wqdemo"], params=("job_ms=5000",)),
        prepare="echo 'job sleeper' > /proc/wqdemo\n"
                "echo 'job behind' > /proc/wqdemo\n"
                "echo 'delay 60000' > /proc/wqdemo\n"
                "echo 'poll 1000000' > /proc/wqdemo\n"
                "echo sys > /proc/wqdemo",
        armed="grep -q '^delayed pending: 1' /proc/wqdemo && "
              "grep -q '^queued: *2' /proc/wqdemo"),
    # a periodic hrtimer every 20 ms
    "hrtick": Kill(
        CASES["hrtick-armed"], prepare="",
        armed="grep -Eq '^ticks: *([3-9]|[1-9][0-9]+)/' /proc/hrtick"),
}


def sigkill_leaves_nothing(runs, kill):
    """Run kill.case's program, arm it, SIGKILL it: the target is left
    as it was (see the module docstring); then the .ko loads."""
    case = kill.case
    h = runs.h
    prog = h.build_prog(case.module)
    before = runs.places()
    hr_before = runs.hrtimers()
    token = h.marker()
    p = Program(prog, runs.target.env, case.params)

    def until(cmd, timeout):
        """Until cmd succeeds in the target, the program still running."""
        def done():
            assert p.proc.poll() is None, (
                f"the program ended (status {p.proc.returncode}) before "
                f"{cmd!r}:\n{(p.stdout() + p.stderr())[-3000:]}")
            return runs.target.exec(cmd)[0] == 0
        wait_until(done, lambda: f"{cmd!r} never true", timeout)

    try:
        until(case.ready, 120)
        if kill.prepare:
            h.exec(["sh", "-c", kill.prepare])
        until(kill.armed, 60)
        time.sleep(0.5)
        hr_armed = runs.hrtimers() - hr_before
    finally:
        p.stop()            # SIGKILL
    output = p.stdout() + p.stderr()

    def settled():
        left = runs.differences(before, runs.places(), ())
        session, _ = runs.dusk_state()
        return (not left and session == "none") or None

    wait_for_command(runs.target, kill.after, True, timeout=30)
    wait_until(settled, lambda: (
        f"30 s after SIGKILL: left {runs.differences(before, runs.places(), ())}"
        f", dusk.ko's session {runs.dusk_state()[0]}\n{output[-3000:]}"),
        timeout=30)
    # nothing of the program's fires any more
    _, counters = runs.dusk_state()
    time.sleep(2)
    _, later = runs.dusk_state()
    assert later == counters, \
        f"proxies invoked after the session ended: {counters} -> {later}"
    stayed = {f for f in runs.hrtimers() & hr_armed
              if not TRANSIENT_HRTIMERS.match(f)}
    assert not stayed, f"hrtimers of the program still armed: {stayed}"
    trouble = h.trouble(h.kernel_log(token))
    assert not trouble, "\n".join(trouble)
    runs.ko_loads_again(case)


@pytest.mark.parametrize("key", KILLS)
def test_timers_sigkill(timers, key):
    sigkill_leaves_nothing(timers, KILLS[key])
