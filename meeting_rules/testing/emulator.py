"""``check_emulator``: drive any createOrGet implementation with a Hypothesis state machine and
judge every answer with the oracle; ``asgi_sender`` and ``http_sender`` reach an ASGI app and a
running server.

The machine has two kinds of step. An exchange: a caller of the directory (or a missing or
unknown token), a route (``/me``, the caller's own ``/users/{id}``, another user, an unknown one,
a UPN), a version, and a body: valid or with one defect, its ``externalId`` taken from a pool of
three keys so that keys repeat, within an organizer and across organizers. A repeat: an earlier
step's caller, route and key with another valid body (a get). Each example uses keys of its own
(a fresh prefix), so the implementation's store needs no emptying between examples. A sequence
is at most ``_STEPS`` long, and a failing one is shortened by replaying variants of it
(``_shortest``), in seconds, where Hypothesis' shrinking of a state machine can take minutes.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import secrets
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from . import kit_missing

try:
    from hypothesis import HealthCheck, Phase
    from hypothesis import settings as HypothesisSettings
    from hypothesis import strategies as st
    from hypothesis.stateful import (
        RuleBasedStateMachine,
        precondition,
        rule,
        run_state_machine_as_test,
    )
except ModuleNotFoundError as missing:  # pragma: no cover (a test runs it in a subprocess)
    raise kit_missing(missing) from None

from ..directory import InMemoryDirectory
from ..enums import ApiVersion
from ..errors import quoted
from ..http import HttpRequest, HttpResponse
from ..instant import Instant
from ..oracle import Oracle, Violation
from ..ports import Application, DelegatedUser
from ..settings import TenantSettings
from .strategies import instant_texts, invalid_request_bodies, request_bodies, texts

__all__ = ["check_emulator"]

Send = Callable[[HttpRequest], HttpResponse]
_T = TypeVar("_T")

_STEPS = 8
"""The longest sequence of exchanges in one example."""
_KEYS = ("a", "b", "c")
_REPLAYS = 60
"""The most replays ``_shortest`` makes of a failing sequence."""
_UNKNOWN_USER = "00000000-0000-4000-8000-00000000dead"
_SHOWN_BODY = 1500
_prefixes = itertools.count()


def check_emulator(
    send: Send,
    *,
    directory: InMemoryDirectory,
    version: ApiVersion | str | None = None,
    max_examples: int = 100,
    settings: TenantSettings | None = None,
) -> None:
    """Drive ``send`` with createOrGet exchanges of the callers in ``directory`` and judge every
    answer with ``Oracle``.

    Args:
        send: an implementation: ``HttpRequest -> HttpResponse`` (``asgi_sender``,
            ``http_sender`` or any callable).
        directory: the callers (tokens) and users the implementation knows.
        version: one API version to drive, or ``None`` for both.
        max_examples: how many sequences of exchanges to try.
        settings: the ``TenantSettings`` the implementation runs with (Graph's by default).

    Raises:
        AssertionError: naming the rule broken, with the shortest sequence of exchanges found
            that shows it, written as HTTP.
    """
    versions = list(ApiVersion) if version is None else [ApiVersion(version)]
    callers = directory.callers()
    if not callers:
        raise ValueError("the directory holds no callers: register them with add_* first")
    users = [u.user_id for u in directory.users()]
    nonce = secrets.token_hex(4)
    exchanges = _exchanges(callers, users, versions)
    # The first failure, reported once Hypothesis returns. Hypothesis replays a failing example
    # to show it, and an implementation with random faults or state of its own may fail that
    # replay otherwise, or not at all (Hypothesis then raises FlakyFailure): what was found and
    # shortened first is the report, and after it nothing more is sent.
    found: list[Exception] = []

    def replay(steps: list[_Exchange]) -> _Run:
        """The steps against ``send`` with keys of their own, up to the first violation."""
        run = _Run(Oracle(directory=directory, settings=settings), f"mr-{nonce}-{next(_prefixes)}-")
        for step in steps:
            try:
                if run.step(step, send):
                    break
            except Exception:  # the implementation raised: the run ends there
                break
        return run

    class EmulatorMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.run = _Run(
                Oracle(directory=directory, settings=settings), f"mr-{nonce}-{next(_prefixes)}-"
            )

        @rule(make=exchanges)
        def exchange(self, make: _Exchange) -> None:
            self._judged(make)

        @precondition(lambda self: bool(self.run.steps))
        @rule(pick=st.integers(0, _STEPS), again=_lean(ApiVersion.BETA))
        def repeat(self, pick: int, again: tuple[Any, bool]) -> None:
            """An earlier step's caller, route and key, with another valid body: a get."""
            earlier = self.run.steps[pick % len(self.run.steps)]
            version = ApiVersion.BETA if earlier.path.startswith("/beta/") else ApiVersion.V1_0
            body = again[0] if version is ApiVersion.BETA else _in_v1(again[0])
            self._judged(attrs.evolve(earlier, body=body, key=earlier.key or _KEYS[0]))

        def _judged(self, make: _Exchange) -> None:
            if found:
                raise _Found  # Hypothesis' replay of the failing example: nothing is sent
            try:
                violations = self.run.step(make, send)
            except Exception as error:
                # the implementation failed to answer: its own error, with the shortest story
                kind = type(error)
                shortest = _shortest(self.run, lambda run: type(run.raised) is kind, replay)
                error.add_note(_report((), shortest.seen, unanswered=shortest.unanswered))
                found.append(error)
                raise
            if violations:
                rule = violations[0].rule
                shortest = _shortest(self.run, lambda run: run.shows(rule), replay)
                found.append(AssertionError(_report(shortest.violations, shortest.seen)))
                raise found[0]

    try:
        run_state_machine_as_test(EmulatorMachine, settings=settings_for(max_examples))
    except Exception:
        if not found:
            raise
    if found:
        raise found[0] from None


class _Found(Exception):
    """A failure was found and reported: the steps of Hypothesis' replay stop at once."""


class _Run:
    """One sequence of exchanges, judged as it goes."""

    def __init__(self, oracle: Oracle, prefix: str) -> None:
        self.oracle = oracle
        self.prefix = prefix
        self.steps: list[_Exchange] = []
        self.seen: list[tuple[HttpRequest, HttpResponse]] = []
        self.violations: tuple[Violation, ...] = ()
        self.raised: Exception | None = None
        self.unanswered: HttpRequest | None = None  # the request ``send`` raised on

    def step(self, make: _Exchange, send: Send) -> tuple[Violation, ...]:
        request = make(self.prefix)
        self.steps.append(make)
        try:
            response = _checked(send(request))
        except Exception as error:
            self.raised = error
            self.unanswered = request
            raise
        self.seen.append((request, response))
        self.violations = self.oracle.check(request, response)
        return self.violations

    def shows(self, rule: str) -> bool:
        return any(v.rule == rule for v in self.violations)


def _checked(response: object) -> HttpResponse:
    """What ``send`` returned, if it is an answer the oracle can judge; else a ``TypeError``
    saying what it was (reported as the implementation's failure, with its story)."""
    if not isinstance(response, HttpResponse):
        raise TypeError(f"send returned {quoted(repr(response), 200)}, not an HttpResponse")
    if type(response.status) is not int or not isinstance(response.body, bytes):
        raise TypeError(
            f"send returned an HttpResponse whose status is {type(response.status).__name__} "
            f"and body {type(response.body).__name__}; they are int and bytes"
        )
    headers = response.headers
    if not isinstance(headers, Mapping) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in headers.items()
    ):
        raise TypeError("send returned an HttpResponse whose headers are not a str: str mapping")
    return response


def _shortest(
    found: _Run, fails: Callable[[_Run], bool], replay: Callable[[list[_Exchange]], _Run]
) -> _Run:
    """The failing sequence made short and simple, by replaying variants of it (at most
    ``_REPLAYS``) that still fail the same way (``fails``: the same rule broken, or the same
    error raised): without each step in turn, then each step with its body cut to
    ``{"externalId": key}`` and without its client-request-id.

    This is the whole shrinking of ``check_emulator``: a replay costs a few exchanges, where
    Hypothesis' own shrinking of a state machine can take minutes of them."""
    best = found
    budget = _REPLAYS

    def attempt(steps: list[_Exchange]) -> bool:
        nonlocal best, budget
        if budget <= 0:
            return False
        budget -= 1
        run = replay(steps)
        if fails(run) and len(run.steps) <= len(best.steps):
            best = run
            return True
        return False

    index = 0
    while index < len(best.steps) - 1:
        if not attempt(best.steps[:index] + best.steps[index + 1 :]):
            index += 1
    for index in range(len(best.steps)):
        for simpler in best.steps[index].simpler():
            attempt([*best.steps[:index], simpler, *best.steps[index + 1 :]])
    return best


def settings_for(max_examples: int) -> HypothesisSettings:
    """Hypothesis settings of ``check_emulator``: no deadline (a server may be slow), no example
    database (an implementation's state is not replayable), at most ``_STEPS`` steps, and no
    shrinking phase: ``_shortest`` shrinks, within a bounded number of replays."""
    return HypothesisSettings(
        max_examples=max_examples,
        stateful_step_count=_STEPS,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate),
    )


def _exchanges(
    callers: dict[str, DelegatedUser | Application], users: list[str], versions: list[ApiVersion]
) -> st.SearchStrategy[_Exchange]:
    """One exchange, as a function of the example's key prefix."""
    tokens = sorted(callers)

    @st.composite
    def make(draw: st.DrawFn) -> _Exchange:
        version = draw(st.sampled_from(versions))
        token = draw(st.sampled_from([*tokens, *tokens, *tokens, "", "not-a-known-token"]))
        caller = callers.get(token)
        own = caller.user_id if isinstance(caller, DelegatedUser) else None
        # Routes that can succeed come first (and more often), so that a failure shrinks to them.
        if isinstance(caller, Application):
            allowed = [u for u in users if u.lower() in caller.policy_users]
            others = [u for u in users if u not in allowed]
            choices = [*allowed * 4, *others, None, _UNKNOWN_USER, "someone@contoso.com"]
        else:
            choices = [*[None] * 6, *([own] if own else []), *users]
        user = draw(st.sampled_from(choices))
        key = draw(st.sampled_from(_KEYS))
        body, keyed = draw(_bodies(version))
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if draw(st.integers(0, 9)) == 0:
            headers["Content-Type"] = "text/plain"
        if draw(st.booleans()):
            headers["client-request-id"] = f"c-{draw(st.integers(0, 999))}"
        where = "/me" if user is None else f"/users/{urllib.parse.quote(user, safe='@')}"
        path = f"/{version.value}{where}/onlineMeetings/createOrGet"

        return _Exchange(path, headers, body, key if keyed else None)

    return make()


@st.composite
def _lean(draw: st.DrawFn, version: ApiVersion) -> tuple[Any, bool]:
    """A valid body of the members createOrGet reads, each present or not."""
    body: dict[str, Any] = {"externalId": ""}
    if draw(st.booleans()):
        body["subject"] = draw(st.none() | texts)
    shape = draw(st.sampled_from(["none", "start", "both"]))
    if shape != "none":
        start, text = draw(instant_texts(max_value=_LATEST))
        body["startDateTime"] = text
        if shape == "both":
            body["endDateTime"] = draw(instant_texts(min_value=start))[1]
    if draw(st.booleans()):
        people = st.tuples(st.sampled_from(["ann", "bo"]), st.sampled_from(_ROLES))
        body["participants"] = {
            "attendees": [
                {
                    "upn": f"{name}@contoso.com",
                    "role": role,  # any case: enums are read so (R-BODY-7)
                    "identity": {"user": {"id": f"id-{name}"}},
                }
                for name, role in draw(st.lists(people, max_size=2))
            ]
        }
    if draw(st.booleans()):
        body["allowedPresenters"] = "organizer"  # a meeting option: ignored (R-BODY-3)
    if version is ApiVersion.BETA and draw(st.integers(0, 3)) == 0:
        body["chatInfo"] = {"threadId": "19:channel@thread.tacv2"}
    return body, True


def _bodies(version: ApiVersion) -> st.SearchStrategy[tuple[Any, bool]]:
    """A body, and whether its ``externalId`` is to be the step's key. Simplest first, so that
    a failure shrinks to ``{"externalId": key}`` when that is enough to show it."""

    @st.composite
    def defect(draw: st.DrawFn) -> tuple[Any, bool]:
        kind = draw(st.sampled_from(_DEFECTS))
        when, text = draw(instant_texts(min_value=_EARLIEST))
        before = str(when - _dt.timedelta(minutes=draw(st.integers(1, 600))))
        body: dict[str, Any] = {"externalId": ""}
        if kind == "end-before-start":
            body.update(startDateTime=text, endDateTime=before)
        elif kind == "end-without-start":
            body.update(endDateTime=text)
        elif kind == "zoneless":
            body.update(startDateTime=str(when)[:-1])
        elif kind == "no-id":
            return {"subject": "x"}, False
        elif kind == "null-id":
            return {"externalId": None}, False
        elif kind == "empty-id":
            return {"externalId": ""}, False
        elif kind == "role":
            body["participants"] = {"attendees": [{"role": "unknownFutureValue"}]}
        elif kind == "subject":
            body["subject"] = 5
        return body, True

    kit = invalid_request_bodies(version=version).map(
        lambda case: (case[0], case[2] != "externalId")
    )
    return st.one_of(  # a branch named twice is drawn twice as often
        st.just(({"externalId": ""}, True)),
        _lean(version),
        _lean(version),
        defect(),
        defect(),
        request_bodies(version=version).map(lambda body: (body, True)),
        kit,
    )


_DEFECTS = [
    "end-before-start", "end-without-start", "zoneless", "no-id", "null-id", "empty-id", "role",
    "subject",
]  # fmt: skip
_LATEST = Instant.MAX - _dt.timedelta(hours=1)
_ROLES = ["attendee", "Attendee", "PRESENTER", None]
_EARLIEST = Instant.parse("0001-01-02T00:00:00Z")


@attrs.frozen(repr=False)
class _Exchange:
    """One step's request, made when the step runs (the key gets the example's prefix)."""

    path: str
    headers: dict[str, str]
    body: Any
    key: str | None  # None: the body's own externalId is kept (a defect of it)

    def __call__(self, prefix: str) -> HttpRequest:
        payload = self.body
        if self.key is not None and isinstance(payload, dict):
            payload = {**payload, "externalId": prefix + self.key}
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode("utf-8", "surrogatepass")
        else:
            data = json.dumps(payload).encode("utf-8", "surrogatepass")
        return HttpRequest(method="POST", path=self.path, headers=self.headers, body=data)

    def simpler(self) -> list[_Exchange]:
        """Simpler forms of this step: the body reduced to its key, no client-request-id."""
        found = []
        if self.key is not None and self.body != {"externalId": ""}:
            found.append(attrs.evolve(self, body={"externalId": ""}))
        if "client-request-id" in self.headers:
            headers = {k: v for k, v in self.headers.items() if k != "client-request-id"}
            found.append(attrs.evolve(self, headers=headers))
        return found

    def __repr__(self) -> str:
        body = self.body
        if self.key is not None and isinstance(body, dict):
            body = {**body, "externalId": f"<key {self.key}>"}
        token = self.headers.get("Authorization", "no token")
        return f"<POST {self.path} {token!r} {quoted(repr(body), 200)}>"


def _in_v1(body: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name != "chatInfo"}


# --- the report -----------------------------------------------------------------------------


def _report(
    violations: Iterable[Violation],
    seen: list[tuple[HttpRequest, HttpResponse]],
    *,
    unanswered: HttpRequest | None = None,
) -> str:
    """The violations, then the exchanges that led to them as HTTP; with ``unanswered``, the
    request the implementation raised on instead of answering, last."""
    found = list(violations)
    # Each message is bounded by the oracle (MESSAGE_LIMIT), each body here (_SHOWN_BODY).
    lines = [f"{v.rule}: {v.message}" + (f" (at {v.path})" if v.path else "") for v in found]
    count = len(seen) + (unanswered is not None)
    what = (
        "the implementation raised on the last one"
        if unanswered
        else "the last one breaks the rule"
    )
    lines += ["", f"The sequence of exchanges ({count}; {what}):"]
    for index, (request, response) in enumerate(seen):
        lines += ["", f"--- exchange {index} ---", *_http(request, response)]
    if unanswered is not None:
        lines += ["", f"--- exchange {len(seen)} ---", *_http(unanswered, None)]
    return "\n".join(lines).lstrip("\n")


def _http(request: HttpRequest, response: HttpResponse | None) -> list[str]:
    lines = [f"{request.method} {request.path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines += ["", _body_text(request.body), ""]
    if response is None:
        return [*lines, "(no answer: the implementation raised)"]
    lines.append(f"HTTP/1.1 {response.status}")
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    lines += ["", _body_text(response.body)]
    return lines


def _body_text(body: bytes) -> str:
    text = body.decode("utf-8", "backslashreplace")
    return text if len(text) <= _SHOWN_BODY else text[:_SHOWN_BODY] + f"... ({len(body)} bytes)"
