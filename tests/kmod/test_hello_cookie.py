"""HELLO costs a stranger a round trip and dusk.ko nothing, on the real
target (proto/dusk_proto.h, "Handshake"; kmod/cookie.c).

A stranger on the path between a program and dusk.ko sees its datagrams
and can send from any address, but has no key. Here it is a UDP relay the
program talks through (Path). What it captured - the program's HELLOs,
the first without a cookie and the second with the cookie dusk.ko gave -
it replays at 1,000 a second or more, from its own address and from the
address the program used, while a new program (markdrop, built by
dusk-cc) starts: the new program starts and works, and dusk.ko's
counters show that the replays opened no session.

With the key, the protocol client (duskwire) checks the rules one by one:
no cookie, no state; a cookie is good only from the address it was given
to; a nonce opens one pending session at most; a pending session hears
only its HELLO's address.

And a wrong key: dusk.ko answers nothing (a stranger gets nothing), and
the program says what that can mean, as it does when nothing listens.
"""
import errno
import select
import socket
import sys
import threading
import time

import pytest

import dusk_constants as K
from conftest import SRCDIR
from duskwire import HDR, Session
from kmodtest import no_session, proc_dusk, wait_until
from test_protocol import key_of

sys.path.insert(0, str(SRCDIR / "tests" / "examples"))
from diff import harness  # noqa: E402,F401 (fixture)
from test_program import LOADED, MARKDROP, UDP, Program  # noqa: E402

# What the stranger sends: at least this many HELLOs a second.
REPLAY_RATE = 1000


def is_hello(dgram):
    """A HELLO request (not a reply), as a stranger tells it: session 0."""
    if len(dgram) < HDR.size:
        return False
    f = HDR.unpack_from(dgram)
    return f[3] == K.DUSK_MSG_HELLO and f[6] == 0 and not f[5] & K.DUSK_F_REPLY


class Path:
    """A UDP relay between programs and dusk.ko, as a stranger on the path
    is: every datagram passes (each client by an upstream socket of its
    own, as a NAT would), and the HELLOs are kept (.hellos: (upstream
    socket, datagram))."""

    def __init__(self, endpoint):
        host, port = endpoint.rsplit(":", 1)
        self.server = (host, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.endpoint = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.up = {}            # client address -> upstream socket
        self.hellos = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            clients = {u: a for a, u in self.up.items()}
            ready, _, _ = select.select([self.sock, *clients], [], [], 0.1)
            for s in ready:
                if s is self.sock:
                    data, addr = s.recvfrom(65536)
                    if addr not in self.up:
                        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        u.bind(("127.0.0.1", 0))
                        self.up[addr] = u
                    if is_hello(data):
                        self.hellos.append((self.up[addr], data))
                    self.up[addr].sendto(data, self.server)
                else:
                    self.sock.sendto(s.recv(65536), clients[s])

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


class Replayer:
    """Sends datagrams (socket, bytes) round-robin at REPLAY_RATE or more
    until stopped; reads and keeps whatever comes back to its sockets."""

    def __init__(self, datagrams, server):
        self.datagrams = datagrams
        self.server = server
        self.sent = 0
        self.replies = []
        self.elapsed = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _drain(self):
        for s in {s for s, _ in self.datagrams}:
            while True:
                try:
                    self.replies.append(s.recv(65536, socket.MSG_DONTWAIT))
                except BlockingIOError:
                    break

    def _run(self):
        start = time.monotonic()
        while not self._stop.is_set():
            # Ahead of the rate, never behind: bursts every millisecond.
            due = int((time.monotonic() - start) * REPLAY_RATE * 1.2) + 1
            while self.sent < due:
                s, d = self.datagrams[self.sent % len(self.datagrams)]
                s.sendto(d, self.server)
                self.sent += 1
            self._drain()
            time.sleep(0.001)
        self.elapsed = time.monotonic() - start
        self._drain()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        return self.sent / self.elapsed


@pytest.fixture(scope="module")
def program(harness):
    prog = harness.build_prog(MARKDROP)
    harness.nettest()
    return prog


def counters(target):
    return {k: int(v) for k, v in proc_dusk(target).items() if v.isdigit()}


def capture_hellos(target, program):
    """A program started and stopped through the stranger's relay: the
    HELLOs the stranger saw, each with the relay's upstream socket (the
    address dusk.ko saw the program at)."""
    path = Path(target.endpoint)
    first = Program(program, ["--target", path.endpoint, "port=9100"],
                    target.env)
    try:
        first.wait_for(f"<6>{LOADED}\n")
        assert first.stop() == 0, first.stdout + first.stderr
    finally:
        first.kill()
        path.close()
    assert len(path.hellos) >= 2, "the relay saw no handshake"
    return path.hellos


def test_replayed_hellos_do_not_keep_a_program_from_starting(
        target, harness, program):
    """markdrop starts into a flood of its predecessor's HELLOs, its hook
    sees its datagram, and dusk.ko opened its session and no other."""
    no_session(target, key_of(target))
    captured = capture_hellos(target, program)
    host, port = target.endpoint.rsplit(":", 1)
    # Replayed from the stranger's own address, and from the one the
    # program used (a stranger on the path can send from it), while a new
    # program starts.
    own = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    own.bind(("127.0.0.1", 0))
    before = counters(target)
    token = harness.marker()
    replay = Replayer(captured + [(own, d) for _, d in captured],
                      (host, int(port)))
    p = None
    try:
        # A second of it first: the program starts into the flood.
        wait_until(lambda: replay.sent >= REPLAY_RATE, 10, "the replays")
        p = Program(program, ["port=9100"], target.env)
        p.wait_for(f"<6>{LOADED}\n")
        seen = harness.script(UDP.format(wait=5000, payload="x"))
        assert seen == ["udp sent 1 received 1 marks 0x0"], \
            p.stdout + p.stderr
    finally:
        rate = replay.stop()
        status = p.stop() if p else None
        if p:
            p.kill()
        for s in {s for s, _ in captured} | {own}:
            s.close()
    after = counters(target)
    assert status == 0, p.stdout + p.stderr
    assert rate >= REPLAY_RATE and replay.sent >= REPLAY_RATE, \
        (rate, replay.sent)

    # The replays opened nothing: one session, the program's.
    sessions = [text for _, text in harness.kernel_log(token)
                if text.startswith("dusk: session ") and " from " in text]
    assert len(sessions) == 1, sessions
    assert after["sessions_opened"] - before["sessions_opened"] == 1, \
        (before, after)
    # What dusk.ko answered the stranger: cookies, never a session.
    assert replay.replies
    for r in replay.replies:
        f = HDR.unpack_from(r)
        assert (f[3], f[6], f[11]) == (K.DUSK_MSG_HELLO, 0, -errno.EAGAIN), f
    assert after["cookie_replies"] - before["cookie_replies"] >= \
        len(replay.replies)


def test_wrong_key_is_named(target, harness, program, tmp_path):
    """A program with a wrong key: dusk.ko answers nothing (a stranger
    learns nothing), and the program says what that can mean."""
    wrong = tmp_path / "wrong.key"
    wrong.write_text(bytes(32).hex() + "\n")
    no_session(target, key_of(target))
    before = counters(target)
    p = Program(program, ["--key", str(wrong), "port=9100"], target.env)
    try:
        status = p.proc.wait(timeout=60)
    finally:
        p.kill()
    after = counters(target)
    assert status == 1, p.stdout + p.stderr
    assert (f"dusk: error: no answer from dusk.ko at {target.endpoint}: "
            f"wrong key, or the target is down (dusk-target status)\n"
            in p.stderr), p.stderr
    assert after["rx_bad_mac"] > before["rx_bad_mac"], (before, after)
    assert (after["tx"], after["cookie_replies"]) == (
        before["tx"], before["cookie_replies"]), (before, after)


def test_no_target_is_named(target, program):
    """Nothing listening at --target: the same words."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    endpoint = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    p = Program(program, ["--target", endpoint, "port=9100"], target.env)
    try:
        status = p.proc.wait(timeout=60)
    finally:
        p.kill()
    assert status == 1, p.stdout + p.stderr
    assert (f"dusk: error: no answer from dusk.ko at {endpoint}: "
            f"wrong key, or the target is down (dusk-target status)\n"
            in p.stderr), p.stderr


# ---- the rules, with the key (duskwire) --------------------------------------

def reply_to(s, dgram, req_id, tries=5):
    """The reply to dgram, a HELLO, sent again while none comes (as a
    client would: a loaded target may lose one)."""
    s.sock.settimeout(3.0)
    for _ in range(tries - 1):
        s.send_raw(dgram)
        try:
            return s.wait(req_id)
        except (socket.timeout, TimeoutError):
            pass
    s.send_raw(dgram)
    return s.wait(req_id)


def no_reply(s, dgram, wait=1.0):
    s.sock.settimeout(wait)
    s.send_raw(dgram)
    with pytest.raises((socket.timeout, TimeoutError)):
        s.recv()


def test_hello_without_a_good_cookie_opens_nothing(target):
    key = key_of(target)
    no_session(target, key)
    before = counters(target)
    a, b = Session(target.endpoint, key), Session(target.endpoint, key)
    nonce = bytes(range(K.DUSK_NONCE_LEN))
    try:
        # No cookie: one, for this nonce; nothing opened. The answer is
        # smaller than the HELLO (no amplification for a forged source).
        _, hello = a.hello_datagram(nonce)
        r = reply_to(a, hello, 1)
        cookie = a.cookie_of(r, nonce)
        assert HDR.size + len(r.payload) < len(hello)
        # The cookie is the address's: from another one it is not good,
        # and that address gets a cookie of its own.
        _, hello = b.hello_datagram(nonce, cookie, 2)
        assert b.cookie_of(reply_to(b, hello, 2), nonce) != cookie
        # Nor for another nonce, nor a made-up one.
        other = bytes(K.DUSK_NONCE_LEN)
        _, hello = a.hello_datagram(other, cookie, 2)
        a.cookie_of(reply_to(a, hello, 2), other)
        _, hello = a.hello_datagram(nonce, bytes([1]) * 32, 3)
        a.cookie_of(reply_to(a, hello, 3), nonce)
        state = proc_dusk(target)
        assert state["pending"] == "no", state
        after = counters(target)
        assert after["sessions_opened"] == before["sessions_opened"]
        assert after["cookie_replies"] == before["cookie_replies"] + 4
    finally:
        a.close()
        b.close()


def test_a_nonce_opens_one_session_at_most(target):
    """The HELLO with its cookie, replayed from its own address (as a
    stranger on the path can): answered again while its session is
    pending, dropped once it is active, and it never displaces a new
    client's pending session."""
    key = key_of(target)
    no_session(target, key)
    opened = counters(target)["sessions_opened"]
    a = Session(target.endpoint, key)
    b = Session(target.endpoint, key)
    try:
        first = a.hello(heartbeat_ms=60000)
        assert first.status == 0
        again = reply_to(a, a.sent[1], 2)       # a retransmission
        assert (again.status, again.payload) == (0, first.payload)
        assert counters(target)["sessions_opened"] == opened + 1
        assert a.ping() == 0                    # A is the session
        replayed = counters(target)["rx_replayed"]
        no_reply(a, a.sent[1])
        assert counters(target)["rx_replayed"] == replayed + 1

        # B starts; A's HELLO replayed does not displace B's pending one.
        assert b.hello(heartbeat_ms=60000).status == 0
        no_reply(a, a.sent[1])
        state = proc_dusk(target)
        assert (state["pending"], state["session"]) == (
            "yes", f"{a.session:08x}"), state
        assert b.ping() == 0
        assert proc_dusk(target)["session"] == f"{b.session:08x}"
        assert counters(target)["sessions_opened"] == opened + 2
    finally:
        b.sock.settimeout(2)
        b.bye()
        a.close()
        b.close()


def test_a_pending_session_hears_only_its_hello_address(target):
    key = key_of(target)
    no_session(target, key)
    a = Session(target.endpoint, key)
    elsewhere = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert a.hello(heartbeat_ms=60000).status == 0
        # A's first request, captured and sent from elsewhere first.
        req_id, ping = a.datagram(K.DUSK_MSG_PING)
        replayed = counters(target)["rx_replayed"]
        elsewhere.sendto(ping, a.addr)
        elsewhere.settimeout(1.0)
        with pytest.raises((socket.timeout, TimeoutError)):
            elsewhere.recvfrom(65536)
        state = proc_dusk(target)
        assert (state["pending"], state["session"]) == ("yes", "none"), state
        assert int(state["rx_replayed"]) == replayed + 1
        # From A's own address it makes A the session (same seq: the
        # datagram from elsewhere spent nothing).
        a.sock.settimeout(10.0)
        a.send_raw(ping)
        assert a.wait(req_id).status == 0
        assert proc_dusk(target)["session"] == f"{a.session:08x}"
    finally:
        a.sock.settimeout(2)
        a.bye()
        a.close()
        elsewhere.close()
