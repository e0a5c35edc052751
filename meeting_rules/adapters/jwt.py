"""``JwtDirectory``: a ``TokenDirectory`` whose bearer tokens are JWTs, as Entra ID issues them.

Signatures are checked by PyJWT (extra ``serve``) against the keys of a JWKS; the audience must be
Microsoft Graph's (``https://graph.microsoft.com`` or its application ID); ``exp`` is required and,
with ``nbf``, checked against the time. The caller is read from Entra's claims:

- delegated (``idtyp: user``, or no ``idtyp`` and an ``scp``): ``tid``, ``oid``, ``upn`` or
  ``preferred_username``, ``scp`` (space-separated scopes), which it must have; a token of the
  personal-account tenant (``PERSONAL_TENANT``) is a personal Microsoft account (R-AUTH-2);
- an application (``idtyp: app``, or neither ``idtyp`` nor ``scp``): ``tid``, ``appid`` or
  ``azp``, ``roles``; its access policy's users come from the callers file by tenant and
  ``appId`` (R-AUTH-3).

The callers file's own tokens, where it gives any, are accepted too (beside the JWTs).

The issuer is not checked: the keys are. A token that fails any check is an unknown token (401).
Users of a tenant (``/users/{id}``) are the callers file's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple, TypeGuard

import jwt

from ..callers import Callers
from ..meeting import Organizer, object_id
from ..ports import Application, DelegatedUser

__all__ = ["GRAPH_AUDIENCES", "PERSONAL_TENANT", "JwtDirectory"]

GRAPH_AUDIENCES: Final = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")
PERSONAL_TENANT: Final = "9188040d-6c67-4c5b-b112-36a304b66dad"
MAX_TOKEN_CHARS: Final = 16_384
"""A longer bearer token is refused unread (Entra's are a few kB)."""


class JwtDirectory:
    """Callers from JWTs signed by a key of ``jwks``; users and access policies from ``callers``.

    Args:
        jwks: a JSON Web Key Set (``{"keys": [...]}``), as Entra publishes at its
            ``jwks_uri``. ``None`` only with ``verify_signature=False``.
        callers: the callers file (``meeting_rules.callers``); its tokens are accepted too.
        verify_signature: ``False`` reads the claims of unsigned or foreignly signed tokens,
            still checking audience and expiry: for local tests only.
        leeway_seconds: clock skew allowed on ``exp`` and ``nbf``.

    Raises:
        ValueError: the JWKS is not a key set, or holds no key PyJWT can use.
    """

    def __init__(
        self,
        *,
        jwks: Mapping[str, Any] | None,
        callers: Callers | None = None,
        audiences: Iterable[str] = GRAPH_AUDIENCES,
        verify_signature: bool = True,
        leeway_seconds: int = 0,
    ) -> None:
        if verify_signature:
            if jwks is None:
                raise ValueError("a JWKS is needed to check signatures")
            self._keys: tuple[_Key, ...] | None = _usable_keys(jwks)
        else:
            self._keys = None
        self._callers = callers
        self._audiences = list(audiences)
        self._leeway = leeway_seconds

    def caller(self, token: str) -> DelegatedUser | Application | None:
        if self._callers is not None:
            known = self._callers.directory.caller(token)
            if known is not None:
                return known
        claims = self._claims(token)
        return None if claims is None else self._caller_of(claims)

    def user(self, tenant_id: str, user_id: str) -> Organizer | None:
        if self._callers is None:
            return None
        return self._callers.directory.user(tenant_id, user_id)

    def _claims(self, token: str) -> Mapping[str, Any] | None:
        if len(token) > MAX_TOKEN_CHARS:
            return None
        options: Any = {  # PyJWT's own TypedDict is newer than its lowest supported version
            "require": ["exp"],
            "verify_signature": self._keys is not None,
            "verify_aud": True,
            "verify_exp": True,
            "verify_nbf": True,
            "verify_iat": True,  # PyJWT leaves it out unless asked, when no signature is checked
        }
        try:
            if self._keys is None:
                key: Any = None
                algorithms = None
            else:
                found = self._key(jwt.get_unverified_header(token).get("kid"))
                if found is None:
                    return None
                key, algorithms = found.key, [found.algorithm]
            claims = jwt.decode(
                token,
                key=key,
                algorithms=algorithms,
                audience=self._audiences,
                options=options,
                leeway=self._leeway,
            )
        except Exception:  # PyJWT refuses some hostile tokens with errors other than its own:
            return None  # whatever it raises, the token is not accepted (401)
        if not isinstance(claims, dict) or not all(map(_is_number, _times(claims))):
            return None  # RFC 7519's NumericDate is a JSON number; PyJWT also takes "123"
        return claims

    def _key(self, kid: object) -> _Key | None:
        assert self._keys is not None
        if kid is None:
            return self._keys[0] if len(self._keys) == 1 else None
        return next((k for k in self._keys if k.kid == kid), None)

    def _caller_of(self, claims: Mapping[str, Any]) -> DelegatedUser | Application | None:
        tenant_id = claims.get("tid")
        if not _is_text(tenant_id):
            return None
        scopes = claims.get("scp")
        kind = claims.get("idtyp")
        # A user's token (idtyp "user", or no idtyp but scp) is never read as an application's.
        if kind not in (None, "app") or (kind is None and scopes is not None):
            user_id = claims.get("oid")
            upn = claims.get("upn", claims.get("preferred_username"))
            if not (_is_text(user_id) and isinstance(scopes, str)):
                return None  # a user's token without its scopes or its user
            return DelegatedUser(
                tenant_id=tenant_id,
                user_id=user_id,
                upn=upn if _is_text(upn) else None,
                scopes=frozenset(scopes.split()),
                personal=object_id(tenant_id) == PERSONAL_TENANT,
            )
        app_id = claims.get("appid", claims.get("azp"))
        roles = claims.get("roles", [])
        if not _is_text(app_id) or not isinstance(roles, list):
            return None
        policies = self._callers.policies if self._callers is not None else {}
        return Application(
            tenant_id=tenant_id,
            app_id=app_id,
            roles=frozenset(r for r in roles if isinstance(r, str)),
            policy_users=policies.get((object_id(tenant_id), object_id(app_id)), frozenset()),
        )


class _Key(NamedTuple):
    kid: object
    key: Any
    algorithm: str


def _usable_keys(jwks: object) -> tuple[_Key, ...]:
    """The keys of a JWKS that PyJWT can check signatures with, a private key by its public half.

    A key PyJWT cannot use (an unknown type or algorithm, a member missing) is left out, as
    PyJWT's own ``PyJWKSet`` does, so that a key set as an issuer publishes it, with kinds of keys
    this reader does not know, still serves; PyJWT raises more than its own errors for such keys.

    Raises:
        ValueError: not a key set, or no usable key in it.
    """
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError('a JWKS is a JSON object whose "keys" is an array of keys')
    keys, refusals = [], []
    for entry in entries:
        if not isinstance(entry, Mapping):
            refusals.append(f"a key that is not an object: {type(entry).__name__}")
            continue
        try:
            found = jwt.PyJWK(dict(entry))
        except Exception as error:  # see the docstring
            refusals.append(f"{type(error).__name__}: {error}")
            continue
        key = found.key
        if hasattr(
            key, "public_key"
        ):  # a private key (cryptography's): verify with its public half
            key = key.public_key()
        keys.append(_Key(found.key_id, key, found.algorithm_name))
    if not keys:
        why = f" (the first refused: {refusals[0]})" if refusals else ""
        raise ValueError(f"the JWKS holds no key PyJWT can use{why}")
    return tuple(keys)


def _times(claims: Mapping[str, Any]) -> Iterable[object]:
    return (claims[name] for name in ("exp", "nbf", "iat") if name in claims)


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


def _is_text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)
