# SPDX-License-Identifier: GPL-2.0
"""PROG --trace FILE: every message that crosses the session's seam, one
line each, in order. lwfw blocks 127.0.0.5; one datagram from it and one
from elsewhere cross its PRE_ROUTING hook. The trace must show the HELLO
handshake (a cookie, then the session), the hook's registration, each HOOK answered by a VERDICT naming its packet
(the blocked one dropped), and BYE, with request ids numbered 1, 2, 3...
on the main channel."""

import re

from diff import Case, example, harness  # noqa: F401 (fixture)

LWFW = example("lwfw")
NF_DROP, NF_ACCEPT = 0, 1
LINE = re.compile(r"^(\d+\.\d{6}) ([<>]) ([A-Z_]+)(/reply)? ch (main|watchdog)"
                  r" id (\d+)(?: inv (\d+))?(.*)$")


def test_trace_lwfw(harness, tmp_path):  # noqa: F811 (fixture)
    trace = tmp_path / "lwfw.trace"
    case = Case(
        params=("--trace", str(trace), "block_ip=127.0.0.5"),
        script="\n".join([
            "$N udp -s 127.0.0.5:4005 127.0.0.1 9100 from-blocked",
            "$N udp -s 127.0.0.6:4006 127.0.0.1 9100 from-another",
        ]),
        expect=["udp sent 1 received 0", "udp sent 1 received 1"])
    ko = harness.run_ko(LWFW, case)
    run = harness.run_user(LWFW, case, ko)
    assert run.loaded and run.exit_status == 0, run.output[-3000:]
    assert run.observations == case.expect, run.observations

    lines = trace.read_text().splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), [ln for ln, m in zip(lines, parsed) if not m][:5]
    msgs = [(m[2], m[3], bool(m[4]), m[5], int(m[6]), m[8]) for m in parsed]
    times = [float(m[1]) for m in parsed]
    assert times == sorted(times)

    # HELLO first (sent again if its reply is slow), answered with a
    # cookie; HELLO 2 with it, answered with the session; BYE last,
    # answered.
    first_rx = next(i for i, m in enumerate(msgs) if m[0] == "<")
    assert first_rx >= 1 and all(m[:3] == (">", "HELLO", False)
                                 for m in msgs[:first_rx]), lines[:4]
    assert msgs[first_rx][:5] == ("<", "HELLO", True, "main", 1), lines[:4]
    assert "status -11 " in msgs[first_rx][5], lines[:4]
    second = [i for i, m in enumerate(msgs) if m[1:5] == ("HELLO", False,
                                                          "main", 2)]
    answer = [i for i, m in enumerate(msgs) if m[1:5] == ("HELLO", True,
                                                          "main", 2)]
    assert second and answer and first_rx < second[0] < answer[0], lines[:8]
    assert all("session " in msgs[i][5] for i in answer), lines[:8]
    first_rx = answer[0]
    bye = next(i for i, m in enumerate(msgs) if m[:3] == (">", "BYE", False))
    assert all(m[:2] == (">", "BYE") for m in msgs[bye:-1]), lines[bye:]
    assert msgs[-1][:3] == ("<", "BYE", True), lines[-3:]
    # The hook registered (PRE_ROUTING of IPv4) before any HOOK came.
    reg = [i for i, m in enumerate(msgs) if m[:3] == (">", "HOOK_REGISTER", False)]
    assert reg and "pf 2 hooknum 0" in lines[reg[0]], lines[:20]
    first_hook = min(i for i, m in enumerate(msgs) if m[1] == "HOOK")
    assert reg[0] < first_hook

    # Every HOOK gets a VERDICT naming its packet, after it. HOOKs run in
    # arrival order, so those left unanswered when the program stopped
    # (SIGINT; the target's own traffic crosses the hook too) are the last
    # to have arrived: released by policy.
    # Each HOOK and VERDICT carries one or more packets.
    verdicts = {}
    for i, (d, t, reply, ch, mid, rest) in enumerate(msgs):
        if d == ">" and t == "VERDICT" and not reply:
            for packet, verdict in re.findall(
                    r"\[packet (\d+) verdict (\d+)", rest):
                verdicts.setdefault(int(packet), (i, int(verdict)))
    hooks = {}
    for i, (d, t, reply, ch, mid, rest) in enumerate(msgs):
        if d == "<" and t == "HOOK":
            for packet in re.findall(r"\[packet (\d+) ", rest):
                hooks.setdefault(int(packet), i)
    # Nobody answers a VERDICT.
    assert not [m for m in msgs if m[1] == "VERDICT" and m[2]], lines
    assert len(hooks) >= 2, lines
    answered = [i for p, i in hooks.items() if p in verdicts]
    unanswered = [i for p, i in hooks.items() if p not in verdicts]
    assert len(answered) >= 2, lines
    assert not unanswered or max(answered) < min(unanswered), \
        [lines[i] for i in unanswered]
    for packet, i in hooks.items():
        if packet in verdicts:
            assert verdicts[packet][0] > i
    assert NF_DROP in {v for _, v in verdicts.values()}
    assert NF_ACCEPT in {v for _, v in verdicts.values()}

    # Requests on the main channel: ids 1, 2, 3... in order of first
    # sending (a retransmission repeats its id).
    ids = []
    for d, t, reply, ch, mid, rest in msgs[first_rx + 1:]:
        if d == ">" and ch == "main" and mid not in ids:
            ids.append(mid)
    assert ids == list(range(1, len(ids) + 1)), ids
