"""Races and crashes with real threads and processes on one store (R-RES-4, R-RES-5).

Each racer uses its own seeded identifiers, so two racers that both created a meeting for one key
would be caught: their meetings differ.
"""

from __future__ import annotations

import multiprocessing
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from meeting_rules import (
    Instant,
    MeetingKey,
    MeetingRepository,
    Organizer,
    SeededIdFactory,
    SteppingClock,
    create_or_get,
)
from meeting_rules.adapters import InMemoryMeetingRepository, SqliteMeetingRepository
from meeting_rules.graph_json import dumps_meeting, parse_create_or_get

ROOT = Path(__file__).parent.parent
ORGANIZER = Organizer(tenant_id="t", user_id="o", upn="o@contoso.com")
KEYS = [f"meeting-{n}" for n in range(40)]
Results = list[tuple[str, int, bytes]]


def race(repository: MeetingRepository, seed: int, barrier: object) -> Results:
    """Create-or-get every key once, in an order of our own, after everyone is ready."""
    ids = SeededIdFactory(seed)
    clock = SteppingClock(Instant.parse("2020-01-01T00:00:00Z"))
    order = KEYS[:]
    random.Random(seed).shuffle(order)
    barrier.wait()  # type: ignore[attr-defined]
    results = []
    for external_id in order:
        request = parse_create_or_get({"externalId": external_id, "subject": f"by {seed}"})
        outcome = create_or_get(
            request, organizer=ORGANIZER, repository=repository, clock=clock, ids=ids
        )
        results.append((external_id, outcome.status, dumps_meeting(outcome.meeting)))
    return results


def check(results: Results, racers: int) -> None:
    """Exactly one 201 per key, and every racer got the same meeting for it."""
    by_key: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    for external_id, status, meeting in results:
        by_key[external_id].append((status, meeting))
    assert sorted(by_key) == sorted(KEYS)
    for external_id, answers in by_key.items():
        assert len(answers) == racers
        assert [status for status, _ in answers].count(201) == 1, external_id
        assert len({meeting for _, meeting in answers}) == 1, external_id


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_r_res_4_eight_threads_forty_keys(kind: str, tmp_path: Path) -> None:
    """R-RES-4: 8 threads on 40 keys: one 201 and one meeting per key, the same for everyone."""
    if kind == "memory":
        repository: MeetingRepository = InMemoryMeetingRepository()
    else:
        repository = SqliteMeetingRepository(tmp_path / "m.sqlite3")
    barrier = threading.Barrier(8)
    results: list[Results] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = race(repository, index, barrier)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    check([r for rs in results for r in rs], 8)
    assert len(repository) == len(KEYS)  # type: ignore[arg-type]


def _process_racer(path: str, seed: int, barrier: object, queue: object) -> None:
    with SqliteMeetingRepository(path) as repository:
        queue.put(race(repository, seed, barrier))  # type: ignore[attr-defined]


def test_r_res_4_four_processes_share_one_file(tmp_path: Path) -> None:
    """R-RES-4: 4 processes on one SQLite file: one 201 and one meeting per key."""
    path = str(tmp_path / "m.sqlite3")
    SqliteMeetingRepository(path).close()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    queue = context.Queue()
    processes = [
        context.Process(target=_process_racer, args=(path, seed, barrier, queue))
        for seed in range(4)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    check([r for rs in results for r in rs], 4)
    with SqliteMeetingRepository(path) as repository:
        assert len(repository) == len(KEYS)


WRITER = """
import sys
from meeting_rules import Instant, Organizer, SeededIdFactory, SteppingClock, create_or_get
from meeting_rules.adapters import SqliteMeetingRepository
from meeting_rules.graph_json import dumps_meeting, parse_create_or_get

repository = SqliteMeetingRepository(sys.argv[1])
ids, clock = SeededIdFactory(1), SteppingClock(Instant.parse("2020-01-01T00:00:00.1234567Z"))
organizer = Organizer(tenant_id="t", user_id="o")
n = 0
while True:
    request = parse_create_or_get({"externalId": f"k{n}", "subject": "s" * (n % 500)})
    outcome = create_or_get(
        request, organizer=organizer, repository=repository, clock=clock, ids=ids
    )
    sys.stdout.buffer.write(f"k{n}\\t".encode() + dumps_meeting(outcome.meeting) + b"\\n")
    sys.stdout.buffer.flush()
    n += 1
"""


def test_r_res_5_writer_killed_mid_stream(tmp_path: Path) -> None:
    """R-RES-5: SIGKILL in a stream of creates leaves a sound file holding every returned create."""
    path = tmp_path / "m.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, cwd=ROOT
    )
    assert writer.stdout is not None
    returned: dict[str, bytes] = {}
    for line in writer.stdout:
        key, _, meeting = line.rstrip(b"\n").partition(b"\t")
        returned[key.decode()] = meeting
        if len(returned) == 150:
            writer.send_signal(signal.SIGKILL)
            break
    writer.wait(timeout=30)
    writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    with SqliteMeetingRepository(path) as repository:
        stored = len(repository)
        assert stored >= len(returned)
        for external_id, meeting in returned.items():
            back = repository.get(
                MeetingKey(tenant_id="t", organizer_id="o", external_id=external_id)
            )
            assert back is not None, external_id
            assert dumps_meeting(back) == meeting


def _opener(path: str, seed: int, barrier: object, queue: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        with SqliteMeetingRepository(path) as repository:
            request = parse_create_or_get({"externalId": f"opener-{seed}"})
            outcome = create_or_get(
                request,
                organizer=ORGANIZER,
                repository=repository,
                clock=SteppingClock(Instant.parse("2020-01-01T00:00:00Z")),
                ids=SeededIdFactory(seed),
            )
        queue.put(outcome.status)  # type: ignore[attr-defined]
    except Exception as error:
        queue.put(repr(error))  # type: ignore[attr-defined]


def test_processes_opening_a_new_store_at_once(tmp_path: Path) -> None:
    """Six processes opening one new file at the same moment all get a working store."""
    path = str(tmp_path / "new.sqlite3")
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(6), context.Queue()
    processes = [
        context.Process(target=_opener, args=(path, seed, barrier, queue)) for seed in range(6)
    ]
    for process in processes:
        process.start()
    answers = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert answers == [201] * 6
    with SqliteMeetingRepository(path) as repository:
        assert len(repository) == 6
