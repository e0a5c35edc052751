"""A world of callers, the library's own implementation, and deliberately wrong emulators.

Each wrong emulator breaks one rule the way a real emulator or mock would, and names it
(``breaks``): the tests hold the oracle to catching each one, through ``check_emulator`` and
through ``meeting-rules check`` on traffic recorded from it. They wrap the library's own ``handle``
and change one behaviour, so that every other rule still holds and the rule broken is the one
the oracle must find.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.callers import callers_from_json
from meeting_rules.clocks import SystemClock
from meeting_rules.directory import InMemoryDirectory
from meeting_rules.http import HttpRequest, HttpResponse, handle
from meeting_rules.ids import RandomIdFactory
from meeting_rules.meeting import MeetingKey, OnlineMeeting
from meeting_rules.settings import TenantSettings

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ALICE = "11111111-aaaa-4aaa-8aaa-111111111111"
BOB = "22222222-bbbb-4bbb-8bbb-222222222222"
CAROL = "33333333-cccc-4ccc-8ccc-333333333333"
ERIN = "55555555-eeee-4eee-8eee-555555555555"

CALLERS: dict[str, Any] = {
    "delegated": [
        {"token": "alice", "tenantId": TENANT, "userId": ALICE, "upn": "alice@contoso.com",
         "scopes": ["OnlineMeetings.ReadWrite"]},
        {"token": "bob", "tenantId": TENANT, "userId": BOB, "upn": "bob@contoso.com",
         "scopes": ["OnlineMeetings.ReadWrite", "User.Read"]},
        {"token": "carol", "tenantId": TENANT, "userId": CAROL, "upn": "carol@outlook.com",
         "scopes": ["OnlineMeetings.ReadWrite"], "personal": True},
    ],
    "applications": [
        {"token": "app", "tenantId": TENANT, "appId": "app-1",
         "roles": ["OnlineMeetings.ReadWrite.All"], "policyUsers": [ALICE]},
    ],
    "users": [{"tenantId": TENANT, "userId": ERIN, "upn": "erin@contoso.com"}],
}  # fmt: skip
"""The callers every test of the oracle uses, in the callers file's form."""


def directory(callers: dict[str, Any] = CALLERS) -> InMemoryDirectory:
    return callers_from_json(callers).directory


def write_callers(path: Path, callers: dict[str, Any] = CALLERS) -> Path:
    path.write_text(json.dumps(callers), encoding="utf-8")
    return path


Send = Callable[[HttpRequest], HttpResponse]


class Library:
    """The library's own createOrGet: ``handle`` over an in-memory store, the system clock."""

    breaks: str | None = None

    def __init__(
        self,
        *,
        callers: dict[str, Any] = CALLERS,
        settings: TenantSettings | None = None,
        repository: Any = None,
    ) -> None:
        self.directory = directory(callers)
        self.repository = repository if repository is not None else InMemoryMeetingRepository()
        self.settings = settings if settings is not None else TenantSettings()
        self.clock = SystemClock()
        self.ids = RandomIdFactory()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return handle(
            request,
            directory=self.directory,
            repository=self.repository,
            clock=self.clock,
            ids=self.ids,
            settings=self.settings,
        )


def _json(response: HttpResponse) -> Any:
    return json.loads(response.body)


def _with_body(response: HttpResponse, body: Any, status: int | None = None) -> HttpResponse:
    return HttpResponse(
        status=response.status if status is None else status,
        headers=dict(response.headers),
        body=json.dumps(body).encode(),
    )


def _request_json(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body)
    except (ValueError, RecursionError):
        return None


# --- the wrong emulators --------------------------------------------------------------------


class AlwaysCreated(Library):
    """Answers 201 every time, as a mock that only ever creates does."""

    breaks = "R-RES-3"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        return attrs.evolve(response, status=201) if response.status == 200 else response


@attrs.define
class _OrganizerBlindStore:
    """A store that keys meetings by tenant and externalId only."""

    inner: InMemoryMeetingRepository = attrs.field(factory=InMemoryMeetingRepository)

    @staticmethod
    def _key(key: MeetingKey) -> MeetingKey:
        return MeetingKey(tenant_id=key.tenant_id, organizer_id="-", external_id=key.external_id)

    def get(self, key: MeetingKey) -> OnlineMeeting | None:
        return self.inner.get(self._key(key))

    def add_if_absent(self, key: MeetingKey, meeting: OnlineMeeting) -> tuple[OnlineMeeting, bool]:
        return self.inner.add_if_absent(self._key(key), meeting)

    def find_by_id(self, **names: str) -> OnlineMeeting | None:
        return None


class KeyWithoutOrganizer(Library):
    """Keys meetings by externalId alone, so one organizer gets another's meeting."""

    breaks = "R-RES-1"

    def __init__(self) -> None:
        super().__init__(repository=_OrganizerBlindStore())


class EndBeforeStartAccepted(Library):
    """Takes an end before the start, dropping the end (the meeting lasts the default hour)."""

    breaks = "R-TIME-4"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        body = _request_json(request)
        if (
            response.status == 400
            and _json(response)["error"].get("target") == "endDateTime"
            and isinstance(body, dict)
            and body.get("startDateTime") is not None
        ):
            body.pop("endDateTime")
            return super().__call__(attrs.evolve(request, body=json.dumps(body).encode()))
        return response


class GetUpdates(Library):
    """A get that updates: a repeated createOrGet writes the request's subject into the meeting,
    as an upsert does."""

    breaks = "R-RES-3"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        body = _request_json(request)
        if response.status == 200 and isinstance(body, dict) and "subject" in body:
            meeting = _json(response)
            if meeting.get("subject") != body["subject"]:
                meeting["subject"] = body["subject"]
                return _with_body(response, meeting)
        return response


class UnsupportedMediaType(Library):
    """Answers a body that is not declared JSON with 415, where Graph answers 400."""

    breaks = "R-HTTP-5"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        if response.status == 400 and not (request.header("Content-Type") or "").startswith(
            "application/json"
        ):
            error = _json(response)
            error["error"]["code"] = "UnsupportedMediaType"
            return _with_body(response, error, 415)
        return response


class RefusesUnknownMembers(Library):
    """Refuses members Graph ignores (meeting options, unknown names) with 400."""

    breaks = "R-BODY-3"

    def __init__(self) -> None:
        super().__init__(settings=TenantSettings(strict_members=True))


class CaseSensitiveEnums(Library):
    """Reads an attendee's role only in Graph's exact spelling."""

    breaks = "R-BODY-7"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        body = _request_json(request)
        attendees = body.get("participants", {}) if isinstance(body, dict) else None
        attendees = attendees.get("attendees") if isinstance(attendees, dict) else None
        for index, attendee in enumerate(attendees if isinstance(attendees, list) else []):
            role = attendee.get("role") if isinstance(attendee, dict) else None
            if (
                isinstance(role, str)
                and role != role.lower()
                and role.lower() in ("attendee", "presenter")
                and request.header("Authorization") in ("Bearer alice", "Bearer bob")
                and (request.header("Content-Type") or "").startswith("application/json")
                and request.path.endswith("/me/onlineMeetings/createOrGet")
            ):
                response = super().__call__(attrs.evolve(request, body=b""))
                error = _json(response)
                error["error"]["target"] = f"participants.attendees[{index}].role"
                error["error"]["message"] = f"The role '{role}' is not valid."
                return _with_body(response, error)
        return super().__call__(request)


class PolicyIgnored(Library):
    """Lets an application act for any user of its tenant, access policy or not."""

    breaks = "R-AUTH-3"

    def __init__(self) -> None:
        callers = json.loads(json.dumps(CALLERS))
        callers["applications"][0]["policyUsers"] = [ALICE, BOB, CAROL, ERIN]
        super().__init__(callers=callers)


class PersonalAccountsAllowed(Library):
    """Serves personal Microsoft accounts as work accounts."""

    breaks = "R-AUTH-2"

    def __init__(self) -> None:
        callers = json.loads(json.dumps(CALLERS))
        callers["delegated"][2]["personal"] = False
        super().__init__(callers=callers)


_TIME_TEXT = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?Z"')


class SevenDigitTimes(Library):
    """Writes every time with seven fraction digits, trailing zeros kept (.NET's "o" form)."""

    breaks = "R-TIME-6"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        if response.status not in (200, 201):
            return response
        body = _TIME_TEXT.sub(
            lambda m: f'"{m.group(1)}.{(m.group(2) or "").ljust(7, "0")}Z"',
            response.body.decode(),
        )
        return attrs.evolve(response, body=body.encode())


class UpperCaseJoinUrl(Library):
    """Percent-encodes joinWebUrl in upper case, as Python's ``quote`` does."""

    breaks = "R-MEET-6"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        if response.status not in (200, 201):
            return response
        meeting = _json(response)
        meeting["joinWebUrl"] = re.sub(
            r"%[0-9a-f]{2}", lambda m: m.group().upper(), meeting["joinWebUrl"]
        )
        return _with_body(response, meeting)


class BetaMembersInV1(Library):
    """Answers v1.0 with beta's producers and contributors (the v1.0 page's example does)."""

    breaks = "R-MEET-3"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        if response.status not in (200, 201) or not request.path.startswith("/v1.0"):
            return response
        meeting = _json(response)
        meeting["participants"].update(producers=[], contributors=[])
        return _with_body(response, meeting)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


class NullsLeftOut(Library):
    """Leaves out members that are null, as serializers set to skip nulls do."""

    breaks = "R-JSON-2"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        if response.status not in (200, 201):
            return response
        return _with_body(response, _without_nulls(_json(response)))


class PlainErrors(Library):
    """Answers errors as ``{"error": "message"}``, without Graph's code and innerError."""

    breaks = "R-JSON-5"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        if response.status < 400:
            return response
        return _with_body(response, {"error": _json(response)["error"]["message"]})


class ClientRequestIdIgnored(Library):
    """Never echoes the caller's client-request-id."""

    breaks = "R-HTTP-6"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        headers = dict(response.headers)
        headers["client-request-id"] = headers["request-id"]
        return attrs.evolve(response, headers=headers)


class HalfHourDefault(Library):
    """Gives a meeting with a start and no end half an hour, not one."""

    breaks = "R-TIME-2"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        body = _request_json(request)
        if (
            response.status == 201
            and isinstance(body, dict)
            and body.get("startDateTime") is not None
            and body.get("endDateTime") is None
        ):
            meeting = _json(response)
            end = meeting["endDateTime"]
            hour = int(end[11:13])
            if hour > 0:  # an hour less, then half an hour more: the same minutes, half an hour on
                meeting["endDateTime"] = (
                    f"{end[:11]}{hour - 1:02d}:{(int(end[14:16]) + 30) % 60:02d}{end[16:]}"
                )
                return _with_body(response, meeting)
        return response


class FailedCallStores(Library):
    """Stores the meeting before it checks the times: a refused request leaves it behind."""

    breaks = "R-RES-5"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        body = _request_json(request)
        if (
            response.status == 400
            and isinstance(body, dict)
            and _json(response)["error"].get("target") in ("endDateTime", "startDateTime")
            and isinstance(body.get("externalId"), str)
        ):
            stored = {"externalId": body["externalId"]}
            super().__call__(attrs.evolve(request, body=json.dumps(stored).encode()))
        return response


class UnknownTokenForbidden(Library):
    """Answers an unknown token 403 instead of 401."""

    breaks = "R-HTTP-4"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = super().__call__(request)
        if response.status == 401:
            return attrs.evolve(response, status=403)
        return response


WRONG: list[type[Library]] = [
    AlwaysCreated,
    KeyWithoutOrganizer,
    EndBeforeStartAccepted,
    GetUpdates,
    UnsupportedMediaType,
    RefusesUnknownMembers,
    CaseSensitiveEnums,
    PolicyIgnored,
    PersonalAccountsAllowed,
    SevenDigitTimes,
    UpperCaseJoinUrl,
    BetaMembersInV1,
    NullsLeftOut,
    PlainErrors,
    ClientRequestIdIgnored,
    HalfHourDefault,
    FailedCallStores,
    UnknownTokenForbidden,
]


# --- recorded traffic -----------------------------------------------------------------------


class Recorder:
    """A sender that keeps every exchange it passes on."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.exchanges: list[tuple[HttpRequest, HttpResponse]] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.send(request)
        self.exchanges.append((request, response))
        return response


def _body(data: bytes) -> dict[str, str]:
    """A body as JSON Lines hold it: text, or base64 where the bytes are not UTF-8."""
    try:
        return {"body": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(data).decode("ascii"), "encoding": "base64"}


def write_jsonl(path: Path, exchanges: Iterable[tuple[HttpRequest, HttpResponse]]) -> Path:
    """Exchanges as JSON Lines, the form ``meeting-rules check`` reads."""
    with path.open("w", encoding="utf-8") as out:
        for request, response in exchanges:
            line = {
                "request": {
                    "method": request.method,
                    "path": request.path,
                    "headers": dict(request.headers),
                    **_body(request.body),
                },
                "response": {
                    "status": response.status,
                    "headers": dict(response.headers),
                    **_body(response.body),
                },
            }
            out.write(json.dumps(line, ensure_ascii=True) + "\n")
    return path


def script() -> list[HttpRequest]:
    """A fixed sequence of requests that meets every rule family: repeated keys, another
    organizer with the same key, refusals of each kind and the same key afterwards, both
    versions, applications with and without a policy, a personal account."""

    def post(
        body: Any,
        *,
        token: str | None = "alice",
        user: str | None = None,
        version: str = "beta",
        content_type: str = "application/json",
        client_request_id: str | None = None,
    ) -> HttpRequest:
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if client_request_id is not None:
            headers["client-request-id"] = client_request_id
        where = "/me" if user is None else f"/users/{user}"
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return HttpRequest(
            method="POST",
            path=f"/{version}{where}/onlineMeetings/createOrGet",
            headers=headers,
            body=data,
        )

    start, end = "2031-05-01T10:00:00+02:00", "2031-05-01T07:00:00Z"
    return [
        post({"externalId": "k1", "subject": "first"}),
        post({"externalId": "k1", "subject": "second"}, client_request_id="c-1"),
        post({"externalId": "k1"}, token="bob"),
        post({"externalId": "k1"}, token="bob", version="v1.0"),
        post({"externalId": "k2", "startDateTime": start}),
        post({"externalId": "k2", "startDateTime": start, "endDateTime": end}, token="bob"),
        post({"externalId": "k3", "startDateTime": start, "endDateTime": end}),
        post({"externalId": "k3"}),
        post({"externalId": "k4", "endDateTime": end}),
        post({"externalId": "k5", "startDateTime": "2031-05-01T10:00:00"}),
        post({"externalId": None}),
        post(b""),
        post({"externalId": "k6"}, content_type="text/plain"),
        post({"externalId": "k6", "allowedPresenters": "organizer", "Note": 1}),
        post({"externalId": "k7", "participants": {"attendees": [
            {"upn": "ann@contoso.com", "role": "Attendee",
             "identity": {"user": {"id": "id-ann"}}}]}}),
        post({"externalId": "k8", "participants": {"attendees": [{"role": "unknownFutureValue"}]}}),
        post({"externalId": "k9"}, token="app", user=ALICE),
        post({"externalId": "k9"}, token="app", user=ALICE, version="v1.0"),
        post({"externalId": "k9"}, token="app", user=BOB),
        post({"externalId": "k9"}, token="app"),
        post({"externalId": "k9"}, token="carol"),
        post({"externalId": "k9"}, token="nobody"),
        post({"externalId": "k9"}, token=None),
        post({"externalId": "k10", "subject": None}, version="v1.0"),
        post({"externalId": "k10", "subject": "now named"}, version="v1.0"),
        post({"externalId": "k11", "startDateTime": "2031-05-01T10:00:00.123Z"}, version="v1.0"),
        post({"externalId": "k12", "chatInfo": {"threadId": "19:abc@thread.tacv2"}}),
    ]  # fmt: skip
