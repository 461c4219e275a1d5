"""Run the specification many times, optionally beside CPU-burning processes, and count outcomes.

    python -m spec.flakecheck --runs 20 [--burn 1] [pytest args, e.g. tests/test_03_gil.py]

Each run is a whole ``python -m spec.run`` (both passes) writing its own claims report; the
outcome of every test is read back from those reports. Prints every test that did not pass
every time, the verdict counts, and the wall time of each run. Exits 1 if any run failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from spec.run import NO_TESTS

BURNER = "while True: pass"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec.flakecheck", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--burn", type=int, default=0, help="CPU-burning processes to run beside the suite")
    parser.add_argument("--keep", default="reports/flakecheck", help="where the output of failing runs is kept")
    args, pytest_args = parser.parse_known_args(argv)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    times, codes = [], []
    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(args.burn)]
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for run in range(args.runs):
                report_dir = Path(scratch) / f"run-{run}"
                t0 = time.perf_counter()
                run_output = subprocess.run(
                    [sys.executable, "-m", "spec.run", f"--report-dir={report_dir}", *pytest_args],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    check=False,
                )
                code = run_output.returncode
                if code not in (0, NO_TESTS):  # keep what a failing run printed
                    kept = Path(args.keep) / f"run-{run + 1}.log"
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    kept.write_bytes(run_output.stdout)
                    print(f"  output kept in {kept}")
                times.append(time.perf_counter() - t0)
                codes.append(code)
                for path in report_dir.glob("claims-*.json"):
                    for nodeid, entry in json.loads(path.read_text(encoding="utf-8"))["tests"].items():
                        outcomes[nodeid][entry["outcome"]] += 1
                print(f"run {run + 1}/{args.runs}: exit {code} in {times[-1]:.1f}s", flush=True)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    unsteady = {nodeid: counts for nodeid, counts in outcomes.items() if counts["passed"] != args.runs}
    print(f"\n{len(outcomes)} tests, {args.runs} runs, {args.burn} CPU burner(s) beside")
    # the spec skips a test only to report its claim not demonstrable here (spec/plugin.py)
    named = {"skipped": "not demonstrable (skipped)"}
    for nodeid, counts in sorted(unsteady.items()):
        print(f"  {nodeid}: " + ", ".join(f"{n} {named.get(o, o)}" for o, n in sorted(counts.items())))
    if not unsteady:
        print(f"  every test passed in every run ({args.runs * len(outcomes)} test runs)")
    median = sorted(times)[len(times) // 2]
    print(f"wall time per run: min {min(times):.1f}s, median {median:.1f}s, max {max(times):.1f}s")
    return 1 if any(code not in (0, NO_TESTS) for code in codes) else 0


if __name__ == "__main__":
    sys.exit(main())
