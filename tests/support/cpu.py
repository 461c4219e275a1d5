"""CPU-bound work sized by time, the cores it used, and the cores this process can get now.

Also the probe thread, whose pauses show when another thread held the GIL."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from spec.catalogue import gil_disabled_build, gil_enabled
from tests.support.tolerances import AT_MOST_ONE_CORE, FREE_SHARE
from tests.support.waiting import PATIENCE, join, wait_until

T = TypeVar("T")


# A free-threaded build running without the GIL: the claims about the GIL read reversed.
GIL_OFF = gil_disabled_build() and not gil_enabled()


class Probe:
    """A thread that reads ``perf_counter()`` in a tight loop and notes every pause between two
    reads longer than ``PAUSE``: a pause is a time it could not run.

    Only the pauses are kept: the reads come some ten million a second, and a list of them all
    would cost more to sift than the measurement takes."""

    PAUSE = 0.0002  # seconds: far above one turn of the loop, far below any gap the tests judge

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float]] = []
        self.reads = 0
        self._running, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)

    def _run(self) -> None:
        pauses, now, stopped, pause = self.pauses, time.perf_counter, self._stop.is_set, self.PAUSE
        last, reads = now(), 0
        while not stopped():
            read = now()
            if read - last > pause:
                pauses.append((last, read))
            last, reads = read, reads + 1
            if reads == 1000:
                self._running.set()
        self.reads = reads

    def __enter__(self) -> Probe:
        self._thread.start()
        wait_until(self._running.is_set, "the probe to run")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        join(self._thread)

    def largest_gap(self, start: float, end: float) -> float:
        """The longest the probe went without a read between ``start`` and ``end``; ``PAUSE``,
        the most a pause it did not note can last, if it noted none longer."""
        overlaps = [min(b, end) - max(a, start) for a, b in self.pauses if a < end and b > start]
        return max([self.PAUSE, *overlaps])


# Processes the spec measures are our own children, so their CPU time counts as ours
# (os.times): forked where the platform can, else spawned -- never from a fork server
# (Linux's default from 3.14), whose children are the server's.
OWN_CHILDREN = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def burn(loops: int) -> int:
    """Pure-Python CPU work: the interpreter holds the GIL for all of it but the switches."""
    total = 0
    for i in range(loops):
        total += i % 7
    return total


def loops_for(seconds: float) -> int:
    """How many ``burn`` loops take about ``seconds`` on this interpreter, now."""
    return int(repeats_for(seconds, burn, 100_000))


def repeats_for(seconds: float, work: Callable[[int], object], start: int = 1) -> float:
    """How large an argument makes ``work(argument)`` last about ``seconds`` here, now, assuming
    its cost grows in proportion to the argument: timed on doubling sizes until one lasts over
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
    while time.perf_counter() - t0 < seconds:
        pass
    out.put((time.thread_time() - c0, t0, time.perf_counter()))


class Run:
    """One measured run of N units: their summed CPU time, the wall time from the first start
    to the last end, and the cores they used (CPU over wall)."""

    def __init__(self, samples: list[tuple[float, float, float]]) -> None:
        self.cpu = sum(cpu for cpu, _, _ in samples)
        self.wall = max(end for _, _, end in samples) - min(begin for _, begin, _ in samples)
        self.cores = self.cpu / self.wall


def _released_together(kind: str, workers: int, target: Callable[..., None], jobs: list[float]) -> Run:
    """Start ``workers`` threads or processes running ``target(job_queue, start, out)`` with
    ``jobs`` in the queue, release them at once when every one is ready, and gather what each
    measured. Start-up is outside the measured window (CPython's ccbench starts its clock the
    same way); each unit stamps ``perf_counter``, a clock every process on the machine shares,
    and its own CPU time (``thread_time``: only what it ran)."""
    if kind == "thread":
        start: Any = threading.Event()
        out: Any = queue.SimpleQueue()
        job_queue: Any = queue.SimpleQueue()
        units: list[Any] = [threading.Thread(target=target, args=(job_queue, start, out)) for _ in range(workers)]
    else:
        context = multiprocessing.get_context(OWN_CHILDREN)
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
    """Burn ``loops`` per unit in ``workers`` threads or processes, all released at once.

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


def plain_speedup(workers: int, seconds: float = 0.15, pairs: int = 3) -> float:
    """How much faster ``workers`` plain CPU-bound processes get through work than one process
    alone, here and now (median of interleaved pairs): what this machine's cores give together.

    Cores that are all free can still slow each other down when they run at once (two
    hyperthreads of one core, a host that shares them out): the CPU time is all there, but
    not the throughput, and no pool can then come close to N times faster."""
    loops = loops_for(seconds)
    speedups = []
    for _ in range(pairs):
        alone = run_units("process", 1, workers * loops)
        together = run_units("process", workers, loops, split=8)
        speedups.append(alone.cpu / together.wall)
    return sorted(speedups)[len(speedups) // 2]


class Shown(Generic[T]):
    """The outcome of ``until_shown``: the last measurement, whether it showed the claim, and
    the fewest cores the probe found free around the attempts that did not (None if none failed)."""

    def __init__(self, result: T, shown: bool, free_cores: float | None) -> None:
        self.result, self.shown, self.free_cores = result, shown, free_cores

    def cores_were_free(self, workers: int) -> bool:
        return self.free_cores is None or self.free_cores >= FREE_SHARE * workers


def until_shown(measure: Callable[[], T], shows: Callable[[T], bool], workers: int, attempts: int = 3) -> Shown[T]:
    """Measure up to ``attempts`` times until ``shows(result)``; after each attempt that does
    not show it, probe how many of ``workers`` cores were to be had (``cores_available``).

    A claim about parallel work can fail to show because other work took the cores or a CPU
    quota withheld them: the probe tells that apart from a Python that really does not run the
    work in parallel (probes around every failed attempt found the cores free)."""
    free: list[float] = []
    for _ in range(attempts):
        result = measure()
        if shows(result):
            return Shown(result, True, min(free, default=None))
        free.append(cores_available(workers))
    return Shown(result, False, min(free))


def not_demonstrable_if_cores_were_taken(evidence: Any, shown: Shown[Any], workers: int, measured: str) -> None:
    """Record the cores the probe found; if the claim did not show while they were taken, end
    the test as *not demonstrable*, saying what was ``measured`` and what the probe got."""
    if shown.free_cores is not None:
        evidence.record(free_cores=shown.free_cores)
    if not shown.shown and not shown.cores_were_free(workers):
        evidence.not_demonstrable(
            f"{measured}; a probe of {workers} busy children got only {shown.free_cores:.2f} of {workers} "
            "cores (other load, a CPU quota or affinity)"
        )


def not_demonstrable_if_cores_were_slow(
    evidence: Any, shown: Shown[Any], workers: int, bound: float, measured: str, work_per_cpu: float | None = None
) -> None:
    """Where the claim did not show though the cores were free: were they fast together? If
    ``workers`` plain CPU-bound processes, measured now, cannot beat the speed-up ``bound``
    either, the machine is the limit, and the test ends as *not demonstrable*.

    ``work_per_cpu``, for processes that share nothing only: the sequential CPU time of the
    work over the CPU time the processes spent on it in the last attempt. At or below
    ``bound / workers`` the cores slowed each other down in that very run, so far that even
    ``workers`` fully busy cores could not have reached the bound (a later measurement can
    find the cores fast again: this host's slowdowns come and go within seconds)."""
    if shown.shown:
        return
    if work_per_cpu is not None:
        evidence.record(work_per_cpu=work_per_cpu)
        if work_per_cpu <= bound / workers:
            evidence.not_demonstrable(
                f"{measured}, each CPU-second of it doing only {work_per_cpu:.2f} of what one process alone "
                f"does: below {bound / workers:.2f}, {workers} busy cores cannot reach {bound:.2f}; "
                "this machine's CPUs did not run at full speed together"
            )
    machine = plain_speedup(workers)
    evidence.record(plain_processes_speedup=machine)
    if machine <= bound:
        evidence.not_demonstrable(
            f"{measured}, and {workers} plain CPU-bound processes only {machine:.2f}: this machine's CPUs "
            "do not run at full speed together"
        )


def not_demonstrable_if_faster_on_one_core(
    evidence: Any, speedup: float, bound: float, cores: float, units: str
) -> None:
    """Where ``units`` beat sequential code by more than ``bound`` while using one core at most:
    one core at a time can be faster than sequential code only if it runs faster, so the runs
    compared ran on CPUs of different speeds (a host's cores can differ by half at times, and
    the sequential run keeps to one of them). Not demonstrable, with both figures. (More
    than one core at work is parallelism, and the claim does not hold.)"""
    if speedup > bound and cores <= AT_MOST_ONE_CORE:
        evidence.not_demonstrable(
            f"{units} were {speedup:.2f}x as fast as sequential code while using {cores:.2f} cores: "
            "one core at a time can only be faster on a faster CPU; this machine's CPUs ran at different speeds"
        )


def children_cpu() -> float:
    """CPU seconds used so far by the children this process has reaped (``os.times``)."""
    times = os.times()
    return times.children_user + times.children_system
