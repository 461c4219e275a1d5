"""Benchmark: the homegrown prime pool against the pools a reader would use instead.

    python -m benchmarks.pool [--seconds 90] [--numbers table|book|many|seq] [--workers N]
                              [--repeats 5] [--start-method M] [--json]

The same numbers, the same number of workers, the same start method for every contender:

* sequential code (``run_sequential``);
* this project's pool on processes, on threads, and on interpreters (3.14 and later), with no
  option set;
* ``concurrent.futures.ProcessPoolExecutor.map``, chunksize 1, and the chunksize a sweep
  found fastest on these numbers;
* ``multiprocessing.Pool.imap_unordered``, likewise;
* ``concurrent.futures.InterpreterPoolExecutor.map`` (3.14 and later; it has no chunksize).

The sweep times the chunksizes 1, 4, 16 and on by fours up to the numbers' share of one
worker, once each and from the largest down, before the rounds, until one is slower than the
one before it; the fastest is the contender (it may be 1, beside the chunksize-1 row). It
favours its pools: the best chunksize is chosen on the very numbers it then runs, which no
program can do.

Each contender builds its pool inside its timing, as a program would. The contenders run
round-robin, ``--repeats`` rounds, each round starting one further along the list, so that
no contender always runs after the same one; each is reported by its median and its spread
(fastest to slowest). A contender that took more than ten times as long as sequential code in
the first round runs in no other round: one time is enough to say it is slow. Against them
stands the **ideal makespan**, measured in the same run:
the check times the pools' workers themselves report for each number (their ``elapsed``, the
median of the round's process pools: checks made with every core busy, which on a shared
machine run slower than one alone), packed onto N workers largest first -- what N cores could do with these
numbers, whatever pool runs them.

The figures can be no better than the machine: the cores this process could get (the spec's
probe) are measured before and after, and a warning says when two contenders' spreads
overlap, so that their order is noise.

``--numbers table`` (the default) takes the package's table of large numbers, smallest first,
as many as fit the share of ``--seconds`` one sequential pass may take -- so the benchmark
takes about as long on a fast CPU as on a slow one; the table is listed largest first, so
that no worker is left alone with a long check at the end. ``--numbers book`` checks the
chapter's twenty numbers as they are, whatever that takes. ``--numbers many`` checks 10,000
consecutive numbers from 10**9, each a fraction of a millisecond: thousands of short jobs,
where what a pool costs per job, not the checks, sets the time. ``--numbers seq`` checks a
million numbers from 2, as ``seq 2 1000001 | spinners primes`` would: checks of a few
microseconds.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import itertools
import json
import math
import multiprocessing
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from measuring.cpu import MACHINE_SPEED_PRIME, cores_available, cores_were_free, machine_speed, speedup
from spinners.cli import usable_cpus
from spinners.prime_pool import LARGE, PrimeResult, check, run_pool, run_sequential

# The chapter's list of numbers to check, in its order.
BOOK = [
    2,
    142_702_110_479_723,
    299_593_572_317_531,
    3_333_333_333_333_301,
    3_333_333_333_333_333,
    3_333_335_652_092_209,
    4_444_444_444_444_423,
    4_444_444_444_444_444,
    4_444_444_488_888_889,
    5_555_553_133_149_889,
    5_555_555_555_555_503,
    5_555_555_555_555_555,
    6_666_666_666_666_666,
    6_666_666_666_666_719,
    6_666_667_141_414_921,
    7_777_777_536_340_681,
    7_777_777_777_777_753,
    7_777_777_777_777_777,
    9_999_999_999_999_917,
    9_999_999_999_999_999,
]
# Many short jobs: 10,000 numbers from 10**9, the longest check (a prime's) under a millisecond.
MANY = list(range(10**9, 10**9 + 10_000))
# A million numbers from 2, as ``seq 2 1000001`` writes them: most checks take microseconds.
SEQ = range(2, 1_000_002)
# A contender this many times slower than sequential code in the first round runs no more rounds.
PATIENCE = 10


class Contender(NamedTuple):
    name: str
    workers: int
    run: Callable[[], list[PrimeResult]]
    # whether its results' ``elapsed`` is what a check costs on a core of its own: not for
    # threads, whose checks also wait for the GIL
    own_times: bool = True


def ideal_makespan(seconds: Sequence[float], workers: int) -> float:
    """The jobs' times packed onto ``workers`` workers largest first, each job to the least
    loaded worker: the time the busiest one then needs."""
    loads = [0.0] * workers
    for job in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += job
    return max(loads)


def lower_bound(seconds: Sequence[float], workers: int) -> float:
    """No packing can beat the longest job, nor the total shared evenly."""
    return max(max(seconds, default=0.0), sum(seconds) / workers)


def round_robin(names: Sequence[str], rounds: int) -> list[str]:
    """Every name once a round; each round starts one further along the list."""
    return [names[(start + i) % len(names)] for start in range(rounds) for i in range(len(names))]


def pick_numbers(candidates: Sequence[int], budget: float, check_time: Callable[[int], float]) -> list[int]:
    """The smallest of ``candidates`` whose checks, timed one by one with ``check_time``, add up
    to at most ``budget`` seconds (at least one), in the order they were given. Timing stops at
    the first that would not fit."""
    chosen: set[int] = set()
    spent = 0.0
    for n in sorted(candidates):
        cost = check_time(n)
        if chosen and spent + cost > budget:
            break
        chosen.add(n)
        spent += cost
    return [n for n in candidates if n in chosen]


def sequential_passes(workers: int, rounds: int) -> float:
    """How many sequential passes' worth of work the benchmark does: every round, sequential
    code and threads do one each, the seven process and interpreter contenders one N-th each;
    the sweeps (at most two chunksizes each, for the table's few numbers) one N-th a
    chunksize; and one pass to pick the numbers."""
    return rounds * (2 + 7 / workers) + 4 / workers + 1


def chunksizes(count: int, workers: int) -> list[int]:
    """The chunksizes a sweep tries: 1, 4, 16, 64, ... up to the numbers' share of one worker."""
    share = math.ceil(count / workers)
    return [*(4**power for power in range(16) if 4**power < share), share]


def swept(run: Callable[[int], object], sizes: Sequence[int]) -> int:
    """The chunksize of ``sizes`` that ran fastest, each timed once, from the largest down,
    until one runs slower than the one before it: smaller chunks only cost more from there on
    (a million numbers in chunks of 4 would take a minute)."""
    took: dict[int, float] = {}
    previous = math.inf
    for size in sorted(sizes, reverse=True):
        t0 = time.perf_counter()
        run(size)
        took[size] = time.perf_counter() - t0
        if took[size] > previous:
            break
        previous = took[size]
    return min(took, key=took.__getitem__)


def contenders(numbers: Sequence[int], workers: int, method: str) -> list[Contender]:
    context = multiprocessing.get_context(method)
    ordered = list(numbers)

    def executor_map(chunksize: int) -> list[PrimeResult]:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as executor:
            return list(executor.map(check, ordered, chunksize=chunksize))

    def pool_imap_unordered(chunksize: int) -> list[PrimeResult]:
        with context.Pool(workers) as pool:
            found = list(pool.imap_unordered(check, ordered, chunksize=chunksize))
            pool.close()
            pool.join()
        return found

    sizes = chunksizes(len(ordered), workers)
    executor_best, pool_best = swept(executor_map, sizes), swept(pool_imap_unordered, sizes)
    entrants = [
        Contender("sequential", 1, functools.partial(run_sequential, ordered)),
        Contender("this pool, processes", workers, functools.partial(run_pool, ordered, workers, "process", method)),
        Contender("this pool, threads", workers, functools.partial(run_pool, ordered, workers, "thread"), False),
        Contender("ProcessPoolExecutor.map, chunksize 1", workers, functools.partial(executor_map, 1)),
        Contender(
            f"ProcessPoolExecutor.map, chunksize {executor_best} (best of the sweep)",
            workers,
            functools.partial(executor_map, executor_best),
        ),
        Contender(
            "multiprocessing.Pool.imap_unordered, chunksize 1", workers, functools.partial(pool_imap_unordered, 1)
        ),
        Contender(
            f"multiprocessing.Pool.imap_unordered, chunksize {pool_best} (best of the sweep)",
            workers,
            functools.partial(pool_imap_unordered, pool_best),
        ),
    ]
    if hasattr(concurrent.futures, "InterpreterPoolExecutor"):  # 3.14 and later
        entrants.append(
            Contender("this pool, interpreters", workers, functools.partial(run_pool, ordered, workers, "interpreter"))
        )

        def interpreter_map() -> list[PrimeResult]:
            with concurrent.futures.InterpreterPoolExecutor(workers) as executor:  # type: ignore[attr-defined,unused-ignore]
                return list(executor.map(check, ordered))

        entrants.append(Contender("InterpreterPoolExecutor.map", workers, interpreter_map))
    return entrants


def measure(entrants: Sequence[Contender], rounds: int, workers: int) -> dict[str, Any]:
    """Run the contenders round-robin; their wall times, and each round's ideal makespan: each
    number's check time (the median of what the round's pool workers reported for it: checks
    made while the other cores work too) packed onto ``workers`` workers."""
    by_name = {entrant.name: entrant for entrant in entrants}
    times: dict[str, list[float]] = {name: [] for name in by_name}
    ideals, bounds, means = [], [], []
    order = round_robin(list(by_name), rounds)
    for start in range(0, len(order), len(by_name)):
        checks: dict[int, list[float]] = {}  # each number's check times this round
        for name in order[start : start + len(by_name)]:
            if times[name] and times[name][0] > PATIENCE * times.get("sequential", [math.inf])[0]:
                continue  # slow beyond doubt: its first time stands
            t0 = time.perf_counter()
            results = by_name[name].run()
            times[name].append(time.perf_counter() - t0)
            if by_name[name].workers > 1 and by_name[name].own_times:
                for result in results:
                    checks.setdefault(result.n, []).append(result.elapsed)
        if checks:
            typical = [statistics.median(seconds) for seconds in checks.values()]
            ideals.append(ideal_makespan(typical, workers))
            bounds.append(lower_bound(typical, workers))
            means.append(statistics.fmean(typical))
    return {"times": times, "ideal_makespan": ideals, "lower_bound": bounds, "mean_check": means}


def summarise(measured: dict[str, Any], entrants: Sequence[Contender]) -> list[dict[str, Any]]:
    """Each contender's median time and spread, its speed-up over sequential code, and its time
    over the ideal makespan of the same round (median and spread: a drift of the machine's
    speed between rounds, or between two runs of the benchmark, moves both alike)."""
    ideals = measured["ideal_makespan"]
    sequential = statistics.median(measured["times"]["sequential"])
    rows = []
    for entrant in entrants:
        runs = measured["times"][entrant.name]
        median = statistics.median(runs)
        ratios = [run / ideal for run, ideal in zip(runs, ideals, strict=False) if ideal > 0]
        parallel = entrant.workers > 1 and bool(ratios)
        rows.append(
            {
                "contender": entrant.name,
                "workers": entrant.workers,
                "median_s": median,
                "fastest_s": min(runs),
                "slowest_s": max(runs),
                "vs_ideal": statistics.median(ratios) if parallel else None,
                "vs_ideal_spread": [min(ratios), max(ratios)] if parallel else None,
                "speedup": speedup(sequential, median),
                "rounds_run": len(runs),
            }
        )
    return rows


def overlapping(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """Pairs of contenders, next to each other by median, whose spreads overlap: their order is noise."""
    ranked = sorted(rows, key=lambda row: row["median_s"])
    return [(a["contender"], b["contender"]) for a, b in itertools.pairwise(ranked) if b["fastest_s"] <= a["slowest_s"]]


def count(numbers: list[int] | int) -> int:
    """How many numbers a report checked (it lists them, or gives their count)."""
    return numbers if isinstance(numbers, int) else len(numbers)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Python {report['python']} on {report['platform']}, {report['workers']} workers, start method "
        f"{report['start_method']}; machine speed: is_prime({MACHINE_SPEED_PRIME:_}) takes "
        f"{report['machine_speed_s']:.2f} s",
        f"{count(report['numbers']):_} numbers ({report['numbers_from']}; a check takes "
        f"{report.get('mean_check_s', 0.0) * 1e6:_.0f} µs on average), {report['rounds']} rounds round-robin; "
        f"cores this process could get: {report['cores_before']:.2f} before, {report['cores_after']:.2f} after",
        f"ideal makespan on {report['workers']} workers (median of the rounds): {report['ideal_makespan_s']:.2f} s "
        f"(no packing can beat {report['lower_bound_s']:.2f} s)",
        "",
        "| contender | workers | median | spread | vs ideal makespan (spread) | speed-up |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        vs_ideal = "--"
        if row["vs_ideal"] is not None:
            low, high = row["vs_ideal_spread"]
            vs_ideal = f"{row['vs_ideal']:.2f}x ({low:.2f}-{high:.2f})"
        spread = f"{row['fastest_s']:.2f}-{row['slowest_s']:.2f} s"
        if row.get("rounds_run", report["rounds"]) < report["rounds"]:
            spread = f"first round only (over {PATIENCE}x sequential)"
        lines.append(
            f"| {row['contender']} | {row['workers']} | {row['median_s']:.2f} s | "
            f"{spread} | {vs_ideal} | {row['speedup']:.2f}x |"
        )
    if report["overlapping"]:
        pairs = "; ".join(f"{a} ~ {b}" for a, b in report["overlapping"])
        lines.append(f"\nwarning: the spreads overlap, so the order between these is noise here: {pairs}")
    if not cores_were_free(min(report["cores_before"], report["cores_after"]), report["workers"]):
        lines.append(
            f"\nwarning: other load, a CPU quota or affinity left fewer than {report['workers']} cores free:"
            " the parallel figures are the machine's, not the pools'"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pool", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="about how long the whole benchmark takes (table)")
    parser.add_argument("--numbers", choices=("table", "book", "many", "seq"), default="table")
    parser.add_argument("--workers", type=int, default=usable_cpus())
    parser.add_argument("--repeats", type=int, default=5, help="rounds of every contender")
    parser.add_argument("--start-method", choices=multiprocessing.get_all_start_methods())
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    if not (0 < args.seconds <= 86_400 and 1 <= args.workers <= 64 and 1 <= args.repeats <= 1000):
        parser.error("--seconds must be from 0 to 86400, --workers from 1 to 64, --repeats from 1 to 1000")
    method = args.start_method or multiprocessing.get_start_method()
    seconds_per_check = machine_speed()
    if args.numbers == "book":
        numbers = BOOK
    elif args.numbers == "many":
        numbers = MANY
    elif args.numbers == "seq":
        numbers = list(SEQ)
    else:  # the smallest of the table that fit one sequential pass's share of the budget
        budget = (args.seconds - 2 * seconds_per_check) / sequential_passes(args.workers, args.repeats)
        numbers = pick_numbers(list(LARGE), budget, lambda n: check(n).elapsed)
    entrants = contenders(numbers, args.workers, method)
    cores_before = cores_available(args.workers)
    measured = measure(entrants, args.repeats, args.workers)
    cores_after = cores_available(args.workers)
    rows = summarise(measured, entrants)
    report = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "workers": args.workers,
        "start_method": method,
        "machine_speed_s": seconds_per_check,
        "numbers_from": args.numbers,
        "numbers": numbers if args.numbers != "seq" else len(numbers),  # (a million: their count will do)
        "mean_check_s": statistics.median(measured.get("mean_check") or [0.0]),
        "rounds": args.repeats,
        "cores_before": cores_before,
        "cores_after": cores_after,
        "ideal_makespan_s": statistics.median(measured["ideal_makespan"] or [0.0]),
        "lower_bound_s": statistics.median(measured["lower_bound"] or [0.0]),
        "rows": rows,
        "overlapping": overlapping(rows),
        "measured": measured,
    }
    print(json.dumps(report, indent=1) if args.json else markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
