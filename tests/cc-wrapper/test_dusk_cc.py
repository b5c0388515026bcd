"""dusk-cc's compile side, without a target: what the plugin and the
driver do to a module's objects, and the errors a developer gets."""
import os
import pathlib
import re
import subprocess
import textwrap

import pytest

from conftest import SRCDIR

DUSK_CC = SRCDIR / 'bin' / 'dusk-cc'

HEADER = textwrap.dedent('''\
    #include <linux/module.h>
    #include <linux/netfilter.h>
    #include <linux/skbuff.h>
    #include <net/net_namespace.h>
    MODULE_LICENSE("GPL");
''')


def module(tmp_path, name, body, kbuild=None):
    d = tmp_path / name
    d.mkdir()
    (d / f'{name}.c').write_text(HEADER + textwrap.dedent(body))
    (d / 'Kbuild').write_text(kbuild or f'obj-m := {name}.o\n')
    return d


def dusk_cc(*args, cwd=None):
    return subprocess.run([str(DUSK_CC), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, LANG='C'))


def nm_undefined(obj):
    out = subprocess.run(['nm', '-u', str(obj)], capture_output=True,
                         text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines()}


def sizeof(obj, type_name):
    """sizeof(TYPE) in obj's debug information, as gdb reads it."""
    p = subprocess.run(['gdb', '-nx', '-batch', '-ex',
                        f'print sizeof({type_name})', str(obj)],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r'^\$1 = (\d+)$', p.stdout, re.M)
    assert m, p.stdout + p.stderr
    return int(m.group(1))


def work_dir(stderr):
    for line in stderr.splitlines():
        if 'work directory kept:' in line:
            return pathlib.Path(line.split(':', 2)[2].strip())
    raise AssertionError(f'no work directory in: {stderr}')


def test_privileged_asm_is_a_compile_error_at_its_line(tmp_path):
    d = module(tmp_path, 'msr', '''
        static int __init msr_init(void)
        {
        \tasm volatile("wrmsr" : : "c" (0x10), "a" (0), "d" (0));
        \treturn 0;
        }
        module_init(msr_init);
    ''')
    line = (d / 'msr.c').read_text().splitlines().index(
        '\tasm volatile("wrmsr" : : "c" (0x10), "a" (0), "d" (0));') + 1
    p = dusk_cc('-M', d, '-o', tmp_path / 'msr-prog')
    assert p.returncode != 0
    # The developer's own file, not dusk-cc's copy of it.
    assert f'{d}/msr.c:{line}:' in p.stderr
    assert re.search("inline assembly ['‘]wrmsr['’] cannot run at user level", p.stderr)
    assert 'compiles as a kernel object but not as a user-level one' in p.stderr
    assert not (tmp_path / 'msr-prog').exists()


def test_user_objects_are_instrumented_and_kernel_flags_dropped(tmp_path):
    d = module(tmp_path, 'inst', '''
        static unsigned int hook(void *priv, struct sk_buff *skb,
        \t\t\t const struct nf_hook_state *state)
        {
        \tskb->mark = skb->len;
        \treturn NF_ACCEPT;
        }
        static struct nf_hook_ops ops = {
        \t.hook = hook, .pf = NFPROTO_IPV4, .hooknum = NF_INET_LOCAL_OUT,
        };
        static int __init inst_init(void)
        {
        \treturn nf_register_net_hook(&init_net, &ops);
        }
        module_init(inst_init);
    ''')
    # (-o names the program: not the module's directory, tmp_path / 'inst')
    p = dusk_cc('--keep', '-M', d, '-o', tmp_path / 'inst-prog')
    work = work_dir(p.stderr)
    assert p.returncode == 0 and (tmp_path / 'inst-prog').exists(), p.stderr
    user, kernel = work / 'user' / 'inst.o', work / 'module' / 'inst.o'
    assert user.exists() and kernel.exists(), p.stderr
    u, k = nm_undefined(user), nm_undefined(kernel)
    # Every access through a pointer is checked; globals come from the runtime.
    assert {'__dusk_check', '__dusk_check_w', '__dusk_gvar'} <= u
    # Kernel-only code generation is gone from the user-level object only.
    assert '__fentry__' in k and '__fentry__' not in u
    assert not {s for s in u if s.startswith('__x86_')}
    records = subprocess.run(['objcopy', '-O', 'binary', '--only-section=dusk_types',
                              str(user), '/dev/stdout'], capture_output=True,
                             check=True).stdout.split(b'\0')
    # Each pointer argument is probed for its pointee's size before the
    # call (dusk.ko reads that much of it first).
    probe = (f' probe:{sizeof(kernel, "struct net")},'
             f'{sizeof(kernel, "struct nf_hook_ops")}').encode()
    assert b'func nf_register_net_hook int 2 0 ptr:struct_net ' \
           b'ptr:struct_nf_hook_ops' + probe in records, \
        [r for r in records if r.startswith(b'func ')]
    assert b'field struct_nf_hook_ops hook 16 8 fn' in records
    # The variable's size is struct net's in the kernel's own build of the
    # module (its DWARF), whatever this kernel's configuration makes it.
    assert f'var init_net {sizeof(kernel, "struct net")}'.encode() in records, \
        [r for r in records if r.startswith(b'var ')]
    subprocess.run(['rm', '-rf', str(work)])


def test_kbuild_errors_reach_the_developer(tmp_path):
    d = module(tmp_path, 'broken', '''
        static int __init broken_init(void)
        {
        \treturn undeclared_thing;
        }
        module_init(broken_init);
    ''')
    p = dusk_cc('-M', d, '-o', tmp_path / 'broken')
    assert p.returncode != 0
    assert re.search("['‘]undeclared_thing['’] undeclared", p.stderr)
    assert 'dusk-cc.' not in p.stderr            # no path of dusk-cc's copies
    assert 'kbuild failed' in p.stderr


def test_a_directory_of_several_modules_needs_module(tmp_path):
    d = module(tmp_path, 'twomods', '''
        static int __init a_init(void) { return 0; }
        module_init(a_init);
    ''', kbuild='obj-m := twomods.o other.o\n')
    (d / 'other.c').write_text(HEADER + 'static int __init o_init(void) { return 0; }\n'
                               'module_init(o_init);\n')
    p = dusk_cc('-M', d, '-o', tmp_path / 'x')
    assert p.returncode != 0
    assert 'builds 2 modules; pick one with --module: ' in p.stderr
    assert 'other' in p.stderr and 'twomods' in p.stderr


def test_bad_usage_is_explained(tmp_path):
    p = dusk_cc('-o', tmp_path / 'x')
    assert p.returncode == 2 and 'usage: dusk-cc' in p.stderr
    p = dusk_cc('--frobnicate', '-o', tmp_path / 'x', 'a.c')
    assert p.returncode == 2 and 'bad option --frobnicate' in p.stderr


def test_constructs_real_modules_use_compile_for_user_level(tmp_path):
    """Each of these once crashed the plugin or was refused."""
    d = module(tmp_path, 'kitchen', '''
        #include <linux/bitops.h>
        #include <linux/preempt.h>
        #include <linux/spinlock.h>
        #include <linux/string.h>
        struct rec { char name[16]; char tag[8]; u32 bits; };
        static DEFINE_SPINLOCK(lock);
        static DEFINE_PER_CPU(unsigned long, hits);
        int kitchen(struct rec *r, const char *s)
        {
        \tWARN_ON(!r);
        \tstrcpy(r->name, "x");
        \tstrcat(r->name, s);
        \tstrncpy(r->tag, s, sizeof(r->tag));
        \tpreempt_disable();
        \tthis_cpu_inc(hits);
        \tpreempt_enable();
        \tspin_lock_bh(&lock);
        \tr->bits = hweight32(r->bits);
        \tspin_unlock_bh(&lock);
        \treturn smp_processor_id();
        }
        EXPORT_SYMBOL(kitchen);
    ''')
    p = dusk_cc('--keep', '-M', d, '-o', tmp_path / 'kitchen-prog')
    work = work_dir(p.stderr)
    assert p.returncode == 0 and (tmp_path / 'kitchen-prog').exists(), p.stderr
    assert 'internal compiler error' not in p.stderr
    assert 'error: dusk' not in p.stderr
    user = work / 'user' / 'kitchen.o'
    assert user.exists(), p.stderr
    u = nm_undefined(user)
    assert {'__dusk_check_str', '__dusk_check_w', '__dusk_this_cpu_ptr',
            '__dusk_preempt_count_ptr', '__dusk_bug'} <= u
    assert not {s for s in u if s.startswith(('__SCT__', '__sw_hweight'))}
    subprocess.run(['rm', '-rf', str(work)])


# A char device's write and read, as a module writes them: each moves data
# between the calling process's memory and the module's through one of
# the kernel's user-space accessors, which a user-level program cannot
# run. Each is refused at the module's line that uses it.
UACCESS = {
    'copy_from_user': ('if (copy_from_user(buf, ubuf, len))',
                       "error: dusk: 'copy_from_user' accesses user space"),
    'copy_to_user': ('if (copy_to_user(ubuf, buf, len))',
                     "error: dusk: 'copy_to_user' accesses user space"),
    # get_user() is inline asm in a macro: the error is at the module's
    # line all the same (the macro's expansion point).
    'get_user': ('if (get_user(buf[0], ubuf))',
                 "error: dusk: 'get_user' accesses user space"),
    'put_user': ('if (put_user(buf[0], ubuf))',
                 "error: dusk: 'put_user' accesses user space"),
    'strncpy_from_user': ('if (strncpy_from_user(buf, ubuf, len) < 0)',
                          "error: dusk: 'strncpy_from_user' accesses user "
                          "space"),
}


@pytest.mark.parametrize('api', UACCESS)
def test_user_space_access_is_refused_at_its_line(tmp_path, api):
    use, where = UACCESS[api]
    d = module(tmp_path, 'uacc', f'''
        #include <linux/fs.h>
        #include <linux/uaccess.h>
        static char buf[64];
        static ssize_t uacc_io(struct file *f, char __user *ubuf,
        \t\t       size_t len, loff_t *off)
        {{
        \tif (len > sizeof(buf))
        \t\tlen = sizeof(buf);
        \t{use}
        \t\treturn -EFAULT;
        \treturn len;
        }}
        static const struct file_operations uacc_fops = {{
        \t.owner = THIS_MODULE,
        \t.read = uacc_io,
        }};
        static int major;
        static int __init uacc_init(void)
        {{
        \tmajor = register_chrdev(0, "uacc", &uacc_fops);
        \treturn major < 0 ? major : 0;
        }}
        static void __exit uacc_exit(void)
        {{
        \tunregister_chrdev(major, "uacc");
        }}
        module_init(uacc_init);
        module_exit(uacc_exit);
    ''')
    line = (d / 'uacc.c').read_text().splitlines().index(f'\t{use}') + 1
    p = dusk_cc('-M', d, '-o', tmp_path / 'uacc-prog')
    assert p.returncode == 1, p.stderr
    # The developer's own file and line, the accessor named.
    stderr = p.stderr.replace('‘', "'").replace('’', "'")
    assert re.search(rf"^{re.escape(str(d))}/uacc\.c:{line}:\d+: "
                     rf"{re.escape(where)}", stderr, re.M), p.stderr
    assert re.search(rf"error: dusk: ['‘]{api}['’] accesses user space "
                     rf"\(uaccess\), which cannot run at user level",
                     p.stderr), p.stderr
    assert len(re.findall(r'error: dusk:', p.stderr)) == 1, p.stderr
    assert 'compiles as a kernel object but not as a user-level one' in p.stderr
    assert not (tmp_path / 'uacc-prog').exists()
