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
    # strcpy and strcat are fortify-string.h's, checked in their bodies
    # (strnlen's bound, the copy's destination), not again at the call.
    assert {'__dusk_check_strn', '__dusk_check_w', '__dusk_this_cpu_ptr',
            '__dusk_preempt_count_ptr', '__dusk_bug'} <= u
    assert not {s for s in u if s.startswith(('__SCT__', '__sw_hweight'))}
    subprocess.run(['rm', '-rf', str(work)])


# A misc device as the driver books write one: read and write move data
# between the calling process's memory and a kmalloc'd buffer, ioctls get
# and put values of every size, clear a user buffer, read a name. At user
# level each accessor is a call of libdusk's (runtime/modrt/mod_uaccess.c),
# which has the blocked caller's task do the access.
UADEV = r'''
    #include <linux/fs.h>
    #include <linux/miscdevice.h>
    #include <linux/slab.h>
    #include <linux/uaccess.h>

    #define UADEV_GET8	_IOR('u', 1, u8)
    #define UADEV_SET16	_IOW('u', 2, u16)
    #define UADEV_XCHG32	_IOWR('u', 3, u32)
    #define UADEV_SET64	_IOWR('u', 4, u64)
    #define UADEV_CLEAR	_IO('u', 5)
    #define UADEV_NAME	_IOW('u', 6, char[32])
    #define UADEV_DUP	_IOW('u', 7, u64)
    #define UADEV_STATUS	_IOWR('u', 8, char[32])

    static char *buffer;
    static size_t buffer_len;
    static char greeting[64] = "hello from uadev\n";
    static u8 v8 = 8;
    static u16 v16 = 16;
    static u32 v32 = 32;
    static u64 v64 = 64;
    static char name[32];

    static ssize_t uadev_read(struct file *filp, char __user *buf,
    			  size_t count, loff_t *f_pos)
    {
    	if (*f_pos >= buffer_len)
    		return 0;
    	if (count > buffer_len - *f_pos)
    		count = buffer_len - *f_pos;
    	if (copy_to_user(buf, buffer + *f_pos, count))
    		return -EFAULT;
    	*f_pos += count;
    	return count;
    }

    static ssize_t uadev_write(struct file *filp, const char __user *buf,
    			   size_t count, loff_t *f_pos)
    {
    	char small[16];

    	if (count > PAGE_SIZE)
    		count = PAGE_SIZE;
    	if (!access_ok(buf, count))
    		return -EFAULT;
    	if (count <= sizeof(small)) {
    		if (__copy_from_user(small, buf, count))
    			return -EFAULT;
    		memcpy(buffer, small, count);
    	} else if (copy_from_user(buffer, buf, count)) {
    		return -EFAULT;
    	}
    	buffer_len = count;
    	return count;
    }

    static long uadev_ioctl(struct file *filp, unsigned int cmd,
    			unsigned long arg)
    {
    	void __user *argp = (void __user *)arg;
    	void *p;
    	loff_t pos = 0;
    	int ret = 0;
    	long n;

    	switch (cmd) {
    	case UADEV_GET8:
    		ret = put_user(v8, (u8 __user *)argp);
    		break;
    	case UADEV_SET16:
    		ret = get_user(v16, (u16 __user *)argp);
    		break;
    	case UADEV_XCHG32:
    		ret = __get_user(n, (u32 __user *)argp);
    		ret |= __put_user(v32, (u32 __user *)argp);
    		v32 = n;
    		break;
    	case UADEV_SET64:
    		if (get_user(v64, (u64 __user *)argp))
    			return -EFAULT;
    		ret = put_user(v64 + 1, (u64 __user *)argp);
    		break;
    	case UADEV_CLEAR:
    		if (clear_user(argp, sizeof(greeting)))
    			return -EFAULT;
    		break;
    	case UADEV_STATUS:
    		n = simple_write_to_buffer(name, sizeof(name), &pos, argp, 8);
    		if (n < 0)
    			return n;
    		pos = 0;
    		n = simple_read_from_buffer(argp, 32, &pos, greeting,
    					    strlen(greeting));
    		if (n < 0)
    			return n;
    		break;
    	case UADEV_DUP:
    		p = memdup_user(argp, sizeof(u64));
    		if (IS_ERR(p))
    			return PTR_ERR(p);
    		v64 = *(u64 *)p;
    		kfree(p);
    		p = strndup_user(argp, sizeof(name));
    		if (IS_ERR(p))
    			return PTR_ERR(p);
    		kfree(p);
    		break;
    	case UADEV_NAME:
    		n = strncpy_from_user(name, argp, sizeof(name));
    		if (n < 0)
    			return n;
    		pr_info("uadev: name %s (%ld of %ld)\n", name, n,
    			strnlen_user(argp, sizeof(name)));
    		if (__copy_to_user(argp, greeting, strlen(greeting)))
    			return -EFAULT;
    		break;
    	default:
    		return -ENOTTY;
    	}
    	return ret;
    }

    static const struct file_operations uadev_fops = {
    	.owner		= THIS_MODULE,
    	.read		= uadev_read,
    	.write		= uadev_write,
    	.unlocked_ioctl	= uadev_ioctl,
    };

    static struct miscdevice uadev_misc = {
    	.minor	= MISC_DYNAMIC_MINOR,
    	.name	= "uadev",
    	.fops	= &uadev_fops,
    };

    static int __init uadev_init(void)
    {
    	buffer = kzalloc(PAGE_SIZE, GFP_KERNEL);
    	if (!buffer)
    		return -ENOMEM;
    	return misc_register(&uadev_misc);
    }

    static void __exit uadev_exit(void)
    {
    	misc_deregister(&uadev_misc);
    	kfree(buffer);
    }

    module_init(uadev_init);
    module_exit(uadev_exit);
'''


def calls_in(prog, funcs):
    """The functions called by each of funcs in prog's disassembly, and
    every mnemonic of the program."""
    dis = subprocess.run(['objdump', '-d', '--no-show-raw-insn', str(prog)],
                         capture_output=True, text=True, check=True).stdout
    calls, mnemonics, cur = {}, set(), None
    for line in dis.splitlines():
        m = re.match(r'^[0-9a-f]+ <([^>]+)>:$', line)
        if m:
            cur = m.group(1) if m.group(1) in funcs else None
            continue
        m = re.match(r'^\s+[0-9a-f]+:\s+(\S+)(?:\s+(.*))?$', line)
        if not m:
            continue
        mnemonics.add(m.group(1))
        if cur and m.group(1) == 'call':
            t = re.search(r'<([^>+@]+)', m.group(2) or '')
            if t:
                calls.setdefault(cur, set()).add(t.group(1))
    return calls, mnemonics


def test_user_space_access_compiles_to_libdusk_calls(tmp_path):
    d = module(tmp_path, 'uadev', UADEV)
    prog = tmp_path / 'uadev-prog'
    p = dusk_cc('--keep', '-M', d, '-o', prog)
    work = work_dir(p.stderr)
    assert p.returncode == 0 and prog.exists(), p.stderr
    assert 'error: dusk' not in p.stderr and 'warning: dusk' not in p.stderr
    calls, mnemonics = calls_in(prog, {'uadev_read', 'uadev_write',
                                       'uadev_ioctl'})
    assert '__dusk_impl__copy_to_user' in calls['uadev_read'], calls
    assert {'__dusk_impl__copy_from_user', '__dusk_impl_raw_copy_from_user',
            '__dusk_impl_task_size_max'} <= calls['uadev_write'], calls
    assert {'__dusk_get_user', '__dusk_put_user', '__dusk_impl_clear_user',
            '__dusk_impl_strncpy_from_user', '__dusk_impl_strnlen_user',
            '__dusk_impl_raw_copy_to_user', '__dusk_impl_memdup_user',
            '__dusk_impl_strndup_user', '__dusk_impl_simple_read_from_buffer',
            '__dusk_impl_simple_write_to_buffer'} <= calls['uadev_ioctl'], \
        calls
    # The kernel's hardening check runs at user level, not in the kernel.
    assert '__dusk_impl___check_object_size' in \
        calls['uadev_read'] | calls['uadev_ioctl'], calls
    # No user-space access instruction, no kernel helper, no kernel call.
    assert not {'stac', 'clac'} & mnemonics
    u = nm_undefined(work / 'user' / 'uadev.o')
    assert not {s for s in u if s.startswith(('__get_user_', '__put_user_',
                                              'copy_user_', 'clear_user_'))}
    kstubs = subprocess.run(['nm', str(prog)], capture_output=True, text=True,
                            check=True).stdout
    assert not re.search(r'__dusk_k_\w*(user|check_object_size)', kstubs)
    subprocess.run(['rm', '-rf', str(work)])


# What dusk does not run at user level is refused at the module's line,
# saying what to use instead: user_access_begin() sections (stac, clac and
# the exception-table fixups of unsafe_get_user()...), and the _nofault
# accessors (for tracing code that may run anywhere).
REFUSED = {
    'unsafe_get_user': (
        '\tif (!user_access_begin(ubuf, len))\n'
        '\t\treturn -EFAULT;\n'
        '\tunsafe_get_user(buf[0], ubuf, efault);\n'
        '\tuser_access_end();\n'
        '\treturn len;\n'
        'efault:\n'
        '\tuser_access_end();\n'
        '\treturn -EFAULT;\n',
        'unsafe_get_user(buf[0], ubuf, efault);',
        "error: dusk: a user-space access with an exception-table fixup "
        "(unsafe_get_user(), unsafe_put_user(), unsafe_copy_to_user()...) "
        "cannot run at user level: use get_user(), put_user(), "
        "copy_from_user() or copy_to_user() instead"),
    'user_access_begin': (
        '\tif (!user_access_begin(ubuf, len))\n'
        '\t\treturn -EFAULT;\n'
        '\tunsafe_get_user(buf[0], ubuf, efault);\n'
        '\tuser_access_end();\n'
        '\treturn len;\n'
        'efault:\n'
        '\tuser_access_end();\n'
        '\treturn -EFAULT;\n',
        'if (!user_access_begin(ubuf, len))',
        "error: dusk: stac/clac (user_access_begin(), user_access_end(), "
        "user_read_access_begin()...) cannot run at user level: use "
        "get_user(), put_user(), copy_from_user() or copy_to_user() instead"),
    'strncpy_from_user_nofault': (
        '\tif (strncpy_from_user_nofault(buf, ubuf, len) < 0)\n'
        '\t\treturn -EFAULT;\n'
        '\treturn len;\n',
        'if (strncpy_from_user_nofault(buf, ubuf, len) < 0)',
        "error: dusk: 'strncpy_from_user_nofault' accesses user space in a "
        "way dusk does not run at user level: use strncpy_from_user() in a "
        "file operation instead"),
}


@pytest.mark.parametrize('api', REFUSED)
def test_what_dusk_does_not_run_is_refused_at_its_line(tmp_path, api):
    body, use, where = REFUSED[api]
    d = module(tmp_path, 'uacc', '''
        #include <linux/fs.h>
        #include <linux/slab.h>
        #include <linux/uaccess.h>
        static char buf[64];
        static ssize_t uacc_io(struct file *f, char __user *ubuf,
        \t\t       size_t len, loff_t *off)
        {
        \tvoid *p __maybe_unused;

        \tif (len > sizeof(buf))
        \t\tlen = sizeof(buf);
        ''' + textwrap.indent(body, ' ' * 8) + '''        }
        static const struct file_operations uacc_fops = {
        \t.owner = THIS_MODULE,
        \t.read = uacc_io,
        };
        static int major;
        static int __init uacc_init(void)
        {
        \tmajor = register_chrdev(0, "uacc", &uacc_fops);
        \treturn major < 0 ? major : 0;
        }
        static void __exit uacc_exit(void)
        {
        \tunregister_chrdev(major, "uacc");
        }
        module_init(uacc_init);
        module_exit(uacc_exit);
    ''')
    line = next(i + 1 for i, text in
                enumerate((d / 'uacc.c').read_text().splitlines())
                if use in text)
    p = dusk_cc('-M', d, '-o', tmp_path / 'uacc-prog')
    assert p.returncode == 1, p.stderr
    # The developer's own file and line, the accessor named.
    stderr = p.stderr.replace('‘', "'").replace('’', "'")
    assert re.search(rf"^{re.escape(str(d))}/uacc\.c:{line}:\d+: "
                     rf"{re.escape(where)}", stderr, re.M), p.stderr
    assert 'compiles as a kernel object but not as a user-level one' in p.stderr
    assert not (tmp_path / 'uacc-prog').exists()
