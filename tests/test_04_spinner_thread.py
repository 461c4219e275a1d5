"""Spinner with threads: the animation, the event that stops it, and the thread's repr."""

from __future__ import annotations

import asyncio
import io
import itertools
import select
import subprocess
import sys
import threading
import time

import pyte
import pytest

from spinners import asyncio_spinner, thread_spinner
from spinners.animation import spin
from spinners.asyncio_spinner import slow_async
from spinners.work import slow
from tests.support.frames import Metronome, StampedStream, assert_keeps_pace, frames_in, frames_of, median_interval
from tests.support.processes import ROOT, buffered_env, python, read_until
from tests.support.tolerances import AT_LEAST, LATE, PROMPT
from tests.support.waiting import PATIENCE, join, started, wait_until

claim = pytest.mark.claim
# Each test here takes under a second; a spinner that never stops makes it hang. A hang fails
# after 15 s (PATIENCE, the helpers' own bound, and 5 s more), not the default 30 s: a break of
# the package hangs many of these tests, and the run must still end in minutes.
pytestmark = pytest.mark.timeout(15)
# The chapter's facts, as it states them: never read back from the package under test.
CHAPTER_FRAMES = "\\|/-"  # backslash, bar, slash, dash
CHAPTER_INTERVAL = 0.1  # seconds between two frames


def render(output: str, columns: int = 40) -> list[str]:
    """What a terminal shows after receiving ``output``: its non-empty lines."""
    screen = pyte.Screen(columns, 5)
    pyte.Stream(screen).feed(output.replace("\n", "\r\n"))
    return [line.rstrip() for line in screen.display if line.strip()]


def spin_briefly(frames: int, interval: float = 0.01, msg: str = "thinking!") -> str:
    """Run ``spin`` on a thread until it has drawn ``frames`` frames; return all it wrote."""
    out = io.StringIO()
    done = threading.Event()
    spinner = threading.Thread(target=spin, args=(msg, done, interval, out))
    spinner.start()
    wait_until(lambda: len(frames_in(out.getvalue())) >= frames, f"{frames} frames")
    done.set()
    join(spinner)
    return out.getvalue()


@claim("ST-1")
def test_frames_cycle_through_the_four_characters_and_overwrite_each_other(evidence):
    """Each frame is ``\\r<char> <message>``; the characters go ``\\ | / -`` and round again; on a
    terminal each frame overwrites the last, so only one is ever visible."""
    output = spin_briefly(9)
    frames = frames_in(output)
    evidence.record(frames_drawn=len(frames), first=frames[:5])
    assert output.startswith("\r\\ thinking!")
    assert [frame[0] for frame in frames] == list(itertools.islice(itertools.cycle(CHAPTER_FRAMES), len(frames)))
    assert all(frame == f"{frame[0]} thinking!" for frame in frames)
    visible = [render(output[: end + 1]) for end, char in enumerate(output) if char == "!"]
    assert all(len(lines) == 1 for lines in visible), "a terminal shows one frame at a time"
    # Control: without the carriage returns the same frames pile up on the line.
    assert len(render(output.replace("\r", ""))[0]) > len("\\ thinking!")


NO_FLUSH_SPINNER = """
import sys, time
for char in "\\\\|/-":
    sys.stdout.write(f"\\r{char} thinking!")   # no flush
sys.stderr.write("written\\n"); sys.stderr.flush()
time.sleep(0.3)
"""


@claim("ST-2")
def test_every_frame_reaches_a_block_buffered_pipe_at_once(evidence):
    """Frames are flushed as written, so a reader at the other end of a pipe (block-buffered)
    sees the first one while the program is still running. Control: frames written without a
    flush stay in the writer's buffer until it exits."""
    child = subprocess.Popen(  # 30 s of work: a frame that came only at exit would come far too late
        [sys.executable, "-m", "spinners", "thread", "--delay", "30", "--interval", "0.05", "--animate", "always"],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=buffered_env(),
    )
    try:
        assert child.stdout is not None
        read_until(child.stdout, b"thinking!", "frame")
        still_running = child.poll() is None
    finally:
        child.kill()
        child.communicate(timeout=PATIENCE)
    assert still_running, "the first frame arrived only when the program ended"
    # Control
    control = subprocess.Popen(
        [sys.executable, "-c", NO_FLUSH_SPINNER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=buffered_env()
    )
    try:
        assert control.stderr is not None and control.stdout is not None
        assert control.stderr.readline() == b"written\n"
        early, _, _ = select.select([control.stdout], [], [], 0.1)
        late = control.communicate(timeout=PATIENCE)[0]
    finally:
        control.kill() if control.poll() is None else None
    evidence.record(flushed_frame_before_exit=still_running, unflushed_frame_before_exit=bool(early))
    assert not early and b"thinking!" in late


@claim("ST-3")
def test_event_wait_times_out_with_false_and_returns_true_once_set(evidence):
    """``Event.wait(timeout)`` returns False after the timeout when nobody sets the event, and
    True as soon as another thread sets it -- long before the timeout."""
    event = threading.Event()
    t0 = time.perf_counter()
    timed_out = event.wait(0.05)
    waited = time.perf_counter() - t0
    timeout = 2.0  # and the event is set 0.02 s into the wait
    with started([threading.Timer(0.02, event.set)]):
        t0 = time.perf_counter()
        woken = event.wait(timeout)
        woke_after = time.perf_counter() - t0
    evidence.record(timeout_wait_s=waited, set_wait_s=woke_after)
    assert timed_out is False and waited >= 0.05
    assert woken is True and woke_after < timeout / 2


@claim("ST-3")
def test_the_spinner_draws_about_one_frame_per_interval(evidence):
    """With the event as its clock, the spinner draws one frame per interval: never faster (a
    wait cannot end early), and not much slower, a frame being late only by a scheduling hiccup."""
    out = StampedStream()
    interval = 0.05
    with Metronome(interval) as machine:
        thread_spinner.supervisor(lambda: slow(0.5), interval=interval, out=out)
    pace = median_interval(out.stamps)
    evidence.record(interval_s=interval, pace_s=pace, sleeper_pace_s=machine.pace, frames=len(out.stamps))
    assert pace >= AT_LEAST * interval
    assert_keeps_pace(evidence, pace, machine)


DEFAULT_PACE_SCRIPT = """
import sys
from spinners import process_spinner
process_spinner.supervisor(lambda: sys.stdin.readline())
"""


@claim("ST-3")
@pytest.mark.parametrize("unit", ["thread", "process", "asyncio"])
def test_every_spinner_draws_a_frame_every_tenth_of_a_second_by_default(evidence, unit):
    """Left to their defaults, the spinners keep the chapter's pace: a frame every 0.1 s."""
    with Metronome(CHAPTER_INTERVAL) as machine:
        if unit == "thread":
            out = StampedStream()
            thread_spinner.supervisor(lambda: slow(0.45), out=out)
            stamps = out.stamps
        elif unit == "asyncio":
            out = StampedStream()
            asyncio.run(asyncio_spinner.supervisor(lambda: slow_async(0.45), out=out))
            stamps = out.stamps
        else:
            stamps, _ = frames_of(DEFAULT_PACE_SCRIPT, release_after=5)
    pace = median_interval(stamps)
    evidence.record(**{f"default_pace_{unit}_s": pace, "sleeper_pace_s": machine.pace})
    assert pace >= AT_LEAST * CHAPTER_INTERVAL
    assert_keeps_pace(evidence, pace, machine)


def _stop_latency(target, interval: float) -> tuple[float, str]:
    """Run ``target`` as a spinner on a thread; once it has drawn, set its event and join it.
    Returns the seconds from ``set()`` to ``join()`` returning, and all the spinner wrote."""
    out = io.StringIO()
    done = threading.Event()
    spinner = threading.Thread(target=target, args=("thinking!", done, interval, out))
    spinner.start()
    wait_until(lambda: frames_in(out.getvalue()), "the first frame")
    t0 = time.perf_counter()
    done.set()
    join(spinner)
    return time.perf_counter() - t0, out.getvalue()


def sleepy_spin(msg: str, done: threading.Event, interval: float, out: io.StringIO) -> None:
    """Control: a spinner that sleeps a fixed interval and only then looks at the flag."""
    status = ""
    for char in itertools.cycle(CHAPTER_FRAMES):
        status = f"\r{char} {msg}"
        out.write(status)
        time.sleep(interval)
        if done.is_set():
            break
    out.write("\r" + " " * len(status) + "\r")


@claim("ST-4")
def test_setting_the_event_stops_the_spinner_at_once(evidence):
    """``done.set()`` wakes the spinner in its wait: it stops far sooner than one interval, and
    ``join()`` returns only once it has stopped. Control: a spinner that sleeps a fixed interval
    and then checks a flag stops nearly a whole interval late."""
    interval = 0.5
    prompt, written = _stop_latency(spin, interval)
    late, _ = _stop_latency(sleepy_spin, interval)
    evidence.record(interval_s=interval, event_stop_s=prompt, sleeping_stop_s=late)
    assert written.endswith("\r"), "join() returned before the spinner blanked its line"
    assert prompt < PROMPT * interval
    assert late > LATE * interval


@claim("ST-5")
def test_the_spinner_blanks_its_line_so_the_answer_starts_clean(evidence):
    """When it stops, the spinner writes spaces over its last frame and returns the cursor, so
    ``Answer: 42`` lands on a clean line."""
    output = spin_briefly(3, msg="a rather long message")
    assert output.endswith("\r" + " " * len("| a rather long message") + "\r")
    screen = render(output + "Answer: 42\n")
    evidence.record(screen=screen)
    assert screen == ["Answer: 42"]
    # Control: without the blanking, the tail of the last frame shows after the answer.
    unblanked = output[: output.rindex("\r", 0, len(output) - 1)]
    assert render(unblanked + "Answer: 42\n") != ["Answer: 42"]


class SlowToBlank(io.StringIO):
    """An output stream on which the spinner's last write, the blanking, takes 50 ms."""

    def write(self, text: str) -> int:
        if text.startswith("\r") and not text.strip():
            time.sleep(0.05)  # widens the window in which a supervisor that did not wait returns
        return super().write(text)


@claim("ST-5")
def test_the_supervisor_returns_only_once_the_spinner_has_blanked_its_line(evidence):
    """The supervisor joins its spinner before it returns the answer, so the caller's next
    output cannot land before the blanking -- even when the blanking is slow."""
    out = SlowToBlank()
    assert thread_spinner.supervisor(lambda: slow(0.03), interval=0.01, out=out) == 42
    at_return = out.getvalue()
    evidence.record(ends_blank_at_return=at_return.endswith(" \r"))
    assert at_return.endswith("\r" + " " * len("| thinking!") + "\r")
    assert not [t for t in threading.enumerate() if t is not threading.current_thread() and "spin" in t.name]


class FlushRecording(io.StringIO):
    """A stream that keeps what was written since it was last flushed."""

    def __init__(self) -> None:
        super().__init__()
        self.unflushed = ""

    def write(self, text: str) -> int:
        self.unflushed += text
        return super().write(text)

    def flush(self) -> None:
        self.unflushed = ""


@claim("ST-5")
def test_the_blanking_is_flushed_before_the_supervisor_returns(evidence):
    """The blank line is pushed out at once, like every frame: a caller that goes on working
    after the supervisor returns does not leave the last frame showing meanwhile."""
    out = FlushRecording()
    thread_spinner.supervisor(lambda: slow(0.03), interval=0.01, out=out)
    evidence.record(unflushed_at_return=out.unflushed)
    assert out.getvalue().endswith(" \r") and out.unflushed == ""


@claim("ST-6")
def test_the_spinner_animates_while_the_main_thread_sleeps(evidence):
    """While the main thread is blocked in ``time.sleep`` (which releases the GIL) the spinner
    thread keeps drawing, and the supervisor returns the slow function's answer."""
    out = io.StringIO()
    result = thread_spinner.supervisor(lambda: slow(0.3), interval=0.02, out=out)
    frames = frames_in(out.getvalue())
    evidence.record(answer=result, frames=len(frames))
    assert result == 42
    assert len(frames) >= 3
    assert out.getvalue().startswith("spinner object: <Thread(")


@claim("ST-7")
def test_a_threads_repr_shows_its_state(evidence):
    """A thread's repr names it and shows ``initial`` before ``start()``, ``started`` while it
    runs, and ``stopped`` after ``join()``."""
    done = threading.Event()
    spinner = threading.Thread(target=spin, args=("x", done, 0.01, io.StringIO()))
    reprs = [repr(spinner)]
    spinner.start()
    reprs.append(repr(spinner))
    done.set()
    join(spinner)
    reprs.append(repr(spinner))
    evidence.record(reprs=reprs)
    assert [r.rsplit(" ", 1)[-1] for r in reprs[:1]] == ["initial)>"]
    assert ", started " in reprs[1] and reprs[1].startswith(f"<Thread({spinner.name}")
    assert reprs[2].endswith("stopped)>") or ", stopped " in reprs[2]


NAMES = """
import threading
from spinners.animation import spin
first = threading.Thread(target=spin)
other = threading.Thread(target=print)
third = threading.Thread(target=spin)
print(repr(first)); print(first.name); print(third.name)
"""


@claim("ST-7")
def test_default_thread_names_count_threads_and_name_the_target(evidence):
    """Default names come from one counter for the whole process, so a thread's number depends
    on how many came before it; since 3.10 the name also carries the target's name."""
    result = python("-c", NAMES, timeout=PATIENCE)
    assert result.returncode == 0, result.stderr
    first_repr, first, third = result.stdout.splitlines()
    evidence.record(observed=f"first default name: {first!r}", repr=first_repr)
    assert first_repr == "<Thread(Thread-1 (spin), initial)>"
    assert (first, third) == ("Thread-1 (spin)", "Thread-3 (spin)")
