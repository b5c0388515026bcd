"""Every refusal names the module's own file:line first.

At compile time, what the plugin refuses inside kernel code the module
uses (unsafe_get_user()'s asm in a macro, an asm in a kernel header's inline
function) is an error at the module's line that uses it, the kernel
header's place in a note. At run time, a refusal begins with the
module's file:line of the call that led to it (the return address,
mapped through the program's DWARF), even when the refusal comes later
than the module's statement (a user function left in kernel memory)."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / 'tests' / 'examples'))
from diff import harness  # noqa: E402,F401 (fixture)

DUSK_CC = SRCDIR / 'bin' / 'dusk-cc'
TIMEOUT = 120


def build(tmp_path, name, source, env=None):
    """dusk-cc -M on a module of one file: (dir, CompletedProcess)."""
    d = tmp_path / name
    d.mkdir()
    (d / f'{name}.c').write_text(textwrap.dedent(source))
    (d / 'Kbuild').write_text(f'obj-m := {name}.o\n')
    p = subprocess.run([str(DUSK_CC), '-M', str(d), '-o',
                        str(tmp_path / f'{name}.prog')],
                       capture_output=True, text=True, timeout=300,
                       env=dict(env or os.environ, LANG='C'))
    return d, p


def line_of(path, text):
    return next(i + 1 for i, line in enumerate(path.read_text().splitlines())
                if text in line)


def first_error(stderr):
    """The first line of the compiler's output that is an error."""
    return next(line for line in stderr.splitlines() if ': error: ' in line)


@pytest.mark.parametrize('api', ['unsafe_get_user', 'unsafe_put_user'])
def test_uaccess_macro_is_refused_at_the_module_line(tmp_path, api):
    """unsafe_get_user()/unsafe_put_user() are asm goto with an exception
    table entry, in a macro of asm/uaccess.h: the error's location is the
    module's line, the header's in a note."""
    d, p = build(tmp_path, 'umac', f'''\
        #include <linux/module.h>
        #include <linux/uaccess.h>
        MODULE_LICENSE("GPL");
        static char val;
        int umac_poke(char __user *u);
        int umac_poke(char __user *u)
        {{
        \t{api}(val, u, efault);
        \treturn 0;
        efault:
        \treturn -EFAULT;
        }}
        EXPORT_SYMBOL(umac_poke);
    ''')
    assert p.returncode == 1, p.stderr
    line = line_of(d / 'umac.c', f'{api}(val, u, efault)')
    assert re.match(rf"{re.escape(str(d))}/umac\.c:{line}:\d+: error: dusk: "
                    rf"a user-space access with an exception-table fixup "
                    rf"\(unsafe_get_user\(\), unsafe_put_user\(\)",
                    first_error(p.stderr)), p.stderr
    assert re.search(r"asm/uaccess\.h:\d+:\d+: note: dusk: refused here, "
                     r"in kernel code the module uses|compiler-gcc\.h:\d+:\d+: "
                     r"note: dusk: refused here, in kernel code the module "
                     r"uses", p.stderr), p.stderr
    assert re.search(r"asm/uaccess\.h:\d+:\d+: note: in expansion of macro",
                     p.stderr), p.stderr


def test_asm_in_a_kernel_inline_is_refused_at_the_module_line(tmp_path):
    """native_read_cr0() is a kernel header's inline function whose asm
    reads a control register: refused at the module's call of it."""
    d, p = build(tmp_path, 'crread', '''\
        #include <linux/module.h>
        #include <asm/special_insns.h>
        MODULE_LICENSE("GPL");
        static int __init crread_init(void)
        {
        \tunsigned long cr0 = native_read_cr0();

        \tpr_info("crread: cr0 %lx\\n", cr0);
        \treturn 0;
        }
        module_init(crread_init);
    ''')
    assert p.returncode == 1, p.stderr
    line = line_of(d / 'crread.c', 'native_read_cr0()')
    assert re.match(rf"{re.escape(str(d))}/crread\.c:{line}:\d+: error: "
                    rf"dusk: inline assembly 'mov %%cr0,%0' cannot run at "
                    rf"user level", first_error(p.stderr)), p.stderr
    assert re.search(r"asm/special_insns\.h:\d+:\d+: note: dusk: refused "
                     r"here", p.stderr), p.stderr
