"""Create versus get: the one decision createOrGet makes, atomic through the repository (R-RES-*).

Rule: everything that decides between 201 and 200 lives in this module. The repository's
``add_if_absent`` makes the decision atomic (R-RES-4); this module never writes twice.
"""

from __future__ import annotations

import attrs

from .creation import build_meeting
from .enums import ApiVersion
from .errors import UnprocessableEntityError
from .instant import Instant
from .meeting import MeetingKey, OnlineMeeting, Organizer
from .participants import MeetingParticipantInfo
from .ports import Clock, IdFactory, MeetingRepository
from .request import CreateOrGetRequest
from .settings import TenantSettings
from .store_calls import AddMeeting, GetMeeting, Steps, ask, run_steps
from .timing import MeetingWindow, normalise_window

__all__ = [
    "CreateOrGetOutcome",
    "create_or_get",
    "create_or_get_steps",
    "find_mismatches",
    "meeting_key",
]

DEFAULT_SETTINGS = TenantSettings()


@attrs.frozen(kw_only=True)
class CreateOrGetOutcome:
    """What createOrGet answers: the meeting, and whether this call created it."""

    meeting: OnlineMeeting
    created: bool
    mismatches: tuple[str, ...] = ()
    """On a get, the JSON paths of the request's members that differ from the stored meeting."""

    @property
    def status(self) -> int:
        """201 Created or 200 OK (R-RES-2, R-RES-3)."""
        return 201 if self.created else 200


def meeting_key(request: CreateOrGetRequest, organizer: Organizer) -> MeetingKey:
    """The key a request resolves under: tenant, organizer, externalId (R-RES-1)."""
    return MeetingKey(
        tenant_id=organizer.tenant_id,
        organizer_id=organizer.user_id,
        external_id=request.external_id,
    )


def _identity_of(participant: MeetingParticipantInfo) -> tuple[object, ...]:
    return (participant.upn, participant.identity)


def find_mismatches(
    request: CreateOrGetRequest, meeting: OnlineMeeting, *, window: MeetingWindow | None = None
) -> tuple[str, ...]:
    """The members the request gives whose value differs from the stored meeting (R-RES-3).

    Only members the request holds are compared. Times are compared after normalisation, and only
    when the request gives a start (with none, the default would be "now", which always differs);
    attendees by their ``upn`` and ``identity``, in order. ``window``: the request's window
    normalised already, if the caller has it (with a start given, "now" plays no part in it).
    """
    found: list[str] = []
    if request.subject is not None and request.subject != meeting.subject:
        found.append("subject")
    if request.start_date_time is not None:
        if window is None:  # the start is given, so "now" plays no part in the window
            window = normalise_window(
                request.start_date_time, request.end_date_time, now=request.start_date_time
            )
        if window.start != meeting.start_date_time:
            found.append("startDateTime")
        if window.end != meeting.end_date_time:
            found.append("endDateTime")
    if request.participants is not None and "attendees" in (
        request.participants.member_order or ()
    ):
        stored = meeting.participants.attendees if meeting.participants is not None else ()
        if list(map(_identity_of, request.participants.attendees)) != list(
            map(_identity_of, stored)
        ):
            found.append("participants.attendees")
    if request.chat_info is not None and request.chat_info.thread_id is not None:
        stored_thread = meeting.chat_info.thread_id if meeting.chat_info is not None else None
        if request.chat_info.thread_id != stored_thread:
            found.append("chatInfo.threadId")
    return tuple(found)


def create_or_get(
    request: CreateOrGetRequest,
    *,
    organizer: Organizer,
    repository: MeetingRepository,
    clock: Clock | None = None,
    ids: IdFactory,
    settings: TenantSettings = DEFAULT_SETTINGS,
    version: ApiVersion | None = None,
    now: Instant | None = None,
) -> CreateOrGetOutcome:
    """Create the meeting for ``request`` or return the one stored under its key.

    The walk is ``create_or_get_steps``'s, its store calls made here, in this thread.

    Args:
        clock: read once for "now", unless ``now`` is given (a caller that has read its clock
            already, as ``handle`` has for the ``Date`` header, passes the instant instead).
        version: the spellings of a new meeting (``None``: the request's own ``version``).
        now: the time of the call; one of ``clock`` and ``now`` is needed.

    Raises:
        BadRequestError: the time rules refuse the request (nothing is stored).
        UnprocessableEntityError: a get that differs from the stored meeting, when
            ``settings.strict_mismatch`` (R-RES-3).
        InternalServerError, ServiceUnavailableError: the store failed; nothing is stored (R-RES-5).
    """
    if now is None:
        if clock is None:
            raise TypeError("create_or_get needs a clock or the instant now")
        now = clock.now()
    steps = create_or_get_steps(
        request, organizer=organizer, ids=ids, settings=settings, version=version, now=now
    )
    return run_steps(steps, repository)


def create_or_get_steps(
    request: CreateOrGetRequest,
    *,
    organizer: Organizer,
    ids: IdFactory,
    now: Instant,
    settings: TenantSettings = DEFAULT_SETTINGS,
    version: ApiVersion | None = None,
) -> Steps[CreateOrGetOutcome]:
    """``create_or_get``'s walk, yielding its store calls (``store_calls``) to whoever drives it.

    The key (R-RES-1); the window, normalised once (R-TIME-1..4: refused before the store is
    asked, on a get as on a create); the store's meeting, or a new one built with that window and
    offered to the store atomically (R-RES-4); on a get, the request's members compared with the
    meeting (R-RES-3).
    """
    key = meeting_key(request, organizer)
    window = normalise_window(request.start_date_time, request.end_date_time, now=now)
    stored = yield from ask(GetMeeting(key))
    if stored is None:
        meeting = build_meeting(
            request,
            organizer=organizer,
            now=now,
            ids=ids,
            settings=settings,
            version=request.version if version is None else version,
            window=window,
        )
        stored, created = yield from ask(AddMeeting(key, meeting))
        if created:
            return CreateOrGetOutcome(meeting=stored, created=True)
    mismatches = find_mismatches(request, stored, window=window)
    if mismatches and settings.strict_mismatch:
        raise UnprocessableEntityError(
            "A meeting with this externalId exists with other values: " + ", ".join(mismatches),
            target=mismatches[0],
        )
    return CreateOrGetOutcome(meeting=stored, created=False, mismatches=mismatches)
