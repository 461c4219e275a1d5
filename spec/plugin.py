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
                       another build, and the test asserted what holds on this one; or the
                       test is marked ``claim(..., needs_gil=True)`` and the GIL is off
                       (GIL-FT's tests assert what holds there);
  out of date here  -- the test recorded ``evidence.out_of_date``: this Python has moved on
                       since the chapter (interpreters in one process from 3.14, a build
                       without the GIL), so that what the chapter's sentence says a program
                       sees, it no longer sees here; the test asserted what it sees instead.
A claim's verdict is the worst of its tests' verdicts; a claim no test cites is *untested*.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any, NoReturn, cast

import pytest

from measuring import build
from measuring.waiting import PATIENCE
from spec import catalogue
from spec.matrix import remeasured

HOLDS, FAILS, UNDEMONSTRABLE, NOT_APPLICABLE = "holds", "does not hold", "not demonstrable", "not applicable"
OUT_OF_DATE = "out of date here"
SKIPPED, UNTESTED = "skipped", "untested"
REMEASURED = "held when re-measured"
# A claim reads as its worst test. One test about another build (PyPy's GIL, GIL-4's waits)
# makes the claim *not applicable* here, with why, though its other tests held: their
# figures are in its evidence, and "holds" would say more than was shown. One test that shows
# the sentence out of date makes the claim so, though the chapter's own instance of it held
# (GIL-10's processes still run in parallel; so, now, do interpreters in one process).
WORST_FIRST = [FAILS, SKIPPED, UNDEMONSTRABLE, OUT_OF_DATE, NOT_APPLICABLE, HOLDS]
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

    def out_of_date(self, reason: str) -> None:
        """This Python contradicts the chapter's sentence (``reason`` says how, with the figure);
        the test goes on to assert what this Python does instead."""
        self.verdict.update(verdict=OUT_OF_DATE, reason=reason)


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


def error_of(report: pytest.TestReport) -> str:
    """A failed test's error in a line: what a reader of the report needs to tell a claim that
    does not hold from a test that hung (``Timeout``) or whose worker died (``crashed``)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = str(crash.message) if crash is not None else str(report.longrepr).strip().splitlines()[-1:][0]
    line = " ".join(text.split())
    return line if len(line) <= ERROR_LENGTH else line[: ERROR_LENGTH - 3] + "..."


ERROR_LENGTH = 300


class Results:
    """The controller's record of every test outcome, keyed by node ID."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tests: dict[str, dict[str, Any]] = {}

    def add(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        entry = self.tests.setdefault(
            report.nodeid,
            {"claims": props.get("claims", []), "outcome": "passed", "evidence": {}, "verdict": {}},
        )
        if not entry["claims"] and report.failed:  # a worker that died running it sent no properties
            entry["claims"] = catalogue.claims_of(report.nodeid, self.root)
        entry["evidence"].update(props.get("evidence", {}))
        entry["verdict"].update(props.get("verdict", {}))
        if report.failed:
            entry.setdefault("error", error_of(report))
            entry["outcome"] = "failed"
            if "hung" in props:
                entry["error"] = f"hung: outlived its {props['hung']:g} s timeout; {entry['error']}"
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
            test = {"test": nodeid, "verdict": verdict, **entry["verdict"]}
            attempts = entry.get("attempts", [])
            if len(attempts) > 1:  # re-measured alone after a failure (spec/run.py)
                test["attempts"] = [attempt["outcome"] for attempt in attempts]
                errors = "; ".join(
                    f"attempt {number}: {attempt.get('error', '')}"
                    for number, attempt in enumerate(attempts, 1)
                    if attempt["outcome"] == "failed"
                )
                if verdict == FAILS:
                    test["reason"] = f"failed all {len(attempts)} attempts ({errors})"
                else:
                    test["reason"] = f"{REMEASURED} ({errors}; measured then: {_figures(attempts[0])})"
            row["tests"].append(test)
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


def _figures(attempt: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in attempt.get("evidence", {}).items()) or "nothing"


def interpreter() -> dict[str, str]:
    return {
        "tag": catalogue.interpreter_tag(),
        "name": catalogue.interpreter_name(),
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": catalogue.build_description(),
        "platform": f"{platform.system()} {platform.machine()}",
    }


def render_markdown(data: dict[str, Any]) -> str:
    info = data["interpreter"]
    lines = [
        f"# Claims report: {info.get('name', info['implementation'])} "
        f"(Python {info['version']}, {info['build']}, {info['platform']})",
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
        verdict = row["verdict"] + (f" ({REMEASURED})" if remeasured(row) else "")
        verdict = f"**{verdict}**" + (f": {row['reason']}" if row.get("reason") else "")
        evidence = "; ".join(f"{k}={v}" for k, v in row["evidence"].items()).replace("|", "\\|")
        tests = "<br>".join(t["test"].split("::")[-1] for t in row["tests"])
        lines.append(f"| {claim_id} | {row['claim']} | {verdict} | {evidence} | {tests} |")
    return "\n".join(lines) + "\n"


# The failures that are not measurements: a test that outlived its timeout (noted by
# pytest_runtest_makereport below, however it ended), a unit that did not stop when asked
# (measuring/waiting.py's Hung), a worker that died running it.
HANGS = ("hung: ", "Timeout (>", "Hung: ", "crashed while running")
# After this many tests hung, the run stops: the specimen hangs, the gate is red, and every
# further test of it would only wait out its own timeout (a spinner that never stops hangs
# dozens of them).
MOST_HANGS = 3


def hung(entry: dict[str, Any]) -> bool:
    return entry["outcome"] == "failed" and any(sign in entry.get("error", "") for sign in HANGS)


class ClaimsReporter:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results = Results(config.rootpath)
        self.session: pytest.Session | None = None
        merge = config.getoption("--merge-results")
        if merge and Path(merge).exists():
            self.results.tests.update(json.loads(Path(merge).read_text(encoding="utf-8"))["tests"])
        self.hangs_before = sum(hung(entry) for entry in self.results.tests.values())

    @pytest.hookimpl
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.results.add(report)
        hangs = sum(hung(entry) for entry in self.results.tests.values()) - self.hangs_before
        if report.failed and hangs == MOST_HANGS and hung(self.results.tests[report.nodeid]):
            reason = f"stopping after {MOST_HANGS} tests hung: the specimen hangs"
            xdist = self.config.pluginmanager.getplugin("dsession")  # the xdist controller, if any
            if xdist is not None:
                xdist.shouldstop = reason
            elif self.session is not None:
                self.session.shouldstop = reason

    def _running_note(self) -> Path | None:
        if self.config.pluginmanager.getplugin("dsession") is not None:
            return None  # under xdist: a worker that dies is reported by the controller
        return running_file(self.report_dir())

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        note = self._running_note()
        if note is not None:
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text(nodeid, encoding="utf-8")

    @pytest.hookimpl
    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        note = self._running_note()
        if note is not None:
            note.unlink(missing_ok=True)

    def report_dir(self) -> Path:
        out_dir = Path(self.config.getoption("--report-dir"))
        return out_dir if out_dir.is_absolute() else Path(self.config.rootpath) / out_dir

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not any(entry["claims"] for entry in self.results.tests.values()):
            return  # no test that cites a claim ran (the package's own tests, the tooling)
        data: dict[str, Any] = {
            "interpreter": interpreter(),
            "claims": claim_verdicts(self.results.tests),
            "tests": self.results.tests,
        }
        out_dir = self.report_dir()
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
            shown = row["verdict"] + (" (re-measured)" if remeasured(row) else "")
            tr.write(f"{shown:16}", **{colour: True})
            text = row["claim"] if verbose else row["claim"][:70] + ("..." if len(row["claim"]) > 70 else "")
            tr.write_line(f" {text}")
            if row.get("reason"):
                tr.write_line(f"            why: {row['reason']}")
            if evidence and verbose:
                tr.write_line(f"            measured: {evidence}")
        tr.write_line(f"claims report: {path}")


# A test whose teardown hangs too, after its timeout's signal, is ended this many seconds
# later by faulthandler: every thread's stack, then the process exits. Under xdist the test is
# reported failed, its worker "crashed", and a new worker carries on with the rest; without it
# (spec.run's serial pass), spec.run reports the test from the note below (running_file).
# The grace outlasts the leak guard's wait for a test's threads to end (PATIENCE, 10 s), which a
# test that hung spends in full when its thread never ends, and leaves 10 s to report it: beside a
# thread that keeps the GIL busy (a spinner that ignores its event) each of the thousands of
# system calls pytest makes to format the failure waits out a switch interval. With 5 s, the
# hanging-breaks tooling test lost the hung thread's report, and its stack, in most runs.
HARD_LIMIT_GRACE = PATIENCE + 10.0


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    timeout = timeout_of(item)
    if not timeout:
        return (yield)
    import faulthandler

    from _pytest import faulthandler as pytests  # the stderr it keeps uncaptured, for its own dumps

    key = getattr(pytests, "fault_handler_stderr_fd_key", None)
    stderr: int | None = item.config.stash.get(key, None) if key is not None else None
    if stderr is None:
        stderr = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
    faulthandler.dump_traceback_later(timeout + HARD_LIMIT_GRACE, exit=True, file=stderr)
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()


# A claim about the GIL itself, on a build running without one. The test is not run, as there is
# nothing it could measure: GIL-FT states the reverse, and its tests assert it on such builds.
NO_GIL = "the GIL is disabled on this build, and this claim is about the GIL: GIL-FT asserts what holds without it"


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A test marked ``claim(..., needs_gil=True)`` is *not applicable* where the GIL is off."""
    marker = pyfuncitem.get_closest_marker("claim")
    if marker is None or not marker.kwargs.get("needs_gil") or not build.GIL_OFF:
        return None
    _property(pyfuncitem, "verdict").update(verdict=NOT_APPLICABLE, reason=NO_GIL)
    return True  # called: the body has nothing to run on this build


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Under a failing claim test's traceback: the claims it specifies and what it measured."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    timeout = timeout_of(item)
    if timeout and report.duration >= HUNG_SHARE * timeout and not report.skipped:  # a hang, however it ended
        report.user_properties = [*report.user_properties, ("hung", timeout)]
        if report.passed:  # the timeout's exception was swallowed (by an event loop's task, say)
            report.outcome = "failed"
            report.longrepr = (
                f"hung: the test outlived its {timeout:g} s timeout (it took {report.duration:.1f} s), "
                "and the timeout's exception was swallowed on its way out"
            )
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


# A test that failed after this share of its timeout hung, whatever error it ended with: the
# timeout's signal can land where the code under test swallows it (an event loop's task).
HUNG_SHARE = 0.95


def timeout_of(item: pytest.Item) -> float:
    """The test's timeout (pytest-timeout: its marker, the command line, the ini file); 0: none."""
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    given = item.config.getoption("timeout", None)
    if given is not None:
        return float(given)
    return float(item.config.getini("timeout") or 0)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "claim(*ids, needs_gil=False): the catalogue claims this test specifies (see spec/claims.md); "
        "needs_gil: a claim about the GIL itself, not applicable where the GIL is off",
    )
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


def running_file(report_dir: Path) -> Path:
    """Where a run without xdist notes the test it is running: if the hard limit ends the
    process, spec.run reads there which test it was (under xdist, the controller says)."""
    return report_dir / f"running-{catalogue.interpreter_tag()}"
