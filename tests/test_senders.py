"""The senders of ``check_emulator`` (``meeting_rules.testing.senders``): ``asgi_sender``'s
timeout, header encoding and lifespan, and ``http_sender``'s retry of a stale connection, against
apps in this process, raw sockets and uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from meeting_rules.http import HttpRequest
from meeting_rules.testing import asgi_sender, http_sender

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]

CREATE = HttpRequest(
    method="POST",
    path="/v1.0/me/onlineMeetings/createOrGet",
    headers={"content-type": "application/json", "authorization": "Bearer alice"},
    body=b'{"externalId": "k"}',
)


def with_lifespan(handle: Handler) -> Handler:
    """``handle`` for HTTP, with a lifespan that starts and ends as the ASGI spec has it."""

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await handle(scope, receive, send)
            return
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    return app


async def no_content(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@contextmanager
def loop_noise(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fails if the block leaves what a closed loop complains of, once its objects are collected:
    a task destroyed pending, an exception never retrieved, "Event loop is closed"."""
    unraisable: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(repr(u.exc_value)))
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        yield
        gc.collect()
    complaints = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert (complaints, unraisable) == ([], [])


# --- asgi_sender -----------------------------------------------------------------------------


def test_asgi_sender_cancels_a_request_past_its_timeout(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An app that never answers: ``asgi_sender(app, timeout=...)`` raises ``TimeoutError``
    naming the request once the timeout is past, the app's request cancelled by then."""
    cancelled = threading.Event()

    async def never(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with loop_noise(caplog, monkeypatch):
        with asgi_sender(with_lifespan(never), timeout=0.3) as send:
            for _ in range(2):
                cancelled.clear()
                started = time.monotonic()
                with pytest.raises(TimeoutError, match=r"POST /v1\.0/me/onlineMeetings/create"):
                    send(CREATE)
                assert time.monotonic() - started < 3
                assert cancelled.is_set()
        del send


def test_asgi_sender_ends_an_app_that_goes_on_after_its_cancellation(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An app that swallows its request's cancellation: the request still raises within the
    timeout and a moment, and ``close()`` ends what the app left running."""

    async def stubborn(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(30)

    with loop_noise(caplog, monkeypatch):
        send = asgi_sender(with_lifespan(stubborn), timeout=0.2)
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"POST /v1\.0/me/onlineMeetings/create"):
            send(CREATE)
        send.close()
        assert time.monotonic() - started < 5
        del send


@pytest.mark.parametrize("kind", ["returns", "raises"])
def test_asgi_sender_serves_an_app_without_lifespan(
    kind: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An app that returns or raises on the lifespan scope (no lifespan, as the ASGI spec
    allows) is served, and ``close()`` leaves nothing pending and no exception unread."""

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            if kind == "raises":
                raise ValueError("no lifespan here")
            return
        await no_content(scope, receive, send)

    with loop_noise(caplog, monkeypatch):
        with asgi_sender(app) as send:
            assert [send(CREATE).status for _ in range(2)] == [204, 204]
        del send


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("fails", "no database"),
        ("fails and raises", "no database"),  # as Starlette does
        ("is silent", r"the app sent no answer to lifespan\.startup within 0\.3 s"),
    ],
    ids=["fails", "fails-and-raises", "silent"],
)
def test_asgi_sender_refuses_every_request_after_a_failed_startup(
    kind: str, reason: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A startup that fails (``lifespan.startup.failed``) or has no answer within the timeout:
    every request raises the same error, none reaches the app, and ``close()`` is clean."""
    served: list[str] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await receive()
            if kind == "is silent":
                await asyncio.sleep(30)
            await send({"type": "lifespan.startup.failed", "message": "no database"})
            if kind == "fails and raises":
                raise RuntimeError("no database")
            return
        served.append(scope["path"])
        await no_content(scope, receive, send)

    errors: list[str] = []
    with loop_noise(caplog, monkeypatch):
        # only the silent app needs a short timeout
        with asgi_sender(app, timeout=0.3) if kind == "is silent" else asgi_sender(app) as send:
            for _ in range(2):
                with pytest.raises(RuntimeError, match=f"^the app failed to start: {reason}") as e:
                    send(CREATE)
                errors.append(str(e.value))
        del send
    assert errors[0] == errors[1]
    assert served == []


def test_asgi_sender_and_http_sender_read_and_write_headers_alike() -> None:
    """One echo app through ``asgi_sender`` and through uvicorn with ``http_sender``: the same
    bytes reach the app (ISO-8859-1, as http.client writes them), the same text comes back (read
    as ISO-8859-1, as http.client reads it), and the same error for a value outside it."""
    pytest.importorskip("uvicorn")
    from tests.serving import uvicorn_server

    async def echo(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        headers = [(b"x-saw", repr(v).encode("ascii")) for k, v in scope["headers"] if k == b"x-t"]
        headers += [(b"x-echo", v) for k, v in scope["headers"] if k == b"x-t"]
        headers.append((b"x-utf8", "réunion".encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    app = with_lifespan(echo)

    def answers(send: Callable[[HttpRequest], Any]) -> list[Any]:
        found: list[Any] = []
        for value in ("réunion", "plain", "ÿ€"):
            request = HttpRequest(method="GET", path="/v1.0/echo", headers={"X-T": value})
            try:
                answer = send(request)
            except Exception as error:
                found.append(type(error))
            else:
                found.append({k: v for k, v in answer.headers.items() if k.startswith("x-")})
        return found

    with asgi_sender(app) as in_this_process:
        in_process = answers(in_this_process)
    with uvicorn_server(app) as url, http_sender(url) as over_http:
        served = answers(over_http)
    assert served[0] == {"x-saw": repr("réunion".encode("latin-1")), "x-echo": "réunion",
                         "x-utf8": "rÃ©union"}  # fmt: skip
    assert served[2] is UnicodeEncodeError
    assert in_process == served


# --- http_sender -----------------------------------------------------------------------------


class RawServer:
    """A server on a raw loopback socket, in a thread, that answers ``answers`` requests (204)
    on each connection, then reads one more if ``answers`` is 0, then closes the connection.
    ``requests`` counts the requests it read, all connections together."""

    def __init__(self, answers: int) -> None:
        self.answers = answers
        self.requests = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()
        assert not self.thread.is_alive()

    def serve(self) -> None:
        deadline = time.monotonic() + 8
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                for _ in range(max(self.answers, 1)):
                    if not self.read_request(connection):
                        break
                    if self.answers:
                        connection.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    def read_request(self, connection: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.lower().split(b"\r\n")
        length = sum(int(line[15:]) for line in lines if line.startswith(b"content-length:"))
        while len(body) < length:
            body += connection.recv(65536)
        self.requests += 1
        return True


def test_http_sender_does_not_send_again_what_a_new_connection_lost() -> None:
    """A server that reads the request and closes a new connection unanswered: the POST is not
    sent again; ``send`` raises a ``ConnectionError`` that names the request."""
    with RawServer(answers=0) as server, http_sender(server.url) as send:
        try:
            send(CREATE)
        except ConnectionError as error:
            message = str(error)
        else:
            raise AssertionError("no error")
    assert server.requests == 1
    assert f"POST {server.url}/v1.0/me/onlineMeetings/createOrGet" in message


def test_http_sender_sends_again_on_a_new_connection_what_a_kept_one_lost() -> None:
    """A server that closes each kept-alive connection after its first answer: the next request,
    which the closed connection lost, is sent on a new one and answered."""
    with RawServer(answers=1) as server, http_sender(server.url) as send:
        assert [send(CREATE).status for _ in range(3)] == [204, 204, 204]
    assert server.requests == 3
