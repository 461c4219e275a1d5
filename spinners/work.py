"""The slow work a supervisor runs while its spinner animates."""

from __future__ import annotations

import asyncio
import math
import time

ANSWER = 42
DELAY = 3.0  # seconds, as in the chapter
PRIME = 5_000_111_000_222_021  # the chapter's large prime: a few seconds of trial division
NAP_EVERY = 50_000  # trial divisions between two naps of the napping variant


def slow(delay: float = DELAY) -> int:
    """Block the calling thread for ``delay`` seconds (``time.sleep`` releases the GIL), then answer."""
    time.sleep(delay)
    return ANSWER


async def slow_async(delay: float = DELAY) -> int:
    """Suspend the calling coroutine for ``delay`` seconds, letting the event loop run others."""
    await asyncio.sleep(delay)
    return ANSWER


def is_prime(n: int) -> bool:
    """Trial division by 2 and by every odd number up to the square root of ``n``."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    for divisor in range(3, math.isqrt(n) + 1, 2):
        if n % divisor == 0:
            return False
    return True


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
