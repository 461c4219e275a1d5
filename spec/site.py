"""The documentation site's pages and figures, from the catalogue, the claims reports and the tests.

    python -m spec.site [REPORTS] [--out build/docs]

REPORTS is a folder of ``claims-*.json`` (its subfolders too), by default the published set in
``docs/results``; a ``bench-*.json`` there (``python -m benchmarks.pool --json``) feeds the pool
figure. The pages go to ``--out``, beside the hand-written ones from ``docs/pages``; ``mkdocs
build`` (``tox -e docs``) then makes the site. Figures are drawn with matplotlib's Agg backend:
no display needed.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec import catalogue, matrix

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "docs" / "pages"
RESULTS = ROOT / "docs" / "results"
SECTION_PAGE = {  # a page per section of the chapter, named by its ID prefix
    "BP": "big-picture",
    "J": "jargon",
    "GIL": "gil",
    "ST": "spinner-thread",
    "SP": "spinner-process",
    "SA": "spinner-asyncio",
    "SS": "supervisors",
    "IMP": "gil-impact",
    "POOL": "pool",
    "INT": "interpreters",
}
# Which figure illustrates which claims (drawn only when the reports hold its series).
FIGURE_OF = {
    "GIL-4": "gil4-sweep",
    "GIL-3": "threads-processes",
    "GIL-9": "threads-processes",
    "GIL-10": "threads-processes",
    "GIL-FT": "threads-processes",
    "POOL-2": "threads-processes",
    "POOL-3": "threads-processes",
    "POOL-5": "threads-processes",
    "INT-2": "threads-processes",
    "INT-3": "threads-processes",
    "GIL-5": "gil-gaps",
    "GIL-6": "gil-gaps",
    "IMP-1": "timelines",
    "IMP-2": "timelines",
    "IMP-3": "timelines",
}


@dataclass
class Test:
    name: str
    path: str  # from the project's root
    line: int
    source: str


def claim_tests(tests: Path = ROOT / "tests") -> dict[str, list[Test]]:
    """Each claim's tests, read from their source: name, file, line and code."""
    found: dict[str, list[Test]] = {}
    for path in sorted(tests.glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            ids = [claim_id for decorator in node.decorator_list for claim_id in catalogue._claim_ids(decorator)]
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            source = "\n".join(text.splitlines()[first - 1 : node.end_lineno])
            for claim_id in ids:
                found.setdefault(claim_id, []).append(Test(node.name, str(path.relative_to(ROOT)), first, source))
    return found


def anchor(claim_id: str) -> str:
    return claim_id.lower()


def page_of(claim_id: str) -> str:
    return SECTION_PAGE[claim_id.split("-")[0]]


def _cell(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    text = text if len(text) <= 160 else text[:157] + "..."
    return text.replace("|", "\\|").replace("\n", " ")


def claim_block(
    claim: catalogue.Claim, reports: dict[str, dict[str, Any]], tests: list[Test], drawn: set[str]
) -> list[str]:
    """One claim: its sentence, its verdict on each interpreter with why, its evidence, its
    figure, and its tests' source, folded."""
    lines = [f"## {claim.id} {{ #{anchor(claim.id)} }}", "", claim.text, ""]
    lines += ["| Interpreter | Verdict | Why |", "|---|---|---|"]
    for label, data in reports.items():
        row = data["claims"].get(claim.id, {})
        lines.append(f"| {label} | {row.get('verdict', 'untested')} | {_cell(row.get('reason', ''))} |")
    lines.append("")
    if claim.versions:
        lines += [f"**Between interpreters:** {claim.versions}", ""]
    figures = [
        (label, key, value)
        for label, data in reports.items()
        for key, value in data["claims"].get(claim.id, {}).get("evidence", {}).items()
        if not key.startswith("timeline")
    ]
    if figures:
        lines += ["| Interpreter | Measured | Value |", "|---|---|---|"]
        lines += [f"| {label} | {key} | {_cell(value)} |" for label, key, value in figures]
        lines.append("")
    if FIGURE_OF.get(claim.id) in drawn:
        name = FIGURE_OF[claim.id]
        lines += [f"![{claim.id}: {FIGURE_TITLES[name]}](../figures/{name}.png)", ""]
    for test in tests:
        module = Path(test.path).stem
        lines += [
            f'??? note "{test.name} ({test.path}, line {test.line})"',
            "",
            f"    [Open `{test.path}` at line {test.line}](../source/{module}.md#__codelineno-0-{test.line})",
            "",
            "    ```python",
            *("    " + line if line else "" for line in test.source.splitlines()),
            "    ```",
            "",
        ]
    return lines


def verdict_matrix(reports: dict[str, dict[str, Any]], claims: dict[str, catalogue.Claim], here: str = "") -> list[str]:
    labels = list(reports)
    lines = ["| Claim | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for claim_id in claims:
        cells = [
            matrix.SYMBOL.get(data["claims"].get(claim_id, {}).get("verdict", "untested"), "?")
            for data in reports.values()
        ]
        link = f"[{claim_id}]({here}claims/{page_of(claim_id)}.md#{anchor(claim_id)})"
        lines.append(f"| {link} | " + " | ".join(cells) + " |")
    return lines


def home(reports: dict[str, dict[str, Any]], claims: dict[str, catalogue.Claim], machine: str, drawn: set[str]) -> str:
    from spec import readme

    setup = "\n".join(readme.setup_commands())
    lines = [
        "# spinners",
        "",
        "An executable specification of Python's concurrency model: each claim of the chapter",
        "*Concurrency Models in Python* -- threads, processes, coroutines, the GIL and its 5 ms",
        "switch interval, event signalling, process isolation, cancellation -- is a pytest test,",
        "run against a small package of spinners that animate `\\|/-` while slow work runs. Run",
        "it on your Pythons and it tells you, claim by claim, what *your* Python does.",
        "",
        "## Set up and run",
        "",
        "```sh",
        setup,
        "```",
        "",
        "The first runs the specification on every Python found, then gathers the matrix;",
        "the second, on this Python only. [More on running it](pages/running.md).",
        "",
        "## Verdicts",
        "",
        "| verdict | meaning |",
        "|---|---|",
        "| holds | the test measured the claim and its control, and passed |",
        "| does not hold | the test failed all three attempts, or hung: this Python does not behave as claimed |",
        "| not applicable | the claim is about another build or implementation; the test asserted what holds here |",
        "| out of date here | this Python has moved on since the chapter: what the claim says a program sees, it"
        " no longer sees here; the test asserted what it sees instead, with the figure |",
        "| not demonstrable | this machine (or this Python) cannot show it: the measurement, or the instrument"
        " it lacks, is given |",
        "",
        "## The claims on each interpreter",
        "",
        machine,
        "",
        *verdict_matrix(reports, claims),
        "",
        "## Differences between interpreters",
        "",
        *(matrix.differences(reports) or ["None: every claim reads the same everywhere."]),
        "",
    ]
    if "pool-benchmark" in drawn:
        lines += [
            "## The pool benchmark",
            "",
            f"![The pool benchmark: {FIGURE_TITLES['pool-benchmark']}](figures/pool-benchmark.png)",
            "",
            "[How it is measured, and what to conclude](pages/benchmark.md).",
            "",
        ]
    return "\n".join(lines)


def section_page(
    section: str, claims: list[catalogue.Claim], reports: dict[str, Any], tests: dict[str, list[Test]], drawn: set[str]
) -> str:
    lines = [f"# {section}", ""]
    for claim in claims:
        lines += claim_block(claim, reports, tests.get(claim.id, []), drawn)
    return "\n".join(lines)


def source_page(path: Path) -> str:
    return "\n".join(
        [
            f"# {path.relative_to(ROOT)}",
            "",
            '```python linenums="1"',
            path.read_text(encoding="utf-8").rstrip(),
            "```",
            "",
        ]
    )


def build(reports_dir: Path, out: Path) -> dict[str, Path]:
    """Write the site's pages and figures under ``out``; the figures written, by name."""
    from spec import figures

    reports = matrix.load_reports(reports_dir)
    if not reports:
        raise SystemExit(f"spec.site: no claims-*.json in {reports_dir}")
    claims = catalogue.load()
    tests = claim_tests()
    if out.exists():
        shutil.rmtree(out)
    (out / "claims").mkdir(parents=True)
    (out / "source").mkdir()
    if PAGES.exists():
        shutil.copytree(PAGES, out / "pages")
    benches = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(reports_dir.rglob("bench-*.json"))]
    drawn = figures.draw_all(reports, benches, out / "figures")
    machine_note = reports_dir / "MACHINE.md"
    machine = machine_note.read_text(encoding="utf-8").strip() if machine_note.exists() else ""
    (out / "index.md").write_text(home(reports, claims, machine, set(drawn)), encoding="utf-8")
    by_section: dict[str, list[catalogue.Claim]] = {}
    for claim in claims.values():
        by_section.setdefault(claim.section, []).append(claim)
    for section, members in by_section.items():
        page = out / "claims" / f"{page_of(members[0].id)}.md"
        page.write_text(section_page(section, members, reports, tests, set(drawn)), encoding="utf-8")
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        (out / "source" / f"{path.stem}.md").write_text(source_page(path), encoding="utf-8")
    return drawn


FIGURE_TITLES = {
    "gil4-sweep": "a waiting thread's wait against the switch interval",
    "threads-processes": "cores used by CPU-bound work and the pool's speed-up on threads, processes, interpreters",
    "gil-gaps": "the probe thread's longest pause during calls that release the GIL and calls that keep it",
    "timelines": "when each spinner's frames arrived beside slow work",
    "pool-benchmark": "each pool's time over the ideal makespan, from long checks to short ones",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec.site", description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", type=Path, nargs="?", default=RESULTS, help="folder of claims-*.json")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "docs", help="where the pages go")
    args = parser.parse_args(argv)
    drawn = build(args.reports, args.out)
    print(f"spec.site: pages in {args.out}, figures: {', '.join(sorted(drawn)) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
