"""``adapters.sqlite_file.examine`` against SQLite itself, on the logs beside a main file that
looks empty: hot rollback journals and write-ahead logs, intact and damaged.

Such a file is judged by the page 1 SQLite would see once it has rolled the journal back or
replayed the log. If ``examine`` saw an empty database where SQLite brings another application's
tables back, the store would take that file for its own and write into it. Each case here is a
real log, left by a real SQLite transaction; a copy of the pair is then opened by SQLite, and
what it finds must agree with ``examine``: empty (``FileKind.NEW``) or not, and where SQLite
finds the copy malformed, not empty.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, partial
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meeting_rules.adapters.sqlite_file import FileKind, examine

JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
JOURNAL_HEADER = struct.Struct(">8s5I")  # magic, records, nonce, pages at start, sector, page size
WAL_HEADER = 32
FRAME_HEADER = 24


class Pair(NamedTuple):
    """A main file with an empty schema, and the log beside it that holds another application's
    tables: a hot journal that would bring them back, or a write-ahead log that commits them."""

    main: bytes
    log: bytes
    suffix: str  # "-journal" or "-wal"
    page_size: int
    headers: tuple[int, ...]  # where the journal's segment headers, or the log's frames, start
    header_size: int
    unchecked: tuple[int, ...]  # bytes no checksum covers: a journal record's page number


@contextmanager
def scratch_database() -> Iterator[tuple[Path, sqlite3.Connection]]:
    """A database in a directory of its own, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="meeting-rules-logs-"))
    path = directory / "app.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        yield path, connection
    finally:
        connection.close()
        shutil.rmtree(directory, ignore_errors=True)


# synchronous=OFF writes one segment whose record count is "to the end"; FULL and NORMAL with a
# small cache spill pages mid-transaction, each spill starting a new segment, so that page 1,
# changed last, is in a later one.
JOURNALS = {"off-1024": ("OFF", 1024), "full-4096": ("FULL", 4096), "normal-512": ("NORMAL", 512)}


@cache
def hot_journal(kind: str) -> Pair:
    """Every table dropped in a transaction, the journal copied as a crash would leave it."""
    synchronous, page_size = JOURNALS[kind]
    with scratch_database() as (path, connection):
        for pragma in (f"page_size = {page_size}", f"synchronous = {synchronous}",
                       "journal_mode = DELETE", "cache_size = 5"):  # fmt: skip
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("CREATE TABLE big (n INTEGER, body TEXT)")
        connection.execute("CREATE TABLE notes (body TEXT)")
        rows = ((n, "x" * 300) for n in range(200))
        connection.executemany("INSERT INTO big VALUES (?, ?)", rows)
        connection.execute("BEGIN")
        connection.execute("UPDATE big SET body = 'y' WHERE n % 7 = 0")  # data pages first
        connection.execute("DROP TABLE notes")
        connection.execute("DROP TABLE big")  # then page 1
        journal = Path(f"{path}-journal").read_bytes()
        connection.execute("COMMIT")
        connection.execute("VACUUM")  # the main file: one empty page
        main = path.read_bytes()
    headers = [i for i in range(0, len(journal), 32) if journal[i : i + 8] == JOURNAL_MAGIC]
    sector = JOURNAL_HEADER.unpack_from(journal)[4]
    numbers: list[int] = []
    for start in headers:
        count = JOURNAL_HEADER.unpack_from(journal, start)[1]
        offset = start + sector
        if count == 0xFFFFFFFF:
            count = (len(journal) - offset) // (page_size + 8)
        for _ in range(count):
            numbers += range(offset, offset + 4)
            offset += page_size + 8
    return Pair(
        main, journal, "-journal", page_size, tuple(headers), JOURNAL_HEADER.size, tuple(numbers)
    )


@cache
def logged_schema(page_size: int) -> Pair:
    """Tables made and rows written in WAL mode, never checkpointed; then one table dropped and
    another made, so that page 1 is in the log more than once."""
    with scratch_database() as (path, connection):
        for pragma in (f"page_size = {page_size}", "journal_mode = WAL", "wal_autocheckpoint = 0"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.executemany("INSERT INTO notes VALUES (?)", [("x" * 500,)] * 30)
        connection.execute("DROP TABLE notes")
        connection.execute("CREATE TABLE again (body TEXT)")
        main, log = path.read_bytes(), Path(f"{path}-wal").read_bytes()  # before the checkpoint
    frames = range(WAL_HEADER, len(log), FRAME_HEADER + page_size)
    return Pair(main, log, "-wal", page_size, (0, *frames), FRAME_HEADER, ())


PAIRS: dict[str, Callable[[], Pair]] = {
    **{f"journal {kind}": partial(hot_journal, kind) for kind in JOURNALS},
    **{f"wal {size}": partial(logged_schema, size) for size in (512, 4096)},
}


def agree(directory: Path, pair: Pair, log: bytes) -> tuple[bool, bool | None]:
    """Whether ``examine`` finds an empty database beside ``log``, and whether SQLite, rolling the
    journal back or replaying the log on a copy, does (``None``: it finds the copy malformed)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.iterdir():
        stale.unlink()
    judged, opened = directory / "judged.sqlite3", directory / "opened.sqlite3"
    for path in (judged, opened):
        path.write_bytes(pair.main)
        Path(f"{path}{pair.suffix}").write_bytes(log)
    ours = examine(judged).kind is FileKind.NEW
    connection = sqlite3.connect(opened)
    try:
        marks = [connection.execute(f"PRAGMA {name}").fetchone()[0]
                 for name in ("application_id", "user_version")]  # fmt: skip
        tables = connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    except sqlite3.DatabaseError:
        return ours, None
    finally:
        connection.close()
    return ours, marks == [0, 0] and tables == 0


class Record(NamedTuple):
    offset: int
    number: int
    nonce: int  # the checksum's seed, its segment's
    segment: int


def journal_records(pair: Pair) -> list[Record]:
    """The journal's records as written, in order."""
    sector = JOURNAL_HEADER.unpack_from(pair.log)[4]
    found = []
    for segment, start in enumerate(pair.headers):
        count, nonce = JOURNAL_HEADER.unpack_from(pair.log, start)[1:3]
        offset = start + sector
        if count == 0xFFFFFFFF:
            count = (len(pair.log) - offset) // (pair.page_size + 8)
        for _ in range(count):
            number = struct.unpack_from(">I", pair.log, offset)[0]
            found.append(Record(offset, number, nonce, segment))
            offset += pair.page_size + 8
    return found


def journal_record(number: int, page: bytes, nonce: int) -> bytes:
    """A record as SQLite writes it: page number, page, checksum (the seed plus every 200th byte
    from the end, never the first)."""
    checksum = (nonce + sum(page[len(page) - 200 :: -200])) & 0xFFFFFFFF
    return struct.pack(">I", number) + page + struct.pack(">I", checksum)


def judged_alike(directory: Path, pair: Pair, log: bytes) -> bool:
    """Where SQLite finds the copy malformed, it is no empty database either."""
    ours, sqlites = agree(directory, pair, log)
    return ours == (False if sqlites is None else sqlites)


@pytest.mark.parametrize("name", list(PAIRS))
def test_an_intact_log_brings_the_tables_back_for_both(name: str, tmp_path: Path) -> None:
    pair = PAIRS[name]()
    assert agree(tmp_path, pair, b"") == (True, True)  # the main file alone: empty
    assert agree(tmp_path, pair, pair.log) == (False, False)
    if name.startswith("journal") and not name.endswith("1024"):
        page_1 = [record for record in journal_records(pair) if record.number == 1]
        assert [record.segment for record in page_1] not in ([], [0])  # in a later segment


@pytest.mark.parametrize("name", [name for name in PAIRS if name.startswith("journal")])
def test_a_page_size_of_zero_in_the_journal_header_is_the_databases_own(
    name: str, tmp_path: Path
) -> None:
    """As SQLite before 3.5.8 wrote it: SQLite rolls back by the database's page size."""
    pair = PAIRS[name]()
    journal = bytearray(pair.log)
    journal[24:28] = bytes(4)
    assert agree(tmp_path, pair, bytes(journal)) == (False, False)


@pytest.mark.parametrize("name", list(PAIRS))
def test_every_bit_of_the_headers_flipped(name: str, tmp_path: Path) -> None:
    """The journal's first headers and its last (a later header is read for its magic, record
    count and checksum seed only: its sector and page sizes are the first header's); the log's
    header and its first frames' headers. Each flip, judged alike by both."""
    pair = PAIRS[name]()
    starts = dict.fromkeys(pair.headers[:4] + pair.headers[-1:])
    disagreements = []
    for at in (at for start in starts for at in range(start, start + pair.header_size)):
        for bit in range(8):
            log = bytearray(pair.log)
            log[at] ^= 1 << bit
            if not judged_alike(tmp_path, pair, bytes(log)):
                disagreements.append((at, bit))
    assert disagreements == []


@settings(max_examples=200)
@given(
    name=st.sampled_from(list(PAIRS)),
    damage=st.sampled_from(["unchecked", "anywhere", "truncated", "cut out"]),
    data=st.data(),
)
def test_a_damaged_log_is_judged_as_sqlite_reads_it(
    name: str, damage: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pair = PAIRS[name]()
    log = bytearray(pair.log)
    last = len(log) - 1
    if damage == "unchecked" and pair.unchecked:  # a journal record's page number
        log[data.draw(st.sampled_from(pair.unchecked))] ^= 1 << data.draw(st.integers(0, 7))
    elif damage in ("unchecked", "anywhere"):
        log[data.draw(st.integers(0, last))] ^= 1 << data.draw(st.integers(0, 7))
    elif damage == "truncated":
        del log[data.draw(st.integers(0, last)) :]
    else:
        start = data.draw(st.integers(0, last))
        del log[start : start + data.draw(st.integers(1, 2 * pair.page_size))]
    assert judged_alike(tmp_path_factory.getbasetemp() / "damaged", pair, bytes(log))


JOURNAL_NAMES = [name for name in PAIRS if name.startswith("journal")]


def before_page_1(pair: Pair) -> Record:
    """The record just before the journal's record of page 1."""
    records = journal_records(pair)
    first = next(i for i, record in enumerate(records) if record.number == 1)
    assert first > 0
    return records[first - 1]


@pytest.mark.parametrize("name", JOURNAL_NAMES)
def test_a_record_beyond_the_original_size_is_skipped_unread(name: str, tmp_path: Path) -> None:
    """Its checksum is never read: damaged, it does not end the rollback, and page 1 after it
    is restored."""
    pair = PAIRS[name]()
    record = before_page_1(pair)
    beyond = JOURNAL_HEADER.unpack_from(pair.log)[3] + 5  # pages when the transaction began
    journal = bytearray(pair.log)
    journal[record.offset : record.offset + 4] = struct.pack(">I", beyond)
    journal[record.offset + 4 + pair.page_size - 200] ^= 1  # a byte the checksum covers
    assert agree(tmp_path, pair, bytes(journal)) == (False, False)


@pytest.mark.parametrize("name", JOURNAL_NAMES)
def test_the_last_record_of_page_1_is_the_page_restored(name: str, tmp_path: Path) -> None:
    """An empty page 1 (the main file's), validly journaled before the real one: SQLite writes
    back both in turn, and the tables come back."""
    pair = PAIRS[name]()
    record = before_page_1(pair)
    empty = journal_record(1, pair.main[: pair.page_size], record.nonce)
    journal = bytearray(pair.log)
    journal[record.offset : record.offset + len(empty)] = empty
    assert agree(tmp_path, pair, bytes(journal)) == (False, False)


@pytest.mark.parametrize("name", JOURNAL_NAMES)
@pytest.mark.parametrize("stop", ["page 0", "the lock page"])
def test_a_record_of_no_page_ends_the_rollback(name: str, stop: str, tmp_path: Path) -> None:
    """Before page 1's record: the rollback ends there, page 1 stays as the main file has it."""
    pair = PAIRS[name]()
    record = before_page_1(pair)
    number = 0 if stop == "page 0" else 0x40000000 // pair.page_size + 1
    journal = bytearray(pair.log)
    journal[record.offset : record.offset + 4] = struct.pack(">I", number)
    assert agree(tmp_path, pair, bytes(journal)) == (True, True)


def test_a_log_read_after_a_hot_journal(tmp_path: Path) -> None:
    """SQLite rolls the journal back, then replays the log beside the file: a journal restoring
    an empty page 1 does not hide the log's tables."""
    logged = logged_schema(4096)
    nonce, pages = 0x12345678, len(logged.main) // logged.page_size
    header = JOURNAL_HEADER.pack(JOURNAL_MAGIC, 1, nonce, pages, 512, logged.page_size)
    journal = header.ljust(512, b"\0") + journal_record(1, logged.main[:4096], nonce)
    judged = tmp_path / "judged.sqlite3"
    judged.write_bytes(logged.main)
    Path(f"{judged}-wal").write_bytes(logged.log)
    Path(f"{judged}-journal").write_bytes(journal)
    assert examine(judged).kind is FileKind.DATABASE
    opened = tmp_path / "opened.sqlite3"
    for suffix in ("", "-wal", "-journal"):
        Path(f"{opened}{suffix}").write_bytes(Path(f"{judged}{suffix}").read_bytes())
    connection = sqlite3.connect(opened)
    try:
        assert connection.execute("SELECT name FROM sqlite_schema").fetchall() == [("again",)]
    finally:
        connection.close()


def test_a_journal_that_empties_the_file_beside_a_log_is_refused(tmp_path: Path) -> None:
    """Rolled back to no page at all, the file would be empty and SQLite would delete its log:
    refused, as an empty file beside a log is."""
    logged = logged_schema(4096)
    header = JOURNAL_HEADER.pack(JOURNAL_MAGIC, 0, 1, 0, 512, logged.page_size)
    judged = tmp_path / "judged.sqlite3"
    judged.write_bytes(logged.main)
    Path(f"{judged}-journal").write_bytes(header.ljust(512, b"\0"))
    assert examine(judged).kind is FileKind.NEW  # no log: empty after the rollback
    Path(f"{judged}-wal").write_bytes(logged.log)
    refused = examine(judged)
    assert refused.kind is FileKind.NOT_SQLITE
    assert "delete the write-ahead log" in refused.reason


@pytest.mark.parametrize(("main_size", "name"), [(4096, "wal 512"), (512, "wal 4096"),
                                                 (4096, "journal off-1024"),
                                                 (512, "journal off-1024")])  # fmt: skip
def test_a_log_of_another_page_size_than_the_main_file(
    main_size: int, name: str, tmp_path: Path
) -> None:
    """Each log says its own page size: SQLite reads page 1 by it, and so does ``examine``."""
    log = PAIRS[name]()
    beside = logged_schema(main_size)._replace(suffix=log.suffix)
    assert agree(tmp_path, beside, log.log) == (False, False)


# --- the main file itself -------------------------------------------------------------------------


@cache
def database_with_a_table(page_size: int, journal_mode: str) -> bytes:
    """Another application's database, checkpointed: its schema on the main file's page 1."""
    with scratch_database() as (path, connection):
        for pragma in (f"page_size = {page_size}", f"journal_mode = {journal_mode}"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.execute("INSERT INTO notes VALUES ('kept')")
        if journal_mode == "WAL":
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return path.read_bytes()


@pytest.mark.parametrize(("page_size", "journal_mode"), [(4096, "DELETE"), (1024, "WAL")])
def test_every_bit_of_the_database_header_and_page_1_header_flipped(
    page_size: int, journal_mode: str, tmp_path: Path
) -> None:
    """No log beside it: the file header (100 bytes) and page 1's b-tree header, each bit flipped
    in turn, judged alike by ``examine`` and by SQLite."""
    main = database_with_a_table(page_size, journal_mode)
    alone = Pair(main, b"", "-journal", page_size, (), 0, ())
    disagreements = []
    for at in range(108):
        for bit in range(8):
            flipped = bytearray(main)
            flipped[at] ^= 1 << bit
            if not judged_alike(tmp_path, alone._replace(main=bytes(flipped)), b""):
                disagreements.append((at, bit))
    assert disagreements == []
