"""``python -m benchmarks``: run every workload and print the tables (docs/performance.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import bench_memory, bench_oracle, bench_postgres, bench_serve, bench_start
from benchmarks.bench_core import workloads
from benchmarks.bench_store import StoreBench
from benchmarks.harness import (
    DEFAULT_ROUNDS,
    QUICK_ROUND_SECONDS,
    QUICK_ROUNDS,
    REQUEST_FILE,
    RESPONSE_FILE,
    RETRIES,
    ROUND_SECONDS,
    STORE_GROUPS,
    Result,
    compare,
    disturbed,
    environment,
    given,
    measure,
    table,
    workload_bytes,
)


def add_refuse_vs_accept(results: Sequence[Result]) -> None:
    """Refusal cost over acceptance cost (workload a); both use ``json.loads(request)`` as floor."""
    accept = next((r for r in results if r.key == "a"), None)
    if accept is None:
        return
    for result in results:
        if result.group == "refuse":
            result.refuse_vs_accept = accept.ratio / result.ratio


def main(argv: Sequence[str] | None = None) -> int:
    """Run the workloads, print the table, optionally write JSON, compare and profile."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    parser.add_argument("--rounds", type=int, metavar="N", help="rounds per side (default 5)")
    parser.add_argument("--round-time", type=float, metavar="S", help="seconds per round (0.2)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 rounds of 0.05 s, none added, no 100,000 in-memory creates, a check of 10,000 "
        "exchanges: a smoke run",
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

    def wanted(key: str) -> bool:
        return key.startswith(args.only or "")

    stores = StoreBench(request, stack)
    builders = [given(w) for w in workloads(request, response) if wanted(w.key)]
    builders += stores.builders(wanted)
    builders += bench_oracle.builders(request, wanted)
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
    file_info: dict[str, Any] | None = None
    if wanted(bench_oracle.FILE_KEY):
        checked, file_info = bench_oracle.check_file(request, rounds, args.quick)
        results.append(checked)
        print(f"  measured {checked.key}", file=sys.stderr, flush=True)
    kit: list[bench_oracle.KitRun] = []
    for build_kit in bench_oracle.kit_builders(wanted, args.quick):
        kit.append(build_kit())
        print(f"  measured {kit[-1].key}", file=sys.stderr, flush=True)
    curve: list[tuple[int, float, float]] = []
    plan = ""
    if any(wanted(key) for key in (*bench_postgres.KEYS, "p.writers")):
        with bench_postgres.server() as pg:
            bench = bench_postgres.PostgresBench(pg.conninfo, args.quick)
            try:
                if wanted("p.create"):
                    results.append(measure(bench.create(), rounds, round_seconds))
                if wanted("p.get"):
                    results.append(measure(bench.get(), rounds, round_seconds))
                if wanted("p.get1m"):
                    large, plan = bench.get_large()
                    results.append(measure(large, rounds, round_seconds))
                if wanted("p.writers"):
                    curve = bench_postgres.writers_curve(pg.conninfo, 1.0 if args.quick else 3.0)
            finally:
                bench.close()
        print("  measured p.*", file=sys.stderr, flush=True)
    serving = [key for key in bench_serve.keys(args.quick) if wanted(key)]
    if serving:
        results.extend(bench_serve.measure(rounds, round_seconds, serving))
        print(f"  measured {', '.join(serving)}", file=sys.stderr, flush=True)
    sizes: list[bench_memory.Size] = []
    for build_size in bench_memory.builders(stores, wanted, args.quick):
        sizes.append(build_size())
        print(f"  measured {sizes[-1].key}", file=sys.stderr, flush=True)
    add_refuse_vs_accept(results)
    own_tables = (
        *STORE_GROUPS,
        bench_start.GROUP,
        bench_serve.GROUP,
        bench_postgres.GROUP,
        bench_oracle.GROUP,
    )
    core = [r for r in results if r.group not in own_tables]
    postgres = [r for r in results if r.group == bench_postgres.GROUP]
    store = [r for r in results if r.group in STORE_GROUPS]
    start = [r for r in results if r.group == bench_start.GROUP]
    serve = [r for r in results if r.group == bench_serve.GROUP]
    oracle = [r for r in results if r.group == bench_oracle.GROUP]
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
    if postgres:
        print("\nthe PostgreSQL store, on a server started for the run")
        print(table(postgres))
        if plan:
            print(f"the get's plan with many stored:\n{plan}")
    if curve:
        print("\nPostgreSQL creates, writer processes: total creates/s, p99 ms")
        for count, rate, p99 in curve:
            print(f"  {count} processes: {rate:,.0f} creates/s, p99 {p99:.1f} ms")
    if serve:
        print("\nserving through uvicorn; floor: a bare ASGI app answering as many bytes")
        print(table(serve))
        print(bench_serve.latency_table(serve))
    if oracle:
        print(
            "\nthe oracle: o.* ratio = Oracle.check ops/s / handle ops/s of the same requests; "
            "oc.file: exchanges/s of the command / lines/s of a process that json.loads each line"
        )
        print(table(oracle))
        print(bench_oracle.summary(oracle, file_info))
    if kit:
        print(
            f"\ncheck_emulator: seconds to its answer, median of {bench_oracle.KIT_RUNS} runs; "
            "exchanges answered, seconds spent answering them, exchanges in the report"
        )
        print(bench_oracle.kit_table(kit))
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
            "oracle": {"check_file": file_info, "emulator": bench_oracle.documents(kit)},
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


if __name__ == "__main__":  # spawned worker processes import this module too
    raise SystemExit(main())
