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
]


def __getattr__(name: str) -> Any:
    if name == "JwtDirectory":
        from .jwt import JwtDirectory

        return JwtDirectory
    if name == "PostgresMeetingRepository":
        from .postgres import PostgresMeetingRepository

        return PostgresMeetingRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
