"""Child processes: running Python and the command line, reading their output as it comes,
finding what they left behind, and sending them a terminal's Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.waiting import PATIENCE, wait_until

ROOT = Path(__file__).resolve().parents[2]  # the project: tests/support/processes.py


def python(*args: str, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run this interpreter in a child process with ``args``, from the project root.

    The output is decoded as is: text mode would turn the spinners' carriage returns into newlines.
    """
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, timeout=timeout, cwd=ROOT, check=False, **kwargs
    )
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(), result.stderr.decode())


# The environment of a program started as a user starts it: block-buffered standard streams
# when its output is piped (this environment may set PYTHONUNBUFFERED, which would hide a
# missing flush), and no COLUMNS or LINES (pytest-xdist sets them in its workers; a program
# on a terminal would take them over the terminal's own size).
BUFFERED_ENV = {key: value for key, value in os.environ.items() if key not in ("PYTHONUNBUFFERED", "COLUMNS", "LINES")}


def read_some(pipe: Any) -> bytes:
    """What a child's pipe holds as soon as anything arrives (b"" at its end); fail after
    PATIENCE of silence."""
    __tracebackhide__ = True
    ready, _, _ = select.select([pipe], [], [], PATIENCE)
    assert ready, f"nothing arrived in {PATIENCE}s"
    return os.read(pipe.fileno(), 4096)


def read_until(pipe: Any, marker: bytes, what: str) -> bytes:
    """Read a child's pipe as data arrives until ``marker`` shows; fail at its end or after
    PATIENCE of silence."""
    __tracebackhide__ = True
    seen = b""
    while marker not in seen:
        chunk = read_some(pipe)
        assert chunk, f"no {what} arrived before the output ended"
        seen += chunk
    return seen


def spinners_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return python("-m", "spinners", *args, timeout=timeout)


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (Linux): ``[0]`` the state, ``[1]``
    the parent's PID, ``[3]`` the session, ``[11]``/``[12]`` user/system CPU ticks. Raises
    OSError if the process is gone."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _live_processes() -> Iterator[tuple[int, list[str]]]:
    """Every process on the machine that is not a zombie, with its ``proc_stat`` fields."""
    if not Path("/proc").is_dir():
        return
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = proc_stat(int(entry.name))
            except OSError:
                continue
            if fields[0] != "Z":  # a zombie is already dead; its reaper is elsewhere
                yield int(entry.name), fields


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Linux /proc; none where there is no /proc)."""
    return [child for child, fields in _live_processes() if int(fields[1]) == pid]


def session_members(sid: int) -> list[int]:
    """PIDs in session ``sid`` (Linux /proc): a CLI started in a new session and all it started."""
    return [member for member, fields in _live_processes() if int(fields[3]) == sid]


@contextlib.contextmanager
def cli_in_own_session(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m spinners ARGS`` started as a shell starts a job: in a session and process
    group of its own (so a Ctrl-C can go to all of it at once), output piped and block-buffered.

    On leaving without an error, it checks that every process of the run has exited (no
    orphan left); whatever is still running then, or after an error, is killed.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "spinners", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=BUFFERED_ENV,
        start_new_session=True,
    )
    try:
        yield child
        wait_until(lambda: not session_members(child.pid), "every process of the run to exit")
    finally:
        with contextlib.suppress(ProcessLookupError):  # none left: the group is gone
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(PATIENCE)
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()


def ctrl_c(child: subprocess.Popen[bytes], whole_group: bool = True) -> tuple[bytes, bytes]:
    """SIGINT to the child's whole process group, as a terminal's Ctrl-C sends it (or to the
    child alone, as ``kill -INT`` does); then its remaining output (stdout, stderr) once it
    has exited."""
    if whole_group:
        os.killpg(child.pid, signal.SIGINT)
    else:
        child.send_signal(signal.SIGINT)
    return child.communicate(timeout=PATIENCE)


@contextlib.contextmanager
def on_a_terminal(*args: str, columns: int) -> Iterator[tuple[subprocess.Popen[bytes], Iterator[bytes]]]:
    """``python -m spinners ARGS`` on a pseudo-terminal ``columns`` wide (0: of unknown size), in
    a session of its own; yields the child and an iterator over what it writes, chunk by chunk
    as it comes, until it closes the terminal. (POSIX: pty, termios.)"""
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    if columns:
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    child = subprocess.Popen(
        [sys.executable, "-m", "spinners", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=ROOT,
        env=BUFFERED_ENV,
        start_new_session=True,
    )
    os.close(terminal)

    def chunks() -> Iterator[bytes]:
        while True:
            ready, _, _ = select.select([controller], [], [], PATIENCE)
            assert ready, "the program went quiet"
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            yield chunk

    try:
        yield child, chunks()
    finally:
        os.close(controller)
        if child.poll() is None:
            child.kill()
            child.wait(PATIENCE)
