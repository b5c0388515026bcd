# SPDX-License-Identifier: GPL-2.0
"""lwfw (examples/lwfw): the .ko and the user-level program on the same
traffic. Each rule drops what it should and nothing else; drops are logged
(with ports for TCP and UDP); the counters at unload add up."""

import pytest

from diff import MODES, Case, example, harness  # noqa: F401 (fixture)

LWFW = example("lwfw")

# The target's own agent connection (eth0) crosses PRE_ROUTING too, as
# many packets as its timing makes: the "seen" count is only checked to be
# at least what the scenario sent.
SEEN = (r"^(<6>lwfw: )\d+( packets seen)$", r"\1N\2")


def seen_at_least(n):
    def check(run):
        seen = run.numbers(r"lwfw: (\d+) packets seen")
        assert len(seen) == 1 and seen[0] >= n, seen
    return check


PING = ('ping -c 1 -W 2 {a} >/dev/null && echo "ping {a} answered" || '
        'echo "ping {a} unanswered"')

CASES = {
    "address": Case(
        params=("block_ip=127.0.0.5",),
        script="\n".join([
            "$N udp -s 127.0.0.5:4005 127.0.0.1 9100 from-blocked",
            "$N udp -s 127.0.0.6:4006 127.0.0.1 9100 from-another",
            "$N udp -s 127.0.0.1:4001 -r 127.0.0.5:9101 127.0.0.5 9101 "
            "to-blocked",
            PING.format(a="127.0.0.5"),
            PING.format(a="127.0.0.1"),
        ]),
        expect=[
            "udp sent 1 received 0",
            "udp sent 1 received 1",
            "udp sent 1 received 0",
            "ping 127.0.0.5 unanswered",
            "ping 127.0.0.1 answered",
        ],
        log=[
            "<6>lwfw: blocking address 127.0.0.5",
            "<6>lwfw: loaded",
            "<6>lwfw: drop UDP 127.0.0.5:4005 -> 127.0.0.1:9100 on lo "
            "(address)",
            "<6>lwfw: drop UDP 127.0.0.1:4001 -> 127.0.0.5:9101 on lo "
            "(address)",
            "<6>lwfw: drop protocol 1 127.0.0.1 -> 127.0.0.5 on lo (address)",
            "<6>lwfw: N packets seen",
            "<6>lwfw: dropped: interface 0, address 3, port 0",
            "<6>lwfw: unloaded",
        ],
        normalise=(SEEN,),
        # 3 dropped, 1 datagram and an echo request and reply through
        check=seen_at_least(6)),

    "port": Case(
        params=("block_port=8000",),
        script="\n".join([
            "$N udp -s 127.0.0.1:4001 127.0.0.1 8000 to-8000",
            "$N udp -s 127.0.0.1:4001 127.0.0.1 8001 to-8001",
            "$N udp -s 127.0.0.1:8000 127.0.0.1 9102 from-8000",
            # One SYN only: the kernel would resend it after 1 s.
            "$N tcp -c 700 -s 127.0.0.1:4002 127.0.0.1 8000 blocked",
            "$N tcp -s 127.0.0.1:4003 127.0.0.1 8001 hello",
        ]),
        expect=[
            "udp sent 1 received 0",
            "udp sent 1 received 1",
            "udp sent 1 received 1",
            "tcp connect timeout",
            "tcp connected sent 5 received 5 sum 0x00000214 reply ok",
        ],
        log=[
            "<6>lwfw: blocking port 8000",
            "<6>lwfw: loaded",
            "<6>lwfw: drop UDP 127.0.0.1:4001 -> 127.0.0.1:8000 on lo (port)",
            "<6>lwfw: drop TCP 127.0.0.1:4002 -> 127.0.0.1:8000 on lo (port)",
            "<6>lwfw: N packets seen",
            "<6>lwfw: dropped: interface 0, address 0, port 2",
            "<6>lwfw: unloaded",
        ],
        normalise=(SEEN,),
        check=seen_at_least(8)),

    "interface": Case(
        params=("block_if=lo",),
        script="\n".join([
            "$N udp -s 127.0.0.1:4001 127.0.0.1 9100 over-lo",
            PING.format(a="127.0.0.1"),
        ]),
        expect=[
            "udp sent 1 received 0",
            "ping 127.0.0.1 unanswered",
        ],
        log=[
            "<6>lwfw: blocking interface lo",
            "<6>lwfw: loaded",
            "<6>lwfw: drop UDP 127.0.0.1:4001 -> 127.0.0.1:9100 on lo "
            "(interface)",
            "<6>lwfw: drop protocol 1 127.0.0.1 -> 127.0.0.1 on lo "
            "(interface)",
            "<6>lwfw: N packets seen",
            "<6>lwfw: dropped: interface 2, address 0, port 0",
            "<6>lwfw: unloaded",
        ],
        normalise=(SEEN,),
        check=seen_at_least(2)),

    "no-match": Case(
        params=("block_if=dummy0", "block_ip=192.0.2.1", "block_port=9999"),
        script="\n".join([
            "$N udp -s 127.0.0.1:4001 127.0.0.1 9100 passes",
            "$N tcp -s 127.0.0.1:4003 127.0.0.1 8001 hello",
            PING.format(a="127.0.0.1"),
        ]),
        expect=[
            "udp sent 1 received 1",
            "tcp connected sent 5 received 5 sum 0x00000214 reply ok",
            "ping 127.0.0.1 answered",
        ],
        log=[
            "<6>lwfw: blocking interface dummy0",
            "<6>lwfw: blocking address 192.0.2.1",
            "<6>lwfw: blocking port 9999",
            "<6>lwfw: loaded",
            "<6>lwfw: N packets seen",
            "<6>lwfw: dropped: interface 0, address 0, port 0",
            "<6>lwfw: unloaded",
        ],
        normalise=(SEEN,),
        check=seen_at_least(6)),

    "bad-address": Case(
        params=("block_ip=not-an-address",),
        loaded=False,
        expect=[],
        log=["<3>lwfw: block_ip=not-an-address: not an IPv4 address"]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", CASES)
def test_lwfw(harness, key, mode):
    harness.check(LWFW, key, CASES[key], mode)
