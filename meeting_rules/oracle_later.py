"""A key's later answers: its first meeting, unchanged (R-RES-3), in the later request's version.

The oracle keeps two digests of each key's first answer (``meeting_digests``), so that a later
answer that is the same costs one digest, and the whole first answer of the latest keys only, to
say which member changed (``expect_same``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from .enums import ApiVersion, LobbyBypassScope, OnlineMeetingRole
from .http import odata_context
from .json_paths import path_step
from .oracle_bodies import (
    CONTEXT,
    VERSION_ONLY,
    Finding,
    compare,
    instant_at,
    shown,
    time_forms,
)
from .settings import TenantSettings
from .timing import expiry

__all__ = [
    "expect_context",
    "expect_first_seen",
    "expect_prefer",
    "expect_same",
    "expect_version_members",
    "may_be_lowered",
    "meeting_digests",
]

_BOTH_VERSIONS = frozenset(
    tuple(path.split(".")) for path in VERSION_ONLY[ApiVersion.BETA] | VERSION_ONLY[ApiVersion.V1_0]
)


def expect_context(
    body: Mapping[str, Any], version: ApiVersion, organizer_id: str
) -> list[Finding]:
    """R-HTTP-6: a meeting answer's ``@odata.context``."""
    context = body.get("@odata.context")
    wanted = odata_context(version, organizer_id)
    if context == wanted:
        return []
    return [
        (
            "R-HTTP-6",
            f"@odata.context is {shown(context) if '@odata.context' in body else 'missing'}; "
            f"the rules give {shown(wanted)}.",
            CONTEXT,
        )
    ]


def meeting_digests(body: Mapping[str, Any], *, lowered: bool = False) -> tuple[bytes, bytes]:
    """Two digests of a meeting answer, member order aside: of every member but
    ``@odata.context``, and of the members both versions write (so an answer in the other
    version has the second digest of the first). ``lowered``: of the answer as written without
    ``Prefer: include-unknown-enum-members`` (``lowered``)."""
    whole = {name: value for name, value in body.items() if name != "@odata.context"}
    if lowered:
        whole = _lowered(whole)
    shared = _without(whole, _BOTH_VERSIONS)
    return _digest(whole), _digest(shared)


def _digest(value: object) -> bytes:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _without(body: Mapping[str, Any], paths: frozenset[tuple[str, ...]]) -> dict[str, Any]:
    """``body`` without the members at ``paths`` (names, one a level); copies what it changes."""
    result = dict(body)
    for path in paths:
        holder: Any = result
        for name in path[:-1]:
            inner = holder.get(name) if isinstance(holder, Mapping) else None
            if not isinstance(inner, Mapping):
                holder = None
                break
            holder[name] = inner = dict(inner)
            holder = inner
        if isinstance(holder, dict):
            holder.pop(path[-1], None)
    return result


def _lowered(value: Any, name: str = "") -> Any:
    """``value`` as written without ``Prefer: include-unknown-enum-members``: the members of
    Graph's enums listed after ``unknownFutureValue`` written as ``unknownFutureValue``
    (R-JSON-3), so that two answers to callers who preferred otherwise compare."""
    if isinstance(value, Mapping):
        return {key: _lowered(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [_lowered(item, name) for item in value]
    if name in ("role", "scope") and value in _EVOLVABLE:
        return "unknownFutureValue"
    return value


_EVOLVABLE = frozenset(
    member.value
    for cls in (OnlineMeetingRole, LobbyBypassScope)
    for member in cls.evolvable_members()
)
_EVOLVABLE_TEXT = tuple(f'"{value}"'.encode() for value in sorted(_EVOLVABLE))


def may_be_lowered(raw: bytes) -> bool:
    """Whether an answer's bytes hold a value ``_lowered`` changes: a byte search, so that an
    answer without one (the most) is digested once, not twice."""
    return any(text in raw for text in _EVOLVABLE_TEXT)


def expect_prefer(body: Mapping[str, Any], include: bool) -> list[Finding]:
    """R-JSON-3 on an answer whose meeting was not made for it: without ``Prefer:
    include-unknown-enum-members``, no member listed after ``unknownFutureValue``; with it, no
    ``unknownFutureValue`` (createOrGet stores none: R-BODY-7 refuses it on input)."""
    findings: list[Finding] = []
    stack: list[tuple[object, str, str]] = [(body, "", "")]
    while stack:
        value, name, path = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((item, key, path_step(path, key)) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, name, path_step(path, i)) for i, item in enumerate(value))
        elif name in ("role", "scope") and isinstance(value, str):
            if not include and value in _EVOLVABLE:
                wanted = "'unknownFutureValue' without"
            elif include and value == "unknownFutureValue":
                wanted = "the member itself with"
            else:
                continue
            findings.append(
                (
                    "R-JSON-3",
                    f"{path} is {shown(value)}; the rules give {wanted} the caller's "
                    "Prefer: include-unknown-enum-members.",
                    path,
                )
            )
    return sorted(findings, key=lambda finding: finding[2] or "")


def expect_same(
    first: Mapping[str, Any],
    first_version: ApiVersion,
    actual: Mapping[str, Any],
    version: ApiVersion,
    organizer_id: str,
    *,
    lowered: bool = False,
) -> list[Finding]:
    """The findings on a later answer for a key: the first answer's meeting, unchanged (R-RES-3),
    written in this answer's version (``lowered``: both compared as written without ``Prefer:
    include-unknown-enum-members``, one of the two callers having sent it)."""
    findings = expect_context(actual, version, organizer_id)
    skip = {CONTEXT}
    if version is not first_version:
        skip |= VERSION_ONLY[ApiVersion.BETA] | VERSION_ONLY[ApiVersion.V1_0]
    expected = _lowered(first) if lowered else dict(first)
    actual = _lowered(actual) if lowered else actual
    changed: list[Finding] = []
    compare(
        expected,
        actual,
        "",
        changed,
        lambda path: "R-RES-3",
        version,
        skip=frozenset(skip),
        added=True,
    )
    for rule, message, path in changed:
        findings.append((rule, f"The meeting changed since its first answer: {message}", path))
    return findings


def expect_version_members(
    actual: Mapping[str, Any],
    version: ApiVersion,
    settings: TenantSettings,
    *,
    first_seen: bool = False,
) -> list[Finding]:
    """The members one version writes and the other does not, in an answer of ``version``
    whose meeting was not made for this answer (a get in the other version, a first 200):
    v1.0's ``expiryDateTime`` = end + the tenant's period (R-TIME-8) and its empty lists; beta's
    empty ``producers`` and ``contributors`` (R-MEET-3); none of the other version's. A meeting
    first seen in a store that held it before (``first_seen``) was not made by these rules: its
    lists need only be lists (Graph's own ``tollNumbers`` holds the ``tollNumber``)."""
    findings: list[Finding] = []
    other = ApiVersion.V1_0 if version is ApiVersion.BETA else ApiVersion.BETA
    for path in sorted(VERSION_ONLY[other]):
        if _at(actual, path) is not _ABSENT:
            rule = "R-TIME-8" if path == "expiryDateTime" else "R-MEET-3"
            findings.append((rule, f"{path} is a member of {other.value} only.", path))
    for path in sorted(VERSION_ONLY[version]):
        found = _at(actual, path)
        if path == "expiryDateTime":
            end = instant_at(actual.get("endDateTime"))
            if end is None:
                continue
            wanted = expiry(end, settings.expiry_period)
            expected: object = None if wanted is None else str(wanted)
            rule = "R-TIME-8"
        else:
            expected, rule = [], "R-MEET-3"
            if first_seen and isinstance(found, list):
                continue
        if found is _ABSENT or not _alike(found, expected):
            seen = "missing" if found is _ABSENT else f"{shown(found)}"
            given = "[]" if expected == [] else shown(expected)
            findings.append((rule, f"{path} is {seen}; the rules give {given}.", path))
    return findings


def _alike(found: object, expected: object) -> bool:
    """Whether a member one version writes is what the rules give: ``[]`` (an empty list), null,
    or a time at the same instant (its form is judged by ``time_forms``)."""
    if isinstance(expected, str):
        return isinstance(found, str) and instant_at(found) == instant_at(expected)
    return type(found) is type(expected) and found == expected


def expect_first_seen(
    actual: Mapping[str, Any],
    external_id: str,
    version: ApiVersion,
    organizer_id: str,
    settings: TenantSettings,
) -> list[Finding]:
    """A key's first answer that is a 200 (a store not empty, or after a lost answer): what can
    be judged without the request that made it: its key, its context, its times' forms and its
    version's members."""
    findings = expect_context(actual, version, organizer_id)
    if actual.get("externalId") != external_id:
        findings.append(
            (
                "R-RES-1",
                f"externalId is {shown(actual.get('externalId'))}: the meeting of another key "
                f"than {shown(external_id)}.",
                "externalId",
            )
        )
    return (
        findings
        + time_forms(actual)
        + expect_version_members(actual, version, settings, first_seen=True)
    )


_ABSENT = object()


def _at(body: Mapping[str, Any], path: str) -> object:
    value: object = body
    for name in path.split("."):
        if not isinstance(value, Mapping) or name not in value:
            return _ABSENT
        value = value[name]
    return value
