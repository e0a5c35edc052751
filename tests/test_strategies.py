"""Tests for the public strategies of ``meeting_rules.testing.strategies``."""

from __future__ import annotations

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from meeting_rules import ApiVersion, CreateOrGetRequest, GraphError, Instant, OnlineMeeting
from meeting_rules.graph_json import meeting_to_json, parse_create_or_get, request_to_json
from meeting_rules.testing import strategies
from meeting_rules.testing.strategies import (
    instant_texts,
    instants,
    invalid_request_bodies,
    meeting_json,
    meetings,
    request_bodies,
    requests,
)
from tests.conftest import BODY_SCHEMAS, MEETING_SCHEMAS

VERSIONS = st.sampled_from(list(ApiVersion))


@given(st.data())
def test_invalid_bodies_give_their_status_and_target(data: st.DataObject) -> None:
    """R-BODY-*, R-TIME-*: every invalid body is refused with exactly its declared answer."""
    version = data.draw(VERSIONS)
    body, status, target = data.draw(invalid_request_bodies(version=version))
    with pytest.raises(GraphError) as info:
        parse_create_or_get(body, version=version)
    assert (info.value.status, info.value.target) == (status, target)


@given(st.data())
def test_valid_bodies_read_and_fit_the_schema(data: st.DataObject) -> None:
    """Valid bodies read as requests, which write back as bodies that fit Graph's schema (the
    bodies themselves use forms Graph reads but the schema's pattern does not list: ``t``, ``z``,
    no seconds)."""
    version = data.draw(VERSIONS)
    body = data.draw(request_bodies(version=version, min_attendees=1))
    request = parse_create_or_get(body, version=version)
    BODY_SCHEMAS[version.value].validate(request_to_json(request, version=version))
    assert request.participants is not None
    assert len(request.participants.attendees) >= 1


@given(requests(version="v1.0"))
def test_requests_are_requests(request: CreateOrGetRequest) -> None:
    """``requests()`` gives read requests; v1.0 ones never hold chatInfo."""
    assert request.chat_info is None


@given(instant_texts(min_value=Instant.parse("2020-01-01T00:00:00Z")))
def test_instant_texts_respect_bounds(case: tuple[Instant, str]) -> None:
    """Bounded instant texts stay within their bounds and read back exactly."""
    instant, text = case
    assert instant >= Instant.parse("2020-01-01T00:00:00Z")
    assert Instant.parse(text) == instant


@settings(max_examples=60)
@given(st.data())
def test_meetings_and_bodies_fit_the_schema(data: st.DataObject) -> None:
    """Meetings and response bodies fit Graph's meeting schema for their version."""
    version = data.draw(VERSIONS)
    MEETING_SCHEMAS[version.value].validate(data.draw(meeting_json(version=version)))
    meeting = data.draw(meetings(version=version))
    MEETING_SCHEMAS[version.value].validate(meeting_to_json(meeting, version=version))


@pytest.mark.parametrize(
    ("strategy", "simplest"),
    [
        (instants(), Instant.MIN),
        (instant_texts(), (Instant.MIN, "0001-01-01T00:00Z")),
        (request_bodies(), {"externalId": "0"}),
        (requests(), CreateOrGetRequest(external_id="0")),
        (meetings(), OnlineMeeting(id="")),
        (meeting_json(), meeting_to_json(OnlineMeeting(id=""), include_unknown_enum_members=True)),
        (invalid_request_bodies(), (b"", 400, None)),
    ],
)
def test_strategies_shrink_to_what_they_document(strategy: object, simplest: object) -> None:
    """Each strategy shrinks to the simplest value its docstring names."""
    found = find(strategy, lambda _: True, settings=settings(database=None))  # type: ignore[arg-type]
    assert found == simplest


@pytest.mark.parametrize(
    "call",
    [
        lambda: instants(min_value=Instant.MAX, max_value=Instant.MIN),
        lambda: instants(min_value="2020"),  # type: ignore[arg-type]
        lambda: instant_texts(min_value=Instant.MAX, max_value=Instant.MIN),
        lambda: request_bodies(version="v2"),
        lambda: request_bodies(min_attendees=3, max_attendees=1),
        lambda: request_bodies(min_attendees=-1),
        lambda: requests(version="gamma"),
        lambda: meetings(version=""),
        lambda: meeting_json(version="v1"),
        lambda: invalid_request_bodies(version="alpha"),
        lambda: strategies.json_values(max_leaves=0),
        lambda: strategies.json_values(max_leaves="3"),  # type: ignore[arg-type]
        lambda: strategies.json_values(max_leaves=2.5),  # type: ignore[arg-type]
        lambda: request_bodies(max_attendees=None),  # type: ignore[arg-type]
        lambda: request_bodies(min_attendees=None),  # type: ignore[arg-type]
        lambda: request_bodies(max_attendees="3"),  # type: ignore[arg-type]
        lambda: request_bodies(min_attendees=0.5),  # type: ignore[arg-type]
        lambda: request_bodies(max_attendees=True),
    ],
)
def test_nonsense_arguments_are_refused_when_called(call: object) -> None:
    """A nonsense argument is refused at the call, with Hypothesis' InvalidArgument."""
    with pytest.raises(InvalidArgument):
        call()  # type: ignore[operator]


def test_a_strategy_is_built_once_for_its_arguments_and_checked_at_every_call() -> None:
    """A test may build a strategy inside ``data.draw`` for every example: the same arguments
    give the same strategy (its tree is checked by Hypothesis once), and nonsense arguments are
    still refused at each call."""
    assert strategies.meetings(version="v1.0") is strategies.meetings(version=ApiVersion.V1_0)
    assert strategies.meeting_json() is strategies.meeting_json(version="beta")
    assert request_bodies(max_attendees=3) is request_bodies(min_attendees=0, max_attendees=3)
    assert request_bodies(max_attendees=3) is not request_bodies(max_attendees=4)
    assert strategies.json_values(max_leaves=2) is strategies.json_values(max_leaves=2)
    assert strategies.requests() is strategies.requests()
    assert strategies.invalid_request_bodies() is strategies.invalid_request_bodies()
    for _ in range(2):
        with pytest.raises(InvalidArgument):
            strategies.meetings(version="v2")
        with pytest.raises(InvalidArgument):
            request_bodies(max_attendees=True)


def test_every_strategy_is_documented_with_an_example() -> None:
    """Each public strategy has a docstring with an example."""
    for name in strategies.__all__:
        doc = getattr(strategies, name).__doc__ or ""
        if name != "texts":
            assert ">>>" in doc, name


@given(invalid_request_bodies())
def test_an_invalid_body_is_a_dict_or_the_bodys_bytes_or_text(
    case: tuple[object, int, str | None],
) -> None:
    """api.md: a body is a dict, or bytes/str where the defect is below JSON; a ``str`` is the
    body's text (JSON that is not an object is written out, never drawn as a decoded value)."""
    body = case[0]
    assert isinstance(body, dict | bytes | str), body
