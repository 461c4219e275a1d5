"""Interpreters in one process (``concurrent.interpreters``, 3.14 and later): running code in a
new one and reading back what it sent, and telling where the module is missing."""

from __future__ import annotations

import sys
from typing import Any

from measuring.build import INTERPRETERS, NO_INTERPRETERS, PYPY
from tests.support.waiting import PATIENCE


def in_a_new_interpreter(code: str, **shared: Any) -> list[Any]:
    """Run ``code`` in a new interpreter of this process, with ``shared`` and a queue ``sent`` in
    its ``__main__``; everything it put on ``sent``, in order. The interpreter is closed after."""
    from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

    sent = interpreters.create_queue()
    interpreter = interpreters.create()
    got = []
    try:
        interpreter.prepare_main(sent=sent, **shared)
        interpreter.exec(code)
        while not sent.empty():  # read before the close: what a closed interpreter sent is gone (UNBOUND)
            got.append(sent.get(timeout=PATIENCE))
    finally:
        interpreter.close()
    return got


def absent_as_documented(evidence: Any) -> None:
    """Where there is no ``concurrent.interpreters``, it is because this Python predates it: a
    CPython before 3.14, or another implementation (PyPy). Recorded for the matrix."""
    evidence.record(observed="no concurrent.interpreters")
    assert not INTERPRETERS
    assert sys.version_info < (3, 14) or PYPY, "a CPython 3.14 or later without concurrent.interpreters"


def not_here(evidence: Any) -> bool:
    """True where there is no ``concurrent.interpreters``: the claim is then *not applicable*,
    and what is asserted is that this Python predates the module."""
    if INTERPRETERS:
        return False
    evidence.not_applicable(NO_INTERPRETERS)
    absent_as_documented(evidence)
    return True


# Seconds of CPU-bound work per interpreter: as GIL-3 gives each thread (tests/test_03_gil.py).
WORK_SECONDS = 0.15


def computing_side_by_side(workers: int = 2) -> Any:
    """``workers`` new interpreters burning CPU on as many threads of this process, released
    together, measured until they used more than one core (``attempts``): the cores they used."""
    from measuring.cpu import loops_for, run_units
    from tests.support.cpu import Parallel, attempts
    from tests.support.tolerances import MORE_THAN_ONE_CORE

    loops = loops_for(WORK_SECONDS)
    return attempts(lambda: Parallel(run_units("interpreter", workers, loops).cores), Parallel(MORE_THAN_ONE_CORE))
