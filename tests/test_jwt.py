"""``JwtDirectory`` (Entra's claims, PyJWT's checks) and the callers file (R-AUTH-*)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from meeting_rules.adapters.jwt import MAX_TOKEN_CHARS, PERSONAL_TENANT, JwtDirectory
from meeting_rules.callers import callers_from_json
from meeting_rules.http import Application, DelegatedUser
from tests.serving import ALICE, BOB, TENANT

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def jwk(public: Any, kid: str, algorithm: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(algorithm.to_jwk(public))
    found["kid"] = kid
    return found


JWKS = {
    "keys": [
        jwk(RSA_KEY.public_key(), "rsa", RSAAlgorithm),
        jwk(EC_KEY.public_key(), "ec", ECAlgorithm),
    ]
}
DELEGATED = {
    "aud": "https://graph.microsoft.com",
    "tid": TENANT,
    "oid": ALICE,
    "upn": "alice@contoso.com",
    "scp": "OnlineMeetings.ReadWrite User.Read",
}
APP = {"aud": "https://graph.microsoft.com", "tid": TENANT, "idtyp": "app", "appid": "app-1",
       "roles": ["OnlineMeetings.ReadWrite.All"]}  # fmt: skip
CALLERS = callers_from_json(
    {"applications": [{"tenantId": TENANT, "appId": "app-1", "policyUsers": [BOB]}]},
    tokens_required=False,
)


def token(claims: dict[str, Any], *, kid: str | None = "rsa", expires_in: int = 600) -> str:
    body = {"exp": int(time.time()) + expires_in, **claims}
    headers = {} if kid is None else {"kid": kid}
    if kid == "ec":
        return jwt.encode(body, EC_KEY, algorithm="ES256", headers=headers)
    return jwt.encode(body, RSA_KEY, algorithm="RS256", headers=headers)


def directory(**kwargs: Any) -> JwtDirectory:
    return JwtDirectory(jwks=JWKS, callers=CALLERS, **kwargs)


def test_r_auth_1_a_delegated_token() -> None:
    found = directory().caller(token(DELEGATED))
    scopes = frozenset({"OnlineMeetings.ReadWrite", "User.Read"})
    assert found == DelegatedUser(
        tenant_id=TENANT, user_id=ALICE, upn="alice@contoso.com", scopes=scopes
    )
    by_ec = directory().caller(token(DELEGATED, kid="ec"))
    assert by_ec == found


def test_preferred_username_when_there_is_no_upn() -> None:
    claims = {k: v for k, v in DELEGATED.items() if k != "upn"}
    found = directory().caller(token({**claims, "preferred_username": "alice@outlook.com"}))
    assert isinstance(found, DelegatedUser)
    assert found.upn == "alice@outlook.com"


def test_r_auth_2_the_personal_account_tenant() -> None:
    found = directory().caller(token({**DELEGATED, "tid": PERSONAL_TENANT}))
    assert isinstance(found, DelegatedUser)
    assert found.personal


def test_r_auth_3_an_application_with_its_policy_from_the_callers_file() -> None:
    found = directory().caller(token(APP))
    assert found == Application(tenant_id=TENANT, app_id="app-1",
                                roles=frozenset({"OnlineMeetings.ReadWrite.All"}),
                                policy_users=frozenset({BOB.lower()}))  # fmt: skip
    other = directory().caller(token({**APP, "appid": "app-2"}))
    assert isinstance(other, Application)
    assert other.policy_users == frozenset()
    elsewhere = directory().caller(token({**APP, "tid": "another-tenant"}))
    assert isinstance(elsewhere, Application)
    assert elsewhere.policy_users == frozenset()  # a policy is its tenant's
    # no idtyp and no scp: an application; azp where there is no appid
    azp = {k: v for k, v in APP.items() if k not in ("idtyp", "appid")}
    by_azp = directory().caller(token({**azp, "azp": "app-1"}))
    assert isinstance(by_azp, Application)
    assert by_azp.app_id == "app-1"


# Each token is made when its test runs, not when the tests are collected: a token holds the
# time it was made, and one made minutes earlier (a long run) would fail by expiry alone.
BAD_TOKENS: dict[str, Callable[[], str]] = {
    "another audience": lambda: token({**DELEGATED, "aud": "api://someone-else"}),
    "expired": lambda: token(DELEGATED, expires_in=-60),
    "not yet valid": lambda: token({**DELEGATED, "nbf": int(time.time()) + 600}),
    "unknown key id": lambda: token(DELEGATED, kid="unknown"),
    "no key id among two keys": lambda: token(DELEGATED, kid=None),  # a token must say which
    "HS256 with a secret": lambda: jwt.encode(
        {**DELEGATED, "exp": int(time.time()) + 60},
        "a shared secret, not a key of the set",
        algorithm="HS256",
        headers={"kid": "rsa"},
    ),
    "no exp": lambda: jwt.encode(DELEGATED, RSA_KEY, algorithm="RS256", headers={"kid": "rsa"}),
    "oid not a string": lambda: token({**DELEGATED, "oid": 7}),
    "no tid": lambda: token({k: v for k, v in DELEGATED.items() if k != "tid"}),
    "roles not a list": lambda: token({**APP, "roles": "not a list"}),
    # a user's token is never an application's
    "app token with a user's idtyp": lambda: token({**APP, "idtyp": "user"}),
    "user idtyp without scp": lambda: token(
        {k: v for k, v in DELEGATED.items() if k != "scp"} | {"idtyp": "user"}
    ),
    "not a JWT": lambda: "not.a.jwt",
    "empty": lambda: "",
    "over the size limit": lambda: "x" * (MAX_TOKEN_CHARS + 1),
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_r_http_4_a_token_failing_any_check_is_unknown(name: str) -> None:
    assert directory().caller(BAD_TOKENS[name]()) is None


def test_without_signature_checks_audience_and_expiry_still_hold() -> None:
    insecure = JwtDirectory(jwks=None, callers=CALLERS, verify_signature=False)
    forged = jwt.encode({**DELEGATED, "exp": int(time.time()) + 60}, "k" * 32, algorithm="HS256")
    assert isinstance(insecure.caller(forged), DelegatedUser)
    assert insecure.caller(token(DELEGATED, expires_in=-60)) is None
    assert insecure.caller(token({**DELEGATED, "aud": "other"})) is None


def test_the_callers_files_tokens_and_users_count_too() -> None:
    callers = callers_from_json(
        {"delegated": [{"token": "plain", "tenantId": TENANT, "userId": ALICE,
                        "scopes": ["OnlineMeetings.ReadWrite"]}],
         "users": [{"tenantId": TENANT, "userId": "someone", "upn": "s@contoso.com"}]},
    )  # fmt: skip
    found = JwtDirectory(jwks=JWKS, callers=callers)
    assert isinstance(found.caller("plain"), DelegatedUser)
    assert found.user(TENANT, "SOMEONE") is not None
    assert found.user(TENANT, "nobody") is None
    assert JwtDirectory(jwks=JWKS).user(TENANT, ALICE) is None


def test_a_jwks_without_a_usable_key_is_refused() -> None:
    with pytest.raises(ValueError, match="no key PyJWT can use"):
        JwtDirectory(jwks={"keys": [{"kty": "nonsense"}]})
    with pytest.raises(ValueError, match="JWKS"):
        JwtDirectory(jwks=None)


# Key sets PyJWT itself fails on with errors other than its own (KeyError, TypeError,
# NotImplementedError): each is a ValueError saying why, never another exception.
ODD_KEY_SETS: dict[str, object] = {
    "a number": 5,
    "a string": "keys",
    "keys not a list": {"keys": {"kty": "RSA"}},
    "a key that is not an object": {"keys": [7]},
    "an oct key without k": {"keys": [{"kty": "oct"}]},
    "alg none": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "alg": "none"}]},
    "alg a list": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "alg": ["HS256"]}]},
    "kty a list": {"keys": [{"kty": ["RSA"]}]},
}


@pytest.mark.parametrize("name", list(ODD_KEY_SETS))
def test_an_odd_jwks_is_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="JWKS"):
        JwtDirectory(jwks=ODD_KEY_SETS[name])  # type: ignore[arg-type]


def test_an_unusable_key_beside_a_usable_one_is_left_out() -> None:
    """As PyJWT's own key set does: the usable keys serve."""
    found = JwtDirectory(jwks={"keys": [{"kty": "oct"}, *JWKS["keys"]]}, callers=CALLERS)
    assert isinstance(found.caller(token(DELEGATED)), DelegatedUser)


def test_a_private_key_in_the_jwks_checks_with_its_public_half() -> None:
    """A test issuer's own key file (a private JWK) as the JWKS: its tokens are accepted, a
    token of another key is refused (401), never a failure of the server."""
    private_rsa = json.loads(RSAAlgorithm.to_jwk(RSA_KEY)) | {"kid": "rsa"}
    private_ec = json.loads(ECAlgorithm.to_jwk(EC_KEY)) | {"kid": "ec"}
    assert "d" in private_rsa
    assert "d" in private_ec
    found = JwtDirectory(jwks={"keys": [private_rsa, private_ec]}, callers=CALLERS)
    assert isinstance(found.caller(token(DELEGATED)), DelegatedUser)
    assert isinstance(found.caller(token(DELEGATED, kid="ec")), DelegatedUser)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({**DELEGATED, "exp": int(time.time()) + 60}, stranger,
                        algorithm="RS256", headers={"kid": "rsa"})  # fmt: skip
    assert found.caller(forged) is None


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("verify_signature", [True, False])
def test_r_http_4_times_are_json_numbers_in_both_modes(claim: str, verify_signature: bool) -> None:
    """RFC 7519's NumericDate is a JSON number: a numeric string is refused (PyJWT alone would
    take it), signed or not; so is an ``iat`` in the future, in both modes alike."""
    found = JwtDirectory(jwks=JWKS if verify_signature else None, callers=CALLERS,
                         verify_signature=verify_signature)  # fmt: skip
    now = int(time.time())
    good = {"exp": now + 600, "nbf": now - 60, "iat": now - 60}
    assert isinstance(found.caller(token({**DELEGATED, **good})), DelegatedUser)
    assert found.caller(token({**DELEGATED, **good, claim: str(good[claim])})) is None
    if claim == "iat":
        assert found.caller(token({**DELEGATED, **good, "iat": now + 600})) is None


def test_r_res_1_ids_in_any_case_name_one_organizer() -> None:
    """Object IDs are GUIDs, compared in any case: a callers file that spells a user or tenant
    in upper case and a token that spells them in lower case (as Entra does) name one user, and
    one policy."""
    app_id = "5f1c8f0e-2b7a-4c1d-9e3f-0a1b2c3d4e5f"
    upper = callers_from_json(
        {"applications": [{"tenantId": TENANT.upper(), "appId": app_id.upper(),
                           "policyUsers": [BOB.upper()]}]},
        tokens_required=False,
    )  # fmt: skip
    found = JwtDirectory(jwks=JWKS, callers=upper)
    app = found.caller(token({**APP, "appid": app_id}))
    assert isinstance(app, Application)
    assert app.policy_users == frozenset({BOB})
    other = found.caller(token({**APP, "appid": "APP-1"}))  # not a GUID: as spelled
    assert isinstance(other, Application)
    assert other.policy_users == frozenset()
    user = found.user(TENANT, BOB)
    assert user is not None
    assert user.user_id == BOB  # an organizer keeps a GUID in lower case
    personal = found.caller(token({**DELEGATED, "tid": PERSONAL_TENANT.upper()}))
    assert isinstance(personal, DelegatedUser)
    assert personal.personal


class TestCallersFile:
    def test_every_user_it_names_is_a_user_of_its_tenant(self) -> None:
        callers = callers_from_json(
            {"delegated": [{"token": "t", "tenantId": TENANT, "userId": ALICE, "upn": "a@b",
                            "scopes": ["OnlineMeetings.ReadWrite"], "personal": False}],
             "applications": [{"token": "a", "tenantId": TENANT, "appId": "app-1",
                               "roles": ["OnlineMeetings.ReadWrite.All"], "policyUsers": [BOB]}],
             "users": [{"tenantId": TENANT, "userId": "u-3"}]},
        )  # fmt: skip
        assert callers.tokens == 2
        for user in (ALICE, BOB, "u-3"):
            assert callers.directory.user(TENANT, user) is not None
        assert callers.directory.user("other-tenant", ALICE) is None
        assert callers.policies == {(TENANT, "app-1"): frozenset({BOB.lower()})}
        assert callers.first_delegated_token == "t"

    @pytest.mark.parametrize(
        ("value", "where"),
        [
            ([], "$"),
            ({"extra": []}, "$.extra"),
            ({"delegated": {}}, "$.delegated"),
            ({"delegated": [{"tenantId": TENANT, "userId": "u"}]}, "$.delegated[0].token"),
            ({"delegated": [{"token": "t", "tenantId": "", "userId": "u"}]},
             "$.delegated[0].tenantId"),
            ({"delegated": [{"token": "t", "tenantId": "t", "userId": "u", "scopes": "x"}]},
             "$.delegated[0].scopes"),
            ({"delegated": [{"token": "t", "tenantId": "t", "userId": "u", "personal": "no"}]},
             "$.delegated[0].personal"),
            ({"applications": [{"token": "t", "tenantId": "t"}]}, "$.applications[0].appId"),
            ({"users": [{"tenantId": "t", "userId": "u", "role": "x"}]}, "$.users[0].role"),
        ],
    )  # fmt: skip
    def test_a_defect_names_its_path(self, value: object, where: str) -> None:
        with pytest.raises(ValueError, match=f"^{re.escape(where)}:"):
            callers_from_json(value)
