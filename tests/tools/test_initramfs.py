# SPDX-License-Identifier: GPL-2.0
"""tools/dusk-mkinitramfs: the base initramfs, without booting it."""

import shutil
import subprocess

from conftest import BUILDDIR, SRCDIR

KERNEL_RELEASE = subprocess.run([str(SRCDIR / "build-aux" / "find-kernel")],
                                capture_output=True, text=True,
                                check=True).stdout.strip()
MODDIR = f"/lib/modules/{KERNEL_RELEASE}"


def build(tmp_path, ko=None):
    out = tmp_path / "base.cpio"
    args = [str(SRCDIR / "tools" / "dusk-mkinitramfs"),
            "--release", KERNEL_RELEASE, "--busybox", shutil.which("busybox"),
            "--agent", str(BUILDDIR / "tools" / "dusk-agent-static"),
            "--init", str(SRCDIR / "tools" / "dusk-init"),
            "--output", str(out)]
    if ko:
        args += ["--ko", ko]
    subprocess.run(args, check=True)
    root = tmp_path / "root"
    root.mkdir()
    with open(out, "rb") as f:
        subprocess.run(["cpio", "-id", "--quiet"], stdin=f, cwd=root,
                       check=True)
    return root


def modules_dep(root):
    """{module path: [dependency paths]} of the initramfs's modules.dep."""
    deps = {}
    text = (root / "lib" / "modules" / KERNEL_RELEASE / "modules.dep")
    for line in text.read_text().splitlines():
        mod, _, rest = line.partition(":")
        deps[mod] = rest.split()
    return deps


def test_contents(tmp_path):
    root = build(tmp_path)
    assert (root / "init").stat().st_mode & 0o111
    assert (root / "bin" / "busybox").is_file()
    assert (root / "bin" / "sh").resolve() == (root / "bin" / "busybox")
    assert (root / "bin" / "dusk-agent").stat().st_mode & 0o111
    # No key in the cached base: it comes with each boot.
    assert not list((root / "etc" / "dusk").iterdir())
    deps = modules_dep(root)
    names = {p.rsplit("/", 1)[1] for p in deps}
    assert {"virtio_net.ko", "virtio_pci.ko", "virtio.ko", "virtio_ring.ko",
            "failover.ko", "net_failover.ko", "nfnetlink.ko",
            "nfnetlink_queue.ko"} <= names
    for mod, needs in deps.items():
        assert (root / "lib" / "modules" / KERNEL_RELEASE / mod).is_file()
        for d in needs:
            assert d in deps, f"{mod} needs {d}, which is missing"
    assert "extra/dusk.ko" not in deps


def test_dusk_ko_dependencies(tmp_path):
    """A dusk.ko that needs other modules gets them, in load order: each
    module is listed before what it needs (modprobe loads from the end)."""
    # nft_ct stands in for a dusk.ko with a deep dependency tree.
    root = build(tmp_path, ko=f"{MODDIR}/kernel/net/netfilter/nft_ct.ko")
    deps = modules_dep(root)
    line = deps["extra/dusk.ko"]
    assert any(p.endswith("/nf_tables.ko") for p in line)
    assert any(p.endswith("/nf_conntrack.ko") for p in line)
    assert len(line) == len(set(line))
    for i, mod in enumerate(line):
        for needed in deps[mod]:
            assert needed in line[i + 1:], f"{needed} must follow {mod}"
    assert (root / "lib" / "modules" / KERNEL_RELEASE / "extra" /
            "dusk.ko").is_file()
