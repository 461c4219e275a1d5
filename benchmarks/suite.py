"""Where the specification's wall time goes, on one or more interpreters.

For each interpreter, runs the whole specification once (``python -m spec.run``, both
passes) and prints, as Markdown:

* the machine's speed: how long this interpreter takes to check the chapter's prime,
  ``is_prime(5_000_111_000_222_021)`` (the work the spec sizes by time does not grow with a
  slower CPU; start-up, imports and the fixed checks do);
* the wall time of each pass and of the whole run, against the 20 s budget;
* for each pass, the seconds spent in each test module (setup, call and teardown of its
  tests; in the parallel pass these are worker-seconds, spread over the xdist workers)
  and the rest: start-up, collection and reporting;
* the slowest tests of each pass.

    python -m benchmarks.suite [PYTHON ...]     # default: this interpreter

Each interpreter needs the test dependencies: after ``tox``, ``.tox/py3*/bin/python`` have them.

``--slower FACTOR`` imitates CPUs FACTOR times slower: beside the run, one process per CPU
at real-time priority keeps that CPU busy for all but 1/FACTOR of each 0.3 ms (``steal``;
root only). The prime's time shows the imitation took. What it cannot imitate: to the
spec's probes the cores look taken (a child gets 1/FACTOR of a core, where on a slow CPU it
would get the whole of a slower one), so the claims about parallel work end *not
demonstrable* after trying again; and start-up, being interrupted every 0.3 ms, suffers
more than the factor.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from measuring.cpu import busy_until

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 20.0  # seconds for the whole specification on one interpreter
SPEED = "from measuring.cpu import machine_speed; print(machine_speed())"
PASSES = ("parallel", "serial")


def machine_speed(python: str) -> float:
    """Seconds ``python`` takes to check the chapter's prime by trial division, here and now
    (``measuring.cpu.machine_speed``, run by that interpreter)."""
    return float(subprocess.run([python, "-c", SPEED], cwd=ROOT, capture_output=True, text=True, check=True).stdout)


def run_once(python: str, workdir: Path) -> tuple[str, float, dict[str, float], int]:
    """Run the specification with ``python``; return its version, the wall time of the whole
    run and of each pass (as ``spec.run`` reports them), and the exit status."""
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    command = [python, "-m", "spec.run", f"--report-dir={workdir}", f"--junit-dir={workdir}", "-q"]
    t0 = time.perf_counter()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    # spec.run ends each pass with a line "--- parallel pass: exit 0 in 11.3s"
    ends = re.findall(r"^--- (\w+) pass: exit -?\d+ in ([\d.]+)s$", run.stdout, re.MULTILINE)
    walls = {name: float(seconds) for name, seconds in ends}
    return version, wall, walls, run.returncode


def read_pass(xml_file: Path) -> tuple[dict[str, float], list[tuple[float, str]]]:
    """A pass's seconds per test module, and every test's time, from its JUnit XML."""
    suite = ET.parse(xml_file).getroot().find("testsuite")
    assert suite is not None, f"no testsuite in {xml_file}"
    per_module: dict[str, float] = defaultdict(float)
    tests = []
    for case in suite.iter("testcase"):
        seconds = float(case.get("time", "0"))
        module = case.get("classname", "?").rsplit(".", 1)[-1]
        per_module[module] += seconds
        tests.append((seconds, f"{module}::{case.get('name')}"))
    return dict(per_module), sorted(tests, reverse=True)


def report(python: str, slowest: int) -> tuple[list[str], int]:
    speed = machine_speed(python)
    with tempfile.TemporaryDirectory() as tmp:
        version, wall, walls, code = run_once(python, Path(tmp))
        passes = {name: read_pass(Path(tmp) / f"{name}.xml") for name in PASSES}
    verdict = "passed" if code == 0 else f"FAILED (exit {code})"
    lines = [
        f"### Python {version} ({python})",
        "",
        f"Machine speed: `is_prime(5_000_111_000_222_021)` takes **{speed:.2f} s** here.",
        "",
        f"Whole run: **{wall:.1f} s** of a {BUDGET:.0f} s budget; the specification {verdict}.",
        "",
        "| pass | wall | in tests | start-up, collection, report |",
        "|---|---:|---:|---:|",
    ]
    for name, (per_module, _) in passes.items():
        in_tests = sum(per_module.values())
        rest = f"{walls[name] - in_tests:.1f} s" if name == "serial" else "(worker-seconds, over the workers)"
        lines.append(f"| {name} | {walls[name]:.1f} s | {in_tests:.1f} s | {rest} |")
    for name, (per_module, tests) in passes.items():
        lines += ["", f"{name} pass, seconds per module:", ""]
        lines += [f"- {module}: {seconds:.1f} s" for module, seconds in sorted(per_module.items())]
        lines += ["", f"{name} pass, slowest tests:", ""]
        lines += [f"- {seconds:.2f} s {test}" for seconds, test in tests[:slowest]]
    return [*lines, ""], code


SLICE = 0.0003  # seconds: a stealer's busy spell and its sleep together, about


def owed(share: float, elapsed: float, taken: float) -> float:
    """How long a stealer must keep its CPU busy now, having taken ``taken`` of the ``elapsed``
    seconds so far, so that by the end of the next slice it has taken ``share`` of all the
    time: a sleep that overshoots is made up by the next busy spell."""
    return max(0.0, share * (elapsed + SLICE) - taken)


def steal(cpu: int, share: float) -> None:
    """Keep ``cpu`` busy for ``share`` of the time, at real-time priority so that nothing else
    runs there meanwhile, in spells of a fraction of a millisecond; until killed."""
    os.sched_setaffinity(0, {cpu})
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    print("ready", flush=True)
    now = time.perf_counter
    start, taken = now(), 0.0
    while True:
        spell = now()
        busy_until(spell + owed(share, spell - start, taken))
        taken += now() - spell
        time.sleep(SLICE * (1 - share))


@contextlib.contextmanager
def slower_cpus(factor: float) -> Iterator[None]:
    """Every CPU this process may use made about ``factor`` times slower while inside."""
    code = f"from benchmarks.suite import steal; steal({{}}, {1 - 1 / factor})"
    stealers = [
        subprocess.Popen(
            [sys.executable, "-c", code.format(cpu)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for cpu in sorted(os.sched_getaffinity(0))
    ]
    try:
        for stealer in stealers:
            assert stealer.stdout is not None
            if stealer.stdout.readline() != "ready\n":  # it could not take real-time priority
                raise SystemExit("--slower needs root: real-time priority was refused")
        yield
    finally:
        for stealer in stealers:
            stealer.kill()
            stealer.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite", description=__doc__.split("\n\n")[0])
    parser.add_argument("pythons", nargs="*", default=[sys.executable], help="interpreters to time")
    parser.add_argument("--slowest", type=int, default=5, help="how many of the slowest tests to list per pass")
    parser.add_argument("--slower", type=float, metavar="FACTOR", help="imitate CPUs FACTOR times slower (root)")
    args = parser.parse_args(argv)
    if args.slower is not None and not 1 < args.slower <= 10:
        parser.error(f"--slower: a factor above 1 and at most 10, not {args.slower:g}")
    if args.slower is not None and not hasattr(os, "sched_setaffinity"):
        parser.error("--slower needs CPU affinity and real-time priority (Linux)")
    failed = 0
    with slower_cpus(args.slower) if args.slower else contextlib.nullcontext():
        for python in args.pythons:
            lines, code = report(python, args.slowest)
            print("\n".join(lines), flush=True)
            failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
