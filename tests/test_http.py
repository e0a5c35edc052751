"""Tests for ``meeting_rules.http.handle``: the whole exchange (R-HTTP-1..6, R-AUTH-1..5)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meeting_rules import (
    FixedClock,
    Instant,
    MeetingKey,
    MeetingParticipantInfo,
    MeetingParticipants,
    OnlineMeeting,
    OnlineMeetingRole,
    Organizer,
    SeededIdFactory,
    ServiceUnavailableError,
    SteppingClock,
    TenantSettings,
    TooManyRequestsError,
    create_or_get,
)
from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.graph_json import parse_create_or_get
from meeting_rules.http import (
    APPLICATION_ROLE,
    DELEGATED_SCOPE,
    HttpRequest,
    HttpResponse,
    InMemoryDirectory,
    handle,
    refuse,
)
from tests.conftest import ERROR_SCHEMA, MEETING_SCHEMAS, data_bytes

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ALICE = "8b081ef6-4792-4def-b2c9-c363a1bf41d5"
BOB = "1f35f2e6-9cab-44ad-8d5a-b74c14720000"
CAROL = "0c4a1b2e-3d5f-4a6b-8c7d-9e0f1a2b3c4d"
BODY = data_bytes("seed-example1-request.json")
JSON = {"Content-Type": "application/json"}


def directory() -> InMemoryDirectory:
    found = InMemoryDirectory()
    found.add_delegated_user(
        token="alice", tenant_id=TENANT, user_id=ALICE, upn="alice@contoso.com",
        scopes={DELEGATED_SCOPE, "User.Read"},
    )  # fmt: skip
    found.add_delegated_user(
        token="personal", tenant_id=TENANT, user_id=CAROL, upn="carol@outlook.com",
        scopes={DELEGATED_SCOPE}, personal=True,
    )  # fmt: skip
    found.add_delegated_user(
        token="no-scope", tenant_id=TENANT, user_id=CAROL, upn=None, scopes={"User.Read"}
    )
    found.add_user(tenant_id=TENANT, user_id=BOB, upn="bob@contoso.com")
    found.add_application(
        token="app", tenant_id=TENANT, app_id="app-1", roles={APPLICATION_ROLE},
        policy_users=[BOB],
    )  # fmt: skip
    found.add_application(
        token="app-no-role", tenant_id=TENANT, app_id="app-2", roles=set(), policy_users=[BOB]
    )
    return found


class Exchange:
    """A directory, a store, a fixed clock and seeded identifiers, shared by the calls."""

    def __init__(self, settings: TenantSettings | None = None) -> None:
        self.directory = directory()
        self.repository = InMemoryMeetingRepository()
        self.clock = FixedClock(Instant.parse("2020-09-11T06:30:18.1909168Z"))
        self.ids = SeededIdFactory(3)
        self.settings = settings or TenantSettings()

    def post(
        self,
        path: str = "/beta/me/onlineMeetings/createOrGet",
        *,
        token: str | None = "alice",
        body: bytes = BODY,
        method: str = "POST",
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        sent = dict(JSON if headers is None else headers)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        request = HttpRequest(method=method, path=path, headers=sent, body=body)
        return handle(
            request,
            directory=self.directory,
            repository=self.repository,
            clock=self.clock,
            ids=self.ids,
            settings=self.settings,
        )


def error_of(response: HttpResponse, status: int) -> dict[str, Any]:
    """The Graph error of a response with ``status``, checked against the error schema."""
    assert response.status == status, response.body
    body = json.loads(response.body)
    ERROR_SCHEMA.validate(body)
    assert body["error"]["innerError"]["request-id"] == response.header("request-id")
    assert body["error"]["innerError"]["date"] == "2020-09-11T06:30:18"
    assert response.header(
        "Content-Type",
    ).startswith("application/json")  # type: ignore[union-attr]
    result: dict[str, Any] = body["error"]
    return result


class TestSuccess:
    """201 and 200 (R-HTTP-1, R-HTTP-6, R-RES-2, R-RES-3)."""

    def test_r_http_1_create_then_get(self) -> None:
        """R-HTTP-1, R-HTTP-6: 201 with Location and @odata.context, then 200 with the same body."""
        exchange = Exchange()
        created = exchange.post()
        assert created.status == 201
        body = json.loads(created.body)
        assert next(iter(body)) == "@odata.context"
        assert body["@odata.context"] == (
            f"https://graph.microsoft.com/beta/$metadata#users('{ALICE}')/onlineMeetings/$entity"
        )
        assert created.header("location") == (
            f"https://graph.microsoft.com/beta/users('{ALICE}')/onlineMeetings('{body['id']}')"
        )
        assert created.header("client-request-id") == created.header("request-id")
        assert created.header("Date") == "Fri, 11 Sep 2020 06:30:18 GMT"
        assert created.header(
            "Content-Type",
        ).startswith("application/json;odata.metadata=minimal")  # type: ignore[union-attr]
        MEETING_SCHEMAS["beta"].validate(body)
        assert body["participants"]["organizer"]["upn"] == "alice@contoso.com"
        got = exchange.post(headers={**JSON, "client-request-id": "mine"})
        assert got.status == 200
        assert got.header("Location") is None
        assert got.header("client-request-id") == "mine"
        assert json.loads(got.body) == body

    def test_r_http_3_version_from_the_path(self) -> None:
        """R-HTTP-3: /v1.0 writes v1.0's meeting: expiryDateTime, no producers."""
        response = Exchange().post("/v1.0/me/onlineMeetings/createOrGet")
        body = json.loads(response.body)
        assert response.status == 201
        assert body["@odata.context"].startswith("https://graph.microsoft.com/v1.0/")
        assert "expiryDateTime" in body
        assert list(body["participants"]) == ["organizer", "attendees"]
        assert body["autoAdmittedUsers"] == "everyoneInCompany"
        MEETING_SCHEMAS["v1.0"].validate(body)

    def test_r_http_3_path_case_and_query_are_tolerated(self) -> None:
        """R-HTTP-3: Graph's segments ignore case; a query string does not change the route."""
        assert Exchange().post("/BETA/Me/OnlineMeetings/CreateOrGet?x=1").status == 201

    def test_r_http_2_application_for_a_user(self) -> None:
        """R-HTTP-2, R-AUTH-3: an app with the role and the policy creates for the path's user."""
        response = Exchange().post(f"/beta/users/{BOB}/onlineMeetings/createOrGet", token="app")
        assert response.status == 201
        body = json.loads(response.body)
        assert body["participants"]["organizer"]["identity"]["user"]["id"] == BOB
        assert body["participants"]["organizer"]["upn"] == "bob@contoso.com"

    def test_r_res_1_ids_in_any_case_name_one_organizer(self) -> None:
        """R-RES-1, R-HTTP-2: object IDs are GUIDs, compared in any case. A user the directory
        spells in upper case and the same user's token in lower case (as Entra writes it) store
        under one key: the user's own create and an application's for that user are one
        meeting, written with the ID in lower case."""
        exchange = Exchange()
        exchange.directory = InMemoryDirectory()
        exchange.directory.add_delegated_user(
            token="bob", tenant_id=TENANT, user_id=BOB, upn="bob@contoso.com",
            scopes={DELEGATED_SCOPE},
        )  # fmt: skip
        exchange.directory.add_user(tenant_id=TENANT.upper(), user_id=BOB.upper(), upn=None)
        exchange.directory.add_application(
            token="app", tenant_id=TENANT.upper(), app_id="app-1", roles={APPLICATION_ROLE},
            policy_users=[BOB.upper()],
        )  # fmt: skip
        created = exchange.post(token="bob")
        assert created.status == 201
        by_app = exchange.post(f"/beta/users/{BOB.upper()}/onlineMeetings/createOrGet",
                               token="app")  # fmt: skip
        assert by_app.status == 200
        assert json.loads(by_app.body)["id"] == json.loads(created.body)["id"]
        assert len(exchange.repository) == 1
        organizer = json.loads(by_app.body)["participants"]["organizer"]["identity"]["user"]
        assert organizer["id"] == BOB
        key = MeetingKey(tenant_id=TENANT, organizer_id=BOB,
                         external_id=json.loads(BODY)["externalId"])  # fmt: skip
        assert exchange.repository.get(key) is not None
        # The library's own callers too: create_or_get for the user spelled in upper case is
        # the meeting the exchange finds.
        request = parse_create_or_get({"externalId": "by-the-library"})
        upper = Organizer(tenant_id=TENANT.upper(), user_id=BOB.upper())
        create_or_get(request, organizer=upper, repository=exchange.repository,
                      clock=exchange.clock, ids=exchange.ids)  # fmt: skip
        assert exchange.post(token="bob", body=b'{"externalId": "by-the-library"}').status == 200

    def test_r_auth_5_delegated_on_own_user_id(self) -> None:
        """R-AUTH-5: a delegated token on /users/{own id} is the same as /me."""
        exchange = Exchange()
        assert exchange.post(f"/beta/users/{ALICE}/onlineMeetings/createOrGet").status == 201
        assert exchange.post().status == 200

    def test_r_json_3_prefer_include_unknown_enum_members(self) -> None:
        """R-JSON-3: Prefer: include-unknown-enum-members shows coorganizer as itself."""
        exchange = Exchange()
        key = MeetingKey(tenant_id=TENANT, organizer_id=ALICE, external_id="e")
        organizer = MeetingParticipantInfo(role=OnlineMeetingRole.COORGANIZER)
        exchange.repository.add_if_absent(
            key, OnlineMeeting(id="m", participants=MeetingParticipants(organizer=organizer))
        )
        plain = json.loads(exchange.post(body=b'{"externalId": "e"}').body)
        assert plain["participants"]["organizer"]["role"] == "unknownFutureValue"
        shown = exchange.post(
            body=b'{"externalId": "e"}',
            headers={**JSON, "Prefer": "include-unknown-enum-members"},
        )
        assert json.loads(shown.body)["participants"]["organizer"]["role"] == "coorganizer"


class TestRefusals:
    """Every refusal of the exchange, each a Graph error body."""

    @pytest.mark.parametrize(
        "path",
        [
            "/v2.0/me/onlineMeetings/createOrGet",
            "/beta/me/onlineMeetings",
            "/beta/me/events/createOrGet",
            "/beta/users//onlineMeetings/createOrGet",
            "beta/me/onlineMeetings/createOrGet",
        ],
    )
    def test_r_http_3_other_paths_are_404(self, path: str) -> None:
        """R-HTTP-3: any other path is a 404."""
        assert error_of(Exchange().post(path), 404)["code"] == "NotFound"

    @pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
    def test_r_http_3_other_methods_are_405(self, method: str) -> None:
        """R-HTTP-3: another method on the route is a 405 with Allow: POST."""
        response = Exchange().post(method=method)
        assert error_of(response, 405)["code"] == "MethodNotAllowed"
        assert response.header("Allow") == "POST"

    @pytest.mark.parametrize(
        ("token", "headers", "message"),
        [
            (None, JSON, "Access token is empty."),
            (None, {**JSON, "Authorization": ""}, "Access token is empty."),
            (None, {**JSON, "Authorization": "Basic YWxpY2U6cHc="}, "not a bearer token"),
            (None, {**JSON, "Authorization": "Bearer"}, "not a bearer token"),
            ("stranger", JSON, "validation failure"),
        ],
    )
    def test_r_http_4_bearer_token_required(
        self, token: str | None, headers: dict[str, str], message: str
    ) -> None:
        """R-HTTP-4: a missing, malformed or unknown token is a 401 InvalidAuthenticationToken."""
        error = error_of(Exchange().post(token=token, headers=headers), 401)
        assert error["code"] == "InvalidAuthenticationToken"
        assert message in error["message"]

    @pytest.mark.parametrize(
        "headers",
        [{}, {"Content-Type": "text/plain"}, {"Content-Type": "application/jsonx"}],
    )
    def test_r_http_5_content_type_required(self, headers: dict[str, str]) -> None:
        """R-HTTP-5: no or another Content-Type is Graph's 400, not a 415."""
        error = error_of(Exchange().post(headers=headers), 400)
        assert error["message"].startswith("Unable to read JSON request payload.")

    def test_r_http_5_content_type_parameters_allowed(self) -> None:
        """R-HTTP-5: parameters such as charset are allowed, in any case."""
        response = Exchange().post(headers={"content-type": "Application/JSON; charset=utf-8"})
        assert response.status == 201

    def test_r_auth_1_delegated_scope_required(self) -> None:
        """R-AUTH-1: a delegated token without OnlineMeetings.ReadWrite is a 403."""
        assert error_of(Exchange().post(token="no-scope"), 403)["code"] == "Forbidden"

    def test_r_auth_2_personal_account_refused(self) -> None:
        """R-AUTH-2: a personal Microsoft account is a 403 AuthenticationError."""
        error = error_of(Exchange().post(token="personal"), 403)
        assert (error["code"], error["message"]) == (
            "AuthenticationError",
            "Error authenticating with resource",
        )

    def test_r_auth_3_policy_and_role_required(self) -> None:
        """R-AUTH-3: without the role, or without a policy for the user, a 403."""
        exchange = Exchange()
        exchange.directory.add_user(tenant_id=TENANT, user_id=CAROL)
        no_policy = error_of(
            exchange.post(f"/beta/users/{CAROL}/onlineMeetings/createOrGet", token="app"), 403
        )
        assert no_policy["message"].startswith("No application access policy found for this app.")
        no_role = error_of(
            exchange.post(f"/beta/users/{BOB}/onlineMeetings/createOrGet", token="app-no-role"), 403
        )
        assert APPLICATION_ROLE in no_role["message"]

    @pytest.mark.parametrize(
        "user", ["bob@contoso.com", "bob%40contoso.com", "00000000-0000-4000-8000-000000000000"]
    )
    def test_r_http_2_upn_or_unknown_user_is_404(self, user: str) -> None:
        """R-HTTP-2: the path takes an object ID; a UPN or an unknown user is a 404."""
        response = Exchange().post(f"/beta/users/{user}/onlineMeetings/createOrGet", token="app")
        assert error_of(response, 404)["code"] == "NotFound"

    def test_r_auth_4_application_on_me(self) -> None:
        """R-AUTH-4: an application token on /me is a 400."""
        error = error_of(Exchange().post(token="app"), 400)
        assert error["message"] == "/me request is only valid with delegated authentication flow."

    def test_r_auth_5_delegated_on_another_user(self) -> None:
        """R-AUTH-5: a delegated token on another user's ID is a 403."""
        response = Exchange().post(f"/beta/users/{BOB}/onlineMeetings/createOrGet")
        assert error_of(response, 403)["code"] == "Forbidden"

    @pytest.mark.parametrize(
        ("body", "target"),
        [
            (b"", None),
            (b"{", None),
            (b'{"externalId": 5}', "externalId"),
            (b'{"externalId": "e", "endDateTime": "2020-01-01T00:00:00Z"}', "endDateTime"),
        ],
    )
    def test_r_body_6_bad_bodies(self, body: bytes, target: str | None) -> None:
        """R-BODY-6: body defects are 400s naming the member; nothing is stored."""
        exchange = Exchange()
        assert error_of(exchange.post(body=body), 400).get("target") == target
        assert len(exchange.repository) == 0

    def test_r_body_3_strict_members_setting(self) -> None:
        """R-BODY-3: the tenant's strict setting refuses members Graph does not define."""
        exchange = Exchange(TenantSettings(strict_members=True))
        error = error_of(exchange.post(body=b'{"externalId": "e", "colour": "red"}'), 400)
        assert error["target"] == "colour"

    def test_r_res_3_strict_mismatch_is_422(self) -> None:
        """R-RES-3: the strict mismatch setting answers a differing get with 422."""
        exchange = Exchange(TenantSettings(strict_mismatch=True))
        exchange.post(body=b'{"externalId": "e", "subject": "a"}')
        error = error_of(exchange.post(body=b'{"externalId": "e", "subject": "b"}'), 422)
        assert error["target"] == "subject"

    def test_r_res_5_store_failure_is_a_graph_error(self) -> None:
        """R-RES-5: a busy store is a 503 body; an unexpected fault a 500 body; never a raise."""
        exchange = Exchange()

        class Busy(InMemoryMeetingRepository):
            def get(self, key: MeetingKey) -> OnlineMeeting | None:
                raise ServiceUnavailableError("busy")

        exchange.repository = Busy()
        assert error_of(exchange.post(), 503)["code"] == "ServiceUnavailable"

        class Broken(InMemoryDirectory):
            def caller(self, token: str) -> None:
                raise RuntimeError("bug")

        exchange.directory = Broken()
        assert error_of(exchange.post(), 500)["code"] == "InternalServerError"


class TestRobustness:
    """``handle`` answers whatever its ports and headers do (R-HTTP-6, R-RES-5)."""

    def test_failing_clock_or_ids_is_a_500_answer(self) -> None:
        """A clock or an ID factory that raises gives a 500 Graph error, not an exception."""
        for broken in ("clock", "ids"):
            exchange = Exchange()

            class Broken:
                def now(self) -> Instant:
                    raise RuntimeError("no time")

                def guid(self) -> str:
                    raise RuntimeError("no ids")

                def digits(self, count: int) -> str:
                    raise RuntimeError("no ids")

            setattr(exchange, broken, Broken())
            response = exchange.post()
            assert response.status == 500
            ERROR_SCHEMA.validate(json.loads(response.body))
            assert len(exchange.repository) == 0

    def test_stepping_clock_at_the_end_of_time(self) -> None:
        """A stepping clock at the last instant stays there instead of failing."""
        clock = SteppingClock(Instant.MAX)
        assert clock.now() == clock.now() == Instant.MAX

    def test_odd_header_values_never_store_then_fail(self) -> None:
        """A Prefer header that is not text is ignored; the answer is a 201, stored once."""
        exchange = Exchange()
        response = exchange.post(headers={**JSON, "Prefer": b"include-unknown-enum-members"})  # type: ignore[dict-item]
        assert response.status == 201

    @pytest.mark.parametrize("value", ["a\r\nSet-Cookie: x=1", "\ud800", "x" * 201, "", "a b"])
    def test_client_request_id_is_echoed_only_when_safe(self, value: str) -> None:
        """A client-request-id with control characters, spaces or 200+ characters is not echoed."""
        response = Exchange().post(headers={**JSON, "client-request-id": value})
        assert response.header("client-request-id") == response.header("request-id")

    def test_not_found_messages_are_clean(self) -> None:
        """A path with control characters is quoted in the 404 message."""
        error = error_of(Exchange().post("/beta/me\n\x00/x"), 404)
        assert "\n" not in error["message"]
        assert "\x00" not in error["message"]


class TestHeadersAndNamesInAscii:
    """Header values that are not text count as absent; route, method and media type compare in
    ASCII only, so no Unicode look-alike passes (R-HTTP-3, R-HTTP-4, R-HTTP-5)."""

    def test_r_http_4_bytes_authorization_is_absent(self) -> None:
        exchange = Exchange()
        response = exchange.post(token=None, headers={**JSON, "Authorization": b"Bearer alice"})  # type: ignore[dict-item]
        assert error_of(response, 401)["message"] == "Access token is empty."
        assert len(exchange.repository) == 0

    def test_r_http_5_bytes_content_type_is_absent(self) -> None:
        response = Exchange().post(headers={"Content-Type": b"application/json"})  # type: ignore[dict-item]
        assert error_of(response, 400)["message"].startswith("Unable to read JSON")

    @pytest.mark.parametrize(
        "path",
        [
            "/beta/me/onlineMeeting\u017f/createOrGet",  # LATIN SMALL LETTER LONG S
            "/beta/me/onlineMeetings/createOrGe\u0074\u0307",
            "/beta/me/online\u212aeetings/createOrGet",  # KELVIN SIGN
            "/beta/me/onlinemeetings/createorget\u00a0",
            "/\u0432eta/me/onlineMeetings/createOrGet",
        ],
    )
    def test_r_http_3_look_alike_paths_are_404(self, path: str) -> None:
        assert error_of(Exchange().post(path), 404)["code"] == "NotFound"

    @pytest.mark.parametrize("method", ["po\u017ft", "\u00a0POST", "POST\u00a0", "P\u039fST"])
    def test_r_http_3_look_alike_methods_are_405(self, method: str) -> None:
        assert error_of(Exchange().post(method=method), 405)["code"] == "MethodNotAllowed"

    def test_r_http_3_method_case_is_tolerated(self) -> None:
        assert Exchange().post(method="post").status == 201

    @pytest.mark.parametrize(
        "value",
        ["\u00a0application/json", "application/j\u017fon", "application/json\u2003",
         "application/\u0135son"],
    )  # fmt: skip
    def test_r_http_5_look_alike_content_types_are_refused(self, value: str) -> None:
        exchange = Exchange()
        error_of(exchange.post(headers={"Content-Type": value}), 400)
        assert len(exchange.repository) == 0

    @pytest.mark.parametrize(
        "value", [" application/json ", "APPLICATION/JSON;charset=utf-8", "\tapplication/json;x"]
    )
    def test_r_http_5_ascii_spaces_and_case_are_tolerated(self, value: str) -> None:
        assert Exchange().post(headers={"Content-Type": value}).status == 201

    def test_non_text_method_and_path_are_graph_errors(self) -> None:
        exchange = Exchange()
        assert error_of(exchange.post(method=b"POST"), 405)  # type: ignore[arg-type]
        assert error_of(exchange.post(b"/beta/me/onlineMeetings/createOrGet"), 404)  # type: ignore[arg-type]


class TestLimits:
    """A body over ``TenantSettings.max_body_bytes`` is a 413, unread; a busy store's 503 says
    when to try again."""

    def test_body_over_the_limit_is_413_before_decoding(self) -> None:
        exchange = Exchange(TenantSettings(max_body_bytes=100))
        body = b'{"externalId": "e", "subject": "' + b"s" * 100 + b'"}'
        error = error_of(exchange.post(body=body), 413)
        assert error["code"] == "BadRequest"
        assert error["message"] == "The maximum request length supported is 100 bytes."
        assert len(exchange.repository) == 0
        # Not even decoded: bytes that are not JSON at all are refused for their size alone.
        assert error_of(exchange.post(body=b"\xff" * 101), 413)
        assert exchange.post(body=b'{"externalId": "e"}').status == 201

    def test_default_limit_is_graphs_4_mb(self) -> None:
        exchange = Exchange()
        padding = 4 * 1024 * 1024 - len(b'{"externalId":"e","x":""}')
        at_limit = b'{"externalId":"e","x":"' + b"a" * padding + b'"}'
        assert len(at_limit) == 4 * 1024 * 1024
        assert exchange.post(body=at_limit).status == 201
        error = error_of(exchange.post(body=at_limit + b" "), 413)
        assert error["message"] == "The maximum request length supported is 4MB."

    def test_busy_store_answer_carries_retry_after(self) -> None:
        exchange = Exchange()

        class Busy(InMemoryMeetingRepository):
            def get(self, key: MeetingKey) -> OnlineMeeting | None:
                raise ServiceUnavailableError("busy", retry_after_seconds=7)

        exchange.repository = Busy()
        response = exchange.post()
        assert error_of(response, 503)["code"] == "ServiceUnavailable"
        assert response.header("Retry-After") == "7"


class TestReadBack:
    """GET of a stored meeting by its id: the same callers' rules as createOrGet (R-AUTH-*),
    with Graph's reading permissions too; 404 for any meeting not the organizer's."""

    def created(
        self,
        exchange: Exchange,
        path: str = "/beta/me/onlineMeetings/createOrGet",
        token: str = "alice",
    ) -> Any:
        response = exchange.post(path, token=token)
        assert response.status == 201, response.body
        return json.loads(response.body)

    def test_r_http_1_the_organizer_reads_back_the_same_meeting(self, version: str) -> None:
        exchange = Exchange()
        made = self.created(exchange)
        path = f"/{version}/me/onlineMeetings/{made['id']}"
        response = exchange.post(path, method="GET", body=b"", headers={})
        assert response.status == 200, response.body
        read = json.loads(response.body)
        MEETING_SCHEMAS[version].validate(read)
        assert read["id"] == made["id"]
        assert read["@odata.context"].startswith(f"https://graph.microsoft.com/{version}/")
        assert response.header("Location") is None
        if version == "beta":
            assert read == made  # every member, in order
        else:
            assert "expiryDateTime" in read
            assert "producers" not in read["participants"]

    def test_r_auth_3_an_application_reads_back_for_a_user_of_its_policy(self) -> None:
        exchange = Exchange()
        made = self.created(exchange, f"/beta/users/{BOB}/onlineMeetings/createOrGet", "app")
        mine = exchange.post(f"/beta/users/{BOB}/onlineMeetings/{made['id']}", token="app",
                             method="GET")  # fmt: skip
        assert mine.status == 200
        assert json.loads(mine.body)["id"] == made["id"]
        error_of(
            exchange.post(f"/beta/me/onlineMeetings/{made['id']}", token="app", method="GET"), 400
        )  # fmt: skip  R-AUTH-4
        error_of(exchange.post(f"/beta/users/{BOB}/onlineMeetings/{made['id']}",
                               token="app-no-role", method="GET"), 403)  # fmt: skip

    def test_r_auth_5_nobody_reads_another_organizers_meeting(self) -> None:
        exchange = Exchange()
        made = self.created(exchange)
        exchange.directory.add_delegated_user(
            token="bob", tenant_id=TENANT, user_id=BOB, upn=None, scopes={DELEGATED_SCOPE}
        )
        theirs = exchange.post(f"/beta/me/onlineMeetings/{made['id']}", token="bob", method="GET")
        assert error_of(theirs, 404)["code"] == "NotFound"
        other = exchange.post(f"/beta/users/{ALICE}/onlineMeetings/{made['id']}", token="bob",
                              method="GET")  # fmt: skip
        error_of(other, 403)
        error_of(exchange.post("/beta/me/onlineMeetings/no-such-id", method="GET"), 404)

    def test_r_auth_1_reading_permissions_read_but_do_not_create(self) -> None:
        exchange = Exchange()
        made = self.created(exchange)
        exchange.directory.add_delegated_user(
            token="reader", tenant_id=TENANT, user_id=ALICE, upn=None,
            scopes={"OnlineMeetings.Read"},
        )  # fmt: skip
        read = exchange.post(f"/beta/me/onlineMeetings/{made['id']}", token="reader", method="GET")
        assert read.status == 200
        error_of(exchange.post(token="reader"), 403)

    def test_r_http_3_each_route_allows_its_one_method(self) -> None:
        exchange = Exchange()
        made = self.created(exchange)
        wrong = exchange.post(f"/beta/me/onlineMeetings/{made['id']}", method="DELETE")
        error_of(wrong, 405)
        assert wrong.header("Allow") == "GET"
        wrong = exchange.post(method="GET")
        error_of(wrong, 405)
        assert wrong.header("Allow") == "POST"

    def test_an_id_is_percent_decoded_and_must_be_visible_ascii(self) -> None:
        exchange = Exchange()
        made = self.created(exchange)
        encoded = made["id"].replace("=", "%3D")
        read = exchange.post(f"/beta/me/onlineMeetings/{encoded}", method="GET")
        assert read.status == 200
        error_of(exchange.post("/beta/me/onlineMeetings/caf\u00e9", method="GET"), 404)


class TestRefuse:
    """``refuse``: a server's own refusals as Graph answers (R-HTTP-6)."""

    def test_a_refusal_has_the_headers_of_every_answer(self) -> None:
        exchange = Exchange()
        request = HttpRequest(method="POST", path="/beta/me/onlineMeetings/createOrGet",
                              headers={"client-request-id": "mine"})  # fmt: skip
        error = TooManyRequestsError("slow down", retry_after_seconds=7)
        response = refuse(request, error, clock=exchange.clock, ids=exchange.ids)
        assert error_of(response, 429)["code"] == "TooManyRequests"
        assert response.header("Retry-After") == "7"
        assert response.header("client-request-id") == "mine"

    def test_instead_of_keeps_the_lost_answers_ids_and_date(self) -> None:
        exchange = Exchange()
        answered = exchange.post()
        request = HttpRequest(method="POST", path="/beta/me/onlineMeetings/createOrGet")
        lost = refuse(request, ServiceUnavailableError("lost", retry_after_seconds=1),
                      clock=exchange.clock, ids=exchange.ids, instead_of=answered)  # fmt: skip
        error_of(lost, 503)
        for name in ("request-id", "client-request-id", "Date"):
            assert lost.header(name) == answered.header(name)
