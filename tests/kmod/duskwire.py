"""A minimal, independent client of the dusk wire protocol.

Written from proto/dusk_proto.h alone (its constants are generated from
it), so that the tests of dusk.ko check the kernel against the protocol's
text, not against libdusk's reading of it.
"""
import hashlib
import hmac
import os
import socket
import struct

import dusk_constants as K

HDR = struct.Struct('<32sIBBBBIIQQQiI')
HELLO = struct.Struct('<16sIIIIIIII')
HELLO_REPLY = struct.Struct('<16s16sIIIIII64s')
REGION = struct.Struct('<QQII')
SEG = struct.Struct('<QII')


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


class Session:
    """One session with dusk.ko; every datagram it sends is kept in .sent."""

    def __init__(self, endpoint, key, timeout=5.0):
        host, port = endpoint.rsplit(':', 1)
        self.addr = (host, int(port))
        self.master = key
        self.key = key
        self.session = 0
        self.seq = 0
        self.next_id = 0
        self.sent = []
        self.hooks = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)

    def close(self):
        self.sock.close()

    def datagram(self, msg_type, payload=b'', req_id=None, seq=None,
                 channel=K.DUSK_CHAN_MAIN, version=K.DUSK_PROTO_VERSION,
                 key=None):
        if req_id is None:
            self.next_id += 1
            req_id = self.next_id
        if seq is None:
            self.seq += 1
            seq = self.seq
        hdr = HDR.pack(b'\0' * 32, K.DUSK_MAGIC, version, msg_type, channel,
                       0, self.session, len(payload), seq, req_id, 0, 0, 0)
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

    def wait(self, req_id):
        while True:
            r = self.recv()
            if r.type == K.DUSK_MSG_HOOK:
                self.hooks.append(r)
            elif r.id == req_id:
                return r

    def request(self, msg_type, payload=b'', **kw):
        req_id, dgram = self.datagram(msg_type, payload, **kw)
        self.send_raw(dgram)
        return self.wait(req_id)

    def hello(self, hold_ms=2000, heartbeat_ms=3000, policy=None,
              version=K.DUSK_PROTO_VERSION):
        nonce = os.urandom(K.DUSK_NONCE_LEN)
        policy = K.DUSK_POLICY_ACCEPT if policy is None else policy
        r = self.request(K.DUSK_MSG_HELLO,
                         HELLO.pack(nonce, 60000, heartbeat_ms, hold_ms, 64,
                                    policy, 256, 8, 0),
                         version=version, seq=1)
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
        self.seq = 0
        return r

    # Requests, each returning (status, payload).

    def sym(self, name):
        r = self.request(K.DUSK_MSG_SYM, name.encode())
        return r.status, (struct.unpack('<QQ', r.payload) if not r.status else None)

    def read(self, addr, length):
        r = self.request(K.DUSK_MSG_READ, struct.pack('<QII', addr, length, 0))
        return r.status, r.payload

    def write(self, addr, data):
        r = self.request(K.DUSK_MSG_WRITE,
                         struct.pack('<II', 1, 0) + segs([(addr, data)]))
        return r.status

    def alloc_datagram(self, size, req_id=None):
        return self.datagram(K.DUSK_MSG_ALLOC, struct.pack('<QII', size, 1, 0),
                             req_id=req_id)

    def hook_register(self, pf, hooknum, priority, cookie=1):
        r = self.request(K.DUSK_MSG_HOOK_REGISTER,
                         struct.pack('<QQIIiI', 0, cookie, pf, hooknum,
                                     priority, 0))
        return r.status, (struct.unpack('<II', r.payload)[0] if not r.status else None)

    def ping(self):
        return self.request(K.DUSK_MSG_PING).status

    def bye(self):
        return self.request(K.DUSK_MSG_BYE).status
