"""Judge one mutant of ``spinners/``: exit 0 if the specification still passes (the mutant
survives), non-zero if it fails (the mutant is killed).

Cosmic-ray writes each mutant into the working tree and runs this. To keep a few hundred
mutants within reach, it judges in two stages, each stopping at the first failure:

1. the quick stage: the tests nearest the mutated module (found with ``git diff``),
   without the timing-sensitive ``serial`` tests and the 3 s terminal demos;
2. the whole specification (``python -m spec.run -x``), then the package's own tests
   (``--package``), only for a mutant the quick stage did not kill.

A failure in either stage is a failure of the specification, so the verdict is the one the
whole specification would give; the quick stage only saves time on the easy kills.

With ``--covering`` the quick stage runs, instead of the nearest tests, the tests that run the
mutated lines, from the map that ``python -m spec.covering`` writes (the nearest tests still
judge a line run at import); a test that never runs the line cannot tell the mutant from
the original.

With ``--nearest-only`` the second stage is left out: a sweep of every mutant in minutes
rather than hours, whose survivors are then judged one by one -- run against the whole
specification (``cosmic-ray mutate-and-test MODULE OPERATOR OCCURRENCE "python -m spec.mutant"``)
or shown equivalent.

    python -m spec.mutant [--covering] [--nearest-only]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from spec import covering
from spec.run import NO_TESTS

LOG = Path(".mutation-reports", "quick-stage.log")

# The test modules that exercise each package module most directly.
NEAREST = {
    "spinners/animation.py": ["test_04_spinner_thread.py", "test_05_spinner_process.py", "test_06_spinner_asyncio.py"],
    "spinners/thread_spinner.py": ["test_04_spinner_thread.py", "test_07_supervisors.py"],
    "spinners/process_spinner.py": ["test_05_spinner_process.py", "test_07_supervisors.py"],
    "spinners/interpreter_spinner.py": ["test_14_interpreters.py", "test_00_package.py", "test_11_command_line.py"],
    "spinners/asyncio_spinner.py": ["test_06_spinner_asyncio.py", "test_08_gil_impact.py", "test_00_package.py"],
    "spinners/interrupts.py": [
        "test_11_command_line.py",
        "test_00_package.py",
        "test_05_spinner_process.py",
        "test_13_how_the_program_ends.py",
    ],
    "spinners/work.py": ["test_00_package.py", "test_06_spinner_asyncio.py", "test_08_gil_impact.py"],
    "spinners/prime_pool.py": ["test_09_process_pool.py", "test_11_command_line.py", "test_08_gil_impact.py"],
    "spinners/cli.py": ["test_00_package.py", "test_11_command_line.py", "test_13_how_the_program_ends.py"],
    "spinners/__main__.py": ["test_11_command_line.py", "test_13_how_the_program_ends.py", "test_00_package.py"],
}


def mutated_modules() -> list[str]:
    """The package modules that differ from the last commit (none if git cannot tell)."""
    diff = subprocess.run(["git", "diff", "--name-only", "--", "spinners"], capture_output=True, text=True, check=False)
    return diff.stdout.split() if diff.returncode == 0 else []


def mutated_lines(module: str) -> list[int]:
    """The lines of ``module``, numbered as in the last commit, that the mutant changed."""
    diff = subprocess.run(["git", "diff", "-U0", "--", module], capture_output=True, text=True, check=False)
    lines: list[int] = []
    for start, count in re.findall(r"^@@ -(\d+)(?:,(\d+))? ", diff.stdout, flags=re.MULTILINE):
        lines.extend(range(int(start), int(start) + max(int(count or 1), 1)))
    return lines


def quick_tests(modules: list[str], use_map: bool) -> list[str]:
    """The tests of the quick stage: those that run the mutated lines (with ``use_map``),
    else the test modules nearest each mutated module."""
    chosen: set[str] = set()
    for module in modules:
        running = covering.tests_running(module, mutated_lines(module)) if use_map else None
        if running is None:
            chosen.update(f"tests/{name}" for name in NEAREST.get(module, []))
        else:
            chosen.update(running)
    return sorted(chosen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec.mutant", description=__doc__.split("\n\n")[0])
    parser.add_argument("--nearest-only", action="store_true", help="leave out the whole specification")
    parser.add_argument("--covering", action="store_true", help="quick stage: the tests that run the mutated lines")
    args = parser.parse_args(argv)
    nearest = quick_tests(mutated_modules(), args.covering)
    if nearest:
        # a mutant that deadlocks fails at 20 s: no quick test takes 2 s on a loaded machine;
        # a handful of tests runs sooner without xdist's workers to start
        workers = "2" if len(nearest) > 8 else "0"
        quick = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-n", workers, "--timeout=20"]
        quick += ["--report-dir=.mutation-reports", *covering.SELECTION, *nearest]
        LOG.parent.mkdir(exist_ok=True)
        with LOG.open("w") as log:  # what killed the last mutant, to read when a kill looks wrong
            code = subprocess.call(quick, stdout=log, stderr=subprocess.STDOUT)
        if code not in (0, NO_TESTS):
            print(f"killed by the quick stage ({len(nearest)} test modules or tests, {LOG}): exit {code}")
            return code
    if args.nearest_only:
        print("survived the quick stage")
        return 0
    whole = [sys.executable, "-m", "spec.run", "--report-dir=.mutation-reports", "-x", "-q"]
    code = subprocess.call(whole, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if code == 0:
        code = subprocess.call([*whole, "--package"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"{'killed' if code else 'survived'} by the whole specification and the package's tests: exit {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
