"""Ctrl-C and child processes: a child leaves Ctrl-C to its parent, which stops it.

A terminal's Ctrl-C goes to every process of the foreground job. A child that took it would
die wherever it happened to be (printing a traceback), so children ignore it and the parent,
which gets it as ``KeyboardInterrupt``, stops them. While a child is being started, the
parent holds a Ctrl-C back: the child is born with it held (and then drops it), and the
parent gets it right after -- never in the middle of ``fork`` or of the start-up
bookkeeping, where Python can only print "Exception ignored".

Anywhere else, a Ctrl-C can still land in code that Python cannot raise from: a weakref
callback, such as the one that drops an import's lock, or a ``__del__``. Python then prints
"Exception ignored" and goes on as if there had been no Ctrl-C. The program's hook sends the
Ctrl-C again, to arrive once that callback is over -- and, like the first, not while a child is
being started.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
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


def resend_lost_ctrl_c(unraisable: sys.UnraisableHookArgs) -> None:
    """A ``sys.unraisablehook`` for the program: a ``KeyboardInterrupt`` that Python could only
    print is sent again as SIGINT, from a thread of its own so that it arrives after the
    callback it landed in; anything else is printed as Python prints it."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        if CAN_HOLD:
            # POSIX: to the main thread, which takes it even in a system call, and which may be
            # holding Ctrl-C back by then (``ctrl_c_held``). Sent to the process, it would go to
            # the sending thread, and the main thread would raise it in the middle of a start.
            main = threading.main_thread().ident
            assert main is not None  # (it is running: it started the program)
            _thread.start_new_thread(signal.pthread_kill, (main, signal.SIGINT))
        else:
            _thread.start_new_thread(signal.raise_signal, (signal.SIGINT,))
    else:
        sys.__unraisablehook__(unraisable)
