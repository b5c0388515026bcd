# SPDX-License-Identifier: GPL-2.0
"""Differential runs of a kernel module: the .ko and the user-level program.

One module source, two builds, the same scripted traffic:

  ko    kbuild builds the .ko (make -C KDIR M=DIR, in a copy of the source);
        it is loaded in the target (finit_module, once: see nettest load),
        the scenario runs in the target, the module is removed (rmmod);
  user  bin/dusk-cc builds the program from a copy of the same source
        (dusk-cc --kdir KDIR -M DIR -o PROG); it runs on the host with the
        target's environment (target.env) and param=value arguments as
        insmod takes them, the same scenario runs in the target once the
        module's init has logged what it logs in the .ko run, and SIGINT
        makes the program call the module's exit and stop.

Each run collects:
  loaded        did the module's init succeed?
  observations  what the traffic clients printed (nettest lines: delivered,
                dropped, marks, the credentials nfsniff returned...);
  log           the module's kernel log lines since a marker written to
                /dev/kmsg before the run, as "<LEVEL>TEXT": lines whose text
                starts with "NAME: " (the modules use pr_fmt(KBUILD_MODNAME
                ": ")), timestamps dropped, less what the kernel's module
                loader prints under a module's name (LOADER_LINES);
  trouble       kernel log lines of oopses, warnings, lockups: none allowed;
  output        the program's own stdout and stderr (user runs);
  diagnostics   the program's own reports in it (WARNING, BUG, "dusk:
                error/warning" lines: a kernel call not made, a packet
                released before its verdict...): none allowed unless the
                case names them;
  released      packets dusk.ko released by policy while the scenario ran
                (user runs, from /proc/dusk): none allowed, so that a drop
                never passes as a verdict that came too late.

The program runs with an explicit hold (HOLD_MS): a packet waits that long
for its verdict before dusk.ko lets it go by policy.

Harness.check() asserts a Case's expectations on a run and, for a user
run, that it matches the .ko run of the same case (run first if needed).
Values that legitimately differ between runs are normalised only through
the case's explicit normalise list, which applies to both runs alike.
Without a working bin/dusk-cc, user runs fail, loudly: they never skip.

Test files take the harness fixture with "from diff import harness": a
conftest.py here would shadow tests/conftest.py, which other test files
import by name.
"""

import dataclasses
import difflib
import pathlib
import re
import shutil
import signal
import os
import subprocess
import threading
import time
import uuid

import pytest

from conftest import BUILDDIR, SRCDIR

EXAMPLES_DIR = SRCDIR / "examples"
MODS_DIR = SRCDIR / "tests" / "examples" / "mods"
DUSK_CC = SRCDIR / "bin" / "dusk-cc"
NETTEST_SRC = SRCDIR / "tests" / "examples" / "nettest.c"
NETTEST_BUILT = BUILDDIR / "tests" / "examples" / "nettest"
GUEST_NETTEST = "/tmp/nettest"

MODES = ("ko", "user")

# Printed by the kernel's module loader under the module's name, not by the
# module: a .ko run has them, a user-level program has no loader.
LOADER_LINES = [re.compile(p) for p in (
    r"loading out-of-tree module taints kernel\.$",
    r"module verification failed: .*$",
    r"`.*' invalid for parameter `.*'$",
    r"unknown parameter '.*' ignored$",
)]

# Kernel trouble during a run fails it, whichever mode.
KERNEL_TROUBLE = re.compile(
    r"BUG: |WARNING: |Oops|general protection fault|Call Trace:|"
    r"rcu: INFO|RCU stall|sleeping function called from invalid context|"
    r"scheduling while atomic|refcount_t: |list_(add|del) corruption|"
    r"kernel tried to execute|unable to handle")

DMESG_LINE = re.compile(r"^<(\d+)>\[\s*\d+\.\d+\] ?(.*)$")

BUILD_TIMEOUT = 300
READY_TIMEOUT = 120
FAIL_TIMEOUT = 60       # for a program whose init fails to end
STOP_TIMEOUT = 60
SCENARIO_TIMEOUT = 180
# Longer than any scenario's clients wait for a reply, so that a verdict
# that is merely slow is not mistaken for the policy's accept.
HOLD_MS = 5000

# The program's own reports: what a clean run prints none of.
PROGRAM_DIAGNOSTIC = re.compile(
    r"^(WARNING: |BUG: |kernel BUG at |Kernel panic|dusk: (error|warning): |"
    r"------------\[ cut here \]------------)")
# What a failed init_module prints (mod_main.c), its errno as the .ko's.
INIT_FAILED = re.compile(r": init_module failed: -E[A-Z0-9]+ \((.*)\)$", re.M)
# A parameter the kernel's loader refuses: its words, and the program's.
BAD_PARAM = re.compile(r"`(.*)' invalid for parameter `(.*)'$")

@dataclasses.dataclass(frozen=True)
class Module:
    """A module's source directory (a kbuild Makefile with obj-m); tree,
    if given, is the project folder holding it, copied whole (headers
    beside the module: ../include)."""
    name: str
    srcdir: pathlib.Path
    tree: pathlib.Path = None


def example(name):
    return Module(name, EXAMPLES_DIR / name)


def mod(name):
    return Module(name, MODS_DIR / name)


@dataclasses.dataclass
class Case:
    """One scenario of a module.

    params      module parameters, as insmod and the program take them
    script      shell script run in the target (sh -c) once the module is
                loaded; $N is the nettest client. Its stdout lines are the
                observations.
    setup       shell script run before loading (its output is ignored)
    expect      the observations, after normalisation (None: not checked)
    log         the module's log lines, after normalisation (None: not
                checked)
    loaded      whether the module's init succeeds
    normalise   (regex, replacement) pairs applied, line by line, to the
                observations and log lines of both runs before they are
                compared; each one says in a comment why it is needed
    check       callable(run): further assertions on a raw run
    diagnostics regexes of the program's own reports the case expects
                (each must match a report; no other report is allowed)
    """
    params: tuple = ()
    script: str = ""
    setup: str = ""
    expect: list = None
    log: list = None
    loaded: bool = True
    normalise: tuple = ()
    check: object = None
    diagnostics: tuple = ()


@dataclasses.dataclass
class Run:
    mode: str
    loaded: bool = False
    load_error: str = ""
    init_log: list = dataclasses.field(default_factory=list)
    observations: list = dataclasses.field(default_factory=list)
    log: list = dataclasses.field(default_factory=list)
    trouble: list = dataclasses.field(default_factory=list)
    output: str = ""
    exit_status: int = None
    loader_log: list = dataclasses.field(default_factory=list)   # ko runs
    released: int = None    # by policy during the scenario (user runs)

    def diagnostics(self):
        """The program's own reports (user runs), one line each."""
        return [line for line in self.output.splitlines()
                if PROGRAM_DIAGNOSTIC.match(line)]

    def numbers(self, pattern):
        """The integers of the first group of pattern in the log, in order."""
        rx = re.compile(pattern)
        return [int(m.group(1), 0) for line in self.log
                for m in [rx.search(line)] if m]


def assert_lines(got, want, what):
    """got == want, or an AssertionError showing how they differ."""
    if got != want:
        diff = "\n".join(difflib.unified_diff(
            want, got, "expected", "got", lineterm=""))
        raise AssertionError(f"{what}:\n{diff}")


def normalised(lines, rules):
    out = []
    for line in lines:
        for pattern, repl in rules:
            line = re.sub(pattern, repl, line)
        out.append(line)
    return out


def _copy_source(module, dest):
    """A copy of the module's source in dest: the module's folder in it."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(module.tree or module.srcdir, dest,
                    ignore=shutil.ignore_patterns(
                        "*.o", "*.ko", "*.mod", "*.mod.c", "*.cmd",
                        "modules.order", "Module.symvers", "kbuild.log"))
    return dest / module.srcdir.relative_to(module.tree) if module.tree \
        else dest


class Harness:
    """Differential runs against one target; builds and runs are cached."""

    def __init__(self, target, workdir):
        self.target = target
        self.workdir = pathlib.Path(workdir)
        rc, st = target.status()
        assert rc == 0, f"target not running: {st}"
        self.release = st["release"]
        self.kdir = pathlib.Path(f"/lib/modules/{self.release}/build")
        assert (self.kdir / "Makefile").exists(), \
            f"no kbuild tree for the target's kernel at {self.kdir}"
        self._ko = {}
        self.kbuild_output = {}
        self._prog = {}
        self._runs = {}
        self._nettest_ready = False

    # ---- builds --------------------------------------------------------------

    def build_ko(self, module):
        """Build module's .ko with kbuild in a copy of its source."""
        if module.name not in self._ko:
            d = _copy_source(module, self.workdir / "ko" / module.name)
            # A build of its own, not a part of an outer make -j's.
            env = {k: v for k, v in os.environ.items()
                   if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
            p = subprocess.run(["make", "-C", str(self.kdir), f"M={d}",
                                "modules"], capture_output=True, text=True,
                               timeout=BUILD_TIMEOUT, env=env)
            assert p.returncode == 0, \
                f"kbuild of {module.name} failed:\n{p.stdout}{p.stderr}"
            ko = d / f"{module.name}.ko"
            assert ko.exists(), f"kbuild made no {ko}"
            self._ko[module.name] = ko
            self.kbuild_output[module.name] = p.stdout + p.stderr
        return self._ko[module.name]

    def build_prog(self, module):
        """Build module's user-level program with bin/dusk-cc (a failure
        is remembered: every case of the module fails with it)."""
        if module.name not in self._prog:
            try:
                self._prog[module.name] = self._build_prog(module)
            except AssertionError as e:
                self._prog[module.name] = e
        prog = self._prog[module.name]
        if isinstance(prog, AssertionError):
            raise prog
        return prog

    def _build_prog(self, module):
        assert DUSK_CC.exists(), (
            f"{DUSK_CC} does not exist: dusk-cc is not written yet "
            f"(issue 3), so the user-level half of the differential "
            f"test of {module.name} cannot run")
        d = _copy_source(module, self.workdir / "user" / module.name)
        prog = self.workdir / "user" / f"{module.name}.prog"
        p = subprocess.run([str(DUSK_CC), "--kdir", str(self.kdir),
                            "-M", str(d), "-o", str(prog)],
                           env=self.target.env, capture_output=True,
                           text=True, timeout=BUILD_TIMEOUT)
        assert p.returncode == 0, \
            f"dusk-cc -M {d} failed:\n{p.stdout}{p.stderr}"
        assert prog.exists(), f"dusk-cc made no {prog}"
        return prog

    def nettest(self):
        """The static traffic client, pushed into the target."""
        if not self._nettest_ready:
            exe = NETTEST_BUILT
            if not (exe.exists() and
                    exe.stat().st_mtime >= NETTEST_SRC.stat().st_mtime):
                exe = self.workdir / "nettest"
                subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o",
                                str(exe), str(NETTEST_SRC)], check=True)
            self.target.push(exe, GUEST_NETTEST)
            self._nettest_ready = True
        return GUEST_NETTEST

    # ---- the target ------------------------------------------------------------

    def exec(self, cmd, timeout=60):
        rc, out, err = self.target.exec(cmd, timeout=timeout)
        assert rc == 0, f"{cmd!r} failed ({rc}) in the target:\n{out}{err}"
        return out

    def script(self, script, timeout=SCENARIO_TIMEOUT):
        """Run a scenario script in the target: its stdout lines."""
        n = self.nettest()
        out = self.exec(["sh", "-c", f"N={n}\nset -e\n{script}"],
                        timeout=timeout)
        return out.splitlines()

    def dusk_counters(self):
        """dusk.ko's counters (/proc/dusk) in the target."""
        counters = {}
        for line in self.exec("cat /proc/dusk").splitlines():
            name, _, value = line.partition(" ")
            if value.strip().isdigit():
                counters[name] = int(value)
        assert "released" in counters, counters
        return counters

    def marker(self):
        token = f"dusk-diff {uuid.uuid4().hex}"
        self.exec(f"echo '{token}' >/dev/kmsg")
        return token

    def kernel_log(self, token):
        """The kernel log after the marker: [(level, text)]."""
        out = self.exec("dmesg -r")
        lines = out.splitlines()
        for i, line in enumerate(lines):
            if line.endswith(token):
                lines = lines[i + 1:]
                break
        else:
            raise AssertionError(f"marker {token!r} not in the kernel log")
        entries = []
        for line in lines:
            m = DMESG_LINE.match(line)
            if m:
                entries.append((int(m.group(1)) & 7, m.group(2)))
            elif entries:       # a continuation line
                entries.append((entries[-1][0], line))
        return entries

    def module_log(self, module, entries):
        prefix = module.name + ": "
        lines = []
        for level, text in entries:
            if not text.startswith(prefix):
                continue
            rest = text[len(prefix):]
            if any(rx.match(rest) for rx in LOADER_LINES):
                continue
            lines.append(f"<{level}>{text}")
        return lines

    def loader_log(self, module, entries):
        """What the kernel's loader printed under the module's name."""
        prefix = module.name + ": "
        return [text[len(prefix):] for _, text in entries
                if text.startswith(prefix) and
                any(rx.match(text[len(prefix):]) for rx in LOADER_LINES)]

    @staticmethod
    def trouble(entries):
        return [text for _, text in entries if KERNEL_TROUBLE.search(text)]

    # ---- runs ----------------------------------------------------------------------

    def run_ko(self, module, case):
        run = Run("ko")
        ko = self.build_ko(module)
        nettest = self.nettest()
        guest_ko = f"/tmp/{module.name}.ko"
        self.target.push(ko, guest_ko)
        if case.setup:
            self.script(case.setup)
        token = self.marker()
        out = self.exec([nettest, "load", guest_ko, *case.params]).strip()
        run.loaded = out == "load ok"
        run.load_error = "" if run.loaded else out
        run.init_log = self.module_log(module, self.kernel_log(token))
        try:
            if run.loaded:
                run.observations = self.script(case.script)
        finally:
            if run.loaded:
                self.exec(["rmmod", module.name])
        entries = self.kernel_log(token)
        run.log = self.module_log(module, entries)
        run.loader_log = self.loader_log(module, entries)
        run.trouble = self.trouble(entries)
        return run

    def run_user(self, module, case, ko_run):
        run = Run("user")
        prog = self.build_prog(module)
        self.nettest()
        if case.setup:
            self.script(case.setup)
        token = self.marker()
        proc = subprocess.Popen([str(prog), *case.params],
                                env=dict(self.target.env,
                                         DUSK_HOLD_MS=str(HOLD_MS)),
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        chunks = []
        reader = threading.Thread(
            target=lambda: chunks.extend(iter(
                lambda: proc.stdout.read1(65536), b"")),
            daemon=True)
        reader.start()
        try:
            # Ready when its init has logged what the .ko's init logged (or
            # it has ended: init failed). Where the .ko's init failed, the
            # program is waited for to end.
            want = len(ko_run.init_log) if ko_run.loaded else 1 << 30
            deadline = time.monotonic() + (READY_TIMEOUT if ko_run.loaded
                                           else FAIL_TIMEOUT)
            while True:
                if proc.poll() is not None:
                    break
                got = self.module_log(module, self.kernel_log(token))
                if len(got) >= want:
                    run.loaded = True
                    break
                if time.monotonic() > deadline:
                    assert not ko_run.loaded, (
                        f"{prog.name} not ready after {READY_TIMEOUT} s: "
                        f"its init logged {got}, the .ko's "
                        f"{ko_run.init_log}")
                    run.loaded = True       # its init did not fail
                    break
                time.sleep(0.5)
            if run.loaded and ko_run.loaded:
                run.init_log = got[:want]
                before = self.dusk_counters()
                run.observations = self.script(case.script)
                after = self.dusk_counters()
                run.released = after["released"] - before["released"]
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                run.exit_status = proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError(
                    f"{prog.name} did not stop within {STOP_TIMEOUT} s "
                    f"of SIGINT")
            finally:
                reader.join(timeout=10)
                run.output = b"".join(chunks).decode(errors="replace")
        if not run.loaded:
            run.load_error = f"exit status {run.exit_status}"

        # Its exit's printk go to the target too: wait until they settle.
        prev = None
        deadline = time.monotonic() + 10
        while True:
            entries = self.kernel_log(token)
            log = self.module_log(module, entries)
            if log == prev or time.monotonic() > deadline:
                break
            prev = log
            time.sleep(0.5)
        run.log = log
        run.trouble = self.trouble(entries)
        return run

    def run(self, module, key, case, mode):
        """The run of case (named key) in mode, made once per session."""
        k = (module.name, key, mode)
        if k not in self._runs:
            if mode == "ko":
                self._runs[k] = self.run_ko(module, case)
            else:
                ko = self.run(module, key, case, "ko")
                self._runs[k] = self.run_user(module, case, ko)
        return self._runs[k]

    # ---- checks ------------------------------------------------------------------

    def check(self, module, key, case, mode):
        """Run case in mode and assert everything about it."""
        run = self.run(module, key, case, mode)
        try:
            self._check(module, key, case, run)
        except AssertionError as e:
            if run.mode != "user":
                raise
            raise AssertionError(f"{e}\n---- the program's output (end):\n"
                                 f"{run.output[-6000:]}") from None
        return run

    def _check(self, module, key, case, run):
        mode = run.mode
        where = f"{module.name} [{key}] {mode}"
        assert not run.trouble, \
            f"{where}: kernel trouble:\n" + "\n".join(run.trouble)
        assert run.loaded == case.loaded, (
            f"{where}: loaded {run.loaded} ({run.load_error}), expected "
            f"{case.loaded}")
        obs = normalised(run.observations, case.normalise)
        log = normalised(run.log, case.normalise)
        if case.expect is not None:
            assert_lines(obs, case.expect, f"{where}: what the traffic saw")
        if case.log is not None:
            assert_lines(log, case.log, f"{where}: the module's log")
        if case.check:
            case.check(run)
        if mode == "user":
            ko = self.run(module, key, case, "ko")
            if case.loaded:
                assert run.exit_status == 0, \
                    f"{where}: exit status {run.exit_status} after SIGINT"
                assert run.released == 0, (
                    f"{where}: {run.released} packet(s) released by policy "
                    f"during the scenario: a verdict came too late")
            elif any(BAD_PARAM.match(line) for line in ko.loader_log):
                # Refused before init, in the loader's words; exit 2. The
                # kernel names an array's value as parsing left it: cut at
                # its first comma.
                said = re.findall(r": '(.*)' invalid for parameter '(.*)'$",
                                  run.output, re.M)
                for line in ko.loader_log:
                    m = BAD_PARAM.match(line)
                    if m:
                        assert any(p == m.group(2) and
                                   v.split(",")[0] == m.group(1)
                                   for v, p in said), (
                            f"{where}: the program said {said}, the "
                            f"kernel {line!r}")
                assert run.exit_status == 2, \
                    f"{where}: exit status {run.exit_status}, expected 2"
            else:
                # As insmod reports it: the same errno, exit status 1.
                failed = INIT_FAILED.findall(run.output)
                assert failed == [ko.load_error.removeprefix(
                    "load failed: ")], (
                    f"{where}: init_module failures {failed}, the .ko's "
                    f"{ko.load_error!r}")
                assert run.exit_status == 1, \
                    f"{where}: exit status {run.exit_status}, expected 1"
            reports = run.diagnostics()
            for rx in case.diagnostics:
                assert any(re.search(rx, r) for r in reports), \
                    f"{where}: no report matching {rx!r} in {reports}"
            unexpected = [r for r in reports
                          if not any(re.search(rx, r)
                                     for rx in case.diagnostics)]
            assert not unexpected, \
                f"{where}: the program reported:\n" + "\n".join(unexpected)
            assert_lines(obs, normalised(ko.observations, case.normalise),
                         f"{where}: what the traffic saw, against the .ko "
                         f"(expected)")
            assert_lines(log, normalised(ko.log, case.normalise),
                         f"{where}: the module's log, against the .ko's "
                         f"(expected)")
            # printk prints locally too.
            for line in run.log:
                text = line.partition(">")[2]
                assert text in run.output, \
                    f"{where}: {text!r} not in the program's output"


_harnesses = {}


@pytest.fixture(scope="session")
def harness(target, tmp_path_factory):
    """The differential harness on the session's target, shared by every
    test file that imports this fixture."""
    if target.name not in _harnesses:
        _harnesses[target.name] = Harness(
            target, tmp_path_factory.mktemp("examples"))
    return _harnesses[target.name]
