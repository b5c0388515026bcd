"""rmmod dusk with a session open, a hook registered and a packet waiting:
the kernel stays healthy, the packet is released, dusk.ko loads again.
(IPv6, so that the target agent's own traffic never waits in the hook.)"""
import time

from duskwire import Session
from test_protocol import key_of, ping, NFPROTO_IPV6, NF_INET_LOCAL_OUT

RELOAD = ('. /etc/dusk/boot.conf && '
          'modprobe dusk key="$(cat /etc/dusk/key)" port="$DUSK_PORT"')


def test_rmmod_with_a_session_open_is_clean(target):
    s = Session(target.endpoint, key_of(target))
    assert s.hello(hold_ms=30000, heartbeat_ms=30000).status == 0
    assert s.hook_register(NFPROTO_IPV6, NF_INET_LOCAL_OUT, 0)[0] == 0
    target.exec('(ping -6 -c 1 -W 20 ::1 > /tmp/unload.out 2>&1;'
                ' echo rc=$? >> /tmp/unload.out) &')
    deadline = time.time() + 10
    while not s.hooks and time.time() < deadline:
        s.ping()
    assert s.hooks, 'the ping never reached the hook'
    rc, out, err = target.exec('rmmod dusk')
    assert rc == 0, err
    deadline = time.time() + 10
    while time.time() < deadline:
        out = target.exec('cat /tmp/unload.out')[1]
        if 'rc=' in out:
            break
        time.sleep(0.2)
    assert 'rc=0' in out, out            # released, accepted by policy
    rc, log, _ = target.exec('dmesg')
    assert 'session' in log and 'ended: unload' in log
    for bad in ('Oops', 'BUG:', 'WARNING:', 'general protection', 'refcount'):
        assert bad not in log
    rc, _, err = target.exec(RELOAD)
    assert rc == 0, err
    s.close()
    s = Session(target.endpoint, key_of(target))
    assert s.hello().status == 0
    assert s.ping() == 0
    assert s.bye() == 0
    s.close()
    assert ping(target, '-6 ::1') == 0


def test_addr_binds_dusk_to_one_address(target):
    """addr= serves on that address only: bound to the guest's loopback,
    dusk.ko is out of reach of the forward (which arrives on eth0); a
    string that is not an IPv4 address is refused at load."""
    rc, _, err = target.exec('rmmod dusk')
    assert rc == 0, err
    try:
        rc, _, err = target.exec(RELOAD + ' addr=not-an-address')
        assert rc != 0
        rc, out, _ = target.exec('grep -c "^dusk " /proc/modules')
        assert out.strip() == '0', 'loaded with a bad addr='
        rc, _, err = target.exec(RELOAD + ' addr=127.0.0.1')
        assert rc == 0, err
        rc, out, err = target.exec('cat /proc/net/udp')
        assert rc == 0, err
        assert ' 0100007F:1B58 ' in out, out       # 127.0.0.1:7000
        s = Session(target.endpoint, key_of(target), timeout=1.0)
        try:
            try:
                answer = s.hello()
            except OSError:                      # timed out: nobody there
                answer = None
            assert answer is None, 'answered on an address it does not serve'
        finally:
            s.close()
    finally:
        target.exec('rmmod dusk')
        rc, _, err = target.exec(RELOAD)
    assert rc == 0, err
    s = Session(target.endpoint, key_of(target))
    assert s.hello().status == 0 and s.bye() == 0
    s.close()
