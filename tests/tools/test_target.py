# SPDX-License-Identifier: GPL-2.0
"""bin/dusk-target: the embedded default target, booted for real."""

import hashlib
import os
import re
import socket
import stat
import subprocess
import time

from conftest import DUSK_AGENT, DUSK_KO, SRCDIR, TARGET_FORWARDS, Target

KERNEL_RELEASE = subprocess.run([str(SRCDIR / "build-aux" / "find-kernel")],
                                capture_output=True, text=True,
                                check=True).stdout.strip()
ENDPOINT_RE = re.compile(r"^127\.0\.0\.1:(\d+)$")


def port_of(endpoint):
    m = ENDPOINT_RE.match(endpoint)
    assert m, f"not a 127.0.0.1 endpoint: {endpoint!r}"
    return int(m.group(1))


def alive(pid):
    """Is pid a live process (a zombie waiting for its reaper is not)?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def qemu_sockets(pid):
    """(proto, local address, port) of every socket qemu pid listens on."""
    out = subprocess.run(["ss", "-Hlntup"], capture_output=True, text=True,
                         check=True).stdout
    socks = []
    for line in out.splitlines():
        if f"pid={pid}," not in line:
            continue
        f = line.split()
        addr, _, port = f[4].rpartition(":")
        socks.append((f[0], addr, int(port)))
    return socks


# ---- status, the state directory, the key ---------------------------------

def test_status_of_running_target(target):
    rc, st = target.status()
    assert rc == 0
    assert st["state"] == "running"
    assert st["name"] == target.name
    assert st["release"] == KERNEL_RELEASE
    assert st["key"] == str(target.key_file)
    port_of(st["endpoint"])
    port_of(st["agent"])
    assert set(st["forwards"]) == set(TARGET_FORWARDS)


def test_state_files_for_libdusk(target):
    """dusk_config_init reads DUSK_STATE_DIR/DUSK_TARGET_NAME/{endpoint,key}."""
    d = os.path.join(target.env["DUSK_STATE_DIR"],
                     target.env["DUSK_TARGET_NAME"])
    with open(os.path.join(d, "endpoint")) as f:
        assert f.read() == target.endpoint + "\n"
    with open(os.path.join(d, "key")) as f:
        assert re.fullmatch(r"[0-9a-f]{64}\n", f.read())
    assert stat.S_IMODE(os.stat(os.path.join(d, "key")).st_mode) == 0o600


def test_status_of_unknown_target(target):
    t = Target("never-started", target.state_root)
    rc, st = t.status()
    assert rc == 3
    assert st["state"] == "stopped"
    assert st["endpoint"] == "-"


def test_up_again_is_a_no_op(target):
    p = target.run("up")
    assert p.returncode == 0, p.stderr
    assert "already running" in p.stderr
    assert target.status()[1]["endpoint"] == target.endpoint


def test_guest_runs_the_target_kernel(target):
    rc, out, err = target.exec("uname -r")
    assert (rc, out, err) == (0, KERNEL_RELEASE + "\n", "")


def test_guest_network(target):
    rc, out, _ = target.exec("ip -o -4 addr show eth0; ip route; "
                             "ip -o link show lo")
    assert rc == 0
    assert "inet 10.0.2.15/24" in out
    assert "default via 10.0.2.2" in out
    assert "state UNKNOWN" in out or ",UP" in out


def test_dusk_ko(target):
    """dusk.ko is loaded if the build tree has one, and up says if not."""
    rc, out, _ = target.exec("lsmod")
    assert rc == 0
    loaded = re.search(r"^dusk\s", out, re.M) is not None
    if DUSK_KO.exists():
        assert loaded, target.up_stderr
        rc, out, _ = target.exec("cat /proc/net/udp")
        assert ":1B58 " in out          # port 7000
    else:
        assert not loaded
        assert "booting without dusk.ko" in target.up_stderr


def test_nfqueue_modules(target):
    rc, out, err = target.exec("modprobe nfnetlink_queue && lsmod")
    assert rc == 0, err
    assert re.search(r"^nfnetlink_queue\s", out, re.M)
    assert re.search(r"^nfnetlink\s", out, re.M)


# ---- exec ------------------------------------------------------------------

def test_exec_status_and_separate_streams(target):
    rc, out, err = target.exec("echo out; echo err >&2; echo out2; exit 7")
    assert rc == 7
    assert out == "out\nout2\n"
    assert err == "err\n"


def test_exec_passes_argv_verbatim(target):
    rc, out, _ = target.exec(["printf", "%s|", "a b", "c'd\"e", "", "$HOME"])
    assert (rc, out) == (0, "a b|c'd\"e||$HOME|")


def test_exec_runs_as_root_with_stdin_null(target):
    rc, out, _ = target.exec("id -u; cat; echo end")
    assert (rc, out) == (0, "0\nend\n")


def test_exec_killed_by_signal(target):
    rc, _, _ = target.exec("kill -9 $$")
    assert rc == 128 + 9


def test_exec_missing_command(target):
    rc, _, err = target.exec(["/no/such/command"])
    assert rc == 127
    assert "/no/such/command" in err


def test_exec_large_output(target):
    rc, out, _ = target.exec("head -c 1000000 /dev/zero | tr '\\0' x")
    assert rc == 0
    assert out == "x" * 1000000


def test_exec_timeout(target):
    t0 = time.monotonic()
    rc, _, err = target.exec("echo started; sleep 60", timeout=2)
    assert rc == 124
    assert "timed out" in err
    assert time.monotonic() - t0 < 20
    # The command was killed, not left behind.
    rc, out, _ = target.exec("ps")
    assert "sleep 60" not in out


def test_exec_does_not_wait_for_background_processes(target):
    t0 = time.monotonic()
    rc, out, _ = target.exec("sleep 30 & echo started")
    assert (rc, out) == (0, "started\n")
    assert time.monotonic() - t0 < 15
    target.exec("killall sleep; true")   # busybox: no pkill


def test_exec_usage_errors(target):
    assert target.run("exec").returncode == 2
    assert target.run("exec", "--timeout", "x", "--", "true").returncode == 2


def test_wrong_key_is_refused(target, tmp_path):
    bad = tmp_path / "key"
    bad.write_text("00" * 32 + "\n")
    agent = target.status()[1]["agent"]
    p = subprocess.run([str(DUSK_AGENT), "exec", "--connect", agent,
                        "--key", str(bad), "--", "true"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 255
    assert "authentication failed" in p.stderr


def test_agent_selftest():
    """SHA-256 and HMAC-SHA256 of the agent against published vectors."""
    p = subprocess.run([str(DUSK_AGENT), "selftest"], capture_output=True,
                       text=True)
    assert (p.returncode, p.stdout) == (0, "selftest: ok\n")


# ---- push and insmod -------------------------------------------------------

def test_push_preserves_content_and_exec_bit(target, tmp_path):
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho pushed \"$@\"\n")
    script.chmod(0o755)
    data = tmp_path / "data.bin"
    blob = os.urandom(300000)
    data.write_bytes(blob)
    data.chmod(0o640)

    target.push(script)                  # default: /tmp/basename
    target.push(data, "/root/blob")
    rc, out, _ = target.exec("/tmp/hello.sh a b; stat -c %a /tmp/hello.sh "
                             "/root/blob; sha256sum /root/blob")
    assert rc == 0
    lines = out.splitlines()
    assert lines[:3] == ["pushed a b", "755", "640"]
    assert lines[3].split()[0] == hashlib.sha256(blob).hexdigest()


def test_push_into_directory(target, tmp_path):
    f = tmp_path / "into-dir.txt"
    f.write_text("x\n")
    target.push(f, "/root")
    assert target.exec("cat /root/into-dir.txt")[:2] == (0, "x\n")


def test_push_errors(target, tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    p = target.run("push", f, "/no/such/dir/f")
    assert p.returncode != 0
    assert "/no/such/dir/f: No such file or directory" in p.stderr
    p = target.run("push", tmp_path / "missing")
    assert p.returncode != 0
    assert "missing" in p.stderr


def test_insmod_with_params(target):
    ko = f"/lib/modules/{KERNEL_RELEASE}/kernel/drivers/net/dummy.ko"
    rc, _, err = target.insmod(ko, "numdummies=3")
    assert rc == 0, err
    rc, out, _ = target.exec("ip -o link; rmmod dummy")
    assert rc == 0
    assert re.findall(r"dummy\d", out) == ["dummy0", "dummy1", "dummy2"]


def test_insmod_bad_module(target, tmp_path):
    bad = tmp_path / "bad.ko"
    bad.write_bytes(b"this is no ELF file\n" * 50)
    rc, _, err = target.insmod(bad)
    assert rc != 0
    assert "can't insert" in err
    assert "invalid module format" in err.lower()
    # What the kernel said, too.
    assert "ELF" in err


def test_insmod_missing_file(target, tmp_path):
    rc, _, err = target.insmod(tmp_path / "nonexistent.ko")
    assert rc != 0
    assert "nonexistent.ko" in err


def test_log(target):
    log = target.log()
    assert f"Linux version {KERNEL_RELEASE}" in log
    assert "Command line: console=ttyS0" in log


# ---- the network: forwards -------------------------------------------------

def test_forwards_listen_on_loopback_only(target):
    rc, st = target.status()
    socks = qemu_sockets(int(st["pid"]))
    assert socks, "qemu listens on nothing?"
    for proto, addr, port in socks:
        assert addr == "127.0.0.1", (proto, addr, port)
    want = {("udp", port_of(st["endpoint"])), ("tcp", port_of(st["agent"]))}
    for spec, port in target.forwards.items():
        want.add((spec.partition(":")[0], port))
    assert want <= {(proto, port) for proto, _, port in socks}


def test_tcp_forward(target):
    rc, _, err = target.exec("nc -ll -p 8000 -e cat </dev/null >/dev/null "
                             "2>&1 &")
    assert rc == 0, err
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(
                    ("127.0.0.1", target.forwards["tcp:8000"]),
                    timeout=5) as s:
                s.sendall(b"through the forward\n")
                reply = s.recv(100)
                if not reply:
                    # qemu accepts on the host before it connects in the
                    # guest: closed at once while nc is not listening yet.
                    raise ConnectionResetError("nc not listening yet")
                assert reply == b"through the forward\n"
                break
        except (ConnectionError, socket.timeout):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    target.exec("killall nc; true")


def test_udp_forward_carries_replies(target, tmp_path):
    """The path dusk.ko's replies take: guest UDP answers reach the host."""
    echo = tmp_path / "udp-echo"
    subprocess.run(["gcc", "-static", "-O2", "-o", str(echo),
                    str(SRCDIR / "tests" / "tools" / "udp-echo.c")],
                   check=True)
    target.push(echo)
    rc, _, err = target.exec("/tmp/udp-echo 9000 </dev/null >/dev/null "
                             "2>&1 &")
    assert rc == 0, err
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        for i in range(20):             # until the echo has bound its port
            s.sendto(b"ping %d" % i,
                     ("127.0.0.1", target.forwards["udp:9000"]))
            try:
                data, _ = s.recvfrom(100)
                break
            except socket.timeout:
                continue
        else:
            raise AssertionError("no UDP reply through the forward")
        assert data.startswith(b"ping ")
    target.exec("killall udp-echo; true")


# ---- several targets, down -------------------------------------------------

def test_two_targets_side_by_side(target, target_factory):
    other = target_factory()
    assert other.name != target.name
    ports = {port_of(t.status()[1][k]) for t in (target, other)
             for k in ("endpoint", "agent")}
    assert len(ports) == 4
    assert other.key_file.read_text() != target.key_file.read_text()
    for t in (target, other):
        rc, out, _ = t.exec("hostname")
        assert (rc, out) == (0, f"dusk-{t.name}\n")


def test_down_is_idempotent_and_up_makes_a_new_key(target_factory):
    t = target_factory()
    pid = int(t.status()[1]["pid"])
    key = t.key_file.read_text()

    t.down()
    rc, st = t.status()
    assert (rc, st["state"]) == (3, "stopped")
    assert not alive(pid)
    assert not (t.state_dir / "endpoint").exists()
    assert not (t.state_dir / "qemu.pid").exists()
    t.down()
    assert t.status()[0] == 3

    p = t.run("exec", "--", "true")
    assert p.returncode == 255
    assert "not running" in p.stderr
    # After the fact, log shows the console of the last boot.
    p = t.run("log")
    assert p.returncode == 0
    assert "dusk-target: ready" in p.stdout

    t.up()
    assert t.key_file.read_text() != key
    assert stat.S_IMODE(t.key_file.stat().st_mode) == 0o600
    assert t.exec("true")[0] == 0


def test_usage_errors(target):
    assert target.run("frobnicate").returncode == 2
    assert target.run("--name", "../escape", "status").returncode == 2
    assert target.run("up", "--forward", "sctp:1").returncode == 2
    assert target.run("up", "--forward", "tcp:70000").returncode == 2
