"""The ``spinners`` program (also ``python -m spinners``): the command line, and how it ends.

After a Ctrl-C the command line cleans up (the spinner blanks its line, every child is
stopped) and returns 130. The program then leaves as Python leaves on a Ctrl-C it did not
handle -- its exit handlers run, then it dies of SIGINT -- so that a shell sees what it sees
of an interrupted ``sleep``: it ends the line, and stops a loop of commands. Only the
traceback is left out: there is nothing to report. SIGTERM and SIGHUP end it the same way,
the program dying of that signal (a shell reports 143 and 129).

The hook that sends again a Ctrl-C that Python could only print is set first, before any
import that takes time.
"""

from __future__ import annotations

import sys


def _silent(*exc_info: object) -> None:
    """An excepthook that prints nothing: for the Ctrl-C the program ends on."""


try:
    from spinners.interrupts import resend_lost_ctrl_c  # (small, but ``signal`` may not be loaded yet)
except KeyboardInterrupt:  # a Ctrl-C this early is quiet too (seen on PyPy: in the import of signal)
    sys.excepthook = _silent
    raise

sys.unraisablehook = resend_lost_ctrl_c  # a Ctrl-C lost in a callback comes again

EXIT_INTERRUPTED = 130  # 128 + SIGINT


def run() -> None:
    sys.unraisablehook = resend_lost_ctrl_c  # (again: run() may be called on its own)
    try:
        from spinners.cli import main  # a Ctrl-C while importing is quiet too

        code = main()
    except KeyboardInterrupt:  # before the command line took Ctrl-C in hand
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        sys.excepthook = _silent
        raise KeyboardInterrupt
    if code > 128:  # SIGTERM, SIGHUP: clean-up done, die of the signal as the shell expects
        import contextlib
        import os
        import signal

        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed, full, or none
            sys.stdout.flush()
        signal.signal(code - 128, signal.SIG_DFL)
        os.kill(os.getpid(), code - 128)
    sys.exit(code)


if __name__ == "__main__":
    run()
