"""Mutants cosmic-ray's operators do not make, judged like its own (``python -m spec.mutant``):

* ``constants`` -- every module-level constant of ``spinners/`` given another value (a
  number doubled, or 1 for a 0; a string reversed): the chapter's facts live there;
* ``awaits`` -- every ``await`` statement removed, and every other ``await`` dropped from its
  expression (the coroutine is then never run);
* ``calls`` -- every call made as a statement removed (``out.flush()``, ``done.set()``, ...).

Each mutant is written into the working tree, judged, and undone; the tree must be clean
under ``spinners/``. Prints each mutant's verdict and, at the end, the survivors.

    python -m spec.mutate [--kinds constants,awaits,calls] [--nearest-only] [--covering] [MODULE ...]
"""

from __future__ import annotations

import argparse
import ast
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("constants", "awaits", "calls")


class Mutant(NamedTuple):
    path: Path
    line: int
    kind: str
    before: str
    after: str
    start: int  # offsets into the module's text
    end: int


def _offset(lines: list[str], line: int, col: int) -> int:
    return sum(len(text) for text in lines[: line - 1]) + len(lines[line - 1].encode()[:col].decode())


def _span(text: str, node: ast.AST) -> tuple[int, int]:
    lines = text.splitlines(keepends=True)
    start = _offset(lines, node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = _offset(lines, node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
    return start, end


def _other_value(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return repr(value * 2 if value else 1)
    if isinstance(value, str) and value:
        return repr(value[::-1] if value[::-1] != value else value + "?")
    return None


def mutants(path: Path, kinds: tuple[str, ...]) -> Iterator[Mutant]:
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)

    def make(node: ast.AST, kind: str, after: str) -> Mutant:
        start, end = _span(text, node)
        return Mutant(path, node.lineno, kind, text[start:end], after, start, end)  # type: ignore[attr-defined]

    if "constants" in kinds:
        for statement in tree.body:
            value = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) else None
            if isinstance(value, ast.Constant) and (other := _other_value(value.value)) is not None:
                yield make(value, "constants", other)
    for node in ast.walk(tree):
        if "awaits" in kinds and isinstance(node, ast.Expr) and isinstance(node.value, ast.Await):
            yield make(node, "awaits", "pass")
        elif "awaits" in kinds and isinstance(node, ast.Await):
            start, end = _span(text, node.value)
            yield make(node, "awaits", text[start:end])
        if "calls" in kinds and isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            yield make(node, "calls", "pass")


def judge(mutant: Mutant, nearest_only: bool, timeout: float, covering: bool = False) -> bool:
    """Write the mutant, run the judge, undo it. True if the mutant survived; a judge that takes
    longer than ``timeout`` is a hang, which the suite's own timeouts would fail: killed."""
    original = mutant.path.read_text(encoding="utf-8")
    mutated = original[: mutant.start] + mutant.after + original[mutant.end :]
    command = [sys.executable, "-m", "spec.mutant", *(["--nearest-only"] if nearest_only else [])]
    command += ["--covering"] if covering else []
    try:
        mutant.path.write_text(mutated, encoding="utf-8")
        judged = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            return judged.wait(timeout) == 0
        except subprocess.TimeoutExpired:
            os.killpg(judged.pid, signal.SIGKILL)  # the judge and every test process under it
            judged.wait()
            return False
    finally:
        mutant.path.write_text(original, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec.mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"which mutants, of {', '.join(KINDS)}")
    parser.add_argument("--nearest-only", action="store_true", help="judge by the nearest tests alone (fast)")
    parser.add_argument("--covering", action="store_true", help="quick stage: the tests that run the mutated lines")
    parser.add_argument("--timeout", type=float, default=120, help="seconds after which a judge has hung: killed")
    parser.add_argument("modules", nargs="*", help="files under spinners/ (default: all)")
    args = parser.parse_args(argv)
    kinds = tuple(kind for kind in args.kinds.split(",") if kind)
    dirty = subprocess.run(["git", "status", "--porcelain", "spinners"], cwd=ROOT, capture_output=True, text=True)
    if dirty.stdout.strip():
        print("spinners/ has uncommitted changes: commit or stash them first", file=sys.stderr)
        return 2
    paths = [ROOT / module for module in args.modules] or sorted((ROOT / "spinners").glob("*.py"))
    survivors = []
    every = [mutant for path in paths for mutant in mutants(path, kinds)]
    for number, mutant in enumerate(every, start=1):
        t0 = time.perf_counter()
        survived = judge(mutant, args.nearest_only, args.timeout, args.covering)
        where = f"{mutant.path.relative_to(ROOT)}:{mutant.line}"
        verdict = "SURVIVED" if survived else "killed"
        print(
            f"[{number}/{len(every)}] {verdict:8} {where} {mutant.kind}: {mutant.before!r} -> {mutant.after!r}"
            f" ({time.perf_counter() - t0:.0f}s)",
            flush=True,
        )
        if survived:
            survivors.append(f"{where} {mutant.kind}: {mutant.before!r} -> {mutant.after!r}")
    print(f"\n{len(every) - len(survivors)} of {len(every)} killed; survivors:")
    print("\n".join(f"  {line}" for line in survivors) or "  none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
