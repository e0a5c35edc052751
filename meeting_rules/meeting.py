"""The onlineMeeting resource and its parts, and the key it is stored under (R-RES-1).

``OnlineMeeting`` models the members createOrGet reads or sets; every other member of a meeting
read from Graph JSON (``allowMeetingChat``, ``joinMeetingIdSettings``, ...) is kept, in place, in
``unknown_members`` (R-JSON-4). The attribute order is the default member order of Graph's
responses (seed Example 1).
"""

from __future__ import annotations

import re

import attrs

from ._members import BETA_ONLY, BOTH, V1_ONLY, GraphObject, member
from .enums import LobbyBypassScope, OnlineMeetingPresenters
from .instant import Instant
from .participants import MeetingParticipants

__all__ = [
    "GUID",
    "AudioConferencing",
    "ChatInfo",
    "LobbyBypassSettings",
    "MeetingKey",
    "OnlineMeeting",
    "Organizer",
]


@attrs.frozen(kw_only=True)
class ChatInfo(GraphObject):
    """``microsoft.graph.chatInfo``: the Teams thread of the meeting's chat (R-MEET-5)."""

    thread_id: str | None = member()
    message_id: str | None = member()
    reply_chain_message_id: str | None = member()


@attrs.frozen(kw_only=True)
class AudioConferencing(GraphObject):
    """``microsoft.graph.audioConferencing``: dial-in details."""

    conference_id: str | None = member()
    toll_number: str | None = member()
    toll_free_number: str | None = member()
    dialin_url: str | None = member()
    toll_numbers: tuple[str, ...] = member(factory=tuple, nullable=False, omit_if_unset=BETA_ONLY)
    toll_free_numbers: tuple[str, ...] = member(
        factory=tuple, nullable=False, omit_if_unset=BETA_ONLY
    )


@attrs.frozen(kw_only=True)
class LobbyBypassSettings(GraphObject):
    """``microsoft.graph.lobbyBypassSettings``: who skips the lobby."""

    scope: LobbyBypassScope | None = member()
    is_dial_in_bypass_enabled: bool | None = member()


@attrs.frozen(kw_only=True)
class OnlineMeeting(GraphObject):
    """``microsoft.graph.onlineMeeting``, as createOrGet returns it.

    ``expiry_date_time`` is written in v1.0 only (R-TIME-8); ``auto_admitted_users`` is kept as the
    string it was read or created with, since beta and v1.0 spell it differently (R-MEET-4).
    """

    id: str | None = member(nullable=False, omit_if_unset=BOTH)
    creation_date_time: Instant | None = member()
    start_date_time: Instant | None = member()
    end_date_time: Instant | None = member()
    expiry_date_time: Instant | None = member(versions=V1_ONLY)
    join_web_url: str | None = member()
    subject: str | None = member()
    is_broadcast: bool | None = member()
    auto_admitted_users: str | None = member()
    is_entry_exit_announced: bool | None = member()
    allowed_presenters: OnlineMeetingPresenters | None = member()
    video_teleconference_id: str | None = member()
    external_id: str | None = member()
    participants: MeetingParticipants | None = member()
    lobby_bypass_settings: LobbyBypassSettings | None = member()
    audio_conferencing: AudioConferencing | None = member()
    chat_info: ChatInfo | None = member()


def _non_empty_str(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if type(value) is not str or not value:
        raise ValueError(f"{attribute.name} must be a non-empty string, not {value!r}")


GUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII | re.IGNORECASE
)
"""A GUID's text form, in any case: a user's object ID (R-HTTP-2), a thread's (R-MEET-5)."""


def object_id(text: str) -> str:
    """An ID as a tenant's or a user's: a GUID (an object ID, which Entra compares in any case
    and Graph writes in lower case) in lower case, anything else as it is."""
    return text.lower() if type(text) is str and GUID.fullmatch(text) else text


@attrs.frozen(kw_only=True)
class Organizer:
    """Who organizes the meeting: the signed-in user, or the user in the path (R-MEET-2).

    A tenant or user ID that is a GUID is kept in lower case (``object_id``), so that every
    spelling of one user, by a token, a callers file, a route or a caller of the library, is one
    organizer and one key (R-RES-1)."""

    tenant_id: str = attrs.field(converter=object_id, validator=_non_empty_str)
    user_id: str = attrs.field(converter=object_id, validator=_non_empty_str)
    upn: str | None = None


@attrs.frozen(kw_only=True)
class MeetingKey:
    """What a meeting is stored under: tenant, organizer, externalId, compared exactly (R-RES-1)."""

    tenant_id: str = attrs.field(validator=_non_empty_str)
    organizer_id: str = attrs.field(validator=_non_empty_str)
    external_id: str = attrs.field(validator=_non_empty_str)
