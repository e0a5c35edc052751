"""The pure core: only the edge (command line, clocks, ID factories) reaches for the clock,
entropy, files or sockets."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import meeting_rules

PACKAGE = Path(meeting_rules.__file__).parent
EDGE = {"cli.py", "__main__.py", "clocks.py", "ids.py"}
FORBIDDEN = {"time", "os", "random", "secrets", "uuid", "sqlite3", "socket", "subprocess", "io",
             "pathlib", "threading", "multiprocessing", "hypothesis", "pytest"}  # fmt: skip
CORE = sorted(p for p in PACKAGE.glob("*.py") if p.name not in EDGE)


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_modules_touch_nothing_outside(path: Path) -> None:
    """Core modules import no clock, randomness, environment, files, sockets or test tools."""
    assert imported_modules(path) & FORBIDDEN == set()


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_only_graph_json_uses_cattrs(path: Path) -> None:
    """cattrs stays in the Graph JSON modules."""
    if path.name not in ("graph_json.py", "object_json.py"):
        assert "cattrs" not in imported_modules(path)


def test_no_clock_calls_in_the_core() -> None:
    """No core module reads the system clock: time comes in through the ``Clock`` port."""
    reads_clock = re.compile(r"\b(?:datetime|date|pendulum)\.(?:now|today|utcnow)\(|\btime\.time\(")
    for path in CORE:
        assert reads_clock.search(path.read_text()) is None, path.name
