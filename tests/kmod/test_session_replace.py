"""A new session replaces the running one, on the real target: a replayed
HELLO opens nothing, a new client's opens only a pending session, and
the running one goes on untouched; the new session's first authenticated
request ends the old one, whose hooks go, whose waiting packets are
released by its own policy at once, and whose requests are refused from
then on as datagrams of no session.

(IPv6 LOCAL_OUT and ping ::1, which the target agent's IPv4 never
crosses, so that holding packets never holds the test's own exec. The
guest's own IPv6 - neighbour discovery, MLD: a fresh boot has some - may
wait in the hook beside the ping; each such packet gets its HOOK too, so
the counts below are exact all the same.)
"""
import socket
import time

import pytest

from duskwire import Session
from kmodtest import (BgPing, LONG_HOLD_MS, NF_INET_LOCAL_OUT, NFPROTO_IPV6,
                      POLICIES, PROMPT, drain_hooks, is_echo6_to_loopback,
                      no_session, proc_dusk, snmp6, wait_for_hooks,
                      wait_until)
from test_protocol import key_of, ping


def hold_one_ping(target, tag, policy='accept'):
    """Session A, hooked on IPv6 LOCAL_OUT, holding one ping's echo request
    (no verdict; the hold is LONG_HOLD_MS): (A, the ping, A's packet id)."""
    no_session(target, key_of(target))
    a = Session(target.endpoint, key_of(target))
    assert a.hello(hold_ms=LONG_HOLD_MS, heartbeat_ms=60000,
                   policy=POLICIES[policy]).status == 0
    assert a.hook_register(NFPROTO_IPV6, NF_INET_LOCAL_OUT, 0)[0] == 0
    p = BgPing(target, tag, wait=LONG_HOLD_MS // 1000 + 10)
    hook, = wait_for_hooks(a, is_echo6_to_loopback, 1, 20,
                           'no HOOK message for the ping')
    assert_still_running(target, a, p)
    return a, p, hook.id


def assert_still_running(target, a, p):
    """A is the session, its hook there, holding the ping's request."""
    state = proc_dusk(target)
    assert (state['session'], state['hooks']) == (
        f'{a.session:08x}', '1'), state
    assert int(state['queued']) >= 1
    assert p.result() is None, p.output()
    assert a.ping() == 0


def test_replayed_hello_does_not_end_the_session(target):
    a, p, _ = hold_one_ping(target, 'replay')
    try:
        opened = int(proc_dusk(target)['sessions_opened'])
        spy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        spy.settimeout(5)
        for hello in a.sent[:2]:             # A's HELLOs, as sent
            spy.sendto(hello, a.addr)
            spy.recvfrom(65536)              # answered: with a cookie
        spy.close()
        state = proc_dusk(target)
        assert (state['pending'], state['sessions_opened']) == (
            'no', str(opened)), state
        assert_still_running(target, a, p)
    finally:
        assert a.bye() == 0
        a.close()
    wait_until(p.result, 20, 'the ping did not end after BYE')
    p.kill()


@pytest.mark.parametrize('policy', ['accept', 'drop'])
def test_new_session_replaces_the_old_one(target, policy):
    echos = snmp6(target)['Icmp6InEchos']
    released = int(proc_dusk(target)['released'])
    t_start = time.monotonic()
    a, p, held = hold_one_ping(target, 'replace', policy)

    # B's HELLO alone opens a pending session: A goes on.
    b = Session(target.endpoint, key_of(target))
    assert b.hello(heartbeat_ms=60000).status == 0
    state = proc_dusk(target)
    assert state['pending'] == 'yes'
    assert_still_running(target, a, p)
    assert int(proc_dusk(target)['released']) == released

    # B's first authenticated request: B is the session, A is gone.
    bad_mac = int(proc_dusk(target)['rx_bad_mac'])
    t_b = time.monotonic()
    assert b.ping() == 0
    state = proc_dusk(target)
    assert (state['session'], state['pending'], state['hooks'],
            state['queued'], state['policy']) == (
        f'{b.session:08x}', 'no', '0', '0', 'accept'), state
    # A's held packets (the ping's among them) were released by the
    # replacement: every one A was sent a HOOK for, and no other.
    drain_hooks(a, wait=0.2)
    a_ids = {h.id for h in a.hooks}
    assert held in a_ids
    assert int(state['released']) == released + len(a_ids)

    # A's requests are refused: dropped unanswered as of no session.
    a.sock.settimeout(1.0)
    with pytest.raises((socket.timeout, TimeoutError)):
        a.ping()
    assert int(proc_dusk(target)['rx_bad_mac']) == bad_mac + 1

    # A's hook is gone: a new ping is not held (its -W 2 would run out
    # under LONG_HOLD_MS), and no HOOK reaches A or B.
    assert ping(target, '-6 ::1') == 0
    drain_hooks(a, wait=0.2)
    drain_hooks(b, wait=0.2)
    assert {h.id for h in a.hooks} == a_ids and not b.hooks

    if policy == 'accept':
        rc, rtt = wait_until(p.result, 20, 'the released ping never ended')
        assert rc == 0 and rtt is not None, p.output()
        # Let go within PROMPT of B's request (the guest's clock).
        assert rtt / 1000 < (t_b - t_start) + PROMPT, (rtt, t_b - t_start)
        assert snmp6(target)['Icmp6InEchos'] == echos + 2
    else:
        # Dropped: only the later ping's echo request was delivered.
        assert snmp6(target)['Icmp6InEchos'] == echos + 1
        assert 'bytes from' not in p.output()
        p.kill()
        rc, _ = wait_until(p.result, 10,
                           'the held ping did not end when killed')
        assert rc != 0
    assert b.bye() == 0
    a.close()
    b.close()
