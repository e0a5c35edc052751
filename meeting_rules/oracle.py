"""The oracle: judges createOrGet exchanges, one at a time, against the rules and against the
exchanges it has seen before.

An exchange is judged in the order a server would decide it, each step with the library's own
rules (``meeting_rules.http``'s route and callers' rights, ``parse_create_or_get``, the meeting
``build_meeting`` makes):

1. the route: a createOrGet route, or skipped (``Oracle.skip_reason``); another method: 405;
2. the answer's headers (R-HTTP-6) and, for an error, Graph's error body (R-JSON-5);
3. the refusals the rules give this request: a bad token (401, before anything else), the
   caller's rights (R-AUTH-*), ``Content-Type`` and the body (R-BODY-*, R-TIME-3..5). Where a
   request has more than one defect, an answer naming any of them is right: the rules set no order
   among them. ``429`` and ``503`` are always allowed: a service may throttle or fail for a while;
   the key's state is then unknown until its next answer;
4. a valid request: 201 with a new meeting whose members are those the rules give (compared
   member by member, ``oracle_bodies``), or 200 with the key's first meeting unchanged. One 201 per
   key; with ``assume_empty_store`` a 200 for a key never created is a finding.

Pure: no clock (times are judged against the answer's ``Date`` header), no I/O.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any

import attrs

from .enums import ApiVersion
from .errors import BadRequestError, GraphError, NotFoundError, UnauthorizedError
from .http import (
    DELEGATED_SCOPE,
    HttpRequest,
    HttpResponse,
    _caller,
    _check_content_type,
    _organizer,
    _route,
    _WrongMethod,
    instant_of_http_date,
)
from .instant import Instant
from .json_paths import GRAPH_NAMES
from .meeting import Organizer
from .oracle_bodies import Finding, decode, expect_created, expect_same, is_json, read_error
from .ports import DelegatedUser, TokenDirectory
from .request import CreateOrGetRequest
from .request_body import parse_create_or_get
from .settings import TenantSettings

__all__ = ["Oracle", "Violation"]

_ECHOABLE = re.compile(r"[\x21-\x7e]{1,200}")
_TRANSIENT = frozenset({429, 503})
_Key = tuple[str, str, str]


@attrs.frozen(kw_only=True)
class Violation:
    """One finding: the rule broken, what was seen, where, in which exchange.

    ``path`` is the JSON path of the member at fault (in the answer's body, or in the request's
    for a refusal that should have named it), or ``None``; ``exchange`` is the 0-based index of
    the exchange in the order checked.
    """

    rule: str
    message: str
    path: str | None = None
    exchange: int = 0

    def __str__(self) -> str:
        where = f" (at {self.path})" if self.path else ""
        return f"exchange {self.exchange}: {self.rule}: {self.message}{where}"


@attrs.frozen
class _Refusal:
    """An error answer the rules give: status, Graph's code (``None``: any), target, rule, and
    the start of the message where a rule fixes its text."""

    status: int
    codes: frozenset[str] | None
    target: str | None
    rule: str
    message: str
    fixed_text: str | None = None
    target_required: bool = False


@attrs.define
class _Known:
    """A key's first meeting: its answer's body and version, and the exchange that gave it."""

    body: Mapping[str, Any]
    version: ApiVersion
    exchange: int
    created: bool


class Oracle:
    """Judges createOrGet exchanges (``check``) in the order they happened.

    Args:
        directory: the callers the implementation knows; without it the callers' rights are not
            judged and the organizer of a ``/me`` call is taken from the answer.
        settings: the ``TenantSettings`` the implementation runs with (the defaults: Graph's).
        clock_tolerance_seconds: how far a time that defaults to "now" may be from the answer's
            ``Date`` header.
        assume_empty_store: the traffic starts from an empty store, so a 200 for a key never
            created is a finding.
    """

    def __init__(
        self,
        *,
        directory: TokenDirectory | None = None,
        settings: TenantSettings | None = None,
        clock_tolerance_seconds: float = 300,
        assume_empty_store: bool = True,
    ) -> None:
        self._directory = directory
        self._settings = settings if settings is not None else TenantSettings()
        self._tolerance = _dt.timedelta(seconds=clock_tolerance_seconds)
        self._assume_empty = assume_empty_store
        self._next = 0
        self._known: dict[_Key, _Known] = {}
        self._unsure: set[_Key] = set()  # an answer may have stored a meeting we have not seen
        self._failed: dict[_Key, int] = {}  # keys of refused exchanges, with the first's index

    @staticmethod
    def skip_reason(request: HttpRequest) -> str | None:
        """Why an exchange is not judged (not a createOrGet route), or ``None``."""
        try:
            route = _route(request)
        except _WrongMethod:
            return None
        except NotFoundError:
            return f"not a createOrGet route: {request.method} {request.path[:200]}"
        if route.meeting_id is not None:
            return "a read-back of a meeting by its id, which the oracle does not judge"
        return None

    def check(
        self, request: HttpRequest, response: HttpResponse, *, exchange: int | None = None
    ) -> tuple[Violation, ...]:
        """The violations of one exchange; an exchange that is not judged has none.

        ``exchange``: the index to name in the violations (default: the number checked so far).
        """
        index = self._next if exchange is None else exchange
        self._next = index + 1
        if self.skip_reason(request) is not None:
            return ()
        findings = self._judge(request, response, index)
        return tuple(
            Violation(rule=rule, message=message, path=path, exchange=index)
            for rule, message, path in findings
        )

    # --- the steps ------------------------------------------------------------------------------

    def _judge(self, request: HttpRequest, response: HttpResponse, index: int) -> list[Finding]:
        findings = _headers(request, response)
        body = decode(response.body)
        error = None
        if response.status >= 400:
            error, shape = read_error(
                body, response.header("request-id"), response.header("client-request-id")
            )
            findings += shape
        try:
            route = _route(request)
        except _WrongMethod as wrong:
            refusals = [_Refusal(405, None, None, "R-HTTP-3", wrong.message)]
            findings += _judge_refusal(refusals, response, error, transient=False)
            return findings
        refusals, organizer, parsed = self._refusals(request, route.version, route.user_id)
        if organizer is None:  # the callers' rights are not judged: the answer's organizer
            organizer = _answer_organizer(body, route.user_id)
        key = _key(parsed, organizer)
        status = response.status
        if status in _TRANSIENT:
            if key is not None and key not in self._known:
                self._unsure.add(key)
            return findings
        if refusals:
            findings += _judge_refusal(refusals, response, error, transient=False)
            if key is not None:
                if 200 <= status < 300:
                    self._unsure.add(key)  # a success that should not be: it may have stored
                else:
                    self._failed.setdefault(key, index)
            return findings
        if status >= 400:
            findings += self._refused_valid(request, response, error, route.user_id)
            return findings
        assert parsed is not None
        if status not in (200, 201) or not isinstance(body, Mapping):
            what = "a meeting" if isinstance(body, Mapping) else "not a meeting's JSON"
            findings.append(
                ("R-RES-2", f"A valid request was answered {status} with {what}; the rules "
                 "give 201 with a new meeting or 200 with the key's meeting.", None)
            )
            return findings
        if key is None or organizer is None:
            findings.append(("R-MEET-2", "The answer names no organizer (participants."
                             "organizer.identity.user).", "participants.organizer"))
            return findings
        findings += self._judge_meeting(request, response, body, parsed, organizer, key, index)
        return findings

    def _refusals(
        self, request: HttpRequest, version: ApiVersion, user_id: str | None
    ) -> tuple[list[_Refusal], Organizer | None, CreateOrGetRequest | None]:
        """The error answers the rules give this request, the organizer (with a directory), and
        the request as read (if its body is valid)."""
        refusals: list[_Refusal] = []
        organizer = None
        if self._directory is not None:
            try:
                caller = _caller(request, self._directory)
            except UnauthorizedError as error:
                fixed = error.message if request.header("Authorization") is None else None
                return [_refusal(error, "R-HTTP-4", fixed)], None, None
            try:
                organizer = _organizer(_route(request), caller, self._directory)
            except GraphError as error:
                refusals.append(_rights_refusal(error, caller))
        try:
            _check_content_type(request)
        except GraphError as error:
            refusals.append(_refusal(error, "R-HTTP-5", "Unable to read JSON request payload"))
            return refusals, organizer, None
        try:
            parsed = parse_create_or_get(
                request.body,
                version=version,
                strict=self._settings.strict_members,
                max_body_bytes=self._settings.max_body_bytes,
            )
        except GraphError as error:
            refusals.append(_body_refusal(error, request.body))
            return refusals, organizer, None
        return refusals, organizer, parsed

    def _refused_valid(
        self,
        request: HttpRequest,
        response: HttpResponse,
        error: Any,
        user_id: str | None,
    ) -> list[Finding]:
        """A valid request refused: a finding, unless the callers' rights are not judged and the
        refusal is one of theirs."""
        status = response.status
        code = getattr(error, "code", None)
        message = getattr(error, "message", None) or ""
        if self._directory is None and (
            status in (401, 403)
            or (status == 404 and user_id is not None)
            or (status == 400 and user_id is None and message.startswith("/me request"))
        ):
            return []
        target = getattr(error, "target", None)
        rule = {401: "R-HTTP-4", 403: "R-AUTH-1", 404: "R-HTTP-2", 422: "R-RES-3"}.get(status)
        if status == 422 and self._settings.strict_mismatch:
            return []
        if rule is None:
            rule = _rule_of_target(target) if target else "R-RES-2"
        return [
            (rule, f"A valid request was refused: {status} {code or ''} "
             f"{message[:200]!r}".rstrip(), target)
        ]

    def _judge_meeting(
        self,
        request: HttpRequest,
        response: HttpResponse,
        body: Mapping[str, Any],
        parsed: CreateOrGetRequest,
        organizer: Organizer,
        key: _Key,
        index: int,
    ) -> list[Finding]:
        findings: list[Finding] = []
        known = self._known.get(key)
        unsure = key in self._unsure
        self._unsure.discard(key)
        date = instant_of_http_date(response.header("Date"))
        prefer = (request.header("Prefer") or "").lower()
        include = "include-unknown-enum-members" in prefer
        if response.status == 201:
            if known is not None:
                findings.append(
                    ("R-RES-3", f"A second 201 for externalId {parsed.external_id!r} of this "
                     f"organizer: exchange {known.exchange} made its meeting; the rules give 200 "
                     "with that meeting.", None)
                )
                return findings
            findings += expect_created(
                body, parsed, organizer, date=None if date == Instant.MIN else date,
                tolerance=self._tolerance, settings=self._settings,
                include_unknown_enum_members=include,
            )
            self._known[key] = _Known(body, parsed.version, index, True)
            return findings
        if known is not None:
            return expect_same(known.body, known.version, body, parsed.version, organizer.user_id)
        if self._assume_empty and not unsure:
            failed = self._failed.get(key)
            if failed is not None:
                findings.append(
                    ("R-RES-5", f"A 200 for externalId {parsed.external_id!r}, which no 201 made: "
                     f"the refused exchange {failed} stored it.", None)
                )
            else:
                findings.append(
                    ("R-RES-2", f"A 200 for externalId {parsed.external_id!r}, which no earlier "
                     "exchange created; the rules give 201 with a new meeting.", None)
                )
        self._known[key] = _Known(body, parsed.version, index, False)
        return findings


def _key(parsed: CreateOrGetRequest | None, organizer: Organizer | None) -> _Key | None:
    """R-RES-1: (tenant, organizer, externalId)."""
    if parsed is None or organizer is None:
        return None
    return (organizer.tenant_id, organizer.user_id.lower(), parsed.external_id)


# --- refusals ---------------------------------------------------------------------------------


def _refusal(error: GraphError, rule: str, fixed_text: str | None = None) -> _Refusal:
    codes = frozenset({error.code}) if error.status in (400, 401, 403) else None
    return _Refusal(error.status, codes, error.target, rule, error.message, fixed_text)


def _rights_refusal(error: GraphError, caller: object) -> _Refusal:
    """The rule of a refusal of the caller's rights, from the caller and the status."""
    if isinstance(caller, DelegatedUser):
        if error.code == "AuthenticationError":
            return _refusal(error, "R-AUTH-2", "Error authenticating with resource")
        rule = "R-AUTH-1" if DELEGATED_SCOPE not in caller.scopes else "R-AUTH-5"
        return _refusal(error, rule)
    if isinstance(error, BadRequestError):
        return _refusal(error, "R-AUTH-4", error.message)
    if isinstance(error, NotFoundError):
        return _refusal(error, "R-HTTP-2")
    policy = error.message.startswith("No application access policy")
    refusal = _refusal(error, "R-AUTH-3", error.message.split(" App:")[0] if policy else None)
    # a 2025 transcript shows code General for the same refusal (rules.md, R-AUTH-3)
    return attrs.evolve(refusal, codes=frozenset({"Forbidden", "General"}))


_TIMES = ("startDateTime", "endDateTime")


def _body_refusal(error: GraphError, raw: bytes) -> _Refusal:
    """The rule of a body the rules refuse, from the defect's place and the body's values."""
    document = decode(raw)
    target = error.target
    fixed = None
    if error.status == 413 or target is None:
        rule = "R-BODY-6"
        if not raw.strip():
            fixed = "Empty Payload. JSON content expected."
        elif not is_json(document):
            fixed = "Unable to read JSON request payload"
    elif target == "externalId":
        value = document.get("externalId") if isinstance(document, Mapping) else None
        missing = value is None or value == ""
        rule = "R-BODY-2" if missing else "R-BODY-6"
        if isinstance(document, Mapping) and "externalId" not in document:
            fixed = error.message
    elif target in _TIMES and isinstance(document, Mapping):
        rule = _time_rule(target, document)
    else:
        rule = _rule_of_target(target)
    required = rule in ("R-TIME-3", "R-TIME-4")
    return attrs.evolve(_refusal(error, rule, fixed), target_required=required)


def _time_rule(target: str, document: Mapping[str, Any]) -> str:
    value = document.get(target)
    if not isinstance(value, str):
        return "R-BODY-6"
    start = document.get("startDateTime")
    if target == "endDateTime" and start is None:
        return "R-TIME-3"
    try:
        if target == "endDateTime":
            Instant.parse(value)
            Instant.parse(start if isinstance(start, str) else "")
            return "R-TIME-4"
        Instant.parse(value)
        return "R-TIME-2"  # a valid start whose default end is beyond 9999
    except GraphError:
        return "R-TIME-5"


def _rule_of_target(target: str | None) -> str:
    last = re.split(r"[.\[]", target or "")[-1].rstrip("]")
    if last in _TIMES or last.endswith("DateTime"):
        return "R-TIME-5"
    if last == "role":
        return "R-BODY-7"
    if last == "externalId":
        return "R-BODY-2"
    if last and last not in GRAPH_NAMES:
        return "R-BODY-3"
    return "R-BODY-6"


def _judge_refusal(
    refusals: list[_Refusal], response: HttpResponse, error: Any, *, transient: bool
) -> list[Finding]:
    """An answer to a request the rules refuse: one of the refusals, with Graph's code, the
    target where one is given (or where the rule names it) and a rule's fixed text."""
    status = response.status
    first = refusals[0]
    if 200 <= status < 300:
        return [
            (first.rule, f"Answered {status}, but the rules refuse this request: {first.status} "
             f"{first.message}", first.target)
        ]
    if status in _TRANSIENT:
        return []
    matching = [r for r in refusals if r.status == status]
    if not matching:
        wanted = " or ".join(sorted({str(r.status) for r in refusals}))
        return [
            (first.rule, f"Answered {status}; the rules give {wanted}: {first.message}",
             first.target)
        ]
    code = getattr(error, "code", None)
    target = getattr(error, "target", None)
    message = getattr(error, "message", None) or ""
    findings: list[Finding] = []
    for refusal in matching:
        findings = []
        if refusal.codes is not None and code is not None and code not in refusal.codes:
            findings.append(
                (refusal.rule, f"error.code is {code!r}; the rules give "
                 f"{' or '.join(sorted(refusal.codes))}.", "error.code")
            )
        if (target is not None or refusal.target_required) and target != refusal.target:
            findings.append(
                (refusal.rule, f"error.target is {target!r}; the defect is at "
                 f"{refusal.target!r}.", "error.target")
            )
        if refusal.fixed_text is not None and not message.startswith(refusal.fixed_text):
            findings.append(
                (refusal.rule, f"error.message is {message[:200]!r}; the rules give "
                 f"{refusal.fixed_text!r}.", "error.message")
            )
        if not findings:
            return []
    return findings


# --- headers and organizers -----------------------------------------------------------------


def _headers(request: HttpRequest, response: HttpResponse) -> list[Finding]:
    """R-HTTP-6: ``request-id``; ``client-request-id`` echoes the caller's, else is the
    ``request-id``; a JSON body's ``Content-Type``."""
    findings: list[Finding] = []
    request_id = response.header("request-id")
    if not request_id:
        findings.append(("R-HTTP-6", "The answer has no request-id header.", None))
    sent = request.header("client-request-id")
    echoed = response.header("client-request-id")
    wanted = sent if isinstance(sent, str) and _ECHOABLE.fullmatch(sent) else request_id
    if wanted and echoed != wanted:
        findings.append(
            ("R-HTTP-6", f"client-request-id is {echoed!r}; the rules give {wanted!r} "
             f"({'the caller' if wanted == sent else 'the request-id'}'s).", None)
        )
    content_type = (response.header("Content-Type") or "").strip().lower()
    if response.body and not content_type.startswith("application/json"):
        findings.append(
            ("R-HTTP-6", f"Content-Type is {content_type[:100]!r}, not application/json.", None)
        )
    return findings


def _answer_organizer(body: object, user_id: str | None) -> Organizer | None:
    """The organizer an answer names (``participants.organizer``), with the path's user."""
    if not isinstance(body, Mapping):
        return None
    participants = body.get("participants")
    organizer = participants.get("organizer") if isinstance(participants, Mapping) else None
    identity = organizer.get("identity") if isinstance(organizer, Mapping) else None
    user = identity.get("user") if isinstance(identity, Mapping) else None
    if not isinstance(user, Mapping):
        return None
    found, tenant = user.get("id"), user.get("tenantId")
    upn = organizer.get("upn") if isinstance(organizer, Mapping) else None
    if not isinstance(tenant, str):
        return None
    if user_id is None:
        if not isinstance(found, str):
            return None
        user_id = found
    return Organizer(tenant_id=tenant, user_id=user_id, upn=upn if isinstance(upn, str) else None)
