# SPDX-License-Identifier: GPL-2.0
"""The user-level kernel library through dusk-cc, differentially: one
module (tests/runtime/klib/mod/klibtest.c) built as a .ko, whose messages are the
kernel's own functions at work, and as a user-level program, whose
messages are libdusk's: printk levels and continuations, the format
language, kstrto*, the string library, sort/bsearch, the preempt count
under spin_lock/spin_lock_bh/read_lock_bh/local_bh_disable, irqsave flags,
mutexes, rw_semaphores, RCU, kfree_rcu, ratelimits. The program's local
lines, the lines it put in the target's log and the .ko's lines must all
be the same."""
import re
import shutil
import signal
import subprocess
import time

from conftest import SRCDIR

MOD_DIR = SRCDIR / 'tests' / 'runtime' / 'klib' / 'mod'
DUSK_CC = SRCDIR / 'bin' / 'dusk-cc'
LINE = re.compile(r'^<(\d)>\[[ \d.]+\] (klibtest: .*)$')
LAST = 'klibtest: end: preempt 0'


def klibtest_lines(text, raw=True):
    """The module's lines as "<level>text"."""
    out = []
    for line in text.splitlines():
        if raw:
            m = LINE.match(line)
            if m:
                out.append(f'<{m.group(1)}>{m.group(2)}')
        elif line.startswith('<') and 'klibtest: ' in line:
            out.append(line)
    return out


def log_length(target):
    rc, out, _ = target.exec('dmesg -r')
    assert rc == 0
    return len(out.splitlines())


def log_since(target, n):
    rc, out, _ = target.exec('dmesg -r')
    assert rc == 0
    return '\n'.join(out.splitlines()[n:])


def build(tmp_path, release, env):
    kdir = f'/lib/modules/{release}/build'
    ko_dir = tmp_path / 'ko'
    user_dir = tmp_path / 'user'
    shutil.copytree(MOD_DIR, ko_dir)
    shutil.copytree(MOD_DIR, user_dir)
    p = subprocess.run(['make', '-C', kdir, f'M={ko_dir}'],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    prog = tmp_path / 'klibtest.prog'
    p = subprocess.run([str(DUSK_CC), '--kdir', kdir, '-M', str(user_dir),
                        '-o', str(prog)], env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return ko_dir / 'klibtest.ko', prog


def test_klib_module_both_ways(target, tmp_path):
    rc, st = target.status()
    assert rc == 0
    ko, prog = build(tmp_path, st['release'], target.env)

    # The .ko: the kernel's own library.
    n = log_length(target)
    rc, out, err = target.insmod(str(ko))
    assert rc == 0, out + err
    rc, _, err = target.exec('rmmod klibtest')
    assert rc == 0, err
    ko_lines = klibtest_lines(log_since(target, n))
    assert ko_lines[-1] == '<6>klibtest: exit', ko_lines
    assert len(ko_lines) >= 45

    # The program: libdusk's, printing locally and to the target's log.
    n = log_length(target)
    proc = subprocess.Popen([str(prog)], env=target.env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    local = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f'program ended early: {proc.stderr.read()}'
            local.append(line.rstrip('\n'))
            if line.rstrip('\n').endswith(LAST):
                break
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    local += rest.splitlines()
    local_lines = klibtest_lines('\n'.join(local), raw=False)
    user_log = klibtest_lines(log_since(target, n))

    assert local_lines == ko_lines
    assert user_log == ko_lines
    # Nothing went wrong in the kernel, and the program reported nothing
    # (no WARNING of sleeping in atomic context, no unbalanced context).
    rc, log, _ = target.exec('dmesg')
    assert 'BUG:' not in log and 'Oops' not in log
    assert 'WARNING' not in err and 'BUG' not in err, err
