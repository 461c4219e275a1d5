"""The spinner in another interpreter: ``concurrent.interpreters`` (Python 3.14 and later).

The spinner runs on a thread of this process, in an interpreter of its own, with its own
modules and its own GIL; the main interpreter does the work. Nothing is shared but values:
the stop signal is a ``concurrent.interpreters`` queue, the only channel between the two.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from spinners.animation import INTERVAL, MESSAGE, SpinnerDied, blank_for_it, spin
from spinners.interrupts import ctrl_c_held

R = TypeVar("R")
POLL = 0.01  # seconds: how often the spinner looks at its queue between two frames


class QueueSignal:
    """``done.wait(interval)`` on a ``concurrent.interpreters`` queue: True once anything has
    been put there, False when ``timeout`` has passed.

    The queue's own ``get(timeout=...)`` will not do: it truncates the timeout to whole
    seconds, so that ``get(timeout=0.1)`` returns at once (CPython issue gh-153005), and polls
    every 10 ms anyway. This looks as often, and waits the time it is given."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def wait(self, timeout: float | None = None) -> bool:
        from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

        end = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                self.queue.get_nowait()
                return True
            except interpreters.QueueEmpty:
                left = POLL if end is None else end - time.monotonic()
                if left <= 0:
                    return False
                time.sleep(min(POLL, left))


def spin_in_interpreter(msg: str, stop: Any, started: Any, interval: float) -> None:
    """Run in the spinner's interpreter: say so on ``started``, then draw until ``stop`` has an item.

    If standard output fails -- a pipe whose reader has gone, a full disk -- stop drawing
    quietly: the main interpreter, whose writes fail too, decides how the program ends."""
    started.put(True)
    try:
        spin(msg, QueueSignal(stop), interval, sys.stdout)
    except OSError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def supervisor(work: Callable[[], R], msg: str = MESSAGE, interval: float = INTERVAL) -> R:
    """Show the spinner's interpreter, start the spinner in it on a new thread, run ``work``,
    then put a stop on its queue and wait for it.

    It writes to this process's standard output, through its own ``sys.stdout``. A spinner
    that ended before it was told to (it crashed) raises ``SpinnerDied`` with the answer."""
    from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

    interpreter = interpreters.create()
    try:
        stop, started = interpreters.create_queue(), interpreters.create_queue()
        interpreter.prepare_main(path=tuple(sys.path))  # to import this package as we did
        interpreter.exec("import sys; sys.path[:] = path")
        print(f"spinner object: {interpreter!r}", flush=True)
        spinner = None
        try:  # started inside: a Ctrl-C right after the start must still stop it
            with ctrl_c_held():  # ... and one during it comes right after (the thread is born with them held)
                spinner = interpreter.call_in_thread(spin_in_interpreter, msg, stop, started, interval)
            # Wait until it runs in its interpreter. Until then the thread runs in ours (to start,
            # and to import there what ours already has): work begun at once would hold it back
            # for a switch interval at each step, a whole second at ``sys.setswitchinterval(1)``.
            while started.empty() and spinner.is_alive():
                spinner.join(POLL)
            answer = work()
            crashed = not spinner.is_alive()  # it only ends once told to
        finally:  # also on Ctrl-C: the spinner blanks its line before we leave
            stop.put(None)
            if spinner is not None:
                spinner.join()
    finally:
        interpreter.close()
    if crashed:
        blank_for_it(msg, sys.stdout)
        raise SpinnerDied("its interpreter's thread ended with an error", answer)
    return answer
