"""Workloads of the rules core, each timed as a cost ratio to a ``json`` floor in the same run.

For every workload the floor and the subject are timed in interleaved rounds of about
``round_seconds`` each; the best round of each gives its ops/s, and the figure reported is
``floor ops/s / subject ops/s``: what one subject call costs in floor calls.
"""

from __future__ import annotations

import argparse
import copy
import gc
import itertools
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from meeting_rules.errors import GraphError
from meeting_rules.graph_json import dumps_meeting, meeting_from_json, parse_create_or_get
from meeting_rules.meeting import OnlineMeeting
from meeting_rules.request import CreateOrGetRequest

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
REQUEST_FILE = DATA / "seed-example1-request.json"
RESPONSE_FILE = DATA / "seed-example1-response.json"

ROUND_SECONDS = 0.2
QUICK_ROUND_SECONDS = 0.05
DEFAULT_ROUNDS = 5
QUICK_ROUNDS = 3

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


def workloads(request: bytes, response: bytes) -> list[Workload]:
    """Workloads a-d and the supplementary ones, checked to do what they claim."""
    meeting = meeting_from_json(json.loads(response))
    written = dumps_meeting(meeting)
    decoded = json.loads(response)
    loads = "json.loads"
    result = [
        Workload(
            "a",
            "parse_create_or_get",
            "accept",
            parse_create_or_get,
            request,
            loads,
            json.loads,
            request,
            len(request),
        ),
        Workload(
            "b",
            "meeting_from_json(loads)",
            "accept",
            read_meeting,
            response,
            loads,
            json.loads,
            response,
            len(response),
        ),
        Workload(
            "c",
            "dumps_meeting(from_json(loads))",
            "accept",
            round_trip,
            response,
            "json.dumps(json.loads)",
            json_round_trip,
            response,
            len(response),
        ),
        Workload(
            "a+dict",
            "parse_create_or_get(loads)",
            "extra",
            parse_decoded,
            request,
            loads,
            json.loads,
            request,
            len(request),
        ),
        Workload(
            "b+bytes",
            "meeting_from_json(bytes)",
            "extra",
            meeting_from_json,
            response,
            loads,
            json.loads,
            response,
            len(response),
        ),
        Workload(
            "c+write",
            "dumps_meeting(meeting)",
            "extra",
            dumps_meeting,
            meeting,
            "json.dumps(dict)",
            json.dumps,
            decoded,
            len(written),
        ),
    ]
    for key, title, body, target in invalid_bodies(request):
        error = refuse(body)
        if error.target != target:
            raise NotRefused(f"{key}: refused at {error.target!r}, not {target!r}: {error}")
        result.append(
            Workload(
                f"d.{key}", title, "refuse", refuse, body, loads, json.loads, request, len(body)
            )
        )
    if parse_create_or_get(request).external_id != good_external_id(request):
        raise NotRefused("workload a did not read externalId")
    if meeting_from_json(json.loads(written)) != meeting:
        raise NotRefused("workload c does not round-trip")
    return result


def good_external_id(request: bytes) -> str:
    """The externalId of the good request."""
    value: str = json.loads(request)["externalId"]
    return value


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
    floor_ops: float
    subject_ops: float
    ratio: float  # floor ops/s over subject ops/s: subject cost in floor calls
    round_ratio_min: float
    round_ratio_max: float
    floor_rounds: list[float]
    subject_rounds: list[float]
    refuse_vs_accept: float | None = None


def measure(work: Workload, rounds: int, round_seconds: float) -> Result:
    """Interleaved rounds, floor and subject alternating which goes first."""
    floor = (work.floor, work.floor_arg, calibrate(work.floor, work.floor_arg, round_seconds))
    subject = (work.subject, work.arg, calibrate(work.subject, work.arg, round_seconds))
    floor_ops: list[float] = []
    subject_ops: list[float] = []
    for index in range(rounds):
        order = [(floor, floor_ops), (subject, subject_ops)]
        if index % 2:
            order.reverse()
        for (fn, arg, loops), out in order:
            out.append(loops / time_loops(fn, arg, loops))
    pairs = [f / s for f, s in zip(floor_ops, subject_ops, strict=True)]
    return Result(
        key=work.key,
        title=work.title,
        group=work.group,
        size=work.size,
        floor_title=work.floor_title,
        floor_ops=max(floor_ops),
        subject_ops=max(subject_ops),
        ratio=max(floor_ops) / max(subject_ops),
        round_ratio_min=min(pairs),
        round_ratio_max=max(pairs),
        floor_rounds=floor_ops,
        subject_rounds=subject_ops,
    )


def add_refuse_vs_accept(results: Sequence[Result]) -> None:
    """Refusal cost over acceptance cost (workload a); both use ``json.loads(request)`` as floor."""
    accept = next((r for r in results if r.key == "a"), None)
    if accept is None:
        return
    for result in results:
        if result.group == "refuse":
            result.refuse_vs_accept = result.ratio / accept.ratio


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
        "rounds",
        "refuse/accept",
    )
    rows = [head]
    for r in results:
        rows.append(
            (
                f"{r.key} {r.title}",
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


def environment() -> dict[str, Any]:
    """Where the run happened."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def compare(old_path: Path, results: Sequence[Result]) -> str:
    """This run's ratios next to those of an earlier ``--json`` file."""
    old = {r["key"]: r for r in json.loads(old_path.read_text())["results"]}
    lines = [f"compared with {old_path}: ratio then -> now (change of cost)"]
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

    request = workload_bytes(REQUEST_FILE)
    response = workload_bytes(RESPONSE_FILE)
    selected = [w for w in workloads(request, response) if w.key.startswith(args.only or "")]
    print(
        f"request {REQUEST_FILE.name}: {len(request)} bytes; "
        f"response {RESPONSE_FILE.name}: {len(response)} bytes"
    )
    print(
        f"best of {rounds} interleaved rounds of ~{round_seconds:g} s; ratio = floor ops/s / "
        f"subject ops/s; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    results: list[Result] = []
    for work in selected:
        results.append(measure(work, rounds, round_seconds))
        print(f"  measured {work.key}", file=sys.stderr, flush=True)
    add_refuse_vs_accept(results)
    print(table(results))
    if args.json is not None:
        document = {
            "schema": 1,
            "environment": environment(),
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
