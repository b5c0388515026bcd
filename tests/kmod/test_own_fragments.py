"""dusk.ko's own traffic crosses the hooks it proxies untouched; IPv4
fragments after the first carry no port, so they are dusk's only when
their datagram's first fragment was to or from dusk's port
(kmod/nf_proxy.c, dusk_own_traffic). On the real target:

qemu's user-mode network (slirp) sends a UDP datagram larger than the
guest's MTU into the guest as IP fragments, from 10.0.2.2: the address the
guest sees the program at (/proc/dusk "peer"). The target loads no
conntrack, so nothing reassembles before PRE_ROUTING: each fragment
crosses a hooked PRE_ROUTING on its own (the guest's Ip ReasmOKs counts
the reassembly that follows, in ip_local_deliver). So from the host:

- a small datagram from the program's address, not to dusk's port, is
  queued (its HOOK reaches the client);
- the fragments of a large one from that same address to another port
  are queued, each one, and the datagram is delivered once accepted;
- the fragments of the program's own large request (a WRITE of 4000
  bytes) are not queued: the request is executed, no HOOK carries its
  bytes;
- fragments from another address (the guest to itself over lo, its MTU
  lowered to 1500 so that they are fragments) are queued, each one.

LOCAL_OUT sees no fragments (IPv4 fragments after POST_ROUTING), so only
PRE_ROUTING can show the rule.
"""
import concurrent.futures
import os
import socket

import pytest

from duskwire import Session
from kmodtest import (LONG_HOLD_MS, NF_INET_PRE_ROUTING, NFPROTO_IPV4,
                      UdpEcho, build_static, echo_through, hook_bytes,
                      ipv4_header, proc_dusk, serve_hooks, snmp, srcdir)
from test_protocol import key_of

PORT = 9000                  # forwarded from the host (conftest)
IPPROTO_UDP = 17
BIG = 8000                   # > 1500: 6 fragments from slirp
OWN = 4000                   # a WRITE of it: 3 fragments
LO_PORT = 9001               # nettest's own port, over lo
LO_PAYLOAD = 3000            # 3 fragments at lo's MTU 1500


def exec_serving(target, s, hooks, cmd, timeout=60):
    """target.exec(cmd) while a hook of session s holds the agent's
    traffic: this thread accepts every packet meanwhile (their HOOK
    messages go to hooks)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        run = pool.submit(target.exec, cmd, timeout)
        hooks += serve_hooks(s, run.done, timeout + 30,
                             f'exec {cmd!r} did not end')
        return run.result()


@pytest.fixture(scope='module')
def guest(target, tmp_path_factory):
    work = tmp_path_factory.mktemp('frag')
    top = srcdir()
    for name, src in (('udp-echo', top / 'tests' / 'tools' / 'udp-echo.c'),
                      ('nettest', top / 'tests' / 'examples' / 'nettest.c')):
        target.push(build_static(src, work / name), f'/tmp/kt-{name}')
    echo = UdpEcho(target, PORT)
    yield ('127.0.0.1', target.forwards[f'udp:{PORT}'])
    echo.stop()


def test_only_the_programs_own_fragments_bypass_the_hooks(target, guest):
    echo_through(guest, b'warm up')
    ip_before = snmp(target, 'Ip')
    s = Session(target.endpoint, key_of(target))
    assert s.hello(hold_ms=LONG_HOLD_MS, heartbeat_ms=60000).status == 0
    assert s.ping() == 0                    # the session is running
    # Where the guest sees the program (and every host socket) come from.
    peer = proc_dusk(target)['peer'].rpartition(':')[0]
    assert peer == '10.0.2.2'
    # PRE_ROUTING IPv4: the agent's traffic crosses it too; serve_hooks
    # accepts every packet, so exec goes on (slowly) meanwhile.
    assert s.hook_register(NFPROTO_IPV4, NF_INET_PRE_ROUTING, 0)[0] == 0
    tag = os.urandom(6).hex().encode()
    small = b'small ' + tag
    big_unit = b'<big ' + tag + b'>'       # 18 bytes: every 64 bytes of
    big = (big_unit * (BIG // len(big_unit) + 1))[:BIG]   # it hold a copy
    lo_unit = b'<lo ' + tag + b'>'
    own_unit = b'<own ' + tag + b'>'
    own = (own_unit * (OWN // len(own_unit) + 1))[:OWN]
    lo = (lo_unit * (LO_PAYLOAD // len(lo_unit) + 1))[:LO_PAYLOAD]
    assert len(big) == BIG and len(lo) == LO_PAYLOAD
    hooks = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            for payload in (small, big):
                echoed = []
                u.sendto(payload, guest)
                hooks += serve_hooks(
                    s, lambda: echoed, 20, f'no echo of {len(payload)} bytes',
                    socks=[u], on_dgram=lambda _, d: echoed.append(d))
                assert echoed == [payload]
        # dusk's own: a request in fragments (no HOOK answered meanwhile:
        # were they queued, the WRITE would wait for the hold time).
        status, addr = s.alloc(OWN)
        assert status == 0
        assert s.write(addr, own) == 0
        # The guest to itself over lo, fragmented: exec in a thread while
        # this one answers the HOOKs of its traffic (and of the agent's).
        rc, _, err = exec_serving(target, s, hooks, 'ip link set lo mtu 1500')
        assert rc == 0, err
        rc, out, err = exec_serving(
            target, s, hooks,
            f'/tmp/kt-nettest udp -w 20000 127.0.0.1 {LO_PORT} '
            f'"{lo.decode()}"')
        assert rc == 0 and out.strip() == 'udp sent 1 received 1', out + err
    finally:
        assert s.bye() == 0
        s.close()
        target.exec('ip link set lo mtu 65536')
    ip_after = snmp(target, 'Ip')

    packets = {h.id: ipv4_header(h) for h in hooks}

    def queued(saddr, fragment, unit):
        """The packets (ids) queued from saddr, UDP, fragments or not,
        whose prefetched bytes hold unit."""
        return {i for i, ip in packets.items()
                if ip and (ip['saddr'], ip['proto'], ip['fragment']) ==
                (saddr, IPPROTO_UDP, fragment) and unit in ip['data']}
    # Not a fragment, from the program's address: queued.
    assert len(queued(peer, False, small)) == 1
    # Fragments from the program's address: the six of the datagram to
    # another port, each queued (and delivered: echoed above), the first
    # known by its bytes (later ones' prefetched bytes may stop short of
    # their payload: the driver's linear part); none of the three of the
    # program's own WRITE, no packet with its bytes.
    assert len(queued(peer, True, b'')) == 6
    assert len(queued(peer, True, big_unit)) >= 1
    assert not [h for h in hooks if own_unit in hook_bytes(h)]
    # Fragments from another address: each queued. All were fragments:
    # the guest reassembled them.
    assert len(queued('127.0.0.1', True, lo_unit)) == 3
    assert ip_after['ReasmOKs'] - ip_before['ReasmOKs'] == 3
    assert ip_after['ReasmReqds'] - ip_before['ReasmReqds'] == 6 + 3 + 3
