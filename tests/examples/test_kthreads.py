# SPDX-License-Identifier: GPL-2.0
"""Kernel threads of a module: the test module as a .ko and as the
user-level program, driven by the same script in the target (the
machinery of test_chardev.py and test_procsys.py, with /proc and the
target's kernel threads as the places).

jobthread  a kernel course's kthread exercise: kthread_run() of a worker
           that sleeps on a completion (wait_for_completion_interruptible)
           until a /proc write (proc_ops write with copy_from_user, which
           waits for the job to be logged) completes it, counts and
           pr_info()s; a ticker (set_current_state(TASK_INTERRUPTIBLE) and
           schedule_timeout() of 30 s), a napper (msleep() loop) and a
           waiter (wait_event_interruptible() on poked ||
           kthread_should_stop(), woken by writing "poke"); each prints
           current->comm; init waits for each on a "started" completion;
           exit stops them all with kthread_stop() and prints the values
           they returned

Each run asserts what test_procsys's do: the .ko's transcript and log
are right, the program's transcript, log and registrations equal the
.ko's, it exits 0 after SIGINT, nothing is left (no /proc entry, no
kernel thread), the .ko then loads. Besides:
test_kthreads_ps: ps in the target shows the threads by name while the
module runs, both ways, and none after;
test_kthreads_stop_promptly: the unload takes far less than the ticker's
30 s tick (kthread_stop() wakes every kind of sleeper), both ways;
test_kthreads_sigkill: SIGKILL of the program while its threads run
leaves no thread and no /proc entry, and the .ko then loads;
test_kthread_left_running: a module whose exit forgets kthread_stop()
(built only as the program: the .ko would oops) is told so, and its
threads are stopped (one that ignores kthread_should_stop() with the
session);
test_kthread_comm: a thread's current->comm is its name, as the .ko's.

    tests/run-pytest tests/examples/test_kthreads.py
"""

import re
import signal
import subprocess
import textwrap
import time

import pytest

from test_chardev import Chardev, Chardevs, assert_same_as_ko
from diff import (MODS_DIR, Module, PROGRAM_DIAGNOSTIC,  # noqa: F401
                  harness, mod)
from progrun import Program, wait_for_command, wait_until

JOBTHREAD = mod("jobthread")

THREADS = ["jobnap/1", "jobtick/0", "jobwait/2", "jobworker"]

# The kernel threads by name, known by their parent, kthreadd (pid 2): ps
# brackets a process of no command line too (one the agent is starting);
# less the kernel's workers, whose names say what they run at the moment.
KTHREADS = ("awk '$4 == 2 { print $2 }' /proc/[0-9]*/stat 2>/dev/null | "
            "sed 's/^(\\(.*\\))$/\\1/' | grep -v '^kworker/' | sort -u")

PLACES = {
    "/proc": "ls /proc | grep -v '^[0-9]*$'",
    "kthreads": KTHREADS,
    "modules": "cut -d' ' -f1 /proc/modules",
}

SCRIPT = """\
cat /proc/jobthread
echo "first job" > /proc/jobthread
echo "second job" > /proc/jobthread
echo poke > /proc/jobthread
echo poke > /proc/jobthread
cat /proc/jobthread
ps | sed -n 's/.*\\[\\(job.*\\)\\]$/\\1/p' | sort
$C <<'EOF'
open j /proc/jobthread wronly
write j "lost job" @unmapped
write j "third job"
close j
EOF
cat /proc/jobthread
"""

TRANSCRIPT = [
    "jobs: 0", "last: none", "pokes: 0",
    "jobs: 2", "last: second job", "pokes: 2",
    *THREADS,
    "open j /proc/jobthread wronly = 3",
    'write j "lost job" @unmapped = -1 EFAULT',
    'write j "third job" = 9',
    "close j = 0",
    "jobs: 3", "last: third job", "pokes: 2",
]

LOG = [
    "<6>jobthread: worker jobworker running",
    "<6>jobthread: ticker jobtick/0 running",
    "<6>jobthread: napper jobnap/1 running",
    "<6>jobthread: waiter jobwait/2 running",
    "<6>jobthread: loaded: 4 threads",
    "<6>jobthread: job 1: first job",
    "<6>jobthread: job 2: second job",
    "<6>jobthread: poked 1 time",
    "<6>jobthread: poked 2 times",
    "<6>jobthread: job 3: third job",
    "<6>jobthread: waiter stopping after 2 pokes",
    "<6>jobthread: waiter returned 2",
    "<6>jobthread: napper stopping",
    "<6>jobthread: napper returned 2",
    "<6>jobthread: ticker stopping",
    "<6>jobthread: ticker returned 1",
    "<6>jobthread: worker stopping after 3 jobs",
    "<6>jobthread: worker returned 3",
    "<6>jobthread: unloaded",
]

CASE = Chardev(JOBTHREAD, ready="[ -e /proc/jobthread ]", script=SCRIPT)

# The unload, SIGINT to exit for the program, stays well below the
# ticker's 30 s tick: kthread_stop() must wake it.
PROMPT_S = 15


class Kthreads(Chardevs):
    """test_chardev's runs, with /proc and the kernel threads as places."""

    PLACES = PLACES

    def threads(self):
        """The module's kernel threads now."""
        return sorted(t for t in self.places()["kthreads"]
                      if t.startswith("job"))


_runs = {}


@pytest.fixture(scope="session")
def kthreads(harness):
    if harness.target.name not in _runs:
        _runs[harness.target.name] = Kthreads(harness)
    return _runs[harness.target.name]


def test_kthreads_ko(kthreads):
    run = kthreads.run("jobthread", CASE, "ko")
    assert not run.trouble, run.trouble
    assert not run.left, run.left
    assert run.transcript == TRANSCRIPT, "\n".join(run.transcript)
    assert run.log == LOG, "\n".join(run.log)
    assert run.appeared == {"/proc": ["+jobthread"],
                            "kthreads": ["+" + t for t in THREADS],
                            "modules": ["+jobthread"]}, run.appeared


def test_kthreads_user(kthreads):
    ko = kthreads.run("jobthread", CASE, "ko")
    run = kthreads.run("jobthread", CASE, "user")
    # the program is no module: the rest is the same, its threads too
    assert_same_as_ko(run, ko)
    said = [x for x in run.output.splitlines() if PROGRAM_DIAGNOSTIC.match(x)]
    assert not said, run.output
    kthreads.ko_loads_again(CASE)


def test_kthreads_ps(kthreads):
    """ps shows the threads by name while the module runs, the .ko's and
    the program's alike, and none once it is unloaded."""
    h = kthreads.h
    ko = h.build_ko(JOBTHREAD)
    h.target.push(ko, "/tmp/jobthread.ko")
    assert kthreads.threads() == []
    h.exec(["insmod", "/tmp/jobthread.ko"])
    try:
        assert kthreads.threads() == THREADS
    finally:
        h.exec(["rmmod", "jobthread"])
    assert kthreads.threads() == []

    p = Program(h.build_prog(JOBTHREAD), kthreads.target.env)
    try:
        wait_for_command(kthreads.target, CASE.ready, True, timeout=120)
        assert kthreads.threads() == THREADS
        p.proc.send_signal(signal.SIGINT)
        assert p.wait() == 0, p.stdout() + p.stderr()
    finally:
        p.stop()
    assert kthreads.threads() == []


def test_kthreads_stop_promptly(kthreads):
    """Unloading stops the four threads at once, whatever they sleep in
    (the ticker's 30 s schedule_timeout() included): rmmod of the .ko, and
    SIGINT to the program's exit, take a few seconds at most."""
    h = kthreads.h
    h.target.push(h.build_ko(JOBTHREAD), "/tmp/jobthread.ko")
    h.exec(["insmod", "/tmp/jobthread.ko"])
    # /proc/uptime counts hundredths (busybox's date has no %N)
    now = "$(cut -d' ' -f1 /proc/uptime | tr -d .)"
    out = h.exec(["sh", "-c", f"a={now}; rmmod jobthread; b={now}; "
                  "echo $(( (b - a) * 10 ))"])
    assert int(out) < PROMPT_S * 1000, f"rmmod took {out} ms"

    p = Program(h.build_prog(JOBTHREAD), kthreads.target.env)
    try:
        wait_for_command(kthreads.target, CASE.ready, True, timeout=120)
        # asleep in their loops by now
        time.sleep(2)
        start = time.monotonic()
        p.proc.send_signal(signal.SIGINT)
        status = p.wait(timeout=60)
        took = time.monotonic() - start
    finally:
        p.stop()
    assert status == 0, p.stdout() + p.stderr()
    assert took < PROMPT_S, f"the exit took {took:.1f} s:\n{p.stdout()}"
    for name in ("waiter", "napper", "ticker", "worker"):
        assert f"jobthread: {name} stopping" in p.stdout(), p.stdout()


def test_kthreads_sigkill(kthreads):
    """SIGKILL while the threads run (one of them just did a job): dusk.ko
    stops its kernel threads and removes the /proc entry; nothing is left,
    the kernel log is clean, and the .ko then loads."""
    h = kthreads.h
    prog = h.build_prog(JOBTHREAD)
    before = kthreads.places()
    token = h.marker()
    proc = subprocess.Popen([str(prog)], env=kthreads.target.env,
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: proc.poll() is not None or
                   kthreads.is_ready(CASE),
                   lambda: "not ready", timeout=120)
        assert proc.poll() is None, "the program ended before ready"
        assert kthreads.threads() == THREADS
        h.exec(["sh", "-c", "echo 'last job' > /proc/jobthread"])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 30
    while True:
        left = kthreads.differences(before, kthreads.places(), ())
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not left, left
    entries = h.kernel_log(token)
    assert not h.trouble(entries), h.trouble(entries)
    assert "<6>jobthread: job 1: last job" in h.module_log(JOBTHREAD, entries)
    kthreads.ko_loads_again(CASE)


LEFT_RUNNING = """\
    #define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
    #include <linux/delay.h>
    #include <linux/kthread.h>
    #include <linux/module.h>

    static struct task_struct *spinner, *stubborn;
    static bool forever = true;

    static int spin(void *data)
    {
    \tpr_info("%s spinning\\n", current->comm);
    \twhile (!kthread_should_stop())
    \t\tmsleep(100);
    \tpr_info("told to stop\\n");
    \treturn 0;
    }

    static int deaf(void *data)
    {
    \tpr_info("%s not listening\\n", current->comm);
    \twhile (forever)
    \t\tmsleep(100);
    \treturn 0;
    }

    static int __init forgetful_init(void)
    {
    \tspinner = kthread_run(spin, NULL, "forgetful");
    \tif (IS_ERR(spinner))
    \t\treturn PTR_ERR(spinner);
    \tstubborn = kthread_run(deaf, NULL, "stubborn");
    \treturn PTR_ERR_OR_ZERO(stubborn);
    }

    static void __exit forgetful_exit(void)
    {
    \tpr_info("unloaded\\n");
    }

    module_init(forgetful_init);
    module_exit(forgetful_exit);
    MODULE_LICENSE("GPL");
"""


def test_kthread_left_running(kthreads, tmp_path):
    """An exit that forgets kthread_stop(): the .ko's threads would run
    freed code (built only as the program). The program says so and stops
    them: one stops, one never looks at kthread_should_stop() and is left
    after a while to the session's end, which stops its kernel thread.
    It exits 0 and leaves no thread behind."""
    h = kthreads.h
    d = tmp_path / "forgetful"
    d.mkdir()
    (d / "forgetful.c").write_text(textwrap.dedent(LEFT_RUNNING))
    (d / "Kbuild").write_text("obj-m := forgetful.o\n")
    module = Module("forgetful", d)
    token = h.marker()
    p = Program(h.build_prog(module), kthreads.target.env)
    try:
        wait_until(lambda: "forgetful: stubborn not listening" in
                   p.stdout(), lambda: p.stdout() + p.stderr(), timeout=120)
        assert {"forgetful", "stubborn"} <= \
            set(kthreads.places()["kthreads"])
        p.proc.send_signal(signal.SIGINT)
        status = p.wait()
    finally:
        p.stop()
    out = p.stdout() + p.stderr()
    assert status == 0, out
    for name in ("forgetful", "stubborn"):
        assert re.search(rf"dusk: warning: cleanup_module left kernel thread "
                         rf"{name} running \(.*oops.*\): stopping it",
                         out), out
    assert "dusk: warning: kernel thread stubborn did not stop within" in out
    assert out.index("forgetful: unloaded") < \
        out.index("forgetful: told to stop"), out
    wait_until(lambda: not {"forgetful", "stubborn"} &
               set(kthreads.places()["kthreads"]),
               lambda: "a thread is left", timeout=30)
    entries = h.kernel_log(token)
    assert not h.trouble(entries), h.trouble(entries)
    log = h.module_log(module, entries)
    # The two threads start at once: either may speak first.
    assert sorted(log[:2]) == [
        "<6>forgetful: forgetful spinning",
        "<6>forgetful: stubborn not listening",
    ], log
    assert log[2:] == [
        "<6>forgetful: unloaded",
        "<6>forgetful: told to stop",
    ], log
    # the session's end stopped the one left
    assert [t for _, t in entries
            if "left by kthread_create_on_node: releasing" in t], entries


def test_kthread_comm(kthreads):
    """current->comm in a thread is its name, as kthread_create() made it
    ("%s/%d"), in the .ko and in the program alike (the differential run's
    log, asserted here line by line)."""
    ko = kthreads.run("jobthread", CASE, "ko")
    user = kthreads.run("jobthread", CASE, "user")
    for run in (ko, user):
        named = [x for x in run.log if x.endswith(" running")]
        assert [x.split()[2] for x in named] == [
            "jobworker", "jobtick/0", "jobnap/1", "jobwait/2"], run.log
