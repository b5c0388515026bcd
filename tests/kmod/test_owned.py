"""Session-owned kernel resources (kmod/owned.h): what a CALL acquires is
recorded, the program's own release removes the record, and what is left
is released by dusk.ko, newest first, however the session ends (BYE, lost
heartbeat, a new session, rmmod dusk); the records are capped.

Real kernel functions are called straight over the wire, as a program's
kernel calls are: register_chrdev_region, alloc_chrdev_region (its dev_t
written through a pointer), proc_mkdir, __kmalloc, and their releases.
"""
import errno
import re
import socket
import struct
import uuid

import pytest

from duskwire import Session
from kmodtest import no_session, proc_dusk, wait_until
from test_protocol import key_of

GFP_KERNEL = 0xcc0
MINORBITS = 20
# A fixed major from the range left for local use (LANANA 240-254).
MAJOR = 243
RELOAD = ('. /etc/dusk/boot.conf && '
          'modprobe dusk key="$(cat /etc/dusk/key)" port="$DUSK_PORT"')
TROUBLE = ('Oops', 'BUG:', 'WARNING:', 'general protection', 'refcount_t',
           'list_del corruption', 'list_add corruption')


class Kernel:
    """A session that calls kernel functions by name."""

    def __init__(self, target, heartbeat_ms=3000):
        self.target = target
        self.s = Session(target.endpoint, key_of(target))
        assert self.s.hello(heartbeat_ms=heartbeat_ms).status == 0
        assert self.s.ping() == 0
        self.syms = {}
        self.closed = False

    def sym(self, name):
        if name not in self.syms:
            status, rep = self.s.sym(name)
            assert status == 0, f'{name}: {status}'
            self.syms[name] = rep[0]
        return self.syms[name]

    def call(self, name, *args):
        """(status, return value as u64) of name(*args)."""
        status, payload = self.s.call(self.sym(name), *args)
        return status, (struct.unpack_from('<Q', payload)[0] if not status
                        else None)

    def ok(self, name, *args):
        status, ret = self.call(name, *args)
        assert status == 0, f'{name}: status {status}'
        return ret

    def string(self, text):
        """A NUL-terminated copy of text in kernel memory (ALLOC)."""
        data = text.encode() + b'\0'
        status, addr = self.s.alloc(len(data))
        assert status == 0
        assert self.s.write(addr, data) == 0
        return addr

    def bye(self):
        assert self.s.bye() == 0
        self.closed = True
        self.s.close()


def owned(target):
    return int(proc_dusk(target).get('owned', -1))


def devices(target):
    rc, out, err = target.exec('cat /proc/devices')
    assert rc == 0, err
    return out


def has_major(target, major, name):
    return re.search(rf'^\s*{major} {name}$', devices(target), re.M)


def marker(target):
    token = f'owned-test {uuid.uuid4().hex}'
    target.exec(f'echo "{token}" > /dev/kmsg')
    return token


def log_since(target, token):
    rc, out, _ = target.exec('dmesg')
    return out[out.index(token):]


def assert_healthy(target, token):
    log = log_since(target, token)
    for bad in TROUBLE:
        assert bad not in log, log


@pytest.fixture
def k(target):
    no_session(target, key_of(target))
    k = Kernel(target)
    yield k
    if k.closed:
        return
    k.s.sock.settimeout(1.0)
    try:
        k.s.bye()
    except (socket.timeout, TimeoutError):
        pass
    k.s.close()


def test_memory_is_recorded_and_the_programs_kfree_removes_it(target, k):
    p = k.ok('__kmalloc', 64, GFP_KERNEL)
    q = k.ok('kmemdup', p, 16, GFP_KERNEL)
    assert p and q and owned(target) == 2
    k.ok('kfree', p)
    assert owned(target) == 1
    k.ok('kfree', q)
    assert owned(target) == 0
    # A failed acquire records nothing: major 1 is taken (mem).
    status, ret = k.call('register_chrdev_region', 1 << MINORBITS, 1,
                         k.string('x'))
    assert (status, ret & 0xffffffff) == (0, -errno.EBUSY & 0xffffffff)
    assert owned(target) == 0


def test_what_is_left_is_released_newest_first_at_bye(target, k):
    token = marker(target)
    name = k.string('duskown')
    assert k.ok('register_chrdev_region', MAJOR << MINORBITS, 2, name) == 0
    top = k.ok('proc_mkdir', k.string('duskown'), 0)
    sub = k.ok('proc_mkdir', k.string('sub'), top)
    k.ok('__kmalloc', 100, GFP_KERNEL)
    assert owned(target) == 4
    assert has_major(target, MAJOR, 'duskown')
    assert target.exec('test -d /proc/duskown/sub')[0] == 0
    k.bye()
    assert not has_major(target, MAJOR, 'duskown')
    assert target.exec('test -e /proc/duskown')[0] != 0
    assert proc_dusk(target)['session'] == 'none'
    log = log_since(target, token)
    lines = re.findall(r'dusk: session \w+: (\w+)\((0x[0-9a-f]+), '
                       r'(0x[0-9a-f]+)\) left by (\w+)', log)
    assert lines == [
        ('proc_remove', hex(sub), '0x0', 'proc_mkdir'),
        ('proc_remove', hex(top), '0x0', 'proc_mkdir'),
        ('unregister_chrdev_region', hex(MAJOR << MINORBITS), '0x2',
         'register_chrdev_region'),
    ], log
    assert re.search(r'released 3 thing\(s\) and 1 allocation\(s\) '
                     r'\(100 bytes\)', log), log
    assert_healthy(target, token)


def test_the_programs_own_releases_remove_their_records(target, k):
    """unregister_chrdev_region(from, count) of an alloc_chrdev_region's
    dev_t (read through its pointer); remove_proc_entry by name, through
    another copy of the name; proc_remove of a directory takes the entry
    inside it along (never released twice)."""
    token = marker(target)
    devp = k.s.alloc(8)[1]
    assert k.ok('alloc_chrdev_region', devp, 0, 3, k.string('duskdyn')) == 0
    dev = struct.unpack('<I', k.s.read(devp, 4)[1])[0]
    assert has_major(target, dev >> MINORBITS, 'duskdyn')
    k.ok('proc_mkdir', k.string('duskown_a'), 0)
    top = k.ok('proc_mkdir', k.string('duskown_b'), 0)
    k.ok('proc_mkdir', k.string('inner'), top)
    assert owned(target) == 4
    # Count 3 must match too: a region of 2 is not this one.
    k.ok('unregister_chrdev_region', dev + 1, 2)
    assert owned(target) == 4
    k.ok('unregister_chrdev_region', dev, 3)
    assert not has_major(target, dev >> MINORBITS, 'duskdyn')
    k.ok('remove_proc_entry', k.string('duskown_a'), 0)
    assert owned(target) == 2
    k.ok('proc_remove', top)
    assert owned(target) == 0
    assert target.exec('test -e /proc/duskown_b')[0] != 0
    k.bye()
    assert 'left by' not in log_since(target, token)
    assert_healthy(target, token)


def test_lost_heartbeat_releases(target):
    no_session(target, key_of(target))
    token = marker(target)
    k = Kernel(target, heartbeat_ms=1000)
    assert k.ok('register_chrdev_region', MAJOR << MINORBITS, 1,
                k.string('duskhb')) == 0
    assert has_major(target, MAJOR, 'duskhb')
    # Silence: no more datagrams from this session.
    wait_until(lambda: not has_major(target, MAJOR, 'duskhb'), 10,
               'the region released after the heartbeat was lost')
    assert 'ended: heartbeat lost' in log_since(target, token)
    k.s.close()
    assert_healthy(target, token)


def test_a_new_session_releases_what_the_old_one_held(target):
    no_session(target, key_of(target))
    old = Kernel(target)
    assert old.ok('register_chrdev_region', MAJOR << MINORBITS, 1,
                  old.string('duskold')) == 0
    new = Kernel(target)        # its first request replaces the old one
    assert not has_major(target, MAJOR, 'duskold')
    # The same region can be had again, by the new session.
    assert new.ok('register_chrdev_region', MAJOR << MINORBITS, 1,
                  new.string('dusknew')) == 0
    new.bye()
    old.s.close()
    assert not has_major(target, MAJOR, 'dusknew')


def test_rmmod_dusk_releases(target):
    no_session(target, key_of(target))
    token = marker(target)
    k = Kernel(target)
    assert k.ok('register_chrdev_region', MAJOR << MINORBITS, 1,
                k.string('duskrm')) == 0
    k.ok('proc_mkdir', k.string('duskrm'), 0)
    rc, _, err = target.exec('rmmod dusk')
    assert rc == 0, err
    try:
        assert not has_major(target, MAJOR, 'duskrm')
        assert target.exec('test -e /proc/duskrm')[0] != 0
        assert_healthy(target, token)
    finally:
        rc, _, err = target.exec(RELOAD)
        assert rc == 0, err
        k.s.close()


def test_records_are_capped(target, k):
    """own_max bounds a session's records: beyond it an acquire is refused
    (-EDQUOT) without being made; other calls and releases go on."""
    rc, out, _ = target.exec('cat /sys/module/dusk/parameters/own_max')
    assert rc == 0 and int(out) >= 1024, out
    try:
        assert target.exec('echo 3 > /sys/module/dusk/parameters/own_max'
                           )[0] == 0
        blocks = [k.ok('__kmalloc', 32, GFP_KERNEL) for _ in range(3)]
        name = k.string('duskcap')
        assert k.call('register_chrdev_region', MAJOR << MINORBITS, 1,
                      name) == (-errno.EDQUOT, None)
        assert not has_major(target, MAJOR, 'duskcap')     # not made
        assert k.call('__kmalloc', 32, GFP_KERNEL)[0] == -errno.EDQUOT
        assert k.ok('strlen', name) == 7
        k.ok('kfree', blocks[0])
        assert k.ok('register_chrdev_region', MAJOR << MINORBITS, 1,
                    name) == 0
        assert owned(target) == 3
    finally:
        target.exec(f'echo {out.strip()} > '
                    '/sys/module/dusk/parameters/own_max')
    k.bye()
    assert not has_major(target, MAJOR, 'duskcap')


def test_unknown_acquires_are_refused(target, k):
    """A function whose name says it acquires, that the table does not
    know how to give back, is not called (-EOPNOTSUPP); a look-alike that
    acquires nothing is."""
    token = marker(target)
    assert k.call('crypto_alloc_shash', k.string('sha256'), 0,
                  0)[0] == -errno.EOPNOTSUPP
    assert k.call('kmalloc_size_roundup', 100) == (0, 128)
    assert 'crypto_alloc_shash acquires what dusk.ko cannot give back' in \
        log_since(target, token)
    assert owned(target) == 0


def test_what_goes_with_a_released_thing_is_not_released_again(target, k):
    """kobject_put of a kobject takes its sysfs files with it: their
    records go too (released again at the end, they would touch a freed
    kobject). Likewise cdev_del of a cdev_alloc()ed cdev puts it: its
    cdev_alloc record goes with it."""
    token = marker(target)
    kobj = k.ok('kobject_create_and_add', k.string('duskown_k'), 0)
    # struct attribute { const char *name; umode_t mode; }, no show():
    # nothing reads it.
    attr = k.s.alloc(16)[1]
    assert k.s.write(attr, struct.pack('<QH6x', k.string('f'), 0o400)) == 0
    assert k.ok('sysfs_create_file_ns', kobj, attr, 0) == 0
    assert target.exec('test -f /sys/duskown_k/f')[0] == 0
    assert owned(target) == 2
    k.ok('kobject_put', kobj)
    assert owned(target) == 0
    assert target.exec('test -e /sys/duskown_k')[0] != 0

    cdev = k.ok('cdev_alloc')
    assert k.ok('cdev_add', cdev, MAJOR << MINORBITS, 1) == 0
    assert owned(target) == 2
    k.ok('cdev_del', cdev)
    assert owned(target) == 0
    k.bye()
    assert 'left by' not in log_since(target, token)
    assert_healthy(target, token)
