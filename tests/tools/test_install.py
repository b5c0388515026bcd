# SPDX-License-Identifier: GPL-2.0
"""dusk installed: make install prefix=TMP, then make installcheck there
(tests/installcheck.py: the installed tools, from outside the tree, boot a
target of their own, build and run examples/lwfw, build a program with
pkg-config's libdusk, and run a dusk-gdb batch session in the module's
init and hook); an installation missing a piece fails it; make uninstall
leaves no file behind."""

import os
import subprocess

from conftest import BUILDDIR

TOOLS = ("dusk-cc", "dusk-target", "dusk-gdb")


def make(*args, timeout=600):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DUSK_BUILDDIR", "DUSK_SRCDIR")}
    return subprocess.run(["make", "-s", "-C", str(BUILDDIR), *args],
                          env=env, capture_output=True, text=True,
                          errors="replace", timeout=timeout)


def installed_files(prefix):
    return sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*")
                  if not p.is_dir())


def test_install_installcheck_uninstall(tmp_path):
    prefix = tmp_path / "prefix"
    p = make("install", f"prefix={prefix}")
    assert p.returncode == 0, p.stdout + p.stderr
    files = installed_files(prefix)
    for t in TOOLS:
        assert f"bin/{t}" in files, files
        assert f"share/man/man1/{t}.1" in files, files
    assert "lib/pkgconfig/libdusk.pc" in files, files
    assert "share/dusk/gdb-ext/dusk/constants.py" in files, files

    p = make("installcheck", f"prefix={prefix}")
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    for line in ("every file is installed",
                 "dusk-cc -M lwfw built the program",
                 "the libdusk program opened a session",
                 "lwfw-prog dropped",
                 "dusk-gdb stopped in lwfw_init and lwfw_hook",
                 "installcheck: passed"):
        assert f"installcheck: {line}" in out or line in out, out

    # A piece missing: installcheck says which, and fails.
    for piece in ("bin/dusk-gdb", "share/dusk/gdb-ext/dusk/constants.py"):
        data = (prefix / piece).read_bytes()
        mode = (prefix / piece).stat().st_mode
        (prefix / piece).unlink()
        p = make("installcheck", f"prefix={prefix}")
        assert p.returncode != 0, p.stdout
        assert f"not installed: {prefix / piece}" in p.stderr, p.stderr
        (prefix / piece).write_bytes(data)
        os.chmod(prefix / piece, mode)

    p = make("uninstall", f"prefix={prefix}")
    assert p.returncode == 0, p.stdout + p.stderr
    assert installed_files(prefix) == []
