# SPDX-License-Identifier: GPL-2.0
"""make installcheck: dusk as installed, used from outside the tree.

Every file "make install" should have put in place is there (the gdb
extension's modules: those of the source tree's gdb-ext/dusk, and the
generated constants); then, from a temporary directory and with nothing
pointing at a build tree, the installed tools do what a user does with
them: dusk-target boots a target of its own, dusk-cc builds examples/lwfw
(copied out of the tree), the program filters ping traffic in the target,
a program built with pkg-config's libdusk opens a session, and a dusk-gdb
batch session stops in the module's init and in its hook and answers dusk
commands there. The target's console must show no kernel trouble.

    installcheck.py --srcdir DIR --bindir DIR --libdir DIR --pkglibdir DIR
        --pkglibexecdir DIR --pkgdatadir DIR --pkgincludedir DIR --mandir DIR

Exits 0 when all is well, 1 with what failed.
"""

import argparse
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

TOOLS = ("dusk-cc", "dusk-target", "dusk-gdb")
# What the kernel prints when it is in trouble (as tests/conftest.py).
KERNEL_TROUBLE = re.compile(r"\bOops\b|\bBUG: |\bWARNING: |"
                            r"general protection fault")
PYTHON_TROUBLE = re.compile(r"Traceback|Python Exception|"
                            r"Error occurred in Python")
BOOT_TIMEOUT = 180


class Failed(Exception):
    pass


def check(cond, what, detail=""):
    if not cond:
        raise Failed(what + (f"\n{detail}" if detail else ""))


def expected_files(a):
    """The installed files, as paths."""
    files = [pathlib.Path(a.bindir, t) for t in TOOLS]
    files += [pathlib.Path(a.mandir, "man1", f"{t}.1") for t in TOOLS]
    files += [pathlib.Path(a.pkglibdir, "dusk.so"),
              pathlib.Path(a.libdir, "libdusk.a"),
              pathlib.Path(a.libdir, "libdusk-main.a"),
              pathlib.Path(a.libdir, "pkgconfig", "libdusk.pc"),
              pathlib.Path(a.pkgdatadir, "dusk-init"),
              pathlib.Path(a.pkgdatadir, "gdb-ext", "dusk-gdb.py"),
              pathlib.Path(a.pkgdatadir, "gdb-ext", "dusk", "constants.py")]
    files += [pathlib.Path(a.pkglibexecdir, f) for f in
              ("dusk-agent", "dusk-agent-static", "dusk-mkinitramfs")]
    files += [pathlib.Path(a.pkgincludedir, h) for h in
              ("dusk.h", "dusk_module.h", "dusk_debug.h", "dusk_proto.h")]
    src = pathlib.Path(a.srcdir, "gdb-ext", "dusk")
    files += [pathlib.Path(a.pkgdatadir, "gdb-ext", "dusk", p.name)
              for p in sorted(src.glob("*.py"))]
    return files


def check_installed(a):
    missing = [str(f) for f in expected_files(a) if not f.is_file()]
    check(not missing, "not installed: " + ", ".join(missing))
    kos = list(pathlib.Path(a.pkglibdir).glob("*/dusk.ko"))
    check(kos, f"not installed: {a.pkglibdir}/RELEASE/dusk.ko")
    for t in TOOLS:
        check(os.access(pathlib.Path(a.bindir, t), os.X_OK),
              f"{a.bindir}/{t}: not executable")
    print("installcheck: every file is installed")


class Session:
    """The tools, run from WORK with the installed bindir first on PATH
    and nothing pointing at a build tree; a target of its own."""

    def __init__(self, a, work):
        self.a = a
        self.work = work
        env = {k: v for k, v in os.environ.items()
               if k not in ("DUSK_BUILDDIR", "DUSK_SRCDIR", "DUSK_TARGET",
                            "DUSK_KEY", "DUSK_KO", "DUSK_KERNEL_RELEASE",
                            "PYTHONPATH", "PYTHONHOME", "MAKEFLAGS",
                            "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
                            "PKG_CONFIG_PATH")}
        env["PATH"] = f"{a.bindir}:{env.get('PATH', '/usr/bin:/bin')}"
        env["DUSK_STATE_DIR"] = str(work / "state")
        env["DUSK_TARGET_NAME"] = "installcheck"
        env["DUSK_TARGET_BOOT_TIMEOUT"] = str(BOOT_TIMEOUT)
        self.env = env

    def run(self, *argv, timeout=120, env=None, **kw):
        """argv[0] is an installed tool's name or a path."""
        cmd = [str(x) for x in argv]
        if cmd[0] in TOOLS:
            cmd[0] = str(pathlib.Path(self.a.bindir, cmd[0]))
        return subprocess.run(cmd, cwd=self.work, env=env or self.env,
                              capture_output=True, text=True,
                              errors="replace", timeout=timeout, **kw)

    def ok(self, *argv, **kw):
        p = self.run(*argv, **kw)
        check(p.returncode == 0,
              f"{' '.join(map(str, argv))}: exit status {p.returncode}",
              p.stdout + p.stderr)
        return p

    def console(self):
        try:
            return (self.work / "state" / "installcheck" /
                    "console.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""


def check_versions(s, version):
    for t in TOOLS:
        out = s.ok(t, "--version").stdout
        check(out.startswith(f"{t} (dusk) {version}\n"),
              f"{t} --version: {out!r}")
        out = s.ok(t, "--help").stdout
        check(out.startswith(f"Usage: {t} "), f"{t} --help: {out[:200]!r}")
    print(f"installcheck: --version and --help of {', '.join(TOOLS)}")


def boot(s, result):
    try:
        result.append(s.run("dusk-target", "up", timeout=BOOT_TIMEOUT + 60))
    except Exception as e:      # reported by the caller
        result.append(e)


def build_lwfw(s, a):
    # Its sources only: an in-tree build keeps the .ko's objects beside.
    (s.work / "lwfw").mkdir()
    for f in ("Makefile", "lwfw.c"):
        shutil.copy(pathlib.Path(a.srcdir, "examples", "lwfw", f),
                    s.work / "lwfw")
    s.ok("dusk-cc", "-M", "lwfw", "-o", "lwfw-prog", timeout=600)
    check((s.work / "lwfw-prog").is_file(), "dusk-cc wrote no lwfw-prog")
    check(sorted(p.name for p in (s.work / "lwfw").iterdir()) ==
          ["Makefile", "lwfw.c"], "dusk-cc wrote into the module's folder")
    print("installcheck: dusk-cc -M lwfw built the program")


def build_pkgconfig(s, a):
    """A program of libdusk's C API, built with pkg-config's flags."""
    env = dict(s.env, PKG_CONFIG_PATH=str(pathlib.Path(a.libdir,
                                                       "pkgconfig")))
    flags = s.ok("pkg-config", "--cflags", "--libs", "libdusk",
                 env=env).stdout.split()
    check(f"-I{pathlib.Path(a.pkgincludedir).resolve()}" in
          [f"-I{pathlib.Path(f[2:]).resolve()}" for f in flags
           if f.startswith("-I")],
          f"pkg-config --cflags libdusk: {flags}")
    (s.work / "release.c").write_text(r'''
#include <stdio.h>
#include <dusk.h>

int main(void)
{
	struct dusk_config cfg;
	struct dusk_session *s;
	int err = dusk_config_init(&cfg);

	if (!err)
		err = dusk_session_open(&cfg, &s);
	if (err) {
		fprintf(stderr, "no session: %d\n", err);
		return 1;
	}
	printf("release %s\n", dusk_kernel_release(s));
	dusk_session_close(s);
	return 0;
}
''')
    s.ok("gcc", "-o", "release", "release.c", *flags)
    print("installcheck: a libdusk program built with pkg-config libdusk")


def run_lwfw(s):
    """lwfw-prog block_ip=127.0.0.5: a ping to .5 goes unanswered, one
    to .1 is answered, and unloading says what it dropped."""
    out_path = s.work / "lwfw.out"
    with open(out_path, "w") as out:
        prog = subprocess.Popen([str(s.work / "lwfw-prog"),
                                 "block_ip=127.0.0.5"], cwd=s.work,
                                env=s.env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "lwfw: loaded" not in out_path.read_text(errors="replace"):
            check(prog.poll() is None, "lwfw-prog ended before loading",
                  out_path.read_text(errors="replace"))
            check(time.monotonic() < deadline, "lwfw-prog did not load",
                  out_path.read_text(errors="replace"))
            time.sleep(0.1)
        blocked = s.run("dusk-target", "exec", "--",
                        "ping", "-c", "1", "-W", "2", "127.0.0.5")
        passed = s.run("dusk-target", "exec", "--",
                       "ping", "-c", "1", "-W", "2", "127.0.0.1")
        prog.send_signal(signal.SIGINT)
        rc = prog.wait(timeout=60)
    finally:
        if prog.poll() is None:
            prog.kill()
            prog.wait()
    text = out_path.read_text(errors="replace")
    check(blocked.returncode != 0, "ping 127.0.0.5 was answered",
          blocked.stdout + text)
    check(passed.returncode == 0, "ping 127.0.0.1 was not answered",
          passed.stdout + passed.stderr + text)
    m = re.search(r"dropped: interface (\d+), address (\d+), port (\d+)",
                  text)
    check(rc == 0 and m and int(m.group(2)) >= 1 and
          "lwfw: unloaded" in text,
          f"lwfw-prog (exit status {rc}) did not report its drops", text)
    print(f"installcheck: lwfw-prog dropped {m.group(2)} packets to "
          f"127.0.0.5 and let 127.0.0.1's through")


GDB_SCRIPT = """\
set pagination off
set width 0
set confirm off
break lwfw_init
run block_ip=127.0.0.5
bt 1
dusk status
dusk break-hook lwfw_hook if state->in->ifindex == 1
continue
bt 1
dusk print skb->len
dusk status
kill
"""


def run_gdb(s):
    """A dusk-gdb batch session: stops in init and in the hook (for the
    ping over loopback sent once the module has loaded)."""
    (s.work / "cmds.gdb").write_text(GDB_SCRIPT)
    gdb = subprocess.Popen(
        [str(pathlib.Path(s.a.bindir, "dusk-gdb")), "--", "-batch", "-nx",
         "-x", "cmds.gdb", "--args", "./lwfw-prog"],
        cwd=s.work, env=s.env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        errors="replace")
    lines = []
    loaded = threading.Event()

    def read():
        for line in gdb.stdout:
            lines.append(line)
            if "lwfw: loaded" in line:
                loaded.set()
        loaded.set()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        loaded.wait(timeout=180)
        if gdb.poll() is None:
            s.run("dusk-target", "exec", "--", "ping", "-c", "1", "-W", "5",
                  "127.0.0.1")
        gdb.wait(timeout=180)
    finally:
        if gdb.poll() is None:
            gdb.kill()
            gdb.wait()
        reader.join(timeout=10)
    out = "".join(lines)
    (s.work / "gdb.out").write_text(out)
    check(not PYTHON_TROUBLE.search(out), "dusk-gdb: a Python error", out)
    check(re.search(r"Breakpoint 1, (0x[0-9a-f]+ in )?lwfw_init", out),
          "dusk-gdb did not stop in lwfw_init", out)
    check(re.search(r"^target +\S+ +\(kernel \S+\)", out, re.M) and
          re.search(r"^hooks +0 registered", out, re.M),
          "dusk status in lwfw_init: no target, or hooks", out)
    check(re.search(r"Breakpoint 2, (0x[0-9a-f]+ in )?lwfw_hook", out),
          "dusk-gdb did not stop in lwfw_hook", out)
    check(re.search(r"^hooks +1 registered", out, re.M) and
          re.search(r"^invocation +packet \d+", out, re.M),
          "dusk status in lwfw_hook: no hook, or no packet", out)
    m = re.search(r"skb->len.*?= (\d+)", out)
    check(m and int(m.group(1)) >= 84, "dusk print skb->len: no ping's "
          "length (84 bytes and more)", out)
    print(f"installcheck: dusk-gdb stopped in lwfw_init and lwfw_hook "
          f"(skb->len {m.group(1)}), dusk status and dusk print answered")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for d in ("srcdir", "bindir", "libdir", "pkglibdir", "pkglibexecdir",
              "pkgdatadir", "pkgincludedir", "mandir"):
        ap.add_argument(f"--{d}", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory")
    a = ap.parse_args()
    t0 = time.monotonic()
    work = pathlib.Path(tempfile.mkdtemp(prefix="dusk-installcheck."))
    s = Session(a, work)
    booted = False
    try:
        check_installed(a)
        check_versions(s, a.version)
        up = []
        booting = threading.Thread(target=boot, args=(s, up))
        booting.start()
        booted = True
        try:
            build_lwfw(s, a)
            build_pkgconfig(s, a)
        finally:
            booting.join()
        check(isinstance(up[0], subprocess.CompletedProcess) and
              up[0].returncode == 0, "dusk-target up failed",
              up[0].stderr if hasattr(up[0], "stderr") else repr(up[0]))
        print("installcheck: dusk-target up booted a target")
        p = s.ok("./release")
        st = s.ok("dusk-target", "status").stdout
        m = re.search(r"^release (\S+)", st, re.M)
        check(m and p.stdout == f"release {m.group(1)}\n",
              "the libdusk program's session: another kernel release",
              p.stdout + st)
        print(f"installcheck: the libdusk program opened a session "
              f"({p.stdout.strip()})")
        run_lwfw(s)
        run_gdb(s)
        trouble = [line for line in s.console().splitlines()
                   if KERNEL_TROUBLE.search(line)]
        check(not trouble, "the target's kernel complained",
              "\n".join(trouble))
    except Failed as e:
        print(f"installcheck: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        if booted:
            s.run("dusk-target", "down", timeout=60)
        if a.keep:
            print(f"installcheck: work directory {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"installcheck: passed in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
