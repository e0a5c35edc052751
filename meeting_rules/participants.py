"""Who takes part: ``Identity``, ``IdentitySet``, ``MeetingParticipantInfo`` and
``MeetingParticipants`` (R-BODY-5, R-MEET-2, R-MEET-3).

``identity`` and ``identitySet`` are open types in Graph's metadata (R-JSON-4): members such as
``tenantId`` or ``identityProvider`` are kept in ``unknown_members``. Attributes follow Graph's
member names in snake_case; the attribute order is Graph's default member order (seed Example 1).
"""

from __future__ import annotations

import attrs

from ._members import BETA_ONLY, BOTH, GraphObject, member
from .enums import OnlineMeetingRole

__all__ = ["Identity", "IdentitySet", "MeetingParticipantInfo", "MeetingParticipants"]


@attrs.frozen(kw_only=True)
class Identity(GraphObject):
    """``microsoft.graph.identity``: an ID and display name, plus any members of derived types."""

    id: str | None = member()
    display_name: str | None = member(omit_if_unset=BOTH)


@attrs.frozen(kw_only=True)
class IdentitySet(GraphObject):
    """``microsoft.graph.identitySet``: the user, application or device behind a participant."""

    application: Identity | None = member(omit_if_unset=BOTH)
    device: Identity | None = member(omit_if_unset=BOTH)
    user: Identity | None = member(omit_if_unset=BOTH)


@attrs.frozen(kw_only=True)
class MeetingParticipantInfo(GraphObject):
    """``microsoft.graph.meetingParticipantInfo``: one participant."""

    upn: str | None = member()
    role: OnlineMeetingRole | None = member()
    identity: IdentitySet | None = member()


@attrs.frozen(kw_only=True)
class MeetingParticipants(GraphObject):
    """``microsoft.graph.meetingParticipants``; producers, contributors: beta only (R-MEET-3)."""

    organizer: MeetingParticipantInfo | None = member()
    attendees: tuple[MeetingParticipantInfo, ...] = member(factory=tuple, nullable=False)
    producers: tuple[MeetingParticipantInfo, ...] = member(
        factory=tuple, nullable=False, versions=BETA_ONLY
    )
    contributors: tuple[MeetingParticipantInfo, ...] = member(
        factory=tuple, nullable=False, versions=BETA_ONLY
    )
