"""``python -m benchmarks.instructions``: instructions per operation under callgrind.

What is tested is that it counts what it says (the difference of two runs, per operation, the
floor over the subject) and that the counts are the same from run to run; never a speed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest

from benchmarks import instructions
from benchmarks.instructions import STORE_KEYS, WARM, callgrind, child, core_keys, count, table

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="no valgrind")


def test_a_count_is_the_difference_of_two_runs_per_operation() -> None:
    """Warm-up alone and warm-up plus N calls, for each side: (all - warm) / N; ratio floor over
    subject; the two runs of a side differ in N only, written at one width."""
    commands: list[list[str]] = []

    def fake(command: Sequence[str]) -> int:
        commands.append(list(command))
        side, n = command[-2:]
        per_op, fixed = (7_000, 9_000_000) if side == "subject" else (2_000, 8_000_000)
        return fixed + per_op * (WARM + int(n))

    counted = count("b", 40, run=fake)
    assert (counted.subject, counted.floor) == (7_000, 2_000)
    assert counted.ratio == pytest.approx(2 / 7)
    assert counted.title == "meeting_from_json(loads)"
    assert counted.floor_title == "json.loads"
    assert sorted(c[-2:] for c in commands) == [
        ["floor", "000000000"],
        ["floor", "000000040"],
        ["subject", "000000000"],
        ["subject", "000000040"],
    ]
    assert all(c[-3] == "b" and c[0] == sys.executable for c in commands)
    row = table([counted]).splitlines()[1]
    assert row.split()[0] == "b"
    assert row.endswith("7,000  json.loads                   2,000  0.286x")


def test_every_countable_workload_builds_and_runs_on_both_sides() -> None:
    """The children's work, run here without callgrind: each key, each side, a few calls."""
    keys = core_keys()
    assert {"a", "b", "c", "b+ceiling", *STORE_KEYS} <= set(keys)
    for key in keys:
        for side in ("subject", "floor"):
            child(key, side, 2)


def test_an_unknown_key_is_refused_with_the_known_ones() -> None:
    with ExitStack() as stack, pytest.raises(SystemExit, match="these are: a, "):
        instructions.build("zz", stack)


@needs_valgrind
def test_a_child_counts_the_same_twice_under_callgrind() -> None:
    """A child's command line, as ``count`` runs it, twice at once under callgrind: the same
    count, to the instruction (the hash seed fixed, whatever else the machine does)."""
    command = [sys.executable, "-m", "benchmarks.instructions", "--child", "a", "floor", "3"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(callgrind, [command, command])
    assert first == second > 10_000_000


def test_the_command_line_refuses_bad_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.instructions", "--ops", "0"],
        capture_output=True,
        text=True,
        check=False,
        cwd=instructions.ROOT,
    )
    assert result.returncode == 2
    assert "--ops and --jobs must be positive" in result.stderr
