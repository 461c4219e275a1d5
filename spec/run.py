"""Run the whole specification on this interpreter in two passes, then report.

1. the parallel pass: every test not marked ``serial``, spread over xdist workers;
2. the serial pass: the timing-sensitive measurements, alone on the machine.

Both passes feed one claims report (``reports/claims-<interpreter>.md``). Extra
arguments go to both pytest runs. With ``-x`` a failing parallel pass ends the run there.

3. re-measurement: a claim test that failed is run again, alone, after both passes, up to
   twice, as CPython's regrtest re-runs its failed tests (``--rerun``). A test that then
   passes *held when re-measured*: its claim holds, and the report keeps every attempt's
   error and figures. A Python that breaks the claim fails all three attempts. A test that
   hung (it outlived its timeout) or whose worker died is not measured again: a hang is not
   noise, and would only cost its timeout twice more.

The exit status is 0 only if no test is left failed; a pass that selects no test (exit 5)
counts as passing only if the other ran tests.

A test that outlives even its hard limit -- faulthandler ends its process with every
thread's stack, after pytest-timeout's signal could not stop it (spec/plugin.py) -- is a
failure of that test: under xdist the controller reports it and a new worker goes on; the
serial pass, without xdist, notes the test it runs, and this runner reports it from there. A
pass that outlives ``--pass-limit`` is stopped, each of its processes dumping its stacks first.
A pass in which three tests hung stops there, and the run with it: the specimen hangs, and
each further test of it would only wait out its timeout.

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
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from spec import catalogue, plugin

NO_TESTS = 5
TESTS_FAILED = 1
INTERRUPTED = 2
SPEC = "not package and not tooling"  # the chapter's claims
ATTEMPTS = 3  # the first, and two re-measurements alone
# A pass of this project takes some 20 s here; one that goes on for ten minutes has hung in a
# way no test's timeout caught (a worker that cannot be stopped): it is stopped, with stacks.
PASS_LIMIT = 600.0


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
    parser.add_argument(
        "--pass-limit",
        type=float,
        default=PASS_LIMIT,
        help=f"seconds a pass may take before it is stopped, with stacks (default {PASS_LIMIT:g})",
    )
    args, pytest_args = parser.parse_known_args(argv)
    report_dir = Path(args.report_dir).resolve()
    # "--option=value": a separate value that is a path would make pytest take it for the rootdir
    base = [sys.executable, "-m", "pytest", f"--report-dir={report_dir}"]
    # one test at a time to each free worker: in chunks, a worker can get all three 3 s demos
    workers = default_workers[args.package] if args.workers is None else args.workers
    spread = ["-n", str(workers), "--maxschedchunk=1"]
    given_paths = any(Path(arg.split("::")[0]).exists() for arg in pytest_args)
    if args.package:  # they cite no claim, so they write no claims report
        only = [] if given_paths else modules(Path("tests"))["package"]
        passes = [("package", [*base, *spread, "-m", "package", *pytest_args, *only])]
    else:
        partial = report_dir / f"claims-{catalogue.interpreter_tag()}.json"
        partial.unlink(missing_ok=True)
        merge = f"--merge-results={partial}"
        found = modules(Path("tests"))
        spec, serial = ([], []) if given_paths else (found["spec"], found["serial"])
        passes = [
            ("parallel", [*base, *spread, "-m", SPEC + " and not serial", *pytest_args, *spec]),
            ("serial", [*base, "-p", "no:xdist", "-m", SPEC + " and serial", merge, *pytest_args, *serial]),
        ]
    if args.junit_dir:
        for name, command in passes:
            command.append(f"--junitxml={Path(args.junit_dir).resolve() / name}.xml")
    codes = []
    started = time.perf_counter()
    for name, command in passes:
        print(f"--- {name} pass: {' '.join(command[1:])}", flush=True)
        pass_start = time.perf_counter()
        codes.append(call(command, args.pass_limit))
        if name == "serial" and died_running(report_dir):
            codes[-1] = TESTS_FAILED
        print(f"--- {name} pass: exit {codes[-1]} in {time.perf_counter() - pass_start:.1f}s", flush=True)
        if codes[-1] == INTERRUPTED:
            break  # stopped: the specimen hangs (spec/plugin.py, MOST_HANGS), or a Ctrl-C
        if codes[-1] not in (0, NO_TESTS) and {"-x", "--exitfirst"} & set(pytest_args):
            break  # asked to stop at the first failure: the other pass would not change the verdict
    if not args.package and set(codes) <= {0, TESTS_FAILED, NO_TESTS} and TESTS_FAILED in codes:
        report = report_dir / f"claims-{catalogue.interpreter_tag()}.json"
        if report.exists() and remeasure(report, base) == 0:
            codes = [NO_TESTS if code == NO_TESTS else 0 for code in codes]
    print(f"--- {'both passes' if len(passes) > 1 else 'in all'}: {time.perf_counter() - started:.1f}s", flush=True)
    if all(code == NO_TESTS for code in codes):
        return NO_TESTS
    return max((code for code in codes if code != NO_TESTS), default=0)


def modules(tests: Path) -> dict[str, list[str]]:
    """The test modules each pass collects, so that none imports and collects modules it will
    deselect whole (half a second of the serial pass): the package's own (marked ``package``
    at module level), the specification's (neither ``package`` nor ``tooling``), and those of
    the specification that hold ``@serial`` tests. A tooling test checks that these are the
    modules pytest's own selection finds."""
    found: dict[str, list[str]] = {"package": [], "spec": [], "serial": []}
    for path in sorted(tests.glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        marked = re.search(r"^pytestmark = pytest\.mark\.(package|tooling)$", text, re.M)
        if marked and marked.group(1) == "package":
            found["package"].append(str(path))
        elif not marked:
            found["spec"].append(str(path))
            if re.search(r"^@serial$", text, re.M):
                found["serial"].append(str(path))
    return found


def call(command: list[str], limit: float) -> int:
    """Run a pass; past ``limit`` seconds, make each of its processes dump its stacks
    (SIGABRT: pytest's faulthandler prints every thread's) and stop them all."""
    with subprocess.Popen(command) as child:
        try:
            return child.wait(limit)
        except subprocess.TimeoutExpired:
            print(f"--- the pass outlived its limit of {limit:g}s: every process of it dumps its stacks", flush=True)
            stop_all(child, signal.SIGABRT)
            return 3  # as pytest reports an internal error
        except BaseException:  # Ctrl-C, a SIGTERM: the pass and its workers go too
            stop_all(child, signal.SIGKILL)
            raise


def died_running(report_dir: Path) -> bool:
    """If a pass run without xdist was ended by a test's hard limit (spec/plugin.py), put that
    test in the claims report as failed, with its claims; whether it was so."""
    note = plugin.running_file(report_dir)
    if not note.exists():
        return False
    nodeid = note.read_text(encoding="utf-8")
    note.unlink()
    print(f"--- the pass died running {nodeid}: it outlived its hard limit (its stacks are above)", flush=True)
    report = report_dir / f"claims-{catalogue.interpreter_tag()}.json"
    data: dict[str, Any] = {"interpreter": plugin.interpreter(), "tests": {}}
    if report.exists():
        data = json.loads(report.read_text(encoding="utf-8"))
    data["tests"][nodeid] = {
        "claims": catalogue.claims_of(nodeid, Path.cwd()),
        "outcome": "failed",
        "evidence": {},
        "verdict": {},
        "error": "crashed while running it: it outlived its timeout and its hard limit",
    }
    data["claims"] = plugin.claim_verdicts(data["tests"])
    report.write_text(json.dumps(data, indent=1), encoding="utf-8")
    report.with_suffix(".md").write_text(plugin.render_markdown(data), encoding="utf-8")
    return True


def stop_all(child: subprocess.Popen[bytes], first: signal.Signals) -> None:
    """Send ``first`` to ``child`` and every process under it, then kill what is left."""
    import psutil  # (a test dependency, as the passes are)

    try:
        family = [psutil.Process(child.pid), *psutil.Process(child.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(first)
    psutil.wait_procs(family, timeout=10)
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    child.wait()


def remeasure(report: Path, base: list[str]) -> int:
    """Run each failed claim test of ``report`` again, alone, up to ATTEMPTS in all, until it no
    longer fails; write every attempt into the report. The tests still failing: their count."""
    data = json.loads(report.read_text(encoding="utf-8"))
    failed = [
        nodeid
        for nodeid, entry in data["tests"].items()
        if entry["outcome"] == "failed" and entry["claims"] and not plugin.hung(entry)
    ]
    left: int = sum(entry["outcome"] == "failed" for entry in data["tests"].values()) - len(failed)
    if not failed:
        return left
    print(f"--- re-measuring {len(failed)} failed claim test(s) alone, up to {ATTEMPTS - 1} times each", flush=True)
    for nodeid in failed:
        attempts = [attempt_of(data["tests"][nodeid])]
        while attempts[-1]["outcome"] == "failed" and len(attempts) < ATTEMPTS:
            entry = run_alone(nodeid, base)
            attempts.append(attempt_of(entry))
            print(f"    attempt {len(attempts)}: {attempts[-1]['outcome']}: {nodeid}", flush=True)
        final = {**entry, "claims": data["tests"][nodeid]["claims"], "attempts": attempts}
        data["tests"][nodeid] = final
        left += int(final["outcome"] == "failed")
    data["claims"] = plugin.claim_verdicts(data["tests"])
    report.write_text(json.dumps(data, indent=1), encoding="utf-8")
    report.with_suffix(".md").write_text(plugin.render_markdown(data), encoding="utf-8")
    for claim_id, row in data["claims"].items():
        for test in row["tests"]:
            if test["test"] in failed:
                print(f"  {claim_id:7} {test['verdict']}: {test.get('reason', '')}", flush=True)
    print(f"--- after re-measurement: {left} test(s) still failing; claims report: {report.with_suffix('.md')}")
    return left


def attempt_of(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in ("outcome", "error", "evidence", "verdict") if key in entry}


def run_alone(nodeid: str, base: list[str]) -> dict[str, Any]:
    """One more attempt at the test ``nodeid``, alone, without xdist; its entry in the claims
    report that run writes (a run that reported nothing counts as a failure)."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [base[0], "-m", "pytest", f"--report-dir={scratch}", "-p", "no:xdist", "-q", nodeid]
        call(command, PASS_LIMIT)
        reports = list(Path(scratch).glob("claims-*.json"))
        tests: dict[str, dict[str, Any]] = (
            json.loads(reports[0].read_text(encoding="utf-8"))["tests"] if reports else {}
        )
    nothing = {"claims": [], "outcome": "failed", "evidence": {}, "verdict": {}, "error": "the run reported nothing"}
    return tests.get(nodeid, nothing)


if __name__ == "__main__":
    sys.exit(main())
