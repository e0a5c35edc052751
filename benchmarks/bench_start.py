"""Cold start (``t.cold``): ``meeting-rules validate FILE`` against a start that only imports the
dependencies, each a fresh process of ``sys.executable``.

The subject is the installed ``meeting-rules`` console script next to ``sys.executable`` when it
runs this checkout's code, else ``python -m meeting_rules``; the row's title says which. The floor
is ``python -c "import attrs, cattrs, pendulum, json, sqlite3, argparse"``. Both run once untimed
(bytecode caches warm, the subject's output checked against ``cli.main`` in this process), then
take turns, a different side first in each round, one run per side a round. Each side's time is
its best round, and the ratio is floor seconds over subject seconds (ops/s over ops/s, like every
other row): 0.667x means the command takes 1.5x the floor's time.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bench_store import NotAsClaimed
from benchmarks.harness import PACKAGE, REQUEST_FILE, Result
from meeting_rules import cli

DEPENDENCIES = "import attrs, cattrs, pendulum, json, sqlite3, argparse"
RUNS_PER_ROUND = 3  # rounds of this row for each round of the others: 15 by default
GOAL = 1.5  # the command may take at most this multiple of the floor's time
GROUP = "start"
# Settings that would change what a start costs: no bytecode written, import or malloc tracing.
UNSET = (
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONTRACEMALLOC",
    "PYTHONDEVMODE",
    "COVERAGE_PROCESS_START",
)


@dataclass(frozen=True)
class Command:
    """A process to start: its title, arguments and working directory."""

    title: str
    argv: tuple[str, ...]
    cwd: Path


def plain_environment() -> dict[str, str]:
    """This process's environment without the settings in ``UNSET``."""
    return {name: value for name, value in os.environ.items() if name not in UNSET}


def start(command: Command, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Run ``command`` to its end, its output captured."""
    return subprocess.run(
        command.argv, cwd=command.cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True
    )


def timed(command: Command, env: dict[str, str]) -> float:
    """Seconds from starting ``command`` to its end, output discarded; it must exit 0."""
    begin = time.perf_counter()
    code = subprocess.call(
        command.argv,
        cwd=command.cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - begin
    if code != 0:
        raise NotAsClaimed(f"{command.title} exited {code}")
    return elapsed


def runs_this_checkout(script: Path, env: dict[str, str]) -> bool:
    """Whether a script in ``script``'s directory imports ``meeting_rules.cli`` from ``PACKAGE``
    (a script's own directory heads ``sys.path``, as the working directory does for ``-c``)."""
    probe = Command(
        "probe",
        (sys.executable, "-c", "import meeting_rules.cli as c; print(c.__file__)"),
        script.parent,
    )
    done = start(probe, env)
    found = done.stdout.decode().strip()
    return done.returncode == 0 and Path(found).resolve() == PACKAGE / "cli.py"


def subject_command(env: dict[str, str]) -> Command:
    """``meeting-rules validate FILE``: the console script if it runs this checkout, else ``-m``."""
    script = Path(sys.executable).with_name("meeting-rules")
    validate = ("validate", str(REQUEST_FILE))
    if script.is_file() and runs_this_checkout(script, env):
        argv: tuple[str, ...] = (sys.executable, str(script), *validate)
        return Command("meeting-rules validate FILE, cold", argv, PACKAGE.parent)
    argv = (sys.executable, "-m", "meeting_rules", *validate)
    return Command("python -m meeting_rules validate FILE, cold", argv, PACKAGE.parent)


def floor_command() -> Command:
    """The dependency-only start."""
    return Command(
        f"python -c '{DEPENDENCIES}'", (sys.executable, "-c", DEPENDENCIES), PACKAGE.parent
    )


def check(subject: Command, floor: Command, env: dict[str, str]) -> None:
    """One untimed run of each (bytecode caches written): the floor exits 0 silently, the subject
    exits 0 and prints what ``cli.main(["validate", FILE])`` prints here."""
    out, err = io.StringIO(), io.StringIO()
    expected_code = cli.main(["validate", str(REQUEST_FILE)], stdout=out, stderr=err)
    done = start(subject, env)
    got = (done.returncode, done.stdout.decode(), done.stderr.decode())
    if expected_code != 0 or got != (0, out.getvalue(), err.getvalue()):
        raise NotAsClaimed(f"{subject.title} answered {got[0]}, {got[2]!r}, not as validate does")
    done = start(floor, env)
    if done.returncode != 0 or done.stdout or done.stderr:
        raise NotAsClaimed(f"{floor.title} failed: {done.stderr.decode()[-300:]}")


def cold_start(rounds: int) -> tuple[Result, dict[str, Any]]:
    """Row ``t.cold`` over ``RUNS_PER_ROUND * rounds`` interleaved rounds, and what it ran."""
    env = plain_environment()
    subject, floor = subject_command(env), floor_command()
    check(subject, floor, env)
    sides = (floor, subject)
    seconds: tuple[list[float], list[float]] = ([], [])
    for index in range(RUNS_PER_ROUND * rounds):
        for turn in range(2):
            side = (index + turn) % 2  # round i starts with side i (mod 2)
            seconds[side].append(timed(sides[side], env))
    floor_ops = [1 / s for s in seconds[0]]
    subject_ops = [1 / s for s in seconds[1]]
    result = Result.of_rounds(
        floor_ops,
        subject_ops,
        key="t.cold",
        title=subject.title,
        group=GROUP,
        size=REQUEST_FILE.stat().st_size,
        floor_title=floor.title,
        floor_size=0,
    )
    info = {
        "subject": list(subject.argv),
        "floor": list(floor.argv),
        "cwd": str(PACKAGE.parent),
        "unset": list(UNSET),
        "rounds": len(floor_ops),
        "floor_seconds": min(seconds[0]),
        "subject_seconds": min(seconds[1]),
        "time_multiple": min(seconds[1]) / min(seconds[0]),
        "goal_time_multiple": GOAL,
    }
    return result, info


def summary(info: dict[str, Any]) -> str:
    """The best times and their multiple, beside the goal."""
    return (
        f"t.cold: best of {info['rounds']} runs each: floor {info['floor_seconds'] * 1000:.1f} ms, "
        f"subject {info['subject_seconds'] * 1000:.1f} ms; the command takes "
        f"{info['time_multiple']:.2f}x the floor's time (goal <= {GOAL:g}x, ratio >= "
        f"{1 / GOAL:.3f}x)"
    )
