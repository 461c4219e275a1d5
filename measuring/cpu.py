"""CPU-bound work sized by time, the cores it used, the cores this machine gives now, and the
speed-up over sequential code: each defined once, for the tests, the runner and the benchmarks."""

from __future__ import annotations

import multiprocessing
import os
import queue
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from measuring.waiting import PATIENCE, join
from spinners.work import is_prime

# Processes we measure are our own children, so their CPU time counts as ours (os.times):
# forked where the platform can, else spawned -- never from a fork server (Linux's default
# from 3.14), whose children are the server's.
OWN_CHILD_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"

# A probe of N busy children that got this share of N cores found them free: on an idle
# machine it gets 0.95-1.0 of each; beside one CPU burner on two cores, about 0.67.
CORES_FREE = 0.85

# The machine's speed, in the pool's own work: how long checking this prime takes here.
MACHINE_SPEED_PRIME = 5_000_111_000_222_021


def burn(loops: int) -> int:
    """Pure-Python CPU work: the interpreter holds the GIL for all of it but the switches."""
    total = 0
    for i in range(loops):
        total += i % 7
    return total


def busy_until(deadline: float) -> None:
    """Keep one CPU busy until ``perf_counter()`` reaches ``deadline`` (``inf``: for ever)."""
    now = time.perf_counter
    while now() < deadline:
        pass


def size_for(seconds: float, work: Callable[[int], object], start: int = 1) -> float:
    """The argument that makes ``work(argument)`` last about ``seconds`` here, now, assuming its
    cost grows in proportion to the argument: timed on doubling sizes until one lasts over
    20 ms, then scaled by the fastest of three timings of that size, that one and two more
    (noise only adds time, and one spike in a single timing would size the work too small).
    Work sized this way takes the same time on a fast and on a slow CPU."""

    def took(size: int) -> float:
        t0 = time.perf_counter()
        work(size)
        return time.perf_counter() - t0

    size, timings = start, [took(start)]
    while timings[-1] <= 0.02:
        size *= 2
        timings = [took(size)]
    timings += [took(size), took(size)]
    return size * seconds / min(timings)


def loops_for(seconds: float) -> int:
    """How many ``burn`` loops take about ``seconds`` on this interpreter, now."""
    return int(size_for(seconds, burn, 100_000))


def speedup(sequential: float, parallel_wall: float) -> float:
    """How many times faster a parallel run got through the work than sequential code: the
    sequential run's seconds (its CPU time, what the work costs, which other load does not
    inflate; or its wall time where only that is known) over the parallel run's wall time."""
    return sequential / parallel_wall


class Run:
    """One measured run of N units: their summed CPU time, the wall time from the first start
    to the last end, and the cores they used (CPU over wall)."""

    def __init__(self, samples: list[tuple[float, float, float]]) -> None:
        self.cpu = sum(cpu for cpu, _, _ in samples)
        self.wall = max(end for _, _, end in samples) - min(begin for _, begin, _ in samples)
        self.cores = self.cpu / self.wall


def _timed_burn(jobs: Any, start: Any, out: Any) -> None:
    """In a thread or a child: wait for the common start, then burn the loops of one job after
    another from ``jobs`` until a 0; report (cpu seconds, start, end)."""
    out.put(None)  # ready
    start.wait(PATIENCE)
    t0, c0 = time.perf_counter(), time.thread_time()
    while loops := jobs.get():
        burn(loops)
    out.put((time.thread_time() - c0, t0, time.perf_counter()))


def _busy_for(jobs: Any, start: Any, out: Any) -> None:
    """In a child: wait for the common start, keep one CPU busy for the seconds its job says
    (however little of them this child gets), report (cpu seconds, start, end)."""
    seconds = jobs.get()
    out.put(None)  # ready
    start.wait(PATIENCE)
    t0, c0 = time.perf_counter(), time.thread_time()
    busy_until(t0 + seconds)
    out.put((time.thread_time() - c0, t0, time.perf_counter()))


# ``_timed_burn`` as an interpreter of ``concurrent.interpreters`` runs it, on a thread of this
# process: its queues are the channel (nothing else crosses), the common start one token each.
IN_AN_INTERPRETER = """
import sys, time
sys.path[:] = path  # where this process finds the project
from measuring.cpu import burn
out.put(None)  # ready
start.get(timeout=patience)
t0, c0 = time.perf_counter(), time.thread_time()
while loops := jobs.get():
    burn(loops)
out.put((time.thread_time() - c0, t0, time.perf_counter()))
"""


def _released_in_interpreters(workers: int, jobs: list[float]) -> Run:
    """``_released_together`` for ``workers`` new interpreters, each on a thread of its own."""
    from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

    start, out, job_queue = (interpreters.create_queue() for _ in range(3))
    for job in jobs:
        job_queue.put(job)
    made = [interpreters.create() for _ in range(workers)]
    try:
        threads = []
        for interpreter in made:
            interpreter.prepare_main(path=tuple(sys.path), jobs=job_queue, start=start, out=out, patience=PATIENCE)
            threads.append(threading.Thread(target=interpreter.exec, args=(IN_AN_INTERPRETER,)))
            threads[-1].start()
        try:
            for _ in made:
                assert out.get(timeout=PATIENCE) is None
            for _ in made:
                start.put(True)
            samples = [out.get(timeout=PATIENCE) for _ in made]
        finally:
            for thread in threads:
                join(thread, 60)
    finally:
        for interpreter in made:
            interpreter.close()
    return Run(samples)


def _released_together(kind: str, workers: int, target: Callable[..., None], jobs: list[float]) -> Run:
    """Start ``workers`` threads or processes running ``target(job_queue, start, out)`` with
    ``jobs`` in the queue, release them at once when every one is ready, and gather what each
    measured. Start-up is outside the measured window (CPython's ccbench starts its clock the
    same way); each unit stamps ``perf_counter``, a clock every process on the machine shares,
    and its own CPU time (``thread_time``: only what it ran)."""
    if kind == "interpreter":
        assert target is _timed_burn  # (the only target an interpreter runs: IN_AN_INTERPRETER)
        return _released_in_interpreters(workers, jobs)
    if kind == "thread":
        start: Any = threading.Event()
        out: Any = queue.SimpleQueue()
        job_queue: Any = queue.SimpleQueue()
        units: list[Any] = [threading.Thread(target=target, args=(job_queue, start, out)) for _ in range(workers)]
    else:
        context = multiprocessing.get_context(OWN_CHILD_METHOD)
        start, out, job_queue = context.Event(), context.SimpleQueue(), context.SimpleQueue()
        # typeshed types get_context(str) as BaseContext; every concrete context has .Process
        units = [context.Process(target=target, args=(job_queue, start, out)) for _ in range(workers)]  # type: ignore[attr-defined]
    for job in jobs:
        job_queue.put(job)
    for unit in units:
        unit.start()
    try:
        for _ in units:
            assert out.get() is None
        start.set()
        samples = [out.get() for _ in units]
    finally:
        for unit in units:
            join(unit, 60)
    return Run(samples)


def run_units(kind: str, workers: int, loops: int, split: int = 1) -> Run:
    """Burn ``loops`` per unit in ``workers`` threads, processes or interpreters (each on a
    thread of this process: 3.14 and later), all released at once.

    With ``split`` above 1 the whole work is cut into ``split`` jobs per unit, which the units
    take from a common queue as they go: a unit on a faster core takes more of them, as a pool
    does. (The cores of a shared machine can differ in speed by half at times.)"""
    jobs = [loops // split] * (workers * split)
    return _released_together(kind, workers, _timed_burn, [*jobs, *[0] * workers])


def burn_in_turn(workers: int, loops: int) -> Run:
    """The same work as ``run_units``, done by this thread alone, one share after the other."""
    t0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(workers):
        burn(loops)
    return Run([(time.thread_time() - c0, t0, time.perf_counter())])


def cores_available(workers: int, seconds: float = 0.1) -> float:
    """How many cores this process can get now: ``workers`` children kept busy for ``seconds``,
    their summed CPU time over the wall time.

    Whatever limits it -- CPU affinity, a cgroup CPU quota, other programs on the machine --
    shows in this figure, where the CPU count, the affinity mask and /proc/stat each miss some."""
    return _released_together("process", workers, _busy_for, [seconds] * workers).cores


def cores_were_free(found: float, workers: int) -> bool:
    """Whether a probe that got ``found`` cores out of ``workers`` busy children found them free."""
    return found >= CORES_FREE * workers


def machine_speedup(workers: int, seconds: float = 0.15, pairs: int = 3) -> float:
    """How much faster ``workers`` plain CPU-bound processes get through work than one process
    alone, here and now (the upper median of interleaved pairs): what this machine's cores
    give together.

    Cores that are all free can still slow each other down when they run at once (two
    hyperthreads of one core, a host that shares them out): the CPU time is all there, but
    not the throughput, and no pool can then come close to N times faster."""
    loops = loops_for(seconds)
    speedups = []
    for _ in range(pairs):
        alone = run_units("process", 1, workers * loops)
        together = run_units("process", workers, loops, split=8)
        speedups.append(speedup(alone.cpu, together.wall))
    return statistics.median_high(speedups)


def machine_speed() -> float:
    """Seconds this interpreter takes to check ``MACHINE_SPEED_PRIME`` by trial division, here
    and now: the speed of the work the prime pool does."""
    t0 = time.perf_counter()
    is_prime(MACHINE_SPEED_PRIME)
    return time.perf_counter() - t0


def children_cpu() -> float:
    """CPU seconds used so far by the children this process has reaped (``os.times``)."""
    times = os.times()
    return times.children_user + times.children_system
