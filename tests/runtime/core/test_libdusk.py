"""libdusk's C API against the real target kernel (libdusk-selftest)."""
import os
import queue
import signal
import subprocess
import threading
import time

from conftest import BUILDDIR

SELFTEST = BUILDDIR / 'tests' / 'runtime' / 'core' / 'libdusk-selftest'


def selftest(target, cmd, timeout=60):
    p = subprocess.run([str(SELFTEST), cmd], env=target.env, text=True,
                       capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return dict(line.split(' ', 1) for line in p.stdout.splitlines()
                if ' ' in line)


def test_reads_linux_banner_as_the_target_shows_it(target):
    out = selftest(target, 'banner')
    rc, version, _ = target.exec('cat /proc/version')
    assert rc == 0
    assert out['banner'] == version.rstrip('\n')
    # The cached copy lives in user memory and maps back to the kernel's.
    mirror, _, kernel, _, back = out['mirror'].split()
    assert int(kernel, 16) >= 1 << 63 and int(mirror, 16) < 1 << 63
    assert back == kernel


def test_calls_kernel_functions(target):
    out = selftest(target, 'call')
    kmalloc, _, ksize = out['kmalloc'].split()
    assert int(kmalloc, 16) >= 1 << 63
    assert int(ksize) >= 100            # a kmalloc-128 slab object
    rc, version, _ = target.exec('cat /proc/version')
    assert int(out['strlen']) == len(version)   # linux_banner ends in \n


def test_allocates_writes_commits_only_changes_and_frees(target):
    out = selftest(target, 'alloc')
    assert out['readback'] == 'written by libdusk zero-before 0'
    # 100 written at user level, 101 written by "the kernel" meanwhile.
    assert out['commit'] == '100=aa 101=55'
    assert out['free'] == 'again -2'      # -ENOENT: freed once only


def test_bad_addresses_are_clear_errors_and_the_kernel_stays_up(target):
    out = selftest(target, 'badaddr')
    assert out['kread'] == '-14' and out['kwrite'] == '-14'
    assert out['shadow'] == 'null 14'
    assert out['kcall-data'] == '-14' and out['kcall-bad'] == '-14'
    assert out['ksym'] == '-2'
    assert out['after'] == '0'
    rc, log, _ = target.exec('dmesg')
    assert rc == 0
    assert 'Oops' not in log and 'BUG:' not in log


def ping(target, addr):
    return target.exec(f'ping -c 2 -W 2 {addr}')[0]


def test_hooks_drop_and_mark_packets_through_the_shadow_cache(target):
    prog = subprocess.Popen([str(SELFTEST), 'hooks'], env=target.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert prog.stdout.readline().startswith('release ')
        assert prog.stdout.readline() == 'ready\n'
        assert ping(target, '127.0.0.9') != 0      # dropped by the first hook
        assert ping(target, '127.0.0.10') != 0     # marked, dropped by the second
        assert ping(target, '127.0.0.11') == 0     # untouched
    finally:
        prog.terminate()
        out, err = prog.communicate(timeout=30)
    assert prog.returncode == 0, err
    lines = out.splitlines()
    assert lines[-1] == 'stopped'
    assert lines.count('first drop 127.0.0.9') == 2
    assert lines.count('first mark 127.0.0.10') == 2
    # The mark was committed with the first verdict and read by the second
    # hook from the live sk_buff.
    assert lines.count('second saw mark 0xd05c drop') == 2
    # The program is gone: its hooks went with it.
    assert ping(target, '127.0.0.9') == 0
    rc, state, _ = target.exec('cat /proc/dusk')
    assert 'session none' in state


def test_killed_program_leaves_the_kernel_clean(target):
    """A crash (SIGKILL: no exit code of its own runs) ends the session
    through the watchdog: hooks removed, packets released."""
    prog = subprocess.Popen([str(SELFTEST), 'hooks'], env=target.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert prog.stdout.readline().startswith('release ')
    assert prog.stdout.readline() == 'ready\n'
    prog.kill()
    prog.wait(timeout=10)
    prog.stdout.close()
    prog.stderr.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        state = target.exec('cat /proc/dusk')[1]
        if 'session none' in state:
            break
        time.sleep(0.2)
    assert 'session none' in state
    assert ping(target, '127.0.0.9') == 0


# ---- the watchdog keeps a stopped program's session, ends a dead one's ----

# Short, so that a stopped program outlives many of them; long enough that
# a loaded host still gets the watchdog's PINGs (every heartbeat / 4) out.
HEARTBEAT_MS = 1500
STOPPED_HEARTBEATS = 6
# From SIGKILL to the session's end: the watchdog reads EOF at once and
# sends BYE (retransmitted for a second at most).
KILL_BOUND_S = 10


def proc_dusk(target):
    rc, out, _ = target.exec('cat /proc/dusk')
    assert rc == 0
    return dict(line.split(' ', 1) for line in out.splitlines()
                if ' ' in line)


def ping6(target):
    """ICMPv6 echo to ::1: 0 when answered (the selftest's hook drops
    it)."""
    return target.exec('ping -6 -c 1 -W 2 ::1')[0]


def proc_state(pid):
    with open(f'/proc/{pid}/stat') as f:
        return f.read().rpartition(')')[2].split()[0]


def poll(cond, timeout, what):
    """cond()'s first true value, polled until timeout s have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        assert time.monotonic() < deadline, f'{what}: not within {timeout} s'
        time.sleep(0.2)


class Watched:
    """libdusk-selftest watchdog HEARTBEAT_MS [nowatchdog], its stdout
    lines read as they come."""

    def __init__(self, target, *args):
        self.prog = subprocess.Popen(
            [str(SELFTEST), 'watchdog', str(HEARTBEAT_MS), *args],
            env=target.env, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.line().startswith('release ')
        assert self.line() == 'ready'

    def _read(self):
        for line in self.prog.stdout:
            self.lines.put(line.rstrip('\n'))
        self.lines.put(None)

    def line(self, timeout=60):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f'no output from the program in {timeout} s')

    def signal(self, sig):
        os.kill(self.prog.pid, sig)

    def stop(self):
        self.signal(signal.SIGSTOP)
        poll(lambda: proc_state(self.prog.pid) == 'T', 10,
             'the program stopped')

    def kill(self):
        if self.prog.poll() is None:
            self.prog.kill()
        self.prog.wait(timeout=30)


def session_ended(target, session):
    """The kernel's words for session's end, once it has ended."""
    rc, log, _ = target.exec('dmesg')
    assert rc == 0
    ends = [line.partition('] ')[2] for line in log.splitlines()
            if f'dusk: session {session} ended: ' in line]
    return ends[-1] if ends else None


def test_watchdog_keeps_a_stopped_programs_session(target):
    """SIGSTOPped for many heartbeats, the program keeps its session and
    hook (its watchdog pings for it); it goes on after SIGCONT; killed,
    its watchdog ends the session with BYE and the hook goes."""
    w = Watched(target)
    try:
        st = proc_dusk(target)
        session = st['session']
        assert st['hooks'] == '1', st
        assert ping6(target) != 0           # the hook drops it
        assert w.line() == 'hook drop ::1'

        w.stop()
        stopped = time.monotonic()
        polls = 0
        while (polls < 3 or time.monotonic() - stopped <
               STOPPED_HEARTBEATS * HEARTBEAT_MS / 1000):
            st = proc_dusk(target)
            assert (st.get('session'), st.get('hooks')) == (session, '1'), (
                f'{time.monotonic() - stopped:.1f} s after SIGSTOP: {st}')
            polls += 1
            time.sleep(0.3)
        assert proc_state(w.prog.pid) == 'T'    # stopped all along
        assert session_ended(target, session) is None

        # Back: it serves requests again, its own and the kernel's.
        w.signal(signal.SIGCONT)
        w.signal(signal.SIGUSR1)
        assert w.line() == 'request ok Linux version'
        assert ping6(target) != 0
        assert w.line() == 'hook drop ::1'
        assert proc_dusk(target)['session'] == session

        # Killed: nothing of the program runs; its watchdog says BYE.
        w.kill()
        killed = time.monotonic()
        poll(lambda: proc_dusk(target).get('session') == 'none',
             KILL_BOUND_S, 'the session ended after SIGKILL')
        assert time.monotonic() - killed < KILL_BOUND_S
        assert session_ended(target, session) == \
            f'dusk: session {session} ended: bye'
        assert ping6(target) == 0           # the hook is gone
    finally:
        w.kill()


def test_without_watchdog_a_stopped_program_loses_its_session(target):
    """The control: the same program with no watchdog process, stopped,
    loses its session to the heartbeat (so the test above shows the
    watchdog at work, not a heartbeat too long to matter)."""
    w = Watched(target, 'nowatchdog')
    try:
        st = proc_dusk(target)
        session = st['session']
        assert st['hooks'] == '1', st
        w.stop()
        poll(lambda: proc_dusk(target).get('session') != session,
             HEARTBEAT_MS / 1000 + 20, 'the session ended')
        assert session_ended(target, session) == \
            f'dusk: session {session} ended: heartbeat lost'
        assert ping6(target) == 0           # its hook went with it
    finally:
        w.kill()
