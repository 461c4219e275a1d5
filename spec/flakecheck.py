"""Run the specification many times, optionally on a hostile machine, and count outcomes.

    python -m spec.flakecheck --runs 20 [--burn N] [--quota CPUS] [pytest args, e.g. tests/test_03_gil.py]

Each run is a whole ``python -m spec.run`` (both passes) writing its own claims report; the
outcome of every test is read back from those reports. ``--burn N`` runs N CPU-burning
processes beside the suite (N = the CPU count keeps every core busy); ``--quota CPUS`` runs
the suite inside a cgroup whose CPU quota is CPUS cores (what ``docker --cpus`` sets; needs
root and a cgroup ``cpu`` controller, v1 or v2). Prints each run's verdict counts, every test
that did not pass every time, and the wall time of each run. Exits 1 if any run failed: a
claim the load or the quota prevents must be *not demonstrable*, never *does not hold*.

It also keeps the flake ledger: every test's *first-attempt* failures, counted across the
runs, though ``spec.run`` re-measured them and they then held. A test that needs
re-measuring often is a test to fix. The output of every run with a first-attempt failure
is kept, as that of a failing run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from spec.run import NO_TESTS

ROOT = Path(__file__).resolve().parent.parent
BURNER = "from measuring.cpu import busy_until; busy_until(float('inf'))"  # one CPU, until killed
CGROUP = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


@contextlib.contextmanager
def cpu_quota(cpus: float) -> Iterator[Path]:
    """A new cgroup whose processes share a CPU quota of ``cpus`` cores; yields its
    ``cgroup.procs`` file (write a PID there to put that process and its future children in).
    cgroup v2 (``cpu.max``) where the unified hierarchy has the cpu controller, else v1."""
    name = f"spinners-quota-{os.getpid()}"
    quota = str(max(1000, int(cpus * PERIOD_US)))
    controllers = CGROUP / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        (CGROUP / "cgroup.subtree_control").write_text("+cpu")
        group = CGROUP / name
        group.mkdir()
        (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
    elif (CGROUP / "cpu" / "cpu.cfs_quota_us").exists():
        group = CGROUP / "cpu" / name
        group.mkdir()
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(quota)
    else:
        raise OSError("no cgroup cpu controller (v1 or v2) is mounted here")
    try:
        yield group / "cgroup.procs"
    finally:
        for _ in range(50):  # its last processes may take a moment to be gone
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def read_reports(report_dir: Path) -> list[dict[str, Any]]:
    """A run's claims reports (one per interpreter it ran on)."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in report_dir.glob("claims-*.json")]


def verdict_counts(reports: list[dict[str, Any]]) -> Counter[str]:
    return Counter(row["verdict"] for report in reports for row in report["claims"].values())


def not_shown(reports: list[dict[str, Any]]) -> list[str]:
    """Each test of a run that ended *not demonstrable*, with the reason it gave: the figures
    behind it would be lost with the run's report, which is kept only when the run fails."""
    return [
        f"  {nodeid.rsplit('::', 1)[-1]}: {entry['verdict'].get('reason', '?')}"
        for report in reports
        for nodeid, entry in sorted(report["tests"].items())
        if entry["outcome"] == "skipped"
    ]


def first_attempt_failures(reports: list[dict[str, Any]]) -> dict[str, str]:
    """Each test of a run that failed its first attempt, with that attempt's error, whether
    re-measurement then rescued it or not."""
    failures = {}
    for report in reports:
        for nodeid, entry in report["tests"].items():
            first = entry.get("attempts", [entry])[0]
            if first["outcome"] == "failed":
                failures[nodeid] = str(first.get("error", "?"))
    return failures


def ledger(first_failures: dict[str, list[str]], runs: int) -> list[str]:
    """The flake ledger: every test that failed a first attempt, how often, and its errors."""
    lines = []
    for nodeid, errors in sorted(first_failures.items(), key=lambda item: -len(item[1])):
        lines.append(f"  {nodeid}: failed its first attempt in {len(errors)} of {runs} runs")
        lines += [f"      {error}" for error in dict.fromkeys(errors)]
    return lines or ["  no test failed a first attempt"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec.flakecheck", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--burn", type=int, default=0, help="CPU-burning processes to run beside the suite")
    parser.add_argument("--quota", type=float, default=None, help="run the suite in a cgroup with this CPU quota")
    parser.add_argument("--keep", default="reports/flakecheck", help="where the output of failing runs is kept")
    args, pytest_args = parser.parse_known_args(argv)
    # a SIGTERM (timeout, CI cancelling) must still stop the burners: let `finally` run
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with contextlib.ExitStack() as stack:
        enter: Callable[[], None] | None = None
        if args.quota is not None:
            try:
                procs = stack.enter_context(cpu_quota(args.quota))
            except OSError as error:
                print(f"--quota {args.quota:g}: not possible on this machine ({error}); nothing was run")
                return 0

            def enter() -> None:  # in the child, before it runs the suite
                procs.write_text(str(os.getpid()))

        return check(args.runs, args.burn, args.quota, args.keep, pytest_args, enter)


def check(
    runs: int, burn: int, quota: float | None, keep: str, pytest_args: list[str], enter: Callable[[], None] | None
) -> int:
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    first_failures: dict[str, list[str]] = defaultdict(list)
    times, codes = [], []
    burners = [subprocess.Popen([sys.executable, "-c", BURNER], cwd=ROOT) for _ in range(burn)]
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for run in range(runs):
                report_dir = Path(scratch) / f"run-{run}"
                t0 = time.perf_counter()
                suite = subprocess.Popen(
                    [sys.executable, "-m", "spec.run", f"--report-dir={report_dir}", *pytest_args],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # so that all of it can be stopped at once
                    preexec_fn=enter,  # (no threads here to trip over a fork)
                )
                try:
                    output, _ = suite.communicate()
                except BaseException:  # stopped (SIGTERM, Ctrl-C): the suite and its workers too
                    os.killpg(suite.pid, signal.SIGKILL)
                    suite.wait()
                    raise
                code = suite.returncode
                times.append(time.perf_counter() - t0)
                codes.append(code)
                reports = read_reports(report_dir)
                failed_first = first_attempt_failures(reports)
                for nodeid, error in failed_first.items():
                    first_failures[nodeid].append(error)
                if code not in (0, NO_TESTS) or failed_first:  # keep what it printed
                    kept = Path(keep) / f"run-{run + 1}.log"
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    kept.write_bytes(output)
                    print(f"  output kept in {kept}")
                for report in reports:
                    for nodeid, entry in report["tests"].items():
                        outcomes[nodeid][entry["outcome"]] += 1
                verdicts = ", ".join(f"{n} {verdict}" for verdict, n in sorted(verdict_counts(reports).items()))
                print(f"run {run + 1}/{runs}: exit {code} in {times[-1]:.1f}s: {verdicts}", flush=True)
                for line in not_shown(reports):
                    print(line, flush=True)
                for nodeid, error in failed_first.items():
                    print(f"  first attempt failed: {nodeid.rsplit('::', 1)[-1]}: {error}", flush=True)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    unsteady = {nodeid: counts for nodeid, counts in outcomes.items() if counts["passed"] != runs}
    beside = f"{burn} CPU burner(s) beside" + (f", inside a quota of {quota:g} CPU" if quota is not None else "")
    print(f"\n{len(outcomes)} tests, {runs} runs, {beside}")
    # the spec skips a test only to report its claim not demonstrable here (spec/plugin.py)
    named = {"skipped": "not demonstrable (skipped)"}
    for nodeid, counts in sorted(unsteady.items()):
        print(f"  {nodeid}: " + ", ".join(f"{n} {named.get(o, o)}" for o, n in sorted(counts.items())))
    if not unsteady:
        print(f"  every test passed in every run ({runs * len(outcomes)} test runs)")
    print("the flake ledger (first attempts that failed, before spec.run re-measured them):")
    for line in ledger(first_failures, runs):
        print(line)
    median = statistics.median_high(times)
    print(f"wall time per run: min {min(times):.1f}s, median {median:.1f}s, max {max(times):.1f}s")
    return 1 if any(code not in (0, NO_TESTS) for code in codes) else 0


if __name__ == "__main__":
    sys.exit(main())
