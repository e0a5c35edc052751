"""Where the time of workloads a and c goes: cProfile (exact calls) and pyinstrument (sampling).

``python -m benchmarks.profile_core [--top N] [--seconds S] [--json PATH]``. cProfile adds a fixed
cost to every call, so it over-weights small functions; pyinstrument samples the stack, which
distorts less. Neither sees inside ``json``'s C scanner and encoder: their time is charged to
``raw_decode`` and ``iterencode``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import pstats
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.bench_core import (
    REQUEST_FILE,
    RESPONSE_FILE,
    Call,
    calibrate,
    round_trip,
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
    return filename.rsplit("/", 1)[-1]


def run_cprofile(fn: Call, arg: object, loops: int) -> pstats.Stats:
    """``loops`` calls of ``fn(arg)`` under cProfile."""
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


def pyinstrument_rows(fn: Call, arg: object, seconds: float, top: int) -> list[Row] | None:
    """Self time per Python function from pyinstrument, or ``None`` when it is not installed."""
    try:
        module: Any = importlib.import_module("pyinstrument")
    except ImportError:
        return None
    profiler = module.Profiler(interval=0.0002)
    profiler.start()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
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


def report(title: str, fn: Call, arg: object, *, seconds: float, top: int) -> dict[str, Any]:
    """Profile one workload; print and return its summary."""
    loops_per_second = calibrate(fn, arg, 0.2) / 0.2
    loops = max(1, int(loops_per_second * seconds / 3))  # cProfile slows calls about 3x
    plain = time_loops(fn, arg, loops)
    rows, cumulative, areas = cprofile_rows(run_cprofile(fn, arg, loops), top)
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
    sampled = pyinstrument_rows(fn, arg, seconds, top)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Profile workloads a and c."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_core", description=__doc__)
    parser.add_argument("--top", type=int, default=10, metavar="N", help="lines per list (10)")
    parser.add_argument("--seconds", type=float, default=2.0, metavar="S", help="per profiler")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the summaries as JSON")
    args = parser.parse_args(argv)
    request = workload_bytes(REQUEST_FILE)
    response = workload_bytes(RESPONSE_FILE)
    summaries = [
        report(
            f"a parse_create_or_get ({len(request)} B)",
            parse_create_or_get,
            request,
            seconds=args.seconds,
            top=args.top,
        ),
        report(
            f"c dumps_meeting(meeting_from_json(json.loads)) ({len(response)} B)",
            round_trip,
            response,
            seconds=args.seconds,
            top=args.top,
        ),
    ]
    if args.json is not None:
        args.json.write_text(json.dumps(summaries, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
