"""Tests for the meeting createOrGet makes (R-MEET-1..7)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from meeting_rules import (
    ApiVersion,
    Instant,
    LobbyBypassScope,
    OnlineMeeting,
    OnlineMeetingPresenters,
    OnlineMeetingRole,
    Organizer,
    SeededIdFactory,
    TenantSettings,
)
from meeting_rules.creation import build_meeting, join_web_url, meeting_id, new_meeting_thread_id
from meeting_rules.graph_json import meeting_to_json, parse_create_or_get
from meeting_rules.testing.strategies import request_bodies
from tests.conftest import MEETING_SCHEMAS, data_json

ORGANIZER = Organizer(
    tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47",
    user_id="8b081ef6-4792-4def-b2c9-c363a1bf41d5",
    upn="organizer@contoso.com",
)
NOW = Instant.parse("2020-09-11T06:30:18.399Z")
SETTINGS = TenantSettings()


def build(body: object, version: str = "beta", **kwargs: object) -> OnlineMeeting:
    request = parse_create_or_get(body, version=version)  # type: ignore[arg-type]
    return build_meeting(
        request,
        organizer=ORGANIZER,
        now=kwargs.pop("now", NOW),  # type: ignore[arg-type]
        ids=SeededIdFactory(7),
        settings=kwargs.pop("settings", SETTINGS),  # type: ignore[arg-type]
        version=ApiVersion(version),
    )


class TestCreatedMeeting:
    """What a created meeting holds."""

    def test_r_meet_1_times_subject_external_id(self) -> None:
        """R-MEET-1: creation time is now; times per R-TIME; subject and externalId as sent."""
        meeting = build(data_json("seed-example1-request.json"))
        assert meeting.creation_date_time == NOW
        assert str(meeting.start_date_time) == "2020-02-06T01:49:21.3524945Z"
        assert str(meeting.end_date_time) == "2020-02-06T02:19:21.3524945Z"
        assert meeting.subject == "Create a meeting with customId provided"
        assert meeting.external_id == "7eb8263f-d0e0-4149-bb1c-1f0476083c56"
        defaulted = build({"externalId": "e"})
        assert defaulted.start_date_time == NOW
        assert defaulted.end_date_time == NOW + dt.timedelta(hours=1)

    def test_r_meet_2_organizer_is_the_caller(self) -> None:
        """R-MEET-2: the organizer is the caller, as presenter; a body's organizer is ignored."""
        body = {"externalId": "e", "participants": {"organizer": {"upn": "someone@else.com"}}}
        organizer = meeting_to_json(build(body))["participants"]["organizer"]
        assert organizer == {
            "upn": "organizer@contoso.com",
            "role": "presenter",
            "identity": {"user": {"id": ORGANIZER.user_id, "tenantId": ORGANIZER.tenant_id}},
        }

    def test_r_meet_3_attendees_have_no_role(self) -> None:
        """R-MEET-3, R-BODY-5: attendees keep identity and upn; role is null; beta has the rest."""
        participants = meeting_to_json(build(data_json("seed-example1-request.json")))[
            "participants"
        ]
        seed = data_json("seed-example1-response.json")["participants"]
        assert participants["attendees"] == seed["attendees"]
        assert participants["producers"] == participants["contributors"] == []
        v1 = meeting_to_json(build({"externalId": "e"}, "v1.0"), version="v1.0")
        assert list(v1["participants"]) == ["organizer", "attendees"]

    def test_r_meet_4_tenant_defaults(self) -> None:
        """R-MEET-4: the seed's policy defaults; autoAdmittedUsers spelled per version."""
        beta = build({"externalId": "e"})
        assert beta.allowed_presenters is OnlineMeetingPresenters.EVERYONE
        assert (beta.is_entry_exit_announced, beta.is_broadcast) == (True, False)
        assert beta.auto_admitted_users == "EveryoneInCompany"
        assert beta.lobby_bypass_settings is not None
        assert beta.lobby_bypass_settings.scope is LobbyBypassScope.ORGANIZATION
        assert beta.lobby_bypass_settings.is_dial_in_bypass_enabled is False
        assert build({"externalId": "e"}, "v1.0").auto_admitted_users == "everyoneInCompany"
        custom = TenantSettings(
            allowed_presenters=OnlineMeetingPresenters.ORGANIZER,
            lobby_bypass_scope=LobbyBypassScope.EVERYONE,
            toll_number=None,
            dialin_url=None,
            expiry_period=None,
        )
        meeting = build({"externalId": "e"}, settings=custom)
        assert meeting.allowed_presenters is OnlineMeetingPresenters.ORGANIZER
        assert meeting.audio_conferencing is not None
        assert meeting.audio_conferencing.dialin_url is None
        assert meeting.expiry_date_time is None

    def test_r_meet_5_new_meeting_thread(self) -> None:
        """R-MEET-5: no chatInfo: a new meeting thread of 48 base64 characters, messageId "0"."""
        meeting = build({"externalId": "e"})
        assert meeting.chat_info is not None
        thread = meeting.chat_info.thread_id
        assert thread is not None
        match = re.fullmatch(r"19:meeting_([A-Za-z0-9+/]{48})@thread\.v2", thread)
        assert match is not None
        assert re.fullmatch(r"[0-9a-f-]{36}", base64.b64decode(match.group(1)).decode())
        assert (meeting.chat_info.message_id, meeting.chat_info.reply_chain_message_id) == (
            "0",
            None,
        )

    def test_r_meet_5_channel_thread_and_unix_milliseconds(self) -> None:
        """R-MEET-5: a channel's thread; messageId = creation in Unix ms (seed Example 2)."""
        meeting = build(data_json("seed-example2-request.json"))
        seed = data_json("seed-example2-response.json")["chatInfo"]
        assert meeting_to_json(meeting)["chatInfo"] == seed

    def test_r_meet_6_identifiers(self) -> None:
        """R-MEET-6: id, joinWebUrl in Graph's lower-case encoding, and the generated IDs."""
        meeting = build(data_json("seed-example2-request.json"))
        thread = "19:7ebda77322dd4505ac4dedb5b67df076@thread.tacv2"
        assert meeting.id is not None
        assert base64.b64decode(meeting.id).decode() == (
            f"1*{ORGANIZER.user_id}*1599805818399**{thread}"
        )
        assert meeting.join_web_url == (
            "https://teams.microsoft.com/l/meetup-join/"
            "19%3a7ebda77322dd4505ac4dedb5b67df076%40thread.tacv2/1599805818399"
            "?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a"
            "%228b081ef6-4792-4def-b2c9-c363a1bf41d5%22%7d"
        )
        assert re.fullmatch(r"\d{10}", meeting.video_teleconference_id or "")
        audio = meeting.audio_conferencing
        assert audio is not None
        assert re.fullmatch(r"\d{9}", audio.conference_id or "")
        assert audio.dialin_url == (
            "https://dialin.teams.microsoft.com/0e73a853-1cc2-436c-b18c-9f53e0a97c24"
            f"?id={audio.conference_id}"
        )
        assert (audio.toll_number, audio.toll_free_number) == ("+1 206-485-3005", None)

    def test_r_meet_6_seeded_ids_are_reproducible(self) -> None:
        """R-MEET-6: the same seed and clock give the same meeting, identifiers and all."""
        assert build({"externalId": "e"}) == build({"externalId": "e"})

    @given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
    def test_r_meet_6_join_url_reads_back(self, tenant: str, organizer: str, thread: str) -> None:
        """R-MEET-6: the URL's parts decode to the thread, message and context they encode."""
        url = join_web_url(tenant, organizer, "0", thread)
        assert not re.search(r"%[0-9a-f]?[A-F]", url)  # lower-case escapes only
        parts = urlsplit(url)
        _, _, _, encoded_thread, message = parts.path.split("/")
        assert unquote(encoded_thread) == thread
        assert re.fullmatch(r"(?:[A-Za-z0-9._~-]|%[0-9a-f]{2})*", encoded_thread)
        assert message == "0"
        assert json.loads(parse_qs(parts.query)["context"][0]) == {"Tid": tenant, "Oid": organizer}

    def test_r_meet_6_meeting_id_and_thread_forms(self) -> None:
        """R-MEET-6: the id and a thread made from a known GUID."""
        assert meeting_id("o", "0", "t") == base64.b64encode(b"1*o*0**t").decode()
        guid = "cd613e30-d8f1-4adf-91b7-584a2265b1f5"
        thread = new_meeting_thread_id(guid)
        assert thread == "19:meeting_Y2Q2MTNlMzAtZDhmMS00YWRmLTkxYjctNTg0YTIyNjViMWY1@thread.v2"

    def test_r_time_8_expiry_from_settings(self) -> None:
        """R-TIME-8: expiryDateTime = end + the tenant's period, written for v1.0 only."""
        meeting = build({"externalId": "e"}, "v1.0")
        assert meeting.expiry_date_time == meeting.end_date_time + dt.timedelta(days=60)  # type: ignore[operator]
        assert "expiryDateTime" in meeting_to_json(meeting, version="v1.0")
        assert "expiryDateTime" not in meeting_to_json(meeting, version="beta")

    @pytest.mark.parametrize("version", ["beta", "v1.0"])
    @given(data=st.data())
    def test_created_meetings_fit_graphs_schema(self, version: str, data: st.DataObject) -> None:
        """Every created meeting, written for its version, validates against Graph's schema."""
        body = data.draw(request_bodies(version=ApiVersion(version)))
        start = body.get("startDateTime")
        if start is not None and "endDateTime" not in body:
            assume(Instant.parse(start) <= Instant.MAX - dt.timedelta(hours=1))
        meeting = build(body, version)
        MEETING_SCHEMAS[version].validate(meeting_to_json(meeting, version=version))
        assert meeting.participants is not None
        assert meeting.participants.organizer is not None
        assert meeting.participants.organizer.role is OnlineMeetingRole.PRESENTER
