"""Benchmark: the prime pool on processes and threads against sequential code.

    python -m benchmarks.pool [--numbers large|small] [--repeat 2]

Checks the same numbers sequentially, then with 1..N threads and 1..N processes (N: the CPUs
this process may use), and prints each run's wall time and speed-up over sequential, as the
chapter's table does. With --repeat R, each time is the best of R runs.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
from collections.abc import Callable

from spinners.prime_pool import LARGE, SMALL, PrimeResult, run_pool, run_sequential


def best_of(repeat: int, work: Callable[[], list[PrimeResult]]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", choices=("large", "small"), default="large")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    numbers = list(LARGE if args.numbers == "large" else SMALL)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, {cpus} CPU(s) usable")
    print(f"{len(numbers)} numbers ({args.numbers}), best of {args.repeat}\n")
    sequential = best_of(args.repeat, lambda: run_sequential(numbers))
    rows = [("sequential", 1, sequential)]
    for runner in ("thread", "process"):
        for workers in range(1, cpus + 1):
            rows.append((runner, workers, best_of(args.repeat, functools.partial(run_pool, numbers, workers, runner))))
    print("| runner | workers | wall time | speed-up |")
    print("|---|---:|---:|---:|")
    for runner, workers, seconds in rows:
        print(f"| {runner} | {workers} | {seconds:.2f} s | {sequential / seconds:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
