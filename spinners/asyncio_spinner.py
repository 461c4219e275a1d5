"""The spinner as an asyncio task: one thread, one event loop, two coroutines taking turns.

Also the slow work as coroutines: sleeping (which yields to the loop), checking a number
without ever awaiting (which holds the loop), and checking it napping now and then."""

from __future__ import annotations

import asyncio
import itertools
import math
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO, TypeVar

from spinners.animation import FRAMES, INTERVAL, MESSAGE, SpinnerDied, blank, blank_for_it, draw
from spinners.work import ANSWER, DELAY, NAP_EVERY, is_prime

R = TypeVar("R")


async def spin(msg: str = MESSAGE, interval: float = INTERVAL, out: TextIO | None = None) -> None:
    """Draw frames until cancelled; ``CancelledError`` arrives at the ``await`` and ends the loop."""
    stream = sys.stdout if out is None else out
    status = ""
    for char in itertools.cycle(FRAMES):  # pragma: no branch  (endless: only the break leaves it)
        status = draw(char, msg, stream)
        try:
            await asyncio.sleep(interval)
        except asyncio.CancelledError:
            break
    blank(status, stream)


async def supervisor(
    work: Callable[[], Awaitable[R]],
    msg: str = MESSAGE,
    interval: float = INTERVAL,
    out: TextIO | None = None,
) -> R:
    """Schedule the spinner task, show it, await ``work``, then cancel the spinner.

    A spinner task that ended before it was cancelled (it crashed) raises ``SpinnerDied`` with
    the answer."""
    stream = sys.stdout if out is None else out
    spinner = asyncio.create_task(spin(msg, interval, stream))
    try:  # from its creation on: a Ctrl-C even in the print must still stop it
        print(f"spinner object: {spinner}", file=stream, flush=True)
        answer = await work()
        crashed = spinner.done()  # it only ends once cancelled
    finally:
        spinner.cancel()
        await asyncio.wait([spinner])  # let it blank its line; never raises the task's outcome
    if crashed:
        blank_for_it(msg, stream)
        raise SpinnerDied(f"its task ended with {spinner.exception()!r}", answer)
    return answer


async def slow_async(delay: float = DELAY) -> int:
    """Suspend the calling coroutine for ``delay`` seconds, letting the event loop run others."""
    await asyncio.sleep(delay)
    return ANSWER


async def is_prime_blocking(n: int) -> bool:
    """A coroutine that never awaits: it holds the event loop for the whole check."""
    return is_prime(n)


async def is_prime_napping(n: int, every: int = NAP_EVERY) -> bool:
    """Like :func:`is_prime`, but awaits ``asyncio.sleep(0)`` every ``every`` divisions."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    for count, divisor in enumerate(range(3, math.isqrt(n) + 1, 2), start=1):
        if count % every == 0:
            await asyncio.sleep(0)
        if n % divisor == 0:
            return False
    return True
