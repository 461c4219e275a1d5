"""The spinner as an asyncio task: one thread, one event loop, two coroutines taking turns."""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO, TypeVar

from spinners.animation import FRAMES, INTERVAL, MESSAGE, blank, draw

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
    """Schedule the spinner task, show it, await ``work``, then cancel the spinner."""
    stream = sys.stdout if out is None else out
    spinner = asyncio.create_task(spin(msg, interval, stream))
    print(f"spinner object: {spinner}", file=stream)
    try:
        return await work()
    finally:
        spinner.cancel()
        await asyncio.wait([spinner])  # let it blank its line; never raises the task's outcome
