"""The spinner in a child process: a whole new interpreter animates while the parent works."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from multiprocessing import synchronize
from typing import TypeVar

from spinners.animation import INTERVAL, MESSAGE, SpinnerDied, blank_for_it, spin
from spinners.interrupts import ctrl_c_held, leave_ctrl_c_to_the_parent, start_the_resource_tracker

R = TypeVar("R")


def spin_in_child(msg: str, done: synchronize.Event, interval: float) -> None:
    """The child's target: leave Ctrl-C to the parent, which stops us through ``done``.

    If our standard output fails -- a pipe whose reader has gone (``spinners process | head -c
    20``), a full disk -- stop drawing quietly: the parent, whose writes fail too, decides how
    the program ends."""
    leave_ctrl_c_to_the_parent()
    try:
        spin(msg, done, interval, sys.stdout)
    except OSError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit


def supervisor(
    work: Callable[[], R],
    msg: str = MESSAGE,
    interval: float = INTERVAL,
    start_method: str | None = None,
) -> R:
    """Show the spinner process, start it, run ``work``, then signal it to stop and wait for it.

    ``start_method`` is ``"fork"``, ``"spawn"`` or ``"forkserver"``; None means the platform's default.
    The child writes to the standard output it inherited. A child that ended with an error or
    was killed raises ``SpinnerDied`` with the answer.
    """
    context = multiprocessing.get_context(start_method)
    start_the_resource_tracker(context.get_start_method())
    with ctrl_c_held():  # the event's semaphores, each registered with the tracker (spawn, forkserver)
        done = context.Event()
    # typeshed types get_context(str) as BaseContext; every concrete context has .Process
    spinner = context.Process(target=spin_in_child, args=(msg, done, interval))  # type: ignore[attr-defined]
    print(f"spinner object: {spinner}", flush=True)
    try:  # started inside: a Ctrl-C right after start() must still stop it
        with ctrl_c_held():  # ... and one during start() comes right after it
            spinner.start()
        answer = work()
    finally:  # also on Ctrl-C: the child blanks its line and exits, leaving no orphan
        # (set from a thread of its own: setting a multiprocessing event waits until each process
        # waiting on it has woken, which a child killed in its wait never does)
        stopper = threading.Thread(target=done.set, name="stop the spinner", daemon=True)
        with ctrl_c_held():  # (and born with the ending signals held, like any thread of ours)
            stopper.start()
        if spinner.is_alive():
            spinner.join()  # it ends, however it ends
        if spinner.exitcode == 0:  # it saw the event set: the setter has only to return. Wait
            stopper.join()  # for it, so the event is freed even if the program next kills itself
    if spinner.exitcode != 0:
        blank_for_it(msg, sys.stdout)
        raise SpinnerDied(f"its process ended with exit code {spinner.exitcode}", answer)
    return answer
