# SPDX-License-Identifier: GPL-2.0
"""ipp2p (examples/ipp2p, a module of two source files): the .ko and the
user-level program on the same traffic. Signatures of BitTorrent, eDonkey
and Gnutella over TCP and UDP are classified, look-alikes are not; the
first match of each flow is logged; marks (seen by the receiver through
SO_RCVMARK) and drops apply to every packet of a classified flow."""

import pytest

from diff import MODES, Case, example, harness  # noqa: F401 (fixture)

IPP2P = example("ipp2p")

BT_HANDSHAKE = r"\x13BitTorrent protocol\0\0\0\0\0\0\0\0"
BT_ANNOUNCE = r"GET /announce?info_hash=%12%34 HTTP/1.0\r\n\r\n"
EDK_HELLO = r"\xe3\x05\x00\x00\x00\x01\x10\x00\x00\x00"       # length 5
EDK_BAD_LENGTH = r"\xe3\x09\x00\x00\x00\x01\x10\x00\x00\x00"
GNU_CONNECT = r"GNUTELLA CONNECT/0.6\r\n\r\n"
DHT_PING = "d1:ad2:id20:abcdefghij0123456789e1:q4:pinge"
EDK_GET_SOURCES = r"\xe3\x9a\x01\x02"
GND = r"GND\x02\x00\x01\x01\x01"

TCP_TRAFFIC = [
    f'$N tcp -s 127.0.0.1:40001 127.0.0.1 6881 "{BT_HANDSHAKE}"',
    f'$N tcp -s 127.0.0.1:40002 127.0.0.1 6969 "{BT_ANNOUNCE}"',
    f'$N tcp -s 127.0.0.1:40003 127.0.0.1 4662 "{EDK_HELLO}"',
    f'$N tcp -s 127.0.0.1:40004 127.0.0.1 6346 "{GNU_CONNECT}"',
    r'$N tcp -s 127.0.0.1:40008 127.0.0.1 8080 "GET / HTTP/1.0\r\n\r\n"',
    f'$N tcp -s 127.0.0.1:40009 127.0.0.1 4662 "{EDK_BAD_LENGTH}"',
]
TCP_SEEN = [
    "tcp connected sent 28 received 28 sum 0x000007b2 reply ok",
    "tcp connected sent 43 received 43 sum 0x00000c11 reply ok",
    "tcp connected sent 10 received 10 sum 0x000000f9 reply ok",
    "tcp connected sent 24 received 24 sum 0x00000577 reply ok",
    "tcp connected sent 18 received 18 sum 0x0000037b reply ok",
    "tcp connected sent 10 received 10 sum 0x000000fd reply ok",
]
TCP_LOG = [
    "<6>ipp2p: bittorrent: TCP 127.0.0.1:40001 -> 127.0.0.1:6881",
    "<6>ipp2p: bittorrent: TCP 127.0.0.1:40002 -> 127.0.0.1:6969",
    "<6>ipp2p: edonkey: TCP 127.0.0.1:40003 -> 127.0.0.1:4662",
    "<6>ipp2p: gnutella: TCP 127.0.0.1:40004 -> 127.0.0.1:6346",
]

# Two datagrams of one DHT flow, a plain one in the same flow, one of each
# other protocol, and a plain one in a flow of its own.
UDP_TRAFFIC = [
    f'$N udp -m -n 2 -s 127.0.0.1:40005 127.0.0.1 6881 "{DHT_PING}"',
    '$N udp -m -s 127.0.0.1:40005 127.0.0.1 6881 plain',
    f'$N udp -m -s 127.0.0.1:40006 127.0.0.1 4672 "{EDK_GET_SOURCES}"',
    f'$N udp -m -s 127.0.0.1:40007 127.0.0.1 6346 "{GND}"',
    '$N udp -m -s 127.0.0.1:40010 127.0.0.1 9999 hello',
]
UDP_LOG = [
    "<6>ipp2p: bittorrent: UDP 127.0.0.1:40005 -> 127.0.0.1:6881",
    "<6>ipp2p: edonkey: UDP 127.0.0.1:40006 -> 127.0.0.1:4672",
    "<6>ipp2p: gnutella: UDP 127.0.0.1:40007 -> 127.0.0.1:6346",
]


def counters(bt, edk, gnu, dropped=0):
    return [
        f"<6>ipp2p: bittorrent: {bt[0]} matches in {bt[1]} flows",
        f"<6>ipp2p: edonkey: {edk[0]} matches in {edk[1]} flows",
        f"<6>ipp2p: gnutella: {gnu[0]} matches in {gnu[1]} flows",
        f"<6>ipp2p: {dropped} packets dropped, 0 flows not remembered",
    ]


# A .ko's drop on the output path fails the sender's sendto() with EPERM
# (nf_hook_slow's verdict goes back up the call chain). Through dusk the
# packet is queued and the verdict comes later: sendto() has returned. So
# only what was received is compared; drop_seen_by_sender checks the .ko.
SEND_ERRORS = (r"^udp sent \d+ received (\d+)( send-errors \d+ \(EPERM\))?",
               r"udp received \1")


def drop_seen_by_sender(run):
    if run.mode == "ko":
        assert run.observations[:2] == [
            "udp sent 0 received 0 send-errors 2 (EPERM)",
            "udp sent 0 received 0 send-errors 1 (EPERM)",
        ], run.observations


CASES = {
    "classify": Case(
        script="\n".join(TCP_TRAFFIC + UDP_TRAFFIC),
        expect=TCP_SEEN + [
            "udp sent 2 received 2 marks 0x0,0x0",
            "udp sent 1 received 1 marks 0x0",
            "udp sent 1 received 1 marks 0x0",
            "udp sent 1 received 1 marks 0x0",
            "udp sent 1 received 1 marks 0x0",
        ],
        # %#x of 0 is "0x0" in the kernel's vsprintf (glibc prints "0")
        log=["<6>ipp2p: classifying P2P flows, mark 0x0, at most 1024 flows "
             "idle for 300 s"] + TCP_LOG + UDP_LOG +
            counters(bt=(4, 3), edk=(2, 2), gnu=(2, 2))),

    "mark": Case(
        params=("mark=0x100",),
        script="\n".join(UDP_TRAFFIC),
        expect=[
            "udp sent 2 received 2 marks 0x101,0x101",
            "udp sent 1 received 1 marks 0x101",
            "udp sent 1 received 1 marks 0x102",
            "udp sent 1 received 1 marks 0x103",
            "udp sent 1 received 1 marks 0x0",
        ],
        log=["<6>ipp2p: classifying P2P flows, mark 0x100, at most 1024 "
             "flows idle for 300 s"] + UDP_LOG +
            counters(bt=(2, 1), edk=(1, 1), gnu=(1, 1))),

    "drop": Case(
        params=("drop=1", "max_flows=16", "flow_timeout=60"),
        script="\n".join(UDP_TRAFFIC[:2] + [
            '$N udp -m -s 127.0.0.1:40011 127.0.0.1 6881 plain']),
        expect=[
            "udp received 0",
            "udp received 0",
            "udp received 1 marks 0x0",
        ],
        log=["<6>ipp2p: dropping P2P flows, mark 0x0, at most 16 flows idle "
             "for 60 s", UDP_LOG[0]] +
            counters(bt=(2, 1), edk=(0, 0), gnu=(0, 0), dropped=3),
        normalise=(SEND_ERRORS,),
        check=drop_seen_by_sender),

    "bad-timeout": Case(
        params=("flow_timeout=0",),
        loaded=False,
        expect=[],
        log=["<3>ipp2p: flow_timeout must not be 0"]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", CASES)
def test_ipp2p(harness, key, mode):
    harness.check(IPP2P, key, CASES[key], mode)
