"""The callers file: who may call a server, as JSON (``meeting-rules serve --callers FILE``).

::

    {"delegated": [{"token", "tenantId", "userId", "upn", "scopes": [...], "personal": false}],
     "applications": [{"token", "tenantId", "appId", "roles": [...], "policyUsers": [...]}],
     "users": [{"tenantId", "userId", "upn"}]}

The fields are ``InMemoryDirectory.add_delegated_user`` / ``add_application``'s. Every user the
file names (a delegated entry, a ``policyUsers`` entry, a ``users`` entry) is a known user of its
tenant. With JWTs (``adapters.JwtDirectory``) a ``token`` may be left out: the caller then comes
from the token's claims, and an application's access policy from ``policyUsers`` by ``appId``.
Every string is non-empty and holds neither NUL nor a lone surrogate (JSON can spell them,
``"\\u0000"``, ``"\\ud800"``; no header, console or store takes them). Pure: the JSON comes in
decoded; a defect is a ``ValueError`` naming its JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import attrs

from .directory import InMemoryDirectory
from .meeting import object_id

__all__ = ["Callers", "callers_from_json"]


@attrs.frozen(kw_only=True)
class Callers:
    """A callers file, read: ``directory`` holds the entries that have a token and every user the
    file names; ``policies`` maps each application's ``(tenantId, appId)`` to its policy's users,
    the IDs that are GUIDs in lower case (``meeting.object_id``); ``tokens`` is how many
    entries carry a token, ``first_delegated_token`` the token of the first delegated entry that
    has one."""

    directory: InMemoryDirectory
    policies: Mapping[tuple[str, str], frozenset[str]]
    tokens: int
    first_delegated_token: str | None = None


_DELEGATED = {"token", "tenantId", "userId", "upn", "scopes", "personal"}
_APPLICATION = {"token", "tenantId", "appId", "roles", "policyUsers"}
_USER = {"tenantId", "userId", "upn"}
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
"""NUL and the surrogates: decoded JSON holds a surrogate only alone (a pair is one character)."""


def callers_from_json(value: object, *, tokens_required: bool = True) -> Callers:
    """Read a callers file's decoded JSON.

    Args:
        tokens_required: every delegated and application entry must have a ``token`` (false
            where tokens are JWTs).

    Raises:
        ValueError: ``"$.delegated[0].scopes: ..."``, the path of the first defect.
    """
    root = _object(value, "$", {"delegated", "applications", "users"})
    directory = InMemoryDirectory()
    policies: dict[tuple[str, str], frozenset[str]] = {}
    tokens = 0
    first: str | None = None
    for where, entry in _entries(root, "users", _USER):
        directory.add_user(
            tenant_id=_text(entry, where, "tenantId"),
            user_id=_text(entry, where, "userId"),
            upn=_maybe_text(entry, where, "upn"),
        )
    for where, entry in _entries(root, "delegated", _DELEGATED):
        tenant_id = _text(entry, where, "tenantId")
        user_id = _text(entry, where, "userId")
        upn = _maybe_text(entry, where, "upn")
        token = _maybe_text(entry, where, "token", optional=not tokens_required)
        personal = entry.get("personal", False)
        if not isinstance(personal, bool):
            raise ValueError(f"{where}.personal: true or false")
        scopes = _texts(entry, where, "scopes")
        if token is None:
            directory.add_user(tenant_id=tenant_id, user_id=user_id, upn=upn)
            continue
        tokens += 1
        first = first or token
        directory.add_delegated_user(
            token=token,
            tenant_id=tenant_id,
            user_id=user_id,
            upn=upn,
            scopes=scopes,
            personal=personal,
        )
    for where, entry in _entries(root, "applications", _APPLICATION):
        tenant_id = _text(entry, where, "tenantId")
        app_id = _text(entry, where, "appId")
        users = _texts(entry, where, "policyUsers")
        for user in users:
            if directory.user(tenant_id, user) is None:
                directory.add_user(tenant_id=tenant_id, user_id=user)
        policy = (object_id(tenant_id), object_id(app_id))
        policies[policy] = policies.get(policy, frozenset()) | {u.lower() for u in users}
        token = _maybe_text(entry, where, "token", optional=not tokens_required)
        if token is not None:
            tokens += 1
            directory.add_application(
                token=token,
                tenant_id=tenant_id,
                app_id=app_id,
                roles=_texts(entry, where, "roles"),
                policy_users=users,
            )
    return Callers(
        directory=directory, policies=policies, tokens=tokens, first_delegated_token=first
    )


def _entries(
    root: Mapping[str, object], name: str, members: set[str]
) -> Iterator[tuple[str, Mapping[str, object]]]:
    """Each object of the array ``root[name]`` with its JSON path."""
    for index, item in enumerate(_list(root.get(name, []), f"$.{name}")):
        where = f"$.{name}[{index}]"
        yield where, _object(item, where, members)


def _object(value: object, where: str, members: set[str]) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: a JSON object")
    unknown = sorted(set(value) - members)
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: not a member here")
    return value


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: a JSON array")
    return value


def _text(entry: Mapping[str, object], where: str, name: str) -> str:
    value = _maybe_text(entry, where, name, optional=False)
    assert value is not None
    return value


def _maybe_text(
    entry: Mapping[str, object], where: str, name: str, *, optional: bool = True
) -> str | None:
    value = entry.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}.{name}: a non-empty string")
    return _checked(value, f"{where}.{name}")


def _texts(entry: Mapping[str, object], where: str, name: str) -> list[str]:
    value = entry.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}.{name}: an array of non-empty strings")
    return [_checked(text, f"{where}.{name}[{index}]") for index, text in enumerate(value)]


def _checked(text: str, path: str) -> str:
    """``text``, if it holds neither NUL nor a lone surrogate."""
    if _NOT_TEXT.search(text):
        raise ValueError(
            f"{path}: a string without NUL (\\u0000) or a lone surrogate (\\ud800-\\udfff)"
        )
    return text
