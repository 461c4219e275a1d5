"""The probe thread, whose pauses show when another thread held the GIL; and the judging of
claims about parallel work: measure (``attempts``), then judge (``judged_parallel``,
``judged_not_parallel``), then the test asserts its bounds.

The work, the cores and the speed-up themselves are measured by ``measuring.cpu``, which the
runner and the benchmarks share."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from measuring.cpu import cores_available, cores_were_free, machine_speedup
from measuring.waiting import join
from tests.support.tolerances import ONE_CORE_OF_THREADS, SPEEDUP_PER_CORE
from tests.support.waiting import wait_until


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


class Parallel(NamedTuple):
    """What a run of work shared by several threads or processes showed: the cores it used
    (their summed CPU time over its wall time) and its speed-up over sequential code (NaN:
    not measured, where the claim is about the cores alone)."""

    cores: float
    speedup: float = math.nan

    def reaches(self, bounds: Parallel) -> bool:
        """Above both bounds: more cores than ``bounds.cores``, faster than ``bounds.speedup``;
        and a measurement that can be true (see ``plausible``)."""
        above = self.cores > bounds.cores and (math.isnan(bounds.speedup) or self.speedup > bounds.speedup)
        return above and self.plausible()

    def plausible(self) -> bool:
        """No faster than the cores it used can make it (SPEEDUP_PER_CORE): above that, the
        sequential run it is held against was slowed, and the speed-up is no evidence."""
        return math.isnan(self.speedup) or self.speedup <= self.cores * SPEEDUP_PER_CORE


class Attempts(NamedTuple):
    """The outcome of ``attempts``: the last measurement, whether it reached the bounds, and
    the fewest of ``workers`` cores the probe found free around the attempts that did not
    (None: none failed)."""

    last: Parallel
    bounds: Parallel
    reached: bool
    free_cores: float | None
    workers: int


def attempts(measure: Callable[[], Parallel], bounds: Parallel, workers: int = 2, tries: int = 3) -> Attempts:
    """Measure up to ``tries`` times until the figures reach ``bounds``; after each attempt that
    does not, probe how many of ``workers`` cores were to be had (``cores_available``).

    A claim about parallel work can fail to show because other work took the cores or a CPU
    quota withheld them: the probe tells that apart from a Python that really does not run the
    work in parallel (probes around every failed attempt found the cores free).

    Three tries, though ``spec.run`` re-measures a failed test: a pool's 0.3 s of work on a
    shared machine misses its bound now and then with the cores free (tried with one: POOL-2
    failed its first attempt in 1 of 10 quiet runs, 1.40x on 1.84 cores). Repeats within the
    measurement keep the flake ledger for what the runner must rescue."""
    free: list[float] = []
    for _ in range(tries):
        figures = measure()
        if figures.reaches(bounds):
            return Attempts(figures, bounds, True, min(free, default=None), workers)
        free.append(cores_available(workers))
    return Attempts(figures, bounds, False, min(free), workers)


def plausibly(measure: Callable[[], Parallel], tries: int = 3) -> Parallel:
    """``measure()``, taken again (up to ``tries`` in all) while its speed-up is more than the
    cores it used can make (``Parallel.plausible``): the last. Such a figure is no result, true
    or false, and the judgment that follows sees it only if every try was one."""
    for _ in range(tries):
        figures = measure()
        if figures.plausible():
            break
    return figures


def _described(what: str, figures: Parallel) -> str:
    speed = "" if math.isnan(figures.speedup) else f" and reached a speed-up of {figures.speedup:.2f}"
    return f"{what} used {figures.cores:.2f} cores{speed}"


def judged_parallel(evidence: Any, tried: Attempts, what: str, shares_nothing: bool = False) -> Parallel:
    """The figures of a claim that work runs in parallel, for the test to assert its bounds --
    unless no attempt reached them and the machine is why, which ends the test here as *not
    demonstrable*, with the figures:

    * the cores were taken: a probe of as many busy children as the run had units got less
      than CORES_FREE of their cores;
    * the cores were slow together: the bounds ask for a speed-up, and as many plain
      CPU-bound processes, measured now, cannot beat it either. With ``shares_nothing``
      (processes, which share nothing), the run itself can show it: each CPU-second doing so
      little of what one process alone does that even that many busy cores could not have
      reached the bound (this host's slowdowns come and go within seconds).

    A speed-up above what the cores used can make is no measurement (``Parallel.plausible``):
    ``attempts`` measures again, and if none is plausible the test ends *not demonstrable*.

    Otherwise the figures fell short on free, fast cores: the test's assertion fails."""
    figures, workers = tried.last, tried.workers
    if tried.free_cores is not None:
        evidence.record(free_cores=tried.free_cores)
    if tried.reached:
        return figures
    measured = _described(what, figures)
    if not figures.plausible():
        evidence.not_demonstrable(
            f"{measured}: more than {SPEEDUP_PER_CORE:g} times the cores it used can make, in every attempt; "
            "the sequential run it was held against was slowed"
        )
    if tried.free_cores is not None and not cores_were_free(tried.free_cores, workers):
        evidence.not_demonstrable(
            f"{measured}; a probe of {workers} busy children got only {tried.free_cores:.2f} of {workers} "
            "cores (other load, a CPU quota or affinity)"
        )
    bound = tried.bounds.speedup
    if math.isnan(bound):
        return figures
    if shares_nothing:
        work_per_cpu = figures.speedup / figures.cores
        evidence.record(work_per_cpu=work_per_cpu)
        if work_per_cpu <= bound / workers:
            evidence.not_demonstrable(
                f"{measured}, each CPU-second of it doing only {work_per_cpu:.2f} of what one process alone "
                f"does: below {bound / workers:.2f}, {workers} busy cores cannot reach {bound:.2f}; "
                "this machine's CPUs did not run at full speed together"
            )
    machine = machine_speedup(workers)
    evidence.record(plain_processes_speedup=machine)
    if machine <= bound:
        evidence.not_demonstrable(
            f"{measured}, and {workers} plain CPU-bound processes only {machine:.2f}: this machine's CPUs "
            "do not run at full speed together"
        )
    return figures


def judged_not_parallel(evidence: Any, figures: Parallel, bound: float, what: str) -> Parallel:
    """The figures of a claim that work does *not* run faster than sequential code, for the test
    to assert ``figures.speedup <= bound`` -- unless it beat the bound while keeping to one core
    (ONE_CORE_OF_THREADS): one core at a time can be faster than sequential code only on a faster
    CPU, so the runs compared ran on CPUs of different speeds (a host's cores can differ by
    half at times, and the sequential run keeps to one of them). That ends the test here as
    *not demonstrable*, with both figures. (More than one core at work is parallelism, and the
    claim does not hold.) So does a speed-up, within the bound or not, above what the cores
    used can make (``Parallel.plausible``): the sequential run was slowed, and the figure is no
    evidence either way."""
    if figures.speedup > bound and figures.cores <= ONE_CORE_OF_THREADS:
        evidence.not_demonstrable(
            f"{what} were {figures.speedup:.2f}x as fast as sequential code while using {figures.cores:.2f} "
            "cores: one core at a time can only be faster on a faster CPU; this machine's CPUs ran at different speeds"
        )
    if not figures.plausible():
        evidence.not_demonstrable(
            f"{what} were {figures.speedup:.2f}x as fast as sequential code on {figures.cores:.2f} cores: more than "
            f"{SPEEDUP_PER_CORE:g} times the cores they used can make; the sequential run they were held against was slowed"
        )
    return figures
