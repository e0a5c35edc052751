"""The SQLite store's file format: its marks, its table, the conversions from older schemas and
the statements ``SqliteMeetingRepository`` runs.
"""

from __future__ import annotations

import sqlite3

from ..graph_json import meeting_from_storage

__all__ = [
    "APPLICATION_ID",
    "FROM_SCHEMA_1",
    "FROM_SCHEMA_2",
    "INSERT",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SELECT",
    "SELECT_BY_ID",
    "Made",
    "Row",
    "insert",
    "stored_meeting_id",
]

APPLICATION_ID = 0x4D52_4D31  # "MRM1": this file is a meeting_rules store
SCHEMA_VERSION = 3
Key = tuple[str, str, str]
Row = tuple[Key, bytes, str | None]
"""A row ``add_if_absent`` writes: the key's parts, the stored meeting, its Graph id."""
Made = tuple[bool, bytes | None]
"""A row's outcome: whether it was inserted; if not, the stored meeting already under its key."""
# Schema 3 adds the meeting's Graph id, indexed under its tenant and organizer, for find_by_id.
ID_INDEX = (
    "CREATE INDEX meetings_id ON meetings (tenant_id, organizer_id, meeting_id)",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
# Run one by one inside BEGIN IMMEDIATE (executescript would commit first): all or nothing.
TABLE = (
    """CREATE TABLE meetings (
        tenant_id    TEXT NOT NULL,
        organizer_id TEXT NOT NULL,
        external_id  TEXT NOT NULL,
        meeting      BLOB NOT NULL,
        meeting_id   TEXT
    )""",
    "CREATE UNIQUE INDEX meetings_key ON meetings (tenant_id, organizer_id, external_id)",
    *ID_INDEX,
)
SCHEMA = (f"PRAGMA application_id = {APPLICATION_ID}", *TABLE)
# Schema 1 kept each row in its key's B-tree (WITHOUT ROWID), where rows overflowed into pages of
# their own: the rows move to the schema-2 table unchanged, as the reader reads both forms.
FROM_SCHEMA_1 = (
    "ALTER TABLE meetings RENAME TO meetings_schema_1",
    *TABLE[:1],
    "INSERT INTO meetings (tenant_id, organizer_id, external_id, meeting, meeting_id) "
    "SELECT tenant_id, organizer_id, external_id, meeting, "
    "stored_meeting_id(CAST(meeting AS BLOB)) "
    "FROM meetings_schema_1",
    "DROP TABLE meetings_schema_1",
    *TABLE[1:],
)
# Schema 2 is schema 3 without the id: the column is added and filled from each stored meeting.
FROM_SCHEMA_2 = (
    "ALTER TABLE meetings ADD COLUMN meeting_id TEXT",
    "UPDATE meetings SET meeting_id = stored_meeting_id(CAST(meeting AS BLOB))",
    *ID_INDEX,
)
INSERT = (
    "INSERT INTO meetings (tenant_id, organizer_id, external_id, meeting, meeting_id) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
SELECT = "SELECT meeting FROM meetings WHERE tenant_id = ? AND organizer_id = ? AND external_id = ?"
# Rows without an id are read too: a process of version 0.1 may still be writing to a converted
# file, and its rows carry no id (for a store of this version, they are meetings without one).
SELECT_BY_ID = (
    "SELECT meeting_id, CAST(meeting AS BLOB) FROM meetings "
    "WHERE tenant_id = ?1 AND organizer_id = ?2 AND (meeting_id = ?3 OR meeting_id IS NULL) "
    "ORDER BY rowid"
)


def stored_meeting_id(data: bytes) -> str | None:
    """The Graph id of a meeting in the store's form, for converting an older schema; a meeting
    without an id, or a row that cannot be read (``get`` reports it, as before), has none.

    Given the row as bytes (``CAST(meeting AS BLOB)``): a TEXT row that is not UTF-8 would
    otherwise fail before this is called, and with it the whole conversion."""
    try:
        return meeting_from_storage(data).id
    except Exception:  # any row that cannot be read: it keeps no id, and the conversion goes on
        return None


def insert(connection: sqlite3.Connection, parts: Key, data: bytes, meeting_id: str | None) -> Made:
    """In the transaction open, ``add_if_absent``'s row: whether it was inserted, or the row
    already under its key."""
    if connection.execute(INSERT, (*parts, data, meeting_id)).rowcount == 1:
        return True, None
    row = connection.execute(SELECT, parts).fetchone()
    return False, None if row is None else row[0]
