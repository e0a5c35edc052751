"""A ceiling for workload b: the fastest reading of the seed response this benchmark knows in
plain Python, to set beside ``meeting_from_json`` in the same run (row ``b+ceiling``).

``read_unchecked`` builds the same eleven objects and three instants as ``meeting_from_json`` (the
workload checks that they are equal), in straight-line code written for the classes of the seed
response, with none of the reader's work but the building: no type checks, no NUL or surrogate
checks, no unknown members looked for, no error paths, each object built through its slots, each
time read by ``datetime.fromisoformat`` with the 7th digit added. It is not a reader anyone
should use; it says how close to ``json.loads`` a reader of this object model can come, so that
the distance of ``meeting_from_json`` from its goal can be read as the cost of its checks or of
the model itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from meeting_rules._codegen import compile_function, construction
from meeting_rules.enums import LobbyBypassScope, OnlineMeetingPresenters, OnlineMeetingRole
from meeting_rules.instant import Instant
from meeting_rules.meeting import AudioConferencing, ChatInfo, LobbyBypassSettings, OnlineMeeting
from meeting_rules.participants import (
    Identity,
    IdentitySet,
    MeetingParticipantInfo,
    MeetingParticipants,
)

__all__ = ["read_unchecked"]

_new = object.__new__
_from_iso = dt.datetime.fromisoformat
_DAY_ONE = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
_ROLES = {member.value: member for member in OnlineMeetingRole}
_PRESENTERS = {member.value: member for member in OnlineMeetingPresenters}
_SCOPES = {member.value: member for member in LobbyBypassScope}


def _builder(cls: type[Any]) -> Callable[..., Any]:
    """``cls(**values)`` through its slots, in straight-line code: the library's own construction
    (``_codegen.construction``), given each attribute as an argument of the same name."""
    names = [f.name for f in attrs.fields(cls)]
    namespace: dict[str, Any] = {"cls": cls}
    lines = [f"def build_{cls.__name__}({', '.join(names)}):"]
    lines += construction(cls, namespace, {name: name for name in names})
    return compile_function(f"build_{cls.__name__}", lines, namespace, form="ceiling")  # type: ignore[no-any-return]


_identity = _builder(Identity)
_identity_set = _builder(IdentitySet)
_participant = _builder(MeetingParticipantInfo)
_participants = _builder(MeetingParticipants)
_lobby = _builder(LobbyBypassSettings)
_audio = _builder(AudioConferencing)
_chat = _builder(ChatInfo)
_meeting = _builder(OnlineMeeting)


def _instant(text: str | None) -> Instant | None:
    if text is None:
        return None
    delta = _from_iso(text) - _DAY_ONE
    micro = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    instant: Instant = _new(Instant)
    object.__setattr__(instant, "ticks", micro * 10 + (int(text[26]) if len(text) == 28 else 0))
    return instant


def _read_identity(value: dict[str, Any] | None) -> Any:
    if value is None:
        return None
    get = value.get
    return _identity(unknown_members={}, member_order=tuple(value), id=get("id"), display_name=None)


def _read_participant(value: dict[str, Any]) -> Any:
    get = value.get
    identity = get("identity")
    role = get("role")
    return _participant(
        unknown_members={},
        member_order=tuple(value),
        upn=get("upn"),
        role=None if role is None else _ROLES[role],
        identity=None
        if identity is None
        else _identity_set(
            unknown_members={},
            member_order=tuple(identity),
            application=_read_identity(identity.get("application")),
            device=_read_identity(identity.get("device")),
            user=_read_identity(identity.get("user")),
        ),
    )


def read_unchecked(value: dict[str, Any]) -> OnlineMeeting:
    """The seed response's meeting, built and not checked (see the module's text)."""
    get = value.get
    parts, lobby, audio, chat = (
        value["participants"],
        value["lobbyBypassSettings"],
        value["audioConferencing"],
        value["chatInfo"],
    )
    meeting: OnlineMeeting = _meeting(
        unknown_members={},
        member_order=tuple(value),
        id=get("id"),
        creation_date_time=_instant(get("creationDateTime")),
        start_date_time=_instant(get("startDateTime")),
        end_date_time=_instant(get("endDateTime")),
        expiry_date_time=_instant(get("expiryDateTime")),
        join_web_url=get("joinWebUrl"),
        subject=get("subject"),
        is_broadcast=get("isBroadcast"),
        auto_admitted_users=get("autoAdmittedUsers"),
        is_entry_exit_announced=get("isEntryExitAnnounced"),
        allowed_presenters=_PRESENTERS[value["allowedPresenters"]],
        video_teleconference_id=get("videoTeleconferenceId"),
        external_id=get("externalId"),
        participants=_participants(
            unknown_members={},
            member_order=tuple(parts),
            organizer=_read_participant(parts["organizer"]),
            attendees=tuple([_read_participant(p) for p in parts["attendees"]]),
            producers=tuple([_read_participant(p) for p in parts["producers"]]),
            contributors=tuple([_read_participant(p) for p in parts["contributors"]]),
        ),
        lobby_bypass_settings=_lobby(
            unknown_members={},
            member_order=tuple(lobby),
            scope=_SCOPES[lobby["scope"]],
            is_dial_in_bypass_enabled=lobby.get("isDialInBypassEnabled"),
        ),
        audio_conferencing=_audio(
            unknown_members={},
            member_order=tuple(audio),
            conference_id=audio.get("conferenceId"),
            toll_number=audio.get("tollNumber"),
            toll_free_number=audio.get("tollFreeNumber"),
            dialin_url=audio.get("dialinUrl"),
            toll_numbers=(),
            toll_free_numbers=(),
        ),
        chat_info=_chat(
            unknown_members={},
            member_order=tuple(chat),
            thread_id=chat.get("threadId"),
            message_id=chat.get("messageId"),
            reply_chain_message_id=chat.get("replyChainMessageId"),
        ),
    )
    return meeting
