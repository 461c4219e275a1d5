"""The pool benchmark's own logic (``benchmarks/pool.py``), on tiny made-up inputs: the packing
behind the ideal makespan, the round-robin order, the choice of numbers by time, the warnings
and the JSON. No timing is judged here: the benchmark's figures are for the reader."""

from __future__ import annotations

import json
import time

import pytest

from benchmarks import pool
from spinners.prime_pool import LARGE, PrimeResult

# The project's own tools, which work alike on every interpreter: run once, by `tox -e tooling`
pytestmark = pytest.mark.tooling


def test_the_ideal_makespan_packs_the_largest_jobs_first_onto_the_least_loaded_worker():
    # 5 and 4 open the two workers; each 3 goes to the less loaded one: 5+3 and 4+3+3
    assert pool.ideal_makespan([3, 5, 3, 4, 3], 2) == 10
    # largest first is not always the best packing (5+4 | 3+3+3 = 9), and the bound says so
    assert pool.lower_bound([3, 5, 3, 4, 3], 2) == 9
    assert pool.ideal_makespan([1, 1, 1, 1], 4) == 1 and pool.ideal_makespan([7], 3) == 7
    assert pool.lower_bound([7, 1], 2) == 7  # the longest job, when it is longer than an even share


def test_the_contenders_run_round_robin_each_round_starting_one_further():
    assert pool.round_robin(["a", "b", "c"], 4) == ["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]


def test_the_numbers_are_the_smallest_that_fit_the_budget_and_timing_stops_at_the_first_too_many():
    costs = {9: 4.0, 7: 2.0, 5: 1.0, 3: 0.5, 2: 0.1}
    timed: list[int] = []

    def check_time(n: int) -> float:
        timed.append(n)
        return costs[n]

    assert pool.pick_numbers(list(costs), 3.6, check_time) == [7, 5, 3, 2]  # in the order given
    assert timed == [2, 3, 5, 7, 9]  # 9 was timed, did not fit, and ended the timing
    assert pool.pick_numbers([9, 7], 0.1, lambda n: costs[n]) == [7]  # never none


def test_the_work_assumed_per_round_is_sequential_and_threads_in_full_and_the_process_pools_shared():
    assert pool.sequential_passes(workers=2, rounds=4) == 4 * (1 + 1 + 7 / 2) + 4 / 2 + 1


def test_the_sweep_tries_chunks_by_fours_from_a_workers_share_down_and_keeps_the_fastest(monkeypatch):
    assert pool.chunksizes(10_000, 2) == [1, 4, 16, 64, 256, 1024, 4096, 5000]
    assert pool.chunksizes(7, 2) == [1, 4] and pool.chunksizes(1, 2) == [1]
    tried: list[int] = []
    # from the largest down: 256 takes 0.3 s, 64 0.2, 16 0.1, 4 0.4 (slower: the sweep stops)
    clock = iter([0.0, 0.3, 1.0, 1.2, 2.0, 2.1, 3.0, 3.4])
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    assert pool.swept(tried.append, [2, 4, 16, 64, 256]) == 16
    assert tried == [256, 64, 16, 4]  # 2 is never tried


def test_a_contender_ten_times_slower_than_sequential_runs_only_the_first_round(monkeypatch):
    log: list[str] = []
    entrants = [
        pool.Contender("sequential", 1, _fake(log, "sequential", {9: 1.0})),
        pool.Contender("crawling", 2, _fake(log, "crawling", {9: 1.0}), own_times=False),
    ]
    # sequential 1 ms a round, crawling 1 s: more than ten times as long
    clock = iter([0.0, 0.001, 1.0, 2.0, 3.0, 3.001, 4.0, 4.001])
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    measured = pool.measure(entrants, rounds=3, workers=2)
    assert log == ["sequential", "crawling", "sequential", "sequential"]
    assert len(measured["times"]["crawling"]) == 1 and len(measured["times"]["sequential"]) == 3


def _fake(log: list[str], name: str, seconds: dict[int, float]):
    def run() -> list[PrimeResult]:
        log.append(name)
        return [PrimeResult(n, True, elapsed) for n, elapsed in seconds.items()]

    return run


def test_a_rounds_ideal_makespan_packs_the_pools_median_check_times_not_sequential_or_threads():
    log: list[str] = []
    entrants = [
        pool.Contender("sequential", 1, _fake(log, "sequential", {9: 4.0, 5: 3.0, 4: 2.0})),
        pool.Contender("one", 2, _fake(log, "one", {9: 3.0, 5: 2.5, 4: 2.0})),
        pool.Contender("two", 2, _fake(log, "two", {9: 3.0, 5: 2.0, 4: 2.5})),
        pool.Contender("threads", 2, _fake(log, "threads", {9: 9.0, 5: 9.0, 4: 9.0}), own_times=False),
    ]
    measured = pool.measure(entrants, rounds=2, workers=2)
    assert log == ["sequential", "one", "two", "threads", "one", "two", "threads", "sequential"]
    assert all(len(runs) == 2 for runs in measured["times"].values())
    # the pools' medians 3.0, 2.25, 2.25 (not the sequential run's, nor the threads' 9.0):
    # 3.0 | 2.25 + 2.25
    assert measured["ideal_makespan"] == [4.5, 4.5] and measured["lower_bound"] == [3.75, 3.75]


def test_each_time_is_set_against_the_ideal_makespan_of_its_own_round():
    measured = {
        "times": {"sequential": [8.0, 16.0, 12.0], "pool": [5.0, 9.0, 6.0]},
        "ideal_makespan": [4.0, 8.0, 6.0],  # the machine ran at half speed in the second round
    }
    entrants = [pool.Contender("sequential", 1, list), pool.Contender("pool", 2, list)]
    sequential, pooled = pool.summarise(measured, entrants)
    assert sequential["vs_ideal"] is None and sequential["median_s"] == 12.0
    assert pooled["vs_ideal"] == 1.125 and pooled["vs_ideal_spread"] == [1.0, 1.25]  # 1.25, 1.125, 1.0
    assert (pooled["fastest_s"], pooled["median_s"], pooled["slowest_s"]) == (5.0, 6.0, 9.0)
    assert pooled["speedup"] == 2.0


def test_the_report_warns_when_spreads_overlap_or_the_cores_were_taken():
    rows = [
        {"contender": "a", "median_s": 1.0, "fastest_s": 0.9, "slowest_s": 1.2},
        {"contender": "b", "median_s": 1.1, "fastest_s": 1.05, "slowest_s": 1.3},
        {"contender": "c", "median_s": 2.0, "fastest_s": 1.9, "slowest_s": 2.1},
    ]
    assert pool.overlapping(rows) == [("a", "b")]  # b and c are apart
    report = {
        "python": "3.x",
        "platform": "Linux",
        "workers": 2,
        "start_method": "fork",
        "machine_speed_s": 1.3,
        "numbers": [2, 3],
        "numbers_from": "table",
        "rounds": 3,
        "cores_before": 1.97,
        "cores_after": 1.2,
        "ideal_makespan_s": 1.0,
        "lower_bound_s": 0.9,
        "rows": [
            {**row, "workers": 2, "vs_ideal": row["median_s"], "vs_ideal_spread": [1.0, 2.0], "speedup": 1.0}
            for row in rows
        ],
        "overlapping": pool.overlapping(rows),
    }
    text = pool.markdown(report)
    assert "order between these is noise here: a ~ b" in text
    assert "fewer than 2 cores free" in text  # 1.2 after
    report["cores_after"], report["overlapping"] = 1.95, []
    assert "warning" not in pool.markdown(report)


def test_the_json_carries_every_figure(monkeypatch, capsys):
    log: list[str] = []
    monkeypatch.setattr(pool, "check", lambda n: PrimeResult(n, True, 0.01))
    monkeypatch.setattr(pool, "cores_available", lambda workers: 2.0)
    monkeypatch.setattr(
        pool,
        "contenders",
        lambda numbers, workers, method: [
            pool.Contender("sequential", 1, _fake(log, "sequential", dict.fromkeys(numbers, 0.01))),
            pool.Contender("pool", 2, _fake(log, "pool", dict.fromkeys(numbers, 0.005))),
        ],
    )
    assert pool.main(["--json", "--seconds", "1", "--repeats", "3", "--workers", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["numbers"] and set(report["numbers"]) <= set(LARGE)
    assert [row["contender"] for row in report["rows"]] == ["sequential", "pool"]
    assert report["rounds"] == 3 and len(report["measured"]["times"]["pool"]) == 3
    assert report["cores_before"] == 2.0 and report["start_method"]
    assert {"median_s", "fastest_s", "slowest_s", "vs_ideal", "speedup"} <= set(report["rows"][1])


@pytest.mark.parametrize(
    "bad",
    [
        ["--seconds", "0"],
        ["--seconds", "nan"],
        ["--seconds", "inf"],
        ["--workers", "0"],
        ["--workers", "100000"],
        ["--repeats", "-1"],
        ["--seconds", "x"],
    ],
)
def test_bad_arguments_exit_2(bad, capsys):
    with pytest.raises(SystemExit) as exited:
        pool.main(bad)
    assert exited.value.code == 2
