"""libdusk's C API against the real target kernel (libdusk-selftest)."""
import subprocess
import time

from conftest import BUILDDIR

SELFTEST = BUILDDIR / 'tests' / 'runtime' / 'core' / 'libdusk-selftest'


def selftest(target, cmd, timeout=60):
    p = subprocess.run([str(SELFTEST), cmd], env=target.env, text=True,
                       capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return dict(line.split(' ', 1) for line in p.stdout.splitlines()
                if ' ' in line)


def test_reads_linux_banner_as_the_target_shows_it(target):
    out = selftest(target, 'banner')
    rc, version, _ = target.exec('cat /proc/version')
    assert rc == 0
    assert out['banner'] == version.rstrip('\n')
    # The cached copy lives in user memory and maps back to the kernel's.
    mirror, _, kernel, _, back = out['mirror'].split()
    assert int(kernel, 16) >= 1 << 63 and int(mirror, 16) < 1 << 63
    assert back == kernel


def test_calls_kernel_functions(target):
    out = selftest(target, 'call')
    kmalloc, _, ksize = out['kmalloc'].split()
    assert int(kmalloc, 16) >= 1 << 63
    assert int(ksize) >= 100            # a kmalloc-128 slab object
    rc, version, _ = target.exec('cat /proc/version')
    assert int(out['strlen']) == len(version)   # linux_banner ends in \n


def test_allocates_writes_commits_only_changes_and_frees(target):
    out = selftest(target, 'alloc')
    assert out['readback'] == 'written by libdusk zero-before 0'
    # 100 written at user level, 101 written by "the kernel" meanwhile.
    assert out['commit'] == '100=aa 101=55'
    assert out['free'] == 'again -2'      # -ENOENT: freed once only


def test_bad_addresses_are_clear_errors_and_the_kernel_stays_up(target):
    out = selftest(target, 'badaddr')
    assert out['kread'] == '-14' and out['kwrite'] == '-14'
    assert out['shadow'] == 'null 14'
    assert out['kcall-data'] == '-14' and out['kcall-bad'] == '-14'
    assert out['ksym'] == '-2'
    assert out['after'] == '0'
    rc, log, _ = target.exec('dmesg')
    assert rc == 0
    assert 'Oops' not in log and 'BUG:' not in log


def ping(target, addr):
    return target.exec(f'ping -c 2 -W 2 {addr}')[0]


def test_hooks_drop_and_mark_packets_through_the_shadow_cache(target):
    prog = subprocess.Popen([str(SELFTEST), 'hooks'], env=target.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert prog.stdout.readline().startswith('release ')
        assert prog.stdout.readline() == 'ready\n'
        assert ping(target, '127.0.0.9') != 0      # dropped by the first hook
        assert ping(target, '127.0.0.10') != 0     # marked, dropped by the second
        assert ping(target, '127.0.0.11') == 0     # untouched
    finally:
        prog.terminate()
        out, err = prog.communicate(timeout=30)
    assert prog.returncode == 0, err
    lines = out.splitlines()
    assert lines[-1] == 'stopped'
    assert lines.count('first drop 127.0.0.9') == 2
    assert lines.count('first mark 127.0.0.10') == 2
    # The mark was committed with the first verdict and read by the second
    # hook from the live sk_buff.
    assert lines.count('second saw mark 0xd05c drop') == 2
    # The program is gone: its hooks went with it.
    assert ping(target, '127.0.0.9') == 0
    rc, state, _ = target.exec('cat /proc/dusk')
    assert 'session none' in state


def test_killed_program_leaves_the_kernel_clean(target):
    """A crash (SIGKILL: no exit code of its own runs) ends the session
    through the watchdog: hooks removed, packets released."""
    prog = subprocess.Popen([str(SELFTEST), 'hooks'], env=target.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert prog.stdout.readline().startswith('release ')
    assert prog.stdout.readline() == 'ready\n'
    prog.kill()
    prog.wait(timeout=10)
    prog.stdout.close()
    prog.stderr.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        state = target.exec('cat /proc/dusk')[1]
        if 'session none' in state:
            break
        time.sleep(0.2)
    assert 'session none' in state
    assert ping(target, '127.0.0.9') == 0
