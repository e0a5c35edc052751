"""The ports the rules run against: storage, time, identifiers and callers, as ``typing.Protocol``s.

The rules never reach for these themselves; a caller passes them in (``repository=``, ``clock=``,
``ids=``, ``directory=``), so every result is reproducible with a fixed clock, seeded identifiers
and callers registered in advance. The caller types a ``TokenDirectory`` answers with live here
too: ``DelegatedUser`` and ``Application``.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from .instant import Instant
from .meeting import MeetingKey, OnlineMeeting, Organizer

__all__ = [
    "Application",
    "Clock",
    "DelegatedUser",
    "IdFactory",
    "MeetingRepository",
    "ReadsWithoutWaiting",
    "TokenDirectory",
    "WouldWait",
]


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

    def find_by_id(
        self, *, tenant_id: str, organizer_id: str, meeting_id: str
    ) -> OnlineMeeting | None:
        """The meeting whose Graph ``id`` is ``meeting_id``, stored under a key of this tenant
        and organizer (compared exactly, as keys are), or ``None``. Should two meetings of one
        organizer share an id, the one stored first (where creates run at once on many
        machines, the one whose storing began first: docs/design.md)."""
        ...


class WouldWait(Exception):
    """A store's ``get_now`` cannot answer without waiting: ask ``get``, where waiting is fine."""


class ReadsWithoutWaiting(Protocol):
    """A store that can also read without waiting (an option of a ``MeetingRepository``).

    ``get_now(key)`` answers as ``get(key)`` does, but never waits for a lock, another writer or
    another machine: where ``get`` would wait, it raises ``WouldWait`` at once. It may still read
    the few pages of a local file a lookup needs. The ASGI application reads on its event loop
    with it, and moves to a worker thread only the calls that may wait.
    """

    def get_now(self, key: MeetingKey) -> OnlineMeeting | None:
        """The meeting stored under ``key``, or ``None``; ``WouldWait`` rather than waiting."""
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


@attrs.frozen(kw_only=True)
class DelegatedUser:
    """A signed-in user's token: work or school, or a personal Microsoft account."""

    tenant_id: str
    user_id: str
    upn: str | None
    scopes: frozenset[str]
    personal: bool = False


@attrs.frozen(kw_only=True)
class Application:
    """An application's token, with its roles and the users its access policy is granted to."""

    tenant_id: str
    app_id: str
    roles: frozenset[str]
    policy_users: frozenset[str]


class TokenDirectory(Protocol):
    """Who a bearer token is, and which users a tenant has.

    Its answers should not wait on another machine: the ASGI application asks them on its event
    loop (a directory that must look callers up remotely should keep what it found).
    """

    def caller(self, token: str) -> DelegatedUser | Application | None:
        """The caller a token stands for, or ``None`` for an unknown token."""
        ...

    def user(self, tenant_id: str, user_id: str) -> Organizer | None:
        """The user with object ID ``user_id`` in the tenant, or ``None``."""
        ...
