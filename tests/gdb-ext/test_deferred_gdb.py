# SPDX-License-Identifier: GPL-2.0
"""dusk-gdb in timer and work functions.

jiffytimer (tests/examples/mods/jiffytimer, a self re-arming timer after
LDD3's jit.c, shown identical as a .ko and at user level by
test_timers.py) runs under dusk-gdb with "dusk break-hook all" given
before "run": its timer function, which init arms, is a breakpoint from
the start; it stops there, on the program's softirq thread, with "dusk
status" listing the timer as running, and again at the next tick, which
the callback's mod_timer() armed.

wqdemo (tests/examples/mods/wqdemo, a private ordered workqueue, the
system one and a delayed work) learns its work functions when it queues
them (INIT_WORK is inline): writes to /proc/wqdemo queue a delayed work a
minute away and a job; the job's function stops, on a worker of the
program, with "dusk status" showing the job running on its workqueue and
the delayed work armed with its expiry.

jobthread (tests/examples/mods/jobthread, a kernel course's worker
thread, test_kthreads.py) starts its threads in init: the first thread
function stops, and "dusk status" lists it in flight as a callback for
the kernel thread that serves it, by pid and name.
"""

import re
import sys
import threading

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / "tests" / "examples"))
from diff import harness, mod  # noqa: E402,F401 (fixture)
from gdbdrive import Gdb  # noqa: E402

JIFFYTIMER = mod("jiffytimer")
WQDEMO = mod("wqdemo")
JOBTHREAD = mod("jobthread")
START = r"""
set pagination off
set width 0
set confirm off
dusk break-hook all
run
python print("dusk-test-pid", gdb.selected_inferior().pid)
"""
CLEAN = re.compile(r"Traceback|Python Exception|Error occurred in Python")


class Stops:
    """Waits for breakpoint stops in order and runs commands at each."""

    def __init__(self, gdb):
        self.gdb, self.pos, self.marks = gdb, 0, 0

    def stop_in(self, fn):
        m = self.gdb.wait_for(r"Breakpoint \d+, (\w+) \(", start=self.pos)
        self.pos = m.end()
        assert m.group(1) == fn, (fn, self.gdb.output[m.start():])

    def commands(self, *cmds):
        self.marks += 1
        for c in cmds:
            self.gdb.send(c)
        self.gdb.send(f"echo dusk-test-{self.marks}\\n")
        m = self.gdb.wait_for(rf"dusk-test-{self.marks}$", start=self.pos)
        text = self.gdb.output[self.pos:m.start()]
        self.pos = m.end()
        return text.replace("(gdb) ", "")


def run_gdb(harness, module, tmp_path, *params):
    prog = harness.build_prog(module)
    cmds = tmp_path / "cmds.gdb"
    cmds.write_text(START)
    return Gdb(["-nx", "-q", "-x", str(cmds), "--args", str(prog),
                *params], harness.target.env)


def finish(gdb):
    gdb.send("delete")
    gdb.send("handle SIGINT nostop noprint pass")
    gdb.send("continue")
    gdb.interrupt_program()
    text = gdb.finish()
    assert not CLEAN.search(text), text
    return text


def test_timer_function(harness, tmp_path):
    gdb = run_gdb(harness, JIFFYTIMER, tmp_path, "ticks=1000", "verbose=0")
    s = Stops(gdb)
    try:
        s.stop_in("jit_tick")
        first = s.commands("dusk status", "bt")
        gdb.send("continue")
        s.stop_in("jit_tick")
        second = s.commands("dusk status")
        text = finish(gdb)
    finally:
        if gdb.proc.poll() is None:
            gdb.proc.kill()
    assert "dusk: the module registered callback jit_tick: breakpoint " \
        "set\n" in text, text
    timer = (r"^ +timer jit_tick \(0xff[0-9a-f]+\) expires \d+ jiffies, "
             r"running now, fired {} times?$")
    assert re.search(r"^timers +1 armed or running$", first, re.M), first
    assert re.search(timer.format(1), first, re.M), first
    # Its thread: the program's softirq thread, not the main one.
    assert re.search(r"\bdusk_softirq_main\b", first), first
    assert not re.search(r"\b__dusk_main\b", first), first
    # The callback re-armed it: the next tick stops again.
    assert re.search(timer.format(2), second, re.M), second


def test_work_function(harness, tmp_path):
    gdb = run_gdb(harness, WQDEMO, tmp_path)
    s = Stops(gdb)
    out = {}

    def write(name, text):
        out[name] = harness.exec(["sh", "-c", f"echo '{text}' > "
                                  f"/proc/wqdemo && echo ok"], timeout=240)

    threads = []
    try:
        gdb.wait_for(r"wqdemo: loaded")
        for name, text in (("delay", "delay 60000"), ("job", "job one")):
            t = threading.Thread(target=write, args=(name, text),
                                 daemon=True)
            t.start()
            threads.append(t)
            s.stop_in("wq_open")
            gdb.send("continue")
            s.stop_in("wq_write")
            gdb.send("continue")
            t.join(timeout=240)
        s.stop_in("job_fn")
        at_job = s.commands("dusk status", "bt")
        text = finish(gdb)
    finally:
        if gdb.proc.poll() is None:
            gdb.proc.kill()
    assert out == {"delay": "ok\n", "job": "ok\n"}, out
    assert "dusk: the module registered callback job_fn: breakpoint " \
        "set\n" in text, text
    assert re.search(r"^work +2 queued or running$", at_job, re.M), at_job
    assert re.search(r"^ +work job_fn \(0xff[0-9a-f]+\) on wqdemo: "
                     r"running, ran 1 time$", at_job, re.M), at_job
    assert re.search(r"^ +work delayed_fn \(0xff[0-9a-f]+\) on events: "
                     r"delayed, ran 0 times$", at_job, re.M), at_job
    m = re.search(r"^ +delayed work delayed_fn \(0xff[0-9a-f]+\) expires "
                  r"\d+ jiffies, due in (\d+) ms, fired 0 times$", at_job,
                  re.M)
    assert m and 0 < int(m.group(1)) <= 60000, at_job
    assert re.search(r"\bdusk_worker_main\b", at_job), at_job


def test_kthread_function(harness, tmp_path):
    gdb = run_gdb(harness, JOBTHREAD, tmp_path)
    s = Stops(gdb)
    try:
        s.stop_in("worker_fn")
        at_thread = s.commands("dusk status", "bt")
        pids = harness.exec("ps | awk '$NF == \"[jobworker]\" "
                            "{print $1}'").split()
        text = finish(gdb)
    finally:
        if gdb.proc.poll() is None:
            gdb.proc.kill()
    assert "dusk: the module registered callback worker_fn: breakpoint " \
        "set\n" in text, text
    assert len(pids) == 1, pids
    assert re.search(rf"^ +\* callback \d+ for pid {pids[0]} \(jobworker\) "
                     rf"on cpu \d+, waiting \d+ ms, thread \d+ \(LWP \d+\)$",
                     at_thread, re.M), at_thread
