# SPDX-License-Identifier: GPL-2.0
"""Load dusk's gdb extension: gdb -x gdb-ext/dusk-gdb.py (bin/dusk-gdb does
this). The package lives beside this file."""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

import dusk  # noqa: E402

dusk.load()
