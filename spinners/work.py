"""The slow work a supervisor runs while its spinner animates (the coroutine versions, for the
asyncio spinner, are in :mod:`spinners.asyncio_spinner`)."""

from __future__ import annotations

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
