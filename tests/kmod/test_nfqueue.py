"""dusk.ko beside a real NFQUEUE user, on the real target.

The kernel has one queue handler; dusk.ko takes it and chains to
nfnetlink_queue (kmod/pktq.c). Here a real NFQUEUE consumer
(tools/bench/nfq-peer.c, static) is bound to a queue, and a rule sends
UDP to port 9000 there. The target is busybox without iptables or nft, so
the rule is tools/bench/steer/steer.c, the benchmark's module whose
PRE_ROUTING hook (priority NF_IP_PRI_FILTER, 0) returns NF_QUEUE_NR(queue)
for that port, just as "-p udp --dport 9000 -j NFQUEUE --queue-num N"
would. A dusk session hooks PRE_ROUTING too, before or after it.

A datagram from the host to the forwarded port crosses both: the consumer
must get it exactly once (its queue's id_sequence in
/proc/net/netfilter/nfnetlink_queue), dusk's client must get its HOOK
exactly once, and after both verdicts it is delivered (udp-echo answers).
With the NFQUEUE rule on dusk's own queue number the two differ only by
the hook that queued them: dusk's packets still must not reach the
consumer, nor the consumer's dusk.
"""
import os
import re
import socket

import pytest

from duskwire import Session
from kmodtest import (LONG_HOLD_MS, NF_INET_PRE_ROUTING, NFPROTO_IPV4,
                      UdpEcho, build_ko, build_static, echo_through,
                      hook_bytes, serve_hooks, srcdir, target_release,
                      wait_until)
from test_protocol import key_of

PORT = 9000                  # forwarded from the host (conftest)
NOT_A_PORT = 1               # nfq-peer drops this port: nothing goes there
DUSK_NF_QUEUE = int(re.search(
    r'#define\s+DUSK_NF_QUEUE\s+(\w+)',
    (srcdir() / 'kmod' / 'dusk_kmod.h').read_text()).group(1), 0)


@pytest.fixture(scope='module')
def guest(target, tmp_path_factory):
    """steer.ko, nfq-peer and udp-echo in the guest, udp-echo serving
    PORT; the forward's host address."""
    work = tmp_path_factory.mktemp('nfq')
    top = srcdir()
    ko = build_ko(top / 'tools' / 'bench' / 'steer' / 'steer.c',
                  work / 'steer', target_release(target))
    target.push(ko, '/tmp/kt-steer.ko')
    for name, src in (('nfq-peer', top / 'tools' / 'bench' / 'nfq-peer.c'),
                      ('udp-echo', top / 'tests' / 'tools' / 'udp-echo.c')):
        target.push(build_static(src, work / name), f'/tmp/kt-{name}')
    echo = UdpEcho(target, PORT)
    yield ('127.0.0.1', target.forwards[f'udp:{PORT}'])
    echo.stop()


def nfq_queues(target):
    """/proc/net/netfilter/nfnetlink_queue as {queue: {field: int}}."""
    rc, out, err = target.exec('cat /proc/net/netfilter/nfnetlink_queue')
    assert rc == 0, err
    names = ('queue portid total copy_mode copy_range dropped user_dropped '
             'id_sequence one').split()
    return {int(f[0]): dict(zip(names, map(int, f)))
            for f in (line.split() for line in out.splitlines())}


class NfQueueRule:
    """steer.ko queueing UDP to PORT to queue, nfq-peer consuming it."""

    def __init__(self, target, queue):
        self.target, self.queue = target, queue
        rc, _, err = target.exec(f'insmod /tmp/kt-steer.ko port={PORT} '
                                 f'queue={queue}')
        assert rc == 0, err
        rc, _, err = target.exec(
            f'/tmp/kt-nfq-peer {queue} {NOT_A_PORT} </dev/null '
            '>/tmp/kt-nfq-peer.out 2>&1 & echo $! > /tmp/kt-nfq-peer.pid')
        assert rc == 0, err
        wait_until(lambda: 'ready' in
                   target.exec('cat /tmp/kt-nfq-peer.out')[1],
                   20, 'nfq-peer never bound its queue')

    def stats(self):
        return nfq_queues(self.target)[self.queue]

    def remove(self):
        self.target.exec('kill $(cat /tmp/kt-nfq-peer.pid)')
        wait_until(lambda: self.queue not in nfq_queues(self.target), 20,
                   'nfq-peer did not unbind')
        rc, _, err = self.target.exec('rmmod steer')
        assert rc == 0, err


@pytest.mark.parametrize('queue', [5, DUSK_NF_QUEUE],
                         ids=['queue-5', 'dusks-queue-number'])
@pytest.mark.parametrize('dusk_priority', [-10, 10],
                         ids=['dusk-first', 'nfqueue-first'])
def test_nfqueue_consumer_and_dusk_hook_each_get_their_packets(
        target, guest, queue, dusk_priority):
    echo_through(guest, b'warm up')
    rule = NfQueueRule(target, queue)
    try:
        echo_through(guest, b'through NFQUEUE alone')
        before = rule.stats()
        assert before['total'] == 0
        s = Session(target.endpoint, key_of(target))
        assert s.hello(hold_ms=LONG_HOLD_MS, heartbeat_ms=60000).status == 0
        try:
            # PRE_ROUTING IPv4: the agent's traffic crosses it too, so exec
            # waits until BYE; serve_hooks accepts whatever else comes.
            assert s.hook_register(NFPROTO_IPV4, NF_INET_PRE_ROUTING,
                                   dusk_priority)[0] == 0
            marker = b'nfq+dusk ' + os.urandom(8).hex().encode()
            echoed = []
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.sendto(marker, guest)
                hooks = serve_hooks(
                    s, lambda: echoed, 20, 'the datagram did not come back',
                    socks=[u], on_dgram=lambda _, d: echoed.append(d))
            assert echoed == [marker]
        finally:
            assert s.bye() == 0
            s.close()
        # dusk's client got it once; the NFQUEUE consumer got it once and
        # nothing else (dusk's queueing of it did not reach NFQUEUE).
        assert len([h for h in hooks if marker in hook_bytes(h)]) == 1
        after = rule.stats()
        assert after['id_sequence'] == before['id_sequence'] + 1
        assert (after['total'], after['dropped'], after['user_dropped']) == (
            0, 0, 0)
    finally:
        rule.remove()
