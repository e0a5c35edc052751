"""The refusals the rules give a createOrGet request, and how an error answer is judged.

- ``refusals``-side: ``rights`` (the caller's, R-AUTH-*, all of them: each lack found is made good
  in turn to find the next), ``body_refusal`` (R-BODY-*, R-TIME-3..5, named from the defect's
  place and the body's values), ``Refusal`` itself;
- ``judge_refusal``: an answer to a refused request names one of its defects, with Graph's code,
  the target where one is given (or where the rule names it) and a rule's fixed text;
  ``other_defect`` says whether a body has a second defect where the answer points;
- ``read_error``: Graph's error body (R-JSON-5).

Pure: the library's own rules (``http``'s callers' rights, ``parse_create_or_get``) decide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from .enums import ApiVersion
from .errors import BadRequestError, ForbiddenError, GraphError, NotFoundError
from .http import APPLICATION_ROLE, DELEGATED_SCOPE, HttpResponse, organizer_for
from .instant import Instant
from .json_paths import GRAPH_NAMES
from .meeting import Organizer
from .oracle_bodies import Finding, decode, describe, is_json, member_at, shown
from .ports import Application, DelegatedUser, TokenDirectory
from .request import CreateOrGetRequest
from .request_body import parse_create_or_get
from .settings import TenantSettings
from .timing import normalise_window

__all__ = [
    "ErrorBody",
    "Refusal",
    "body_refusal",
    "callers_refusal",
    "default_end_refusal",
    "judge_refusal",
    "other_defect",
    "read_error",
    "refusal_for",
    "refused_valid",
    "rights",
    "rule_of_target",
]

_ERROR_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
TRANSIENT = frozenset({408, 429, 503})
"""Statuses a service may answer at any time, which no rule gives: a body too slow to arrive
(408), throttled (429), unavailable for a while (503)."""


@attrs.frozen
class Refusal:
    """An error answer the rules give: status, Graph's code (``None``: any), target, rule, and
    the start of the message where a rule fixes its text."""

    status: int
    codes: frozenset[str] | None
    target: str | None
    rule: str
    message: str
    fixed_text: str | None = None
    target_required: bool = False


_MAX_DEFECTS = 4
_STEP = re.compile(r"\.?([A-Za-z0-9_@$-]+)|\[([0-9]+)\]")


def _remove(document: object, path: str) -> bool:
    """Remove the member at a plain JSON path (``a.b[0].c``) from ``document``, in place."""
    steps: list[str | int] = []
    position = 0
    while position < len(path):
        found = _STEP.match(path, position)
        if found is None or found.end() == position:
            return False
        steps.append(found.group(1) if found.group(1) is not None else int(found.group(2)))
        position = found.end()
    holder: Any = document
    for step in steps[:-1]:
        try:
            holder = holder[step]
        except (KeyError, IndexError, TypeError):
            return False
    last = steps[-1] if steps else None
    if isinstance(holder, dict) and isinstance(last, str) and last in holder:
        del holder[last]
        return True
    if isinstance(holder, list) and isinstance(last, int) and last < len(holder):
        del holder[last]
        return True
    return False


# --- refusals ---------------------------------------------------------------------------------


def refusal_for(error: GraphError, rule: str, fixed_text: str | None = None) -> Refusal:
    codes = frozenset({error.code}) if error.status in (400, 401, 403) else None
    return Refusal(error.status, codes, error.target, rule, error.message, fixed_text)


def rights(
    route: Any, caller: DelegatedUser | Application, directory: TokenDirectory
) -> tuple[list[Refusal], Organizer | None]:
    """The refusals of the caller's rights (all of them: a caller lacking two rights may be
    refused for either), or the organizer the caller may act for. Each refusal found is eased
    in turn (a personal account made a work account, a missing permission given) to find the
    next."""
    refusals: list[Refusal] = []
    for _ in range(_MAX_DEFECTS):
        try:
            organizer = organizer_for(route, caller, directory)
        except GraphError as error:
            refusals.append(_rights_refusal(error, caller))
            if isinstance(error, BadRequestError) and isinstance(caller, Application):
                refusals += _role_refusal(route, caller, directory)
                break
            eased = _eased(caller, error)
            if eased is None:
                break
            caller = eased
        else:
            return refusals, (organizer if not refusals else None)
    return refusals, None


_ANY_USER = "00000000-0000-0000-0000-000000000000"


def _role_refusal(route: Any, caller: Application, directory: TokenDirectory) -> list[Refusal]:
    """An application on ``/me`` (R-AUTH-4's 400) that lacks its role too may be refused for
    that: the 403 it gets on ``/users/{id}``, where the role is checked first (R-AUTH-3)."""
    if APPLICATION_ROLE in caller.roles:
        return []
    try:
        organizer_for(attrs.evolve(route, user_id=_ANY_USER), caller, directory)
    except ForbiddenError as lacking:
        return [_rights_refusal(lacking, caller)]
    return []


def _eased(
    caller: DelegatedUser | Application, error: GraphError
) -> DelegatedUser | Application | None:
    """The caller without the lack ``error`` refused it for, if that lack can be made good."""
    if isinstance(caller, DelegatedUser):
        if caller.personal:
            return attrs.evolve(caller, personal=False)
        if DELEGATED_SCOPE not in caller.scopes:
            return attrs.evolve(caller, scopes=caller.scopes | {DELEGATED_SCOPE})
        return None
    if APPLICATION_ROLE not in caller.roles and isinstance(error, ForbiddenError):
        return attrs.evolve(caller, roles=caller.roles | {APPLICATION_ROLE})
    return None


def _rights_refusal(error: GraphError, caller: object) -> Refusal:
    """The rule of a refusal of the caller's rights, from the caller and the status."""
    if isinstance(caller, DelegatedUser):
        if error.code == "AuthenticationError":
            return refusal_for(error, "R-AUTH-2", "Error authenticating with resource")
        rule = "R-AUTH-1" if DELEGATED_SCOPE not in caller.scopes else "R-AUTH-5"
        return refusal_for(error, rule)
    if isinstance(error, BadRequestError):
        return refusal_for(error, "R-AUTH-4", error.message)
    if isinstance(error, NotFoundError):
        return refusal_for(error, "R-HTTP-2")
    policy = error.message.startswith("No application access policy")
    refusal = refusal_for(error, "R-AUTH-3", error.message.split(" App:")[0] if policy else None)
    # a 2025 transcript shows code General for the same refusal (rules.md, R-AUTH-3)
    return attrs.evolve(refusal, codes=frozenset({"Forbidden", "General"}))


_TIMES = ("startDateTime", "endDateTime")


def body_refusal(error: GraphError, raw: bytes) -> Refusal:
    """The rule of a body the rules refuse, from the defect's place and the body's values."""
    document = decode(raw)
    target = error.target
    fixed = None
    if error.status == 413 or target is None:
        rule = "R-BODY-6"
        if error.status != 413 and not raw.strip():
            fixed = "Empty Payload. JSON content expected."
        elif error.status != 413 and not is_json(document):
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
        rule = rule_of_target(target)
    required = rule in ("R-TIME-3", "R-TIME-4")
    return attrs.evolve(refusal_for(error, rule, fixed), target_required=required)


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


def rule_of_target(target: str | None) -> str:
    last = re.split(r"[.\[]", target or "")[-1].rstrip("]")
    if last.isdigit():
        last = re.split(r"[.\[]", target or "")[-2] if "." in (target or "") else last
    if last in _TIMES or last.endswith("DateTime"):
        return "R-TIME-5"
    if last == "role":
        return "R-BODY-7"
    if last == "externalId":
        return "R-BODY-2"
    if last and last not in GRAPH_NAMES:
        return "R-BODY-3"
    return "R-BODY-6"


def callers_refusal(status: int, error: Any, user_id: str | None) -> bool:
    """Whether an answer is one the callers' rights may give: a 401 or 403, a 404 for
    ``/users/{id}``, an application's 400 on ``/me``. Without the callers it is not judged,
    whatever else the request holds: the token comes before anything else, and the rules set no
    order between the rights and the body."""
    message = getattr(error, "message", None) or ""
    return (
        status in (401, 403)
        or (status == 404 and user_id is not None)
        or (status == 400 and user_id is None and message.startswith("/me request"))
    )


def refused_valid(
    status: int, error: Any, parsed: CreateOrGetRequest | None, *, strict_get: bool
) -> list[Finding]:
    """A valid request refused: a finding of the rule the refusal breaks (``strict_get``: a
    strict tenant's get, whose 422 is allowed)."""
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or ""
    target = getattr(error, "target", None)
    rule = {401: "R-HTTP-4", 403: "R-AUTH-1", 404: "R-HTTP-2", 422: "R-RES-3"}.get(status)
    if status == 422 and strict_get:
        return []  # a strict tenant's get that differs from the stored meeting
    if rule is None:
        ignored = parsed.ignored_members if parsed is not None else ()
        rule = rule_of_target(target) if target else "R-RES-2"
        if rule != "R-BODY-7" and target in ignored:
            rule = "R-BODY-3"  # a member Graph ignores, refused
    return [
        (
            rule,
            f"A valid request was refused: {status} {code or ''} {message[:200]!r}".rstrip(),
            target,
        )
    ]


def judge_refusal(
    refusals: list[Refusal],
    response: HttpResponse,
    error: Any,
    *,
    other_defect: Any = None,
) -> list[Finding]:
    """An answer to a request the rules refuse: one of the refusals, with Graph's code, the
    target where one is given (or where the rule names it) and a rule's fixed text."""
    status = response.status
    first = refusals[0]
    if 200 <= status < 300:
        return [
            (
                first.rule,
                f"Answered {status}, but the rules refuse this request: {first.status} "
                f"{first.message}",
                first.target,
            )
        ]
    if status in TRANSIENT:
        return []
    matching = [r for r in refusals if r.status == status]
    if not matching:
        wanted = " or ".join(sorted({str(r.status) for r in refusals}))
        return [
            (
                first.rule,
                f"Answered {status}; the rules give {wanted}: {first.message}",
                first.target,
            )
        ]
    code = getattr(error, "code", None)
    target = getattr(error, "target", None)
    message = getattr(error, "message", None) or ""
    findings: list[Finding] = []
    for refusal in matching:
        findings = []
        if refusal.codes is not None and code is not None and code not in refusal.codes:
            findings.append(
                (
                    refusal.rule,
                    f"error.code is {shown(code)}; the rules give "
                    f"{' or '.join(sorted(refusal.codes))}.",
                    "error.code",
                )
            )
        if (
            (target is not None or refusal.target_required)
            and target != refusal.target
            and not (other_defect is not None and other_defect(refusal.target, target))
        ):
            # a refusal of a member that is no defect: of an enum's spelling or an ignored
            # member, that rule's; else the rule of the defect the answer should have named
            named = rule_of_target(target) if target else None
            rule = named if named in ("R-BODY-3", "R-BODY-7") else refusal.rule
            findings.append(
                (
                    rule,
                    f"error.target is {shown(target)}; the defect is at {refusal.target!r}.",
                    "error.target",
                )
            )
        if refusal.fixed_text is not None and not message.startswith(refusal.fixed_text):
            findings.append(
                (
                    refusal.rule,
                    f"error.message is {message[:200]!r}; the rules give {refusal.fixed_text!r}.",
                    "error.message",
                )
            )
        if not findings:
            return []
    return findings


def other_defect(
    raw: bytes,
    version: ApiVersion,
    settings: TenantSettings,
    expected: str | None,
    answered: str | None,
) -> bool:
    """Whether the body has a defect at ``answered`` too: the body without its member at
    ``expected`` (and so on, a few times) is refused at ``answered``. A body with two defects
    may be refused for either."""
    document = decode(raw)
    for _ in range(_MAX_DEFECTS):
        if expected is None or answered is None or not _remove(document, expected):
            return False
        try:
            parse_create_or_get(
                document,  # type: ignore[arg-type]
                version=version,
                strict=settings.strict_members,
                max_body_bytes=None,
            )
        except GraphError as error:
            if error.target == answered:
                return True
            expected = error.target
            continue
        return False
    return False


@attrs.frozen
class ErrorBody:
    """What an error answer says: Graph's code, message and target, if it says them."""

    code: str | None
    message: str | None
    target: str | None


def read_error(
    body: object, request_id: str | None, client_request_id: str | None
) -> tuple[ErrorBody, list[Finding]]:
    """Graph's error body (R-JSON-5): ``{"error": {"code", "message", "target"?, "details"?,
    "innerError": {"date", "request-id", "client-request-id"}}}``."""
    findings: list[Finding] = []
    error = member_at(body, "error")
    if not isinstance(error, Mapping):
        findings.append(
            (
                "R-JSON-5",
                f"The error answer's body is {describe(body)}, not Graph's {{\"error\": {{...}}}}.",
                None,
            )
        )
        return ErrorBody(None, None, None), findings
    code, message, target = error.get("code"), error.get("message"), error.get("target")
    for name, value in (("code", code), ("message", message)):
        if not isinstance(value, str) or not value:
            findings.append(
                ("R-JSON-5", f"error.{name} is {shown(value)}, not a text.", f"error.{name}")
            )
    if target is not None and not isinstance(target, str):
        findings.append(("R-JSON-5", f"error.target is {shown(target)}.", "error.target"))
    inner = error.get("innerError")
    if not isinstance(inner, Mapping):
        findings.append(
            ("R-JSON-5", f"error.innerError is {shown(inner)}, not an object.", "error.innerError")
        )
    else:
        date = inner.get("date")
        if not (isinstance(date, str) and _ERROR_DATE.fullmatch(date)):
            findings.append(
                (
                    "R-JSON-5",
                    f"error.innerError.date is {shown(date)}, not "
                    "YYYY-MM-DDTHH:MM:SS in UTC without a zone.",
                    "error.innerError.date",
                )
            )
        for name, header in (("request-id", request_id), ("client-request-id", client_request_id)):
            value = inner.get(name)
            if value != header:
                findings.append(
                    (
                        "R-JSON-5",
                        f"error.innerError.{name} is {shown(value)}; the answer's "
                        f"{name} header is {shown(header)}.",
                        f"error.innerError.{name}",
                    )
                )
    return (
        ErrorBody(
            code if isinstance(code, str) else None,
            message if isinstance(message, str) else None,
            target if isinstance(target, str) else None,
        ),
        findings,
    )


def default_end_refusal(parsed: CreateOrGetRequest) -> Refusal | None:
    """R-TIME-2: a start so late that start + 1 hour passes 9999-12-31 is refused (400)."""
    if parsed.start_date_time is None or parsed.end_date_time is not None:
        return None
    try:
        normalise_window(parsed.start_date_time, None, now=parsed.start_date_time)
    except GraphError as error:
        return refusal_for(error, "R-TIME-2")
    return None
