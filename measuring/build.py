"""Which Python this is: the implementation and the build decide how some claims read."""

from __future__ import annotations

import importlib.util
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

# Several interpreters in one process, each with its own GIL, through a public API: the
# standard library's ``concurrent.interpreters`` (PEP 734), from 3.14.
INTERPRETERS = importlib.util.find_spec("concurrent.interpreters") is not None
NO_INTERPRETERS = (
    f"Python {sys.version_info.major}.{sys.version_info.minor} has no concurrent.interpreters "
    "(3.14 and later; 3.12 and 3.13 have only the private _interpreters)"
)
