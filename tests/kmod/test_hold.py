"""The hold, on the real target: a packet that gets no verdict within the
HELLO's hold_ms is released by the HELLO's policy (accept: it goes on and
is delivered; drop: it is not), with the session still running; and
hold_max bounds the packets waiting at once: the surplus is never queued
but released by the policy at once.

(IPv6 LOCAL_OUT and ping ::1, which the target agent's IPv4 never
crosses. Each echo request and each echo reply crosses the hook. The
guest's own IPv6 - neighbour discovery, MLD: a fresh boot has some - may
cross it too; the tests tell the pings' packets by their bytes, and count
the others by their HOOK messages.)
"""

import contextlib

import pytest

import dusk_constants as K
from duskwire import HOOK_COUNT, Session, STATS
from kmodtest import (LONG_HOLD_MS, NF_INET_LOCAL_OUT, NFPROTO_IPV6, POLICIES,
                      PROMPT, BgPing, background_pings, drain_hooks,
                      icmp6_type, no_session, ping_results, proc_dusk,
                      snmp6, wait_until)
from test_protocol import key_of

HOLD_MS = 500
ECHO_REQUEST, ECHO_REPLY = 128, 129


@contextlib.contextmanager
def session(target, **hello):
    """A session hooked on IPv6 LOCAL_OUT, and /proc/dusk before the hook
    (nothing waiting); BYE at the end, whatever happened."""
    before = no_session(target, key_of(target))
    s = Session(target.endpoint, key_of(target))
    try:
        assert s.hello(heartbeat_ms=60000, **hello).status == 0
        assert s.hook_register(NFPROTO_IPV6, NF_INET_LOCAL_OUT, 0)[0] == 0
        yield s, before
    finally:
        s.sock.settimeout(5.0)
        try:
            s.bye()
        finally:
            s.close()


def stats(s):
    """PING's counters, as a dict of struct dusk_stats' fields."""
    r = s.request(K.DUSK_MSG_PING)
    assert r.status == 0
    names = ('rx_ok rx_bad_mac rx_malformed rx_replayed tx tx_errors '
             'retransmits hooks queued verdicts released allocs '
             'open_files').split()
    return dict(zip(names, STATS.unpack_from(r.payload)))


def echo_hooks(s):
    """{packet id: ICMPv6 type} of the echo packets s was sent HOOKs for."""
    return {h.id: t for h in s.hooks
            if (t := icmp6_type(h)) in (ECHO_REQUEST, ECHO_REPLY)}


@pytest.mark.parametrize('policy', ['accept', 'drop'])
def test_packet_without_verdict_is_released_by_policy(target, policy):
    """No verdict for HOLD_MS: accept lets the echo request (and then its
    reply) go on after their holds; drop frees it, and nothing answers."""
    with session(target, hold_ms=HOLD_MS,
                 policy=POLICIES[policy]) as (s, before):
        sid = f'{s.session:08x}'
        assert proc_dusk(target)['policy'] == policy
        echos = snmp6(target)['Icmp6InEchos']
        # -W: far longer than the two holds an accepted ping waits.
        p = BgPing(target, 'hold', wait=8)

        def done():
            stats(s)                      # HOOKs arrive meanwhile
            return p.result()
        rc, rtt = wait_until(done, 20, 'the held ping never ended')
        if policy == 'accept':
            # The request waited HOLD_MS and went on; its reply as well.
            assert rc == 0, p.output()
            # Not let go before its hold: two holds in the round trip.
            assert rtt >= 2 * HOLD_MS, p.output()
            ours = sorted(echo_hooks(s).values())
            assert ours == [ECHO_REQUEST, ECHO_REPLY]
        else:
            assert rc != 0 and 'bytes from' not in p.output(), p.output()
            # The request was queued, and no reply was ever made.
            ours = list(echo_hooks(s).values())
            assert ours == [ECHO_REQUEST]

        # Released by the hold, with the session running (not by its
        # end): the ping's packets, and whatever else of the guest's the
        # hook held (each had its HOOK).
        def drained():
            stats(s)
            st = proc_dusk(target)
            return st['queued'] == '0' and st
        after = wait_until(drained, 20, 'packets waiting past their hold')
        drain_hooks(s, wait=0.2)
        assert (after['session'], after['verdicts']) == (
            sid, before['verdicts'])
        released = int(after['released']) - int(before['released'])
        assert len(ours) <= released <= len({h.id for h in s.hooks})
        assert snmp6(target)['Icmp6InEchos'] == echos + (policy == 'accept')


HOLD_MAX = 4
PINGS = 10


@pytest.mark.parametrize('policy', ['accept', 'drop'])
def test_hold_max_bounds_the_packets_waiting(target, policy):
    """PINGS echo requests at once, hold_max HOLD_MAX, no verdicts, a hold
    far longer than the test: HOLD_MAX packets wait, the surplus is
    released by policy at once (never queued), and the queue never holds
    more."""
    pings = []
    try:
        with session(target, hold_ms=LONG_HOLD_MS, policy=POLICIES[policy],
                     hold_max=HOLD_MAX, window=8) as (s, before):
            check_hold_max(target, s, before, policy, pings)
    finally:
        for p in pings:
            p.kill()


def check_hold_max(target, s, before, policy, pings):
    icmp6 = snmp6(target)
    pings += background_pings(target, 'limit', PINGS,
                              wait=LONG_HOLD_MS // 1000 + 10)
    most_queued = 0

    def sample():
        nonlocal most_queued
        most_queued = max(most_queued, stats(s)['queued'])

    # The queue fills: HOLD_MAX packets, a HOOK for each.
    def full():
        sample()
        return len({h.id for h in s.hooks}) >= HOLD_MAX
    wait_until(full, 30, 'the queue never filled')
    # k of them are the pings' echo requests (all, unless the guest's own
    # IPv6 took a place): those k pings wait.
    k = list(echo_hooks(s).values()).count(ECHO_REQUEST)
    assert k >= 1

    # Every ping has sent its request (Icmp6OutEchos counts it before the
    # hook), and the surplus is through: accept, the PINGS - k other pings
    # have their replies; drop, their requests are gone.
    def settled():
        sample()
        sent = snmp6(target)['Icmp6OutEchos'] - icmp6['Icmp6OutEchos']
        rejected = (int(proc_dusk(target)['rejected']) -
                    int(before['rejected']))
        done = [r for r in ping_results(target, pings) if r is not None]
        if sent < PINGS:
            return None
        if policy == 'accept':
            return len(done) >= PINGS - k and (done, rejected)
        return rejected >= PINGS - k and (done, rejected)
    done, rejected = wait_until(settled, 30, 'the surplus was not released')
    drain_hooks(s, wait=0.2)
    state = proc_dusk(target)
    # HOLD_MAX packets wait, one HOOK each, no more: no sample of the
    # queue, all along, saw more.
    assert int(state['queued']) == HOLD_MAX and most_queued <= HOLD_MAX
    assert len({h.id for h in s.hooks}) == HOLD_MAX
    # Nothing was let go by the hold, or by a verdict.
    assert (state['released'], state['verdicts']) == (
        before['released'], before['verdicts'])
    results = ping_results(target, pings)
    delivered = snmp6(target)['Icmp6InEchos'] - icmp6['Icmp6InEchos']
    if policy == 'accept':
        # The surplus went on at once: each request and its reply.
        assert rejected >= 2 * (PINGS - k)
        assert done == [0] * (PINGS - k), results
        assert delivered == PINGS - k
        # Their round trips never waited for a hold.
        for p, r in zip(pings, results):
            if r is not None:
                rtt = p.result()[1]
                assert rtt is not None and rtt < PROMPT * 1000, p.output()
    else:
        # The surplus was dropped: nothing delivered, no ping answered.
        assert rejected >= PINGS - k
        assert delivered == 0 and done == [], results
    # PING's "released" counts both kinds of release (the guest's own IPv6
    # may add to them meanwhile).
    reported = stats(s)['released']
    later = proc_dusk(target)
    assert (int(state['released']) + int(state['rejected']) <= reported <=
            int(later['released']) + int(later['rejected']))


def hook_counts(s):
    """{handle: (policy, released)} from PING's reply after its stats."""
    r = s.request(K.DUSK_MSG_PING)
    assert r.status == 0
    rest = r.payload[STATS.size:]
    assert len(rest) % HOOK_COUNT.size == 0
    return {h: (pol, n) for h, pol, n in
            (HOOK_COUNT.unpack_from(rest, i)
             for i in range(0, len(rest), HOOK_COUNT.size))}


def test_hook_policy_and_hold_override_the_session(target):
    """A hook registered with its own hold time and policy (drop) under a
    session whose are long and accept: its held echo request is dropped
    after the hook's hold, nothing answers, and PING's reply counts the
    release for that hook, with its policy."""
    before = no_session(target, key_of(target))
    s = Session(target.endpoint, key_of(target))
    try:
        assert s.hello(heartbeat_ms=60000, hold_ms=LONG_HOLD_MS,
                       policy=POLICIES['accept']).status == 0
        status, handle = s.hook_register(
            NFPROTO_IPV6, NF_INET_LOCAL_OUT, 0, hold_ms=HOLD_MS,
            policy=K.DUSK_HOOK_POLICY_DROP)
        assert status == 0
        assert hook_counts(s) == {handle: (K.DUSK_POLICY_DROP, 0)}
        p = BgPing(target, 'hookpolicy', wait=4)

        def done():
            stats(s)
            return p.result()
        rc, _ = wait_until(done, 20, 'the held ping never ended')
        assert rc != 0 and 'bytes from' not in p.output(), p.output()
        assert [t for t in echo_hooks(s).values()] == [ECHO_REQUEST]
        counts = hook_counts(s)
        assert counts[handle][0] == K.DUSK_POLICY_DROP
        assert counts[handle][1] >= 1
        assert int(proc_dusk(target)['released']) - \
            int(before['released']) >= counts[handle][1]
    finally:
        s.sock.settimeout(5.0)
        try:
            s.bye()
        finally:
            s.close()
