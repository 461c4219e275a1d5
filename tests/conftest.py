"""Guards every test: nothing it started may outlive it, and globals it changed are put back."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator

import psutil
import pytest

from measuring.build import INTERPRETERS
from tests.support.cpu import Attempts
from tests.support.interpreters import computing_side_by_side
from tests.support.platforms import require
from tests.support.processes import children_of
from tests.support.waiting import PATIENCE

SIGNALS = [signal.SIGINT, signal.SIGTERM] + [
    getattr(signal, name) for name in ("SIGHUP", "SIGCHLD") if hasattr(signal, name)
]


def _helper_processes() -> set[int]:
    """multiprocessing's own long-lived helpers (forkserver, resource tracker): not a test's leak."""
    helpers = set()
    for pid in children_of(os.getpid()):
        try:
            command = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        if "forkserver" in command or "resource_tracker" in command:
            helpers.add(pid)
    return helpers


def pytest_configure(config: pytest.Config) -> None:
    """``SPEC_START_METHOD=spawn``: run the spec with another default start method -- spawn, as on
    macOS and Windows -- to exercise here the code paths those platforms take."""
    method = os.environ.get("SPEC_START_METHOD")
    if method:
        multiprocessing.set_start_method(method, force=True)


@pytest.fixture(autouse=True)
def platform_needs(request: pytest.FixtureRequest) -> None:
    """A test marked ``@needs(...)`` ends *not demonstrable on this platform* where a capability
    it needs is missing (tests/support/platforms.py)."""
    require(*(name for mark in request.node.iter_markers("needs") for name in mark.args))


def _set_event_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set for this thread, if any, without creating one (private on 3.10-3.13)."""
    with warnings.catch_warnings():  # policies are deprecated from 3.14 on
        warnings.simplefilter("ignore", DeprecationWarning)
        local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    return getattr(local, "_loop", None)


@pytest.fixture(scope="session")
def interpreters_computing() -> Attempts | None:
    """Two CPU-bound interpreters on two threads of this process: the cores they used, measured
    once for the claims that read them (INT-2, and GIL-3 and GIL-10 out of date); None where
    there is no ``concurrent.interpreters``."""
    return computing_side_by_side() if INTERPRETERS else None


@pytest.fixture
def spinners_main(capfd: pytest.CaptureFixture[str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``spinners ARGS`` run by the command line's ``main`` in this process, as CPython's
    test_argparse tests its parsers: no interpreter to start for what needs no signal, pipe or
    terminal. Its exit status and output, as a finished child's (captured at the file
    descriptors: a spinner in a child process writes to the ones it inherited)."""
    from spinners.cli import main

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            code = main(list(args))
        except SystemExit as exit_info:  # argparse: --help, --version, bad input
            code = exit_info.code if isinstance(exit_info.code, int) else 1
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess(["spinners", *args], code, out, err)

    return run


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    threads_before = set(threading.enumerate())
    children_before = set(children_of(os.getpid()))
    interval = sys.getswitchinterval()
    start_method = multiprocessing.get_start_method(allow_none=True)
    handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}
    yield
    sys.setswitchinterval(interval)
    multiprocessing.set_start_method(start_method, force=True)
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)
    leaks = []
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(PATIENCE)  # a thread on its way out gets time to finish; a stuck one does not
        if thread.is_alive():
            leaks.append(f"thread {thread!r}")
    multiprocessing.active_children()  # reaps finished multiprocessing children
    new_children = set(children_of(os.getpid())) - children_before - _helper_processes()
    for pid in new_children:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            continue
        leaks.append(f"child process {pid}")
    if INTERPRETERS:  # an interpreter left open keeps its modules, and its threads, alive
        from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

        for interpreter in interpreters.list_all():
            if interpreter.id != interpreters.get_main().id:
                interpreter.close()
                leaks.append(f"interpreter {interpreter.id}")
    loop = _set_event_loop()
    if loop is not None and not loop.is_closed():
        loop.close()
        leaks.append(f"open event loop {loop!r}")
    assert not leaks, f"the test left behind: {', '.join(leaks)}"
