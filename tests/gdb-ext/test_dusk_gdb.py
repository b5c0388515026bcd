# SPDX-License-Identifier: GPL-2.0
"""dusk-gdb against the real target with real traffic.

The program is markdrop (tests/examples/mods/markdrop, shown identical as
a .ko and at user level by test_testmods.py) built by dusk-cc; gdb runs
in batch mode (and once through the MI interpreter) while nettest sends
UDP datagrams over the target's loopback. Stopped in the LOCAL_OUT hook,
the tests read the skb both ways, change its mark, commit, read the
kernel's bytes back, and watch the datagram's fate follow the mark:
markdrop's LOCAL_IN hook drops mark 9 (the kernel's mark, read back by a
second invocation), the receiving socket sees any other (SO_RCVMARK).
"""

import re
import sys
import threading

import pytest

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / "tests" / "examples"))
from diff import harness, mod  # noqa: E402,F401 (fixture)
from gdbdrive import Gdb  # noqa: E402

MARKDROP = mod("markdrop")
SOURCE = (MARKDROP.srcdir / "markdrop.c").read_text().splitlines()
# markdrop_out's last kfree, before "return NF_ACCEPT;".
KFREE_LINE = next(i + 1 for i, line in enumerate(SOURCE)
                  if line.strip() == "kfree(note);" and
                  SOURCE[i + 1].strip() == "return NF_ACCEPT;")
# Loopback traffic only: the target's agent (which runs nettest) talks
# over eth0 through the same hook.
BREAK = "dusk break-hook markdrop_out if state->out->ifindex == 1"
UDP = "$N udp -m -w 15000 -s 127.0.0.1:{sport} 127.0.0.1 {port} {payload}"
PROLOGUE = r"""
set pagination off
set width 0
set confirm off
python
def dusk_try(cmd):
    try:
        gdb.execute(cmd)
    except gdb.error as e:
        print("dusk-test-error:", cmd, "->", e)
end
"""
EPILOGUE = """
delete
handle SIGINT nostop noprint pass
continue
"""
PID = 'python print("dusk-test-pid", gdb.selected_inferior().pid)'
CLEAN = re.compile(r"Traceback|Python Exception|Error occurred in Python")


@pytest.fixture(scope="module")
def program(harness):
    prog = harness.build_prog(MARKDROP)
    harness.nettest()
    return prog


def debug(harness, program, tmp_path, script, traffic, hold_ms,
          gdb_args=("-batch",)):
    """Run the program under dusk-gdb with SCRIPT (gdb commands) while
    the TRAFFIC script runs in the target once the module has loaded;
    interrupt the program when the traffic is done. (gdb output, the
    traffic's lines)."""
    cmds = tmp_path / "cmds.gdb"
    cmds.write_text(PROLOGUE + script + EPILOGUE)
    env = dict(harness.target.env, DUSK_HOLD_MS=str(hold_ms))
    gdb = Gdb([*gdb_args, "-nx", "-x", str(cmds), "--args", str(program)],
              env)
    seen = []
    try:
        gdb.wait_for(r"markdrop: loaded")
        t = threading.Thread(
            target=lambda: seen.extend(harness.script(traffic)))
        t.start()
        t.join(timeout=300)
        gdb.wait_for(r"dusk-test-pid")
        gdb.interrupt_program()
        out = gdb.finish()
    finally:
        if gdb.proc.poll() is None:
            gdb.proc.kill()
    assert not CLEAN.search(out), out
    return out, seen


def value(pattern, text, base=16):
    m = re.search(pattern, text, re.M)
    assert m, f"{pattern!r} not in:\n{text}"
    return int(m.group(1), base)


MAIN = f"""
{BREAK}
run port=9100
{PID}
python print("dusk-test-markoff", int(gdb.parse_and_eval("(long)&((struct sk_buff *)0)->mark")))
print skb
info pretty-printer
disable pretty-printer global dusk
print skb
enable pretty-printer global dusk
dusk print skb
dusk print '-d' *state
dusk print state->out->name
dusk print skb->mark
dusk set skb->mark = 9
dusk print skb->mark
dusk map
dusk commit skb->mark
dusk print skb->mark
dusk kread &skb->mark 4
dusk kread "& skb -> mark" '4'
dusk set skb->priority = 3
dusk print skb->priority
dusk refresh skb->priority
dusk print skb->priority
dusk status
python dusk_try("dusk print skb->nosuch")
python dusk_try("dusk kread 0xffff000000000000 16")
python dusk_try("dusk print kfree(skb)")
dusk step-kcall
finish
tbreak markdrop.c:{KFREE_LINE}
continue
echo dusk-test-step\\n
step
echo dusk-test-stepped\\n
dusk kcalls 4
dusk ksym init_net
dusk ksym 'init_net'
continue
echo dusk-test-second\\n
dusk set skb->mark = 5
"""


def test_hook_print_set_commit(harness, program, tmp_path):
    """Break in a hook, print the skb both ways, change its mark, commit,
    see the kernel's copy change, the datagram's fate follow; the map,
    kernel calls, step over a kernel call, status, ksym, log, errors."""
    traffic = "\n".join([
        UDP.format(sport=4001, port=9100, payload="first"),
        UDP.format(sport=4002, port=9101, payload="second"),
    ])
    out, seen = debug(harness, program, tmp_path, MAIN, traffic, 30000)

    # Traffic: the first datagram, mark 9 committed from gdb, dropped by
    # the second hook; the second, mark 5 (committed with the verdict),
    # received with it.
    assert seen == ["udp sent 1 received 0",
                    "udp sent 1 received 1 marks 0x5"], out
    assert "markdrop: drop port 9100 mark 9" in out
    assert "markdrop: unloaded: 2 seen, 1 dropped" in out

    # Stopped in the hook with the skb decoded (plain print, printers).
    assert re.search(r"Breakpoint 1, markdrop_out \(priv=0x0, skb=0xff", out)
    skb = value(r"^\$1 = 0x([0-9a-f]+) \{dev - len 33 data_len 0 mark 0x0 "
                r"proto IPv4 \| IPv4 127\.0\.0\.1 > 127\.0\.0\.1 UDP ttl 64 "
                r"id \d+ len 33 \| UDP 4001 > 9100 len 13\}$", out)
    # The printers are one collection, "dusk", a subprinter per struct;
    # disabled, plain print shows the raw pointer.
    assert re.search(r"^  dusk\n    file\n    inode\n    net_device\n"
                     r"    nf_hook_state\n"
                     r"    sk_buff$", out, re.M), out
    assert value(r"^\$2 = \(struct sk_buff \*\) 0x([0-9a-f]+)$", out) == skb
    # dusk print: both sides, decoded alike, members side by side.
    assert re.search(rf"^  struct sk_buff at kernel {skb:#x}, \d+ bytes$",
                     out, re.M), out
    shadow = re.search(r"^  shadow: (.*)$", out, re.M).group(1)
    kernel = re.search(r"^  kernel: (.*)$", out, re.M).group(1)
    assert shadow == kernel and "UDP 4001 > 9100" in shadow, out
    assert re.search(r"^    len +33 +33$", out, re.M), out
    assert re.search(r'^state->out->name = "lo",.*kernel: "lo"', out, re.M)
    # Options and arguments as gdb.string_to_argv reads them: a quoted -d
    # is the option, a quoted argument with blanks is one argument.
    assert re.search(r"^\*state:\n  struct nf_hook_state at kernel 0x[0-9a-f]+, "
                     r"\d+ bytes\n  shadow: LOCAL_OUT IPV4 in - out lo\n"
                     r"  kernel: LOCAL_OUT IPV4 in - out lo\n"
                     r"    \(no member differs\)$", out, re.M), out
    # The change: in the shadow only, then committed.
    assert "skb->mark = 0   kernel: 0\n" in out
    assert "skb->mark = 9   kernel: 0   * differs\n" in out
    markoff = value(r"^dusk-test-markoff (\d+)$", out, 10)
    mark = value(r"^dusk: committed skb->mark \(0x([0-9a-f]+), 4 bytes\)$",
                 out)
    assert mark == skb + markoff
    assert "skb->mark = 9   kernel: 9\n" in out
    assert len(re.findall(rf"^{mark:016x}  09 00 00 00 ", out,
                          re.M)) == 2, out
    # A change forgotten by refresh: the kernel's value is read again.
    assert "skb->priority = 3   kernel: 0   * differs\n" in out
    assert re.search(r"^dusk: refreshed skb->priority \(0x[0-9a-f]+, 4 "
                     r"bytes\)\nskb->priority = 0   kernel: 0\n", out, re.M)
    # The map: real kernel addresses; the skb's line with the mark dirty
    # before the commit; the placeholder of init_net at its address.
    rows = re.findall(r"^0x([0-9a-f]{16})  0x([0-9a-f]+) +(\d+)  (\w+|-) +"
                      r"(.*?)  +(\S+)$", out, re.M)
    assert any(int(k, 16) <= mark < int(k, 16) + int(n) and
               state == "dirty" and t == "struct sk_buff"
               for k, u, n, state, t, owner in rows), out
    init_net = value(r"^init_net = 0x([0-9a-f]+)$", out)
    assert re.findall(r"^init_net = (0x[0-9a-f]+)$", out, re.M) == \
        [f"{init_net:#018x}"] * 2, out
    assert any(int(k, 16) == init_net and owner == "placeholder:init_net"
               for k, u, n, state, t, owner in rows), out
    assert init_net >= 0xffffffff80000000
    # Status while stopped: the packet held, within the bound.
    assert re.search(r"^hooks +2 registered", out, re.M)
    assert re.search(r"^invocation +packet \d+ on cpu \d+, waiting \d+ ms$",
                     out, re.M), out
    assert "policy      hold up to 30000 ms" in out
    # Errors: one line each, the program still there.
    assert re.search(r"dusk-test-error: dusk print skb->nosuch -> .*[Tt]here "
                     r"is no member named nosuch", out)
    assert re.search(r"dusk-test-error: dusk kread 0xffff000000000000 16 -> "
                     r".*0xffff000000000000", out)
    assert re.search(r"dusk-test-error: dusk print kfree\(skb\) -> .*"
                     r"function calls are not evaluated", out)
    # step-kcall: stopped before kmalloc's call, shown at the module's
    # line; finish makes it.
    assert re.search(r"^dusk: next kernel call #\d+ +kmalloc_trace\("
                     r"\(struct kmem_cache \*\)0xff[0-9a-f]+, \d+, 16\)  "
                     r"\.\.\. \(about to be made\)$", out, re.M), out
    assert "Value returned is" in out
    # step over "kfree(note);": the next line of the hook, not the
    # runtime.
    stepped = out[out.index("dusk-test-step\n"):
                  out.index("dusk-test-stepped\n")]
    assert re.search(rf"^{KFREE_LINE + 1}\t", stepped, re.M), stepped
    assert not re.search(r"debug_core|mod_call|kernel\.c|glue", stepped)
    # The trace: kmalloc's result is what kfree got.
    note = value(r"kmalloc_trace\(.*\) = \(void \*\)0x([0-9a-f]+)  \d+ us$",
                 out)
    assert re.search(rf"kfree\(\(void \*\){note:#x}\)  \d+ us$", out, re.M)


LATE = f"""
{BREAK}
run port=9100 set_mark=5
{PID}
dusk status
dusk set skb->mark = 9
python import time; time.sleep(3)
dusk status
python dusk_try("dusk commit")
"""


def test_packet_released_by_policy(harness, program, tmp_path):
    """A packet held longer than hold_ms goes by the policy (accept) while
    the program sits at a breakpoint: dusk status says so, dusk commit
    refuses to write into what may no longer be the packet, and the
    change never reaches it, though the hook goes on and makes kernel
    calls (each would commit the cache's changes); its call with the
    skb is not made."""
    traffic = UDP.format(sport=4003, port=9102, payload="late")
    out, seen = debug(harness, program, tmp_path, LATE, traffic, 1500)
    assert seen == ["udp sent 1 received 1 marks 0x0"], out
    statuses = out.split("target      ")[1:]
    assert len(statuses) == 2, out
    assert "LATE" not in statuses[0] and "LATE" in statuses[1], out
    released = [value(r"(\d+) released by policy \(accept\)", s, 10)
                for s in statuses]
    # Ours, and the target agent's packets (eth0) held meanwhile too.
    assert released[1] >= released[0] + 1, statuses
    assert re.search(r"dusk-test-error: dusk commit -> packet \d+ has "
                     r"waited \d+ ms \(hold_ms 1500\).*not committed", out)
    # Continued, the hook runs on: its change to the released skb never
    # goes (it would land in whatever the skb is now), nor the verdict.
    assert re.search(r"packet \d+ has waited \d+ ms \(hold_ms 1500\): the "
                     r"kernel may have released it by policy; its objects are "
                     r"left alone from now on", out), out
    # set_mark=5: the hook marks the skb and routes it again
    # (ip_route_me_harder(net, sk, skb, ...)): not made, the skb is gone.
    assert re.search(r"kernel call ip_route_me_harder not made: argument 3 "
                     r"points into packet \d+'s struct sk_buff", out), out
    assert "was released by policy before its verdict" in out
    # The hook went on reading the skb and its hook state as the HOOK
    # carried them (not the freed memory): no garbage pointer, no crash.
    assert "exited normally" in out and "SIGSEGV" not in out, out


FUNCTIONS = f"""
{BREAK}
run port=9100
{PID}
print $dusk(skb)->len
print $dusk_kernel(skb).len
print $dusk(skb)->mark
dusk set skb->mark = 7
print $dusk(skb)->mark
print $dusk_kernel(skb).mark
print/d $dusk(state)->hook
print/d $dusk_kernel(state).hook
python dusk_try("print $dusk_kernel(&port)")
echo dusk-test-diff\\n
dusk print -d skb
echo dusk-test-full\\n
dusk print skb
echo dusk-test-first-end\\n
continue
echo dusk-test-map\\n
dusk map
echo dusk-test-map-all\\n
dusk map -a
echo dusk-test-end\\n
"""
MAP_ROW = re.compile(r"^0x([0-9a-f]{16})  0x[0-9a-f]+ +\d+  (\w+|-) +.*$",
                     re.M)


def between(out, start, end):
    return out[out.index(start + "\n") + len(start) + 1:out.index(end + "\n")]


def test_functions_diff_and_stale_map(harness, program, tmp_path):
    """$dusk(p) reads the program's shadow, $dusk_kernel(p) the kernel's
    live bytes: after "dusk set skb->mark = 7" they differ (7 and 0) until
    the verdict commits it (the receiver sees mark 7). "dusk print -d"
    shows only the differing members; "dusk map" leaves out the earlier
    invocation's stale ranges, which "dusk map -a" lists."""
    traffic = "\n".join([
        UDP.format(sport=4005, port=9104, payload="first"),
        UDP.format(sport=4006, port=9105, payload="second"),
    ])
    out, seen = debug(harness, program, tmp_path, FUNCTIONS, traffic, 30000)
    assert seen == ["udp sent 1 received 1 marks 0x7",
                    "udp sent 1 received 1 marks 0x0"], out
    values = re.findall(r"^\$\d+ = (.*)$", out, re.M)
    # len (28 + 5 bytes) both ways; the mark 0, set to 7 in the shadow
    # only; the hook state's hook number (LOCAL_OUT) both ways.
    assert values[:7] == ["33", "33", "0", "7", "0", "3", "3"], out
    assert re.search(r"dusk-test-error: print \$dusk_kernel\(&port\) -> "
                     r"\$dusk_kernel: 0x[0-9a-f]+ is the program's own "
                     r"memory with no kernel copy", out), out

    diff = between(out, "dusk-test-diff", "dusk-test-full")
    full = between(out, "dusk-test-full", "dusk-test-first-end")
    rows = [r for r in re.findall(r"^  ([* ]) (\S+) +(.*?) +(\S+)$", diff,
                                  re.M)
            if r[1:] != ("field", "shadow", "kernel")]      # the header
    assert ("*", "mark", "7", "0") in rows, diff
    assert rows and all(mark == "*" for mark, *_ in rows), diff
    assert not [r for r in rows if r[1] == "len"], diff
    # Without -d, the members that do not differ too.
    assert re.search(r"^    len +33 +33$", full, re.M), full
    assert re.search(r"^  \* mark +7 +0$", full, re.M), full
    assert len(re.findall(r"^  [* ] ", full, re.M)) > len(rows) + 10, full

    plain = between(out, "dusk-test-map", "dusk-test-map-all")
    every = between(out, "dusk-test-map-all", "dusk-test-end")
    plain_rows = MAP_ROW.findall(plain)
    every_rows = MAP_ROW.findall(every)
    stale = [r for r in every_rows if r[1] == "stale"]
    assert plain_rows and stale, out
    assert not [r for r in plain_rows if r[1] == "stale"], plain
    assert sorted(plain_rows + stale) == sorted(every_rows), (plain, every)
    assert f"({len(stale)} stale ranges not shown: dusk map -a)" in plain, \
        plain
    assert "stale ranges not shown" not in every, every



COUNTS = ('python from dusk import cmd_hooks as h, runtime as r; '
          'bp = h._breakpoints["markdrop_in"]; '
          'print("dusk-test-counts", bp.gdb_stops, h._cond_hit.hits, '
          '*r.conds()[0][2:])')
# A module variable, arithmetic, a cast and a subscript into the packet
# (its IP protocol), members through two pointers, a char array, an
# enumerator, a bitfield.
WANTED = ("skb->mark == set_mark && skb->len % 11 == 0 && "
          "((unsigned char *)skb->data)[9] == 17 && "
          "state->in->name[0] == 'l' && state->hook == NF_INET_LOCAL_IN && "
          "skb->pkt_type == 0")
COND = f"""
dusk break-hook markdrop_in if {WANTED}
run port=9100 set_mark=5
{PID}
info args
dusk print skb->len
{COUNTS}
echo dusk-test-first\\n
continue
dusk print skb->mark
{COUNTS}
dusk status
echo dusk-test-second\\n
set $want = 5
dusk break-hook markdrop_in if skb->mark == $want
continue
dusk print skb->mark
echo dusk-test-third\\n
dusk break-hook markdrop_in if skb->mark == 5 && state->out->ifindex == 1
continue
echo dusk-test-fourth\\n
"""


def test_condition_in_the_program(harness, program, tmp_path):
    """break-hook NAME if COND: the condition (the hook's arguments and
    the module's variables) is compiled into the program, which tests it
    before each call of the hook and stops only when it holds: in the
    hook, with its arguments, as a plain breakpoint stops; a false
    condition never reaches gdb (the runtime counts what it tested, gdb
    what it saw). A condition gdb must test ($want) still works, slower,
    and says so; one that cannot be evaluated (a NULL pointer) stops and
    says why."""
    traffic = "\n".join([
        # Mark 0 (not markdrop_out's ports): false, three times.
        UDP.format(sport=4011, port=9200, payload="first").replace(
            "udp -m", "udp -n 3 -m"),
        UDP.format(sport=4012, port=9100, payload="first"),     # holds
        UDP.format(sport=4013, port=9101, payload="longer"),    # len 34
        UDP.format(sport=4014, port=9102, payload="third"),     # holds
        UDP.format(sport=4015, port=9103, payload="fourth"),    # $want
        UDP.format(sport=4016, port=9104, payload="fifth"),     # NULL
    ])
    out, seen = debug(harness, program, tmp_path, COND, traffic, 30000)
    assert seen == ["udp sent 3 received 3 marks 0x0,0x0,0x0",
                    "udp sent 1 received 1 marks 0x5",
                    "udp sent 1 received 1 marks 0x5",
                    "udp sent 1 received 1 marks 0x5",
                    "udp sent 1 received 1 marks 0x5",
                    "udp sent 1 received 1 marks 0x5"], out
    assert f"dusk: breakpoint 1: condition '{WANTED}' compiled into the " \
        "program: no stop while it is false\n" in out, out
    first = out[:out.index("dusk-test-first\n")]
    second = between(out, "dusk-test-first", "dusk-test-second")
    third = between(out, "dusk-test-second", "dusk-test-third")
    fourth = between(out, "dusk-test-third", "dusk-test-fourth")
    # Stopped in the hook itself, with its arguments, on the datagrams
    # the condition holds for: 4012 > 9100, then 4014 > 9102.
    assert re.search(r"Breakpoint 1, markdrop_in \(priv=0x0, skb=0xff[0-9a-f]+"
                     r" \{dev lo len 33 .*UDP 4012 > 9100 len 13\}, "
                     r"state=0x", first), first
    assert re.search(r"^skb = 0xff[0-9a-f]+ \{dev lo len 33 .*UDP 4012 > "
                     r"9100", first, re.M), first
    assert "skb->len = 33   kernel: 33\n" in first, first
    assert re.search(r"Breakpoint 1, markdrop_in \(.*UDP 4014 > 9102 len 13",
                     second), second
    assert "skb->mark = 5   kernel: 5\n" in second, second
    tested = re.search(r"^conditions  compiled into the program "
                       r"\(break-hook \.\.\. if\)\n +markdrop_in: tested "
                       r"(\d+) times, held 2, failed 0$", second, re.M)
    assert tested, second
    # gdb saw only the stops: one trap each, one anchor each; the program
    # tested the condition for every packet of LOCAL_IN (ours, and the
    # target agent's on eth0), and it held twice.
    counts = [tuple(map(int, m)) for m in re.findall(
        r"^dusk-test-counts (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)]
    assert len(counts) == 2, out
    assert counts[0][:2] == (1, 1) and counts[1][:2] == (2, 2), counts
    assert counts[0][3:] == (1, 0) and counts[1][3:] == (2, 0), counts
    assert counts[0][2] >= 4 and counts[1][2] >= counts[0][2] + 2, counts
    assert int(tested.group(1)) >= counts[1][2], (tested.group(0), counts)
    assert len(re.findall(r"Breakpoint 1, markdrop_in", out)) == 4, out
    # A convenience variable: gdb tests it, and says so.
    assert "dusk: breakpoint 1: condition tested by gdb at each call " \
        "(slower): it uses gdb's convenience variables or registers " \
        "($...)\n" in third, third
    assert re.search(r"Breakpoint 1, markdrop_in \(.*UDP 4015 > 9103", third)
    assert "skb->mark = 5   kernel: 5\n" in third, third
    # state->out is NULL at LOCAL_IN: the condition fails, and stops.
    assert "condition 'skb->mark == 5 && state->out->ifindex == 1' " \
        "compiled into the program" in fourth, fourth
    assert re.search(r"^dusk: breakpoint 1: condition 'skb->mark == 5 && "
                     r"state->out->ifindex == 1': cannot read address 0x[0-9a-f]+"
                     r" \(4 bytes\): a NULL pointer$", fourth, re.M), fourth
    assert re.search(r"Breakpoint 1, markdrop_in \(.*UDP 4016 > 9104",
                     fourth), fourth


def test_mi(harness, program, tmp_path):
    """Through gdb's MI (what IDEs use): the break, the pretty-printed
    skb in the stopped frame's arguments and -data-evaluate-expression,
    dusk commands' output as console records, the change applied."""
    env = dict(harness.target.env, DUSK_HOLD_MS="30000")
    gdb = Gdb(["--interpreter=mi3", "-nx", "--args", str(program),
               "port=9100"], env)
    seen = []
    try:
        stop, t = gdb.mi_run_to_break(
            BREAK, r"markdrop: loaded", lambda: seen.extend(harness.script(
                UDP.format(sport=4004, port=9103, payload="mi"))))
        assert 'func="markdrop_out"' in stop.group(0)
        assert re.search(r'name="skb",value="0xff[0-9a-f]+ \{dev - len 30 '
                         r'.*UDP 4004 > 9103 len 10\}"', stop.group(0)), \
            stop.group(0)
        gdb.send("3-data-evaluate-expression state")
        m = gdb.wait_for(r'^3\^done,value="(.*)"$')
        assert "LOCAL_OUT IPV4 in - out lo" in m.group(1)
        gdb.send('4-interpreter-exec console "dusk set skb->mark = 6"')
        gdb.wait_for(r"^4\^done")
        assert re.search(r'~"skb->mark = 6   kernel: 0   \* differs\\n"',
                         gdb.output), gdb.output
        gdb.send('5-interpreter-exec console "dusk print nosuch"')
        gdb.wait_for(r'^5\^error,msg=".*[Nn]o symbol \\"nosuch\\" in '
                     r'current context.?"$')
        gdb.send('6-interpreter-exec console "dusk status"')
        gdb.wait_for(r"^6\^done")
        assert re.search(r'~"invocation  packet \d+ on cpu', gdb.output)
        gdb.send("7-break-delete")
        gdb.wait_for(r"^7\^done")
        gdb.send('8-interpreter-exec console "handle SIGINT nostop noprint '
                 'pass"')
        gdb.wait_for(r"^8\^done")
        gdb.send("9-exec-continue")
        gdb.wait_for(r"^9\^running")
        t.join(timeout=120)
        assert seen == ["udp sent 1 received 1 marks 0x6"], gdb.output
        out = gdb.end_mi_program(10)
    finally:
        if gdb.proc.poll() is None:
            gdb.proc.kill()
    assert not CLEAN.search(out), out


NO_STOPS = f"""
break markdrop_out
run port=9100
{PID}
python print("dusk-test-no-stops", int(gdb.parse_and_eval("dusk_hooks_no_stops")))
delete
python print("dusk-test-no-stops", int(gdb.parse_and_eval("dusk_hooks_no_stops")))
dusk break-hook markdrop_out if skb->len == 1
python print("dusk-test-no-stops", int(gdb.parse_and_eval("dusk_hooks_no_stops")))
"""


def test_verdicts_go_together_only_when_nothing_can_stop(harness, program,
                                                          tmp_path):
    """Under gdb the runtime sends each verdict at once while a
    breakpoint can stop the program (a stop must not hold packets decided
    before it), and together, as without gdb, once none can: dusk-gdb
    says which in dusk_hooks_no_stops. A condition the program tests is
    no stop."""
    traffic = UDP.format(sport=4004, port=9103, payload="together")
    out, _ = debug(harness, program, tmp_path, NO_STOPS, traffic, 5000)
    assert re.findall(r"dusk-test-no-stops (\d)", out) == ["0", "1", "1"], out


def test_help_and_errors_without_a_program(harness, program):
    """Every command has help; misuse is one clear line, before "run";
    dusk log shows the target's kernel log (a line this test writes
    there)."""
    import subprocess
    token = harness.marker()
    cmds = ["break-hook", "print", "set", "commit", "refresh", "map",
            "kcalls", "step-kcall", "status", "ksym", "kread", "log",
            "caller", "uread", "watch"]
    args = []
    for c in cmds:
        args += ["-ex", f"help dusk {c}"]
    args += ["-ex", "dusk print skb", "-ex", "dusk frobnicate",
             "-ex", "dusk break-hook nosuchfn", "-ex", "dusk kcalls",
             "-ex", "dusk break-hook markdrop_out",
             "-ex", "dusk break-hook 'markdrop_out'",
             "-ex", "dusk break-hook markdrop_out iffy",
             "-ex", "dusk break-hook all",
             "-ex", "info breakpoints",
             "-ex", "echo dusk-test-log\\n", "-ex", "dusk log 0",
             "-ex", "echo dusk-test-log-end\\n"]
    p = subprocess.run([str(SRCDIR / "bin" / "dusk-gdb"), "--", "-batch",
                        "-nx", *args, str(program)], capture_output=True,
                       text=True, timeout=120, env=harness.target.env)
    out = p.stdout + p.stderr
    assert not CLEAN.search(out), out
    for c in cmds:
        assert re.search(rf"^Usage: dusk {c}\b", out, re.M), (c, out)
    assert "the program is not running: 'run' it first" in out
    assert 'undefined dusk command: "frobnicate"' in out
    assert "no function nosuchfn in the program" in out
    # A quoted name is the name (string_to_argv); a word after it other
    # than "if COND" is misuse.
    assert "dusk: already breaking in markdrop_out" in out
    assert "usage: dusk break-hook NAME|all [if COND]" in out
    assert re.search(r"breakpoint +keep y .* in markdrop_out at .*markdrop\.c",
                     out), out
    # all: every function of a hook's type (markdrop_out had one).
    assert "dusk: breaking in 2 hook functions: markdrop_in, markdrop_out" \
        in out
    assert re.search(r"breakpoint +keep y .* in markdrop_in at .*markdrop\.c",
                     out), out
    log = out[out.index("dusk-test-log\n"):out.index("dusk-test-log-end\n")]
    assert re.search(rf"^\[ *\d+\.\d+\] {token}$", log, re.M), log
