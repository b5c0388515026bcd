# SPDX-License-Identifier: GPL-2.0
"""Fixtures shared by dusk's integration tests.

target (session scope)
    A running embedded target (bin/dusk-target) of its own: a unique name
    in a temporary DUSK_STATE_DIR, so it never meets the developer's
    default target or a parallel test run. It forwards TARGET_FORWARDS
    (guest ports for network tests; .forwards maps each to its host port).
    Brought down at the end of the session.

kernel_log_clean (autouse, every test)
    Fails the test (an error at its teardown) when the console of any
    running target gained an Oops, BUG, WARNING or general protection
    fault line while it ran: whatever a test did, the kernel must not
    complain. The console (the serial port, a file on the host) holds
    every message up to KERN_INFO, so the check costs no guest command.

target_factory (session scope)
    target_factory(forwards=()) boots one more target; all are brought
    down at the end of the session.

A Target has .name, .state_dir, .endpoint ("127.0.0.1:PORT" of dusk.ko),
.key_file, .forwards, .env (the environment for child processes: with it
libdusk's dusk_config_init finds this target), .exec(cmd) -> (rc, out,
err), .push(path, dest), .insmod(path, *params), .log(), .status(), .up(),
.down().

The build tree is found through DUSK_BUILDDIR and DUSK_SRCDIR (set by
tests/run-pytest); both default to the source tree, the in-tree build.
"""

import os
import pathlib
import re
import subprocess
import sys
import uuid

import pytest

SRCDIR = pathlib.Path(os.environ.get("DUSK_SRCDIR") or
                      pathlib.Path(__file__).resolve().parent.parent)
BUILDDIR = pathlib.Path(os.environ.get("DUSK_BUILDDIR") or SRCDIR)
DUSK_TARGET = SRCDIR / "bin" / "dusk-target"
DUSK_AGENT = BUILDDIR / "tools" / "dusk-agent"
DUSK_KO = BUILDDIR / "kmod" / "dusk.ko"

# Modules generated at build time (dusk_constants.py) live in the build tree.
sys.path.insert(0, str(BUILDDIR / "tests"))

# The fuzzers (make check runs them beside pytest) add and remove their
# corpus files under fuzz/ while pytest collects.
collect_ignore = ["fuzz"]

# Guest ports the session target forwards, for network tests.
TARGET_FORWARDS = ("tcp:8000", "udp:9000")

# Generous: two TCG guests booting at once on two cores are slow.
BOOT_TIMEOUT = 180


# What the kernel prints when it is in trouble (Oops, BUG: ... including
# "watchdog: BUG: soft lockup", WARNING: from WARN_ON, GPFs).
KERNEL_TROUBLE = re.compile(r"\bOops\b|\bBUG: |\bWARNING: |"
                            r"general protection fault")


class TargetError(Exception):
    pass


class Target:
    """One embedded target, driven through bin/dusk-target."""

    # The targets up now, for the kernel log check of every test.
    running = set()

    def __init__(self, name, state_root):
        self.name = name
        self.state_root = pathlib.Path(state_root)
        self.state_dir = self.state_root / name
        self.key_file = self.state_dir / "key"
        self.endpoint = None
        self.forwards = {}
        self.up_stderr = ""
        self.env = dict(os.environ,
                        DUSK_STATE_DIR=str(self.state_root),
                        DUSK_TARGET_NAME=name,
                        DUSK_BUILDDIR=str(BUILDDIR),
                        DUSK_SRCDIR=str(SRCDIR),
                        DUSK_TARGET_BOOT_TIMEOUT=str(BOOT_TIMEOUT))
        # Point libdusk at this target, not at whatever the caller's
        # environment named.
        self.env.pop("DUSK_TARGET", None)
        self.env.pop("DUSK_KEY", None)
        # Console bytes a test has read and answered for itself
        # (acknowledge_console): not checked again.
        self.console_acknowledged = 0

    @property
    def console_log(self):
        return self.state_dir / "console.log"

    def console_size(self):
        try:
            return self.console_log.stat().st_size
        except FileNotFoundError:
            return 0

    def acknowledge_console(self):
        """The console so far is the calling test's business: only a test
        that provokes kernel trouble on purpose and asserts it calls this."""
        self.console_acknowledged = self.console_size()

    def console_trouble(self, offset):
        """Lines of the console past byte offset that show kernel trouble."""
        try:
            with open(self.console_log, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return []
        return [line.rstrip("\r") for line in text.splitlines()
                if KERNEL_TROUBLE.search(line)]

    def run(self, *args, timeout=120):
        """Run bin/dusk-target ARGS for this target: CompletedProcess."""
        return subprocess.run([str(DUSK_TARGET), *map(str, args)],
                              env=self.env, capture_output=True, text=True,
                              errors="replace", timeout=timeout)

    def status(self):
        """(exit status, {field: value}); "forward" lines go to .forwards
        of the result as {"tcp:8000": "127.0.0.1:PORT"}."""
        p = self.run("status")
        fields, forwards = {}, {}
        for line in p.stdout.splitlines():
            key, _, value = line.partition(" ")
            if key == "forward":
                spec, _, host = value.partition(" ")
                forwards[spec] = host
            else:
                fields[key] = value
        fields["forwards"] = forwards
        return p.returncode, fields

    def up(self, forwards=()):
        args = ["up"]
        for f in forwards:
            args += ["--forward", f]
        p = self.run(*args, timeout=BOOT_TIMEOUT + 60)
        self.up_stderr = p.stderr
        if p.returncode != 0:
            raise TargetError(f"dusk-target up failed ({p.returncode}):\n"
                              f"{p.stderr}")
        rc, st = self.status()
        if rc != 0 or st.get("state") != "running":
            raise TargetError(f"target not running after up: {st}")
        self.endpoint = st["endpoint"]
        self.forwards = {spec: int(host.rpartition(":")[2])
                         for spec, host in st["forwards"].items()}
        Target.running.add(self)
        return self

    def down(self):
        Target.running.discard(self)
        p = self.run("down", timeout=60)
        if p.returncode != 0:
            raise TargetError(f"dusk-target down failed: {p.stderr}")

    def exec(self, cmd, timeout=60):
        """Run cmd in the guest (a string goes to sh -c): (rc, out, err)."""
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        p = self.run("exec", "--timeout", timeout, "--", *argv,
                     timeout=timeout + 30)
        return p.returncode, p.stdout, p.stderr

    def push(self, path, dest=None):
        args = ["push", path] + ([dest] if dest is not None else [])
        p = self.run(*args)
        if p.returncode != 0:
            raise TargetError(f"push {path} failed: {p.stderr}")

    def insmod(self, path, *params):
        """(rc, out, err) of dusk-target insmod."""
        p = self.run("insmod", path, *params)
        return p.returncode, p.stdout, p.stderr

    def log(self):
        p = self.run("log")
        if p.returncode != 0:
            raise TargetError(f"dusk-target log failed: {p.stderr}")
        return p.stdout


@pytest.fixture(scope="session")
def target_factory(tmp_path_factory):
    """Boot extra targets: target_factory(forwards=()) -> Target."""
    state_root = tmp_path_factory.mktemp("dusk-state")
    targets = []

    def make(forwards=()):
        name = f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        t = Target(name, state_root)
        targets.append(t)
        return t.up(forwards)

    yield make
    errors = []
    for t in targets:
        try:
            t.down()
        except Exception as e:  # bring the others down all the same
            errors.append(e)
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def target(target_factory):
    """The session's running target."""
    return target_factory(TARGET_FORWARDS)


@pytest.fixture(autouse=True)
def kernel_log_clean():
    """Fail a test after which a target's console shows kernel trouble."""
    before = {t: t.console_size() for t in Target.running}
    yield
    trouble = []
    for t in list(Target.running):
        since = max(before.get(t, 0), t.console_acknowledged)
        trouble += [f"{t.name}: {line}" for line in t.console_trouble(since)]
    if trouble:
        pytest.fail("the target's kernel log shows trouble:\n" +
                    "\n".join(trouble[:20]), pytrace=False)
