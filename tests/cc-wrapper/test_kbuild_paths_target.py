"""tinyfw (tests/cc-wrapper/mods/tinyfw), the firewall whose header is in
a sibling folder (../include/fw_rules.h) and whose objects are in src/,
built by dusk-cc -M as kbuild builds it, on the same traffic as its .ko:
the rules parsed from the parameter, a drop, a logged match at both hooks,
the counters at unload."""
import sys

import pytest

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / 'tests' / 'examples'))
from diff import MODES, Case, Module, harness  # noqa: E402,F401 (fixture)

TINYFW_TREE = SRCDIR / 'tests' / 'cc-wrapper' / 'mods' / 'tinyfw'
TINYFW = Module('tinyfw', TINYFW_TREE / 'kmod', tree=TINYFW_TREE)

# A drop at LOCAL_OUT fails the sender's send (EPERM) in some kernels'
# paths and not others: only what was received is compared.
SEND_ERRORS = (r'^udp sent \d+ received (\d+)( send-errors \d+ \(EPERM\))?',
               r'udp received \1')

CASES = {
    'drop-and-log': Case(
        params=('rules=drop:127.0.0.5/32:udp:0,log:127.0.0.0/8:udp:9101',),
        script='\n'.join([
            '$N udp -s 127.0.0.5:4005 127.0.0.1 9100 from-blocked',
            '$N udp -s 127.0.0.1:4001 127.0.0.1 9101 logged',
            '$N udp -s 127.0.0.1:4002 127.0.0.1 9102 passes',
        ]),
        expect=[
            'udp received 0',
            'udp received 1',
            'udp received 1',
        ],
        log=[
            '<6>tinyfw: rule 0: 127.0.0.5/255.255.255.255 proto 17 port 0: '
            'drop',
            '<6>tinyfw: rule 1: 127.0.0.0/255.0.0.0 proto 17 port 9101: log',
            '<6>tinyfw: loaded, 2 rules, hooks at PRE_ROUTING,LOCAL_OUT',
            # on its way out (LOCAL_OUT), then in again over lo
            '<6>tinyfw: 127.0.0.1 proto 17 port 9101 (rule hit 1 times)',
            '<6>tinyfw: 127.0.0.1 proto 17 port 9101 (rule hit 2 times)',
            '<6>tinyfw: unloaded, 1 packets dropped',
        ],
        normalise=(SEND_ERRORS,)),
    'bad-rules': Case(
        params=('rules=reject:10.0.0.0/8:tcp:23',),
        loaded=False,
        log=["<3>tinyfw: bad rules 'reject:10.0.0.0/8:tcp:23'"]),
}


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('key', CASES)
def test_tinyfw(harness, key, mode):
    harness.check(TINYFW, key, CASES[key], mode)
