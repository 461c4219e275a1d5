"""A spinner's output: its frames, when each arrived, and the pace a machine lets it keep."""

from __future__ import annotations

import io
import itertools
import multiprocessing
import statistics
import subprocess
import sys
import time
from typing import Any

from measuring.cpu import OWN_CHILD_METHOD
from tests.support.processes import ROOT, read_some
from tests.support.tolerances import METRONOME_MARGIN, PACE_MARGIN
from tests.support.waiting import PATIENCE, join


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
        context = multiprocessing.get_context(OWN_CHILD_METHOD)
        self.interval = interval
        self._stop, self._out = context.Event(), context.SimpleQueue()
        self._child = context.Process(target=_tick, args=(interval, self._stop, self._out))  # type: ignore[attr-defined]
        self.pace = self.late = float("nan")

    def __enter__(self) -> Metronome:
        self._child.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        stamps = self._out.get()
        join(self._child)
        if len(stamps) < 3:  # too few wake-ups to tell a pace: the machine kept none
            self.pace = self.late = float("inf")
            return
        self.pace = median_interval(stamps)
        intervals = sorted(b - a for a, b in itertools.pairwise(stamps))
        self.late = intervals[(len(intervals) * 3) // 4]

    def keeps_time(self) -> bool:
        """Whether this machine let a sleeper keep close enough to the interval to tell a pace
        from one twice as slow (see PACE_MARGIN): its median interval, and three in four of its intervals.

        Not the median alone: inside a CPU quota the cgroup is frozen for part of every period,
        and a sleeper whose wake-ups keep falling in the frozen part runs at half pace while one
        in another phase keeps time -- the metronome's median said 0.050 s there while the spinner
        drew every 0.099 s. Such a machine delays many of the metronome's wake-ups too. (Not nine
        in ten: over some eight waits that is the slowest one, and one late wake-up beside the
        parallel pass's other tests made a pace not demonstrable on an idle machine.)"""
        return self.pace <= METRONOME_MARGIN * self.interval and self.late <= METRONOME_MARGIN * self.interval

    def __str__(self) -> str:
        return (
            f"a sleeper waiting {self.interval} s woke every {self.pace:.3f} s here, "
            f"one wait in four {self.late:.3f} s or longer"
        )


def assert_keeps_pace(evidence: Any, pace: float, metronome: Metronome) -> None:
    """A spinner whose median interval between frames is ``pace`` kept up with a sleeper on the
    same machine at the same time (the metronome): at most PACE_MARGIN times its pace. Where the
    sleeper itself could not keep time, the machine cannot tell a pace from half of it, and the
    claim is *not demonstrable*."""
    __tracebackhide__ = True
    if not metronome.keeps_time():
        evidence.not_demonstrable(str(metronome))
    assert pace <= PACE_MARGIN * metronome.pace, f"frames every {pace:.3f} s; {metronome}"


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
