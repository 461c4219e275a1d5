"""The animation drawn by every spinner: one frame, one line, overwritten in place."""

from __future__ import annotations

import itertools
import sys
from typing import Protocol, TextIO

FRAMES = "\\|/-"
MESSAGE = "thinking!"
INTERVAL = 0.1  # seconds between two frames


class SpinnerDied(RuntimeError):
    """The spinner stopped before it was told to (a crash, a kill): the work's answer is kept."""

    def __init__(self, how: str, answer: object) -> None:
        super().__init__(f"the spinner died: {how}")
        self.answer = answer


class Signal(Protocol):
    """What a spinner needs from its stop signal: ``threading`` and ``multiprocessing`` events both fit."""

    def wait(self, timeout: float | None = None) -> bool: ...


def draw(char: str, msg: str, out: TextIO) -> str:
    """Write one frame at the start of the line and flush it, so a pipe or a file sees it at once."""
    status = f"\r{char} {msg}"
    out.write(status)
    out.flush()
    return status


def width(text: str) -> int:
    """The columns ``text`` takes on a terminal: two for a wide character such as 計, none for a
    combining accent."""
    if text.isascii():  # one column a character (a control character: counted as one too)
        return len(text)
    from wcwidth import wcswidth  # imported only for text beyond ASCII: its tables take time to load

    columns = wcswidth(text)
    return columns if columns >= 0 else len(text)  # -1: a control character; count characters


def blank(status: str, out: TextIO) -> None:
    """Overwrite the last frame with spaces and put the cursor back at the start of the line."""
    out.write("\r" + " " * width(status.lstrip("\r")) + "\r")
    out.flush()


def blank_for_it(msg: str, out: TextIO) -> None:
    """Blank the line for a spinner that died: its last frame of ``msg`` may still show."""
    blank(f"{FRAMES[0]} {msg}", out)


def spin(msg: str, done: Signal, interval: float = INTERVAL, out: TextIO | None = None) -> None:
    """Draw frames until ``done`` is set, one every ``interval`` seconds, then blank the line.

    ``done.wait(interval)`` is both the clock and the stop signal: it returns False
    when the interval has passed and True as soon as the event is set.
    """
    stream = sys.stdout if out is None else out
    status = ""
    for char in itertools.cycle(FRAMES):  # pragma: no branch  (endless: only the break leaves it)
        status = draw(char, msg, stream)
        if done.wait(interval):
            break
    blank(status, stream)
