"""The real impact of the GIL: the spinners beside CPU-bound work instead of a sleep."""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Coroutine
from typing import Any

import pytest

from measuring.build import GIL_OFF
from spinners import asyncio_spinner, thread_spinner
from spinners.asyncio_spinner import is_prime_blocking, is_prime_napping
from spinners.prime_pool import LARGE, SMALL
from spinners.work import is_prime
from tests.support.frames import Metronome, StampedStream, assert_keeps_pace, frames_in, frames_of, median_interval
from tests.support.primes import miller_rabin, prime_taking
from tests.support.waiting import timed, timed_cpu

claim = pytest.mark.claim
# A hang fails after 15 s, not the default 30 s: a break of the package that blocks a spinner
# hangs several tests here, and the run must still end in minutes (the spinner tests take under
# a second here; IMP-4's trial division has a bound of its own).
pytestmark = pytest.mark.timeout(15)
serial = pytest.mark.serial
INTERVAL = 0.05  # the spinners' frame interval in these tests
CHAPTER_PRIME = 5_000_111_000_222_021  # the chapter's number, as it states it
CHECK_SECONDS = 0.4  # how long the CPU-bound check lasts, on any machine: 8 frame intervals


@pytest.fixture(scope="module")
def checked() -> int:
    """A prime whose check lasts about CHECK_SECONDS here: sized by time, not by digits."""
    return prime_taking(CHECK_SECONDS)


@serial
@claim("IMP-1")
def test_the_thread_spinner_keeps_drawing_beside_cpu_bound_work_and_stutters_with_a_long_interval(evidence, checked):
    """With ``is_prime`` as the slow work the thread spinner still draws, about one frame per
    interval: the computing thread is made to let go of the GIL every switch interval. Raise
    the interval to a second and the spinner gets the GIL back only once the check ends."""
    out, stuttered = StampedStream(), StampedStream()
    with Metronome(INTERVAL) as machine:
        t0 = time.perf_counter()
        prime = thread_spinner.supervisor(lambda: is_prime(checked), interval=INTERVAL, out=out)
        took = time.perf_counter() - t0
        sys.setswitchinterval(1.0)  # restored by the leak guard
        t1 = time.perf_counter()
        _, took_long = timed(
            lambda: thread_spinner.supervisor(lambda: is_prime(checked), interval=INTERVAL, out=stuttered)
        )
    pace = median_interval(out.stamps)
    evidence.record(
        frame_interval_s=INTERVAL,
        pace_at_5ms_s=pace,
        sleeper_pace_s=machine.pace,
        frames_at_1s=len(stuttered.stamps),
        check_s=took_long,
    )
    # the frames' arrival times, for the site's timelines
    evidence.record(
        timeline_thread_5ms=_timeline(out.stamps, t0, took),
        timeline_thread_1s=_timeline(stuttered.stamps, t1, took_long),
    )
    assert prime is True
    if GIL_OFF:  # nothing to wait for: the spinner draws on whatever the interval
        evidence.out_of_date(
            f"the GIL is disabled on this build: at a 1 s switch interval the thread spinner drew "
            f"{len(stuttered.stamps)} frames in {took_long:.2f} s of checking, at 5 ms {len(out.stamps)} in {took:.2f} s"
        )
        assert len(stuttered.stamps) >= len(out.stamps) / 2
    else:
        # One frame before the check grabs the GIL, one per full second it is made to let go,
        # maybe one as it ends -- where a 5 ms interval gave one per frame interval.
        assert len(stuttered.stamps) <= 2 + int(took_long / 1.0)
        assert len(stuttered.stamps) < len(out.stamps)
    assert_keeps_pace(evidence, pace, machine)


def _timeline(stamps: list[float], start: float, lasted: float) -> dict[str, object]:
    """A run's frames for the site's timeline: when each arrived, from the run's start, and how
    long the run lasted."""
    return {"frames_s": [round(stamp - start, 3) for stamp in stamps], "run_s": round(lasted, 3)}


PROCESS_RUN = """
import sys
from spinners import process_spinner
from spinners.work import is_prime
sys.setswitchinterval(1.0)  # a thread spinner here would draw once a second at best (IMP-1)
process_spinner.supervisor(lambda: is_prime({n}), interval={interval})
"""


@serial
@claim("IMP-2")
def test_the_process_spinner_keeps_its_rate_while_the_parent_computes(evidence, checked):
    """The process spinner draws at its normal pace while the supervisor computes with a switch
    interval of a whole second: the spinner has its own interpreter and its own GIL."""
    with Metronome(INTERVAL) as machine:
        t0 = time.perf_counter()
        stamps, _ = frames_of(PROCESS_RUN.format(n=checked, interval=INTERVAL))
        took = time.perf_counter() - t0
    pace = median_interval(stamps)
    evidence.record(frame_interval_s=INTERVAL, pace_while_computing_s=pace, sleeper_pace_s=machine.pace)
    evidence.record(timeline_process=_timeline(stamps, t0, took))  # (from the child's start)
    assert_keeps_pace(evidence, pace, machine)


@serial
@claim("IMP-3")
def test_the_asyncio_spinner_freezes_during_is_prime_until_it_naps(evidence):
    """Run inside the event loop, ``is_prime`` never awaits: the spinner draws nothing. The
    napping variant awaits ``asyncio.sleep(0)`` every so many divisions and the spinner draws
    again -- at a cost: the check itself takes longer."""
    frozen, napping = StampedStream(), StampedStream()
    n = prime_taking(0.15)
    # about 50 naps whatever the machine's speed (sizing n by time makes it smaller on a slow one)
    every = max(1, len(range(3, math.isqrt(n) + 1, 2)) // 50)
    t0 = time.perf_counter()
    assert asyncio.run(asyncio_spinner.supervisor(lambda: is_prime_blocking(n), interval=0.02, out=frozen))
    took_frozen = time.perf_counter() - t0
    _, _, plain = timed_cpu(lambda: asyncio.run(is_prime_blocking(n)))
    t1 = time.perf_counter()
    result, took_napping, napped = timed_cpu(
        lambda: asyncio.run(asyncio_spinner.supervisor(lambda: is_prime_napping(n, every), interval=0.02, out=napping))
    )
    frames_frozen = len(frames_in(frozen.getvalue().split("\n", 1)[1]))
    frames_napping = len(frames_in(napping.getvalue()))
    evidence.record(
        frames_blocking=frames_frozen, frames_napping=frames_napping, plain_cpu_s=plain, napping_cpu_s=napped
    )
    evidence.record(
        timeline_asyncio_blocking=_timeline(frozen.stamps, t0, took_frozen),
        timeline_asyncio_napping=_timeline(napping.stamps, t1, took_napping),
    )
    assert result is True
    assert frames_frozen == 0
    assert frames_napping >= 3
    assert napped > plain  # in CPU time, which other load on the machine does not inflate


async def _turns_given_during(check: Coroutine[Any, Any, bool]) -> tuple[bool, int]:
    """Run ``check`` in the loop beside a task that counts its own turns: each time the check
    awaits, the loop gives the counter one turn."""
    turns = 0

    async def counter() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    task = asyncio.create_task(counter())
    await asyncio.sleep(0)  # the counter's first step: it now waits for its next turn
    started = turns
    try:
        return await check, turns - started
    finally:
        task.cancel()
        await asyncio.wait([task])


@claim("IMP-3")
def test_the_napping_check_gives_the_loop_a_turn_every_so_many_divisions(evidence):
    """The napping variant awaits once every ``every`` trial divisions; the plain one never
    does. 1 000 000 007 is prime: 15 810 odd divisors up to its square root."""
    divisions = len(range(3, math.isqrt(1_000_000_007) + 1, 2))
    plain = asyncio.run(_turns_given_during(is_prime_blocking(1_000_000_007)))
    napping = asyncio.run(_turns_given_during(is_prime_napping(1_000_000_007, every=1000)))
    evidence.record(divisions=divisions, turns_plain=plain[1], turns_napping_every_1000=napping[1])
    assert plain == (True, 0)
    assert napping == (True, divisions // 1000)
    # the count is exact: a nap after the last division, none if the check ends one short
    assert asyncio.run(_turns_given_during(is_prime_napping(1_000_000_007, every=divisions))) == (True, 1)
    assert asyncio.run(_turns_given_during(is_prime_napping(1_000_000_007, every=divisions + 1))) == (True, 0)


@claim("IMP-4")
@pytest.mark.long
# trial division of the chapter's number: 1.3 s here, some 4 s on a slow CPU, ten times that
# under coverage's line tracing (it once passed this module's 15 s there)
@pytest.mark.timeout(120)
def test_the_chapters_numbers_are_classified_correctly(evidence):
    """``is_prime`` says 5 000 111 000 222 021 is prime; every fixture number has the verdict
    an independent Miller-Rabin test gives, and ``is_prime`` agrees on the quick ones."""
    prime, took = timed(lambda: is_prime(CHAPTER_PRIME))
    evidence.record(chapter_number_s=took, fixture_numbers=len(LARGE) + len(SMALL))
    assert prime is True and miller_rabin(CHAPTER_PRIME)
    for n, verdict in [*LARGE.items(), *SMALL.items()]:  # (not merged: both list 2)
        assert miller_rabin(n) is verdict, n
    for n, verdict in SMALL.items():
        assert is_prime(n) is verdict, n
    # Control: the instruments disagree with a wrong verdict.
    assert not is_prime(CHAPTER_PRIME + 2) and not miller_rabin(CHAPTER_PRIME * 3)
