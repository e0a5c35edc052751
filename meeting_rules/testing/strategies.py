"""Hypothesis strategies for Graph's createOrGet: timestamps, request bodies good and bad, meetings.

Every strategy is a plural noun, takes keyword arguments, checks them when called (raising
Hypothesis' ``InvalidArgument``), reads no clock or global state, and shrinks towards the simplest
valid value its docstring names. Strings never hold NUL or lone surrogates (the library refuses
both); names of unknown members are never camelCase ASCII, so they cannot pose as members Graph
defines.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from . import kit_missing

try:
    from hypothesis import assume
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
    from hypothesis.strategies import SearchStrategy
except ModuleNotFoundError as missing:  # pragma: no cover (a test runs it in a subprocess)
    raise kit_missing(missing) from None

from ..enums import ApiVersion, LobbyBypassScope, OnlineMeetingPresenters, OnlineMeetingRole
from ..graph_json import JsonValue, meeting_to_json, member_names, parse_create_or_get
from ..instant import TICKS_PER_SECOND, Instant
from ..meeting import AudioConferencing, ChatInfo, LobbyBypassSettings, OnlineMeeting
from ..participants import Identity, IdentitySet, MeetingParticipantInfo, MeetingParticipants
from ..request import CreateOrGetRequest

__all__ = [
    "instant_texts",
    "instants",
    "invalid_request_bodies",
    "json_values",
    "meeting_json",
    "meetings",
    "request_bodies",
    "requests",
    "texts",
]

# Each public strategy checks its arguments, then returns a strategy built once for them
# (``functools.cache``): Hypothesis checks a new strategy's whole tree on its first draw, which
# cost more than the draws in a test that built meetings() anew for each example.

_TICKS_PER_MINUTE = 60 * TICKS_PER_SECOND
_ROLES = ["attendee", "presenter", "producer", "coorganizer"]
_PARAMETERS = ("externalId", "subject", "startDateTime", "endDateTime", "participants", "chatInfo")

texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
"""Strings Graph JSON can hold (no NUL, no lone surrogates); shrinks to ``""``."""

_names = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00@"),
    min_size=1,
    max_size=10,
).filter(lambda n: not (n.isascii() and n.isalnum() and n[0].islower()))


def _version(version: ApiVersion | str) -> ApiVersion:
    try:
        return ApiVersion(version)
    except ValueError:
        raise InvalidArgument(f"version must be 'beta' or 'v1.0', not {version!r}") from None


def _check_count(name: str, value: Any, least: int) -> None:
    """A count argument: an ``int`` (not a ``bool``) of at least ``least``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"{name} must be an int, not {value!r}")
    if value < least:
        raise InvalidArgument(f"{name} must be at least {least}, not {value!r}")


def _check_range(name: str, low: Any, high: Any) -> None:
    if low > high:
        raise InvalidArgument(f"min_{name}={low!r} is greater than max_{name}={high!r}")


def _check_instants(min_value: Instant, max_value: Instant) -> None:
    for value in (min_value, max_value):
        if not isinstance(value, Instant):
            raise InvalidArgument(f"bounds must be Instants, not {value!r}")
    _check_range("value", min_value, max_value)


def instants(
    *, min_value: Instant = Instant.MIN, max_value: Instant = Instant.MAX
) -> SearchStrategy[Instant]:
    """Instants in ``[min_value, max_value]``, the whole range by default; shrinks to ``min_value``.

    >>> instants(min_value=Instant.parse("2020-01-01T00:00:00Z")).example()  # doctest: +SKIP
    Instant.parse('6219-05-30T11:02:41.1187712Z')
    """
    _check_instants(min_value, max_value)
    return st.integers(min_value.ticks, max_value.ticks).map(lambda t: Instant(ticks=t))


def _local_text(local_ticks: int, digits: int, with_seconds: bool, separator: str) -> str:
    days, rest = divmod(local_ticks, 86_400 * TICKS_PER_SECOND)
    date = dt.date.fromordinal(days + 1)
    seconds, fraction = divmod(rest, TICKS_PER_SECOND)
    hour, seconds = divmod(seconds, 3600)
    minute, second = divmod(seconds, 60)
    text = f"{date.year:04d}-{date.month:02d}-{date.day:02d}{separator}{hour:02d}:{minute:02d}"
    if with_seconds:
        text += f":{second:02d}"
        if digits:
            text += "." + f"{fraction:07d}"[:digits]
    return text


def instant_texts(
    *, min_value: Instant = Instant.MIN, max_value: Instant = Instant.MAX
) -> SearchStrategy[tuple[Instant, str]]:
    """``(instant, text)``: an instant written as Graph accepts it, in every form (R-TIME-5).

    Any offset from -14:00 to +14:00, ``Z``/``z``/``+00:00``/``-00:00``, ``T`` or ``t``, seconds
    left out when zero, 0 to 7 fraction digits and trailing zeros; ``Instant.parse(text)`` gives
    ``instant``. Shrinks to ``(min_value, '0001-01-01T00:00Z')`` for the default bounds.

    >>> instant_texts().example()  # doctest: +SKIP
    (Instant.parse('2077-03-01T17:15:06.12Z'), '2077-03-01t22:45:06.12+05:30')
    """
    _check_instants(min_value, max_value)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[Instant, str]:
        digits = draw(st.integers(0, 7))
        unit = 10 ** (7 - digits)
        ticks = draw(st.integers(min_value.ticks, max_value.ticks)) // unit * unit
        assume(ticks >= min_value.ticks)
        # Offsets that keep the local time within 0001..9999 (0 always does).
        lowest = max(-14 * 60, -(ticks // _TICKS_PER_MINUTE))
        highest = min(14 * 60, (Instant.MAX.ticks - ticks) // _TICKS_PER_MINUTE)
        # Every choice is drawn whatever the others are, in one order, so that the shrinker can
        # simplify each alone (a draw made only for some offsets would shift the ones after it).
        offset = draw(st.just(0) | st.integers(lowest, highest))
        utc = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00"]))
        separator = draw(st.sampled_from(["T", "t"]))
        seconds_shown = draw(st.booleans())
        trailing_zeros = draw(st.integers(0, 5))
        local = ticks + offset * _TICKS_PER_MINUTE
        with_seconds = seconds_shown or digits > 0 or local % _TICKS_PER_MINUTE != 0
        if offset == 0:
            zone = utc
        else:
            hours, minutes = divmod(abs(offset), 60)
            zone = f"{'+' if offset > 0 else '-'}{hours:02d}:{minutes:02d}"
        text = _local_text(local, digits, with_seconds, separator)
        if with_seconds and trailing_zeros:
            text += ("" if digits else ".") + "0" * trailing_zeros
        return Instant(ticks=ticks), text + zone

    return build()


def json_values(*, max_leaves: int = 8) -> SearchStrategy[JsonValue]:
    """Any JSON value Graph could send: null, booleans, integers, finite floats, clean strings,
    arrays and objects; shrinks to ``None``.

    >>> json_values().example()  # doctest: +SKIP
    {'Ab': [1.5, None]}
    """
    _check_count("max_leaves", max_leaves, 1)
    return _json_values(max_leaves)


@functools.cache
def _json_values(max_leaves: int) -> SearchStrategy[JsonValue]:
    numbers = st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    scalars = st.none() | st.booleans() | numbers | texts
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
        max_leaves=max_leaves,
    )


@functools.cache
def _unknown_members(cls: type[Any]) -> Any:
    modelled = set(member_names(cls))
    return st.dictionaries(
        _names.filter(lambda n: n not in modelled), json_values(max_leaves=4), max_size=2
    )


def _maybe(strategy: Any) -> Any:
    return st.none() | strategy


def _participant_infos() -> Any:
    identities = st.builds(
        Identity,
        id=_maybe(texts),
        display_name=_maybe(texts),
        unknown_members=_unknown_members(Identity),
    )
    identity_sets = st.builds(
        IdentitySet,
        application=_maybe(identities),
        device=_maybe(identities),
        user=_maybe(identities),
        unknown_members=_unknown_members(IdentitySet),
    )
    return st.builds(
        MeetingParticipantInfo,
        upn=_maybe(texts),
        role=_maybe(st.sampled_from(OnlineMeetingRole)),
        identity=_maybe(identity_sets),
        unknown_members=_unknown_members(MeetingParticipantInfo),
    )


def meetings(*, version: ApiVersion | str = ApiVersion.BETA) -> SearchStrategy[OnlineMeeting]:
    """``OnlineMeeting``s in Graph's default layout holding only what ``version`` writes (no
    ``expiryDateTime`` in beta, no producers in v1.0), with unknown members in every object.
    Shrinks to ``OnlineMeeting(id="")``.

    >>> meetings(version="v1.0").example()  # doctest: +SKIP
    OnlineMeeting(id='x', subject=None, ...)
    """
    return _meetings(_version(version))


@functools.cache
def _meetings(version: ApiVersion) -> SearchStrategy[OnlineMeeting]:
    beta = version is ApiVersion.BETA
    info = _participant_infos()
    infos = st.lists(info, max_size=2).map(tuple)
    participants = st.builds(
        MeetingParticipants,
        organizer=_maybe(info),
        attendees=infos,
        producers=infos if beta else st.just(()),
        contributors=infos if beta else st.just(()),
        unknown_members=_unknown_members(MeetingParticipants),
    )
    audio = st.builds(
        AudioConferencing,
        conference_id=_maybe(texts),
        toll_number=_maybe(texts),
        toll_free_number=_maybe(texts),
        dialin_url=_maybe(texts),
        toll_numbers=st.lists(texts, max_size=2).map(tuple),
        toll_free_numbers=st.lists(texts, max_size=2).map(tuple),
        unknown_members=_unknown_members(AudioConferencing),
    )
    lobby = st.builds(
        LobbyBypassSettings,
        scope=_maybe(st.sampled_from(LobbyBypassScope)),
        is_dial_in_bypass_enabled=_maybe(st.booleans()),
        unknown_members=_unknown_members(LobbyBypassSettings),
    )
    chat = st.builds(
        ChatInfo,
        thread_id=_maybe(texts),
        message_id=_maybe(texts),
        reply_chain_message_id=_maybe(texts),
        unknown_members=_unknown_members(ChatInfo),
    )
    return st.builds(
        OnlineMeeting,
        id=texts,
        creation_date_time=_maybe(instants()),
        start_date_time=_maybe(instants()),
        end_date_time=_maybe(instants()),
        expiry_date_time=st.just(None) if beta else _maybe(instants()),
        join_web_url=_maybe(texts),
        subject=_maybe(texts),
        is_broadcast=_maybe(st.booleans()),
        auto_admitted_users=_maybe(texts),
        is_entry_exit_announced=_maybe(st.booleans()),
        allowed_presenters=_maybe(st.sampled_from(OnlineMeetingPresenters)),
        video_teleconference_id=_maybe(texts),
        external_id=_maybe(texts),
        participants=_maybe(participants),
        lobby_bypass_settings=_maybe(lobby),
        audio_conferencing=_maybe(audio),
        chat_info=_maybe(chat),
        unknown_members=_unknown_members(OnlineMeeting),
    )


@st.composite
def _reshaped(draw: st.DrawFn, value: Any) -> Any:
    if isinstance(value, dict):
        keys = draw(st.permutations(list(value)))
        kept = [k for k in keys if draw(st.integers(0, 4)) < 4]  # shrinks to keeping all
        return {k: draw(_reshaped(value[k])) for k in kept}
    if isinstance(value, list):
        return [draw(_reshaped(item)) for item in value]
    return value


def meeting_json(*, version: ApiVersion | str = ApiVersion.BETA) -> SearchStrategy[dict[str, Any]]:
    """onlineMeeting response bodies as Graph may send them: members dropped, reordered, null,
    unknown members in every object, evolvable enum members shown. Reading one with
    ``meeting_from_json`` and writing it with ``dumps_meeting(version=..., include_unknown_enum_
    members=True)`` gives it back exactly. Shrinks to the body of ``meetings()``' simplest meeting,
    ``{"id": "", "creationDateTime": None, ...}``.

    >>> meeting_json().example()  # doctest: +SKIP
    {'subject': None, 'id': 'q', 'Zz': [True]}
    """
    return _meeting_json(_version(version))


@functools.cache
def _meeting_json(version: ApiVersion) -> SearchStrategy[dict[str, Any]]:
    return _meetings(version).flatmap(
        lambda m: _reshaped(meeting_to_json(m, version=version, include_unknown_enum_members=True))
    )


def _odd_case(text: str) -> Any:
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda flips: "".join(c.swapcase() if f else c for c, f in zip(text, flips, strict=True))
    )


def request_bodies(
    *,
    version: ApiVersion | str = ApiVersion.BETA,
    min_attendees: int = 0,
    max_attendees: int = 2,
) -> SearchStrategy[dict[str, Any]]:
    """Valid createOrGet bodies as decoded JSON dicts: every optional member present or absent,
    times in every accepted form, attendees with and without roles (any case), a channel's
    ``chatInfo`` (beta), unknown members. Shrinks to ``{"externalId": "0"}``.

    >>> request_bodies(version="v1.0").example()  # doctest: +SKIP
    {'startDateTime': '2020-01-01T10:00+01:00', 'externalId': 'a', 'Note': 3}
    """
    chosen = _version(version)
    _check_count("min_attendees", min_attendees, 0)
    _check_count("max_attendees", max_attendees, 0)
    _check_range("attendees", min_attendees, max_attendees)
    return _request_bodies(chosen, min_attendees, max_attendees)


@functools.cache
def _request_bodies(
    chosen: ApiVersion, min_attendees: int, max_attendees: int
) -> SearchStrategy[dict[str, Any]]:
    latest_default_start = Instant.MAX - dt.timedelta(hours=1)
    ids = texts.filter(bool)
    maybe_texts = _maybe(texts)
    starts = instant_texts()
    counts = st.integers(min_attendees, max_attendees)
    extras = st.dictionaries(_names, json_values(max_leaves=4), max_size=2)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        body: dict[str, Any] = {"externalId": draw(ids)}
        if draw(st.booleans()):
            body["subject"] = draw(maybe_texts)
        if draw(st.booleans()):
            start, start_text = draw(starts)
            body["startDateTime"] = start_text
            if draw(st.booleans()):
                body["endDateTime"] = draw(instant_texts(min_value=start))[1]
            else:
                assume(start <= latest_default_start)
        elif draw(st.booleans()):
            body["startDateTime"] = None
        count = draw(counts)
        if count or draw(st.booleans()):
            attendees = []
            for _ in range(count):
                attendee: dict[str, Any] = {}
                if draw(st.booleans()):
                    attendee["identity"] = {"user": {"id": draw(texts)}}
                if draw(st.booleans()):
                    attendee["upn"] = draw(maybe_texts)
                if draw(st.booleans()):
                    role = draw(st.sampled_from(_ROLES))
                    attendee["role"] = draw(_maybe(_odd_case(role)))
                attendees.append(attendee)
            body["participants"] = {"attendees": attendees}
        if chosen is ApiVersion.BETA and draw(st.booleans()):
            body["chatInfo"] = {"threadId": draw(texts.map(lambda t: f"19:{t}@thread.tacv2"))}
        extra = draw(extras)
        body.update({k: v for k, v in extra.items() if k not in _PARAMETERS})
        return {k: body[k] for k in draw(st.permutations(list(body)))}

    return build()


def requests(*, version: ApiVersion | str = ApiVersion.BETA) -> SearchStrategy[CreateOrGetRequest]:
    """``CreateOrGetRequest``s, as ``parse_create_or_get`` reads ``request_bodies``.
    Shrinks to ``CreateOrGetRequest(external_id="0")``.

    >>> requests().example()  # doctest: +SKIP
    CreateOrGetRequest(external_id='Q', subject=None, ...)
    """
    return _requests(_version(version))


@functools.cache
def _requests(chosen: ApiVersion) -> SearchStrategy[CreateOrGetRequest]:
    return request_bodies(version=chosen).map(lambda b: parse_create_or_get(b, version=chosen))


# --- invalid bodies ------------------------------------------------------------------------------

Case = tuple[Any, int, str | None]


def _with(body: dict[str, Any], **members: Any) -> dict[str, Any]:
    return {**body, **members}


@functools.cache
@st.composite
def _defects(draw: st.DrawFn, version: ApiVersion) -> Case:
    """One defect in an otherwise valid body, with the status and target it must produce."""
    kind = draw(st.sampled_from(_DEFECT_KINDS))  # first, so that shrinking starts here
    if kind == "empty":
        return draw(st.sampled_from([b"", b" ", "\n\t"])), 400, None
    base = draw(request_bodies(version=version, max_attendees=1))
    base.pop("endDateTime", None)  # the defects below set the times they need
    base.pop("startDateTime", None)
    if kind == "not-utf-8":
        return json.dumps(base).encode("utf-8") + b"\xff", 400, None
    if kind == "not-json":
        text = json.dumps(base)
        return text[: draw(st.integers(1, len(text) - 1))], 400, None
    if kind == "not-object":
        # As JSON text: a str body is the text of the body, a decoded value is only ever a dict.
        return json.dumps(draw(st.sampled_from([[], [base], "x", 5, None, True]))), 400, None
    if kind == "too-deep":
        return b"[" * 5000 + b"]" * 5000, 400, None
    if kind == "missing-id":
        base.pop("externalId")
        return base, 400, "externalId"
    if kind == "bad-id":
        value: object = draw(st.sampled_from([None, "", 5, [], {}, True, "a\x00b", "\ud800"]))
        return _with(base, externalId=value), 400, "externalId"
    if kind == "bad-subject":
        return _with(base, subject=draw(st.sampled_from([5, [], {}, False]))), 400, "subject"
    if kind == "zoneless-start":
        zoneless = str(draw(instants()))[:-1] + draw(st.sampled_from(["", "+0000", "-0530"]))
        return _with(base, startDateTime=zoneless), 400, "startDateTime"
    if kind == "bad-year":
        text = draw(st.sampled_from(["0000-06-01T00:00:00Z", "10000-01-01T00:00:00Z"]))
        return _with(base, startDateTime=text), 400, "startDateTime"
    if kind == "end-without-start":
        return _with(base, endDateTime=draw(instant_texts())[1]), 400, "endDateTime"
    if kind == "end-before-start":
        end, end_text = draw(instant_texts(max_value=Instant.MAX - dt.timedelta(microseconds=1)))
        start_text = draw(instant_texts(min_value=end + dt.timedelta(microseconds=1)))[1]
        body = _with(base, startDateTime=start_text, endDateTime=end_text)
        return body, 400, "endDateTime"
    if kind == "bad-attendees":
        value = draw(st.sampled_from([None, {}, "x", 1]))
        return _with(base, participants={"attendees": value}), 400, "participants.attendees"
    if kind == "bad-upn":
        body = _with(base, participants={"attendees": [{}, {"upn": 7}]})
        return body, 400, "participants.attendees[1].upn"
    if kind == "bad-role":
        role = draw(st.sampled_from(["unknownFutureValue", "chair", "UNKNOWNFUTUREVALUE", ""]))
        body = _with(base, participants={"attendees": [{"role": role}]})
        return body, 400, "participants.attendees[0].role"
    if kind == "bad-identity":
        body = _with(base, participants={"attendees": [{"identity": {"user": {"id": 3}}}]})
        return body, 400, "participants.attendees[0].identity.user.id"
    if kind == "bad-thread" and version is ApiVersion.BETA:
        return _with(base, chatInfo={"threadId": 19}), 400, "chatInfo.threadId"
    # duplicate: a member named twice, written as bytes since a dict cannot hold it
    text = json.dumps(base)
    return text[:-1] + ', "externalId": "again"}', 400, "externalId"


_DEFECT_KINDS = [
    "empty", "not-utf-8", "not-json", "not-object", "too-deep", "missing-id", "bad-id",
    "bad-subject", "zoneless-start", "bad-year", "end-without-start", "end-before-start",
    "bad-attendees", "bad-upn", "bad-role", "bad-identity", "bad-thread", "duplicate",
]  # fmt: skip


def invalid_request_bodies(*, version: ApiVersion | str = ApiVersion.BETA) -> SearchStrategy[Case]:
    """``(body, status, target)``: a body with one defect of each kind R-BODY-* and R-TIME-* name,
    and the status and target (a JSON path, or ``None`` for the whole body) that
    ``parse_create_or_get(body, version=version)`` must refuse it with. ``body`` is a dict, or
    bytes/str where the defect is below JSON (empty, not UTF-8, not JSON, JSON that is not an
    object, a duplicate member): a ``str`` is the body's text, never a decoded JSON string.
    Shrinks to ``(b"", 400, None)``.

    >>> invalid_request_bodies().example()  # doctest: +SKIP
    ({'externalId': 'a', 'subject': 5}, 400, 'subject')
    """
    return _defects(_version(version))
