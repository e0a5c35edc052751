"""Adapters of the ports: an in-memory store, a durable SQLite store and a PostgreSQL store
shared by many machines (``MeetingRepository``), and ``JwtDirectory`` (``TokenDirectory`` for
JWTs). ``PostgresMeetingRepository`` needs the ``postgres`` extra (psycopg), ``JwtDirectory`` the
``serve`` extra (PyJWT); each is imported when first named."""

from typing import Any

from .memory import InMemoryMeetingRepository
from .sqlite import SCHEMA_VERSION, SqliteMeetingRepository, UnusableStoreError

__all__ = [
    "SCHEMA_VERSION",
    "InMemoryMeetingRepository",
    "JwtDirectory",
    "PostgresMeetingRepository",
    "SqliteMeetingRepository",
    "UnusableStoreError",
    "open_store",
]


def open_store(spec: str, *, busy_timeout: float | None = None) -> Any:
    """The store ``spec`` names: a ``postgresql://`` (or ``postgres://``) URL opens a
    ``PostgresMeetingRepository`` (extra ``postgres``), anything else is an SQLite file's path
    (``busy_timeout`` applies to it). What the stores raise when they open, they raise here.

    Raises:
        UnusableStoreError: also when a PostgreSQL URL is given without the ``postgres`` extra.
    """
    if spec.startswith(("postgresql://", "postgres://")):
        try:
            spec.encode("utf-8")
        except UnicodeEncodeError:  # bytes of a command line that are not UTF-8
            raise UnusableStoreError(
                f"the PostgreSQL URL {spec.encode('utf-8', 'backslashreplace').decode()} is "
                "not UTF-8"
            ) from None
        try:
            from .postgres import PostgresMeetingRepository
        except ImportError:
            raise UnusableStoreError(
                "a PostgreSQL store needs the 'postgres' extra: "
                "pip install 'meeting_rules[postgres]'"
            ) from None
        return PostgresMeetingRepository(spec)
    waits = {} if busy_timeout is None else {"busy_timeout": busy_timeout}
    return SqliteMeetingRepository(spec, **waits)


def __getattr__(name: str) -> Any:
    if name == "JwtDirectory":
        from .jwt import JwtDirectory

        return JwtDirectory
    if name == "PostgresMeetingRepository":
        from .postgres import PostgresMeetingRepository

        return PostgresMeetingRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
