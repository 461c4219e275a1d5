"""Which tests run each line of ``spinners/``: a map that lets a mutant be judged by the
tests that can see it, rather than by every test near its module.

A mutant changes one line. A test that never runs that line -- in its own process, in a
thread, or in any child it starts -- behaves exactly as it did on the original code, so it
cannot kill the mutant. ``python -m spec.covering`` runs the quick tests once under coverage
and records, for every line of the package, the tests that ran it:

- in the test's own process, through coverage's dynamic context, switched here to the test's
  node id as each test starts (``pytest -p spec.covering``);
- in a child process, whatever started it (multiprocessing, the command line run as a
  program), through its static context, which this plugin sets to the same node id (see
  ``label_children``).

A line that ran outside every test (at import, during collection) gets no test of its own:
``tests_running`` answers ``None`` for it, and the judge falls back to the nearest tests.

A program that dies of a signal records nothing: SIGKILL leaves it no time, and after SIGTERM
or SIGHUP the program kills itself without running its exit handlers, coverage's among them.
The tests that end the program so (``SIGNALLED``) may have run any line, so they judge every
mutant.

    python -m spec.covering            # writes .mutation-map.json (about a minute)
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

import pytest

RCFILE = Path(__file__).with_name("covering.coveragerc")
DATA = Path(".mutation-coverage")
MAP = Path(".mutation-map.json")
TEST_ID = "SPINNERS_COVERING_TEST"
# the label of what the tests' own processes run outside any test: imports, collection
OUTSIDE = "(outside the tests)"
# the label of what a child started with an environment of its own runs: any test's
UNKNOWN = "(a child of some test)"
# the tests whose program dies of a signal, so that what it ran is never recorded
SIGNALLED = [
    "tests/test_13_how_the_program_ends.py::test_sigterm_and_sighup_end_the_program_as_ctrl_c_does",
    "tests/test_13_how_the_program_ends.py::test_children_end_when_the_main_process_is_killed",
    "tests/test_13_how_the_program_ends.py::test_a_killed_spinner_child_leaves_the_answer_and_one_line",
]
# the quick stage's choice of tests (spec.mutant): no timing-sensitive pass, no 3 s demos
SELECTION = ["-m", "not serial and not tooling", "-k", "not demo"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Label what runs from here to the test's end with its node id, here and in children."""
    import coverage

    current = coverage.Coverage.current()
    label_children(current, item.nodeid)
    if current is not None:
        current.switch_context(item.nodeid)
    yield
    label_children(current, OUTSIDE)
    if current is not None:
        current.switch_context("")
    # the fork server's children inherit its environment, not the test's: a server kept for
    # the next test would label what they run with this one's id
    forkserver._forkserver._stop()  # type: ignore[attr-defined]


def label_children(current: Any, label: str) -> None:
    """Give each child started from now on ``label`` as its static context: a program run
    with ``subprocess`` takes coverage's configuration from COVERAGE_PROCESS_CONFIG (written
    once, when coverage started), a multiprocessing child reads the rcfile, which reads TEST_ID."""
    os.environ[TEST_ID] = label
    if current is not None and "COVERAGE_PROCESS_CONFIG" in os.environ:
        config = copy.copy(current.config)
        config.context = label
        os.environ["COVERAGE_PROCESS_CONFIG"] = config.serialize()


def build() -> int:
    """Run the quick tests under coverage and write the map of line -> tests."""
    for old in Path().glob(f"{DATA}*"):
        old.unlink()
    env = {**os.environ, "COVERAGE_RCFILE": str(RCFILE), "COVERAGE_FILE": str(DATA.resolve())}
    env[TEST_ID] = OUTSIDE
    run = [sys.executable, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "spec.covering"]
    run += ["-n", "2", "--timeout=60", "--report-dir=.mutation-reports", *SELECTION, "tests"]
    code = subprocess.call(run, env=env)
    if code != 0:
        print(f"the tests failed on the unmutated code (exit {code}): no map written")
        return code
    subprocess.check_call([sys.executable, "-m", "coverage", "combine", "-q"], env=env)
    report = subprocess.run(
        [sys.executable, "-m", "coverage", "json", "-q", "--show-contexts", "-o", "-"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    files: dict[str, Any] = json.loads(report.stdout)["files"]
    # a label is the static context, then "|" and the dynamic one if there is one: in the tests'
    # own processes OUTSIDE|node id, or OUTSIDE alone; in a child, the node id of its test, or
    # nothing if it was started with an environment of its own
    lines = {
        path: {
            line: sorted({label.removeprefix(f"{OUTSIDE}|") or UNKNOWN for label in labels})
            for line, labels in data["contexts"].items()
        }
        for path, data in files.items()
    }
    MAP.write_text(json.dumps(lines, indent=0, sort_keys=True))
    counts = [len(tests) for per_line in lines.values() for tests in per_line.values()]
    print(f"{MAP}: {len(counts)} lines of {len(lines)} modules, {sum(counts) / max(len(counts), 1):.1f} tests a line")
    return 0


def tests_running(path: str, lines: list[int]) -> list[str] | None:
    """The tests that ran any of these lines of ``path``, and those whose program dies of a
    signal; None when one of the lines also ran outside every test (or the map is missing),
    so that only a wider choice is safe."""
    if not MAP.exists():
        return None
    per_line: dict[str, list[str]] = json.loads(MAP.read_text()).get(path, {})
    tests: set[str] = set(SIGNALLED)
    for line in lines:
        labels = per_line.get(str(line), [])
        if OUTSIDE in labels or UNKNOWN in labels:
            return None
        tests.update(labels)
    return sorted(tests)


if __name__ == "__main__":
    sys.exit(build())
