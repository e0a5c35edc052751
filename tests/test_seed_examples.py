"""The seed page's own examples, read and written in both directions (one table, as h11 does)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meeting_rules import (
    ChatInfo,
    Identity,
    IdentitySet,
    Instant,
    LobbyBypassScope,
    OnlineMeetingPresenters,
    OnlineMeetingRole,
)
from meeting_rules.graph_json import (
    dumps_meeting,
    meeting_from_json,
    meeting_to_json,
    parse_create_or_get,
    request_to_json,
)
from tests.conftest import BODY_SCHEMAS, MEETING_SCHEMAS, data_bytes

ATTENDEE = IdentitySet(user=Identity(id="1f35f2e6-9cab-44ad-8d5a-b74c14720000"))
CHANNEL = "19:7ebda77322dd4505ac4dedb5b67df076@thread.tacv2"

# (example, request's chat_info, request's ignored members, response's chatInfo.messageId)
SEED_CASES: list[tuple[int, ChatInfo | None, tuple[str, ...], str]] = [
    (1, None, ("participants.attendees[0].role",), "0"),
    (2, ChatInfo(thread_id=CHANNEL), (), "1599805818399"),
]


@pytest.mark.parametrize(("example", "chat_info", "ignored", "message_id"), SEED_CASES)
class TestSeedExample:
    """Each seed example: its request and its response."""

    def test_request_is_read(
        self, example: int, chat_info: ChatInfo | None, ignored: tuple[str, ...], message_id: str
    ) -> None:
        """R-BODY-1, R-BODY-5, R-TIME-5: the seed request reads as the rules say."""
        raw = data_bytes(f"seed-example{example}-request.json")
        BODY_SCHEMAS["beta"].validate(json.loads(raw))
        request = parse_create_or_get(raw)
        assert request.external_id == "7eb8263f-d0e0-4149-bb1c-1f0476083c56"
        assert request.subject == "Create a meeting with customId provided"
        assert request.start_date_time == Instant.parse("2020-02-06T01:49:21.3524945Z")
        assert request.end_date_time == Instant.parse("2020-02-06T02:19:21.3524945Z")
        assert request.participants is not None
        (attendee,) = request.participants.attendees
        assert (attendee.upn, attendee.role, attendee.identity) == (
            "test1@contoso.com",
            None,
            ATTENDEE,
        )
        assert request.chat_info == chat_info
        assert request.ignored_members == ignored

    def test_request_is_written_back(
        self, example: int, chat_info: ChatInfo | None, ignored: tuple[str, ...], message_id: str
    ) -> None:
        """The request written back is the seed body less its ignored members, times in UTC."""
        original: dict[str, Any] = json.loads(data_bytes(f"seed-example{example}-request.json"))
        written = request_to_json(parse_create_or_get(original))
        BODY_SCHEMAS["beta"].validate(written)
        original["startDateTime"] = "2020-02-06T01:49:21.3524945Z"
        original["endDateTime"] = "2020-02-06T02:19:21.3524945Z"
        original["participants"]["attendees"][0].pop("role", None)
        assert written == original

    def test_response_is_read(
        self, example: int, chat_info: ChatInfo | None, ignored: tuple[str, ...], message_id: str
    ) -> None:
        """R-TIME-6, R-MEET-3, R-MEET-4 (autoAdmittedUsers kept as read): every value exact."""
        meeting = meeting_from_json(data_bytes(f"seed-example{example}-response.json"))
        assert meeting.id == "(redacted)"
        assert str(meeting.creation_date_time) == "2020-09-11T06:30:18.1909168Z"
        assert str(meeting.start_date_time) == "2020-09-11T06:30:18.0615989Z"
        assert str(meeting.end_date_time) == "2020-09-11T07:30:18.0615989Z"
        assert meeting.auto_admitted_users == "EveryoneInCompany"
        assert meeting.allowed_presenters is OnlineMeetingPresenters.EVERYONE
        assert meeting.participants is not None
        assert meeting.participants.organizer is not None
        assert meeting.participants.organizer.role is OnlineMeetingRole.PRESENTER
        assert meeting.participants.attendees[0].role is None
        assert meeting.participants.producers == meeting.participants.contributors == ()
        assert meeting.lobby_bypass_settings is not None
        assert meeting.lobby_bypass_settings.scope is LobbyBypassScope.ORGANIZATION
        assert meeting.audio_conferencing is not None
        assert meeting.audio_conferencing.toll_free_number is None
        assert meeting.chat_info == ChatInfo(
            thread_id=CHANNEL, message_id=message_id, reply_chain_message_id=None
        )

    def test_response_is_written_back_unchanged(
        self, example: int, chat_info: ChatInfo | None, ignored: tuple[str, ...], message_id: str
    ) -> None:
        """R-JSON-2, R-JSON-4: the seed response writes back member for member, byte for byte;
        as v1.0, without beta's producers and contributors (R-MEET-3)."""
        raw = data_bytes(f"seed-example{example}-response.json")
        original = json.loads(raw)
        meeting = meeting_from_json(raw)
        assert meeting_to_json(meeting) == original
        assert (
            dumps_meeting(meeting)
            == json.dumps(original, separators=(",", ":"), ensure_ascii=False).encode()
        )
        MEETING_SCHEMAS["beta"].validate(meeting_to_json(meeting))
        del original["participants"]["producers"], original["participants"]["contributors"]
        assert json.dumps(meeting_to_json(meeting, version="v1.0")) == json.dumps(original)
        MEETING_SCHEMAS["v1.0"].validate(original)
