"""dusk.ko against the wire protocol, on the real target kernel.

Every property here is one the header promises: nothing unauthenticated,
malformed or replayed is acted on; a retransmitted request executes once;
request ids count per channel; what the message table does not allow is
refused; bad addresses are error replies; a session's end releases all it
owns.
"""
import errno
import re
import socket
import struct
import time

import pytest

import dusk_constants as K
from duskwire import CHANNELS, Session, HDR, MSGS, STATS, seal
from kmodtest import (BgPing, LONG_HOLD_MS, POLICIES, PROMPT,
                      is_echo6_to_loopback, no_session, snmp6,
                      wait_for_hooks, wait_until)

MAIN, WATCHDOG = K.DUSK_CHAN_MAIN, K.DUSK_CHAN_WATCHDOG

NFPROTO_IPV6 = 10
NF_INET_LOCAL_OUT = 3
BAD_KADDR = 0xffffdead00000000


def proc_dusk(target):
    rc, out, err = target.exec('cat /proc/dusk')
    assert rc == 0, err
    return dict(line.split(' ', 1) for line in out.splitlines())


def counter(target, name):
    return int(proc_dusk(target)[name])


def key_of(target):
    return bytes.fromhex(open(target.key_file).read().strip())


@pytest.fixture
def sess(target):
    s = Session(target.endpoint, key_of(target))
    assert s.hello().status == 0
    yield s
    s.sock.settimeout(1.0)
    try:
        s.bye()
    except (socket.timeout, TimeoutError):
        pass
    s.close()


def assert_no_reply(s, wait=1.0):
    s.sock.settimeout(wait)
    with pytest.raises((socket.timeout, TimeoutError)):
        s.recv()


def test_hello_reports_the_target_kernel(target, sess):
    rc, out, _ = target.exec('uname -r')
    assert sess.release == out.strip()
    kinds = {r[2] for r in sess.regions}
    assert {K.DUSK_REGION_DIRECT_MAP, K.DUSK_REGION_VMALLOC,
            K.DUSK_REGION_KERNEL_IMAGE, K.DUSK_REGION_MODULES} <= kinds
    # The kernel half (4- or 5-level paging alike).
    assert all(r[0] >= 1 << 63 and r[1] > 0 for r in sess.regions)


def test_unauthenticated_datagram_is_dropped_and_counted(target):
    before = counter(target, 'rx_bad_mac')
    s = Session(target.endpoint, b'\x01' * 32)
    _, dgram = s.datagram(K.DUSK_MSG_HELLO, b'\0' * MSGS['HELLO'].size)
    s.send_raw(dgram)
    assert_no_reply(s)
    s.close()
    assert counter(target, 'rx_bad_mac') == before + 1


def test_malformed_datagrams_are_dropped_and_counted(target):
    before = counter(target, 'rx_malformed')
    s = Session(target.endpoint, key_of(target))
    s.send_raw(b'short')
    _, dgram = s.datagram(K.DUSK_MSG_PING)
    s.send_raw(dgram[:32] + b'XXXX' + dgram[36:])          # magic
    _, dgram = s.datagram(K.DUSK_MSG_PING)
    s.send_raw(dgram + b'trailing')                        # length
    assert_no_reply(s)
    s.close()
    assert counter(target, 'rx_malformed') == before + 3


def test_replayed_datagram_is_dropped(target, sess):
    before = counter(target, 'rx_replayed')
    req_id, dgram = sess.datagram(K.DUSK_MSG_PING)
    sess.send_raw(dgram)
    assert sess.wait(req_id).status == 0
    sess.send_raw(dgram)
    assert_no_reply(sess)
    assert counter(target, 'rx_replayed') == before + 1


def test_retransmission_executes_once(target, sess):
    req_id, first = sess.alloc_datagram(64)
    sess.send_raw(first)
    a = sess.wait(req_id)
    # The same request again (same id, fresh seq), as after a lost reply.
    _, again = sess.alloc_datagram(64, req_id=req_id)
    sess.send_raw(again)
    b = sess.wait(req_id)
    assert a.status == b.status == 0
    assert a.payload == b.payload
    assert proc_dusk(target)['allocs'] == '1'


def test_request_id_older_than_the_window_is_stale(sess):
    req_id, dgram = sess.alloc_datagram(16, req_id=5 * K.DUSK_ID_WINDOW)
    sess.send_raw(dgram)
    assert sess.wait(req_id).status == 0
    req_id, dgram = sess.alloc_datagram(16, req_id=7)
    sess.send_raw(dgram)
    assert sess.wait(req_id).status == -errno.ESTALE


def test_protocol_version_mismatch_is_refused(target):
    s = Session(target.endpoint, key_of(target))
    assert s.hello(version=K.DUSK_PROTO_VERSION + 1).status == -errno.EPROTONOSUPPORT
    s.close()


def test_bad_addresses_are_error_replies(target, sess):
    assert sess.read(BAD_KADDR, 8)[0] == -errno.EFAULT
    assert sess.read(0x1000, 8)[0] == -errno.EFAULT          # user half
    assert sess.write(BAD_KADDR, b'x') == -errno.EFAULT
    assert sess.write(0x1000, b'x') == -errno.EFAULT
    status, (banner, _) = sess.sym('linux_banner')
    assert status == 0
    status, data = sess.read(banner, 64)
    assert status == 0 and data.startswith(b'Linux version')
    assert_kernel_log_clean(target)


# Every class of address the nofault accessors must not be given, with the
# length of the access: each is an error reply and leaves the log clean.
# (The target has 5-level paging, -cpu max; the 4-level boundaries are
# covered too.)
BAD_RANGES = {
    "null": (0, 8),
    "user": (0x1000, 8),
    "top of 4-level user": (0x7ffffffff000, 8),
    "top of 5-level user (its guard page)": (0x00fffffffffff000, 8),
    "non-canonical": (0x8000000000000000, 8),
    "non-canonical, 4-level hole": (0xffff000000000000 - 0x1000, 8),
    "non-canonical, 5-level hole": (0xfe00000000000000, 8),
    "vsyscall page": (0xffffffffff600000, 8),
    "into the vsyscall page": (0xffffffffff5ffff8, 16),
    "wrapping": (0xfffffffffffffff8, 16),
    "unmapped vmalloc": (BAD_KADDR, 8),
}


@pytest.mark.parametrize("what", BAD_RANGES)
def test_every_class_of_bad_address_is_an_error_reply(target, sess, what):
    """READ and WRITE of each class: -EFAULT, and no Oops, BUG or WARNING
    (the vsyscall page oopsed a write, a non-canonical one WARNed)."""
    addr, length = BAD_RANGES[what]
    assert sess.read(addr, length)[0] == -errno.EFAULT
    assert sess.write(addr, b'\0' * length) == -errno.EFAULT
    assert_kernel_log_clean(target)


def test_read_only_kernel_data_is_not_written(target, sess):
    """A write to .rodata (linux_banner, its own bytes) is -EFAULT."""
    status, (banner, _) = sess.sym('linux_banner')
    assert status == 0
    status, data = sess.read(banner, 16)
    assert status == 0
    assert sess.write(banner, data) == -errno.EFAULT
    assert_kernel_log_clean(target)


def test_calls_are_limited_to_safe_kernel_text(sess):
    call = sess.call
    _, (strlen, _) = sess.sym('strlen')
    _, (banner, _) = sess.sym('linux_banner')
    _, (spin_lock, _) = sess.sym('_raw_spin_lock')
    _, (rcu_lock, _) = sess.sym('__rcu_read_lock')
    status, ret = call(strlen, banner)
    assert status == 0 and struct.unpack_from('<Q', ret)[0] > 20
    assert call(banner)[0] == -errno.EFAULT                   # data, not text
    assert call(strlen + 1, banner)[0] == -errno.EFAULT       # not an entry
    assert call(spin_lock, banner)[0] == -errno.EPERM
    assert call(rcu_lock)[0] == -errno.EPERM


def dmesg(target):
    rc, out, _ = target.exec('dmesg')
    assert rc == 0
    return out


def assert_kernel_log_clean(target):
    out = dmesg(target)
    assert 'Oops' not in out and 'BUG:' not in out and 'WARNING:' not in out


# A kernel function not on CALL's list of context-changing primitives that
# still returns with the context changed: _atomic_dec_and_lock() of a
# count of 1 takes the spinlock and returns holding it (preemption off);
# its _irqsave form leaves interrupts off as well. Both run here on a
# session allocation nobody else knows, so the lock left taken harms
# nothing and goes with the session.
@pytest.mark.parametrize('fn', ['_atomic_dec_and_lock',
                                '_atomic_dec_and_lock_irqsave'])
def test_call_returning_in_atomic_context_ends_the_session(target, fn):
    s = Session(target.endpoint, key_of(target))
    assert s.hello().status == 0
    ended = dmesg(target).count('ended: a kernel call returned in another context')
    status, (addr, _) = s.sym(fn)
    assert status == 0
    status, mem = s.alloc(64)                  # zeroed: an unlocked spinlock
    assert status == 0
    assert s.write(mem, struct.pack('<i', 1)) == 0          # the count
    status, _ = s.call(addr, mem, mem + 8, mem + 16)        # lock, flags
    assert status == -errno.EDEADLK
    state = proc_dusk(target)
    assert state['session'] == 'none'
    out = dmesg(target)
    assert out.count('ended: a kernel call returned in another context') == ended + 1
    # Printed once a boot: by whichever of the two ran first.
    report = re.search(r'dusk: (\w+) returned with preempt count (\w+) -> '
                       r'(\w+), rcu nesting 0 -> 0, irqs on -> (on|off); '
                       r'put back, ending the session', out)
    assert report, out[-2000:]
    assert report.group(1).startswith('_atomic_dec_and_lock')
    assert int(report.group(2), 0) + 1 == int(report.group(3), 0)
    assert_kernel_log_clean(target)
    # The session is gone: its requests are not answered.
    s.sock.settimeout(1.0)
    with pytest.raises((socket.timeout, TimeoutError)):
        s.ping()
    s.close()
    # The thread goes on serving, preemptible (it sleeps between requests).
    s = Session(target.endpoint, key_of(target))
    assert s.hello().status == 0
    for _ in range(20):
        assert s.ping() == 0
    assert s.bye() == 0
    s.close()
    assert_kernel_log_clean(target)


# Request ids are numbered per channel: the watchdog counts from 1 however
# far the main channel has got, and its ids never meet the main channel's
# kept replies. BYE is a kept request, so with one record for both
# channels it would be answered from the record instead of executed.

def test_watchdog_id_is_not_a_duplicate_of_a_main_channel_id(target, sess):
    assert sess.alloc(64, req_id=1)[0] == 0
    r = sess.request(K.DUSK_MSG_PING, channel=WATCHDOG, req_id=1)
    assert r.status == 0 and r.channel == WATCHDOG and len(r.payload) == STATS.size
    # Main id 2 after watchdog id 1: executed (a second allocation).
    assert sess.alloc(64, req_id=2)[0] == 0
    assert proc_dusk(target)['allocs'] == '2'
    # Watchdog id 2 after main id 2: executed, not main's kept reply.
    r = sess.request(K.DUSK_MSG_BYE, channel=WATCHDOG, req_id=2)
    assert (r.status, r.type, r.channel, r.payload) == (
        0, K.DUSK_MSG_BYE, WATCHDOG, b'')
    assert proc_dusk(target)['session'] == 'none'


def test_watchdog_id_is_not_stale_after_main_channel_ids(target, sess):
    assert sess.alloc(16, req_id=5 * K.DUSK_ID_WINDOW)[0] == 0
    assert sess.alloc(16, req_id=7)[0] == -errno.ESTALE
    r = sess.request(K.DUSK_MSG_BYE, channel=WATCHDOG, req_id=1)
    assert (r.status, r.channel, r.payload) == (0, WATCHDOG, b'')
    assert proc_dusk(target)['session'] == 'none'


def harmless_payload(m):
    """A payload of m's fixed size, all zeros (SYM: one NUL byte): if dusk.ko
    executed it, it would change nothing (-EINVAL, -ENOENT, -EFAULT, -ESTALE,
    or a WRITE of no segments)."""
    return b'\0' * m.size


def test_message_table_rules_are_enforced(target, sess):
    """What the table does not allow is answered -EBADMSG, not executed: a
    type the runtime does not send, a type on a channel not its own, a
    payload whose size does not fit."""
    def refused(m, payload, channel=MAIN):
        r = sess.request(m.type, payload, channel=channel)
        return (r.status, r.type, r.flags, r.channel, r.payload) == (
            -errno.EBADMSG, m.type, K.DUSK_F_REPLY, channel, b'')

    checked = {'sender': 0, 'channel': 0, 'size': 0}
    for m in MSGS.values():
        if m.name == 'HELLO':
            continue                      # session 0 only (below)
        if m.sender != K.DUSK_FROM_RUNTIME:
            assert refused(m, harmless_payload(m)), m.name
            checked['sender'] += 1
            continue
        for ch in set(CHANNELS) - m.chans:
            assert refused(m, harmless_payload(m), ch), (m.name, ch)
            checked['channel'] += 1
        bad = [m.size - 1] if m.size else []
        if m.kind == K.DUSK_SIZE_EXACT:
            bad.append(m.size + 8)
        for size in bad:
            assert refused(m, b'\0' * size), (m.name, size)
            checked['size'] += 1
    # The table has each kind of rule to check (HOOK; READ and the others
    # on the watchdog; every request's size).
    assert all(checked.values()), checked
    assert MSGS['READ'].chans == {MAIN, K.DUSK_CHAN_INV}
    assert sess.ping() == 0
    state = proc_dusk(target)
    assert state['allocs'] == state['hooks'] == '0'

    # HELLO belongs to session 0: within a session it is dropped unanswered.
    before = counter(target, 'rx_malformed')
    _, dgram = sess.datagram(K.DUSK_MSG_HELLO, b'\0' * MSGS['HELLO'].size)
    sess.send_raw(dgram)
    assert_no_reply(sess)
    assert counter(target, 'rx_malformed') == before + 1


def ping(target, addr, count=1, wait=2):
    rc, _, _ = target.exec(f'ping -c {count} -W {wait} {addr}')
    return rc


# A client that never answers HOOK messages holds every packet its hook
# sees, the target agent's too: these tests hook IPv6 and ping ::1, which
# the agent (IPv4) never crosses.

@pytest.mark.parametrize('policy', ['accept', 'drop'])
def test_bye_releases_queued_packets_by_policy(target, policy):
    """BYE releases the packet its session holds, by the session's policy,
    at once: the hold (LONG_HOLD_MS) is ten times longer than the bound
    the release must meet, so the hold cannot pass this test.

    The guest's own IPv6 (neighbour discovery, MLD: a fresh boot has some)
    may wait in the hook beside the ping; each such packet gets its HOOK
    too, so the counts below hold all the same."""
    released = int(no_session(target, key_of(target))['released'])
    s = Session(target.endpoint, key_of(target))
    assert s.hello(hold_ms=LONG_HOLD_MS, heartbeat_ms=60000,
                   policy=POLICIES[policy]).status == 0
    assert s.hook_register(NFPROTO_IPV6, NF_INET_LOCAL_OUT, 0)[0] == 0
    echos = snmp6(target)['Icmp6InEchos']
    t_start = time.monotonic()
    p = BgPing(target, 'bye', wait=LONG_HOLD_MS // 1000 + 10)
    # Nobody answers the HOOK: the echo request waits.
    wait_for_hooks(s, is_echo6_to_loopback, 1, 20,
                   'no HOOK message for the ping')
    state = proc_dusk(target)
    assert (state['hooks'], state['policy'], state['hold_ms']) == (
        '1', policy, str(LONG_HOLD_MS))
    assert int(state['queued']) >= 1 and int(state['released']) == released
    assert p.result() is None, p.output()          # still held
    t_bye = time.monotonic()
    assert s.bye() == 0          # HOOKs sent before it are in s.hooks now
    s.close()
    state = proc_dusk(target)
    assert (state['session'], state['queued']) == ('none', '0')
    # Every packet the session held was released (each had its HOOK).
    assert int(state['released']) == released + len({h.id for h in s.hooks})
    if policy == 'accept':
        # Delivered: the ping ends, and its round trip (the guest's own
        # clock, from after t_start) says the request was let go within
        # PROMPT of BYE, however slowly the polling here saw it end.
        rc, rtt = wait_until(p.result, 20, 'the released ping never ended')
        assert rc == 0 and rtt is not None, p.output()
        assert rtt / 1000 < (t_bye - t_start) + PROMPT, (rtt, t_bye - t_start)
        assert rtt < LONG_HOLD_MS
        assert snmp6(target)['Icmp6InEchos'] == echos + 1
    else:
        # Dropped: never delivered. A ping after it (no hook now) is
        # delivered, and is the only echo request that was.
        assert ping(target, '-6 ::1') == 0
        assert snmp6(target)['Icmp6InEchos'] == echos + 1
        assert 'bytes from' not in p.output()
        p.kill()
        rc, _ = wait_until(p.result, 10,
                           'the held ping did not end when killed')
        assert rc != 0


def test_silent_session_ends_after_its_heartbeat(target):
    """Talking keeps a session with a 2 s heartbeat alive for longer than
    two heartbeats; silence ends it (polled, not slept for), its hook
    gone."""
    ended = dmesg(target).count('ended: heartbeat lost')
    s = Session(target.endpoint, key_of(target))
    assert s.hello(heartbeat_ms=2000).status == 0
    assert s.hook_register(NFPROTO_IPV6, NF_INET_LOCAL_OUT, 0)[0] == 0
    assert proc_dusk(target)['hooks'] == '1'
    t_end = time.monotonic() + 5
    while time.monotonic() < t_end:
        # Answered (an ended session's are not): still running.
        assert s.ping() == 0
        time.sleep(0.2)                        # pacing, well under 2 s
    state = wait_until(lambda: (st := proc_dusk(target))['session'] == 'none'
                       and st, 10, 'the silent session did not end')
    assert 'hooks' not in state
    assert dmesg(target).count('ended: heartbeat lost') == ended + 1
    assert ping(target, '-6 ::1') == 0
    s.close()
