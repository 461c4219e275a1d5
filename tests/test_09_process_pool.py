"""A homegrown process pool: every number reported once; processes scale, threads do not."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from spinners import prime_pool
from spinners.prime_pool import SMALL, PrimeResult, check, run_pool, run_sequential
from tests.helpers import GIL_OFF, OTHERS_BUSY, OWN_CHILDREN, cpus, join, other_load_during, timed, wait_until

claim = pytest.mark.claim
serial = pytest.mark.serial
SLOW_NUMBER = 1_000_000_007


def slow_check(n: int) -> PrimeResult:
    """A check that dawdles on one number: the worker that draws it is the slow one."""
    if n == SLOW_NUMBER:
        time.sleep(0.3)
    return check(n)


def worker_until_queue_looks_empty(jobs, results) -> None:  # type: ignore[no-untyped-def]
    """The broken design's worker: no sentinel, it stops when the job queue looks empty."""
    while not jobs.empty():
        results.put(slow_check(jobs.get()))


@claim("POOL-1")
@pytest.mark.parametrize("start_method", multiprocessing.get_all_start_methods())
def test_every_number_is_reported_exactly_once_even_with_a_slow_worker(evidence, start_method):
    """Workers stop on one ``0`` sentinel each and sign off with a ``0`` result; the collector
    waits for every sign-off, so each number is reported exactly once -- also when one worker is
    slow on purpose."""
    results = run_pool(SMALL, 2, "process", start_method, checker=slow_check)
    evidence.record(**{f"reported_{start_method}": len(results)})
    assert sorted(r.n for r in results) == sorted(SMALL)
    assert all(r.prime is SMALL[r.n] for r in results)


@claim("POOL-1")
def test_a_collector_that_stops_at_an_empty_queue_loses_the_slow_workers_answer(evidence):
    """Control: the design that stops when the job queue looks empty (workers and collector
    alike) loses the answer a slow worker is still computing when the last job is taken."""
    context = multiprocessing.get_context()
    jobs, results = context.SimpleQueue(), context.SimpleQueue()
    numbers = [SLOW_NUMBER, 2, 3, 5, 7, 9, 11, 13]  # the fast ones take microseconds, the slow one 0.3 s
    for n in numbers:
        jobs.put(n)
    workers = [context.Process(target=worker_until_queue_looks_empty, args=(jobs, results)) for _ in range(2)]
    for unit in workers:
        unit.start()
    wait_until(jobs.empty, "the job queue to look empty")
    early = [results.get() for _ in numbers[1:]]  # the fast answers, and the collector stops here
    late = results.get()  # the slow worker's answer comes after it stopped waiting
    for unit in workers:
        join(unit)
    evidence.record(reported_by_broken_collector=len(early), numbers=len(numbers))
    assert SLOW_NUMBER not in {r.n for r in early} and late.n == SLOW_NUMBER


@serial
@claim("POOL-2", "J-2")
def test_two_processes_come_close_to_halving_the_time(evidence):
    """With two workers on two free cores the pool takes little more than half the sequential
    time. Pinned to one CPU, it does not: parallelism needs cores."""
    # about 0.35 s of checks in all, the longest first: no worker is left alone with one at the end
    numbers = sorted([n for n in SMALL if n > 10**12] * 2, reverse=True)
    pinned = _pinned_speedup(numbers[::2])
    evidence.record(speedup_on_one_cpu=pinned)
    assert pinned < 1.2, "on one CPU two processes cannot beat one"
    if cpus() < 2:
        evidence.not_demonstrable(f"this process may run on {cpus()} CPU only (there: speed-up {pinned:.2f})")
    for _ in range(3):  # the best of three, each against its own sequential run: noise only slows
        _, sequential = timed(lambda: run_sequential(numbers))
        (_, pooled), others = other_load_during(lambda: timed(lambda: run_pool(numbers, 2, "process", OWN_CHILDREN)))
        evidence.record(sequential_s=sequential, two_processes_s=pooled, speedup=sequential / pooled)
        if pooled < 0.7 * sequential:  # 0.5 is the limit; start-up and a last long number add
            return
    if others > OTHERS_BUSY:
        evidence.not_demonstrable(f"other work kept {others:.2f} cores busy; speed-up {sequential / pooled:.2f}")
    raise AssertionError(f"two processes on two idle cores: speed-up only {sequential / pooled:.2f}")


def _pinned_speedup(numbers: list[int]) -> float:
    """Sequential over pooled time, the whole pool pinned to one CPU.

    The workers are our own children, so they inherit the pinning; a fork server started
    earlier (Linux's default from 3.14) would fork them with its own."""
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(mine)})
    try:
        _, sequential = timed(lambda: run_sequential(numbers))
        _, pooled = timed(lambda: run_pool(numbers, 2, "process", OWN_CHILDREN))
    finally:
        os.sched_setaffinity(0, mine)
    return sequential / pooled


@serial
@claim("POOL-3")
def test_the_pool_on_threads_is_no_faster_than_sequential(evidence):
    """The same pool on two threads takes at least as long as checking the numbers in turn."""
    numbers = [n for n in SMALL if n > 10**12]  # about 0.2 s of checks
    runs = [
        (timed(lambda: run_sequential(numbers))[1], timed(lambda: run_pool(numbers, 2, "thread"))[1]) for _ in range(2)
    ]
    sequential, threaded = min(s for s, _ in runs), min(t for _, t in runs)
    evidence.record(sequential_s=sequential, two_threads_s=threaded, speedup=sequential / threaded)
    if GIL_OFF:  # reversed: without a GIL the threads run in parallel
        evidence.not_applicable("the GIL is disabled on this build: threads run the pool in parallel")
        assert threaded < 0.8 * sequential
        return
    assert threaded >= 0.8 * sequential  # parallel threads would take about half


def test_the_runners_agree_and_an_unknown_runner_is_refused():
    assert {r.n: r.prime for r in run_sequential(SMALL)} == SMALL
    assert {r.n: r.prime for r in run_pool(SMALL, 3, "thread")} == SMALL
    for unknown in ("fiber", "threads"):
        with pytest.raises(ValueError, match="unknown runner"):
            run_pool(SMALL, 1, unknown)
    assert prime_pool.RUNNERS == ("sequential", "thread", "process")


def test_the_collector_waits_for_every_sign_off_however_many_workers():
    """Only the ``0`` sign-off ends a worker's share: a negative number is checked like any
    other, and a pool of more workers than CPython caches small integers for (256) still
    counts them all off."""
    assert {r.n: r.prime for r in run_pool([-7, 2, 9], 1, "thread")} == {-7: False, 2: True, 9: False}
    assert {r.n: r.prime for r in run_pool([2, 9], 300, "thread")} == {2: True, 9: False}
