"""Every way the program can end, and what it leaves: a signal to it or to its whole group, a
killed parent or child, a full disk, a closed standard output, a reader that goes away, and a
Ctrl-C in its first milliseconds. Nothing of the run may outlive it.

(Ctrl-C itself, mid-run, is in test_00_package and test_11_command_line. The start method is
the platform's here; tox's spawn and forkserver environments run the same tests under theirs.)
"""

from __future__ import annotations

import asyncio
import errno
import functools
import io
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import TextIO, cast

import psutil
import pytest

from spinners.cli import QuietPipe, main, numbers_to_check, stop_when_the_reader_goes
from spinners.work import slow
from tests.support.platforms import needs
from tests.support.primes import prime_taking
from tests.support.processes import (
    ROOT,
    buffered_env,
    children_below,
    cli_in_own_session,
    computing_below,
    ended,
    python,
    read_until,
    spinners_command,
    wait_for_its_sleep,
)
from tests.support.waiting import PATIENCE, join, timed, wait_until

# the package's own tests, not the chapter's claims: `python -m spec.run --package`
pytestmark = pytest.mark.package

BLANK = b"\r" + b" " * len("| thinking!") + b"\r"
SPINNING = ["--delay", "30", "--interval", "0.02", "--animate", "always"]


def _a_minute_of_checks() -> list[str]:
    """Numbers for two workers to check for a minute or more: far longer than any ending may take."""
    return [str(prime_taking(1.2))] * 100


PROGRAMS = {
    "process spinner": lambda: ["process", *SPINNING],
    "asyncio spinner": lambda: ["asyncio", *SPINNING],
    "thread spinner": lambda: ["thread", *SPINNING],
    "interpreter spinner": lambda: ["interpreter", *SPINNING],
    "pool": lambda: ["primes", "--workers", "2", *_a_minute_of_checks()],
    # (0.3 s checks: an interpreter cannot be stopped mid-check, so each ends after the one in hand)
    "pool on interpreters": lambda: [
        "primes",
        "--runner",
        "interpreter",
        "--workers",
        "2",
        *[str(prime_taking(0.3))] * 100,
    ],
}


def _under_way(child: subprocess.Popen[bytes], program: str) -> bytes:
    """Wait until the program is at its work -- a frame drawn and the main thread asleep in its
    work, or both workers computing -- and return what it has written so far. (A signal that
    lands just before ``time.sleep`` enters its system call is acted on when the sleep ends:
    CPython's own window, seen once in CI as a SIGTERM that waited out 30 s of sleep.)"""
    assert child.stdout is not None
    if program == "pool":
        seen = read_until(child.stdout, b"processes:\n", "the header")
        wait_until(lambda: len(computing_below(child.pid)) == 2, "the workers to compute")
        return seen
    if program == "pool on interpreters":  # (no child to watch: a first verdict says they are at work)
        seen = read_until(child.stdout, b"interpreters:\n", "the header")
        return seen + read_until(child.stdout, b"\n", "a first verdict")
    seen = read_until(child.stdout, b"thinking!", "a frame")
    if program != "asyncio spinner":  # (the event loop's sleep is a wait of its own)
        wait_for_its_sleep(child.pid)
    return seen


# --- 1. SIGTERM and SIGHUP: as Ctrl-C ----------------------------------------------------------


@pytest.mark.parametrize(
    "program, signum, whole_group",
    [
        ("process spinner", signal.SIGTERM, False),
        ("process spinner", signal.SIGTERM, True),
        ("process spinner", signal.SIGHUP, False),
        ("process spinner", signal.SIGHUP, True),
        ("pool", signal.SIGTERM, False),
        ("pool", signal.SIGTERM, True),
        ("pool", signal.SIGHUP, False),
        ("pool", signal.SIGHUP, True),
        ("asyncio spinner", signal.SIGTERM, False),
        ("asyncio spinner", signal.SIGHUP, True),
        ("thread spinner", signal.SIGHUP, False),
        pytest.param("interpreter spinner", signal.SIGTERM, False, marks=needs("interpreters in one process")),
        pytest.param("interpreter spinner", signal.SIGHUP, True, marks=needs("interpreters in one process")),
        pytest.param("pool on interpreters", signal.SIGTERM, False, marks=needs("interpreters in one process")),
        pytest.param("pool on interpreters", signal.SIGHUP, True, marks=needs("interpreters in one process")),
    ],
    ids=lambda value: value.name if isinstance(value, signal.Signals) else str(value),
)
@needs("POSIX signals", "job control")
def test_sigterm_and_sighup_end_the_program_as_ctrl_c_does(program, signum, whole_group):
    """``kill PID`` (SIGTERM) and a terminal that hangs up (SIGHUP) end the program as Ctrl-C
    does: the spinner's line blanked, every child stopped, no traceback, and death by that very
    signal (a shell reports 143 or 129). Sent to the main process alone, it stops its children
    itself; sent to the whole group, the children leave it to the main process too."""
    with cli_in_own_session(*PROGRAMS[program]()) as child:
        seen = _under_way(child, program)
        if whole_group:
            os.killpg(child.pid, signum)
        else:
            child.send_signal(signum)
        out, err = child.communicate(timeout=PATIENCE)
    assert child.returncode == -signum, err.decode()
    assert err == b"", err.decode()
    if not program.startswith("pool"):
        assert (seen + out).endswith(BLANK), "the line is left blank"


# --- 2. SIGKILL: nothing can clean up, yet nothing is left --------------------------------------


@pytest.mark.parametrize("program", ["process spinner", "pool"])
@needs("POSIX signals", "job control")
def test_children_end_when_the_main_process_is_killed(program):
    """SIGKILL gives the main process no chance to stop its children. Each child watches it and
    ends when it is gone, rather than draw or compute for ever as an orphan (under fork, spawn
    and forkserver alike: each child's parent sentinel)."""
    with cli_in_own_session(*PROGRAMS[program]()) as child:
        _under_way(child, program)
        # (not counted: a fork server caught between its fork and its exec shows the program's
        # command line, and passes for a worker for a moment; the session's end checks them all)
        below = children_below(child.pid)
        assert below
        child.kill()
        child.wait(PATIENCE)
        _, took = timed(lambda: wait_until(lambda: all(map(ended, below)), "the children to end"))
    # (leaving the session also waits for every process of it, multiprocessing's helpers too)
    assert took < 30 / 6  # an orphan would go on for the 30 s or more of work


@needs("interpreters in one process", "POSIX signals", "job control")
def test_the_pool_on_interpreters_has_no_child_that_could_outlive_a_kill():
    """The pool's interpreters live on threads of the program's own process: while they compute
    it has no child process at all, so SIGKILL ends every one of them with it. (Control: the
    pool on processes, above, has its workers as children.)"""
    with cli_in_own_session(*PROGRAMS["pool on interpreters"]()) as child:
        _under_way(child, "pool on interpreters")
        below, threads = children_below(child.pid), psutil.Process(child.pid).num_threads()
        child.kill()
        child.wait(PATIENCE)
    assert below == [] and threads >= 3  # the main thread and a thread for each interpreter


@needs("POSIX signals", "job control")
def test_a_killed_spinner_child_leaves_the_answer_and_one_line():
    """SIGKILL to the spinner's child process mid-run: the work's answer still comes, on a blank
    line, then one line saying the spinner died, and exit status 1. (A child killed while it
    waited on the event made the parent wait for ever inside ``done.set()``: setting a
    multiprocessing event waits for each waiter to wake.)"""
    with cli_in_own_session("process", "--delay", "2", "--interval", "0.02", "--animate", "always") as child:
        seen = _under_way(child, "process spinner")
        [spinner] = children_below(child.pid)
        os.kill(spinner, signal.SIGKILL)
        out, err = child.communicate(timeout=PATIENCE)
    assert child.returncode == 1, err.decode()
    assert (seen + out).endswith(BLANK + b"Answer: 42\n")
    assert err == b"spinners: error: the spinner died: its process ended with exit code -9\n"


# --- 3. Standard output: full, closed, or its reader gone ----------------------------------------


UNITS = [
    ["thread", "--delay", "0.1", "--animate", "always"],
    ["process", "--delay", "0.1", "--animate", "always"],
    ["asyncio", "--delay", "0.1", "--animate", "always"],
    pytest.param(["interpreter", "--delay", "0.1", "--animate", "always"], marks=needs("interpreters in one process")),
    ["primes", "--workers", "2", "7", "11"],
    pytest.param(
        ["primes", "--runner", "interpreter", "--workers", "2", "7", "11"], marks=needs("interpreters in one process")
    ),
]
UNIT_IDS = ["thread", "process", "asyncio", "interpreter", "primes", "primes on interpreters"]


@pytest.mark.parametrize("args", UNITS, ids=UNIT_IDS)
@needs("a full device (/dev/full)")
def test_a_full_disk_ends_the_program_with_one_line(args):
    """``spinners ... > /dev/full``: every write fails with "No space left on device". One line
    says so, no traceback, exit status 1."""
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            spinners_command(*args), stdout=full, stderr=subprocess.PIPE, cwd=ROOT, env=buffered_env(), timeout=PATIENCE
        )
    assert (result.returncode, result.stderr) == (1, b"spinners: write error: No space left on device\n")


def test_a_disk_that_fills_at_the_answer_still_ends_the_program_with_one_line(monkeypatch, capsys):
    """The disk may fill only at the last line, the answer, written once the spinner has gone:
    the program flushes it before it ends, so that this error too gets its one line and exit
    status 1, not a traceback at exit. Control: the same output with room for the answer has it
    written by the time the program returns, with exit status 0."""

    class Disk(io.RawIOBase):
        def __init__(self, room: bool) -> None:
            self.room, self.written = room, b""

        def writable(self) -> bool:
            return True

        def write(self, data: object) -> int:
            chunk = bytes(cast(bytes, data))
            if b"Answer" in chunk and not self.room:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += chunk
            return len(chunk)

    for room in (True, False):
        disk = Disk(room)
        stdout = io.TextIOWrapper(io.BufferedWriter(disk), encoding="utf-8")
        monkeypatch.setattr(sys, "stdout", stdout)
        try:
            status = main(["thread", "--delay", "0"])
            written = disk.written
        finally:
            disk.room = True  # (so that closing the stand-in flushes without an error)
            stdout.close()
        if room:
            assert status == 0 and b"Answer: 42\n" in written
        else:
            assert (status, capsys.readouterr().err) == (1, "spinners: write error: No space left on device\n")


@pytest.mark.parametrize("args", UNITS, ids=UNIT_IDS)
@needs("a POSIX shell")
def test_a_closed_standard_output_ends_the_program_with_one_line(args):
    """``spinners ... >&-``: started with no standard output at all. One line says so, exit
    status 1. Control: the same command, its output kept, succeeds."""
    closed = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *spinners_command(*args)],
        capture_output=True,
        cwd=ROOT,
        timeout=PATIENCE,
    )
    assert (closed.returncode, closed.stderr) == (1, b"spinners: error: standard output is closed\n")
    kept = python(*spinners_command(*args)[1:], timeout=PATIENCE)
    assert kept.returncode == 0, kept.stderr


@pytest.mark.parametrize(
    "program", ["pool", pytest.param("pool on interpreters", marks=needs("interpreters in one process"))]
)
@needs("POSIX signals", "job control")
def test_the_pool_stops_as_soon_as_its_reader_goes(program):
    """``spinners primes | head -1``: once the pipe's reader has gone, the workers are stopped at
    once, as ``yes | head -1`` stops -- not when the next result finds the pipe closed, nor
    after the minute of checks that remains. Quietly, exit status 1. (Interpreters, which
    cannot be stopped from outside, end after the 0.3 s check in hand, not after the 15 s left.)"""
    with cli_in_own_session(*PROGRAMS[program]()) as child:
        assert child.stdout is not None and child.stderr is not None
        _under_way(child, program)
        workers = children_below(child.pid)
        child.stdout.close()
        code, took = timed(lambda: child.wait(PATIENCE))
        err = child.stderr.read()
    assert code == 1 and err == b"", err.decode()
    assert all(map(ended, workers))
    if program == "pool":  # each check takes 1.2 s: a program that waited for the next result would take longer
        assert took < 1.2, took
    else:  # the checks in hand, 0.3 s, not a fifth of the 15 s of work left
        assert took < 100 * 0.3 / 2 / 5, took


# --- 4. A Ctrl-C in the first milliseconds -----------------------------------------------------


# Which slow imports happen before the program's hook for lost Ctrl-Cs is in place.
IMPORTS_BEFORE_THE_HOOK = """
import sys
slow = {"threading", "multiprocessing", "argparse", "asyncio", "spinners.cli", "spinners.interrupts"}
seen = set(sys.modules) & slow  # already imported by the interpreter's own start-up
before = []
def audit(event, args):
    if event == "import" and args[0] in slow and sys.unraisablehook is sys.__unraisablehook__:
        before.append(args[0])
sys.addaudithook(audit)
sys.argv = ["spinners", "thread", "--delay", "0"]
from spinners.__main__ import run
try:
    run()
except SystemExit:
    pass
print("imported before the hook:", sorted(set(before) - {"spinners.interrupts"}), file=sys.stderr)
"""


def test_the_hook_for_a_lost_ctrl_c_is_set_before_any_slow_import():
    """A Ctrl-C that lands in an import's clean-up callback can only be printed by Python, and
    the program then ran on to its end (2 of about 1,100 early Ctrl-Cs). The program's hook,
    which sends such a Ctrl-C again, is set on its first line: before threading, multiprocessing,
    argparse or the command line are imported. (Python's audit hook sees each import.)"""
    result = python("-c", IMPORTS_BEFORE_THE_HOOK, timeout=PATIENCE)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "imported before the hook: []"


# A Ctrl-C raised as the program imports a module: sys.argv[1] names it.
CTRL_C_IN_AN_IMPORT = """
import runpy, sys
where = sys.argv[1]
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == where:
            raise KeyboardInterrupt
sys.meta_path.insert(0, CtrlC())
sys.argv = ["spinners", "thread", "--delay", "0"]
runpy.run_module("spinners", run_name="__main__")
"""


@needs("POSIX signals")
def test_a_ctrl_c_while_the_program_imports_its_signal_handling_is_quiet():
    """The program's first import, of its signal handling, takes a few milliseconds on CPython
    and tens on PyPy (``signal`` is not loaded at start-up): a Ctrl-C there dies of SIGINT like
    any other, with no traceback (seen on PyPy: 2 of 60 Ctrl-Cs sent in the first 0.2 s).
    Control: a Ctrl-C before the program's own code runs, in the import of the package
    itself, is Python's to report, traceback and all."""
    mine = python("-c", CTRL_C_IN_AN_IMPORT, "spinners.interrupts", timeout=PATIENCE)
    assert (mine.returncode, mine.stderr) == (-signal.SIGINT, "")
    before = python("-c", CTRL_C_IN_AN_IMPORT, "spinners", timeout=PATIENCE)
    assert before.returncode == -signal.SIGINT and "KeyboardInterrupt" in before.stderr, before.stderr


# --- 5. The same endings, in-process: what a program that dies of a signal cannot report ------


def test_the_entry_point_dies_of_sigterm_and_sighup_after_the_clean_up(monkeypatch):
    """The command line returns 143 or 129 once it has cleaned up; the entry point then restores
    the signal's default action and sends it to itself, so that the program dies of it (seen
    from outside in section 1). Here the sending is recorded instead of done."""
    from spinners.__main__ import run

    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, signum: sent.append((pid, signum)))
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        monkeypatch.setattr("spinners.cli.main", lambda signum=signum: 128 + signum)
        with pytest.raises(SystemExit):  # (reached only because the signal was not really sent)
            run()
        assert sent[-1] == (os.getpid(), signum)
        assert signal.getsignal(signum) is signal.SIG_DFL  # (restored by the leak guard)


@needs("POSIX signals")
def test_sigterm_and_sighup_raise_in_the_main_thread_as_ctrl_c_does():
    """The program's handlers turn SIGTERM and SIGHUP into a ``KeyboardInterrupt`` that names its
    signal, so that every clean-up written for Ctrl-C runs for them too."""
    from spinners.interrupts import Ended, end_on_every_signal, signal_of

    end_on_every_signal()  # (the leak guard restores the handlers)
    for signum, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP")):
        with pytest.raises(KeyboardInterrupt) as raised:
            signal.pthread_kill(threading.get_ident(), signum)
            time.sleep(PATIENCE)  # cut short by the signal
        assert isinstance(raised.value, Ended) and signal_of(raised.value) == signum
        assert str(raised.value) == name  # what a traceback or a log shows of it
    assert signal_of(KeyboardInterrupt()) == signal.SIGINT


@pytest.mark.parametrize("unit", ["thread", "asyncio"])
def test_a_spinner_that_crashes_is_reported_with_the_answer(unit, monkeypatch):
    """A spinner thread or task that dies drawing (here its stream fails at the third frame)
    does not go unnoticed: once the work is done, the supervisor raises ``SpinnerDied``, which
    carries the work's answer (the command line prints it, then one line, and exits 1). The
    frame it drew last is blanked: the line is left clean for what the program prints next."""
    from spinners import asyncio_spinner, thread_spinner
    from spinners.animation import SpinnerDied

    class Breaks(io.StringIO):
        frames = 0

        def write(self, text: str) -> int:
            if "thinking!" in text:
                self.frames += 1
                if self.frames == 3:
                    raise ValueError("the stream broke")
            return super().write(text)

    crashes: list[object] = []
    monkeypatch.setattr(threading, "excepthook", crashes.append)  # (the thread's traceback)
    out = Breaks()
    with pytest.raises(SpinnerDied) as died:
        if unit == "thread":
            thread_spinner.supervisor(functools.partial(slow, 0.2), interval=0.01, out=out)
        else:
            asyncio.run(asyncio_spinner.supervisor(lambda: asyncio_spinner.slow_async(0.2), interval=0.01, out=out))
    assert died.value.answer == 42
    assert out.getvalue().endswith("| thinking!\r" + " " * len("| thinking!") + "\r")  # its 2nd frame, blanked
    assert "the spinner died" in str(died.value)
    assert len(crashes) == (1 if unit == "thread" else 0)  # a task's error is in the message instead
    if unit == "asyncio":
        assert "the stream broke" in str(died.value)


@needs("fork")
def test_a_spinner_process_that_crashes_is_reported_with_the_answer(monkeypatch, capfd):
    """The spinner's child dies of an error in its drawing (exit code 1, as Python exits on an
    uncaught exception), not of a signal: the supervisor notices it as it would a killed one,
    blanks the line the child left and raises ``SpinnerDied`` with the answer and the exit code."""
    from spinners import process_spinner
    from spinners.animation import SpinnerDied

    def breaks(*args: object) -> None:
        raise ValueError("the drawing broke")

    monkeypatch.setattr(process_spinner, "spin", breaks)  # a forked child has it too
    with pytest.raises(SpinnerDied) as died:
        process_spinner.supervisor(functools.partial(slow, 0.2), interval=0.01, start_method="fork")
    capfd.readouterr()  # the child's traceback
    assert died.value.answer == 42
    assert "exit code 1" in str(died.value)


def test_the_process_supervisor_returns_only_once_the_thread_that_stopped_its_spinner_is_done(monkeypatch):
    """The thread that sets the spinner's event still holds the event until it returns. After
    SIGTERM the program kills itself without running its exit handlers, so an event still held
    then is never freed, and the resource tracker warns on stderr about leaked semaphores (seen
    on a busy machine). The supervisor waits for that thread before it returns. The test slows
    the thread down after its ``set()``, so that a supervisor that did not wait would leave it
    running."""
    from multiprocessing import synchronize

    from spinners import process_spinner

    real_set = synchronize.Event.set

    def slow_set(self: synchronize.Event) -> None:
        real_set(self)
        threading.Event().wait(0.2)  # (not a synchronisation: only a window held open)

    monkeypatch.setattr(synchronize.Event, "set", slow_set)
    assert process_spinner.supervisor(functools.partial(slow, 0), interval=0.01) == 42
    left = [thread.name for thread in threading.enumerate() if thread.name == "stop the spinner"]
    assert left == [], "the stopping thread outlives the supervisor"


def test_with_no_standard_output_nor_error_the_program_still_ends_with_status_1(monkeypatch):
    """``spinners thread >&- 2>&-``: nothing to write the error to; exit status 1 all the same."""
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    assert main(["thread", "--delay", "0"]) == 1


def test_the_output_guard_keeps_the_first_error_and_a_dash_without_input_reads_nothing(tmp_path):
    """The reader watcher and a failing write may both report the output gone: the first error
    is the one reported. ``-`` with standard input closed gives no numbers."""
    guard = QuietPipe(cast(TextIO, (tmp_path / "out").open("w")))
    guard.to_devnull(OSError(28, "No space left on device"))
    guard.to_devnull(BrokenPipeError())
    assert isinstance(guard.error, OSError) and guard.error.errno == 28 and not guard.closed_pipe
    guard.stream.close()
    numbers, count = numbers_to_check(["-"], None)
    assert list(numbers) == [] and count is None


@needs("POSIX signals", "select on pipes")
def test_the_reader_watcher_sees_the_reader_go_after_a_failed_write_put_dev_null_in_its_place():
    """The spinner can write first when the reader goes: its write fails, and /dev/null takes
    the pipe's place on standard output. The watcher, woken by the same going, must still stop
    the work. (It once polled standard output's number, found /dev/null there, and slept on: the
    program ran its 30 s of work, seen once in CI.)"""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # (restored by the leak guard)
    read_end, write_end = os.pipe()
    out = QuietPipe(cast(TextIO, os.fdopen(write_end, "w")))
    stop_when_the_reader_goes(out)
    [watcher] = [thread for thread in threading.enumerate() if thread.name == "reader watcher"]
    try:
        out.to_devnull(BrokenPipeError())  # what the failed write does, here before the going
        with pytest.raises(KeyboardInterrupt):  # (the SIGINT may come as soon as the reader goes)
            os.close(read_end)
            watcher.join(PATIENCE)
            time.sleep(PATIENCE)  # (cut short by the watcher's SIGINT)
    finally:
        out.stream.close()
    assert out.reader_gone


def _no_descriptor_left(fd: int) -> int:
    raise OSError(errno.EMFILE, "Too many open files")


@needs("POSIX signals", "select on pipes")
@pytest.mark.parametrize(
    "lacking",
    [
        lambda patched: patched.setattr(os, "dup", _no_descriptor_left),
        lambda patched: patched.delattr(select, "poll"),
        lambda patched: patched.delattr(signal, "pthread_kill"),
    ],
    ids=["no-descriptor-to-spare", "no-poll", "no-pthread_kill"],
)
def test_without_what_it_needs_there_is_no_reader_watcher(monkeypatch, lacking):
    """The watcher needs a descriptor of its own for the pipe, ``select.poll`` to learn that the
    reader has gone, and ``signal.pthread_kill`` to interrupt the main thread. Out of file
    descriptors (EMFILE), or on a platform without either call (Windows has neither), it is not
    started, and the work stops at its next write, as for any closed pipe. Control: with all
    three, the same pipe gets its watcher."""
    read_end, write_end = os.pipe()
    out = QuietPipe(cast(TextIO, os.fdopen(write_end, "w")))
    try:
        with monkeypatch.context() as patched:
            lacking(patched)
            stop_when_the_reader_goes(out)
        assert "reader watcher" not in [thread.name for thread in threading.enumerate()]
        out.finished = True  # (so that the watcher, once the reader goes, interrupts nothing)
        stop_when_the_reader_goes(out)
        (watcher,) = [thread for thread in threading.enumerate() if thread.name == "reader watcher"]
    finally:
        os.close(read_end)
    join(watcher)
    out.stream.close()


@needs("POSIX signals", "select on pipes")
def test_the_reader_watcher_interrupts_the_work_only_while_there_is_work(monkeypatch):
    """Once the program's work is over, a reader that goes stops nothing (the program ends as it
    is). Control: while the work runs, the same reader's going interrupts the main thread, and
    what the work still writes then goes to /dev/null, with no error at exit. Either way the
    watcher gives back the descriptor it took for the pipe."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # (restored by the leak guard)
    me = psutil.Process()
    for finished in (True, False):
        descriptors = me.num_fds()
        read_end, write_end = os.pipe()
        out = QuietPipe(cast(TextIO, os.fdopen(write_end, "w")))
        out.finished = finished
        stop_when_the_reader_goes(out)
        [watcher] = [thread for thread in threading.enumerate() if thread.name == "reader watcher"]
        assert me.num_fds() == descriptors + 3  # the pipe's two ends and the watcher's copy
        try:
            os.close(read_end)
            watcher.join(PATIENCE)
            if not finished:  # the watcher has sent its SIGINT, which cuts this short
                time.sleep(PATIENCE)
        except KeyboardInterrupt:
            assert not finished and out.reader_gone
            out.stream.write("a late line\n")
            out.stream.flush()  # on the pipe it would fail: BrokenPipeError
        else:
            assert finished and not out.reader_gone
        finally:
            out.stream.close()
        join(watcher)
        assert me.num_fds() == descriptors
