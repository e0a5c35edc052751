"""The harness every benchmark shares: workloads, interleaved timing against a floor, results,
tables, and the run's environment.

For every workload the floor and the subject are timed in interleaved rounds of about
``round_seconds`` each; the best round of each gives its ops/s, and the figure reported is
``subject ops/s / floor ops/s`` (0.25x: a quarter of the floor's speed). A floor whose best falls
well below its best elsewhere in the run was disturbed (the machine is shared) and is measured
again. The workloads themselves live in ``bench_core`` (the rules), ``bench_store`` (stores and
HTTP), ``bench_start`` (cold start) and ``bench_memory`` (sizes); ``__main__`` runs them all.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import itertools
import json
import math
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import meeting_rules

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
REQUEST_FILE = DATA / "seed-example1-request.json"
RESPONSE_FILE = DATA / "seed-example1-response.json"
PACKAGE = Path(meeting_rules.__file__).resolve().parent

ROUND_SECONDS = 0.2
QUICK_ROUND_SECONDS = 0.05
DEFAULT_ROUNDS = 5
QUICK_ROUNDS = 3
STORE_GROUPS = ("store", "http")
DISTURBED = 0.9  # a floor best below this share of the run's best for that floor: measure again
RETRIES = 2

Call = Callable[[Any], object]
Prepare = Callable[[int], object]  # called with the loop count before a timed run, untimed


def workload_bytes(path: Path) -> bytes:
    """The file's JSON re-encoded by ``json.dumps`` with its default separators."""
    encoded: bytes = json.dumps(json.loads(path.read_bytes())).encode()
    return encoded


class NotRefused(Exception):
    """A body meant to be refused was accepted."""


# --- workloads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One subject and its floor, each called with its own argument."""

    key: str
    title: str
    group: str  # "accept", "refuse" or "extra"
    subject: Call
    arg: Any
    floor_title: str
    floor: Call
    floor_arg: Any
    size: int  # bytes of the subject's input or output body
    floor_size: int  # bytes of the floor's input or output body
    subject_prepare: Prepare | None = None  # resets state before each timed run of the subject
    floor_prepare: Prepare | None = None  # the same for the floor
    ops_per_call: int = 1  # operations one call performs, on either side
    core_arg: bytes | None = None  # also time json.loads(core_arg), the rules-core floor


LOADS = ("json.loads", json.loads)


def pair(
    key: str,
    title: str,
    group: str,
    subject: Call,
    arg: Any,
    *,
    floor: tuple[str, Call] = LOADS,
    floor_arg: Any = None,
    size: int | None = None,
) -> Workload:
    """A workload; by default its floor is ``json.loads`` of the subject's own argument."""
    if floor_arg is None:
        floor_arg = arg
    return Workload(
        key=key,
        title=title,
        group=group,
        subject=subject,
        arg=arg,
        floor_title=floor[0],
        floor=floor[1],
        floor_arg=floor_arg,
        size=len(arg) if size is None else size,
        floor_size=len(floor_arg) if isinstance(floor_arg, bytes) else len(json.dumps(floor_arg)),
    )


# --- timing -------------------------------------------------------------------------------------


def time_loops(fn: Call, arg: object, loops: int, prepare: Prepare | None = None) -> float:
    """Seconds for ``loops`` calls of ``fn(arg)``; the collector is emptied first, not disabled.

    ``prepare(loops)``, when given, runs first and untimed (a fresh store, that run's requests).
    """
    if prepare is not None:
        prepare(loops)
    gc.collect()
    repeat = itertools.repeat(None, loops)
    start = time.perf_counter()
    for _ in repeat:
        fn(arg)
    return time.perf_counter() - start


def calibrate(fn: Call, arg: object, round_seconds: float, prepare: Prepare | None = None) -> int:
    """Loops for a round of about ``round_seconds`` (doubling from 1 also warms up)."""
    loops = 1
    while True:
        elapsed = time_loops(fn, arg, loops, prepare)
        if elapsed >= round_seconds / 5:
            return max(1, math.ceil(loops * round_seconds / elapsed))
        loops *= 2


@dataclass
class Result:
    """Best-of-N ops/s of floor and subject, every round kept."""

    key: str
    title: str
    group: str
    size: int
    floor_title: str
    floor_size: int
    floor_ops: float
    subject_ops: float
    ratio: float  # subject ops/s over floor ops/s: the subject's speed relative to the floor
    round_ratio_min: float
    round_ratio_max: float
    floor_rounds: list[float]
    subject_rounds: list[float]
    remeasured: int = 0  # times more rounds were added because the floor was disturbed
    refuse_vs_accept: float | None = None
    core_ops: float | None = None  # best ops/s of json.loads(request), when the row has it
    core_ratio: float | None = None  # subject ops/s over core_ops: comparable with workload a
    core_rounds: list[float] = field(default_factory=list)
    latency_ms: dict[str, tuple[float, float]] | None = None  # side: (p50, p99), served rows

    @classmethod
    def of_rounds(cls, floor_ops: list[float], subject_ops: list[float], **fields: Any) -> Result:
        """A result from its rounds: the best of each side, their ratio and the rounds' spread;
        ``fields`` gives the rest (key, titles, sizes, ...)."""
        pairs = [s / f for f, s in zip(floor_ops, subject_ops, strict=True)]
        return cls(
            floor_ops=max(floor_ops),
            subject_ops=max(subject_ops),
            ratio=max(subject_ops) / max(floor_ops),
            round_ratio_min=min(pairs),
            round_ratio_max=max(pairs),
            floor_rounds=floor_ops,
            subject_rounds=subject_ops,
            **fields,
        )


def given(work: Workload) -> Callable[[], Workload]:
    """A maker of a workload already made."""
    return lambda: work


def core_is_floor(work: Workload) -> bool:
    """The workload's own floor is already ``json.loads`` of the rules-core request."""
    return work.floor is json.loads and work.floor_arg == work.core_arg


def measure(
    work: Workload, rounds: int, round_seconds: float, earlier: Result | None = None
) -> Result:
    """Interleaved rounds, the sides taking turns to go first; adds to ``earlier``.

    The sides are the floor, the subject and, for rows with a ``core_arg`` whose floor is not
    already ``json.loads`` of it, ``json.loads(core_arg)``.
    """
    sides: list[tuple[Call, object, Prepare | None]] = [
        (work.floor, work.floor_arg, work.floor_prepare),
        (work.subject, work.arg, work.subject_prepare),
    ]
    timed_core = work.core_arg is not None and not core_is_floor(work)
    if timed_core:
        sides.append((json.loads, work.core_arg, None))
    loops = [calibrate(fn, arg, round_seconds, prepare) for fn, arg, prepare in sides]
    floor_ops = [] if earlier is None else list(earlier.floor_rounds)
    subject_ops = [] if earlier is None else list(earlier.subject_rounds)
    core_ops = [] if earlier is None or not timed_core else list(earlier.core_rounds)
    outs = [floor_ops, subject_ops, core_ops]
    for index in range(rounds):
        for turn in range(len(sides)):
            side = (index + turn) % len(sides)  # round i starts with side i (mod the sides)
            fn, arg, prepare = sides[side]
            elapsed = time_loops(fn, arg, loops[side], prepare)
            ops = work.ops_per_call if side < 2 else 1  # the core floor is one json.loads
            outs[side].append(loops[side] * ops / elapsed)
    if not timed_core and work.core_arg is not None:
        core_ops = floor_ops
    return Result.of_rounds(
        floor_ops,
        subject_ops,
        key=work.key,
        title=work.title,
        group=work.group,
        size=work.size,
        floor_title=work.floor_title,
        floor_size=work.floor_size,
        remeasured=0 if earlier is None else earlier.remeasured + 1,
        core_ops=max(core_ops) if core_ops else None,
        core_ratio=max(subject_ops) / max(core_ops) if core_ops else None,
        core_rounds=core_ops,
    )


def floors_of(result: Result, core_size: int) -> list[tuple[tuple[str, int], float]]:
    """A row's floors, each named by title and size: its own, and the rules-core one if timed."""
    found = [((result.floor_title, result.floor_size), result.floor_ops)]
    if result.core_ops is not None:
        found.append((("json.loads", core_size), result.core_ops))
    return found


def disturbed(
    results: Sequence[Result], core_size: int = 0, tolerance: float = DISTURBED
) -> list[int]:
    """Rows with a best floor well below the best of the same floor elsewhere in the run."""
    best: dict[tuple[str, int], float] = {}
    for r in results:
        for key, ops in floors_of(r, core_size):
            best[key] = max(best.get(key, 0.0), ops)
    return [
        index
        for index, r in enumerate(results)
        if any(ops < tolerance * best[key] for key, ops in floors_of(r, core_size))
    ]


# --- output -------------------------------------------------------------------------------------


def table(results: Sequence[Result]) -> str:
    """The results as a plain-text table; a column no row fills is left out."""
    head = (
        "workload",
        "bytes",
        "floor",
        "ops/s floor",
        "ops/s subject",
        "ratio",
        "round ratios",
        "refuse/accept",
        "ops/s loads",
        "vs loads",
    )
    rows: list[tuple[str, ...]] = [head]
    for r in results:
        rows.append(
            (
                f"{r.key}{'*' * r.remeasured} {r.title}",
                str(r.size),
                r.floor_title,
                ops_text(r.floor_ops),
                ops_text(r.subject_ops),
                f"{r.ratio:.3g}x",
                f"{r.round_ratio_min:.3g}-{r.round_ratio_max:.3g}",
                "" if r.refuse_vs_accept is None else f"{r.refuse_vs_accept:.2f}",
                "" if r.core_ops is None else ops_text(r.core_ops),
                "" if r.core_ratio is None else f"{r.core_ratio:.3g}x",
            )
        )
    return render(rows, left={0, 2})


def ops_text(ops: float) -> str:
    """Operations a second: whole numbers, or three digits below 100 (a process start)."""
    return f"{ops:,.0f}" if ops >= 100 else f"{ops:.3g}"


def render(rows: Sequence[tuple[str, ...]], left: Container[int]) -> str:
    """Rows, the head first, as aligned plain text; columns in ``left`` flush left, the others
    right, and a column no row fills is left out."""
    used = [i for i in range(len(rows[0])) if any(row[i] for row in rows[1:])]
    widths = {i: max(len(row[i]) for row in rows) for i in used}
    lines = []
    for n, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) if i in left else row[i].rjust(widths[i]) for i in used]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * widths[i] for i in used))
    return "\n".join(lines)


def source_digest() -> str:
    """SHA-256 of the ``meeting_rules`` sources, subpackages (the stores) included: tells whether
    two runs measured the same code."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def git_revision() -> str | None:
    """The checked-out commit, with ``+dirty`` when the tree has changes; ``None`` without git."""
    try:
        run = functools.partial(
            subprocess.run, cwd=PACKAGE, capture_output=True, text=True, check=True
        )
        commit = run(["git", "rev-parse", "--short", "HEAD"]).stdout.strip()
        dirty = run(["git", "status", "--porcelain", "--", "."]).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def environment() -> dict[str, Any]:
    """Where the run happened and what code it measured (read at the start of the run)."""
    return {
        "meeting_rules_sha256": source_digest(),
        "git": git_revision(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def compare(old_path: Path, results: Sequence[Result]) -> str:
    """This run's ratios next to those of an earlier ``--json`` file."""
    document = json.loads(old_path.read_text())
    old = {r["key"]: r for r in document["results"]}
    lines = [f"compared with {old_path}: ratio then -> now (change of speed)"]
    if document.get("schema", 1) < 2:
        lines.append("  (a schema 1 file: its ratios may be floor/subject, the inverse of these)")
    for r in results:
        before = old.get(r.key)
        if before is not None:
            change = r.ratio / before["ratio"] - 1
            lines.append(f"  {r.key:<20} {before['ratio']:8.3g}x -> {r.ratio:8.3g}x  {change:+.1%}")
    return "\n".join(lines)
