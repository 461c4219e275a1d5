"""pytest plugin: ties tests to claims, keeps what they measured, and reports per claim.

A test cites claims with ``@pytest.mark.claim("GIL-3", ...)`` and records what it
measured with the ``evidence`` fixture. At the end of the run the controller (never an
xdist worker) gives every catalogue claim a verdict and writes
``<report-dir>/claims-<interpreter>.md`` and ``.json``.

Verdicts, from a test's outcome:
  holds             -- the test passed;
  does not hold     -- the test failed (or errored);
  not demonstrable  -- the test skipped itself through ``evidence.not_demonstrable``, because
                       this machine cannot show the claim (one CPU, say); or its instrument
                       needs what this OS lacks (a pty, fork), said in a skip reason that
                       starts "not demonstrable on this platform" -- then the claim's
                       verdict is its other tests', if it has any;
  not applicable    -- the test recorded ``evidence.not_applicable``: the claim is about
                       another build, and the test asserted what holds on this one.
A claim's verdict is the worst of its tests' verdicts; a claim no test cites is *untested*.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Generator
from pathlib import Path
from typing import Any, NoReturn, cast

import pytest

from spec import catalogue

HOLDS, FAILS, UNDEMONSTRABLE, NOT_APPLICABLE = "holds", "does not hold", "not demonstrable", "not applicable"
SKIPPED, UNTESTED = "skipped", "untested"
WORST_FIRST = [FAILS, SKIPPED, UNDEMONSTRABLE, HOLDS, NOT_APPLICABLE]
UNDEMONSTRABLE_PREFIX = "not demonstrable here: "
# A test whose instrument this OS lacks (tests/support/platforms.py) skips with this reason.
PLATFORM_PREFIX = "not demonstrable on this platform "


class Evidence:
    """What a claim test measured, as plain values that survive the trip from an xdist worker."""

    def __init__(self, values: dict[str, Any], verdict: dict[str, str]) -> None:
        self.values = values
        self.verdict = verdict

    def record(self, **values: Any) -> None:
        """Keep measured values for the report (rounded floats, ints, strings, lists, dicts)."""
        self.values.update({key: _plain(value) for key, value in values.items()})

    def not_demonstrable(self, reason: str) -> NoReturn:
        """This machine cannot show the claim: skip, saying why with the measurement."""
        self.verdict.update(verdict=UNDEMONSTRABLE, reason=reason)
        pytest.skip(UNDEMONSTRABLE_PREFIX + reason)

    def not_applicable(self, reason: str) -> None:
        """The claim is about another build; the test goes on to assert what holds on this one."""
        self.verdict.update(verdict=NOT_APPLICABLE, reason=reason)


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return repr(value)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Record what this claim test measured; it appears beside the claim in the report."""
    item = request.node
    values = _property(item, "evidence")
    verdict = _property(item, "verdict")
    return Evidence(values, verdict)


def _property(item: pytest.Item, name: str) -> dict[str, Any]:
    for key, value in item.user_properties:
        if key == name:
            return cast(dict[str, Any], value)
    fresh: dict[str, Any] = {}
    item.user_properties.append((name, fresh))
    return fresh


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("claims report")
    group.addoption("--report-dir", default="reports", help="where the claims report is written (default: reports)")
    group.addoption(
        "--merge-results",
        default=None,
        help="a claims-*.json of an earlier pass of the same run, whose test results join this one's",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        ids = [claim_id for mark in item.iter_markers("claim") for claim_id in mark.args]
        item.user_properties.append(("claims", ids))
    # Tests that last seconds go first, so that none of them starts last and ends the pass alone.
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


class Results:
    """The controller's record of every test outcome, keyed by node ID."""

    def __init__(self) -> None:
        self.tests: dict[str, dict[str, Any]] = {}

    def add(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        entry = self.tests.setdefault(
            report.nodeid,
            {"claims": props.get("claims", []), "outcome": "passed", "evidence": {}, "verdict": {}},
        )
        entry["evidence"].update(props.get("evidence", {}))
        entry["verdict"].update(props.get("verdict", {}))
        if report.failed:
            entry["outcome"] = "failed"
        elif report.skipped and entry["outcome"] != "failed":
            entry["outcome"] = "skipped"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            entry["skip_reason"] = reason.removeprefix("Skipped: ")
            if entry["skip_reason"].startswith(PLATFORM_PREFIX):
                entry["verdict"].update(verdict=UNDEMONSTRABLE, reason=entry["skip_reason"], platform=True)


def verdict_of(entry: dict[str, Any]) -> str:
    if entry["outcome"] == "failed":
        return FAILS
    override = entry["verdict"].get("verdict")
    if entry["outcome"] == "skipped":
        return override if override == UNDEMONSTRABLE else SKIPPED
    return override or HOLDS


def claim_verdicts(tests: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every catalogue claim with its verdict, evidence and tests; plus unknown IDs tests cited."""
    claims = catalogue.load()
    out: dict[str, dict[str, Any]] = {
        claim_id: {"section": claim.section, "claim": claim.text, "verdict": UNTESTED, "tests": [], "evidence": {}}
        for claim_id, claim in claims.items()
    }
    for nodeid, entry in sorted(tests.items()):
        for claim_id in entry["claims"]:  # (verdicts: below)
            row = out.setdefault(
                claim_id, {"section": "unknown IDs", "claim": "(not in the catalogue)", "tests": [], "evidence": {}}
            )
            verdict = verdict_of(entry)
            row["tests"].append({"test": nodeid, "verdict": verdict, **entry["verdict"]})
            row["evidence"].update(entry["evidence"])
            # A test this OS cannot run (fork on Windows) leaves the verdict to the claim's
            # other tests (spawn), if it has any: the claim is not about that instrument.
            shown = [t for t in row["tests"] if not t.get("platform")] or row["tests"]
            row["verdict"] = min((t["verdict"] for t in shown), key=WORST_FIRST.index)
            reasons = [t["reason"] for t in row["tests"] if t.get("reason")]
            if reasons:
                row["reason"] = "; ".join(dict.fromkeys(reasons))
            elif verdict == SKIPPED:
                row["reason"] = entry.get("skip_reason", "")
    return out


def interpreter() -> dict[str, str]:
    return {
        "tag": catalogue.interpreter_tag(),
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": catalogue.build_description(),
        "platform": f"{platform.system()} {platform.machine()}",
    }


def render_markdown(data: dict[str, Any]) -> str:
    info = data["interpreter"]
    lines = [
        f"# Claims report: Python {info['version']} ({info['implementation']}, {info['build']}, {info['platform']})",
        "",
    ]
    counts: dict[str, int] = {}
    for row in data["claims"].values():
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    lines += [", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items())), ""]
    section = None
    for claim_id, row in data["claims"].items():
        if row["section"] != section:
            section = row["section"]
            lines += [f"## {section}", "", "| ID | Claim | Verdict | Evidence | Tests |", "|---|---|---|---|---|"]
        verdict = row["verdict"] + (f": {row['reason']}" if row.get("reason") else "")
        evidence = "; ".join(f"{k}={v}" for k, v in row["evidence"].items()).replace("|", "\\|")
        tests = "<br>".join(t["test"].split("::")[-1] for t in row["tests"])
        lines.append(f"| {claim_id} | {row['claim']} | **{verdict}** | {evidence} | {tests} |")
    return "\n".join(lines) + "\n"


class ClaimsReporter:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results = Results()
        merge = config.getoption("--merge-results")
        if merge and Path(merge).exists():
            self.results.tests.update(json.loads(Path(merge).read_text(encoding="utf-8"))["tests"])

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.results.add(report)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not any(entry["claims"] for entry in self.results.tests.values()):
            return  # no test that cites a claim ran (the package's own tests, the tooling)
        data: dict[str, Any] = {
            "interpreter": interpreter(),
            "claims": claim_verdicts(self.results.tests),
            "tests": self.results.tests,
        }
        out_dir = Path(self.config.getoption("--report-dir"))
        if not out_dir.is_absolute():
            out_dir = Path(self.config.rootpath) / out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = f"claims-{data['interpreter']['tag']}"
        (out_dir / f"{stem}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
        (out_dir / f"{stem}.md").write_text(render_markdown(data), encoding="utf-8")
        self.summarise(terminalreporter, data, out_dir / f"{stem}.md")

    def summarise(self, tr: Any, data: dict[str, Any], path: Path) -> None:
        info = data["interpreter"]
        tr.write_sep("=", f"claims on Python {info['version']} ({info['build']})")
        verbose = self.config.getoption("verbose") > 0
        section = None
        for claim_id, row in data["claims"].items():
            if not row["tests"] and not verbose:
                continue
            if row["section"] != section:
                section = row["section"]
                tr.write_line(section, bold=True)
            colour = {HOLDS: "green", FAILS: "red"}.get(row["verdict"], "yellow")
            evidence = ", ".join(f"{k}={v}" for k, v in row["evidence"].items())
            tr.write(f"  {claim_id:7} ")
            tr.write(f"{row['verdict']:16}", **{colour: True})
            text = row["claim"] if verbose else row["claim"][:70] + ("..." if len(row["claim"]) > 70 else "")
            tr.write_line(f" {text}")
            if row.get("reason"):
                tr.write_line(f"            why: {row['reason']}")
            if evidence and verbose:
                tr.write_line(f"            measured: {evidence}")
        tr.write_line(f"claims report: {path}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Under a failing claim test's traceback: the claims it specifies and what it measured."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    properties: dict[str, Any] = dict(item.user_properties)
    if report.failed and properties.get("claims"):
        claims = catalogue.load()
        lines = [
            f"{claim_id}: {claims[claim_id].text if claim_id in claims else '(not in the catalogue)'}"
            for claim_id in properties["claims"]
        ]
        measured = properties.get("evidence") or {}
        lines.append("measured: " + (", ".join(f"{k}={v}" for k, v in measured.items()) or "nothing yet"))
        report.sections.append(("claim and evidence", "\n".join(lines)))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(*ids): the catalogue claims this test specifies (see spec/claims.md)")
    config.addinivalue_line(
        "markers", "needs(*capabilities): what the test's instruments need of the platform (tests/support/platforms.py)"
    )
    config.addinivalue_line(
        "markers", "serial: timing-sensitive; runs alone, in the serial pass, never beside other tests"
    )
    config.addinivalue_line(
        "markers", "tooling: tests of the project's own tools, not of Python: run once (tox -e tooling)"
    )
    config.addinivalue_line(
        "markers",
        "package: the package's own tests (its command line), not the chapter's claims: python -m spec.run --package",
    )
    config.addinivalue_line("markers", "long: lasts seconds, mostly waiting; started first")
    if not hasattr(config, "workerinput"):  # xdist workers only send their reports
        config.pluginmanager.register(ClaimsReporter(config), "claims-reporter")
