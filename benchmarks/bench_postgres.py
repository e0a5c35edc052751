"""The PostgreSQL store (``p.*``) on a server the benchmark starts (tests/postgres.py: ``initdb``
and ``pg_ctl`` on a temporary directory and a loopback port; server defaults, ``fsync`` on).

- ``p.create``: ``add_if_absent`` of a new key against a bare psycopg autocommit
  ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (and a ``SELECT`` when nothing was inserted) of
  the same bytes into a comparable table of the same database.
- ``p.get``: ``get`` of a stored key (cycling through 1,000) against a bare ``SELECT`` of the
  row plus ``json.loads`` of it.
- ``p.get1m``: ``get`` with 1,000,000 meetings stored (100,000 with ``--quick``; rows made by one
  ``INSERT ... SELECT`` and then ``ANALYZE``d) against ``get`` with 1,000; the plan of the
  statement is printed.
- ``p.writers``: total creates/s and p99 latency with 1, 2, 4 and 8 writer processes, each with
  a store of its own, for a few seconds each (a curve, not a ratio).
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.harness import Workload
from meeting_rules import FixedClock, Instant, Organizer, SeededIdFactory, create_or_get
from meeting_rules.graph_json import meeting_to_storage, parse_create_or_get

GROUP = "postgres"
ORGANIZER = Organizer(tenant_id="t", user_id="o")
KEYS = ("p.create", "p.get", "p.get1m")


@contextmanager
def server() -> Iterator[Any]:
    from tests.postgres import PostgresServer

    started = PostgresServer().start()
    try:
        yield started
    finally:
        started.stop()


def _meeting(external_id: str, seed: int = 1) -> Any:
    from meeting_rules.adapters import InMemoryMeetingRepository

    request = parse_create_or_get({"externalId": external_id, "subject": "benchmark"})
    clock = FixedClock(Instant.parse("2020-01-01T00:00:00Z"))
    return create_or_get(request, organizer=ORGANIZER, repository=InMemoryMeetingRepository(),
                         clock=clock, ids=SeededIdFactory(seed)).meeting  # fmt: skip


def _fill(conninfo: str, schema: str, count: int) -> None:
    import psycopg

    data = meeting_to_storage(_meeting("template"))
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(
            f"INSERT INTO {schema}.meetings (tenant_id, organizer_id, external_id, meeting_id, "
            "meeting) SELECT 't', 'o', 'k' || g, 'id' || g, %s FROM generate_series(0, %s) g",
            (data, count - 1),
        )
        connection.execute(f"ANALYZE {schema}.meetings")


class PostgresBench:
    """The ``p.*`` workloads on one server; ``close()`` stops it."""

    def __init__(self, conninfo: str, quick: bool) -> None:
        import psycopg

        from meeting_rules.adapters.postgres import PostgresMeetingRepository

        self.conninfo = conninfo
        self.quick = quick
        self.large = 100_000 if quick else 1_000_000
        self.store = PostgresMeetingRepository(conninfo, schema="bench_small", max_size=2)
        _fill(conninfo, "bench_small", 1_000)
        self.bare = psycopg.connect(conninfo, autocommit=True)
        self.bare.execute(
            "CREATE TABLE bare (tenant_id text, organizer_id text, external_id text, "
            "meeting_id text, meeting bytea NOT NULL, PRIMARY KEY (tenant_id, organizer_id, "
            "external_id))"
        )
        self.data = meeting_to_storage(_meeting("x"))
        self.counter = itertools.count()
        self.closing: list[Any] = []

    def close(self) -> None:
        for store in (self.store, *self.closing):
            store.close()
        self.bare.close()

    def create(self) -> Workload:
        meeting = _meeting("x")
        counter = self.counter

        def subject(_: object) -> object:
            key = _key(f"c{next(counter)}")
            return self.store.add_if_absent(key, meeting)

        def floor(_: object) -> object:
            values = ("t", "o", f"b{next(counter)}", "id", self.data)
            row = self.bare.execute(
                "INSERT INTO bare VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING "
                "RETURNING true",
                values,
            ).fetchone()
            if row is None:
                self.bare.execute(
                    "SELECT meeting FROM bare WHERE tenant_id = %s AND organizer_id = %s "
                    "AND external_id = %s",
                    values[:3],
                ).fetchone()
            return row

        created, was_new = self.store.add_if_absent(_key("check"), meeting)
        if not was_new or created != meeting:
            raise AssertionError("p.create: the first add did not create")
        return _workload("p.create", "add_if_absent, PostgreSQL", subject,
                         "bare INSERT ON CONFLICT", floor, len(self.data))  # fmt: skip

    def get(self, store: Any | None = None, key: str = "p.get") -> Workload:
        found = store or self.store
        keys = itertools.cycle([_key(f"k{n}") for n in range(1_000)])
        if found.get(_key("k7")) is None:
            raise AssertionError(f"{key}: a stored meeting was not found")
        for n in range(1_000):
            self.bare.execute(
                "INSERT INTO bare VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                ("t", "o", f"k{n}", "id", self.data),
            )

        def subject(_: object) -> object:
            return found.get(next(keys))

        def floor(_: object) -> object:
            k = next(keys)
            row = self.bare.execute(
                "SELECT meeting FROM bare WHERE tenant_id = %s AND organizer_id = %s "
                "AND external_id = %s",
                (k.tenant_id, k.organizer_id, k.external_id),
            ).fetchone()
            assert row is not None
            return json.loads(row[0])

        return _workload(key, "get, PostgreSQL", subject, "bare SELECT + json.loads", floor,
                         len(self.data))  # fmt: skip

    def get_large(self) -> tuple[Workload, str]:
        """Gets with many stored against gets with 1,000, and the plan of the get."""
        from meeting_rules.adapters.postgres import PostgresMeetingRepository

        large = PostgresMeetingRepository(self.conninfo, schema="bench_large", max_size=2)
        _fill(self.conninfo, "bench_large", self.large)
        many = itertools.cycle([_key(f"k{n}") for n in range(0, self.large, 997)])
        few = itertools.cycle([_key(f"k{n}") for n in range(1_000)])
        # The generic plan, as a prepared statement may use it, not a one-off plan of literals.
        self.bare.execute("SET plan_cache_mode = force_generic_plan")
        self.bare.execute(
            "PREPARE get_large (text, text, text) AS SELECT meeting FROM bench_large.meetings "
            "WHERE tenant_id = $1 AND organizer_id = $2 AND external_id = $3"
        )
        plan = "\n".join(
            row[0] for row in self.bare.execute("EXPLAIN EXECUTE get_large ('t', 'o', 'k123')")
        )
        self.bare.execute("RESET plan_cache_mode")
        self.closing.append(large)
        work = _workload(
            "p.get1m",
            f"get, {self.large:,} stored",
            lambda _: large.get(next(many)),
            "get, 1,000 stored",
            lambda _: self.store.get(next(few)),
            len(self.data),
        )
        return work, plan


def _key(external_id: str) -> Any:
    from meeting_rules import MeetingKey

    return MeetingKey(tenant_id="t", organizer_id="o", external_id=external_id)


def _workload(
    key: str, title: str, subject: Callable[[object], object], floor_title: str,
    floor: Callable[[object], object], size: int,
) -> Workload:  # fmt: skip
    return Workload(key=key, title=title, group=GROUP, subject=subject, arg=None,
                    floor_title=floor_title, floor=floor, floor_arg=None, size=size,
                    floor_size=size)  # fmt: skip


def _writer(conninfo: str, schema: str, seconds: float, barrier: Any, queue: Any) -> None:
    from meeting_rules.adapters.postgres import PostgresMeetingRepository

    meeting = _meeting("w")
    with PostgresMeetingRepository(conninfo, schema=schema, max_size=1) as store:
        latencies = []
        barrier.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            store.add_if_absent(_key(uuid.uuid4().hex), meeting)
            latencies.append(time.perf_counter() - started)
        queue.put(latencies)


def writers_curve(conninfo: str, seconds: float) -> list[tuple[int, float, float]]:
    """(processes, total creates/s, p99 ms) for 1, 2, 4 and 8 writer processes."""
    from meeting_rules.adapters.postgres import PostgresMeetingRepository

    PostgresMeetingRepository(conninfo, schema="bench_writers").close()
    context = multiprocessing.get_context("spawn")
    curve = []
    for count in (1, 2, 4, 8):
        barrier, queue = context.Barrier(count), context.Queue()
        processes = [
            context.Process(
                target=_writer, args=(conninfo, "bench_writers", seconds, barrier, queue)
            )
            for _ in range(count)
        ]
        for process in processes:
            process.start()
        latencies = [value for _ in processes for value in queue.get(timeout=120)]
        for process in processes:
            process.join(30)
        p99 = statistics.quantiles(latencies, n=100)[98] * 1000
        curve.append((count, len(latencies) / seconds, p99))
    return curve
