"""Waiting without hanging: bounded polls and joins (``measuring.waiting``), timing."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

from measuring.waiting import PATIENCE, Hung, join

__all__ = ["PATIENCE", "Hung", "join", "started", "timed", "timed_cpu", "wait_until"]


class Unit(Protocol):
    """A thread or a process."""

    def start(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...

    def is_alive(self) -> bool: ...


U = TypeVar("U", bound=Unit)


def wait_until(predicate: Callable[[], object], what: str, timeout: float = PATIENCE) -> None:
    """Poll with a growing pause until ``predicate()`` is true; fail after ``timeout`` seconds."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    pause = 0.001
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


@contextlib.contextmanager
def started(units: Iterable[U]) -> Iterator[list[U]]:
    """Start every thread or process of ``units``; on leaving the block, join each of them
    (see ``join``: one that does not end within PATIENCE is stopped if it can be, and fails)."""
    __tracebackhide__ = True
    started_units: list[U] = []
    try:
        for unit in units:
            unit.start()
            started_units.append(unit)
        yield started_units
    finally:
        for unit in started_units:
            join(unit)


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """``work()``'s result and the seconds it took."""
    t0 = time.perf_counter()
    result = work()
    return result, time.perf_counter() - t0


def timed_cpu(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """``work()``'s result, the wall seconds it took, and the CPU seconds this thread spent on it
    (CPU time: what the work costs, which other load on the machine does not inflate)."""
    t0, c0 = time.perf_counter(), time.thread_time()
    result = work()
    return result, time.perf_counter() - t0, time.thread_time() - c0
