"""One walk per exchange: the clock read once, the window normalised once, the version given once
(docs/design.md, "The walk of a request")."""

from __future__ import annotations

import datetime as dt
import json
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from meeting_rules import (
    ApiVersion,
    BadRequestError,
    CreateOrGetRequest,
    FixedClock,
    Instant,
    Organizer,
    SeededIdFactory,
    SteppingClock,
    create_or_get,
)
from meeting_rules import request as request_module
from meeting_rules import timing as timing_module
from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.graph_json import parse_create_or_get, request_to_json
from meeting_rules.http import DELEGATED_SCOPE, HttpRequest, InMemoryDirectory, handle

START = Instant.parse("2026-03-01T10:00:00Z")
ORGANIZER = Organizer(tenant_id="t", user_id="u", upn="u@contoso.com")


def exchange(body: bytes, *, version: str = "beta") -> HttpRequest:
    return HttpRequest(
        method="POST",
        path=f"/{version}/me/onlineMeetings/createOrGet",
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
        body=body,
    )


@pytest.fixture
def directory() -> InMemoryDirectory:
    directory = InMemoryDirectory()
    directory.add_delegated_user(
        token="t", tenant_id="t", user_id="u", upn="u@contoso.com", scopes={DELEGATED_SCOPE}
    )
    return directory


def test_r_http_6_date_header_and_creation_time_are_one_reading(
    directory: InMemoryDirectory,
) -> None:
    """With a clock that moves 5 s at every reading, the Date header and creationDateTime still
    agree: handle reads the clock once and create_or_get uses that reading (R-HTTP-6, R-MEET-1)."""
    clock = SteppingClock(START, dt.timedelta(seconds=5))
    response = handle(
        exchange(b'{"externalId": "e"}'),
        directory=directory,
        repository=InMemoryMeetingRepository(),
        clock=clock,
        ids=SeededIdFactory(1),
    )
    assert response.status == 201
    meeting = json.loads(response.body)
    date = parsedate_to_datetime(response.header("Date") or "")
    assert Instant.parse(meeting["creationDateTime"]) == START
    assert meeting["startDateTime"] == meeting["creationDateTime"]  # R-TIME-1: now, the same now
    assert date == dt.datetime(2026, 3, 1, 10, 0, 0, tzinfo=dt.UTC)
    assert clock.now() == START + dt.timedelta(seconds=5)  # one reading was taken before


def test_create_or_get_reads_a_given_clock_once() -> None:
    clock = SteppingClock(START, dt.timedelta(seconds=5))
    outcome = create_or_get(
        CreateOrGetRequest(external_id="e"),
        organizer=ORGANIZER,
        repository=InMemoryMeetingRepository(),
        clock=clock,
        ids=SeededIdFactory(1),
    )
    assert outcome.meeting.creation_date_time == START
    assert clock.now() == START + dt.timedelta(seconds=5)


def test_create_or_get_needs_a_clock_or_now() -> None:
    with pytest.raises(TypeError, match="clock"):
        create_or_get(
            CreateOrGetRequest(external_id="e"),
            organizer=ORGANIZER,
            repository=InMemoryMeetingRepository(),
            ids=SeededIdFactory(1),
        )


def created_with(request: CreateOrGetRequest, **version: ApiVersion) -> str | None:
    """The ``autoAdmittedUsers`` spelling of the meeting ``request`` creates."""
    options: dict[str, Any] = dict(version)  # ``version=`` given or not
    outcome = create_or_get(
        request,
        organizer=ORGANIZER,
        repository=InMemoryMeetingRepository(),
        clock=FixedClock(START),
        ids=SeededIdFactory(1),
        **options,
    )
    return outcome.meeting.auto_admitted_users


def test_r_meet_3_a_v1_request_creates_in_v1_spellings_without_repeating_the_version() -> None:
    """The version is given once, when the body is read; the request carries it to the create."""
    request = parse_create_or_get(b'{"externalId": "e"}', version=ApiVersion.V1_0)
    assert request.version is ApiVersion.V1_0
    assert created_with(request) == "everyoneInCompany"  # v1.0's spelling
    beta = parse_create_or_get(b'{"externalId": "e"}')
    assert beta.version is ApiVersion.BETA
    assert CreateOrGetRequest(external_id="e").version is ApiVersion.BETA
    assert created_with(beta) == "EveryoneInCompany"
    # An explicit version still wins over the request's.
    assert created_with(beta, version=ApiVersion.V1_0) == "everyoneInCompany"


def test_a_version_must_be_an_api_version() -> None:
    with pytest.raises(TypeError, match="ApiVersion"):
        CreateOrGetRequest(external_id="e", version="v1.0")  # type: ignore[arg-type]


def test_request_to_json_writes_the_requests_own_version() -> None:
    body = b'{"externalId": "e", "chatInfo": {"threadId": "19:x@thread.v2"}}'
    assert "chatInfo" in request_to_json(parse_create_or_get(body))
    v1 = parse_create_or_get(body, version="v1.0")
    assert "chatInfo" not in request_to_json(v1)
    assert "chatInfo" not in request_to_json(parse_create_or_get(body), version="v1.0")


@pytest.fixture
def window_checks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every run of the time window's check, wherever it is called from."""
    calls: list[object] = []
    check = timing_module.check_window

    def counted(start: Instant | None, end: Instant | None) -> None:
        calls.append((start, end))
        check(start, end)

    monkeypatch.setattr(timing_module, "check_window", counted)
    monkeypatch.setattr(request_module, "check_window", counted)  # the request's own check
    return calls


def test_the_counter_sees_every_check(window_checks: list[object]) -> None:
    """A request built by hand runs its own check; the counter sees it (so a reader that ran it
    again would be seen too)."""
    CreateOrGetRequest(external_id="e", start_date_time=START, end_date_time=START)
    assert len(window_checks) == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"externalId": "e"}',
        b'{"externalId": "e", "startDateTime": "2026-03-01T11:00:00Z"}',
        b'{"externalId": "e", "startDateTime": "2026-03-01T11:00:00Z",'
        b' "endDateTime": "2026-03-01T12:00:00Z"}',
    ],
)
def test_r_time_4_one_window_check_per_create_and_per_get(
    body: bytes, directory: InMemoryDirectory, window_checks: list[object]
) -> None:
    """Reading the body checks the order of its times as it reads them; create_or_get normalises
    the window once and hands it to the builder and the mismatch finder."""
    repository = InMemoryMeetingRepository()
    parse_create_or_get(body)
    assert window_checks == []  # the reader's own check, in document order, is the only one
    for status in (201, 200):
        window_checks.clear()
        response = handle(
            exchange(body),
            directory=directory,
            repository=repository,
            clock=FixedClock(START),
            ids=SeededIdFactory(1),
        )
        assert response.status == status
        assert len(window_checks) == 1


def test_r_time_4_the_check_still_refuses_at_parse_time() -> None:
    """The one check at parse time refuses what the two did: an end before the start, an end
    without a start (R-TIME-3), in a beta or a v1.0 body."""
    for version in ApiVersion:
        with pytest.raises(BadRequestError, match="must not be earlier") as info:
            parse_create_or_get(
                b'{"externalId": "e", "startDateTime": "2026-03-01T11:00:00Z",'
                b' "endDateTime": "2026-03-01T10:00:00Z"}',
                version=version,
            )
        assert info.value.target == "endDateTime"
        with pytest.raises(BadRequestError, match="without startDateTime"):
            parse_create_or_get(
                b'{"externalId": "e", "endDateTime": "2026-03-01T10:00:00Z"}', version=version
            )


def test_the_meeting_answers_in_the_routes_version(directory: InMemoryDirectory) -> None:
    response = handle(
        exchange(b'{"externalId": "e"}', version="v1.0"),
        directory=directory,
        repository=InMemoryMeetingRepository(),
        clock=FixedClock(START),
        ids=SeededIdFactory(1),
    )
    meeting = json.loads(response.body)
    assert meeting["autoAdmittedUsers"] == "everyoneInCompany"
    assert "expiryDateTime" in meeting
