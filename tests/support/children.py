"""What the tests' child processes run.

A child started by spawn or forkserver imports the module its target lives in. Defined in a
test module, a target makes every such child import pytest, psutil and the test module with
it: some 0.2 CPU-seconds a child here, three times that on a CPU three times slower. Defined
here, a child imports the standard library and ``spinners`` only.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from typing import Any

from spinners.prime_pool import PrimeResult, check

SLOW_NUMBER = 1_000_000_007
SHARED = {"value": "original"}  # a global that a child changes in its own memory only


def answer(channel: Any) -> int:
    channel.put(42)
    return 42


def gated_answer(gate: Any, channel: Any) -> None:
    gate.wait(10)
    answer(channel)


def fail() -> None:
    raise ValueError("boom in the child")


def change_shared(channel: Any) -> None:
    SHARED["value"] = "changed"
    channel.put((os.getpid(), SHARED["value"]))


def pid_and_executable() -> tuple[int, str]:
    return os.getpid(), sys.executable


def child_ids(queue: Any) -> None:
    parent = multiprocessing.parent_process()
    queue.put((os.getpid(), os.getppid(), parent.pid if parent else None))


FAILING_NUMBER = 1_000_000_009


def fails_on_purpose(n: int) -> PrimeResult:
    """A check that raises on ``FAILING_NUMBER``, as a worker out of memory would."""
    if n == FAILING_NUMBER:
        raise MemoryError("as a worker out of memory would")
    return check(n)


def slow_check(n: int) -> PrimeResult:
    """A check that dawdles on one number: the worker that draws it is the slow one."""
    if n == SLOW_NUMBER:
        time.sleep(0.3)
    return check(n)


def worker_until_queue_looks_empty(jobs: Any, results: Any) -> None:
    """The broken design's worker: no sentinel, it stops when the job queue looks empty."""
    while not jobs.empty():
        results.put(slow_check(jobs.get()))
