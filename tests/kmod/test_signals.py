"""Signals to a task waiting in a proxy (protocol version 6, "Signals"):
the reader of a device proxied by dusk.ko gets a signal it handles while
the program serves its read. dusk.ko sends SIGNAL (fatal 0) on the
invocation and keeps waiting (killable), sending it again until a request
of the invocation newer than the last one arrives; the program's RETURN
of -ERESTARTSYS then fails the read with EINTR (handler without
SA_RESTART) or restarts it (SA_RESTART: a new INVOKE for the same
process), as for a .ko whose wait_event_interruptible() was interrupted.
A fatal signal still abandons the invocation at once, with one SIGNAL
(fatal 1) to say so.

The reader is sigread.c, a static client pushed into the target.
"""
import errno
import pathlib
import subprocess
import time

import pytest

import dusk_constants as K
from duskwire import SIGNAL
from kmodtest import no_session, proc_dusk
from test_fops import (Program, bg, bg_result, bg_wait, cat, devname,
                       user_slots)
from test_owned import assert_healthy, marker
from test_protocol import key_of

ERESTARTSYS = 512
SIGINT, SIGKILL, SIGUSR1 = 2, 9, 10
GUEST_SIGREAD = '/tmp/sigread'


class SigProgram(Program):
    """Program, keeping the SIGNAL messages apart (their ids are the
    signal's, not a request's)."""

    def __init__(self, target):
        super().__init__(target)
        self.signals = []          # (invocation, id, fatal, signo)

    def _take(self, r):
        if r.type == K.DUSK_MSG_SIGNAL and not r.flags & K.DUSK_F_REPLY:
            assert r.channel == K.DUSK_CHAN_INV
            fatal, signo = SIGNAL.unpack(r.payload)
            self.signals.append((r.invocation, r.id, fatal, signo))
            return None
        return super()._take(r)


@pytest.fixture
def prog(target):
    no_session(target, key_of(target))
    p = SigProgram(target)
    yield p
    p.close()


@pytest.fixture(scope='module')
def sigread(target, tmp_path_factory):
    src = pathlib.Path(__file__).with_name('sigread.c')
    exe = tmp_path_factory.mktemp('sigread') / 'sigread'
    subprocess.run(['gcc', '-static', '-O2', '-Wall', '-o', str(exe),
                    str(src)], check=True)
    target.push(str(exe), GUEST_SIGREAD)
    return GUEST_SIGREAD


def reader(target, prog, sigread, tag, mode):
    """A misc device whose read is the program's, and sigread reading it
    in the background: its first INVOKE."""
    name = devname()
    st, table, _ = prog.register(user_slots(prog, 'read'))
    assert st == 0
    prog.misc(name, table)
    bg(target, tag, f'{sigread} /dev/{name} {mode}')
    return prog.next_invoke()


def access_ok(inv):
    """One harmless request of the invocation (its next id)."""
    st, ret, _, _ = inv.uaccess(K.DUSK_UA_ACCESS_OK, inv.args[1], 1)
    assert st == 0 and ret == 1


def kill(target, sig, tag):
    rc, _, err = target.exec(f'kill -{sig} $(cat /tmp/{tag}.pid)')
    assert rc == 0, err


def test_signal_sent_until_a_newer_request_then_eintr(target, prog, sigread):
    token = marker(target)
    rd = reader(target, prog, sigread, 'sn', 'norestart')
    access_ok(rd)                       # request 1, before the signal
    before = proc_dusk(target)
    kill(target, 'USR1', 'sn')
    prog.quiet(2.0)
    mine = [x for x in prog.signals if x[0] == rd.id]
    # Sent, and sent again with the same id: nothing acknowledged it.
    assert len(mine) >= 3, prog.signals
    assert {x[1:] for x in mine} == {(1, 0, SIGUSR1)}
    after = proc_dusk(target)
    assert int(after['inv_signals']) - int(before['inv_signals']) == 1
    assert int(after['inv_signals_resent']) - \
        int(before['inv_signals_resent']) >= 2
    # The reader still waits for the program's answer.
    assert bg_result(target, 'sn') is None
    # A request newer than the last one at the signal acknowledges it.
    access_ok(rd)
    prog.signals.clear()
    prog.quiet(1.5)
    assert not [x for x in prog.signals if x[0] == rd.id], prog.signals
    # -ERESTARTSYS without SA_RESTART: EINTR, after the handler ran.
    assert rd.ret(-ERESTARTSYS) == 0
    assert bg_wait(target, 'sn') == 'rc=0'
    assert cat(target, '/tmp/sn.out').splitlines() == [
        'read = -1 EINTR', 'signals = 1']
    assert_healthy(target, token)


def test_sa_restart_restarts_the_read(target, prog, sigread):
    token = marker(target)
    rd = reader(target, prog, sigread, 'sr', 'restart')
    kill(target, 'INT', 'sr')
    deadline = time.monotonic() + 10
    while not [x for x in prog.signals if x[0] == rd.id]:
        assert time.monotonic() < deadline, 'no SIGNAL came'
        prog.quiet(0.2)
    assert prog.signals[0][1:] == (1, 0, SIGINT)
    # The RETURN acknowledges it too; the kernel restarts the read: the
    # same process invokes read again, a new invocation.
    assert rd.ret(-ERESTARTSYS) == 0
    again = prog.next_invoke()
    assert again.id != rd.id and again.pid == rd.pid
    assert again.off == rd.off
    assert again.to_user(again.args[1], b'again') == 0
    assert again.ret(5) == 0
    assert bg_wait(target, 'sr') == 'rc=0'
    assert cat(target, '/tmp/sr.out').splitlines() == [
        'read = 5 again', 'signals = 1']
    assert_healthy(target, token)


def test_signal_before_the_program_answered_a_value(target, prog, sigread):
    """The module may ignore the signal: a value it returns is the read's
    (no restart, no EINTR), and the handler runs on the way out."""
    rd = reader(target, prog, sigread, 'sv', 'norestart')
    kill(target, 'USR1', 'sv')
    prog.quiet(0.5)
    assert rd.to_user(rd.args[1], b'data') == 0
    assert rd.ret(4) == 0
    assert bg_wait(target, 'sv') == 'rc=0'
    assert cat(target, '/tmp/sv.out').splitlines() == [
        'read = 4 data', 'signals = 1']


def test_a_fatal_signal_still_abandons(target, prog, sigread):
    token = marker(target)
    rd = reader(target, prog, sigread, 'sk', 'restart')
    kill(target, 'USR1', 'sk')
    prog.quiet(0.5)
    # Killed while waiting killable after the SIGNAL: abandoned at once.
    kill(target, 'KILL', 'sk')
    assert bg_wait(target, 'sk', 5) == 'rc=137'
    prog.quiet(0.5)
    mine = [x[1:] for x in prog.signals if x[0] == rd.id]
    assert (1, 0, SIGUSR1) in mine and (2, 1, SIGKILL) in mine, mine
    assert rd.ret(-ERESTARTSYS) == -errno.ESRCH
    # Killed with no signal before: one fatal SIGNAL too.
    rd2 = reader(target, prog, sigread, 'sk2', 'norestart')
    kill(target, 'KILL', 'sk2')
    assert bg_wait(target, 'sk2', 5) == 'rc=137'
    prog.quiet(0.5)
    assert [x[1:] for x in prog.signals if x[0] == rd2.id] == \
        [(1, 1, SIGKILL)]
    assert rd2.ret(0) == -errno.ESRCH
    assert_healthy(target, token)
