"""Small measuring tools for the spec, one job each. Every tolerance says why it is what it is."""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from spec.catalogue import gil_disabled_build, gil_enabled

ROOT = Path(__file__).resolve().parent.parent
# A free-threaded build running without the GIL: the claims about the GIL read reversed.
GIL_OFF = gil_disabled_build() and not gil_enabled()
# A bound for waits that should end at once: long enough for a loaded machine to get
# there, short enough that a hang fails fast. Never a pass/fail threshold.
PATIENCE = 10.0


def wait_until(predicate: Callable[[], object], what: str, timeout: float = PATIENCE) -> None:
    """Poll with a growing pause until ``predicate()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def join(unit: Any, timeout: float = PATIENCE) -> None:
    """Join a thread or process within ``timeout``; a unit still alive is stopped (if it can be) and fails."""
    unit.join(timeout)
    if unit.is_alive():
        if hasattr(unit, "kill"):
            unit.kill()
            unit.join(PATIENCE)
        raise AssertionError(f"{unit!r} still running {timeout}s after it was asked to stop")


def cpus() -> int:
    """CPUs this process may run on (affinity), not the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Probe:
    """A thread that stamps ``perf_counter()`` in a tight loop: a gap in its stamps is a time it could not run."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)

    def _run(self) -> None:
        stamps, now, stopped = self.stamps, time.perf_counter, self._stop.is_set
        while not stopped():
            stamps.append(now())

    def __enter__(self) -> Probe:
        self._thread.start()
        wait_until(lambda: len(self.stamps) > 1000, "the probe to run")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        join(self._thread)

    def largest_gap(self, start: float, end: float) -> float:
        """The longest the probe went without a stamp between ``start`` and ``end``."""
        inside = [t for t in self.stamps if start <= t <= end]
        points = [start, *inside, end]
        return max(b - a for a, b in itertools.pairwise(points))


def python(*args: str, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run this interpreter in a child process with ``args``, from the project root.

    The output is decoded as is: text mode would turn the spinners' carriage returns into newlines.
    """
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, timeout=timeout, cwd=ROOT, check=False, **kwargs
    )
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(), result.stderr.decode())


# Block-buffered standard streams, as a program whose output is piped normally has them
# (this environment may set PYTHONUNBUFFERED, which would hide a missing flush).
BUFFERED_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}


def read_until(pipe: Any, marker: bytes, what: str) -> bytes:
    """Read a child's pipe as data arrives until ``marker`` shows; fail after PATIENCE of silence."""
    seen = b""
    while marker not in seen:
        ready, _, _ = select.select([pipe], [], [], PATIENCE)
        assert ready, f"no {what} arrived"
        seen += os.read(pipe.fileno(), 4096)
    return seen


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """``work()``'s result and the seconds it took."""
    t0 = time.perf_counter()
    result = work()
    return result, time.perf_counter() - t0


def spinners_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return python("-m", "spinners", *args, timeout=timeout)


def frames_in(output: str) -> list[str]:
    """The frames a spinner wrote: the text after each carriage return, blanks excluded."""
    return [part for part in output.split("\r") if part.strip() and part[:1] in "\\|/-" and part[1:2] == " "]


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (Linux): ``[0]`` the state, ``[1]``
    the parent's PID, ``[3]`` the session, ``[11]``/``[12]`` user/system CPU ticks. Raises
    OSError if the process is gone."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _live_processes() -> Iterator[tuple[int, list[str]]]:
    """Every process on the machine that is not a zombie, with its ``proc_stat`` fields."""
    if not Path("/proc").is_dir():
        return
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = proc_stat(int(entry.name))
            except OSError:
                continue
            if fields[0] != "Z":  # a zombie is already dead; its reaper is elsewhere
                yield int(entry.name), fields


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Linux /proc; none where there is no /proc)."""
    return [child for child, fields in _live_processes() if int(fields[1]) == pid]


def session_members(sid: int) -> list[int]:
    """PIDs in session ``sid`` (Linux /proc): a CLI started in a new session and all it started."""
    return [member for member, fields in _live_processes() if int(fields[3]) == sid]


@contextlib.contextmanager
def cli_in_own_session(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m spinners ARGS`` started as a shell starts a job: in a session and process
    group of its own (so a Ctrl-C can go to all of it at once), output piped and block-buffered.

    On leaving without an error, it checks that every process of the run has exited (no
    orphan left); whatever is still running then, or after an error, is killed.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "spinners", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=BUFFERED_ENV,
        start_new_session=True,
    )
    try:
        yield child
        wait_until(lambda: not session_members(child.pid), "every process of the run to exit")
    finally:
        with contextlib.suppress(ProcessLookupError):  # none left: the group is gone
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(PATIENCE)
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()


def ctrl_c(child: subprocess.Popen[bytes], whole_group: bool = True) -> tuple[bytes, bytes]:
    """SIGINT to the child's whole process group, as a terminal's Ctrl-C sends it (or to the
    child alone, as ``kill -INT`` does); then its remaining output (stdout, stderr) once it
    has exited."""
    if whole_group:
        os.killpg(child.pid, signal.SIGINT)
    else:
        child.send_signal(signal.SIGINT)
    return child.communicate(timeout=PATIENCE)


# --- CPU-bound work and how many cores it used -------------------------------------------


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
    loops = 100_000
    while True:
        t0 = time.perf_counter()
        burn(loops)
        took = time.perf_counter() - t0
        if took > 0.02:
            return max(1, int(loops * seconds / took))
        loops *= 4


def _timed_burn(loops: int, start: Any, out: Any) -> None:
    """In a thread or a child: wait for the common start, burn, report (cpu seconds, start, end)."""
    start.wait(PATIENCE)
    t0, c0 = time.perf_counter(), time.thread_time()
    burn(loops)
    out.put((time.thread_time() - c0, t0, time.perf_counter()))


class Run:
    """One measured run of N units burning the same loops: wall time and cores used (CPU/wall)."""

    def __init__(self, samples: list[tuple[float, float, float]]) -> None:
        self.cpu = sum(cpu for cpu, _, _ in samples)
        self.wall = max(end for _, _, end in samples) - min(begin for _, begin, _ in samples)
        self.cores = self.cpu / self.wall


def run_units(kind: str, workers: int, loops: int) -> Run:
    """Burn ``loops`` in each of ``workers`` threads or processes, all released at once.

    Each unit measures its own CPU time (``thread_time``: only what it ran) and its start and
    end on ``perf_counter``, a clock shared by every process on the machine; start-up is
    outside the window (CPython's ccbench starts its clock the same way).
    """
    if kind == "thread":
        start: Any = threading.Event()
        out: Any = queue.SimpleQueue()
        units: list[Any] = [threading.Thread(target=_timed_burn, args=(loops, start, out)) for _ in range(workers)]
    else:
        context = multiprocessing.get_context(OWN_CHILDREN)
        start, out = context.Event(), context.SimpleQueue()
        units = [context.Process(target=_timed_burn, args=(loops, start, out)) for _ in range(workers)]
    for unit in units:
        unit.start()
    try:
        start.set()
        samples = [out.get() for _ in units]
    finally:
        for unit in units:
            join(unit, 60)
    return Run(samples)


def run_sequential(workers: int, loops: int) -> Run:
    t0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(workers):
        burn(loops)
    return Run([(time.thread_time() - c0, t0, time.perf_counter())])


def other_load_during(action: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``action``; also return how many cores other work kept busy meanwhile.

    The machine's busy time (Linux /proc/stat) less our own and our reaped children's CPU
    time (``os.times``): what remains is someone else's load on the cores we wanted.
    """

    def ticks() -> tuple[float, float, float]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
        own = os.times()
        return busy, own.user + own.system + own.children_user + own.children_system, time.monotonic()

    busy0, own0, t0 = ticks()
    result = action()
    busy1, own1, t1 = ticks()
    return result, ((busy1 - busy0) - (own1 - own0)) / (t1 - t0)


# Summed CPU time over wall time above this proves that more than one core ran: on one
# core the sum cannot exceed the wall time at all, so 1.3 leaves 30% for clock error.
MORE_THAN_ONE_CORE = 1.3
# ... and at or below this, the work used one core at most: 10% for hand-over slop.
AT_MOST_ONE_CORE = 1.1
# Other work using more than this many cores (on average) means the cores were not free.
OTHERS_BUSY = 0.3


def cores_used_by_processes(evidence: Any, workers: int, loops: int, attempts: int = 3) -> Run:
    """Measure CPU-bound processes until they show more than one core at work.

    They may fail to when the machine is busy with others' work; then the claim is not
    demonstrable here (with the measurement), unless the machine was idle, which fails.
    """
    if cpus() < 2:
        evidence.not_demonstrable(f"this process may run on {cpus()} CPU only (affinity)")
    run, others = Run([(0.0, 0.0, 1.0)]), 0.0
    for _ in range(attempts):
        run, others = other_load_during(lambda: run_units("process", workers, loops))
        if run.cores > MORE_THAN_ONE_CORE:
            return run
    if others > OTHERS_BUSY:
        evidence.record(process_cores=run.cores, other_load_cores=others)
        evidence.not_demonstrable(
            f"{workers} processes used {run.cores:.2f} cores while other work kept {others:.2f} cores busy"
        )
    raise AssertionError(f"{workers} CPU-bound processes used only {run.cores:.2f} cores on an idle machine")
