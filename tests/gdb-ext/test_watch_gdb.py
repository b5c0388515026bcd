# SPDX-License-Identifier: GPL-2.0
"""dusk watch against the real target with real traffic.

markdrop (tests/examples/mods/markdrop) run with set_mark=7 writes the
mark of each UDP datagram to ports 9100-9115 in its LOCAL_OUT hook; its
LOCAL_IN hook then sees the same skb, which the kernel has meanwhile
given a device (skb->dev) and an input interface (skb->skb_iif). Stopped
in the LOCAL_OUT hook, the tests watch the skb's mark (the module's
write: old and new value and the module's line), a module variable (a
plain watchpoint), with -k the skb's input interface (the kernel's
change, seen when the LOCAL_IN invocation's prefetch brings the skb in
again) and without -k its device (the kernel's change too: no stop).
"""

import re

from test_dusk_gdb import (BREAK, CLEAN, PID, SOURCE, UDP,  # noqa: F401
                           debug, program)
from gdbdrive import Gdb

from diff import harness  # noqa: E402,F401 (fixture)

# markdrop_out's store of the mark, and its count of datagrams seen.
MARK_LINE = next(i + 1 for i, line in enumerate(SOURCE)
                 if line.strip() == "skb->mark = set_mark;")
COUNTS = ('python from dusk import cmd_watch as w; '
          '[print("dusk-test-counts", b.number, b.module_writes, '
          'b.kernel_changes) for b in w._ours()]')

WATCH = f"""
{BREAK}
run port=9100 set_mark=7
{PID}
python print("dusk-test-markaddr", int(gdb.parse_and_eval("(long)&skb->mark")))
dusk watch skb->mark
dusk watch markdrop_seen
info breakpoints
python dusk_try("dusk watch skb->cb")
python dusk_try("dusk watch *(unsigned int *)0xffff000000000000")
python dusk_try("dusk watch skb->len + 1")
python dusk_try("dusk watch -k")
python dusk_try("dusk watch skb->pkt_type")
python dusk_try("dusk watch *(unsigned int *)0xfffffe0000000000")
echo dusk-test-module\\n
continue
echo dusk-test-seen\\n
continue
echo dusk-test-next\\n
continue
echo dusk-test-second\\n
{COUNTS}
delete 2 3
dusk watch skb->dev
dusk watch -k skb->skb_iif
echo dusk-test-call\\n
dusk set skb->skb_iif = 5
dusk refresh skb->skb_iif
dusk print skb->skb_iif
dusk set skb->skb_iif = 6
dusk refresh skb->skb_iif
python dusk_try("print skb->skb_iif")
echo dusk-test-called\\n
continue
echo dusk-test-kernel\\n
bt 3
{COUNTS}
info breakpoints
python from dusk import cmd_watch; cmd_watch._exited(None)
info breakpoints
"""


def test_watch(harness, program, tmp_path):
    """dusk watch skb->mark stops at the module's line that writes it,
    with old and new value; a module variable is a plain watchpoint;
    continuing goes on; -k stops when the kernel changed skb->skb_iif
    between the LOCAL_OUT and the LOCAL_IN invocation, a watch without
    -k on a field the kernel changed then does not; too large a watch,
    a bad address and one whose mirror may move are refused in one
    line."""
    traffic = "\n".join([
        UDP.format(sport=4021, port=9100, payload="first"),
        UDP.format(sport=4022, port=9101, payload="second"),
    ])
    out, seen = debug(harness, program, tmp_path, WATCH, traffic, 30000)
    # Both datagrams marked by the module and received so.
    assert seen == ["udp sent 1 received 1 marks 0x7",
                    "udp sent 1 received 1 marks 0x7"], out

    mark = int(re.search(r"^dusk-test-markaddr (-?\d+)$", out,
                         re.M).group(1)) & (1 << 64) - 1
    # Made: a hardware watchpoint on the mark's mirror, said in the
    # expression's terms; the module variable, on itself.
    made = re.search(r"^dusk: watchpoint 2 watches skb->mark: kernel "
                     r"(0x[0-9a-f]+), 4 bytes, at (0x[0-9a-f]+) in the "
                     r"program; it stops when the module writes them$",
                     out, re.M)
    assert made, out
    assert int(made.group(1), 16) == mark
    mirror = int(made.group(2), 16)
    assert mirror < 1 << 47 and mirror % 4096 == mark % 4096
    assert re.search(rf"^Hardware watchpoint 2: \*\(__u32 \*\){mirror:#x}$",
                     out, re.M), out
    assert re.search(r"^Hardware watchpoint 3: markdrop_seen$", out,
                     re.M), out
    assert re.search(rf"^2 +hw watchpoint +keep +y +\*\(__u32 \*\)"
                     rf"{mirror:#x}$", out, re.M), out
    assert re.search(r"^3 +hw watchpoint +keep +y +markdrop_seen$", out,
                     re.M), out
    # Refused, one line each: too large (skb->cb: 48 bytes), a kernel
    # address with no memory (the runtime's error), not an lvalue, no
    # expression, a bit-field.
    assert re.search(r"dusk-test-error: dusk watch skb->cb -> skb->cb is 48 "
                     r"bytes: it needs 6 of x86's 4 debug registers \(2 "
                     r"taken by other dusk watches\), each watching at most "
                     r"8 aligned bytes$", out, re.M), out
    assert re.search(r"dusk-test-error: dusk watch \*\(unsigned int \*\)"
                     r"0xffff000000000000 -> cannot read kernel memory "
                     r"0xffff000000000000 \(4 bytes\) into the cache: ",
                     out), out
    assert re.search(r"dusk-test-error: dusk watch skb->len \+ 1 -> cannot "
                     r"take the address of", out), out
    assert "dusk-test-error: dusk watch -k -> usage: dusk watch [-k] EXPR" \
        in out, out
    assert "dusk-test-error: dusk watch skb->pkt_type -> skb->pkt_type is a " \
        "bit-field: it has no address of its own\n" in out, out
    # The cpu_entry_area's IDT: readable, but outside the regions the
    # cache mirrors whole, so its mirror page may move.
    assert "dusk-test-error: dusk watch *(unsigned int *)0xfffffe0000000000 " \
        "-> kernel 0xfffffe0000000000 cannot be watched: it is outside " \
        "every kernel region the cache mirrors whole: its mirror is a stray " \
        "page, given out anew after the cache is reset\n" in out, out

    # The module's store: old and new value, its line; gdb's own report.
    module = between(out, "dusk-test-module", "dusk-test-seen")
    wrote = re.search(rf"^dusk watch 2: the module wrote skb->mark \(kernel "
                      rf"{mark:#x}\): 0 -> 7 at (\S+):(\d+), in "
                      rf"markdrop_out$", module, re.M)
    assert wrote, module
    assert wrote.group(1).endswith("markdrop.c")
    assert int(wrote.group(2)) == MARK_LINE, (MARK_LINE, module)
    assert re.search(r"^Hardware watchpoint 2: .*\n\nOld value = 0\n"
                     r"New value = 7$", module, re.M), module
    assert "Breakpoint 1," not in module
    # Continued: the module goes on, and counts the datagram (a plain
    # watchpoint on the program's variable).
    # (Its line is where the compiler put the increment.)
    counted = between(out, "dusk-test-seen", "dusk-test-next")
    assert re.search(r"^dusk watch 3: the module wrote markdrop_seen: 0 -> "
                     r"1 at \S+markdrop.c:\d+, in markdrop_out$", counted,
                     re.M), counted
    assert "Breakpoint 1," not in counted, counted
    # Then the second datagram's stop at the hook.
    second = between(out, "dusk-test-next", "dusk-test-second")
    assert re.search(r"Breakpoint 1, markdrop_out \(.*UDP 4022 > 9101",
                     second), second
    assert not re.search(r"^dusk watch", second, re.M), second

    # -k: the kernel gave the skb an input interface between the
    # invocations; the watch without -k on skb->dev saw the kernel give it
    # a device (before: the prefetch's lines go in order) and went on.
    kernel = out[out.index("dusk-test-second\n"):
                 out.index("dusk-test-kernel\n")]
    assert re.search(r"^dusk: watchpoint 4 watches skb->dev: kernel "
                     r"0x[0-9a-f]+, 8 bytes, at 0x[0-9a-f]+ in the program; "
                     r"it stops when the module writes them$", kernel,
                     re.M), kernel
    assert re.search(r"^dusk: watchpoint 5 watches skb->skb_iif: kernel "
                     r"0x[0-9a-f]+, 4 bytes, at 0x[0-9a-f]+ in the program; "
                     r"it stops when the module writes them; -k: and when "
                     r"the kernel changed them$", kernel, re.M), kernel
    assert re.search(r"^dusk watch 5: the kernel changed skb->skb_iif "
                     r"\(kernel 0x[0-9a-f]+\) between invocations: 0 -> 1 "
                     r"\(seen when an invocation's prefetch brought it in: "
                     r"dusk_shadow_seed; stopped in the runtime\)\n\n"
                     r"Hardware watchpoint 5: .*\n\nOld value = 0\n"
                     r"New value = 1$", kernel, re.M), kernel
    # Changes of dusk-gdb's, never committed and forgotten by a refresh,
    # the kernel's bytes fetched again by dusk print (an inferior call),
    # by plain print (through the relay) or by the module's next read:
    # the kernel changed nothing, no stop, no report.
    call = between(out, "dusk-test-call", "dusk-test-called")
    assert "skb->skb_iif = 5   kernel: 0   * differs\n" in call, call
    assert "\nskb->skb_iif = 0   kernel: 0\n" in call, call
    assert "skb->skb_iif = 6   kernel: 0   * differs\n" in call, call
    assert "dusk watch" not in call and "Hardware watchpoint" not in call, \
        call
    assert not re.search(r"^dusk watch 4:", kernel, re.M), kernel
    assert "Breakpoint 1," not in kernel, kernel
    after = out[out.index("dusk-test-kernel\n"):]
    assert "dusk_shadow_seed" in after, after
    counts = [tuple(map(int, c)) for c in re.findall(
        r"^dusk-test-counts (\d+) (\d+) (\d+)$", out, re.M)]
    # Before the delete: 2 and 3 each saw the module's write once (2 maybe
    # the kernel's too: the second skb may be where the first was).
    assert [c[:2] for c in counts[:2]] == [(2, 1), (3, 1)], counts
    # After: 4 saw the kernel's change (lo's address) and went on, 5
    # stopped for it (lo's ifindex, 1).
    assert counts[2:] == [(4, 0, 1), (5, 0, 1)], counts
    # The session's end deletes the watches of its kernel memory.
    assert re.search(r"^dusk: watchpoint 4 deleted: the kernel memory it "
                     r"watched belonged to the session that ended\n"
                     r"dusk: watchpoint 5 deleted: .*\n"
                     r"Num .*\n1 +breakpoint .*\n.*\n1\.1 .*\n<6>", after,
                     re.M), after


def between(out, start, end):
    return out[out.index(start + "\n") + len(start) + 1:out.index(end + "\n")]


def test_watch_mi(harness, program, tmp_path):
    """Through gdb's MI (what IDEs use): dusk watch by
    -interpreter-exec console, the stop a watchpoint-trigger with the old
    and new value, dusk watch's line a console record; -break-list lists
    it, -break-delete deletes it."""
    env = dict(harness.target.env, DUSK_HOLD_MS="30000")
    gdb = Gdb(["--interpreter=mi3", "-nx", "--args", str(program),
               "port=9100", "set_mark=7"], env)
    seen = []
    try:
        _, t = gdb.mi_run_to_break(
            BREAK, r"markdrop: loaded", lambda: seen.extend(harness.script(
                UDP.format(sport=4023, port=9102, payload="mi"))))
        gdb.send('3-interpreter-exec console "dusk watch skb->mark"')
        gdb.wait_for(r"^3\^done")
        made = re.search(r'^~"dusk: watchpoint 2 watches skb->mark: kernel '
                         r'0x[0-9a-f]+, 4 bytes, at (0x[0-9a-f]+) in the '
                         r'program; it stops when the module writes them'
                         r'\\n"$', gdb.output, re.M)
        assert made, gdb.output
        gdb.send("4-break-list")
        listed = gdb.wait_for(r"^4\^done,BreakpointTable=.*$").group(0)
        assert re.search(r'\{number="2",type="hw watchpoint",disp="keep",'
                         r'enabled="y",.*what="\*\(__u32 \*\)'
                         + made.group(1), listed), listed
        gdb.send("5-exec-continue")
        gdb.wait_for(r"^5\^running")
        stop = gdb.wait_for(r'^\*stopped,reason="watchpoint-trigger".*$')
        assert re.search(r'wpt=\{number="2",exp="\*\(__u32 \*\)' +
                         made.group(1) + r'"\},value=\{old="0",new="7"\}',
                         stop.group(0)), stop.group(0)
        assert 'func="markdrop_out"' in stop.group(0), stop.group(0)
        assert re.search(r'^~"dusk watch 2: the module wrote skb->mark '
                         r'\(kernel 0x[0-9a-f]+\): 0 -> 7 at \S+markdrop.c:'
                         rf'{MARK_LINE}, in markdrop_out\\n"$', gdb.output,
                         re.M), gdb.output
        gdb.send("6-break-delete 2")
        gdb.wait_for(r"^6\^done")
        gdb.send('7-interpreter-exec console "handle SIGINT nostop noprint '
                 'pass"')
        gdb.wait_for(r"^7\^done")
        gdb.send("8-exec-continue")
        gdb.wait_for(r"^8\^running")
        t.join(timeout=120)
        assert seen == ["udp sent 1 received 1 marks 0x7"], gdb.output
        out = gdb.end_mi_program(9)
    finally:
        if gdb.proc.poll() is None:
            gdb.proc.kill()
    assert not CLEAN.search(out), out
    # Deleted: no second watchpoint stop.
    assert len(re.findall(r'reason="watchpoint-trigger"', out)) == 1, out
