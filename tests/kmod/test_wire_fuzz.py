"""The structure-aware fuzzer (wirefuzz.py) against the real dusk.ko.

Thousands of seeded cases, every request type with valid MACs and broken
bodies, and broken headers; each gets the answer the protocol promises
or is dropped and counted. Afterwards dusk.ko answers PING, its counters
match what was sent, a new session works, and the target's log holds no
Oops, BUG, WARNING or general protection fault.
"""
import os
import time

import dusk_constants as K
from duskwire import Session
from wirefuzz import WireFuzzer

# DUSK_WIREFUZZ_CASES / _SEED run it longer or otherwise by hand.
CASES = int(os.environ.get('DUSK_WIREFUZZ_CASES', '4000'))
SEED = int(os.environ.get('DUSK_WIREFUZZ_SEED', '11'))

BAD_LOG_LINES = ('Oops', 'BUG:', 'WARNING:', 'general protection')


def key_of(target):
    return bytes.fromhex(open(target.key_file).read().strip())


def test_wire_fuzz_leaves_dusk_ko_serving(target):
    fz = WireFuzzer(target.endpoint, key_of(target), SEED)
    t0 = time.monotonic()
    try:
        delta, mine = fz.run(CASES)
        after = fz.last
        hooks, allocs = len(fz.hooks), len(fz.allocs)
        stray = list(fz.sess.hooks)
    finally:
        fz.close()
    elapsed = time.monotonic() - t0
    print(f'{CASES} cases (seed {SEED}) in {elapsed:.1f} s: {mine}')

    # Every drop was counted under its kind, and nothing else was.
    for k in ('rx_bad_mac', 'rx_malformed', 'rx_replayed'):
        assert delta[k] == mine[k], (k, delta, mine)
    assert mine['rx_bad_mac'] and mine['rx_malformed'] and mine['rx_replayed']
    # Every accepted datagram got one reply (a lost one was sent again).
    if not mine['resent']:
        assert delta['rx_ok'] == mine['rx_ok'], (delta, mine)
        assert delta['tx'] == mine['replies'], (delta, mine)
    assert delta['tx_errors'] == 0
    # The session's own counts are what the fuzzer holds; no packet came.
    assert after['hooks'] == hooks and after['allocs'] == allocs, after
    assert after['queued'] == 0 and not stray

    # dusk.ko serves a new session as before.
    s = Session(target.endpoint, key_of(target))
    try:
        assert s.hello().status == 0
        assert s.ping() == 0
        status, (banner, _) = s.sym('linux_banner')
        assert status == 0
        status, data = s.read(banner, 13)
        assert status == 0 and data == b'Linux version'
        assert s.bye() == 0
    finally:
        s.close()

    rc, log, _ = target.exec('dmesg')
    assert rc == 0
    bad = [ln for ln in log.splitlines() if any(b in ln for b in BAD_LOG_LINES)]
    assert not bad, bad
