# SPDX-License-Identifier: GPL-2.0
"""./bootstrap bench on a tiny input. Benchmarks are not tests: the numbers
are not judged here, only that the bench runs its scenarios on a target of
its own and reports every figure it promises, in stdout's JSON and in
latest.json alike, with the curves plotted as a PNG."""

import json
import subprocess

from conftest import SRCDIR

BENCH = SRCDIR / "tools" / "bench" / "bench"
SCENARIOS = ("baseline", "ko", "nfqueue", "dusk", "dusk-mark", "dusk-gdb",
             "dusk-gdb-cond")
WINDOWS = ("1", "4", "16", "64")
SIZES = ("64", "256", "512", "1024", "1400")


def test_bench_reports_every_figure(tmp_path):
    p = subprocess.run(["/usr/bin/python3", str(BENCH), "--packets", "40",
                        "--runs", "1", "--curve-packets", "40",
                        "--check-passes", "2", "--out",
                        str(tmp_path)], capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    d = json.loads(p.stdout)
    assert json.loads((tmp_path / "latest.json").read_text()) == d
    assert (tmp_path / "pps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert set(d["scenarios"]) == set(SCENARIOS)
    for name in SCENARIOS:
        sc = d["scenarios"][name]
        assert sc["pps"] > 0 and sc["lost"] == 0, (name, sc)
        assert 0 < sc["latency_us"]["p50"] <= sc["latency_us"]["p99"], sc
    assert set(d["ratios"]) >= {"dusk/nfqueue", "dusk/ko"}, d["ratios"]
    assert all(v > 0 for v in d["ratios"].values()), d["ratios"]
    assert set(d["latency_us"]) == {"ko", "nfqueue", "dusk"}, d
    # Verdicts go several to a datagram: a hook costs at most one (and a
    # keepalive PING now and then).
    assert set(d["round_trips_per_hook"]) == {"lwfw", "classmark"}, d
    assert all(0 < v <= 1.1 for v in d["round_trips_per_hook"].values()), d
    assert d["boot_s"] > 0 and d["compile_time_ratio"] > 0, d
    assert set(d["compile_s"]) == {"kbuild", "dusk-cc"}, d
    # The matchers' instructions built by dusk-cc against plainly.
    ratio = d["check_overhead_ratio"]
    assert isinstance(ratio, (int, float)) and ratio > 0, d
    counts = d["check_instructions"]
    assert set(counts) == {"dusk-cc", "plain"}, d
    assert all(isinstance(n, int) and n > 0 for n in counts.values()), d

    c = d["curves"]
    for peer in ("nfqueue", "dusk"):
        assert set(c["window"][peer]) == set(WINDOWS), c
        assert set(c["size"][peer]) == set(SIZES), c
        assert all(v > 0 for v in c["window"][peer].values()), c
        assert all(v > 0 for v in c["size"][peer].values()), c
    assert set(c["round_trips_per_hook"]) == set(WINDOWS), c
