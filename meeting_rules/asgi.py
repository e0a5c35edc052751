"""``create_app``: the createOrGet exchange served as an ASGI 3 application.

The application is transport only: it turns an ASGI request into an ``HttpRequest``, walks
``meeting_rules.http.exchange`` on the event loop, making each store call that may wait (a write
and its fsync, a read that would wait for a lock, a call to another machine) on a worker thread
(and the whole exchange there for a body over ``LOOP_BODY_BYTES``), and sends back the
``HttpResponse``. The rules, the routes and every Graph error body are the exchange's; what this
module adds is what only a server has:

- ``GET /openapi.json``, the OpenAPI document of the routes (``meeting_rules.openapi``);
- reading the body: at most ``max_body_bytes + 1`` bytes are read (``handle`` answers 413 from
  them), and a body that has not arrived after ``BODY_SECONDS`` is a 408;
- a client that goes away before its body has arrived: nothing runs, nothing is answered;
- faults (``Fault``), by the number of the createOrGet POST the application has received;
- lifespan: a store given as a factory is opened at startup and closed at shutdown.

Every answer, a failure of the server itself included, is a Graph answer (``http.refuse``).
Importing this module needs nothing beyond the library; uvicorn (extra ``serve``) is one server
that runs it (``meeting-rules serve``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, MutableMapping
from typing import Any, Final
from urllib.parse import quote

import attrs

from .clocks import SystemClock
from .errors import (
    GraphError,
    InternalServerError,
    MethodNotAllowedError,
    RequestTimeoutError,
    ServiceUnavailableError,
    TooManyRequestsError,
    quoted,
)
from .graph_json import dumps_json
from .http import HttpRequest, HttpResponse, exchange, is_create_or_get, refuse
from .http_dates import http_date
from .ids import RandomIdFactory
from .openapi import openapi_document
from .ports import Clock, IdFactory, MeetingRepository, TokenDirectory, WouldWait
from .resolution import DEFAULT_SETTINGS
from .settings import TenantSettings
from .store_calls import GetMeeting, Steps, Walk, run_steps

__all__ = [
    "BODY_SECONDS",
    "FAULT_HEADER",
    "FAULT_KINDS",
    "LOOP_BODY_BYTES",
    "MAX_LATENCY_MS",
    "Fault",
    "create_app",
    "faults_from_json",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FAULT_KINDS: Final = ("throttle", "unavailable", "lost-response", "latency")
FAULT_HEADER: Final = "x-meeting-rules-fault"
MAX_LATENCY_MS: Final = 20_000
"""The longest ``latency`` a fault may add: 20 s, within ``meeting-rules serve``'s 30 s wait for
requests in flight at shutdown."""
MAX_RETRY_AFTER_SECONDS: Final = 3_600
LOOP_BODY_BYTES: Final = 65_536
"""The longest body whose exchange runs on the event loop (64 KiB: about 2 ms to read). A longer
one, up to the 4 MB limit, is read with its whole exchange on a worker thread, so that no request
holds the loop for long."""
BODY_SECONDS: Final = 30.0
"""How long a request's body may take to arrive, from the start of the request: then 408."""


def _non_negative_at_most(limit: int) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if type(value) is not int or not 0 <= value <= limit:
            raise ValueError(f"{attribute.name} must be an int in 0..{limit}, not {value!r}")

    return check


def _request_numbers(instance: Fault, attribute: attrs.Attribute[Any], value: Any) -> None:
    if any(type(n) is not int or n < 1 for n in value):
        raise ValueError(f"requests must be 1-based request numbers, not {value!r}")


def _numbers(value: Iterable[int]) -> tuple[int, ...]:
    # A converter typed for mypy: ``converter=tuple`` would leave ``Fault(requests=...)`` an
    # unsolved ``Iterable[_T_co]`` in users' strict type checks.
    return tuple(value)


def _kind(instance: Fault, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in FAULT_KINDS:
        raise ValueError(f"a fault's kind is one of {', '.join(FAULT_KINDS)}, not {value!r}")


@attrs.frozen
class Fault:
    """A fault the application injects into the createOrGet POSTs whose 1-based numbers are in
    ``requests`` (every one when empty), counted from the application's start, refused requests
    included.

    Kinds: ``throttle`` (429 ``TooManyRequests``, the store untouched), ``unavailable`` (503
    ``ServiceUnavailable``, the store untouched), ``lost-response`` (the exchange runs, then its
    answer is replaced by a 503, as when a response is lost after the commit) and ``latency``
    (the answer is delayed by ``latency_ms``). The 429 and 503s carry ``Retry-After:
    retry_after_seconds``; every answer a fault touched carries ``x-meeting-rules-fault``.
    """

    kind: str = attrs.field(validator=_kind)
    requests: tuple[int, ...] = attrs.field(
        default=(), converter=_numbers, kw_only=True, validator=_request_numbers
    )
    retry_after_seconds: int = attrs.field(
        default=1, kw_only=True, validator=_non_negative_at_most(MAX_RETRY_AFTER_SECONDS)
    )
    latency_ms: int = attrs.field(
        default=0, kw_only=True, validator=_non_negative_at_most(MAX_LATENCY_MS)
    )

    def applies_to(self, number: int) -> bool:
        """Whether this fault touches the createOrGet POST numbered ``number``."""
        return not self.requests or number in self.requests


_FAULT_MEMBERS = {
    "kind": "kind",
    "requests": "requests",
    "retryAfterSeconds": "retry_after_seconds",
    "latencyMs": "latency_ms",
}


def faults_from_json(value: object) -> tuple[Fault, ...]:
    """The faults of a ``--faults`` file's JSON: a list of ``{"kind", "requests",
    "retryAfterSeconds", "latencyMs"}`` (all but ``kind`` optional).

    Raises:
        ValueError: naming the JSON path of the first defect.
    """
    if not isinstance(value, list):
        raise ValueError("$: the faults are a JSON array")
    faults = []
    for index, item in enumerate(value):
        where = f"$[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: a fault is a JSON object")
        unknown = sorted(set(item) - set(_FAULT_MEMBERS))
        if unknown:
            raise ValueError(f"{where}.{unknown[0]}: not a member of a fault")
        if not isinstance(item.get("requests", []), list):
            raise ValueError(f"{where}.requests: a list of 1-based request numbers")
        try:
            faults.append(Fault(**{_FAULT_MEMBERS[name]: v for name, v in item.items()}))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: {error}") from None
    return tuple(faults)


def create_app(
    *,
    repository: MeetingRepository | Callable[[], MeetingRepository],
    directory: TokenDirectory,
    clock: Clock | None = None,
    ids: IdFactory | None = None,
    settings: TenantSettings | None = None,
    faults: Iterable[Fault] = (),
) -> Callable[[Scope, Receive, Send], Coroutine[Any, Any, None]]:
    """An ASGI 3 application serving createOrGet, the read-back and ``/openapi.json``.

    Args:
        repository: a store, or a function of no argument that opens one. A store given as such
            is the caller's: the application never closes it. A factory is called at lifespan
            startup (or at the first request, under a server that sends no lifespan events) and
            the store it returned is closed at lifespan shutdown.
        directory: who the bearer tokens are.
        clock, ids: ``SystemClock()`` and ``RandomIdFactory()`` when not given.
        settings: the tenant's settings (``max_body_bytes`` bounds the body read).
        faults: the faults to inject (``Fault``).
    """
    return _App(
        repository=repository,
        directory=directory,
        clock=clock if clock is not None else SystemClock(),
        ids=ids if ids is not None else RandomIdFactory(),
        settings=settings if settings is not None else DEFAULT_SETTINGS,
        faults=tuple(faults),
    )


class _BodyGone(Exception):
    """The client went away before its body had arrived."""


class _App:
    def __init__(
        self,
        *,
        repository: MeetingRepository | Callable[[], MeetingRepository],
        directory: TokenDirectory,
        clock: Clock,
        ids: IdFactory,
        settings: TenantSettings,
        faults: tuple[Fault, ...],
    ) -> None:
        given = hasattr(repository, "add_if_absent")
        self._store: MeetingRepository | None = repository if given else None  # type: ignore[assignment]
        self._factory: Callable[[], MeetingRepository] | None = (
            None if given else repository  # type: ignore[assignment]
        )
        self._owned: MeetingRepository | None = None
        self._opening = asyncio.Lock()
        self._directory = directory
        self._clock = clock
        self._ids = ids
        self._settings = settings
        self._faults = faults
        self._posts = 0  # createOrGet POSTs received; changed on the event loop only
        self._openapi: bytes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1003})

    # --- lifespan: a store made by a factory is the application's own ---------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            try:
                message = await receive()
            except asyncio.CancelledError:
                # Cancelled before a shutdown event (uvicorn's forced exit at a second Ctrl-C):
                # an owned store is closed here, since nothing can be awaited now, and a next
                # startup opens one of its own again.
                owned, self._owned = self._owned, None
                if owned is not None:
                    self._store = None
                    close = getattr(owned, "close", None)
                    if close is not None:
                        close()
                raise
            if message["type"] == "lifespan.startup":
                try:
                    await self._repository()
                except Exception as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                owned, self._owned = self._owned, None
                if owned is not None:
                    self._store = None  # a next startup opens a store of its own again
                close = getattr(owned, "close", None)
                try:
                    if close is not None:
                        await asyncio.to_thread(close)
                except Exception as error:
                    await send({"type": "lifespan.shutdown.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _repository(self) -> MeetingRepository:
        if self._store is not None:
            return self._store
        async with self._opening:
            if self._store is None:
                assert self._factory is not None
                self._owned = self._store = await asyncio.to_thread(self._factory)
        return self._store

    # --- one request ---------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = str(scope.get("method", ""))
        raw_path = scope.get("raw_path") or str(scope.get("path", "")).encode("utf-8")
        path = bytes(raw_path).decode("latin-1")
        query = bytes(scope.get("query_string", b""))
        if query:
            path = f"{path}?{query.decode('latin-1')}"
        request = HttpRequest(method=method, path=path, headers=_headers(scope.get("headers", ())))
        number = None
        if is_create_or_get(method, path):
            self._posts += 1
            number = self._posts
        faults = [f for f in self._faults if number is not None and f.applies_to(number)]
        started = False
        try:
            try:
                async with asyncio.timeout(BODY_SECONDS):  # no task of its own, unlike wait_for
                    body, whole = await _read_body(receive, self._settings.max_body_bytes + 1)
            except _BodyGone:
                return  # nobody to answer; nothing ran
            except TimeoutError:
                message = f"The request's body did not arrive within {BODY_SECONDS:g} seconds."
                response = self._refuse(request, RequestTimeoutError(message))
                acted: list[Fault] = []
                whole = False
            else:
                request = attrs.evolve(request, body=body)
                response, acted = await self._answer(request, faults)
            latency = sum(f.latency_ms for f in acted if f.kind == "latency")
            if latency:
                await asyncio.sleep(latency / 1000)
            head = _head(response, acted, close=not whole)
            started = True
            await send({"type": "http.response.start", "status": response.status, "headers": head})
            await send({"type": "http.response.body", "body": response.body})
        except asyncio.CancelledError:
            # The server is stopping and cannot wait longer for this request: a Graph answer,
            # not a traceback. (What the exchange stored is whole: the store's writes are atomic.)
            if not started:
                stopping = ServiceUnavailableError(
                    "The service is stopping; try again.", retry_after_seconds=1
                )
                response = self._refuse(request, stopping)
                head = _head(response, [], close=True)
                await send({"type": "http.response.start", "status": 503, "headers": head})
                await send({"type": "http.response.body", "body": response.body})

    async def _answer(
        self, request: HttpRequest, faults: list[Fault]
    ) -> tuple[HttpResponse, list[Fault]]:
        """The answer to a request whose body has arrived (a fault's, the document's or
        ``handle``'s) and the faults that acted on it. Never raises."""
        delays = [f for f in faults if f.kind == "latency"]
        deciding = next((f for f in faults if f.kind != "latency"), None)
        acted = delays + ([deciding] if deciding is not None else [])
        try:
            if deciding is not None and deciding.kind == "throttle":
                return self._refuse(request, _throttled(deciding)), acted
            if deciding is not None and deciding.kind == "unavailable":
                return self._refuse(request, _unavailable(deciding)), acted
            if request.path.partition("?")[0] in _DOCUMENT_PATHS:
                return self._document(request), []
            repository = await self._repository()
            steps = exchange(
                request,
                directory=self._directory,
                clock=self._clock,
                ids=self._ids,
                settings=self._settings,
            )
            if len(request.body) > LOOP_BODY_BYTES:  # reading it would hold the loop too long
                response = await asyncio.to_thread(run_steps, steps, repository)
            else:
                response = await _run_steps(steps, repository)
            if deciding is not None:  # lost-response
                lost = _unavailable(deciding)
                return self._refuse(request, lost, instead_of=response), acted
            return response, acted
        except GraphError as error:  # opening the store, say
            return self._refuse(request, error), acted
        except Exception as error:  # the server's own defect: still a Graph answer
            failure = InternalServerError(f"Unexpected failure: {quoted(type(error).__name__)}.")
            return self._refuse(request, failure), acted

    def _document(self, request: HttpRequest) -> HttpResponse:
        if request.method.upper() != "GET":
            refused = self._refuse(
                request, MethodNotAllowedError("The OpenAPI document is read with GET.")
            )
            return attrs.evolve(refused, headers={**refused.headers, "Allow": "GET"})
        if self._openapi is None:
            self._openapi = dumps_json(openapi_document())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Date": http_date(self._clock.now()),
        }
        return HttpResponse(status=200, headers=headers, body=self._openapi)

    def _refuse(
        self, request: HttpRequest, error: GraphError, *, instead_of: HttpResponse | None = None
    ) -> HttpResponse:
        return refuse(request, error, clock=self._clock, ids=self._ids, instead_of=instead_of)


async def _run_steps(steps: Steps[HttpResponse], repository: MeetingRepository) -> HttpResponse:
    """Drive an exchange on the event loop: a read the store can make without waiting
    (``get_now``) is made here; every other store call, which may wait (a write and its fsync, a
    lock, another machine), on a worker thread. Everything else of the exchange runs here, so a
    worker's time is the store's alone (a hop to a thread and back costs about what a whole get
    does)."""
    get_now = getattr(repository, "get_now", None)
    walk = Walk(steps)
    while (call := walk.call) is not None:
        try:
            if get_now is not None and type(call) is GetMeeting:
                try:
                    answer = get_now(call.key)
                except WouldWait:
                    answer = await asyncio.to_thread(call.run, repository)
            else:
                answer = await asyncio.to_thread(call.run, repository)
        except Exception as error:
            walk.fail(error)
        else:
            walk.send(answer)
    return walk.value


_VISIBLE = "".join(map(chr, range(0x20, 0x7F)))
_DOCUMENT_PATHS = frozenset({"/openapi.json", "/v1.0/openapi.json", "/beta/openapi.json"})


def _head(response: HttpResponse, acted: list[Fault], *, close: bool) -> list[tuple[bytes, bytes]]:
    """The answer's ASGI headers: its own, the faults that acted on it, its length, and
    ``connection: close`` when the body was not read to its end (a 413, a 408): the server then
    closes the connection instead of reading, or waiting for, the rest."""
    head = []
    for name, value in response.headers.items():
        # ``handle`` writes visible ASCII; should any value not be (text that came from a
        # caller), it is percent-encoded here, so that nothing can split or break a header.
        if not (value.isascii() and value.isprintable()):
            value = quote(value, safe=_VISIBLE)
        head.append((name.lower().encode("ascii"), value.encode("ascii")))
    if acted:
        kinds = ", ".join(dict.fromkeys(f.kind for f in acted))
        head.append((FAULT_HEADER.encode(), kinds.encode()))
    if close:
        head.append((b"connection", b"close"))
    head.append((b"content-length", str(len(response.body)).encode()))
    return head


def _throttled(fault: Fault) -> TooManyRequestsError:
    return TooManyRequestsError(
        "Too many requests: the service is throttling this caller (an injected fault).",
        retry_after_seconds=fault.retry_after_seconds,
    )


def _unavailable(fault: Fault) -> ServiceUnavailableError:
    what = "its answer was lost" if fault.kind == "lost-response" else "it is unavailable"
    return ServiceUnavailableError(
        f"The service cannot answer now: {what} (an injected fault).",
        retry_after_seconds=fault.retry_after_seconds,
    )


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> Mapping[str, str]:
    """ASGI's header pairs as ``HttpRequest``'s mapping: names in lower case, repeated headers
    joined by ``, `` (RFC 9110, 5.3); a value that is not UTF-8 is no text header, so it is left
    out (as ``handle`` treats a header that is not text)."""
    headers: dict[str, str] = {}
    for name, value in raw:
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            continue
        key = bytes(name).decode("latin-1").lower()
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body, or its first ``limit`` bytes when it is longer (the rest is never read), and
    whether it was read to its end."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _BodyGone
        chunk = bytes(message.get("body", b""))
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if size >= limit or not more:
            return b"".join(chunks)[:limit], not more
