"""The spinner on a thread: ``threading.Thread`` animates while the main thread works."""

from __future__ import annotations

import sys
from collections.abc import Callable
from threading import Event, Thread
from typing import TextIO, TypeVar

from spinners.animation import INTERVAL, MESSAGE, SpinnerDied, blank_for_it, spin
from spinners.interrupts import ctrl_c_held

R = TypeVar("R")


def supervisor(
    work: Callable[[], R],
    msg: str = MESSAGE,
    interval: float = INTERVAL,
    out: TextIO | None = None,
) -> R:
    """Show the spinner thread, start it, run ``work``, then signal it to stop and wait for it.

    A spinner that ended before it was told to (it crashed) raises ``SpinnerDied`` with the answer."""
    stream = sys.stdout if out is None else out
    done = Event()
    spinner = Thread(target=spin, args=(msg, done, interval, stream))
    print(f"spinner object: {spinner}", file=stream, flush=True)
    try:  # started inside: a Ctrl-C right after start() must still stop it
        with ctrl_c_held():  # ... and one during start(), which waits on a lock, comes right after
            spinner.start()  # (the spinner is born with them held: they go to the main thread)
        answer = work()
        crashed = not spinner.is_alive()  # it only ends once told to
    finally:  # also on Ctrl-C: the spinner blanks its line before we leave
        done.set()
        if spinner.is_alive():
            spinner.join()
    if crashed:
        blank_for_it(msg, stream)
        raise SpinnerDied("its thread ended with an error", answer)
    return answer
