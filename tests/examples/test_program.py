# SPDX-License-Identifier: GPL-2.0
"""A module program's own options (README: "The program takes..."), on
markdrop (tests/examples/mods/markdrop) built by dusk-cc, against the
session's target with real traffic:

  --no-kernel-log, --no-local-log  where printk's lines go (stdout, the
                    target's kernel log), each line's presence and absence
                    asserted on both sides;
  --policy, --hold-ms  a packet whose verdict comes too late (the program
                    SIGSTOPped while the packet waits in the kernel) goes
                    by the policy: dropped with drop, delivered unchanged
                    with accept; a verdict in time is applied (control);
  --help            exit 0, the options and the module's parameters with
                    the descriptions its source gives them;
  misuse            an unknown option, a bad --hold-ms or --policy value:
                    the exact one-line message, exit status 2, and nothing
                    reaches the target (its counters and its log show no
                    datagram, no session);
  DUSK_TRACE        the environment's trace file, as --trace FILE (which
                    wins over it).

Every wait polls with a deadline: the target's clock, its log or the
program's output says when a step is done, never a fixed sleep.
"""

import os
import re
import signal
import subprocess
import threading
import time
import uuid

import pytest

from diff import harness, mod  # noqa: F401 (fixture)

MARKDROP = mod("markdrop")
SOURCE = (MARKDROP.srcdir / "markdrop.c").read_text()
LOADED = "markdrop: loaded: ports 9100-9115, drop mark 9"
# One datagram to a port markdrop looks at: its LOCAL_OUT hook logs it.
UDP = "$N udp -m -w {wait} -s 127.0.0.1:4001 127.0.0.1 9100 {payload}"
OUT_LINE = "markdrop: out 127.0.0.1:9100 len {n} mark {mark}"
START_TIMEOUT = 120
STOP_TIMEOUT = 60


class Program:
    """The program, its stdout and stderr read as they come."""

    def __init__(self, prog, args, env):
        self.proc = subprocess.Popen([str(prog), *args], env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self._out, self._err = [], []
        self._readers = [threading.Thread(target=self._read, args=(f, dest),
                                          daemon=True)
                         for f, dest in ((self.proc.stdout, self._out),
                                         (self.proc.stderr, self._err))]
        for r in self._readers:
            r.start()

    @staticmethod
    def _read(f, dest):
        for chunk in iter(lambda: f.read1(65536), b""):
            dest.append(chunk)

    @property
    def stdout(self):
        return b"".join(self._out).decode(errors="replace")

    @property
    def stderr(self):
        return b"".join(self._err).decode(errors="replace")

    def wait_for(self, text, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while text not in self.stdout:
            assert self.proc.poll() is None, (
                f"the program ended ({self.proc.returncode}) before "
                f"printing {text!r}:\n{self.stdout}{self.stderr}")
            assert time.monotonic() < deadline, (
                f"{text!r} not printed in {timeout} s:\n"
                f"{self.stdout}{self.stderr}")
            time.sleep(0.2)

    def stop(self):
        """SIGINT (module_exit), its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"no exit {STOP_TIMEOUT} s after SIGINT:\n"
                                 f"{self.stdout}{self.stderr}")
        finally:
            for r in self._readers:
                r.join(timeout=10)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def program(harness):
    prog = harness.build_prog(MARKDROP)
    harness.nettest()
    return prog


def proc_dusk(harness):
    """/proc/dusk of the target: {name: value text}."""
    out = harness.exec("cat /proc/dusk")
    return dict(line.partition(" ")[::2] for line in out.splitlines())


def module_lines(entries):
    return [text for _, text in entries if text.startswith("markdrop: ")]


def wait_log(harness, token, pred, what, timeout=START_TIMEOUT):
    """The kernel log after token once pred(module lines) holds."""
    deadline = time.monotonic() + timeout
    while True:
        entries = harness.kernel_log(token)
        if pred(module_lines(entries)):
            return entries
        assert time.monotonic() < deadline, \
            f"{what} not in the kernel log after {timeout} s:\n" + \
            "\n".join(text for _, text in entries)
        time.sleep(0.5)


# ---- where printk goes -------------------------------------------------------

@pytest.mark.parametrize("option,local,kernel", [
    ((), True, True),
    (("--no-kernel-log",), True, False),
    (("--no-local-log",), False, True),
], ids=["default", "no-kernel-log", "no-local-log"])
def test_printk_destinations(harness, program, option, local, kernel):
    """Each of markdrop's lines (init, its hook on a datagram, exit) is on
    the program's stdout as <6>TEXT exactly when local, and in the
    target's kernel log exactly when kernel; the session itself is in the
    kernel log either way (so an absent line is not a program that never
    reached the target)."""
    token = harness.marker()
    p = Program(program, [*option, "port=9100"], harness.target.env)
    try:
        if local:
            p.wait_for(f"<6>{LOADED}\n")
        else:
            wait_log(harness, token, lambda ls: LOADED in ls, LOADED)
        seen = harness.script(UDP.format(wait=5000, payload="hello"))
        assert seen == ["udp sent 1 received 1 marks 0x0"], p.stdout
        # The hook has run once the datagram is through: its printk is
        # made before its verdict.
        status = p.stop()
    finally:
        p.kill()
    assert status == 0, p.stdout + p.stderr
    lines = [LOADED, OUT_LINE.format(n=33, mark=0),
             "markdrop: unloaded: 1 seen, 0 dropped"]
    printed = [ln for ln in p.stdout.splitlines() if "markdrop: " in ln]
    assert printed == ([f"<6>{ln}" for ln in lines] if local else []), \
        p.stdout
    entries = harness.kernel_log(token)
    assert module_lines(entries) == (lines if kernel else []), entries
    sessions = [text for _, text in entries
                if re.match(r"dusk: session [0-9a-f]{8} from ", text)]
    assert len(sessions) == 1, entries


# ---- a verdict that comes too late ------------------------------------------

# In the target, in the background: announce each datagram on the serial
# console (which is no network: it reaches the host while the program is
# stopped and its hooks hold every packet), send it, say what became of
# it; again while the datagram came through marked by the running
# program, at most 20 times. The datagram waits for its reply longer
# than its two hooks' holds (accept) and the program stays stopped less
# than the runtime's request timeout (5 s): a kernel call of the hook in
# flight when SIGSTOP came would otherwise fail on SIGCONT.
HOLD_MS = 1200
LATE_WAIT_MS = 3500
LATE_SCRIPT = """
i=0
while :; do
    i=$((i + 1))
    echo "dusk-test-stop {token} $i" >/dev/console
    r=$($N udp -m -w {wait} -s 127.0.0.1:4001 127.0.0.1 9100 late$i)
    echo "$r"
    [ "$r" = "udp sent 1 received 1 marks 0x5" ] && [ $i -lt 20 ] || break
    sleep 1
done
echo "dusk-test-done {token}" >/dev/console
"""


def console_wait(console, start, pattern, timeout):
    """The first match of pattern in the serial console's log after byte
    start (lines end with CR LF there), polled until timeout."""
    rx = re.compile(pattern, re.M)
    deadline = time.monotonic() + timeout
    while True:
        m = rx.search(console.read_bytes()[start:].decode(errors="replace"))
        if m:
            return m
        assert time.monotonic() < deadline, \
            f"{pattern!r} not on the target's console after {timeout} s"
        time.sleep(0.05)


@pytest.mark.parametrize("policy,fate", [
    ("drop", "udp sent 1 received 0"),
    ("accept", "udp sent 1 received 1 marks 0x0"),
])
def test_late_verdict_goes_by_policy(harness, program, policy, fate):
    """markdrop set_mark=5 --policy P --hold-ms 1200: while the program
    runs, a datagram comes through marked 5 (its verdict and change
    applied); SIGSTOPped, its next datagram waits in the kernel past
    1.2 s and goes by the policy - dropped, or delivered without the
    mark. dusk.ko shows the session's policy and hold, and counts the
    release; the program, continued, says the verdict came too late."""
    hold = HOLD_MS
    token = uuid.uuid4().hex
    console = harness.target.state_dir / "console.log"
    guest_out = f"/tmp/late-{token}.out"
    p = Program(program, ["port=9100", "set_mark=5", "--policy", policy,
                          "--hold-ms", str(hold)], harness.target.env)
    stopped = False
    try:
        p.wait_for(f"<6>{LOADED}\n")
        state = proc_dusk(harness)
        assert (state["policy"], state["hold_ms"]) == (policy, str(hold)), \
            state
        released0 = int(state["released"])
        start = console.stat().st_size
        script = LATE_SCRIPT.format(token=token, wait=LATE_WAIT_MS)
        harness.exec(f"N={harness.nettest()} sh -c '{script}' "
                     f"</dev/null >{guest_out} 2>&1 &")
        console_wait(console, start, rf"^dusk-test-stop {token} \d+", 60)
        p.proc.send_signal(signal.SIGSTOP)
        stopped = True
        # Each datagram takes at most its wait plus 1 s.
        console_wait(console, start, rf"^dusk-test-done {token}\r?$",
                     20 * (LATE_WAIT_MS / 1000 + 1))
        p.proc.send_signal(signal.SIGCONT)
        stopped = False
        seen = harness.exec(f"cat {guest_out}").splitlines()
        released = int(proc_dusk(harness)["released"]) - released0
        status = p.stop()
    except AssertionError as e:
        raise AssertionError(f"{e}\n---- the program's output:\n"
                             f"{p.stdout}{p.stderr}") from None
    finally:
        if stopped:
            p.proc.send_signal(signal.SIGCONT)
        p.kill()
    out = p.stdout + p.stderr
    assert status == 0, out
    # Those before the stop came through marked; the last went by policy.
    assert seen and seen[-1] == fate, (seen, out)
    assert all(s == "udp sent 1 received 1 marks 0x5" for s in seen[:-1]), \
        (seen, out)
    assert released >= 1, (released, seen, out)
    # The program says so: of a HOOK it read too late, or of a verdict
    # that came too late.
    assert re.search(rf"^dusk: warning: packet \d+ (waited \d+ ms > hold_ms "
                     rf"{hold} \(program stopped\?\): released by policy, "
                     rf"not run|was released by policy before its verdict "
                     rf"\(hold_ms {hold}\): verdict and changes not "
                     rf"applied)$", out, re.M), out


# ---- --help and misuse ---------------------------------------------------------

def test_help(program):
    """--help: exit 0 at once (no target needed), the options, the
    module's description and each parameter with its type and the
    description markdrop's source gives it."""
    p = subprocess.run([str(program), "--help"], capture_output=True,
                       text=True, timeout=60,
                       env=dict(os.environ, DUSK_STATE_DIR="/nonexistent"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stderr == ""
    out = p.stdout
    assert out.startswith(f"Usage: {program.name} [--target HOST:PORT] "), out
    for opt in ("--target HOST:PORT", "--key FILE", "--hold-ms MS",
                "--policy accept|drop", "--no-kernel-log", "--no-local-log",
                "--trace FILE", "--help", "param=value"):
        assert re.search(rf"^  {re.escape(opt)} ", out, re.M), (opt, out)
    desc = re.search(r'MODULE_DESCRIPTION\("(.*)"\)', SOURCE).group(1)
    assert f"\n{desc}\n" in out, out
    params = re.findall(r"module_param\((\w+), (\w+), \d+\);\n"
                        r'MODULE_PARM_DESC\(\1, "(.*)"\);', SOURCE)
    assert len(params) == 3, params
    listed = out.partition("\nParameters:\n")[2].splitlines()
    assert sorted(listed) == sorted(f"  {name}={type_}\t{text}"
                                    for name, type_, text in params), out


BAD_USAGE = {
    "unknown-option": (["--frobnicate"],
                       "{p}: unknown option '--frobnicate' ({p} --help "
                       "lists them)"),
    "hold-ms-zero": (["--hold-ms", "0"],
                     "{p}: --hold-ms 0: not a number of milliseconds "
                     "(1 to 3600000)"),
    "hold-ms-word": (["--hold-ms=soon"],
                     "{p}: --hold-ms soon: not a number of milliseconds "
                     "(1 to 3600000)"),
    "hold-ms-too-long": (["--hold-ms", "3600001"],
                         "{p}: --hold-ms 3600001: not a number of "
                         "milliseconds (1 to 3600000)"),
    "policy-word": (["--policy", "maybe"],
                    "{p}: --policy maybe: not accept or drop"),
    "policy-missing": (["port=9100", "--policy"],
                       "{p}: --policy needs a value"),
}


@pytest.mark.parametrize("key", BAD_USAGE)
def test_bad_usage_reaches_nothing(harness, program, key):
    """Misuse: one exact line on stderr, nothing on stdout, exit status 2,
    and no datagram reaches dusk.ko: its receive counters stand still and
    its log shows no session (the same program with good options does
    make one: test_printk_destinations)."""
    args, msg = BAD_USAGE[key]
    token = harness.marker()
    before = proc_dusk(harness)
    p = subprocess.run([str(program), *args], capture_output=True,
                       text=True, timeout=60, env=harness.target.env)
    after = proc_dusk(harness)
    assert (p.returncode, p.stdout, p.stderr) == \
        (2, "", msg.format(p=program.name) + "\n")
    for counter in ("session", "rx_ok", "rx_bad_mac", "rx_malformed",
                    "rx_replayed"):
        assert after[counter] == before[counter], (counter, before, after)
    assert not [text for _, text in harness.kernel_log(token)
                if text.startswith("dusk: ")]


# ---- DUSK_TRACE ------------------------------------------------------------------

TRACE_LINE = re.compile(r"^\d+\.\d{6} [<>] [A-Z_]+(/reply)? "
                        r"ch (main|watchdog) id \d+")


def traced_run(harness, program, args, env):
    token = harness.marker()
    p = Program(program, ["port=9100", *args], env)
    try:
        p.wait_for(f"<6>{LOADED}\n")
        seen = harness.script(UDP.format(wait=5000, payload="traced"))
        status = p.stop()
    finally:
        p.kill()
    assert status == 0 and seen == ["udp sent 1 received 1 marks 0x0"], \
        (seen, p.stdout, p.stderr)
    return token


def assert_trace(path):
    """A whole session, one message a line: HELLO first, markdrop's two
    hooks registered, HOOKs answered by VERDICTs, BYE answered last."""
    lines = path.read_text().splitlines()
    assert lines and all(TRACE_LINE.match(ln) for ln in lines), lines[:5]
    assert re.match(r"^\S+ > HELLO ch main id 1 ", lines[0]), lines[0]
    assert re.match(r"^\S+ < BYE/reply ch main ", lines[-1]), lines[-1]
    # LOCAL_IN (1) and LOCAL_OUT (3) of IPv4 (2); a retransmission
    # repeats its request's line, id and all.
    regs = {re.search(r" id (\d+) pf (\d+) hooknum (\d+) ", ln).groups()
            for ln in lines if " > HOOK_REGISTER ch main " in ln}
    assert sorted((pf, hn) for _, pf, hn in regs) == \
        [("2", "1"), ("2", "3")], regs
    assert any(" < HOOK ch main " in ln for ln in lines), lines
    assert any(" > VERDICT ch main " in ln for ln in lines), lines


def test_dusk_trace_environment(harness, program, tmp_path):
    """DUSK_TRACE=FILE traces as --trace FILE does; --trace wins over
    it."""
    env_file, opt_file = tmp_path / "env.trace", tmp_path / "opt.trace"
    env = dict(harness.target.env, DUSK_TRACE=str(env_file))
    traced_run(harness, program, [], env)
    assert_trace(env_file)

    env_file.unlink()
    traced_run(harness, program, ["--trace", str(opt_file)], env)
    assert_trace(opt_file)
    assert not env_file.exists()
