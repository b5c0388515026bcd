# SPDX-License-Identifier: GPL-2.0
"""Plain gdb commands on kernel objects, against the real target.

dusk-gdb serves gdb's own reads and writes of kernel addresses from the
program's shadow cache (fetching through the session), so what a kernel
developer types at a stop in a hook - print skb->len, print *skb,
x/16xb skb->data, ptype *state, display, info locals, bt full, print
skb->mark = 7 - works on kernel objects and gives what "dusk print" gives.

One program (markdrop, as in test_dusk_gdb.py) under one dusk-gdb
console for the whole file, driven a command at a time; nettest sends two
datagrams over the target's loopback: the tests stop on the first in
markdrop_out (its entry, then its last kfree), change its mark with
plain print, and see the receiving socket get it; the second stops again
(the displays shown there too).
"""

import re
import sys
import threading

import pytest

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / "tests" / "examples"))
from diff import harness, mod  # noqa: E402,F401 (fixture)
from gdbdrive import CLEAN, Console, Gdb  # noqa: E402
from gdbvalue import dusk_rows, members, number  # noqa: E402

MARKDROP = mod("markdrop")
SOURCE = (MARKDROP.srcdir / "markdrop.c").read_text().splitlines()
# markdrop_out's last kfree, before "return NF_ACCEPT;": note (kmalloc'ed
# in the kernel) filled in.
KFREE_LINE = next(i + 1 for i, line in enumerate(SOURCE)
                  if line.strip() == "kfree(note);" and
                  SOURCE[i + 1].strip() == "return NF_ACCEPT;")
# Loopback traffic only (the target's agent talks over eth0).
BREAK = "dusk break-hook markdrop_out if state->out->ifindex == 1"
# The first datagram waits while the tests look at it (held that long).
HOLD_MS = 150000
TRAFFIC = "\n".join([
    "$N udp -m -w 140000 -s 127.0.0.1:4101 127.0.0.1 9100 first",   # len 33
    "$N udp -m -w 30000 -s 127.0.0.1:4102 127.0.0.1 9101 second!!",  # 36
])
VALUE = re.compile(r"^\$\d+ = (.*)$", re.M)


class Session:
    """dusk-gdb's console with the program stopped in markdrop_out, the
    traffic's lines coming in `seen`."""

    def __init__(self, harness, program):
        env = dict(harness.target.env, DUSK_HOLD_MS=str(HOLD_MS))
        self.gdb = Gdb(["-nx", "--args", str(program), "port=9100"], env)
        self.console = Console(self.gdb)
        self.seen = []
        self.thread = None
        self.harness = harness

    def start(self):
        for line in ("set pagination off", "set height 0", "set width 0",
                     "set confirm off", BREAK):
            self.cmd(line)
        self.first_stop = self.cmd("run", timeout=300,
                                   meanwhile=self._traffic)

    def _traffic(self):
        self.gdb.wait_for(r"markdrop: loaded")
        self.thread = threading.Thread(
            target=lambda: self.seen.extend(self.harness.script(TRAFFIC)),
            daemon=True)
        self.thread.start()

    def cmd(self, line, **kw):
        return self.console.cmd(line, **kw)

    def plain(self, expr, fmt=""):
        """What plain "print EXPR" shows: the value's text."""
        out = self.cmd(f"print{fmt} {expr}")
        m = VALUE.search(out)
        assert m, f"print{fmt} {expr}:\n{out}"
        return m.group(1)

    def dusk(self, expr):
        """"dusk print EXPR" of a scalar: (shadow text, kernel text or
        None)."""
        out = self.cmd(f"dusk print {expr}")
        m = re.search(rf"^{re.escape(expr)} = (.*?)(?:  \(.*\))?"
                      r"(?:   kernel: (.*?))?(?:   \* differs)?$",
                      out, re.M)
        assert m, f"dusk print {expr}:\n{out}"
        return m.group(1), m.group(2)

    def close(self):
        """Let the program go (no breakpoint, SIGINT passed to it), end
        it, gdb's whole output."""
        if self.gdb.proc.poll() is None:
            try:
                pid = self.cmd('python print("dusk-test-pid", '
                               'gdb.selected_inferior().pid)', timeout=30)
                self.cmd("delete", timeout=30)
                self.cmd("handle SIGINT nostop noprint pass", timeout=30)
                self.gdb.send("continue")
                if self.thread:
                    self.thread.join(timeout=200)
                if "dusk-test-pid" in pid:
                    self.gdb.interrupt_program()
                self.gdb.finish()
            finally:
                if self.gdb.proc.poll() is None:
                    self.gdb.proc.kill()
        return self.gdb.output


@pytest.fixture(scope="module")
def session(harness):
    program = harness.build_prog(MARKDROP)
    harness.nettest()
    s = Session(harness, program)
    try:
        s.start()
        yield s
    finally:
        s.close()


MIRROR_ARRAY = re.compile(r'^0x7f[0-9a-f]{10} ".*"$')


def compare_members(plain, rows, required):
    """The members plain "print" shows against "dusk print"'s shadow
    column: numbers and enumerators must be equal; (arrays and strings,
    formatted differently by the two, are left out). The members
    compared."""
    compared = []
    for name, text in plain.items():
        if name not in rows or isinstance(text, list):
            continue
        p, (s, _) = number(text), rows[name]
        if isinstance(p, str) and p[:1] in "\"'{<":
            continue
        if MIRROR_ARRAY.match(s):
            # A zero-length array (sk_buff's __cloned_offset[0]) is its
            # address: the mirror's in dusk print, which reads the
            # object there; a kernel object's pointer is never one.
            continue
        assert p == number(s), (name, text, s)
        compared.append(name)
    missing = set(required) - set(compared)
    assert not missing, (missing, plain, rows)
    return compared


# Scalars through one or two kernel pointers, casts and subscripts into
# the packet: plain print and dusk print must agree.
SCALARS = ["skb->len", "skb->data_len", "skb->mark", "skb->protocol",
           "skb->priority", "skb->pkt_type", "skb->ip_summed",
           "skb->network_header", "skb->transport_header", "skb->head",
           "skb->data", "skb->end", "skb->truesize", "skb->sk",
           "skb->users.refs.counter", "state->hook", "state->pf",
           "state->out", "state->out->ifindex", "state->out->mtu",
           "state->out->flags", "state->net",
           "((unsigned char *)skb->data)[9]",
           "*(unsigned int *)(skb->data + 12)"]


def test_print_scalars(session):
    """print EXPR on kernel objects gives what dusk print gives (the
    shadow, here equal to the kernel's bytes): the datagram's length
    (28 + 5), UDP, 127.0.0.1, the loopback device."""
    assert re.search(r"Breakpoint 1, markdrop_out \(priv=0x0, skb=0xff",
                     session.first_stop), session.first_stop
    got = {}
    for expr in SCALARS:
        text = session.plain(expr)
        assert "Cannot access memory" not in text, (expr, text)
        shadow, kernel = session.dusk(expr)
        assert number(text) == number(shadow), (expr, text, shadow)
        assert kernel is None or number(kernel) == number(shadow), \
            (expr, shadow, kernel)
        got[expr] = number(text)
    assert got["skb->len"] == 33 and got["skb->data_len"] == 0, got
    assert got["skb->mark"] == 0 and got["skb->protocol"] == 8, got
    assert got["((unsigned char *)skb->data)[9]"] == 17, got
    assert got["*(unsigned int *)(skb->data + 12)"] == 0x0100007f, got
    assert got["state->out->ifindex"] == 1, got
    assert got["skb->data"] >= 0xff00000000000000, got
    # A string member through two pointers: the same text both ways.
    name = session.plain("state->out->name")
    assert name.startswith('"lo"'), name
    assert session.dusk("state->out->name")[0] == name


def test_print_objects(session):
    """print *skb, print *state: the members as dusk print shows them,
    member by member (raw, /r, and through dusk's printer, which decodes
    the skb in a line, as dusk print's shadow side)."""
    for expr, required in (
            ("*skb", ["len", "data_len", "mark", "protocol", "head", "data",
                      "end", "truesize", "network_header"]),
            ("*state", ["hook", "pf", "in", "out", "sk", "net"]),
            ("*state->out", ["ifindex", "mtu", "flags"])):
        dusk = session.cmd(f"dusk print {expr}")
        rows = dusk_rows(dusk)
        raw = session.plain(expr, "/r")
        compared = compare_members(members(raw), rows, required)
        # Most of the members are numbers: compared, not skipped.
        assert len(compared) >= min(len(rows) // 2, 40), \
            (expr, compared, rows)

    # With dusk's printer: the decoded line, then the members.
    dusk = session.cmd("dusk print *skb")
    line = re.search(r"^  shadow: (.*)$", dusk, re.M).group(1)
    assert "len 33" in line and "UDP 4101 > 9100" in line, dusk
    pretty = session.plain("*skb")
    assert "Cannot access memory" not in pretty, pretty
    at = pretty.find(f"{{{line}}} = {{")
    assert at >= 0, (pretty, line)
    compared = compare_members(
        members(pretty[at + len(line) + 5:]), dusk_rows(dusk),
        ["len", "data_len", "mark", "protocol", "head", "data"])
    assert len(compared) >= 40, compared


def test_examine_bytes(session):
    """x/16xb skb->data: the IPv4 header's first 16 bytes, at skb->data,
    as the kernel has them (dusk kread)."""
    out = session.cmd("x/16xb skb->data")
    lines = re.findall(r"^(0x[0-9a-f]+)(?: <[^>]*>)?:((?:\s+0x[0-9a-f]{2})+)$",
                       out, re.M)
    assert len(lines) == 2, out
    data = [int(b, 16) for _, bs in lines for b in bs.split()]
    start = int(lines[0][0], 16)
    assert start == number(session.plain("skb->data")), out
    assert int(lines[1][0], 16) == start + 8, out
    kread = session.cmd(f"dusk kread {start:#x} 16")
    m = re.search(rf"^{start:016x}  ([0-9a-f ]+?)  \|", kread, re.M)
    assert m, kread
    assert data == [int(b, 16) for b in m.group(1).split()], (out, kread)
    # IPv4, header 20, total length 33, UDP, from 127.0.0.1.
    assert data[0] == 0x45 and data[2:4] == [0, 33] and data[9] == 17, data
    assert data[12:16] == [127, 0, 0, 1], data


def test_ptype_and_whatis(session):
    """ptype *state lists nf_hook_state's members (those dusk print
    shows), whatis names the types of kernel objects' members."""
    out = session.cmd("ptype *state")
    assert re.match(r"type = (const )?struct nf_hook_state \{", out), out
    names = set()
    for line in out.splitlines()[1:]:
        m = (re.search(r"\(\*(\w+)\)\(", line) or
             re.search(r"(\w+)(?:\[\d+\])*(?: : \d+)?;$", line))
        if m:
            names.add(m.group(1))
    rows = dusk_rows(session.cmd("dusk print *state"))
    assert names == {n.split(".")[0] for n in rows}, (names, rows)
    assert session.cmd("whatis skb->len").strip() == "type = unsigned int"
    assert session.cmd("whatis *skb").strip() == "type = struct sk_buff"
    assert session.cmd("ptype state->out->name").strip() == \
        "type = char [16]"


def test_display(session):
    """display skb->len shows it now, and again at each stop while skb is
    there (test_next_datagram's stop in the next datagram's hook)."""
    out = session.cmd("display skb->len")
    assert re.search(r"^1: skb->len = 33$", out, re.M), out
    out = session.cmd("display/x skb->priority")
    assert re.search(r"^2: /x skb->priority = 0x0$", out, re.M), out
    out = session.cmd("display")
    assert re.search(r"^1: skb->len = 33$", out, re.M), out
    assert re.search(r"^2: /x skb->priority = 0x0$", out, re.M), out


def test_frame_arguments(session):
    """The frame line and info args: skb's address and its decoded line,
    state's, as dusk print has them; bt full, the same frame."""
    skb = number(session.dusk("skb")[0])
    shadow = re.search(r"^  shadow: (.*)$", session.cmd("dusk print skb"),
                       re.M).group(1)
    frame = session.cmd("frame")
    m = re.search(r"^#0  markdrop_out \(priv=0x0, skb=(0x[0-9a-f]+) "
                  r"\{(.*)\}, state=(0x[0-9a-f]+) \{(.*)\}\) at ", frame,
                  re.M)
    assert m, frame
    assert int(m.group(1), 16) == skb, frame
    assert m.group(2) == shadow, (frame, shadow)
    assert int(m.group(3), 16) == number(session.dusk("state")[0]), frame
    assert m.group(4) == "LOCAL_OUT IPV4 in - out lo", frame
    args = session.cmd("info args")
    assert re.search(rf"^skb = {m.group(1)} \{{{re.escape(shadow)}\}}$",
                     args, re.M), args
    bt = session.cmd("bt full")
    assert bt.startswith(frame.splitlines()[0]), (bt, frame)


BAD = ["print *(int *)0xfffffffffffff000",
       "print *(int *)0xff00000000000000ULL",
       "x/4xb 0xfffffffffffff000",
       "print *(int *)0xfffffffffffff000 = 1"]


def test_bad_kernel_address(session):
    """An address no mapping of the kernel has: a one-line gdb error
    naming it, no Python traceback; the program goes on (kernel objects
    still read, and the tests after this one continue it)."""
    for cmd in BAD:
        out = session.cmd(cmd)
        addr = re.search(r"0x[0-9a-f]{16}", cmd).group(0)
        lines = [line for line in out.splitlines() if line.strip()]
        assert len(lines) == 1, (cmd, out)
        assert addr in lines[0] or hex(int(addr, 16)) in lines[0], (cmd, out)
        assert not CLEAN.search(out) and not VALUE.search(out), (cmd, out)
    assert number(session.plain("skb->len")) == 33
    assert number(session.plain("state->out->ifindex")) == 1


def test_assign_mark(session):
    """print skb->mark = 7 writes the program's shadow, as the hook's own
    store would: read back 7 (plain and dusk print); the hook, continued,
    reads 7 too (test_locals_and_backtrace), and at its verdict the
    kernel's skb gets it (test_next_datagram: the socket sees mark 7)."""
    assert session.plain("skb->mark") == "0"
    assert session.plain("skb->mark = 7") == "7"
    assert session.plain("skb->mark") == "7"
    assert number(session.dusk("skb->mark")[0]) == 7


def test_locals_and_backtrace(session):
    """At the hook's last kfree: info locals and bt full show note
    (kmalloc'ed in the kernel) as dusk print does; print *note reads the
    kernel object the hook filled in, with the mark it read from skb
    after test_assign_mark changed it."""
    out = session.cmd(f"tbreak markdrop.c:{KFREE_LINE}")
    assert "Temporary breakpoint 2" in out, out
    out = session.cmd("continue", timeout=60)
    assert re.search(rf"^{KFREE_LINE}\t\s*kfree\(note\);$", out, re.M), out
    assert "markdrop: out 127.0.0.1:9100 len 33 mark 7" in out, out

    note = number(session.dusk("note")[0])
    assert note >= 0xff00000000000000, note

    loc = session.cmd("info locals")
    assert number(re.search(r"^note = (.*)$", loc, re.M).group(1)) == note
    assert number(re.search(r"^dport = (.*)$", loc, re.M).group(1)) == 9100

    # *note: the hook's own record, in kernel memory.
    fields = members(session.plain("*note"))
    rows = dusk_rows(session.cmd("dusk print *note"))
    compare_members(fields, rows, ["daddr", "dport", "len", "mark"])
    assert {k: number(v) for k, v in fields.items()} == {
        "daddr": 0x0100007f, "dport": 9100, "len": 33, "mark": 7}, fields
    assert number(session.plain("note->len")) == 33

    bt = session.cmd("bt full")
    frame0 = re.search(r"^#0  markdrop_out \((.*)\) at (\S+):(\d+)\n"
                       r"((?: {8}.*\n)*)", bt, re.M)
    assert frame0, bt
    assert int(frame0.group(3)) == KFREE_LINE, bt
    assert number(re.search(r"^ +note = (.*)$", frame0.group(4),
                            re.M).group(1)) == note, bt
    assert number(re.search(r"^ +dport = (.*)$", frame0.group(4),
                            re.M).group(1)) == 9100, bt
    assert re.search(r"^#1 ", bt, re.M), bt


def test_next_datagram(session):
    """The first datagram went with mark 7 (the receiving socket saw it);
    the second stops again in the hook, its own length displayed."""
    out = session.cmd("continue", timeout=60)
    assert re.search(r"Breakpoint 1, markdrop_out \(.*UDP 4102 > 9101", out), \
        out
    assert re.search(r"^1: skb->len = 36$", out, re.M), out
    assert re.search(r"^2: /x skb->priority = 0x0$", out, re.M), out
    assert number(session.plain("skb->mark")) == 0
    output = session.close()
    assert session.seen == ["udp sent 1 received 1 marks 0x7",
                            "udp sent 1 received 1 marks 0x0"], output
    assert "markdrop: unloaded: 2 seen, 0 dropped" in output, output
    assert not CLEAN.search(output), output
