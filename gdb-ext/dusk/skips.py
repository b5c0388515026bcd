# SPDX-License-Identifier: GPL-2.0
""""step" never descends into the runtime: a line that calls a kernel
function (a generated stub, __dusk_k_*), a user-level kernel library
function (__dusk_impl_*) or the cache's checks (__dusk_check) is stepped
over as one line. The runtime's own files are skipped as a whole."""

import os
import re

import gdb

RUNTIME_FUNCTION = re.compile(r"^_*dusk_")
_runtime_dir = None


def runtime_dir():
    """The runtime's source directory, as the program's DWARF names it."""
    global _runtime_dir
    if _runtime_dir is None:
        try:
            sym = gdb.lookup_global_symbol("dusk_dbg_status")
            _runtime_dir = os.path.dirname(sym.symtab.fullname()) \
                if sym and sym.symtab else ""
        except gdb.error:
            _runtime_dir = ""
    return _runtime_dir or None


def _new_objfile(event):
    global _runtime_dir
    _runtime_dir = None
    d = runtime_dir()
    if d:
        gdb.execute(f"skip -gfile {d}/*", to_string=True)


def register():
    gdb.execute(f"skip -rfunction {RUNTIME_FUNCTION.pattern}", to_string=True)
    gdb.events.new_objfile.connect(_new_objfile)
    if gdb.objfiles():
        _new_objfile(None)


def is_runtime_frame(frame):
    name = frame.name() or ""
    if RUNTIME_FUNCTION.match(name):
        return True
    sal = frame.find_sal()
    if sal.symtab is None:
        return True         # libc, the generated glue without lines
    d = runtime_dir()
    return bool(d) and sal.symtab.fullname().startswith(d + os.sep)


def module_frame():
    """The newest frame of the module's own code, or None."""
    f = gdb.newest_frame()
    while f is not None and is_runtime_frame(f):
        f = f.older()
    return f
