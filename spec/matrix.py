"""Gather the claims reports of several interpreters into one matrix (``CLAIMS.md``).

    python -m spec.matrix reports/ --output CLAIMS.md

Rows are claims, columns interpreters (and their OS, when the reports come from several:
``3.13 Linux``, ``3.13 Darwin``), cells verdicts. Under the table, every claim
that differs between interpreters -- in its verdict, or in what a test recorded as
``observed`` (the behaviour that is version-specific, such as a default name) -- gets
one line, with the catalogue's explanation of why.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from spec import catalogue

SYMBOL = {
    "holds": "holds",
    "does not hold": "**DOES NOT HOLD**",
    "not applicable": "n/a",
    "out of date here": "*out of date*",
    "not demonstrable": "not demonstrable",
    "untested": "untested",
    "skipped": "skipped",
}


def remeasured(row: dict[str, Any]) -> bool:
    """A claim whose verdict stands on a test that failed its first attempt and was then
    re-measured (spec/run.py): held when re-measured, or not demonstrable then."""
    return any(len(test.get("attempts", [])) > 1 and test["verdict"] != "does not hold" for test in row["tests"])


def version_key(tag: str) -> tuple[int, ...]:
    """``3.14`` before ``3.14t`` before ``3.14t-gil``, by version first (``pypy-3.11``: 3.11)."""
    found = re.search(r"(\d+)\.(\d+)(t?)", tag)
    if found is None:  # not a tag of ours: last
        return (sys.maxsize,)
    major, minor, free_threaded = found.groups()
    return int(major), int(minor), bool(free_threaded), tag.endswith("-gil")


def _system(data: dict[str, Any]) -> str:
    """The OS a report was made on: "Linux", "Darwin", "Windows" (its platform's first word)."""
    return str(data["interpreter"].get("platform", "unknown")).split()[0]


def load_reports(folder: Path) -> dict[str, dict[str, Any]]:
    """Every claims-*.json under ``folder`` (its subfolders too: one per OS, say), by column:
    the interpreter's tag, and its OS too when the reports come from more than one."""
    found = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.rglob("claims-*.json"))]
    several_systems = len({_system(data) for data in found}) > 1
    found.sort(key=_column_order)
    return {_name(data) + (f" {_system(data)}" if several_systems else ""): data for data in found}


def _column_order(data: dict[str, Any]) -> tuple[object, ...]:
    """By OS, then CPython before the others, then by version."""
    implementation = data["interpreter"].get("implementation", "CPython")
    return _system(data), implementation != "CPython", version_key(data["interpreter"]["tag"])


def _name(data: dict[str, Any]) -> str:
    """The interpreter as the report names it (``CPython 3.12``, ``PyPy 3.11 (8.0)``); a report
    from before names were kept has its tag."""
    return str(data["interpreter"].get("name", data["interpreter"]["tag"]))


def differences(reports: dict[str, dict[str, Any]]) -> list[str]:
    claims = catalogue.load()
    lines = []
    for claim_id, claim in claims.items():
        by_tag = {tag: data["claims"].get(claim_id, {}) for tag, data in reports.items()}
        verdicts = {tag: row.get("verdict", "untested") for tag, row in by_tag.items()}
        observed = {tag: row.get("evidence", {}).get("observed") for tag, row in by_tag.items()}
        parts = []
        if len(set(verdicts.values())) > 1:
            parts.append("; ".join(f"{tag}: {verdict}" for tag, verdict in verdicts.items()))
        if len({json.dumps(value) for value in observed.values() if value is not None}) > 1:
            parts.append("; ".join(f"{tag}: {value}" for tag, value in observed.items() if value is not None))
        if parts:
            why = claim.versions or "no version note in the catalogue: look at the evidence in each report"
            reasons = {row["reason"] for row in by_tag.values() if row.get("verdict") == "not demonstrable"}
            if reasons:  # a machine or a platform that could not show it says why
                why += " Where not demonstrable, it said: " + "; ".join(sorted(reasons))
            lines.append(f"- **{claim_id}** -- {' | '.join(parts)}. Why: {why}")
    return lines


def _cell(row: dict[str, Any]) -> str:
    symbol = SYMBOL.get(row.get("verdict", "untested"), "?")
    return symbol + (" (re-measured)" if row and remeasured(row) else "")


def render(reports: dict[str, dict[str, Any]]) -> str:
    tags = list(reports)
    claims = catalogue.load()
    head = ["# Claims across interpreters", ""]
    for tag, data in reports.items():
        info = data["interpreter"]
        head.append(f"- **{tag}**: Python {info['version']}, {info['build']}, {info['platform']}")
    rows = ["", "| Claim | " + " | ".join(tags) + " |", "|---|" + "---|" * len(tags)]
    section = None
    for claim_id, claim in claims.items():
        if claim.section != section:
            section = claim.section
            rows.append(f"| *{section}* |" + " |" * len(tags))
        cells = [_cell(reports[tag]["claims"].get(claim_id, {})) for tag in tags]
        rows.append(f"| {claim_id} | " + " | ".join(cells) + " |")
    diff = differences(reports)
    tail = ["", "## Differences between interpreters", ""] + (diff or ["None: every claim reads the same everywhere."])
    again = [
        f"- **{claim_id}** on {tag}: {row.get('reason', '')}"
        for tag, data in reports.items()
        for claim_id, row in data["claims"].items()
        if remeasured(row)
    ]
    if again:  # kept in sight: a test that needs re-measuring often is a test to fix
        tail += ["", "## Held when re-measured", "", *again]
    tail += ["", "Each interpreter's own report, with the evidence measured, is `reports/claims-<interpreter>.md`."]
    return "\n".join(head + rows + tail) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec.matrix", description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", type=Path, help="the folder holding claims-*.json (in subfolders too)")
    parser.add_argument("--output", type=Path, default=Path("CLAIMS.md"))
    args = parser.parse_args(argv)
    reports = load_reports(args.reports)
    if not reports:
        print(f"spec.matrix: no claims-*.json in {args.reports}: run the specification first", file=sys.stderr)
        return 1
    args.output.write_text(render(reports), encoding="utf-8")
    print(f"claims matrix for {', '.join(reports)} written to {args.output}")
    for tag, data in reports.items():
        counts: dict[str, int] = {}
        for row in data["claims"].values():
            counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
        print(f"  {tag:8} " + ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items())))
    for line in differences(reports):
        print("  " + line.replace("**", ""))
    failing = [
        tag for tag, data in reports.items() if any(r["verdict"] == "does not hold" for r in data["claims"].values())
    ]
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
