"""``python -m benchmarks.instructions``: instructions per operation under callgrind.

What is tested is that it counts what it says (the difference of two runs, per operation, the
floor over the subject) and that the counts are the same from run to run; never a speed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from benchmarks import instructions
from benchmarks.harness import Workload
from benchmarks.instructions import (
    STORE_KEYS,
    WARM,
    callgrind,
    child,
    core_keys,
    count,
    count_all,
    table,
)

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="no valgrind")


def counting_workload(calls: list[str], prepared: list[int], ops_per_call: int = 1) -> Workload:
    """A workload whose sides note each call, and whose prepares note what they were asked."""
    return Workload(
        key="k",
        title="subject title",
        group="extra",
        subject=lambda arg: calls.append(f"subject {arg}"),
        arg="s",
        floor_title="floor title",
        floor=lambda arg: calls.append(f"floor {arg}"),
        floor_arg="f",
        size=1,
        floor_size=1,
        subject_prepare=prepared.append,
        floor_prepare=lambda n: prepared.append(-n),
        ops_per_call=ops_per_call,
    )


def test_a_child_prepares_for_all_calls_and_makes_the_calls_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    prepared: list[int] = []
    monkeypatch.setattr(
        instructions, "build", lambda key, stack: counting_workload(calls, prepared)
    )
    child("k", "subject", 3, 7)
    assert (calls, prepared) == (["subject s"] * 3, [7])
    calls.clear()
    prepared.clear()
    child("k", "floor", 0, 7)
    assert (calls, prepared) == ([], [-7])


def test_a_count_is_the_difference_of_two_runs_per_operation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each side runs twice, prepared alike for warm-up and N calls, making warm-up calls then
    warm-up and N; the difference over N calls times the operations a call makes, the ratio
    the floor's over the subject's. The fake runner charges each call and each prepared call."""
    monkeypatch.setattr(
        instructions, "build", lambda key, stack: counting_workload([], [], ops_per_call=2)
    )
    commands: list[list[str]] = []

    def fake(command: Sequence[str]) -> int:
        commands.append(list(command))
        side, calls, prepared = command[-3:]
        per_call, fixed = (14_000, 9_000_000) if side == "subject" else (4_000, 8_000_000)
        return fixed + 999 * int(prepared) + per_call * int(calls)

    counted = count("k", 40, run=fake)
    assert (counted.subject, counted.floor) == (7_000, 2_000)
    assert counted.ratio == pytest.approx(2 / 7)
    assert (counted.title, counted.floor_title) == ("subject title", "floor title")
    assert sorted(c[-3:] for c in commands) == [
        ["floor", f"{WARM:09d}", f"{WARM + 40:09d}"],
        ["floor", f"{WARM + 40:09d}", f"{WARM + 40:09d}"],
        ["subject", f"{WARM:09d}", f"{WARM + 40:09d}"],
        ["subject", f"{WARM + 40:09d}", f"{WARM + 40:09d}"],
    ]
    assert all(c[:5] == [sys.executable, "-P", str(instructions.CHILD), "--child", "k"]
               for c in commands)  # fmt: skip
    row = table([counted]).splitlines()[1]
    assert row.split()[0] == "k"
    assert row.endswith("7,000  floor title                  2,000  0.286x")


def test_rows_are_counted_in_one_pool_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(instructions, "build", lambda key, stack: counting_workload([], []))

    def fake(command: Sequence[str]) -> int:
        key, side, calls = command[-4:-1]
        return int(calls) * (len(key) + (side == "subject"))

    counted = count_all(["x", "yyy"], 10, run=fake, jobs=8)
    assert [(c.key, c.subject, c.floor) for c in counted] == [("x", 2, 1), ("yyy", 4, 3)]


def test_every_countable_workload_builds_and_runs_on_both_sides() -> None:
    """The children's work, run here without callgrind: each key, each side, a few calls."""
    keys = core_keys()
    assert {"a", "b", "c", "b+ceiling", *STORE_KEYS} <= set(keys)
    for key in keys:
        for side in ("subject", "floor"):
            child(key, side, 2, 2)


def test_an_unknown_key_is_refused_with_the_known_ones() -> None:
    with ExitStack() as stack, pytest.raises(SystemExit, match="these are: a, "):
        instructions.build("zz", stack)


def churn(directory: Path, stop: threading.Event) -> int:
    """Make and remove files in ``directory`` until ``stop`` (at most 20,000, 5 ms apart), as
    other processes do in a checkout during a test run (coverage's data files, caches)."""
    made = 0
    while made < 20_000 and not stop.wait(0.005):
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".meeting-rules-churn-"):
            made += 1
    return made


@needs_valgrind
def test_a_child_counts_the_same_twice_under_callgrind() -> None:
    """A child's command line, as ``count`` runs it, twice at once under callgrind while files
    come and go in the checkout: the same count, to the instruction (the hash seed fixed, the
    checkout off the child's import path, whatever else the machine does)."""
    command = instructions.child_command("a", "floor", 3, 3)
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=3) as pool:
        churned = pool.submit(churn, instructions.ROOT, stop)
        try:
            first, second = pool.map(callgrind, [command, command])
        finally:
            stop.set()
    assert first == second > 10_000_000
    assert churned.result() > 10


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--ops", "0"], "--ops and --jobs must be positive"),
        (["--child", "a", "flor", "1", "1"], "--child KEY subject|floor CALLS PREPARED"),
        (["--child", "a", "floor", "-1", "1"], "--child KEY subject|floor CALLS PREPARED"),
    ],
)
def test_the_command_line_refuses_bad_options(arguments: list[str], said: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.instructions", *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=instructions.ROOT,
    )
    assert result.returncode == 2
    assert said in result.stderr


@needs_valgrind
def test_a_failing_child_is_one_line_naming_its_error() -> None:
    with pytest.raises(RuntimeError, match="no workload 'zz' to count"):
        callgrind(instructions.child_command("zz", "floor", 1, 1))
