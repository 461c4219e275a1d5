"""A homegrown pool: worker processes (or threads, or interpreters) check numbers for primality
from a job queue.

Each worker takes batches of numbers from ``jobs`` until it gets the ``0`` sentinel, answers
each batch with a list of :class:`PrimeResult` on ``results``, and signs off with an empty
list. The collector stops when every worker has signed off -- not when the job queue looks
empty, which would lose the answers of a worker still busy with its last batch.

A batch is one number while the checks are long, as in the chapter; when they take
microseconds, the feeder sends more at a time (see :class:`Pace`).

On Python 3.14 and later the workers can also be interpreters of this process
(``concurrent.interpreters``), each on a thread of its own, with its own GIL: the pool on
threads, computing in parallel, fed from ``concurrent.interpreters`` queues.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import queue
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, NamedTuple, Protocol, TypeVar

from spinners.interrupts import ctrl_c_held, ctrl_c_kept, leave_ctrl_c_to_the_parent, start_the_resource_tracker
from spinners.work import is_prime

RUNNERS = ("sequential", "thread", "process", "interpreter")

# Numbers with their verdicts, known in advance (the spec checks them with Miller-Rabin).
# LARGE, the command line's default, takes seconds per number on one core, as in the
# chapter; its composites include products of two primes near its square root, as
# slow to check as a prime. It is listed largest first, so that a pool's last jobs are
# its shortest and no worker is left alone with a long one at the end. SMALL takes a
# fraction of a second in all.
LARGE: dict[int, bool] = {
    9_999_999_999_999_999: False,
    9_999_999_999_900_047: True,
    7_777_777_777_777_777: False,
    7_000_000_000_000_037: True,
    5_000_111_000_222_021: True,
    4_970_005_487_001_377: False,
    3_333_333_333_333_333: False,
    3_000_000_000_000_037: True,
    1_000_032_280_424_269: False,
    1_000_000_000_000_037: True,
    2: True,
}
SMALL: dict[int, bool] = {
    2: True,
    9: False,
    1_000_000_007: True,
    900_026_100_119: False,
    1_000_000_000_039: True,
    1_000_120_000_351: False,
    10_000_000_000_037: True,
    10_000_000_000_039: False,
    99_999_999_999_973: True,
    99_999_999_999_975: False,
}


class PrimeResult(NamedTuple):
    n: int
    prime: bool
    elapsed: float  # seconds the check took in its worker


Job = tuple[int, ...] | int  # a batch of numbers to check, or the 0 sentinel
Answers = list[PrimeResult]  # a batch's results, or, empty, a worker's sign-off
Item = TypeVar("Item")


class Channel(Protocol[Item]):
    """What a worker needs from a queue: ``queue``, ``multiprocessing`` and
    ``concurrent.interpreters`` queues all fit."""

    def get(self) -> Item: ...

    def put(self, item: Item, /) -> None: ...

    def empty(self) -> bool: ...


def check(n: int) -> PrimeResult:
    t0 = time.perf_counter()
    prime = is_prime(n)
    return PrimeResult(n, prime, time.perf_counter() - t0)


def worker(jobs: Channel[Job], results: Channel[Answers], checker: Callable[[int], PrimeResult] = check) -> None:
    """Check batches of numbers until the ``0`` sentinel, then sign off with an empty answer."""
    while batch := jobs.get():
        assert isinstance(batch, tuple)
        results.put([checker(n) for n in batch])
    results.put([])


def process_worker(
    jobs: Channel[Job], results: Channel[Answers], checker: Callable[[int], PrimeResult] = check
) -> None:
    """A worker process: Ctrl-C, SIGTERM and SIGHUP are the main process's to handle -- it stops
    the workers; and a worker whose main process has died ends too."""
    leave_ctrl_c_to_the_parent()
    worker(jobs, results, checker)


def interpreter_worker(  # pragma: no cover  (3.14 and later: see .coveragerc)
    made: list[Any], jobs: Channel[Job], results: Channel[Answers], checker: Callable[[int], PrimeResult]
) -> None:
    """A worker thread of ours that makes an interpreter of its own, adds it to ``made``, and
    runs :func:`worker` there. (An error in the worker comes out here as ``ExecutionFailed``,
    and the thread ends without a sign-off.)

    The pool closes the interpreter, not this thread: what an interpreter put on a queue is
    lost once it is closed (3.14.7 raised ``InterpreterNotFoundError`` for a sign-off read
    after its worker's interpreter had closed)."""
    from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

    interpreter = interpreters.create()
    made.append(interpreter)
    interpreter.prepare_main(path=tuple(sys.path))  # to import this package as we did
    interpreter.exec("import sys; sys.path[:] = path")
    interpreter.call(worker, jobs, results, checker)


# Seconds a collector of worker threads waits before it looks up. A Ctrl-C that comes while it
# hands the GIL over, on its way into a wait without end, can go unseen until the wait ends: on
# CPython 3.10-3.12 the thread that takes the GIL recomputes whether signals are pending, and a
# worker thread, which cannot handle them, sets it to no (seen here: the program that should
# die at once went on until a result came, for seconds, and under coverage for over 10 s).
# Each wait that ends gives the GIL back to this thread, which then sees the Ctrl-C.
LOOK_UP_EVERY = 0.1
# Seconds between two looks at a ``concurrent.interpreters`` queue: its ``get(timeout=...)``
# rounds the timeout down to whole seconds (CPython gh-153005), so it is polled instead, often
# enough that no worker runs out of its two batches of about 5 ms meanwhile.
POLL = 0.002


class WorkerDied(RuntimeError):
    """A worker ended without signing off: its share of the work is lost."""


def waited(results: Channel[Answers]) -> Answers | None:
    """The next answers from worker threads' ``results``, or None if none came within
    ``LOOK_UP_EVERY``."""
    if not isinstance(results, queue.SimpleQueue):
        return polled(results)  # pragma: no cover  (3.14 and later: see .coveragerc)
    try:
        answers: Answers = results.get(timeout=LOOK_UP_EVERY)
        return answers
    except queue.Empty:
        return None


def polled(results: Channel[Answers]) -> Answers | None:  # pragma: no cover  (3.14 and later: see .coveragerc)
    """:func:`waited` for a ``concurrent.interpreters`` queue, looked at every ``POLL`` seconds."""
    end = time.monotonic() + LOOK_UP_EVERY
    while True:
        try:
            answers: Answers = results.get_nowait()  # type: ignore[attr-defined]
            return answers
        except queue.Empty:  # (its QueueEmpty is one)
            if time.monotonic() >= end:
                return None
            time.sleep(POLL)


def arrivals(results: Channel[Answers], units: Sequence[threading.Thread] | Sequence[BaseProcess]) -> Iterator[Answers]:
    """Yield each batch's results as they arrive until every one of ``units`` has signed off. The
    workers are watched too: one that ends without signing off (a process killed or crashed, a
    thread whose check raised) raises ``WorkerDied`` at once, rather than leaving us waiting
    for ever."""
    signed_off = 0
    watching = [unit for unit in units if isinstance(unit, BaseProcess)]
    died: list[BaseProcess] = []
    ended_cleanly = 0  # with exit code 0: each must have signed off, and what it sent is in the pipe
    # a multiprocessing SimpleQueue's receiving end, to wait on beside the workers' sentinels
    reader: Connection | None = getattr(results, "_reader", None) if watching else None
    with ctrl_c_kept():  # (the waits below are where a Ctrl-C lands)
        while signed_off < len(units):
            if reader is not None and not reader.poll():  # nothing to read: has a worker ended?
                if died or signed_off < ended_cleanly:  # all they sent has been read: no sign-off is coming
                    names = ", ".join(f"{unit.name} (pid {unit.pid}, exit code {unit.exitcode})" for unit in died)
                    raise WorkerDied(f"a worker ended without signing off: {names or 'one with exit code 0'}")
                wait([reader, *(unit.sentinel for unit in watching)])
                ended = [unit for unit in watching if unit.exitcode is not None]
                watching = [unit for unit in watching if unit not in ended]
                died += [unit for unit in ended if unit.exitcode != 0]
                ended_cleanly += sum(unit.exitcode == 0 for unit in ended)
                continue
            if reader is None:  # worker threads, of this interpreter or of others: wait in short turns
                came = waited(results)
                if came is None:
                    gone = sum(not unit.is_alive() for unit in units)
                    # a thread signs off before it ends: one ended, with nothing left to read, died
                    if gone > signed_off and results.empty():
                        raise WorkerDied(f"a worker thread ended without signing off: {gone - signed_off} of them")
                    continue
                answers = came
            else:
                answers = results.get()
            if not answers:  # a sign-off
                signed_off += 1
            else:
                yield answers


def collect(results: Channel[Answers], units: Sequence[threading.Thread] | Sequence[BaseProcess]) -> Answers:
    """Gather results until every one of ``units`` has signed off (see :func:`arrivals`)."""
    return [result for answers in arrivals(results, units) for result in answers]


def run_sequential(numbers: Iterable[int]) -> list[PrimeResult]:
    """Check ``numbers`` one after the other."""
    return [check(n) for n in numbers]


# Jobs a worker may have waiting for it. The jobs are fed as results come back, so that few are
# ever in the pipes: put all at once, a few thousand fill the job pipe while the workers fill
# the result pipe, and both sides wait for ever on each other (ProcessPoolExecutor feeds its
# jobs from a thread for the same reason). Two keep a worker busy while its next result travels.
WAITING_PER_WORKER = 2
# Bytes that all the jobs waiting may take together: the smallest pipe Linux gives (one page,
# once a user has used up their share of pipe memory), so that putting a job never waits for a
# worker to take one. 64 workers' two jobs of one number each take 3.7 KB.
SMALLEST_PIPE = 4096
# Seconds of checking a batch is sized for. Sending a job and its answers costs tens of
# microseconds; a batch this long makes that a few percent, and is short enough that the last
# batches still end close together, and that no result waits long behind its batch.
BATCH_SECONDS = 0.005


class Pace:
    """How many numbers the next batch holds: as many as take about ``BATCH_SECONDS`` to check,
    from the check times the workers report (one at the start, when none is known yet, and
    for every check that takes that long: the chapter's one number a job). Learnt as the
    numbers come, never from their count, which an endless stream does not have."""

    def __init__(self, workers: int) -> None:
        room = SMALLEST_PIPE // (WAITING_PER_WORKER * workers)  # bytes for each job waiting
        # a batch takes 22 bytes on the pipe, and 11 more a number up to 10**20 (the command
        # line's largest): 91 numbers a batch for 2 workers, 1 for 64
        self.most = max(1, (room - 22) // 11)
        self.seconds_each: float | None = None  # a check's time, from the batches that came back

    def learn(self, answers: Answers) -> None:
        last = sum(result.elapsed for result in answers) / len(answers)
        self.seconds_each = last if self.seconds_each is None else (self.seconds_each + last) / 2

    def batch(self) -> int:
        if self.seconds_each is None:
            return 1
        return max(1, min(self.most, int(BATCH_SECONDS / max(self.seconds_each, 1e-9))))


def dropped(jobs: Channel[Job]) -> None:
    """Take the jobs still waiting off a queue of worker threads: a pool left early ends as soon
    as the checks in hand are done. (A ``queue`` or ``concurrent.interpreters`` queue.)"""
    try:
        while True:
            jobs.get_nowait()  # type: ignore[attr-defined]
    except queue.Empty:  # (interpreters' QueueEmpty is one)
        return


def batches(numbers: Iterable[int], pace: Pace) -> Iterator[tuple[int, ...]]:
    """``numbers`` in batches, each as long as ``pace`` says when it is cut."""
    remaining = iter(numbers)
    while batch := tuple(itertools.islice(remaining, pace.batch())):
        yield batch


def pool_results(
    numbers: Iterable[int],
    workers: int,
    runner: str = "process",
    start_method: str | None = None,
    checker: Callable[[int], PrimeResult] = check,
) -> Generator[PrimeResult, None, None]:
    """Check ``numbers`` with ``workers`` processes (``runner="process"``), threads (``"thread"``) or
    interpreters (``"interpreter"``, each on a thread), yielding each result as it arrives. Any
    number of numbers, even endless, in bounded memory: they are taken from ``numbers`` as the
    workers need them. Leaving early (an error, Ctrl-C, ``close()``) stops the worker processes;
    threads and interpreters end after the batch in hand, the batches waiting dropped."""
    made: list[Any] = []  # the workers' interpreters, closed once their threads have ended
    if runner == "process":
        context = multiprocessing.get_context(start_method)
        start_the_resource_tracker(context.get_start_method())
        with ctrl_c_held():  # the queues' locks, each registered with the tracker (spawn, forkserver)
            jobs: Channel[Job] = context.SimpleQueue()
            results: Channel[Answers] = context.SimpleQueue()
        units: list[threading.Thread] | list[BaseProcess] = [
            context.Process(target=process_worker, args=(jobs, results, checker))  # type: ignore[attr-defined]
            for _ in range(workers)
        ]
    elif runner == "thread":
        jobs, results = queue.SimpleQueue(), queue.SimpleQueue()
        units = [threading.Thread(target=worker, args=(jobs, results, checker), daemon=True) for _ in range(workers)]
    elif runner == "interpreter":  # pragma: no cover  (3.14 and later: see .coveragerc)
        from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

        jobs, results = interpreters.create_queue(), interpreters.create_queue()
        # Not daemons: the program must wait for them. An interpreter still running at the exit
        # crashes it (SIGSEGV here, 3.14: CPython gh-126016).
        units = [
            threading.Thread(target=interpreter_worker, args=(made, jobs, results, checker)) for _ in range(workers)
        ]
    else:
        raise ValueError(f"unknown runner {runner!r}: choose 'process', 'thread' or 'interpreter'")
    try:  # all of it: a Ctrl-C before the sentinels are in would leave the workers waiting forever
        for unit in units:
            with ctrl_c_held():  # a Ctrl-C comes after this start, not inside it
                unit.start()
        pace = Pace(workers)
        feed: Iterator[Job] = itertools.chain(batches(numbers, pace), itertools.repeat(0, workers))  # then a 0 each
        for job in itertools.islice(feed, WAITING_PER_WORKER * workers):
            jobs.put(job)
        for answers in arrivals(results, units):
            pace.learn(answers)
            following = next(feed, None)  # one out, one in
            if following is not None:
                jobs.put(following)
            yield from answers
    except BaseException:  # Ctrl-C, a dead worker, a reader gone, close(): stop the workers
        alive = [unit for unit in units if isinstance(unit, BaseProcess) and unit.is_alive()]
        for unit in alive:  # all at once: one by one, each would wait its turn for a CPU to die on
            unit.kill()  # (SIGKILL: workers leave SIGTERM, like Ctrl-C, to us)
        for unit in alive:
            unit.join()
        if runner != "process":  # threads cannot be stopped from outside: each ends at its sentinel,
            dropped(jobs)  # after its job in hand, not after the jobs waiting too
            for _ in units:  # (and as daemons, threads die with the program)
                jobs.put(0)
        if runner == "interpreter":  # pragma: no cover  (... but interpreters must end first: we wait)
            for unit in units:
                if unit.is_alive():
                    unit.join()
        for interpreter in made:  # pragma: no cover  (3.14 and later)
            interpreter.close()
        raise
    for unit in units:
        unit.join()
    for interpreter in made:  # pragma: no cover  (3.14 and later)
        interpreter.close()


def run_pool(
    numbers: Iterable[int],
    workers: int,
    runner: str = "process",
    start_method: str | None = None,
    checker: Callable[[int], PrimeResult] = check,
) -> list[PrimeResult]:
    """Check ``numbers`` with ``workers`` processes (``runner="process"``), threads (``"thread"``)
    or interpreters (``"interpreter"``); all the results, as a list (see :func:`pool_results`)."""
    with contextlib.closing(pool_results(numbers, workers, runner, start_method, checker)) as arriving:
        return list(arriving)
