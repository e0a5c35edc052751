"""``SqliteMeetingRepository``: a durable store in one SQLite file, shared by threads and processes.

- WAL journal with ``synchronous=FULL``: a create that returned survives a power cut.
- One table of meetings, in the order they were stored, with a unique index on (tenant,
  organizer, externalId), compared byte for byte (R-RES-1). A meeting's row fits in a page, so a
  store takes about 1.4 times its meetings' compact JSON. Each row keeps the meeting's Graph id
  too, indexed under its tenant and organizer, for ``find_by_id`` (schema 3; a schema-2 file, as
  version 0.1 wrote it, and a schema-1 file, which kept the rows in the key's own B-tree, where
  they overflowed, are converted when opened; a converted file is not readable by 0.1 again).
- ``add_if_absent`` inserts if absent and reads back in a ``BEGIN IMMEDIATE`` transaction, so of
  any number of racing threads or processes exactly one creates (R-RES-4); a failure rolls back
  and stores nothing (R-RES-5). The threads of one process that write at once share a transaction
  (``group_commit``): one fsync makes all their meetings durable, and each returns only after it.
- The file says what it is: ``PRAGMA application_id`` marks a meeting_rules store and
  ``PRAGMA user_version`` its schema. A file that is not such a store (random bytes, another
  application's database, a newer schema) is refused and left untouched.
- Meetings are kept in ``graph_json.meeting_to_storage``'s form: every member that is set, the
  layouts and unknown members, so a meeting comes back equal to the 100 ns.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import GraphError, InternalServerError, ServiceUnavailableError
from ..graph_json import meeting_from_storage, meeting_to_storage
from ..meeting import MeetingKey, OnlineMeeting
from ..ports import WouldWait
from .group_commit import GroupCommit
from .sqlite_file import FileKind, examine
from .sqlite_schema import (
    APPLICATION_ID,
    FROM_SCHEMA_1,
    FROM_SCHEMA_2,
    SCHEMA,
    SCHEMA_VERSION,
    SELECT,
    SELECT_BY_ID,
    Made,
    Row,
    insert,
    stored_meeting_id,
)
from .store_errors import RETRY_AFTER_SECONDS, UnusableStoreError, sqlite_error

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SqliteMeetingRepository", "UnusableStoreError"]

DEFAULT_BUSY_TIMEOUT = 30.0


def _pragmas(connection: sqlite3.Connection) -> tuple[int, int]:
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    return application_id, connection.execute("PRAGMA user_version").fetchone()[0]


def _write_ahead(connection: sqlite3.Connection) -> None:
    """Put the store in WAL mode, unless it is already (a process may have been stopped between
    making the schema and this); when the file is busy, the next open tries again."""
    if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        with contextlib.suppress(sqlite3.OperationalError):
            connection.execute("PRAGMA journal_mode = WAL")


def _has_table(connection: sqlite3.Connection) -> bool:
    row = connection.execute(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meetings'"
    ).fetchone()
    return bool(row[0])


_OPENING = threading.Lock()
_OPEN_HERE: dict[object, int] = {}
"""The files this process has stores open on (``_file_keys``), with how many."""


def _file_keys(path: Path) -> tuple[object, ...]:
    """The names of a file in ``_OPEN_HERE``: its real path, and its device and inode once it
    exists (the same file by another path)."""
    real = os.path.realpath(path)
    try:
        status = os.stat(real)
    except OSError:
        return (real,)
    return (real, (status.st_dev, status.st_ino))


def _release(keys: tuple[object, ...]) -> None:
    with _OPENING:
        for key in keys:
            left = _OPEN_HERE.get(key, 0) - 1
            if left > 0:
                _OPEN_HERE[key] = left
            else:
                _OPEN_HERE.pop(key, None)


class _Holder:
    """One thread's connection; closed when the thread ends and its locals are dropped."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.pid = os.getpid()
        self.close = weakref.finalize(self, connection.close)


def _group_commit(store: SqliteMeetingRepository) -> GroupCommit[Row, Made]:
    """The store's writers' queue, holding the store weakly: no cycle keeps an unclosed store
    (its connections, its file's entry in ``_OPEN_HERE``) alive after its last reference."""
    reference = weakref.ref(store)

    def commit(batch: Sequence[Row]) -> list[Made | Exception]:
        found = reference()
        if found is None:  # a writer holds the store while it writes: never met
            raise InternalServerError("The meeting store is gone.")
        return found._commit(batch)

    return GroupCommit(commit)


class SqliteMeetingRepository:
    """Meetings in the SQLite file at ``path`` (made if missing or empty).

    Safe to share between threads (a connection per thread) and between processes that each open
    the same file. ``busy_timeout`` is how long a call waits for another writer, in seconds:
    first for this process's writers (they take turns), then for other processes'.

    Opening reads the file (and its ``-wal``) before any connection is made: a file that is not
    empty and not a meeting_rules store is refused and left byte for byte as it was, its ``-wal``
    and ``-shm`` included. A store opens whenever SQLite itself can read it, also while another
    process checkpoints it or after a checkpoint was cut short.

    Raises:
        UnusableStoreError: the file exists but is not a meeting_rules store of this schema, or
            the file or its directory cannot be opened (a missing directory, no permission).
        ServiceUnavailableError: a new or old-schema store must be set up, and another process
            held the file's write lock for longer than ``busy_timeout`` (503; try again).
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._holders: weakref.WeakSet[_Holder] = weakref.WeakSet()
        self._lock = threading.Lock()
        # This process's writers queue here and commit in shared transactions (GroupCommit),
        # rather than in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) and
        # so gave creates a p99 of 135 ms at eight threads. Other processes still meet the file
        # lock and the busy timeout. A child made by fork() gets a queue of its own (its parent's
        # threads may have held this one at the fork); correctness never rests on it: SQLite's
        # lock does.
        self._writing = (os.getpid(), _group_commit(self))
        self._forget: Callable[[], object] | None = None
        with _OPENING:
            # Reading the file's bytes opens and closes it, which would drop the locks of this
            # process's connections to it: a file with a store open here (by any path: a link,
            # a bind mount) is known to be ours and not read again.
            if not any(_OPEN_HERE.get(key) for key in _file_keys(self.path)):
                self._check_file()
                self._make_file()  # so that the file has its identity before any connection
            keys = _file_keys(self.path)
            for key in keys:
                _OPEN_HERE[key] = _OPEN_HERE.get(key, 0) + 1
            self._forget = weakref.finalize(self, _release, keys)
        try:
            self._prepare()
        except BaseException:
            self.close()  # no connection or descriptor outlives a failed open
            raise

    # --- the file ---------------------------------------------------------------------------

    def _refusal(self, reason: str) -> UnusableStoreError:
        return UnusableStoreError(f"{self.path} is not a meeting_rules store: {reason}.")

    def _check_file(self) -> None:
        """Refuse, without writing, a file that is not new and not one of our stores."""
        try:
            state = examine(self.path)
        except OSError as error:
            raise UnusableStoreError(
                f"The meeting store {self.path} cannot be read: {error.strerror or error}."
            ) from None
        if state.kind is FileKind.NOT_SQLITE:
            raise self._refusal(state.reason)
        if state.kind is FileKind.NEW:
            if not self.path.parent.is_dir():
                raise UnusableStoreError(
                    f"The meeting store {self.path} cannot be made: there is no directory "
                    f"{self.path.parent}."
                )
            return
        if state.application_id != APPLICATION_ID:
            raise self._refusal(
                f"it is another application's SQLite database (application_id "
                f"{state.application_id})"
            )
        self._check_version(state.user_version)

    def _make_file(self) -> None:
        """Make a missing store file, empty (SQLite takes it for an empty database)."""
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            return
        except OSError as error:
            raise UnusableStoreError(
                f"The meeting store {self.path} cannot be made: {error.strerror or error}."
            ) from None
        os.close(descriptor)

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise UnusableStoreError(
                f"{self.path} is a meeting_rules store of schema version {version}; this version "
                f"of meeting_rules reads versions 1 to {SCHEMA_VERSION} only."
            )

    def _prepare(self) -> None:
        """Make a new store's schema, or convert an old one; as SQLite sees the file, under its
        write lock, so that racing processes make it once. A healthy store takes no lock."""
        connection: sqlite3.Connection | None = None
        try:
            connection = self._connection()
            if self._ready(connection):
                _write_ahead(connection)
                return  # made before: opening takes no write lock
            connection.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have made it since; look again inside the lock.
                version = SCHEMA_VERSION if self._ready(connection) else self._setup(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            if version == 1:
                self._give_back_space(connection)
            _write_ahead(connection)
        except sqlite3.Error as error:
            raise self._old_and_read_only(error, connection) or sqlite_error(
                error, self.path
            ) from None

    def _old_and_read_only(
        self, error: sqlite3.Error, connection: sqlite3.Connection | None
    ) -> UnusableStoreError | None:
        """An older store that cannot be converted because SQLite may not write it: what to do,
        rather than SQLite's "attempt to write a readonly database"."""
        if connection is None or getattr(error, "sqlite_errorcode", 0) & 0xFF != 8:
            return None  # 8: SQLITE_READONLY
        try:
            application_id, version = _pragmas(connection)
        except sqlite3.Error:
            return None
        if application_id != APPLICATION_ID or version not in (1, 2):
            return None
        return UnusableStoreError(
            f"{self.path} is a meeting_rules store of schema version {version}, which this "
            f"version converts to schema {SCHEMA_VERSION} when it opens it, and it is read-only "
            "here. Open it once where it can be written (a converted store is no longer "
            "readable by meeting_rules 0.1), or read it with meeting_rules 0.1. It was left "
            "untouched."
        )

    def _ready(self, connection: sqlite3.Connection) -> bool:
        """Whether the file is a store of this schema, as SQLite reads it."""
        application_id, version = _pragmas(connection)
        if application_id != APPLICATION_ID or version != SCHEMA_VERSION:
            return False
        if not _has_table(connection):
            raise UnusableStoreError(f"{self.path} is a damaged meeting_rules store: no table.")
        return True

    def _setup(self, connection: sqlite3.Connection) -> int:
        """Inside the write lock: make the schema of an empty database, or convert schema 1 or 2.

        Returns the schema version found. The checks before opening read the file's bytes;
        these read what SQLite reads, the last word on what the file holds.
        """
        application_id, version = _pragmas(connection)
        entries = connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
        if application_id == 0 and version == 0 and entries == 0:
            statements: tuple[str, ...] = SCHEMA
        elif application_id != APPLICATION_ID:
            raise self._refusal(
                f"it is another application's SQLite database (application_id {application_id})"
            )
        elif version in (1, 2) and _has_table(connection):
            statements = FROM_SCHEMA_1 if version == 1 else FROM_SCHEMA_2
            connection.create_function(
                "stored_meeting_id", 1, stored_meeting_id, deterministic=True
            )
        else:
            self._check_version(version)
            raise UnusableStoreError(f"{self.path} is a damaged meeting_rules store: no table.")
        for statement in statements:
            connection.execute(statement)
        return int(version)

    def _give_back_space(self, connection: sqlite3.Connection) -> None:
        """After a conversion, return the old table's pages to the file system, if no one else
        is reading the file; otherwise they stay free pages, for new meetings to fill."""
        busy_timeout = connection.execute("PRAGMA busy_timeout").fetchone()[0]
        connection.execute("PRAGMA busy_timeout = 0")
        try:
            connection.execute("VACUUM")
        except sqlite3.OperationalError:
            pass  # busy: another connection has the file open in a transaction
        finally:
            connection.execute(f"PRAGMA busy_timeout = {busy_timeout}")

    def _writes(self) -> GroupCommit[Row, Made]:
        pid, writes = self._writing
        if pid != os.getpid():
            pid, writes = self._writing = (os.getpid(), _group_commit(self))
        return writes

    def _connection(self, *, waits: bool = True) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again after a fork); with
        ``waits=False``, its second one, which never waits for a lock (``get_now``)."""
        local = self._local
        name = "holder" if waits else "quick"
        holder: _Holder | None = getattr(local, name, None)
        if holder is None or holder.pid != os.getpid():
            if holder is not None:
                holder.close.detach()  # a parent's connection: never touched after a fork
            timeout = self.busy_timeout if waits else 0.0
            connection = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            if waits:
                connection.execute("PRAGMA synchronous = FULL")
            holder = _Holder(connection)
            setattr(local, name, holder)
            with self._lock:
                self._holders.add(holder)
        return holder.connection

    # --- the port ---------------------------------------------------------------------------

    def get(self, key: MeetingKey) -> OnlineMeeting | None:
        return self._get(key, waits=True)

    def get_now(self, key: MeetingKey) -> OnlineMeeting | None:
        """``get`` on a connection that never waits for a lock (``WouldWait`` instead); in WAL
        mode a read waits only in rare moments, as while another rebuilds the WAL index."""
        try:
            return self._get(key, waits=False)
        except ServiceUnavailableError:  # busy or locked: not a failure, a wait
            raise WouldWait from None

    def _get(self, key: MeetingKey, *, waits: bool) -> OnlineMeeting | None:
        parts = (key.tenant_id, key.organizer_id, key.external_id)
        try:
            row = self._connection(waits=waits).execute(SELECT, parts).fetchone()
        except sqlite3.Error as error:
            raise sqlite_error(error, self.path) from None
        return None if row is None else self._meeting(row[0])

    def add_if_absent(self, key: MeetingKey, meeting: OnlineMeeting) -> tuple[OnlineMeeting, bool]:
        try:  # never store what could not be read back (a hand-built NUL or lone surrogate)
            data = meeting_to_storage(meeting, checked=True)
        except GraphError as error:
            raise InternalServerError(f"The meeting cannot be stored: {error.message}") from None
        except (AttributeError, TypeError, ValueError) as error:  # not even a meeting's shape
            raise InternalServerError(f"The meeting cannot be stored: {error}") from None
        parts = (key.tenant_id, key.organizer_id, key.external_id)
        try:
            created, row = self._writes().write((parts, data, meeting.id), self.busy_timeout)
        except TimeoutError:
            raise ServiceUnavailableError(
                f"The meeting store {self.path} is busy: this process's other writers held it "
                f"for more than {self.busy_timeout:g} s.",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            ) from None
        except sqlite3.Error as error:
            raise sqlite_error(error, self.path) from None
        if created:
            return meeting, True
        assert row is not None
        return self._meeting(row), False

    def _commit(self, batch: Sequence[Row]) -> list[Made | Exception]:
        """One transaction for a batch of ``add_if_absent``'s rows, in turn (``GroupCommit``):
        for each, whether it was inserted, or the row already under its key; or the exception
        its own statements met (undone to its savepoint, the rest of the batch unharmed).

        A row alone in its batch (one writer at a time, the common case) takes no savepoint: its
        failure is raised, the transaction, which held nothing else, rolled back, and
        ``GroupCommit`` gives that one write the failure as it would an outcome. Two statements
        fewer: 301 to 279 µs a create in a loop of the store alone. A row whose failure made
        SQLite roll back the whole transaction (a full disk, an I/O error) fails the batch."""
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            outcomes: list[Made | Exception] = []
            if len(batch) == 1:
                outcomes.append(insert(connection, *batch[0]))
            else:
                for row in batch:
                    connection.execute("SAVEPOINT row")
                    try:
                        outcomes.append(insert(connection, *row))
                    except Exception as error:  # this row's own failure (a key SQLite refuses)
                        if not connection.in_transaction:  # SQLite undid all: the batch fails
                            raise
                        connection.execute("ROLLBACK TO row")
                        outcomes.append(error)
                    connection.execute("RELEASE row")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return outcomes

    def find_by_id(
        self, *, tenant_id: str, organizer_id: str, meeting_id: str
    ) -> OnlineMeeting | None:
        parts = (tenant_id, organizer_id, meeting_id)
        try:
            rows = self._connection().execute(SELECT_BY_ID, parts).fetchall()
        except sqlite3.Error as error:
            raise sqlite_error(error, self.path) from None
        for found_id, data in rows:
            if found_id is not None:
                return self._meeting(data)
            with contextlib.suppress(GraphError):  # a row without an id: read to see its id
                meeting = meeting_from_storage(data)
                if meeting.id == meeting_id:
                    return meeting
        return None

    def _meeting(self, data: bytes) -> OnlineMeeting:
        try:
            return meeting_from_storage(data)
        except GraphError as error:
            raise UnusableStoreError(  # 500, as any failure; the command's exit 2
                f"The meeting store {self.path} holds a damaged meeting: {error.message}"
            ) from None

    def __len__(self) -> int:
        try:
            row = self._connection().execute("SELECT count(*) FROM meetings").fetchone()
        except sqlite3.Error as error:
            raise sqlite_error(error, self.path) from None
        return int(row[0])

    def close(self) -> None:
        """Close every connection this repository opened (in this process)."""
        with self._lock:
            holders, self._holders = list(self._holders), weakref.WeakSet()
        for holder in holders:
            holder.close()
        self._local = threading.local()
        if self._forget is not None:
            self._forget()

    def __enter__(self) -> SqliteMeetingRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
