"""dusk-cc's way out: a clear error for a folder -M cannot build, and no
work directory left behind, however dusk-cc ends (an error, or SIGINT,
SIGTERM or SIGHUP in the middle of a build)."""
import os
import pathlib
import shutil
import signal
import subprocess
import time

import pytest

from conftest import SRCDIR

DUSK_CC = SRCDIR / 'bin' / 'dusk-cc'
MODS = SRCDIR / 'tests' / 'cc-wrapper' / 'mods'


def env_with_tmpdir(tmpdir):
    """dusk-cc makes its work directory in TMPDIR: one of the test's own,
    so that what is left there is this dusk-cc's."""
    return dict(os.environ, LANG='C', TMPDIR=str(tmpdir))


def run(args, tmpdir):
    return subprocess.run([str(DUSK_CC), *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env=env_with_tmpdir(tmpdir))


@pytest.mark.parametrize('what, make, message', [
    ('missing', None, 'no such directory'),
    ('empty', lambda d: d.mkdir(), 'no Kbuild or Makefile with obj-m here'),
    ('no obj-m', lambda d: (d.mkdir(), (d / 'Makefile').write_text('all:\n\ttrue\n')),
     'no Kbuild or Makefile with obj-m here'),
    ('a file', lambda d: d.write_text('obj-m := x.o\n'), 'not a directory'),
])
def test_module_dir_errors_say_what_is_wrong(tmp_path, what, make, message):
    d = tmp_path / 'mod'
    if make:
        make(d)
    tmpdir = tmp_path / 'tmp'
    tmpdir.mkdir()
    p = run(['-M', d, '-o', tmp_path / 'prog'], tmpdir)
    assert p.returncode == 1
    assert p.stderr.strip() == f'dusk-cc: -M {d}: {message}', p.stderr
    assert not list(tmpdir.iterdir())


def test_failed_build_leaves_no_work_directory(tmp_path):
    d = tmp_path / 'broken'
    d.mkdir()
    (d / 'Kbuild').write_text('obj-m := broken.o\n')
    (d / 'broken.c').write_text('#include <linux/module.h>\nint x = ;\n')
    tmpdir = tmp_path / 'tmp'
    tmpdir.mkdir()
    p = run(['-M', d, '-o', tmp_path / 'prog'], tmpdir)
    assert p.returncode == 1 and 'error' in p.stderr
    assert not list(tmpdir.iterdir())


def processes_naming(path):
    """Pids of processes whose command line names path."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            cmd = pathlib.Path('/proc', pid, 'cmdline').read_bytes()
        except OSError:
            continue
        if str(path).encode() in cmd:
            found.append(int(pid))
    return found


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_mid_build_removes_the_work_directory(tmp_path, sig):
    """The signal reaches dusk-cc alone (as kill or timeout(1) send it),
    while kbuild compiles: dusk-cc stops the build, removes its work
    directory, and dies of that signal."""
    src = tmp_path / 'src' / 'tinyfw'
    shutil.copytree(MODS / 'tinyfw', src, symlinks=True)
    tmpdir = tmp_path / 'tmp'
    tmpdir.mkdir()
    p = subprocess.Popen([str(DUSK_CC), '-M', str(src / 'kmod'), '-o',
                          str(tmp_path / 'prog')], stderr=subprocess.PIPE,
                         text=True, env=env_with_tmpdir(tmpdir))
    # Mid-build: kbuild has written an object into the work directory.
    deadline = time.monotonic() + 240
    work = None
    while time.monotonic() < deadline and p.poll() is None:
        dirs = list(tmpdir.glob('dusk-cc.*'))
        if dirs and list(dirs[0].glob('module/*.o')):
            work = dirs[0]
            break
        time.sleep(0.02)
    assert work, f'no object in a work directory: {p.communicate()[1]}'
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == -sig, err
    assert not list(tmpdir.iterdir()), err
    # Nothing it started goes on writing there.
    assert not processes_naming(work)
    time.sleep(0.5)
    assert not list(tmpdir.iterdir())
    assert not (tmp_path / 'prog').exists()
