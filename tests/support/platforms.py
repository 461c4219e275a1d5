"""What this platform lets the instruments do.

A test whose instrument needs something not every OS has declares it, ``@needs("a terminal")``;
where it is missing, the test ends *not demonstrable on this platform*, saying what it
needed -- never an import error, never a failure. A helper that needs it calls
``require(...)``, with the same effect. Platform-only modules (pty, termios, fcntl, resource)
are imported only inside the code that uses them, so the spec collects everywhere.

This module is also the one place that reads Linux's ``/proc`` by hand, for the one thing
no portable library reports: the kernel function a thread is waiting in.
"""

from __future__ import annotations

import functools
import importlib
import multiprocessing
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spec.plugin import PLATFORM_PREFIX


def _importable(*names: str) -> bool:
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            return False
    return True


def _start_method(name: str) -> Callable[[], bool]:
    return lambda: name in multiprocessing.get_all_start_methods()


WAIT_CHANNEL = Path("/proc/self/wchan")

# Each capability, and how to tell whether this platform has it.
CAPABILITIES: dict[str, Callable[[], bool]] = {
    # a pseudo-terminal for the program, sized with an ioctl (POSIX)
    "a terminal": lambda: _importable("pty", "termios", "fcntl"),
    # sessions and process groups, and a signal sent to a whole group, as a shell's Ctrl-C (POSIX)
    "job control": lambda: all(hasattr(os, name) for name in ("killpg", "getsid", "setsid")),
    # waiting on pipes with select(), which Windows offers for sockets only
    "select on pipes": lambda: os.name == "posix",
    # SIGKILL, and signals sent to one thread (pthread_kill)
    "POSIX signals": lambda: os.name == "posix",
    "fork": _start_method("fork"),
    "forkserver": _start_method("forkserver"),
    # pinning a process to CPUs (Linux; not macOS or Windows)
    "cpu affinity": lambda: hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity"),
    "a full device (/dev/full)": lambda: os.path.exists("/dev/full"),
    # the C library's own symbols through ctypes (``CDLL(None)``: usleep, pthread_create)
    "the C library through ctypes": lambda: os.name == "posix",
    # the OS's thread IDs, as psutil lists them, are the IDs ``threading`` reports (not on macOS)
    "native thread ids": lambda: sys.platform.startswith(("linux", "win32")),
    "a POSIX shell": lambda: os.name == "posix" and shutil.which("sh") is not None,
    # the kernel function a thread sleeps in (Linux /proc/PID/wchan)
    "kernel wait channels": WAIT_CHANNEL.exists,
    "resource": lambda: _importable("resource"),
    # several interpreters in one process: concurrent.interpreters (CPython 3.14 and later)
    "interpreters in one process": lambda: _importable("concurrent.interpreters"),
}


# What another OS lacks, to see here what the spec would say there:
# SPEC_LACKING="cpu affinity,native thread ids" python -m spec.run
PRETEND_LACKING = {name.strip() for name in os.environ.get("SPEC_LACKING", "").split(",") if name.strip()}


@functools.cache
def has(capability: str) -> bool:
    return capability not in PRETEND_LACKING and CAPABILITIES[capability]()


def missing(*capabilities: str) -> list[str]:
    unknown = [name for name in capabilities if name not in CAPABILITIES]
    assert not unknown, f"unknown capabilities {unknown}: known are {list(CAPABILITIES)}"
    return [name for name in capabilities if not has(name)]


def not_demonstrable_on_this_platform(lacking: list[str]) -> str:
    where = sys.platform if sys.implementation.name == "cpython" else f"{sys.platform}, {sys.implementation.name}"
    return f"{PLATFORM_PREFIX}({where}): it lacks {', '.join(lacking)}"


def require(*capabilities: str) -> None:
    """End the running test *not demonstrable on this platform* if any capability is missing."""
    lacking = missing(*capabilities)
    if lacking:
        pytest.skip(not_demonstrable_on_this_platform(lacking))


def needs(*capabilities: str) -> Any:
    """Mark a test (or a parameter) as needing these capabilities; ``tests/conftest.py`` checks."""
    for name in capabilities:  # a misspelt name fails at import, not when the test runs
        assert name in CAPABILITIES, f"unknown capability {name!r}"
    return pytest.mark.needs(*capabilities)


# Every start method, the missing ones declared rather than left out of the parametrisation.
START_METHODS = [
    method if method == "spawn" else pytest.param(method, marks=needs(method))
    for method in ("fork", "spawn", "forkserver")
]


def waits_in_kernel_sleep(pid: int) -> bool:
    """The main thread of ``pid`` is waiting in the kernel's sleep (``time.sleep``,
    ``select``), not merely blocked somewhere ("0" in wchan means running). Linux only:
    callers ``require("kernel wait channels")``."""
    # time.sleep waits in clock_nanosleep from 3.11 on, in select before
    sleeping = ("hrtimer_nanosleep", "do_nanosleep", "poll_schedule_timeout", "do_select")
    return Path(f"/proc/{pid}/wchan").read_text().startswith(sleeping)
