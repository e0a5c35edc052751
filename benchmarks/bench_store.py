"""Workloads of the stores and of the HTTP exchange, timed by ``benchmarks.bench_core``'s machinery.

- ``s.mem.*``, ``s.sql.*``: ``create_or_get`` on ``InMemoryMeetingRepository`` and on
  ``SqliteMeetingRepository`` (a temporary file: WAL, ``synchronous=FULL``), each beside a floor.
- ``h.200``: ``meeting_rules.http.handle`` answering a delegated createOrGet with 200.

Every row is also timed against the rules-core floor, ``json.loads`` of seed request 1 (column
``vs loads``), so that it compares with workload a.

Creates never run on an ever-growing store. Before every timed run of a create side (each round
and each calibration step) that side gets a fresh store holding the same 1,000 meetings, and the
run's requests, each with a new externalId, are built untimed. A store so grows by one round's
creates at most, alike for subject and floor.

The 100,000-meeting SQLite store is built once per run, by copying the stored rows of the 1,000
base meetings, externalId rewritten, into a repository file in one transaction (~2-3 s); through
the repository it would take 100,000 fsynced transactions. The in-memory one is made for its row
and dropped after it, so that no other row runs beside 100,000 live meetings.
"""

from __future__ import annotations

import functools
import itertools
import json
import multiprocessing
import random
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, suppress
from functools import cached_property
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import attrs

from benchmarks.harness import Call, Prepare, Workload
from meeting_rules import (
    CreateOrGetOutcome,
    CreateOrGetRequest,
    FixedClock,
    Instant,
    MeetingKey,
    OnlineMeeting,
    Organizer,
    SeededIdFactory,
    create_or_get,
)
from meeting_rules.adapters import InMemoryMeetingRepository, SqliteMeetingRepository
from meeting_rules.graph_json import meeting_to_storage, parse_create_or_get
from meeting_rules.http import DELEGATED_SCOPE, HttpRequest, InMemoryDirectory, handle
from meeting_rules.ports import MeetingRepository

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
USER = "8b081ef6-4792-4def-b2c9-c363a1bf41d5"
ORGANIZER = Organizer(tenant_id=TENANT, user_id=USER, upn="alice@contoso.com")
CLOCK = FixedClock(Instant.parse("2020-02-06T00:00:00Z"))
BASE = 1_000  # meetings in the store every workload starts from: externalIds k0 ... k999
LARGE = 100_000  # meetings in the large store: k0 ... k99999
GET_KEYS = 4_096  # externalIds a get side cycles through, drawn at random from its store
PROCESSES = 2
PER_CALL = 64  # creates of each process in one call of the two-process workload
THREADS = 8
PER_THREAD = 16  # creates of each thread in one call of the eight-thread workload
BUSY_TIMEOUT = 30.0  # seconds; the repository's default

Key = tuple[str, str, str]

# The floor's own table, written out here rather than taken from the repository, in the same
# shape: three TEXT key columns with a unique index on them, the meeting as a BLOB, its id in a
# TEXT column with an index of its own (the floor stores the externalId there: ``?3``).
BARE_SCHEMA = """
CREATE TABLE meetings (
    tenant_id    TEXT NOT NULL,
    organizer_id TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    meeting      BLOB NOT NULL,
    meeting_id   TEXT
);
CREATE UNIQUE INDEX meetings_key ON meetings (tenant_id, organizer_id, external_id);
CREATE INDEX meetings_id ON meetings (tenant_id, organizer_id, meeting_id);
"""
BARE_INSERT = (
    "INSERT INTO meetings (tenant_id, organizer_id, external_id, meeting, meeting_id) "
    "VALUES (?1, ?2, ?3, ?4, ?3) ON CONFLICT DO NOTHING"
)
BARE_SELECT = (
    "SELECT meeting FROM meetings WHERE tenant_id = ? AND organizer_id = ? AND external_id = ?"
)


class NotAsClaimed(Exception):
    """A store workload did not do what its title says (a create that got, a get that missed)."""


def external_id(number: int) -> str:
    """The externalId of meeting ``number``."""
    return f"k{number}"


def key_of(number: int) -> Key:
    """The store key of meeting ``number`` as the bare floor binds it."""
    return (TENANT, USER, external_id(number))


def meeting_key(number: int) -> MeetingKey:
    """The store key of meeting ``number``."""
    return MeetingKey(tenant_id=TENANT, organizer_id=USER, external_id=external_id(number))


def requests_for(request: CreateOrGetRequest, numbers: Iterable[int]) -> list[CreateOrGetRequest]:
    """Seed request 1 with externalId ``k{n}`` for each number."""
    return [attrs.evolve(request, external_id=external_id(n)) for n in numbers]


def create_or_get_on(
    repository: MeetingRepository, seed: int
) -> Callable[[CreateOrGetRequest], CreateOrGetOutcome]:
    """``create_or_get`` with everything but the request bound: organizer, store, clock, IDs."""
    return functools.partial(
        create_or_get,
        organizer=ORGANIZER,
        repository=repository,
        clock=CLOCK,
        ids=SeededIdFactory(seed),
    )


# --- the bare-sqlite floor ----------------------------------------------------------------------


def bare_connect(path: Path | str) -> sqlite3.Connection:
    """A connection with the repository's settings: autocommit, WAL, ``synchronous=FULL``."""
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
    )
    connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    return connection


def bare_add(connection: sqlite3.Connection, key: Key, body: bytes) -> bool:
    """Insert if absent and read in one ``BEGIN IMMEDIATE`` transaction; True if inserted."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        created = connection.execute(BARE_INSERT, (*key, body)).rowcount == 1
        row = None if created else connection.execute(BARE_SELECT, key).fetchone()
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return created or row is None


def write_rows(path: Path, rows: Iterable[tuple[str, str, str, bytes]], schema: str = "") -> None:
    """Bulk-load rows in one transaction (untimed setup), leaving the file in WAL mode."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        if schema:
            connection.executescript(schema)
        connection.execute("PRAGMA journal_mode = DELETE")  # a bulk load in WAL is 2.5x slower
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -1000000")
        connection.execute("BEGIN")
        connection.executemany(BARE_INSERT, rows)
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode = WAL")
    finally:
        connection.close()


def count_rows(path: Path) -> int:
    """Rows in a store file."""
    connection = sqlite3.connect(path)
    try:
        found: int = connection.execute("SELECT count(*) FROM meetings").fetchone()[0]
    finally:
        connection.close()
    return found


class FileCopies:
    """A fresh copy of a store file for each timed run; the previous copy is closed and deleted.

    Every copy of the run has a name of its own, so that a workload made again (to measure it
    again) never copies over a file that an earlier one still has open.
    """

    _numbers = itertools.count()

    def __init__(self, base: Path, name: str) -> None:
        self._base = base
        self._name = name
        self._current: Path | None = None
        self._closers: list[Callable[[], object]] = []
        self.current_path = base

    def fresh(self) -> Path:
        """Close and delete the last copy, then copy the base file anew."""
        self.close()
        path = self._base.with_name(f"{self._name}-{next(FileCopies._numbers)}.sqlite3")
        shutil.copyfile(self._base, path)
        self._current = self.current_path = path
        return path

    def repository(self) -> SqliteMeetingRepository:
        """A repository on a fresh copy."""
        repository = SqliteMeetingRepository(self.fresh())
        self._closers.append(repository.close)
        return repository

    def closers(self, *closers: Callable[[], object]) -> None:
        """Close these too with the last copy."""
        self._closers.extend(closers)

    def connection(self) -> sqlite3.Connection:
        """A bare connection to a fresh copy."""
        connection = bare_connect(self.fresh())
        self._closers.append(connection.close)
        return connection

    def close(self) -> None:
        """Close what was opened on the last copy and delete it."""
        for close in self._closers:
            close()
        self._closers.clear()
        if self._current is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._current}{suffix}").unlink(missing_ok=True)
        self._current = None


# --- subjects and floors ------------------------------------------------------------------------


Store = InMemoryMeetingRepository | SqliteMeetingRepository


def nothing() -> None:
    """Do nothing (a step or close before anything is open)."""


class Creates:
    """Creates of seed request 1 with new externalIds (k1000, k1001, ...) into a fresh store."""

    def __init__(self, fresh_store: Callable[[], Store], request: CreateOrGetRequest) -> None:
        self._fresh_store = fresh_store
        self._request = request
        self._next: Callable[[], CreateOrGetRequest] = iter(()).__next__
        self.repository: Store = InMemoryMeetingRepository()
        self._call = create_or_get_on(self.repository, 1)

    def prepare(self, loops: int) -> None:
        """A fresh store of the base meetings and ``loops`` requests (untimed)."""
        requests = requests_for(self._request, range(BASE, BASE + loops))
        self.repository = self._fresh_store()
        self._call = create_or_get_on(self.repository, 1)
        self._next = iter(requests).__next__

    def __call__(self, _: object) -> CreateOrGetOutcome:
        return self._call(self._next())


class BareCreates:
    """The bare-sqlite floor of creates: new keys into a fresh copy of the bare base file."""

    def __init__(self, copies: FileCopies, body: bytes) -> None:
        self._copies = copies
        self._body = body
        self._connection: sqlite3.Connection | None = None
        self._next: Callable[[], Key] = iter(()).__next__

    def prepare(self, loops: int) -> None:
        """A fresh copy of the bare base file and ``loops`` keys (untimed)."""
        keys = [key_of(n) for n in range(BASE, BASE + loops)]
        self._connection = self._copies.connection()
        self._next = iter(keys).__next__

    def __call__(self, _: object) -> bool:
        assert self._connection is not None
        return bare_add(self._connection, self._next(), self._body)


class ThreadCreates:
    """``THREADS`` threads each doing ``PER_THREAD`` creates at once, into one fresh copy: through
    the store (``subject``: its writers share transactions), or as bare transactions, one a
    create, taken in turn under a lock (``floor``: one fsync a create, as without group commit)."""

    def __init__(self, copies: FileCopies, body: bytes, request: CreateOrGetRequest, *, bare: bool):
        self._copies = copies
        self._body = body
        self._request = request
        self._bare = bare
        self._numbers: Iterator[int] = iter(())
        self._steps: list[Callable[[int], object]] = []

    def prepare(self, loops: int) -> None:
        """A fresh copy, the numbers of ``loops`` calls' creates and each thread's step."""
        self._numbers = iter(range(BASE, BASE + loops * THREADS * PER_THREAD))
        if self._bare:
            path, turn = self._copies.fresh(), threading.Lock()
            connections = [bare_connect(path) for _ in range(THREADS)]
            self._copies.closers(*(c.close for c in connections))

            def bare_step(connection: sqlite3.Connection, number: int) -> object:
                with turn:
                    return bare_add(connection, key_of(number), self._body)

            self._steps = [functools.partial(bare_step, c) for c in connections]
        else:
            call = create_or_get_on(self._copies.repository(), 1)
            step = functools.partial(_create_one, call, self._request)
            self._steps = [step] * THREADS

    def __call__(self, _: object) -> None:
        batches = [[next(self._numbers) for _ in range(PER_THREAD)] for _ in range(THREADS)]

        def run(step: Callable[[int], object], numbers: list[int]) -> None:
            for number in numbers:
                step(number)

        threads = [
            threading.Thread(target=run, args=pair)
            for pair in zip(self._steps, batches, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _create_one(
    call: Callable[[CreateOrGetRequest], CreateOrGetOutcome], request: CreateOrGetRequest, n: int
) -> object:
    return call(attrs.evolve(request, external_id=external_id(n)))


class Gets:
    """Gets: ``create_or_get`` with the externalIds of stored meetings, in a fixed random order."""

    def __init__(self, repository: MeetingRepository, requests: list[CreateOrGetRequest]) -> None:
        self._call = create_or_get_on(repository, 1)
        self._next = itertools.cycle(requests).__next__

    def __call__(self, _: object) -> CreateOrGetOutcome:
        return self._call(self._next())


class BareGets:
    """The bare-sqlite floor of gets: an indexed ``SELECT`` of the body, then ``json.loads``."""

    def __init__(self, connection: sqlite3.Connection, keys: list[Key]) -> None:
        self._execute = connection.execute
        self._next = itertools.cycle(keys).__next__

    def __call__(self, _: object) -> Any:
        return json.loads(self._execute(BARE_SELECT, self._next()).fetchone()[0])


# --- two processes creating into one file -------------------------------------------------------


def worker_main(pipe: Connection, index: int, request_body: bytes) -> None:
    """A spawned process: opens a store (``subject``) or a bare connection (``floor``) and creates
    on command; every command is answered ``("ok",)`` or ``("error", text)``."""
    request = parse_create_or_get(request_body)
    step: Callable[[], object] = nothing
    close: Callable[[], object] = nothing
    while True:
        message = pipe.recv()
        try:
            if message[0] == "exit":
                close()
                return
            if message[0] in ("open", "close"):
                close()
                step = close = nothing
            if message[0] == "open":
                kind, path, count, body = message[1:]
                numbers = range(BASE + index, BASE + index + PROCESSES * count, PROCESSES)
                if kind == "subject":
                    repository = SqliteMeetingRepository(path, busy_timeout=BUSY_TIMEOUT)
                    call = create_or_get_on(repository, 10 + index)
                    next_request = iter(requests_for(request, numbers)).__next__
                    step = functools.partial(_create_next, call, next_request)
                    close = repository.close
                else:
                    connection = bare_connect(path)
                    next_key = iter([key_of(n) for n in numbers]).__next__
                    step = functools.partial(_bare_add_next, connection, next_key, body)
                    close = connection.close
            elif message[0] == "run":
                for _ in range(message[1]):
                    step()
            pipe.send(("ok",))
        except Exception as error:
            pipe.send(("error", f"worker {index}: {type(error).__name__}: {error}"))


def _create_next(
    call: Callable[[CreateOrGetRequest], CreateOrGetOutcome],
    next_request: Callable[[], CreateOrGetRequest],
) -> CreateOrGetOutcome:
    return call(next_request())


def _bare_add_next(
    connection: sqlite3.Connection, next_key: Callable[[], Key], body: bytes
) -> bool:
    return bare_add(connection, next_key(), body)


class Workers:
    """Spawned processes that create on command (kept for the whole run)."""

    def __init__(self, count: int, request_body: bytes) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._processes: list[Any] = []
        for index in range(count):
            parent, child = context.Pipe()
            process = context.Process(
                target=worker_main,
                args=(child, index, request_body),
                name=f"bench-store-worker-{index}",
                daemon=True,
            )
            process.start()
            child.close()
            self._pipes.append(parent)
            self._processes.append(process)
        self.ask(("ping",))

    def ask(self, message: tuple[Any, ...]) -> None:
        """Send every worker ``message`` and wait until all have done it."""
        for pipe in self._pipes:
            pipe.send(message)
        replies = [pipe.recv() for pipe in self._pipes]
        failures = [reply[1] for reply in replies if reply[0] != "ok"]
        if failures:
            raise NotAsClaimed("; ".join(failures))

    def stop(self) -> None:
        """Ask the workers to exit; terminate any that does not (only these processes)."""
        for pipe in self._pipes:
            with suppress(OSError):
                pipe.send(("exit",))
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()


class ProcessCreates:
    """``PROCESSES`` workers each doing ``PER_CALL`` creates into one fresh copy of a store file."""

    def __init__(self, workers: Workers, kind: str, copies: FileCopies, body: bytes) -> None:
        self._workers = workers
        self._kind = kind
        self._copies = copies
        self._body = body

    def prepare(self, loops: int) -> None:
        """Every worker closes the last copy and opens a fresh one with its requests (untimed)."""
        self._workers.ask(("close",))
        path = self._copies.fresh()
        self._workers.ask(("open", self._kind, str(path), loops * PER_CALL, self._body))

    def __call__(self, _: object) -> None:
        self._workers.ask(("run", PER_CALL))


# --- the fixture and the workloads --------------------------------------------------------------


def row(
    key: str,
    title: str,
    subject: Call,
    floor_title: str,
    floor: Call,
    *,
    request: bytes,
    floor_arg: Any = None,
    floor_size: int | None = None,
    subject_prepare: Prepare | None = None,
    floor_prepare: Prepare | None = None,
    ops_per_call: int = 1,
) -> Workload:
    """A store or HTTP workload: input seed request 1, core floor ``json.loads`` of it."""
    return Workload(
        key=key,
        title=title,
        group="http" if key.startswith("h.") else "store",
        subject=subject,
        arg=None,
        floor_title=floor_title,
        floor=floor,
        floor_arg=floor_arg,
        size=len(request),
        floor_size=len(request) if floor_size is None else floor_size,
        subject_prepare=subject_prepare,
        floor_prepare=floor_prepare,
        ops_per_call=ops_per_call,
        core_arg=request,
    )


class StoreBench:
    """The stores and requests of the ``s.*`` and ``h.*`` workloads, made on first use."""

    def __init__(self, request_body: bytes, stack: ExitStack) -> None:
        self.body = request_body
        self.request = parse_create_or_get(request_body)
        self.stack = stack
        self.info: dict[str, Any] = {
            "base_meetings": BASE,
            "large_meetings": LARGE,
            "get_keys": GET_KEYS,
            "processes": PROCESSES,
            "creates_per_process_per_call": PER_CALL,
        }

    # --- stores ---------------------------------------------------------------------------

    @cached_property
    def directory(self) -> Path:
        """A temporary directory for the store files (its file system decides what fsync costs)."""
        made = tempfile.TemporaryDirectory(prefix="meeting-rules-bench-")
        path = Path(self.stack.enter_context(made))
        self.info["store_directory"] = str(path.parent)
        return path

    @cached_property
    def meetings(self) -> list[OnlineMeeting]:
        """The base meetings k0 ... k999, made by ``create_or_get`` (seeded IDs)."""
        call = create_or_get_on(InMemoryMeetingRepository(), 1)
        return [call(request).meeting for request in requests_for(self.request, range(BASE))]

    @cached_property
    def bodies(self) -> list[bytes]:
        """The base meetings as the SQLite store keeps them (``meeting_to_storage``)."""
        bodies = [meeting_to_storage(meeting) for meeting in self.meetings]
        for number, body in enumerate(bodies):
            if body.count(self._id_member(number)) != 1:
                raise NotAsClaimed(f"stored meeting {number} does not hold its externalId once")
        self.info["stored_meeting_bytes"] = len(bodies[0])
        return bodies

    @staticmethod
    def _id_member(number: int) -> bytes:
        return b'"externalId":"%s"' % external_id(number).encode()

    def stored_body(self, number: int) -> bytes:
        """Meeting ``number``'s stored row: a base meeting's, its externalId rewritten."""
        body = self.bodies[number % BASE]
        if number < BASE:
            return body
        return body.replace(self._id_member(number % BASE), self._id_member(number), 1)

    def stored_meeting(self, number: int) -> OnlineMeeting:
        """Meeting ``number``: a base meeting, its externalId changed."""
        meeting = self.meetings[number % BASE]
        return meeting if number < BASE else attrs.evolve(meeting, external_id=external_id(number))

    def rows(self, size: int) -> Iterator[tuple[str, str, str, bytes]]:
        """The rows of a store of ``size`` meetings, in key order."""
        for number in sorted(range(size), key=external_id):
            yield (*key_of(number), self.stored_body(number))

    def memory_store(self, size: int) -> InMemoryMeetingRepository:
        """An in-memory store of meetings k0 ... k{size-1}."""
        store = InMemoryMeetingRepository()
        for number in range(size):
            store.add_if_absent(meeting_key(number), self.stored_meeting(number))
        return store

    def sqlite_store(self, name: str, size: int) -> Path:
        """A repository file holding ``size`` meetings, by copying their stored rows into it."""
        path = self.directory / f"{name}.sqlite3"
        SqliteMeetingRepository(path).close()  # the repository makes its schema and WAL
        write_rows(path, self.rows(size))
        with SqliteMeetingRepository(path) as store:
            for number in (0, size // 2, size - 1):
                if store.get(meeting_key(number)) != self.stored_meeting(number):
                    raise NotAsClaimed(f"{path.name}: meeting {number} does not read back")
            if len(store) != size:
                raise NotAsClaimed(f"{path.name} holds {len(store)} meetings, not {size}")
        return path

    @cached_property
    def sqlite_base(self) -> Path:
        """The repository file of the base meetings."""
        return self.sqlite_store("base", BASE)

    @cached_property
    def bare_base(self) -> Path:
        """The bare floor's file (its own table) holding the same rows as ``sqlite_base``."""
        path = self.directory / "bare-base.sqlite3"
        write_rows(path, self.rows(BASE), BARE_SCHEMA)
        return path

    @cached_property
    def sqlite_large(self) -> Path:
        """The repository file of 100,000 meetings, built once per run."""
        start = time.perf_counter()
        path = self.sqlite_store("large", LARGE)
        self.info["large_sqlite_build"] = (
            "rows of the 1,000 stored base meetings copied with their externalId rewritten, "
            "in one transaction"
        )
        self.info["large_sqlite_build_seconds"] = round(time.perf_counter() - start, 2)
        self.info["large_sqlite_file_bytes"] = path.stat().st_size
        return path

    @cached_property
    def workers(self) -> Workers:
        """The processes of ``s.sql.create2p``, stopped at the end of the run."""
        workers = Workers(PROCESSES, self.body)
        self.stack.callback(workers.stop)
        return workers

    def repository_on(self, path: Path) -> SqliteMeetingRepository:
        """A repository on ``path``, closed at the end of the run."""
        repository = SqliteMeetingRepository(path)
        self.stack.callback(repository.close)
        return repository

    def connection_on(self, path: Path) -> sqlite3.Connection:
        """A bare connection to ``path``, closed at the end of the run."""
        connection = bare_connect(path)
        self.stack.callback(connection.close)
        return connection

    def copies(self, base: Path, name: str) -> FileCopies:
        """Fresh copies of ``base``, the last one deleted at the end of the run."""
        copies = FileCopies(base, name)
        self.stack.callback(copies.close)
        return copies

    def numbers(self, size: int) -> list[int]:
        """The meetings a get side asks for: ``GET_KEYS`` drawn at random from ``size``."""
        return random.Random(size).choices(range(size), k=GET_KEYS)

    # --- checks ---------------------------------------------------------------------------

    @staticmethod
    def check_creates(creates: Creates) -> None:
        creates.prepare(2)
        if not creates(None).created or len(creates.repository) != BASE + 1:
            raise NotAsClaimed("a create did not create")

    @staticmethod
    def check_gets(gets: Gets) -> None:
        for _ in range(3):
            outcome = gets(None)
            if outcome.created or outcome.mismatches:
                raise NotAsClaimed(f"a get created or differed: {outcome.mismatches}")

    # --- workloads ------------------------------------------------------------------------

    def mem_create(self) -> Workload:
        creates = Creates(lambda: self.memory_store(BASE), self.request)
        self.check_creates(creates)
        return row(
            "s.mem.create",
            "create_or_get create, in memory",
            creates,
            "json.loads",
            json.loads,
            request=self.body,
            floor_arg=self.body,
            subject_prepare=creates.prepare,
        )

    def mem_get(self) -> Workload:
        gets = Gets(self.memory_store(BASE), requests_for(self.request, self.numbers(BASE)))
        self.check_gets(gets)
        return row(
            "s.mem.get",
            "create_or_get get, in memory",
            gets,
            "json.loads",
            json.loads,
            request=self.body,
            floor_arg=self.body,
        )

    def mem_get_large(self) -> Workload:
        # Made anew for this row and dropped with it: no other row runs beside 100,000 live
        # meetings (a full collection takes ~5x longer with them).
        large = Gets(self.memory_store(LARGE), requests_for(self.request, self.numbers(LARGE)))
        small = Gets(self.memory_store(BASE), requests_for(self.request, self.numbers(BASE)))
        self.check_gets(large)
        return row(
            "s.mem.get100k",
            "get, in memory, 100,000 stored",
            large,
            "get in memory, 1,000 stored",
            small,
            request=self.body,
        )

    def sql_create(self) -> Workload:
        creates = Creates(self.copies(self.sqlite_base, "create").repository, self.request)
        self.check_creates(creates)
        body = self.stored_body(BASE)
        floor = BareCreates(self.copies(self.bare_base, "bare-create"), body)
        floor.prepare(1)
        if not floor(None):
            raise NotAsClaimed("the bare insert did not insert")
        return row(
            "s.sql.create",
            "create_or_get create, SQLite",
            creates,
            "bare insert txn",
            floor,
            request=self.body,
            floor_size=len(body),
            subject_prepare=creates.prepare,
            floor_prepare=floor.prepare,
        )

    def sql_create_processes(self) -> Workload:
        body = self.stored_body(BASE)
        subject_copies = self.copies(self.sqlite_base, "create2p")
        floor_copies = self.copies(self.bare_base, "bare-create2p")
        subject = ProcessCreates(self.workers, "subject", subject_copies, body)
        floor = ProcessCreates(self.workers, "floor", floor_copies, body)
        for side, copies in ((subject, subject_copies), (floor, floor_copies)):
            side.prepare(1)
            side(None)
            if count_rows(copies.current_path) != BASE + PROCESSES * PER_CALL:
                raise NotAsClaimed("the processes did not all create")
        return self.many_creates_row(
            ("s.sql.create2p", f"create_or_get create, SQLite, {PROCESSES} processes", subject),
            (f"bare insert txn, {PROCESSES} processes", floor),
            body,
            PROCESSES * PER_CALL,
        )

    def sql_create_threads(self) -> Workload:
        body = self.stored_body(BASE)
        subject = ThreadCreates(
            self.copies(self.sqlite_base, "create8t"), body, self.request, bare=False
        )
        floor = ThreadCreates(
            self.copies(self.bare_base, "bare-create8t"), body, self.request, bare=True
        )
        for side in (subject, floor):
            side.prepare(1)
            side(None)
        return self.many_creates_row(
            ("s.sql.create8t", f"create_or_get create, SQLite, {THREADS} threads", subject),
            (f"bare insert txn each, {THREADS} threads in turn", floor),
            body,
            THREADS * PER_THREAD,
        )

    def many_creates_row(
        self,
        subject: tuple[str, str, ProcessCreates | ThreadCreates],
        floor: tuple[str, ProcessCreates | ThreadCreates],
        body: bytes,
        ops_per_call: int,
    ) -> Workload:
        """A row of many creates a call, each side with a fresh copy before each run."""
        (key, title, subject_call), (floor_title, floor_call) = subject, floor
        return row(
            key,
            title,
            subject_call,
            floor_title,
            floor_call,
            request=self.body,
            floor_size=len(body),
            subject_prepare=subject_call.prepare,
            floor_prepare=floor_call.prepare,
            ops_per_call=ops_per_call,
        )

    def sql_get(self) -> Workload:
        numbers = self.numbers(BASE)
        gets = Gets(self.repository_on(self.sqlite_base), requests_for(self.request, numbers))
        self.check_gets(gets)
        floor = BareGets(self.connection_on(self.bare_base), [key_of(n) for n in numbers])
        return row(
            "s.sql.get",
            "create_or_get get, SQLite",
            gets,
            "bare select + loads",
            floor,
            request=self.body,
            floor_size=len(self.bodies[0]),
        )

    def sql_get_large(self) -> Workload:
        large = Gets(
            self.repository_on(self.sqlite_large),
            requests_for(self.request, self.numbers(LARGE)),
        )
        self.check_gets(large)
        small = Gets(
            self.repository_on(self.sqlite_base), requests_for(self.request, self.numbers(BASE))
        )
        return row(
            "s.sql.get100k",
            "get, SQLite, 100,000 stored",
            large,
            "get SQLite, 1,000 stored",
            small,
            request=self.body,
        )

    def sql_get_large_bare(self) -> Workload:
        large = BareGets(
            self.connection_on(self.sqlite_large), [key_of(n) for n in self.numbers(LARGE)]
        )
        small = BareGets(
            self.connection_on(self.sqlite_base), [key_of(n) for n in self.numbers(BASE)]
        )
        return row(
            "s.sql.get100k+bare",
            "bare select + loads, 100,000 stored",
            large,
            "bare select, 1,000 stored",
            small,
            request=self.body,
            floor_size=len(self.bodies[0]),
        )

    def http_get(self) -> Workload:
        directory = InMemoryDirectory()
        directory.add_delegated_user(
            token="alice",
            tenant_id=TENANT,
            user_id=USER,
            upn=ORGANIZER.upn,
            scopes={DELEGATED_SCOPE, "User.Read"},
        )
        exchange = functools.partial(
            handle,
            directory=directory,
            repository=self.memory_store(BASE),
            clock=CLOCK,
            ids=SeededIdFactory(3),
        )
        request = HttpRequest(
            method="POST",
            path="/beta/me/onlineMeetings/createOrGet",
            headers={"Content-Type": "application/json", "Authorization": "Bearer alice"},
            body=self.body,
        )
        statuses = [exchange(request).status for _ in range(3)]
        if statuses != [201, 200, 200]:
            raise NotAsClaimed(f"handle answered {statuses}, not 201 then 200")
        return Workload(
            key="h.200",
            title="handle POST /me createOrGet, 200",
            group="http",
            subject=exchange,
            arg=request,
            floor_title="json.loads",
            floor=json.loads,
            floor_arg=self.body,
            size=len(self.body),
            floor_size=len(self.body),
            core_arg=self.body,
        )

    def builders(self, wanted: Callable[[str], bool]) -> list[Callable[[], Workload]]:
        """Makers of the store and HTTP workloads whose key is ``wanted``.

        Each makes and checks its workload when called, just before it is measured; what it makes
        lives as long as the workload (files, processes and connections until the run ends).
        """
        builders: list[tuple[str, Callable[[], Workload]]] = [
            ("s.mem.create", self.mem_create),
            ("s.mem.get", self.mem_get),
            ("s.mem.get100k", self.mem_get_large),
            ("s.sql.create", self.sql_create),
            ("s.sql.create2p", self.sql_create_processes),
            ("s.sql.create8t", self.sql_create_threads),
            ("s.sql.get", self.sql_get),
            ("s.sql.get100k", self.sql_get_large),
            ("s.sql.get100k+bare", self.sql_get_large_bare),
            ("h.200", self.http_get),
        ]
        return [build for key, build in builders if wanted(key)]
