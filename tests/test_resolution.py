"""Tests for ``create_or_get``: create versus get, mismatches, failures (R-RES-1..5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from meeting_rules import (
    BadRequestError,
    CreateOrGetOutcome,
    FixedClock,
    GraphError,
    Instant,
    InternalServerError,
    MeetingKey,
    MeetingRepository,
    OnlineMeeting,
    Organizer,
    SeededIdFactory,
    ServiceUnavailableError,
    SteppingClock,
    TenantSettings,
    UnprocessableEntityError,
    create_or_get,
)
from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.graph_json import parse_create_or_get

ORGANIZER = Organizer(tenant_id="t", user_id="o", upn="o@contoso.com")
START = "2020-01-01T10:00:00Z"


def call(repository: MeetingRepository, body: dict[str, Any], **kwargs: Any) -> CreateOrGetOutcome:
    request = parse_create_or_get(body, version=kwargs.get("version", "beta"))
    kwargs.setdefault("organizer", ORGANIZER)
    kwargs.setdefault("clock", SteppingClock(Instant.parse(START), dt.timedelta(seconds=1)))
    kwargs.setdefault("ids", SeededIdFactory(1))
    return create_or_get(request, repository=repository, **kwargs)


class TestCreateOrGet:
    """The create and the get."""

    def test_r_res_2_first_call_creates(self, repository: MeetingRepository) -> None:
        """R-RES-2: no meeting under the key: a new one, 201, stored."""
        outcome = call(repository, {"externalId": "e", "subject": "s"})
        assert (outcome.created, outcome.status, outcome.mismatches) == (True, 201, ())
        assert outcome.meeting.subject == "s"
        key = MeetingKey(tenant_id="t", organizer_id="o", external_id="e")
        assert repository.get(key) == outcome.meeting

    def test_r_res_3_second_call_gets_the_stored_meeting(
        self, repository: MeetingRepository
    ) -> None:
        """R-RES-3: the same key again: the stored meeting unchanged, 200; other values ignored."""
        first = call(repository, {"externalId": "e", "subject": "s", "startDateTime": START})
        second = call(
            repository,
            {"externalId": "e", "subject": "other", "participants": {"attendees": [{"upn": "a"}]}},
            clock=FixedClock(Instant.parse("2030-01-01T00:00:00Z")),
            ids=SeededIdFactory(99),
        )
        assert (second.created, second.status) == (False, 200)
        assert second.meeting == first.meeting
        assert second.mismatches == ("subject", "participants.attendees")

    def test_r_res_3_mismatches_compare_normalised_times(
        self, repository: MeetingRepository
    ) -> None:
        """R-RES-3: times are compared after normalisation; an absent member is not compared."""
        call(repository, {"externalId": "e", "startDateTime": START})
        same = call(repository, {"externalId": "e", "startDateTime": "2020-01-01T11:00:00+01:00"})
        assert same.mismatches == ()
        assert call(repository, {"externalId": "e"}).mismatches == ()
        later = call(
            repository, {"externalId": "e", "startDateTime": "2020-01-01T10:00:00.0000001Z"}
        )
        assert later.mismatches == ("startDateTime", "endDateTime")
        longer = call(
            repository,
            {"externalId": "e", "startDateTime": START, "endDateTime": "2020-01-01T12:00:00Z"},
        )
        assert longer.mismatches == ("endDateTime",)
        channel = call(repository, {"externalId": "e", "chatInfo": {"threadId": "19:x@thread.v2"}})
        assert channel.mismatches == ("chatInfo.threadId",)

    def test_r_res_3_strict_mismatch_is_422(self, repository: MeetingRepository) -> None:
        """R-RES-3: with the strict setting, a differing get is a 422 naming the first member."""
        strict = TenantSettings(strict_mismatch=True)
        call(repository, {"externalId": "e", "subject": "s"}, settings=strict)
        assert call(repository, {"externalId": "e", "subject": "s"}, settings=strict).status == 200
        with pytest.raises(UnprocessableEntityError) as info:
            call(repository, {"externalId": "e", "subject": "t"}, settings=strict)
        assert (info.value.status, info.value.target) == (422, "subject")

    def test_r_res_1_other_organizer_other_meeting(self, repository: MeetingRepository) -> None:
        """R-RES-1: the same externalId under another organizer or tenant is another meeting."""
        ids = SeededIdFactory(5)
        first = call(repository, {"externalId": "e"}, ids=ids)
        other_user = call(
            repository,
            {"externalId": "e"},
            ids=ids,
            organizer=Organizer(tenant_id="t", user_id="p"),
        )
        other_tenant = call(
            repository,
            {"externalId": "e"},
            ids=ids,
            organizer=Organizer(tenant_id="u", user_id="o"),
        )
        assert other_user.created
        assert other_tenant.created
        assert len({first.meeting.id, other_user.meeting.id, other_tenant.meeting.id}) == 3

    def test_r_time_default_end_past_9999_stores_nothing(
        self, repository: MeetingRepository
    ) -> None:
        """R-RES-5: a request refused by the time rules stores nothing, on a create or a get."""
        late = {"externalId": "e", "startDateTime": "9999-12-31T23:30:00Z"}
        with pytest.raises(BadRequestError):
            call(repository, late)
        assert repository.get(MeetingKey(tenant_id="t", organizer_id="o", external_id="e")) is None
        with pytest.raises(BadRequestError):
            call(repository, {"externalId": "x"}, clock=FixedClock(Instant.MAX))


class FailingRepository:
    """A store that breaks in a chosen place, to show a failed call stores nothing."""

    def __init__(self, fail_on: str, error: Exception) -> None:
        self.inner = InMemoryMeetingRepository()
        self.fail_on = fail_on
        self.error = error

    def get(self, key: MeetingKey) -> OnlineMeeting | None:
        if self.fail_on == "get":
            raise self.error
        return self.inner.get(key)

    def add_if_absent(self, key: MeetingKey, meeting: OnlineMeeting) -> tuple[OnlineMeeting, bool]:
        if self.fail_on == "add":
            raise self.error
        return self.inner.add_if_absent(key, meeting)

    def find_by_id(
        self, *, tenant_id: str, organizer_id: str, meeting_id: str
    ) -> OnlineMeeting | None:
        return self.inner.find_by_id(
            tenant_id=tenant_id, organizer_id=organizer_id, meeting_id=meeting_id
        )


@pytest.mark.parametrize("fail_on", ["get", "add"])
@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ServiceUnavailableError("busy"), ServiceUnavailableError),
        (InternalServerError("broken"), InternalServerError),
        (OSError("disk full"), InternalServerError),
        (KeyError("bug"), InternalServerError),
    ],
)
def test_r_res_5_failing_store_stores_nothing(
    fail_on: str, error: Exception, expected: type[GraphError]
) -> None:
    """R-RES-5: a store failing mid-call gives a 500/503 GraphError and nothing is stored."""
    repository = FailingRepository(fail_on, error)
    with pytest.raises(expected) as info:
        call(repository, {"externalId": "e"})
    assert info.value.status in (500, 503)
    repository.fail_on = "nothing"  # the store works again: the next call must be the create
    assert call(repository, {"externalId": "e"}).status == 201


def test_r_meet_7_the_meeting_is_the_only_write() -> None:
    """R-MEET-7: a create writes the meeting once and nothing else; a get writes nothing."""
    calls: list[str] = []

    class Recording(InMemoryMeetingRepository):
        def get(self, key: MeetingKey) -> OnlineMeeting | None:
            calls.append("get")
            return super().get(key)

        def add_if_absent(
            self, key: MeetingKey, meeting: OnlineMeeting
        ) -> tuple[OnlineMeeting, bool]:
            calls.append("add_if_absent")
            return super().add_if_absent(key, meeting)

    repository = Recording()
    call(repository, {"externalId": "e"})
    assert calls == ["get", "add_if_absent"]
    calls.clear()
    call(repository, {"externalId": "e"})
    assert calls == ["get"]


def test_r_res_3_participants_without_attendees_is_not_a_mismatch() -> None:
    """R-RES-3: only members the request gives are compared: no attendees, no comparison."""
    repository = InMemoryMeetingRepository()
    call(repository, {"externalId": "e", "participants": {"attendees": [{"upn": "a"}]}})
    for participants in ({}, {"organizer": {"upn": "x"}}):
        again = call(repository, {"externalId": "e", "participants": participants})
        assert again.mismatches == ()
