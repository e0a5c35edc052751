"""Workloads of the rules core, each timed as a speed ratio to a ``json`` floor in the same run.

For every workload the floor and the subject are timed in interleaved rounds of about
``round_seconds`` each; the best round of each gives its ops/s, and the figure reported is
``subject ops/s / floor ops/s`` (0.25x: a quarter of the floor's speed).
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
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
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
DISTURBED = 0.9  # a floor best below this share of the run's best for that floor: measure again
RETRIES = 2

Call = Callable[[Any], object]


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


def time_loops(fn: Call, arg: object, loops: int) -> float:
    """Seconds for ``loops`` calls of ``fn(arg)``; the collector is emptied first, not disabled."""
    gc.collect()
    repeat = itertools.repeat(None, loops)
    start = time.perf_counter()
    for _ in repeat:
        fn(arg)
    return time.perf_counter() - start


def calibrate(fn: Call, arg: object, round_seconds: float) -> int:
    """Loops for a round of about ``round_seconds`` (doubling from 1 also warms up)."""
    loops = 1
    while True:
        elapsed = time_loops(fn, arg, loops)
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


def measure(
    work: Workload, rounds: int, round_seconds: float, earlier: Result | None = None
) -> Result:
    """Interleaved rounds, floor and subject alternating which goes first; adds to ``earlier``."""
    floor = (work.floor, work.floor_arg, calibrate(work.floor, work.floor_arg, round_seconds))
    subject = (work.subject, work.arg, calibrate(work.subject, work.arg, round_seconds))
    floor_ops = [] if earlier is None else list(earlier.floor_rounds)
    subject_ops = [] if earlier is None else list(earlier.subject_rounds)
    for index in range(rounds):
        order = [(floor, floor_ops), (subject, subject_ops)]
        if index % 2:
            order.reverse()
        for (fn, arg, loops), out in order:
            out.append(loops / time_loops(fn, arg, loops))
    pairs = [s / f for f, s in zip(floor_ops, subject_ops, strict=True)]
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
    )


def disturbed(results: Sequence[Result], tolerance: float = DISTURBED) -> list[int]:
    """Rows whose best floor is well below the best of the same floor elsewhere in the run."""
    best: dict[tuple[str, int], float] = {}
    for r in results:
        key = (r.floor_title, r.floor_size)
        best[key] = max(best.get(key, 0.0), r.floor_ops)
    return [
        index
        for index, r in enumerate(results)
        if r.floor_ops < tolerance * best[(r.floor_title, r.floor_size)]
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
    """The results as a plain-text table."""
    head = (
        "workload",
        "bytes",
        "floor",
        "ops/s floor",
        "ops/s subject",
        "ratio",
        "round ratios",
        "refuse/accept",
    )
    rows = [head]
    for r in results:
        rows.append(
            (
                f"{r.key}{'*' * r.remeasured} {r.title}",
                str(r.size),
                r.floor_title,
                f"{r.floor_ops:,.0f}",
                f"{r.subject_ops:,.0f}",
                f"{r.ratio:.2f}x",
                f"{r.round_ratio_min:.2f}-{r.round_ratio_max:.2f}",
                "" if r.refuse_vs_accept is None else f"{r.refuse_vs_accept:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i in (0, 2) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def source_digest() -> str:
    """SHA-256 of the ``meeting_rules`` sources: tells whether two runs measured the same code."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
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
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def compare(old_path: Path, results: Sequence[Result]) -> str:
    """This run's ratios next to those of an earlier ``--json`` file."""
    old = {r["key"]: r for r in json.loads(old_path.read_text())["results"]}
    lines = [f"compared with {old_path}: ratio then -> now (change of speed)"]
    for r in results:
        before = old.get(r.key)
        if before is not None:
            change = r.ratio / before["ratio"] - 1
            lines.append(f"  {r.key:<16} {before['ratio']:7.2f}x -> {r.ratio:7.2f}x  {change:+.1%}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the workloads, print the table, optionally write JSON, compare and profile."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    parser.add_argument("--rounds", type=int, metavar="N", help="rounds per side (default 5)")
    parser.add_argument("--round-time", type=float, metavar="S", help="seconds per round (0.2)")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 0.05 s: a smoke run")
    parser.add_argument("--only", metavar="PREFIX", help="workloads whose key starts so")
    parser.add_argument("--compare", type=Path, metavar="PATH", help="an earlier --json file")
    parser.add_argument("--profile", action="store_true", help="then profile workloads a and c")
    args = parser.parse_args(argv)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    round_seconds = args.round_time or (QUICK_ROUND_SECONDS if args.quick else ROUND_SECONDS)
    if rounds < 1 or round_seconds <= 0:
        parser.error("--rounds and --round-time must be positive")

    env = environment()
    request = workload_bytes(REQUEST_FILE)
    response = workload_bytes(RESPONSE_FILE)
    selected = [w for w in workloads(request, response) if w.key.startswith(args.only or "")]
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
    for work in selected:
        results.append(measure(work, rounds, round_seconds))
        print(f"  measured {work.key}", file=sys.stderr, flush=True)
    for _ in range(RETRIES):
        for index in disturbed(results):
            results[index] = measure(selected[index], rounds, round_seconds, results[index])
            print(f"  measured {selected[index].key} again", file=sys.stderr, flush=True)
    add_refuse_vs_accept(results)
    print(table(results))
    if any(r.remeasured for r in results):
        print(
            "* floor disturbed (best below 90% of the same floor's best in this run): rounds added"
        )
    if args.json is not None:
        document = {
            "schema": 1,
            "environment": env,
            "method": {"rounds": rounds, "round_seconds": round_seconds},
            "inputs": {"request_bytes": len(request), "response_bytes": len(response)},
            "results": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.compare is not None:
        print(compare(args.compare, results))
    if args.profile:
        from benchmarks.profile_core import main as profile_main

        profile_main([])
    return 0
