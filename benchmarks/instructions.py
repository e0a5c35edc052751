"""Instructions per operation, counted by valgrind's callgrind: ratios that noise cannot move.

``python -m benchmarks.instructions [--only PREFIX] [--ops N] [--jobs J]``

A timed ratio on a shared machine moves by tens of per cent from one run to the next; a count of
the instructions an operation executes hardly moves (the same binary, inputs, hash seed and
environment give the same count whatever else the machine is doing, to the instruction for a
process that makes no temporary files, within a few dozen instructions a process for one that
names a directory at random). For each selected workload, four processes run under
``valgrind --tool=callgrind``: for the subject and for the floor, one that builds the workload,
prepares it for ``WARM + N`` calls and makes ``WARM`` of them, and one that does the same and
makes all ``WARM + N``. The difference of the two counts is ``N`` operations and nothing else:
start-up, imports, building and preparing are the same in both. The ratio printed is the
floor's instructions per operation over the subject's, in the sense of the timed tables (0.25x:
the subject executes four times the floor's instructions). ``--jobs`` processes run at once.

Instructions are not time: C code such as ``json.loads`` does more per cycle than the
interpreter, so an instruction ratio reads higher than a timed one (docs/performance.md gives
both). Only workloads whose cost is the CPU's are offered: no fsync, no other processes, no
waiting on a server.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_core import workloads
from benchmarks.bench_store import StoreBench
from benchmarks.harness import REQUEST_FILE, RESPONSE_FILE, Workload, workload_bytes

STORE_KEYS = ("s.mem.get", "s.sql.get", "h.200")
"""The store and HTTP rows whose cost is the CPU's (no fsync, no second process)."""
WARM = 50
"""Calls made before counting: the generated readers compiled, the interpreter's caches warm."""
DEFAULT_OPS = 500
_REFS = re.compile(r"^==\d+== (?:I\s+refs|Collected)\s*:\s*([\d,]+)", re.MULTILINE)
ROOT = Path(__file__).resolve().parent.parent
CHILD = ROOT / "benchmarks" / "callgrind_child.py"

Runner = Callable[[Sequence[str]], int]
"""Runs a command line under callgrind and gives the instructions it executed."""


@dataclass(frozen=True)
class Count:
    """One workload's instructions per operation, subject and floor."""

    key: str
    title: str
    floor_title: str
    subject: float
    floor: float

    @property
    def ratio(self) -> float:
        return self.floor / self.subject


def core_keys() -> list[str]:
    """The keys of every workload this module can count, in the timed tables' order."""
    request, response = workload_bytes(REQUEST_FILE), workload_bytes(RESPONSE_FILE)
    return [w.key for w in workloads(request, response)] + list(STORE_KEYS)


def build(key: str, stack: ExitStack) -> Workload:
    """The workload ``key``, made as ``python -m benchmarks`` makes it."""
    request, response = workload_bytes(REQUEST_FILE), workload_bytes(RESPONSE_FILE)
    for work in workloads(request, response):
        if work.key == key:
            return work
    if key in STORE_KEYS:
        (maker,) = StoreBench(request, stack).builders(lambda k: k == key)
        return maker()
    raise SystemExit(f"no workload {key!r} to count; these are: {', '.join(core_keys())}")


SIDES = ("subject", "floor")


def child(key: str, side: str, calls: int, prepared: int) -> None:
    """Build ``key``, prepare ``side`` for ``prepared`` calls, make ``calls``; nothing printed."""
    with ExitStack() as stack:
        work = build(key, stack)
        fn, arg, prepare = (
            (work.subject, work.arg, work.subject_prepare)
            if side == "subject"
            else (work.floor, work.floor_arg, work.floor_prepare)
        )
        if prepare is not None:
            prepare(prepared)
        for _ in itertools.repeat(None, calls):
            fn(arg)


def child_command(key: str, side: str, calls: int, prepared: int) -> list[str]:
    """The command line of a child (see ``callgrind_child``). Its numbers are written at a fixed
    width, so that the two runs of a side have command lines of the same length."""
    return [
        sys.executable,
        "-P",
        str(CHILD),
        "--child",
        key,
        side,
        f"{calls:09d}",
        f"{prepared:09d}",
    ]


def callgrind(command: Sequence[str]) -> int:
    """The instructions ``command`` executes under callgrind, from valgrind's own log.

    The hash seed is fixed and coverage's variables are left out of the environment (a test run
    with coverage of subprocesses would otherwise measure the child too, writing data files of
    random names).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE_", "COV_CORE_"))}
    env["PYTHONHASHSEED"] = "0"
    # The child once outside callgrind first: it writes the bytecode caches of every module the
    # child imports, so that the counted run compiles nothing (compiling counts); and a child
    # that fails says so in a second rather than after a minute under callgrind. (Other
    # processes writing bytecode during a count still change it: docs/performance.md.)
    plain = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if plain.returncode != 0:
        said = plain.stderr.strip().splitlines()[-1:] or [f"exit status {plain.returncode}"]
        raise RuntimeError(f"{' '.join(command[3:])} failed: {said[0]}")
    with tempfile.TemporaryDirectory(prefix="meeting-rules-callgrind-") as scratch:
        log = Path(scratch) / "valgrind.log"
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                f"--log-file={log}",
                *command,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=False,
        )
        found = _REFS.findall(log.read_text()) if log.exists() else []
    if result.returncode != 0 or not found:
        said = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        raise RuntimeError(f"{' '.join(command[3:])} failed under callgrind: {said[0]}")
    return int(found[-1].replace(",", ""))


def count_all(keys: Sequence[str], ops: int, run: Runner = callgrind, jobs: int = 1) -> list[Count]:
    """Each key's instructions per operation: for each side, a run of ``WARM`` calls and one of
    ``WARM + ops``, both prepared for ``WARM + ops``; their difference over ``ops`` operations.
    Every run of every key goes to one pool of ``jobs`` processes at a time."""
    rows = []
    commands = []
    for key in keys:
        with ExitStack() as stack:
            work = build(key, stack)
            rows.append((key, work.title, work.floor_title, work.ops_per_call))
        commands += [
            child_command(key, side, calls, WARM + ops)
            for side in SIDES
            for calls in (WARM, WARM + ops)
        ]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        counted = list(pool.map(run, commands))
    result = []
    for i, (key, title, floor_title, per_call) in enumerate(rows):
        subject_warm, subject_all, floor_warm, floor_all = counted[4 * i : 4 * i + 4]
        operations = ops * per_call
        result.append(
            Count(
                key=key,
                title=title,
                floor_title=floor_title,
                subject=(subject_all - subject_warm) / operations,
                floor=(floor_all - floor_warm) / operations,
            )
        )
    return result


def count(key: str, ops: int, run: Runner = callgrind, jobs: int = 1) -> Count:
    """``key``'s instructions per operation (``count_all`` of one key)."""
    return count_all([key], ops, run, jobs)[0]


def table(counts: Sequence[Count]) -> str:
    """The counts as a text table."""
    width = max([3, *(len(c.key) for c in counts)])
    lines = [
        f"{'key':<{width}} {'subject':<34} {'Ir/op':>10}  {'floor':<24} {'Ir/op':>9}  ratio",
    ]
    for c in counts:
        lines.append(
            f"{c.key:<{width}} {c.title[:34]:<34} {c.subject:>10,.0f}  {c.floor_title[:24]:<24} "
            f"{c.floor:>9,.0f}  {c.ratio:.3f}x"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--only", metavar="PREFIX", default="", help="keys starting so")
    parser.add_argument("--ops", type=int, default=DEFAULT_OPS, help="operations counted (500)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runs at once")
    parser.add_argument(
        "--child", nargs=4, metavar=("KEY", "SIDE", "CALLS", "PREPARED"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        key, side, calls, prepared = args.child
        if side not in SIDES or not (calls.isdigit() and prepared.isdigit()):
            parser.error(f"--child KEY {'|'.join(SIDES)} CALLS PREPARED, not {args.child}")
        child(key, side, int(calls), int(prepared))
        return 0
    if args.ops < 1 or args.jobs < 1:
        parser.error("--ops and --jobs must be positive")
    if shutil.which("valgrind") is None:
        print("valgrind is not on PATH: install it (Debian: apt install valgrind)", file=sys.stderr)
        return 2
    keys = [key for key in core_keys() if key.startswith(args.only)]
    if not keys:
        parser.error(f"no workload starts with {args.only!r}")
    print(f"instructions per operation, callgrind, {args.ops} operations after {WARM} warm-up")
    try:
        counts = count_all(keys, args.ops, jobs=args.jobs)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print(table(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
