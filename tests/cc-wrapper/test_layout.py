"""Layouts proven equal: dusk-cc compares, for every object, the DWARF of
its .ko build and of its user-level build (sizes, member offsets, bit
offsets and widths of bitfields, member sizes of every struct and union
both use), and a difference stops the build naming the type, the member,
both offsets and the source file. The differences are forced the way a
developer could: a flag given to the user-level build only
(--user-cflags), with the kernel's objects built with or without debug
information."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import SRCDIR

DUSK_CC = SRCDIR / 'bin' / 'dusk-cc'
MODS = SRCDIR / 'tests' / 'cc-wrapper' / 'mods'
KEEP = ('Makefile', 'Kbuild')


def project(tmp_path, name):
    dest = tmp_path / 'src' / name
    shutil.copytree(MODS / name, dest, symlinks=True)
    return dest


def dusk_cc(*args):
    return subprocess.run([str(DUSK_CC), *map(str, args)],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, LANG='C'))


def layout_report(stderr, src):
    """The lines of the layout report about source file src."""
    lines = stderr.splitlines()
    head = f'dusk-cc: {src}: the user-level build lays out types ' \
        'differently from the .ko build:'
    assert head in lines, stderr
    out = []
    for line in lines[lines.index(head) + 1:]:
        if not line.startswith('dusk-cc:   '):
            break
        out.append(line[len('dusk-cc:   '):])
    return out


def test_short_enums_in_the_user_build_stops_it_naming_type_and_members(
        tmp_path):
    """-fshort-enums makes enum fw_action one byte at user level: struct
    fw_rule's members after it move. The build stops before linking,
    naming the struct, its header, each moved member with both offsets,
    and the source file; the module's own type comes first."""
    root = project(tmp_path, 'tinyfw')
    prog = tmp_path / 'tinyfw-prog'
    p = dusk_cc('--user-cflags=-fshort-enums', '-M', root / 'kmod',
                '-o', prog)
    assert p.returncode != 0
    assert not prog.exists()
    # make stops at the first object that fails: fw_main.c
    report = layout_report(p.stderr, root / 'kmod' / 'fw_main.c')
    header = f'{root}/kmod/../include/fw_rules.h:23'
    assert report[0].startswith(f'struct fw_rule ({header}): '), report
    assert f"struct fw_rule ({header}): 32 bytes in the .ko build, 24 in " \
        "the user-level build" in report
    assert f"struct fw_rule ({header}): member 'action' at offset 12 in the " \
        ".ko build, 11 in the user-level build" in report
    assert f"struct fw_rule ({header}): member 'hits' at offset 24 in the " \
        ".ko build, 16 in the user-level build" in report
    # the bitfields after it, in bits
    assert f"struct fw_rule ({header}): member 'in' at bit offset 128 in " \
        "the .ko build, 96 in the user-level build" in report
    assert "--user-cflags '-fshort-enums'" in p.stderr


@pytest.mark.parametrize('dwarf', ['', '-gdwarf-4'])
def test_ms_bitfields_in_the_user_build_moves_bitfields(tmp_path, dwarf):
    """-mms-bitfields starts struct fw_stats's bitfields in a new storage
    unit: same size, but the bitfields' bit offsets differ. Also with a
    kernel configured for DWARF 4 (CONFIG_DEBUG_INFO_DWARF4: -gdwarf-4),
    which describes bitfields another way."""
    root = project(tmp_path, 'tinyfw')
    if dwarf:
        mk = root / 'kmod' / 'Makefile'
        mk.write_text(mk.read_text().replace(
            'EXTRA_CFLAGS += -DFW_MAX_RULES=32',
            f'EXTRA_CFLAGS += -DFW_MAX_RULES=32 {dwarf}'))
    p = dusk_cc('--user-cflags=-mms-bitfields', '-M', root / 'kmod',
                '-o', tmp_path / 'prog')
    assert p.returncode != 0
    report = layout_report(p.stderr, root / 'kmod' / 'fw_main.c')
    header = f'{root}/kmod/../include/fw_rules.h:34'
    assert report[:2] == [
        f"struct fw_stats ({header}): member 'nrules' at bit offset 8 in the "
        ".ko build, 32 in the user-level build",
        f"struct fw_stats ({header}): member 'verbose' at bit offset 16 in "
        "the .ko build, 40 in the user-level build"], report


def test_dwarf_versions_of_the_two_builds_may_differ(tmp_path):
    """The .ko's objects in DWARF 5, the user-level ones in DWARF 4
    (--user-cflags=-gdwarf-4): bitfields described two ways, the same
    layouts, so the build goes through."""
    root = project(tmp_path, 'tinyfw')
    p = dusk_cc('-v', '--user-cflags=-gdwarf-4', '-M', root / 'kmod',
                '-o', tmp_path / 'prog')
    assert p.returncode == 0, p.stderr[-3000:]
    assert re.search(r'^dusk-cc: layouts of fw_main.c: [1-9]\d* structs',
                     p.stderr, re.M), p.stderr[-3000:]


def test_kernel_without_debug_information_is_checked_too(tmp_path):
    """A kernel without CONFIG_DEBUG_INFO compiles modules without -g
    (here: EXTRA_CFLAGS += -g0): dusk-cc compiles kbuild's own command
    with -g to compare, so the difference is still caught, and the
    module builds when there is none."""
    root = project(tmp_path, 'tinyfw')
    mk = root / 'kmod' / 'Makefile'
    mk.write_text(mk.read_text().replace(
        'EXTRA_CFLAGS += -DFW_MAX_RULES=32',
        'EXTRA_CFLAGS += -DFW_MAX_RULES=32 -g0'))
    p = dusk_cc('--user-cflags=-fshort-enums', '-M', root / 'kmod',
                '-o', tmp_path / 'bad')
    assert p.returncode != 0
    report = layout_report(p.stderr, root / 'kmod' / 'fw_main.c')
    assert any("struct fw_rule (" in r and "member 'action' at offset 12 in"
               " the .ko build, 11 in" in r for r in report), report

    p = dusk_cc('-v', '--keep', '-M', root / 'kmod', '-o', tmp_path / 'good')
    work = pathlib.Path(p.stderr.split('work directory kept: ')[1].split()[0])
    try:
        assert p.returncode == 0, p.stderr
        counts = re.findall(r'^dusk-cc: layouts of (\S+): (\d+) structs and '
                            r'unions alike', p.stderr, re.M)
        assert {c[0] for c in counts} == {'fw_main.c', 'src/rules.c',
                                          'src/hook.c'}, p.stderr
        assert all(int(c[1]) > 0 for c in counts), counts
        # the .ko's objects themselves stay as kbuild made them: no -g
        sections = subprocess.run(['objdump', '-h', str(work / 'module' /
                                                        'fw_main.o')],
                                  capture_output=True, text=True).stdout
        assert '.text' in sections and '.debug_info' not in sections, \
            sections
        # the user-level ones have types, for the check and for gdb
        sections = subprocess.run(['objdump', '-h', str(work / 'user' /
                                                        'fw_main.o')],
                                  capture_output=True, text=True).stdout
        assert '.debug_info' in sections, sections
    finally:
        shutil.rmtree(work)


# Test modules dusk-cc refuses on purpose (their refusal is tested where
# the module is used).
REFUSED = {'synthev'}       # test_variadic.py: a variadic call, no format
# Modules whose objects use no complete struct or union type at all.
NO_STRUCTS = {'leakyexit'}  # a dev_t and an opaque proc_dir_entry pointer
# Folders of several modules that build only together: the module of
# their user-level program needs the other's Module.symvers first.
TOGETHER = {'tally'}        # test_faults.py: exec_tally.ko, then tallyhook


EXMODS = SRCDIR / 'tests' / 'examples' / 'mods'


def _module_dir(d):
    """d, or the folder of d that holds the module (miscioctl/driver)."""
    if (d / 'Makefile').exists() or (d / 'Kbuild').exists():
        return d
    return next(s for s in sorted(d.iterdir())
                if (s / 'Makefile').exists() or (s / 'Kbuild').exists())


def modules():
    return sorted(
        [d for d in (SRCDIR / 'examples').iterdir()
         if (d / 'Makefile').exists() and list(d.glob('*.c'))] +
        [_module_dir(d) for d in EXMODS.iterdir()
         if d.is_dir() and d.name not in REFUSED | TOGETHER] +
        [MODS / 'tinyfw' / 'kmod', MODS / 'pscan' / 'module'])


def module_sources(d):
    """The .c files of d that kbuild makes objects of (not the user-space
    clients some test modules keep beside them: invctl.c)."""
    rules = ' '.join((d / n).read_text() for n in ('Makefile', 'Kbuild')
                     if (d / n).exists())
    objs = set(re.findall(r'([\w-]+)\.o\b', rules))
    return {s.relative_to(d).as_posix() for s in d.rglob('*.c')
            if s.stem in objs}


@pytest.mark.parametrize('moddir', modules(),
                         ids=lambda d: d.relative_to(SRCDIR).as_posix())
def test_every_example_and_test_module_passes_the_check(tmp_path, moddir):
    """Each example and test module builds, and every one of its objects
    had its layouts compared (some may use no struct: ipp2p_sig.c; the
    module as a whole does)."""
    # the test projects whole (their headers are beside the module)
    project = moddir.parent if moddir.parent.parent in (MODS, EXMODS) \
        else moddir
    dest = tmp_path / 'src' / project.name
    shutil.copytree(project, dest, symlinks=True,
                    ignore=lambda dir, names: [
                        n for n in names if not (
                            pathlib.Path(dir, n).is_dir() or
                            n in ('Makefile', 'Kbuild') or
                            n.endswith(('.c', '.h'))) or
                        n.endswith('.mod.c')])
    d = dest / moddir.relative_to(project)
    p = dusk_cc('-v', '-M', d, '-o', tmp_path / 'prog')
    assert p.returncode == 0, p.stderr[-3000:]
    counts = dict(re.findall(r'^dusk-cc: layouts of (\S+): (\d+) structs and '
                             r'unions alike', p.stderr, re.M))
    sources = module_sources(d)
    assert set(counts) == sources, (counts, sources)
    if moddir.name not in NO_STRUCTS:
        assert sum(int(n) for n in counts.values()) > 0, counts
