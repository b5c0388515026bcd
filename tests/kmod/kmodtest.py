"""Helpers of the dusk.ko tests that hold real traffic in the target: polling
with deadlines, pings run in the background of the guest, the guest's
protocol counters, HOOK messages recognised by their packet's bytes, and
static helper programs built on the host and pushed into the guest.

Nothing here sleeps for a pass: every wait polls a condition until a
deadline, and a deadline that passes fails the test.
"""
import os
import pathlib
import re
import select
import socket
import struct
import subprocess
import time

import dusk_constants as K
from duskwire import Session, hook_segments

NF_DROP, NF_ACCEPT = 0, 1
NFPROTO_IPV4, NFPROTO_IPV6 = 2, 10
NF_INET_PRE_ROUTING, NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT = 0, 1, 3

# Long enough that nothing the tests wait for can be explained by it.
LONG_HOLD_MS = 20000
# What a test allows for a release it caused (BYE, a new session, the hold
# limit): far under LONG_HOLD_MS, far over what the kernel needs.
PROMPT = 2.0

POLICIES = {'accept': K.DUSK_POLICY_ACCEPT, 'drop': K.DUSK_POLICY_DROP}


def wait_until(pred, timeout, what, interval=0.1):
    """Poll pred() until it returns something true: that value. Fails the
    test if timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f'timed out after {timeout} s: {what}')
        time.sleep(interval)


def proc_dusk(target):
    rc, out, err = target.exec('cat /proc/dusk')
    assert rc == 0, err
    return dict(line.split(' ', 1) for line in out.splitlines())


def no_session(target, key):
    """/proc/dusk with no session running and nothing waiting. A session
    an earlier failed test left behind is ended first (replaced by one of
    our own, which says BYE), so that one failure does not fail the rest."""
    state = proc_dusk(target)
    if state['session'] != 'none':
        s = Session(target.endpoint, key)
        try:
            assert s.hello().status == 0 and s.ping() == 0
            assert s.bye() == 0
        finally:
            s.close()
        state = proc_dusk(target)
    assert (state['session'], state['queued']) == ('none', '0'), state
    return state


def snmp6(target):
    """/proc/net/snmp6 as {name: int}."""
    rc, out, err = target.exec('cat /proc/net/snmp6')
    assert rc == 0, err
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}


def snmp(target, proto='Ip'):
    """One protocol's row of /proc/net/snmp as {name: int}."""
    rc, out, err = target.exec('cat /proc/net/snmp')
    assert rc == 0, err
    rows = [line.split() for line in out.splitlines()
            if line.startswith(proto + ':')]
    return dict(zip(rows[0][1:], map(int, rows[1][1:])))


class BgPing:
    """ping -6 -c 1 in the guest's background; its output, exit status and
    round-trip time read back on demand."""

    def __init__(self, target, tag, dest='::1', wait=30, size=None):
        self.target, self.out, self.pidf = (target, f'/tmp/{tag}.out',
                                            f'/tmp/{tag}.pid')
        opt = f'-s {size} ' if size is not None else ''
        rc, _, err = target.exec(
            f'rm -f {self.out} {self.pidf}; '
            f'( ping -6 -c 1 -W {wait} {opt}{dest} > {self.out} 2>&1 & '
            f'p=$!; echo $p > {self.pidf}; wait $p; echo rc=$? >> {self.out} )'
            ' </dev/null >/dev/null 2>&1 &')
        assert rc == 0, err

    def output(self):
        return self.target.exec(f'cat {self.out}')[1]

    def result(self):
        """None while the ping runs, else (exit status, rtt in ms or None)."""
        out = self.output()
        m = re.search(r'^rc=(\d+)$', out, re.M)
        if not m:
            return None
        rtt = re.search(r'time=([\d.]+) ms', out)
        return int(m.group(1)), (float(rtt.group(1)) if rtt else None)

    def kill(self):
        self.target.exec(f'kill $(cat {self.pidf}) 2>/dev/null')


def background_pings(target, tag, n, dest='::1', wait=30, size=None):
    """n pings started at once (one exec), each as BgPing would start it."""
    opt = f'-s {size} ' if size is not None else ''
    script = ''.join(
        f'( ping -6 -c 1 -W {wait} {opt}{dest} > /tmp/{tag}{i}.out 2>&1 & '
        f'p=$!; echo $p > /tmp/{tag}{i}.pid; wait $p; '
        f'echo rc=$? >> /tmp/{tag}{i}.out ) </dev/null >/dev/null 2>&1 & '
        for i in range(n))
    rc, _, err = target.exec(
        f'rm -f /tmp/{tag}*.out /tmp/{tag}*.pid; {script}')
    assert rc == 0, err
    pings = []
    for i in range(n):
        p = BgPing.__new__(BgPing)
        p.target, p.out, p.pidf = (target, f'/tmp/{tag}{i}.out',
                                   f'/tmp/{tag}{i}.pid')
        pings.append(p)
    return pings


def ping_results(target, pings):
    """The results of pings (see BgPing.result), read with one exec."""
    rc, out, _ = target.exec('for f in ' + ' '.join(p.out for p in pings) +
                             '; do echo "== $f"; cat $f; done')
    parts = {}
    for chunk in out.split('== ')[1:]:
        name, _, body = chunk.partition('\n')
        parts[name.strip()] = body
    res = []
    for p in pings:
        body = parts.get(p.out, '')
        m = re.search(r'^rc=(\d+)$', body, re.M)
        res.append(int(m.group(1)) if m else None)
    return res


def hook_bytes(r):
    """All the bytes a HOOK message prefetched, segments concatenated."""
    return b''.join(data for _, data in hook_segments(r))


def is_echo6_to_loopback(r):
    """Whether the packet a HOOK carries is an ICMPv6 echo request (or
    reply) from ::1 to ::1."""
    return icmp6_type(r) in (128, 129)


LOOPBACK6 = bytes(15) + b'\x01'


def icmp6_type(r):
    """The ICMPv6 type of the packet a HOOK carries if it is ICMPv6 from
    ::1 to ::1 (found by those addresses in the prefetched network
    header), else None."""
    for _, data in hook_segments(r):
        i = data.find(LOOPBACK6 + LOOPBACK6)
        # IPv6: version 6 at 0, next header at 6, saddr at 8, daddr at 24.
        while i >= 8:
            h = i - 8
            if data[h] >> 4 == 6 and data[h + 6] == 58 and len(data) > h + 40:
                return data[h + 40]
            i = data.find(LOOPBACK6 + LOOPBACK6, i + 1)
    return None


def _ip_csum_ok(h):
    total = sum(struct.unpack('!10H', h))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return total == 0xffff


def ipv4_header(r):
    """The IPv4 header of the packet a HOOK carries, found in its last
    segment (the prefetched data, from the network header widened to a
    line) by its version, length and checksum: {proto, saddr, daddr,
    fragment (a fragment: MF set or an offset)}, or None."""
    segs = hook_segments(r)
    if not segs:
        return None
    data = segs[-1][1]
    for i in range(len(data) - 19):
        h = data[i:i + 20]
        if h[0] != 0x45 or not _ip_csum_ok(h):
            continue
        frag = struct.unpack('!H', h[6:8])[0]
        return {'proto': h[9], 'saddr': socket.inet_ntoa(h[12:16]),
                'daddr': socket.inet_ntoa(h[16:20]),
                'fragment': bool(frag & 0x3fff), 'data': data[i:]}
    return None


def wait_for_hooks(sess, pred, count, timeout, what):
    """Keep the session talking (PING: HOOK messages arrive meanwhile) until
    count distinct packets whose HOOK satisfies pred have arrived: their
    HOOK messages, one per packet id."""
    def enough():
        seen = {}
        for h in sess.hooks:
            if pred(h):
                seen.setdefault(h.id, h)
        if len(seen) >= count:
            return list(seen.values())
        sess.ping()
        return None
    return wait_until(enough, timeout, what, interval=0.05)


def drain_hooks(sess, wait=0.0):
    """Read what waits on the session's socket (HOOK messages go to
    sess.hooks); wait: how long the socket may stay quiet before stopping."""
    sess.sock.settimeout(wait if wait > 0 else 0.001)
    try:
        while True:
            sess.take(sess.recv())
    except (socket.timeout, TimeoutError, BlockingIOError):
        pass
    finally:
        sess.sock.settimeout(5.0)


def serve_hooks(sess, done, timeout, what, verdict=NF_ACCEPT, socks=(),
                on_dgram=None):
    """Answer every HOOK of sess with verdict (once per packet) until done()
    is true; datagrams on socks go to on_dgram(sock, data). Returns the
    HOOK messages of the packets seen, one per packet id, in order."""
    answered, seen = set(), {}
    deadline = time.monotonic() + timeout
    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f'timed out after {timeout} s: {what}')
        for h in sess.hooks:
            seen.setdefault(h.id, h)
        sess.hooks.clear()
        for pid in [p for p in seen if p not in answered]:
            answered.add(pid)
            # Skipped by dusk.ko if the hold ran out first.
            sess.verdict(pid, verdict)
        ready, _, _ = select.select([sess.sock, *socks], [], [],
                                    min(left, 0.05))
        for s in ready:
            if s is sess.sock:
                drain_hooks(sess)
            else:
                data = s.recv(65536)
                if on_dgram:
                    on_dgram(s, data)
    for h in sess.hooks:
        seen.setdefault(h.id, h)
    return list(seen.values())


class UdpEcho:
    """/tmp/kt-udp-echo (tests/tools/udp-echo.c, pushed) on port in the
    guest's background; an echo already serving the port does as well."""

    def __init__(self, target, port):
        self.target = target
        rc, _, err = target.exec(
            f'/tmp/kt-udp-echo {port} </dev/null >/dev/null 2>&1 & '
            'echo $! > /tmp/kt-udp-echo.pid')
        assert rc == 0, err

    def stop(self):
        self.target.exec('kill $(cat /tmp/kt-udp-echo.pid) 2>/dev/null')


def echo_through(addr, payload, timeout=20):
    """Send payload to addr until it comes back (the echo may not be bound
    yet); no dusk hook must be registered meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)

        def back():
            s.sendto(payload, addr)
            try:
                return s.recv(65536) == payload
            except (socket.timeout, TimeoutError):
                return False
        wait_until(back, timeout, 'no echo through the forward', interval=0)


# ---- helper programs: built on the host, pushed into the guest ------------

def srcdir():
    return pathlib.Path(os.environ.get('DUSK_SRCDIR') or
                        pathlib.Path(__file__).resolve().parents[2])


def build_static(src, out):
    """gcc -static src -o out (the guest has busybox and nothing else)."""
    subprocess.run(['gcc', '-O2', '-Wall', '-static', '-o', str(out),
                    str(src)], check=True, capture_output=True, text=True)
    return out


def build_ko(src, workdir, release):
    """Build the one-file module src with kbuild against the target's kernel:
    the .ko's path."""
    kdir = pathlib.Path(f'/lib/modules/{release}/build')
    assert (kdir / 'Makefile').exists(), f'no kbuild tree at {kdir}'
    d = pathlib.Path(workdir)
    d.mkdir(parents=True, exist_ok=True)
    name = pathlib.Path(src).stem
    (d / f'{name}.c').write_text(pathlib.Path(src).read_text())
    (d / 'Kbuild').write_text(f'obj-m := {name}.o\n')
    p = subprocess.run(['make', '-C', str(kdir), f'M={d}', 'modules'],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return d / f'{name}.ko'


def target_release(target):
    rc, st = target.status()
    assert rc == 0, st
    return st['release']
