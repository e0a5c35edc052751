"""Fuzzing: whatever arrives, the readers answer with a value or a 400 ``GraphError``, nothing else.

Run long before a release: ``HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_fuzz.py``
(10,000 examples a property).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from meeting_rules import (
    ApiVersion,
    CreateOrGetRequest,
    FixedClock,
    GraphError,
    Instant,
    OnlineMeeting,
    SeededIdFactory,
    TenantSettings,
)
from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.graph_json import (
    dumps_meeting,
    meeting_from_json,
    parse_create_or_get,
    request_to_json,
)
from meeting_rules.http import DELEGATED_SCOPE, HttpRequest, InMemoryDirectory, handle
from meeting_rules.testing.strategies import json_values
from tests.conftest import data_bytes, data_json

SEEDS = [
    data_json("seed-example1-request.json"),
    data_json("seed-example2-request.json"),
]
RESPONSES = [
    data_json("seed-example1-response.json"),
    data_json("seed-example2-response.json"),
]

nasty_strings = st.sampled_from(
    [
        "",
        "\x00",
        "\ud800",
        "a\udfffb",
        "2020-01-01T00:00:00",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.99999999Z",
        "unknownFutureValue",
        "PRESENTER",
        "null",
        "é" * 3,
    ]
)


class OddMapping(Mapping[str, Any]):
    """A Mapping that is not a dict, as a caller's own decoded body may be."""

    def __init__(self, items: dict[str, Any]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


python_containers = st.recursive(
    json_values(max_leaves=4),
    lambda inner: (
        st.lists(inner, max_size=2).map(tuple)
        | st.dictionaries(st.text(max_size=3), inner, max_size=2).map(OddMapping)
        | st.dictionaries(st.text(max_size=3), inner, max_size=2).map(MappingProxyType)
    ),
    max_leaves=6,
)
nasty_values = (
    json_values()
    | python_containers
    | nasty_strings
    | st.sampled_from([float("nan"), float("inf"), 10**5000, -(10**400), 1e308, True, b"x", {1, 2}])
    | st.recursive(
        st.just(1), lambda inner: st.lists(inner, min_size=1, max_size=1), max_leaves=200
    )
)
snippets = st.sampled_from(
    [
        b'"externalId": "dup",',
        b'"\\u0000"',
        b'"\\ud800"',
        b"1e999",
        b"NaN",
        b"[" * 2000,
        b"}",
        b",",
        b"\xff",
        b"\xc3",
        b'"',
        b"\\",
        b"null",
        b"-",
        b"0" * 5000,
        b'"a":',
        b"\x00",
        b"\xef\xbb\xbf",
    ]
)


def answers(read: Callable[[Any], object], body: Any) -> object:
    """Call ``read``: a value, or a 400 GraphError that pickles; anything else fails the test."""
    try:
        return read(body)
    except GraphError as error:
        assert error.status == 400
        assert error.code == "BadRequest"
        assert isinstance(error.message, str)
        assert error.message
        assert error.target is None or isinstance(error.target, str)
        again = pickle.loads(pickle.dumps(error))
        assert (again.message, again.target) == (error.message, error.target)
        return error


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, documents: list[Any]) -> Any:
    """A seed body with one member replaced, removed or added, anywhere in the tree."""
    doc = json.loads(json.dumps(draw(st.sampled_from(documents))))
    path = draw(st.sampled_from(paths(doc)))
    if not path:
        return draw(nasty_values)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace":
        parent[path[-1]] = draw(nasty_values)
    elif action == "remove":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(st.text(max_size=5))] = draw(nasty_values)
    else:
        parent.append(draw(nasty_values))
    return doc


@st.composite
def mutated_bytes(draw: st.DrawFn, documents: list[Any]) -> bytes:
    """A seed body as bytes with a nasty snippet spliced in, or bytes cut out."""
    raw = json.dumps(draw(st.sampled_from(documents))).encode()
    start = draw(st.integers(0, len(raw)))
    end = draw(st.integers(start, min(len(raw), start + 8)))
    return raw[:start] + draw(snippets | st.binary(max_size=4)) + raw[end:]


def dumps_if_json(value: Any) -> Any:
    try:
        return json.dumps(value).encode()
    except (TypeError, ValueError):
        return value


class TestRequestFuzz:
    """``parse_create_or_get`` under arbitrary input."""

    @given(nasty_values, st.sampled_from(list(ApiVersion)), st.booleans())
    def test_arbitrary_values(self, body: Any, version: ApiVersion, strict: bool) -> None:
        """Any decoded value, as a mapping or as its JSON bytes, answers or is a 400."""
        for form in (body, dumps_if_json(body)):
            result = answers(lambda b: parse_create_or_get(b, version=version, strict=strict), form)
            assert isinstance(result, CreateOrGetRequest | GraphError)
            if isinstance(result, CreateOrGetRequest):
                written = request_to_json(result, version=version)
                assert json.loads(json.dumps(written)) == written

    @given(mutated(SEEDS), st.sampled_from(list(ApiVersion)), st.booleans())
    def test_mutated_seed_bodies(self, body: Any, version: ApiVersion, strict: bool) -> None:
        """A seed body with any one member changed answers or is a 400, as a mapping or as bytes."""
        read = lambda b: parse_create_or_get(b, version=version, strict=strict)  # noqa: E731
        first = answers(read, body)
        second = answers(read, dumps_if_json(body))
        if isinstance(second, CreateOrGetRequest) and isinstance(first, CreateOrGetRequest):
            assert first == second

    @given(mutated_bytes(SEEDS) | st.binary(max_size=64))
    def test_mutated_seed_bytes(self, raw: bytes) -> None:
        """Broken bytes, bad encodings, duplicate keys and deep nesting are 400s."""
        answers(parse_create_or_get, raw)
        answers(parse_create_or_get, raw.decode("utf-8", "surrogateescape"))


class TestResponseFuzz:
    """``meeting_from_json`` under arbitrary input."""

    @given(mutated(RESPONSES) | nasty_values)
    def test_mutated_responses(self, body: Any) -> None:
        """Any changed response answers or is a 400; what it answers writes back as it was read."""
        result = answers(meeting_from_json, body)
        if isinstance(result, OnlineMeeting):
            raw = dumps_meeting(result, include_unknown_enum_members=True)
            again = meeting_from_json(raw)
            assert again == result
            assert dumps_meeting(again, include_unknown_enum_members=True) == raw

    @given(mutated_bytes(RESPONSES))
    def test_mutated_response_bytes(self, raw: bytes) -> None:
        """Broken response bytes are 400s."""
        answers(meeting_from_json, raw)


def test_seed_bytes_are_unchanged_by_fuzz_helpers() -> None:
    """The fuzz seeds are the seed files themselves."""
    assert json.loads(data_bytes("seed-example1-request.json")) == SEEDS[0]


# --- the whole exchange ---------------------------------------------------------------------------

_header_values = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=20),
    st.integers(),
    st.none(),
    st.sampled_from(
        ["Bearer alice", "bearer  alice ", "Bearer \u00a0alice", "application/json",
         " application/json; charset=utf-8", "\u00a0application/json", "application/j\u017fon",
         "include-unknown-enum-members"]
    ),
)  # fmt: skip
_paths = st.one_of(
    st.sampled_from(
        ["/beta/me/onlineMeetings/createOrGet", "/v1.0/me/onlinemeetings/createorget",
         "/beta/me/onlineMeeting\u017f/createOrGet", "/beta/users/%zz/onlineMeetings/createOrGet",
         "/v1.0/users/8B081EF6-4792-4DEF-B2C9-C363A1BF41D5/onlineMeetings/createOrGet?x=1"]
    ),
    st.text(max_size=60),
    st.binary(max_size=20),
)  # fmt: skip
_header_names = ["Authorization", "Content-Type", "Prefer", "client-request-id", "X-Other"]
_methods = st.one_of(
    st.sampled_from(["POST", "post", "po\u017ft", "GET", "\u00a0POST"]), st.text(max_size=8)
)


class TestExchangeFuzz:
    """``handle`` answers anything with a Graph answer, and never a 500: every defect of a request
    (its method, path, headers of any type, body) is the caller's, so none is the service's."""

    @given(
        method=_methods,
        path=_paths,
        headers=st.dictionaries(
            st.sampled_from(
                ["Authorization", "Content-Type", "Prefer", "client-request-id", "X-Other"]
            ),
            _header_values,
        ),
        body=st.one_of(
            st.sampled_from([json.dumps(s).encode() for s in SEEDS]),
            st.binary(max_size=200),
            st.builds(lambda v: json.dumps(v).encode(), json_values()),
        ),
    )
    def test_any_request_is_a_graph_answer(
        self, method: Any, path: Any, headers: dict[str, Any], body: bytes
    ) -> None:
        directory = InMemoryDirectory()
        directory.add_delegated_user(
            token="alice", tenant_id="t", user_id="8b081ef6-4792-4def-b2c9-c363a1bf41d5",
            upn="a@contoso.com", scopes={DELEGATED_SCOPE},
        )  # fmt: skip
        response = handle(
            HttpRequest(method=method, path=path, headers=headers, body=body),
            directory=directory,
            repository=InMemoryMeetingRepository(),
            clock=FixedClock(Instant.parse("2020-01-01T00:00:00Z")),
            ids=SeededIdFactory(1),
            settings=TenantSettings(max_body_bytes=150),
        )
        answer = json.loads(response.body)
        assert response.status in (200, 201, 400, 401, 403, 404, 405, 413), answer
        if response.status >= 400:
            assert set(answer) == {"error"}
            assert isinstance(answer["error"]["code"], str)
