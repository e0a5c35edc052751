"""What an SQLite file holds, read from its bytes alone, as SQLite would see it: never written.

The SQLite store must tell an empty file, one of its own stores and someone else's database
apart before it opens a connection, because a connection writes (it makes ``-wal`` and ``-shm``
files, replays a write-ahead log, rolls back a hot journal). A look at the main file alone is not
enough: in WAL mode the newest committed pages, the schema's among them, may live only in the
``-wal`` file (the other application is running, or crashed before a checkpoint), and the main
file may be caught half way through a checkpoint. So ``examine`` reads page 1 (the database
header and the schema's root page) where SQLite would: the original kept in a rollback journal,
else the newest copy of it in a committed, checksummed frame of the write-ahead log, else the
main file.

Formats: https://www.sqlite.org/fileformat2.html (the database header, b-tree pages, the WAL).
"""

from __future__ import annotations

import enum
import os
import stat
import struct
from pathlib import Path

import attrs

__all__ = ["FileKind", "FileState", "examine"]

MAGIC = b"SQLite format 3\x00"
_WAL_MAGIC = (0x377F0682, 0x377F0683)  # checksums little-endian, big-endian
_WAL_VERSION = 3007000
_WAL_HEADER = struct.Struct(">8I")
_FRAME_HEADER = struct.Struct(">6I")
_LEAF_TABLE_PAGE = 0x0D
_MAX_WAL_BYTES = 1 << 31  # a longer log is not read: the file is taken as not ours


class FileKind(enum.Enum):
    NEW = "new"
    """No file, an empty file, or an SQLite database that holds nothing: ready to be a store."""
    DATABASE = "database"
    """An SQLite database holding something: whose it is, ``application_id`` says."""
    NOT_SQLITE = "not-sqlite"
    """Something else: random bytes, text, a damaged header, or an empty file beside a log."""


@attrs.frozen
class FileState:
    """What ``examine`` found: the kind, and for a database its header's numbers."""

    kind: FileKind
    reason: str = ""
    application_id: int = 0
    user_version: int = 0
    schema_entries: int = 0
    """Rows of ``sqlite_schema`` on page 1 (a large schema counts as 1: not empty)."""
    in_wal: bool = False
    """Page 1 came from the write-ahead log, not the main file."""


def examine(path: Path) -> FileState:
    """What the file at ``path`` holds, by reading it, its ``-wal`` and its ``-journal``.

    The path is resolved first, as SQLite resolves it, so that the log and journal read are those
    beside the real file. It opens and closes the file, which drops every POSIX lock this process
    holds on it: call it only when no connection of this process has the file open
    (``SqliteMeetingRepository`` makes sure).

    Raises:
        OSError: a file exists but cannot be read.
    """
    path = Path(os.path.realpath(path))
    wal, journal = Path(f"{path}-wal"), Path(f"{path}-journal")
    if not _regular_or_absent(path):  # a FIFO would block, a device is no database
        return FileState(FileKind.NOT_SQLITE, "it is not a regular file")
    for name in (wal, journal):
        if not _regular_or_absent(name):
            return FileState(FileKind.NOT_SQLITE, f"{name.name} beside it is not a regular file")
    main = _read_prefix(path, 65536 + 100)
    if not main:
        # SQLite would delete a log beside an empty file; one it replays has a main file. A
        # journal beside an empty file rolls back to an empty file: nothing is lost.
        if _size(wal):
            return FileState(
                FileKind.NOT_SQLITE,
                "it is empty but has a write-ahead log beside it, which SQLite would delete",
            )
        return FileState(FileKind.NEW)
    if not main.startswith(MAGIC) or len(main) < 100:
        return FileState(FileKind.NOT_SQLITE, "it is not an SQLite database")
    state = _state(main[: _page_size(main)], in_wal=False)
    if state.kind is not FileKind.NEW:
        # Something is there already; an application ID, once set, is never given up, so the
        # newest pages in the log or the journal cannot make it someone else's.
        return state
    # The main file looks empty. A rollback journal holds the pages as they were before the
    # transaction it belongs to, which SQLite writes back before reading anything: what was
    # committed. Then, in WAL mode, the log may hold a newer schema.
    database_page_size = _page_size(main) if _valid_page_size(_page_size(main)) else 4096
    original = _original_page_1(journal, database_page_size)
    if original is _WAS_EMPTY:  # rolled back to no page at all, and then SQLite deletes a log
        if _size(wal):
            return FileState(
                FileKind.NOT_SQLITE,
                "its journal would empty it and SQLite would then delete the write-ahead log "
                "beside it",
            )
        return state
    if isinstance(original, bytes):
        state = _state(original, in_wal=False)
        if state.kind is not FileKind.NEW:
            return state
    newest = _newest_page_1(wal)
    return state if newest is None else _state(newest, in_wal=True)


def _regular_or_absent(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return True


_JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
_PENDING_BYTE = 0x40000000  # the page holding it is the lock page, never journaled
_JOURNAL_HEADER = struct.Struct(">8s5I")
_WAS_EMPTY = object()


def _original_page_1(path: Path, database_page_size: int) -> bytes | object | None:
    """Page 1 as a rollback journal would restore it; ``_WAS_EMPTY`` when the journal would
    truncate the database to nothing; ``None`` when it would leave page 1 alone (no journal, an
    empty or finished one, or page 1 not in it).

    A journal is a series of segments, each a header (padded to the sector size) and records of
    page number, page and checksum. It is read as SQLite's rollback of a hot journal reads it
    (``pager_playback``):

    - the page and sector sizes are the first header's (a page size of 0, as SQLite wrote
      before 3.5.8, is the database's own, ``database_page_size``); a later header counts by
      its magic, its record count and its checksum's seed alone;
    - a record count is taken as written (0: none), or, when it says "to the end", as many
      records as the file holds, and then no header follows;
    - a record of a page beyond the database's size when the transaction began is skipped
      unread; one of page 0 or of the lock page, or one whose checksum fails, ends the reading,
      as does the end of the file or a header without the magic;
    - every record of page 1 is written back in turn: the last one read is the page restored.
    """
    restored: bytes | None = None
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            offset, page_size, sector, database_pages = 0, 0, 0, 0
            while offset + _JOURNAL_HEADER.size <= size:
                file.seek(offset)
                header = file.read(_JOURNAL_HEADER.size)
                magic, records, nonce, pages, sector_field, page_field = _JOURNAL_HEADER.unpack(
                    header
                )
                if magic != _JOURNAL_MAGIC:
                    return restored
                if offset == 0:
                    page_size = page_field or database_page_size
                    sector = sector_field
                    if not (_valid_page_size(page_size) and _valid_sector_size(sector)):
                        return None
                    if pages == 0:
                        return _WAS_EMPTY
                    database_pages = pages
                offset += sector
                to_the_end = records == 0xFFFFFFFF
                if to_the_end:
                    records = (size - offset) // (page_size + 8)
                for _ in range(records):
                    file.seek(offset)
                    record = file.read(page_size + 8)
                    if len(record) < page_size + 8:
                        return restored
                    number = struct.unpack_from(">I", record)[0]
                    if number in (0, _PENDING_BYTE // page_size + 1):  # never a page
                        return restored
                    offset += page_size + 8
                    if number > database_pages:
                        continue
                    page = record[4 : 4 + page_size]
                    checksum = struct.unpack_from(">I", record, 4 + page_size)[0]
                    if checksum != (nonce + sum(page[page_size - 200 :: -200])) & 0xFFFFFFFF:
                        return restored
                    if number == 1:
                        restored = page
                if to_the_end:
                    return restored
                offset = -(-offset // sector) * sector  # the next header starts a sector
            return restored
    except FileNotFoundError:
        return None


def _state(page_1: bytes, *, in_wal: bool) -> FileState:
    if len(page_1) < 108 or not page_1.startswith(MAGIC):
        return FileState(FileKind.NOT_SQLITE, "its first page is damaged")
    user_version, application_id = struct.unpack_from(">I4xi", page_1, 60)
    page_type = page_1[100]
    entries = struct.unpack_from(">H", page_1, 103)[0] if page_type == _LEAF_TABLE_PAGE else 1
    empty = application_id == 0 and user_version == 0 and entries == 0
    return FileState(
        FileKind.NEW if empty else FileKind.DATABASE,
        application_id=application_id,
        user_version=user_version,
        schema_entries=entries,
        in_wal=in_wal,
    )


def _page_size(header: bytes) -> int:
    size: int = struct.unpack_from(">H", header, 16)[0]
    return 65536 if size == 1 else size


def _read_prefix(path: Path, limit: int) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(limit)
    except FileNotFoundError:
        return b""


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _newest_page_1(path: Path) -> bytes | None:
    """Page 1 as the write-ahead log's last committed transaction left it, or ``None``.

    A frame counts only if its salts match the log's header and the running checksum holds, and
    only up to the last frame that commits a transaction: what SQLite itself would replay.
    """
    try:
        with open(path, "rb") as file:
            header = file.read(_WAL_HEADER.size)
            if len(header) < _WAL_HEADER.size:
                return None
            magic, version, page_size, _, salt_1, salt_2, check_1, check_2 = _WAL_HEADER.unpack(
                header
            )
            if (
                magic not in _WAL_MAGIC
                or version != _WAL_VERSION
                or not _valid_page_size(page_size)
            ):
                return None
            big_endian = magic & 1 == 1
            sums = _checksum(header[:24], 0, 0, big_endian)
            if sums != (check_1, check_2):
                return None
            if os.fstat(file.fileno()).st_size > _MAX_WAL_BYTES:
                raise OSError(f"{path} is longer than {_MAX_WAL_BYTES} bytes")
            page_1: bytes | None = None
            committed: bytes | None = None
            while True:
                frame = file.read(_FRAME_HEADER.size + page_size)
                if len(frame) < _FRAME_HEADER.size + page_size:
                    break
                number, commit, salt_a, salt_b, frame_1, frame_2 = _FRAME_HEADER.unpack_from(frame)
                if number == 0 or (salt_a, salt_b) != (salt_1, salt_2):
                    break
                sums = _checksum(frame[:8], *sums, big_endian)
                sums = _checksum(frame[_FRAME_HEADER.size :], *sums, big_endian)
                if sums != (frame_1, frame_2):
                    break
                if number == 1:
                    page_1 = frame[_FRAME_HEADER.size :]
                if commit:
                    committed = page_1
            return committed
    except FileNotFoundError:
        return None


def _valid_page_size(size: int) -> bool:
    return 512 <= size <= 65536 and size & (size - 1) == 0


def _valid_sector_size(size: int) -> bool:
    return 32 <= size <= 65536 and size & (size - 1) == 0


def _checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    """The log's running checksum over ``data`` (a multiple of 8 bytes), from ``(s0, s1)``."""
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    mask = 0xFFFFFFFF
    for index in range(0, len(words), 2):
        s0 = (s0 + words[index] + s1) & mask
        s1 = (s1 + words[index + 1] + s0) & mask
    return s0, s1
