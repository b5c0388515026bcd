# SPDX-License-Identifier: GPL-2.0
"""The examples and test modules are plain kernel modules: a kbuild
Makefile naming them, a README for the examples, nothing in the source for
dusk, and a build without warnings."""

import re

import pytest

from diff import EXAMPLES_DIR, MODS_DIR, example, harness, mod  # noqa: F401

EXAMPLES = ("lwfw", "nfsniff", "ipp2p", "proctimer")
MODS = ("csumrw", "bigskb", "pktlog", "netnsmon", "paramtest",
        "jiffytimer", "taskletlog", "wqdemo", "hrtick")
ALL = [example(n) for n in EXAMPLES] + [mod(n) for n in MODS]


def sources(module):
    return sorted(p for p in module.srcdir.iterdir()
                  if p.suffix in (".c", ".h") or p.name == "Makefile")


@pytest.mark.parametrize("module", ALL, ids=lambda m: m.name)
def test_kbuild_makefile(module):
    text = (module.srcdir / "Makefile").read_text()
    assert re.search(rf"^obj-m\s*:=\s*{module.name}\.o$", text, re.M)
    assert re.search(r"^all:\n\t\$\(MAKE\) -C \$\(KDIR\) M=\$\(PWD\) "
                     r"modules$", text, re.M)
    assert re.search(r"^clean:\n\t\$\(MAKE\) -C \$\(KDIR\) M=\$\(PWD\) "
                     r"clean$", text, re.M)


@pytest.mark.parametrize("module", ALL, ids=lambda m: m.name)
def test_nothing_for_dusk(module):
    """One unmodified source: no #ifdef, no name, no hint of dusk."""
    for path in sources(module):
        text = path.read_text()
        assert not re.search(r"dusk", text, re.I), path
        for line in text.splitlines():
            if re.match(r"\s*#\s*if", line):
                assert not re.search(r"USER|USERSPACE|__KERNEL__", line), \
                    f"{path}: {line}"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_readme(name):
    text = (EXAMPLES_DIR / name / "README.md").read_text()
    assert text.startswith(f"# {name}: ")
    assert f"bin/dusk-cc -M examples/{name}" in text
    assert "make" in text


@pytest.mark.parametrize("module", ALL, ids=lambda m: m.name)
def test_kbuild_without_warnings(harness, module):
    ko = harness.build_ko(module)
    out = harness.kbuild_output[module.name]
    warnings = [line for line in out.splitlines()
                if re.search(r"warning|error", line, re.I)]
    assert not warnings, "\n".join(warnings)
    assert ko.stat().st_size > 0
