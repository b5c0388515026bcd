"""Kernel threads that stand for the module's (protocol version 7,
KTHREAD_CREATE and KTHREAD_STOP), over the wire as a program would use
them: the thread appears in ps under its name, unwoken; woken (a CALL of
wake_up_process), it serves the invocation the reply names, executing its
requests itself, until RETURN, whose value kthread_stop() returns.

Checked: bad nodes, names and pads are refused, nothing created; a thread
stopped before it was woken returns -EINTR; KTHREAD_STOP never waits for
the program (-EBUSY while the invocation has no RETURN); a request of the
invocation is executed by the thread itself (getpid() there is its pid); a
retransmitted KTHREAD_CREATE is answered, not executed again; the
session's end (BYE) stops the threads it left, the woken one included;
the kernel log stays clean.
"""
import errno
import struct

import dusk_constants as K
from duskwire import (KTHREAD_CREATE, KTHREAD_HANDLE, KTHREAD_REPLY,
                      KTHREAD_STOP_REPLY, RETURN, call_payload)
from kmodtest import wait_until
from test_owned import Kernel, assert_healthy, k, marker  # noqa: F401

INV = K.DUSK_CHAN_INV
NUMA_NO_NODE = -1


def threads(target):
    """The kernel threads by name, known by their parent, kthreadd (pid 2:
    ps brackets a process of no command line too, one the agent is
    starting), less the kernel's workers, whose names say what they run at
    the moment."""
    rc, out, err = target.exec("awk '$4 == 2 { print $2 }' "
                               "/proc/[0-9]*/stat 2>/dev/null; true")
    assert rc == 0, err
    names = [n[1:-1] for n in out.split()]
    return sorted(n for n in names if not n.startswith('kworker/'))


def pids(target):
    """{name: pid} of the kernel threads."""
    rc, out, err = target.exec('ps')
    assert rc == 0, err
    return {line.rsplit('[', 1)[1].rstrip(']'): int(line.split()[0])
            for line in out.splitlines()
            if line.rstrip().endswith(']') and '[' in line}


def create(k, name, node=NUMA_NO_NODE, pad=0, raw=None):
    """KTHREAD_CREATE: (status, task, handle)."""
    payload = raw if raw is not None else KTHREAD_CREATE.pack(
        node, pad, name.encode())
    r = k.s.request(K.DUSK_MSG_KTHREAD_CREATE, payload)
    if r.status:
        return r.status, None, None
    task, handle = KTHREAD_REPLY.unpack(r.payload)
    return 0, task, handle


def stop(k, handle):
    """KTHREAD_STOP: (status, kthread_stop()'s value)."""
    r = k.s.request(K.DUSK_MSG_KTHREAD_STOP, KTHREAD_HANDLE.pack(handle))
    return r.status, (KTHREAD_STOP_REPLY.unpack(r.payload)[0]
                      if not r.status else None)


def test_bad_requests_create_nothing(target, k):
    token = marker(target)
    before = threads(target)
    assert create(k, 'wirebad', node=4096)[0] == -errno.EINVAL
    assert create(k, 'wirebad', node=-2)[0] == -errno.EINVAL
    assert create(k, '')[0] == -errno.EINVAL
    assert create(k, 'wirebad', pad=1)[0] == -errno.EINVAL
    unterminated = struct.pack('<iI', NUMA_NO_NODE, 0) + b'a' * 64
    assert create(k, None, raw=unterminated)[0] == -errno.EINVAL
    assert stop(k, 0)[0] == -errno.ENOENT
    assert stop(k, 12345)[0] == -errno.ENOENT
    assert threads(target) == before
    assert_healthy(target, token)


def test_stopped_unwoken(target, k):
    token = marker(target)
    status, task, handle = create(k, 'wireidle')
    assert status == 0 and task >> 63 and handle
    assert 'wireidle' in threads(target)
    assert stop(k, handle) == (0, -errno.EINTR)
    assert 'wireidle' not in threads(target)
    # once stopped it is no thread of the session's any more
    assert stop(k, handle)[0] == -errno.ENOENT
    assert_healthy(target, token)


def test_retransmitted_create_is_not_executed_again(target, k):
    token = marker(target)
    payload = KTHREAD_CREATE.pack(NUMA_NO_NODE, 0, b'wireonce')
    req_id, dgram = k.s.datagram(K.DUSK_MSG_KTHREAD_CREATE, payload)
    k.s.send_raw(dgram)
    first = k.s.wait(req_id)
    _, dgram = k.s.datagram(K.DUSK_MSG_KTHREAD_CREATE, payload, req_id=req_id)
    k.s.send_raw(dgram)
    again = k.s.wait(req_id)
    assert first.status == again.status == 0
    assert first.payload == again.payload
    assert threads(target).count('wireonce') == 1
    assert stop(k, KTHREAD_REPLY.unpack(first.payload)[1]) == \
        (0, -errno.EINTR)
    assert_healthy(target, token)


def test_woken_thread_serves_its_invocation(target, k):
    """Woken, it executes its invocation's requests itself, and never
    makes KTHREAD_STOP wait: -EBUSY until RETURN, then RETURN's value."""
    token = marker(target)
    status, task, handle = create(k, 'wireserve')
    assert status == 0
    assert k.ok('wake_up_process', task) & 0xffffffff == 1

    def inv_request(msg_type, payload, req_id):
        rid, dgram = k.s.datagram(msg_type, payload, req_id=req_id,
                                  channel=INV, invocation=handle)
        k.s.send_raw(dgram)
        return k.s.wait(rid, INV)

    # kthread_should_stop() is the calling task's: the thread's own
    # (false), and not dusk's thread's.
    r = inv_request(K.DUSK_MSG_CALL,
                    call_payload(k.sym('kthread_should_stop'), ()), 1)
    assert r.status == 0
    assert struct.unpack_from('<Q', r.payload)[0] & 0xff == 0
    # getpid() in the kernel is current's: the thread's, as ps says.
    r = inv_request(K.DUSK_MSG_CALL,
                    call_payload(k.sym('__x64_sys_getpid'), (0,)), 2)
    assert r.status == 0
    pid = struct.unpack_from('<Q', r.payload)[0] & 0xffffffff
    assert pids(target).get('wireserve') == pid
    assert stop(k, handle)[0] == -errno.EBUSY
    assert 'wireserve' in threads(target)
    r = inv_request(K.DUSK_MSG_RETURN, RETURN.pack(42, 0, 0), 3)
    assert r.status == 0
    assert stop(k, handle) == (0, 42)
    wait_until(lambda: 'wireserve' not in threads(target), 10,
               'the thread is gone')
    assert_healthy(target, token)


def test_session_end_stops_its_threads(target, k):
    token = marker(target)
    _, idle_task, _ = create(k, 'wireleft0')
    _, task, handle = create(k, 'wireleft1')
    assert k.ok('wake_up_process', task) & 0xffffffff == 1
    assert {'wireleft0', 'wireleft1'} <= set(threads(target))
    k.bye()
    wait_until(lambda: not {'wireleft0', 'wireleft1'} & set(threads(target)),
               10, 'the threads are gone')
    rc, out, _ = target.exec('dmesg')
    log = out[out.index(token):]
    assert log.count('left by kthread_create_on_node: releasing') == 2, log
    assert_healthy(target, token)
