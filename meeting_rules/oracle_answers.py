"""What an answer says besides its meeting: its headers and its body's JSON (R-HTTP-6), its
organizer, and the key it answers for (R-RES-1). Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .http import HttpRequest, HttpResponse, echoed_client_request_id
from .json_text import MAX_DEPTH
from .meeting import Organizer
from .oracle_bodies import NOT_JSON, Finding, decode, is_json
from .request import CreateOrGetRequest

__all__ = [
    "NO_TENANT",
    "Key",
    "answer_organizer",
    "answer_text",
    "decode_answer",
    "expect_headers",
    "key_of",
    "raw_external_id",
    "raw_key_of",
    "same_organizer",
    "text_of",
]

Key = tuple[str, str, str]
"""R-RES-1: (tenant, organizer's user ID in lower case, externalId)."""
NO_TENANT = "(no tenant named)"
"""The tenant of an answer that names none (the seed's): keys of one tenant."""


def same_organizer(answered: Organizer, key: Key) -> bool:
    """Whether an answer's organizer is the key's (an answer naming no tenant: by the user)."""
    if answered.user_id.lower() != key[1]:
        return False
    return answered.tenant_id in (key[0], NO_TENANT) or key[0] == NO_TENANT


def key_of(parsed: CreateOrGetRequest | None, organizer: Organizer | None) -> Key | None:
    """R-RES-1: (tenant, organizer, externalId)."""
    if parsed is None or organizer is None:
        return None
    return (organizer.tenant_id, organizer.user_id.lower(), parsed.external_id)


def raw_key_of(raw: bytes, organizer: Organizer) -> Key | None:
    """The key a body the rules refuse names, if it names one (R-RES-5)."""
    external_id = raw_external_id(raw)
    if external_id is None:
        return None
    return (organizer.tenant_id, organizer.user_id.lower(), external_id)


def raw_external_id(raw: bytes) -> str | None:
    """The externalId a request's body names, read or refused, if it names one."""
    document = decode(raw)
    external_id = document.get("externalId") if isinstance(document, Mapping) else None
    return external_id if isinstance(external_id, str) and external_id else None


def expect_headers(request: HttpRequest, response: HttpResponse) -> list[Finding]:
    """R-HTTP-6: ``request-id``; ``client-request-id`` echoes the caller's, else is the
    ``request-id``; a JSON body's ``Content-Type``."""
    findings: list[Finding] = []
    request_id = answer_text(response, "request-id")
    if not request_id:
        findings.append(("R-HTTP-6", "The answer has no request-id header.", None))
    echoed = response.header("client-request-id")
    wanted = echoed_client_request_id(request, request_id) if request_id else None
    sent = text_of(request, "client-request-id")
    if wanted and echoed != wanted:
        findings.append(
            (
                "R-HTTP-6",
                f"client-request-id is {echoed!r}; the rules give {wanted!r} "
                f"({'the caller' if wanted == sent else 'the request-id'}'s).",
                None,
            )
        )
    content_type = (answer_text(response, "Content-Type") or "").strip().lower()
    if response.body and not content_type.startswith("application/json"):
        findings.append(
            ("R-HTTP-6", f"Content-Type is {content_type[:100]!r}, not application/json.", None)
        )
    return findings


def text_of(request: HttpRequest, name: str) -> str | None:
    value = request.header(name)
    return value if isinstance(value, str) else None


def answer_text(response: HttpResponse, name: str) -> str | None:
    value = response.header(name)
    return value if isinstance(value, str) else None


def answer_organizer(body: object, user_id: str | None) -> Organizer | None:
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
    if not isinstance(tenant, str) or not tenant:
        tenant = NO_TENANT  # an answer without its tenant (the seed's): keys of one tenant
    if isinstance(found, str) and found and (user_id is None or found.lower() == user_id.lower()):
        user_id = found  # the answer's spelling of the path's user
    if not user_id:
        return None
    return Organizer(tenant_id=tenant, user_id=user_id, upn=upn if isinstance(upn, str) else None)


class _NotGraphJson(ValueError):
    """JSON that Graph does not write: the message says what it holds."""


def _each_member_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _NotGraphJson("an object that names a member twice")
    return found


def _no_constant(name: str) -> object:
    raise _NotGraphJson(f"{name}, which JSON has no value for")


ANSWER_DEPTH = MAX_DEPTH + 6
"""How deeply an answer may nest: a member that a request gave and the meeting keeps
(``MAX_DEPTH`` deep at most) sits at most 6 levels into the meeting (the meeting, its
participants, the attendees, an attendee, its identity set, an identity)."""


def decode_answer(raw: bytes) -> tuple[object, str | None]:
    """An answer's body as JSON (``NOT_JSON`` if it is not) and, if it is not JSON as Graph
    writes it (R-HTTP-6: UTF-8, as its ``Content-Type`` says, each member once, no NaN, no lone
    surrogate, at most ``ANSWER_DEPTH`` levels deep), what it is instead. Such a
    body is judged as Python reads it, except one nested deeper, which is not read (``NOT_JSON``):
    the judging of a meeting recurses through it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    form = None
    if text is None or text.startswith("\ufeff"):
        value = decode(raw)  # json.loads finds UTF-16 and UTF-32, and a byte order mark
        form = "not UTF-8" if text is None else "UTF-8 after a byte order mark"
        if not is_json(value):
            return NOT_JSON, form if text is None else None
    else:
        try:
            value = json.loads(
                text, object_pairs_hook=_each_member_once, parse_constant=_no_constant
            )
        except _NotGraphJson as error:
            value, form = decode(raw), str(error)
        except RecursionError:
            return NOT_JSON, f"nested deeper than {ANSWER_DEPTH} levels"
        except ValueError:
            return NOT_JSON, None
    if (raw.count(b"{") + raw.count(b"[") > ANSWER_DEPTH) and _deeper(value, ANSWER_DEPTH):
        return NOT_JSON, f"nested deeper than {ANSWER_DEPTH} levels"
    if form is None and b"\\u" in raw:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            form = "a lone surrogate, which UTF-8 cannot hold"
    return value, form


def _deeper(value: object, limit: int) -> bool:
    """Whether ``value`` nests containers more than ``limit`` levels deep (without recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            inner = item.values() if isinstance(item, dict) else item
            stack.extend((each, depth + 1) for each in inner)
    return False
