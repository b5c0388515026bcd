#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""dusk's remote-protocol relay: gdb <-> this <-> gdbserver.

gdb cannot read kernel addresses in a module program: they are not the
program's memory but the shadow cache's business. dusk-gdb therefore runs
the program under gdbserver ("target extended-remote | relay.py") and this
relay passes every packet through, except gdb's reads and writes of
kernel addresses (>= KERNEL_MIN), which it answers as the module sees the
memory: it asks the stopped program's runtime for the mirror of the range
(dusk_dbg_shadow(), fetching missing lines from the kernel through the
session, marking them dirty for a write, exactly as dusk-gdb's own
commands do) and reads or writes the mirror instead. So plain "print
skb->len", "x", "set var", MI's -data-evaluate-expression and -var-*,
and every IDE on top of them see kernel objects; a write is committed as
a module store would be. Hardware watchpoints on kernel addresses are set
on the mirror and reported at the kernel address.

The call into the program is made here, at the packet level, exactly as
gdb makes an inferior call: registers saved ("g"), arguments set, a
return address with a breakpoint pushed, only that thread resumed, and
registers restored ("G"). gdb sees none of it: it is waiting for the
memory reply. Answers hold for as long as the program stays stopped.

No gdb here: a plain python3 script, run by gdb through a pipe; the
program's own output (gdbserver gives it gdbserver's stderr) goes on to
gdb's stderr, less gdbserver's chatter.
"""

import importlib.util
import os
import re
import select
import signal
import subprocess
import sys
import time


def _constants():
    """The package's generated constants (no gdb in them), loaded by path:
    the package's directory must not be on sys.path (its types.py)."""
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.environ.get("DUSK_BUILDDIR")
    for d in ([os.path.join(build, "gdb-ext", "dusk")] if build else []) + \
            [here]:
        path = os.path.join(d, "constants.py")
        if os.path.exists(path):
            # nothing written beside an installed package
            sys.dont_write_bytecode = True
            spec = importlib.util.spec_from_file_location("constants", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            return mod
    raise ImportError("dusk-gdb is not built: no constants.py")


C = _constants()
KERNEL_MIN = C.DUSK_KERNEL_MIN
PAGE = C.DUSK_PAGE_SIZE
LINE_SHIFT = C.DUSK_LINE_SHIFT
CALL_TIMEOUT = 20           # seconds a call into the program may take
# x86-64 general registers in gdb's numbering (the "g" packet's order)
RAX, RDX, RSI, RDI, RSP, RIP = 0, 3, 4, 5, 7, 16
REG_HEX = 16                # hex digits of a 64-bit register
RED_ZONE = 128
AT_ENTRY = 9
SYMBOLS = ("dusk_dbg_shadow", "_start")
# What gdbserver says on its stderr that native gdb does not.
CHATTER = re.compile(
    rb"^(Remote debugging using stdio|Process .* created; pid = \d+|"
    rb"Attached; pid = \d+|Detaching from process \d+|"
    rb"Killing process\(es\): .*|"
    rb"Warning: ptrace\(regsets_(store|fetch)_inferior_registers\): "
    rb"Bad address)\r?\n$")
RESUMES = (b"c", b"C", b"s", b"S", b"vCont;", b"vRun", b"vAttach", b"k",
           b"vKill", b"D", b"R")


class RelayError(Exception):
    """A kernel memory access that cannot be served (gdb gets E14)."""


def checksum(payload):
    return b"%02x" % (sum(payload) & 0xff)


def frame(payload, start=b"$"):
    """A packet ($) or a notification (%) on the wire."""
    return start + payload + b"#" + checksum(payload)


def decode(payload, rle=True):
    """A packet's bytes without escapes and (rle) run-length encoding:
    what gdbserver sends has both, an X packet's data only escapes."""
    out = bytearray()
    i, n = 0, len(payload)
    while i < n:
        c = payload[i]
        if c == 0x7d and i + 1 < n:             # '}' escape
            out.append(payload[i + 1] ^ 0x20)
            i += 2
        elif rle and c == 0x2a and out and i + 1 < n:   # '*' run length
            out += out[-1:] * (payload[i + 1] - 29)
            i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def le_hex(value):
    return value.to_bytes(8, "little").hex().encode()


def reg_of(blob, n):
    return int.from_bytes(bytes.fromhex(
        blob[n * REG_HEX:(n + 1) * REG_HEX].decode()), "little")


def with_reg(blob, n, value):
    return blob[:n * REG_HEX] + le_hex(value) + blob[(n + 1) * REG_HEX:]


class Channel:
    """One side of the protocol: a byte stream cut into items."""

    def __init__(self, rfd, wfd):
        self.rfd, self.wfd = rfd, wfd
        self.buf = b""
        self.eof = False

    def fill(self):
        data = os.read(self.rfd, 65536)
        if not data:
            self.eof = True
        self.buf += data

    def items(self):
        """Complete items: ("ack", b"+"), ("intr", b"\\x03"),
        ("pkt", payload) or ("notif", payload)."""
        out = []
        while self.buf:
            c = self.buf[:1]
            if c in (b"+", b"-"):
                out.append(("ack", c))
                self.buf = self.buf[1:]
            elif c == b"\x03":
                out.append(("intr", c))
                self.buf = self.buf[1:]
            elif c in (b"$", b"%"):
                end = self.buf.find(b"#", 1)
                if end < 0 or len(self.buf) < end + 3:
                    break
                out.append(("pkt" if c == b"$" else "notif",
                            self.buf[1:end]))
                self.buf = self.buf[end + 3:]
            else:                       # noise between packets
                self.buf = self.buf[1:]
        return out

    def write(self, data):
        view = memoryview(data)
        while view:
            n = os.write(self.wfd, view)
            view = view[n:]


class OutputFilter:
    """The program's output (and gdbserver's) on its way to stderr, less
    gdbserver's chatter; a line without its end yet goes after a pause."""

    PAUSE = 0.05

    def __init__(self, fd):
        self.fd = fd
        self.buf = b""
        self.since = 0.0

    def feed(self, data):
        if not self.buf:
            self.since = time.monotonic()
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            line += b"\n"
            if not CHATTER.match(line):
                os.write(self.fd, line)
            self.since = time.monotonic()

    def flush(self, force=False):
        if self.buf and (force or time.monotonic() - self.since >
                         self.PAUSE):
            os.write(self.fd, self.buf)
            self.buf = b""

    def pending(self):
        return bool(self.buf)


class Relay:
    def __init__(self, server_argv):
        self.server = subprocess.Popen(
            server_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        self.gdb = Channel(0, 1)
        self.srv = Channel(self.server.stdout.fileno(),
                           self.server.stdin.fileno())
        self.err = self.server.stderr.fileno()
        self.out = OutputFilter(2)
        self.acks = True
        self.hg = None              # gdb's general thread ("Hg")
        self.syms = {}
        self.sym_wanted = []        # our own qSymbol lookups in progress
        self.breaks = set()         # gdb's software breakpoints
        self.watches = {}           # (type, kernel addr, len): mirror addr
        self.memo = {}              # (page, flags): (mirror of page, lines)
        self.pending = []           # server items read during a call
        self.last = b""             # the name of gdb's last packet
        self.entry_point = None
        self.no_acks_next = False   # gdb asked for QStartNoAckMode

    # ---- plumbing ----

    def to_gdb(self, payload):
        self.gdb.write(frame(payload))

    def to_srv(self, payload):
        self.srv.write(frame(payload))

    def drain_stderr(self):
        r, _, _ = select.select([self.err], [], [], 0)
        if r:
            data = os.read(self.err, 65536)
            if data:
                self.out.feed(data)
        self.out.flush()

    def srv_item(self, deadline=None):
        """The server's next item, pumping its stderr meanwhile; None at
        the deadline."""
        while True:
            for it in self.srv.items():
                self.pending.append(it)
            while self.pending:
                kind, payload = self.pending.pop(0)
                if kind == "ack":
                    continue
                if kind == "pkt" and self.acks:
                    self.srv.write(b"+")
                return kind, payload
            if self.srv.eof:
                raise RelayError("gdbserver has gone")
            wait = None if deadline is None else max(
                0, deadline - time.monotonic())
            if wait == 0 and deadline is not None:
                return None
            r, _, _ = select.select([self.srv.rfd, self.err], [], [],
                                    min(wait, 0.05) if wait is not None
                                    else 0.05)
            if self.err in r:
                self.drain_stderr()
            else:
                self.out.flush()
            if self.srv.rfd in r:
                self.srv.fill()

    def ask(self, payload, deadline=None):
        """Send a packet of our own to gdbserver; its reply (decoded)."""
        self.to_srv(payload)
        while True:
            it = self.srv_item(deadline)
            if it is None:
                return None
            kind, reply = it
            if kind == "pkt" and reply[:1] == b"O" and reply != b"OK":
                continue            # console output: not ours to show
            if kind == "pkt":
                return decode(reply)

    # ---- calls into the stopped program ----

    def thread(self):
        if self.hg and self.hg not in (b"0", b"-1"):
            return self.hg
        reply = self.ask(b"qC")
        if not reply or not reply.startswith(b"QC"):
            raise RelayError("no current thread")
        return reply[2:]

    def entry(self):
        """The program's entry point, where it is loaded (AT_ENTRY)."""
        if self.entry_point is None:
            reply = self.ask(b"qXfer:auxv:read::0,1000")
            if not reply or reply[:1] not in (b"l", b"m"):
                raise RelayError("no auxiliary vector")
            auxv = reply[1:]
            for i in range(0, len(auxv) - 15, 16):
                if int.from_bytes(auxv[i:i + 8], "little") == AT_ENTRY:
                    self.entry_point = int.from_bytes(auxv[i + 8:i + 16],
                                                      "little")
            if self.entry_point is None:
                raise RelayError("no AT_ENTRY")
        return self.entry_point

    def address(self, name):
        """A symbol of the program where it is loaded: gdb may have given
        it before the program was relocated (attach), so it is taken
        relative to _start, which is the entry point."""
        if name not in self.syms or "_start" not in self.syms:
            raise RelayError("not a dusk program (no %s)" % name)
        return self.syms[name] - self.syms["_start"] + self.entry()

    def call(self, fn, *args):
        """fn(args...) on gdb's thread of the stopped program: its rax."""
        ret = self.entry()
        tid = self.thread()
        saved = self.ask(b"g")
        if not saved or saved.startswith(b"E") or len(saved) < 17 * REG_HEX:
            raise RelayError("cannot read the thread's registers")
        sp = ((reg_of(saved, RSP) - RED_ZONE - 512) & ~0xf) - 8
        if self.ask(b"M%x,8:" % sp + le_hex(ret)) != b"OK":
            raise RelayError("cannot write the thread's stack")
        regs = saved
        for n, v in zip((RDI, RSI, RDX), args):
            regs = with_reg(regs, n, v)
        regs = with_reg(with_reg(with_reg(regs, RAX, 0), RSP, sp), RIP, fn)
        own_break = ret not in self.breaks
        try:
            if self.ask(b"G" + regs) != b"OK":
                raise RelayError("cannot set the thread's registers")
            if own_break and self.ask(b"Z0,%x,1" % ret) != b"OK":
                raise RelayError("cannot set a breakpoint for the return")
            self.to_srv(b"vCont;c:" + tid)
            stop = self.wait_stop(time.monotonic() + CALL_TIMEOUT)
            if stop[:1] in (b"W", b"X"):
                raise RelayError("the program ended during the call")
            after = self.ask(b"g")
            if not after or len(after) < 17 * REG_HEX or \
                    reg_of(after, RIP) != ret:
                raise RelayError("the call stopped before its end")
            return reg_of(after, RAX)
        finally:
            self.ask(b"G" + saved)
            if own_break:
                self.ask(b"z0,%x,1" % ret)
            if self.hg:
                self.ask(b"Hg" + self.hg)

    def wait_stop(self, deadline):
        interrupted = False
        while True:
            it = self.srv_item(deadline)
            if it is None:
                if interrupted:
                    raise RelayError("the program does not stop")
                self.srv.write(b"\x03")
                interrupted = True
                deadline = time.monotonic() + 5
                continue
            kind, payload = it
            if kind != "pkt":
                continue
            if payload[:1] == b"O" and payload != b"OK":
                self.out.feed(bytes.fromhex(decode(payload[1:]).decode()))
                continue
            if interrupted:
                raise RelayError("the call did not return in %d s" %
                                 CALL_TIMEOUT)
            return decode(payload)

    def mirror(self, kaddr, size, flags):
        """The mirror of [kaddr, kaddr + size), within one page."""
        page, off = kaddr & ~(PAGE - 1), kaddr & (PAGE - 1)
        lines = ((1 << (((off + size - 1) >> LINE_SHIFT) + 1)) - 1) & \
            ~((1 << (off >> LINE_SHIFT)) - 1)
        known = self.memo.get((page, flags))
        if known and known[1] & lines == lines:
            return known[0] + off
        m = self.call(self.address("dusk_dbg_shadow"), kaddr, size, flags)
        if not m:
            raise RelayError("the runtime cannot read 0x%x" % kaddr)
        base = m - off
        old = known[1] if known and known[0] == base else 0
        self.memo[(page, flags)] = (base, old | lines)
        if flags:   # what is writable is readable
            k = self.memo.get((page, 0))
            self.memo[(page, 0)] = (base, lines | (k[1] if k and
                                                     k[0] == base else 0))
        return m

    @staticmethod
    def pieces(addr, size):
        while size > 0:
            n = min(size, PAGE - (addr & (PAGE - 1)))
            yield addr, n
            addr, size = addr + n, size - n

    def kernel_read(self, addr, size):
        """The bytes in hex, as an "m" reply (fewer when a later page
        cannot be read: gdb asks again for the rest)."""
        out = b""
        for a, n in self.pieces(addr, size):
            try:
                m = self.mirror(a, n, 0)
            except RelayError:
                if out:
                    break           # a short read: gdb asks again
                raise
            data = self.ask(b"m%x,%x" % (m, n))
            if not data or data.startswith(b"E"):
                if out:
                    break
                raise RelayError("cannot read the mirror")
            out += data
        return out

    def kernel_write(self, addr, data):
        done = 0
        for a, n in self.pieces(addr, len(data)):
            m = self.mirror(a, n, C.DUSK_DBG_WRITE)
            chunk = data[done:done + n]
            if self.ask(b"M%x,%x:" % (m, n) + chunk.hex().encode()) != b"OK":
                raise RelayError("cannot write the mirror")
            done += n
        return b"OK"

    # ---- gdb's packets ----

    def on_gdb(self, payload):
        p = payload
        self.last = p.split(b":", 1)[0]
        try:
            reply = self.kernel_packet(p)
        except RelayError as e:
            if os.environ.get("DUSK_RELAY_DEBUG"):
                sys.stderr.write("dusk-relay: %s\n" % e)
            reply = b"E14"
        except (ValueError, IndexError):
            reply = None
        if reply is not None:
            self.to_gdb(reply)
            return
        if p.startswith(b"Hg"):
            self.hg = p[2:]
        elif p.startswith(RESUMES) and not p.startswith(b"vCont?"):
            self.memo.clear()
            if p.startswith((b"vRun", b"vAttach", b"k", b"vKill")):
                self.syms.clear()
                self.entry_point = None
                self.watches.clear()
        elif p.startswith((b"Z0,", b"Z1,")):
            self.breaks.add(int(p.split(b",")[1], 16))
        elif p.startswith((b"z0,", b"z1,")):
            self.breaks.discard(int(p.split(b",")[1], 16))
        elif p == b"qSymbol::":
            self.sym_wanted = [s for s in SYMBOLS if s not in self.syms]
            if self.sym_wanted:
                self.to_gdb(b"qSymbol:" +
                            self.sym_wanted[0].encode().hex().encode())
                return
        elif p.startswith(b"qSymbol:") and self.sym_wanted:
            value, name = p[8:].split(b":", 1)
            name = bytes.fromhex(name.decode()).decode()
            if name == self.sym_wanted[0]:
                if value:
                    self.syms[name] = int(value, 16)
                self.sym_wanted.pop(0)
                if self.sym_wanted:
                    self.to_gdb(b"qSymbol:" +
                                self.sym_wanted[0].encode().hex().encode())
                    return
                p = b"qSymbol::"     # now gdbserver's own lookups
        self.to_srv(p)

    def kernel_packet(self, p):
        """The reply to a packet about kernel memory, or None."""
        if p[:1] in (b"m", b"M", b"X"):
            head = p[1:].split(b":", 1)[0]
            addr, size = (int(x, 16) for x in head.split(b","))
            if addr < KERNEL_MIN or size == 0:
                return None
            if p[:1] == b"m":
                return self.kernel_read(addr, size)
            data = p[1:].split(b":", 1)[1]
            data = bytes.fromhex(data.decode()) if p[:1] == b"M" else \
                decode(data, rle=False)
            return self.kernel_write(addr, data[:size])
        if p[:2] in (b"Z2", b"Z3", b"Z4", b"z2", b"z3", b"z4"):
            kind, addr, size = p[1:2], *(int(x, 16) for x in
                                         p[3:].split(b",")[:2])
            if addr < KERNEL_MIN:
                return None
            key = (kind, addr, size)
            if p[:1] == b"Z":
                # a debug register wants a mirror that cannot move
                m = self.mirror(addr, size, C.DUSK_DBG_FIXED)
                reply = self.ask(b"Z%s,%x,%x" % (kind, m, size))
                if reply == b"OK":
                    self.watches[key] = m
                return reply
            m = self.watches.pop(key, None)
            return b"OK" if m is None else self.ask(
                b"z%s,%x,%x" % (kind, m, size))
        return None

    # ---- gdbserver's packets ----

    def on_srv(self, kind, payload):
        if kind == "pkt" and self.last == b"qSupported":
            payload = self.supported(payload)
        if kind == "pkt" and payload[:1] in (b"T", b"S", b"W", b"X"):
            self.memo.clear()
            if payload[:1] == b"T" and self.watches:
                payload = self.watch_stop(payload)
        self.gdb.write(frame(payload, b"$" if kind == "pkt" else b"%"))

    @staticmethod
    def supported(payload):
        """gdbserver's features, less those that would have it read memory
        on its own: a condition it evaluates reads kernel addresses
        without the relay, so gdb keeps breakpoint conditions and
        commands, and gdbserver's agent, to itself."""
        drop = (b"ConditionalBreakpoints+", b"BreakpointCommands+",
                b"QAgent+", b"ConditionalTracepoints+")
        return b";".join(f for f in decode(payload).split(b";")
                         if f not in drop)

    def watch_stop(self, payload):
        """A watchpoint's stop at a mirror address, said at the kernel's."""
        def kernel(m):
            name, hexaddr = m.group(1), m.group(2)
            a = int(hexaddr, 16)
            for (kind, kaddr, size), mirror in self.watches.items():
                if mirror <= a < mirror + size:
                    return b"%s:%x;" % (name, kaddr + a - mirror)
            return m.group(0)
        return re.sub(rb"(watch|rwatch|awatch):([0-9a-f]+);", kernel,
                      decode(payload))

    # ---- the loop ----

    def run(self):
        while True:
            fds = [self.gdb.rfd, self.srv.rfd, self.err]
            r, _, _ = select.select(fds, [], [],
                                    0.05 if self.out.pending() else None)
            if self.err in r:
                self.drain_stderr()
            self.out.flush()
            if self.srv.rfd in r:
                self.srv.fill()
            for kind, payload in self.pending + self.srv.items():
                if kind == "ack":
                    continue
                if kind == "pkt" and self.acks:
                    self.srv.write(b"+")
                if kind in ("pkt", "notif"):
                    self.on_srv(kind, payload)
                    if self.no_acks_next and kind == "pkt":
                        self.no_acks_next = False
                        self.acks = payload != b"OK"
            self.pending = []
            if self.srv.eof:
                self.out.flush(force=True)
                return 0
            if self.gdb.rfd in r:
                self.gdb.fill()
                for kind, payload in self.gdb.items():
                    if kind == "intr":
                        self.srv.write(payload)
                    elif kind == "pkt":
                        if self.acks:
                            self.gdb.write(b"+")
                        if payload == b"QStartNoAckMode":
                            self.no_acks_next = True
                        self.on_gdb(payload)
                if self.gdb.eof:
                    return 0

    def close(self):
        try:
            self.server.stdin.close()
        except OSError:
            pass
        try:
            self.server.wait(timeout=2)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
        self.drain_stderr()
        self.out.flush(force=True)


def main(argv):
    server = argv[1:] or ["gdbserver", "--multi", "-"]
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # gdb sends ^C itself
    relay = Relay(server)
    try:
        return relay.run()
    finally:
        relay.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
