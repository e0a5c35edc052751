"""``meeting_rules.asgi``: what the server adds to ``handle``, through ASGI itself: the OpenAPI
document, faults, reading the body (limit, time, a client that leaves), headers, lifespan, and
a Graph answer for every failure."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from meeting_rules import InternalServerError, ServiceUnavailableError, TenantSettings
from meeting_rules.adapters import InMemoryMeetingRepository, SqliteMeetingRepository
from meeting_rules.asgi import (
    FAULT_HEADER,
    LOOP_BODY_BYTES,
    Fault,
    create_app,
    faults_from_json,
)
from meeting_rules.clocks import FixedClock
from meeting_rules.http import HttpRequest, handle
from meeting_rules.ids import SeededIdFactory
from meeting_rules.instant import Instant
from meeting_rules.meeting import MeetingKey, OnlineMeeting
from meeting_rules.openapi import openapi_document
from meeting_rules.ports import MeetingRepository, WouldWait
from tests.conftest import ERROR_SCHEMA, MEETING_SCHEMAS, data_bytes, data_json
from tests.serving import ALICE, BOB, callers, uvicorn_server

BODY = data_bytes("seed-example1-request.json")
ALICE_POST = {"Authorization": "Bearer alice", "Content-Type": "application/json"}
CREATE = "/beta/me/onlineMeetings/createOrGet"


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.request(method, path, **kwargs)

    return asyncio.run(run())


def post(app: Any, path: str = CREATE, *, body: bytes = BODY, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("headers", ALICE_POST)
    return call(app, "POST", path, content=body, **kwargs)


def graph_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    found = response.json()
    ERROR_SCHEMA.validate(found)
    assert response.headers["request-id"] == found["error"]["innerError"]["request-id"]
    error: dict[str, Any] = found["error"]
    return error


async def raw(
    app: Any, scope: dict[str, Any], messages: list[dict[str, Any]] | Callable[[], Any]
) -> list[dict[str, Any]]:
    """Run ``app`` on one ASGI scope; ``messages`` are what ``receive`` returns in turn (or a
    coroutine function called for each). Returns what the app sent."""
    sent: list[dict[str, Any]] = []
    queue = list(messages) if isinstance(messages, list) else None

    async def receive() -> dict[str, Any]:
        if queue is None:
            return await messages()  # type: ignore[operator,no-any-return]
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def http_scope(path: str = CREATE, headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers
        if headers is not None
        else [(b"authorization", b"Bearer alice"), (b"content-type", b"application/json")],
    }


class TestOpenApi:
    def test_the_document_describes_every_route_and_its_answers(self) -> None:
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers())
        response = call(app, "GET", "/openapi.json")
        assert response.status_code == 200
        document = response.json()
        assert document == json.loads(json.dumps(openapi_document()))
        assert document["openapi"] == "3.1.0"
        # R-HTTP-6: every answer carries its own Date (uvicorn is told to add none)
        assert email.utils.parsedate_to_datetime(response.headers["Date"]).tzinfo is not None
        for version in ("v1.0", "beta"):
            for base in ("/me", "/users/{userId}"):
                operation = document["paths"][f"/{version}{base}/onlineMeetings/createOrGet"]
                assert {"200", "201", "400", "401", "403", "413", "429", "503"} <= set(
                    operation["post"]["responses"]
                )
                assert "get" in document["paths"][f"/{version}{base}/onlineMeetings/{{meetingId}}"]

    def test_r_json_2_answers_match_the_documents_schemas(self, version: str) -> None:
        """The document's meeting schema of each version takes the answers (and the seed's
        response), and the error schema takes Graph's error bodies."""
        document = openapi_document()
        components = document["components"]

        def validator(name: str) -> Draft202012Validator:
            schema = {"$ref": f"#/components/schemas/{name}", "components": components}
            return Draft202012Validator(schema)

        app = create_app(repository=InMemoryMeetingRepository(), directory=callers())
        created = post(app, f"/{version}/me/onlineMeetings/createOrGet")
        assert created.status_code == 201
        validator(f"OnlineMeeting.{version}").validate(created.json())
        MEETING_SCHEMAS[version].validate(created.json())
        validator("OnlineMeeting.beta").validate(data_json("seed-example1-response.json"))
        refused = post(app, body=b"{")
        validator("GraphError").validate(refused.json())
        if version == "v1.0":
            schemas = components["schemas"]
            assert "producers" not in schemas["MeetingParticipants.v1.0"]["properties"]
            assert "expiryDateTime" in schemas["OnlineMeeting.v1.0"]["properties"]

    def test_the_document_is_read_with_get_only(self) -> None:
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers())
        refused = call(app, "POST", "/openapi.json")
        graph_error(refused, 405)
        assert refused.headers["Allow"] == "GET"


class TestFaults:
    def test_faults_touch_the_numbered_create_or_get_posts_only(self) -> None:
        """Numbers count createOrGet POSTs, refused ones included; a GET is not counted."""
        store = InMemoryMeetingRepository()
        faults = [Fault("throttle", requests=[3], retry_after_seconds=7)]
        app = create_app(repository=store, directory=callers(), faults=faults)
        first = post(app)
        assert first.status_code == 201
        assert FAULT_HEADER not in first.headers
        call(app, "GET", f"/beta/me/onlineMeetings/{first.json()['id']}", headers=ALICE_POST)
        graph_error(post(app, headers={"Authorization": "Bearer nobody"}), 401)  # number 2
        throttled = post(app)  # number 3
        assert graph_error(throttled, 429)["code"] == "TooManyRequests"
        assert throttled.headers["Retry-After"] == "7"
        assert throttled.headers[FAULT_HEADER] == "throttle"
        assert post(app).status_code == 200  # number 4
        assert len(store) == 1

    def test_unavailable_leaves_the_store_untouched(self) -> None:
        store = InMemoryMeetingRepository()
        app = create_app(repository=store, directory=callers(), faults=[Fault("unavailable")])
        refused = post(app)
        assert graph_error(refused, 503)["code"] == "ServiceUnavailable"
        assert refused.headers["Retry-After"] == "1"
        assert len(store) == 0

    def test_lost_response_runs_the_exchange_and_answers_503(self) -> None:
        store = InMemoryMeetingRepository()
        faults = [Fault("lost-response", requests=[1])]
        app = create_app(repository=store, directory=callers(), faults=faults)
        lost = post(app)
        assert graph_error(lost, 503)["code"] == "ServiceUnavailable"
        assert lost.headers[FAULT_HEADER] == "lost-response"
        assert lost.headers["Retry-After"] == "1"
        assert len(store) == 1  # the exchange ran: the meeting exists
        assert post(app).status_code == 200  # the retry gets it

    def test_latency_delays_the_answer(self) -> None:
        faults = [Fault("latency", latency_ms=300), Fault("throttle", requests=[2])]
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers(), faults=faults)
        started = time.monotonic()
        delayed = post(app)
        assert time.monotonic() - started >= 0.3
        assert delayed.status_code == 201
        assert delayed.headers[FAULT_HEADER] == "latency"
        both = post(app)
        assert both.status_code == 429
        assert both.headers[FAULT_HEADER] == "latency, throttle"

    def test_faults_from_json(self) -> None:
        read = faults_from_json(
            [{"kind": "throttle", "requests": [1, 3], "retryAfterSeconds": 2},
             {"kind": "latency", "latencyMs": 50}]
        )  # fmt: skip
        assert read == (
            Fault("throttle", requests=(1, 3), retry_after_seconds=2),
            Fault("latency", latency_ms=50),
        )
        for bad, where in [
            ({}, "$"),
            ([1], "$[0]"),
            ([{"kind": "explode"}], "$[0]"),
            ([{"kind": "throttle", "requests": [0]}], "$[0]"),
            ([{"kind": "throttle", "requests": 1}], "$[0].requests"),
            ([{"kind": "latency", "latencyMs": 10**9}], "$[0]"),
            ([{"kind": "latency", "extra": 1}], "$[0].extra"),
        ]:
            with pytest.raises(ValueError, match=f"^{__import__('re').escape(where)}:"):
                faults_from_json(bad)


class TestReadingTheBody:
    def test_limits_a_body_longer_than_the_limit_is_413_unread(self) -> None:
        """At most max_body_bytes + 1 bytes are read; the answer is handle's 413."""
        settings = TenantSettings(max_body_bytes=1_000)
        store = InMemoryMeetingRepository()
        app = create_app(repository=store, directory=callers(), settings=settings)
        chunks = [{"type": "http.request", "body": b"x" * 400, "more_body": True}] * 100
        sent = asyncio.run(raw(app, http_scope(), list(chunks)))
        assert sent[0]["status"] == 413
        assert json.loads(sent[1]["body"])["error"]["code"] == "BadRequest"
        assert len(store) == 0

    def test_a_body_too_slow_to_arrive_is_408(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("meeting_rules.asgi.BODY_SECONDS", 0.05)
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers())

        async def never() -> dict[str, Any]:
            await asyncio.sleep(60)
            raise AssertionError("not cancelled")

        sent = asyncio.run(raw(app, http_scope(), never))
        assert sent[0]["status"] == 408
        assert json.loads(sent[1]["body"])["error"]["code"] == "RequestTimeout"

    def test_a_client_that_leaves_mid_body_gets_nothing_and_stores_nothing(self) -> None:
        store = InMemoryMeetingRepository()
        app = create_app(repository=store, directory=callers())
        half = {"type": "http.request", "body": BODY[:100], "more_body": True}
        sent = asyncio.run(raw(app, http_scope(), [half, {"type": "http.disconnect"}]))
        assert sent == []
        assert len(store) == 0

    def test_a_header_that_is_not_utf8_is_no_header(self) -> None:
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers())
        headers = [(b"authorization", b"Bearer \xff\xfe"), (b"content-type", b"application/json")]
        sent = asyncio.run(raw(app, http_scope(headers=headers), [{"type": "http.request",
                                                                     "body": BODY}]))  # fmt: skip
        assert sent[0]["status"] == 401
        assert json.loads(sent[1]["body"])["error"]["message"] == "Access token is empty."

    def test_repeated_headers_are_joined(self) -> None:
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers())
        headers = [(b"authorization", b"Bearer alice"), (b"authorization", b"Bearer bob"),
                   (b"content-type", b"application/json")]  # fmt: skip
        sent = asyncio.run(raw(app, http_scope(headers=headers), [{"type": "http.request",
                                                                     "body": BODY}]))  # fmt: skip
        assert sent[0]["status"] == 401  # "Bearer alice, Bearer bob" is no bearer token


class TestLifespanAndFailures:
    def test_a_factory_store_is_opened_at_startup_and_closed_at_shutdown(
        self, tmp_path: Path
    ) -> None:
        opened: list[SqliteMeetingRepository] = []
        closed: list[SqliteMeetingRepository] = []

        class Store(SqliteMeetingRepository):
            def close(self) -> None:
                closed.append(self)
                super().close()

        def factory() -> SqliteMeetingRepository:
            opened.append(Store(tmp_path / "m.sqlite3"))
            return opened[-1]

        app = create_app(repository=factory, directory=callers())

        async def run() -> list[dict[str, Any]]:
            events = asyncio.Queue[dict[str, Any]]()
            sent: list[dict[str, Any]] = []

            async def send(message: MutableMapping[str, Any]) -> None:
                sent.append(dict(message))

            await events.put({"type": "lifespan.startup"})
            task = asyncio.create_task(app({"type": "lifespan"}, events.get, send))
            while not sent:
                await asyncio.sleep(0.01)
            assert len(opened) == 1
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
                answer = await client.post(CREATE, content=BODY, headers=ALICE_POST)
                assert answer.status_code == 201
            await events.put({"type": "lifespan.shutdown"})
            await task
            return sent

        sent = asyncio.run(run())
        assert [m["type"] for m in sent] == [
            "lifespan.startup.complete",
            "lifespan.shutdown.complete",
        ]
        assert opened == closed

    def test_a_store_that_cannot_open_fails_startup(self, tmp_path: Path) -> None:
        foreign = tmp_path / "foreign.sqlite3"
        sqlite3.connect(foreign).execute("create table other (x)").connection.commit()
        app = create_app(repository=lambda: SqliteMeetingRepository(foreign), directory=callers())
        sent = asyncio.run(raw(app, {"type": "lifespan"}, [{"type": "lifespan.startup"}]))
        assert sent[0]["type"] == "lifespan.startup.failed"
        assert "meeting_rules" in sent[0]["message"]

    def test_failures_outside_the_exchange_are_graph_answers(self) -> None:
        def broken() -> Any:
            raise RuntimeError("no")

        def busy() -> Any:
            raise ServiceUnavailableError("busy", retry_after_seconds=4)

        failed = post(create_app(repository=broken, directory=callers()))
        assert graph_error(failed, 500)["message"] == "Unexpected failure: RuntimeError."
        waiting = post(create_app(repository=busy, directory=callers()))
        graph_error(waiting, 503)
        assert waiting.headers["Retry-After"] == "4"
        assert isinstance(InternalServerError("x"), Exception)

    def test_a_busy_sqlite_store_answers_503_with_retry_after(self, tmp_path: Path) -> None:
        path = tmp_path / "busy.sqlite3"
        store = SqliteMeetingRepository(path, busy_timeout=0.05)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            busy = post(create_app(repository=store, directory=callers()))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
            store.close()
        assert graph_error(busy, 503)["code"] == "ServiceUnavailable"
        assert int(busy.headers["Retry-After"]) >= 1

    def test_a_websocket_is_closed(self) -> None:
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers())
        sent = asyncio.run(raw(app, {"type": "websocket"}, [{"type": "websocket.connect"}]))
        assert sent == [{"type": "websocket.close", "code": 1003}]

    def test_an_application_reads_back_its_users_meeting(self) -> None:
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers())
        as_app = {"Authorization": "Bearer app", "Content-Type": "application/json"}
        made = post(app, f"/v1.0/users/{BOB}/onlineMeetings/createOrGet", headers=as_app)
        assert made.status_code == 201
        read = call(app, "GET", f"/v1.0/users/{BOB}/onlineMeetings/{made.json()['id']}",
                    headers={"Authorization": "Bearer app"})  # fmt: skip
        assert read.json() == made.json()
        mine = call(app, "GET", f"/v1.0/me/onlineMeetings/{made.json()['id']}",
                    headers={"Authorization": "Bearer alice"})  # fmt: skip
        graph_error(mine, 404)
        assert ALICE != BOB


class TestOverTheWire:
    """Bad input through a real uvicorn server: a Graph error or a closed connection, never a
    traceback in the server's log, never a half-written meeting."""

    @staticmethod
    def exchange(base: str, raw_request: bytes, *, then_close: bool = False) -> bytes:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(raw_request)
            if then_close:
                return b""
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                answer += chunk
            return answer

    @staticmethod
    def head(body_length: int, authorization: bytes = b"Bearer alice") -> bytes:
        return (
            b"POST " + CREATE.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: " + authorization + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % body_length
        )

    def test_bad_input_on_the_wire(
        self, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("meeting_rules.asgi.BODY_SECONDS", 0.5)
        store = InMemoryMeetingRepository()
        settings = TenantSettings(max_body_bytes=100_000)
        app = create_app(repository=store, directory=callers(), settings=settings)
        caplog.set_level(logging.INFO)
        with uvicorn_server(app) as base:
            # 5 MB announced, 300 KB sent (within what loopback buffers take, so that the
            # server's close does not reset the connection before its 413 is read): 413 once
            # the limit is passed, the rest unread
            big = self.exchange(base, self.head(5_000_000) + b" " * 300_000)
            assert big.startswith(b"HTTP/1.1 413 ")
            # a body cut short by a client that leaves
            self.exchange(base, self.head(1_000) + BODY[:10], then_close=True)
            # a body that stops arriving: 408
            slow = self.exchange(base, self.head(1_000) + BODY[:10])
            assert slow.startswith(b"HTTP/1.1 408 ")
            # a header that is not UTF-8 counts as absent
            odd = self.exchange(base, self.head(len(BODY), b"Bearer \xff\xfe") + BODY)
            assert odd.startswith(b"HTTP/1.1 401 ")
            # and the server still answers
            good = self.exchange(base, self.head(len(BODY)) + BODY)
            assert good.startswith(b"HTTP/1.1 201 ")
        assert len(store) == 1
        tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
        assert tracebacks == []
        ours = ("uvicorn", "meeting_rules", "asyncio")  # not another library's, from elsewhere
        assert not [
            r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith(ours)
        ]


class TestReviewedEdges:
    def test_the_first_deciding_fault_decides(self) -> None:
        """Of throttle, unavailable and lost-response, the first in the list decides; only the
        faults that acted are named in the header."""
        store = InMemoryMeetingRepository()
        faults = [Fault("lost-response"), Fault("throttle")]
        app = create_app(repository=store, directory=callers(), faults=faults)
        lost = post(app)
        assert lost.status_code == 503
        assert lost.headers[FAULT_HEADER] == "lost-response"
        assert len(store) == 1

    def test_a_408_is_no_faults_answer_and_closes(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("meeting_rules.asgi.BODY_SECONDS", 0.05)
        faults = [Fault("throttle"), Fault("latency", latency_ms=5_000)]
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers(),
                         faults=faults)  # fmt: skip

        async def never() -> dict[str, Any]:
            await asyncio.sleep(60)
            raise AssertionError("not cancelled")

        started = time.monotonic()
        sent = asyncio.run(raw(app, http_scope(), never))
        assert time.monotonic() - started < 4  # no latency added
        headers = dict(sent[0]["headers"])
        assert sent[0]["status"] == 408
        assert FAULT_HEADER.encode() not in headers
        assert headers[b"connection"] == b"close"

    def test_a_413_closes_the_connection_a_whole_body_does_not(self) -> None:
        settings = TenantSettings(max_body_bytes=1_000)
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers(),
                         settings=settings)  # fmt: skip
        chunks = [{"type": "http.request", "body": b"x" * 400, "more_body": True}] * 5
        sent = asyncio.run(raw(app, http_scope(), list(chunks)))
        assert sent[0]["status"] == 413
        assert dict(sent[0]["headers"])[b"connection"] == b"close"
        whole = asyncio.run(raw(app, http_scope(), [{"type": "http.request", "body": BODY}]))
        assert whole[0]["status"] == 201
        assert b"connection" not in dict(whole[0]["headers"])

    def test_a_request_cancelled_at_shutdown_gets_a_graph_503(self) -> None:
        faults = [Fault("latency", latency_ms=10_000)]
        app = create_app(repository=InMemoryMeetingRepository(), directory=callers(),
                         faults=faults)  # fmt: skip

        async def run() -> list[dict[str, Any]]:
            sent: list[dict[str, Any]] = []
            messages = [{"type": "http.request", "body": BODY}]

            async def receive() -> dict[str, Any]:
                return messages.pop(0)

            async def send(message: MutableMapping[str, Any]) -> None:
                sent.append(dict(message))

            task = asyncio.create_task(app(http_scope(), receive, send))
            await asyncio.sleep(0.3)  # the exchange ran; the latency is being waited out
            task.cancel()
            await task  # no CancelledError escapes: the app answered
            return sent

        sent = asyncio.run(run())
        assert sent[0]["status"] == 503
        assert json.loads(sent[1]["body"])["error"]["code"] == "ServiceUnavailable"

    def test_a_callers_odd_user_id_cannot_split_a_header(self) -> None:
        directory = callers()
        odd = "a\r\nSet-Cookie: x=1 \u65e5"
        directory.add_delegated_user(token="odd", tenant_id="t", user_id=odd, upn=None,
                                     scopes={"OnlineMeetings.ReadWrite"})  # fmt: skip
        app = create_app(repository=InMemoryMeetingRepository(), directory=directory)
        scope = http_scope(headers=[(b"authorization", b"Bearer odd"),
                                    (b"content-type", b"application/json")])  # fmt: skip
        sent = asyncio.run(raw(app, scope, [{"type": "http.request", "body": BODY}]))
        assert sent[0]["status"] == 201
        location = dict(sent[0]["headers"])[b"location"]
        assert b"\r" not in location
        assert b"users('a%0D%0ASet-Cookie%3A%20x=1%20%E6%97%A5')" in location

    def test_lifespan_twice_opens_a_store_each_time(self, tmp_path: Path) -> None:
        opened: list[SqliteMeetingRepository] = []

        def factory() -> SqliteMeetingRepository:
            opened.append(SqliteMeetingRepository(tmp_path / f"m{len(opened)}.sqlite3"))
            return opened[-1]

        app = create_app(repository=factory, directory=callers())
        for _ in range(2):
            events = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
            sent = asyncio.run(raw(app, {"type": "lifespan"}, events))
            assert [m["type"] for m in sent] == [
                "lifespan.startup.complete",
                "lifespan.shutdown.complete",
            ]
        assert len(opened) == 2

    def test_a_lifespan_cancelled_before_its_shutdown_closes_its_store(self) -> None:
        """A server's forced exit cancels the lifespan before any shutdown event: the owned
        store is closed, the cancellation goes on (a caller's timeout still fires), and a next
        startup opens a store of its own."""
        opened: list[InMemoryMeetingRepository] = []
        closed: list[InMemoryMeetingRepository] = []

        class Store(InMemoryMeetingRepository):
            def close(self) -> None:
                closed.append(self)

        def factory() -> InMemoryMeetingRepository:
            opened.append(Store())
            return opened[-1]

        app = create_app(repository=factory, directory=callers())

        async def start_then_cancel() -> None:
            events = asyncio.Queue[dict[str, Any]]()
            sent: list[str] = []

            async def send(message: MutableMapping[str, Any]) -> None:
                sent.append(message["type"])

            await events.put({"type": "lifespan.startup"})
            task = asyncio.create_task(app({"type": "lifespan"}, events.get, send))
            while not sent:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        for _ in range(2):
            asyncio.run(start_then_cancel())
        assert len(opened) == 2
        assert closed == opened


class _Watched(InMemoryMeetingRepository):
    """A store that notes the thread of each call; ``waits`` makes ``get_now`` say it would."""

    def __init__(self, *, waits: bool = False) -> None:
        super().__init__()
        self.waits = waits
        self.calls: list[tuple[str, int]] = []

    def get_now(self, key: MeetingKey) -> OnlineMeeting | None:
        self.calls.append(("get_now", threading.get_ident()))
        if self.waits:
            raise WouldWait
        return super().get_now(key)

    def get(self, key: MeetingKey) -> OnlineMeeting | None:
        self.calls.append(("get", threading.get_ident()))
        return super().get(key)

    def add_if_absent(self, key: MeetingKey, meeting: OnlineMeeting) -> tuple[OnlineMeeting, bool]:
        self.calls.append(("add_if_absent", threading.get_ident()))
        return super().add_if_absent(key, meeting)


async def _post_twice(app: Any) -> tuple[int, list[int]]:
    """The event loop's thread, and the statuses of two posts of one body."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        statuses = [
            (await client.post(CREATE, content=BODY, headers=ALICE_POST)).status_code
            for _ in range(2)
        ]
    return threading.get_ident(), statuses


def handle_post(store: MeetingRepository) -> httpx.Response:
    """``handle`` itself, its answer as an ``httpx.Response``."""
    request = HttpRequest(method="POST", path=CREATE, headers=ALICE_POST, body=BODY)
    clock, ids = FixedClock(Instant.parse("2020-02-06T00:00:00Z")), SeededIdFactory(1)
    answer = handle(request, directory=callers(), repository=store, clock=clock, ids=ids)
    return httpx.Response(answer.status, headers=dict(answer.headers), content=answer.body)


class TestWhereTheStoreIsCalled:
    def test_reads_without_waiting_on_the_loop_and_writes_on_a_worker(self) -> None:
        store = _Watched()
        loop, statuses = asyncio.run(_post_twice(create_app(repository=store, directory=callers())))
        assert statuses == [201, 200]
        assert [name for name, _ in store.calls] == ["get_now", "add_if_absent", "get_now"]
        threads = dict(store.calls)
        assert threads["get_now"] == loop
        assert threads["add_if_absent"] != loop  # the write (and a real store's fsync) waits

    def test_a_read_that_would_wait_moves_to_a_worker(self) -> None:
        store = _Watched(waits=True)
        loop, statuses = asyncio.run(_post_twice(create_app(repository=store, directory=callers())))
        assert statuses == [201, 200]
        names = [name for name, _ in store.calls]
        assert names == ["get_now", "get", "add_if_absent", "get_now", "get"]
        assert all(thread != loop for name, thread in store.calls if name != "get_now")

    def test_a_store_without_get_now_is_called_on_workers_only(self, tmp_path: Path) -> None:
        calls: list[int] = []

        class Plain:  # the port alone, as a store on another machine has it
            def __init__(self) -> None:
                self.inner = InMemoryMeetingRepository()

            def get(self, key: MeetingKey) -> OnlineMeeting | None:
                calls.append(threading.get_ident())
                return self.inner.get(key)

            def add_if_absent(
                self, key: MeetingKey, meeting: OnlineMeeting
            ) -> tuple[OnlineMeeting, bool]:
                calls.append(threading.get_ident())
                return self.inner.add_if_absent(key, meeting)

            def find_by_id(self, **where: str) -> OnlineMeeting | None:
                return self.inner.find_by_id(**where)

        loop, statuses = asyncio.run(
            _post_twice(create_app(repository=Plain(), directory=callers()))
        )
        assert statuses == [201, 200]
        assert len(calls) == 3
        assert loop not in calls

    def test_r_res_5_a_store_that_fails_on_the_loop_is_a_graph_500(self) -> None:
        class Broken(InMemoryMeetingRepository):
            def get_now(self, key: MeetingKey) -> OnlineMeeting | None:
                raise RuntimeError("disk on fire")

        store = Broken()
        failed = post(create_app(repository=store, directory=callers()))
        message = graph_error(failed, 500)["message"]
        assert message == "The meeting store failed: RuntimeError: disk on fire"
        assert len(store) == 0

    def test_sqlite_get_now_says_it_would_wait_for_an_exclusive_lock(self, tmp_path: Path) -> None:
        path = tmp_path / "locked.sqlite3"
        # A busy timeout long beside a loaded machine's pauses, short enough for the 503 part.
        store = SqliteMeetingRepository(path, busy_timeout=2)
        key = MeetingKey(tenant_id="t", organizer_id="o", external_id="x")
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("PRAGMA locking_mode = EXCLUSIVE")
            blocker.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            with pytest.raises(WouldWait):
                store.get_now(key)
            assert time.monotonic() - started < 1  # it did not wait for the busy timeout
            busy = post(create_app(repository=store, directory=callers()))
            assert graph_error(busy, 503)["code"] == "ServiceUnavailable"  # the worker waited
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.get_now(key) is None
        store.close()

    def test_a_long_body_is_read_with_its_whole_exchange_on_a_worker(self) -> None:
        store = _Watched()
        body = json.loads(BODY)
        body["subject"] = "s" * LOOP_BODY_BYTES  # valid, and longer than the loop reads

        async def run() -> tuple[int, int]:
            transport = httpx.ASGITransport(app=create_app(repository=store, directory=callers()))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                answer = await c.post(CREATE, content=json.dumps(body), headers=ALICE_POST)
            return threading.get_ident(), answer.status_code

        loop, status = asyncio.run(run())
        assert status == 201
        assert [name for name, _ in store.calls] == ["get", "add_if_absent"]  # no get_now
        assert all(thread != loop for _, thread in store.calls)

    def test_r_res_5_a_store_failure_that_cannot_say_what_it_is_is_still_a_500(self) -> None:
        class Mute(Exception):
            def __str__(self) -> str:
                raise ValueError("no words")

        class Broken(InMemoryMeetingRepository):
            def get_now(self, key: MeetingKey) -> OnlineMeeting | None:
                raise Mute

            get = get_now

        store = Broken()
        for answer in (
            post(create_app(repository=store, directory=callers())),
            handle_post(store),
        ):
            message = graph_error(answer, 500)["message"]
            assert message.startswith("The meeting store failed: Mute: ")
