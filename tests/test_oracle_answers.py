"""What the oracle makes of an answer: its body as JSON as Graph writes it, the later answers of
a key (their times' forms, their caller's ``Prefer``, the other version's members), the refusals a
caller's rights allow, the rule each difference is filed under, and how values are shown."""

from __future__ import annotations

import copy
import json
from typing import Any

import attrs
import pytest

from meeting_rules.enums import LobbyBypassScope
from meeting_rules.http import HttpResponse
from meeting_rules.json_text import MAX_DEPTH
from meeting_rules.oracle import Oracle
from meeting_rules.oracle_answers import ANSWER_DEPTH
from meeting_rules.settings import TenantSettings
from tests.emulators import ALICE, CALLERS, TENANT, Library, directory
from tests.test_oracle import post, rules, tampered


def with_member(response: HttpResponse, text: str, *, encoding: str = "utf-8") -> HttpResponse:
    """``response`` with ``"extension": text`` added at the end of its JSON object."""
    added = f',"extension":{text}}}'.encode(encoding)
    return attrs.evolve(response, body=response.body[:-1] + added)


# --- JSON as Graph writes it ----------------------------------------------------------------


@pytest.mark.parametrize("depth", [500, 990, 5000])
@pytest.mark.parametrize("status", [201, 200])
def test_r_http_6_an_answer_nested_too_deep_is_a_finding_never_a_failure(
    depth: int, status: int
) -> None:
    """R-HTTP-6: an answer nested deeper than ``ANSWER_DEPTH`` levels (106: OData's
    ``MaxNestingDepth`` of a kept member, 6 levels into a meeting) is a finding and is not read
    further; the oracle returns violations,
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
        assert any(f"deeper than {ANSWER_DEPTH} levels" in v.message for v in found)


def test_r_http_6_an_answer_at_the_depth_limit_is_read() -> None:
    """R-HTTP-6: ``ANSWER_DEPTH`` levels are read (a member beyond those createOrGet writes is
    allowed, the meeting being an open type); one more is not."""
    library = Library()
    request = post({"externalId": "k"})
    answer = library(request)
    inside = "[" * (ANSWER_DEPTH - 1) + "]" * (ANSWER_DEPTH - 1)
    assert Oracle(directory=directory()).check(request, with_member(answer, inside)) == ()
    too_deep = with_member(answer, "[" * ANSWER_DEPTH + "]" * ANSWER_DEPTH)
    assert "R-HTTP-6" in rules(Oracle(directory=directory()).check(request, too_deep))


@pytest.mark.parametrize("where", ["attendee", "organizer", "meeting"])
def test_r_http_6_the_librarys_deepest_answers_are_judged_without_a_finding(where: str) -> None:
    """A member a request gives is kept up to ``MAX_DEPTH`` deep where it sits, so the library's
    answer may nest deeper than that: the oracle reads it as the library writes it."""
    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    user = '{"identity": {"user": {"id": "u", "x": ' + deep + "}}}"
    body = {
        "attendee": '{"externalId": "k", "participants": {"attendees": [' + user + "]}}",
        "organizer": '{"externalId": "k", "participants": {"organizer": ' + user + "}}",
        "meeting": '{"externalId": "k", "x": ' + deep + "}",
    }[where].encode()
    for oracle in (Oracle(directory=directory()), Oracle()):
        library, request = Library(), post(body)
        created, again = library(request), library(request)
        assert (created.status, again.status) == (201, 200)
        assert oracle.check(request, created) == ()
        assert oracle.check(request, again) == ()


def _utf16(response: HttpResponse) -> HttpResponse:
    return attrs.evolve(response, body=response.body.decode("utf-8").encode("utf-16"))


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (_utf16, "not UTF-8"),
        (lambda r: attrs.evolve(r, body=r.body.decode().encode("utf-32")), "not UTF-8"),
        (lambda r: with_member(r, '"caf\u00e9"', encoding="latin-1"), "not UTF-8"),
        (lambda r: attrs.evolve(r, body=b"\xef\xbb\xbf" + r.body), "byte order mark"),
        (lambda r: with_member(r, "NaN"), "NaN"),
        (lambda r: with_member(r, "-Infinity"), "Infinity"),
        (lambda r: with_member(r, '"\\ud800"'), "lone surrogate"),
        (
            lambda r: with_member(attrs.evolve(r, body=b'{"extension":1,' + r.body[1:]), "2"),
            "twice",
        ),
    ],
    ids=["utf-16", "utf-32", "latin-1", "bom", "nan", "infinity", "lone-surrogate", "duplicate"],
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


# --- a key's later answers ------------------------------------------------------------------

PREFER = {"Prefer": "include-unknown-enum-members"}
INVITED = TenantSettings(lobby_bypass_scope=LobbyBypassScope.INVITED)


@pytest.mark.parametrize(("first", "then"), [(PREFER, {}), ({}, PREFER)], ids=["to-no", "to-yes"])
def test_r_json_3_a_get_is_written_as_its_own_caller_prefers(
    first: dict[str, str], then: dict[str, str]
) -> None:
    """R-JSON-3: a get whose caller prefers otherwise than the creating caller writes the lobby
    scope ``invited`` as that caller asks: ``unknownFutureValue`` without ``Prefer``, the member
    itself with it. The other way is a finding."""
    library, oracle = Library(settings=INVITED), Oracle(directory=directory(), settings=INVITED)
    made = post({"externalId": "k"}, headers=first)
    assert oracle.check(made, library(made)) == ()
    get = post({"externalId": "k"}, headers=then)
    answer = library(get)
    assert oracle.check(get, answer) == ()
    wrong = "unknownFutureValue" if then else "invited"
    written = tampered(answer, lambda b: b["lobbyBypassSettings"].update(scope=wrong))
    (violation,) = oracle.check(get, written)
    assert (violation.rule, violation.path) == ("R-JSON-3", "lobbyBypassSettings.scope")


def test_r_json_3_a_first_200_without_prefer_writes_unknown_future_value() -> None:
    """R-JSON-3: on an existing store, a key's first answer, a 200 to a caller without
    ``Prefer``, writes no member listed after ``unknownFutureValue``."""
    library = Library(settings=INVITED)
    request = post({"externalId": "k"})
    library(request)
    answer = library(request)
    oracle = Oracle(directory=directory(), settings=INVITED, assume_empty_store=False)
    assert oracle.check(request, answer) == ()
    invited = tampered(answer, lambda b: b["lobbyBypassSettings"].update(scope="invited"))
    fresh = Oracle(directory=directory(), settings=INVITED, assume_empty_store=False)
    assert rules(fresh.check(request, invited)) == {"R-JSON-3"}


def _plus_zero(body: dict[str, object]) -> None:
    body["startDateTime"] = "2030-01-01T00:00:00.0000000+00:00"
    body["endDateTime"] = "2030-01-01T01:00:00+00:00"


def test_r_time_6_a_later_answers_times_are_written_in_graphs_form() -> None:
    """R-TIME-6: a get that writes the meeting's instants otherwise (``+00:00``, trailing
    zeros), in the same version or the other one, is a finding, as on a 201."""
    library, oracle = Library(), Oracle(directory=directory())
    request = post({"externalId": "k", "startDateTime": "2030-01-01T00:00:00Z"})
    assert oracle.check(request, library(request)) == ()
    again = library(request)
    assert oracle.check(request, again) == ()
    found = oracle.check(request, tampered(again, _plus_zero))
    assert {(v.rule, v.path) for v in found} == {
        ("R-TIME-6", "startDateTime"),
        ("R-TIME-6", "endDateTime"),
    }
    in_v1 = post({"externalId": "k", "startDateTime": "2030-01-01T00:00:00Z"}, version="v1.0")
    got = library(in_v1)
    assert oracle.check(in_v1, got) == ()
    zoned = tampered(got, lambda b: b.update(expiryDateTime=b["expiryDateTime"][:-1] + "+00:00"))
    found = oracle.check(in_v1, zoned)
    assert {(v.rule, v.path) for v in found} == {("R-TIME-6", "expiryDateTime")}


@pytest.mark.parametrize("value", [None, 5, "x", {}, [{"upn": "x"}]])
def test_r_meet_3_a_get_in_beta_of_a_v1_meeting_has_empty_producers(value: object) -> None:
    """R-MEET-3: a get in beta of a meeting made in v1.0 writes ``producers: []`` and
    ``contributors: []``, nothing else."""
    library, oracle = Library(), Oracle(directory=directory())
    made = post({"externalId": "k"}, version="v1.0")
    assert oracle.check(made, library(made)) == ()
    get = post({"externalId": "k"})
    answer = library(get)
    assert oracle.check(get, answer) == ()
    changed = tampered(answer, lambda b: b["participants"].update(producers=value))
    (violation,) = oracle.check(get, changed)
    assert (violation.rule, violation.path) == ("R-MEET-3", "participants.producers")
    assert "the rules give []" in violation.message


def test_r_meet_3_r_time_8_a_get_in_v1_of_a_beta_meeting_has_v1_members() -> None:
    """R-MEET-3, R-TIME-8: a get in v1.0 of a meeting made in beta writes v1.0's empty lists
    (``tollNumbers``) and, with no expiry period, ``expiryDateTime: null``, nothing else."""
    chosen = TenantSettings(expiry_period=None)
    library, oracle = Library(settings=chosen), Oracle(directory=directory(), settings=chosen)
    made = post({"externalId": "k"})
    assert oracle.check(made, library(made)) == ()
    get = post({"externalId": "k"}, version="v1.0")
    answer = library(get)
    assert oracle.check(get, answer) == ()
    toll = tampered(answer, lambda b: b["audioConferencing"].update(tollNumbers=None))
    assert rules(oracle.check(get, toll)) == {"R-MEET-3"}
    soon = tampered(answer, lambda b: b.update(expiryDateTime="soon"))
    assert "R-TIME-8" in rules(oracle.check(get, soon))


# --- the rule of a difference, and how it is shown -------------------------------------------


def test_r_meet_1_r_json_1_text_in_another_case_is_its_members_rule() -> None:
    """R-MEET-1, R-JSON-1: a subject or an externalId written in another case breaks the rule
    that gives the member (R-MEET-1); only an enum member in another case is a spelling of
    Graph's enum (R-JSON-1)."""
    library = Library()
    request = post({"externalId": "Weekly", "subject": "Standup"})
    answer = library(request)

    def changed(body: dict[str, Any]) -> None:
        body.update(externalId="weekly", subject="STANDUP", allowedPresenters="Everyone")
        body["lobbyBypassSettings"]["scope"] = "Organization"

    found = Oracle(directory=directory()).check(request, tampered(answer, changed))
    assert {(v.path, v.rule) for v in found} == {
        ("externalId", "R-MEET-1"),
        ("subject", "R-MEET-1"),
        ("allowedPresenters", "R-JSON-1"),
        ("lobbyBypassSettings.scope", "R-JSON-1"),
    }


def test_r_meet_4_numbers_are_shown_as_written_not_as_booleans() -> None:
    """R-MEET-4: an answer that writes 0 and 1 for booleans is told so, not "false" and
    "true"."""
    library = Library()
    request = post({"externalId": "k"})
    answer = tampered(library(request), lambda b: b.update(isBroadcast=0, isEntryExitAnnounced=1))
    found = Oracle(directory=directory()).check(request, answer)
    assert sorted(v.message for v in found) == [
        "isBroadcast is 0; the rules give false.",
        "isEntryExitAnnounced is 1; the rules give true.",
    ]
    assert rules(found) == {"R-MEET-4"}


# --- the callers' rights --------------------------------------------------------------------


def test_r_auth_4_r_auth_3_an_application_without_its_role_on_me_gets_either() -> None:
    """R-AUTH-4, R-AUTH-3: an application without its role calling ``/me`` lacks two rights: a
    400 (an application on ``/me``) and a 403 (no role) are both right. An application with
    its role on ``/me`` lacks one: a 403 is a finding."""
    callers = copy.deepcopy(CALLERS)
    callers["applications"].append(
        {"token": "norole", "tenantId": TENANT, "appId": "app-2", "roles": [],
         "policyUsers": [ALICE]}
    )  # fmt: skip
    library, oracle = Library(callers=callers), Oracle(directory=directory(callers))
    on_me = post({"externalId": "k"}, token="norole")
    assert library(on_me).status == 400
    assert oracle.check(on_me, library(on_me)) == ()
    no_role = library(post({"externalId": "k"}, token="norole", user=ALICE))
    assert no_role.status == 403
    assert oracle.check(on_me, no_role) == ()
    with_role = post({"externalId": "k"}, token="app")
    assert rules(oracle.check(with_role, no_role)) == {"R-AUTH-4"}


def test_r_meet_3_a_meeting_made_before_the_traffic_may_hold_graphs_toll_numbers() -> None:
    """R-MEET-3: the empty lists are what these rules make; a meeting first seen in a store that
    held it before was made by Graph, whose ``tollNumbers`` holds the ``tollNumber``: in its
    first 200 a list is enough. One that is not a list is still a finding."""
    library = Library()
    request = post({"externalId": "k"}, version="v1.0")
    library(request)
    answer = library(request)
    body = json.loads(answer.body)
    body["audioConferencing"]["tollNumbers"] = [body["audioConferencing"]["tollNumber"]]
    graphs = attrs.evolve(answer, body=json.dumps(body).encode())
    existing = Oracle(directory=directory(), assume_empty_store=False)
    assert existing.check(request, graphs) == ()
    body["audioConferencing"]["tollNumbers"] = "+1 206-485-3005"
    not_a_list = attrs.evolve(answer, body=json.dumps(body).encode())
    found = Oracle(directory=directory(), assume_empty_store=False).check(request, not_a_list)
    assert rules(found) == {"R-MEET-3"}
