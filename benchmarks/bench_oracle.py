"""The oracle: what judging an exchange costs beside answering it (``o.*``), the ``check`` command
on a large recording (``oc.file``), and how long ``check_emulator`` takes (``oe.*``).

- ``o.201``, ``o.200``, ``o.400``: ``Oracle(directory=...).check(request, response)`` of
  exchanges recorded from ``meeting_rules.http.handle``, against ``handle`` answering the same
  requests, in the harness's interleaved rounds; ratio = check ops/s / handle ops/s, so the goal
  (a check costs at most 3x the answer) is a ratio of at least 0.333x. Both sides run with one
  delegated caller (``OnlineMeetings.ReadWrite``), the in-memory store, ``FixedClock`` and
  ``RandomIdFactory`` (the factory a service uses; it draws once). The requests are seed request 1
  as a delegated ``POST /beta/me/onlineMeetings/createOrGet``:

  - ``o.201``: a new externalId each call (``k0``, ``k1``, ...). The exchanges are recorded from
    ``handle`` untimed, as many as a timed run needs; before every timed run the check side gets a
    fresh ``Oracle`` and the floor a fresh empty store, so every call of either is a create.
  - ``o.200``: one externalId again and again; the oracle has judged its 201 first, the store holds
    its meeting.
  - ``o.400``: an end before its start (bench_core's ``d.end-first`` body).

  Each row is also timed against ``json.loads`` of seed request 1 (column ``vs loads``), like the
  store and HTTP rows.
- ``oc.file``: ``python -m meeting_rules check FILE --callers CALLERS --json`` on a JSON Lines file
  of 100,000 recorded exchanges (10,000 with ``--quick``), against a process of the same
  interpreter that reads the file and ``json.loads`` each line; ops/s are exchanges (lines) a
  second from start to exit, each side's best of ``min(rounds, 3)`` interleaved rounds. The file is
  300 exchanges recorded from ``handle`` (100 keys, each its 201, a 400 of a key of its own, then
  its 200), repeated with the externalIds rewritten in every copy, so the oracle sees each key's
  201 before its 200. The peak RSS of each side's process is recorded (``os.wait4``, through a
  small launcher: ``LAUNCHER``): the command reads the file one line at a time, so its RSS stays
  far below the file's size; what grows is the oracle's memory of the keys it has seen.
- ``oe.wrong``: ``check_emulator(send, directory=..., max_examples=200)`` on an implementation
  that answers 201 where ``handle`` answers 200, until it raises ``AssertionError``; seconds, and
  the exchanges in the sequence it reports (its ``--- exchange`` blocks). ``oe.pass``: the same
  with ``handle`` itself, 100 examples (20 with ``--quick``), which passes. Each is run 3 times and
  its median reported: how soon the kit finds a fault depends on the examples Hypothesis draws, not
  only on the machine. No floor: these are times to an answer.

The exchanges are checked (the statuses, no violation of the library's own answers, the command's
report, the rule ``oe.wrong`` names), never the timings.
"""

from __future__ import annotations

import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import attrs

from benchmarks.bench_start import plain_environment
from benchmarks.bench_store import CLOCK, ORGANIZER, TENANT, USER, NotAsClaimed, external_id
from benchmarks.harness import PACKAGE, Result, Workload, render
from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.clocks import SystemClock
from meeting_rules.http import (
    DELEGATED_SCOPE,
    HttpRequest,
    HttpResponse,
    InMemoryDirectory,
    handle,
)
from meeting_rules.ids import RandomIdFactory
from meeting_rules.oracle import Oracle

GROUP = "oracle"
KEYS = ("o.201", "o.200", "o.400")
FILE_KEY = "oc.file"
GOAL = 3.0  # a check may take at most this multiple of handle's time on the same request
TOKEN = "alice"
PATH = "/beta/me/onlineMeetings/createOrGet"
END_FIRST = "2020-02-06T01:19:21.3524945+00:00"  # before seed request 1's start
FILE_EXCHANGES = 100_000
FILE_EXCHANGES_QUICK = 10_000
FILE_KEYS = 100  # keys of the recorded block the file repeats: 3 exchanges each
FILE_ROUNDS = 3  # at most: a round of the command on 100,000 exchanges takes ~20 s here
KIT_RUNS = 3
WRONG_EXAMPLES = 200
PASS_EXAMPLES = 100
PASS_EXAMPLES_QUICK = 20
COMMAND = ("-m", "meeting_rules", "check")
FLOOR_CODE = "import json, sys\nfor line in open(sys.argv[1], 'rb'):\n    json.loads(line)"

Exchange = tuple[HttpRequest, HttpResponse]
NEW = ("201, new key", "201, new key, in memory")  # the rows' titles: subject, floor
SAME = ("200, same key", "200, same key, in memory")
END = ("400, end before start", "400, end before start")


def directory() -> InMemoryDirectory:
    """The one caller every row uses: a delegated user with ``OnlineMeetings.ReadWrite``."""
    found = InMemoryDirectory()
    found.add_delegated_user(
        token=TOKEN, tenant_id=TENANT, user_id=USER, upn=ORGANIZER.upn, scopes={DELEGATED_SCOPE}
    )
    return found


def callers_json() -> dict[str, Any]:
    """The same caller in the callers file's form (``check --callers``)."""
    user = {"token": TOKEN, "tenantId": TENANT, "userId": USER, "upn": ORGANIZER.upn}
    return {"delegated": [{**user, "scopes": [DELEGATED_SCOPE]}]}


def http_request(body: dict[str, Any]) -> HttpRequest:
    """A delegated ``POST /beta/me/onlineMeetings/createOrGet`` of ``body``."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    return HttpRequest(method="POST", path=PATH, headers=headers, body=json.dumps(body).encode())


def handle_on(
    callers: InMemoryDirectory, repository: InMemoryMeetingRepository
) -> Callable[[HttpRequest], HttpResponse]:
    """``handle`` with everything but the request bound."""
    return functools.partial(
        handle, directory=callers, repository=repository, clock=CLOCK, ids=RandomIdFactory()
    )


def judged(oracle: Oracle, exchanges: Sequence[Exchange], what: str) -> None:
    """The oracle finds nothing in the library's own exchanges."""
    for request, response in exchanges:
        found = oracle.check(request, response)
        if found:
            raise NotAsClaimed(f"{what}: the oracle found {found[0]}")


# --- o.*: Oracle.check against handle -----------------------------------------------------------


class NewKeys:
    """Creates of seed request 1 with externalIds k0, k1, ...: their exchanges, recorded from
    ``handle`` once and untimed, grown to what a timed run needs."""

    def __init__(self, body: dict[str, Any], callers: InMemoryDirectory) -> None:
        self._body = body
        self._answer = handle_on(callers, InMemoryMeetingRepository())
        self.exchanges: list[Exchange] = []

    def first(self, count: int) -> list[Exchange]:
        """The first ``count`` exchanges, recorded now where there are fewer."""
        for number in range(len(self.exchanges), count):
            request = http_request({**self._body, "externalId": external_id(number)})
            response = self._answer(request)
            if response.status != 201:
                raise NotAsClaimed(f"handle answered {response.status} to a new key")
            self.exchanges.append((request, response))
        return self.exchanges[:count]


class FreshChecks:
    """The check side of ``o.201``: a fresh ``Oracle`` and the run's exchanges before each run."""

    def __init__(self, keys: NewKeys, callers: InMemoryDirectory) -> None:
        self._keys = keys
        self._callers = callers
        self._oracle = Oracle(directory=callers)
        self._next: Callable[[], Exchange] = iter(()).__next__

    def prepare(self, loops: int) -> None:
        self._oracle = Oracle(directory=self._callers)
        self._next = iter(self._keys.first(loops)).__next__

    def __call__(self, _: object) -> object:
        return self._oracle.check(*self._next())


class FreshAnswers:
    """The floor of ``o.201``: ``handle`` on a fresh empty store, the same requests, each run."""

    def __init__(self, keys: NewKeys, callers: InMemoryDirectory) -> None:
        self._keys = keys
        self._callers = callers
        self._answer = handle_on(callers, InMemoryMeetingRepository())
        self._next: Callable[[], Exchange] = iter(()).__next__

    def prepare(self, loops: int) -> None:
        self._answer = handle_on(self._callers, InMemoryMeetingRepository())
        self._next = iter(self._keys.first(loops)).__next__

    def __call__(self, _: object) -> HttpResponse:
        return self._answer(self._next()[0])


def checker(oracle: Oracle) -> Callable[[Exchange], object]:
    """``oracle.check`` of one exchange given as a pair."""

    def check(exchange: Exchange) -> object:
        return oracle.check(*exchange)

    return check


def oracle_row(
    key: str,
    what: tuple[str, str],
    subject: Callable[[Any], object],
    exchange: Exchange,
    floor: Callable[[Any], object],
    core: bytes,
) -> Workload:
    """A row of ``Oracle.check`` (``subject``) against ``handle`` (``floor``), same request."""
    request, response = exchange
    return Workload(
        key=key,
        title=f"Oracle.check, {what[0]}",
        group=GROUP,
        subject=subject,
        arg=exchange,
        floor_title=f"handle, {what[1]}",
        floor=floor,
        floor_arg=request,
        size=len(request.body) + len(response.body),
        floor_size=len(request.body),
        core_arg=core,
    )


def created(request_bytes: bytes) -> Workload:
    """``o.201``: new keys, a fresh oracle and a fresh store before every timed run."""
    callers = directory()
    keys = NewKeys(json.loads(request_bytes), callers)
    exchanges = keys.first(64)
    judged(Oracle(directory=callers), exchanges, "o.201")
    answers = FreshAnswers(keys, callers)
    answers.prepare(len(exchanges))
    if {answers(None).status for _ in exchanges} != {201}:
        raise NotAsClaimed("o.201: the floor's handle did not create")
    checks = FreshChecks(keys, callers)
    work = oracle_row("o.201", NEW, checks, exchanges[0], answers, request_bytes)
    return replace(work, subject_prepare=checks.prepare, floor_prepare=answers.prepare)


def got(request_bytes: bytes) -> Workload:
    """``o.200``: one key again; the oracle has judged its 201, the store holds its meeting."""
    callers = directory()
    answer = handle_on(callers, InMemoryMeetingRepository())
    request = http_request(json.loads(request_bytes))
    first, again = answer(request), answer(request)
    if (first.status, again.status, answer(request).status) != (201, 200, 200):
        raise NotAsClaimed("o.200: handle did not answer 201, then 200")
    oracle = Oracle(directory=callers)
    judged(oracle, [(request, first), (request, again), (request, again)], "o.200")
    return oracle_row("o.200", SAME, checker(oracle), (request, again), answer, request_bytes)


def refused(request_bytes: bytes) -> Workload:
    """``o.400``: an end before its start, refused at ``endDateTime``."""
    callers = directory()
    answer = handle_on(callers, InMemoryMeetingRepository())
    request = http_request({**json.loads(request_bytes), "endDateTime": END_FIRST})
    response = answer(request)
    target = json.loads(response.body)["error"].get("target")
    if response.status != 400 or target != "endDateTime":
        raise NotAsClaimed(f"o.400: handle answered {response.status} at {target!r}")
    oracle = Oracle(directory=callers)
    judged(oracle, [(request, response)] * 2, "o.400")
    return oracle_row("o.400", END, checker(oracle), (request, response), answer, request_bytes)


def builders(request: bytes, wanted: Callable[[str], bool]) -> list[Callable[[], Workload]]:
    """Makers of the ``o.*`` rows whose key is ``wanted``."""
    made = dict(zip(KEYS, (created, got, refused), strict=True))
    return [functools.partial(made[key], request) for key in KEYS if wanted(key)]


# --- oc.file: the check command on a large recording --------------------------------------------


def recorded_line(request: HttpRequest, response: HttpResponse) -> str:
    """One JSON Lines record of an exchange, the bodies as text."""
    entry = {
        "request": {
            "method": request.method,
            "path": request.path,
            "headers": dict(request.headers),
            "body": request.body.decode(),
        },
        "response": {
            "status": response.status,
            "headers": dict(response.headers),
            "body": response.body.decode(),
        },
    }
    return json.dumps(entry)


def recorded_block(request_bytes: bytes) -> list[tuple[str, str]]:
    """``FILE_KEYS`` keys' exchanges from ``handle``: for each its 201, a 400 of another key, its
    200; each line with the marker its copies rewrite (an externalId no other text contains)."""
    body = json.loads(request_bytes)
    answer = handle_on(directory(), InMemoryMeetingRepository())
    block = []
    for number in range(FILE_KEYS):
        key, bad_key = f"x{number:05d}x", f"y{number:05d}y"  # x and y: never in a hex GUID
        good = http_request({**body, "externalId": key})
        bad = http_request({**body, "externalId": bad_key, "endDateTime": END_FIRST})
        for request, marker, status in ((good, key, 201), (bad, bad_key, 400), (good, key, 200)):
            response = answer(request)
            if response.status != status:
                raise NotAsClaimed(f"oc.file: handle answered {response.status}, not {status}")
            block.append((marker, recorded_line(request, response)))
    return block


def write_recording(path: Path, block: Sequence[tuple[str, str]], count: int) -> None:
    """``count`` exchanges: the block again and again, copy ``c`` rewriting marker ``x00012x`` to
    ``x00012-c`` (each key's 201 still before its 200)."""
    with path.open("w", encoding="utf-8") as file:
        for number in range(count):
            copy, place = divmod(number, len(block))
            marker, line = block[place]
            file.write(line.replace(marker, f"{marker[:-1]}-{copy}") + "\n")


@dataclass
class Process:
    """One finished run of a command: its seconds from start to exit and its peak RSS."""

    seconds: float
    max_rss_bytes: int


# A process's peak RSS (ru_maxrss) counts the memory of the process that started it, as it was
# when it started it (Linux keeps the larger high-water mark across fork and exec), so a command
# started from this process would seem to take what this one does. A small launcher, started
# with -S, starts each command instead and writes its exit code, peak RSS and seconds to a file.
LAUNCHER = (
    "import os, sys, time\n"
    "start = time.perf_counter()\n"
    "pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "elapsed = time.perf_counter() - start\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(f'{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss} {elapsed!r}')\n"
)


def run_process(argv: Sequence[str], stdout: Any, env: dict[str, str], scratch: Path) -> Process:
    """Run ``argv`` (``argv[0]`` a path) to its end through the launcher; it must exit 0."""
    measured = scratch / "launched.txt"
    launcher = [sys.executable, "-S", "-c", LAUNCHER, str(measured), *argv]
    with tempfile.TemporaryFile() as errors:
        subprocess.run(
            launcher,
            cwd=PACKAGE.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=errors,
            check=True,
        )
        code, max_rss, seconds = measured.read_text().split()
        if code != "0":
            errors.seek(0)
            said = errors.read().decode(errors="replace")[-300:]
            raise NotAsClaimed(f"{' '.join(argv[1:4])} exited {code}: {said}")
    return Process(float(seconds), int(max_rss) * 1024)  # Linux: ru_maxrss in KiB


def checked_report(path: Path, count: int) -> float:
    """The command's ``--json`` report: ``count`` exchanges, nothing found; its own seconds."""
    report = json.loads(path.read_text(encoding="utf-8"))
    lists = {name: len(report[name]) for name in ("violations", "unreadable", "skipped")}
    if report["exchanges"] != count or any(lists.values()):
        raise NotAsClaimed(f"oc.file: {report['exchanges']} exchanges, {lists}")
    seconds: float = report["seconds"]
    return seconds


def check_file(request_bytes: bytes, rounds: int, quick: bool) -> tuple[Result, dict[str, Any]]:
    """Row ``oc.file`` and what it ran: the file, the processes' times and peak RSS.

    One untimed run of the command first, on the recorded block alone, warms the bytecode caches
    and gives the command's peak RSS on a small file, beside which the large file's shows what
    the exchanges add."""
    count = FILE_EXCHANGES_QUICK if quick else FILE_EXCHANGES
    env = plain_environment()
    block = recorded_block(request_bytes)
    with tempfile.TemporaryDirectory(prefix="bench-oracle-") as directory_name:
        scratch = Path(directory_name)
        small, recording = scratch / "block.jsonl", scratch / "exchanges.jsonl"
        callers, report = scratch / "callers.json", scratch / "report.json"
        write_recording(small, block, len(block))
        write_recording(recording, block, count)
        callers.write_text(json.dumps(callers_json()), encoding="utf-8")

        def command(path: Path) -> list[str]:
            return [sys.executable, *COMMAND, str(path), "--callers", str(callers), "--json"]

        def checked(path: Path, exchanges: int) -> tuple[Process, float]:
            with report.open("w", encoding="utf-8") as out:
                done = run_process(command(path), out, env, scratch)
            return done, checked_report(report, exchanges)

        first, _ = checked(small, len(block))
        floor = [sys.executable, "-c", FLOOR_CODE, str(recording)]
        runs: tuple[list[Process], list[Process]] = ([], [])
        own_seconds = []
        for index in range(min(rounds, FILE_ROUNDS)):
            for side in (index % 2, 1 - index % 2):  # round i starts with side i (mod 2)
                if side == 0:
                    runs[0].append(run_process(floor, subprocess.DEVNULL, env, scratch))
                else:
                    done, seconds = checked(recording, count)
                    runs[1].append(done)
                    own_seconds.append(seconds)
        size = recording.stat().st_size
    result = Result.of_rounds(
        [count / run.seconds for run in runs[0]],
        [count / run.seconds for run in runs[1]],
        key=FILE_KEY,
        title=f"meeting-rules check FILE --json, {count:,} exchanges",
        group=GROUP,
        size=size,
        floor_title="json.loads of each line, a process",
        floor_size=size,
    )
    info = {
        "exchanges": count,
        "file_bytes": size,
        "subject": ["python", *COMMAND, "FILE", "--callers", "CALLERS", "--json"],
        "floor": ["python", "-c", FLOOR_CODE, "FILE"],
        "subject_seconds": [run.seconds for run in runs[1]],
        "subject_own_seconds": own_seconds,
        "floor_seconds": [run.seconds for run in runs[0]],
        "subject_max_rss_bytes": max(run.max_rss_bytes for run in runs[1]),
        "floor_max_rss_bytes": max(run.max_rss_bytes for run in runs[0]),
        "small_exchanges": len(block),
        "small_max_rss_bytes": first.max_rss_bytes,
    }
    return result, info


# --- oe.*: check_emulator ----------------------------------------------------------------------


@dataclass
class KitRun:
    """``check_emulator`` runs on one implementation: seconds to its answer, median of the runs."""

    key: str
    title: str
    max_examples: int
    seconds: list[float]
    median_seconds: float
    sent: list[int]  # exchanges the implementation answered, each run
    send_seconds: list[float]  # of each run's seconds, those spent answering them
    reported: list[int] = field(default_factory=list)  # exchanges in each run's report


class Implementation:
    """``handle`` on a store of its own, the system clock; with ``wrong``, 201 where it says 200.

    Counts the exchanges it answers and the time it takes to answer them."""

    def __init__(self, callers: InMemoryDirectory, *, wrong: bool) -> None:
        self._answer = functools.partial(
            handle,
            directory=callers,
            repository=InMemoryMeetingRepository(),
            clock=SystemClock(),
            ids=RandomIdFactory(),
        )
        self._wrong = wrong
        self.sent = 0
        self.seconds = 0.0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self._answer(request)
        if self._wrong and response.status == 200:
            response = attrs.evolve(response, status=201)
        self.seconds += time.perf_counter() - started
        self.sent += 1
        return response


def kit_run(key: str, wrong: bool, examples: int) -> KitRun:
    """``check_emulator`` ``KIT_RUNS`` times; the wrong one must be caught breaking R-RES-3, the
    right one must pass."""
    from meeting_rules.testing import emulator  # Hypothesis imported before the clock starts

    callers = directory()
    seconds, sent, send_seconds, reported = [], [], [], []
    for _ in range(KIT_RUNS):
        implementation = Implementation(callers, wrong=wrong)
        started = time.perf_counter()
        try:
            emulator.check_emulator(implementation, directory=callers, max_examples=examples)
        except AssertionError as error:
            elapsed = time.perf_counter() - started
            if not (wrong and str(error).startswith("R-RES-3")):
                raise NotAsClaimed(f"{key}: {str(error)[:300]}") from None
            reported.append(str(error).count("--- exchange"))
        else:
            elapsed = time.perf_counter() - started
            if wrong:
                raise NotAsClaimed(f"{key}: the wrong implementation passed") from None
        seconds.append(elapsed)
        sent.append(implementation.sent)
        send_seconds.append(implementation.seconds)
    what = "201 where handle answers 200, until caught" if wrong else "handle, passing"
    return KitRun(
        key=key,
        title=f"check_emulator, {what}",
        max_examples=examples,
        seconds=seconds,
        median_seconds=statistics.median(seconds),
        sent=sent,
        send_seconds=send_seconds,
        reported=reported,
    )


def kit_builders(wanted: Callable[[str], bool], quick: bool) -> list[Callable[[], KitRun]]:
    """Makers of the ``oe.*`` rows whose key is ``wanted``."""
    passing = PASS_EXAMPLES_QUICK if quick else PASS_EXAMPLES
    made = [
        ("oe.wrong", functools.partial(kit_run, "oe.wrong", True, WRONG_EXAMPLES)),
        ("oe.pass", functools.partial(kit_run, "oe.pass", False, passing)),
    ]
    return [build for key, build in made if wanted(key)]


# --- output -------------------------------------------------------------------------------------


def summary(results: Sequence[Result], file_info: dict[str, Any] | None) -> str:
    """Each ``o.*`` row's time multiple beside the goal; ``oc.file``'s rate and peak RSS."""
    lines = []
    for r in results:
        if r.key in KEYS:
            met = "met" if r.ratio >= 1 / GOAL else "NOT met"
            lines.append(
                f"{r.key}: a check takes {1 / r.ratio:.2f}x handle's time "
                f"(goal <= {GOAL:g}x, ratio >= {1 / GOAL:.3f}x): {met}"
            )
    if file_info is not None:
        mib = 1024 * 1024
        lines.append(
            f"{FILE_KEY}: {file_info['exchanges']:,} exchanges, "
            f"{file_info['file_bytes'] / mib:,.0f} MiB; best "
            f"{file_info['exchanges'] / min(file_info['subject_seconds']):,.0f} exchanges/s; "
            f"peak RSS {file_info['subject_max_rss_bytes'] / mib:.0f} MiB (on "
            f"{file_info['small_exchanges']} exchanges: "
            f"{file_info['small_max_rss_bytes'] / mib:.0f} MiB; the floor's: "
            f"{file_info['floor_max_rss_bytes'] / mib:.0f} MiB)"
        )
    return "\n".join(lines)


def kit_table(runs: Sequence[KitRun]) -> str:
    """The ``oe.*`` rows as a plain-text table."""
    head = ("run", "examples", "median s", "runs s", "exchanges", "answering s", "reported")
    rows: list[tuple[str, ...]] = [head]
    for run in runs:
        rows.append(
            (
                f"{run.key} {run.title}",
                str(run.max_examples),
                f"{run.median_seconds:.2f}",
                " ".join(f"{s:.2f}" for s in run.seconds),
                " ".join(str(n) for n in run.sent),
                " ".join(f"{s:.2f}" for s in run.send_seconds),
                " ".join(str(n) for n in run.reported),
            )
        )
    return render(rows, left={0})


def documents(runs: Sequence[KitRun]) -> list[dict[str, Any]]:
    """The ``oe.*`` rows as JSON-ready dicts."""
    return [asdict(run) for run in runs]
