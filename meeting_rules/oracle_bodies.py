"""What the oracle expects of an answer's body, member by member.

- A new meeting (``expect_created``): the library builds the meeting its own rules give for the
  request, with the answer's own "now" (``creationDateTime``, judged against the ``Date`` header)
  and the answer's own generated identifiers (its thread's GUID and its conference numbers, whose
  forms are judged), writes it in the request's version, and compares the two bodies member by
  member. Each difference is a finding of the rule that gives that member.
- A later answer for a key (``expect_same``): the first answer's meeting unchanged (R-RES-3);
  between versions, only the members one version has and the other has not may differ.
- An error answer (``read_error``): Graph's error body (R-JSON-5).

Pure: every value comes in as an argument.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

import attrs

from .creation import build_meeting, join_web_url, meeting_id
from .enums import ApiVersion
from .errors import GraphError, quoted
from .http import meeting_body
from .instant import Instant
from .json_paths import json_kind, path_step
from .meeting import GUID, ChatInfo, Organizer
from .request import CreateOrGetRequest
from .settings import TenantSettings

__all__ = [
    "CONTEXT",
    "NOT_JSON",
    "VERSION_ONLY",
    "Finding",
    "compare",
    "decode",
    "describe",
    "expect_created",
    "instant_at",
    "is_json",
    "member_at",
    "shown",
    "time_forms",
    "version_members",
]

Finding = tuple[str, str, str | None]
"""A defect found: the rule, a message, the JSON path (or ``None``)."""

_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{0,6}[1-9])?Z")
_TIME_MEMBERS = ("creationDateTime", "startDateTime", "endDateTime", "expiryDateTime")
_THREAD = re.compile(r"19:meeting_([A-Za-z0-9+/]{48})@thread\.v2")
_NO_GUID = "00000000-0000-0000-0000-000000000000"
_MS_DIGITS = 15  # Unix milliseconds up to the year 9999 have 15 digits
_ENUM_STEP = re.compile(r"(?:^|\.)(?:role|scope|allowedPresenters|autoAdmittedUsers)(?:\[\d+\])?$")
"""The members whose values are members of Graph's enums (R-JSON-1)."""
_TENANT_MEMBERS = frozenset({"participants.organizer.identity.user.tenantId", "joinWebUrl"})

# The rule that gives each member of a new meeting (R-MEET-*), by its path's first steps.
CONTEXT = path_step("", "@odata.context")
_RULES = {
    CONTEXT: "R-HTTP-6",
    "id": "R-MEET-6",
    "joinWebUrl": "R-MEET-6",
    "videoTeleconferenceId": "R-MEET-6",
    "audioConferencing.conferenceId": "R-MEET-6",
    "audioConferencing.dialinUrl": "R-MEET-6",
    "audioConferencing": "R-MEET-4",
    "allowedPresenters": "R-MEET-4",
    "isEntryExitAnnounced": "R-MEET-4",
    "isBroadcast": "R-MEET-4",
    "autoAdmittedUsers": "R-MEET-4",
    "lobbyBypassSettings": "R-MEET-4",
    "chatInfo": "R-MEET-5",
    "creationDateTime": "R-MEET-1",
    "subject": "R-MEET-1",
    "externalId": "R-MEET-1",
    "expiryDateTime": "R-TIME-8",
    "participants.organizer": "R-MEET-2",
    "participants.attendees": "R-BODY-5",
    "participants": "R-MEET-3",
}


def _rule_at(path: str, request: CreateOrGetRequest) -> str:
    """The rule that gives the member at ``path`` of a new meeting made for ``request``."""
    if path.startswith(CONTEXT):
        return "R-HTTP-6"
    head = re.split(r"[.\[]", path, maxsplit=2)
    if head[0] in ("startDateTime", "endDateTime"):
        given = request.start_date_time if head[0] == "startDateTime" else request.end_date_time
        if given is not None:
            return "R-MEET-1"
        return "R-TIME-2" if request.start_date_time is not None else "R-TIME-1"
    two = ".".join(head[:2])
    return _RULES.get(two) or _RULES.get(head[0]) or "R-JSON-2"


def _member_paths(value: object, path: str = "") -> set[str]:
    if not isinstance(value, Mapping):
        return set()
    found: set[str] = set()
    for name, item in value.items():
        step = path_step(path, name)
        found.add(step)
        found |= _member_paths(item, step)
    return found


def version_members() -> dict[ApiVersion, frozenset[str]]:
    """The member paths one version writes and the other does not (R-MEET-3, R-TIME-8), found
    by writing one meeting in both."""
    request = CreateOrGetRequest(external_id="x", subject="s")
    organizer = Organizer(tenant_id="t", user_id="u", upn="u@t")
    paths = {}
    for version in ApiVersion:
        meeting = build_meeting(
            request,
            organizer=organizer,
            now=Instant.MIN,
            ids=_Replay([]),
            settings=TenantSettings(),
            version=version,
        )
        body = meeting_body(
            meeting, version=version, organizer_id="u", include_unknown_enum_members=False
        )
        paths[version] = _member_paths(body)
    beta, v1 = paths[ApiVersion.BETA], paths[ApiVersion.V1_0]
    return {ApiVersion.BETA: frozenset(beta - v1), ApiVersion.V1_0: frozenset(v1 - beta)}


@attrs.define
class _Replay:
    """An ``IdFactory`` that gives back the identifiers an answer holds, in the order
    ``build_meeting`` asks for them: the thread's GUID, then the conference ID, then the video
    teleconference ID."""

    digit_values: list[object]
    guid_value: str = _NO_GUID

    def guid(self) -> str:
        return self.guid_value

    def digits(self, count: int) -> str:
        value = self.digit_values.pop(0) if self.digit_values else None
        return value if isinstance(value, str) else "0" * count


VERSION_ONLY = version_members()


def _instant(value: object) -> Instant | None:
    if not isinstance(value, str):
        return None
    try:
        return Instant.parse(value)
    except GraphError:
        return None


def member_at(value: object, *names: str) -> object:
    for name in names:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _far(one: Instant, other: Instant, tolerance: _dt.timedelta) -> bool:
    return abs(one.ticks - other.ticks) > tolerance // _dt.timedelta(microseconds=1) * 10


def shown(value: object) -> str:
    """A value in a finding: text quoted, JSON's literals, numbers as written, else its kind."""
    if isinstance(value, str):
        return repr(quoted(value, 100))
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json_kind(value)


def expect_created(
    actual: Mapping[str, Any],
    request: CreateOrGetRequest,
    organizer: Organizer,
    *,
    date: Instant | None,
    tolerance: _dt.timedelta,
    settings: TenantSettings,
    include_unknown_enum_members: bool,
    tenant_known: bool = True,
) -> list[Finding]:
    """The findings on the body of a new meeting made for ``request`` (R-MEET-*, R-TIME-*).

    ``tenant_known``: the organizer's tenant is known (from the callers or the answer); if not,
    the members that hold it (the organizer's ``tenantId``, ``joinWebUrl``) are not compared.
    """
    findings: list[Finding] = []
    findings += time_forms(actual)
    creation = _instant(actual.get("creationDateTime"))
    if creation is None:
        given = shown(actual.get("creationDateTime"))
        findings.append(
            ("R-MEET-1", f"creationDateTime is {given}, not a time.", "creationDateTime")
        )
        return findings
    if date is not None and _far(creation, date, tolerance):
        findings.append(
            (
                "R-MEET-1",
                f"creationDateTime {creation} is not now: the answer's Date says {date}.",
                "creationDateTime",
            )
        )
    built = request
    if request.start_date_time is None and request.end_date_time is None:
        start = _instant(actual.get("startDateTime"))
        # "now" is the answer's Date, or without one its own creationDateTime (R-MEET-1)
        now, said = (
            (date, "the answer's Date") if date is not None else (creation, "its creationDateTime")
        )
        if start is not None and _far(start, now, tolerance):
            findings.append(
                (
                    "R-TIME-1",
                    f"startDateTime {start} is not now: {said} says {now}.",
                    "startDateTime",
                )
            )
        built = attrs.evolve(request, start_date_time=start or creation)
    replay = _Replay(
        [
            member_at(actual, "audioConferencing", "conferenceId"),
            actual.get("videoTeleconferenceId"),
        ]
    )
    thread = member_at(actual, "chatInfo", "threadId")
    made_up = request.chat_info is None or request.chat_info.thread_id is None
    if made_up:
        findings += _thread_form(thread, replay)
    findings += _digit_forms(actual, settings)
    try:
        meeting = build_meeting(
            built,
            organizer=organizer,
            now=creation,
            ids=replay,
            settings=settings,
            version=request.version,
        )
    except GraphError as error:  # a default end beyond 9999: the answer should have been a 400
        return [*findings, ("R-TIME-2", f"The meeting cannot end in range: {error.message}", None)]
    chat = meeting.chat_info or ChatInfo()
    message, chat_thread = chat.message_id or "0", chat.thread_id or ""
    if made_up and isinstance(thread, str) and replay.guid_value == _NO_GUID:
        chat_thread = thread  # a thread of another form (found above): judge the rest with it
    elif not made_up:
        # A channel meeting's messageId is its creation in Unix ms (seed Example 2), which Graph
        # takes a moment apart from creationDateTime (0.2 s in the seed): within the tolerance.
        answered = member_at(actual, "chatInfo", "messageId")
        if (
            isinstance(answered, str)
            and answered.isascii()
            and answered.isdigit()
            and len(answered) <= _MS_DIGITS
        ):
            gap = abs(int(answered) - creation.unix_milliseconds)
            if gap <= tolerance // _dt.timedelta(milliseconds=1):
                message = answered
    if (message, chat_thread) != (chat.message_id, chat.thread_id):
        meeting = attrs.evolve(
            meeting,
            id=meeting_id(organizer.user_id, message, chat_thread),
            join_web_url=join_web_url(organizer.tenant_id, organizer.user_id, message, chat_thread),
            chat_info=attrs.evolve(chat, thread_id=chat_thread, message_id=message),
        )
    expected = meeting_body(
        meeting,
        version=request.version,
        organizer_id=organizer.user_id,
        include_unknown_enum_members=include_unknown_enum_members,
    )
    skip = frozenset() if tenant_known else _TENANT_MEMBERS
    rule_at = partial(_rule_at, request=request)
    compare(expected, actual, "", findings, rule_at, request.version, skip=skip)
    return findings


def time_forms(actual: Mapping[str, Any]) -> list[Finding]:
    """R-TIME-6: a meeting's times in UTC with ``Z``, at most 7 fraction digits, no trailing
    zeros."""
    findings: list[Finding] = []
    for name in _TIME_MEMBERS:
        text = actual.get(name)
        if isinstance(text, str) and not _TIME.fullmatch(text):
            findings.append(
                (
                    "R-TIME-6",
                    f"{name} is written {shown(text)}, not as UTC to the 7th digit "
                    "with 'Z' and no trailing zeros.",
                    name,
                )
            )
    return findings


def instant_at(value: object) -> Instant | None:
    """The instant a member's text holds, or ``None``."""
    return _instant(value)


def _thread_form(thread: object, replay: _Replay) -> list[Finding]:
    """R-MEET-5: a new thread is ``19:meeting_{base64 of a GUID's text}@thread.v2``."""
    found = _THREAD.fullmatch(thread) if isinstance(thread, str) else None
    if found is not None:
        try:
            guid = base64.b64decode(found.group(1), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            guid = ""
        if GUID.fullmatch(guid):
            replay.guid_value = guid
            return []
    return [
        (
            "R-MEET-5",
            f"chatInfo.threadId is {shown(thread)}, not a new meeting thread "
            "'19:meeting_{base64 of a GUID}@thread.v2'.",
            "chatInfo.threadId",
        )
    ]


def _digit_forms(actual: Mapping[str, Any], settings: TenantSettings) -> list[Finding]:
    """R-MEET-6: the conference and video-teleconference IDs are digits of the set lengths."""
    findings: list[Finding] = []
    for path, value, count in (
        (
            "audioConferencing.conferenceId",
            member_at(actual, "audioConferencing", "conferenceId"),
            settings.conference_id_digits,
        ),
        (
            "videoTeleconferenceId",
            actual.get("videoTeleconferenceId"),
            settings.video_teleconference_id_digits,
        ),
    ):
        if not (
            isinstance(value, str) and len(value) == count and value.isascii() and value.isdigit()
        ):
            findings.append(
                ("R-MEET-6", f"{path} is {shown(value)}, not {count} decimal digits.", path)
            )
    return findings


def compare(
    expected: object,
    actual: object,
    path: str,
    findings: list[Finding],
    rule_at: Any,
    version: ApiVersion,
    *,
    skip: frozenset[str] = frozenset(),
    added: bool = False,
) -> None:
    """Each difference of ``actual`` from ``expected`` as a finding of the member's rule.

    Members ``actual`` has beyond ``expected`` are findings only if they belong to the other
    version (onlineMeeting and its identities are open types: Graph adds members as it grows).
    Paths in ``skip`` are not compared; with ``added``, every member beyond ``expected`` is a
    finding (a later answer of the same meeting adds none).
    """
    if path in skip:
        return
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            where = path or "the body"
            findings.append(
                (rule_at(path), f"{where} is {json_kind(actual)}, not an object.", path or None)
            )
            return
        for name, value in expected.items():
            step = path_step(path, name)
            if name not in actual:
                if step not in skip:
                    # an unset member written as null or [] by the rules: R-JSON-2's
                    rule = "R-JSON-2" if value is None or value == [] else rule_at(step)
                    findings.append(
                        (rule, f"{step} is missing; the rules give {shown(value)}.", step)
                    )
                continue
            compare(value, actual[name], step, findings, rule_at, version, skip=skip, added=added)
        other = ApiVersion.V1_0 if version is ApiVersion.BETA else ApiVersion.BETA
        for name in actual:
            step = path_step(path, name)
            if name in expected or step in skip:
                continue
            if added:
                findings.append((rule_at(step), f"{step} was not in the first answer.", step))
            elif step in VERSION_ONLY[other]:
                findings.append(
                    (
                        rule_at(step),
                        f"{step} is a member of {other.value} only, not of {version.value}.",
                        step,
                    )
                )
        return
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            seen = f"has {len(actual)} items" if isinstance(actual, list) else f"is {shown(actual)}"
            findings.append(
                (rule_at(path), f"{path} {seen}; the rules give {len(expected)} items.", path)
            )
            return
        for index, (one, other_item) in enumerate(zip(expected, actual, strict=True)):
            compare(
                one,
                other_item,
                path_step(path, index),
                findings,
                rule_at,
                version,
                skip=skip,
                added=added,
            )
        return
    if type(expected) is type(actual) and expected == actual:
        return
    rule = rule_at(path)
    if isinstance(expected, str) and isinstance(actual, str):
        if "unknownFutureValue" in (expected, actual):
            rule = "R-JSON-3"
        elif _ENUM_STEP.search(path) and expected.lower() == actual.lower():
            rule = "R-JSON-1"  # an enum member's spelling
        elif (one := _instant(expected)) is not None and one == _instant(actual):
            return  # the same instant written otherwise: R-TIME-6 has said so
    findings.append(
        (rule, f"{path} is {shown(actual)}; the rules give {shown(expected)}.", path or None)
    )


def describe(body: object) -> str:
    return "not JSON" if body is NOT_JSON else json_kind(body)


NOT_JSON = object()
"""What ``decode`` gives for a body that is not JSON."""


def decode(body: bytes) -> object:
    """A body's JSON value, or ``NOT_JSON``."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return NOT_JSON


def is_json(value: object) -> bool:
    return value is not NOT_JSON
