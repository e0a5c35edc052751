"""Tests for the value objects: frozen, slotted, keyword-only, validated where it matters."""

from __future__ import annotations

import pickle
from typing import Any

import attrs
import pytest
from hypothesis import given

import meeting_rules
from meeting_rules import (
    BadRequestError,
    CreateOrGetRequest,
    Instant,
    MeetingKey,
    OnlineMeeting,
    Organizer,
)
from meeting_rules.testing.strategies import meetings

VALUE_CLASSES = [
    "Identity",
    "IdentitySet",
    "MeetingParticipantInfo",
    "MeetingParticipants",
    "ChatInfo",
    "AudioConferencing",
    "LobbyBypassSettings",
    "OnlineMeeting",
    "CreateOrGetRequest",
    "Organizer",
    "MeetingKey",
    "MeetingWindow",
    "Instant",
]


@pytest.mark.parametrize("name", VALUE_CLASSES)
def test_value_classes_are_frozen_slotted_keyword_only(name: str) -> None:
    """Every value class is a frozen attrs class with slots and keyword-only fields."""
    cls: Any = getattr(meeting_rules, name)
    with pytest.raises(TypeError):
        cls("positional")
    assert attrs.has(cls)
    assert "__slots__" in cls.__dict__
    assert all(field.kw_only for field in attrs.fields(cls))


def test_meetings_cannot_be_changed() -> None:
    """Assigning to a meeting's member fails; ``attrs.evolve`` makes a new one."""
    meeting = OnlineMeeting(id="m")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        meeting.subject = "s"  # type: ignore[misc]
    assert attrs.evolve(meeting, subject="s").subject == "s"


@given(meetings())
def test_meetings_pickle(meeting: OnlineMeeting) -> None:
    """Meetings cross process boundaries unchanged."""
    assert pickle.loads(pickle.dumps(meeting)) == meeting


@pytest.mark.parametrize("cls", [Organizer, MeetingKey])
@pytest.mark.parametrize("bad", ["", None, 5])
def test_keys_refuse_empty_or_non_string_parts(cls: type, bad: object) -> None:
    """R-RES-1: a key's parts, and an organizer's IDs, are non-empty strings."""
    names = [f.name for f in attrs.fields(cls) if f.name != "upn"]
    for name in names:
        kwargs: dict[str, object] = dict.fromkeys(names, "x")
        kwargs[name] = bad
        with pytest.raises(ValueError, match=name):
            cls(**kwargs)


def test_r_res_1_keys_compare_exactly() -> None:
    """R-RES-1: tenant, organizer and externalId all count, case-sensitively."""
    key = MeetingKey(tenant_id="t", organizer_id="o", external_id="E")
    assert key == MeetingKey(tenant_id="t", organizer_id="o", external_id="E")
    assert key != MeetingKey(tenant_id="t", organizer_id="o", external_id="e")
    assert key != MeetingKey(tenant_id="t", organizer_id="O", external_id="E")
    assert len({key, MeetingKey(tenant_id="T", organizer_id="o", external_id="E")}) == 2


def test_r_res_1_an_organizer_keeps_its_guids_in_lower_case() -> None:
    """R-RES-1: object IDs are GUIDs, which Entra compares in any case; an organizer keeps them
    in lower case, so one user is one key however it is spelled. Other IDs stay as given."""
    tenant, user = "72F988BF-86F1-41AF-91AB-2D7CD011DB47", "8B081EF6-4792-4DEF-B2C9-C363A1BF41D5"
    organizer = Organizer(tenant_id=tenant, user_id=user)
    assert organizer == Organizer(tenant_id=tenant.lower(), user_id=user.lower())
    assert (organizer.tenant_id, organizer.user_id) == (tenant.lower(), user.lower())
    assert Organizer(tenant_id="Contoso", user_id="Bob").user_id == "Bob"
    with pytest.raises(ValueError, match="tenant_id"):
        Organizer(tenant_id=None, user_id="u")  # type: ignore[arg-type]


def test_r_body_2_request_needs_an_external_id() -> None:
    """R-BODY-2: a request cannot be built with an empty externalId."""
    with pytest.raises(BadRequestError) as info:
        CreateOrGetRequest(external_id="")
    assert info.value.target == "externalId"


def test_r_time_3_request_cannot_have_end_without_start() -> None:
    """R-TIME-3, R-TIME-4: a request's times are checked when it is built."""
    with pytest.raises(BadRequestError, match="without startDateTime"):
        CreateOrGetRequest(external_id="e", end_date_time=Instant.MIN)
    with pytest.raises(BadRequestError, match="earlier"):
        CreateOrGetRequest(external_id="e", start_date_time=Instant.MAX, end_date_time=Instant.MIN)
