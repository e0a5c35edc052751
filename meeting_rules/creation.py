"""The meeting createOrGet makes when none exists under its key (R-MEET-*, R-TIME-1/2/8).

Pure: the instant, the identifiers and the tenant's settings come in as arguments.
"""

from __future__ import annotations

import base64
import json

from .enums import ApiVersion, OnlineMeetingRole
from .instant import Instant
from .meeting import AudioConferencing, ChatInfo, LobbyBypassSettings, OnlineMeeting, Organizer
from .participants import Identity, IdentitySet, MeetingParticipantInfo, MeetingParticipants
from .ports import IdFactory
from .request import CreateOrGetRequest
from .settings import TenantSettings
from .timing import MeetingWindow, expiry, normalise_window

__all__ = ["build_meeting", "join_web_url", "meeting_id", "new_meeting_thread_id"]

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT_ENCODED = [chr(byte) if byte in _UNRESERVED else f"%{byte:02x}" for byte in range(256)]
_ASCII_ENCODING = str.maketrans(dict(enumerate(_PERCENT_ENCODED[:128])))


def _graph_quote(text: str) -> str:
    """Percent-encode everything but unreserved characters, in lower case as Graph writes it."""
    if text.isascii():
        return text.translate(_ASCII_ENCODING)
    return "".join([_PERCENT_ENCODED[byte] for byte in text.encode("utf-8", "surrogatepass")])


def new_meeting_thread_id(guid: str) -> str:
    """A new meeting chat thread, ``19:meeting_{base64 of a GUID text}@thread.v2`` (R-MEET-5)."""
    opaque = base64.b64encode(guid.encode("ascii")).decode("ascii")
    return f"19:meeting_{opaque}@thread.v2"


def meeting_id(organizer_id: str, message_id: str, thread_id: str) -> str:
    """The meeting's ``id``: base64 of ``1*{organizer}*{messageId}**{threadId}`` (R-MEET-6)."""
    raw = f"1*{organizer_id}*{message_id}**{thread_id}"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def join_web_url(tenant_id: str, organizer_id: str, message_id: str, thread_id: str) -> str:
    """Teams' meetup-join URL for the thread and message (R-MEET-6)."""
    context = f'{{"Tid":{json.dumps(tenant_id)},"Oid":{json.dumps(organizer_id)}}}'
    return (
        f"https://teams.microsoft.com/l/meetup-join/{_graph_quote(thread_id)}/"
        f"{_graph_quote(message_id)}?context={_graph_quote(context)}"
    )


def build_meeting(
    request: CreateOrGetRequest,
    *,
    organizer: Organizer,
    now: Instant,
    ids: IdFactory,
    settings: TenantSettings,
    version: ApiVersion,
    window: MeetingWindow | None = None,
) -> OnlineMeeting:
    """The new meeting for ``request``, organized by ``organizer``, created at ``now``.

    ``window``: the request's window, normalised at ``now``, when the caller has it already.

    Raises:
        BadRequestError: the time rules (R-TIME-3, R-TIME-4, a default end beyond 9999).
    """
    if window is None:
        window = normalise_window(request.start_date_time, request.end_date_time, now=now)
    channel = request.chat_info.thread_id if request.chat_info is not None else None
    if channel is not None:
        thread_id, message_id = channel, str(now.unix_milliseconds)  # seed Example 2
    else:
        thread_id, message_id = new_meeting_thread_id(ids.guid()), "0"
    conference_id = ids.digits(settings.conference_id_digits)
    attendees = request.participants.attendees if request.participants is not None else ()
    return OnlineMeeting(
        id=meeting_id(organizer.user_id, message_id, thread_id),
        creation_date_time=now,
        start_date_time=window.start,
        end_date_time=window.end,
        expiry_date_time=expiry(window.end, settings.expiry_period),
        join_web_url=join_web_url(organizer.tenant_id, organizer.user_id, message_id, thread_id),
        subject=request.subject,
        is_broadcast=settings.is_broadcast,
        auto_admitted_users=settings.auto_admitted_users.get(version),
        is_entry_exit_announced=settings.is_entry_exit_announced,
        allowed_presenters=settings.allowed_presenters,
        video_teleconference_id=ids.digits(settings.video_teleconference_id_digits),
        external_id=request.external_id,
        participants=MeetingParticipants(
            organizer=MeetingParticipantInfo(
                upn=organizer.upn,
                role=OnlineMeetingRole.PRESENTER,
                identity=IdentitySet(
                    user=Identity(
                        id=organizer.user_id, unknown_members={"tenantId": organizer.tenant_id}
                    )
                ),
            ),
            # Attendees keep what they were sent with; their role is null (R-BODY-5).
            attendees=tuple(
                MeetingParticipantInfo(upn=a.upn, role=None, identity=a.identity) for a in attendees
            ),
        ),
        lobby_bypass_settings=LobbyBypassSettings(
            scope=settings.lobby_bypass_scope,
            is_dial_in_bypass_enabled=settings.is_dial_in_bypass_enabled,
        ),
        audio_conferencing=AudioConferencing(
            conference_id=conference_id,
            toll_number=settings.toll_number,
            toll_free_number=settings.toll_free_number,
            dialin_url=(
                settings.dialin_url.format(conference_id=conference_id)
                if settings.dialin_url is not None
                else None
            ),
        ),
        chat_info=ChatInfo(thread_id=thread_id, message_id=message_id, reply_chain_message_id=None),
    )
