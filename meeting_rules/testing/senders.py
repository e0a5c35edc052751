"""Senders for ``check_emulator``: ``HttpRequest -> HttpResponse`` through an ASGI 3 app in this
process (``asgi_sender``) or over HTTP/1.1 to a running server (``http_sender``)."""

from __future__ import annotations

import asyncio
import http.client
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any, TypeVar

from ..http import HttpRequest, HttpResponse, join_headers

__all__ = ["AsgiSender", "HttpSender", "asgi_sender", "http_sender"]

_T = TypeVar("_T")


class AsgiSender:
    """``HttpRequest -> HttpResponse`` through an ASGI 3 app, on an event loop of its own (a
    thread), with the app's lifespan started on the first request and ended by ``close()``."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, timeout: float = 60) -> None:
        self._app = app
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._lifespan: asyncio.Queue[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            if self._lifespan is None:
                self._run(self._start())
        return self._run(self._exchange(request))

    def close(self) -> None:
        """End the app's lifespan and stop the loop (a second call does nothing)."""
        if self._loop.is_closed():
            return
        if self._lifespan is not None:
            self._run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(self._timeout)
        self._loop.close()

    def __enter__(self) -> AsgiSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, work: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(self._timeout)

    async def _start(self) -> None:
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._lifespan = incoming
        self._outgoing = outgoing
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        task = asyncio.ensure_future(self._app(scope, incoming.get, outgoing.put))
        self._task = task
        await incoming.put({"type": "lifespan.startup"})
        done = asyncio.ensure_future(outgoing.get())
        await asyncio.wait({done, task}, return_when=asyncio.FIRST_COMPLETED)
        if done.done() and done.result()["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"the app failed to start: {done.result().get('message', '')}")

    async def _stop(self) -> None:
        assert self._lifespan is not None
        if self._task.done():
            return
        await self._lifespan.put({"type": "lifespan.shutdown"})
        await asyncio.wait({self._task}, timeout=self._timeout)

    async def _exchange(self, request: HttpRequest) -> HttpResponse:
        path, _, query = request.path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": urllib.parse.unquote(path),
            "raw_path": path.encode("latin-1", "replace"),
            "query_string": query.encode("latin-1", "replace"),
            "root_path": "",
            "headers": [
                (name.lower().encode("latin-1"), value.encode("utf-8", "surrogateescape"))
                for name, value in request.headers.items()
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        sent = False
        answered = asyncio.Event()  # the whole answer was sent: the client leaves
        parts: MutableMapping[str, Any] = {"status": None, "headers": [], "body": []}

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await answered.wait()  # the client stays until the answer is sent
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                parts["status"] = message["status"]
                parts["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                parts["body"].append(message.get("body", b""))
                if not message.get("more_body", False):
                    answered.set()

        await self._app(scope, receive, send)
        if parts["status"] is None:
            raise RuntimeError(f"the app sent no answer to {request.method} {request.path}")
        return HttpResponse(
            status=parts["status"],
            headers=join_headers(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in parts["headers"]
            ),
            body=b"".join(parts["body"]),
        )


def asgi_sender(app: Callable[..., Awaitable[None]]) -> AsgiSender:
    """A sender for an ASGI 3 app, run in this process (``close()`` ends its lifespan)."""
    return AsgiSender(app)


class HttpSender:
    """``HttpRequest -> HttpResponse`` over HTTP/1.1 to a running server, on one kept-alive
    connection (made again after the server closes it)."""

    def __init__(self, base_url: str, *, timeout: float = 30) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http or https URL: {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._timeout = timeout
        self._base = parts.path.rstrip("/")
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> http.client.HTTPConnection:
        factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return factory(self._host, self._port, timeout=self._timeout)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            for attempt in (1, 2):
                if self._connection is None:
                    self._connection = self._connect()
                try:
                    return self._exchange(request)
                except OSError as error:
                    self.close()
                    # a kept-alive connection the server had closed: the request never reached it
                    stale = isinstance(
                        error,
                        http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError,
                    )
                    if attempt == 2 or not stale:
                        raise
            raise AssertionError("unreachable")

    def _exchange(self, request: HttpRequest) -> HttpResponse:
        connection = self._connection
        assert connection is not None
        headers = dict(request.headers)
        connection.request(
            request.method, self._base + request.path, body=request.body, headers=headers
        )
        answer = connection.getresponse()
        body = answer.read()
        if answer.will_close:
            self.close()
        return HttpResponse(
            status=answer.status, headers=join_headers(answer.getheaders()), body=body
        )

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> HttpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def http_sender(base_url: str) -> HttpSender:
    """A sender for a server at ``base_url`` (``http://127.0.0.1:8000``): each request's path,
    ``/v1.0/...`` or ``/beta/...``, is sent below it."""
    return HttpSender(base_url)
