"""Adapters of the ports: an in-memory store and a durable SQLite store (``MeetingRepository``),
and ``JwtDirectory`` (``TokenDirectory`` for JWTs; it needs the ``serve`` extra's PyJWT and is
imported when first named)."""

from typing import Any

from .memory import InMemoryMeetingRepository
from .sqlite import SCHEMA_VERSION, SqliteMeetingRepository, UnusableStoreError

__all__ = [
    "SCHEMA_VERSION",
    "InMemoryMeetingRepository",
    "JwtDirectory",
    "SqliteMeetingRepository",
    "UnusableStoreError",
]


def __getattr__(name: str) -> Any:
    if name == "JwtDirectory":
        from .jwt import JwtDirectory

        return JwtDirectory
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
