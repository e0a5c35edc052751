"""The real Graph SDK clients against the served rules: msgraph-sdk (v1.0) and msgraph-beta-sdk
(beta), over a real uvicorn server on a loopback port and in process through
``httpx.ASGITransport``, with the SDKs' own middleware (retry, the ``/me`` rewrite)."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options import ResponseHandlerOption

from meeting_rules.adapters import SqliteMeetingRepository
from meeting_rules.adapters.jwt import JwtDirectory
from meeting_rules.asgi import Fault, create_app
from meeting_rules.callers import callers_from_json
from tests.serving import (
    ALICE,
    BOB,
    CAROL,
    TENANT,
    StatusRecorder,
    callers,
    graph_client,
    me,
    uvicorn_server,
)

VERSIONS = ["v1.0", "beta"]


def sdk(version: str) -> tuple[Any, Any]:
    """The SDK's createOrGet body class and onlineMeeting model."""
    package = "msgraph" if version == "v1.0" else "msgraph_beta"
    models: Any = importlib.import_module(f"{package}.generated.models.online_meeting")
    bodies: Any = importlib.import_module(
        f"{package}.generated.users.item.online_meetings.create_or_get"
        ".create_or_get_post_request_body"
    )
    return bodies.CreateOrGetPostRequestBody, models.OnlineMeeting


def body(version: str, external_id: str, **more: Any) -> Any:
    made, _ = sdk(version)
    return made(external_id=external_id, subject="Served", **more)


def recording(version: str) -> tuple[StatusRecorder, RequestConfiguration[Any]]:
    recorder = StatusRecorder(sdk(version)[1])
    return recorder, RequestConfiguration(options=[ResponseHandlerOption(recorder)])


def instant(text: str) -> dt.datetime:
    """A Graph time as the SDK holds it: a datetime, to the microsecond."""
    return dt.datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00")


def assert_same_meeting(model: Any, served: dict[str, Any], path: str = "$") -> None:
    """Every member of the server's JSON, as the SDK read it, recursively: a member the SDK
    models by its attribute, any other in its ``additional_data``; times to the microsecond
    (a ``datetime``'s precision), enums by their value."""
    for name, value in served.items():
        if name.startswith("@odata."):
            continue
        attribute = "".join("_" + c.lower() if c.isupper() else c for c in name)
        got = getattr(model, attribute, model.additional_data.get(name, _MISSING))
        assert got is not _MISSING, f"{path}.{name}: not read by the SDK"
        assert_same_value(got, value, f"{path}.{name}")


_MISSING = object()


def assert_same_value(got: Any, value: Any, path: str) -> None:
    if isinstance(value, dict):
        assert_same_meeting(got, value, path)
    elif isinstance(value, list):
        assert len(got) == len(value), path
        for index, (item, expected) in enumerate(zip(got, value, strict=True)):
            assert_same_value(item, expected, f"{path}[{index}]")
    elif isinstance(got, dt.datetime):
        assert got == instant(value), path
    elif isinstance(got, uuid.UUID):  # the SDK reads a GUID-shaped member as a UUID
        assert got == uuid.UUID(value), path
    elif hasattr(got, "value") and not isinstance(got, (str, bool)):  # an SDK enum
        assert got.value.lower() == str(value).lower(), path
    else:
        assert got == value, path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteMeetingRepository]:
    with SqliteMeetingRepository(tmp_path / "served.sqlite3") as made:
        yield made


@pytest.fixture(params=["uvicorn", "asgi"])
def served(request: pytest.FixtureRequest, store: SqliteMeetingRepository) -> Iterator[Any]:
    """A function ``(version, token, faults=()) -> client``: the SDK client against the app
    over a real uvicorn server, or in process through ``httpx.ASGITransport``."""

    def client(version: str, token: str) -> Any:
        return graph_client(version, base, token, transport)

    app = create_app(repository=store, directory=callers())
    if request.param == "uvicorn":
        with uvicorn_server(app) as base:
            transport = None
            yield client
    else:
        base, transport = "http://127.0.0.1", httpx.ASGITransport(app=app)
        yield client


@pytest.mark.parametrize("version", VERSIONS)
def test_r_res_2_create_then_get_through_the_sdk(
    served: Any, store: SqliteMeetingRepository, version: str
) -> None:
    """R-RES-2, R-RES-3: 201 then 200, the same meeting; every member as the server wrote it."""
    client = served(version, "alice")
    recorder, configuration = recording(version)

    async def run() -> tuple[Any, Any, Any]:
        sent = body(version, f"key-{version}")
        post = me(client).online_meetings.create_or_get.post
        first = await post(sent, request_configuration=configuration)
        second = await post(sent, request_configuration=configuration)
        read = await me(client).online_meetings.by_online_meeting_id(first.id).get()
        return first, second, read

    first, second, read = asyncio.run(run())
    assert recorder.statuses == [201, 200]
    assert first.id == second.id == read.id
    served_json = json.loads(recorder.bodies[0])
    assert json.loads(recorder.bodies[1]) == served_json
    assert_same_meeting(first, served_json)
    assert_same_meeting(read, served_json)
    assert first.participants.organizer.identity.user.id == ALICE
    assert len(store) == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_r_auth_3_an_application_with_and_without_a_policy(served: Any, version: str) -> None:
    from kiota_abstractions.api_error import APIError

    async def run(token: str) -> Any:
        client = served(version, token)
        return await client.users.by_user_id(BOB).online_meetings.create_or_get.post(
            body(version, "app-key")
        )

    made = asyncio.run(run("app"))
    assert made.participants.organizer.identity.user.id == BOB
    with pytest.raises(APIError) as refused:
        asyncio.run(run("app-no-policy"))
    odata: Any = refused.value  # the SDK's ODataError
    assert odata.response_status_code == 403
    assert odata.error.code == "Forbidden"
    assert "No application access policy" in odata.error.message


@pytest.mark.parametrize("version", VERSIONS)
def test_r_http_6_errors_arrive_as_odata_errors(served: Any, version: str) -> None:
    """Graph's error body, read by the SDK: its status, code, message and target."""
    refusals: list[Any] = []  # the SDK's ODataError

    async def run() -> None:
        client = served(version, "alice")
        start = dt.datetime(2026, 1, 2, 10, tzinfo=dt.UTC)
        cases = [
            (
                me(client),
                body(
                    version,
                    "bad",
                    start_date_time=start,
                    end_date_time=start - dt.timedelta(hours=1),
                ),
            ),
            (client.users.by_user_id(CAROL), body(version, "other")),
        ]
        for target, sent in cases:
            try:
                await target.online_meetings.create_or_get.post(sent)
            except Exception as error:
                refusals.append(error)
        try:
            await me(served(version, "unknown-token")).online_meetings.create_or_get.post(
                body(version, "k")
            )
        except Exception as error:
            refusals.append(error)

    asyncio.run(run())
    assert [type(e).__name__ for e in refusals] == ["ODataError"] * 3
    assert [e.response_status_code for e in refusals] == [400, 403, 401]
    assert refusals[0].error.code == "BadRequest"
    assert refusals[0].error.target == "endDateTime"
    assert refusals[2].error.code == "InvalidAuthenticationToken"


@pytest.mark.parametrize("kind", ["lost-response", "throttle", "unavailable", "latency"])
@pytest.mark.parametrize("version", VERSIONS)
def test_r_res_4_exactly_once_under_the_sdks_retries(
    store: SqliteMeetingRepository, kind: str, version: str
) -> None:
    """The SDK's retry handler meets each fault on the first POST (Retry-After: 1) and ends
    with the meeting; the store holds exactly one, also after a lost response whose exchange
    had created it. A latency of 1 s is waited out, with no retry."""
    fault = Fault(kind, requests=[1], latency_ms=1000 if kind == "latency" else 0)
    app = create_app(repository=store, directory=callers(), faults=[fault])
    recorder, configuration = recording(version)
    with uvicorn_server(app) as base:
        client = graph_client(version, base, "alice")
        started = time.monotonic()
        made = asyncio.run(
            me(client).online_meetings.create_or_get.post(
                body(version, f"retried-{kind}"), request_configuration=configuration
            )
        )
        waited = time.monotonic() - started
    assert made.external_id == f"retried-{kind}"
    assert len(store) == 1
    # The handler sees the answer after the retry: a get of the lost create, else the create.
    assert recorder.statuses == [200 if kind == "lost-response" else 201]
    assert waited >= 1.0  # the client waited as Retry-After (or the latency) said


def test_jwts_good_wrong_key_and_expired(store: SqliteMeetingRepository) -> None:
    """A JwtDirectory server: a token signed by a JWKS key works; another key's signature or an
    expired token is 401, as the SDK reports it."""
    key, other = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in "ab")
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    public["kid"] = "k1"
    directory = JwtDirectory(jwks={"keys": [public]}, callers=callers_from_json({}))
    claims = {
        "aud": "https://graph.microsoft.com",
        "tid": TENANT,
        "oid": ALICE,
        "upn": "alice@contoso.com",
        "scp": "OnlineMeetings.ReadWrite User.Read",
        "exp": int(time.time()) + 600,
    }
    good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"})
    expired = jwt.encode({**claims, "exp": int(time.time()) - 60}, key, algorithm="RS256",
                         headers={"kid": "k1"})  # fmt: skip
    app = create_app(repository=store, directory=directory)
    statuses = []

    async def run(base: str) -> None:
        for token in (good, forged, expired):
            client = graph_client("v1.0", base, token)
            try:
                made = await me(client).online_meetings.create_or_get.post(body("v1.0", "jwt"))
                statuses.append(made.participants.organizer.identity.user.id)
            except Exception as error:
                statuses.append(error.response_status_code)  # type: ignore[attr-defined]

    with uvicorn_server(app) as base:
        asyncio.run(run(base))
    assert statuses == [ALICE, 401, 401]
