"""Repository adapters: an in-memory store and a durable SQLite store (the ``MeetingRepository``
port of ``meeting_rules.ports``)."""

from .memory import InMemoryMeetingRepository
from .sqlite import SCHEMA_VERSION, SqliteMeetingRepository, UnusableStoreError

__all__ = [
    "SCHEMA_VERSION",
    "InMemoryMeetingRepository",
    "SqliteMeetingRepository",
    "UnusableStoreError",
]
