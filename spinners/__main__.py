"""The ``spinners`` program (also ``python -m spinners``): the command line, and how it ends.

After a Ctrl-C the command line cleans up (the spinner blanks its line, every child is
stopped) and returns 130. The program then leaves as Python leaves on a Ctrl-C it did not
handle -- its exit handlers run, then it dies of SIGINT -- so that a shell sees what it sees
of an interrupted ``sleep``: it ends the line, and stops a loop of commands. Only the
traceback is left out: there is nothing to report.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130


def _silent(*exc_info: object) -> None:
    """An excepthook that prints nothing: for the Ctrl-C the program ends on."""


def run() -> None:
    try:
        from spinners.interrupts import resend_lost_ctrl_c

        sys.unraisablehook = resend_lost_ctrl_c  # a Ctrl-C lost in a callback comes again
        from spinners.cli import main  # a Ctrl-C while importing is quiet too

        code = main()
    except KeyboardInterrupt:  # before the command line took Ctrl-C in hand
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        sys.excepthook = _silent
        raise KeyboardInterrupt
    sys.exit(code)


if __name__ == "__main__":
    run()
