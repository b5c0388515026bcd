"""CALL probes its pointer arguments before the call (dusk_proto.h, struct
dusk_probe): a NULL, small or unmapped pointer is never passed to the
kernel function. The reply names the argument and its first unreadable
byte, the function is not called, the log stays clean and dusk.ko goes on
serving. Without the probe, strlen(NULL) here oopses the target.
"""
import errno

import pytest

import dusk_constants as K
from duskwire import CALL_REPLY
from test_owned import Kernel
from test_protocol import BAD_KADDR, assert_kernel_log_clean

STR = (K.DUSK_PROBE_STR, K.DUSK_PROBE_STR_MAX, 0)


@pytest.fixture
def k(target):
    kern = Kernel(target)
    yield kern
    if not kern.closed:
        kern.bye()


def call(k, name, *args, probes=()):
    """(status, ret, refused_arg, fault_off) of name(*args)."""
    status, payload = k.s.call(k.sym(name), *args, probes=probes)
    if status:
        return status, None, None, None
    return (status, *CALL_REPLY.unpack(payload))


# strlen given each bad string: refused at its first byte.
BAD_STRINGS = {
    "NULL": 0,
    "NULL plus an offset": 0x18,
    "small": 0xfff0,
    "unmapped vmalloc": BAD_KADDR,
    "non-canonical": 0x8000000000000000,
    "an ERR_PTR": (1 << 64) - errno.ENOMEM,
}


@pytest.mark.parametrize("what", BAD_STRINGS)
def test_bad_string_is_refused_not_called(target, k, what):
    addr = BAD_STRINGS[what]
    assert call(k, 'strlen', addr, probes=[STR]) == (0, 0, 1, 0)
    # dusk.ko still serves, and the call it refused was not made.
    good = k.string('dusk')
    assert call(k, 'strlen', good, probes=[STR]) == (0, 4, 0, 0)
    assert_kernel_log_clean(target)


def test_string_running_into_an_unmapped_page_is_refused_there(target, k):
    """The last bytes of a page, no NUL, and nothing mapped after: the
    fault is reported at the first byte of the unmapped page. (A vmalloc
    area is followed by a guard page.)"""
    size = 4096
    mem = k.ok('vmalloc', size)
    try:
        assert k.s.write(mem + size - 8, b'x' * 8) == 0
        assert call(k, 'strlen', mem + size - 8, probes=[STR]) == \
            (0, 0, 1, 8)
        assert k.s.write(mem + size - 1, b'\0') == 0
        assert call(k, 'strlen', mem + size - 8, probes=[STR]) == \
            (0, 7, 0, 0)
    finally:
        k.ok('vfree', mem)
    assert_kernel_log_clean(target)


def test_sized_object_is_probed_on_every_page(target, k):
    """A pointee of 2 pages starting at the vmalloc area's last page
    fails at the next page; one page of it passes."""
    mem = k.ok('vmalloc', 4096)
    try:
        # memchr_inv(p, 0, n): reads n bytes; used here only as a callee
        # that takes an object pointer.
        spec = [(K.DUSK_PROBE_SIZE, 8192, 0)]
        assert call(k, 'memchr_inv', mem, 0, 8192, probes=spec) == \
            (0, 0, 1, 4096)
        spec = [(K.DUSK_PROBE_SIZE, 4096, 0)]
        assert call(k, 'memchr_inv', mem, 0, 4096, probes=spec)[2] == 0
    finally:
        k.ok('vfree', mem)
    assert_kernel_log_clean(target)


def test_null_allowed_where_the_function_accepts_it(target, k):
    """kfree_skb_reason(NULL) does nothing: with NULL_OK it is called."""
    spec = [(K.DUSK_PROBE_SIZE, 1, K.DUSK_PROBE_F_NULL_OK)]
    assert call(k, 'kfree_skb_reason', 0, 2, probes=spec) == (0, 0, 0, 0)
    spec = [(K.DUSK_PROBE_SIZE, 1, K.DUSK_PROBE_F_NULL_OK)]
    assert call(k, 'kfree_skb_reason', 0x10, 2, probes=spec)[2] == 1
    assert_kernel_log_clean(target)


@pytest.mark.parametrize("probe", [
    (K.DUSK_PROBE_STR, K.DUSK_PROBE_STR_MAX + 1, 0),   # beyond the bound
    (K.DUSK_PROBE_SIZE, 0, 0),                         # nothing to probe
    (K.DUSK_PROBE_NONE, 8, 0),                         # a size for none
    (getattr(K, '__DUSK_PROBE_MAX'), 8, 0),            # no such kind
    (K.DUSK_PROBE_STR, 8, 0x80),                       # no such flag
])
def test_malformed_probe_is_refused(target, k, probe):
    good = k.string('dusk')
    assert call(k, 'strlen', good, probes=[probe])[0] == -errno.EINVAL
    # A probe past nargs is malformed too.
    assert call(k, 'strlen', good, probes=[STR, STR])[0] == -errno.EINVAL
    assert_kernel_log_clean(target)

