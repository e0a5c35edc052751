"""Hypothesis strategies for the suite: instants and their texts, meetings, Graph JSON bodies."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import attrs
from hypothesis import assume
from hypothesis import strategies as st

from meeting_rules import (
    ApiVersion,
    AudioConferencing,
    ChatInfo,
    Identity,
    IdentitySet,
    Instant,
    LobbyBypassScope,
    LobbyBypassSettings,
    MeetingParticipantInfo,
    MeetingParticipants,
    OnlineMeeting,
    OnlineMeetingPresenters,
    OnlineMeetingRole,
)
from meeting_rules._members import GraphObject, snake_to_camel
from meeting_rules.instant import TICKS_PER_SECOND

DATA = Path(__file__).parent / "data"
MAX_TICKS = Instant.MAX.ticks
TICKS_PER_MINUTE = 60 * TICKS_PER_SECOND

texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
"""Strings Graph JSON can hold: no lone surrogates, no NUL."""


def _schema_member_names() -> frozenset[str]:
    found: set[str] = set()
    for path in DATA.glob("graph-*.schema.json"):
        for definition in json.loads(path.read_text())["$defs"].values():
            for part in [definition, *definition.get("allOf", [])]:
                found.update(part.get("properties", {}))
    return frozenset(found)


SCHEMA_MEMBER_NAMES = _schema_member_names()
names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00@"),
    min_size=1,
    max_size=10,
).filter(lambda n: n not in SCHEMA_MEMBER_NAMES)
"""Member names Graph does not define, so unknown members never pose as real ones."""


def instants(min_value: Instant = Instant.MIN, max_value: Instant = Instant.MAX) -> Any:
    """Any instant in ``[min_value, max_value]``; shrinks towards ``min_value``."""
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


@st.composite
def instant_texts(draw: st.DrawFn) -> tuple[Instant, str]:
    """``(instant, text)``: the instant written with any offset, zone form and fraction width."""
    digits = draw(st.integers(0, 7))
    unit = 10 ** (7 - digits)
    local = draw(st.integers(0, MAX_TICKS)) // unit * unit
    # Offsets that keep the UTC instant within the range (0 always does).
    lowest = max(-14 * 60, -((MAX_TICKS - local) // TICKS_PER_MINUTE))
    highest = min(14 * 60, local // TICKS_PER_MINUTE)
    offset_minutes = draw(st.integers(lowest, highest))
    with_seconds = True
    if digits == 0 and local % TICKS_PER_MINUTE == 0:
        with_seconds = draw(st.booleans())
    ticks = local - offset_minutes * TICKS_PER_MINUTE
    if offset_minutes == 0:
        zone = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00"]))
    else:
        sign = "+" if offset_minutes > 0 else "-"
        hours, minutes = divmod(abs(offset_minutes), 60)
        zone = f"{sign}{hours:02d}:{minutes:02d}"
    separator = draw(st.sampled_from(["T", "t"]))
    text = _local_text(local, digits, with_seconds, separator)
    if with_seconds and draw(st.booleans()):
        text += ("" if digits else ".") + "0" * draw(st.integers(1, 5))  # zeros change nothing
    return Instant(ticks=ticks), text + zone


def json_values(max_leaves: int = 8) -> Any:
    """Any JSON value Graph could send: finite numbers, clean strings, shallow nesting."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | texts
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
        max_leaves=max_leaves,
    )


def _modelled(cls: type[GraphObject]) -> set[str]:
    return {snake_to_camel(f.name) for f in attrs.fields(cls) if f.metadata.get("graph")}


def unknown_members(cls: type[GraphObject]) -> Any:
    """Members a class does not model, with any JSON value."""
    modelled = _modelled(cls)
    return st.dictionaries(names.filter(lambda n: n not in modelled), json_values(), max_size=2)


def _maybe(strategy: Any) -> Any:
    return st.none() | strategy


identities = st.builds(
    Identity,
    id=_maybe(texts),
    display_name=_maybe(texts),
    unknown_members=unknown_members(Identity),
)
identity_sets = st.builds(
    IdentitySet,
    application=_maybe(identities),
    device=_maybe(identities),
    user=_maybe(identities),
    unknown_members=unknown_members(IdentitySet),
)
participant_infos = st.builds(
    MeetingParticipantInfo,
    upn=_maybe(texts),
    role=_maybe(st.sampled_from(OnlineMeetingRole)),
    identity=_maybe(identity_sets),
    unknown_members=unknown_members(MeetingParticipantInfo),
)


def meetings(version: ApiVersion = ApiVersion.BETA) -> Any:
    """Meetings in Graph's default layout whose every value the version's default layout writes."""
    infos = st.lists(participant_infos, max_size=2).map(tuple)
    beta = version is ApiVersion.BETA
    participants = st.builds(
        MeetingParticipants,
        organizer=_maybe(participant_infos),
        attendees=infos,
        producers=infos if beta else st.just(()),
        contributors=infos if beta else st.just(()),
        unknown_members=unknown_members(MeetingParticipants),
    )
    audio = st.builds(
        AudioConferencing,
        conference_id=_maybe(texts),
        toll_number=_maybe(texts),
        toll_free_number=_maybe(texts),
        dialin_url=_maybe(texts),
        toll_numbers=st.lists(texts, max_size=2).map(tuple),
        toll_free_numbers=st.lists(texts, max_size=2).map(tuple),
        unknown_members=unknown_members(AudioConferencing),
    )
    lobby = st.builds(
        LobbyBypassSettings,
        scope=_maybe(st.sampled_from(LobbyBypassScope)),
        is_dial_in_bypass_enabled=_maybe(st.booleans()),
        unknown_members=unknown_members(LobbyBypassSettings),
    )
    chat = st.builds(
        ChatInfo,
        thread_id=_maybe(texts),
        message_id=_maybe(texts),
        reply_chain_message_id=_maybe(texts),
        unknown_members=unknown_members(ChatInfo),
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
        unknown_members=unknown_members(OnlineMeeting),
    )


@st.composite
def reshaped(draw: st.DrawFn, value: Any) -> Any:
    """The same JSON with members dropped and reordered at every level, as Graph may send it."""
    if isinstance(value, dict):
        keys = draw(st.permutations(list(value)))
        kept = [k for k in keys if draw(st.integers(0, 4)) > 0]
        return {k: draw(reshaped(value[k])) for k in kept}
    if isinstance(value, list):
        return [draw(reshaped(item)) for item in value]
    return value


def odd_case(text: str) -> Any:
    """``text`` with the case of its letters changed at random (enums read ignoring case)."""
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda flips: "".join(c.swapcase() if f else c for c, f in zip(text, flips, strict=True))
    )


@st.composite
def request_bodies(draw: st.DrawFn, version: ApiVersion = ApiVersion.BETA) -> dict[str, Any]:
    """Valid createOrGet bodies: every optional member present or absent, unknown members too."""
    body: dict[str, Any] = {"externalId": draw(texts.filter(bool))}
    if draw(st.booleans()):
        body["subject"] = draw(_maybe(texts))
    if draw(st.booleans()):
        start, start_text = draw(instant_texts())
        body["startDateTime"] = start_text
        if draw(st.booleans()):
            end, end_text = draw(instant_texts())
            assume(end >= start)
            body["endDateTime"] = end_text
    elif draw(st.booleans()):
        body["startDateTime"] = None
    if draw(st.booleans()):
        attendees = []
        for _ in range(draw(st.integers(0, 2))):
            attendee: dict[str, Any] = {}
            if draw(st.booleans()):
                attendee["identity"] = {"user": {"id": draw(texts)}}
            if draw(st.booleans()):
                attendee["upn"] = draw(_maybe(texts))
            if draw(st.booleans()):
                role = draw(st.sampled_from(["attendee", "presenter", "producer", "coorganizer"]))
                attendee["role"] = draw(_maybe(odd_case(role)))
            attendees.append(attendee)
        body["participants"] = {"attendees": attendees}
    if version is ApiVersion.BETA and draw(st.booleans()):
        body["chatInfo"] = {"threadId": draw(texts.map(lambda t: f"19:{t}@thread.tacv2"))}
    for name, value in draw(
        st.dictionaries(names.filter(lambda n: n not in body and n != "chatInfo"), json_values())
    ).items():
        if name not in {"externalId", "subject", "startDateTime", "endDateTime", "participants"}:
            body[name] = value
    keys = draw(st.permutations(list(body)))
    return {k: body[k] for k in keys}
