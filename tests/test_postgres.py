"""``PostgresMeetingRepository`` on a real PostgreSQL server that the tests start
(tests/postgres.py): the contract, races across processes and threads, a foreign or newer schema
left untouched, a server that is not there, and a crash-restart during a stream of creates
(R-RES-4, R-RES-5)."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import psycopg
import pytest

from meeting_rules import (
    FixedClock,
    Instant,
    MeetingKey,
    Organizer,
    SeededIdFactory,
    ServiceUnavailableError,
    create_or_get,
)
from meeting_rules.adapters import InMemoryMeetingRepository as InMemoryRepo
from meeting_rules.adapters import UnusableStoreError
from meeting_rules.adapters.postgres import STALL_GRACE_SECONDS, PostgresMeetingRepository
from meeting_rules.graph_json import parse_create_or_get
from meeting_rules.testing import RepositoryContract, check_repository
from tests.postgres import PostgresServer
from tests.test_concurrency import KEYS, ORGANIZER, ROOT, check, race
from tests.test_serve import send_the_printed_call, serving

ORGANIZER_T_O = Organizer(tenant_id="t", user_id="o")


def fresh_schema() -> str:
    return f"t_{uuid.uuid4().hex[:16]}"


class TestPostgresRepository(RepositoryContract):
    """The whole contract on the PostgreSQL store, each test in a fresh schema."""

    @pytest.fixture
    def repository(self, server: PostgresServer) -> Iterator[PostgresMeetingRepository]:
        with PostgresMeetingRepository(server.conninfo, schema=fresh_schema()) as store:
            yield store


def test_check_repository_passes(server: PostgresServer) -> None:
    check_repository(
        lambda: PostgresMeetingRepository(server.conninfo, schema=fresh_schema()),
        race_rounds=3,
        examples=10,
    )


def _process_racer(conninfo: str, schema: str, seed: int, barrier: Any, queue: Any) -> None:
    with PostgresMeetingRepository(conninfo, schema=schema, max_size=8) as repository:
        threads, results, errors = [], [], []

        def run(index: int) -> None:
            try:
                results.extend(race(repository, seed * 100 + index, barrier))
            except BaseException as error:
                errors.append(repr(error))

        for index in range(8):
            threads.append(threading.Thread(target=run, args=(index,)))
            threads[-1].start()
        for thread in threads:
            thread.join(120)
        queue.put((results, errors))


def test_r_res_4_four_processes_of_eight_threads(server: PostgresServer) -> None:
    """R-RES-4: 4 processes x 8 threads, each with a pool of its own, on one key set: one 201
    and one row per key, the same meeting for every caller."""
    schema = fresh_schema()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(32)
    queue = context.Queue()
    processes = [
        context.Process(target=_process_racer, args=(server.conninfo, schema, seed, barrier, queue))
        for seed in range(4)
    ]
    for process in processes:
        process.start()
    outcomes = [queue.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert [errors for _, errors in outcomes] == [[]] * 4
    check([r for results, _ in outcomes for r in results], 32)
    with PostgresMeetingRepository(server.conninfo, schema=schema) as store:
        assert len(store) == len(KEYS)


def _construct(conninfo: str, schema: str, barrier: Any, queue: Any) -> None:
    barrier.wait()
    try:
        PostgresMeetingRepository(conninfo, schema=schema).close()
        queue.put("ok")
    except BaseException as error:
        queue.put(repr(error))


def test_stores_constructed_at_once_on_a_new_schema_all_succeed(server: PostgresServer) -> None:
    schema = fresh_schema()
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(4), context.Queue()
    processes = [
        context.Process(target=_construct, args=(server.conninfo, schema, barrier, queue))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    assert sorted(queue.get(timeout=120) for _ in processes) == ["ok"] * 4
    for process in processes:
        process.join(30)


def catalog(conninfo: str, schema: str) -> list[tuple[str, str]]:
    with psycopg.connect(conninfo, autocommit=True) as connection:
        return connection.execute(
            "SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s ORDER BY 1",
            (schema,),
        ).fetchall()


def test_a_foreign_or_newer_schema_is_refused_untouched(server: PostgresServer) -> None:
    foreign = fresh_schema()
    with psycopg.connect(server.conninfo, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {foreign}")
        connection.execute(f"CREATE TABLE {foreign}.invoices (n integer)")
        connection.execute(f"INSERT INTO {foreign}.invoices VALUES (7)")
    before = catalog(server.conninfo, foreign)
    with pytest.raises(UnusableStoreError, match="left untouched"):
        PostgresMeetingRepository(server.conninfo, schema=foreign)
    assert catalog(server.conninfo, foreign) == before
    newer = fresh_schema()
    PostgresMeetingRepository(server.conninfo, schema=newer).close()
    with psycopg.connect(server.conninfo, autocommit=True) as connection:
        connection.execute(f"UPDATE {newer}.store_version SET version = 2")
    with pytest.raises(UnusableStoreError, match="version 2"):
        PostgresMeetingRepository(server.conninfo, schema=newer)
    functions = fresh_schema()
    with psycopg.connect(server.conninfo, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {functions}")
        connection.execute(f"CREATE FUNCTION {functions}.answer() RETURNS int AS 'SELECT 42' "
                           "LANGUAGE sql")  # fmt: skip
    with pytest.raises(UnusableStoreError, match="left untouched"):
        PostgresMeetingRepository(server.conninfo, schema=functions)
    assert catalog(server.conninfo, functions) == []  # no table was made there


def test_a_server_that_is_not_there_is_a_503() -> None:
    with pytest.raises(ServiceUnavailableError) as refused:
        PostgresMeetingRepository("host=127.0.0.1 port=1 user=postgres connect_timeout=2",
                                  timeout=2)  # fmt: skip
    assert refused.value.retry_after_seconds == 1


def test_r_res_5_an_immediate_restart_loses_no_acknowledged_meeting(
    server: PostgresServer,
) -> None:
    """R-RES-5: creates stream from 4 threads while the server crashes and restarts (``pg_ctl
    restart -m immediate``): calls during the outage are 503s, calls after it succeed again
    without a new store, and every meeting acknowledged is there afterwards."""
    schema = fresh_schema()
    store = PostgresMeetingRepository(server.conninfo, schema=schema, timeout=5)
    acknowledged: list[MeetingKey] = []
    refused: list[str] = []
    stop = threading.Event()

    def writer(index: int) -> None:
        ids, clock = SeededIdFactory(index), FixedClock(Instant.parse("2020-01-01T00:00:00Z"))
        for n in range(100_000):
            if stop.is_set():
                return
            request = parse_create_or_get({"externalId": f"w{index}-{n}"})
            try:
                create_or_get(request, organizer=ORGANIZER, repository=store, clock=clock, ids=ids)
            except ServiceUnavailableError as error:
                refused.append(error.message)
                time.sleep(0.05)
                continue
            acknowledged.append(
                MeetingKey(tenant_id=ORGANIZER.tenant_id, organizer_id=ORGANIZER.user_id,
                           external_id=request.external_id)
            )  # fmt: skip

    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            writer(index)
        except BaseException as error:  # anything but a 503 fails the test
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(4)]
    try:
        for thread in threads:
            thread.start()
        assert wait_until(lambda: len(acknowledged) >= 20, seconds=30)
        before = len(acknowledged)
        server.restart("immediate")
        at_restart = len(acknowledged)
        # the pool reconnects after 1, 2, 4 ... seconds: wait for a write past the restart
        wait_until(lambda: len(acknowledged) > at_restart + 5, seconds=60)
        stop.set()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert before > 0
        assert len(acknowledged) > at_restart  # the same store works again within seconds
        for key in acknowledged:
            assert store.get(key) is not None, key
        assert len(store) >= len(acknowledged)
    finally:
        stop.set()
        store.close()


def wait_until(condition: Callable[[], bool], *, seconds: float) -> bool:
    """Whether ``condition`` held within ``seconds``, asked every 50 ms."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def url(server: PostgresServer) -> str:
    return f"postgresql://postgres@127.0.0.1:{server.port}/postgres"


def test_the_commands_take_a_postgresql_url(server: PostgresServer, tmp_path: Path) -> None:
    """``create-or-get --store postgresql://...`` creates then gets; ``serve`` serves the same
    store (the default schema, meeting_rules)."""
    body = ROOT / "examples" / "create-meeting.json"
    runs = [
        subprocess.run(
            [
                sys.executable,
                "-m",
                "meeting_rules",
                "create-or-get",
                str(body),
                "--store",
                url(server),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    assert [r.stderr.strip() for r in runs] == ["201 Created", "200 OK"]
    assert json.loads(runs[0].stdout)["id"] == json.loads(runs[1].stdout)["id"]
    with serving("--store", url(server), cwd=tmp_path) as served:
        answer = send_the_printed_call(served)
        assert answer.status_code == 201
        assert served.stop()[0] == 0


def test_a_server_that_is_not_there_stops_the_commands_in_one_line(tmp_path: Path) -> None:
    gone = "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=1"
    result = subprocess.run(
        [sys.executable, "-m", "meeting_rules", "serve", "--port", "0", "--store", gone],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "cannot be reached" in result.stderr


def test_create_or_get_answers_a_server_that_is_not_there_with_a_503_to_retry(
    tmp_path: Path,
) -> None:
    """docs/scaling.md: for ``create-or-get`` a closed port is Graph's 503 body, exit 1 (try
    again), where ``serve`` cannot start (one line, exit 2)."""
    gone = "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2"
    result = subprocess.run(
        [sys.executable, "-m", "meeting_rules", "create-or-get", "-", "--store", gone],
        input=b'{"externalId": "e"}', capture_output=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "ServiceUnavailable"
    assert result.stderr == b"503 Service Unavailable\n"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (b"postgresql://127.0.0.1:1/d\xff", "is not UTF-8"),
        (b"postgresql://127.0.0.1:1/db?sslmode=bogus", 'invalid sslmode value: "bogus"'),
        (b"postgresql://127.0.0.1:99999/db", 'invalid port number: "99999"'),
        (b"postgresql://127.0.0.1:1/db?x", "missing key/value separator"),
    ],
)
def test_a_url_that_cannot_be_used_stops_the_command_in_one_line(
    tmp_path: Path, url: bytes, said: str
) -> None:
    """A URL whose bytes are not UTF-8, or whose options libpq refuses before connecting: the
    store cannot be used (exit 2, one line), not a traceback nor a 503 to try again."""
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"meeting_rules", b"create-or-get", b"-", b"--store", url],
        input=b'{"externalId": "e"}', capture_output=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stdout == b""
    assert result.stderr.count(b"\n") == 1, result.stderr
    assert said.encode() in result.stderr


def test_a_lost_connection_is_replaced_without_a_failure(server: PostgresServer) -> None:
    """The server ends every connection of the store (as a restart or a failover does): the
    next calls run on fresh connections, and a create whose connection broke is retried
    safely (the statement is idempotent)."""
    with PostgresMeetingRepository(server.conninfo, schema=fresh_schema(), min_size=2) as store:
        key = MeetingKey(tenant_id="t", organizer_id="o", external_id="k")
        assert store.get(key) is None
        with psycopg.connect(server.conninfo, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchone()
        assert ended is not None
        assert ended[0] >= 1
        request = parse_create_or_get({"externalId": "k"})
        clock = FixedClock(Instant.parse("2020-01-01T00:00:00Z"))
        outcome = create_or_get(request, organizer=ORGANIZER_T_O, repository=store, clock=clock,
                                ids=SeededIdFactory(1))  # fmt: skip
        assert outcome.status == 201
        assert store.get(key) == outcome.meeting


def test_a_statement_over_its_timeout_is_a_503(server: PostgresServer) -> None:
    schema = fresh_schema()
    with PostgresMeetingRepository(server.conninfo, schema=schema, statement_timeout=0.3) as store:
        key = MeetingKey(tenant_id="t", organizer_id="o", external_id="k")
        with psycopg.connect(server.conninfo) as blocker:
            blocker.execute(f"LOCK TABLE {schema}.meetings IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(ServiceUnavailableError) as refused:
                store.get(key)
            assert time.monotonic() - started < 5
            assert refused.value.retry_after_seconds == 1
            blocker.rollback()
        assert store.get(key) is None  # and then it works


def test_a_retried_create_that_had_committed_is_still_the_create(server: PostgresServer) -> None:
    """R-RES-4: the first attempt commits and its connection breaks before the answer; the
    retry finds this call's own meeting and answers created, not 200."""
    with PostgresMeetingRepository(server.conninfo, schema=fresh_schema()) as store:
        key = MeetingKey(tenant_id="t", organizer_id="o", external_id="k")
        request = parse_create_or_get({"externalId": "k"})
        clock = FixedClock(Instant.parse("2020-01-01T00:00:00Z"))
        made = create_or_get(request, organizer=ORGANIZER_T_O, repository=InMemoryRepo(),
                             clock=clock, ids=SeededIdFactory(3)).meeting  # fmt: skip
        original = store._one  # the statement runs, then the answer is lost once
        lost = [False]

        def commit_then_break(statement: Any, parameters: Any) -> Any:
            row = original(statement, parameters)
            if not lost[0]:
                lost[0] = True
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            return row

        store._one = commit_then_break  # type: ignore[method-assign]
        assert store.add_if_absent(key, made) == (made, True)
        store._one = original  # type: ignore[method-assign]
        other = create_or_get(request, organizer=ORGANIZER_T_O, repository=InMemoryRepo(),
                              clock=clock, ids=SeededIdFactory(4)).meeting  # fmt: skip
        assert store.add_if_absent(key, other) == (made, False)
        # Another create of the key, whose meeting has the stored one's id (as channel meetings
        # of one millisecond do, R-MEET-6), and whose first attempt's answer was lost: its retry
        # finds a meeting that is not its own, so it answers the stored one, not created.
        same_id = attrs.evolve(other, id=made.id)
        assert same_id != made
        lost[0] = False
        store._one = commit_then_break  # type: ignore[method-assign]
        assert store.add_if_absent(key, same_id) == (made, False)


def test_a_nul_in_a_key_or_id_is_simply_not_found(server: PostgresServer) -> None:
    with PostgresMeetingRepository(server.conninfo, schema=fresh_schema()) as store:
        assert store.get(MeetingKey(tenant_id="t", organizer_id="o", external_id="a\x00b")) is None
        assert store.find_by_id(tenant_id="t", organizer_id="o", meeting_id="a\x00b") is None


def test_a_database_that_does_not_exist_is_unusable_not_unavailable(
    server: PostgresServer,
) -> None:
    with pytest.raises(UnusableStoreError, match="does not exist"):
        PostgresMeetingRepository(server.conninfo.replace("dbname=postgres", "dbname=nope"))


def test_a_database_not_in_utf8_is_refused_untouched(server: PostgresServer) -> None:
    """A LATIN1 database cannot hold every key (R-BODY-2: any character), nor can SQL_ASCII
    (whose text psycopg hands back as bytes): refused at construction, before any write."""
    with psycopg.connect(server.conninfo, autocommit=True) as admin:
        for name, encoding in (("latin1", "LATIN1"), ("ascii", "SQL_ASCII")):
            admin.execute(f"CREATE DATABASE {name} ENCODING '{encoding}' LC_COLLATE 'C' "
                          "LC_CTYPE 'C' TEMPLATE template0")  # fmt: skip
    for name, encoding in (("latin1", "LATIN1"), ("ascii", "SQL_ASCII")):
        conninfo = server.conninfo.replace("dbname=postgres", f"dbname={name}")
        with pytest.raises(UnusableStoreError, match=f"encoding is {encoding};"):
            PostgresMeetingRepository(conninfo, schema="s")
        with psycopg.connect(conninfo) as connection:
            made = connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = 's'").fetchall()
        assert made == []


def test_a_read_only_server_is_a_503_then_writes_again(server: PostgresServer) -> None:
    """A server that only reads (a standby during a failover, a primary set read-only): a
    create is a 503 with Retry-After and stores nothing; once it writes again, so does the
    same store."""
    schema = fresh_schema()
    with PostgresMeetingRepository(server.conninfo, schema=schema, max_size=1) as store:
        key = MeetingKey(tenant_id="t", organizer_id="o", external_id="k")
        request = parse_create_or_get({"externalId": "k"})
        clock = FixedClock(Instant.parse("2020-01-01T00:00:00Z"))

        def read_only(wanted: str) -> bool:  # the store's one connection has the reload
            with store._pool.connection() as connection:
                row = connection.execute("SHOW default_transaction_read_only").fetchone()
            return row is not None and row[0] == wanted

        with psycopg.connect(server.conninfo, autocommit=True) as admin:
            admin.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            admin.execute("SELECT pg_reload_conf()")
            try:
                assert wait_until(lambda: read_only("on"), seconds=20)
                with pytest.raises(ServiceUnavailableError) as refused:
                    store.add_if_absent(key, create_or_get(
                        request, organizer=ORGANIZER_T_O, repository=InMemoryRepo(),
                        clock=clock, ids=SeededIdFactory(1)).meeting)  # fmt: skip
                assert refused.value.retry_after_seconds == 1
                assert "read-only" in refused.value.message
                assert store.get(key) is None
            finally:
                admin.execute("ALTER SYSTEM RESET default_transaction_read_only")
                admin.execute("SELECT pg_reload_conf()")
        assert wait_until(lambda: read_only("off"), seconds=20)
        outcome = create_or_get(request, organizer=ORGANIZER_T_O, repository=store, clock=clock,
                                ids=SeededIdFactory(1))  # fmt: skip
        assert outcome.status == 201


def test_calls_succeed_within_seconds_after_a_long_outage(server: PostgresServer) -> None:
    """api.md: calls succeed again within seconds of the server being back, however long it was
    gone. The server is down for 8 s, eight times the store's 1 s timeout; psycopg_pool's own
    retries (1, 2, 4, 8 s apart) would have come back only at about 15 s."""
    with PostgresMeetingRepository(server.conninfo, schema=fresh_schema(), timeout=1) as store:
        key = MeetingKey(tenant_id="t", organizer_id="o", external_id="k")
        assert store.get(key) is None
        server.halt()
        try:
            down = time.monotonic()
            refusals = 0
            while time.monotonic() - down < 8:
                with pytest.raises(ServiceUnavailableError):
                    store.get(key)
                refusals += 1
                time.sleep(0.2)
        finally:
            server.resume()
        back = time.monotonic()
        assert refusals >= 4
        assert wait_until(lambda: _answers(store, key), seconds=30)
        assert time.monotonic() - back < 4


def _answers(store: PostgresMeetingRepository, key: MeetingKey) -> bool:
    try:
        store.get(key)
    except ServiceUnavailableError:
        return False
    return True


def test_a_stalled_server_is_a_503_within_the_deadline_then_answers_again(
    server: PostgresServer,
) -> None:
    """A server whose processes are stopped (SIGSTOP) keeps its connections open and never
    answers; its own statement_timeout cannot run. Each call ends within the store's deadline
    (statement_timeout + 2 s) as a 503, the creates of the stall are stored at most once, and
    calls succeed once the server runs again."""
    schema = fresh_schema()
    with PostgresMeetingRepository(
        server.conninfo, schema=schema, timeout=1, statement_timeout=0.5
    ) as store:
        key = MeetingKey(tenant_id="t", organizer_id="o", external_id="k")
        request = parse_create_or_get({"externalId": "k"})
        clock = FixedClock(Instant.parse("2020-01-01T00:00:00Z"))

        def create(seed: int) -> int:
            return create_or_get(request, organizer=ORGANIZER_T_O, repository=store, clock=clock,
                                 ids=SeededIdFactory(seed)).status  # fmt: skip

        assert store.get(key) is None  # a connection in the pool, to a running server
        bound = 0.5 + STALL_GRACE_SECONDS + 1.5
        with ThreadPoolExecutor(max_workers=1) as worker:  # a call that hangs fails the test
            server.freeze()
            try:
                for call in (lambda: store.get(key), lambda: create(1)):
                    started = time.monotonic()
                    with pytest.raises(ServiceUnavailableError) as refused:
                        worker.submit(call).result(timeout=bound)
                    assert time.monotonic() - started < bound
                    assert refused.value.retry_after_seconds == 1
            finally:
                server.thaw()  # before the worker is waited for
        assert wait_until(lambda: _answers(store, key), seconds=30)
        # The stalled create's statement may have run once the server did: then the retry
        # finds it (200); either way one meeting.
        assert create(2) in (200, 201)
        assert create(3) == 200
        assert len(store) == 1


def test_the_pools_check_after_a_broken_connection_is_bounded_when_the_server_stalls(
    server: PostgresServer,
) -> None:
    """A call whose connection broke has the pool check its idle connections before it tries
    again; a server that stalls at that moment (a failover's old primary, half alive) never
    answers the check. The check is bounded by one statement's deadline: the call is a 503
    within it, and the store answers once the server runs again."""
    schema = fresh_schema()
    name = f"check_{schema}"  # this store's connections, among the server's others
    conninfo = f"{server.conninfo} application_name={name}"
    with (
        PostgresMeetingRepository(
            conninfo, schema=schema, min_size=2, timeout=1, statement_timeout=0.5
        ) as store,
        psycopg.connect(server.conninfo, autocommit=True) as admin,
    ):
        key = MeetingKey(tenant_id="t", organizer_id="o", external_id="k")

        def backends() -> list[int]:
            rows = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                "ORDER BY state_change",
                [name],
            ).fetchall()
            return [pid for (pid,) in rows]

        assert wait_until(lambda: len(backends()) == 2, seconds=10)
        assert store.get(key) is None  # its connection goes back last: the other is next
        next_one, last_used = backends()
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", [next_one])
        bound = 0.5 + STALL_GRACE_SECONDS + 1 + 2  # the check's deadline, the pool's timeout
        with ThreadPoolExecutor(max_workers=1) as worker:  # a call that hangs fails the test
            server.freeze()
            try:
                started = time.monotonic()
                with pytest.raises(ServiceUnavailableError) as refused:
                    worker.submit(store.get, key).result(timeout=bound)
                assert time.monotonic() - started < bound
            finally:
                server.thaw()
        # The broken connection was found, then the retry found no live one in time (not the
        # stalled statement's own deadline: that would mean the check was never reached).
        assert refused.value.message == "The meeting store is unavailable; try again."
        assert wait_until(lambda: last_used not in backends(), seconds=30)  # it was ended
        assert wait_until(lambda: _answers(store, key), seconds=30)
