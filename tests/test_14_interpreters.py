"""Beyond the chapter: interpreters in one process (``concurrent.interpreters``, 3.14 and later).

The chapter's model has three kinds of execution unit and one interpreter per process. Python
3.12 gave each interpreter a GIL of its own (PEP 684), and 3.14 a public API to make them (PEP
734): threads of one process running in different interpreters compute in parallel, and share
no object. On a Python without the module each claim is *not applicable*, and the test asserts
why: that Python predates it.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

import psutil
import pytest

from measuring.build import GIL_OFF
from measuring.cpu import loops_for, run_units, speedup
from spinners.work import is_prime
from tests.support.cpu import Attempts, Parallel, attempts, judged_not_parallel, judged_parallel, plausibly
from tests.support.frames import Metronome, assert_keeps_pace, frames_of, median_interval
from tests.support.interpreters import WORK_SECONDS, in_a_new_interpreter, not_here
from tests.support.primes import prime_taking
from tests.support.tolerances import MORE_THAN_ONE_CORE, NOISE_SPEEDUP, ONE_CORE_OF_THREADS, TWO_CORES_SPEEDUP
from tests.support.waiting import PATIENCE, join

claim = pytest.mark.claim
serial = pytest.mark.serial

NO_GIL_EITHER = "no GIL on this build: threads of one interpreter compute in parallel too (GIL-FT)"


# --- 1. Same process, modules of its own ---------------------------------------------------

CHANGE_MODULES = """
import json, os, sys
sent.put(os.getpid())
sent.put(getattr(json, "changed_by", None))  # the main interpreter's change, if it showed here
json.changed_by = "the new interpreter"
sys.modules["__main__"].its_own = True
sent.put(json.changed_by)
"""


@claim("INT-1")
def test_a_new_interpreter_runs_in_this_process_with_modules_of_its_own(evidence):
    """An interpreter made by ``concurrent.interpreters`` runs in the process that made it (the
    same PID), with its own ``__main__`` and its own modules: a change to a module in one does
    not show in the other. A thread of the same interpreter sees the change (control)."""
    if not_here(evidence):
        return
    json.changed_by = "the main interpreter"  # type: ignore[attr-defined]
    try:
        pid, seen_there, its_own = in_a_new_interpreter(CHANGE_MODULES)
        evidence.record(our_pid=os.getpid(), its_pid=pid, our_change_seen_there=seen_there)
        assert pid == os.getpid()
        assert seen_there is None and its_own == "the new interpreter"
        assert json.changed_by == "the main interpreter"  # type: ignore[attr-defined]
        assert not hasattr(sys.modules["__main__"], "its_own")
        seen_by_thread: list[str] = []
        thread = threading.Thread(target=lambda: seen_by_thread.append(json.changed_by))  # type: ignore[attr-defined]
        thread.start()
        join(thread)
        assert seen_by_thread == ["the main interpreter"]
    finally:
        del json.changed_by  # type: ignore[attr-defined]


# --- 2. A GIL each --------------------------------------------------------------------------


@serial
@claim("INT-2")
def test_threads_in_interpreters_of_their_own_compute_in_parallel_in_one_process(evidence, interpreters_computing):
    """Each interpreter has its own GIL: pure-Python CPU-bound work in two interpreters, on two
    threads of one process, uses about two cores. The same work on two threads of one
    interpreter keeps to one core (control), where there is a GIL."""
    if not_here(evidence):
        return
    computing = judged_parallel(evidence, interpreters_computing, "2 CPU-bound interpreters on 2 threads")
    evidence.record(interpreter_cores=computing.cores, pid=os.getpid())
    assert computing.cores > MORE_THAN_ONE_CORE
    loops = loops_for(WORK_SECONDS)
    if GIL_OFF:
        evidence.not_applicable(NO_GIL_EITHER)
        tried = attempts(lambda: Parallel(run_units("thread", 2, loops).cores), Parallel(MORE_THAN_ONE_CORE))
        threads = judged_parallel(evidence, tried, "2 CPU-bound threads of one interpreter")
        evidence.record(thread_cores=threads.cores)
        assert threads.cores > MORE_THAN_ONE_CORE
    else:
        threads = Parallel(run_units("thread", 2, loops).cores)
        evidence.record(thread_cores=threads.cores)
        assert threads.cores <= ONE_CORE_OF_THREADS


# --- 3. A pool of interpreters --------------------------------------------------------------

POOL_SECONDS, JOBS = 0.2, 8  # of checking, done in turn; in equal jobs that two workers split


class Gate(Protocol):
    """A queue the pool's job can wait at: ``queue.SimpleQueue``, or an interpreters' queue."""

    def get(self) -> int: ...

    def put(self, item: int) -> None: ...


def _both_workers_started(pool: concurrent.futures.Executor, gate: Gate) -> None:
    """Start the pool's two workers before the clock starts, and see that they run in this
    process. A pool starts a worker for a job when none is idle: the first job waits at
    ``gate`` until a second, which only the other worker can take, has run. (Started inside
    the timing, a new interpreter's start-up would count against the pool.)"""
    held = pool.submit(gate.get)
    other = pool.submit(threading.get_native_id).result(PATIENCE)
    gate.put(other)
    assert held.result(PATIENCE) == other
    assert other in {thread.id for thread in psutil.Process().threads()}  # a thread of this process
    assert {pool.submit(os.getpid).result(PATIENCE) for _ in range(2)} == {os.getpid()}


def _pool_against_sequential(
    executor: Callable[[int], concurrent.futures.Executor], gate: Gate, numbers: list[int]
) -> Parallel:
    """Check ``numbers`` in turn on this thread, then with a pool of two workers (started before
    the clock starts, each reporting its PID: this process's): the pool's cores (this process's
    CPU over the pool's wall time) and speed-up."""
    c0 = time.thread_time()
    sequential = [is_prime(n) for n in numbers]
    sequential_cpu = time.thread_time() - c0
    with executor(2) as pool:
        _both_workers_started(pool, gate)
        t0, c0 = time.perf_counter(), time.process_time()
        pooled = list(pool.map(is_prime, numbers, timeout=PATIENCE * 6))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert pooled == sequential
    return Parallel(cpu / wall, speedup(sequential_cpu, wall))


@serial
@claim("INT-3")
def test_an_interpreter_pool_comes_close_to_halving_the_time_in_one_process(evidence):
    """``InterpreterPoolExecutor`` with two workers on two free cores checks the numbers in
    little more than half the sequential time, in this process; ``ThreadPoolExecutor`` on the
    same numbers is no faster than sequential code (control), where there is a GIL."""
    if not_here(evidence):
        return
    numbers = [prime_taking(POOL_SECONDS / JOBS)] * JOBS
    from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

    pool = concurrent.futures.InterpreterPoolExecutor  # type: ignore[attr-defined,unused-ignore]
    tried: Attempts = attempts(
        lambda: _pool_against_sequential(pool, interpreters.create_queue(), numbers),
        Parallel(MORE_THAN_ONE_CORE, TWO_CORES_SPEEDUP),
    )
    pooled = judged_parallel(evidence, tried, "an InterpreterPoolExecutor of 2")
    evidence.record(speedup=pooled.speedup, pool_cores=pooled.cores)
    assert pooled.speedup > TWO_CORES_SPEEDUP
    threads = plausibly(
        lambda: _pool_against_sequential(concurrent.futures.ThreadPoolExecutor, queue.SimpleQueue(), numbers)
    )
    evidence.record(thread_pool_speedup=threads.speedup, thread_pool_cores=threads.cores)
    if GIL_OFF:
        evidence.not_applicable(NO_GIL_EITHER)
        assert threads.cores > MORE_THAN_ONE_CORE or threads.speedup > NOISE_SPEEDUP
    else:
        threads = judged_not_parallel(evidence, threads, NOISE_SPEEDUP, "a ThreadPoolExecutor of 2")
        assert threads.speedup <= NOISE_SPEEDUP


# --- 4. Nothing is shared --------------------------------------------------------------------

SEND_BACK = """
for _ in range(count):
    got = inbox.get()
    if isinstance(got, list):
        got.append("added there")
    sent.put(got)
"""


def _closure() -> Callable[[], int]:
    captured = 42
    return lambda: captured


@claim("INT-4")
def test_objects_do_not_cross_between_interpreters_only_values_do(evidence):
    """Between interpreters a ``concurrent.interpreters`` queue is the channel. Immutable values
    (None, numbers, strings, bytes, tuples of them) cross; a list crosses as a copy, and what
    the other interpreter does to it stays there; a ``threading.Event``, a lock and a closure
    are refused (``NotShareableError``). Between threads of one interpreter the same Event
    arrives, the very object (control)."""
    if not_here(evidence):
        return
    from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

    values = [None, 7, 2.5, "text", b"bytes", (1, "two")]
    a_list = [1, 2]
    inbox = interpreters.create_queue()
    for value in [*values, a_list]:
        inbox.put(value)
    back = in_a_new_interpreter(SEND_BACK, inbox=inbox, count=len(values) + 1)
    assert back[:-1] == values
    assert back[-1] == [1, 2, "added there"] and a_list == [1, 2]  # a copy went, and came back
    refused = []
    for thing in (threading.Event(), threading.Lock(), _closure()):
        with pytest.raises(interpreters.NotShareableError):
            inbox.put(thing)
        refused.append(type(thing).__name__)
    evidence.record(crossed=[type(value).__name__ for value in values], copied=["list"], refused=refused)
    event, between_threads = threading.Event(), queue.SimpleQueue()  # type: ignore[var-annotated]
    thread = threading.Thread(target=between_threads.put, args=(event,))
    thread.start()
    join(thread)
    assert between_threads.get(timeout=PATIENCE) is event


# --- 5. A switch interval each -------------------------------------------------------------

READ_AND_SET_INTERVAL = """
import sys
sent.put(sys.getswitchinterval())
sys.setswitchinterval(0.5)
sent.put(sys.getswitchinterval())
"""


@claim("INT-5")
def test_each_interpreter_has_a_switch_interval_of_its_own(evidence):
    """The switch interval belongs to an interpreter: a new one starts at the default 5 ms
    whatever ours is, and setting its own to 0.5 s leaves ours as it was. A thread of this
    interpreter reads ours (control: the instrument sees a change that is shared)."""
    if not_here(evidence):
        return
    sys.setswitchinterval(0.02)  # (put back by the leak guard)
    fresh, set_there = in_a_new_interpreter(READ_AND_SET_INTERVAL)
    evidence.record(ours=sys.getswitchinterval(), new_interpreter=fresh, after_it_set_its_own=set_there)
    assert fresh == 0.005
    assert set_there == pytest.approx(0.5)
    assert sys.getswitchinterval() == pytest.approx(0.02)
    read: list[float] = []
    thread = threading.Thread(target=lambda: read.append(sys.getswitchinterval()))
    thread.start()
    join(thread)
    assert read == [pytest.approx(0.02)]


# --- 6. The spinner in another interpreter -----------------------------------------------------

FRAME_INTERVAL = 0.05  # the spinners' frame interval here
CHECK_SECONDS = 0.4  # the main interpreter's CPU-bound check: 8 frame intervals
SPINNER_RUN = """
import os, sys, time
from spinners import {unit}_spinner
from spinners.work import is_prime
sys.setswitchinterval({switch})  # the main interpreter's
print("pid", os.getpid(), flush=True)
t0 = time.perf_counter()
def work():
    print(f"work began after {{time.perf_counter() - t0:.4f}} s", flush=True)
    return is_prime({n})
{unit}_spinner.supervisor(work, interval={interval})
"""


class SpinnerRun(NamedTuple):
    stamps: list[float]  # when each frame arrived here
    output: str
    start_s: float  # from the supervisor's call to the work's start, as the program measured it

    @property
    def longest_gap(self) -> float:
        return max(b - a for a, b in itertools.pairwise(self.stamps))


def _spinner_while_computing(unit: str, n: int, switch: float) -> SpinnerRun:
    """The frames of ``unit``'s spinner while the main interpreter checks ``n`` at a switch
    interval of ``switch`` seconds, in a program of its own."""
    stamps, output = frames_of(SPINNER_RUN.format(unit=unit, n=n, interval=FRAME_INTERVAL, switch=switch))
    began = re.search(r"work began after ([\d.]+) s", output)
    assert began is not None, output
    return SpinnerRun(stamps, output, float(began.group(1)))


def _interpreter_start_up() -> float:
    """What delays the first frame: making an interpreter and importing the spinner there."""
    from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

    t0 = time.perf_counter()
    interpreter = interpreters.create()
    try:
        interpreter.prepare_main(path=tuple(sys.path))
        interpreter.exec("import sys; sys.path[:] = path; import spinners.interpreter_spinner")
        return time.perf_counter() - t0
    finally:
        interpreter.close()


@serial
@claim("INT-6")
def test_the_spinner_in_another_interpreter_keeps_its_pace_while_the_main_one_computes(evidence):
    """The spinner in an interpreter of its own, on a thread of the supervisor's process, draws
    at its pace while the main interpreter computes, even at a switch interval of a whole
    second: its interpreter has its own GIL, as the process spinner's child has (IMP-2). The
    thread spinner in the same program stutters (control, IMP-1), where there is a GIL."""
    if not_here(evidence):
        return
    n = prime_taking(CHECK_SECONDS)
    with Metronome(FRAME_INTERVAL) as machine:
        default = _spinner_while_computing("interpreter", n, 0.005)
        long = _spinner_while_computing("interpreter", n, 1.0)
    pace = median_interval(long.stamps)
    evidence.record(
        frame_interval_s=FRAME_INTERVAL,
        pace_at_5ms_s=median_interval(default.stamps),
        longest_gap_at_5ms_s=default.longest_gap,
        pace_at_1s_s=pace,
        frames_per_s_at_1s=round(1 / pace, 1),
        longest_gap_at_1s_s=long.longest_gap,
        # what delays the first frame: the spinner's start, which the supervisor waits out
        start_at_1s_s=long.start_s,
        interpreter_start_up_s=_interpreter_start_up(),
        sleeper_pace_s=machine.pace,
    )
    assert "spinner object: Interpreter(" in long.output and long.output.startswith("pid ")
    assert_keeps_pace(evidence, pace, machine)
    assert long.longest_gap < 1.0, "a frame waited for the main interpreter's switch interval"
    thread = _spinner_while_computing("thread", n, 1.0)
    evidence.record(thread_frames_at_1s=len(thread.stamps), interpreter_frames_at_1s=len(long.stamps))
    if GIL_OFF:  # no GIL for the thread spinner to wait on either
        evidence.not_applicable(NO_GIL_EITHER)
        assert len(thread.stamps) >= len(long.stamps) / 2
    else:  # a frame before the check takes the GIL, maybe one a second, one as it ends
        assert len(thread.stamps) < len(long.stamps) / 2, (thread.stamps, long.stamps)
