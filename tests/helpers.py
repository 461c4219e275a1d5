"""Small measuring tools for the spec, one job each. Every tolerance says why it is what it is."""

from __future__ import annotations

import contextlib
import io
import itertools
import multiprocessing
import os
import queue
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from spec.catalogue import gil_disabled_build, gil_enabled

T = TypeVar("T")
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


def read_some(pipe: Any) -> bytes:
    """What a child's pipe holds as soon as anything arrives (b"" at its end); fail after
    PATIENCE of silence."""
    ready, _, _ = select.select([pipe], [], [], PATIENCE)
    assert ready, f"nothing arrived in {PATIENCE}s"
    return os.read(pipe.fileno(), 4096)


def read_until(pipe: Any, marker: bytes, what: str) -> bytes:
    """Read a child's pipe as data arrives until ``marker`` shows; fail at its end or after
    PATIENCE of silence."""
    seen = b""
    while marker not in seen:
        chunk = read_some(pipe)
        assert chunk, f"no {what} arrived before the output ended"
        seen += chunk
    return seen


def _tick(interval: float, stop: Any, out: Any) -> None:
    """In a child: sleep ``interval`` until told to stop, noting each wake-up; send the notes."""
    stamps = [time.perf_counter()]
    while not stop.wait(interval):
        stamps.append(time.perf_counter())
    out.put(stamps)


class Metronome:
    """A child process that waits ``interval`` again and again while the ``with`` block runs,
    noting when it wakes: its ``pace`` (median interval) is the best a sleeping program keeps on
    this machine now -- a CPU quota throttling us to its period, or other load, shows there.
    A child, so that it needs no GIL of ours."""

    def __init__(self, interval: float) -> None:
        context = multiprocessing.get_context(OWN_CHILDREN)
        self.interval = interval
        self._stop, self._out = context.Event(), context.SimpleQueue()
        self._child = context.Process(target=_tick, args=(interval, self._stop, self._out))
        self.pace = float("nan")

    def __enter__(self) -> Metronome:
        self._child.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        stamps = self._out.get()
        join(self._child)
        self.pace = median_interval(stamps) if len(stamps) >= 3 else float("inf")

    def keeps_time(self) -> bool:
        """Whether this machine let a sleeper keep close enough to the interval to tell a pace
        from one twice as slow (see PACE)."""
        return self.pace <= KEEPS_TIME * self.interval


# A spinner keeps its pace when the median time between its frames is at most half as long
# again as a sleeper's on the same machine at the same time (the metronome): frames are late
# by a switch interval (5 ms) or a scheduling hiccup, and half-pace (2x) is outside...
PACE = 1.5
# ... as long as the sleeper itself came within 30% of the interval: 1.5 x 1.3 < 2. Past that
# the machine is too slow to wake us to tell 1x from 2x, and the pace is not demonstrable.
KEEPS_TIME = 1.3


def frames_of(script: str, *args: str, release_after: int | None = None) -> tuple[list[float], str]:
    """Run ``script`` in a new interpreter and note when each frame it prints arrives; return
    those times and all it printed.

    With ``release_after``, a line goes to its standard input once that many frames have come:
    a script whose work waits for that line (``sys.stdin.readline``) works for exactly as long
    as the spinner needs to show itself, however slow its start-up (coverage, spawn)."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.DEVNULL if release_after is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdout is not None and child.stderr is not None
    stamps: list[float] = []
    output = b""
    try:
        while chunk := read_some(child.stdout):
            stamps += [time.perf_counter()] * len(frames_in(chunk.decode()))
            output += chunk
            if child.stdin and not child.stdin.closed and len(stamps) >= (release_after or 0):
                child.stdin.write(b"go\n")
                child.stdin.close()
        err = child.stderr.read()
        child.wait(PATIENCE)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(PATIENCE)
        for pipe in (child.stdin, child.stdout, child.stderr):
            if pipe:
                pipe.close()
    assert child.returncode == 0, err.decode()
    return stamps, output.decode()


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


class StampedStream(io.StringIO):
    """An in-memory output stream that notes the time (``perf_counter``) each frame arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float] = []

    def write(self, text: str) -> int:
        if frames_in(text):
            self.stamps.append(time.perf_counter())
        return super().write(text)


def median_interval(stamps: list[float]) -> float:
    """The median time between consecutive frames: the spinner's pace, whatever its start-up
    took and however long one stall lasted (a count over a window would mix in both)."""
    assert len(stamps) >= 3, f"too few frames to tell a pace: {len(stamps)}"
    return statistics.median(b - a for a, b in itertools.pairwise(stamps))


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


# --- CPU-bound work, sized by time on this machine --------------------------------------------


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
    its cost grows in proportion to the argument: timed on growing sizes until one lasts 20 ms,
    then scaled. Work sized this way takes the same time on a fast and on a slow CPU."""
    size = start
    while True:
        t0 = time.perf_counter()
        work(size)
        took = time.perf_counter() - t0
        if took > 0.02:
            return size * seconds / took
        size *= 4


def miller_rabin(n: int) -> bool:
    """A primality test independent of the package's trial division, deterministic below 3.3e24."""
    if n < 2:
        return False
    bases = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    if n in bases:
        return True
    if any(n % p == 0 for p in bases):
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def prime_taking(seconds: float) -> int:
    """A prime whose check by trial division lasts about ``seconds`` on this machine, now.

    Trial division of a prime ``n`` tries every odd number up to its square root, so its cost
    grows with sqrt(n): time it on a small prime, scale, and take the next prime above (found
    with Miller-Rabin, so that the primality check under test is not its own judge)."""
    from spinners.work import is_prime  # the workload; its verdicts are checked elsewhere (IMP-4)

    small = 1_000_000_007  # about 16 000 divisions
    took = min(timed(lambda: is_prime(small))[1] for _ in range(3))
    n = max(small, int(small * (seconds / took) ** 2))
    n += 1 - n % 2
    while not miller_rabin(n):
        n += 2
    return n


# --- How many cores CPU-bound work used, and how many this process can get now ------------


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
        units = [context.Process(target=target, args=(job_queue, start, out)) for _ in range(workers)]
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


# Summed CPU time over wall time above this proves that more than one core ran: on one
# core the sum cannot exceed the wall time at all, so 1.3 leaves 30% for clock error.
MORE_THAN_ONE_CORE = 1.3
# ... and at or below this, the work used one core at most: 10% for hand-over slop.
AT_MOST_ONE_CORE = 1.1
# A probe of N busy children that got this share of N cores found them free: on an idle
# machine it gets 0.95-1.0 of each; beside one CPU burner on two cores, about 0.67.
FREE_SHARE = 0.85


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


def timed_cpu(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """``work()``'s result, the wall seconds it took, and the CPU seconds this thread spent on it
    (CPU time: what the work costs, which other load on the machine does not inflate)."""
    t0, c0 = time.perf_counter(), time.thread_time()
    result = work()
    return result, time.perf_counter() - t0, time.thread_time() - c0


def children_cpu() -> float:
    """CPU seconds used so far by the children this process has reaped (``os.times``)."""
    times = os.times()
    return times.children_user + times.children_system
