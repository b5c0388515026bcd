#!/usr/bin/env python3
"""Write the libFuzzer seed corpora of tests/fuzz/: valid messages of
every type, built by the independent wire client (kmod/duskwire.py).

corpus/codec/: one control byte (see fuzz_codec.c) then one datagram, as
the runtime (replies, HOOK) or the kernel (requests) receives it.
corpus/kmod/: a config (2 bytes) then records of ctl, le16 length and a
datagram of the fuzzer's session (see fuzz_kmod.c).

Run from the build tree: PYTHONPATH=tests:SRCDIR/tests/kmod
python3 make-corpus.py OUTDIR. The MACs need not be right: the fuzzers
sign every datagram themselves.
"""
import pathlib
import struct
import sys

import dusk_constants as K
import duskwire as W

SID = 0x5e551011
KADDR = 0xffff888000003000
TEXT = 0xffffffff81000000


def dgram(msg_type, payload=b'', session=SID, req_id=1, seq=1, channel=0,
          flags=0, status=0, invocation=0):
    hdr = W.HDR.pack(b'\0' * 32, K.DUSK_MAGIC, K.DUSK_PROTO_VERSION, msg_type,
                     channel, flags, session, len(payload), seq, req_id,
                     invocation, status, 0)
    return hdr + payload


def requests():
    """(name, type, payload) of every request the runtime sends."""
    one = W.segs([(KADDR, b'abcdefgh12')])
    two = W.segs([(KADDR, b'x'), (KADDR + 64, b'\0' * 24)])
    return [
        ('bye', K.DUSK_MSG_BYE, b''),
        ('ping', K.DUSK_MSG_PING, b''),
        ('read', K.DUSK_MSG_READ, W.READ.pack(KADDR, 64, 0)),
        ('write', K.DUSK_MSG_WRITE, W.WRITE.pack(1, 0) + one),
        ('write2', K.DUSK_MSG_WRITE, W.WRITE.pack(2, 0) + two),
        ('call', K.DUSK_MSG_CALL, W.call_payload(TEXT, (1, 2), nr_segs=1) + one),
        ('sym', K.DUSK_MSG_SYM, b'init_net'),
        ('alloc', K.DUSK_MSG_ALLOC, W.ALLOC.pack(128, 1, 0)),
        ('free', K.DUSK_MSG_FREE, W.FREE.pack(KADDR)),
        ('hook_register', K.DUSK_MSG_HOOK_REGISTER,
         W.HOOK_REGISTER.pack(0, 7, 2, 1, -100, 0, 0, 0)),
        ('hook_unregister', K.DUSK_MSG_HOOK_UNREGISTER, W.HOOK_HANDLE.pack(1, 0)),
        ('verdict', K.DUSK_MSG_VERDICT,
         W.VERDICT_BATCH.pack(2, 0) + W.VERDICT.pack(5, 1, 1, len(one), 0) +
         one + W.VERDICT.pack(6, 0, 0, 0, 0)),
        ('proxy_register', K.DUSK_MSG_PROXY_REGISTER,
         W.PROXY_REGISTER.pack(KADDR, 0, K.DUSK_PROXY_FOPS, 2) +
         W.PROXY_SLOT.pack(16, K.DUSK_SLOT_USER, 0x401000) +
         W.PROXY_SLOT.pack(8, K.DUSK_SLOT_KERNEL, TEXT)),
        ('proxy_unregister', K.DUSK_MSG_PROXY_UNREGISTER,
         W.PROXY_HANDLE.pack(1, 0)),
    ]


def inv_requests():
    """(name, type, payload) of an invocation's requests."""
    one = W.segs([(KADDR, b'abcdefgh12')])
    return [
        ('uaccess_to', K.DUSK_MSG_UACCESS,
         W.UACCESS.pack(0x7ffd0000, 4, K.DUSK_UA_TO, 0) + b'abcd'),
        ('uaccess_from', K.DUSK_MSG_UACCESS,
         W.UACCESS.pack(0x7ffd0000, 64, K.DUSK_UA_FROM, 0)),
        ('uaccess_put', K.DUSK_MSG_UACCESS,
         W.UACCESS.pack(0x7ffd0000, 8, K.DUSK_UA_PUT, 0) + bytes(8)),
        ('return', K.DUSK_MSG_RETURN, W.RETURN.pack(16, 1, 0) + one),
    ]


def replies():
    """(name, type, payload) of what the runtime receives."""
    hello = W.HELLO_REPLY.pack(b'c' * 16, b's' * 16, SID, 60000, 4096, 2, 250,
                               2, b'6.1.0-test')
    hello += W.REGION.pack(0xffff888000000000, 1 << 30, 1, 0)
    hello += W.REGION.pack(0xffffc90000000000, 1 << 40, 2, 0)
    return [
        ('hello_reply', K.DUSK_MSG_HELLO, hello, 0),
        ('ping_reply', K.DUSK_MSG_PING, W.STATS.pack(*range(13)), SID),
        ('read_reply', K.DUSK_MSG_READ, b'0123456789abcdef', SID),
        ('call_reply', K.DUSK_MSG_CALL, W.CALL_REPLY.pack(42, 0, 0), SID),
        ('sym_reply', K.DUSK_MSG_SYM, W.SYM_REPLY.pack(TEXT, 64), SID),
        ('alloc_reply', K.DUSK_MSG_ALLOC, W.ALLOC_REPLY.pack(KADDR), SID),
        ('write_reply', K.DUSK_MSG_WRITE, b'', SID),
    ]


def record(d, ctl=0x0f):
    return struct.pack('<BH', ctl, len(d)) + d


def main(out):
    codec = pathlib.Path(out) / 'codec'
    kmod = pathlib.Path(out) / 'kmod'
    codec.mkdir(parents=True, exist_ok=True)
    kmod.mkdir(parents=True, exist_ok=True)
    cfg = bytes([0x00, 0xff])
    reqs = requests()
    for name, t, p in reqs:
        (codec / ('req_' + name)).write_bytes(bytes([0x0f]) + dgram(t, p))
        (kmod / name).write_bytes(cfg + record(dgram(t, p)))
    # A segment claiming far more than the datagram holds, near the top
    # of its __le32: the checks' arithmetic at its limit.
    huge = W.WRITE.pack(1, 0) + W.SEG.pack(KADDR, 0xfffffff0, 0)
    (codec / 'req_write_huge').write_bytes(bytes([0x0f]) + dgram(K.DUSK_MSG_WRITE, huge))
    (kmod / 'write_huge').write_bytes(cfg + record(dgram(K.DUSK_MSG_WRITE, huge)))
    hello = W.HELLO.pack(b'n' * 16, 60000, 3000, 2000, 64, 0, 256, 8, 0, bytes(32))
    (codec / 'req_hello').write_bytes(bytes([0x0f]) + dgram(K.DUSK_MSG_HELLO, hello, session=0))
    for name, t, p, sid in replies():
        (codec / name).write_bytes(bytes([0x07]) + dgram(t, p, session=sid,
                                                      flags=K.DUSK_F_REPLY))
    (codec / 'error_reply').write_bytes(bytes([0x07]) + dgram(
        K.DUSK_MSG_READ, session=SID, flags=K.DUSK_F_REPLY, status=-14))
    hook_segs = W.segs([(KADDR, b'\x45' * 40), (KADDR + 0x100, b'\1' * 8)])
    hook = W.HOOK_BATCH.pack(7, 2, 0) + \
        W.HOOK_MSG.pack(7, 7, KADDR, KADDR + 0x100, 1, 2, 0, len(hook_segs)) + \
        hook_segs + W.HOOK_MSG.pack(8, 7, KADDR + 0x800, KADDR + 0x900, 1, 0, 1, 0)
    (codec / 'hook').write_bytes(bytes([0x07]) + dgram(K.DUSK_MSG_HOOK, hook,
                                                    req_id=7, invocation=7))
    # SIGNAL: the caller of invocation 7 got SIGUSR1.
    (codec / 'signal').write_bytes(bytes([0x07]) + dgram(
        K.DUSK_MSG_SIGNAL, W.SIGNAL.pack(0, 10), req_id=1, invocation=7,
        channel=K.DUSK_CHAN_INV))
    # A run of requests, retransmissions (same id, new seq) and both
    # channels: what the request ids and the replay window see.
    run = b''
    for i, (name, t, p) in enumerate(reqs[1:], start=1):
        run += record(dgram(t, p, req_id=i, seq=i))
    run += record(dgram(K.DUSK_MSG_WRITE, reqs[3][2], req_id=3, seq=50))
    run += record(dgram(K.DUSK_MSG_PING, channel=1, req_id=1, seq=1))
    run += record(dgram(K.DUSK_MSG_BYE, req_id=60, seq=60))
    (kmod / 'session').write_bytes(bytes([0x01, 0x20]) + run)
    # An invocation's requests (invocation 1, ids 1, 2, 3...): one sent
    # again, an old one, one that skips, one of another invocation.
    inv = K.DUSK_CHAN_INV
    ireqs = inv_requests()
    run = b''
    for i, (name, t, p) in enumerate(ireqs[:3], start=1):
        run += record(dgram(t, p, req_id=i, seq=i, channel=inv, invocation=1))
    run += record(dgram(ireqs[2][1], ireqs[2][2], req_id=3, seq=10,
                        channel=inv, invocation=1))
    run += record(dgram(ireqs[0][1], ireqs[0][2], req_id=1, seq=11,
                        channel=inv, invocation=1))
    run += record(dgram(ireqs[0][1], ireqs[0][2], req_id=9, seq=12,
                        channel=inv, invocation=1))
    run += record(dgram(K.DUSK_MSG_SYM, b'init_net', req_id=1, seq=13,
                        channel=inv, invocation=2))
    run += record(dgram(ireqs[3][1], ireqs[3][2], req_id=4, seq=14,
                        channel=inv, invocation=1))
    (kmod / 'invocation').write_bytes(bytes([0x01, 0x20]) + run)
    for name, t, p in ireqs:
        (kmod / ('inv_' + name)).write_bytes(cfg + record(
            dgram(t, p, channel=inv, invocation=1)))


if __name__ == '__main__':
    main(sys.argv[1])
