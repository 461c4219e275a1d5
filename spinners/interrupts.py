"""Ctrl-C and child processes: a child leaves Ctrl-C to its parent, which stops it.

A terminal's Ctrl-C goes to every process of the foreground job. A child that took it would
die wherever it happened to be (printing a traceback), so children ignore it and the parent,
which gets it as ``KeyboardInterrupt``, stops them. While a child is being started, the
parent holds a Ctrl-C back: the child is born with it held (and then drops it), and the
parent gets it right after -- never in the middle of ``fork`` or of the start-up
bookkeeping, where Python can only print "Exception ignored".
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

CAN_HOLD = hasattr(signal, "pthread_sigmask")  # POSIX


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Hold back SIGINT for the duration of the block; it is delivered when the block ends.

    The signal mask is the calling thread's: this holds a terminal's Ctrl-C for a process whose
    only thread is the one starting the child, as the command line's is. (In a process with
    other threads, one of them may take the signal meanwhile.)"""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if CAN_HOLD else set()
    try:
        yield
    finally:
        if CAN_HOLD:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def leave_ctrl_c_to_the_parent() -> None:
    """In a child: ignore SIGINT from now on, dropping one held back while it was started."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if CAN_HOLD:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
