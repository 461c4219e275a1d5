"""Run the whole specification on this interpreter in two passes, then report.

1. the parallel pass: every test not marked ``serial``, spread over xdist workers;
2. the serial pass: the timing-sensitive measurements, alone on the machine.

Both passes feed one claims report (``reports/claims-<interpreter>.md``). Extra
arguments go to both pytest runs. The exit status is 0 only if both passes pass;
a pass that selects no test (exit 5) counts as passing only if the other ran tests.
With ``-x`` a failing parallel pass ends the run there.

Two kinds of test are not the specification and are left out:

* ``package``: the package's own tests, of its command line (Ctrl-C, pipes, terminals,
  bad input). They cite no claim. ``--package`` runs them instead, in one parallel pass
  (``tox -e py3XX-package``): they depend on the interpreter too.
* ``tooling``: tests of the project's own tools; they run once, by ``tox -e tooling``
  or ``python -m pytest -m tooling``.

    python -m spec.run [--package] [--report-dir DIR] [--workers N] [--junit-dir DIR] [pytest args...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from spec import catalogue

NO_TESTS = 5
SPEC = "not package and not tooling"  # the chapter's claims


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--report-dir", default="reports")
    cpus = os.cpu_count() or 1
    # Each xdist worker costs half a CPU-second to start and collect, three times that on a CPU
    # three times slower. The specification's parallel tests are short: one worker more than
    # the CPUs (3 on two cores: 5.7 s here, 4 workers 5.1 s; on a CPU made three times slower,
    # 14.7 s against 17.0 s). The package's tests mostly wait (3 s demos, terminals, Ctrl-C):
    # one more than twice the CPUs keeps them busy. At most 5 either way.
    default_workers = {False: min(5, cpus + 1), True: min(5, 2 * cpus + 1)}  # by --package
    parser.add_argument(
        "--workers",
        type=int,
        help=f"xdist workers (default {default_workers[False]}, with --package {default_workers[True]})",
    )
    parser.add_argument("--junit-dir", help="write each pass's JUnit XML there, as parallel.xml and serial.xml")
    parser.add_argument("--package", action="store_true", help="the package's own tests instead of the specification")
    args, pytest_args = parser.parse_known_args(argv)
    report_dir = Path(args.report_dir).resolve()
    # "--option=value": a separate value that is a path would make pytest take it for the rootdir
    base = [sys.executable, "-m", "pytest", f"--report-dir={report_dir}"]
    # one test at a time to each free worker: in chunks, a worker can get all three 3 s demos
    workers = default_workers[args.package] if args.workers is None else args.workers
    spread = ["-n", str(workers), "--maxschedchunk=1"]
    if args.package:  # they cite no claim, so they write no claims report
        passes = [("package", [*base, *spread, "-m", "package", *pytest_args])]
    else:
        partial = report_dir / f"claims-{catalogue.interpreter_tag()}.json"
        partial.unlink(missing_ok=True)
        merge = f"--merge-results={partial}"
        passes = [
            ("parallel", [*base, *spread, "-m", SPEC + " and not serial", *pytest_args]),
            ("serial", [*base, "-p", "no:xdist", "-m", SPEC + " and serial", merge, *pytest_args]),
        ]
    if args.junit_dir:
        for name, command in passes:
            command.append(f"--junitxml={Path(args.junit_dir).resolve() / name}.xml")
    codes = []
    started = time.perf_counter()
    for name, command in passes:
        print(f"--- {name} pass: {' '.join(command[1:])}", flush=True)
        pass_start = time.perf_counter()
        codes.append(subprocess.call(command))
        print(f"--- {name} pass: exit {codes[-1]} in {time.perf_counter() - pass_start:.1f}s", flush=True)
        if codes[-1] not in (0, NO_TESTS) and {"-x", "--exitfirst"} & set(pytest_args):
            break  # asked to stop at the first failure: the other pass would not change the verdict
    print(f"--- {'both passes' if len(passes) > 1 else 'in all'}: {time.perf_counter() - started:.1f}s", flush=True)
    if all(code == NO_TESTS for code in codes):
        return NO_TESTS
    return max((code for code in codes if code != NO_TESTS), default=0)


if __name__ == "__main__":
    sys.exit(main())
