"""Where the time goes: cProfile (exact calls) and pyinstrument (sampling) of workloads a and c,
the SQLite create and get paths (s.sql.create, s.sql.get) and ``handle`` (h.200).

``python -m benchmarks.profile_core [--top N] [--seconds S] [--only KEY ...] [--json PATH]``.
cProfile adds a fixed cost to every call, so it over-weights small functions; pyinstrument samples
the stack, which distorts less. Neither sees inside C code: ``json``'s scanner and encoder are
charged to ``raw_decode`` and ``iterencode``, SQLite's work (SQL, WAL, fsync) to
``Connection.execute``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import math
import pstats
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.bench_core import round_trip
from benchmarks.bench_store import StoreBench
from benchmarks.harness import (
    REQUEST_FILE,
    RESPONSE_FILE,
    Call,
    Prepare,
    calibrate,
    time_loops,
    workload_bytes,
)
from meeting_rules.graph_json import parse_create_or_get

ROOT = str(Path(__file__).resolve().parent.parent) + "/"

Row = tuple[float, int, str]  # share of the time, calls, function


def short_name(filename: str, line: int, function: str) -> str:
    """A function as ``path:line(name)``, paths relative to the project or site-packages."""
    if filename == "~":  # a built-in: pstats names it fully in ``function``
        return function
    if filename.startswith("<"):  # attrs' generated methods
        return f"{filename}({function})"
    for marker in (ROOT, "site-packages/", "/lib/python3."):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            if marker == "/lib/python3.":
                filename = filename.split("/", 1)[-1]
            break
    return f"{filename}:{line}({function})"


def area(filename: str, function: str) -> str:
    """The library or part of the project a function belongs to."""
    if filename == "~" and "sqlite3." in function:
        return "sqlite3 (C: SQL, WAL, fsync)"
    if filename == "~":
        return "builtins"
    if filename.startswith("<attrs generated"):
        return "attrs generated __init__"
    if "meeting_rules/" in filename:
        return "meeting_rules/" + filename.rsplit("meeting_rules/", 1)[1]
    if "/json/" in filename:
        return "json (with its C scanner/encoder)"
    if "cattrs/" in filename:
        return "cattrs"
    if "attr/" in filename or "attrs/" in filename:
        return "attrs"
    if "/email/" in filename:
        return "email (the Date header)"
    return filename.rsplit("/", 1)[-1]


def run_cprofile(fn: Call, arg: object, loops: int, prepare: Prepare | None = None) -> pstats.Stats:
    """``loops`` calls of ``fn(arg)`` under cProfile (``prepare(loops)`` first, unprofiled)."""
    if prepare is not None:
        prepare(loops)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(loops):
        fn(arg)
    profiler.disable()
    return pstats.Stats(profiler)


def cprofile_rows(
    stats: pstats.Stats, top: int
) -> tuple[list[Row], list[Row], list[tuple[float, str]]]:
    """Top functions by tottime and by cumtime, and tottime by area, as shares of the total."""
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    by_area: Counter[str] = Counter()
    own: list[Row] = []
    cumulative: list[Row] = []
    for (filename, line, function), entry in raw.items():
        primitive_calls, calls, tottime, cumtime = entry[0], entry[1], entry[2], entry[3]
        if "disable' of '_lsprof" in function:
            continue
        name = short_name(filename, line, function)
        by_area[area(filename, function)] += tottime
        own.append((tottime / total, calls, name))
        if not filename.startswith("~") and not name.startswith("benchmarks/"):
            cumulative.append((cumtime / total, primitive_calls, name))
    own.sort(reverse=True)
    cumulative.sort(reverse=True)
    areas = [(t / total, name) for name, t in by_area.most_common()]
    return own[:top], cumulative[:top], areas


def pyinstrument_rows(
    fn: Call,
    arg: object,
    seconds: float,
    top: int,
    prepare: Prepare | None = None,
    calls_per_second: float = 1e6,
) -> list[Row] | None:
    """Self time per Python function from pyinstrument, or ``None`` when it is not installed.

    With ``prepare``, it is given enough calls for ``seconds`` at ``calls_per_second`` beforehand.
    """
    try:
        module: Any = importlib.import_module("pyinstrument")
    except ImportError:
        return None
    batches = math.ceil(calls_per_second * seconds / 100) + 1
    if prepare is not None:
        prepare(batches * 100)
    profiler = module.Profiler(interval=0.0002)
    profiler.start()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and batches > 0:
        batches -= 1
        for _ in range(100):
            fn(arg)
    session = profiler.stop()
    self_time: Counter[str] = Counter()
    for stack, seconds_spent in session.frame_records:
        identifier = stack[-1].split("\x01", 1)[0]
        function, filename, line = ([*identifier.split("\x00"), "", ""])[:3]
        self_time[short_name(filename, int(line or 0), function)] += seconds_spent
    total = sum(self_time.values()) or 1.0
    return [(t / total, 0, name) for name, t in self_time.most_common(top)]


def report(
    title: str,
    fn: Call,
    arg: object,
    *,
    seconds: float,
    top: int,
    prepare: Prepare | None = None,
) -> dict[str, Any]:
    """Profile one workload; print and return its summary."""
    loops_per_second = calibrate(fn, arg, 0.2, prepare) / 0.2
    loops = max(1, int(loops_per_second * seconds / 3))  # cProfile slows calls about 3x
    plain = time_loops(fn, arg, loops, prepare)
    rows, cumulative, areas = cprofile_rows(run_cprofile(fn, arg, loops, prepare), top)
    print(f"\n== {title}: {loops} calls, {plain / loops * 1e6:.1f} us/call unprofiled")
    print("cProfile, top functions by tottime (share of all tottime):")
    for share, calls, name in rows:
        print(f"  {share:6.1%}  {calls / loops:6.1f}/op  {name}")
    print("cProfile, top functions by cumtime (share of all tottime; the phases):")
    for share, calls, name in cumulative:
        print(f"  {share:6.1%}  {calls / loops:6.1f}/op  {name}")
    print("cProfile, tottime by area:")
    for share, name in areas[:top]:
        print(f"  {share:6.1%}  {name}")
    sampled = pyinstrument_rows(fn, arg, seconds, top, prepare, loops_per_second)
    if sampled is None:
        print("pyinstrument: not installed")
    else:
        print("pyinstrument, top functions by self time:")
        for share, _, name in sampled:
            print(f"  {share:6.1%}  {name}")
    return {
        "workload": title,
        "us_per_call": plain / loops * 1e6,
        "cprofile_top": [
            {"share": s, "calls_per_op": c / loops, "function": n} for s, c, n in rows
        ],
        "cprofile_cumulative": [
            {"share": s, "calls_per_op": c / loops, "function": n} for s, c, n in cumulative
        ],
        "cprofile_areas": [{"share": s, "area": n} for s, n in areas],
        "pyinstrument_top": None
        if sampled is None
        else [{"share": s, "function": n} for s, _, n in sampled],
    }


PATHS = ("a", "c", "s.sql.create", "s.sql.get", "h.200")


def main(argv: Sequence[str] | None = None) -> int:
    """Profile workloads a and c, the SQLite create and get paths and ``handle``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_core", description=__doc__)
    parser.add_argument("--top", type=int, default=10, metavar="N", help="lines per list (10)")
    parser.add_argument("--seconds", type=float, default=2.0, metavar="S", help="per profiler")
    parser.add_argument(
        "--only", nargs="+", choices=PATHS, default=PATHS, metavar="KEY", help=" ".join(PATHS)
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the summaries as JSON")
    args = parser.parse_args(argv)
    request = workload_bytes(REQUEST_FILE)
    response = workload_bytes(RESPONSE_FILE)
    summaries = []
    if "a" in args.only:
        summaries.append(
            report(
                f"a parse_create_or_get ({len(request)} B)",
                parse_create_or_get,
                request,
                seconds=args.seconds,
                top=args.top,
            )
        )
    if "c" in args.only:
        summaries.append(
            report(
                f"c dumps_meeting(meeting_from_json(json.loads)) ({len(response)} B)",
                round_trip,
                response,
                seconds=args.seconds,
                top=args.top,
            )
        )
    with ExitStack() as stack:
        for build in StoreBench(request, stack).builders(lambda key: key in args.only):
            work = build()
            summaries.append(
                report(
                    f"{work.key} {work.title}",
                    work.subject,
                    work.arg,
                    seconds=args.seconds,
                    top=args.top,
                    prepare=work.subject_prepare,
                )
            )
    if args.json is not None:
        args.json.write_text(json.dumps(summaries, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
