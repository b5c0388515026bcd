"""A structure-aware fuzzer of the real dusk.ko, over the wire.

Built from the protocol as duskwire.py states it: every request type,
correctly sealed with the session key, with broken bodies (wrong lengths,
huge segment counts, segments overrunning the datagram, bad addresses of
every class, bad handles, verdicts and flags, wrong channels, ids out of
the window) and broken headers (bad MAC, session, magic, length, version,
flags, reserved field, type; replays). Cases come from a seeded random
generator, so a run is repeatable: the same seed gives the same cases.

Each case states what dusk.ko must do: answer with one of some statuses,
or drop the datagram and count it (rx_bad_mac, rx_malformed,
rx_replayed). Nothing here makes dusk.ko touch memory that is not its
session's own or call a function that could do harm: WRITEs and commits
go to bad addresses, read-only kernel text and data, or inside the
fuzzer's own ALLOCs; CALL's fn is one that must be refused, or
jiffies_to_msecs() (arithmetic on its argument), mostly with a broken
commit or argument count; the only hooks registered are IPv6 FORWARD
hooks, which no packet crosses in the target; proxy tables are
registered (no device ever uses them) and unregistered; requests on the
invocation channel name invocations that do not exist (-ESRCH).

By hand, against a running target:
  PYTHONPATH=BUILD/tests:SRC/tests/kmod python3 SRC/tests/kmod/wirefuzz.py \\
      127.0.0.1:PORT KEYFILE [CASES [SEED]]
"""
import errno
import random
import socket
import struct
import sys

import dusk_constants as K
from duskwire import (ALLOC, CALL, FREE, HDR, HOOK_HANDLE, HOOK_REGISTER,
                      MSGS, PROXY_HANDLE, PROXY_REGISTER, PROXY_SLOT, READ,
                      RETURN, SEG, SIGNAL, UACCESS, VERDICT, VERDICT_BATCH,
                      WRITE, Session, seal, segs)

MAIN, WATCHDOG, INV = K.DUSK_CHAN_MAIN, K.DUSK_CHAN_WATCHDOG, K.DUSK_CHAN_INV
NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 = 1, 2, 10
NF_INET_FORWARD, NF_INET_NUMHOOKS = 2, 5
NF_DROP, NF_ACCEPT, NF_STOLEN = 0, 1, 2
KSYM_NAME_LEN = 512
ALLOC_MAX = 4 << 20
MAX_HOOKS = 8           # live at once, of dusk.ko's 64
MAX_ALLOCS = 16
MAX_TABLES = 6          # live at once, of dusk.ko's 32
# The members a slot of each kind may name (x86-64, 6.1): struct
# file_operations' llseek, read, write, poll, unlocked_ioctl,
# compat_ioctl, open, flush, release, fasync; struct proc_ops' (24,
# proc_read_iter, a kernel slot only); struct seq_operations'; FN's 0.
KIND_OFFS = {
    K.DUSK_PROXY_FOPS: (8, 16, 24, 72, 80, 88, 112, 120, 128, 144),
    K.DUSK_PROXY_PROC_OPS: (8, 16, 24, 32, 40, 48, 56, 64, 72),
    K.DUSK_PROXY_SEQ_OPS: (0, 8, 16, 24),
    K.DUSK_PROXY_FN: (0,),
}
KERNEL_ONLY = {(K.DUSK_PROXY_PROC_OPS, 24)}
# Offsets that are no member of any kind.
BAD_OFFS = (4, 96, 104, 280, 0xffffffff, 1 << 20)

# Offsets in struct dusk_hdr.
OFF_MAGIC, OFF_VERSION, OFF_TYPE, OFF_CHANNEL, OFF_FLAGS = 32, 36, 37, 38, 39
OFF_SESSION, OFF_LEN, OFF_RESERVED = 40, 44, 76

# Every class of address the nofault accessors must not be given (as in
# test_protocol.py), and lengths that reach into them.
BAD_ADDRS = [
    0, 8, 0x1000, 0x7ffffffff000, 0x7ffffffffff8, 0x00fffffffffff000,
    0x8000000000000000, 0xffff000000000000 - 0x1000, 0xfe00000000000000,
    0xffffffffff600000, 0xffffffffff600800, 0xffffffffff5ffff8,
    0xfffffffffffffff8, 0xffffdead00000000, 0xffffffffffffffff,
]

# Requests whose replies dusk.ko keeps by id (the table's keep column).
KEPT_TYPES = {m.type for m in MSGS.values() if m.keep}

# Statuses dusk.ko may answer a fuzzed request of each type with.
E = errno
ANY_BAD = {-E.EINVAL, -E.EFAULT, -E.EBADMSG}

# Outside the class: names starting __ would be mangled inside it.
HOOK_POLICY_MAX = K.__DUSK_HOOK_POLICY_MAX
PROBE_KIND_MAX = K.__DUSK_PROBE_MAX


class Case:
    """One datagram and what dusk.ko must do with it: reply with a status
    in ok (a set), or drop it and count it in counter."""

    def __init__(self, what, dgram, channel=MAIN, req_id=None, ok=None,
                 counter=None, then=None):
        self.what, self.dgram, self.channel = what, dgram, channel
        self.req_id, self.ok, self.counter, self.then = req_id, ok, counter, then


class WireFuzzer:
    """Sends seeded random cases to dusk.ko on one Session at a time."""

    def __init__(self, endpoint, key, seed, timeout=10.0):
        self.endpoint, self.master = endpoint, key
        self.rng = random.Random(seed)
        self.timeout = timeout
        self.sess = None
        self.counts = {'rx_bad_mac': 0, 'rx_malformed': 0, 'rx_replayed': 0,
                       'rx_ok': 0, 'replies': 0, 'resent': 0}
        self.cases = 0
        self.trace = None       # a callable given each case's line

    # ---- the session and what it owns ----

    def connect(self):
        if self.sess:
            self.sess.close()
        self.sess = Session(self.endpoint, self.master, timeout=self.timeout)
        r = self.sess.hello()
        assert r.status == 0, f'HELLO refused: {r.status}'
        self.max_id = dict.fromkeys((MAIN, WATCHDOG, INV), 0)
        self.sent = []          # this session's accepted datagrams
        self.kept = []          # (id, type, payload, reply) with side effects
        self.allocs = {}        # addr -> size
        self.hooks = set()
        self.tables = set()
        st, (self.banner, _) = self.request(K.DUSK_MSG_SYM, b'linux_banner')
        assert st == 0
        st, (self.jiffies_to_msecs, _) = self.request(K.DUSK_MSG_SYM,
                                                      b'jiffies_to_msecs')
        assert st == 0
        refused = []
        for name in (b'_raw_spin_lock', b'__rcu_read_lock', b'mutex_unlock',
                     b'strlen', b'kfree'):
            st, (addr, _) = self.request(K.DUSK_MSG_SYM, name)
            assert st == 0
            refused.append(addr)
        self.lock_fns = refused[:3]        # -EPERM
        self.text = refused[3:]            # +1, +3: not an entry, -EFAULT
        st, (self.noop_llseek, _) = self.request(K.DUSK_MSG_SYM,
                                                 b'noop_llseek')
        assert st == 0

    def next_id(self, ch):
        self.max_id[ch] += 1
        return self.max_id[ch]

    def dgram(self, msg_type, payload=b'', channel=MAIN, req_id=None,
              invocation=0):
        if req_id is None:
            req_id = self.next_id(channel)
        _, d = self.sess.datagram(msg_type, payload, req_id=req_id,
                                  channel=channel, invocation=invocation)
        return req_id, d

    def request(self, msg_type, payload=b'', channel=MAIN):
        """A well-formed request outside the cases: (status, fields)."""
        req_id, d = self.dgram(msg_type, payload, channel)
        r = self.exchange(d, req_id, channel)
        fmt = {K.DUSK_MSG_SYM: '<QQ', K.DUSK_MSG_ALLOC: '<Q',
               K.DUSK_MSG_HOOK_REGISTER: '<II', K.DUSK_MSG_PING: '<13Q'}  # PING: then per-hook counts
        if r.status or msg_type not in fmt:
            return r.status, None
        return r.status, struct.unpack_from(fmt[msg_type], r.payload)

    def exchange(self, d, req_id, channel):
        """Send d, wait for its reply; a lost one is sent again (same id,
        new seq), as the runtime does."""
        msg_type, invocation = d[OFF_TYPE], struct.unpack_from('<Q', d, 64)[0]
        for attempt in range(3):
            self.sess.send_raw(d)
            self.sent.append(d)
            self.counts['rx_ok'] += 1
            try:
                r = self.sess.wait(req_id, channel)
            except (socket.timeout, TimeoutError):
                self.counts['resent'] += 1
                _, d = self.sess.datagram(msg_type, d[HDR.size:],
                                          req_id=req_id, channel=channel,
                                          invocation=invocation)
                continue
            self.counts['replies'] += 1
            assert r.flags & K.DUSK_F_REPLY and r.type == msg_type, vars(r)
            assert not r.status or not r.payload, vars(r)
            return r
        raise AssertionError(f'no reply to request {req_id} ({msg_type})')

    # ---- parts of cases ----

    def bad_addr(self):
        a = self.rng.choice(BAD_ADDRS)
        return (a + self.rng.choice((0, 0, 8, 0x800, -8))) % (1 << 64)

    def own_range(self, n):
        """Somewhere in one of our allocations, n bytes long, or None."""
        fit = [(a, s) for a, s in self.allocs.items() if s >= n]
        if not fit:
            return None
        a, s = self.rng.choice(fit)
        return a + self.rng.randrange(0, s - n + 1)

    def seg_items(self):
        """Segments dusk.ko must refuse (bad, read-only) or may write
        (inside our allocations); valid in form."""
        items = []
        for _ in range(self.rng.choice((0, 1, 1, 2, 3))):
            n = self.rng.choice((0, 1, 7, 8, 64, 300))
            kind = self.rng.randrange(4)
            if kind == 0:
                addr = self.bad_addr()
            elif kind == 1:
                addr = self.rng.choice(self.text + [self.banner])
            else:
                addr = self.own_range(n)
                if addr is None:
                    addr = self.bad_addr()
            items.append((addr, bytes(self.rng.randrange(256)
                                      for _ in range(n))))
        return items

    def seg_body(self):
        """(nr_segs, bytes): mostly well formed, else broken: a count that
        does not match, a length overrunning the datagram, a pad field."""
        items = self.seg_items()
        body = segs(items)
        nr = len(items)
        how = self.rng.randrange(8)
        if how == 0:
            nr = self.rng.choice((nr + 1, 0xffffffff, 0x7fffffff, 1 << 16))
        elif how == 1 and items:
            addr, data = items[-1]
            n = self.rng.choice((len(data) + 8, 0xffffffff, 0x80000000,
                                 0xfffffff9, 60000))
            body = segs(items[:-1]) + SEG.pack(addr, n, 0) + data
        elif how == 2 and items:
            body = body[:-self.rng.randrange(1, min(len(body), 16) + 1)]
        elif how == 3 and items:
            body = body[:12] + struct.pack('<I', 1) + body[16:]   # pad
        elif how == 4:
            body += b'\0' * self.rng.choice((1, 8, 16))
        return nr, body

    # ---- the cases, by type ----

    def case_read(self):
        r = self.rng
        kind = r.randrange(5)
        pad = 0
        if kind == 0:
            addr, n, ok = self.bad_addr(), r.choice((1, 8, 16, 4096)), {-E.EFAULT}
        elif kind == 1:
            addr, n, ok = r.choice(self.text + [self.banner]), r.choice((1, 64, 1000)), {0}
        elif kind == 2:
            addr = self.own_range(8)
            addr, n, ok = (addr, 8, {0}) if addr else (0, 8, {-E.EFAULT})
        elif kind == 3:
            addr, n, ok = self.banner, r.choice((0, 60000, 0xffffffff, 65536)), {-E.EINVAL}
        else:
            addr, n, pad, ok = self.banner, 8, r.choice((1, 0xffffffff)), {-E.EINVAL}
        return K.DUSK_MSG_READ, READ.pack(addr, n, pad), ok

    def case_write(self):
        nr, body = self.seg_body()
        pad = self.rng.choice((0, 0, 0, 1))
        return (K.DUSK_MSG_WRITE, WRITE.pack(nr, pad) + body,
                {0, -E.EFAULT, -E.EBADMSG, -E.EINVAL})

    def case_call(self):
        r = self.rng
        fn_kind = r.randrange(6)
        if fn_kind == 0:
            fn, ok = self.bad_addr(), {-E.EFAULT}
        elif fn_kind == 1:
            fn, ok = self.banner, {-E.EFAULT}
        elif fn_kind == 2:
            fn, ok = r.choice(self.text) + r.choice((1, 3)), {-E.EFAULT}
        elif fn_kind == 3:
            fn, ok = r.choice(self.lock_fns), {-E.EPERM}
        else:
            # Harmless if called: arithmetic on its argument.
            fn, ok = self.jiffies_to_msecs, {0, -E.EFAULT, -E.EBADMSG}
        nargs = r.choice((0, 1, 1, 6, 7, 0xffffffff))
        flags = r.choice((0, 0, 0, 1, 0x80000000))
        pad = r.choice((0, 0, 0, 1))
        if nargs > 6 or flags or pad:
            ok = {-E.EINVAL}
        probes, probes_ok = self.call_probes(nargs)
        if not probes_ok:
            ok = {-E.EINVAL}
        nr, body = self.seg_body()
        args = [r.getrandbits(64) for _ in range(6)]
        return (K.DUSK_MSG_CALL,
                CALL.pack(fn, *args, nargs, flags, nr, pad, *probes) + body, ok)

    def call_probes(self, nargs):
        """CALL's probe records (size, kind, flags, pad per argument),
        flattened, and whether dusk.ko must take them. Good ones probe
        the random arguments: dusk.ko reads them through the nofault
        accessors, and the harmless function is called or refused."""
        r = self.rng
        none = [(0, K.DUSK_PROBE_NONE, 0, 0)] * 6
        mode = r.randrange(3)
        if mode == 0:
            probes, good = none, True
        elif mode == 1:
            probes = list(none)
            for i in range(min(nargs, 6)):
                kind = r.choice((K.DUSK_PROBE_NONE, K.DUSK_PROBE_SIZE,
                                 K.DUSK_PROBE_STR))
                if kind != K.DUSK_PROBE_NONE:
                    size = r.choice((1, 8, 4096, K.DUSK_PROBE_STR_MAX)
                                    if kind == K.DUSK_PROBE_STR else
                                    (1, 8, 4096, 3 * 4096 + 5))
                    probes[i] = (size, kind, r.randrange(4), 0)
            good = True
        else:
            probes, good = list(none), False
            i = r.randrange(6)
            probes[i] = r.choice((
                (8, r.choice((PROBE_KIND_MAX, 255)), 0, 0),  # kind
                (8, K.DUSK_PROBE_SIZE, r.choice((4, 0x80)), 0),  # flags
                (8, K.DUSK_PROBE_SIZE, 0, 1),                    # pad
                (8, K.DUSK_PROBE_NONE, 0, 0),                    # size, no kind
                (0, K.DUSK_PROBE_NONE, 1, 0),                    # flags, no kind
                (0, K.DUSK_PROBE_SIZE, 0, 0),                    # no size
                (K.DUSK_PROBE_STR_MAX + 1, K.DUSK_PROBE_STR, 0, 0)))
        return [v for p in probes for v in p], good

    def case_sym(self):
        r = self.rng
        kind = r.randrange(4)
        if kind == 0:
            return K.DUSK_MSG_SYM, b'linux_banner', {0}
        if kind == 1:
            name = bytes(r.randrange(1, 256) for _ in range(r.randrange(1, 40)))
            return K.DUSK_MSG_SYM, name, {-E.ENOENT, 0}
        if kind == 2:
            return K.DUSK_MSG_SYM, b'x' * r.choice((KSYM_NAME_LEN, 4000)), {-E.EINVAL}
        return K.DUSK_MSG_SYM, b'strlen\0junk', {-E.EINVAL}

    def case_alloc(self):
        r = self.rng
        kind = r.randrange(4)
        if kind == 0 and len(self.allocs) < MAX_ALLOCS:
            return (K.DUSK_MSG_ALLOC, ALLOC.pack(r.choice((8, 64, 300, 4096)), 1, 0),
                    {0})
        size = r.choice((0, ALLOC_MAX + 1, 1 << 63, 0xffffffffffffffff, 64))
        flags = r.choice((0, 2, 0x80000000)) if size == 64 else 1
        pad = 1 if size == 64 and not flags else 0
        return K.DUSK_MSG_ALLOC, ALLOC.pack(size, flags, pad), {-E.EINVAL}

    def case_free(self):
        if self.allocs and self.rng.randrange(3) == 0:
            return K.DUSK_MSG_FREE, FREE.pack(self.rng.choice(list(self.allocs))), {0}
        addr = self.rng.choice((self.bad_addr(), self.banner,
                                (self.own_range(1) or 0) + 1))
        if addr in self.allocs:
            addr = self.banner
        return K.DUSK_MSG_FREE, FREE.pack(addr), {-E.ENOENT}

    def case_hook_register(self):
        r = self.rng
        kind = r.randrange(5)
        if kind == 0 and len(self.hooks) < MAX_HOOKS:
            return (K.DUSK_MSG_HOOK_REGISTER,
                    HOOK_REGISTER.pack(0, 7, NFPROTO_IPV6, NF_INET_FORWARD,
                                       r.randrange(-1000, 1000),
                                       r.choice((0, 1, 3600 * 1000)),
                                       r.randrange(HOOK_POLICY_MAX), 0),
                    {0})
        if kind == 1:
            return (K.DUSK_MSG_HOOK_REGISTER,
                    HOOK_REGISTER.pack(r.choice((self.bad_addr() or 1, self.banner)),
                                       7, NFPROTO_IPV6, NF_INET_FORWARD, 0, 0, 0, 0),
                    {-E.ENODEV})
        if kind == 2:
            # The hook's own hold time and policy out of range.
            hold, policy = r.choice(((3600 * 1000 + 1, 0), (0xffffffff, 0),
                                     (0, HOOK_POLICY_MAX),
                                     (0, 0xffffffff)))
            return (K.DUSK_MSG_HOOK_REGISTER,
                    HOOK_REGISTER.pack(0, 7, NFPROTO_IPV6, NF_INET_FORWARD, 0,
                                       hold, policy, 0), {-E.EINVAL})
        pf = r.choice((0, 3, 7, 255, 0xffffffff, NFPROTO_IPV6))
        hooknum = (r.choice((NF_INET_NUMHOOKS, 0xffffffff, 77))
                   if pf == NFPROTO_IPV6 else NF_INET_FORWARD)
        pad = r.choice((0, 1))
        return (K.DUSK_MSG_HOOK_REGISTER,
                HOOK_REGISTER.pack(0, 7, pf, hooknum, 0, 0, 0, pad), {-E.EINVAL})

    def case_hook_unregister(self):
        if self.hooks and self.rng.randrange(3) == 0:
            h = self.rng.choice(sorted(self.hooks))
            return K.DUSK_MSG_HOOK_UNREGISTER, HOOK_HANDLE.pack(h, 0), {0}
        h = self.rng.choice((0, 0xffffffff, 12345, max(self.hooks, default=0) + 1000))
        pad = self.rng.choice((0, 1))
        return (K.DUSK_MSG_HOOK_UNREGISTER, HOOK_HANDLE.pack(h, pad),
                {-E.ENOENT, -E.EINVAL})

    def case_verdict(self):
        """A VERDICT of a few records: never answered, whatever it holds
        (no packet waits, so none applies; a malformed one is dropped)."""
        r = self.rng
        records = []
        for _ in range(r.choice((0, 1, 1, 2, 3))):
            verdict = r.choice((NF_DROP, NF_ACCEPT, NF_STOLEN, 5, 6, 0xffff,
                                0xffffffff, 3 | (0xd05c << 16), 4))
            nr, body = self.seg_body()
            packet = r.choice((0, 1, r.getrandbits(64), 0xffffffffffffffff))
            length = r.choice((len(body),) * 4 + (len(body) + 8, 0xffffffff))
            records.append(VERDICT.pack(packet, verdict, nr, length,
                                        r.choice((0,) * 7 + (1,))) + body)
        nr = r.choice((len(records),) * 6 + (len(records) + 1, 0xffffffff))
        return (K.DUSK_MSG_VERDICT,
                VERDICT_BATCH.pack(nr, 0) + b''.join(records), None)

    def case_ping(self):
        return K.DUSK_MSG_PING, b'', {0}

    def case_proxy_register(self):
        """PROXY_REGISTER of every kind: good tables (used by no device),
        or broken ones: kind, flags, an offset, a slot kind, a kernel value
        that is not text, a count the payload does not hold."""
        r = self.rng
        kind = r.choice(sorted(KIND_OFFS))
        if kind == K.DUSK_PROXY_FN:
            offs = [0]
        else:
            offs = r.sample(KIND_OFFS[kind], r.randrange(0, 5))
        slots = []
        for off in offs:
            if kind != K.DUSK_PROXY_FN and (
                    (kind, off) in KERNEL_ONLY or r.randrange(2)):
                slots.append((off, K.DUSK_SLOT_KERNEL, self.noop_llseek))
            else:
                slots.append((off, K.DUSK_SLOT_USER, r.getrandbits(64)))
        flags, nr = 0, None
        how = r.randrange(8)
        ok = {0, -E.ENOSPC}
        if how == 0 or len(self.tables) >= MAX_TABLES:
            kind = r.choice((K.DUSK_PROXY_INVALID,
                             getattr(K, '__DUSK_PROXY_MAX'), 0xffffffff))
            ok = {-E.EINVAL}
        elif how == 1:
            flags, ok = r.choice((1, 1 << 63)), {-E.EINVAL}
        elif how == 2:
            slots.append((r.choice(BAD_OFFS), K.DUSK_SLOT_USER, 1))
            ok = {-E.EINVAL}
        elif how == 3 and slots:
            slots.append(slots[0])              # the same member twice
            ok = {-E.EINVAL}
        elif how == 4:
            slots.append((r.choice(KIND_OFFS[kind]),
                          r.choice((0, 3, 0xffffffff)), self.noop_llseek))
            ok = {-E.EINVAL}
        elif how == 5:
            slots.append((r.choice(KIND_OFFS[kind]), K.DUSK_SLOT_KERNEL,
                          r.choice((self.bad_addr(), self.banner))))
            ok = {-E.EINVAL}
        elif how == 6:
            nr = r.choice((len(slots) + 1, 0xffffffff, 1 << 16))
            ok = {-E.EBADMSG}
        body = b''.join(PROXY_SLOT.pack(*s) for s in slots)
        if nr is None:
            nr = len(slots)
        if how == 6 and r.randrange(2):
            body += b'\0' * r.choice((1, 8))
            ok = {-E.EBADMSG}
        return (K.DUSK_MSG_PROXY_REGISTER,
                PROXY_REGISTER.pack(r.getrandbits(64), flags, kind, nr) + body,
                ok)

    def case_proxy_unregister(self):
        if self.tables and self.rng.randrange(2):
            h = self.rng.choice(sorted(self.tables))
            return K.DUSK_MSG_PROXY_UNREGISTER, PROXY_HANDLE.pack(h, 0), {0}
        h = self.rng.choice((0, 0xffffffff, 12345))
        pad = self.rng.choice((0, 1))
        return (K.DUSK_MSG_PROXY_UNREGISTER, PROXY_HANDLE.pack(h, pad),
                {-E.ENOENT, -E.EINVAL})

    def inv_payload(self):
        """A request of an invocation: UACCESS, RETURN, or a main-channel
        type the invocation channel takes too."""
        r = self.rng
        t = r.choice((K.DUSK_MSG_UACCESS, K.DUSK_MSG_RETURN, K.DUSK_MSG_READ,
                      K.DUSK_MSG_SYM, K.DUSK_MSG_PROXY_UNREGISTER))
        if t == K.DUSK_MSG_UACCESS:
            op = r.randrange(getattr(K, '__DUSK_UA_MAX') + 1)
            n = r.choice((0, 1, 4, 8, 64))
            data = bytes(n if op == K.DUSK_UA_TO else
                         8 if op == K.DUSK_UA_PUT else 0)
            return t, UACCESS.pack(r.getrandbits(64), n, op, 0) + data
        if t == K.DUSK_MSG_RETURN:
            nr, body = self.seg_body()
            return t, RETURN.pack(r.getrandbits(64), nr, 0) + body
        if t == K.DUSK_MSG_READ:
            return t, READ.pack(self.banner, 8, 0)
        if t == K.DUSK_MSG_SYM:
            return t, b'linux_banner'
        return t, PROXY_HANDLE.pack(r.getrandbits(32), 0)

    def case_inv(self):
        """On DUSK_CHAN_INV, for an invocation that does not exist (none
        is ever started here): the thread answers -ESRCH."""
        t, payload = self.inv_payload()
        inv = self.rng.choice((0, 1, 2, self.rng.getrandbits(64)))
        return t, payload, {-E.ESRCH}, INV, inv

    def case_inv_only(self):
        """UACCESS and RETURN outside an invocation: -EBADMSG."""
        t, payload = self.inv_payload()
        if t not in (K.DUSK_MSG_UACCESS, K.DUSK_MSG_RETURN):
            t, payload = K.DUSK_MSG_RETURN, RETURN.pack(0, 0, 0)
        return t, payload, {-E.EBADMSG}

    BODY_CASES = ('read', 'read', 'write', 'write', 'call', 'call', 'sym',
                  'alloc', 'free', 'hook_register', 'hook_unregister',
                  'verdict', 'verdict', 'ping', 'proxy_register',
                  'proxy_unregister', 'inv', 'inv_only')

    # ---- table and header breakage ----

    def table_case(self):
        """Well sealed, but against the message table: -EBADMSG, or
        -ESTALE for an id out of the window."""
        r = self.rng
        kind = r.randrange(7)
        if kind >= 5 and self.kept:
            return self.kept_case(kind == 5)
        if kind == 0:       # wrong payload size
            t = r.choice((K.DUSK_MSG_READ, K.DUSK_MSG_ALLOC, K.DUSK_MSG_FREE,
                          K.DUSK_MSG_HOOK_REGISTER, K.DUSK_MSG_HOOK_UNREGISTER,
                          K.DUSK_MSG_PING, K.DUSK_MSG_BYE, K.DUSK_MSG_WRITE,
                          K.DUSK_MSG_CALL, K.DUSK_MSG_VERDICT, K.DUSK_MSG_SYM))
            fixed = [m.size for m in MSGS.values() if m.type == t][0]
            segs_type = t in (K.DUSK_MSG_WRITE, K.DUSK_MSG_CALL, K.DUSK_MSG_VERDICT)
            if segs_type or t == K.DUSK_MSG_SYM:
                n = r.randrange(0, fixed)        # shorter than the fixed part
            else:
                n = r.choice([x for x in (0, 1, fixed - 1, fixed + 1, fixed + 8, 1000)
                              if x >= 0 and x != fixed])
            req_id, d = self.dgram(t, bytes(n))
            return Case('size', d, req_id=req_id, ok={-E.EBADMSG}), t
        if kind == 1:       # a MAIN-only type on the watchdog channel
            t = r.choice((K.DUSK_MSG_READ, K.DUSK_MSG_SYM, K.DUSK_MSG_ALLOC,
                          K.DUSK_MSG_WRITE, K.DUSK_MSG_CALL))
            req_id, d = self.dgram(t, READ.pack(self.banner, 8, 0), WATCHDOG)
            return Case('channel', d, WATCHDOG, req_id, {-E.EBADMSG}), t
        if kind == 2:       # id 0
            req_id, d = self.dgram(K.DUSK_MSG_PING, req_id=0)
            return Case('id 0', d, req_id=0, ok={-E.EBADMSG}), K.DUSK_MSG_PING
        if kind == 3 and r.randrange(2):   # SIGNAL, which only the kernel sends
            req_id, d = self.dgram(K.DUSK_MSG_SIGNAL,
                                   SIGNAL.pack(r.randrange(2), r.randrange(65)),
                                   INV, invocation=r.randrange(1, 1 << 20))
            return (Case('signal', d, INV, req_id, {-E.EBADMSG}),
                    K.DUSK_MSG_SIGNAL)
        if kind == 3:       # HOOK, which only the kernel sends
            req_id, d = self.dgram(K.DUSK_MSG_HOOK, bytes(40))
            return Case('hook', d, req_id=req_id, ok={-E.EBADMSG}), K.DUSK_MSG_HOOK
        # an id more than DUSK_ID_WINDOW behind the newest: jump ahead first
        ch = r.choice((MAIN, WATCHDOG))
        if self.max_id[ch] < K.DUSK_ID_WINDOW + 60:
            self.max_id[ch] += K.DUSK_ID_WINDOW + 60 + r.randrange(100)
            if ch == MAIN:
                self.kept = []      # their ids are out of the window now
        old = self.max_id[ch] - K.DUSK_ID_WINDOW - r.randrange(0, 50)
        t = K.DUSK_MSG_BYE if ch == WATCHDOG else K.DUSK_MSG_ALLOC
        payload = b'' if t == K.DUSK_MSG_BYE else ALLOC.pack(8, 1, 0)
        # Make the jump known to dusk.ko with a PING at the new top.
        top_id, top = self.dgram(K.DUSK_MSG_PING, channel=ch,
                                 req_id=self.max_id[ch])
        _, d = self.dgram(t, payload, ch, req_id=old)
        return Case('stale id', d, ch, old, {-E.ESTALE},
                    then=(top, top_id)), t

    def kept_case(self, same):
        """A recent request with side effects again, under its id: the
        same request gets the same reply without running again; another
        type under that id is refused."""
        req_id, t, payload, first = self.rng.choice(self.kept[-40:])
        if same:
            _, d = self.dgram(t, payload, req_id=req_id)
            return Case('retransmit', d, req_id=req_id, ok={first.status}), t
        other = K.DUSK_MSG_FREE if t != K.DUSK_MSG_FREE else K.DUSK_MSG_ALLOC
        body = FREE.pack(self.banner) if other == K.DUSK_MSG_FREE else ALLOC.pack(8, 1, 0)
        _, d = self.dgram(other, body, req_id=req_id)
        return Case('id of another type', d, req_id=req_id,
                    ok={-E.EBADMSG}), other

    def header_case(self):
        """A datagram dusk.ko must drop and count."""
        r = self.rng
        t = r.choice((K.DUSK_MSG_PING, K.DUSK_MSG_READ))
        payload = b'' if t == K.DUSK_MSG_PING else READ.pack(self.banner, 8, 0)
        _, d = self.dgram(t, payload)
        d = bytearray(d)
        kind = r.randrange(11)
        key = self.sess.key

        def put(off, fmt, v):
            struct.pack_into(fmt, d, off, v)

        if kind == 0:
            # a bit of the MAC, or of what follows the session and length
            i = r.choice((r.randrange(32), r.randrange(48, len(d))))
            d[i] ^= 1 << r.randrange(8)
            return Case('bad mac', bytes(d), counter='rx_bad_mac')
        if kind == 1:
            put(OFF_SESSION, '<I', (self.sess.session + r.randrange(1, 1000)) % (1 << 32) or 1)
            return Case('session', seal(key, bytes(d)), counter='rx_bad_mac')
        if kind == 2:
            put(OFF_MAGIC, '<I', r.getrandbits(32) | 1)
            return Case('magic', seal(key, bytes(d)), counter='rx_malformed')
        if kind == 3:
            put(OFF_LEN, '<I', r.choice((len(d) - HDR.size + 1, 0xffffffff, 1)))
            return Case('len', seal(key, bytes(d)), counter='rx_malformed')
        if kind == 4:
            return Case('short', bytes(d[:r.randrange(0, HDR.size)]),
                        counter='rx_malformed')
        if kind == 5:
            put(OFF_VERSION, '<B', K.DUSK_PROTO_VERSION + r.choice((1, 2, 200)))
        elif kind == 6:
            put(OFF_FLAGS, '<B', r.choice((1, 2, 0x80)))
        elif kind == 7:
            put(OFF_RESERVED, '<I', r.choice((1, 0xffffffff)))
        elif kind == 8:
            put(OFF_CHANNEL, '<B', r.choice((3, 4, 255)))
        elif kind == 9:
            put(OFF_TYPE, '<B', r.choice((0, K.DUSK_MSG_HELLO,
                                          getattr(K, '__DUSK_MSG_MAX'), 255)))
        else:
            if not self.sent:
                return Case('short', b'', counter='rx_malformed')
            return Case('replay', r.choice(self.sent[-50:]),
                        counter='rx_replayed')
        return Case('header', seal(key, bytes(d)), counter='rx_malformed')

    # ---- running ----

    def body_case(self):
        name = self.rng.choice(self.BODY_CASES)
        t, payload, ok, *where = getattr(self, 'case_' + name)()
        ch = WATCHDOG if t == K.DUSK_MSG_PING and self.rng.randrange(2) else MAIN
        inv = self.rng.choice((0, 0, self.rng.getrandbits(64)))
        if where:
            ch, inv = where
        req_id, d = self.dgram(t, payload, ch, invocation=inv)
        if ok is None:      # never answered: taken, and that is all
            return Case(name, d, ch, req_id, counter='rx_ok'), t, payload
        return Case(name, d, ch, req_id, ok), t, payload

    def run_case(self):
        r = self.rng.randrange(10)
        payload = None
        if r < 6:
            case, t, payload = self.body_case()
        elif r < 8:
            case, t = self.table_case()
        else:
            case = self.header_case()
        self.cases += 1
        if self.trace:
            self.trace(f'{self.cases} {case.what} ch {case.channel} id '
                       f'{case.req_id} {case.dgram[HDR.size:].hex()}')
        if case.then:
            d, top_id = case.then
            self.exchange(d, top_id, case.channel)
        if case.counter:
            self.sess.send_raw(case.dgram)
            self.counts[case.counter] += 1
            return
        rep = self.exchange(case.dgram, case.req_id, case.channel)
        assert rep.status in case.ok, (
            f'case {self.cases} ({case.what}, type {t}): status {rep.status}, '
            f'expected one of {sorted(case.ok)}')
        if case.what == 'retransmit':
            first = [k[3] for k in self.kept if k[0] == case.req_id][0]
            assert rep.payload == first.payload, (case.req_id, vars(rep))
        if case.what == 'retransmit':
            return              # not run again: owns nothing new
        # (inv_only: refused by the table, so no reply is kept.)
        if (payload is not None and case.channel == MAIN and t in KEPT_TYPES
                and case.what != 'inv_only'):
            self.kept.append((case.req_id, t, payload, rep))
        self.note(t, payload, rep)

    def note(self, t, payload, rep):
        """Keep track of what the session owns after a successful reply."""
        if rep.status:
            return
        if t == K.DUSK_MSG_ALLOC:
            (addr,) = struct.unpack('<Q', rep.payload)
            self.allocs[addr] = struct.unpack_from('<Q', payload)[0]
        elif t == K.DUSK_MSG_FREE:
            del self.allocs[struct.unpack('<Q', payload)[0]]
        elif t == K.DUSK_MSG_HOOK_REGISTER:
            self.hooks.add(struct.unpack('<II', rep.payload)[0])
        elif t == K.DUSK_MSG_HOOK_UNREGISTER:
            self.hooks.discard(struct.unpack_from('<I', payload)[0])
        elif t == K.DUSK_MSG_PROXY_REGISTER:
            self.tables.add(struct.unpack_from('<QI', rep.payload)[1])
        elif t == K.DUSK_MSG_PROXY_UNREGISTER:
            self.tables.discard(struct.unpack_from('<I', payload)[0])

    def stats(self):
        st, fields = self.request(K.DUSK_MSG_PING)
        assert st == 0
        return dict(zip(('rx_ok', 'rx_bad_mac', 'rx_malformed', 'rx_replayed',
                         'tx', 'tx_errors', 'retransmits', 'hooks', 'queued',
                         'verdicts', 'released', 'allocs', 'open_files'),
                        fields))

    def run(self, ncases, bye_every=500):
        """ncases cases, a BYE and a new session every bye_every. Returns
        dusk.ko's counters, summed over the sessions from a PING after
        each HELLO to the PING before its BYE (so whatever a HELLO costs is
        left out), and ours over the same spans."""
        delta = dict.fromkeys(('rx_ok', 'rx_bad_mac', 'rx_malformed',
                               'rx_replayed', 'tx', 'tx_errors'), 0)
        mine = dict.fromkeys(self.counts, 0)
        done = 0
        self.connect()
        while True:
            before = self.stats()
            base = dict(self.counts)
            for _ in range(min(bye_every, ncases - done)):
                self.run_case()
                done += 1
            self.last = after = self.stats()
            for k in delta:
                delta[k] += after[k] - before[k]
            for k in mine:
                mine[k] += self.counts[k] - base[k]
            if done == ncases:
                return delta, mine
            # What the session owned went with it.
            assert self.request(K.DUSK_MSG_BYE)[0] == 0
            self.connect()
            st = self.stats()
            assert st['hooks'] == 0 and st['allocs'] == 0, st

    def close(self):
        if self.sess:
            self.sess.sock.settimeout(2.0)
            try:
                self.request(K.DUSK_MSG_BYE)
            except AssertionError:
                pass
            self.sess.close()


def main(argv):
    endpoint, keyfile = argv[1], argv[2]
    ncases = int(argv[3]) if len(argv) > 3 else 3000
    seed = int(argv[4]) if len(argv) > 4 else 1
    key = bytes.fromhex(open(keyfile).read().strip())
    fz = WireFuzzer(endpoint, key, seed)
    if len(argv) > 5:
        out = open(argv[5], 'w', buffering=1)
        fz.trace = lambda line: print(line, file=out)
    delta, mine = fz.run(ncases)
    fz.close()
    print(f'{ncases} cases, seed {seed}: ours {mine}')
    print('dusk.ko:', delta)


if __name__ == '__main__':
    main(sys.argv)
