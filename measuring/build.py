"""Which Python this is: the implementation and the build decide how some claims read."""

from __future__ import annotations

import sys
import sysconfig


def gil_disabled_build() -> bool:
    """Built free-threaded (``python3.13t`` and later)."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> bool:
    """The GIL is on right now (a free-threaded build can turn it back on at run time)."""
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


# A free-threaded build running without the GIL: the claims about the GIL read reversed.
GIL_OFF = gil_disabled_build() and not gil_enabled()

# PyPy: a GIL, but not CPython's (see the tests' PyPy branches).
PYPY = sys.implementation.name == "pypy"
