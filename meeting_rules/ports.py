"""The ports the rules run against: storage, time and identifiers, as ``typing.Protocol``s.

The rules never reach for these themselves; a caller passes them in (``repository=``, ``clock=``,
``ids=``), so every result is reproducible with a fixed clock and seeded identifiers.
"""

from __future__ import annotations

from typing import Protocol

from .instant import Instant
from .meeting import MeetingKey, OnlineMeeting

__all__ = ["Clock", "IdFactory", "MeetingRepository"]


class MeetingRepository(Protocol):
    """Where meetings are kept, one per ``MeetingKey`` (R-RES-1).

    ``add_if_absent`` is atomic (R-RES-4): of any number of concurrent calls with one key, exactly
    one stores its meeting and returns ``(meeting, True)``; every other returns the stored meeting
    and ``False``. A failure raises a ``GraphError`` (500 or 503) and stores nothing (R-RES-5).
    """

    def get(self, key: MeetingKey) -> OnlineMeeting | None:
        """The meeting stored under ``key``, or ``None``."""
        ...

    def add_if_absent(self, key: MeetingKey, meeting: OnlineMeeting) -> tuple[OnlineMeeting, bool]:
        """Store ``meeting`` unless ``key`` holds one; return the stored one and if it is new."""
        ...


class Clock(Protocol):
    """What time it is (R-TIME-1, R-MEET-1)."""

    def now(self) -> Instant:
        """The current instant."""
        ...


class IdFactory(Protocol):
    """The identifiers Graph's service makes up for a new meeting (R-MEET-5, R-MEET-6, R-HTTP-6)."""

    def guid(self) -> str:
        """A GUID in its 36-character text form (meeting threads, request IDs)."""
        ...

    def digits(self, count: int) -> str:
        """``count`` decimal digits (conference and video-teleconference IDs)."""
        ...
