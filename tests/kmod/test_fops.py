"""File operations proxied by dusk.ko (protocol version 5, "Invocations"):
PROXY_REGISTER gives a struct file_operations of dusk.ko's own; a misc
device registered over the wire with it is opened, read and written by
ordinary programs in the guest (dd, cat, a shell redirect); each call
comes to this test as an INVOKE, which it answers as a program would:
UACCESS requests executed by the calling task, then RETURN.

Checked: data reaches the guest program both ways; current is the caller
(INVOKE's pid is the guest process's); a bad user address gives what the
kernel's uaccess gives; a request sent again is answered, not executed
again; a datagram of an invocation that is over gets -ESRCH; BYE while a
reader waits in the proxy gives the reader EIO at once, removes the
device, and dusk.ko unloads once the last file is closed (not before).
"""
import errno
import select
import socket
import struct
import time
import uuid

import pytest

import dusk_constants as K
from duskwire import (CALL_REPLY, INVOKE, call_payload, PROXY_REGISTER, PROXY_REPLY, PROXY_SLOT,
                      RETURN, UACCESS, UACCESS_REPLY, PROXY_HANDLE, Session,
                      segs)
from kmodtest import no_session, proc_dusk, wait_until
from test_owned import Kernel, RELOAD, assert_healthy, marker
from test_protocol import key_of

# struct file_operations on x86-64 6.1 (ptype /o), struct miscdevice.
FOP = {'llseek': 8, 'read': 16, 'write': 24, 'poll': 72,
       'unlocked_ioctl': 80, 'compat_ioctl': 88, 'open': 112, 'flush': 120,
       'release': 128, 'fasync': 144}
MISC_DYNAMIC_MINOR = 255
MISCDEVICE_SIZE = 80
INV = K.DUSK_CHAN_INV
EFAULT = -errno.EFAULT


def s64(v):
    return v - (1 << 64) if v >> 63 else v


class Invocation:
    """The program's side of one INVOKE: its requests on DUSK_CHAN_INV,
    numbered 1, 2, 3..."""

    def __init__(self, prog, r):
        self.prog, self.s, self.id = prog, prog.s, r.id
        (self.cookie, *rest) = INVOKE.unpack_from(r.payload)
        self.args = rest[:6]
        (self.task, self.parent, self.handle, self.off, self.pid,
         self.tgid, self.cpu, self.nr_segs, comm) = rest[6:]
        self.comm = comm.rstrip(b'\0').decode()
        self.next_id = 0

    def datagram(self, msg_type, payload, req_id=None):
        if req_id is None:
            self.next_id += 1
            req_id = self.next_id
        return self.s.datagram(msg_type, payload, req_id=req_id,
                               channel=INV, invocation=self.id)[1], req_id

    def request(self, msg_type, payload=b'', req_id=None):
        dgram, req_id = self.datagram(msg_type, payload, req_id)
        self.s.send_raw(dgram)
        return self.prog.wait_reply(self.id, req_id)

    def request_again(self, msg_type, payload=b'', tries=60, wait=0.25):
        """request(), sent again (same id, new seq) until answered, as
        the runtime does when datagrams are lost."""
        self.next_id += 1
        for _ in range(tries):
            dgram, req_id = self.datagram(msg_type, payload, self.next_id)
            self.s.send_raw(dgram)
            try:
                return self.prog.wait_reply(self.id, req_id, timeout=wait)
            except (AssertionError, socket.timeout, TimeoutError):
                continue
        raise AssertionError(f'request {self.next_id} never answered')

    def uaccess(self, op, uaddr, length, data=b''):
        """(status, ret, val, bytes after the reply)."""
        r = self.request(K.DUSK_MSG_UACCESS,
                         UACCESS.pack(uaddr, length, op, 0) + data)
        if r.status:
            return r.status, None, None, None
        ret, val = UACCESS_REPLY.unpack_from(r.payload)
        return 0, ret, val, r.payload[UACCESS_REPLY.size:]

    def to_user(self, uaddr, data):
        st, ret, _, _ = self.uaccess(K.DUSK_UA_TO, uaddr, len(data), data)
        assert st == 0
        return ret

    def ret(self, value, commit=()):
        r = self.request(K.DUSK_MSG_RETURN,
                         RETURN.pack(value & (2**64 - 1), len(commit), 0) +
                         segs(commit))
        return r.status


class Program:
    """A session that registers a FOPS table and a misc device with it,
    and serves the INVOKEs that come."""

    def __init__(self, target):
        self.target = target
        self.k = Kernel(target, heartbeat_ms=60000)
        self.s = self.k.s
        self.invokes = []          # new INVOKE messages, in order
        self.seen = set()
        self.replies = {}

    def register(self, slots):
        """PROXY_REGISTER FOPS with slots {name: (kind, value)}:
        (status, table, handle)."""
        body = b''.join(PROXY_SLOT.pack(FOP[n], kind, v)
                        for n, (kind, v) in slots.items())
        r = self.s.request(K.DUSK_MSG_PROXY_REGISTER,
                           PROXY_REGISTER.pack(0x5555000, 0,
                                               K.DUSK_PROXY_FOPS,
                                               len(slots)) + body)
        if r.status:
            return r.status, None, None
        table, handle, _ = PROXY_REPLY.unpack(r.payload)
        return 0, table, handle

    def misc(self, name, table):
        """A struct miscdevice for table, misc_register()ed: its address."""
        status, misc = self.s.alloc(MISCDEVICE_SIZE)
        assert status == 0
        dev = struct.pack('<iIQQ', MISC_DYNAMIC_MINOR, 0, self.k.string(name),
                          table)
        assert self.s.write(misc, dev) == 0
        assert self.k.ok('misc_register', misc) & 0xffffffff == 0
        wait_until(lambda: self.target.exec(f'test -c /dev/{name}')[0] == 0,
                   10, f'/dev/{name} never appeared')
        return misc

    def _take(self, r):
        if r.type == K.DUSK_MSG_INVOKE and not r.flags & K.DUSK_F_REPLY:
            assert r.channel == INV and r.invocation == r.id
            if r.id not in self.seen:
                self.seen.add(r.id)
                self.invokes.append(r)
            return None
        if r.type == K.DUSK_MSG_HOOK:
            return None
        return r

    def wait_reply(self, inv, req_id, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            key = (inv, req_id)
            if key in self.replies:
                return self.replies.pop(key)
            self.s.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                r = self._take(self.s.recv())
            finally:
                self.s.sock.settimeout(5.0)
            if r is None:
                continue
            if r.channel == INV:
                self.replies[(r.invocation, r.id)] = r
            if time.monotonic() > deadline:
                raise AssertionError(f'no reply to {req_id} of {inv}')
        return None

    def next_invoke(self, timeout=20.0):
        """The next INVOKE not yet taken (PINGs keep the session up)."""
        deadline = time.monotonic() + timeout
        while not self.invokes:
            if time.monotonic() > deadline:
                raise AssertionError('no INVOKE came')
            ready, _, _ = select.select([self.s.sock], [], [], 0.2)
            if ready:
                r = self._take(self.s.recv())
                if r is not None and r.channel == INV:
                    self.replies[(r.invocation, r.id)] = r
        return Invocation(self, self.invokes.pop(0))

    def quiet(self, wait):
        """Read what arrives for wait seconds; the INVOKEs among it."""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            ready, _, _ = select.select([self.s.sock], [], [], 0.05)
            if ready:
                r = self._take(self.s.recv())
                if r is not None and r.channel == INV:
                    self.replies[(r.invocation, r.id)] = r
        return self.invokes

    def close(self):
        if not self.k.closed:
            self.s.sock.settimeout(1.0)
            try:
                self.k.bye()
            except (socket.timeout, TimeoutError):
                pass


@pytest.fixture
def prog(target):
    no_session(target, key_of(target))
    p = Program(target)
    yield p
    p.close()


def user_slots(prog, *names):
    slots = {n: (K.DUSK_SLOT_USER, 0x100 + FOP[n]) for n in names}
    slots['llseek'] = (K.DUSK_SLOT_KERNEL, prog.k.sym('noop_llseek'))
    return slots


def devname():
    return 'dusk' + uuid.uuid4().hex[:8]


def bg(target, tag, cmd):
    """cmd in the guest's background through a shell that execs it (its pid
    is cmd's): /tmp/TAG.pid, its output /tmp/TAG.out and, once it ends,
    rc=N in /tmp/TAG.rc."""
    rc, _, err = target.exec(
        f'rm -f /tmp/{tag}.*; ( sh -c \'echo $$ > /tmp/{tag}.pid; '
        f'exec {cmd}\' > /tmp/{tag}.out 2>/tmp/{tag}.err; '
        f'echo rc=$? > /tmp/{tag}.rc ) </dev/null >/dev/null 2>&1 &')
    assert rc == 0, err


def bg_result(target, tag):
    rc, out, _ = target.exec(f'cat /tmp/{tag}.rc 2>/dev/null')
    return out.strip() if out.strip().startswith('rc=') else None


def bg_wait(target, tag, timeout=20):
    return wait_until(lambda: bg_result(target, tag), timeout,
                      f'{tag} never ended')


def cat(target, path):
    return target.exec(f'cat {path}')[1]


def test_register_refuses_bad_tables(target, prog):
    noop = prog.k.sym('noop_llseek')
    bad = [
        ({'read': (K.DUSK_SLOT_USER, 1)}, K.DUSK_PROXY_INVALID, 0),
        ({'read': (K.DUSK_SLOT_USER, 1)}, 99, 0),
        ({'read': (K.DUSK_SLOT_KERNEL, 0x1000)}, K.DUSK_PROXY_FOPS, 0),
        ({'read': (3, 1)}, K.DUSK_PROXY_FOPS, 0),
        ({'read': (K.DUSK_SLOT_USER, 1)}, K.DUSK_PROXY_FOPS, 1),
    ]
    for slots, kind, flags in bad:
        body = b''.join(PROXY_SLOT.pack(FOP[n], k, v)
                        for n, (k, v) in slots.items())
        r = prog.s.request(K.DUSK_MSG_PROXY_REGISTER,
                           PROXY_REGISTER.pack(0, flags, kind, len(slots)) +
                           body)
        assert r.status == -errno.EINVAL, (slots, kind, flags)
    # An offset that is no function of the kind's (read_iter is not
    # proxied here; 4 is inside llseek), and one given twice.
    for offs in ((32,), (4,), (16, 16), (0xffffffff,)):
        body = b''.join(PROXY_SLOT.pack(o, K.DUSK_SLOT_USER, 1) for o in offs)
        r = prog.s.request(K.DUSK_MSG_PROXY_REGISTER,
                           PROXY_REGISTER.pack(0, 0, K.DUSK_PROXY_FOPS,
                                               len(offs)) + body)
        assert r.status == -errno.EINVAL, offs
    # nr that the payload does not hold.
    r = prog.s.request(K.DUSK_MSG_PROXY_REGISTER,
                       PROXY_REGISTER.pack(0, 0, K.DUSK_PROXY_FOPS, 2) +
                       PROXY_SLOT.pack(16, K.DUSK_SLOT_USER, 1))
    assert r.status == -errno.EBADMSG
    st, table, handle = prog.register({'llseek': (K.DUSK_SLOT_KERNEL, noop)})
    assert st == 0 and table and handle
    # The table is dusk.ko's: owner is dusk's module, llseek the kernel's.
    st, data = prog.s.read(table, 24)
    assert st == 0
    owner, llseek, read = struct.unpack('<QQQ', data)
    assert owner >> 63 and owner != table
    assert (llseek, read) == (noop, 0)
    r = prog.s.request(K.DUSK_MSG_PROXY_UNREGISTER, PROXY_HANDLE.pack(handle, 0))
    assert r.status == 0
    r = prog.s.request(K.DUSK_MSG_PROXY_UNREGISTER, PROXY_HANDLE.pack(handle, 0))
    assert r.status == -errno.ENOENT


def test_dd_reads_and_writes_through_the_program(target, prog):
    token = marker(target)
    name = devname()
    st, table, handle = prog.register(
        user_slots(prog, 'open', 'release', 'read', 'write',
                   'unlocked_ioctl'))
    assert st == 0
    prog.misc(name, table)

    bg(target, 'rd', f'dd if=/dev/{name} bs=64 count=1')
    op = prog.next_invoke()
    assert op.off == FOP['open'] and op.cookie == 0x100 + FOP['open']
    assert op.handle == handle
    pid = int(cat(target, '/tmp/rd.pid'))
    assert (op.pid, op.tgid, op.comm) == (pid, pid, 'dd')
    assert op.ret(0) == 0

    rd = prog.next_invoke()
    assert rd.off == FOP['read'] and rd.pid == pid and rd.task == op.task
    f, buf, count, ppos = rd.args[:4]
    assert f == op.args[1] and count == 64
    assert rd.to_user(buf, b'hello from dusk\n') == 0
    assert rd.ret(16) == 0

    rel = prog.next_invoke()
    assert rel.off == FOP['release'] and rel.args[1] == f
    assert rel.ret(0) == 0
    assert bg_wait(target, 'rd') == 'rc=0', cat(target, '/tmp/rd.err')
    assert cat(target, '/tmp/rd.out') == 'hello from dusk\n'

    # A shell redirect writes: the program reads the caller's buffer.
    bg(target, 'wr', f'echo written > /dev/{name}')
    op = prog.next_invoke()
    assert op.off == FOP['open'] and op.ret(0) == 0
    wr = prog.next_invoke()
    assert wr.off == FOP['write'] and wr.pid == op.pid
    _, buf, count, ppos = wr.args[:4]
    st, ret, _, data = wr.uaccess(K.DUSK_UA_FROM, buf, count)
    assert (st, ret, data) == (0, 0, b'written\n')
    # The position, on the caller's stack: READ and WRITE reach it.
    st, pos = prog.s.read(ppos, 8)
    assert st == 0 and struct.unpack('<q', pos)[0] == 0
    assert wr.ret(count, commit=[(ppos, struct.pack('<q', count))]) == 0
    rel = prog.next_invoke()
    assert rel.off == FOP['release'] and rel.ret(0) == 0
    assert bg_wait(target, 'wr') == 'rc=0', cat(target, '/tmp/wr.err')
    assert_healthy(target, token)


def test_uaccess_ops_and_bad_addresses(target, prog):
    token = marker(target)
    name = devname()
    st, table, _ = prog.register(user_slots(prog, 'read'))
    assert st == 0
    prog.misc(name, table)
    # No open slot: the proxy counts the open and invokes nothing.
    bg(target, 'ua', f'dd if=/dev/{name} bs=32 count=1')
    rd = prog.next_invoke()
    assert rd.off == FOP['read']
    _, buf, count, _ = rd.args[:4]
    bad = 0x10
    # The kernel's answers for a bad user address.
    assert rd.to_user(bad, b'abcd') == 4
    st, ret, _, data = rd.uaccess(K.DUSK_UA_FROM, bad, 4)
    assert (st, ret, data) == (0, 4, bytes(4))
    assert rd.uaccess(K.DUSK_UA_GET, bad, 4)[:2] == (0, EFAULT)
    assert rd.uaccess(K.DUSK_UA_PUT, bad, 4, struct.pack('<Q', 1))[:2] == \
        (0, EFAULT)
    assert rd.uaccess(K.DUSK_UA_CLEAR, bad, 8)[:2] == (0, 8)
    assert rd.uaccess(K.DUSK_UA_STRNLEN, bad, 8)[:2] == (0, 0)
    # STRNCPY carries the destination both ways (len bytes)
    assert rd.uaccess(K.DUSK_UA_STRNCPY, bad, 8, bytes(8))[:2] == (0, EFAULT)
    assert rd.uaccess(K.DUSK_UA_ACCESS_OK, buf, count)[:2] == (0, 1)
    assert rd.uaccess(K.DUSK_UA_ACCESS_OK, 1 << 63, 8)[:2] == (0, 0)
    # A kernel address is no user address either.
    assert rd.to_user(rd.task, b'x') == 1
    # Good ones: PUT then GET, STRNCPY, STRNLEN, CLEAR.
    assert rd.uaccess(K.DUSK_UA_PUT, buf, 8,
                      struct.pack('<Q', 0x6f6c6c6568))[:2] == (0, 0)
    assert rd.uaccess(K.DUSK_UA_GET, buf, 2)[:3] == (0, 0, 0x6568)
    assert rd.uaccess(K.DUSK_UA_STRNLEN, buf, 32)[:2] == (0, 6)
    st, ret, _, data = rd.uaccess(K.DUSK_UA_STRNCPY, buf, 32, b'\xaa' * 32)
    assert (st, ret, data[:6], len(data)) == (0, 5, b'hello\0', 32)
    st, ret, _, data = rd.uaccess(K.DUSK_UA_STRNCPY, buf, 3, b'\xaa' * 3)
    assert (st, ret, data) == (0, 3, b'hel')
    assert rd.uaccess(K.DUSK_UA_CLEAR, buf + 1, 1)[:2] == (0, 0)
    st, ret, _, data = rd.uaccess(K.DUSK_UA_FROM, buf, 3)
    assert (st, ret, data) == (0, 0, b'h\0l')
    # Bad requests: GET of 3 bytes, TO whose data is not len long.
    assert rd.uaccess(K.DUSK_UA_GET, buf, 3)[0] == -errno.EINVAL
    assert rd.uaccess(K.DUSK_UA_TO, buf, 4, b'ab')[0] == -errno.EINVAL
    assert rd.uaccess(99, buf, 4)[0] == -errno.EINVAL
    # The module's read fails as the .ko's would.
    assert rd.ret(-errno.EFAULT) == 0
    assert bg_wait(target, 'ua') != 'rc=0'
    assert 'Bad address' in cat(target, '/tmp/ua.err')
    assert_healthy(target, token)


def test_requests_sent_again_are_not_executed_again(target, prog):
    name = devname()
    st, table, _ = prog.register(user_slots(prog, 'read'))
    assert st == 0
    prog.misc(name, table)
    bg(target, 'rx', f'dd if=/dev/{name} bs=16 count=1')
    rd = prog.next_invoke()
    _, buf, _, _ = rd.args[:4]
    # id 1: "AAAA"; id 2: "BB"; id 1 again: -ESTALE, not executed.
    assert rd.to_user(buf, b'AAAA') == 0
    d2, _ = rd.datagram(K.DUSK_MSG_UACCESS,
                        UACCESS.pack(buf, 2, K.DUSK_UA_TO, 0) + b'BB')
    prog.s.send_raw(d2)
    first = prog.wait_reply(rd.id, 2)
    assert first.status == 0
    r = rd.request(K.DUSK_MSG_UACCESS,
                   UACCESS.pack(buf, 4, K.DUSK_UA_TO, 0) + b'CCCC', req_id=1)
    assert r.status == -errno.ESTALE
    # id 2 again (a new datagram, same id): its kept reply, whole.
    again = rd.request(K.DUSK_MSG_UACCESS,
                       UACCESS.pack(buf, 2, K.DUSK_UA_TO, 0) + b'BB',
                       req_id=2)
    assert (again.status, again.payload) == (first.status, first.payload)
    # The same id with another type: no retransmission.
    r = rd.request(K.DUSK_MSG_SYM, b'jiffies', req_id=2)
    assert r.status == -errno.EBADMSG
    # A gap: -EPROTO, not executed.
    r = rd.request(K.DUSK_MSG_UACCESS,
                   UACCESS.pack(buf, 4, K.DUSK_UA_TO, 0) + b'DDDD', req_id=9)
    assert r.status == -errno.EPROTO
    st, ret, _, data = rd.uaccess(K.DUSK_UA_FROM, buf, 4)   # id 3
    assert (st, ret, data) == (0, 0, b'BBAA')
    # Main-channel requests work on INV too (SYM, READ), executed by dd.
    r = rd.request(K.DUSK_MSG_SYM, b'jiffies')               # id 4
    assert r.status == 0
    # RETURN, then RETURN again: the same answer, returned once.
    ret_dgram, ret_id = rd.datagram(K.DUSK_MSG_RETURN, RETURN.pack(4, 0, 0))
    prog.s.send_raw(ret_dgram)
    assert prog.wait_reply(rd.id, ret_id).status == 0
    r = rd.request(K.DUSK_MSG_RETURN, RETURN.pack(4, 0, 0), req_id=ret_id)
    assert r.status == 0
    assert bg_wait(target, 'rx') == 'rc=0'
    assert cat(target, '/tmp/rx.out') == 'BBAA'
    # Anything else of an invocation that is over: -ESRCH.
    r = rd.request(K.DUSK_MSG_SYM, b'jiffies')
    assert r.status == -errno.ESRCH
    r = rd.request(K.DUSK_MSG_RETURN, RETURN.pack(4, 0, 0), req_id=ret_id + 5)
    assert r.status == -errno.ESRCH
    assert int(proc_dusk(target)['inv_unrouted']) >= 2


def test_invoke_is_sent_again_until_heard(target, prog):
    name = devname()
    st, table, _ = prog.register(user_slots(prog, 'read'))
    assert st == 0
    prog.misc(name, table)
    before = int(proc_dusk(target)['invokes_resent'])
    bg(target, 'rs', f'dd if=/dev/{name} bs=16 count=1')
    rd = prog.next_invoke()
    # Unanswered: INVOKE comes again (same id, new seq), backing off.
    prog.quiet(1.0)
    assert int(proc_dusk(target)['invokes_resent']) - before >= 3
    assert rd.ret(0) == 0
    assert bg_wait(target, 'rs') == 'rc=0'


def test_a_killed_caller_abandons_its_invocation(target, prog):
    token = marker(target)
    name = devname()
    st, table, _ = prog.register(user_slots(prog, 'read'))
    assert st == 0
    prog.misc(name, table)
    bg(target, 'kl', f'dd if=/dev/{name} bs=16 count=1')
    rd = prog.next_invoke()
    assert rd.to_user(rd.args[1], b'x') == 0
    target.exec(f'kill -9 $(cat /tmp/kl.pid)')
    assert bg_wait(target, 'kl', 5) == 'rc=137'
    assert rd.ret(1) == -errno.ESRCH
    assert_healthy(target, token)


def test_bye_while_a_reader_waits(target, prog):
    token = marker(target)
    name = devname()
    st, table, _ = prog.register(
        user_slots(prog, 'open', 'release', 'read'))
    assert st == 0
    prog.misc(name, table)
    # One file held open by a shell; one reader waiting in read.
    bg(target, 'hold', f'sh -c "exec 3</dev/{name}; exec sleep 1000"')
    assert prog.next_invoke().ret(0) == 0
    bg(target, 'bye', f'cat /dev/{name}')
    assert prog.next_invoke().ret(0) == 0
    rd = prog.next_invoke()
    assert rd.off == FOP['read']
    t0 = time.monotonic()
    prog.k.bye()
    assert bg_wait(target, 'bye', 5) != 'rc=0'
    assert time.monotonic() - t0 < 4
    assert 'Input/output error' in cat(target, '/tmp/bye.err')
    assert target.exec(f'test -e /dev/{name}')[0] != 0
    # The held file pins dusk.ko.
    rc, _, _ = target.exec('rmmod dusk')
    assert rc != 0
    assert target.exec('grep -q "^dusk " /proc/modules')[0] == 0
    target.exec('kill $(cat /tmp/hold.pid)')
    bg_wait(target, 'hold', 5)
    rc, _, err = target.exec('rmmod dusk')
    assert rc == 0, err
    rc, _, err = target.exec(RELOAD)
    assert rc == 0, err
    assert_healthy(target, token)


def test_invocations_in_flight_at_once(target, prog):
    """Two readers wait in the proxy at once, each its own invocation with
    its own request ids; answered in the other order, each gets its own
    data."""
    name = devname()
    st, table, _ = prog.register(user_slots(prog, 'read'))
    assert st == 0
    prog.misc(name, table)
    bg(target, 'r1', f'dd if=/dev/{name} bs=16 count=1')
    first = prog.next_invoke()
    bg(target, 'r2', f'dd if=/dev/{name} bs=16 count=1')
    second = prog.next_invoke()
    assert first.id != second.id and first.pid != second.pid
    # PROXY_REGISTER and UNREGISTER on behalf of an invocation.
    r = second.request(K.DUSK_MSG_PROXY_REGISTER,
                       PROXY_REGISTER.pack(0, 0, K.DUSK_PROXY_FOPS, 1) +
                       PROXY_SLOT.pack(FOP['read'], K.DUSK_SLOT_USER, 7))
    assert r.status == 0
    _, handle, _ = PROXY_REPLY.unpack(r.payload)
    r = second.request(K.DUSK_MSG_PROXY_UNREGISTER, PROXY_HANDLE.pack(handle, 0))
    assert r.status == 0
    assert second.to_user(second.args[1], b'two') == 0
    assert first.to_user(first.args[1], b'one') == 0
    assert second.ret(3) == 0
    assert bg_wait(target, 'r2') == 'rc=0'
    assert first.ret(3) == 0
    assert bg_wait(target, 'r1') == 'rc=0'
    assert cat(target, '/tmp/r1.out') == 'one'
    assert cat(target, '/tmp/r2.out') == 'two'
    # The pid each INVOKE named is the process that read.
    assert first.pid != second.pid


FAULTS = '/sys/module/dusk/parameters/faults'


def test_invocation_under_injected_faults(target, prog):
    """Datagrams lost, duplicated and reordered both ways (dusk.ko's
    faults parameter): INVOKE comes again until heard, requests sent again
    are answered from the kept reply, and each is executed once: as many
    allocations as ALLOCs, the data the reader gets, one return."""
    token = marker(target)
    name = devname()
    st, table, _ = prog.register(user_slots(prog, 'read'))
    assert st == 0
    prog.misc(name, table)
    allocs = int(proc_dusk(target)['allocs'])
    rc, _, err = target.exec(
        f'echo seed=7,loss=25,dup=25,reorder=25 > {FAULTS}')
    assert rc == 0, err
    try:
        bg(target, 'flt', f'dd if=/dev/{name} bs=64 count=1')
        rd = prog.next_invoke(timeout=30)
        buf = rd.args[1]
        for _ in range(8):
            r = rd.request_again(K.DUSK_MSG_ALLOC, struct.pack('<QII', 32, 1, 0))
            assert r.status == 0
        data = b''
        for i in range(6):
            chunk = b'%d:faulty;' % i
            r = rd.request_again(K.DUSK_MSG_UACCESS,
                                 UACCESS.pack(buf + len(data), len(chunk),
                                              K.DUSK_UA_TO, 0) + chunk)
            assert r.status == 0
            assert UACCESS_REPLY.unpack_from(r.payload)[0] == 0
            data += chunk
        r = rd.request_again(K.DUSK_MSG_RETURN, RETURN.pack(len(data), 0, 0))
        assert r.status == 0
        assert bg_wait(target, 'flt') == 'rc=0'
        assert cat(target, '/tmp/flt.out') == data.decode()
        # The last RETURN again, whose reply might have been lost: its
        # reply, not -ESRCH.
        dgram, req_id = rd.datagram(K.DUSK_MSG_RETURN,
                                    RETURN.pack(len(data), 0, 0), rd.next_id)
        for _ in range(60):
            prog.s.send_raw(dgram)
            try:
                r = prog.wait_reply(rd.id, req_id, timeout=0.25)
                break
            except (AssertionError, socket.timeout, TimeoutError):
                dgram, _ = rd.datagram(K.DUSK_MSG_RETURN,
                                       RETURN.pack(len(data), 0, 0), req_id)
        assert r.status == 0
    finally:
        rc, _, err = target.exec(f'echo off > {FAULTS}')
        assert rc == 0, err
    assert int(proc_dusk(target)['allocs']) == allocs + 8
    state = proc_dusk(target)
    assert int(state['fault_lost']) and int(state['fault_duplicated'])
    assert_healthy(target, token)


# struct proc_ops on x86-64 6.1 (ptype /o).
POP = {'proc_open': 8, 'proc_read': 16, 'proc_read_iter': 24,
       'proc_write': 32, 'proc_lseek': 40, 'proc_release': 48}


def test_proc_entry_with_single_open(target, prog):
    """A proc entry the LDD3 way: proc_create() with proc_ops whose open
    calls single_open() with the module's show; seq_read, seq_lseek and
    single_release are the kernel's. The show proxy (DUSK_PROXY_FN) runs
    inside the reader's seq_read: its seq_write is the reader's."""
    token = marker(target)
    name = devname()
    k = prog.k
    body = b''.join(PROXY_SLOT.pack(*s) for s in (
        (POP['proc_open'], K.DUSK_SLOT_USER, 0x51),
        (POP['proc_read'], K.DUSK_SLOT_KERNEL, k.sym('seq_read')),
        (POP['proc_lseek'], K.DUSK_SLOT_KERNEL, k.sym('seq_lseek')),
        (POP['proc_release'], K.DUSK_SLOT_KERNEL, k.sym('single_release'))))
    r = prog.s.request(K.DUSK_MSG_PROXY_REGISTER,
                       PROXY_REGISTER.pack(0, 0, K.DUSK_PROXY_PROC_OPS, 4) +
                       body)
    assert r.status == 0
    pops, _, _ = PROXY_REPLY.unpack(r.payload)
    r = prog.s.request(K.DUSK_MSG_PROXY_REGISTER,
                       PROXY_REGISTER.pack(0, 0, K.DUSK_PROXY_FN, 1) +
                       PROXY_SLOT.pack(0, K.DUSK_SLOT_USER, 0x5a))
    assert r.status == 0
    show, _, _ = PROXY_REPLY.unpack(r.payload)
    text = b'hello from proc\n'
    kstr = k.string(text.decode())
    entry = k.ok('proc_create', k.string(name), 0o444, 0, pops)
    assert entry >> 63

    bg(target, 'proc', f'cat /proc/{name}')
    op = prog.next_invoke()
    assert (op.off, op.cookie, op.comm) == (POP['proc_open'], 0x51, 'cat')
    inode, f = op.args[:2]
    r = op.request(K.DUSK_MSG_CALL,
                   call_payload(k.sym('single_open'), (f, show, 0)))
    assert r.status == 0 and CALL_REPLY.unpack(r.payload)[:2] == (0, 0)
    assert op.ret(0) == 0
    sh = prog.next_invoke()
    assert (sh.off, sh.cookie, sh.pid) == (0, 0x5a, op.pid)
    m = sh.args[0]
    r = sh.request(K.DUSK_MSG_CALL,
                   call_payload(k.sym('seq_write'), (m, kstr, len(text))))
    assert r.status == 0 and CALL_REPLY.unpack(r.payload)[:2] == (0, 0)
    assert sh.ret(0) == 0
    assert bg_wait(target, 'proc') == 'rc=0', cat(target, '/tmp/proc.err')
    assert cat(target, '/tmp/proc.out') == text.decode()
    # The session's end removes the entry; a reader after it finds none.
    prog.k.bye()
    assert target.exec(f'test -e /proc/{name}')[0] != 0
    assert_healthy(target, token)


def test_proc_entry_with_seq_operations(target, prog):
    """proc_create_seq() with the module's struct seq_operations: start,
    show, next and stop each come as an INVOKE from the reader's
    seq_read; next moves the position through RETURN's commit."""
    token = marker(target)
    name = devname()
    k = prog.k
    body = b''.join(PROXY_SLOT.pack(off, K.DUSK_SLOT_USER, 0x600 + off)
                    for off in (0, 8, 16, 24))
    r = prog.s.request(K.DUSK_MSG_PROXY_REGISTER,
                       PROXY_REGISTER.pack(0, 0, K.DUSK_PROXY_SEQ_OPS, 4) +
                       body)
    assert r.status == 0
    sops, _, _ = PROXY_REPLY.unpack(r.payload)
    text = b'one record\n'
    kstr = k.string(text.decode())
    entry = k.ok('proc_create_seq_private', k.string(name), 0o444, 0, sops,
                 0, 0)
    assert entry >> 63

    bg(target, 'seq', f'cat /proc/{name}')
    calls = []
    while bg_result(target, 'seq') is None:
        try:
            inv = prog.next_invoke(timeout=2)
        except AssertionError:
            continue
        what = {0: 'start', 8: 'stop', 16: 'next', 24: 'show'}[inv.off]
        calls.append(what)
        assert inv.cookie == 0x600 + inv.off and inv.comm == 'cat'
        m = inv.args[0]
        if what == 'start':
            st, pos = prog.s.read(inv.args[1], 8)
            assert st == 0
            # One record, at position 0; then the end.
            assert inv.ret(1 if struct.unpack('<q', pos)[0] == 0 else 0) == 0
        elif what == 'show':
            assert inv.args[1] == 1
            r = inv.request(K.DUSK_MSG_CALL,
                            call_payload(k.sym('seq_write'),
                                         (m, kstr, len(text))))
            assert r.status == 0
            assert inv.ret(0) == 0
        elif what == 'next':
            assert inv.ret(0, commit=[(inv.args[2], struct.pack('<q', 1))]) == 0
        else:
            assert inv.ret(0) == 0
    assert bg_result(target, 'seq') == 'rc=0', cat(target, '/tmp/seq.err')
    assert cat(target, '/tmp/seq.out') == text.decode()
    assert calls[:4] == ['start', 'show', 'next', 'stop'], calls
    # Then each later read (cat may try sendfile first): the end at once.
    rest = calls[4:]
    assert rest and rest == ['start', 'stop'] * (len(rest) // 2), calls
    assert_healthy(target, token)
