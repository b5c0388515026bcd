# SPDX-License-Identifier: GPL-2.0
"""dusk-gdb through gdb's MI, spoken as an IDE speaks it, on kernel
objects, against the real target.

An IDE (VS Code's cppdbg, CLion, Emacs gud) starts dusk-gdb with gdb's
options (--interpreter=mi), names the program and its arguments
(-file-exec-and-symbols, -exec-arguments), sets a breakpoint with
-break-insert, runs, and at the stop lists the frames and variables,
evaluates what the user hovers over, expands objects into their members
(-var-create, -var-list-children), reads memory, and assigns with
-var-assign. On a kernel pointer each of these reads or writes kernel
memory, which dusk-gdb serves from the program's shadow cache: the
values must be those "dusk print" shows, and an assignment must reach
the kernel's skb (the receiving socket sees the mark).

One program (markdrop, as in test_dusk_gdb.py) under one MI session for
the file; one datagram over the target's loopback, held while the tests
look at it, stopped in markdrop_out by a breakpoint whose condition gdb
tests on the kernel's hook state (loopback only: the target's agent talks
over eth0).
"""

import re
import sys
import threading

import pytest

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / "tests" / "examples"))
from diff import harness, mod  # noqa: E402,F401 (fixture)
from gdbdrive import CLEAN, Gdb, Mi  # noqa: E402
from gdbvalue import dusk_rows, number  # noqa: E402

MARKDROP = mod("markdrop")
HOLD_MS = 150000
TRAFFIC = "$N udp -m -w 140000 -s 127.0.0.1:4201 127.0.0.1 9106 ide"  # 31


class Session:
    """An MI dusk-gdb stopped in markdrop_out, the datagram held."""

    def __init__(self, harness, program):
        # As VS Code's cppdbg starts its debugger: "miDebuggerPath
        # --interpreter=mi miDebuggerArgs", the program and its
        # arguments given by MI commands.
        self.program = program
        self.gdb = Gdb(["--interpreter=mi", "-nx"], harness.target.env,
                       dashes=False)
        self.mi = Mi(self.gdb)
        self.harness = harness
        self.seen = []
        self.thread = None

    def start(self):
        self.gdb.wait_for(r"^\(gdb\)")
        # What cppdbg sends: its launch.json template's setupCommands,
        # the environment, program and arguments, the user's breakpoint.
        self.mi.done("-enable-pretty-printing")
        self.mi.done('-interpreter-exec console "set environment '
                     f'DUSK_HOLD_MS={HOLD_MS}"')
        self.mi.done(f"-file-exec-and-symbols {self.program}")
        self.mi.done("-exec-arguments port=9100")
        self.bkpt = self.mi.done('-break-insert -f -c "state->out->ifindex '
                                 '== 1" markdrop_out')["bkpt"]
        cls, _, _ = self.mi.cmd("-exec-run", meanwhile=self._traffic)
        assert cls == "running", self.gdb.output
        self.stop = self.mi.wait_stopped(timeout=120)

    def _traffic(self):
        self.gdb.wait_for(r"markdrop: loaded")
        self.thread = threading.Thread(
            target=lambda: self.seen.extend(self.harness.script(TRAFFIC)),
            daemon=True)
        self.thread.start()

    def dusk(self, expr):
        """"dusk print EXPR" of a scalar: its shadow value."""
        out = self.mi.cmd(f'-interpreter-exec console "dusk print {expr}"')[2]
        m = re.search(rf"^{re.escape(expr)} = (.*?)(?:  \(.*\))?"
                      r"(?:   kernel: .*)?$", out, re.M)
        assert m, (expr, out)
        return number(m.group(1))

    def rows(self, expr):
        out = self.mi.cmd(f'-interpreter-exec console "dusk print {expr}"')[2]
        return dusk_rows(out)

    def close(self):
        """No breakpoint, SIGINT passed on: continue, let the traffic
        end, end the program and gdb; gdb's whole output."""
        if self.gdb.proc.poll() is None:
            try:
                self.mi.cmd("-break-delete", timeout=30)
                self.mi.cmd('-interpreter-exec console "handle SIGINT '
                            'nostop noprint pass"', timeout=30)
                self.mi.cmd("-exec-continue", timeout=30)
                if self.thread:
                    self.thread.join(timeout=200)
                self.gdb.end_mi_program("")
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


def test_stopped_in_the_hook(session):
    """The breakpoint's condition, tested by gdb on the kernel's hook
    state, held on our datagram: stopped in markdrop_out, skb decoded in
    the frame's arguments."""
    stop = session.stop
    assert stop["reason"] == "breakpoint-hit", stop
    assert stop["bkptno"] == session.bkpt["number"], stop
    assert stop["frame"]["func"] == "markdrop_out", stop
    args = {a["name"]: a["value"] for a in stop["frame"]["args"]}
    assert re.match(r"0xff[0-9a-f]+ \{dev - len 31 .*UDP 4201 > 9106 "
                    r"len 11\}$", args["skb"]), args
    assert "Cannot access memory" not in session.gdb.output


def test_frames_and_variables(session):
    """-stack-list-frames, -stack-list-variables --all-values: the hook's
    frame and its arguments and locals, the pointers those dusk print
    has."""
    stack = session.mi.done("-stack-list-frames")["stack"]
    assert stack[0]["func"] == "markdrop_out", stack
    assert stack[0]["file"].endswith("markdrop.c"), stack
    assert int(stack[0]["level"]) == 0 and len(stack) > 1, stack
    variables = session.mi.done("-stack-list-variables --all-values")[
        "variables"]
    by_name = {v["name"]: v for v in variables}
    assert {"priv", "skb", "state", "note", "dport"} <= set(by_name), \
        variables
    assert by_name["skb"].get("arg") == "1", variables
    assert number(by_name["skb"]["value"].split(" ")[0]) == \
        session.dusk("skb")
    assert number(by_name["state"]["value"].split(" ")[0]) == \
        session.dusk("state")
    assert by_name["state"]["value"].endswith(
        "{LOCAL_OUT IPV4 in - out lo}"), variables


EXPRESSIONS = ["skb->len", "skb->data_len", "skb->mark", "skb->protocol",
               "skb->head", "skb->truesize", "state->hook",
               "state->out->ifindex", "state->out->mtu",
               "((unsigned char *)skb->data)[9]"]


def test_evaluate_expression(session):
    """-data-evaluate-expression, as on hovering over skb->len: what
    dusk print shows."""
    got = {}
    for expr in EXPRESSIONS:
        value = session.mi.done(f'-data-evaluate-expression "{expr}"')[
            "value"]
        got[expr] = number(value)
        assert got[expr] == session.dusk(expr), (expr, value)
    assert got["skb->len"] == 31 and got["skb->mark"] == 0, got
    assert got["((unsigned char *)skb->data)[9]"] == 17, got
    assert got["state->out->ifindex"] == 1, got


def children(session, name):
    """{exp: child} of varobj NAME, --all-values."""
    out = session.mi.done(f"-var-list-children --all-values {name}")
    assert int(out["numchild"]) == len(out.get("children", [])), out
    return {c["exp"]: c for c in out.get("children", [])}


def test_expand_objects(session):
    """-var-create - * *skb and -var-list-children --all-values, as an
    IDE's variables view expands *skb (dusk's printer gives the members);
    then a member struct (users: its refs, their counter); *state->out
    without the printer, and one of its member structs; *state: the
    members' values those of dusk print."""
    var = session.mi.done('-var-create - * "*skb"')
    # dusk's printer gives the members (a dynamic varobj: has_more).
    assert int(var["numchild"]) > 20 or var.get("has_more") == "1", var
    kids = children(session, var["name"])
    rows = session.rows("*skb")
    compared = 0
    for exp, child in kids.items():
        if exp in rows and "value" in child and \
                int(child.get("numchild", "0")) == 0:
            v = number(child["value"])
            if isinstance(v, int):
                assert v == number(rows[exp][0]), (exp, child, rows[exp])
                compared += 1
    assert compared >= 20, (compared, kids)
    for exp, want in (("len", 31), ("data_len", 0), ("mark", 0)):
        assert number(kids[exp]["value"]) == want, kids[exp]

    users = children(session, kids["users"]["name"])
    refs = children(session, users["refs"]["name"])
    assert number(refs["counter"]["value"]) == \
        session.dusk("skb->users.refs.counter") >= 1, refs

    # Without dusk's printer (as with an IDE that does not enable them),
    # gdb reads the members itself: *state->out, a net_device, then one
    # of its struct members (dev_list: next and prev, kernel pointers).
    var = session.mi.done('-var-create - * "*state->out"')
    session.mi.done(f"-var-set-visualizer {var['name']} None")
    kids = children(session, var["name"])
    rows = session.rows("*state->out")
    for exp in ("ifindex", "mtu", "flags", "name_node", "netdev_ops"):
        assert number(kids[exp]["value"]) == number(rows[exp][0]), \
            (exp, kids[exp], rows[exp])
    assert number(kids["ifindex"]["value"]) == 1, kids["ifindex"]
    name = children(session, kids["name"]["name"])      # char [16]
    assert [number(name[str(i)]["value"]) for i in range(3)] == \
        [ord("l"), ord("o"), 0], name
    dev_list = children(session, kids["dev_list"]["name"])
    assert set(dev_list) == {"next", "prev"}, dev_list
    for exp in ("next", "prev"):
        v = number(dev_list[exp]["value"])
        assert v == number(rows[f"dev_list.{exp}"][0]) >= 1 << 63, \
            (exp, dev_list, rows[f"dev_list.{exp}"])

    var = session.mi.done('-var-create - * "*state"')
    kids = children(session, var["name"])
    rows = session.rows("*state")
    assert set(kids) == set(rows), (kids, rows)
    for exp in ("hook", "pf", "in", "out", "sk", "net"):
        assert number(kids[exp]["value"].split(" ")[0]) == \
            number(rows[exp][0]), (exp, kids[exp], rows[exp])


def test_read_memory(session):
    """-data-read-memory-bytes skb->data 20: the datagram's IPv4 header,
    the kernel's bytes (dusk kread)."""
    memory = session.mi.done("-data-read-memory-bytes skb->data 20")[
        "memory"]
    assert len(memory) == 1, memory
    block = memory[0]
    data = bytes.fromhex(block["contents"])
    assert len(data) == 20, block
    start = int(block["begin"], 16)
    assert start == session.dusk("skb->data"), block
    out = session.mi.cmd(f'-interpreter-exec console "dusk kread {start:#x} '
                         '20"')[2]
    kernel = []
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]{16})  (.*?)  \|", line)
        if m:
            kernel += [int(b, 16) for b in m.group(2).split()]
    assert list(data) == kernel, (block, out)
    # IPv4, header 20, total length 31, UDP, 127.0.0.1 to 127.0.0.1.
    assert data[0] == 0x45 and data[2:4] == b"\x00\x1f" and data[9] == 17
    assert data[12:20] == bytes([127, 0, 0, 1, 127, 0, 0, 1]), data


def test_assign(session):
    """-var-assign on skb->mark: the new value read back (-var-update,
    -data-evaluate-expression, dusk print's shadow), and after
    -exec-continue the receiving socket sees it."""
    var = session.mi.done('-var-create - * "skb->mark"')
    assert var["value"] == "0", var
    assert session.mi.done(f"-var-assign {var['name']} 7")["value"] == "7"
    assert session.mi.done('-data-evaluate-expression "skb->mark"')[
        "value"] == "7"
    assert session.dusk("skb->mark") == 7
    # Another varobj on the same member sees the change.
    again = session.mi.done('-var-create - * "skb->mark"')
    assert again["value"] == "7", again
    output = session.close()
    assert session.seen == ["udp sent 1 received 1 marks 0x7"], output
    assert "markdrop: unloaded: 1 seen, 0 dropped" in output, output
    assert not CLEAN.search(output), output
