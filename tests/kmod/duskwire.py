"""A minimal, independent client of the dusk wire protocol.

Written from proto/dusk_proto.h alone (its constants are generated from
it), so that the tests of dusk.ko check the kernel against the protocol's
text, not against libdusk's reading of it.
"""
import collections
import errno
import hashlib
import hmac
import os
import pathlib
import re
import socket
import struct

import dusk_constants as K

# The wire structures, field by field as the header declares them.
HDR = struct.Struct('<32sIBBBBIIQQQiI')
SEG = struct.Struct('<QII')
HELLO = struct.Struct('<16sIIIIIIII32s')
HELLO_COOKIE = struct.Struct('<16s32s')
REGION = struct.Struct('<QQII')
HELLO_REPLY = struct.Struct('<16s16sIIIIII64s')
STATS = struct.Struct('<13Q')
READ = struct.Struct('<QII')
WRITE = struct.Struct('<II')
PROBE = struct.Struct('<IBBH')
CALL = struct.Struct('<Q6QIIII' + 'IBBH' * 6)
CALL_REPLY = struct.Struct('<QII')
SYM_REPLY = struct.Struct('<QQ')
ALLOC = struct.Struct('<QII')
ALLOC_REPLY = struct.Struct('<Q')
FREE = struct.Struct('<Q')
HOOK_REGISTER = struct.Struct('<QQIIiIII')
HOOK_COUNT = struct.Struct('<IIQ')
HOOK_HANDLE = struct.Struct('<II')
HOOK_BATCH = struct.Struct('<QII')
HOOK_MSG = struct.Struct('<QQQQIIII')
VERDICT_BATCH = struct.Struct('<II')
VERDICT = struct.Struct('<QIIII')
INVOKE = struct.Struct('<Q6QQQIIIIII16s')
RETURN = struct.Struct('<QII')
SIGNAL = struct.Struct('<II')
UACCESS = struct.Struct('<QQII')
UACCESS_REPLY = struct.Struct('<qQ')
PROXY_REGISTER = struct.Struct('<QQII')
PROXY_SLOT = struct.Struct('<IIQ')
PROXY_REPLY = struct.Struct('<QII')
PROXY_HANDLE = struct.Struct('<II')
KTHREAD_CREATE = struct.Struct('<iI64s')
KTHREAD_REPLY = struct.Struct('<QQ')
KTHREAD_HANDLE = struct.Struct('<Q')
KTHREAD_STOP_REPLY = struct.Struct('<q')

STRUCTS = {
    'dusk_hdr': HDR, 'dusk_seg': SEG, 'dusk_hello': HELLO,
    'dusk_hello_cookie': HELLO_COOKIE,
    'dusk_region': REGION, 'dusk_hello_reply': HELLO_REPLY,
    'dusk_stats': STATS, 'dusk_read': READ, 'dusk_write': WRITE,
    'dusk_probe': PROBE, 'dusk_call': CALL, 'dusk_call_reply': CALL_REPLY,
    'dusk_sym_reply': SYM_REPLY, 'dusk_alloc': ALLOC,
    'dusk_alloc_reply': ALLOC_REPLY, 'dusk_free': FREE,
    'dusk_hook_register': HOOK_REGISTER, 'dusk_hook_handle': HOOK_HANDLE,
    'dusk_hook_count': HOOK_COUNT,
    'dusk_hook_batch': HOOK_BATCH, 'dusk_hook_msg': HOOK_MSG,
    'dusk_verdict_batch': VERDICT_BATCH, 'dusk_verdict': VERDICT,
    'dusk_invoke': INVOKE, 'dusk_return': RETURN, 'dusk_signal': SIGNAL, 'dusk_uaccess': UACCESS,
    'dusk_uaccess_reply': UACCESS_REPLY,
    'dusk_proxy_register': PROXY_REGISTER, 'dusk_proxy_slot': PROXY_SLOT,
    'dusk_proxy_reply': PROXY_REPLY, 'dusk_proxy_handle': PROXY_HANDLE,
    'dusk_kthread_create': KTHREAD_CREATE,
    'dusk_kthread_reply': KTHREAD_REPLY,
    'dusk_kthread_handle': KTHREAD_HANDLE,
    'dusk_kthread_stop_reply': KTHREAD_STOP_REPLY,
}

CHANNELS = range(K.DUSK_CHAN_MAIN, getattr(K, '__DUSK_CHAN_MAX'))

# One row of the header's DUSK_MSG_TABLE: type is its enum value, sender
# DUSK_FROM_*, chans the set of channel numbers, kind DUSK_SIZE_*, size
# its payload's fixed part.
Msg = collections.namedtuple('Msg', 'name type sender chans kind size keep')


def call_payload(fn, args, probes=(), nr_segs=0):
    """struct dusk_call for fn(*args), each argument probed as probes
    says ((kind, size, flags) each; none past them), nr_segs segments to
    follow."""
    a = list(args) + [0] * (6 - len(args))
    p = list(probes) + [(0, 0, 0)] * (6 - len(probes))
    flat = [v for kind, size, flags in p for v in (size, kind, flags, 0)]
    return CALL.pack(fn, *a, len(args), 0, nr_segs, 0, *flat)


def header_path():
    srcdir = os.environ.get('DUSK_SRCDIR')
    top = pathlib.Path(srcdir) if srcdir else pathlib.Path(__file__).resolve().parents[2]
    return top / 'proto' / 'dusk_proto.h'


def _x_rows(body):
    """The argument lists of the X(...) rows of an X-macro's body."""
    rows = []
    for m in re.finditer(r'\bX\(', body):
        depth, args, arg = 1, [], ''
        for c in body[m.end():]:
            if c == '(':
                depth += 1
            elif c == ')':
                depth -= 1
                if depth == 0:
                    break
            if c == ',' and depth == 1:
                args.append(arg.strip())
                arg = ''
            else:
                arg += c
        args.append(arg.strip())
        rows.append(args)
    return rows


def _size(expr):
    m = re.fullmatch(r'sizeof\(struct (\w+)\)', expr)
    return STRUCTS[m.group(1)].size if m else int(expr, 0)


def message_table(path=None):
    """The header's DUSK_MSG_TABLE, as {name: Msg}, in enum order."""
    text = (path or header_path()).read_text()
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    m = re.search(r'#define[ \t]+DUSK_MSG_TABLE\(X\)((?:[^\n]*\\\n)*[^\n]*)',
                  text)
    main, inv = K.DUSK_CHAN_MAIN, K.DUSK_CHAN_INV
    chans = {'MAIN': {main}, 'INV': {inv}, 'MAIN_INV': {main, inv},
             'CTRL': {main, K.DUSK_CHAN_WATCHDOG}}
    table = {}
    for i, (name, sender, ch, kind, size, _, _, _, keep) in enumerate(
            _x_rows(m.group(1).replace('\\\n', ' ')), start=1):
        table[name] = Msg(name, i, getattr(K, 'DUSK_FROM_' + sender),
                          chans[ch], getattr(K, 'DUSK_SIZE_' + kind),
                          _size(size), bool(int(keep)))
    return table


MSGS = message_table()

# The message type numbers are the table's order (DUSK_MSG_INVALID = 0);
# supply them if the generated constants lack the X-macro's expansion.
for _m in MSGS.values():
    assert getattr(K, 'DUSK_MSG_' + _m.name, _m.type) == _m.type, _m
    setattr(K, 'DUSK_MSG_' + _m.name, _m.type)


def hmac256(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def seal(key, dgram):
    body = dgram[K.DUSK_MAC_LEN:]
    return hmac256(key, body) + body


def segs(items):
    """Encode (addr, bytes) pairs as struct dusk_seg records."""
    out = b''
    for addr, data in items:
        out += SEG.pack(addr, len(data), 0) + data
        out += b'\0' * (-len(data) % 8)
    return out


class Reply:
    def __init__(self, fields, payload):
        (self.mac, self.magic, self.version, self.type, self.channel,
         self.flags, self.session, self.len, self.seq, self.id,
         self.invocation, self.status, self.reserved) = fields
        self.payload = payload


class HookRecord:
    """One packet of a HOOK message: id is the packet's, payload its
    record (struct dusk_hook_msg and its segments)."""
    def __init__(self, msg, held_from, payload):
        self.type = msg.type
        self.flags = msg.flags
        self.seq = msg.seq
        self.held_from = held_from
        self.payload = payload
        (self.id, self.cookie, self.skb, self.state, self.handle,
         self.nr_segs, self.cpu, self.seg_len) = HOOK_MSG.unpack_from(payload)


def hook_records(r):
    """The packets a HOOK message carries, as HookRecord."""
    held_from, nr, _ = HOOK_BATCH.unpack_from(r.payload)
    off, out = HOOK_BATCH.size, []
    for _ in range(nr):
        seg_len = HOOK_MSG.unpack_from(r.payload, off)[7]
        end = off + HOOK_MSG.size + seg_len
        out.append(HookRecord(r, held_from, r.payload[off:end]))
        off = end
    return out


def verdict_payload(records):
    """A VERDICT's payload: records are (packet, verdict, segments)."""
    body = b''
    for packet, verdict, seglist in records:
        data = segs(seglist)
        body += VERDICT.pack(packet, verdict, len(seglist), len(data), 0) + data
    return VERDICT_BATCH.pack(len(records), 0) + body


def hook_segments(r):
    """The (addr, bytes) segments of a packet's HookRecord."""
    off, out = HOOK_MSG.size, []
    nr_segs = r.nr_segs
    for _ in range(nr_segs):
        addr, length, _ = SEG.unpack_from(r.payload, off)
        off += SEG.size
        out.append((addr, r.payload[off:off + length]))
        off += length + (-length % 8)
    return out


class Session:
    """One session with dusk.ko; every datagram it sends is kept in .sent."""

    def __init__(self, endpoint, key, timeout=5.0):
        host, port = endpoint.rsplit(':', 1)
        self.addr = (host, int(port))
        self.master = key
        self.key = key
        self.session = 0
        # Per channel, as the header has both counters.
        self.seq = dict.fromkeys(CHANNELS, 0)
        self.next_id = dict.fromkeys(CHANNELS, 0)
        self.sent = []
        self.hooks = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)

    def close(self):
        self.sock.close()

    def datagram(self, msg_type, payload=b'', req_id=None, seq=None,
                 channel=K.DUSK_CHAN_MAIN, version=K.DUSK_PROTO_VERSION,
                 key=None, invocation=0):
        if req_id is None:
            self.next_id[channel] += 1
            req_id = self.next_id[channel]
        if seq is None:
            self.seq[channel] += 1
            seq = self.seq[channel]
        hdr = HDR.pack(b'\0' * 32, K.DUSK_MAGIC, version, msg_type, channel,
                       0, self.session, len(payload), seq, req_id, invocation,
                       0, 0)
        return req_id, seal(key or self.key, hdr + payload)

    def send_raw(self, dgram):
        self.sent.append(dgram)
        self.sock.sendto(dgram, self.addr)

    def recv(self):
        data, _ = self.sock.recvfrom(65536)
        key = self.master if HDR.unpack_from(data)[6] == 0 else self.key
        if hmac256(key, data[K.DUSK_MAC_LEN:]) != data[:K.DUSK_MAC_LEN]:
            raise AssertionError('reply with a bad MAC')
        return Reply(HDR.unpack_from(data), data[HDR.size:])

    def wait(self, req_id, channel=K.DUSK_CHAN_MAIN):
        while True:
            r = self.recv()
            if self.take(r):
                pass
            elif r.id == req_id and r.channel == channel:
                return r

    def take(self, r):
        """A HOOK message's packets go to .hooks: True if r was one."""
        if r.type == K.DUSK_MSG_HOOK and not r.flags & K.DUSK_F_REPLY:
            self.hooks += hook_records(r)
            return True
        return False

    def request(self, msg_type, payload=b'', channel=K.DUSK_CHAN_MAIN, **kw):
        req_id, dgram = self.datagram(msg_type, payload, channel=channel, **kw)
        self.send_raw(dgram)
        return self.wait(req_id, channel)

    def hello_datagram(self, nonce, cookie=None, req_id=1,
                       hold_ms=2000, heartbeat_ms=3000, policy=None,
                       version=K.DUSK_PROTO_VERSION, hold_max=64, window=8):
        """A HELLO with nonce and cookie (None: zeros): (id, bytes)."""
        policy = K.DUSK_POLICY_ACCEPT if policy is None else policy
        return self.datagram(K.DUSK_MSG_HELLO,
                             HELLO.pack(nonce, 60000, heartbeat_ms, hold_ms,
                                        hold_max, policy, 256, window, 0,
                                        cookie or bytes(K.DUSK_COOKIE_LEN)),
                             req_id=req_id, version=version, seq=req_id,
                             key=self.master)

    @staticmethod
    def cookie_of(r, nonce):
        """The cookie a HELLO's -EAGAIN reply r gives (it echoes nonce)."""
        assert r.status == -errno.EAGAIN and len(r.payload) == HELLO_COOKIE.size
        echoed, cookie = HELLO_COOKIE.unpack(r.payload)
        assert echoed == nonce
        return cookie

    def hello(self, **kw):
        """The handshake (dusk_proto.h): HELLO, its cookie, HELLO with the
        cookie; the last reply. Every datagram is in .sent: [0] the HELLO
        without a cookie, [1] the one with it."""
        nonce = self.nonce = os.urandom(K.DUSK_NONCE_LEN)
        cookie = None
        for req_id in (1, 2):
            _, dgram = self.hello_datagram(nonce, cookie, req_id, **kw)
            self.send_raw(dgram)
            r = self.wait(req_id)
            if r.status != -errno.EAGAIN:
                break
            cookie = self.cookie_of(r, nonce)
        if r.status:
            return r
        (cnonce, snonce, sid, self.max_dgram, _, _, _, nreg,
         release) = HELLO_REPLY.unpack_from(r.payload)
        assert cnonce == nonce
        self.release = release.rstrip(b'\0').decode()
        self.regions = [REGION.unpack_from(r.payload, HELLO_REPLY.size + i * REGION.size)
                        for i in range(nreg)]
        self.session = sid
        self.key = hmac256(self.master, K.DUSK_SESSION_LABEL.encode() +
                           nonce + snonce + struct.pack('<I', sid))
        # A session numbers seqs and request ids from 1 on every channel.
        self.seq = dict.fromkeys(CHANNELS, 0)
        self.next_id = dict.fromkeys(CHANNELS, 0)
        return r

    # Requests, each returning (status, payload).

    def sym(self, name):
        r = self.request(K.DUSK_MSG_SYM, name.encode())
        return r.status, (SYM_REPLY.unpack(r.payload) if not r.status else None)

    def read(self, addr, length):
        r = self.request(K.DUSK_MSG_READ, READ.pack(addr, length, 0))
        return r.status, r.payload

    def write(self, addr, data):
        r = self.request(K.DUSK_MSG_WRITE,
                         WRITE.pack(1, 0) + segs([(addr, data)]))
        return r.status

    def call(self, fn, *args, probes=()):
        """CALL fn(*args); probes: (kind, size, flags) per argument."""
        r = self.request(K.DUSK_MSG_CALL, call_payload(fn, args, probes))
        return r.status, r.payload

    def alloc_datagram(self, size, req_id=None, channel=K.DUSK_CHAN_MAIN):
        return self.datagram(K.DUSK_MSG_ALLOC, ALLOC.pack(size, 1, 0),
                             req_id=req_id, channel=channel)

    def alloc(self, size, **kw):
        r = self.request(K.DUSK_MSG_ALLOC, ALLOC.pack(size, 1, 0), **kw)
        return r.status, (ALLOC_REPLY.unpack(r.payload)[0] if not r.status else None)

    def hook_register(self, pf, hooknum, priority, cookie=1, hold_ms=0,
                      policy=K.DUSK_HOOK_POLICY_SESSION):
        r = self.request(K.DUSK_MSG_HOOK_REGISTER,
                         HOOK_REGISTER.pack(0, cookie, pf, hooknum, priority,
                                            hold_ms, policy, 0))
        return r.status, (HOOK_HANDLE.unpack(r.payload)[0] if not r.status else None)

    def hook_unregister(self, handle):
        r = self.request(K.DUSK_MSG_HOOK_UNREGISTER, HOOK_HANDLE.pack(handle, 0))
        return r.status

    def verdict(self, packet, verdict, **kw):
        """VERDICT for packet (a HOOK record's id): sent, never answered."""
        _, dgram = self.datagram(K.DUSK_MSG_VERDICT,
                                 verdict_payload([(packet, verdict, [])]),
                                 **kw)
        self.send_raw(dgram)

    def ping(self, **kw):
        return self.request(K.DUSK_MSG_PING, **kw).status

    def bye(self, **kw):
        return self.request(K.DUSK_MSG_BYE, **kw).status
