"""One whole createOrGet exchange as data: ``handle(HttpRequest) -> HttpResponse`` (R-HTTP-*,
R-AUTH-*), and the read-back of a stored meeting by its ``id``.

Sans-I/O: bytes and headers in, bytes and headers out; the caller does the networking. The walk,
``exchange``, yields its store calls (``store_calls``): ``handle`` makes them in its own thread,
the ASGI application on threads of its choosing. This is the one place a ``GraphError`` becomes a
response. The checks run in this order, each answering with the first failure: route and method
(404, 405), bearer token (401), the caller's right to the route (R-AUTH-*: 400, 403, 404), then
for createOrGet ``Content-Type`` (400), the body (400) and create-or-get; for a read-back, the
stored meeting (200) or 404.

The routes, each under ``/v1.0`` and ``/beta``:

- ``POST /me/onlineMeetings/createOrGet``, ``POST /users/{userId}/onlineMeetings/createOrGet``;
- ``GET /me/onlineMeetings/{meetingId}``, ``GET /users/{userId}/onlineMeetings/{meetingId}``:
  the same callers' rules, with the reading permissions Graph's GET also accepts
  (``OnlineMeetings.Read``, ``OnlineMeetings.Read.All``).

Each step is a function of its own (``read_route``, ``read_caller``, ``organizer_for``,
``check_content_type``, ``meeting_body``): the oracle (``meeting_rules.oracle``) judges other
implementations' answers with these same steps. The module holds the exchange only. The callers
(``DelegatedUser``, ``Application``) and the ``TokenDirectory`` port live in ``ports``,
``InMemoryDirectory`` in ``directory``; all are exported from here as well, where users have
always found them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote

import attrs

from .directory import InMemoryDirectory
from .enums import ApiVersion
from .errors import (
    BadRequestError,
    ForbiddenError,
    GraphError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    RetryLaterError,
    UnauthorizedError,
    quoted,
)
from .graph_json import dumps_json, error_to_json, meeting_to_json, parse_create_or_get
from .http_dates import http_date, instant_of_http_date
from .instant import Instant
from .json_text import UNREADABLE
from .meeting import GUID, OnlineMeeting, Organizer
from .ports import Application, Clock, DelegatedUser, IdFactory, MeetingRepository, TokenDirectory
from .resolution import DEFAULT_SETTINGS, create_or_get_steps
from .settings import TenantSettings
from .store_calls import FindMeetingById, Steps, ask, run_steps

__all__ = [
    "APPLICATION_ROLE",
    "DELEGATED_SCOPE",
    "GRAPH_ROOT",
    "Application",
    "DelegatedUser",
    "HttpRequest",
    "HttpResponse",
    "InMemoryDirectory",
    "TokenDirectory",
    "exchange",
    "handle",
    "is_create_or_get",
    "refuse",
]

GRAPH_ROOT = "https://graph.microsoft.com"
DELEGATED_SCOPE = "OnlineMeetings.ReadWrite"
APPLICATION_ROLE = "OnlineMeetings.ReadWrite.All"
_READ_SCOPES = frozenset({DELEGATED_SCOPE, "OnlineMeetings.Read"})
_READ_ROLES = frozenset({APPLICATION_ROLE, "OnlineMeetings.Read.All"})
_JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)
# Names on the wire are ASCII: case is folded in ASCII only, so that no look-alike (U+017F LATIN
# SMALL LETTER LONG S for "s", U+212A KELVIN SIGN for "k") passes for a letter of a route or method.
_ASCII_ANY_CASE = re.ASCII | re.IGNORECASE
_CREATE_OR_GET = re.compile(
    r"/(v1\.0|beta)(?:/me|/users/([^/]+))/onlinemeetings/createorget", _ASCII_ANY_CASE
)
_MEETING = re.compile(
    r"/(v1\.0|beta)(?:/me|/users/([^/]+))/onlinemeetings/([!-.0-~]+)", _ASCII_ANY_CASE
)


_BEARER = re.compile(r"Bearer +([\x21-\x7e]+) *", _ASCII_ANY_CASE)
_JSON_MEDIA_TYPE = re.compile(r"[ \t]*application/json[ \t]*(?:;.*)?", _ASCII_ANY_CASE | re.DOTALL)
# An ID is echoed into headers and bodies only if it is short visible ASCII (no header injection).
_ECHOABLE = re.compile(r"[\x21-\x7e]{1,200}")
_NO_REQUEST_ID = "00000000-0000-0000-0000-000000000000"


# --- the exchange as data -----------------------------------------------------------------------


def _headers(value: Mapping[str, str]) -> Mapping[str, str]:
    return {name.lower(): text for name, text in value.items()}


@attrs.frozen(kw_only=True)
class HttpRequest:
    """A request: method, path with its ``/v1.0`` or ``/beta`` prefix, headers, body bytes.

    Header names are case-insensitive: they are kept in lower case.
    """

    method: str
    path: str
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or ``None``."""
        return self.headers.get(name.lower())


@attrs.frozen(kw_only=True)
class HttpResponse:
    """A response: status, headers (Graph's names) and body bytes (a meeting or a Graph error)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or ``None``."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


# --- the rules of the exchange ------------------------------------------------------------------


@attrs.frozen
class Route:
    version: ApiVersion
    user_id: str | None  # None: /me
    meeting_id: str | None  # None: createOrGet; else the read-back of this meeting

    @property
    def method(self) -> str:
        return "POST" if self.meeting_id is None else "GET"


def read_route(request: HttpRequest) -> Route:
    """R-HTTP-1..3: the createOrGet routes (POST) and the read-back (GET) under /v1.0 and /beta."""
    path = request.path.partition("?")[0] if isinstance(request.path, str) else ""
    found = _CREATE_OR_GET.fullmatch(path)
    meeting = None if found is not None else _MEETING.fullmatch(path)
    if found is None and meeting is None:
        raise NotFoundError(f"Resource not found for the segment in '{quoted(path, 200)}'.")
    if found is not None:
        version, user_id = found.groups()
        route = Route(ApiVersion(version), _unquoted(user_id), None)
    else:
        assert meeting is not None
        version, user_id, meeting_id = meeting.groups()
        route = Route(ApiVersion(version), _unquoted(user_id), unquote(meeting_id))
    method = request.method if isinstance(request.method, str) else ""
    if not (method.isascii() and method.upper() == route.method):
        what = "createOrGet" if route.meeting_id is None else "an online meeting"
        raise WrongMethod(
            f"The HTTP method '{quoted(method, 20)}' is not allowed for {what}; "
            f"use {route.method}.",
            allow=route.method,
        )
    return route


class WrongMethod(MethodNotAllowedError):
    """A 405 that knows the one method its route allows (the ``Allow`` header)."""

    __slots__ = ("allow",)

    def __init__(
        self, message: str, *, code: str | None = None, target: str | None = None, allow: str
    ) -> None:
        super().__init__(message, code=code, target=target)
        self.allow = allow

    def __reduce__(self) -> tuple[Any, ...]:
        return (_wrong_method, (self.message, self.allow))


def _wrong_method(message: str, allow: str) -> WrongMethod:
    return WrongMethod(message, allow=allow)


def is_create_or_get(method: str, path: str) -> bool:
    """Whether a request of this method and path (query allowed) is a createOrGet POST: what a
    server counts when it numbers createOrGet requests (``meeting_rules.asgi.Fault``)."""
    return (
        method.isascii()
        and method.upper() == "POST"
        and _CREATE_OR_GET.fullmatch(path.partition("?")[0]) is not None
    )


def _unquoted(segment: str | None) -> str | None:
    return None if segment is None else unquote(segment)


def read_caller(request: HttpRequest, directory: TokenDirectory) -> DelegatedUser | Application:
    """R-HTTP-4: a known bearer token."""
    authorization = _text(request, "Authorization")
    if not authorization:
        raise UnauthorizedError("Access token is empty.")
    bearer = _BEARER.fullmatch(authorization)
    if bearer is None:
        raise UnauthorizedError("Access token is missing or not a bearer token.")
    caller = directory.caller(bearer.group(1))
    if caller is None:
        raise UnauthorizedError("Access token validation failure. Invalid audience.")
    return caller


def organizer_for(
    route: Route, caller: DelegatedUser | Application, directory: TokenDirectory
) -> Organizer:
    """R-AUTH-1..5, R-HTTP-1, R-HTTP-2: may this caller use this route, and for whom. A read-back
    also accepts the reading permissions."""
    reading = route.meeting_id is not None
    if isinstance(caller, DelegatedUser):
        if caller.personal:
            raise ForbiddenError(
                "Error authenticating with resource", code="AuthenticationError"
            )  # R-AUTH-2
        if DELEGATED_SCOPE not in caller.scopes and not (reading and caller.scopes & _READ_SCOPES):
            raise ForbiddenError(
                f"The token lacks the delegated permission {DELEGATED_SCOPE}."
            )  # R-AUTH-1
        if route.user_id is not None and route.user_id.lower() != caller.user_id.lower():
            raise ForbiddenError(
                "A delegated token may create or get meetings for the signed-in user only."
            )  # R-AUTH-5
        return Organizer(tenant_id=caller.tenant_id, user_id=caller.user_id, upn=caller.upn)
    if route.user_id is None:
        raise BadRequestError(
            "/me request is only valid with delegated authentication flow."
        )  # R-AUTH-4
    if APPLICATION_ROLE not in caller.roles and not (reading and caller.roles & _READ_ROLES):
        raise ForbiddenError(f"The token lacks the application permission {APPLICATION_ROLE}.")
    user = (
        directory.user(caller.tenant_id, route.user_id) if GUID.fullmatch(route.user_id) else None
    )
    if user is None:  # R-HTTP-2: a UPN, or an unknown object ID
        raise NotFoundError(f"User '{quoted(route.user_id, 200)}' was not found in the tenant.")
    if user.user_id.lower() not in caller.policy_users:  # R-AUTH-3
        raise ForbiddenError(
            f"No application access policy found for this app. App: {caller.app_id}, "
            f"user: {user.user_id}."
        )
    return user


def check_content_type(request: HttpRequest) -> None:
    """R-HTTP-5: ``application/json``, parameters allowed; Graph answers 400, not 415."""
    content_type = _text(request, "Content-Type") or ""
    if not _JSON_MEDIA_TYPE.fullmatch(content_type):
        raise BadRequestError(UNREADABLE)


def _base_headers(request_id: str, client_request_id: str, now: Instant) -> dict[str, str]:
    """R-HTTP-6: the headers of every answer."""
    return {
        "Content-Type": _JSON_TYPE,
        "request-id": request_id,
        "client-request-id": client_request_id,
        "Date": http_date(now),
    }


def handle(
    request: HttpRequest,
    *,
    directory: TokenDirectory,
    repository: MeetingRepository,
    clock: Clock,
    ids: IdFactory,
    settings: TenantSettings = DEFAULT_SETTINGS,
) -> HttpResponse:
    """Answer one createOrGet request: 201 or 200 with the meeting, or a Graph error body.

    The walk is ``exchange``'s, its store calls made here, in this thread. Never raises: every
    failure, expected or not, is a Graph error response (R-HTTP-6, R-JSON-5).
    """
    steps = exchange(request, directory=directory, clock=clock, ids=ids, settings=settings)
    return run_steps(steps, repository)


def exchange(
    request: HttpRequest,
    *,
    directory: TokenDirectory,
    clock: Clock,
    ids: IdFactory,
    settings: TenantSettings = DEFAULT_SETTINGS,
) -> Steps[HttpResponse]:
    """``handle``'s walk, yielding its store calls (``store_calls``) to whoever drives it.

    The one clock read and the answer's identifiers; the caller's rights and the route; for a
    read-back, the meeting by its id; else the body, then ``create_or_get_steps``; the answer.
    """
    now, request_id, client_request_id = _answer_ids(request, clock, ids)
    date = now if isinstance(now, Instant) else Instant.MIN
    headers = _base_headers(request_id, client_request_id, date)
    try:
        if not isinstance(now, Instant) or request_id == _NO_REQUEST_ID:
            raise InternalServerError("The service's clock or identifiers failed.")
        include = prefers_unknown_enum_members(request)
        route = read_route(request)
        organizer = organizer_for(route, read_caller(request, directory), directory)
        if route.meeting_id is not None:
            found = yield from ask(
                FindMeetingById(
                    tenant_id=organizer.tenant_id,
                    organizer_id=organizer.user_id,
                    meeting_id=route.meeting_id,
                )
            )
            if found is None:
                raise NotFoundError(
                    f"The online meeting '{quoted(route.meeting_id, 200)}' was not found."
                )
            body = _meeting_body(found, route, organizer, include)
            return HttpResponse(status=200, headers=headers, body=dumps_json(body))
        check_content_type(request)
        parsed = parse_create_or_get(
            request.body,
            version=route.version,
            strict=settings.strict_members,
            max_body_bytes=settings.max_body_bytes,
        )
        outcome = yield from create_or_get_steps(
            parsed,  # read with the route's version: the meeting is made in its spellings
            organizer=organizer,
            ids=ids,
            settings=settings,
            now=now,  # the clock was read once, above: the Date header and the meeting agree
        )
        body = _meeting_body(outcome.meeting, route, organizer, include)
        if outcome.created:  # the IDs percent-encoded: a header holds visible ASCII only
            headers["Location"] = (
                f"{GRAPH_ROOT}/{route.version.value}/users('{_url_text(organizer.user_id)}')"
                f"/onlineMeetings('{_url_text(outcome.meeting.id)}')"
            )
        return HttpResponse(status=outcome.status, headers=headers, body=dumps_json(body))
    except GraphError as error:
        return _error_response(error, headers, request_id, client_request_id, date)
    except Exception as error:  # a defect: still a Graph answer, never a traceback
        failure = InternalServerError(f"Unexpected failure: {quoted(type(error).__name__)}.")
        return _error_response(failure, headers, request_id, client_request_id, date)


def refuse(
    request: HttpRequest,
    error: GraphError,
    *,
    clock: Clock,
    ids: IdFactory,
    instead_of: HttpResponse | None = None,
) -> HttpResponse:
    """The Graph error answer to ``request`` for a refusal made outside the exchange: a server's
    own (throttled, unavailable, a body too slow to arrive, a failure of the server itself).

    With ``instead_of``, the answer replaces that one (a lost response): it keeps its
    ``request-id``, ``client-request-id`` and ``Date``, and the clock is not read again.
    """
    if instead_of is not None:
        request_id = instead_of.header("request-id") or _NO_REQUEST_ID
        client_request_id = instead_of.header("client-request-id") or request_id
        date = instant_of_http_date(instead_of.header("Date"))
    else:
        now, request_id, client_request_id = _answer_ids(request, clock, ids)
        date = now if isinstance(now, Instant) else Instant.MIN
    headers = _base_headers(request_id, client_request_id, date)
    return _error_response(error, headers, request_id, client_request_id, date)


def _answer_ids(request: HttpRequest, clock: Clock, ids: IdFactory) -> tuple[object, str, str]:
    """The one clock read of an exchange, its ``request-id`` and its ``client-request-id``
    (R-HTTP-6). A failing clock gives ``None``; failing identifiers, the all-zero ID."""
    now = _safely(clock.now)
    request_id = _safely(ids.guid)
    if not isinstance(request_id, str) or not _ECHOABLE.fullmatch(request_id):
        request_id = _NO_REQUEST_ID
    client_request_id = echoed_client_request_id(request, request_id)
    return now, request_id, client_request_id


def _meeting_body(
    meeting: OnlineMeeting, route: Route, organizer: Organizer, include: bool
) -> dict[str, object]:
    return meeting_body(
        meeting,
        version=route.version,
        organizer_id=organizer.user_id,
        include_unknown_enum_members=include,
    )


def meeting_body(
    meeting: OnlineMeeting,
    *,
    version: ApiVersion,
    organizer_id: str,
    include_unknown_enum_members: bool,
) -> dict[str, object]:
    """An answer's body: the meeting in ``version``, after its ``@odata.context`` (R-HTTP-6)."""
    return {
        "@odata.context": odata_context(version, organizer_id),
        **meeting_to_json(
            meeting,
            version=version,
            include_unknown_enum_members=include_unknown_enum_members,
        ),
    }


def odata_context(version: ApiVersion, organizer_id: str) -> str:
    """The ``@odata.context`` of a meeting answer (R-HTTP-6)."""
    return f"{GRAPH_ROOT}/{version.value}/$metadata#users('{organizer_id}')/onlineMeetings/$entity"


def prefers_unknown_enum_members(request: HttpRequest) -> bool:
    """R-JSON-3: the caller sent ``Prefer: include-unknown-enum-members``."""
    return "include-unknown-enum-members" in (_text(request, "Prefer") or "").lower()


def echoed_client_request_id(request: HttpRequest, request_id: str) -> str:
    """R-HTTP-6: the ``client-request-id`` of the answer: the caller's, if it is short visible
    ASCII (no header injection), else the ``request-id``."""
    echoed = _text(request, "client-request-id")
    return echoed if echoed and _ECHOABLE.fullmatch(echoed) else request_id


def join_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as one value a name: a name that repeats (in any case) is joined with ``", "``,
    as HTTP allows, under its first spelling."""
    joined: dict[str, tuple[str, list[str]]] = {}
    for name, text in pairs:
        found = joined.get(name.lower())
        if found is None:
            joined[name.lower()] = (name, [text])
        else:
            found[1].append(text)  # joined once at the end: time linear in the repeats
    return {name: ", ".join(texts) for name, texts in joined.values()}


def _url_text(text: str | None) -> str:
    """``text`` as it may stand in a URL in a header: percent-encoded but for the characters
    Graph's own IDs and UPNs are made of (GUIDs, base64, ``@`` and ``.``)."""
    return quote(text or "", safe="@.-_=+")


def _safely(call: Callable[[], object]) -> object:
    """A port's answer, or ``None`` when the port fails (``handle`` still answers)."""
    try:
        return call()
    except Exception:
        return None


def _text(request: HttpRequest, name: str) -> str | None:
    """A header's value if it is text (a bytes or other value counts as absent, as design.md
    says: headers are text, and a value that is not is no header a client meant to send)."""
    value = request.header(name)
    return value if isinstance(value, str) else None


def _error_response(
    error: GraphError,
    headers: dict[str, str],
    request_id: str,
    client_request_id: str,
    now: Instant,
) -> HttpResponse:
    if isinstance(error, WrongMethod):
        headers["Allow"] = error.allow
    elif isinstance(error, RetryLaterError) and error.retry_after_seconds is not None:
        headers["Retry-After"] = str(error.retry_after_seconds)
    body = error_to_json(
        error, request_id=request_id, client_request_id=client_request_id, date=now
    )
    return HttpResponse(status=error.status, headers=headers, body=dumps_json(body))
