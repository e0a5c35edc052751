"""Tests for the ``GraphError`` tree."""

from __future__ import annotations

import pickle

import pytest

import meeting_rules
from meeting_rules import errors
from meeting_rules.errors import quoted

TREE = [
    (errors.BadRequestError, 400, "BadRequest"),
    (errors.UnauthorizedError, 401, "InvalidAuthenticationToken"),
    (errors.ForbiddenError, 403, "Forbidden"),
    (errors.NotFoundError, 404, "NotFound"),
    (errors.MethodNotAllowedError, 405, "MethodNotAllowed"),
    (errors.UnprocessableEntityError, 422, "UnprocessableEntity"),
    (errors.InternalServerError, 500, "InternalServerError"),
    (errors.ServiceUnavailableError, 503, "ServiceUnavailable"),
]


@pytest.mark.parametrize(("cls", "status", "code"), TREE)
class TestGraphError:
    """Each error class carries its status and Graph code."""

    def test_status_and_default_code(
        self, cls: type[errors.GraphError], status: int, code: str
    ) -> None:
        """The class says its HTTP answer (R-HTTP-4: 401 InvalidAuthenticationToken)."""
        error = cls("m", target="a.b")
        assert isinstance(error, meeting_rules.GraphError)
        assert (error.status, error.code, error.message, error.target) == (status, code, "m", "a.b")
        assert str(error) == f"{status} {code}: m (target: a.b)"

    def test_code_can_be_given(self, cls: type[errors.GraphError], status: int, code: str) -> None:
        """A Graph code other than the default (R-AUTH-2's AuthenticationError) is kept."""
        error = cls("m", code="AuthenticationError")
        assert (error.code, error.target, str(error)) == (
            "AuthenticationError",
            None,
            f"{status} AuthenticationError: m",
        )

    def test_pickles(self, cls: type[errors.GraphError], status: int, code: str) -> None:
        """Errors cross process boundaries with every field."""
        error = cls("m", code="C", target="t")
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is cls
        assert (again.status, again.code, again.message, again.target) == (status, "C", "m", "t")
        assert repr(again) == repr(error)

    def test_message_by_keyword(self, cls: type[errors.GraphError], status: int, code: str) -> None:
        """A message given by keyword is the exception's argument too."""
        error = cls(message="m", target="t")
        assert (error.args, error.message, str(error)) == (
            ("m",),
            "m",
            f"{status} {code}: m (target: t)",
        )


def test_every_status_class_is_exported() -> None:
    """The whole tree is importable from the package."""
    for cls, _, _ in TREE:
        assert getattr(meeting_rules, cls.__name__) is cls


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a\x00b", "a\\u0000b"),
        ("\ud800", "\\ud800"),
        ("tab\there", "tab\\there"),
        ("x" * 100, "x" * 80 + "..."),
        ("é", "é"),
    ],
)
def test_quoted_makes_message_text_clean(text: str, expected: str) -> None:
    """Text quoted in a message is cut short and has control characters and surrogates escaped."""
    assert quoted(text) == expected
    quoted(text).encode("utf-8")
