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

from .enums import ApiVersion
from .http import odata_context
from .oracle_bodies import CONTEXT, VERSION_ONLY, Finding, compare, shown

__all__ = ["expect_context", "expect_same", "meeting_digests"]

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
            f"@odata.context is {shown(context)}; the rules give {shown(wanted)}.",
            CONTEXT,
        )
    ]


def meeting_digests(body: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """Two digests of a meeting answer, member order aside: of every member but
    ``@odata.context``, and of the members both versions write (so an answer in the other
    version has the second digest of the first)."""
    whole = {name: value for name, value in body.items() if name != "@odata.context"}
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


def expect_same(
    first: Mapping[str, Any],
    first_version: ApiVersion,
    actual: Mapping[str, Any],
    version: ApiVersion,
    organizer_id: str,
) -> list[Finding]:
    """The findings on a later answer for a key: the first answer's meeting, unchanged (R-RES-3),
    written in this answer's version."""
    findings = expect_context(actual, version, organizer_id)
    skip = {CONTEXT}
    if version is not first_version:
        skip |= VERSION_ONLY[ApiVersion.BETA] | VERSION_ONLY[ApiVersion.V1_0]
    expected = dict(first)
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
