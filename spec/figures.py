"""The site's figures, drawn with matplotlib (Agg: no display) from the evidence the claims
reports keep. A figure whose series no report holds is not drawn, and its page says nothing
of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

Reports = dict[str, dict[str, Any]]


def _saved(figure: Any, path: Path) -> bool:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _evidence(data: dict[str, Any], claim_id: str) -> dict[str, Any]:
    return dict(data["claims"].get(claim_id, {}).get("evidence", {}))


def gil4_sweep(reports: Reports, path: Path) -> bool:
    """GIL-4: a waiting thread's median wait against the switch interval, a line per
    interpreter, beside the line wait = interval."""
    series: dict[str, dict[str, float]] = {}
    for label, data in reports.items():
        sweep = _evidence(data, "GIL-4").get("sweep_ms")
        if isinstance(sweep, dict) and sweep:
            series[label] = sweep
    if not series:
        return False
    figure, axes = plt.subplots(figsize=(7, 4.5))
    longest = 0.0
    for label, sweep in series.items():
        intervals = sorted(sweep, key=float)
        axes.plot([float(i) for i in intervals], [sweep[i] for i in intervals], marker="o", label=label)
        longest = max(longest, *(float(i) for i in intervals))
    axes.plot([0, longest], [0, longest], linestyle="--", color="grey", label="wait = interval")
    axes.set_xlabel("switch interval (ms)")
    axes.set_ylabel("a waiting thread's median wait (ms)")
    axes.set_title("GIL-4: the wait follows the switch interval")
    axes.legend(fontsize="small")
    return _saved(figure, path)


# The units the cores-and-speed figure compares: (label, colour, claims whose evidence gives
# its cores, claims whose evidence gives its speed-up), the first claim that has the figure
# wins: the speed-ups are the homegrown pool's on each kind of worker (POOL-2, 3, 5), and only
# where a report lacks them another measure's. Interpreters in one process exist from 3.14
# (INT-2, POOL-5); elsewhere no bar.
UNITS = [
    ("threads", "tab:orange", ("GIL-3",), ("POOL-3", "GIL-9")),
    ("processes", "tab:blue", ("GIL-3", "GIL-10"), ("POOL-2", "GIL-10")),
    ("interpreters", "tab:green", ("INT-2",), ("POOL-5", "INT-3")),
]
CORES_KEY = {"threads": "thread_cores", "processes": "process_cores", "interpreters": "interpreter_cores"}


def _first(data: dict[str, Any], claims: tuple[str, ...], key: str) -> float | None:
    for claim_id in claims:
        value = _evidence(data, claim_id).get(key)
        if isinstance(value, (int, float)):
            return float(value)
    return None


def threads_processes(reports: Reports, path: Path) -> bool:
    """GIL-3, 9, 10, POOL-2, 3, 5, INT-2, 3: cores used and speed-up of CPU-bound work on two
    threads, two processes and (3.14 and later) two interpreters, a group of bars per
    interpreter. The legend sits above the tallest bar, never over one."""
    figure = threads_processes_figure(reports)
    return figure is not None and _saved(figure, path)


def threads_processes_figure(reports: Reports) -> Any:
    """The figure of :func:`threads_processes`, not yet saved (None: no report has its series)."""
    rows = []
    for label, data in reports.items():
        cores = {unit: _first(data, claims, CORES_KEY[unit]) for unit, _, claims, _ in UNITS}
        speeds = {unit: _first(data, claims, "speedup") for unit, _, _, claims in UNITS}
        if cores["threads"] is not None and cores["processes"] is not None:
            rows.append((label, cores, speeds))
    if not rows:
        return None
    figure, (cores_axes, speed_axes) = plt.subplots(1, 2, figsize=(11, 4.8))
    width = 0.8 / len(UNITS)
    tallest = {"cores": 2.0, "speed-up": 2.0}
    for index, (_, cores, speeds) in enumerate(rows):
        for place, (unit, colour, _, _) in enumerate(UNITS):
            offset = index + (place - (len(UNITS) - 1) / 2) * width
            for axes, values, what in ((cores_axes, cores, "cores"), (speed_axes, speeds, "speed-up")):
                value = values[unit]
                if value is None:
                    continue
                axes.bar(offset, value, width, color=colour, label=f"2 {unit}")
                tallest[what] = max(tallest[what], value)
    labels = [row[0] for row in rows]
    for axes, title, what in (
        (cores_axes, "GIL-3, GIL-10, INT-2: cores used", "cores"),
        (speed_axes, "POOL-2, 3, 5: the pool's speed-up over sequential", "speed-up"),
    ):
        axes.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize="small")
        axes.axhline(1.0, color="grey", linestyle=":")
        axes.axhline(2.0, color="grey", linestyle="--")
        axes.set_ylim(0, tallest[what] * 1.35)  # headroom for the legend, in a row above the bars
        axes.set_title(title)
        axes.set_ylabel(what)
        handles, names = axes.get_legend_handles_labels()
        once = dict(zip(names, handles, strict=True))  # a label per unit, however many interpreters have it
        if once:  # (a panel with no bar has no legend)
            axes.legend(once.values(), once.keys(), fontsize="small", loc="upper center", ncol=len(once))
    figure.tight_layout()
    return figure


def gil_gaps(reports: Reports, path: Path) -> bool:
    """GIL-5, 6: for each call, how long it lasted and the probe thread's longest pause beside
    it; a panel per interpreter (at most three)."""
    panels = []
    for label, data in reports.items():
        evidence = {**_evidence(data, "GIL-6"), **_evidence(data, "GIL-5")}
        calls = sorted({key.rsplit(": ", 1)[0] for key in evidence if key.endswith(": probe_gap_s")})
        if calls:
            panels.append((label, evidence, calls))
    if not panels:
        return False
    panels = panels[:3]
    figure, axes_row = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
    for axes, (label, evidence, calls) in zip(axes_row[0], panels, strict=True):
        keeps = [("PyDLL" in call or call.startswith("sum")) for call in calls]
        positions = range(len(calls))
        axes.barh(positions, [evidence[f"{call}: call_s"] for call in calls], color="lightgrey", label="the call")
        axes.barh(
            positions,
            [evidence[f"{call}: probe_gap_s"] for call in calls],
            height=0.5,
            color=["tab:red" if keep else "tab:green" for keep in keeps],
            label="the probe's longest pause",
        )
        axes.set_yticks(list(positions), calls, fontsize="small")
        axes.set_xlabel("seconds")
        axes.set_title(label)
        axes.legend(fontsize="small", loc="lower right")
    figure.suptitle("GIL-5, GIL-6: red keeps the GIL, green releases it")
    return _saved(figure, path)


TIMELINE_ROWS = [
    ("IMP-1", "timeline_thread_5ms", "thread spinner, is_prime, 5 ms interval"),
    ("IMP-1", "timeline_thread_1s", "thread spinner, is_prime, 1 s interval"),
    ("IMP-2", "timeline_process", "process spinner, is_prime in the parent"),
    ("IMP-3", "timeline_asyncio_blocking", "asyncio spinner, is_prime blocking the loop"),
    ("IMP-3", "timeline_asyncio_napping", "asyncio spinner, is_prime napping"),
]


def _timeline_rows(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    rows = [(title, _evidence(data, claim).get(key)) for claim, key, title in TIMELINE_ROWS]
    return [(title, row) for title, row in rows if isinstance(row, dict)]


def timelines(reports: Reports, path: Path) -> bool:
    """IMP-1, 2, 3: a row per spinner and slow work, a tick per frame as it arrived, over a bar
    as long as the run; from the first interpreter whose report holds them."""
    found = [(name, _timeline_rows(data)) for name, data in reports.items()]
    found = [(name, rows) for name, rows in found if rows]
    if not found:
        return False
    name, rows = found[0]
    figure, axes = plt.subplots(figsize=(9, 0.7 * len(rows) + 1.5))
    for index, (_, row) in enumerate(rows):
        axes.barh(index, row["run_s"], height=0.6, color="whitesmoke", edgecolor="lightgrey")
        axes.vlines(row["frames_s"], index - 0.3, index + 0.3, color="tab:blue")
    axes.set_yticks(range(len(rows)), [title for title, _ in rows], fontsize="small")
    axes.invert_yaxis()
    axes.set_xlabel("seconds from the run's start (a tick per frame; the bar: the whole run)")
    axes.set_title(f"IMP-1, 2, 3: when the frames came ({name})")
    return _saved(figure, path)


def _family(contender: str) -> str:
    """A contender's name without its swept chunksize, which differs from one workload to the next."""
    head, _, tail = contender.partition(", chunksize ")
    return f"{head}, best chunksize of a sweep" if tail.endswith("(best of the sweep)") else contender


def pool_benchmark(benches: list[dict[str, Any]], path: Path) -> bool:
    """The pool benchmark across job sizes: each contender's median time over the ideal
    makespan of its rounds, against the workload's average check time, a line per contender;
    the runs of one Python and start method, from the longest checks to the shortest."""
    runs = sorted((b for b in benches if b.get("mean_check_s")), key=lambda b: b["mean_check_s"], reverse=True)
    if not runs:
        return False
    series: dict[str, list[tuple[float, float]]] = {}
    for bench in runs:
        ideal = bench["ideal_makespan_s"]
        for row in bench["rows"]:
            if ideal > 0:
                series.setdefault(_family(row["contender"]), []).append(
                    (bench["mean_check_s"], row["median_s"] / ideal)
                )
    figure, axes = plt.subplots(figsize=(9, 5.5))
    for name, points in series.items():
        xs, ys = zip(*points, strict=True)
        style = "-" if name.startswith(("this pool", "sequential")) else "--"
        axes.plot(xs, ys, style, marker="o", label=name, linewidth=2.5 if name == "this pool, processes" else 1.2)
    axes.axhline(1.0, color="tab:red", linestyle=":", label="the ideal makespan")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.invert_xaxis()  # from long checks to short ones
    axes.set_xlabel(
        "a check's average time, seconds (the workloads: " + ", ".join(b["numbers_from"] for b in runs) + ")"
    )
    axes.set_ylabel("median time / ideal makespan (log)")
    first = runs[0]
    axes.set_title(f"Python {first['python']}, {first['workers']} workers, start method {first['start_method']}")
    axes.legend(fontsize="x-small", loc="upper left")
    return _saved(figure, path)


def draw_all(reports: Reports, benches: list[dict[str, Any]], folder: Path) -> dict[str, Path]:
    """Draw every figure the reports (and the benchmark runs) have the series for; the figures
    drawn, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = {name: folder / f"{name}.png" for name in ("gil4-sweep", "threads-processes", "gil-gaps", "timelines")}
    drawn = {
        "gil4-sweep": gil4_sweep(reports, path["gil4-sweep"]),
        "threads-processes": threads_processes(reports, path["threads-processes"]),
        "gil-gaps": gil_gaps(reports, path["gil-gaps"]),
        "timelines": timelines(reports, path["timelines"]),
        "pool-benchmark": pool_benchmark(benches, folder / "pool-benchmark.png"),
    }
    return {name: folder / f"{name}.png" for name, done in drawn.items() if done}
