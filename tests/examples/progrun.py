# SPDX-License-Identifier: GPL-2.0
"""A user-level module program run in the background of a test, its
stdout and stderr collected by threads (a report a crash or a stuck hook
prints must be read while the program runs, or after it died)."""
import subprocess
import threading
import time


class Program:
    """prog PARAMS... in env; .stdout(), .stderr() so far."""

    def __init__(self, prog, env, params=()):
        self.proc = subprocess.Popen(
            [str(prog), *params], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out, self.err = [], []
        self.readers = [threading.Thread(
            target=lambda f=f, v=v: v.extend(iter(lambda: f.read1(65536),
                                                  b"")), daemon=True)
            for f, v in ((self.proc.stdout, self.out),
                         (self.proc.stderr, self.err))]
        for r in self.readers:
            r.start()

    def stdout(self):
        return b"".join(self.out).decode(errors="replace")

    def stderr(self):
        return b"".join(self.err).decode(errors="replace")

    def wait_output(self, text, timeout=120):
        """Until text is on stdout; fails if the program ends first."""
        deadline = time.monotonic() + timeout
        while text not in self.stdout():
            assert self.proc.poll() is None, self.stdout() + self.stderr()
            assert time.monotonic() < deadline, self.stdout() + self.stderr()
            time.sleep(0.2)

    def wait(self, timeout=60):
        """Its exit status, once both streams are read to their end."""
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            for r in self.readers:
                r.join(timeout=10)

    def stop(self):
        """SIGKILL (a hook stuck in a loop does not end at SIGINT); the
        watchdog ends the session."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for r in self.readers:
            r.join(timeout=10)


def wait_until(cond, what, timeout=60):
    """cond()'s first true value; AssertionError with what() past the
    deadline."""
    deadline = time.monotonic() + timeout
    while not (v := cond()):
        assert time.monotonic() < deadline, what()
        time.sleep(0.2)
    return v


def wait_for_command(target, cmd, want, timeout=60):
    """Until cmd, run in the target, succeeds (want True) or fails."""
    wait_until(lambda: (target.exec(cmd)[0] == 0) == want,
               lambda: f"{cmd}: never {want}", timeout)
