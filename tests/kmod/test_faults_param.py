"""dusk.ko's faults parameter: the setting's syntax (proto/dusk_faults.h)
as the kernel takes it, off by default, and the same seed giving the same
decisions. With loss only, a burst of PINGs sent at once loses the same
requests and replies every time the same setting is written (each write
restarts the generators from the seed); another seed loses others; off
loses none.
"""
import socket

import pytest

import dusk_constants as K
from duskwire import Session
from kmodtest import no_session, proc_dusk
from test_protocol import key_of

PARAM = '/sys/module/dusk/parameters/faults'
BURST = 64


def set_faults(target, setting):
    """(exit status, what the parameter reads back)."""
    rc, _, _ = target.exec(f'echo "{setting}" > {PARAM}')
    return rc, read_faults(target)


def read_faults(target):
    rc, out, err = target.exec(f'cat {PARAM}')
    assert rc == 0, err
    return out.strip()


def answered(s):
    """Ids of a burst of PINGs that got their replies (all are sent
    before any reply is read; the kernel takes them in that order)."""
    ids = []
    for _ in range(BURST):
        req_id, dgram = s.datagram(K.DUSK_MSG_PING)
        s.send_raw(dgram)
        ids.append(req_id)
    got = set()
    s.sock.settimeout(2.0)
    try:
        while len(got) < BURST:
            r = s.recv()
            if r.flags & K.DUSK_F_REPLY and r.type == K.DUSK_MSG_PING:
                got.add(r.id - ids[0])
    except (socket.timeout, TimeoutError):
        pass
    finally:
        s.sock.settimeout(5.0)
    return frozenset(got)


@pytest.fixture
def faults_off(target):
    yield
    assert set_faults(target, 'off') == (0, 'off')


def test_setting_syntax(target, faults_off):
    assert read_faults(target) == 'off'
    assert set_faults(target, 'reorder=3,seed=9,loss=1') == (
        0, 'seed=9,loss=1,dup=0,reorder=3')
    for bad in ('loss=101', 'loss=60,dup=41', 'lose=5', 'loss=5;dup=1',
                'seed=', 'seed=12345678901234567890'):
        rc, now = set_faults(target, bad)
        assert rc != 0 and now == 'seed=9,loss=1,dup=0,reorder=3', bad
    assert set_faults(target, 'off') == (0, 'off')


def test_same_seed_same_losses(target, faults_off):
    no_session(target, key_of(target))
    s = Session(target.endpoint, key_of(target))
    try:
        assert s.hello(heartbeat_ms=60000).status == 0 and s.ping() == 0
        before = proc_dusk(target)
        runs = []
        for setting in ('seed=42,loss=20', 'seed=42,loss=20',
                        'seed=43,loss=20'):
            assert set_faults(target, setting)[0] == 0
            runs.append(answered(s))
        assert set_faults(target, 'off')[0] == 0
        assert answered(s) == frozenset(range(BURST))
        after = proc_dusk(target)
        # 20% of each way: about 36% of the PINGs go unanswered.
        assert 5 < BURST - len(runs[0]) < BURST // 2 + 10, runs[0]
        assert runs[0] == runs[1]
        assert runs[2] != runs[0]
        lost = int(after['fault_lost']) - int(before['fault_lost'])
        # Each unanswered PING lost its request or its reply, not both.
        assert lost == sum(BURST - len(r) for r in runs)
        assert s.bye() == 0
    finally:
        s.close()
