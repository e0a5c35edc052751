"""Tests for ``meeting_rules.graph_json``: the createOrGet, meeting and error bodies."""

from __future__ import annotations

import json
import pickle
from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meeting_rules import (
    ApiVersion,
    BadRequestError,
    ChatInfo,
    CreateOrGetRequest,
    Identity,
    IdentitySet,
    Instant,
    LobbyBypassScope,
    LobbyBypassSettings,
    MeetingParticipantInfo,
    MeetingParticipants,
    NotFoundError,
    OnlineMeeting,
    OnlineMeetingRole,
)
from meeting_rules.graph_json import (
    MAX_DEPTH,
    dumps_json,
    dumps_meeting,
    error_to_json,
    json_path,
    meeting_from_json,
    meeting_from_storage,
    meeting_to_json,
    meeting_to_storage,
    parse_create_or_get,
    request_to_json,
)
from meeting_rules.testing.strategies import json_values, meeting_json, meetings, request_bodies
from tests.conftest import BODY_SCHEMAS, ERROR_SCHEMA, MEETING_SCHEMAS, data_json

SEED_REQUEST = data_json("seed-example1-request.json")
SEED_RESPONSE = data_json("seed-example1-response.json")
UNREADABLE = "Unable to read JSON request payload."


def refused(body: Any, **kwargs: Any) -> BadRequestError:
    with pytest.raises(BadRequestError) as info:
        parse_create_or_get(body, **kwargs)
    assert info.value.status == 400
    assert info.value.code == "BadRequest"
    return info.value


def with_members(**members: Any) -> dict[str, Any]:
    return {"externalId": "e", **members}


class TestRequestMembers:
    """Tests for what ``parse_create_or_get`` reads from a valid body."""

    @pytest.mark.parametrize(
        ("body", "target"),
        [
            ({"startDateTime": "2020-01-01T01:00:00Z", "endDateTime": "2020-01-01T00:00:00Z",
              "subject": 5, "externalId": "e"}, "endDateTime"),
            ({"subject": 5, "startDateTime": "2020-01-01T01:00:00Z",
              "endDateTime": "2020-01-01T00:00:00Z", "externalId": "e"}, "subject"),
            ({"endDateTime": "2020-01-01T00:00:00Z", "subject": 5,
              "startDateTime": "2020-01-01T01:00:00Z"}, "subject"),
            ({"participants": {"attendees": [{"upn": 1}]}}, "participants.attendees[0].upn"),
            ({"externalId": "", "startDateTime": "2020-01-01T01:00:00Z",
              "endDateTime": "2020-01-01T00:00:00Z"}, "externalId"),
            ({"participants": {"attendees": [{"role": "nobody"}]}, "externalId": None},
             "participants.attendees[0].role"),
        ],
    )  # fmt: skip
    def test_r_time_4_defects_are_met_in_document_order(self, body: Any, target: str) -> None:
        """R-TIME-4, R-BODY-6: of several defects the first in the body is reported; an end
        before the start as soon as both are read, a missing externalId after everything."""
        assert refused(body).target == target

    def test_r_body_1_every_parameter_is_read(self) -> None:
        """R-BODY-1: the six parameters reach the request."""
        request = parse_create_or_get(
            with_members(
                subject="s",
                startDateTime="2020-01-01T00:00:00Z",
                endDateTime="2020-01-01T01:00:00+01:00",
                participants={"attendees": [{"upn": "a@contoso.com"}]},
                chatInfo={"threadId": "19:x@thread.tacv2"},
            )
        )
        assert request.external_id == "e"
        assert request.subject == "s"
        assert request.start_date_time == Instant.parse("2020-01-01T00:00:00Z")
        assert request.end_date_time == request.start_date_time
        assert request.participants is not None
        assert request.participants.attendees[0].upn == "a@contoso.com"
        assert request.chat_info == ChatInfo(thread_id="19:x@thread.tacv2")
        assert request.ignored_members == ()

    @pytest.mark.parametrize("body", [b"{}", {}, {"subject": "s"}])
    def test_r_body_2_missing_external_id(self, body: Any) -> None:
        """R-BODY-2: a missing externalId gives Graph's missing-parameter 400."""
        error = refused(body)
        assert error.target == "externalId"
        assert error.message == (
            "One or more parameters of the operation 'createOrGet' are missing from the request "
            "payload. The missing parameters are: externalId."
        )

    @pytest.mark.parametrize(
        ("value", "fragment"),
        [(None, "must not be null"), ("", "non-empty"), (5, "must be a string"), ([], "array")],
    )
    def test_r_body_2_external_id_must_be_a_non_empty_string(
        self, value: Any, fragment: str
    ) -> None:
        """R-BODY-2: null, empty and non-string externalIds are refused on externalId."""
        error = refused({"externalId": value})
        assert error.target == "externalId"
        assert fragment in error.message

    @given(st.text(min_size=1).filter(lambda t: "\x00" not in t))
    def test_r_body_2_external_id_is_kept_exactly(self, external_id: str) -> None:
        """R-BODY-2: any non-empty string is kept exactly: no trimming, case or length change."""
        assert parse_create_or_get({"externalId": external_id}).external_id == external_id
        body = json.dumps({"externalId": external_id}).encode()
        assert parse_create_or_get(body).external_id == external_id

    def test_r_body_3_ignored_members_are_listed(self) -> None:
        """R-BODY-3: unknown names, meeting options and read-only members are ignored and listed."""
        request = parse_create_or_get(
            with_members(
                allowedPresenters="organizer",
                joinMeetingIdSettings={"isPasscodeRequired": True},
                id="read-only",
                participants={
                    "organizer": {"upn": "x"},
                    "producers": [],
                    "attendees": [{"foo": 1}],
                },
                chatInfo={"threadId": "t", "messageId": "1", "bar": None},
            )
        )
        assert request.ignored_members == (
            "allowedPresenters",
            "joinMeetingIdSettings",
            "id",
            "participants.organizer",
            "participants.producers",
            "participants.attendees[0].foo",
            "chatInfo.messageId",
            "chatInfo.bar",
        )

    def test_r_body_3_unknown_members_are_not_validated(self) -> None:
        """R-BODY-3: the value of a member Graph does not define is never looked at."""
        request = parse_create_or_get(
            with_members(foo={"\x00": float("nan")}, participants={"bar": {1, 2}})
        )
        assert request.ignored_members == ("foo", "participants.bar")

    @pytest.mark.parametrize(
        ("body", "version", "target"),
        [
            (with_members(participants={"organizer": 5}), "beta", "participants.organizer"),
            (
                with_members(participants={"organizer": {"role": "chair"}}),
                "beta",
                "participants.organizer.role",
            ),
            (with_members(participants={"producers": "x"}), "beta", "participants.producers"),
            (
                with_members(participants={"contributors": [1]}),
                "beta",
                "participants.contributors[0]",
            ),
            (with_members(chatInfo={"messageId": 5}), "beta", "chatInfo.messageId"),
            (
                with_members(chatInfo={"replyChainMessageId": {}}),
                "beta",
                "chatInfo.replyChainMessageId",
            ),
            (with_members(chatInfo=[]), "v1.0", "chatInfo"),
            (with_members(chatInfo={"threadId": 1}), "v1.0", "chatInfo.threadId"),
        ],
    )
    def test_r_body_6_graph_members_without_effect_are_still_type_checked(
        self, body: Any, version: str, target: str
    ) -> None:
        """R-BODY-6: organizer, producers, messageId, v1.0's chatInfo: ignored, but typed."""
        assert refused(body, version=version).target == target

    @pytest.mark.parametrize(
        ("body", "target"),
        [
            (with_members(allowedPresenters="organizer"), "allowedPresenters"),
            (
                with_members(participants={"attendees": [{"foo": 1}]}),
                "participants.attendees[0].foo",
            ),
            (with_members(chatInfo={"threadId": "t", "bar": 1}), "chatInfo.bar"),
        ],
    )
    def test_r_body_3_strict_refuses_unknown_members(self, body: Any, target: str) -> None:
        """R-BODY-3: the strict setting turns a member Graph does not define into a 400."""
        error = refused(body, strict=True)
        assert error.target == target
        name = target.rpartition(".")[2]  # the names here are plain
        assert error.message == (
            f"The parameter '{name}' in the request payload is not a valid parameter for the "
            "operation 'createOrGet'."
        )

    def test_r_body_3_strict_keeps_known_members_and_annotations(self) -> None:
        """R-BODY-3: strict reading still ignores Graph's own members and OData annotations."""
        body = with_members(
            participants={"organizer": {}, "attendees": [{"role": "presenter", "upn": "u"}]},
            chatInfo={
                "threadId": "t",
                "messageId": "0",
                "@odata.type": "#microsoft.graph.chatInfo",
            },
        )
        body["@odata.type"] = "#microsoft.graph.onlineMeeting"
        request = parse_create_or_get(body, strict=True)
        assert "participants.organizer" in request.ignored_members
        assert json_path("@odata.type") == '["@odata.type"]'
        assert json_path("@odata.type") in request.ignored_members

    def test_r_body_4_chat_info_is_beta_only(self) -> None:
        """R-BODY-4: chatInfo is read in beta and ignored (listed, not checked) in v1.0."""
        body = with_members(chatInfo={"threadId": "19:x@thread.tacv2"})
        assert parse_create_or_get(body, version="beta").chat_info == ChatInfo(
            thread_id="19:x@thread.tacv2"
        )
        v1 = parse_create_or_get(with_members(chatInfo={"threadId": "t"}), version=ApiVersion.V1_0)
        assert v1.chat_info is None
        assert v1.ignored_members == ("chatInfo",)

    def test_r_body_5_attendee_role_is_dropped_and_organizer_ignored(self) -> None:
        """R-BODY-5: attendees keep identity and upn only; the body's organizer is ignored."""
        request = parse_create_or_get(SEED_REQUEST)
        assert request.participants is not None
        (attendee,) = request.participants.attendees
        assert attendee.role is None
        assert attendee.upn == "test1@contoso.com"
        assert attendee.identity == IdentitySet(
            user=Identity(id="1f35f2e6-9cab-44ad-8d5a-b74c14720000")
        )
        assert request.participants.organizer is None
        assert request.ignored_members == ("participants.attendees[0].role",)

    def test_r_body_5_attendee_identity_keeps_unknown_members(self) -> None:
        """R-BODY-5, R-JSON-4: identity is an open type: tenantId and the like are kept."""
        identity = {"user": {"id": "u", "tenantId": "t", "identityProvider": "AAD"}, "guest": None}
        request = parse_create_or_get(
            with_members(participants={"attendees": [{"identity": identity}]})
        )
        assert request.participants is not None
        assert request_to_json(request)["participants"] == {"attendees": [{"identity": identity}]}

    @pytest.mark.parametrize("role", ["PRESENTER", "Attendee", "coOrganizer", "producer"])
    def test_r_body_7_enum_strings_ignore_case(self, role: str) -> None:
        """R-BODY-7: enum strings are read case-insensitively (the role then has no effect)."""
        body = with_members(participants={"attendees": [{"role": role}]})
        assert parse_create_or_get(body).ignored_members == ("participants.attendees[0].role",)

    @pytest.mark.parametrize("role", ["unknownFutureValue", "UNKNOWNFUTUREVALUE", "organizer", ""])
    def test_r_body_7_unknown_future_value_and_strangers_are_refused(self, role: str) -> None:
        """R-BODY-7: unknownFutureValue, and any string outside the enum, is a 400 on the member."""
        error = refused(with_members(participants={"attendees": [{"role": role}]}))
        assert error.target == "participants.attendees[0].role"

    @given(request_bodies(version=ApiVersion.BETA) | request_bodies(version=ApiVersion.V1_0))
    def test_valid_bodies_are_read_and_written_back(self, body: dict[str, Any]) -> None:
        """Generated valid bodies parse; what is written back validates and reads the same."""
        for version in ("beta", "v1.0"):
            request = parse_create_or_get(json.dumps(body).encode(), version=version)
            assert request == attrs.evolve(parse_create_or_get(body, version=version))
            written = request_to_json(request, version=version)
            BODY_SCHEMAS[version].validate(written)
            again = parse_create_or_get(written, version=version, strict=True)
            assert again == attrs.evolve(request, ignored_members=())
            assert request_to_json(again, version=version) == written
            assert request.external_id == body["externalId"]

    @given(request_bodies())
    def test_ignored_members_are_exactly_the_members_without_effect(
        self, body: dict[str, Any]
    ) -> None:
        """R-BODY-3: top-level names outside the six parameters are each listed once, in order."""
        request = parse_create_or_get(body)
        parameters = {
            "externalId",
            "subject",
            "startDateTime",
            "endDateTime",
            "participants",
            "chatInfo",
        }
        expected = [json_path(name) for name in body if name not in parameters]
        assert [p for p in request.ignored_members if p in expected] == expected
        assert len(set(request.ignored_members)) == len(request.ignored_members)


BAD_BODIES: list[tuple[Any, str | None, str]] = [
    # (body, target, a fragment of the message)
    (b"", None, "Empty Payload. JSON content expected."),
    (b" \n\t", None, "Empty Payload"),
    ("", None, "Empty Payload"),
    (b"\xff\xfe{}", None, "not UTF-8"),
    (b'{"externalId": "caf\xe9"}', None, "not UTF-8"),
    (b"{", None, UNREADABLE),
    (b"{'externalId': 'e'}", None, UNREADABLE),
    (b'{"externalId": "e",}', None, UNREADABLE),
    (b'{"externalId": "e"} {}', None, UNREADABLE),
    (b'{"externalId": "e", "x": NaN}', None, UNREADABLE),
    (b'{"externalId": "e", "x": -Infinity}', None, UNREADABLE),
    (b'{"externalId": "e", "x": 1e400}', None, "beyond a double"),
    (b'{"externalId": "e", "x": ' + b"9" * 5000 + b"}", None, "digits"),
    (b'{"externalId": "a\x00b"}', None, UNREADABLE),
    (b"[" * 100_000 + b"]" * 100_000, None, "nested too deeply"),
    (b'{"x":' * 100_000 + b"1" + b"}" * 100_000, None, "nested too deeply"),
    (b"[]", None, "must be a JSON object, not an array"),
    (b'"externalId"', None, "not a string"),
    (b"null", None, "not null"),
    (b"42", None, "not a number"),
    ([{"externalId": "e"}], None, "not an array"),
    (b'{"externalId": "a", "externalId": "b"}', "externalId", "more than once"),
    (
        b'{"externalId": "e", "participants": {"attendees": [{"upn": "a", "upn": "b"}]}}',
        "participants.attendees[0].upn",
        "more than once",
    ),
    (b'{"externalId": "e", "ignored": {"a": 1, "a": 2}}', "ignored.a", "more than once"),
    (b'{"externalId": "\\u0000"}', "externalId", "NUL"),
    (b'{"externalId": "e", "subject": "\\ud800"}', "subject", "lone surrogate"),
    (b'{"externalId": "e", "subject": "\\udfff\\ud800"}', "subject", "lone surrogate"),
    ({"externalId": "e", "subject": "\ud800"}, "subject", "lone surrogate"),
    (with_members(subject=5), "subject", "must be a string"),
    (with_members(subject=True), "subject", "must be a string"),
    (with_members(subject={"a": 1}), "subject", "not an object"),
    (with_members(startDateTime=20200101), "startDateTime", "DateTimeOffset"),
    (with_members(startDateTime="2020-01-01T00:00:00"), "startDateTime", "time zone"),
    (with_members(startDateTime="2020-01-01T00:00:00+0000"), "startDateTime", "time zone"),
    (with_members(startDateTime="0000-01-01T00:00:00Z"), "startDateTime", "outside"),
    (with_members(startDateTime="10000-01-01T00:00:00Z"), "startDateTime", "Cannot convert"),
    (with_members(endDateTime="2020-01-01T00:00:00Z"), "endDateTime", "without startDateTime"),
    (
        with_members(startDateTime="2020-01-01T01:00:00Z", endDateTime="2020-01-01T00:00:00Z"),
        "endDateTime",
        "earlier",
    ),
    (with_members(participants=[]), "participants", "must be an object"),
    (with_members(participants="x"), "participants", "must be an object"),
    (with_members(participants={"attendees": None}), "participants.attendees", "must be an array"),
    (with_members(participants={"attendees": {}}), "participants.attendees", "must be an array"),
    (with_members(participants={"attendees": [None]}), "participants.attendees[0]", "object"),
    (
        with_members(participants={"attendees": [{}, {"upn": 7}]}),
        "participants.attendees[1].upn",
        "must be a string",
    ),
    (
        with_members(participants={"attendees": [{"identity": {"user": {"id": 1}}}]}),
        "participants.attendees[0].identity.user.id",
        "must be a string",
    ),
    (
        with_members(participants={"attendees": [{"identity": {"user": "u"}}]}),
        "participants.attendees[0].identity.user",
        "must be an object",
    ),
    (
        with_members(participants={"attendees": [{"identity": {"phone": {"x": float("inf")}}}]}),
        "participants.attendees[0].identity.phone.x",
        "finite",
    ),
    (
        with_members(participants={"attendees": [{"identity": {"phone": {"x": {1, 2}}}}]}),
        "participants.attendees[0].identity.phone.x",
        "JSON value",
    ),
    (
        with_members(participants={"attendees": [{"identity": {"x": [[[[]]]] * 2, "y": "\x00"}}]}),
        "participants.attendees[0].identity.y",
        "NUL",
    ),
    (
        with_members(participants={"attendees": [{"identity": {"x": {3: "a"}}}]}),
        "participants.attendees[0].identity.x",
        "not a string",
    ),
    (
        with_members(participants={"attendees": [{"role": 1}]}),
        "participants.attendees[0].role",
        "string",
    ),
    (with_members(chatInfo="t"), "chatInfo", "must be an object"),
    (with_members(chatInfo={"threadId": 19}), "chatInfo.threadId", "must be a string"),
    ({"externalId": "e", 5: "x"}, None, "not a string"),
]


@pytest.mark.parametrize(("body", "target", "fragment"), BAD_BODIES)
def test_r_body_6_bad_input_is_a_400_naming_the_member(
    body: Any, target: str | None, fragment: str
) -> None:
    """R-BODY-6: every malformed body is a 400 GraphError with the member's JSON path."""
    error = refused(body)
    assert error.target == target
    assert fragment in error.message
    if target is not None:
        assert target in error.message
    assert pickle.loads(pickle.dumps(error)).target == target


def test_r_body_6_deep_nesting_in_a_kept_member_is_refused() -> None:
    """R-BODY-6: a kept unknown member nested beyond MAX_DEPTH is a 400 on that member."""
    deep: Any = 1
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    error = refused(with_members(participants={"attendees": [{"identity": {"x": deep}}]}))
    assert error.target is not None
    assert error.target.startswith("participants.attendees[0].identity.x")


def test_null_participants_and_chat_info_are_absent() -> None:
    """``null`` for an optional object member means the member was not given."""
    request = parse_create_or_get(with_members(participants=None, chatInfo=None, subject=None))
    assert request == CreateOrGetRequest(external_id="e")
    assert request.ignored_members == ()


def test_r_body_6_mapping_input_may_be_any_mapping() -> None:
    """R-BODY-6: an already decoded body may be any Mapping, and nested ones too."""
    body = OrderedDict(externalId="e", participants=OrderedDict(attendees=[OrderedDict(upn="u")]))
    assert parse_create_or_get(body).participants == MeetingParticipants(
        attendees=(MeetingParticipantInfo(upn="u"),)
    )


def test_r_body_6_utf8_bom_is_accepted() -> None:
    """R-BODY-6: a UTF-8 byte order mark before the JSON is allowed, as .NET readers allow it."""
    assert parse_create_or_get(b"\xef\xbb\xbf" + json.dumps(SEED_REQUEST).encode()).external_id


def test_r_body_6_bom_in_text_or_twice_is_refused() -> None:
    """R-BODY-6: text (already decoded) must not start with a byte order mark, as json.loads
    says; bytes may carry one, but only one."""
    text = json.dumps(SEED_REQUEST)
    for body in ("\ufeff" + text, b"\xef\xbb\xbf\xef\xbb\xbf" + text.encode()):
        assert "Unexpected UTF-8 BOM" in refused(body).message


def test_a_value_that_holds_itself_is_a_value_error() -> None:
    """dumps_json refuses a value built by hand that holds itself, as json.dumps does."""
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="holds itself"):
        dumps_json({"x": loop})
    with pytest.raises(ValueError, match="not JSON compliant"):
        dumps_json({"x": float("nan")})
    with pytest.raises(TypeError, match="set"):
        dumps_json({"x": {1}})


def test_bad_version_is_a_value_error() -> None:
    """An unknown version is a programming error, not a body defect."""
    with pytest.raises(ValueError, match="v2"):
        parse_create_or_get(SEED_REQUEST, version="v2")


class TestMeetingJson:
    """Tests for ``meeting_to_json``, ``dumps_meeting`` and ``meeting_from_json``."""

    def test_r_json_1_camel_case_members(self) -> None:
        """R-JSON-1: members are Graph's camelCase names; enums Graph's strings."""
        meeting = OnlineMeeting(
            id="m",
            lobby_bypass_settings=LobbyBypassSettings(
                scope=LobbyBypassScope.ORGANIZATION_AND_FEDERATED, is_dial_in_bypass_enabled=True
            ),
        )
        body = meeting_to_json(meeting)
        assert body["lobbyBypassSettings"] == {
            "scope": "organizationAndFederated",
            "isDialInBypassEnabled": True,
        }
        assert "video_teleconference_id" not in body
        assert "videoTeleconferenceId" in body

    def test_r_json_2_library_built_objects_write_nulls_and_empty_arrays(self) -> None:
        """R-JSON-2: unset members are null, empty collections [] (seed Example 1's layout)."""
        meeting = OnlineMeeting(id="m", participants=MeetingParticipants())
        body = meeting_to_json(meeting)
        assert list(body) == list(SEED_RESPONSE)
        assert body["subject"] is None
        assert body["participants"] == {
            "organizer": None,
            "attendees": [],
            "producers": [],
            "contributors": [],
        }

    def test_r_meet_3_producers_and_contributors_are_beta_only(self) -> None:
        """R-MEET-3: beta writes producers and contributors; v1.0 has neither."""
        meeting = OnlineMeeting(id="m", participants=MeetingParticipants())
        assert list(meeting_to_json(meeting, version="v1.0")["participants"]) == [
            "organizer",
            "attendees",
        ]

    def test_r_time_8_expiry_is_written_for_v1_only(self) -> None:
        """R-TIME-8: expiryDateTime is a v1.0 member; beta does not write it."""
        meeting = OnlineMeeting(id="m", expiry_date_time=Instant.MIN)
        assert "expiryDateTime" not in meeting_to_json(meeting, version="beta")
        assert meeting_to_json(meeting, version="v1.0")["expiryDateTime"] == "0001-01-01T00:00:00Z"
        assert (
            meeting_to_json(attrs.evolve(meeting, expiry_date_time=None), version="v1.0")[
                "expiryDateTime"
            ]
            is None
        )

    @pytest.mark.parametrize(
        ("role", "hidden"),
        [
            (OnlineMeetingRole.PRODUCER, "unknownFutureValue"),
            (OnlineMeetingRole.COORGANIZER, "unknownFutureValue"),
            (OnlineMeetingRole.PRESENTER, "presenter"),
            (OnlineMeetingRole.UNKNOWN_FUTURE_VALUE, "unknownFutureValue"),
        ],
    )
    def test_r_json_3_evolvable_members_need_prefer(
        self, role: OnlineMeetingRole, hidden: str
    ) -> None:
        """R-JSON-3: members after unknownFutureValue are hidden unless asked for."""
        meeting = OnlineMeeting(
            id="m",
            participants=MeetingParticipants(organizer=MeetingParticipantInfo(role=role)),
        )
        assert meeting_to_json(meeting)["participants"]["organizer"]["role"] == hidden
        shown = meeting_to_json(meeting, include_unknown_enum_members=True)
        assert shown["participants"]["organizer"]["role"] == role.value

    @pytest.mark.parametrize(
        "scope", [LobbyBypassScope.INVITED, LobbyBypassScope.ORGANIZATION_EXCLUDING_GUESTS]
    )
    def test_r_json_3_lobby_scopes(self, scope: LobbyBypassScope) -> None:
        """R-JSON-3: the evolvable lobby scopes are hidden the same way."""
        meeting = OnlineMeeting(id="m", lobby_bypass_settings=LobbyBypassSettings(scope=scope))
        assert meeting_to_json(meeting)["lobbyBypassSettings"]["scope"] == "unknownFutureValue"
        assert (
            meeting_to_json(meeting, include_unknown_enum_members=True)["lobbyBypassSettings"][
                "scope"
            ]
            == scope.value
        )

    def test_r_json_3_unknown_future_value_reads_in_responses(self) -> None:
        """R-JSON-3: a response may carry unknownFutureValue; it reads and writes back."""
        body = {"id": "m", "allowedPresenters": "unknownFutureValue"}
        assert meeting_to_json(meeting_from_json(body)) == body

    @given(
        st.sampled_from(list(ApiVersion)).flatmap(
            lambda v: st.tuples(st.just(v), meetings(version=v))
        )
    )
    def test_r_json_4_meetings_round_trip(self, case: tuple[ApiVersion, OnlineMeeting]) -> None:
        """R-JSON-4: meeting -> JSON -> meeting is the same meeting; JSON -> meeting -> JSON too."""
        version, meeting = case
        body = meeting_to_json(meeting, version=version, include_unknown_enum_members=True)
        MEETING_SCHEMAS[version.value].validate(body)
        back = meeting_from_json(json.loads(json.dumps(body)))
        assert back == meeting
        again = meeting_to_json(back, version=version, include_unknown_enum_members=True)
        assert json.dumps(again) == json.dumps(body)
        assert dumps_meeting(back, version=version, include_unknown_enum_members=True) == (
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        )

    @given(st.data())
    def test_r_json_4_real_shaped_bodies_round_trip_byte_for_byte(
        self, data: st.DataObject
    ) -> None:
        """R-JSON-4: absent stays absent, null stays null, unknown members and order are kept."""
        version = data.draw(st.sampled_from(list(ApiVersion)))
        body = data.draw(meeting_json(version=version))
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        back = meeting_from_json(raw)
        assert dumps_meeting(back, version=version, include_unknown_enum_members=True) == raw
        again = meeting_to_json(back, version=version, include_unknown_enum_members=True)
        assert json.dumps(again) == json.dumps(body)

    @given(st.data())
    def test_r_json_4_storage_form_gives_the_same_meeting(self, data: st.DataObject) -> None:
        """R-JSON-4: a built or a read meeting comes back from the store's form equal, writing
        the same JSON in both versions."""
        version = data.draw(st.sampled_from(list(ApiVersion)))
        built = data.draw(meetings(version=version))
        read = meeting_from_json(data.draw(meeting_json(version=version)))
        for meeting in (built, read):
            stored = meeting_to_storage(meeting)
            back = meeting_from_storage(stored)
            assert back == meeting
            for out in ApiVersion:
                assert dumps_meeting(back, version=out) == dumps_meeting(meeting, version=out)
            assert meeting_to_storage(back) == stored

    def test_storage_form_never_lets_an_unknown_member_pose_as_a_modelled_one(self) -> None:
        """A hand-built unknown member named like an unset modelled member is not stored: it
        would read back as that member. A null collection is stored, and so refused on reading."""
        meeting = OnlineMeeting(id="i", unknown_members={"externalId": "ghost", "x": 1})
        back = meeting_from_storage(meeting_to_storage(meeting))
        assert (back.external_id, back.unknown_members) == (None, {"x": 1})
        hollow = OnlineMeeting(id="i", participants=MeetingParticipants(attendees=None))  # type: ignore[arg-type]
        with pytest.raises(BadRequestError) as info:
            meeting_to_storage(hollow, checked=True)
        assert info.value.target == "participants.attendees"
        assert meeting_to_json(hollow, version="v1.0")["participants"]["attendees"] is None

    def test_storage_form_of_a_built_meeting_holds_only_what_is_set(self) -> None:
        """A built object is marked as such and keeps only its set members: the rest is implied."""
        meeting = OnlineMeeting(id="m", participants=MeetingParticipants())
        assert meeting_to_storage(meeting) == (
            b'{"@meetingRules.defaultLayout":true,"id":"m",'
            b'"participants":{"@meetingRules.defaultLayout":true}}'
        )
        assert meeting_from_storage(meeting_to_storage(meeting)) == meeting

    def test_r_json_4_values_set_after_reading_are_written(self) -> None:
        """R-JSON-4: a member absent when read but set later is written after the rest."""
        meeting = attrs.evolve(meeting_from_json({"id": "m", "x": 1}), subject="s")
        assert list(meeting_to_json(meeting).items()) == [("id", "m"), ("x", 1), ("subject", "s")]

    @given(json_values())
    def test_r_json_4_unknown_member_values_are_kept(self, value: Any) -> None:
        """R-JSON-4: any JSON value in an unknown member survives the round trip, type and all."""
        body = {"id": "m", "allowMeetingChat": value, "participants": {"x": value}}
        text = json.dumps(body)
        assert json.dumps(meeting_to_json(meeting_from_json(body))) == text
        assert json.dumps(json.loads(dumps_meeting(meeting_from_json(text)))) == text

    @pytest.mark.parametrize(
        ("body", "target"),
        [
            ({"id": None}, "id"),
            ({"id": 5}, "id"),
            ({"creationDateTime": "yesterday"}, "creationDateTime"),
            ({"participants": {"attendees": None}}, "participants.attendees"),
            ({"participants": {"producers": [5]}}, "participants.producers[0]"),
            ({"allowedPresenters": "nobody"}, "allowedPresenters"),
            ({"audioConferencing": {"tollNumbers": [None]}}, "audioConferencing.tollNumbers[0]"),
            ({"isBroadcast": "false"}, "isBroadcast"),
            ({"chatInfo": {"threadId": "t", "x": float("nan")}}, "chatInfo.x"),
            ({"x": [1, 10**5000]}, "x[1]"),
            ({"x": {"y": {"z": None, 3: 1}}}, "x.y"),
            ({"lobbyBypassSettings": {4: 1}}, "lobbyBypassSettings"),
        ],
    )
    def test_bad_meeting_bodies_are_400_naming_the_member(self, body: Any, target: str) -> None:
        """A response body that is not an onlineMeeting is refused on the offending member."""
        with pytest.raises(BadRequestError) as info:
            meeting_from_json(body)
        assert info.value.target == target

    def test_hand_built_lone_surrogate_is_escaped_when_dumped(self) -> None:
        """A lone surrogate in a hand-built meeting is written as a JSON escape, not a crash."""
        raw = dumps_meeting(OnlineMeeting(id="m", subject="\ud800"))
        assert b'"subject":"\\ud800"' in raw

    def test_meetings_are_hashable_despite_unknown_members(self) -> None:
        """Unknown members take no part in the hash, so meetings still go in sets."""
        meeting = meeting_from_json({"id": "m", "x": [1, {"y": 2}]})
        assert meeting in {meeting}
        assert meeting != attrs.evolve(meeting, unknown_members={})


class TestErrorJson:
    """Tests for ``error_to_json`` (R-JSON-5)."""

    def test_r_json_5_error_body(self) -> None:
        """R-JSON-5: code, message, target, innerError with a zone-less date and both IDs."""
        error = BadRequestError("bad", target="participants.attendees[0].upn")
        body = error_to_json(error, request_id="r", date=Instant.parse("2020-09-11T06:30:18.19Z"))
        assert body == {
            "error": {
                "code": "BadRequest",
                "message": "bad",
                "target": "participants.attendees[0].upn",
                "innerError": {
                    "date": "2020-09-11T06:30:18",
                    "request-id": "r",
                    "client-request-id": "r",
                },
            }
        }
        ERROR_SCHEMA.validate(body)

    @given(st.sampled_from([BadRequestError, NotFoundError]), st.text(), st.none() | st.text())
    def test_r_json_5_every_error_body_validates(
        self, cls: type[BadRequestError], message: str, target: str | None
    ) -> None:
        """R-JSON-5, R-HTTP-6: no target, no member; the client request ID is echoed."""
        body = error_to_json(
            cls(message, target=target), request_id="r", client_request_id="c", date=Instant.MAX
        )
        ERROR_SCHEMA.validate(body)
        assert ("target" in body["error"]) == (target is not None)
        assert body["error"]["innerError"]["client-request-id"] == "c"
        assert body["error"]["innerError"]["date"] == "9999-12-31T23:59:59"


def test_requests_are_plain_values() -> None:
    """A request built by hand equals the one read from the same body."""
    built = CreateOrGetRequest(external_id="e", subject="s")
    assert parse_create_or_get({"externalId": "e", "subject": "s"}) == built


class TestVersionsAndSharing:
    """What a written body holds per version, and that it shares nothing with the meeting."""

    def test_r_meet_3_read_beta_meeting_written_as_v1_drops_beta_members(self) -> None:
        """R-MEET-3, R-TIME-8: a meeting read as beta and written as v1.0 has no producers."""
        beta = dumps_meeting(OnlineMeeting(id="m", participants=MeetingParticipants()))
        meeting = meeting_from_json(beta)
        assert list(meeting_to_json(meeting, version="v1.0")["participants"]) == [
            "organizer",
            "attendees",
        ]
        v1 = meeting_from_json({"id": "m", "expiryDateTime": "2020-01-01T00:00:00Z"})
        assert meeting_to_json(v1, version="beta") == {"id": "m"}
        assert meeting_to_json(v1, version="v1.0") == {
            "id": "m",
            "expiryDateTime": "2020-01-01T00:00:00Z",
        }

    def test_unknown_members_are_copied_in_and_out(self) -> None:
        """R-JSON-4: a read meeting is not changed by changing the dict it came from or went to."""
        source = {"id": "m", "x": [1, {"y": 2}]}
        meeting = meeting_from_json(source)
        source["x"].append(3)  # type: ignore[attr-defined]
        written = meeting_to_json(meeting)
        written["x"][1]["y"] = 5
        assert meeting.unknown_members == {"x": [1, {"y": 2}]}
        assert meeting_to_json(meeting) == {"id": "m", "x": [1, {"y": 2}]}

    def test_python_containers_in_a_mapping_are_kept_as_json(self) -> None:
        """Tuples, Mapping types and str/int subclasses in a decoded body become plain JSON."""

        class Name(str):
            pass

        class Number(int):
            pass

        body = {
            "id": Name("m"),
            Name("x"): (1, MappingProxyType({"a": Number(2)})),
            "y": OrderedDict(z=[Name("s")]),
        }
        meeting = meeting_from_json(body)
        assert meeting == meeting_from_json(b'{"id": "m", "x": [1, {"a": 2}], "y": {"z": ["s"]}}')
        assert dumps_meeting(meeting) == b'{"id":"m","x":[1,{"a":2}],"y":{"z":["s"]}}'
        assert type(meeting.id) is str

    def test_a_meeting_without_id_leaves_it_out(self) -> None:
        """An unset id is not written as null (the schemas require a string id)."""
        for version in ("beta", "v1.0"):
            body = meeting_to_json(OnlineMeeting(), version=version)
            assert "id" not in body
            MEETING_SCHEMAS[version].validate(body)


class TestInputEdges:
    """Odd corners of the input: whitespace, signs, Unicode, names."""

    def test_bytes_of_any_kind_are_read(self) -> None:
        """A subclass of bytes, a bytearray and a memoryview read as the bytes they hold."""

        class Body(bytes):
            pass

        raw = json.dumps(data_json("seed-example1-request.json")).encode()
        expected = parse_create_or_get(raw)
        for body in (Body(raw), bytearray(raw), memoryview(raw)):
            assert parse_create_or_get(body) == expected
        response = data_json("seed-example1-response.json")
        assert meeting_from_json(Body(json.dumps(response).encode())) == meeting_from_json(response)

    @pytest.mark.parametrize("body", [b"\x0b", b"\x0c{}", "\u00a0"])
    def test_only_json_whitespace_is_empty(self, body: Any) -> None:
        """R-BODY-6: only JSON's four whitespace characters make a body empty."""
        assert UNREADABLE in refused(body).message

    def test_negative_integers_have_the_same_digit_limit(self) -> None:
        """R-BODY-6: the sign does not count toward the 4,300 digits."""
        digits = "9" * 4300
        for sign in ("", "-"):
            body = f'{{"externalId": "e", "x": {sign}{digits}}}'.encode()
            assert parse_create_or_get(body).ignored_members == ("x",)

    @pytest.mark.parametrize(
        "role",
        [
            "pre\u017fenter",
            "\u212aattendee",
            "coorganizer\u0307",
            "\uff30\uff32\uff25\uff33\uff25\uff2e\uff34\uff25\uff32",
        ],
    )
    def test_r_body_7_case_is_ignored_in_ascii_only(self, role: str) -> None:
        """R-BODY-7: no Unicode folding: a long s or a Kelvin sign is not an ASCII letter."""
        error = refused(with_members(participants={"attendees": [{"role": role}]}))
        assert error.target == "participants.attendees[0].role"

    def test_root_member_name_that_is_not_a_string(self) -> None:
        """A non-string name at the top of a decoded body is reported on the body."""
        for read in (parse_create_or_get, meeting_from_json):
            with pytest.raises(BadRequestError) as info:
                read({1: 2})  # type: ignore[dict-item]
            assert info.value.message == "The body has a member name that is not a string."
            assert info.value.target is None

    def test_bad_name_inside_an_unknown_member_is_named(self) -> None:
        """A NUL in a kept member's name points at that name."""
        body = with_members(participants={"attendees": [{"identity": {"x": {"a\x00b": 1}}}]})
        error = refused(body)
        assert error.target == "participants.attendees[0].identity.x"
        assert "member name" in error.message

    def test_messages_are_cut_and_one_line(self) -> None:
        """A huge or odd member name is cut and escaped in the message; the target is exact."""
        name = "k" * 10_000 + "\x85\u2028"
        body = with_members(participants={"attendees": [{"identity": {name: "\x00"}}]})
        error = refused(body)
        assert len(error.message) < 400
        assert "\x85" not in error.message
        assert "\u2028" not in error.message
        assert error.target is not None
        assert error.target.endswith(json.dumps(name) + "]")
        strict = refused({"externalId": "e", "x\x85y": 1}, strict=True)
        assert "\x85" not in strict.message
        assert "\x85" not in (strict.target or "")


def test_reserved_annotations_are_refused_in_kept_objects() -> None:
    """Members in this library's own annotation namespace cannot be kept (a store uses it)."""
    with pytest.raises(BadRequestError) as info:
        meeting_from_json({"id": "m", "participants": {"@meetingRules.defaultLayout": True}})
    assert info.value.target == 'participants["@meetingRules.defaultLayout"]'
    body = with_members(
        participants={"attendees": [{"identity": {"@meetingRules.defaultLayout": True}}]}
    )
    assert (
        refused(body).target == 'participants.attendees[0].identity["@meetingRules.defaultLayout"]'
    )


@pytest.mark.parametrize("version", list(ApiVersion))
def test_r_body_6_a_bad_time_keeps_graphs_message_first(version: ApiVersion) -> None:
    """A time that is not a DateTimeOffset is told in Graph's words first, then the member: a
    client matching Graph's message prefix still matches (R-BODY-6, R-TIME-5)."""
    with pytest.raises(BadRequestError) as info:
        parse_create_or_get({"externalId": "x", "startDateTime": "nope"}, version=version)
    assert info.value.message == (
        "Cannot convert the literal 'nope' to the expected type 'Edm.DateTimeOffset'. "
        "(member 'startDateTime')"
    )
    assert info.value.target == "startDateTime"
