"""Tests for the two stores: the port's promises, and the SQLite file's own rules."""

from __future__ import annotations

import gc
import itertools
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import attrs
import pytest

from meeting_rules import (
    Instant,
    InternalServerError,
    MeetingKey,
    MeetingParticipants,
    OnlineMeeting,
    ServiceUnavailableError,
)
from meeting_rules.adapters import SCHEMA_VERSION, SqliteMeetingRepository, UnusableStoreError
from meeting_rules.adapters.sqlite_schema import APPLICATION_ID, SELECT_BY_ID
from meeting_rules.graph_json import dumps_meeting, meeting_from_json, meeting_to_storage
from tests.conftest import data_bytes

FRESH = itertools.count()
KEY = MeetingKey(tenant_id="t", organizer_id="o", external_id="e")
SEED = meeting_from_json(data_bytes("seed-example1-response.json"))
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def sqlite_file(path: Path, *statements: str) -> Path:
    """Run ``statements`` on the SQLite file at ``path`` (made if missing) and commit."""
    connection = sqlite3.connect(path)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    return path


class TestSqliteFile:
    """The SQLite store's file: made, reopened, refused."""

    def test_reopened_store_keeps_meetings(self, tmp_path: Path) -> None:
        """A store closed and opened again returns its meetings unchanged."""
        path = tmp_path / "m.sqlite3"
        with SqliteMeetingRepository(path) as store:
            store.add_if_absent(KEY, SEED)
        with SqliteMeetingRepository(path) as store:
            assert store.get(KEY) == SEED
            assert dumps_meeting(store.get(KEY)) == dumps_meeting(SEED)  # type: ignore[arg-type]
            assert len(store) == 1

    def test_settings_of_the_file(self, tmp_path: Path) -> None:
        """WAL journal, schema version and application ID are in the file."""
        path = tmp_path / "m.sqlite3"
        SqliteMeetingRepository(path).close()
        connection = sqlite3.connect(path)
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        connection.close()

    def test_empty_file_becomes_a_store(self, tmp_path: Path) -> None:
        """A missing or empty file is made a store."""
        path = tmp_path / "empty.sqlite3"
        path.write_bytes(b"")
        with SqliteMeetingRepository(path) as store:
            assert store.get(KEY) is None

    def foreign_files(self, tmp_path: Path) -> list[Path]:
        random_bytes = tmp_path / "random.bin"
        random_bytes.write_bytes(bytes(range(256)) * 40)
        text = tmp_path / "text.txt"
        text.write_text("not a database\n")
        other_app = sqlite_file(
            tmp_path / "other.sqlite3",
            "CREATE TABLE notes (body TEXT)",
            "INSERT INTO notes VALUES ('hello')",
        )
        newer = tmp_path / "newer.sqlite3"
        SqliteMeetingRepository(newer).close()
        sqlite_file(newer, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        one_byte = tmp_path / "one-byte"
        one_byte.write_bytes(b"\n")
        wal_app = sqlite_file(
            tmp_path / "wal-app.sqlite3",
            "PRAGMA journal_mode = WAL",
            "CREATE TABLE notes (body TEXT)",
        )
        half_made = sqlite_file(
            tmp_path / "half.sqlite3",
            f"PRAGMA application_id = {APPLICATION_ID}",
            f"PRAGMA user_version = {SCHEMA_VERSION}",
        )
        return [random_bytes, text, other_app, newer, one_byte, wal_app, half_made]

    def test_foreign_files_are_refused_untouched(self, tmp_path: Path) -> None:
        """Random bytes, text, another app's database, a newer schema: refused, left as it was."""
        for path in self.foreign_files(tmp_path):
            before = path.read_bytes()
            files_before = sorted(tmp_path.iterdir())
            with pytest.raises(UnusableStoreError) as info:
                SqliteMeetingRepository(path)
            assert str(path) in info.value.message
            assert info.value.status == 500
            assert path.read_bytes() == before, path.name
            assert sorted(tmp_path.iterdir()) == files_before, path.name  # no -wal, no -shm

    def test_damaged_meeting_is_a_500(self, tmp_path: Path) -> None:
        """A row that is not a stored meeting is reported as a 500, not a crash."""
        path = tmp_path / "m.sqlite3"
        with SqliteMeetingRepository(path) as store:
            store.add_if_absent(KEY, SEED)
        connection = sqlite3.connect(path)
        connection.execute("UPDATE meetings SET meeting = x'7b7d5b'")
        connection.commit()
        connection.close()
        with SqliteMeetingRepository(path) as store, pytest.raises(InternalServerError):
            store.get(KEY)

    def test_locked_store_is_a_503_and_stores_nothing(self, tmp_path: Path) -> None:
        """R-RES-5: a writer that cannot get the lock answers 503 and leaves nothing behind."""
        path = tmp_path / "m.sqlite3"
        store = SqliteMeetingRepository(path, busy_timeout=0.05)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(ServiceUnavailableError):
                store.add_if_absent(KEY, SEED)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.get(KEY) is None
        assert store.add_if_absent(KEY, SEED)[1] is True
        store.close()

    def test_a_forked_child_writes_while_its_parent_holds_the_writer_lock(
        self, tmp_path: Path
    ) -> None:
        """R-RES-4: a child made by fork() while a parent's thread was leading a transaction
        gets a writers' queue of its own (in the parent's copy, that leader would never end)."""
        store = SqliteMeetingRepository(tmp_path / "m.sqlite3", busy_timeout=5)
        writes = store._writes()
        writes._leading = True  # as while a thread of the parent commits a batch
        try:
            child = os.fork()
            if child == 0:  # the child: write, and say how it went by the exit status
                try:
                    os._exit(0 if store.add_if_absent(KEY, SEED)[1] else 1)
                except BaseException:
                    os._exit(2)
            _, status = os.waitpid(child, 0)
        finally:
            writes._leading = False
        assert os.waitstatus_to_exitcode(status) == 0
        assert store.get(KEY) == SEED
        store.close()

    def test_writers_of_one_process_wait_in_turn_for_at_most_the_busy_timeout(
        self, tmp_path: Path
    ) -> None:
        """R-RES-5: a thread of this process still writing past the busy timeout makes the next
        writer answer 503 with Retry-After, storing nothing; then writes go on."""
        store = SqliteMeetingRepository(tmp_path / "m.sqlite3", busy_timeout=0.05)
        held = threading.Event()
        release = threading.Event()
        original = store._connection

        def slow_connection(*, waits: bool = True) -> sqlite3.Connection:
            if threading.current_thread().name == "slow":
                held.set()
                release.wait(10)
            return original(waits=waits)

        store._connection = slow_connection  # type: ignore[method-assign]
        other = attrs.evolve(KEY, external_id="other")
        slow = threading.Thread(target=store.add_if_absent, args=(other, SEED), name="slow")
        slow.start()
        try:
            assert held.wait(10)
            with pytest.raises(ServiceUnavailableError) as busy:
                store.add_if_absent(KEY, SEED)
            assert busy.value.retry_after_seconds == 1
        finally:
            release.set()
            slow.join(10)
        assert store.get(KEY) is None
        assert store.get(other) is not None
        assert store.add_if_absent(KEY, SEED)[1] is True
        store.close()


def test_empty_sqlite_database_becomes_a_store(tmp_path: Path) -> None:
    """An SQLite database with nothing in it is taken over as a store."""
    path = tmp_path / "blank.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("VACUUM")
    connection.close()
    assert path.stat().st_size > 0
    with SqliteMeetingRepository(path) as store:
        assert store.add_if_absent(KEY, SEED)[1] is True


def test_r_res_5_failed_insert_rolls_back(tmp_path: Path) -> None:
    """R-RES-5: an insert that fails inside the transaction leaves nothing and no open lock."""
    path = tmp_path / "m.sqlite3"
    store = SqliteMeetingRepository(path)
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON meetings "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    connection.commit()
    with pytest.raises(InternalServerError, match="disk full"):
        store.add_if_absent(KEY, SEED)
    connection.execute("DROP TRIGGER refuse")
    connection.commit()
    connection.close()
    assert store.get(KEY) is None
    assert store.add_if_absent(KEY, SEED) == (SEED, True)
    store.close()


def test_each_thread_connection_is_closed_when_the_thread_ends(tmp_path: Path) -> None:
    """Short-lived threads do not leave a connection (and file descriptors) each behind."""
    store = SqliteMeetingRepository(tmp_path / "m.sqlite3")
    store.get(KEY)
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(60):
        worker = threading.Thread(target=store.get, args=(KEY,))
        worker.start()
        worker.join()
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) < before + 10
    store.close()


def test_meeting_that_cannot_be_read_back_is_not_stored(tmp_path: Path) -> None:
    """R-RES-5: a hand-built meeting that Graph JSON cannot hold is refused, not stored."""
    with SqliteMeetingRepository(tmp_path / "m.sqlite3") as store:
        for meeting in (
            OnlineMeeting(id="m", subject="a\x00b"),
            OnlineMeeting(id="m", subject="\ud800"),
            OnlineMeeting(id="m", subject=5),  # type: ignore[arg-type]
            OnlineMeeting(id="m", participants="x"),  # type: ignore[arg-type]
            OnlineMeeting(id="m", unknown_members={"x": float("nan")}),
            OnlineMeeting(id="m", unknown_members={"x": {1, 2}}),
        ):
            with pytest.raises(InternalServerError, match="cannot be stored"):
                store.add_if_absent(KEY, meeting)
        assert len(store) == 0


SCHEMA_1_TABLE = """CREATE TABLE meetings (
    tenant_id    TEXT NOT NULL,
    organizer_id TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    meeting      BLOB NOT NULL,
    PRIMARY KEY (tenant_id, organizer_id, external_id)
) WITHOUT ROWID"""
# A built meeting as schema 1's storage form wrote it: every member, unset ones as null or [].
SCHEMA_1_BUILT = (
    '{"@meetingRules.defaultLayout":true,"id":"i","creationDateTime":null,'
    '"startDateTime":"2020-01-01T00:00:00.0000001Z","endDateTime":null,"expiryDateTime":null,'
    '"joinWebUrl":null,"subject":"s","isBroadcast":null,"autoAdmittedUsers":null,'
    '"isEntryExitAnnounced":null,"allowedPresenters":null,"videoTeleconferenceId":null,'
    '"externalId":"e","participants":{"@meetingRules.defaultLayout":true,"organizer":null,'
    '"attendees":[],"producers":[],"contributors":[]},"lobbyBypassSettings":null,'
    '"audioConferencing":null,"chatInfo":null}'
)


def schema_1_store(path: Path, rows: Iterable[tuple[str, str | bytes]]) -> Path:
    """A schema-1 store holding ``(externalId, stored form)`` rows of tenant t, organizer o."""
    sqlite_file(
        path, f"PRAGMA application_id = {APPLICATION_ID}", "PRAGMA user_version = 1", SCHEMA_1_TABLE
    )
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany("INSERT INTO meetings VALUES ('t', 'o', ?, ?)", rows)
    connection.close()
    return path


def test_schema_1_store_is_converted_when_opened(tmp_path: Path) -> None:
    """A schema-1 file (rows in the key's B-tree) becomes schema 2, every meeting kept as it was."""
    path = schema_1_store(
        tmp_path / "old.sqlite3", [("e", SCHEMA_1_BUILT), ("seed", meeting_to_storage(SEED))]
    )
    seed_key = MeetingKey(tenant_id="t", organizer_id="o", external_id="seed")
    with SqliteMeetingRepository(path) as store:
        assert store.get(KEY) == OnlineMeeting(
            id="i",
            start_date_time=Instant(ticks=Instant.parse("2020-01-01T00:00:00Z").ticks + 1),
            subject="s",
            external_id="e",
            participants=MeetingParticipants(),
        )
        assert store.get(seed_key) == SEED
        assert store.add_if_absent(seed_key, OnlineMeeting(id="other")) == (SEED, False)
        assert SEED.id is not None
        assert store.find_by_id(tenant_id="t", organizer_id="o", meeting_id=SEED.id) == SEED
        assert store.find_by_id(tenant_id="t", organizer_id="o", meeting_id="i") == store.get(KEY)
        assert len(store) == 2
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    names = {row[0] for row in connection.execute("SELECT name FROM sqlite_schema")}
    assert names == {"meetings", "meetings_key", "meetings_id"}
    connection.close()


def test_a_read_only_older_store_says_it_must_be_converted(tmp_path: Path) -> None:
    """A schema-1 store the process may read but not write cannot be converted: one line that
    says so and what to do, exit 2, the file unchanged (not SQLite's "attempt to write")."""
    path = schema_1_store(tmp_path / "old.sqlite3", [("e", SCHEMA_1_BUILT)])
    before = path.read_bytes()
    path.chmod(0o444)  # in a directory that stays writable, for SQLite's -wal and -shm
    prefix = []
    if os.geteuid() == 0:  # root writes anyway: drop the capabilities that let it
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    try:
        result = subprocess.run(
            [*prefix, sys.executable, "-m", "meeting_rules", "create-or-get", "-",
             "--store", str(path)],
            input=b'{"externalId": "e"}', capture_output=True, check=False,
        )  # fmt: skip
    finally:
        path.chmod(0o644)
    assert result.returncode == 2, result.stderr
    line = result.stderr.decode()
    assert line.count("\n") == 1
    assert "schema version 1" in line
    assert "read-only" in line
    assert "Open it once where it can be written" in line
    assert "attempt to write" not in line
    assert path.read_bytes() == before


def test_a_store_takes_about_one_and_a_half_times_its_meetings_json(tmp_path: Path) -> None:
    """Rows fit their pages: 600 stored meetings take at most 1.5x their compact JSON on disk."""
    path = tmp_path / "m.sqlite3"
    total = 0
    with SqliteMeetingRepository(path) as store:
        for number in range(600):
            meeting = attrs.evolve(SEED, external_id=f"{number:08x}-0000-4000-8000-000000000000")
            store.add_if_absent(
                MeetingKey(tenant_id=TENANT, organizer_id=TENANT, external_id=str(number)),
                meeting,
            )
            total += len(dumps_meeting(meeting))
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    assert path.stat().st_size <= 1.5 * total


def test_converted_store_gives_back_the_old_table_space(tmp_path: Path) -> None:
    """Converting a schema-1 file (whose rows overflowed) leaves it smaller, not larger."""
    stored = meeting_to_storage(SEED)
    path = schema_1_store(tmp_path / "old.sqlite3", ((str(n), stored) for n in range(300)))
    before = path.stat().st_size
    SqliteMeetingRepository(path).close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    assert path.stat().st_size < before * 0.7
    with SqliteMeetingRepository(path) as store:
        assert len(store) == 300
        assert store.get(MeetingKey(tenant_id="t", organizer_id="o", external_id="299")) == SEED


SCHEMA_2_TABLE = (
    """CREATE TABLE meetings (
        tenant_id    TEXT NOT NULL,
        organizer_id TEXT NOT NULL,
        external_id  TEXT NOT NULL,
        meeting      BLOB NOT NULL
    )""",
    "CREATE UNIQUE INDEX meetings_key ON meetings (tenant_id, organizer_id, external_id)",
)


def test_schema_2_store_is_converted_and_found_by_id(tmp_path: Path) -> None:
    """A store as version 0.1 wrote it (schema 2: no id column) opens, keeps every meeting, and
    each readable one is found by id; a damaged row (bad JSON, or TEXT that is not UTF-8) does
    not stop the conversion and stays reported as damaged by get."""
    path = tmp_path / "v01.sqlite3"
    sqlite_file(
        path, f"PRAGMA application_id = {APPLICATION_ID}", "PRAGMA user_version = 2",
        *SCHEMA_2_TABLE,
    )  # fmt: skip
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(
            "INSERT INTO meetings VALUES ('t', 'o', ?, ?)",
            [(str(n), meeting_to_storage(attrs.evolve(SEED, id=f"id-{n}"))) for n in range(50)]
            + [("damaged", b"{not json")],
        )
        connection.execute(
            "INSERT INTO meetings VALUES ('t', 'o', 'not-utf8', CAST(X'7bff22' AS TEXT))"
        )
    connection.close()
    with SqliteMeetingRepository(path) as store:
        assert len(store) == 52
        for n in range(50):
            found = store.find_by_id(tenant_id="t", organizer_id="o", meeting_id=f"id-{n}")
            assert found == attrs.evolve(SEED, id=f"id-{n}")
            key = MeetingKey(tenant_id="t", organizer_id="o", external_id=str(n))
            assert store.get(key) == found
        assert store.find_by_id(tenant_id="t", organizer_id="x", meeting_id="id-1") is None
        assert store.find_by_id(tenant_id="t", organizer_id="o", meeting_id="none") is None
        for damaged in ("damaged", "not-utf8"):
            with pytest.raises(InternalServerError, match=r"damaged|decode"):
                store.get(MeetingKey(tenant_id="t", organizer_id="o", external_id=damaged))
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 3
    plan = connection.execute(f"EXPLAIN QUERY PLAN {SELECT_BY_ID}", ("t", "o", "id-1")).fetchall()
    assert "meetings_id" in str(plan)  # found through the index, not a scan
    connection.close()


def test_rows_of_a_version_01_writer_are_found_by_id(tmp_path: Path) -> None:
    """A process of version 0.1 still writing to a converted file inserts rows without an id:
    find_by_id still finds them (reading them to see their id)."""
    path = tmp_path / "m.sqlite3"
    with SqliteMeetingRepository(path) as store:
        store.add_if_absent(KEY, SEED)
    connection = sqlite3.connect(path)
    with connection:  # what 0.1's insert writes: the four columns it knows
        connection.execute(
            "INSERT INTO meetings (tenant_id, organizer_id, external_id, meeting) "
            "VALUES ('t', 'o', 'late', ?)",
            (meeting_to_storage(attrs.evolve(SEED, id="late-id")),),
        )
    connection.close()
    with SqliteMeetingRepository(path) as store:
        found = store.find_by_id(tenant_id="t", organizer_id="o", meeting_id="late-id")
        assert found == attrs.evolve(SEED, id="late-id")
        assert store.find_by_id(tenant_id="t", organizer_id="o", meeting_id="other") is None
