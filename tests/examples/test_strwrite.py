# SPDX-License-Identifier: GPL-2.0
"""String and memory functions that write, as a .ko and at user level.

strwrite    every writing function of the kernel's string library (the
            str*cpy/str*cat/strscpy family, mem*, the sprintf family,
            kstrdup and friends, bin2hex, hex_dump_to_buffer,
            string_escape_mem, csum_partial_copy_nocheck, skb_copy_bits),
            whether GCC treats it as a builtin, folds it, lowers it to a
            call or the module calls the kernel's out-of-line one, on four
            destinations (the skb's linear data, kmalloc'ed memory, a
            kernel global: the hostname, the module's own memory), read
            back by three readers (the module itself, a second hook, the
            kernel: skb_store_bits into the payload, the receiving socket,
            /proc/sys/kernel/hostname)
sshbanner   the rewriter loop of real modules: while strnstr() finds
            "SSH-1" in the payload, strncpy() "SSH-2" over it; it ends only
            if the write lands, and the receiver gets the new banner
"""

import re

import pytest

from diff import MODES, Case, harness, mod  # noqa: F401 (fixture)

SLOT = 32
PORT = 9700

# Each name is a test of strwrite.c's strwrite_apply().
FUNCTIONS = (
    "strcpy", "strncpy", "strlcpy", "strscpy", "strscpy-E2BIG",
    "strscpy_pad", "strcat", "strncat", "strlcat",
    "memcpy", "memmove", "memset", "memset32", "memset64", "memcpy_and_pad",
    "sprintf", "sprintf-literal", "sprintf-%s", "snprintf", "scnprintf",
    "vsnprintf", "vscnprintf", "vsprintf",
    "strreplace", "bin2hex", "hex_dump_to_buffer", "string_escape_mem",
    "csum_partial_copy_nocheck", "skb_copy_bits",
    "kstrdup", "kstrndup", "kmemdup", "kmemdup_nul", "kasprintf",
)
DESTS = ("data", "kmem", "global", "own")

# What every destination holds before the function runs: "ab", NUL, dots.
RESET = b"ab\0" + b"." * (SLOT - 3)


def hexbytes(b):
    return " ".join(f"{x:02x}" for x in b)


def payload(fn):
    """The datagram naming fn: its name NUL-padded, then four slots."""
    raw = fn.encode().ljust(SLOT, b"\0") + RESET * 4
    return "".join(chr(c) if 0x21 <= c < 0x7f and c != 0x5c else
                   f"\\x{c:02x}" for c in raw)


def received(line):
    """The bytes of a nettest "udp payload N "..."" line."""
    text = line.split(" ", 3)[3][1:-1]
    return re.sub(rb"\\x([0-9a-f]{2})",
                  lambda m: bytes([int(m.group(1), 16)]), text.encode())


def matrix_script():
    lines = []
    for fn in FUNCTIONS:
        lines.append(f"$N udp -p -w 3000 127.0.0.1 {PORT} '{payload(fn)}'")
        lines.append('echo "hostname $(cat /proc/sys/kernel/hostname)"')
    return "\n".join(lines)


def every_write_landed(run):
    """The module read back a change in every destination for every
    function, and the receiver saw one too."""
    reset = hexbytes(RESET)
    for fn in FUNCTIONS:
        for dest in DESTS:
            rx = re.compile(rf"^<6>strwrite: {re.escape(fn)} {dest}: "
                            rf"returned -?\d+, reads (.*), NUL at -?\d+$")
            got = [m.group(1) for line in run.log for m in [rx.match(line)]
                   if m]
            assert len(got) == 1, (fn, dest, run.log)
            assert got[0] != reset, f"{fn} left {dest} as it was"
    payloads = [received(line) for line in run.observations
                if line.startswith("udp payload ")]
    assert len(payloads) == len(FUNCTIONS), run.observations
    for fn, got in zip(FUNCTIONS, payloads):
        for i, dest in enumerate(DESTS):
            cell = got[SLOT * (i + 1):SLOT * (i + 2)]
            assert cell != RESET, f"{fn}: the receiver got {dest} unchanged"
    hostnames = [line for line in run.observations
                 if line.startswith("hostname ")]
    # (a write past the NUL leaves the hostname "ab": the bytes are in
    # the global slot of the payload)
    assert len(hostnames) == len(FUNCTIONS)
    assert hostnames[0] == "hostname strcpy", hostnames


STRWRITE = mod("strwrite")
STRWRITE_CASES = {
    "matrix": Case(
        params=(f"port={PORT}",),
        script=matrix_script(),
        check=every_write_landed,
        log=None),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", STRWRITE_CASES)
def test_strwrite(harness, key, mode):
    harness.check(STRWRITE, key, STRWRITE_CASES[key], mode)


def test_strwrite_matrix_exact(harness):
    """A few cells in full, in the .ko's words: the .ko run is the
    reference the user-level run is compared with, so it must be right."""
    run = harness.check(STRWRITE, "matrix", STRWRITE_CASES["matrix"], "ko")

    def reads(fn, dest):
        rx = re.compile(rf"^<6>strwrite: {re.escape(fn)} {dest}: "
                        rf"returned (-?\d+), reads (.*), NUL at -?\d+$")
        return [(int(m.group(1)), m.group(2)) for line in run.log
                for m in [rx.match(line)] if m][0]

    for dest in DESTS:
        assert reads("strncpy", dest) == (
            1, hexbytes(b"ncpy\0\0\0\0" + RESET[8:]))
        assert reads("strscpy-E2BIG", dest) == (
            -7, hexbytes(b"scpy-\0" + RESET[6:]))
        assert reads("sprintf-%s", dest) == (
            9, hexbytes(b"percent-s\0" + RESET[10:]))
        assert reads("memset64", dest) == (
            1, hexbytes(RESET[:8] + b"12345678" + RESET[16:]))


SSHBANNER = mod("sshbanner")
SSHBANNER_CASES = {
    "rewrite": Case(
        params=("port=2222",),
        script="\n".join([
            "$N udp -p 127.0.0.1 2222 'SSH-1.99-OpenSSH_3.9p1\\r\\n'",
            "$N udp -p 127.0.0.1 2222 'SSH-1.5-x SSH-1.5-y SSH-2.0-z'",
            "$N udp -p 127.0.0.1 2222 'no banner here'",
            # another port: left alone
            "$N udp -p 127.0.0.1 2223 'SSH-1.99-OpenSSH_3.9p1'",
        ]),
        expect=[
            "udp datagram 0: 24 bytes, not what was sent",
            'udp payload 0 "SSH-2.99-OpenSSH_3.9p1\\x0d\\x0a"',
            "udp sent 1 received 1",
            "udp datagram 0: 29 bytes, not what was sent",
            'udp payload 0 "SSH-2.5-x SSH-2.5-y SSH-2.0-z"',
            "udp sent 1 received 1",
            'udp payload 0 "no banner here"',
            "udp sent 1 received 1",
            'udp payload 0 "SSH-1.99-OpenSSH_3.9p1"',
            "udp sent 1 received 1",
        ],
        log=[
            "<6>sshbanner: rewriting SSH-1 banners to UDP port 2222",
            "<6>sshbanner: changed banner at offset 0",
            "<6>sshbanner: changed banner at offset 0",
            "<6>sshbanner: changed banner at offset 10",
            "<6>sshbanner: 3 banners rewritten",
        ]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", SSHBANNER_CASES)
def test_sshbanner(harness, key, mode):
    harness.check(SSHBANNER, key, SSHBANNER_CASES[key], mode)


def test_strwrite_restores_the_hostname(harness):
    """After both runs the kernel global holds what it held before: the
    user-level module_exit's plain stores into it were committed too."""
    case = STRWRITE_CASES["matrix"]
    seen = set()
    for mode in MODES:
        run = harness.run(STRWRITE, "matrix", case, mode)
        seen |= {line.split(" ", 1)[1] for line in run.observations
                 if line.startswith("hostname ")}
        assert run.log[-1] == f"<6>strwrite: {len(FUNCTIONS)} applied, " \
                              f"0 unknown", run.log[-1:]
    now = harness.exec("cat /proc/sys/kernel/hostname").strip()
    assert now not in seen, (now, seen)
