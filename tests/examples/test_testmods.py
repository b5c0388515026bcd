# SPDX-License-Identifier: GPL-2.0
"""The test modules (tests/examples/mods): what real netfilter modules use,
each on the same traffic as a .ko and as the user-level program.

csumrw      ip_fast_csum, csum_partial, csum_tcpudp_magic, csum_replace4,
            inet_proto_csum_replace4/2, skb_checksum_help,
            skb_ensure_writable, ip_route_me_harder, charp/ushort params
bigskb      skb_header_pointer and skb_linearize on nonlinear GSO packets of
            a large loopback TCP send; nf_register_net_hooks with a static
            array; hook priv pointers
pktlog      kmalloc/kmemdup/kfree in a hook, jiffies, smp_processor_id, a
            per-CPU counter, a kzalloc'ed nf_hook_ops, %pI4
netnsmon    for_each_net under net_rwsem, for_each_netdev_rcu, references
            on namespaces, one kcalloc'ed hook per namespace
paramtest   module parameters of every common type, arrays, strings, and
            init failures on bad values
markdrop    skb->mark written in one hook and read back by another (and
            the receiving socket); dusk-gdb's test module (tests/gdb-ext)
hookctx     in_task(), in_softirq(), in_serving_softirq(), irqs_disabled(),
            softirq_count()... at LOCAL_OUT and PRE_ROUTING: the context the
            kernel runs each hook in, for packets a task sends and for the
            replies the kernel sends from softirq
"""

import pytest

from diff import MODES, Case, harness, mod  # noqa: F401 (fixture)

# A drop on the output path: see SEND_ERRORS in test_ipp2p.py.
SEND_ERRORS = (r"^udp sent \d+ received (\d+)( send-errors \d+ \(EPERM\))?",
               r"udp received \1")

UDP_CSUM_ERRORS = ("awk '/^Udp: [0-9]/ {print $8}' /proc/net/snmp")

CSUMRW = mod("csumrw")
CSUMRW_CASES = {
    "address-and-port": Case(
        params=("from_addr=127.0.0.2", "from_port=9200", "to_addr=127.0.0.1",
                "to_port=9201"),
        script="\n".join([
            f"e0=$({UDP_CSUM_ERRORS})",
            '$N udp -s 127.0.0.1:4000 -r 127.0.0.1:9201 127.0.0.2 9200 '
            '"redirect me"',
            # Another address: not redirected.
            '$N udp -s 127.0.0.1:4000 -r 127.0.0.1:9200 127.0.0.1 9200 '
            '"leave me"',
            # Redirected away from a receiver on the original address.
            '$N udp -w 1000 -s 127.0.0.1:4000 -r 127.0.0.2:9200 127.0.0.2 '
            '9200 "gone"',
            f'echo "udp checksum errors $(($({UDP_CSUM_ERRORS}) - e0))"',
        ]),
        expect=[
            "udp sent 1 received 1",
            "udp sent 1 received 1",
            "udp sent 1 received 0",
            "udp checksum errors 0",
        ],
        log=[
            "<6>csumrw: redirecting UDP to 127.0.0.2:9200 to 127.0.0.1:9201",
        ] + [
            "<6>csumrw: 127.0.0.1:4000 -> 127.0.0.2:9200 redirected to "
            "127.0.0.1:9201, checksums good before, good after"
        ] * 2 + [
            "<6>csumrw: 2 redirected, 0 bad checksums before, 0 after",
        ]),

    "port": Case(
        params=("from_port=9300", "to_port=9301"),
        script="\n".join([
            f"e0=$({UDP_CSUM_ERRORS})",
            "$N udp -n 3 -s 127.0.0.1:4000 -r 9301 127.0.0.1 9300 twice",
            f'echo "udp checksum errors $(($({UDP_CSUM_ERRORS}) - e0))"',
        ]),
        expect=[
            "udp sent 3 received 3",
            "udp checksum errors 0",
        ],
        log=[
            "<6>csumrw: redirecting UDP to 0.0.0.0:9300 to 0.0.0.0:9301",
        ] + [
            "<6>csumrw: 127.0.0.1:4000 -> 127.0.0.1:9300 redirected to "
            "127.0.0.1:9301, checksums good before, good after"
        ] * 3 + [
            "<6>csumrw: 3 redirected, 0 bad checksums before, 0 after",
        ]),

    "no-port": Case(
        loaded=False,
        expect=[],
        log=["<3>csumrw: from_port is required"]),

    "bad-address": Case(
        params=("from_port=1", "to_addr=127.0.0.256"),
        loaded=False,
        expect=[],
        log=["<3>csumrw: to_addr=127.0.0.256: not an IPv4 address"]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", CSUMRW_CASES)
def test_csumrw(harness, key, mode):
    harness.check(CSUMRW, key, CSUMRW_CASES[key], mode)


BIGSKB = mod("bigskb")

# How a TCP stream is cut into packets depends on timing (cwnd, TSO
# autosizing, when the receiver reads): those counts are only checked to
# show large nonlinear packets that were linearized.
SEGMENTATION = (r"^(<6>bigskb: )\d+ packets, \d+ nonlinear, \d+ linearized, "
                r"largest \d+ bytes$", r"\1SEGMENTATION")


def large_nonlinear(run):
    line = [x for x in run.log if " nonlinear, " in x]
    assert len(line) == 1, run.log
    nonlinear = run.numbers(r"bigskb: \d+ packets, (\d+) nonlinear")[0]
    linearized = run.numbers(r"nonlinear, (\d+) linearized")[0]
    largest = run.numbers(r"largest (\d+) bytes")[0]
    assert nonlinear > 0 and linearized > 0, line
    assert largest > 4096, line           # GSO: beyond any MTU but lo's


BIGSKB_CASES = {
    "large-send": Case(
        script="\n".join([
            # A user-level hook on 300 KB of GSO segments under TCG on a
            # loaded machine can take longer than nettest's default 3 s.
            "$N tcp -w 30000 -b 300000 127.0.0.1 5001",
            "$N tcp -b 1000 127.0.0.1 5001",
            "$N tcp -b 50000 127.0.0.1 5002",     # not watched
        ]),
        expect=[
            "tcp connected sent 300000 received 300000 sum 0x023c1f52 "
            "reply ok",
            "tcp connected sent 1000 received 1000 sum 0x0001e65a reply ok",
            "tcp connected sent 50000 received 50000 sum 0x005f4a24 "
            "reply ok",
        ],
        log=[
            "<6>bigskb: watching TCP to port 5001",
            "<6>bigskb: SEGMENTATION",
            # The sum of what the server received on port 5001.
            "<6>bigskb: 301000 bytes of data, sum 0x023e05ac, 0 mismatches, "
            "0 failures",
        ],
        normalise=(SEGMENTATION,),
        check=large_nonlinear),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", BIGSKB_CASES)
def test_bigskb(harness, key, mode):
    harness.check(BIGSKB, key, BIGSKB_CASES[key], mode)


PKTLOG = mod("pktlog")

# jiffies between the first and the last echo request: two sleeps of 1 s
# and the traffic's own time, which differs from run to run.
ELAPSED = (r"^(<6>pktlog: first to last: )\d+( ms)$", r"\1N\2")


def elapsed_between(lo, hi):
    def check(run):
        ms = run.numbers(r"pktlog: first to last: (\d+) ms")
        assert len(ms) == 1 and lo <= ms[0] <= hi, ms
    return check


PKTLOG_SCRIPT = "\n".join([
    "$N magic -c 0 -l 8 127.0.0.1",
    "sleep 1",
    "$N udp 127.0.0.1 9500 not-icmp",
    "$N magic -c 0 -l 16 127.0.0.8",
    "sleep 1",
    "$N magic -c 0 -l 0 127.0.0.1",
])
PKTLOG_SEEN = [
    "magic echo code 0x0",
    "udp sent 1 received 1",
    "magic echo code 0x0",
    "magic echo code 0x0",
]

PKTLOG_CASES = {
    "echo-requests": Case(
        script=PKTLOG_SCRIPT,
        expect=PKTLOG_SEEN,
        log=[
            "<6>pktlog: logging up to 64 echo requests",
            "<6>pktlog: echo request 127.0.0.1 -> 127.0.0.1 seq 1, 8 bytes "
            "of data (0 not zero)",
            "<6>pktlog: echo request 127.0.0.1 -> 127.0.0.8 seq 1, 16 bytes "
            "of data (0 not zero)",
            "<6>pktlog: echo request 127.0.0.1 -> 127.0.0.1 seq 1, 0 bytes "
            "of data (0 not zero)",
            "<6>pktlog: 3 logged, 0 lost, 3 counted on all CPUs, 0 on "
            "impossible CPUs",
            "<6>pktlog: first to last: N ms",
        ],
        normalise=(ELAPSED,),
        check=elapsed_between(1900, 30000)),

    "full": Case(
        params=("max_entries=2",),
        script=PKTLOG_SCRIPT,
        expect=PKTLOG_SEEN,
        log=[
            "<6>pktlog: logging up to 2 echo requests",
            "<6>pktlog: echo request 127.0.0.1 -> 127.0.0.1 seq 1, 8 bytes "
            "of data (0 not zero)",
            "<6>pktlog: echo request 127.0.0.1 -> 127.0.0.8 seq 1, 16 bytes "
            "of data (0 not zero)",
            "<6>pktlog: 2 logged, 1 lost, 3 counted on all CPUs, 0 on "
            "impossible CPUs",
            "<6>pktlog: first to last: N ms",
        ],
        normalise=(ELAPSED,),
        check=elapsed_between(900, 30000)),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", PKTLOG_CASES)
def test_pktlog(harness, key, mode):
    harness.check(PKTLOG, key, PKTLOG_CASES[key], mode)


NETNSMON = mod("netnsmon")

# A second network namespace, held by a sleeping process; both runs see
# the same one (a namespace that has just been released can linger a
# moment on the kernel's list).
NETNS_SETUP = """
pid=$(cat /tmp/netnsmon-ns.pid 2>/dev/null || true)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
	unshare -n sh -c 'ip link set lo up; exec sleep 100000' \
		</dev/null >/dev/null 2>&1 &
	echo $! >/tmp/netnsmon-ns.pid
	sleep 1
fi
"""

NETNSMON_CASES = {
    "two-namespaces": Case(
        setup=NETNS_SETUP,
        script="\n".join([
            "P=$(cat /tmp/netnsmon-ns.pid)",
            "nsenter -t $P -n $N magic -c 0 127.0.0.1",
            "nsenter -t $P -n $N magic -c 0 127.0.0.1",
            "$N magic -c 0 127.0.0.1",
        ]),
        expect=["magic echo code 0x0"] * 3,
        log=[
            "<6>netnsmon: netns 0: lo eth0",
            "<6>netnsmon: netns 1: lo",
            "<6>netnsmon: watching 2 namespaces",
            "<6>netnsmon: netns 0: 1 echo requests",
            "<6>netnsmon: netns 1: 2 echo requests",
        ]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", NETNSMON_CASES)
def test_netnsmon(harness, key, mode):
    harness.check(NETNSMON, key, NETNSMON_CASES[key], mode)


PARAMTEST = mod("paramtest")


def sendto_failed(run):
    if run.mode == "ko":
        assert run.observations[0] == \
            "udp sent 0 received 0 send-errors 1 (EPERM)", run.observations


PARAMTEST_CASES = {
    "defaults": Case(
        script="\n".join([
            "$N udp 127.0.0.1 9400 watched",
            "$N udp 127.0.0.1 9401 unwatched",
        ]),
        expect=["udp sent 1 received 1"] * 2,
        log=[
            "<6>paramtest: level=-3 count=7 offset=-1234567890123 "
            "limit=18446744073709551615 delta=-2",
            "<6>paramtest: flags_byte=0x5a mask=0xff00 drop=0 quiet=0",
            "<6>paramtest: name='paramtest' tag='none' nports=1",
            "<6>paramtest: ports[0]=9400",
            "<6>paramtest: [none] paramtest: UDP to port 9400 (ports[0]), "
            "passed",
            "<6>paramtest: 1 datagrams to the watched ports",
        ]),

    "all-set": Case(
        params=("level=10", "count=4294967295",
                "offset=-9223372036854775808", "limit=0x10", "delta=-32768",
                "flags_byte=255", "mask=0xdeadbeef", "drop=y", "log=0",
                "name=other", 'tag="two words"', "ports=9401,9402,9403"),
        script="\n".join([
            "$N udp 127.0.0.1 9402 watched",
            "$N udp 127.0.0.1 9400 unwatched",
        ]),
        expect=["udp received 0", "udp received 1"],
        log=[
            "<6>paramtest: level=10 count=4294967295 "
            "offset=-9223372036854775808 limit=16 delta=-32768",
            "<6>paramtest: flags_byte=0xff mask=0xdeadbeef drop=1 quiet=1",
            "<6>paramtest: name='other' tag='two words' nports=3",
            "<6>paramtest: ports[0]=9401",
            "<6>paramtest: ports[1]=9402",
            "<6>paramtest: ports[2]=9403",
            "<6>paramtest: 1 datagrams to the watched ports",
        ],
        normalise=(SEND_ERRORS,),
        check=sendto_failed),

    "too-many-ports": Case(
        params=("ports=1,2,3,4,5",),
        loaded=False,
        expect=[],
        log=[]),

    "level-out-of-range": Case(
        params=("level=11",),
        loaded=False,
        expect=[],
        log=["<3>paramtest: level=11 out of range"]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", PARAMTEST_CASES)
def test_paramtest(harness, key, mode):
    harness.check(PARAMTEST, key, PARAMTEST_CASES[key], mode)


MARKDROP = mod("markdrop")

MARKDROP_CASES = {
    # set_mark=9 marks what markdrop_out sees, markdrop_in then drops it
    # (its mark read back from the kernel's skb); other ports untouched.
    "set-and-drop": Case(
        params=("port=9300", "set_mark=9"),
        script="\n".join([
            "$N udp -m -s 127.0.0.1:4001 127.0.0.1 9300 to-9300",
            "$N udp -m -s 127.0.0.1:4001 127.0.0.1 9400 to-9400",
        ]),
        expect=[
            "udp sent 1 received 0",
            "udp sent 1 received 1 marks 0x0",
        ],
        log=[
            "<6>markdrop: loaded: ports 9300-9315, drop mark 9",
            "<6>markdrop: out 127.0.0.1:9300 len 35 mark 9",
            "<6>markdrop: drop port 9300 mark 9",
            "<6>markdrop: unloaded: 1 seen, 1 dropped",
        ]),
    # A mark that is not drop_mark reaches the receiving socket.
    "set-and-deliver": Case(
        params=("port=9300", "set_mark=5"),
        script="$N udp -m -s 127.0.0.1:4001 127.0.0.1 9301 to-9301",
        expect=["udp sent 1 received 1 marks 0x5"],
        log=[
            "<6>markdrop: loaded: ports 9300-9315, drop mark 9",
            "<6>markdrop: out 127.0.0.1:9301 len 35 mark 5",
            "<6>markdrop: unloaded: 1 seen, 0 dropped",
        ]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", MARKDROP_CASES)
def test_markdrop(harness, key, mode):
    harness.check(MARKDROP, key, MARKDROP_CASES[key], mode)


HOOKCTX = mod("hookctx")

# What hookctx prints of each context (hc_show), as 6.1 runs hooks:
# the context of a task (init, exit, sendmsg and connect reaching
# LOCAL_OUT), NET_RX softirq (PRE_ROUTING), and that softirq with bottom
# halves disabled on top (LOCAL_OUT of the echo reply and the SYN-ACK the
# kernel answers with).
HC_TASK = ("in_task 1 in_interrupt 0 in_softirq 0 in_serving_softirq 0 "
           "in_hardirq 0 in_nmi 0 in_atomic 0 irqs_disabled 0 "
           "softirq_count 0x0 hardirq_count 0x0")
HC_SOFTIRQ = ("in_task 0 in_interrupt 1 in_softirq 1 in_serving_softirq 1 "
              "in_hardirq 0 in_nmi 0 in_atomic 1 irqs_disabled 0 "
              "softirq_count 0x100 hardirq_count 0x0")
HC_SOFTIRQ_BH = HC_SOFTIRQ.replace("softirq_count 0x100",
                                   "softirq_count 0x300")


def hookctx_log(watching, packets, counts):
    return ([f"<6>hookctx: init: {HC_TASK}",
             f"<6>hookctx: watching UDP to port 9600{watching}, 4 packets "
             f"per hook"] +
            [f"<6>hookctx: {where}: {ctx}" for where, ctx in packets] +
            [f"<6>hookctx: exit: {HC_TASK}"] +
            [f"<6>hookctx: {kind}: {n} at LOCAL_OUT, {n} at PRE_ROUTING"
             for kind, n in counts])


HOOKCTX_CASES = {
    # Datagrams and a ping a task sends: LOCAL_OUT in its context;
    # PRE_ROUTING in softirq; the kernel's echo reply leaves from softirq.
    "udp-and-ping": Case(
        params=("icmp=1",),
        script="\n".join([
            "$N udp 127.0.0.1 9600 first",
            "$N udp 127.0.0.1 9600 second",
            "$N udp 127.0.0.1 9601 not-watched",
            "$N magic -c 0 127.0.0.1",
        ]),
        expect=["udp sent 1 received 1"] * 3 + ["magic echo code 0x0"],
        log=hookctx_log(", ICMP echo", [
            ("LOCAL_OUT udp #1", HC_TASK),
            ("PRE_ROUTING udp #1", HC_SOFTIRQ),
            ("LOCAL_OUT udp #2", HC_TASK),
            ("PRE_ROUTING udp #2", HC_SOFTIRQ),
            ("LOCAL_OUT echo #1", HC_TASK),
            ("PRE_ROUTING echo #1", HC_SOFTIRQ),
            ("LOCAL_OUT echo-reply #1", HC_SOFTIRQ_BH),
            ("PRE_ROUTING echo-reply #1", HC_SOFTIRQ),
        ], [("udp", 2), ("echo", 1), ("echo-reply", 1)])),

    # connect()'s SYN leaves in the task's context, the SYN-ACK (a request
    # socket's) from the softirq that received the SYN.
    "tcp-handshake": Case(
        params=("tcp=1",),
        script="$N tcp 127.0.0.1 9600 hello",
        expect=["tcp connected sent 5 received 5 sum 0x00000214 reply ok"],
        log=hookctx_log(", TCP SYN", [
            ("LOCAL_OUT syn #1", HC_TASK),
            ("PRE_ROUTING syn #1", HC_SOFTIRQ),
            ("LOCAL_OUT syn-ack #1", HC_SOFTIRQ_BH),
            ("PRE_ROUTING syn-ack #1", HC_SOFTIRQ),
        ], [("udp", 0), ("syn", 1), ("syn-ack", 1)])),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", HOOKCTX_CASES)
def test_hookctx(harness, key, mode):
    harness.check(HOOKCTX, key, HOOKCTX_CASES[key], mode)
