"""dusk-cc's programs against the session's target: the two ways of
building (loose sources with gcc options; a module directory whose own
Kbuild/Makefile sets ccflags-y), each run both ways, and the registration
APIs dusk does not proxy yet, refused at run time naming the API."""
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from conftest import SRCDIR

sys.path.insert(0, str(SRCDIR / 'tests' / 'examples'))
from diff import Case, Module, harness  # noqa: E402,F401 (fixture)

DUSK_CC = SRCDIR / 'bin' / 'dusk-cc'
TIMEOUT = 120


def dusk_cc(*args, env=None):
    return subprocess.run([str(DUSK_CC), *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env=dict(env or os.environ, LANG='C'))


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def run_until(prog, env, line, params=()):
    """Run prog until its stdout shows a line that starts with line
    (polled, with a deadline), then SIGINT: (exit status, stdout,
    stderr)."""
    p = subprocess.Popen([str(prog), *params], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    out = []
    reader = threading.Thread(target=lambda: out.extend(p.stdout),
                              daemon=True)
    reader.start()
    deadline = time.monotonic() + TIMEOUT
    try:
        while not any(x.startswith(line) for x in out) and \
                p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=TIMEOUT)
        reader.join(timeout=10)
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, ''.join(out), err


# ---- loose sources -------------------------------------------------------------

LOOSE_A = '''\
    #define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
    #include <linux/module.h>
    #include <loose_conf.h>
    #ifndef LOOSE_ANSWER
    #error "LOOSE_ANSWER is not defined: -D did not reach this compile"
    #endif
    int loose_twice(int x);
    static int __init loose_init(void)
    {
    \tpr_info("answer %d word %s twice %d\\n", LOOSE_ANSWER, LOOSE_WORD,
    \t\tloose_twice(LOOSE_ANSWER));
    \treturn 0;
    }
    static void __exit loose_exit(void)
    {
    \tpr_info("bye\\n");
    }
    module_init(loose_init);
    module_exit(loose_exit);
    MODULE_LICENSE("GPL");
'''
LOOSE_B = '''\
    #include <linux/module.h>
    #ifndef LOOSE_ANSWER
    #error "LOOSE_ANSWER is not defined: -D did not reach this compile"
    #endif
    int loose_twice(int x)
    {
    \treturn 2 * x;
    }
'''


def test_loose_sources_with_gcc_options(harness, tmp_path):
    """dusk-cc -DLOOSE_ANSWER=21 -I INC -o loose a.c b.c: the define and
    the include directory (apart from the sources) reach every compile
    of both builds (without the -D the build fails at the #error); the
    program runs the two files' code against the target, and the .ko
    dusk-cc built beside it, loaded there, logs the same lines."""
    src, inc = tmp_path / 'src', tmp_path / 'inc'
    write(src / 'loose_a.c', LOOSE_A)
    write(src / 'loose_b.c', LOOSE_B)
    write(inc / 'loose_conf.h', '#define LOOSE_WORD "from-the-include-dir"\n')
    prog = tmp_path / 'loose'
    srcs = (src / 'loose_a.c', src / 'loose_b.c')

    p = dusk_cc('-I', inc, '-o', prog, *srcs)
    assert p.returncode == 1 and not prog.exists(), p.stderr
    assert 'LOOSE_ANSWER is not defined' in p.stderr, p.stderr

    p = dusk_cc('--keep', '-DLOOSE_ANSWER=21', '-I', inc, '-o', prog, *srcs)
    work = re.search(r'work directory kept: (\S+)', p.stderr)
    assert p.returncode == 0 and prog.exists() and work, p.stderr
    ko = tmp_path / 'loose.ko'
    os.replace(f'{work.group(1)}/module/loose.ko', ko)
    subprocess.run(['rm', '-rf', work.group(1)], check=True)

    lines = ['loose: answer 21 word from-the-include-dir twice 42',
             'loose: bye']
    token = harness.marker()
    status, out, err = run_until(prog, harness.target.env, f'<6>{lines[0]}')
    assert status == 0, out + err
    assert out.splitlines() == [f'<6>{ln}' for ln in lines], out + err
    assert harness.module_log(Module('loose', src),
                              harness.kernel_log(token)) == \
        [f'<6>{ln}' for ln in lines]

    token = harness.marker()
    harness.target.push(ko, '/tmp/loose.ko')
    assert harness.exec([harness.nettest(), 'load', '/tmp/loose.ko']) == \
        'load ok\n'
    harness.exec(['rmmod', 'loose'])
    assert harness.module_log(Module('loose', src),
                              harness.kernel_log(token)) == \
        [f'<6>{ln}' for ln in lines]


# ---- ccflags-y in the module's own Kbuild or Makefile ----------------------------

CCFL_MAIN = '''\
    #define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
    #include <linux/module.h>
    #include <ccfl_conf.h>
    #ifndef CCFL_ANSWER
    #error "CCFL_ANSWER is not defined: ccflags-y did not reach this compile"
    #endif
    int ccfl_twice(int x);
    static int __init ccfl_init(void)
    {
    \tpr_info("answer %d word %s twice %d\\n", CCFL_ANSWER, CCFL_WORD,
    \t\tccfl_twice(CCFL_ANSWER));
    \treturn 0;
    }
    static void __exit ccfl_exit(void)
    {
    \tpr_info("bye\\n");
    }
    module_init(ccfl_init);
    module_exit(ccfl_exit);
    MODULE_LICENSE("GPL");
'''
# The other object exports its function, as a library module would.
CCFL_UTIL = '''\
    #include <linux/module.h>
    #ifndef CCFL_ANSWER
    #error "CCFL_ANSWER is not defined: ccflags-y did not reach this compile"
    #endif
    int ccfl_twice(int x)
    {
    \treturn 2 * x;
    }
    EXPORT_SYMBOL(ccfl_twice);
'''
KBUILD_VARS = '''\
    obj-m := {name}.o
    {name}-y := ccfl_main.o ccfl_util.o
    ccflags-y := -DCCFL_ANSWER=21 -I$(src)/include
'''
MAKEFILE_RULES = '''\

    KDIR ?= /lib/modules/$(shell uname -r)/build

    all:
    \t$(MAKE) -C $(KDIR) M=$(CURDIR) modules
'''


@pytest.mark.parametrize('style', ['Kbuild', 'Makefile'])
def test_ccflags_of_the_module_reach_both_builds(harness, tmp_path, style):
    """A define and an include directory set only by ccflags-y in the
    module's Kbuild (or its Makefile) reach each object's compile in
    both builds (or the #error stops that build): the .ko and the
    program log the same lines, computed from them."""
    name = f'ccfl{style.lower()}'
    d = tmp_path / name
    write(d / 'ccfl_main.c', CCFL_MAIN)
    write(d / 'ccfl_util.c', CCFL_UTIL)
    write(d / 'include' / 'ccfl_conf.h', '#define CCFL_WORD "from-ccflags"\n')
    rules = textwrap.dedent(KBUILD_VARS).format(name=name)
    if style == 'Makefile':
        rules += textwrap.dedent(MAKEFILE_RULES)
    (d / style).write_text(rules)
    module = Module(name, d)
    case = Case(log=[f'<6>{name}: answer 21 word from-ccflags twice 42',
                     f'<6>{name}: bye'])
    harness.check(module, 'ccflags', case, 'ko')
    harness.check(module, 'ccflags', case, 'user')

    # The flags are what makes it build: without them, no program.
    (d / style).write_text(rules.replace('ccflags-y', 'unused-y'))
    p = dusk_cc('-M', d, '-o', tmp_path / 'noflags', env=harness.target.env)
    assert p.returncode == 1, p.stderr
    assert 'CCFL_ANSWER is not defined' in p.stderr, p.stderr


# ---- registration APIs dusk does not proxy ------------------------------------------

HEADER = '''\
    #include <linux/module.h>
    MODULE_LICENSE("GPL");
'''
REGISTRATIONS = {
    'irq': ('''\
        #include <linux/interrupt.h>
        static int refused_dev;
        static irqreturn_t refused_isr(int irq, void *dev_id)
        {
        \tpr_info("refused: interrupt\\n");
        \treturn IRQ_HANDLED;
        }
        static int __init refused_init(void)
        {
        \treturn request_irq(7, refused_isr, IRQF_SHARED, "refused",
        \t\t\t   &refused_dev);
        }
        static void __exit refused_exit(void)
        {
        \tfree_irq(7, &refused_dev);
        }
    ''', 'argument 2 of request_threaded_irq: user function refused_isr',
        None, 'request_irq('),
    'ipi': ('''\
        #include <linux/smp.h>
        static void refused_ipi(void *info)
        {
        \tpr_info("refused: on another cpu\\n");
        }
        static int __init refused_init(void)
        {
        \treturn smp_call_function_single(0, refused_ipi, NULL, 1);
        }
        static void __exit refused_exit(void)
        {
        }
    ''', 'argument 2 of smp_call_function_single: user function refused_ipi',
        None, 'smp_call_function_single('),
}


@pytest.mark.parametrize('api', REGISTRATIONS)
def test_unproxied_registration_is_refused_naming_the_api(harness, tmp_path,
                                                         api):
    """README: callbacks the kernel calls in hard interrupt context or on
    other CPUs (interrupt handlers, IPIs) are refused (procfs and sysfs are
    proxied: tests/examples/test_procsys.py; timers, tasklets and work run
    in the program: tests/examples/test_timers.py). The
    module builds; run, its init's registration stops the program (exit
    status 1) with one line naming the kernel function and the module's
    function the kernel would have called, before the kernel gets it:
    nothing registered in the target, the session over."""
    body, said, check, call = REGISTRATIONS[api]
    d = tmp_path / 'refused'
    write(d / 'refused.c', HEADER + body +
          'module_init(refused_init);\nmodule_exit(refused_exit);\n')
    # The module's own line of the registration comes first.
    line = next(i + 1 for i, text in enumerate(
        (d / 'refused.c').read_text().splitlines()) if call in text)
    (d / 'Kbuild').write_text('obj-m := refused.o\n')
    prog = tmp_path / 'bin' / 'refused'      # its name starts its messages
    prog.parent.mkdir()
    p = dusk_cc('-M', d, '-o', prog, env=harness.target.env)
    assert p.returncode == 0, p.stderr
    token = harness.marker()
    p = subprocess.run([str(prog)], capture_output=True, text=True,
                       timeout=TIMEOUT, env=harness.target.env)
    assert (p.returncode, p.stdout) == (1, ''), p.stdout + p.stderr
    assert p.stderr == (f'{d}/refused.c:{line}: refused: {said} cannot be '
                        f'given to the kernel (no kernel proxy for it: the '
                        f'kernel must never call user code); at user level '
                        f'dusk proxies netfilter hooks and file operations '
                        f'(struct file_operations) only: run this part of '
                        f'the module as its .ko\n'), \
        p.stderr
    if check:
        assert harness.exec(check).strip() == '0'
    # The session ends (the watchdog's BYE): polled, with a deadline.
    deadline = time.monotonic() + 30
    while True:
        log = [text for _, text in harness.kernel_log(token)]
        if any(re.match(r'dusk: session [0-9a-f]+ ended: ', t) for t in log):
            break
        assert time.monotonic() < deadline, log
        time.sleep(0.5)
    assert 'session none' in harness.exec('cat /proc/dusk').splitlines()
    assert not [t for t in log if t.startswith('refused: ')], log


# ---- user-space access outside a blocking invocation ---------------------------

UAINIT = '''\
    #define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
    #include <linux/module.h>
    #include <linux/uaccess.h>
    /* An address no process maps (below mmap_min_addr): every access
     * faults, for insmod's process as for no process at all. */
    #define NOWHERE ((void __user *)0x1000UL)
    static char buf[16] = "abcdefghijklmno";
    static int __init uainit_init(void)
    {
    \tunsigned long left = 0;
    \tu32 val = 7;
    \tint i, ret;
    \tlong n, m;

    \tpr_info("access_ok %d %d %d %d\\n", access_ok(NOWHERE, 16),
    \t\taccess_ok((void __user *)(1UL << 46), 8),
    \t\taccess_ok((void __user *)(1UL << 50), 8),
    \t\taccess_ok((void __user *)(1UL << 57), 8));
    \tpr_info("cpu la57 %d smap %d hypervisor %d\\n", pgtable_l5_enabled(),
    \t\tstatic_cpu_has(X86_FEATURE_SMAP),
    \t\tcpu_feature_enabled(X86_FEATURE_HYPERVISOR));
    \tfor (i = 0; i < 3; i++)
    \t\tleft += copy_to_user(NOWHERE, buf, sizeof(buf));
    \tpr_info("copy_to_user left %lu\\n", left);
    \tleft = copy_from_user(buf, NOWHERE, 8);
    \tpr_info("copy_from_user left %lu buf %02x%02x %s\\n", left, buf[0],
    \t\tbuf[7], buf + 8);
    \tret = get_user(val, (u32 __user *)NOWHERE);
    \tpr_info("get_user %d val %u\\n", ret, val);
    \tret = put_user(val, (u32 __user *)NOWHERE);
    \tpr_info("put_user %d\\n", ret);
    \tleft = clear_user(NOWHERE, 16);
    \tn = strncpy_from_user(buf, NOWHERE, 8);
    \tm = strnlen_user(NOWHERE, 8);
    \tpr_info("clear_user %lu strncpy_from_user %ld strnlen_user %ld\\n",
    \t\tleft, n, m);
    \treturn 0;
    }
    static void __exit uainit_exit(void)
    {
    \tpr_info("bye\\n");
    }
    module_init(uainit_init);
    module_exit(uainit_exit);
    MODULE_LICENSE("GPL");
'''


def test_uaccess_outside_an_invocation_fails_as_a_fault(harness, tmp_path):
    """In init there is no calling process to reach: at user level every
    accessor fails as for a bad user address, each line of the module
    warned about once (the loop's three copies give one warning); the
    .ko, whose init runs in insmod's process, faults on the same
    unmapped address: both log the same lines. access_ok() answers from
    the target's TASK_SIZE_MAX (5-level paging or not) as the .ko does,
    and static_cpu_has() from the target's boot_cpu_data."""
    src = tmp_path / 'uainit'
    write(src / 'uainit.c', UAINIT)
    write(src / 'Kbuild', 'obj-m := uainit.o\n')
    prog = tmp_path / 'uainit-prog'
    p = dusk_cc('--keep', '-M', src, '-o', prog)
    work = re.search(r'work directory kept: (\S+)', p.stderr)
    assert p.returncode == 0 and prog.exists() and work, p.stderr
    ko = tmp_path / 'uainit.ko'
    os.replace(f'{work.group(1)}/module/uainit.ko', ko)
    subprocess.run(['rm', '-rf', work.group(1)], check=True)

    token = harness.marker()
    # init's last line: exit's "bye" comes after the SIGINT
    status, out, err = run_until(prog, harness.target.env,
                                 '<6>uainit: clear_user ')
    assert status == 0, out + err
    user = [ln for ln in out.splitlines() if ln.startswith('<6>uainit:')]
    assert len(user) == 8, out + err
    assert user[2] == '<6>uainit: copy_to_user left 48', out
    assert user[3] == '<6>uainit: copy_from_user left 8 buf 0000 ijklmno', out
    assert user[4] == '<6>uainit: get_user -14 val 0', out
    assert user[5] == '<6>uainit: put_user -14', out
    assert user[6] == ('<6>uainit: clear_user 16 strncpy_from_user -14 '
                       'strnlen_user 0'), out
    warned = [ln for ln in err.splitlines() if 'fails as on a bad user '
              'address' in ln]
    text = (src / 'uainit.c').read_text().splitlines()
    lines = {i + 1 for i, ln in enumerate(text)
             if re.search(r'copy_to_user\(|copy_from_user\(|get_user\(|'
                          r'put_user\(|clear_user\(|strncpy_from_user\(|'
                          r'strnlen_user\(', ln)}
    # once per call site: the loop's copy_to_user once
    assert sorted(int(re.search(r'uainit\.c:(\d+): ', ln).group(1))
                  for ln in warned) == sorted(lines), err
    assert all(f'{src}/uainit.c:' in ln and 'no calling process' in ln
               for ln in warned), err

    harness.target.push(ko, '/tmp/uainit.ko')
    assert harness.exec([harness.nettest(), 'load', '/tmp/uainit.ko']) == \
        'load ok\n'
    harness.exec(['rmmod', 'uainit'])
    kernel = harness.module_log(Module('uainit', src),
                                harness.kernel_log(token))
    ko_lines = kernel[len(kernel) - len(user):]
    assert ko_lines == user, (kernel, user)
