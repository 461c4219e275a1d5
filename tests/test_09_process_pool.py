"""A homegrown process pool: every number reported once; processes scale, threads do not."""

from __future__ import annotations

import math
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from typing import NamedTuple, TypeVar

import pytest

from measuring.build import GIL_OFF, INTERPRETERS, NO_INTERPRETERS
from measuring.cpu import OWN_CHILD_METHOD, children_cpu, speedup
from spinners import prime_pool
from spinners.prime_pool import SMALL, run_pool, run_sequential
from tests.support.children import (
    FAILING_NUMBER,
    SLOW_NUMBER,
    fails_on_purpose,
    slow_check,
    worker_until_queue_looks_empty,
)
from tests.support.cpu import Parallel, attempts, judged_not_parallel, judged_parallel, plausibly
from tests.support.interpreters import absent_as_documented
from tests.support.platforms import START_METHODS, needs
from tests.support.primes import miller_rabin, prime_taking
from tests.support.tolerances import (
    AT_MOST_ONE_CORE,
    MORE_THAN_ONE_CORE,
    NOISE_SPEEDUP,
    ONE_CPU_SPEEDUP,
    TWO_CORES_SPEEDUP,
)
from tests.support.waiting import PATIENCE, started, timed, timed_cpu, wait_until

T = TypeVar("T")
claim = pytest.mark.claim
serial = pytest.mark.serial
# The pool's bookkeeping is what these tests check, not its speed: the fixture's numbers that
# take milliseconds each (IMP-4 checks the verdicts of the others).
QUICK = {n: prime for n, prime in SMALL.items() if n < 10**13}


@claim("POOL-1")
@pytest.mark.parametrize("start_method", START_METHODS)
def test_every_number_is_reported_exactly_once_even_with_a_slow_worker(evidence, start_method):
    """Workers stop on one ``0`` sentinel each and sign off with an empty answer; the collector
    waits for every sign-off, so each number is reported exactly once -- also when one worker is
    slow on purpose."""
    results = run_pool(QUICK, 2, "process", start_method, checker=slow_check)
    evidence.record(**{f"reported_{start_method}": len(results)})
    assert sorted(r.n for r in results) == sorted(QUICK)
    assert all(r.prime is miller_rabin(r.n) for r in results)


@claim("POOL-1")
def test_a_collector_that_stops_at_an_empty_queue_loses_the_slow_workers_answer(evidence):
    """Control: the design that stops when the job queue looks empty (workers and collector
    alike) loses the answer a slow worker is still computing when the last job is taken."""
    context = multiprocessing.get_context()
    jobs, results = context.SimpleQueue(), context.SimpleQueue()
    numbers = [SLOW_NUMBER, 2, 3, 5, 7, 9, 11, 13]  # the fast ones take microseconds, the slow one 0.3 s
    for n in numbers:
        jobs.put(n)
    with started(context.Process(target=worker_until_queue_looks_empty, args=(jobs, results)) for _ in range(2)):
        wait_until(jobs.empty, "the job queue to look empty")
        early = [results.get() for _ in numbers[1:]]  # the fast answers, and the collector stops here
        late = results.get()  # the slow worker's answer comes after it stopped waiting
    evidence.record(reported_by_broken_collector=len(early), numbers=len(numbers))
    assert SLOW_NUMBER not in {r.n for r in early} and late.n == SLOW_NUMBER


# The pool's speed-up: the sequential CPU time of the work (what it costs, which other load
# does not inflate) over the pool's wall time (which load can only lengthen).
POOL_SECONDS = 0.16  # the sequential cost of the pool's work, on any machine
JOBS = 8  # equal jobs, taken by the workers as they go: a worker on a faster core takes more
PAIRS = 5  # sequential and threaded runs, interleaved: a drift in the machine's speed hits both
FREE_THREADED_SECONDS = 2.0  # the reversed branch's work: each job long beside the pool's own cost
TWO_CORES = Parallel(cores=MORE_THAN_ONE_CORE, speedup=TWO_CORES_SPEEDUP)  # POOL-2's bounds
FASTER = Parallel(cores=MORE_THAN_ONE_CORE, speedup=NOISE_SPEEDUP)  # POOL-3's, reversed


@pytest.fixture(scope="module")
def equal_jobs() -> list[int]:
    """JOBS copies of one prime whose check takes POOL_SECONDS / JOBS here: sized by time, and
    equal and many, so that two workers can split the work about evenly (with unequal numbers
    the longest one bounds the speed-up, whatever the pool does)."""
    return [prime_taking(POOL_SECONDS / JOBS)] * JOBS


@pytest.fixture(scope="module")
def process_jobs(equal_jobs: list[int]) -> list[int]:
    """The same equal jobs, twice over (0.3 s: starting two processes takes some of it), and
    more of them where starting and stopping two worker processes is
    slow (under coverage, say): so many that the pool's start-up is at most a twelfth of the
    work, and the speed-up shows the work done in parallel, not the start-up."""
    start_up = min(timed(lambda: run_pool([], 2, "process", OWN_CHILD_METHOD))[1] for _ in range(2))
    return equal_jobs * max(2, math.ceil(12 * start_up / POOL_SECONDS))


class PoolRun(NamedTuple):
    sequential_cpu: float  # checking the numbers in turn
    wall: float  # the pool of two workers checking them
    cores: float  # the workers' summed CPU time over the pool's wall time (threads: this process's)

    def figures(self) -> Parallel:
        return Parallel(self.cores, speedup(self.sequential_cpu, self.wall))


def _pool_against_sequential(numbers: list[int], runner: str) -> PoolRun:
    """Check ``numbers`` in turn, then with a pool of two workers.

    The sequential run is made where the pool's workers run, so that both are measured alike:
    on processes, by a pool of one worker (a child runs slower than its parent where a tool
    such as coverage traces children differently); on threads, by this thread. Processes are
    our own children, so their CPU time is ours to read once they have been joined; threads'
    CPU time is this process's, the collector's (which waits) with it."""
    if runner == "process":
        before = children_cpu()
        run_pool(numbers, 1, "process", OWN_CHILD_METHOD)
        sequential_cpu = children_cpu() - before
        before = children_cpu()
        _, pool_wall = timed(lambda: run_pool(numbers, 2, "process", OWN_CHILD_METHOD))
        return PoolRun(sequential_cpu, pool_wall, (children_cpu() - before) / pool_wall)
    _, _, sequential_cpu = timed_cpu(lambda: run_sequential(numbers))
    before = time.process_time()
    _, pool_wall = timed(lambda: run_pool(numbers, 2, runner))
    return PoolRun(sequential_cpu, pool_wall, (time.process_time() - before) / pool_wall)


@serial
@claim("POOL-2", "J-2")
@needs("cpu affinity")  # for the control, on one CPU
def test_two_processes_come_close_to_halving_the_time(evidence, equal_jobs, process_jobs):
    """With two workers on two free cores the pool takes little more than half the sequential
    time. Pinned to one CPU, it does not: parallelism needs cores."""
    two_cores = attempts(lambda: _pool_against_sequential(process_jobs, "process").figures(), TWO_CORES)
    pooled = judged_parallel(evidence, two_cores, "a pool of two processes", shares_nothing=True)
    evidence.record(jobs=len(process_jobs), speedup=pooled.speedup, pool_cores=pooled.cores)
    assert pooled.speedup > TWO_CORES_SPEEDUP
    # Control, pinned to one CPU: three pairs, each pool against the least sequential CPU time
    # of the three (noise inflates a run's CPU time at times, never deflates it), median taken.
    runs = _pinned(lambda: [_pool_against_sequential(equal_jobs, "process") for _ in range(3)])
    least = min(run.sequential_cpu for run in runs)
    pinned = Parallel(
        cores=max(run.cores for run in runs),
        speedup=statistics.median(speedup(least, run.wall) for run in runs),
    )
    evidence.record(speedup_on_one_cpu=pinned.speedup, cores_on_one_cpu=pinned.cores)
    assert pinned.cores <= AT_MOST_ONE_CORE
    assert pinned.speedup < ONE_CPU_SPEEDUP, "on one CPU two processes cannot beat one"


def _pinned(measure: Callable[[], T]) -> T:
    """``measure()`` with this process, and so the pool's workers, pinned to one CPU.

    The workers are our own children, so they inherit the pinning; a fork server started
    earlier (Linux's default from 3.14) would fork them with its own."""
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(mine)})
    try:
        return measure()
    finally:
        os.sched_setaffinity(0, mine)


@serial
@claim("POOL-3")
def test_the_pool_on_threads_is_no_faster_than_sequential(evidence, equal_jobs):
    """The same pool on two threads takes at least as long as checking the numbers in turn."""
    if GIL_OFF:  # reversed: without a GIL the threads run the pool in parallel
        # seconds of work, as GIL-3 gives its threads: 0.16 s of short jobs is mostly the pool's own cost
        longer = [prime_taking(FREE_THREADED_SECONDS / JOBS)] * JOBS
        tried = attempts(lambda: _pool_against_sequential(longer, "thread").figures(), FASTER)
        threaded = judged_parallel(evidence, tried, "a pool of two threads")
        evidence.record(speedup=threaded.speedup, pool_cores=threaded.cores)
        evidence.out_of_date(
            f"the GIL is disabled on this build: the pool on two threads was {threaded.speedup:.2f}x as fast as "
            f"sequential code, on {threaded.cores:.2f} cores"
        )
        assert threaded.speedup > NOISE_SPEEDUP
    else:
        # interleaved with the sequential runs, median taken: a drift in the machine's speed hits both
        runs = [plausibly(lambda: _pool_against_sequential(equal_jobs, "thread").figures()) for _ in range(PAIRS)]
        medians = Parallel(statistics.median(r.cores for r in runs), statistics.median(r.speedup for r in runs))
        threaded = judged_not_parallel(evidence, medians, NOISE_SPEEDUP, "two threads")
        evidence.record(speedup=threaded.speedup, speedups=[r.speedup for r in runs], pool_cores=threaded.cores)
        assert threaded.speedup <= NOISE_SPEEDUP  # two threads in parallel: close to 2


# Short checks: equal jobs of tens of microseconds each, as many as take SHORT_SECONDS in turn.
SHORT_CHECK = 30e-6  # seconds: a message each way costs more than that
SHORT_SECONDS = 0.2  # the sequential cost of the work, on any machine


BEATS_SEQUENTIAL = Parallel(cores=MORE_THAN_ONE_CORE, speedup=1.0)  # POOL-4's bounds


class ShortChecks(NamedTuple):
    sequential_cpu: float  # the checks, in one worker
    batched: Parallel  # the pool of two, its batches sized by time
    single: float  # the speed-up of the same pool sending one number a job


@serial
@claim("POOL-4")
def test_short_checks_need_batches_to_win_back_the_cores(evidence, monkeypatch):
    """When each check takes tens of microseconds, sending one number per job costs more than
    the check: the pool of two worker processes is then slower than checking the numbers in
    turn. Sending batches that each take a few milliseconds to check wins the cores back: the
    same pool beats sequential code on two free cores, and is more than twice as fast as with
    one number a job. Control: the same pool, its batches cut to one number each (its size
    rule given no time to fill). (The main process, which reads every result, shares the two
    cores with the workers: under coverage, which slows its bookkeeping most, the batched
    pool made 1.15x, where it makes 1.3-1.7x untraced.)"""
    numbers = [prime_taking(SHORT_CHECK)] * math.ceil(SHORT_SECONDS / SHORT_CHECK)

    def measure() -> ShortChecks:
        before = children_cpu()
        run_pool(numbers, 1, "process", OWN_CHILD_METHOD)
        sequential_cpu = children_cpu() - before
        before = children_cpu()
        _, wall = timed(lambda: run_pool(numbers, 2, "process", OWN_CHILD_METHOD))
        batched = Parallel((children_cpu() - before) / wall, speedup(sequential_cpu, wall))
        with monkeypatch.context() as one_each:
            one_each.setattr(prime_pool, "BATCH_SECONDS", 0.0)
            _, single_wall = timed(lambda: run_pool(numbers, 2, "process", OWN_CHILD_METHOD))
        return ShortChecks(sequential_cpu, batched, speedup(sequential_cpu, single_wall))

    runs: list[ShortChecks] = []

    def batched_pool() -> Parallel:
        runs.append(measure())
        return runs[-1].batched

    pooled = judged_parallel(evidence, attempts(batched_pool, BEATS_SEQUENTIAL), "the pool's batches")
    single = statistics.median(run.single for run in runs)
    evidence.record(
        numbers=len(numbers),
        check_s=runs[-1].sequential_cpu / len(numbers),
        speedup=pooled.speedup,
        pool_cores=pooled.cores,
        speedup_one_number_a_job=single,
    )
    assert pooled.speedup > 1 and pooled.speedup > 2 * single
    assert single < 1, "one number a job: sending it should cost more than checking it"


# --- Beyond the chapter: the same pool on interpreters of one process (3.14 and later) ----------


@serial
@claim("POOL-5")
def test_the_pool_on_interpreters_comes_close_to_halving_the_time_in_one_process(evidence, equal_jobs):
    """The same pool, its workers interpreters of this process (each on a thread of its own,
    with a GIL of its own), takes little more than half the sequential time with two of them
    on two free cores. Its CPU time is this process's: no child does the work. Control: the
    pool on two threads of one interpreter, no faster than sequential code (POOL-3), where
    there is a GIL."""
    if not INTERPRETERS:
        evidence.not_applicable(NO_INTERPRETERS)
        absent_as_documented(evidence)
        with pytest.raises(ImportError):  # the runner needs the module it cannot find
            run_pool([2], 1, "interpreter")
        return
    # each worker makes its interpreter, which imports the pool's module: so many jobs that
    # the start-up is at most a twelfth of the work, as for the processes (POOL-2)
    start_up = min(timed(lambda: run_pool([], 2, "interpreter"))[1] for _ in range(2))
    jobs = equal_jobs * max(2, math.ceil(12 * start_up / POOL_SECONDS))
    tried = attempts(lambda: _pool_against_sequential(jobs, "interpreter").figures(), TWO_CORES)
    pooled = judged_parallel(evidence, tried, "a pool of two interpreters")
    evidence.record(jobs=len(jobs), start_up_s=start_up, speedup=pooled.speedup, pool_cores=pooled.cores)
    assert pooled.speedup > TWO_CORES_SPEEDUP
    threads = plausibly(lambda: _pool_against_sequential(jobs, "thread").figures())
    evidence.record(thread_pool_speedup=threads.speedup, thread_pool_cores=threads.cores)
    if GIL_OFF:  # threads of one interpreter compute in parallel too: the control is reversed
        evidence.not_applicable("no GIL on this build: the pool on threads of one interpreter is parallel too (POOL-3)")
        assert threads.cores > MORE_THAN_ONE_CORE or threads.speedup > NOISE_SPEEDUP
    else:
        threads = judged_not_parallel(evidence, threads, NOISE_SPEEDUP, "two threads")
        assert threads.speedup <= NOISE_SPEEDUP


def test_the_runners_agree_and_an_unknown_runner_is_refused():
    expected = {n: miller_rabin(n) for n in QUICK}  # an independent judge, not the package's table
    assert {r.n: r.prime for r in run_sequential(QUICK)} == expected
    assert {r.n: r.prime for r in run_pool(QUICK, 3, "thread")} == expected
    if INTERPRETERS:
        assert {r.n: r.prime for r in run_pool(QUICK, 3, "interpreter")} == expected
    for unknown in ("fiber", "threads"):
        with pytest.raises(ValueError, match="unknown runner"):
            run_pool(QUICK, 1, unknown)
    assert prime_pool.RUNNERS == ("sequential", "thread", "process", "interpreter")


@pytest.mark.parametrize("runner", ["thread", pytest.param("interpreter", marks=needs("interpreters in one process"))])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the thread's error, seen
def test_a_worker_thread_whose_check_raises_makes_the_pool_raise_at_once(runner):
    """A worker thread, in this interpreter or in one of its own, whose check raises ends without
    signing off: the pool raises ``WorkerDied`` rather than wait for ever for its sign-off, as
    it does for a dead process; the other workers end at their sentinels. (The error itself
    goes where ``threading`` sends a thread's.)"""
    numbers = [2, FAILING_NUMBER, 3, 5]
    with pytest.raises(prime_pool.WorkerDied, match="a worker thread ended without signing off: 1 of them"):
        run_pool(numbers, 2, runner, checker=fails_on_purpose)
    assert {r.n for r in run_pool(numbers[:1] + numbers[2:], 2, runner, checker=fails_on_purpose)} == {2, 3, 5}


def test_the_collector_waits_for_every_sign_off_however_many_workers():
    """Only the ``0`` sentinel ends a worker's share: the number 0, and a negative one, are
    checked like any other, and a pool of more workers than CPython caches small integers for
    (256) still counts them all off."""
    assert {r.n: r.prime for r in run_pool([-7, 0, 2, 9], 1, "thread")} == {-7: False, 0: False, 2: True, 9: False}
    assert {r.n: r.prime for r in run_pool([2, 9], 300, "thread")} == {2: True, 9: False}


def test_a_thread_that_signed_off_just_after_a_wait_ended_is_not_taken_for_dead():
    """The collector looks for a dead worker thread when a wait for results ends empty-handed.
    A thread may put its sign-off and end in the moment between: it has then ended, and its
    sign-off is waiting to be read. It is read, and the pool ends cleanly."""
    import queue
    import threading

    class LateSignOff(queue.SimpleQueue[prime_pool.Answers]):  # the first wait ends just before the sign-off
        missed = False

        def get(self, block: bool = True, timeout: float | None = None) -> prime_pool.Answers:
            if not self.missed:
                self.missed = True
                raise queue.Empty
            return super().get(block, timeout)

    results = LateSignOff()
    ended = threading.Thread(target=results.put, args=([],))
    ended.start()
    ended.join()
    assert list(prime_pool.arrivals(results, [ended])) == []  # no WorkerDied
    assert results.missed


def test_a_pool_of_threads_left_early_ends_after_the_check_in_hand_not_the_jobs_waiting():
    """Worker threads (and interpreters) cannot be stopped from outside: a pool left early --
    here its reader closes it after the first result -- ends each after the check in hand.
    The jobs already waiting for them are dropped, not checked first: with the chapter's
    checks of seconds, a Ctrl-C costs one check, not three."""
    import threading

    in_hand, go_on = threading.Event(), threading.Event()
    checked: list[int] = []

    def long_check(n: int) -> prime_pool.PrimeResult:  # reported as 1 s: one number a job
        checked.append(n)
        if n == 3:
            in_hand.set()
            go_on.wait(PATIENCE)
        return prime_pool.PrimeResult(n, True, 1.0)

    before = set(threading.enumerate())
    results = prime_pool.pool_results(range(2, 100), 1, "thread", checker=long_check)
    assert next(results).n == 2
    [unit] = set(threading.enumerate()) - before
    assert in_hand.wait(PATIENCE)  # 3 in hand, 4 waiting for it
    results.close()
    go_on.set()
    unit.join(PATIENCE)
    assert not unit.is_alive() and checked == [2, 3]


@pytest.mark.long
def test_the_collector_sleeps_while_the_workers_compute(evidence):
    """Waiting for results and for the workers' ends costs the main process no CPU: it blocks on
    the results pipe and the workers' sentinels together, rather than polling them in turn."""
    numbers = [prime_taking(0.2)] * 2
    _, wall, cpu = timed_cpu(lambda: run_pool(numbers, 2, "process", OWN_CHILD_METHOD))
    evidence.record(collector_cpu_s=cpu, pool_wall_s=wall)
    assert cpu < 0.25 * wall  # start-up and bookkeeping only; a polling loop would take it all
