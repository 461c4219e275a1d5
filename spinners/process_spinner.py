"""The spinner in a child process: a whole new interpreter animates while the parent works."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from multiprocessing import synchronize
from typing import TypeVar

from spinners.animation import INTERVAL, MESSAGE, spin
from spinners.interrupts import ctrl_c_held, leave_ctrl_c_to_the_parent

R = TypeVar("R")


def spin_in_child(msg: str, done: synchronize.Event, interval: float) -> None:
    """The child's target: leave Ctrl-C to the parent, which stops us through ``done``.

    If our standard output is a pipe whose reader has gone (``spinners process | head -c 20``),
    stop drawing quietly: the parent decides how the program ends."""
    leave_ctrl_c_to_the_parent()
    try:
        spin(msg, done, interval, sys.stdout)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit


def supervisor(
    work: Callable[[], R],
    msg: str = MESSAGE,
    interval: float = INTERVAL,
    start_method: str | None = None,
) -> R:
    """Show the spinner process, start it, run ``work``, then signal it to stop and wait for it.

    ``start_method`` is ``"fork"``, ``"spawn"`` or ``"forkserver"``; None means the platform's default.
    The child writes to the standard output it inherited.
    """
    context = multiprocessing.get_context(start_method)
    done = context.Event()
    # typeshed types get_context(str) as BaseContext; every concrete context has .Process
    spinner = context.Process(target=spin_in_child, args=(msg, done, interval))  # type: ignore[attr-defined]
    print(f"spinner object: {spinner}", flush=True)
    try:  # started inside: a Ctrl-C right after start() must still stop it
        with ctrl_c_held():  # ... and one during start() comes right after it
            spinner.start()
        return work()
    finally:  # also on Ctrl-C: the child blanks its line and exits, leaving no orphan
        done.set()
        if spinner.is_alive():
            spinner.join()
