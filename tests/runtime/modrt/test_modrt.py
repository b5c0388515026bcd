# SPDX-License-Identifier: GPL-2.0
"""The module runtime against the real target kernel.

modprog is a kernel module as dusk-cc's plugin would leave it, written by
hand with glue in dusk-cc's shape (modprog.c, modglue.c), linked the way
dusk-cc links a module program (libdusk-main.a libdusk.a -lelf). It prints
one line per fact; these tests check the facts against the target.

test_dusk_cc_module builds an unmodified module (hello/hello.c) with
bin/dusk-cc and runs it the same way, when dusk-cc is there.
"""
import os
import queue
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import BUILDDIR, SRCDIR

MODPROG = BUILDDIR / 'tests' / 'runtime' / 'modrt' / 'modprog'
DUSK_CC = SRCDIR / 'bin' / 'dusk-cc'
HZ_INITIAL_SECONDS = 300        # INITIAL_JIFFIES is -300 * HZ (jiffies.h)


class Program:
    """A module program running against the target until stop(): ready
    once it printed a line containing `ready`."""

    def __init__(self, target, argv, ready='ready', timeout=60):
        self.proc = subprocess.Popen([str(a) for a in argv], env=target.env,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.stderr = ''
        self._queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if ready in line:
                return
        self.proc.kill()
        self.proc.wait()
        self._drain()
        raise AssertionError(f'{argv[0]} never became ready: {self.lines} '
                             f'{self.proc.stderr.read()}')

    def _read(self):
        for line in self.proc.stdout:
            self._queue.put(line.rstrip('\n'))
        self._queue.put(None)

    def _drain(self):
        self._reader.join(timeout=30)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return
            if line is not None:
                self.lines.append(line)

    def stop(self, sig=signal.SIGINT, timeout=30):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=timeout)
        self._drain()
        self.stderr = self.proc.stderr.read()
        return self.proc.returncode

    def facts(self, key):
        """The rest of every line starting with key, split into words."""
        return [line.split()[1:] for line in self.lines
                if line.split()[:1] == [key]]

    def fact(self, key):
        found = self.facts(key)
        assert len(found) == 1, (key, self.lines)
        return found[0]


def run(target, *args, timeout=60):
    p = subprocess.run([str(MODPROG), *args], env=target.env, text=True,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def ping(target, addr, count=2):
    return target.exec(f'ping -c {count} -W 2 {addr}')[0]


def dusk_proc(target):
    rc, out, _ = target.exec('cat /proc/dusk')
    assert rc == 0
    return dict(line.split(' ', 1) for line in out.splitlines() if ' ' in line)


@pytest.fixture(scope='module')
def served(target):
    """modprog served ping traffic: its lines, the pings' results."""
    prog = Program(target, [MODPROG, 'verbose', 'ports=7,-8,9',
                            'tag=from test', 'drop_addr=127.0.0.9'])
    uptime_ready = float(target.exec('cat /proc/uptime')[1].split()[0])
    dropped = ping(target, '127.0.0.9')
    answered = ping(target, '127.0.0.10')
    rc = prog.stop()
    after = ping(target, '127.0.0.9')
    return {'prog': prog, 'rc': rc, 'dropped': dropped, 'answered': answered,
            'after': after, 'uptime': uptime_ready}


def test_parameters_are_set_as_insmod_sets_them(served):
    prog = served['prog']
    assert prog.fact('params') == ['mode', '0', 'drop_addr', '127.0.0.9',
                                   'verbose', '1', 'ports', '3:7,-8,9',
                                   'tag', 'from', 'test']


def test_static_hook_drops_icmp_to_the_address_and_only_there(served):
    prog = served['prog']
    assert served['dropped'] != 0, 'ping 127.0.0.9 answered'
    assert served['answered'] == 0, 'ping 127.0.0.10 not answered'
    assert served['after'] == 0, 'hook still there after the program ended'
    drops = prog.facts('drop')
    assert drops and all(d == ['127.0.0.9'] for d in drops)
    # Both hooks saw the echo to .10 (the first dropped .9 before the
    # second one's turn): one registered with &init_net through
    # __dusk_gvar, one with the placeholder a static initializer holds.
    hooks = prog.facts('hook')
    to10 = [h for h in hooks if h[0] == '127.0.0.10' and h[2] == '8']
    assert len(to10) == 2 * 2, hooks
    assert all(h[-3] == 'first' for h in hooks)    # ops->priv, as given
    assert served['rc'] == 0, prog.stderr
    # Every packet is counted (the agent's TCP too), ICMP ones printed.
    exit_ = prog.fact('exit')
    assert exit_[0] == 'hooks' and int(exit_[1]) >= len(hooks)
    assert exit_[2:] == ['drops', str(len(drops)), 'depth', '1']


def test_local_buffer_kernel_call_copies_in_and_out(served):
    prog = served['prog']
    assert prog.fact('strscpy') == ['12', 'hello', 'kernel']
    # -E2BIG, and the kernel's truncation came back into the local.
    assert prog.fact('strscpy-trunc') == ['-7', '0123456789abcde']
    # skb_header_pointer()'s skb_copy_bits into a local in the hook: 0,
    # and the ICMP type it copied is the echo request's.
    hooks = prog.facts('hook')
    assert hooks
    for h in hooks:
        assert h[3:5] == ['copy', '0'], h


def test_static_objects_are_one_object_on_both_sides(served):
    prog = served['prog']
    # The kernel's copy of `first` points to the kernel's copy of
    # `second`, and __dusk_check of that address is `second` itself.
    assert prog.fact('shared') == ['next-kernel', '1', 'back', 'second',
                                   'name', 'second']
    # The kernel wrote the copy: the module sees it after the call; the
    # module wrote its object: the kernel sees it at its next call.
    assert prog.fact('kernel-wrote') == ['second.value', '0x1111111111111111']
    assert prog.fact('kernel-read') == ['value', '4242']
    # A kernel list headed by a static: the walk ends at &head (pointers
    # loaded through __dusk_uptr), the kernel's CONFIG_DEBUG_LIST check
    # agrees (through the head's kernel copy), list_del empties it.
    assert prog.fact('list') == ['entries', '2', 'kernel-valid', '1',
                                 'empty', '1']
    # THIS_MODULE crosses as NULL: try_module_get(NULL) is true.
    assert prog.fact('try_module_get') == ['1']


def test_jiffies_through_gvar_is_plausible_and_advances(served, target):
    prog = served['prog']
    jiffies, _, hz = prog.fact('jiffies')
    hz = int(hz)
    assert hz in (100, 250, 300, 1000)
    initial = (1 << 32) - HZ_INITIAL_SECONDS * hz   # 64-bit INITIAL_JIFFIES
    seconds = (int(jiffies) - initial) / hz
    # Read just before "ready", uptime just after.
    assert 0 < seconds <= served['uptime'] + 1
    assert served['uptime'] - seconds < 15
    seen = [int(h[-1]) for h in prog.facts('hook')]
    assert seen == sorted(seen) and seen[-1] > int(jiffies)


def test_per_cpu_reads_use_the_hook_cpu(served, target):
    prog = served['prog']
    # In init (CPU 0): current is a kernel task with a name, cpu_number 0.
    current = prog.fact('current')
    assert current[0] == '1' and current[1] == 'comm' and current[2]
    assert current[-1] == '0'
    # In hooks: this_cpu_read(cpu_number) is the CPU the HOOK names.
    hooks = prog.facts('hook')
    assert hooks
    for h in hooks:
        assert h[5] == 'cpu' and h[7] == 'cpu_number', h
        assert h[6] == h[8], h
    rc, out, _ = target.exec('grep -c ^processor /proc/cpuinfo')
    assert all(int(h[6]) < int(out) for h in hooks)


def test_failing_init_exits_1_and_removes_its_hooks(target):
    rc, out, err = run(target, 'mode=1', 'initerr=19')
    assert rc == 1
    assert 'modprog: init_module failed: -ENODEV (No such device)' in err
    assert 'registered 0' in out
    assert ping(target, '127.0.0.9') == 0
    assert dusk_proc(target)['session'] == 'none'


def test_refused_kernel_call_ends_the_program_not_the_kernel(target):
    rc, out, err = run(target, 'mode=2')
    assert rc == 1
    assert ('modprog: kernel call _raw_spin_lock failed: -EPERM '
            '(Operation not permitted)') in err
    assert ping(target, '127.0.0.9') == 0
    rc, log, _ = target.exec('dmesg')
    assert 'Oops' not in log and 'BUG:' not in log


def test_user_function_in_a_struct_given_to_the_kernel_gets_a_proxy(target):
    """A struct holding one of the program's functions, copied into kernel
    memory (memcpy of bad_ops), no longer stops the program: the function
    becomes a proxy of dusk.ko's (mod_fops.c's FN proxies), which the
    kernel may call in process context; the program goes on and unloads."""
    prog = Program(target, [MODPROG, 'mode=3'], ready='registered')
    assert prog.fact('registered') == ['0'], prog.lines
    assert prog.stop() == 0, prog.stderr
    assert 'cannot be given to the kernel' not in prog.stderr, prog.stderr


@pytest.mark.parametrize('args, message', [
    (['nope=1'], "modprog: unknown parameter 'nope'"),
    (['mode=abc'], "modprog: 'abc' invalid for parameter 'mode'"),
    (['mode=1', 'mode'], "modprog: parameter 'mode' needs a value"),
    (['tag=0123456789abcdefg'],
     "modprog: '0123456789abcdefg' too large for parameter 'tag'"),
    (['ports=1,2,3,4,5'], "modprog: '1,2,3,4,5' invalid for parameter 'ports'"),
    (['verbose=maybe'], "modprog: 'maybe' invalid for parameter 'verbose'"),
    (['--bogus'], "modprog: unknown option '--bogus'"),
])
def test_bad_parameters_exit_2_before_touching_the_target(target, args,
                                                          message):
    before = dusk_proc(target)['rx_ok']
    rc, out, err = run(target, *args)
    assert rc == 2
    assert err.startswith(message), err
    assert out == ''
    assert dusk_proc(target)['rx_ok'] == before    # nothing sent


def test_help_lists_parameters_without_a_target(tmp_path):
    env = dict(os.environ, DUSK_STATE_DIR=str(tmp_path))
    env.pop('DUSK_TARGET', None)
    p = subprocess.run([str(MODPROG), '--help'], env=env, text=True,
                       capture_output=True, timeout=30)
    assert p.returncode == 0
    assert p.stdout.startswith('Usage: modprog [--target HOST:PORT]')
    assert "the module runtime's integration test" in p.stdout
    assert 'drop_addr=charp\tICMP echo to this address is dropped' in p.stdout
    assert '  mode=int\twhat to do' in p.stdout
    # Without a target: a clear error, exit 1.
    p = subprocess.run([str(MODPROG)], env=env, text=True,
                       capture_output=True, timeout=30)
    assert p.returncode == 1
    assert p.stderr.startswith("modprog: no target: boot one with "
                               "'dusk-target up'")


def test_target_and_key_options_override_the_default(target, tmp_path):
    env = dict(os.environ, DUSK_STATE_DIR=str(tmp_path))
    target_env = target.env
    try:
        # Nothing of the target in the environment: the options only.
        target.env = env
        prog = Program(target, [MODPROG, '--target', target.endpoint,
                                f'--key={target.key_file}'])
    finally:
        target.env = target_env
    assert prog.stop(signal.SIGTERM) == 0, prog.stderr
    assert prog.facts('exit')


# ---- an unmodified module through dusk-cc -----------------------------------

@pytest.fixture(scope='module')
def hello(tmp_path_factory):
    work = tmp_path_factory.mktemp('hello')
    for name in ('hello.c', 'Kbuild'):
        shutil.copy(SRCDIR / 'tests' / 'runtime' / 'modrt' / 'hello' / name, work / name)
    prog = work / 'hello'
    p = subprocess.run([str(DUSK_CC), '-M', str(work), '-o', str(prog)],
                       cwd=work, text=True, capture_output=True, timeout=600,
                       env=dict(os.environ, DUSK_BUILDDIR=str(BUILDDIR)))
    assert p.returncode == 0, p.stdout + p.stderr
    return prog


def test_dusk_cc_module_runs_against_the_target(target, hello):
    prog = Program(target, [hello, 'drop=127.0.0.9', 'marks=3,4'],
                   ready='hello: loaded', timeout=90)
    assert ping(target, '127.0.0.9') != 0
    assert ping(target, '127.0.0.10') == 0
    # The hook of kmalloc()ed ops: stored in kernel memory, claimed by
    # nf_register_net_hook; its priv, a static's kernel copy, leads back.
    assert ping(target, '127.0.0.11') != 0
    rc = prog.stop()
    assert rc == 0, prog.stderr
    assert ping(target, '127.0.0.9') == 0
    assert ping(target, '127.0.0.11') == 0
    text = '\n'.join(prog.lines) + prog.stderr
    # Parameters (charp, array), in4_pton, a kernel call filling a local
    # (ktime_get_real_ts64), jiffies through its placeholder.
    loaded = [line for line in prog.lines if 'hello: loaded' in line]
    assert len(loaded) == 1, text
    words = loaded[0].split()
    assert words[2:6] == ['drop', '127.0.0.9,', '2', 'marks,'], words
    now = int(target.exec('date +%s')[1])
    assert abs(int(words[7].rstrip(',')) - now) < 120, (words, now)
    assert int(words[9]) > (1 << 32) - 300 * 1000
    # The hook: skb_copy_bits into a local, smp_processor_id.
    drops = [line for line in prog.lines if 'hello: drop 127.0.0.9 type 8' in line]
    assert len(drops) == 2, text
    assert f'hello: unloaded, {len(drops)} drops' in text
    assert 'hello: drop2 127.0.0.11' in text
    # printk reached the target's log too.
    rc, log, _ = target.exec('dmesg')
    assert 'hello: loaded, drop 127.0.0.9' in log
