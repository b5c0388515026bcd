# SPDX-License-Identifier: GPL-2.0
"""The user-level kernel library against the real target kernel
(klib-selftest): printk reaching the target's log with its level, the
format language and the string library giving what the kernel's own
functions give on the same data, locks and RCU."""
import os
import re
import subprocess

from conftest import BUILDDIR

SELFTEST = BUILDDIR / 'tests' / 'runtime' / 'klib' / 'klib-selftest'


def selftest(target, *args, timeout=120):
    p = subprocess.run([str(SELFTEST), *args], env=target.env, text=True,
                       capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


def dmesg(target):
    """The target's log as (level, text) pairs (busybox dmesg -r)."""
    rc, out, _ = target.exec('dmesg -r')
    assert rc == 0
    lines = []
    for line in out.splitlines():
        m = re.match(r'<(\d+)>\[[ \d.]+\] (.*)$', line)
        if m:
            lines.append((int(m.group(1)) & 7, m.group(2)))
    return lines


def test_printk_reaches_the_target_log_with_its_level(target):
    tag = f'klib{os.getpid()}'
    out = selftest(target, 'printk', tag).splitlines()
    full = dmesg(target)
    log = [(lvl, text) for lvl, text in full if text.startswith(tag + ':')]

    # Locally: one line per message, with its level.
    assert f'<6>{tag}: hello 10.1.2.3 from user level' in out
    assert f'<3>{tag}: error level 3' in out
    assert f'<6>{tag}: continued' in out
    assert f'<6>{tag}: local only' in out

    # In the target's log, at the same levels; %pI4 read the kernel's
    # memory through the shadow cache.
    assert (6, f'{tag}: hello 10.1.2.3 from user level') in log
    assert (3, f'{tag}: error level 3') in log
    # the continuation joined its line in the kernel too
    assert (6, f'{tag}: continued') in log
    # --no-kernel-log: printed here only
    assert not any('local only' in text for _, text in log)

    # %p of a kernel address is the very hash the kernel prints for it.
    kernel_hash = [t.split()[-1] for _, t in log if 'kernel-hash' in t]
    user_hash = [t.split()[-1] for _, t in log if 'user-hash' in t]
    local_hash = [l.split()[-1] for l in out if 'user-hash' in l]
    assert len(kernel_hash) == 1 and re.fullmatch('[0-9a-f]{16}',
                                                  kernel_hash[0])
    assert kernel_hash[0].startswith('00000000')      # 6.1: 32-bit ids
    assert user_hash == kernel_hash and local_hash == kernel_hash

    # dev_info(): the same device prefix as the kernel's own dev_info().
    kdev = [t for _, t in full if t.endswith(f'{tag}: dev-info 7')]
    udev = [t for _, t in full if t.endswith(f'{tag}: dev-info 8')]
    assert len(kdev) == 1 and len(udev) == 1, full
    assert kdev[0][:-1] == udev[0][:-1]
    assert 'platform' in kdev[0]
    assert any(l.endswith(f'{tag}: dev-info 8') and l.startswith('<6>')
               for l in out)

    # %pS names the kernel function, from the kernel's symbols.
    sym = [l for l in out if ': symbol ' in l]
    assert len(sym) == 1 and re.search(r'symbol kfree\+0x1/0x[0-9a-f]+$',
                                       sym[0]), sym


def test_formats_match_the_kernels_snprintf(target):
    out = selftest(target, 'format')
    assert 'mismatch' not in out, out
    m = re.search(r'^format (\d+) same$', out, re.M)
    assert m and int(m.group(1)) >= 50, out


def test_strings_and_numbers_match_the_kernels(target):
    out = selftest(target, 'strings')
    assert 'mismatch' not in out, out
    m = re.search(r'^strings (\d+) same$', out, re.M)
    assert m and int(m.group(1)) >= 900, out


def test_locks_leave_kernel_words_alone_and_rcu_reaches_the_kernel(target):
    out = selftest(target, 'ctx')
    assert 'lock word while held 0' in out
    assert re.search(r'^synchronize_rcu \d+ ms$', out, re.M)
    # kfree_rcu: the object (its own slab cache, filled with a pattern)
    # is left alone while another thread of the program holds
    # rcu_read_lock: every read of it then finds the pattern, and
    # rcu_barrier has not returned ...
    assert 'kfree_rcu object pattern yes' in out, out
    m = re.search(r'^kfree_rcu reader held (\d+) ms reads (\d+) intact (\d+) '
                  r'barrier-returned (\d+)$', out, re.M)
    assert m, out
    held, reads, intact, early = map(int, m.groups())
    assert held >= 1000 and reads >= 5, out
    assert intact == reads and early == 0, out
    # ... which it does once the reader has left, and the kernel's
    # allocator has then freed the object (SLAB_POISON's free poison).
    assert 'kfree_rcu barrier after reader yes' in out, out
    assert 'kfree_rcu freed yes' in out, out
    rc, log, _ = target.exec('dmesg')
    assert rc == 0
    assert 'BUG:' not in log and 'Oops' not in log
    assert 'changed the calling context' not in log
