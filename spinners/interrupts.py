"""How the program ends, and how its children end with it.

Ctrl-C (SIGINT), ``kill`` (SIGTERM) and a closed terminal (SIGHUP) all end the program the same
way: the main process gets them as a ``KeyboardInterrupt`` (for SIGTERM and SIGHUP, the subclass
:class:`Ended`, which says which signal it was), cleans up, and stops its children.

A terminal's signals go to every process of the foreground job. A child that took one would
die wherever it happened to be (printing a traceback, leaving its frame on the line), so
children ignore them and the parent stops them. While a child is being started, the parent
holds these signals back: the child is born with them held (and then drops them), and the
parent gets them right after -- never in the middle of ``fork`` or of the start-up
bookkeeping, where Python can only print "Exception ignored".

The helpers multiprocessing starts on the way (spawn's resource tracker, the fork server) are
born with these signals held too, and keep them so: a hang-up sent to the whole group would
otherwise kill the resource tracker, which ignores only SIGINT and SIGTERM, under the program.

A child also watches its parent: if the parent dies without stopping it (SIGKILL, a crash),
the child ends too, rather than drawing or computing for ever as an orphan.

Anywhere else, a signal can still land in code that Python cannot raise from: a weakref
callback, such as the one that drops an import's lock, or a ``__del__``. Python then prints
"Exception ignored" and goes on as if there had been no signal. The program's hook sends the
signal again, to arrive once that callback is over -- and, like the first, not while a child
is being started.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

# (threading and multiprocessing are imported where they are used: the program sets its hook,
# below, before any import that takes time, so that a Ctrl-C lost in one comes again)

CAN_HOLD = hasattr(signal, "pthread_sigmask")  # POSIX
# The signals that end the program: Ctrl-C, kill's default, and the terminal hanging up.
ENDING = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])


class Ended(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where a Ctrl-C would be, so that the same clean-up runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def signal_of(interrupt: KeyboardInterrupt) -> int:
    """The signal behind ``interrupt``: SIGINT for a plain ``KeyboardInterrupt``."""
    return interrupt.signum if isinstance(interrupt, Ended) else int(signal.SIGINT)


def raise_ended(signum: int, frame: FrameType | None) -> None:
    """A signal handler: SIGTERM and SIGHUP raise :class:`Ended` in the main thread."""
    raise Ended(signum)


def end_on_every_signal() -> None:
    """In the main process: each ending signal raises a ``KeyboardInterrupt`` -- even if whoever
    started us left SIGINT ignored."""
    for signum in ENDING:
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else raise_ended)


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Hold back the ending signals for the duration of the block; they are delivered when it ends.

    The signal mask is the calling thread's: this holds a terminal's Ctrl-C for a process whose
    only thread is the one starting the child, as the command line's is. (In a process with
    other threads, one of them may take the signal meanwhile.)"""
    # The mask is read first and the signals blocked inside the ``try``: a Ctrl-C that came just
    # before is raised as the blocking call returns, and raised there it must not leave them held
    # for good (the program, dying of SIGINT at its end, would then exit 130 instead).
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ()) if CAN_HOLD else set()
    try:
        if CAN_HOLD:
            signal.pthread_sigmask(signal.SIG_BLOCK, set(ENDING))
        yield
    finally:
        if CAN_HOLD:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def ctrl_c_kept() -> Iterator[None]:
    """Raise the Ctrl-C itself when an error comes out of its handling in the block.

    On PyPy (8.0, Python 3.11), a Ctrl-C that lands as a ``with`` statement begins -- the
    pool's wait, ``multiprocessing.connection.wait``, opens one on every call -- can come out
    as ``TypeError: 'list' object is not callable``, raised while the interrupt was being
    handled: the program printed a traceback and exited 1 (seen once, under load). The
    interrupt is that error's context."""
    try:
        yield
    except TypeError as error:
        if isinstance(error.__context__, KeyboardInterrupt):
            raise error.__context__ from None
        raise


def start_the_resource_tracker(start_method: str) -> None:
    """Start multiprocessing's resource tracker now, in a hold of its own, if ``start_method``
    needs it (spawn and forkserver register their semaphores with it).

    Up to 3.13, and on PyPy, multiprocessing blocks SIGINT and SIGTERM while it starts the
    tracker and then unblocks them (CPython gh-127586), even inside a hold of ours. A Ctrl-C
    waiting there was then raised in the middle of what the hold was for: between a
    semaphore's registration and its clean-up handler, and the tracker reported a leaked
    semaphore at exit (PyPy under load: 20 of 100 Ctrl-Cs sent as the tracker started).
    Started here, the tracker is running before the hold that needs it, and is not started
    again there."""
    if start_method == "fork" or os.name != "posix":
        return
    from multiprocessing import resource_tracker

    with ctrl_c_held():
        resource_tracker.ensure_running()


def leave_ctrl_c_to_the_parent() -> None:
    """In a child: ignore the ending signals from now on, dropping any held back while it was
    started; and end if the parent dies without stopping us."""
    for signum in ENDING:
        signal.signal(signum, signal.SIG_IGN)
    if CAN_HOLD:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(ENDING))
    end_with_the_parent()


def end_with_the_parent() -> None:
    """In a child process: a watcher thread ends this process when its parent dies, however it
    dies. The parent's sentinel, which multiprocessing gives every child (fork, spawn and
    forkserver alike), becomes ready when the parent is gone. (Linux's ``PR_SET_PDEATHSIG``
    would not do under forkserver: a child's parent there is the fork server.)"""
    import multiprocessing.connection
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)  # pragma: no cover  (nothing left to clean up; nor can coverage save what it saw)

    threading.Thread(target=watch, name="parent watcher", daemon=True).start()


def resend_lost_ctrl_c(unraisable: sys.UnraisableHookArgs) -> None:
    """A ``sys.unraisablehook`` for the program: a ``KeyboardInterrupt`` (or :class:`Ended`) that
    Python could only print is sent again as its signal, from a thread of its own so that it
    arrives after the callback it landed in; anything else is printed as Python prints it."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        signum = unraisable.exc_value.signum if isinstance(unraisable.exc_value, Ended) else signal.SIGINT
        try:
            _send_again(signum)
        except KeyboardInterrupt:  # the same signal raised once more, inside this hook (seen on PyPy)
            _send_again(signum)
    else:
        sys.__unraisablehook__(unraisable)


def _send_again(signum: int) -> None:
    try:
        if CAN_HOLD:
            import threading  # (already imported by then: the command line imports it)

            # POSIX: to the main thread, which takes it even in a system call, and which may be
            # holding signals back by then (``ctrl_c_held``). Sent to the process, it would go to
            # the sending thread, and the main thread would raise it in the middle of a start.
            main = threading.main_thread().ident
            assert main is not None  # (it is running: it started the program)
            _thread.start_new_thread(signal.pthread_kill, (main, signum))
        else:
            _thread.start_new_thread(signal.raise_signal, (signum,))
    except RuntimeError:  # no thread starts at interpreter shutdown: the program is ending anyway
        pass
