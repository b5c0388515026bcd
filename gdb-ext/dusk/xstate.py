# SPDX-License-Identifier: GPL-2.0
"""Inferior calls where gdb cannot write the CPU's XSAVE area back.

Every question to libdusk is an inferior call, and an inferior call writes
all registers back when it is done. gdb 13 (Debian 12's) writes the XSAVE
area (PTRACE_SETREGSET, NT_X86_XSTATE) with the size of the features it
knows (up to AVX-512 and PKU: 2696 bytes); the kernel takes only the whole
area of the CPU's user features (with AMX, 11008 bytes) and refuses
anything else with EFAULT. On such a machine every inferior call fails:
"Couldn't write extended state status: Bad address".

At load, a probe gdb (this gdb's own binary) starts /bin/true, writes
$xmm0 back and prints the target description it uses. When the write
fails, and works with that description less its AVX, AVX-512 and PKU
features, this gdb is given that description ("set tdesc filename"): gdb
then moves registers with PTRACE_GETREGS and PTRACE_GETFPREGS (general
registers, x87 and SSE), which every kernel takes. What is lost: gdb
neither shows ($ymm0, $zmm0, $k0) nor restores around an inferior call
the upper halves of the vector registers and the mask registers. A
module is compiled with the kernel's flags (no SSE, no AVX) and libdusk
without AVX; stopped inside an AVX routine of the C library, an inferior
call could clobber its vector state.
"""

import atexit
import os
import re
import subprocess
import tempfile

import gdb

PROBE_PROGRAM = "/bin/true"
# Features of a description that gdb 13 moves by PTRACE_GETREGS and
# PTRACE_GETFPREGS; the others live in the XSAVE area.
KEEP = ("core", "sse", "linux", "segments")
PROBE_TIMEOUT = 60

_tdesc = None


def _probe(before, *commands):
    """The output of a gdb of this binary that runs the commands BEFORE,
    starts PROBE_PROGRAM, runs COMMANDS and ends, or None if it could not
    run."""
    args = [os.readlink("/proc/self/exe"), "-batch", "-nx"]
    for c in before + ["starti"] + list(commands):
        args += ["-ex", c]
    try:
        p = subprocess.run(args + [PROBE_PROGRAM], capture_output=True,
                           text=True, errors="replace", timeout=PROBE_TIMEOUT,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout + p.stderr


# A changed value: gdb writes nothing when the value stays the same.
_WRITE = "set var $xmm0.v4_int32[0] = $xmm0.v4_int32[0] ^ 1"
_FAILED = "Couldn't write extended state"


def _sse_description(xml):
    """XML less the features that are in the XSAVE area only."""
    def keep(m):
        name = m.group(1).rsplit(".", 1)[-1]
        return m.group(0) if name in KEEP else ""
    return re.sub(r'[ \t]*<feature name="([^"]+)">.*?</feature>\n?', keep,
                  xml, flags=re.S)


def _cleanup():
    if _tdesc:
        try:
            os.unlink(_tdesc)
        except OSError:
            pass


def register():
    """Give this gdb the SSE-only description if it needs it (x86-64)."""
    global _tdesc
    if os.uname().machine != "x86_64" or not os.access(PROBE_PROGRAM,
                                                       os.X_OK):
        return
    out = _probe([], _WRITE, "maint print xml-tdesc")
    if out is None or _FAILED not in out:
        return
    start = out.find("<?xml")
    if start < 0:
        return
    xml = _sse_description(out[start:out.rfind("</target>") + 9])
    fd, path = tempfile.mkstemp(prefix="dusk-gdb-tdesc-", suffix=".xml")
    with os.fdopen(fd, "w") as f:
        f.write(xml)
    _tdesc = path
    atexit.register(_cleanup)
    check = _probe([f"set tdesc filename {path}"], _WRITE)
    if check is None or _FAILED in check:
        return          # no better: leave gdb as it is
    gdb.execute(f"set tdesc filename {path}", to_string=True)
    gdb.write(f"dusk: gdb {gdb.VERSION} cannot write this CPU's whole "
              f"XSAVE area back: registers are moved without their AVX "
              f"state (README: Limits)\n")
