# SPDX-License-Identifier: GPL-2.0
"""Variadic kernel functions and dynamic debug, as a .ko and at user level.

dbgfmt      pr_debug in a netfilter hook, in init and exit (off unless
            enabled) and in a helper file built with DEBUG (on unless
            disabled); kasprintf, snprintf into a kmalloc'ed buffer, and
            alloc_workqueue() naming its workqueue with a format (a
            variadic kernel function libdusk has no version of: formatted
            at user level, called with "%s"). dyndbg= as insmod takes it:
            "+p", "func NAME", "file NAME", "format STR", several queries.
            A static key of the module's own (DEFINE_STATIC_KEY_FALSE,
            static_branch_enable() in init), tested in the hook.
synthev     synth_event_trace(), variadic without a format: dusk-cc
            refuses it, naming the module's file:line and function.
"""

import re
import signal
import subprocess
import textwrap
import time

import pytest

from diff import DUSK_CC, MODES, Case, harness, mod  # noqa: F401 (fixture)

DBGFMT = mod("dbgfmt")

# Two datagrams to the watched port, one elsewhere; the workqueue's rescuer
# thread carries the name alloc_workqueue() formatted.
SCRIPT = "\n".join([
    "$N udp -n 2 -s 127.0.0.1:4000 -r 9400 127.0.0.1 9400 hello",
    "$N udp -s 127.0.0.1:4000 -r 9401 127.0.0.1 9401 other",
    "ps | grep -o '\\[dbgfmt_wq[0-9]*\\]'",
])
SEEN = ["udp sent 2 received 2", "udp sent 1 received 1", "[dbgfmt_wq3]"]
PARAMS = ("port=9400", "instance=3")

INIT = ["<7>dbgfmt: init: port 9400, instance 3"]
LOADED = ["<6>dbgfmt: watching udp/9400"]
HOOK = "<7>dbgfmt: dbgfmt_hook: 127.0.0.1:4000 -> 127.0.0.1:9400, 13 bytes on lo"
DATAGRAM = "<6>dbgfmt: udp/9400: datagram from 127.0.0.1:4000"
COUNT = "<7>dbgfmt: count: packet {}, 5 bytes from 127.0.0.1:4000"
REPORT = ["<6>dbgfmt: 2 datagrams, 10 bytes, 1 sender changes, last from "
          "127.0.0.1:4000"]
REPORT_DEBUG = ["<7>dbgfmt: report: done"]
EXIT = ["<7>dbgfmt: exit: udp/9400 done"]


PAYLOAD = "<6>dbgfmt: udp/9400: payload 68 65 6c 6c 6f"


def packets(hook, count, payload=False):
    lines = []
    for n in (1, 2):
        lines += ([HOOK] if hook else []) + [DATAGRAM]
        lines += [PAYLOAD] if payload else []
        lines += [COUNT.format(n)] if count else []
    return lines


DBGFMT_CASES = {
    # pr_debug silent, but for the file built with DEBUG.
    "default": Case(
        params=PARAMS, script=SCRIPT, expect=SEEN,
        log=LOADED + packets(False, True) + REPORT + REPORT_DEBUG),
    "all": Case(
        params=PARAMS + ("dyndbg=+p",), script=SCRIPT, expect=SEEN,
        log=INIT + LOADED + packets(True, True) + REPORT + REPORT_DEBUG +
        EXIT),
    "func": Case(
        params=PARAMS + ('dyndbg="func dbgfmt_hook +p"',), script=SCRIPT,
        expect=SEEN,
        log=LOADED + packets(True, True) + REPORT + REPORT_DEBUG),
    "file-off": Case(
        params=PARAMS + ('dyndbg="file dbgfmt_stats.c -p"',), script=SCRIPT,
        expect=SEEN, log=LOADED + packets(False, False) + REPORT),
    # Two queries; a format match, and a wildcard function with =p.
    # The static key: the payload dumps only once it is enabled.
    "static-key": Case(
        params=PARAMS + ("verbose=1",), script=SCRIPT, expect=SEEN,
        log=LOADED + packets(False, True, True) + REPORT + REPORT_DEBUG),
    "format-and-wildcard": Case(
        params=PARAMS + ('dyndbg="format exit: +p; func *_count =_"',),
        script=SCRIPT, expect=SEEN,
        log=LOADED + packets(False, False) + REPORT + REPORT_DEBUG + EXIT),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", DBGFMT_CASES)
def test_dbgfmt(harness, key, mode):
    harness.check(DBGFMT, key, DBGFMT_CASES[key], mode)


def test_dyndbg_query_unquoted(harness):
    """The program takes a query with spaces as one argument, as a shell
    user passes it ('dyndbg=func dbgfmt_hook +p'), and prints the flags'
    prefixes (+f function, +l line) as the kernel does."""
    prog = harness.build_prog(DBGFMT)
    src = (DBGFMT.srcdir / "dbgfmt_main.c").read_text().splitlines()
    line = next(i + 1 for i, text in enumerate(src)
                if 'pr_debug("%s: %pI4' in text)
    token = harness.marker()
    proc = subprocess.Popen(
        [str(prog), "port=9402", "dyndbg=func dbgfmt_hook +pfl"],
        env=harness.target.env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any("watching udp/9402" in t
                      for _, t in harness.kernel_log(token)):
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(0.5)
        harness.script("$N udp -s 127.0.0.1:4000 -r 9402 127.0.0.1 9402 x")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    want = (f"dbgfmt_hook:{line}: dbgfmt: dbgfmt_hook: 127.0.0.1:4000 -> "
            f"127.0.0.1:9402, 9 bytes on lo")
    assert f"<7>{want}\n" in out, out
    assert (7, want) in harness.kernel_log(token)
    assert "init: port" not in out, out


SYNTHEV = mod("synthev")


def test_variadic_without_format_is_refused(harness, tmp_path):
    """synth_event_trace() takes its values as variable arguments with no
    format: dusk-cc cannot know what they are, and refuses the module
    naming the call's file:line and function first."""
    src = (SYNTHEV.srcdir / "synthev.c").read_text().splitlines()
    line = next(i + 1 for i, text in enumerate(src)
                if "synth_event_trace(" in text and "*" not in text)
    p = subprocess.run([str(DUSK_CC), "--kdir", str(harness.kdir), "-M",
                        str(SYNTHEV.srcdir), "-o", str(tmp_path / "synthev")],
                       env=harness.target.env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    said = [x for x in p.stderr.splitlines() if "synth_event_trace" in x]
    assert len(said) == 1, p.stderr
    assert re.match(rf"^{re.escape(str(SYNTHEV.srcdir))}/synthev\.c:{line}: "
                    r"error: dusk: in synthev_hook: synth_event_trace ",
                    said[0]), said[0]
    assert "variable arguments" in said[0] and "no printf format" in said[0]
    assert not (tmp_path / "synthev").exists()


# A driver of the usual shape: a class and a device, a sysfs attribute, a
# debugfs-style seq_file, a kthread, netdev messages. Built, not run (dusk
# refuses its registrations at run time): every printf-like kernel function
# it calls gets a stub that formats at user level, but those libdusk has
# a version of.
PRINTF_FUNCS = ("sysfs_emit", "device_create", "netdev_info", "dev_set_name",
                "__dynamic_netdev_dbg")
IMPL_FUNCS = ("seq_printf", "kthread_create_on_node")
DRIVER = """\
    #define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
    #include <linux/device.h>
    #include <linux/kthread.h>
    #include <linux/module.h>
    #include <linux/netdevice.h>
    #include <linux/seq_file.h>
    #include <linux/slab.h>

    static struct class *vdrv_class;
    static struct device *vdrv_dev;
    static struct task_struct *vdrv_task;
    static int unit = 1;
    module_param(unit, int, 0444);

    static ssize_t unit_show(struct device *dev, struct device_attribute *a,
    \t\t\t char *buf)
    {
    \treturn sysfs_emit(buf, "%d\\n", unit);
    }
    static DEVICE_ATTR_RO(unit);

    int vdrv_show(struct seq_file *m, void *v)
    {
    \tseq_printf(m, "unit %d on %s\\n", unit, dev_name(vdrv_dev));
    \treturn 0;
    }

    void vdrv_rename(struct device *dev, struct net_device *nd)
    {
    \tdev_set_name(dev, "vdrv%d.%d", unit, 2);
    \tnetdev_info(nd, "unit %d\\n", unit);
    \tnetdev_dbg(nd, "renamed to %s\\n", dev_name(dev));
    }

    static int vdrv_thread(void *data)
    {
    \twhile (!kthread_should_stop())
    \t\tschedule_timeout_interruptible(HZ);
    \treturn 0;
    }

    static int __init vdrv_init(void)
    {
    \tvdrv_class = class_create(THIS_MODULE, "vdrv");
    \tif (IS_ERR(vdrv_class))
    \t\treturn PTR_ERR(vdrv_class);
    \tvdrv_dev = device_create(vdrv_class, NULL, MKDEV(0, 0), NULL,
    \t\t\t\t "vdrv%d", unit);
    \tif (IS_ERR(vdrv_dev)) {
    \t\tclass_destroy(vdrv_class);
    \t\treturn PTR_ERR(vdrv_dev);
    \t}
    \tdevice_create_file(vdrv_dev, &dev_attr_unit);
    \tvdrv_task = kthread_run(vdrv_thread, NULL, "vdrv/%d", unit);
    \treturn 0;
    }

    static void __exit vdrv_exit(void)
    {
    \tkthread_stop(vdrv_task);
    \tdevice_remove_file(vdrv_dev, &dev_attr_unit);
    \tdevice_destroy(vdrv_class, MKDEV(0, 0));
    \tclass_destroy(vdrv_class);
    }

    module_init(vdrv_init);
    module_exit(vdrv_exit);
    MODULE_LICENSE("GPL");
"""


def test_printf_like_kernel_functions_get_stubs(harness, tmp_path):
    """sysfs_emit, device_create, netdev_info, dev_set_name,
    __dynamic_netdev_dbg: variadic with a printf format and no libdusk
    version, so the program has a stub for each (formatting at user
    level), where dusk-cc refused them all. seq_printf and
    kthread_create_on_node have a libdusk version (the seq_file's buffer,
    the module's threads): no stub."""
    d = tmp_path / "vdrv"
    d.mkdir()
    (d / "vdrv.c").write_text(textwrap.dedent(DRIVER))
    (d / "Kbuild").write_text("obj-m := vdrv.o\n")
    prog = tmp_path / "vdrv.prog"
    p = subprocess.run([str(DUSK_CC), "--kdir", str(harness.kdir), "-M",
                        str(d), "-o", str(prog)], env=harness.target.env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    syms = subprocess.run(["nm", str(prog)], capture_output=True, text=True,
                          check=True).stdout
    for name in PRINTF_FUNCS:
        assert re.search(rf" T __dusk_k_{name}$", syms, re.M), name
    for name in IMPL_FUNCS:
        assert re.search(rf" T __dusk_impl_{name}$", syms, re.M), name
        assert not re.search(rf"__dusk_k_{name}$", syms, re.M), name


@pytest.mark.parametrize("module", (DBGFMT, SYNTHEV), ids=lambda m: m.name)
def test_plain_kernel_module(harness, module):
    """Like test_sources.py's: no hint of dusk in the sources, and the .ko
    builds without warnings."""
    for path in module.srcdir.iterdir():
        assert not re.search(r"dusk", path.read_text(), re.I), path
    harness.build_ko(module)
    out = harness.kbuild_output[module.name]
    assert not [line for line in out.splitlines()
                if re.search(r"warning|error", line, re.I)], out
