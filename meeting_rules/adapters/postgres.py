"""``PostgresMeetingRepository``: meetings in a PostgreSQL schema, shared by any number of
processes on any number of machines (extra ``postgres``: psycopg 3 and its pool).

Exactly once (R-RES-4). A create is one statement, in autocommit, at READ COMMITTED::

    WITH inserted AS (INSERT ... ON CONFLICT (tenant_id, organizer_id, external_id) DO NOTHING
                      RETURNING true)
    SELECT ... FROM inserted UNION ALL SELECT ... stored row ... WHERE NOT EXISTS (inserted)

The primary key makes the insert wait for a concurrent insert of the same key to commit or roll
back, then do nothing or insert (PostgreSQL's documented ``ON CONFLICT`` guarantee: an atomic
insert-or-nothing even under concurrency, without serialization failures at READ COMMITTED). So
of any number of racing calls exactly one inserts. A loser's ``SELECT`` in the same statement
runs on the statement's snapshot, taken before the winner committed, and may see nothing; the
loser then reads the row in a second statement (a fresh snapshot, after the commit it waited
for). One round trip in the usual case, two in a race.

Faults. Every statement is atomic (autocommit), so nothing is ever half written. A lost
connection, a server restarting or unreachable, a pool with no free connection in time and a
statement timeout are ``ServiceUnavailableError`` (503, ``Retry-After``). Each call is
idempotent, so a call whose connection broke is tried once more, after the pool has checked its
idle connections and dropped the broken ones (after a restart they all are).

The schema: created in an empty or absent PostgreSQL schema, under a transaction-scoped advisory
lock so that stores constructed at the same moment in many processes all succeed; a schema
holding anything else (other tables, a newer version) is refused with ``UnusableStoreError`` and
left untouched (only catalog reads happen before that decision).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors
from psycopg import sql

from ..errors import GraphError, InternalServerError, ServiceUnavailableError
from ..graph_json import meeting_from_storage, meeting_to_storage
from ..meeting import MeetingKey, OnlineMeeting
from .deadlines import DeadlineExceeded, Deadlines
from .store_errors import RETRY_AFTER_SECONDS, UnusableStoreError

__all__ = ["SCHEMA_VERSION", "STALL_GRACE_SECONDS", "PostgresMeetingRepository"]

SCHEMA_VERSION: Final = 1
# How long after its statement_timeout a statement's answer may take before the store ends the
# connection: the server's own cancellation, and its answer, need a moment to arrive.
STALL_GRACE_SECONDS: Final = 2.0
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LOCK_KEY: Final = 0x6D65657472756C65  # "meetrule": the advisory lock of schema setup
_T = TypeVar("_T")

_TABLES = {"meetings", "store_version"}
# A server's FATAL answers that pass: starting up, shutting down, in recovery, full.
_TRY_AGAIN = ("the database system is", "too many clients", "remaining connection slots")
_CREATE = [
    "CREATE SCHEMA IF NOT EXISTS {schema}",
    """CREATE TABLE {schema}.meetings (
        tenant_id text NOT NULL,
        organizer_id text NOT NULL,
        external_id text NOT NULL,
        meeting_id text,
        stored bigint GENERATED ALWAYS AS IDENTITY,
        meeting bytea NOT NULL,
        PRIMARY KEY (tenant_id, organizer_id, external_id)
    )""",
    "CREATE INDEX meetings_id ON {schema}.meetings (tenant_id, organizer_id, meeting_id, stored)",
    "CREATE TABLE {schema}.store_version (version integer NOT NULL)",
    "INSERT INTO {schema}.store_version VALUES (%s)",
]
_ADD = """
WITH inserted AS (
    INSERT INTO {schema}.meetings (tenant_id, organizer_id, external_id, meeting_id, meeting)
    VALUES (%(t)s, %(o)s, %(e)s, %(id)s, %(m)s)
    ON CONFLICT (tenant_id, organizer_id, external_id) DO NOTHING
    RETURNING true AS created
)
SELECT true, NULL::bytea, NULL::text FROM inserted
UNION ALL
SELECT false, meeting, meeting_id FROM {schema}.meetings
WHERE tenant_id = %(t)s AND organizer_id = %(o)s AND external_id = %(e)s
  AND NOT EXISTS (SELECT 1 FROM inserted)
"""
_GET = (
    "SELECT meeting FROM {schema}.meetings "
    "WHERE tenant_id = %s AND organizer_id = %s AND external_id = %s"
)
_FIND = (
    "SELECT meeting FROM {schema}.meetings "
    "WHERE tenant_id = %s AND organizer_id = %s AND meeting_id = %s ORDER BY stored LIMIT 1"
)


class PostgresMeetingRepository:
    """Meetings in the PostgreSQL schema ``schema`` of the database ``conninfo`` names.

    Args:
        conninfo: a libpq connection string or URL (``postgresql://user@host:port/db``).
        schema: the PostgreSQL schema of this store (lower-case letters, digits, ``_``).
        min_size, max_size: the connection pool's bounds.
        timeout: seconds to wait for a connection (at construction and per call).
        statement_timeout: seconds a statement may run before the server cancels it (503);
            a server that has not answered a statement 2 s after that (a stalled process) has
            its connection ended by the store (503).

    Raises:
        UnusableStoreError: the schema holds something else, or a newer store.
        ServiceUnavailableError: the server cannot be reached in ``timeout`` (503).
    """

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str = "meeting_rules",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        statement_timeout: float = 10.0,
    ) -> None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"a schema name is lower-case letters, digits and _, not {schema!r}")
        self.schema = schema
        self._where = sql.Identifier(schema)
        milliseconds = max(1, int(statement_timeout * 1000))

        def configure(connection: psycopg.Connection[Any]) -> None:
            with self._deadlines.watch(connection.pgconn.socket):
                connection.execute(f"SET statement_timeout = {milliseconds}")

        # TCP keepalives and a user timeout: a peer that is gone (a partition, a dead host) ends
        # a connection in about 15 s instead of the operating system's default of hours.
        options: dict[str, Any] = {
            "autocommit": True,
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            "tcp_user_timeout": int((statement_timeout + 5) * 1000),
        }
        try:
            given = psycopg.conninfo.conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError as error:
            raise UnusableStoreError(
                f"The PostgreSQL connection options cannot be used: {_first_line(error)}"
            ) from None
        if "connect_timeout" not in given:  # the URL's own, else timeout (libpq's least is 2 s)
            options["connect_timeout"] = max(2, int(timeout))
        # The store's own bound on a statement's round trip: a server that stalls after taking
        # a statement (its process stopped, its host swapping) is not cancelled by its own
        # statement_timeout, and its kernel keeps the connection alive.
        self._deadlines = Deadlines(
            statement_timeout + STALL_GRACE_SECONDS, name=f"{schema} deadlines"
        )
        _first_connection(conninfo, timeout, options)
        self._pool = _WatchedPool(
            self._deadlines,
            conninfo,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            kwargs=options,
            configure=configure,
            # psycopg_pool retries a lost connection with a doubling delay for up to this long,
            # then gives it up; the next call asks for a new one at once. Its default (300 s)
            # lets the delay grow to minutes over a long outage, so that calls would fail long
            # after the server is back; bounded so, they succeed again within a few seconds.
            reconnect_timeout=timeout,
            name=f"meeting_rules.{schema}",
        )
        try:
            try:
                self._pool.open(wait=True, timeout=timeout)
            except psycopg_pool.PoolTimeout:
                raise ServiceUnavailableError(
                    f"The meeting store's server cannot be reached in {timeout:g} s.",
                    retry_after_seconds=RETRY_AFTER_SECONDS,
                ) from None
            self._set_up()
        except BaseException:
            self.close()
            raise
        self._add = self._statement(_ADD)
        self._get = self._statement(_GET)
        self._find = self._statement(_FIND)

    def _statement(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(schema=self._where)

    # --- the schema ----------------------------------------------------------------------

    def _set_up(self) -> None:
        def set_up() -> None:
            with (
                self._pool.connection() as connection,
                # The whole transaction, COMMIT included: each statement's deadline, summed.
                self._deadlines.watch(
                    connection.pgconn.socket,
                    seconds=(len(_CREATE) + 6) * self._deadlines.seconds,
                ),
                connection.transaction(),
            ):
                row = connection.execute("SHOW server_encoding").fetchone()
                encoding = row[0] if row else None  # bytes, where the database is SQL_ASCII
                if isinstance(encoding, bytes):
                    encoding = encoding.decode("ascii", "replace")
                if encoding != "UTF8":
                    raise UnusableStoreError(
                        f"The PostgreSQL database's encoding is {encoding}; a meeting store "
                        "needs UTF8, in which every key and meeting can be stored. It was left "
                        "untouched."
                    )
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                tables = {
                    row[0]
                    for row in connection.execute(
                        "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE n.nspname = %s",
                        (self.schema,),
                    )
                }
                # Anything else in the schema (functions, types, ...) depends on it.
                others = connection.execute(
                    "SELECT count(*) FROM pg_depend d JOIN pg_namespace n ON d.refobjid = n.oid "
                    "WHERE d.refclassid = 'pg_namespace'::regclass AND n.nspname = %s "
                    "AND d.classid <> 'pg_class'::regclass",
                    (self.schema,),
                ).fetchone()
                if others is not None and others[0] > 0:
                    raise UnusableStoreError(
                        f"The PostgreSQL schema {self.schema} holds something other than a "
                        "meeting_rules store (functions or types); it was left untouched."
                    )
                if not tables:
                    for statement in _CREATE:
                        parameters = (SCHEMA_VERSION,) if "%s" in statement else ()
                        connection.execute(self._statement(statement), parameters)
                    return
                self._check(connection, tables)

        self._call(set_up)

    def _check(self, connection: psycopg.Connection[Any], relations: set[str]) -> None:
        ours = _TABLES | {"meetings_pkey", "meetings_id", "meetings_stored_seq"}
        if not relations >= _TABLES or relations - ours:
            raise UnusableStoreError(
                f"The PostgreSQL schema {self.schema} holds something other than a "
                f"meeting_rules store ({', '.join(sorted(relations - ours)) or 'tables missing'})"
                "; it was left untouched."
            )
        row = connection.execute(
            self._statement("SELECT max(version) FROM {schema}.store_version")
        ).fetchone()
        version = row[0] if row else None
        if version != SCHEMA_VERSION:
            raise UnusableStoreError(
                f"The PostgreSQL schema {self.schema} holds a meeting_rules store of version "
                f"{version}; this library reads version {SCHEMA_VERSION}. It was left untouched."
            )

    # --- the port ------------------------------------------------------------------------

    def get(self, key: MeetingKey) -> OnlineMeeting | None:
        parts = (key.tenant_id, key.organizer_id, key.external_id)
        if any("\x00" in part for part in parts):
            return None  # PostgreSQL text holds no NUL, so no key with one is stored
        row = self._call(lambda: self._one(self._get, parts))
        return None if row is None else self._meeting(row[0])

    def add_if_absent(self, key: MeetingKey, meeting: OnlineMeeting) -> tuple[OnlineMeeting, bool]:
        try:  # never store what could not be read back
            data = meeting_to_storage(meeting, checked=True)
        except GraphError as error:
            raise InternalServerError(f"The meeting cannot be stored: {error.message}") from None
        except (AttributeError, TypeError, ValueError) as error:
            raise InternalServerError(f"The meeting cannot be stored: {error}") from None
        values = {
            "t": key.tenant_id,
            "o": key.organizer_id,
            "e": key.external_id,
            "id": meeting.id,
            "m": data,
        }
        attempts = 0

        def add() -> Any:
            nonlocal attempts
            attempts += 1
            return self._one(self._add, values)

        row = self._call(add)
        if row is None:  # lost the race: the winner committed after this statement's snapshot
            parts = (key.tenant_id, key.organizer_id, key.external_id)
            stored = self._call(lambda: self._one(self._get, parts))
            if stored is None:
                raise ServiceUnavailableError(
                    "The meeting store changed during the call; try again.",
                    retry_after_seconds=RETRY_AFTER_SECONDS,
                )
            return self._meeting(stored[0]), False
        created, stored_data, _ = row
        if created or (attempts > 1 and bytes(stored_data) == data):
            # A retried create that finds its own meeting, byte for byte: the first attempt
            # committed, then its connection broke before the answer came back. It is this
            # call's create. (An id alone does not say so: a channel meeting's id is built from
            # the organizer, the thread and the millisecond, R-MEET-6, and two creates may share
            # it; two creates never build the same bytes, their conference IDs being random.)
            return meeting, True
        return self._meeting(stored_data), False

    def find_by_id(
        self, *, tenant_id: str, organizer_id: str, meeting_id: str
    ) -> OnlineMeeting | None:
        parts = (tenant_id, organizer_id, meeting_id)
        if any("\x00" in part for part in parts):
            return None  # PostgreSQL text holds no NUL (an id from a URL's %00, say)
        row = self._call(lambda: self._one(self._find, parts))
        return None if row is None else self._meeting(row[0])

    def __len__(self) -> int:
        count = self._statement("SELECT count(*) FROM {schema}.meetings")
        row = self._call(lambda: self._one(count, ()))
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the pool's connections."""
        try:
            self._pool.close()
        finally:
            self._deadlines.close()

    def __enter__(self) -> PostgresMeetingRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- calls ---------------------------------------------------------------------------

    def _one(self, statement: sql.Composed, parameters: Any) -> Any:
        with self._pool.connection() as connection:
            return self._execute(connection, statement, parameters).fetchone()

    def _execute(
        self, connection: psycopg.Connection[Any], statement: Any, parameters: Any = None
    ) -> psycopg.Cursor[Any]:
        """One statement and its answer, within the store's deadline."""
        with self._deadlines.watch(connection.pgconn.socket):
            return connection.execute(statement, parameters)

    def _call(self, call: Callable[[], _T]) -> _T:
        """``call``, tried once more on a fresh connection if its connection broke (every call
        of this store is idempotent); failures as Graph errors."""
        for attempt in (1, 2):
            try:
                return call()
            except UnusableStoreError:
                raise
            except DeadlineExceeded:
                # Not tried again: the server is stalled, and every connection to it would be.
                raise ServiceUnavailableError(
                    f"The meeting store did not answer in {self._deadlines.seconds:g} s; "
                    "try again.",
                    retry_after_seconds=RETRY_AFTER_SECONDS,
                ) from None
            except pg_errors.InsufficientPrivilege as error:
                raise UnusableStoreError(
                    f"The PostgreSQL store {self.schema} cannot be used: {_first_line(error)}"
                ) from None
            except pg_errors.ReadOnlySqlTransaction:
                # A server that only reads: a standby reached during a failover, or one set
                # read-only for maintenance. Writes succeed again once it is a primary.
                raise ServiceUnavailableError(
                    "The meeting store is read-only for now; try again.",
                    retry_after_seconds=RETRY_AFTER_SECONDS,
                ) from None
            except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as error:
                if attempt == 1 and not isinstance(
                    error, psycopg_pool.PoolTimeout | pg_errors.QueryCanceled
                ):
                    self._discard_broken()
                    continue
                what = "timed out" if isinstance(error, pg_errors.QueryCanceled) else "unavailable"
                raise ServiceUnavailableError(  # no server address or driver text for clients
                    f"The meeting store is {what}; try again.",
                    retry_after_seconds=RETRY_AFTER_SECONDS,
                ) from None
            except psycopg.Error as error:
                raise InternalServerError(
                    f"The meeting store failed: {_first_line(error)}"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _discard_broken(self) -> None:
        """After a broken connection, the pool's idle ones are likely broken too (a restart, a
        failover): check them all, so that the retry gets a live one. The whole check is
        bounded by one statement's deadline (a server that stalls meanwhile)."""
        with contextlib.suppress(psycopg.Error, psycopg_pool.PoolTimeout):
            self._pool.check_within(self._deadlines.seconds)

    def _meeting(self, data: bytes) -> OnlineMeeting:
        try:
            return meeting_from_storage(bytes(data))
        except GraphError as error:
            raise UnusableStoreError(  # 500, as any failure; the command's exit 2
                f"The meeting store {self.schema} holds a damaged meeting: {error.message}"
            ) from None


class _WatchedPool(psycopg_pool.ConnectionPool[Any]):
    """The pool whose health check (``check``) is bounded: every idle connection it tries must
    answer before one deadline, set by ``check_within``; one that has not is shut down, and the
    pool replaces it. The connections ``check`` tries are off the pool meanwhile, so no call
    is using them."""

    def __init__(self, deadlines: Deadlines, *args: Any, **kwargs: Any) -> None:
        self._deadlines = deadlines
        self._checking = threading.local()  # the deadline of this thread's check
        super().__init__(*args, **kwargs)

    def check_within(self, seconds: float) -> None:
        self._checking.until = time.monotonic() + seconds
        try:
            self.check()
        finally:
            del self._checking.until

    def check_connection(self, conn: psycopg.Connection[Any]) -> None:  # type: ignore[override]
        # ``check`` calls this on its own thread, one idle connection after another.
        until: float | None = getattr(self._checking, "until", None)
        left = self._deadlines.seconds if until is None else until - time.monotonic()
        with self._deadlines.watch(conn.pgconn.socket, seconds=max(0.0, left)):
            psycopg_pool.ConnectionPool.check_connection(conn)


def _first_connection(conninfo: str, timeout: float, options: dict[str, Any]) -> None:
    """One connection before the pool's, to tell a server that is not there (503) from one that
    refuses this store (a wrong database, a failed login: ``UnusableStoreError``)."""
    try:
        psycopg.connect(conninfo, **options).close()
    except psycopg.OperationalError as error:
        # libpq gives no SQLSTATE for a refused connection; the server's FATAL says why.
        text = str(error)
        if text.startswith("connection is bad:"):  # libpq refused the options, unsent
            reason = _first_line(error).removeprefix("connection is bad:").strip()
            raise UnusableStoreError(
                f"The PostgreSQL connection options cannot be used: {reason}"
            ) from None
        refused = (error.sqlstate or "")[:2] in ("28", "3D", "42") or (
            "FATAL:" in text and not any(m in text for m in _TRY_AGAIN)
        )
        if refused:  # authentication, no such database, no privilege
            raise UnusableStoreError(
                f"The PostgreSQL server refuses this store: {_first_line(error)}"
            ) from None
        raise ServiceUnavailableError(
            f"The meeting store's server cannot be reached: {_first_line(error)}",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        ) from None
    except psycopg.Error as error:
        raise UnusableStoreError(
            f"The PostgreSQL store cannot be used: {_first_line(error)}"
        ) from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
