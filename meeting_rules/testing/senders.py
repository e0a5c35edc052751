"""Senders for ``check_emulator``: ``HttpRequest -> HttpResponse`` through an ASGI 3 app in this
process (``asgi_sender``) or over HTTP/1.1 to a running server (``http_sender``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http.client
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any, TypeVar

import attrs

from ..http import HttpRequest, HttpResponse, join_headers

__all__ = ["AsgiSender", "HttpSender", "asgi_sender", "http_sender"]

_T = TypeVar("_T")
_Message = dict[str, Any]

# Seconds an app has to end once cancelled (past its timeout, or left running at ``close()``).
_GRACE = 1.0


@attrs.define
class _Lifespan:
    """The app's lifespan, running: its task and the two directions of its messages."""

    task: asyncio.Future[None]
    incoming: asyncio.Queue[_Message]
    outgoing: asyncio.Queue[_Message]


class AsgiSender:
    """``HttpRequest -> HttpResponse`` through an ASGI 3 app, on an event loop of its own (a
    thread), with the app's lifespan started on the first request and ended by ``close()``.

    An app that returns or raises on the lifespan scope has no lifespan (as the ASGI spec says);
    one that answers ``lifespan.startup.failed``, or does not answer within ``timeout``, has every
    request refused with the same ``RuntimeError``. A request with no answer within ``timeout``
    seconds is cancelled, and raises ``TimeoutError``."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, timeout: float = 60) -> None:
        self._app = app
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._started = False  # the lifespan's startup was sent (whatever came of it)
        self._lifespan: _Lifespan | None = None  # None: no lifespan running
        self._failure: str | None = None  # why the app did not start
        self._closed = False
        self._lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            if self._closed:
                raise RuntimeError("this sender is closed")
            if not self._started:
                self._started = True
                try:
                    self._run(self._start(), "lifespan.startup")
                except TimeoutError as error:
                    self._failure = str(error)
        if self._failure is not None:
            raise RuntimeError(f"the app failed to start: {self._failure}")
        return self._run(self._exchange(request), f"{request.method} {request.path}")

    def close(self) -> None:
        """End the app's lifespan, cancel what the app left running, and stop the loop (a second
        call does nothing)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            if self._lifespan is not None and self._failure is None:
                with contextlib.suppress(TimeoutError):  # the app's tasks are cancelled below
                    self._run(self._stop(), "lifespan.shutdown")
            ended = () if self._lifespan is None else (self._lifespan.task,)
            ending = asyncio.run_coroutine_threadsafe(_cancel_all(*ended), self._loop)
            concurrent.futures.wait([ending], 2 * _GRACE)  # _cancel_all waits _GRACE at most
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self._timeout)
            self._loop.close()

    def __enter__(self) -> AsgiSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, work: Coroutine[Any, Any, _T], what: str) -> _T:
        """``work`` run on the loop; past the timeout it is cancelled (the app's part with it),
        and ``TimeoutError`` names ``what``. An app that goes on once cancelled has ``_GRACE``
        seconds more; then it is left to ``close()``."""
        future = asyncio.run_coroutine_threadsafe(self._within_timeout(work, what), self._loop)
        done, _ = concurrent.futures.wait([future], self._timeout + _GRACE)
        if not done:
            future.cancel()
            raise TimeoutError(
                f"the app sent no answer to {what} within {self._timeout:g} s, and went on once"
                " cancelled"
            )
        return future.result()

    async def _within_timeout(self, work: Coroutine[Any, Any, _T], what: str) -> _T:
        deadline = asyncio.timeout(self._timeout)
        try:
            async with deadline:
                return await work
        except TimeoutError:
            if not deadline.expired():
                raise  # the app's own
            raise TimeoutError(
                f"the app sent no answer to {what} within {self._timeout:g} s (cancelled)"
            ) from None

    async def _start(self) -> None:
        incoming: asyncio.Queue[_Message] = asyncio.Queue()
        outgoing: asyncio.Queue[_Message] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        task: asyncio.Future[None] = asyncio.ensure_future(
            self._app(scope, incoming.get, outgoing.put)
        )
        lifespan = _Lifespan(task, incoming, outgoing)
        await incoming.put({"type": "lifespan.startup"})
        try:
            answer = await _next_message(lifespan)
        except asyncio.CancelledError:  # past the timeout
            task.cancel()
            raise
        if answer is None:
            return  # the app returned or raised: no lifespan
        self._lifespan = lifespan
        if answer["type"] == "lifespan.startup.failed":
            self._failure = answer.get("message") or "lifespan.startup.failed, with no message"
        elif answer["type"] != "lifespan.startup.complete":
            self._failure = f"{answer['type']!r} in answer to lifespan.startup"

    async def _stop(self) -> None:
        assert self._lifespan is not None
        task = self._lifespan.task
        if task.done():
            return
        await self._lifespan.incoming.put({"type": "lifespan.shutdown"})
        await _next_message(self._lifespan)
        await asyncio.wait({task}, timeout=_GRACE)  # the app returns after its answer

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
            # as http.client writes them (and uvicorn hands them on): names in ASCII, values in
            # ISO-8859-1, a value outside it an error (UnicodeEncodeError)
            "headers": [
                (name.lower().encode("ascii"), value.encode("latin-1"))
                for name, value in request.headers.items()
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        sent = False
        answered = asyncio.Event()  # the whole answer was sent: the client leaves
        parts: MutableMapping[str, Any] = {"status": None, "headers": [], "body": []}

        async def receive() -> _Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await answered.wait()  # the client stays until the answer is sent
            return {"type": "http.disconnect"}

        async def send(message: _Message) -> None:
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
            headers=join_headers(  # as http.client reads them: ISO-8859-1
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in parts["headers"]
            ),
            body=b"".join(parts["body"]),
        )


async def _next_message(lifespan: _Lifespan) -> _Message | None:
    """The app's next lifespan message, or ``None`` if the app ends first (returns or raises,
    its exception read: an app without lifespan)."""
    getting = asyncio.ensure_future(lifespan.outgoing.get())
    either: set[asyncio.Future[Any]] = {getting, lifespan.task}
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        getting.cancel()  # nothing if done; cancelled, it leaves a message in the queue
    if getting.done() and not getting.cancelled():
        return getting.result()
    if not lifespan.outgoing.empty():  # sent just before the app ended
        return lifespan.outgoing.get_nowait()
    if not lifespan.task.cancelled():
        lifespan.task.exception()  # read: not "never retrieved"
    return None


async def _cancel_all(*ended: asyncio.Future[None]) -> None:
    """Cancel every task of the loop but this one (the app's, left running), give them
    ``_GRACE`` seconds to end, and read their exceptions and those of the ``ended`` tasks (not
    "never retrieved")."""
    running = asyncio.all_tasks() - {asyncio.current_task()}
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running, timeout=_GRACE)
    for future in (*running, *ended):
        if future.done() and not future.cancelled():
            future.exception()


def asgi_sender(app: Callable[..., Awaitable[None]], *, timeout: float = 60) -> AsgiSender:
    """A sender for an ASGI 3 app, run in this process (``close()`` ends its lifespan); a
    request, or the lifespan's startup, with no answer within ``timeout`` seconds is cancelled."""
    return AsgiSender(app, timeout=timeout)


# A kept-alive connection the server closed: it ended without a word, or refused what was sent.
_CLOSED = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class HttpSender:
    """``HttpRequest -> HttpResponse`` over HTTP/1.1 to a running server, on one kept-alive
    connection (made again after the server closes it). A request the server dropped on the kept
    connection is sent again on a new one; one dropped on a new connection raises
    ``ConnectionError`` (it may have reached the server)."""

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
            while True:
                # a connection kept from an earlier exchange, which the server may have closed
                kept = self._connection is not None
                if self._connection is None:
                    self._connection = self._connect()
                try:
                    return self._exchange(request)
                except BaseException as error:
                    self.close()
                    if not isinstance(error, _CLOSED):
                        raise
                    if kept:
                        continue  # a connection the server had closed: once more on a new one
                    # a new connection: the request may have reached the server; not sent again
                    raise ConnectionError(
                        f"the server closed the connection without answering {request.method}"
                        f" {self._url(request.path)} (not sent again): {error}"
                    ) from error

    def _url(self, path: str) -> str:
        scheme = "https" if self._https else "http"
        port = "" if self._port is None else f":{self._port}"
        return f"{scheme}://{self._host}{port}{self._base}{path}"

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
