"""The README's set-up commands, read from the README itself, so that CI runs what a reader pastes.

The block is the first fenced ``sh`` block after the line ``<!-- set-up commands -->``; each
line that is not blank and not a ``#`` comment is one command.

    python3 -m spec.readme      # prints the commands, one a line (.ci/run runs them)
"""

from __future__ import annotations

import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = "<!-- set-up commands -->"


def setup_commands(readme: Path = README) -> list[str]:
    lines = readme.read_text(encoding="utf-8").splitlines()
    if MARKER not in lines:
        raise ValueError(f"{readme.name} has no line {MARKER!r}")
    rest = lines[lines.index(MARKER) + 1 :]
    try:
        start = next(i for i, line in enumerate(rest) if line.strip() == "```sh")
        end = next(i for i, line in enumerate(rest) if i > start and line.strip() == "```")
    except StopIteration:
        raise ValueError(f"no fenced sh block after {MARKER!r} in {readme.name}") from None
    return [line.strip() for line in rest[start + 1 : end] if line.strip() and not line.lstrip().startswith("#")]


def main() -> int:
    print("\n".join(setup_commands()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
