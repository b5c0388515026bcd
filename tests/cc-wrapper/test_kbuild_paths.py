"""dusk-cc -M builds a module where kbuild would: includes and -I flags
that reach outside the module's folder (../include, $(src)/.., $(PWD)/..),
sources in subfolders and beside the folder (../lib/x.o), a Kbuild file
or a Makefile in the classic `ifneq ($(KERNELRELEASE),)` form; and it
leaves no file behind, in the
module's folder or beside it. The test modules (tests/cc-wrapper/mods) are
projects laid out as on GitHub: tinyfw (headers in ../include, objects in
src/), pscan (a Kbuild file, headers in include/ and ../common)."""
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import SRCDIR

DUSK_CC = SRCDIR / 'bin' / 'dusk-cc'
MODS = SRCDIR / 'tests' / 'cc-wrapper' / 'mods'


def kdir():
    rel = subprocess.run([str(SRCDIR / 'build-aux' / 'find-kernel')],
                         capture_output=True, text=True,
                         check=True).stdout.strip()
    return f'/lib/modules/{rel}/build'


def project(tmp_path, name):
    """A copy of test project NAME in tmp_path/src/NAME (its own tree)."""
    dest = tmp_path / 'src' / name
    shutil.copytree(MODS / name, dest, symlinks=True)
    return dest


def listing(root):
    """Every path under root (hidden ones too) with its type, size and
    modification time: what a build could add, remove or touch."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = pathlib.Path(dirpath) / n
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mode, st.st_size,
                                             st.st_mtime_ns)
    return out


def dusk_cc(*args, cwd=None):
    return subprocess.run([str(DUSK_CC), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, LANG='C'))


def defined_text_symbols(prog):
    out = subprocess.run(['nm', '--defined-only', str(prog)],
                         capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines()
            if line.split()[1] in 'Tt'}


def build_both_ways(tmp_path, name, moddir_rel, prog_name):
    """kbuild on one copy (the module is valid for kbuild), dusk-cc -M on
    another with a listing before and after: (dusk-cc's result, the
    program, the two listings)."""
    kb = project(tmp_path / 'kbuild', name) / moddir_rel
    p = subprocess.run(['make', '-C', kdir(), f'M={kb}', 'modules'],
                       cwd=kb, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, PWD=str(kb)))
    assert p.returncode == 0, p.stdout + p.stderr
    assert (kb / f'{prog_name}.ko').exists()

    root = project(tmp_path, name)
    before = listing(tmp_path / 'src')
    prog = tmp_path / 'out' / prog_name
    prog.parent.mkdir()
    # From elsewhere, as a developer would run it from their shell.
    p = dusk_cc('-M', root / moddir_rel, '-o', prog, cwd=tmp_path)
    after = listing(tmp_path / 'src')
    return p, prog, before, after


def test_tinyfw_classic_makefile_sibling_include_and_subfolders(tmp_path):
    """fw_main.c includes "../include/fw_rules.h", src/rules.c finds
    <fw_rules.h> through ccflags-y -I$(src)/../include, src/hook.c
    "../../include/fw_rules.h"; EXTRA_CFLAGS sets FW_MAX_RULES; objects
    in src/ (tinyfw-objs); the Makefile's ifneq ($(KERNELRELEASE),) form."""
    p, prog, before, after = build_both_ways(tmp_path, 'tinyfw', 'kmod',
                                             'tinyfw')
    assert p.returncode == 0, p.stderr
    assert 'No such file or directory' not in p.stderr
    assert prog.exists()
    # Every object of tinyfw-objs is in the program.
    syms = defined_text_symbols(prog)
    assert {'tinyfw_init', 'fw_rules_init', 'fw_match', 'fw_hooks_register',
            'tinyfw_hook'} <= syms, sorted(syms)
    # Nothing left behind: not in kmod/, not in include/ beside it.
    assert after == before


def test_tinyfw_extra_cflags_reach_the_user_level_objects(tmp_path):
    """EXTRA_CFLAGS's -DFW_MAX_RULES=32 sizes the rule table at user
    level as in the .ko (16 without it)."""
    p, prog, before, after = build_both_ways(tmp_path, 'tinyfw', 'kmod',
                                             'tinyfw')
    assert p.returncode == 0, p.stderr
    out = subprocess.run(['gdb', '-nx', '-batch', '-ex',
                          'print sizeof(fw_rules)/sizeof(fw_rules[0])',
                          str(prog)], capture_output=True, text=True,
                         timeout=120).stdout
    assert '$1 = 32' in out, out
    assert after == before


def test_pscan_kbuild_file_include_dirs_from_src_and_pwd(tmp_path):
    """pscan's Kbuild: ccflags-y := -I$(src)/include, EXTRA_CFLAGS +=
    -I$(PWD)/../common (PWD: the module's folder, as when the developer
    runs make there), pscan-y with objects in core/."""
    p, prog, before, after = build_both_ways(tmp_path, 'pscan', 'module',
                                             'pscan')
    assert p.returncode == 0, p.stderr
    syms = defined_text_symbols(prog)
    assert {'pscan_init', 'pscan_detect', 'pscan_lookup',
            'pscan_note_port'} <= syms, sorted(syms)
    assert after == before


def test_tinyfw_fw_y_and_a_build_of_the_folder_left_by_kbuild(tmp_path):
    """tinyfw-y instead of tinyfw-objs, and the developer's folder holding
    the .o/.ko/.cmd files of an earlier in-place kbuild: dusk-cc builds
    from the sources and touches none of them."""
    root = project(tmp_path, 'tinyfw')
    mk = root / 'kmod' / 'Makefile'
    mk.write_text(mk.read_text().replace('tinyfw-objs :=', 'tinyfw-y :='))
    p = subprocess.run(['make', '-C', kdir(), f'M={root / "kmod"}',
                        'modules'], cwd=root / 'kmod', capture_output=True,
                       text=True, timeout=600,
                       env=dict(os.environ, PWD=str(root / 'kmod')))
    assert p.returncode == 0, p.stdout + p.stderr
    assert (root / 'kmod' / 'src' / 'rules.o').exists()
    before = listing(tmp_path / 'src')
    p = dusk_cc('-M', root / 'kmod', '-o', tmp_path / 'tinyfw-prog',
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert 'fw_match' in defined_text_symbols(tmp_path / 'tinyfw-prog')
    assert listing(tmp_path / 'src') == before


def test_error_in_a_sibling_header_names_the_developers_file(tmp_path):
    """A compile error in ../include/fw_rules.h names that file where it
    is, never dusk-cc's temporary tree."""
    root = project(tmp_path, 'tinyfw')
    h = root / 'include' / 'fw_rules.h'
    lines = h.read_text().splitlines()
    at = lines.index('\tunsigned long hits;')
    lines[at] = '\tunsigned lnog hits;'
    h.write_text('\n'.join(lines) + '\n')
    before = listing(tmp_path / 'src')
    p = dusk_cc('-M', root / 'kmod', '-o', tmp_path / 'tinyfw-prog',
                cwd=tmp_path)
    assert p.returncode != 0
    errors = [line for line in p.stderr.splitlines() if ': error:' in line]
    assert errors, p.stderr
    where = errors[0].split(':')[0]
    assert os.path.normpath(where) == str(h), p.stderr
    assert 'dusk-cc.' not in p.stderr
    assert listing(tmp_path / 'src') == before


def with_lib(root, obj):
    """tinyfw with a helper in ../lib/fw_util.c, linked in as obj."""
    (root / 'lib').mkdir()
    (root / 'lib' / 'fw_util.c').write_text(
        '// SPDX-License-Identifier: GPL-2.0\n'
        '#include <linux/kernel.h>\n'
        '#include "../include/fw_rules.h"\n\n'
        'int fw_util_count(void)\n{\n\treturn fw_nrules;\n}\n')
    mk = root / 'kmod' / 'Makefile'
    mk.write_text(mk.read_text().replace('src/hook.o', f'src/hook.o {obj}'))


def test_object_outside_the_module_folder_builds_and_writes_nothing_there(
        tmp_path):
    """tinyfw-objs naming ../lib/fw_util.o (shared code beside the
    module): kbuild writes the object into lib/; dusk-cc builds it too,
    in its own copy of lib/, and leaves the developer's lib/ (here with
    the objects of an earlier in-place kbuild) as it was."""
    root = project(tmp_path, 'tinyfw')
    with_lib(root, '../lib/fw_util.o')
    p = subprocess.run(['make', '-C', kdir(), f'M={root / "kmod"}',
                        'modules'], cwd=root / 'kmod', capture_output=True,
                       text=True, timeout=600,
                       env=dict(os.environ, PWD=str(root / 'kmod')))
    assert p.returncode == 0, p.stdout + p.stderr
    assert (root / 'lib' / 'fw_util.o').exists()
    before = listing(tmp_path / 'src')
    p = dusk_cc('-M', root / 'kmod', '-o', tmp_path / 'tinyfw-prog',
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert {'fw_util_count', 'fw_match'} <= \
        defined_text_symbols(tmp_path / 'tinyfw-prog')
    assert listing(tmp_path / 'src') == before


def test_object_through_an_absolute_link_is_refused(tmp_path):
    """kmod/common, an absolute link to ../lib, and tinyfw-objs naming
    common/fw_util.o: the object would land in the developer's lib/
    whatever dusk-cc's copy looks like, so it is refused, by name, before
    anything is written."""
    root = project(tmp_path, 'tinyfw')
    with_lib(root, 'common/fw_util.o')
    (root / 'kmod' / 'common').symlink_to(root / 'lib')
    before = listing(tmp_path / 'src')
    p = dusk_cc('-M', root / 'kmod', '-o', tmp_path / 'tinyfw-prog',
                cwd=tmp_path)
    assert listing(tmp_path / 'src') == before
    assert p.returncode != 0
    assert f'{root}/kmod/common/fw_util.o: an object outside the ' \
        f"module's folder, that kbuild would write into {root}/lib" \
        in p.stderr, p.stderr
