"""The oracle without the callers (``Oracle()``, ``meeting-rules check`` without ``--callers``):
the callers' refusals are taken as they come, whatever else the request holds, and an answer
lost behind a 503 leaves its key unsure although no organizer is named."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import attrs
import pytest

from meeting_rules.cli import main
from meeting_rules.errors import ServiceUnavailableError
from meeting_rules.http import HttpRequest, refuse
from meeting_rules.oracle import Oracle
from meeting_rules.settings import TenantSettings
from meeting_rules.testing import check_emulator
from tests.emulators import ALICE, BOB, Library, Recorder, directory, write_jsonl
from tests.test_oracle import post, rules

LATE_END = {"externalId": "k", "endDateTime": "2030-01-01T00:00:00Z"}  # R-TIME-3 as well

CALLERS_AND_BODY = [
    pytest.param(post(LATE_END, token=None), 401, id="no-token"),
    pytest.param(post({"externalId": "k"}, token=None, headers={"Content-Type": "text/plain"}),
                 401, id="no-token-text-plain"),
    pytest.param(post({}, token="nobody"), 401, id="unknown-token-no-external-id"),
    pytest.param(post({"externalId": "k", "subject": 5}, token="carol"), 403, id="personal"),
    pytest.param(post(LATE_END, token="app", user=BOB), 403, id="no-policy"),
    pytest.param(post(LATE_END, token="app", user="bob@contoso.com"), 404, id="upn"),
    pytest.param(post(LATE_END, token="app"), 400, id="application-on-me"),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "status"), CALLERS_AND_BODY)
def test_r_http_4_r_auth_without_callers_their_refusals_come_before_the_body(
    request_: HttpRequest, status: int
) -> None:
    """R-HTTP-4, R-AUTH-2..4, R-HTTP-2: without the callers, the library's 401, 403, 404 and
    the application's 400 on ``/me`` are taken as they come, also when the body or its
    ``Content-Type`` has a defect of its own (the token comes before anything else; the rules
    set no order between the rights and the body)."""
    answer = Library()(request_)
    assert answer.status == status
    assert Oracle().check(request_, answer) == ()
    # with the callers, the same answer is judged, and right
    assert Oracle(directory=directory()).check(request_, answer) == ()


def test_r_http_4_without_callers_a_body_refusal_is_still_judged() -> None:
    """R-TIME-3: without the callers, a body defect answered with another 400, or with a 201,
    is still a finding."""
    request = post(LATE_END)
    answer = Library()(request)
    assert answer.status == 400
    assert Oracle().check(request, answer) == ()
    created = Library()(post({"externalId": "k"}))
    assert rules(Oracle().check(request, created)) == {"R-TIME-3"}


def test_the_librarys_traffic_has_no_finding_without_callers(tmp_path: Path) -> None:
    """R-HTTP-4, R-AUTH-*, R-BODY-*: the library's own answers to every kind of request
    ``check_emulator`` drives (bad tokens and rights together with bad bodies among them) pass
    an oracle without the callers, and ``meeting-rules check`` without ``--callers``."""
    recorder = Recorder(Library())
    check_emulator(recorder, directory=directory(), max_examples=60)
    assert {401, 403, 404} <= {response.status for _, response in recorder.exchanges}
    blind = Oracle()
    found = [v for request, answer in recorder.exchanges for v in blind.check(request, answer)]
    assert found == []
    path = write_jsonl(tmp_path / "library.jsonl", recorder.exchanges)
    out = io.StringIO()
    assert main(["check", str(path), "--json"], stdout=out, stderr=io.StringIO()) == 0
    assert json.loads(out.getvalue())["violations"] == []


@pytest.mark.parametrize(("token", "user"), [("alice", None), ("app", ALICE)], ids=["me", "users"])
def test_r_res_2_without_callers_a_lost_answer_leaves_the_key_unsure(
    token: str, user: str | None
) -> None:
    """R-RES-2: without the callers, a meeting made whose 201 was lost behind a 503 (which
    names no organizer), then the client's retry answered 200, is no finding."""
    library, blind = Library(), Oracle()
    request = post({"externalId": "k"}, token=token, user=user)
    made = library(request)
    assert made.status == 201
    lost = refuse(
        request,
        ServiceUnavailableError("The answer was lost.", retry_after_seconds=1),
        clock=library.clock,
        ids=library.ids,
        instead_of=made,
    )
    assert blind.check(request, lost) == ()
    retried = library(request)
    assert retried.status == 200
    assert blind.check(request, retried) == ()
    assert blind.check(request, library(request)) == ()  # now known: its meeting judged


def test_r_res_2_without_callers_an_unsure_key_is_that_external_ids_only() -> None:
    """R-RES-2: a 503 for one externalId (or for one path's user) leaves the other keys as they
    were: a 200 for a key no exchange created is still a finding."""
    library, blind = Library(), Oracle()
    throttled = post({"externalId": "k"}, token="app", user=ALICE)
    assert blind.check(throttled, refuse(
        throttled, ServiceUnavailableError("later"), clock=library.clock, ids=library.ids
    )) == ()  # fmt: skip
    other_key = post({"externalId": "j"})
    library(other_key)
    assert rules(blind.check(other_key, library(other_key))) == {"R-RES-2"}
    other_user = post({"externalId": "k"}, token="bob")
    library(other_user)
    assert rules(blind.check(other_user, library(other_user))) == {"R-RES-2"}


def test_r_res_2_without_callers_a_lost_answer_to_a_refused_body_marks_nothing() -> None:
    """R-RES-2: a 503 for a request whose body the rules refuse (it cannot have stored a
    meeting) leaves every key as it was: a 200 no exchange created is still a finding."""
    library, blind = Library(), Oracle()
    refused = post(LATE_END)
    assert blind.check(refused, refuse(
        refused, ServiceUnavailableError("later"), clock=library.clock, ids=library.ids
    )) == ()  # fmt: skip
    valid = post({"externalId": "k"})
    library(valid)
    assert rules(blind.check(valid, library(valid))) == {"R-RES-2"}


def test_r_res_3_without_callers_a_strict_tenants_422_for_a_get_is_taken() -> None:
    """R-RES-3: a strict tenant's 422 names no organizer; without the callers it is taken for a
    get where a key of its externalId may be stored, and refused as a valid request otherwise."""
    strict = TenantSettings(strict_mismatch=True)
    library, blind = Library(settings=strict), Oracle(settings=strict)
    first, differing = (
        post({"externalId": "k", "subject": "one"}),
        post({"externalId": "k", "subject": "two"}),
    )
    assert blind.check(first, library(first)) == ()
    answer = library(differing)
    assert answer.status == 422
    assert blind.check(differing, answer) == ()
    other = post({"externalId": "never-created", "subject": "two"})
    assert "R-RES-3" in rules(Oracle(settings=strict).check(other, answer))


def test_r_res_2_without_callers_an_error_answer_costs_no_walk_of_the_keys() -> None:
    """Without the callers an error answer names no organizer, and whether a key of its
    externalId may be stored is looked up, not searched for among every key seen: four times
    the keys cost about four times the time (a walk of them all cost sixteen)."""

    def judged(keys: int) -> float:
        library, blind = Library(), Oracle()
        for n in range(keys):
            request = post({"externalId": f"k{n}"})
            assert blind.check(request, library(request)) == ()
        failed = refuse(post({"externalId": "x"}), ServiceUnavailableError("x"),
                        clock=library.clock, ids=library.ids)  # fmt: skip
        answer = attrs.evolve(failed, status=500)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for n in range(keys):
                blind.check(post({"externalId": f"other{n}"}), answer)
            best = min(best, time.perf_counter() - started)
        return best

    assert judged(4_000) < 9 * judged(1_000)


def test_r_http_3_a_401_to_a_wrong_method_is_the_tokens_refusal() -> None:
    """R-HTTP-3, R-HTTP-4: a service may check the token before the method. A 401 to a GET of
    createOrGet without a token is right, with the callers and without them; with a good token,
    the rules give 405 only."""
    library = Library()
    tokenless = attrs.evolve(post({"externalId": "k"}, token=None), method="GET")
    unauthorized = library(post({"externalId": "k"}, token=None))
    assert unauthorized.status == 401
    assert Oracle().check(tokenless, unauthorized) == ()
    assert Oracle(directory=library.directory).check(tokenless, unauthorized) == ()
    with_token = attrs.evolve(post({"externalId": "k"}), method="GET")
    assert library(with_token).status == 405
    assert rules(Oracle(directory=library.directory).check(with_token, unauthorized)) == {
        "R-HTTP-3"
    }


def test_r_res_5_with_callers_a_lost_answer_to_a_refused_body_marks_nothing() -> None:
    """R-RES-5: a body the rules refuse cannot have stored a meeting, so a 503 to it leaves its
    key as it was: a later 200 that no exchange created is still a finding."""
    library, elsewhere = Library(), Library()
    oracle = Oracle(directory=library.directory)
    refused = post({"externalId": "a", "startDateTime": "not a time"})
    assert library(refused).status == 400
    lost = refuse(refused, ServiceUnavailableError("later"), clock=library.clock, ids=library.ids)
    assert oracle.check(refused, lost) == ()
    get = post({"externalId": "a"})
    made_elsewhere = elsewhere(get)  # a 200 of a meeting this traffic never created
    answer = attrs.evolve(made_elsewhere, status=200)
    assert rules(oracle.check(get, answer)) == {"R-RES-2"}


def test_lost_marks_the_key_its_request_names_or_every_key() -> None:
    """``Oracle.lost``: an exchange whose answer could not be read may have stored a meeting:
    its request's key is unsure, or every key when its request is unknown too; a request the
    rules refuse (here, another method than POST) marks nothing."""
    library, elsewhere = Library(), Library()
    get = post({"externalId": "a"})
    made = elsewhere(get)
    stray = attrs.evolve(made, status=200)  # a 200 for "a", which this traffic never created
    for lost, found in (
        (None, set()),
        (post({"externalId": "a"}), set()),
        (post({"externalId": "b"}), {"R-RES-2"}),
        (attrs.evolve(post({"externalId": "a"}), method="GET"), {"R-RES-2"}),
    ):
        oracle = Oracle(directory=library.directory)
        oracle.lost(lost)
        assert rules(oracle.check(get, stray)) == found, lost
