"""``InMemoryMeetingRepository``: a dict behind a lock, for tests and single-process services."""

from __future__ import annotations

import threading

from ..meeting import MeetingKey, OnlineMeeting
from ..ports import WouldWait

__all__ = ["InMemoryMeetingRepository"]


class InMemoryMeetingRepository:
    """Meetings in a dict; ``add_if_absent`` is atomic across threads (R-RES-4)."""

    def __init__(self) -> None:
        self._meetings: dict[MeetingKey, OnlineMeeting] = {}
        self._by_id: dict[tuple[str, str, str], OnlineMeeting] = {}
        self._lock = threading.Lock()

    def get(self, key: MeetingKey) -> OnlineMeeting | None:
        with self._lock:
            return self._meetings.get(key)

    def get_now(self, key: MeetingKey) -> OnlineMeeting | None:
        """``get``, unless another thread holds the store this instant (``WouldWait``)."""
        if not self._lock.acquire(blocking=False):
            raise WouldWait
        try:
            return self._meetings.get(key)
        finally:
            self._lock.release()

    def add_if_absent(self, key: MeetingKey, meeting: OnlineMeeting) -> tuple[OnlineMeeting, bool]:
        with self._lock:
            stored = self._meetings.get(key)
            if stored is not None:
                return stored, False
            self._meetings[key] = meeting
            if meeting.id is not None:
                self._by_id.setdefault((key.tenant_id, key.organizer_id, meeting.id), meeting)
            return meeting, True

    def find_by_id(
        self, *, tenant_id: str, organizer_id: str, meeting_id: str
    ) -> OnlineMeeting | None:
        with self._lock:
            return self._by_id.get((tenant_id, organizer_id, meeting_id))

    def __len__(self) -> int:
        with self._lock:
            return len(self._meetings)
