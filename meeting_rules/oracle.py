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
from collections.abc import Mapping
from typing import Any

import attrs

from .enums import ApiVersion
from .errors import (
    GraphError,
    NotFoundError,
    UnauthorizedError,
    quoted,
)
from .http import (
    HttpRequest,
    HttpResponse,
    WrongMethod,
    check_content_type,
    prefers_unknown_enum_members,
    read_caller,
    read_route,
)
from .http_dates import instant_of_http_date
from .instant import Instant
from .meeting import Organizer
from .oracle_answers import (
    NO_TENANT,
    Key,
    answer_organizer,
    answer_text,
    decode_answer,
    expect_headers,
    key_of,
    raw_key_of,
    same_organizer,
    text_of,
)
from .oracle_bodies import Finding, decode, expect_created, time_forms
from .oracle_later import (
    expect_context,
    expect_first_seen,
    expect_prefer,
    expect_same,
    expect_version_members,
    meeting_digests,
)
from .oracle_memory import Known, Memory
from .oracle_refusals import (
    TRANSIENT,
    Refusal,
    body_refusal,
    callers_refusal,
    default_end_refusal,
    judge_refusal,
    other_defect,
    read_error,
    refusal_for,
    refused_valid,
    rights,
)
from .ports import Application, DelegatedUser, TokenDirectory
from .request import CreateOrGetRequest
from .request_body import parse_create_or_get
from .settings import TenantSettings

__all__ = ["MESSAGE_LIMIT", "Oracle", "Violation"]


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


MESSAGE_LIMIT = 1_000
"""The longest message of a ``Violation``, in characters: what an answer holds is quoted in part
(a 5 MB error code makes no 5 MB finding)."""


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
        self._memory = Memory()

    @staticmethod
    def skip_reason(request: HttpRequest) -> str | None:
        """Why an exchange is not judged (not a createOrGet route, a browser's CORS preflight,
        a read-back, Graph's update or delete of a meeting by its id), or ``None``."""
        method = request.method if isinstance(request.method, str) else ""
        if method.upper() == "OPTIONS" and text_of(request, "Access-Control-Request-Method"):
            return "a CORS preflight, which the rules do not answer"
        try:
            route = read_route(request)
        except WrongMethod as wrong:
            if wrong.allow == "GET" and method.upper() in ("PATCH", "DELETE"):
                return "an update or delete of a meeting by its id, which the oracle does not judge"
            return None
        except NotFoundError:
            path = request.path if isinstance(request.path, str) else ""
            return f"not a createOrGet route: {quoted(method, 20)} {quoted(path, 200)}"
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
        if not isinstance(response.status, int) or not isinstance(response.body, bytes):
            raise TypeError("an HttpResponse has an int status and a bytes body")
        if not isinstance(request.body, bytes):
            raise TypeError("an HttpRequest has a bytes body")
        if self.skip_reason(request) is not None:
            self._changed(request, response.status)
            return ()
        findings = self._judge(request, response, index)
        return tuple(
            Violation(rule=rule, message=quoted(message, MESSAGE_LIMIT), path=path, exchange=index)
            for rule, message, path in findings
        )

    # --- the steps ------------------------------------------------------------------------------

    def _judge(self, request: HttpRequest, response: HttpResponse, index: int) -> list[Finding]:
        findings = expect_headers(request, response)
        body, form = decode_answer(response.body)
        if form is not None:
            findings.append(("R-HTTP-6", f"The body is not JSON as Graph writes it: {form}.", None))
        error = None
        if response.status >= 400:
            error, shape = read_error(
                body, response.header("request-id"), response.header("client-request-id")
            )
            findings += shape
        try:
            route = read_route(request)
        except WrongMethod as wrong:
            # The token may be checked first (R-HTTP-4): without the callers a 401 is not
            # judged; with them, the token's own 401 is right as well.
            if self._directory is None and response.status == 401:
                return findings
            refusals = [Refusal(405, None, None, "R-HTTP-3", wrong.message)]
            if self._directory is not None:
                caller = self._caller(request, self._directory)
                refusals += [caller] if isinstance(caller, Refusal) else []
            findings += judge_refusal(refusals, response, error)
            return findings
        refusals, organizer, parsed = self._refusals(request, route.version, route.user_id)
        if organizer is None:  # the callers' rights are not judged: the answer's organizer
            organizer = answer_organizer(body, route.user_id)
        key = key_of(parsed, organizer)
        if key is None and organizer is not None:
            key = raw_key_of(request.body, organizer)  # a refused body's key, where it has one
        status = response.status
        if status in TRANSIENT:
            self._unanswered(refusals, key, parsed, route.user_id)
            return findings
        if self._directory is None and callers_refusal(status, error, route.user_id):
            return findings  # without the callers, their refusals are not judged
        if refusals:
            version = route.version

            def also_defective(expected: str | None, answered: str | None) -> bool:
                return other_defect(request.body, version, self._settings, expected, answered)

            findings += judge_refusal(refusals, response, error, other_defect=also_defective)
            if key is not None:
                if 200 <= status < 300:
                    self._memory.add_unsure(key)  # a success that should not be: it may have stored
                else:
                    self._memory.failed.setdefault(key, index)
            return findings
        if status >= 400:
            strict_get = self._settings.strict_mismatch and (
                self._memory.may_be_stored(parsed.external_id, route.user_id)
                if key is None and self._directory is None and parsed is not None
                else key is not None and (key in self._memory.known or self._memory.is_unsure(key))
            )
            findings += refused_valid(status, error, parsed, strict_get=strict_get)
            return findings
        assert parsed is not None
        if status not in (200, 201) or not isinstance(body, Mapping):
            what = "a meeting" if isinstance(body, Mapping) else "not a meeting's JSON"
            unfit = f"A valid request was answered {status} with {what}; the rules give 201 with "
            unfit += "a new meeting or 200 with the key's meeting."
            findings.append(("R-RES-2", unfit, None))
            return findings
        if key is None or organizer is None:
            nobody = "The answer names no organizer (participants.organizer.identity.user)."
            findings.append(("R-MEET-2", nobody, "participants.organizer"))
            return findings
        findings += self._judge_meeting(request, response, body, parsed, organizer, key, index)
        return findings

    def lost(self, request: HttpRequest | None) -> None:
        """An exchange whose answer cannot be judged (an entry of a recording that cannot be
        read): what it did is unknown. As after a lost answer, its request's key is unsure from
        then on; where the request is unknown too, every key is."""
        if request is None:
            self._memory.mark_all_unsure()
            return
        if self.skip_reason(request) is not None:
            self._changed(request, None)
            return
        try:
            route = read_route(request)
        except GraphError:  # another method on a createOrGet route: refused, nothing stored
            return
        refusals, organizer, parsed = self._refusals(request, route.version, route.user_id)
        self._unanswered(refusals, key_of(parsed, organizer), parsed, route.user_id)

    def _unanswered(
        self,
        refusals: list[Refusal],
        key: Key | None,
        parsed: CreateOrGetRequest | None,
        user_id: str | None,
    ) -> None:
        """A request whose answer may hide a create (429, 503, 408, a lost answer): its key is
        unsure until its next answer."""
        if refusals:
            return  # a request the rules refuse (its body, or its caller) cannot have stored
        if key is not None and key not in self._memory.known:
            self._memory.add_unsure(key)
        elif key is None and self._directory is None and parsed is not None:
            self._memory.mark_unsure(parsed.external_id, user_id)  # a valid request's only

    def _changed(self, request: HttpRequest, status: int | None) -> None:
        """Graph's own update (PATCH) or delete of a meeting by its id, not judged: after a
        success, or an answer that may hide one (``None``: unknown), the first meeting of the
        key it names no longer holds; after an update, or an unknown answer, the key is unsure."""
        method = request.method.upper() if isinstance(request.method, str) else ""
        if method not in ("PATCH", "DELETE"):
            return
        try:
            meeting_id = read_route(attrs.evolve(request, method="GET")).meeting_id
        except GraphError:
            return
        key = None if meeting_id is None else self._memory.key_of_meeting(meeting_id)
        if key is None:
            return
        if status is None or status in TRANSIENT:
            self._memory.forget(key, unsure=True)
        elif 200 <= status < 300:
            self._memory.forget(key, unsure=method == "PATCH")

    def _refusals(
        self, request: HttpRequest, version: ApiVersion, user_id: str | None
    ) -> tuple[list[Refusal], Organizer | None, CreateOrGetRequest | None]:
        """The error answers the rules give this request, the organizer (with a directory), and
        the request as read (if its body is valid)."""
        refusals: list[Refusal] = []
        organizer = None
        if self._directory is not None:
            caller = self._caller(request, self._directory)
            if isinstance(caller, Refusal):
                return [caller], None, None
            refusals, organizer = rights(read_route(request), caller, self._directory)
        try:
            check_content_type(request)
        except GraphError as error:  # the body's own defects may be named as well
            fixed = "Unable to read JSON request payload"
            refusals.append(refusal_for(error, "R-HTTP-5", fixed))
        try:
            parsed = parse_create_or_get(
                request.body,
                version=version,
                strict=self._settings.strict_members,
                max_body_bytes=self._settings.max_body_bytes,
            )
        except GraphError as error:
            refusals.append(body_refusal(error, request.body))
            return refusals, organizer, None
        late = default_end_refusal(parsed)
        if late is not None:
            refusals.append(late)
        return refusals, organizer, parsed

    def _caller(
        self, request: HttpRequest, directory: TokenDirectory
    ) -> DelegatedUser | Application | Refusal:
        """The caller of the request's bearer token, or the 401 it is refused with."""
        try:
            return read_caller(request, directory)
        except UnauthorizedError as error:
            fixed = error.message if text_of(request, "Authorization") is None else None
            return refusal_for(error, "R-HTTP-4", fixed)

    def _judge_meeting(
        self,
        request: HttpRequest,
        response: HttpResponse,
        body: Mapping[str, Any],
        parsed: CreateOrGetRequest,
        organizer: Organizer,
        key: Key,
        index: int,
    ) -> list[Finding]:
        findings: list[Finding] = []
        known = self._memory.known.get(key)
        date = instant_of_http_date(answer_text(response, "Date"))
        unsure = self._memory.settle(key)
        include = prefers_unknown_enum_members(request)
        if response.status == 201:
            if known is not None:
                findings.append(
                    (
                        "R-RES-3",
                        f"A second 201 for externalId {parsed.external_id!r} of this "
                        f"organizer: exchange {known.exchange} made its meeting; the rules give "
                        "200 with that meeting.",
                        None,
                    )
                )
                return findings
            findings += expect_created(
                body,
                parsed,
                organizer,
                tenant_known=organizer.tenant_id != NO_TENANT,
                date=None if date == Instant.MIN else date,
                tolerance=self._tolerance,
                settings=self._settings,
                include_unknown_enum_members=include,
            )
            self._memory.remember(
                key, response.body, body, parsed.version, include, index, made=True
            )
            return findings
        answered = answer_organizer(body, None)
        if answered is not None and not same_organizer(answered, key):
            findings.append(
                (
                    "R-RES-1",
                    f"A 200 for externalId {parsed.external_id!r} of organizer "
                    f"{organizer.user_id!r} answers the meeting of organizer {answered.user_id!r}: "
                    "the key holds the organizer.",
                    "participants.organizer.identity.user.id",
                )
            )
            return findings
        if known is not None:
            return self._same(key, known, body, parsed.version, include, organizer.user_id)
        if self._assume_empty and not unsure:
            failed = self._memory.failed.get(key)
            if failed is not None:
                findings.append(
                    (
                        "R-RES-5",
                        f"A 200 for externalId {parsed.external_id!r}, which no 201 made: "
                        f"the refused exchange {failed} stored it.",
                        None,
                    )
                )
            else:
                findings.append(
                    (
                        "R-RES-2",
                        f"A 200 for externalId {parsed.external_id!r}, which no earlier "
                        "exchange created; the rules give 201 with a new meeting.",
                        None,
                    )
                )
        findings += expect_first_seen(
            body, parsed.external_id, parsed.version, organizer.user_id, self._settings
        )
        if not include:  # with it, an unknownFutureValue may be the stored value: unknown
            findings += expect_prefer(body, include)
        self._memory.remember(key, response.body, body, parsed.version, include, index, made=False)
        return findings

    def _same(
        self,
        key: Key,
        known: Known,
        body: Mapping[str, Any],
        version: ApiVersion,
        include: bool,
        organizer_id: str,
    ) -> list[Finding]:
        """A later answer for a key: its first meeting unchanged (R-RES-3), in this answer's
        version (whose own members are judged, R-TIME-8, R-MEET-3) and with this caller's
        ``Prefer`` (R-JSON-3)."""
        lowered = include is not known.include
        digests = meeting_digests(body, lowered=lowered)
        first = known.lowered if lowered else known.digests
        crossed = version is not known.version
        findings = time_forms(body)  # R-TIME-6: a time written otherwise still digests the same
        if crossed:
            findings += expect_version_members(
                body, version, self._settings, first_seen=not known.made
            )
        if lowered:
            findings += expect_prefer(body, include)
        if digests[1 if crossed else 0] == first[1 if crossed else 0]:
            return findings + expect_context(body, version, organizer_id)
        kept = self._memory.body(key)
        if kept is None:
            old = (
                "R-RES-3",
                f"The meeting changed since its first answer (exchange {known.exchange}), "
                "which is too old to be kept whole to say where.",
                None,
            )
            return [*findings, old]
        whole = decode(kept)
        assert isinstance(whole, Mapping)  # it was a meeting's JSON when it was kept
        return findings + expect_same(
            whole, known.version, body, version, organizer_id, lowered=lowered
        )
