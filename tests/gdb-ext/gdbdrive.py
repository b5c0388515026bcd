# SPDX-License-Identifier: GPL-2.0
"""Drive bin/dusk-gdb for the tests: a gdb process whose output is read as
it comes, so that a test can wait for a line (the module loaded, a
breakpoint hit) and act meanwhile (send traffic, interrupt the program)."""

import os
import re
import signal
import subprocess
import threading
import time

from conftest import SRCDIR

DUSK_GDB = SRCDIR / "bin" / "dusk-gdb"
# What must never be in dusk-gdb's output: its Python failing.
CLEAN = re.compile(r"Traceback|Python Exception|Error occurred in Python")


class Gdb:
    """dusk-gdb with gdb ARGS (batch or MI), stdin a pipe; after "--",
    unless dashes is False (gdb options first, as an IDE passes them)."""

    def __init__(self, args, env, dashes=True):
        self.proc = subprocess.Popen(
            [str(DUSK_GDB), *(["--"] if dashes else []), *args], env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", bufsize=1)
        self._text = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._cond:
                self._text.append(line)
                self._cond.notify_all()
        with self._cond:
            self._text.append(None)     # end of output
            self._cond.notify_all()

    @property
    def output(self):
        with self._cond:
            return "".join(t for t in self._text if t is not None)

    def wait_for(self, pattern, timeout=120, start=0):
        """The first match of pattern in the output after character start;
        AssertionError with the output when gdb ends or time runs out."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                text = "".join(t for t in self._text if t is not None)
                m = rx.search(text, start)
                if m:
                    return m
                ended = self._text and self._text[-1] is None
                left = deadline - time.monotonic()
                if ended or left <= 0:
                    raise AssertionError(
                        f"{pattern!r} not in gdb's output "
                        f"({'gdb ended' if ended else 'timeout'}):\n{text}")
                self._cond.wait(min(left, 1))

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def interrupt_program(self):
        """SIGINT to the program gdb runs (its pid from "process N")."""
        m = re.search(r"dusk-test-pid (\d+)", self.output)
        assert m, f"the program's pid was not printed:\n{self.output}"
        try:
            os.kill(int(m.group(1)), signal.SIGINT)
        except ProcessLookupError:
            pass

    def mi_run_to_break(self, command, loaded, traffic):
        """Under MI: the console COMMAND that sets the breakpoint (token 1),
        -exec-run (token 2), TRAFFIC started on a thread once the program's
        LOADED line shows; the breakpoint's *stopped record (a match) and
        the traffic's thread."""
        self.wait_for(r"^\(gdb\)")
        self.send(f'1-interpreter-exec console "{command}"')
        self.wait_for(r"^1\^done")
        self.send("2-exec-run")
        self.wait_for(r"^2\^running")
        self.wait_for(loaded)
        thread = threading.Thread(target=traffic)
        thread.start()
        return self.wait_for(r'^\*stopped,reason="breakpoint-hit".*$'), \
            thread

    def end_mi_program(self, token):
        """Under MI, with the program running and no breakpoint left: SIGINT
        to it (its pid from =thread-group-started), its exit awaited, then
        TOKEN-gdb-exit; gdb's whole output."""
        pid = re.search(r'^=thread-group-started,id="i1",pid="(\d+)"',
                        self.output, re.M)
        assert pid, self.output
        try:
            os.kill(int(pid.group(1)), signal.SIGINT)
        except ProcessLookupError:
            pass
        self.wait_for(r'^\*stopped,reason="exited', 60)
        self.send(f"{token}-gdb-exit")
        return self.finish()

    def finish(self, timeout=120):
        """gdb's output once it has ended (killed after timeout)."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"gdb did not end:\n{self.output}")
        finally:
            self._reader.join(timeout=10)
        return self.output


class Console:
    """A dusk-gdb console driven a command at a time (gdb reads its
    commands from the pipe, prompts and all): each command's output."""

    def __init__(self, gdb):
        self.gdb = gdb
        self.done = 0
        self.pos = 0

    def cmd(self, line, timeout=120, meanwhile=None):
        """The output of the console command LINE (prompts left out);
        meanwhile() runs after it is sent, before its end is awaited."""
        self.done += 1
        mark = f"dusk-test-done-{self.done}"
        self.gdb.send(line)
        self.gdb.send(f"echo {mark}\\n")
        if meanwhile:
            meanwhile()
        m = self.gdb.wait_for(rf"^(?:\(gdb\) )*{mark}$", timeout, self.pos)
        text = self.gdb.output[self.pos:m.start()]
        self.pos = m.end() + 1
        return text.replace("(gdb) ", "")


class Mi:
    """dusk-gdb under --interpreter=mi3, spoken to as an IDE does: each
    command with a token, its result record read back."""

    def __init__(self, gdb):
        self.gdb = gdb
        self.token = 0
        self.pos = 0

    def cmd(self, line, timeout=120, meanwhile=None):
        """(class, results, console text) of the MI command LINE: its
        result record (^done, ^error, ^running) parsed, and the console
        stream records (~"...") that came before it, joined."""
        from gdbvalue import mi_record, mi_stream
        self.token += 1
        start = len(self.gdb.output)
        self.gdb.send(f"{self.token}{line}")
        if meanwhile:
            meanwhile()
        m = self.gdb.wait_for(rf"^{self.token}\^.*$", timeout, start)
        _, _, cls, results = mi_record(m.group(0))
        console = "".join(mi_stream(t) for t in
                          self.gdb.output[start:m.start()].splitlines()
                          if t.startswith('~"'))
        self.pos = m.end()
        return cls, results, console

    def done(self, line, **kw):
        """The results of LINE, which must answer ^done."""
        cls, results, console = self.cmd(line, **kw)
        assert cls == "done", (line, cls, results, self.gdb.output[-2000:])
        return results

    def wait_stopped(self, timeout=120):
        """The next *stopped record's results."""
        from gdbvalue import mi_record
        m = self.gdb.wait_for(r"^\*stopped,.*$", timeout, self.pos)
        self.pos = m.end()
        return mi_record(m.group(0))[3]
