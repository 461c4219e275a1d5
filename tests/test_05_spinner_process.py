"""Spinner with processes: a child interpreter animates; a multiprocessing event stops it."""

from __future__ import annotations

import inspect
import multiprocessing
import os
import pickle
import select
import signal
import sys
import threading
import time
from multiprocessing import synchronize
from typing import Any

import pytest

from spinners import process_spinner, thread_spinner
from spinners.process_spinner import spin_in_child
from tests.support.children import child_ids
from tests.support.frames import frames_in, frames_of
from tests.support.platforms import START_METHODS, needs
from tests.support.processes import (
    children_of,
    cli_in_own_session,
    ctrl_c,
    python,
    read_until,
    spinners_cli,
    wait_for_its_sleep,
)
from tests.support.waiting import PATIENCE, join, wait_until

claim = pytest.mark.claim
# Each test here takes under a second; a spinner that never stops makes it hang. A hang fails
# after 15 s (PATIENCE, the helpers' own bound, and 5 s more), not the default 30 s: a break of
# the package hangs many of these tests, and the run must still end in minutes.
pytestmark = pytest.mark.timeout(15)
METHODS = START_METHODS  # each, declared: one this platform lacks is not demonstrable here


@pytest.fixture(params=METHODS)
def context(request: pytest.FixtureRequest) -> multiprocessing.context.BaseContext:
    """Every process test runs once per start method."""
    method: str = request.param
    return multiprocessing.get_context(method)


@claim("SP-1", "SP-6")
@pytest.mark.parametrize("method", METHODS)
def test_the_process_spinner_animates_from_a_child_and_answers(evidence, method):
    """Run as a program, the process spinner prints its object, animates and prints the answer
    on a clean line, under every start method the platform offers."""
    result = spinners_cli(
        "process", "--delay", "0.2", "--interval", "0.05", "--start-method", method, "--animate=always"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0].startswith("spinner object: <") and "initial>" in lines[0]
    # at least the first frame: the child draws one before it first looks at the event
    assert frames_in(lines[1])
    assert lines[1].endswith("\rAnswer: 42")
    assert result.stderr == ""


KEEPS_DRAWING = """
import os, sys
from spinners import process_spinner
print(f"supervisor pid={os.getpid()}", flush=True)
answer = process_spinner.supervisor(lambda: sys.stdin.readline() and 42, interval=0.02, start_method=sys.argv[1])
print(f"\\nAnswer: {answer}")
"""


@claim("SP-1", "SP-6")
@pytest.mark.parametrize("method", METHODS)
def test_the_child_keeps_drawing_until_the_parents_work_ends(evidence, method):
    """The frames come from the child, a new interpreter writing to the standard output it
    inherited, and keep coming for as long as the parent works -- here, until the test has
    seen five of them, however long the child took to start."""
    stamps, output = frames_of(KEEPS_DRAWING, method, release_after=5)
    evidence.record(**{f"frames_{method}": len(stamps)})
    assert len(stamps) >= 5
    assert output.startswith("supervisor pid=") and "spinner object: <" in output
    assert output.endswith("\nAnswer: 42\n")


def _frames_while_stopped(unit: str, window: float) -> tuple[int, float]:
    """Run ``spinners UNIT`` drawing every 0.02 s; once it draws, stop its main process
    (SIGSTOP) and count the frames that come while it is stopped: until five have come, or for
    ``window`` seconds if fewer do. The count, and how long the count took."""
    with cli_in_own_session(unit, "--delay", "30", "--interval", "0.02", "--animate", "always") as child:
        assert child.stdout is not None
        read_until(child.stdout, b"thinking!", "a frame")
        os.kill(child.pid, signal.SIGSTOP)
        try:
            (count, took) = _count_frames(child.stdout, enough=5, window=window)
        finally:
            os.kill(child.pid, signal.SIGCONT)
            # (once its main thread sleeps again: a Ctrl-C that finds it still stopped goes to
            # another thread, and the main one would take it only when its 30 s end)
            wait_for_its_sleep(child.pid)
            ctrl_c(child)
    return count, took


def _count_frames(pipe: Any, enough: int, window: float) -> tuple[int, float]:
    """Frames read from ``pipe`` until ``enough`` have come, or ``window`` seconds have passed
    with fewer (the frames already in the pipe count: at most one a window's start)."""
    t0 = time.perf_counter()
    count = 0
    while count < enough:
        left = window - (time.perf_counter() - t0)
        if left <= 0 or not select.select([pipe], [], [], left)[0]:
            break
        count += len(frames_in(os.read(pipe.fileno(), 4096).decode()))
    return count, time.perf_counter() - t0


@claim("SP-1")
@needs("POSIX signals", "job control", "select on pipes")
def test_the_frames_come_from_a_process_other_than_the_supervisors(evidence):
    """The frames come from another process: stop the supervisor's whole process (SIGSTOP) and
    the process spinner's child draws on. Control: a thread spinner, inside the stopped process,
    stops drawing with it (a frame already on its way may still arrive)."""
    # the process spinner: as long as five frames take, however busy the machine; the thread
    # spinner: 15 intervals, in which a drawing thread would have drawn five
    process_frames, process_took = _frames_while_stopped("process", PATIENCE)
    thread_frames, thread_took = _frames_while_stopped("thread", 0.3)
    evidence.record(
        frames_with_the_supervisor_stopped_process=process_frames,
        frames_with_the_supervisor_stopped_thread=thread_frames,
        thread_window_s=thread_took,
    )
    assert process_frames >= 5, f"only {process_frames} frames in {process_took:.2f}s"
    assert thread_frames <= 1


@claim("SP-1", "SP-4")
def test_the_child_is_another_process_whose_parent_is_the_supervisor(evidence, context):
    """The spinner's process has a PID of its own, and its parent's PID is the supervisor's;
    the repr shows the name, the parent's PID and the state: initial, started, stopped with
    the exit code."""
    queue = context.SimpleQueue()
    child = context.Process(target=child_ids, args=(queue,))
    reprs = [repr(child)]
    child.start()
    reprs.append(repr(child))
    pid, ppid, parent = queue.get()
    join(child)
    reprs.append(repr(child))
    evidence.record(**{f"reprs_{context.get_start_method()}": reprs})
    assert pid != os.getpid() and pid == child.pid
    assert parent == os.getpid(), "multiprocessing names the supervisor as the parent"
    if context.get_start_method() == "forkserver":
        # The forkserver, a child of ours, forks the spinner: the OS names it as the parent.
        assert ppid != os.getpid() and ppid in children_of(os.getpid())
        evidence.record(forkserver="the OS parent is the fork server, a child of the supervisor")
    else:
        assert ppid == os.getpid()
    kind, name, me = type(child).__name__, child.name, os.getpid()
    assert reprs[0] == f"<{kind} name='{name}' parent={me} initial>"
    assert reprs[1] in (
        f"<{kind} name='{name}' pid={pid} parent={me} started>",
        f"<{kind} name='{name}' pid={pid} parent={me} stopped exitcode=0>",
    )
    assert reprs[2] == f"<{kind} name='{name}' pid={pid} parent={me} stopped exitcode=0>"


@claim("SP-2")
def test_multiprocessing_event_is_a_factory_returning_a_synchronize_event(evidence, context):
    """``multiprocessing.Event`` is a function, not a class; what it returns is a
    ``multiprocessing.synchronize.Event`` -- the name to use in type hints. ``threading.Event``
    is a class."""
    event = context.Event()
    evidence.record(factory=repr(multiprocessing.Event), returns=type(event).__module__ + "." + type(event).__name__)
    assert not inspect.isclass(multiprocessing.Event) and callable(multiprocessing.Event)
    assert isinstance(event, synchronize.Event)
    assert inspect.isclass(threading.Event)
    with pytest.raises(TypeError):
        isinstance(event, multiprocessing.Event)  # type: ignore[arg-type]  # not a class


@claim("SP-2", "SP-3")
def test_a_multiprocessing_event_stops_the_child(evidence, context):
    """Set in the parent, a multiprocessing event reaches the child at once: it stops."""
    done = context.Event()
    child = context.Process(target=spin_in_child, args=("x", done, 0.02))
    child.start()
    done.set()
    join(child)
    assert child.exitcode == 0


@claim("SP-3")
def test_a_threading_event_cannot_stop_a_child_process(evidence, context):
    """A ``threading.Event`` does not cross into a child: under fork the child waits on its own
    copy, which the parent's ``set()`` never touches; under spawn and forkserver it cannot even be
    pickled to be sent."""
    done = threading.Event()
    child = context.Process(target=spin_in_child, args=("x", done, 0.02))
    if context.get_start_method() != "fork":
        with pytest.raises((TypeError, pickle.PicklingError), match="pickle"):  # (PyPy: PicklingError)
            child.start()
        evidence.record(**{context.get_start_method(): "refused to pickle threading.Event"})
        return
    child.start()
    try:
        wait_until(child.is_alive, "the child to start")
        done.set()
        # A multiprocessing event stops the child within milliseconds (test above); a quarter
        # second later this one must still be spinning.
        child.join(0.25)
        still_running = child.is_alive()
    finally:
        child.kill()  # (SIGKILL: the spinner's child leaves SIGTERM, like Ctrl-C, to its parent)
        join(child)
    evidence.record(fork="still running 0.25 s after set()" if still_running else "stopped")
    assert still_running


@claim("SP-5")
def test_the_two_supervisors_differ_only_in_unit_and_event(evidence):
    """The thread and process supervisors are the same code but for the execution unit and the
    event factory; the two share their basic API, and multiprocessing offers much more."""
    thread_src = inspect.getsource(thread_spinner.supervisor)
    process_src = inspect.getsource(process_spinner.supervisor)
    for line in ("spinner.start()", "answer = work()", "done.set", "spinner.join()"):
        assert line in thread_src and line in process_src
    assert "Thread(" in thread_src and "Event()" in thread_src
    assert ".Process(" in process_src and ".Event()" in process_src
    for name in ("start", "join", "is_alive", "name", "daemon"):
        assert hasattr(threading.Thread, name) and hasattr(multiprocessing.Process, name)
    for name in ("set", "wait", "is_set", "clear"):
        assert hasattr(threading.Event, name) and hasattr(synchronize.Event, name)
    only_processes = ["Pipe", "Queue", "Pool", "Manager", "Array", "Value", "get_start_method", "shared_memory"]
    __import__("multiprocessing.shared_memory")
    evidence.record(public_names_multiprocessing=len(dir(multiprocessing)), public_names_threading=len(dir(threading)))
    assert all(hasattr(multiprocessing, name) for name in only_processes)
    assert not any(hasattr(threading, name) for name in only_processes)


@claim("SP-6")
def test_the_default_start_method_is_the_platforms(evidence):
    """Linux forked its children until 3.14, which made forkserver the default; macOS and
    Windows start them with spawn."""
    # asked of a fresh interpreter: this one's default may have been changed for the whole run
    # (SPEC_START_METHOD, tests/conftest.py)
    default = python("-c", "import multiprocessing; print(multiprocessing.get_start_method())").stdout.strip()
    evidence.record(
        observed=f"default start method on {sys.platform}: {default}", offered=multiprocessing.get_all_start_methods()
    )
    if sys.platform.startswith("linux"):
        assert default == ("forkserver" if sys.version_info >= (3, 14) else "fork")
    else:
        assert default == "spawn"


@claim("SP-6")
def test_spawn_needs_a_picklable_importable_target(evidence):
    """Under spawn the target travels pickled, by name: a lambda cannot be sent."""
    child = multiprocessing.get_context("spawn").Process(target=lambda: None)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        child.start()
