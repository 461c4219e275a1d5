"""The claims catalogue (``spec/claims.md``) as data, and which claims the tests cite."""

from __future__ import annotations

import ast
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from measuring.build import gil_disabled_build, gil_enabled

CATALOGUE = Path(__file__).with_name("claims.md")
ROW = re.compile(r"^\| ([A-Z]+-[0-9A-Z]+) \|")


@dataclass(frozen=True)
class Claim:
    id: str
    section: str  # "GIL — Processes, threads and the GIL"
    text: str
    versions: str  # why the claim reads differently on some interpreters, or ""


def load(path: Path = CATALOGUE) -> dict[str, Claim]:
    """Read the catalogue's tables: one claim per row, under the ``## `` heading of its section."""
    claims: dict[str, Claim] = {}
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif ROW.match(line):
            # split on the table's pipes, not on the escaped ones inside `\|/-`
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
            claim_id, text, versions = cells
            claims[claim_id] = Claim(claim_id, section, text, versions)
    return claims


def cited(test_dir: Path) -> dict[str, list[str]]:
    """Map each claim ID cited by a ``claim(...)`` marker under ``test_dir`` to the files citing it.

    Read from the source, not from a collection, so the answer does not depend on which
    tests a run selected.
    """
    found: dict[str, list[str]] = {}
    for path in sorted(test_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for claim_id in _claim_ids(node):
                found.setdefault(claim_id, []).append(path.name)
    return found


def _claim_ids(node: ast.AST) -> list[str]:
    """The IDs a ``claim("GIL-3", ...)`` call names, if ``node`` is one."""
    if not (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "claim"):
        return []
    return [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]


def claims_of(nodeid: str, root: Path) -> list[str]:
    """The claim IDs that the test ``nodeid`` cites in its ``@claim(...)`` decorators, read from
    its source: for a test whose own report carries none (an xdist worker that died running it)."""
    path, _, name = nodeid.partition("::")
    function = name.split("[", 1)[0].rsplit("::", 1)[-1]
    try:
        tree = ast.parse((root / path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return [claim_id for decorator in node.decorator_list for claim_id in _claim_ids(decorator)]
    return []


def _version_tag() -> str:
    """``3.12``; ``3.14t`` for a free-threaded build."""
    return f"{sys.version_info.major}.{sys.version_info.minor}" + ("t" if gil_disabled_build() else "")


def _gil_turned_on() -> bool:
    """A free-threaded build running with its GIL turned back on (``PYTHON_GIL=1``)."""
    return gil_disabled_build() and gil_enabled()


def interpreter_tag() -> str:
    """A short name for the running interpreter: ``3.12``, ``3.14t``, ``pypy-3.11``; a
    free-threaded build run with its GIL on is ``3.14t-gil``, its report apart from the other's."""
    tag = _version_tag()
    if sys.implementation.name != "cpython":
        tag = f"{sys.implementation.name}-{tag}"
    return tag + ("-gil" if _gil_turned_on() else "")


def interpreter_name() -> str:
    """The running interpreter as a reader names it: ``CPython 3.12``, ``CPython 3.14t``,
    ``PyPy 3.11 (8.0)`` (PyPy's own version in brackets), ``CPython 3.14t with the GIL on``."""
    name = f"{platform.python_implementation()} {_version_tag()}"
    pypy = getattr(sys, "pypy_version_info", None)
    name += f" ({pypy.major}.{pypy.minor})" if pypy is not None else ""
    return name + (" with the GIL on" if _gil_turned_on() else "")


def build_description() -> str:
    if not gil_disabled_build():
        return "GIL build"
    return "free-threaded build, GIL " + ("enabled" if gil_enabled() else "disabled")
