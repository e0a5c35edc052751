"""The stores' failures: ``UnusableStoreError``, and what an SQLite error means for a call."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import GraphError, InternalServerError, ServiceUnavailableError

__all__ = ["RETRY_AFTER_SECONDS", "UnusableStoreError", "sqlite_error"]

RETRY_AFTER_SECONDS = 1
"""What a 503 of a busy or full store suggests as ``Retry-After``."""


class UnusableStoreError(InternalServerError):
    """500: the store cannot be used: its file is not a meeting_rules store of this schema (it was
    not touched), the file or its directory cannot be opened or written, or the meeting asked
    for is stored damaged (bytes changed on disk)."""


# SQLite's primary result codes that say the store itself is unusable, not that a call failed.
_UNUSABLE_CODES = {
    3: "permission denied",  # SQLITE_PERM
    8: "it is read-only",  # SQLITE_READONLY
    11: "it is damaged",  # SQLITE_CORRUPT
    14: "it cannot be opened",  # SQLITE_CANTOPEN
    23: "access was refused",  # SQLITE_AUTH
    26: "it is not an SQLite database",  # SQLITE_NOTADB
}
# ... and those that say it cannot take a call now, but may in a moment.
_UNAVAILABLE_CODES = {
    5: "busy",  # SQLITE_BUSY: another writer holds it
    6: "locked",  # SQLITE_LOCKED
    13: "full",  # SQLITE_FULL: the disk or a file-size limit
}


def sqlite_error(error: sqlite3.Error, path: Path) -> GraphError:
    """The Graph error for an SQLite failure: 503 when a retry may succeed, else 500."""
    code = getattr(error, "sqlite_errorcode", 1) & 0xFF
    text = str(error)
    if code in _UNAVAILABLE_CODES or "locked" in text:
        return ServiceUnavailableError(
            f"The meeting store {path} is {_UNAVAILABLE_CODES.get(code, 'busy')}: {text}",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )
    if code in _UNUSABLE_CODES:
        return UnusableStoreError(
            f"The meeting store {path} cannot be used: {_UNUSABLE_CODES[code]} ({text})."
        )
    return InternalServerError(f"The meeting store {path} failed: {text}")
