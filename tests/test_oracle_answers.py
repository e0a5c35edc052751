"""What the oracle makes of an answer's body: JSON as Graph writes it, the later answers of a key
(their times' forms, their caller's ``Prefer``, the other version's members), the rule each
difference is filed under, and how values are shown."""

from __future__ import annotations

import json

import attrs
import pytest

from meeting_rules.http import HttpResponse
from meeting_rules.oracle import Oracle
from tests.emulators import Library, directory
from tests.test_oracle import post, rules, tampered


def with_member(response: HttpResponse, text: str) -> HttpResponse:
    """``response`` with ``"extension": text`` added at the end of its JSON object."""
    return attrs.evolve(response, body=response.body[:-1] + f',"extension":{text}}}'.encode())


# --- JSON as Graph writes it ----------------------------------------------------------------


@pytest.mark.parametrize("depth", [500, 990, 5000])
@pytest.mark.parametrize("status", [201, 200])
def test_r_http_6_an_answer_nested_too_deep_is_a_finding_never_a_failure(
    depth: int, status: int
) -> None:
    """R-HTTP-6: an answer nested deeper than 100 levels (OData's ``MaxNestingDepth``, the
    library's own limit) is a finding and is not read further; the oracle returns violations,
    never an exception, also where the answer holds a value ``Prefer`` changes."""
    library = Library()
    request = post({"externalId": "k", "subject": "producer"})
    first = library(request)
    deep = "[" * depth + "]" * depth
    for oracle in (Oracle(directory=directory()), Oracle()):
        if status == 200:
            assert oracle.check(request, first) == ()
            answer = with_member(library(request), deep)
        else:
            answer = with_member(first, deep)
        found = oracle.check(request, answer)
        assert "R-HTTP-6" in rules(found)
        assert any("deeper than 100 levels" in v.message for v in found)


def test_r_http_6_an_answer_at_the_depth_limit_is_read() -> None:
    """R-HTTP-6: 100 levels are read (a member beyond those createOrGet writes is allowed, the
    meeting being an open type); 101 are not."""
    library = Library()
    request = post({"externalId": "k"})
    answer = library(request)
    assert (
        Oracle(directory=directory()).check(request, with_member(answer, "[" * 99 + "]" * 99)) == ()
    )
    too_deep = with_member(answer, "[" * 100 + "]" * 100)
    assert "R-HTTP-6" in rules(Oracle(directory=directory()).check(request, too_deep))


def _utf16(response: HttpResponse) -> HttpResponse:
    return attrs.evolve(response, body=response.body.decode("utf-8").encode("utf-16"))


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (_utf16, "not UTF-8"),
        (lambda r: attrs.evolve(r, body=r.body.decode().encode("utf-32")), "not UTF-8"),
        (lambda r: attrs.evolve(r, body=b"\xef\xbb\xbf" + r.body), "byte order mark"),
        (lambda r: with_member(r, "NaN"), "NaN"),
        (lambda r: with_member(r, "-Infinity"), "Infinity"),
        (lambda r: with_member(r, '"\\ud800"'), "lone surrogate"),
        (
            lambda r: with_member(attrs.evolve(r, body=b'{"extension":1,' + r.body[1:]), "2"),
            "twice",
        ),
    ],
    ids=["utf-16", "utf-32", "bom", "nan", "infinity", "lone-surrogate", "duplicate"],
)
def test_r_http_6_an_answer_that_is_not_utf8_json_is_a_finding(change: object, said: str) -> None:
    """R-HTTP-6: an answer is UTF-8 JSON, as its ``Content-Type`` says: one in UTF-16 or
    UTF-32, after a byte order mark, with NaN or Infinity, a lone surrogate or a member named
    twice is a finding; the rest of it is still judged."""
    library = Library()
    request = post({"externalId": "k"})
    answer = change(library(request))  # type: ignore[operator]
    found = Oracle(directory=directory()).check(request, answer)
    assert [v.rule for v in found if said in v.message] == ["R-HTTP-6"]
    refused = post({"externalId": ""})
    error = change(library(refused))  # type: ignore[operator]
    assert "R-HTTP-6" in rules(Oracle(directory=directory()).check(refused, error))


def test_r_http_6_an_answer_in_utf16_is_otherwise_judged_as_read() -> None:
    """R-HTTP-6, R-MEET-1: an answer in UTF-16 is read, and its members judged."""
    library = Library()
    request = post({"externalId": "k"})
    answer = library(request)
    assert rules(Oracle(directory=directory()).check(request, _utf16(answer))) == {"R-HTTP-6"}
    wrong = _utf16(tampered(answer, lambda b: b.update(subject="x")))
    assert rules(Oracle(directory=directory()).check(request, wrong)) == {"R-HTTP-6", "R-MEET-1"}
    assert json.loads(answer.body)["subject"] is None
