"""Workloads of the rules core, each timed as a speed ratio to a ``json`` floor in the same run.

For every workload the floor and the subject are timed in interleaved rounds of about
``round_seconds`` each; the best round of each gives its ops/s, and the figure reported is
``subject ops/s / floor ops/s`` (0.25x: a quarter of the floor's speed). The store and HTTP
workloads (``s.*``, ``h.*``) live in ``benchmarks.bench_store`` and run through the same machinery;
the cold start (``t.cold``, ``benchmarks.bench_start``) is timed the same way in fresh processes.
Sizes (``m.*``, ``benchmarks.bench_memory``) are measured once and printed in a table of their own.
"""

from __future__ import annotations

import argparse
import copy
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
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import meeting_rules
from meeting_rules.errors import GraphError
from meeting_rules.graph_json import dumps_meeting, meeting_from_json, parse_create_or_get
from meeting_rules.meeting import OnlineMeeting
from meeting_rules.request import CreateOrGetRequest

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


# --- subjects and floors ------------------------------------------------------------------------


def read_meeting(body: bytes) -> OnlineMeeting:
    """Workload b: decode with ``json.loads``, then read the meeting."""
    return meeting_from_json(json.loads(body))


def round_trip(body: bytes) -> bytes:
    """Workload c: decode, read the meeting, write it back."""
    return dumps_meeting(meeting_from_json(json.loads(body)))


def json_round_trip(body: bytes) -> str:
    """Floor of workload c."""
    return json.dumps(json.loads(body))


def parse_decoded(body: bytes) -> CreateOrGetRequest:
    """Supplementary: ``parse_create_or_get`` given a dict already decoded by ``json.loads``."""
    return parse_create_or_get(json.loads(body))


class NotRefused(Exception):
    """A body meant to be refused was accepted."""


def refuse(body: bytes) -> GraphError:
    """Workload d: ``parse_create_or_get`` must raise ``GraphError``; the error is returned."""
    try:
        parse_create_or_get(body)
    except GraphError as error:
        return error
    raise NotRefused(body[:80].decode("utf-8", "replace"))


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


def invalid_bodies(request: bytes) -> list[tuple[str, str, bytes, str | None]]:
    """Bad createOrGet bodies near the good one's size: (key, title, body, expected target)."""
    good = json.loads(request)

    def variant(change: Callable[[dict[str, Any]], object]) -> bytes:
        body = copy.deepcopy(good)
        change(body)
        return json.dumps(body).encode()

    def attendee(body: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = body["participants"]["attendees"][0]
        return found

    return [
        ("empty", "empty body", b"", None),
        ("invalid-json", "invalid JSON (truncated)", request[:-1], None),
        ("wrong-type", '"externalId": 5', variant(lambda b: b.update(externalId=5)), "externalId"),
        ("missing-id", "externalId missing", variant(lambda b: b.pop("externalId")), "externalId"),
        (
            "zoneless",
            "startDateTime without zone",
            variant(lambda b: b.update(startDateTime="2020-02-06T01:49:21.3524945")),
            "startDateTime",
        ),
        (
            "end-first",
            "end before start",
            variant(lambda b: b.update(endDateTime="2020-02-06T01:19:21.3524945+00:00")),
            "endDateTime",
        ),
        ("duplicate", "duplicate member", request[:-1] + b', "subject": "again"}', "subject"),
        (
            "ufv-role",
            "role unknownFutureValue",
            variant(lambda b: attendee(b).update(role="unknownFutureValue")),
            "participants.attendees[0].role",
        ),
    ]


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


def workloads(request: bytes, response: bytes) -> list[Workload]:
    """Workloads a-d and the supplementary ones (``+``), checked to do what they claim."""
    meeting = meeting_from_json(json.loads(response))
    written = dumps_meeting(meeting)
    if meeting_from_json(json.loads(written)) != meeting:
        raise NotRefused("workload c does not round-trip")
    if parse_create_or_get(request).external_id != json.loads(request)["externalId"]:
        raise NotRefused("workload a did not read externalId")
    round_floor = ("json.dumps(json.loads)", json_round_trip)
    result = [
        pair("a", "parse_create_or_get", "accept", parse_create_or_get, request),
        pair("b", "meeting_from_json(loads)", "accept", read_meeting, response),
        pair(
            "c",
            "dumps_meeting(from_json(loads))",
            "accept",
            round_trip,
            response,
            floor=round_floor,
        ),
        pair("a+dict", "parse_create_or_get(loads)", "extra", parse_decoded, request),
        pair("b+bytes", "meeting_from_json(bytes)", "extra", meeting_from_json, response),
        pair(
            "c+write",
            "dumps_meeting(meeting)",
            "extra",
            dumps_meeting,
            meeting,
            floor=("json.dumps(dict)", json.dumps),
            floor_arg=json.loads(response),
            size=len(written),
        ),
    ]
    for key, title, body, target in invalid_bodies(request):
        error = refuse(body)
        if error.target != target:
            raise NotRefused(f"{key}: refused at {error.target!r}, not {target!r}: {error}")
        result.append(pair(f"d.{key}", title, "refuse", refuse, body, floor_arg=request))
    return result


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
    pairs = [s / f for f, s in zip(floor_ops, subject_ops, strict=True)]
    if not timed_core and work.core_arg is not None:
        core_ops = floor_ops
    return Result(
        key=work.key,
        title=work.title,
        group=work.group,
        size=work.size,
        floor_title=work.floor_title,
        floor_size=work.floor_size,
        floor_ops=max(floor_ops),
        subject_ops=max(subject_ops),
        ratio=max(subject_ops) / max(floor_ops),
        round_ratio_min=min(pairs),
        round_ratio_max=max(pairs),
        floor_rounds=floor_ops,
        subject_rounds=subject_ops,
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


def add_refuse_vs_accept(results: Sequence[Result]) -> None:
    """Refusal cost over acceptance cost (workload a); both use ``json.loads(request)`` as floor."""
    accept = next((r for r in results if r.key == "a"), None)
    if accept is None:
        return
    for result in results:
        if result.group == "refuse":
            result.refuse_vs_accept = accept.ratio / result.ratio


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the workloads, print the table, optionally write JSON, compare and profile."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    parser.add_argument("--rounds", type=int, metavar="N", help="rounds per side (default 5)")
    parser.add_argument("--round-time", type=float, metavar="S", help="seconds per round (0.2)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 rounds of 0.05 s, none added, no 100,000 in-memory creates: a smoke run",
    )
    parser.add_argument("--only", metavar="PREFIX", help="workloads whose key starts so")
    parser.add_argument("--compare", type=Path, metavar="PATH", help="an earlier --json file")
    parser.add_argument(
        "--profile", action="store_true", help="then profile a, c, SQLite create/get, handle"
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    round_seconds = args.round_time or (QUICK_ROUND_SECONDS if args.quick else ROUND_SECONDS)
    if rounds < 1 or round_seconds <= 0:
        parser.error("--rounds and --round-time must be positive")

    env = environment()
    request = workload_bytes(REQUEST_FILE)
    response = workload_bytes(RESPONSE_FILE)
    with ExitStack() as stack:
        return run(args, rounds, round_seconds, env, request, response, stack)


def run(
    args: argparse.Namespace,
    rounds: int,
    round_seconds: float,
    env: dict[str, Any],
    request: bytes,
    response: bytes,
    stack: ExitStack,
) -> int:
    """Measure the selected workloads, print the tables; ``stack`` holds the stores' resources."""
    from benchmarks import bench_memory, bench_start
    from benchmarks.bench_store import StoreBench

    def wanted(key: str) -> bool:
        return key.startswith(args.only or "")

    stores = StoreBench(request, stack)
    builders = [given(w) for w in workloads(request, response) if wanted(w.key)]
    builders += stores.builders(wanted)
    print(
        f"request {REQUEST_FILE.name}: {len(request)} bytes; "
        f"response {RESPONSE_FILE.name}: {len(response)} bytes"
    )
    print(
        f"best of {rounds} interleaved rounds of ~{round_seconds:g} s; ratio = subject ops/s / "
        f"floor ops/s; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
        f"meeting_rules {env['git'] or 'no git'} sha256:{env['meeting_rules_sha256']}"
    )
    results: list[Result] = []
    for build in builders:  # a store workload is made just before it is measured
        results.append(measure(build(), rounds, round_seconds))
        print(f"  measured {results[-1].key}", file=sys.stderr, flush=True)
    for _ in range(0 if args.quick else RETRIES):
        for index in disturbed(results, len(request)):
            results[index] = measure(builders[index](), rounds, round_seconds, results[index])
            print(f"  measured {results[index].key} again", file=sys.stderr, flush=True)
    start_info: dict[str, Any] | None = None
    if wanted("t.cold"):
        cold, start_info = bench_start.cold_start(rounds)
        results.append(cold)
        print(f"  measured {cold.key}", file=sys.stderr, flush=True)
    sizes: list[bench_memory.Size] = []
    for build_size in bench_memory.builders(stores, wanted, args.quick):
        sizes.append(build_size())
        print(f"  measured {sizes[-1].key}", file=sys.stderr, flush=True)
    add_refuse_vs_accept(results)
    core = [r for r in results if r.group not in (*STORE_GROUPS, bench_start.GROUP)]
    store = [r for r in results if r.group in STORE_GROUPS]
    start = [r for r in results if r.group == bench_start.GROUP]
    if core:
        print(table(core))
    if store:
        print(
            f"\nstores and HTTP; 'vs loads' = subject ops/s / json.loads(request) ops/s, timed in "
            f"the same rounds; stores start from {stores.info['base_meetings']:,} meetings"
        )
        print(table(store))
    if any(r.remeasured for r in results):
        print(
            "* floor disturbed (best below 90% of the same floor's best in this run): rounds added"
        )
    if start and start_info is not None:
        print("\ncold start: fresh processes; ratio = floor seconds / subject seconds")
        print(table(start))
        print(bench_start.summary(start_info))
    if sizes:
        print(
            "\nmemory: sizes, measured once (m.mem.*: traced growth of the process per create); "
            "ratio = bytes / compact Graph JSON bytes (dumps_meeting) of the same meetings"
        )
        print(bench_memory.table(sizes))
    if args.json is not None:
        document = {
            "schema": 2,
            "environment": env,
            "method": {"rounds": rounds, "round_seconds": round_seconds},
            "inputs": {
                "request_bytes": len(request),
                "response_bytes": len(response),
                "stores": stores.info,
                "cold_start": start_info,
            },
            "results": [asdict(r) for r in results],
            "memory": bench_memory.documents(sizes),
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.compare is not None and results:
        print(compare(args.compare, results))
    if args.compare is not None and sizes:
        print(bench_memory.compare(args.compare, sizes))
    if args.profile:
        from benchmarks.profile_core import main as profile_main

        profile_main([])
    return 0
