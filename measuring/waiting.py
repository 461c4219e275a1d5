"""Joining a thread or a process without hanging."""

from __future__ import annotations

from typing import Any

# A bound for waits that should end at once: long enough for a loaded machine to get
# there, short enough that a hang fails fast. Never a pass/fail threshold.
PATIENCE = 10.0


class Hung(AssertionError):
    """A unit that did not stop when asked: a hang, caught before the test's timeout. spec.run
    does not measure such a test again (a hang is not noise); the claims plugin names it."""


def join(unit: Any, timeout: float = PATIENCE) -> None:
    """Join a thread or process within ``timeout``; a unit still alive is stopped (if it can be) and fails."""
    __tracebackhide__ = True
    unit.join(timeout)
    if unit.is_alive():
        if hasattr(unit, "kill"):
            unit.kill()
            unit.join(PATIENCE)
        raise Hung(f"{unit!r} still running {timeout}s after it was asked to stop")
