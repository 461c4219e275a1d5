"""The real impact of the GIL: the spinners beside CPU-bound work instead of a sleep."""

from __future__ import annotations

import asyncio
import io
import math
import sys
from collections.abc import Coroutine
from typing import Any

import pytest

from spinners import asyncio_spinner, thread_spinner
from spinners.prime_pool import LARGE, SMALL
from spinners.work import PRIME, is_prime, is_prime_blocking, is_prime_napping
from tests.helpers import GIL_OFF, cpus, frames_in, python, timed

claim = pytest.mark.claim
serial = pytest.mark.serial
CHECKED = 1_000_000_000_000_037  # a prime: a full trial division, about half a second here
QUICKER = 99_999_999_999_973  # a prime too, a third of the time
INTERVAL = 0.05


def miller_rabin(n: int) -> bool:
    """An independent primality test, deterministic below 3.3e24."""
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


@serial
@claim("IMP-1")
def test_the_thread_spinner_keeps_drawing_beside_cpu_bound_work_and_stutters_with_a_long_interval(evidence):
    """With ``is_prime`` as the slow work the thread spinner still draws, about one frame per
    interval: the computing thread is made to let go of the GIL every switch interval. Raise
    the interval to a second and the spinner gets the GIL back only once the check ends."""
    out = io.StringIO()
    prime, took = timed(lambda: thread_spinner.supervisor(lambda: is_prime(CHECKED), interval=INTERVAL, out=out))
    smooth = len(frames_in(out.getvalue()))
    sys.setswitchinterval(1.0)  # restored by the leak guard
    out = io.StringIO()
    _, took_long = timed(lambda: thread_spinner.supervisor(lambda: is_prime(CHECKED), interval=INTERVAL, out=out))
    stuttering = len(frames_in(out.getvalue()))
    evidence.record(frames_5ms=smooth, expected=took / INTERVAL, frames_1s=stuttering, check_s=took)
    assert prime is True
    assert smooth >= 0.5 * took / INTERVAL
    if GIL_OFF:  # nothing to wait for: the spinner draws on whatever the interval
        evidence.not_applicable("the GIL is disabled on this build: a long switch interval holds nobody back")
        assert stuttering >= 0.5 * took_long / INTERVAL
        return
    # One frame before the check grabs the GIL, one per full second it is made to let go,
    # maybe one as it ends -- where a 5 ms interval gave one per frame interval.
    assert stuttering <= 2 + int(took_long / 1.0)
    assert stuttering < smooth


PROCESS_RUN = """
import sys, time
from spinners import process_spinner
from spinners.work import is_prime, slow
work = (lambda: is_prime({n})) if sys.argv[1] == "prime" else (lambda: slow({seconds}))
t0 = time.perf_counter()
process_spinner.supervisor(work, interval={interval})
print(f"\\nseconds={{time.perf_counter() - t0}}")
"""


def _process_rate(kind: str, seconds: float) -> float:
    script = PROCESS_RUN.format(n=CHECKED, seconds=seconds, interval=INTERVAL)
    result = python("-c", script, kind, timeout=60)
    assert result.returncode == 0, result.stderr
    body, tail = result.stdout.rsplit("\nseconds=", 1)
    return len(frames_in(body)) / float(tail)


@serial
@claim("IMP-2")
def test_the_process_spinner_keeps_its_rate_while_the_parent_computes(evidence):
    """The process spinner draws at its normal rate while the supervisor computes: it has its
    own interpreter and GIL, and another core. Control: its rate beside a sleep."""
    if cpus() < 2:
        evidence.not_demonstrable(f"the spinner needs a second core, and this process has {cpus()}")
    _, took = timed(lambda: is_prime(CHECKED))
    computing = _process_rate("prime", took)
    sleeping = _process_rate("sleep", took)
    evidence.record(frames_per_s_computing=computing, frames_per_s_sleeping=sleeping)
    # Start-up and shut-down are inside both windows alike; a frozen spinner would be near 0.
    assert computing >= 0.6 * sleeping


@serial
@claim("IMP-3")
def test_the_asyncio_spinner_freezes_during_is_prime_until_it_naps(evidence):
    """Run inside the event loop, ``is_prime`` never awaits: the spinner draws nothing. The
    napping variant awaits ``asyncio.sleep(0)`` every so many divisions and the spinner draws
    again -- at a cost: the check itself takes longer."""
    frozen, napping = io.StringIO(), io.StringIO()
    n = QUICKER  # some 5 million divisions: a hundred naps
    assert asyncio.run(asyncio_spinner.supervisor(lambda: is_prime_blocking(n), interval=0.02, out=frozen))
    _, plain = timed(lambda: asyncio.run(is_prime_blocking(n)))
    result, napped = timed(
        lambda: asyncio.run(asyncio_spinner.supervisor(lambda: is_prime_napping(n), interval=0.02, out=napping))
    )
    frames_frozen = len(frames_in(frozen.getvalue().split("\n", 1)[1]))
    frames_napping = len(frames_in(napping.getvalue()))
    evidence.record(frames_blocking=frames_frozen, frames_napping=frames_napping, plain_s=plain, napping_s=napped)
    assert result is True
    assert frames_frozen == 0
    assert frames_napping >= 3
    assert napped > plain


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
def test_the_chapters_numbers_are_classified_correctly(evidence):
    """``is_prime`` says 5 000 111 000 222 021 is prime; every fixture number has the verdict
    an independent Miller-Rabin test gives, and ``is_prime`` agrees on the quick ones."""
    prime, took = timed(lambda: is_prime(PRIME))
    evidence.record(chapter_number_s=took, fixture_numbers=len(LARGE) + len(SMALL))
    assert prime is True and miller_rabin(PRIME)
    for n, verdict in [*LARGE.items(), *SMALL.items()]:  # (not merged: both list 2)
        assert miller_rabin(n) is verdict, n
    for n, verdict in SMALL.items():
        assert is_prime(n) is verdict, n
    # Control: the instruments disagree with a wrong verdict.
    assert not is_prime(PRIME + 2) and not miller_rabin(PRIME * 3)
