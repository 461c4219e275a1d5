"""Child processes: running Python and the command line, reading their output as it comes,
finding what they left behind (psutil, on every OS), and sending them a terminal's Ctrl-C.

Helpers that need what only some platforms have (select() on pipes, sessions, a
pseudo-terminal) say so with ``platforms.require``: the test then ends *not demonstrable on
this platform* instead of failing."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from tests.support.platforms import has, require, waits_in_kernel_sleep
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
# on a terminal would take them over the terminal's own size). Read at each start, as a child
# would inherit it (spec.covering labels each child with the test that started it).
def buffered_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONUNBUFFERED", "COLUMNS", "LINES")}


def read_some(pipe: Any) -> bytes:
    """What a child's pipe holds as soon as anything arrives (b"" at its end); fail after
    PATIENCE of silence."""
    __tracebackhide__ = True
    require("select on pipes")
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


# ``SPEC_START_METHOD=forkserver`` (or spawn): the program's children are started that way too,
# as on a platform whose default it is (forkserver: Linux's from 3.14), on any Python here.
START_METHOD = os.environ.get("SPEC_START_METHOD")
AS_DEFAULT = "import multiprocessing, sys; multiprocessing.set_start_method(sys.argv.pop(1)); from spinners.__main__ import run; run()"


def spinners_command(*args: str) -> list[str]:
    """The command that runs ``spinners ARGS``: ``python -m spinners``, with the start method
    SPEC_START_METHOD names made the default first."""
    if START_METHOD:
        return [sys.executable, "-c", AS_DEFAULT, START_METHOD, *args]
    return [sys.executable, "-m", "spinners", *args]


def spinners_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return python(*spinners_command(*args)[1:], timeout=timeout)


def _alive(process: psutil.Process) -> bool:
    """Running, sleeping or stopped: not gone, and not a zombie (already dead; its reaper is elsewhere)."""
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def children_of(pid: int) -> list[int]:
    """PIDs of the live processes whose parent is ``pid`` (psutil: every OS)."""
    try:
        children = psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []
    return [child.pid for child in children if _alive(child)]


def session_members(sid: int) -> list[int]:
    """PIDs of the live processes in session ``sid``: a CLI started in a new session and all it
    started, even those whose parent died (POSIX sessions; callers need "job control")."""
    require("job control")
    members = []
    for process in psutil.process_iter():
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to ask about
            if os.getsid(process.pid) == sid and _alive(process):
                members.append(process.pid)
    return members


def computing(pid: int) -> bool:
    """The kernel shows the main thread of ``pid`` running (on a CPU or ready for one), not
    waiting: what it is doing now, where CPU seconds used so far would count its start-up too
    (under coverage, a start-up alone uses a third of a second)."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_RUNNING)
    except psutil.NoSuchProcess:
        return False


def children_below(pid: int) -> list[int]:
    """The processes the program under ``pid`` started to work for it -- a spinner, the pool's
    workers -- wherever the start method puts them: under forkserver (Linux's default from 3.14)
    they are the fork server's children, not the program's. multiprocessing's helpers are left
    out: the resource tracker, and the fork server (a child of the program whose command line
    names it; its own children, forked from it, show the same command line).

    Under spawn and forkserver, a child of the program that still shows the program's own
    command line is between its fork and its exec: a helper or a spawned worker on its way, not
    yet at work (once, under forkserver, the fork server and the resource tracker so caught
    passed for the two workers). Under fork every worker shows it, for good."""
    found = []
    execs = multiprocessing.get_start_method() != "fork"  # (the program's too: the same default)
    try:
        program = psutil.Process(pid)
        below, own_command = program.children(recursive=True), program.cmdline()
    except psutil.NoSuchProcess:
        return []
    for process in below:
        with contextlib.suppress(psutil.NoSuchProcess):
            command = process.cmdline()
            words, direct = " ".join(command), process.ppid() == pid
            helper = "resource_tracker" in words or ("forkserver" in words and direct)
            on_its_way = execs and direct and command == own_command
            if not helper and not on_its_way and _alive(process):
                found.append(process.pid)
    return found


def computing_below(pid: int) -> list[int]:
    """The workers under ``pid`` (:func:`children_below`) that are computing now."""
    return [child for child in children_below(pid) if computing(child)]


def wait_for_its_sleep(pid: int) -> None:
    """Where the kernel tells (Linux), wait until the main thread of ``pid`` sleeps in its work.

    A test of what a Ctrl-C does to a sleeping program must send it once the sleep has begun:
    CPython looks for a signal before ``time.sleep`` enters its system call and after it, not
    in between, so a Ctrl-C that lands just before the sleep begins is acted on only when the
    sleep ends. (Seen: 3 runs in 15 of a shell loop whose Ctrl-C came with the first frame.)"""
    if has("kernel wait channels"):
        wait_until(lambda: waits_in_kernel_sleep(pid), "the program to sleep in its work")


def ended(pid: int) -> bool:
    """Gone, or a zombie waiting for whatever reaps orphans here: not running, either way."""
    try:
        return not _alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return True


@contextlib.contextmanager
def cli_in_own_session(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m spinners ARGS`` started as a shell starts a job: in a session and process
    group of its own (so a Ctrl-C can go to all of it at once), output piped and block-buffered.

    On leaving without an error, it checks that every process of the run has exited (no
    orphan left); whatever is still running then, or after an error, is killed.
    """
    require("job control", "select on pipes")
    child = subprocess.Popen(
        spinners_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=buffered_env(),
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
    as it comes, until it closes the terminal."""
    require("a terminal", "job control")
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    if columns:
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    child = subprocess.Popen(
        spinners_command(*args),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=ROOT,
        env=buffered_env(),
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
