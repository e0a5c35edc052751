"""Bounded work for hostile bodies: the size limit, and memory in proportion below it.

The limit is ``TenantSettings.max_body_bytes`` (Graph's 4 MB by default): a longer body is
refused with 413 before it is decoded, wherever a body enters. Below it, reading a body takes at
most ``READ_MULTIPLE`` times its size in Python allocations, and a whole exchange at most
``EXCHANGE_MULTIPLE`` times (docs/design.md, "Limits").
"""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from meeting_rules import FixedClock, Instant, RequestTooLargeError, SeededIdFactory, TenantSettings
from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.graph_json import MAX_DEPTH, meeting_from_json, parse_create_or_get
from meeting_rules.http import DELEGATED_SCOPE, HttpRequest, InMemoryDirectory, handle
from meeting_rules.settings import DEFAULT_MAX_BODY_BYTES
from tests.conftest import data_bytes

READ_MULTIPLE = 80
"""Reading a body (``parse_create_or_get``) allocates at most this many times its size."""
EXCHANGE_MULTIPLE = 200
"""A whole create through ``handle`` allocates at most this many times the body's size."""
MB = 1024 * 1024


def peak_of(call: Callable[[], Any]) -> int:
    """The peak of Python allocations made while ``call`` runs."""
    tracemalloc.start()
    try:
        with contextlib.suppress(RequestTooLargeError):
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_default_is_graphs_4_mb() -> None:
    assert DEFAULT_MAX_BODY_BYTES == TenantSettings().max_body_bytes == 4 * MB


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview, str])
def test_longer_body_is_refused_unread(kind: Callable[[bytes], Any]) -> None:
    """Every form a body may take is measured in UTF-8 bytes; one byte over is a 413, and
    (R-RES-5) nothing is read."""
    body = b'{"externalId": "' + b"e" * 80 + b'"}'
    value = body.decode() if kind is str else kind(body)
    assert parse_create_or_get(value, max_body_bytes=len(body)).external_id == "e" * 80
    longer = body + b" "
    with pytest.raises(RequestTooLargeError) as info:
        parse_create_or_get(longer.decode() if kind is str else kind(longer),
                            max_body_bytes=len(body))  # fmt: skip
    assert info.value.status == 413
    assert info.value.code == "BadRequest"
    assert info.value.target is None


def test_text_is_measured_in_utf8_bytes() -> None:
    """A str body of 10 characters that are 3 bytes each is 30 bytes long, not 10."""
    text = '{"externalId": "' + "\u20ac" * 10 + '"}'
    size = len(text.encode())
    assert parse_create_or_get(text, max_body_bytes=size).external_id == "\u20ac" * 10
    with pytest.raises(RequestTooLargeError):
        parse_create_or_get(text, max_body_bytes=size - 1)


def test_a_decoded_mapping_is_not_measured() -> None:
    assert parse_create_or_get({"externalId": "e" * 100}, max_body_bytes=10).external_id


def test_meeting_from_json_is_bounded_too() -> None:
    body = data_bytes("seed-example1-response.json")
    assert meeting_from_json(body, max_body_bytes=len(body)).external_id
    with pytest.raises(RequestTooLargeError):
        meeting_from_json(body, max_body_bytes=len(body) - 1)
    with pytest.raises(RequestTooLargeError, match="4MB"):
        meeting_from_json(b" " * (4 * MB + 1))


def test_a_40_mb_body_costs_nothing_to_refuse() -> None:
    """What took gigabytes and seconds before a limit: refused with no allocation of its size."""
    body = b'{"externalId":"e","x":[' + b"{}," * (40 * MB // 3) + b"{}]}"
    assert peak_of(lambda: parse_create_or_get(body)) < MB
    assert peak_of(lambda: meeting_from_json(body)) < MB


def hostile_bodies(size: int) -> dict[str, bytes]:
    """Bodies of about ``size`` bytes whose values cost the most memory per byte of JSON."""
    depth = MAX_DEPTH - 3
    units = {
        "empty objects": b"{}",
        "empty arrays": b"[]",
        "one-member objects": b'{"a":0}',
        "nested arrays": b"[" * depth + b"]" * depth,
        "nested objects": b'{"a":' * depth + b"0" + b"}" * depth,
        "short strings": b'"ab"',
        "numbers": b"1.5",
    }
    bodies = {}
    for name, unit in units.items():
        count = size // (len(unit) + 1)
        bodies[name] = b'{"externalId":"x","ignored":[' + b",".join([unit] * count) + b"]}"
    keys = b",".join(b'"k%d":0' % n for n in range(size // 10))
    bodies["many members"] = b'{"externalId":"x","ignored":{' + keys + b"}}"
    attendees = {
        "empty attendees": b"{}",
        "attendees with an unknown member": b'{"a":0}',
        "attendees with a upn": b'{"upn":"a"}',
        "attendees with an identity": b'{"identity":{"user":{}}}',
    }
    for name, unit in attendees.items():
        count = size // (len(unit) + 1)
        items = b",".join([unit] * count)
        bodies[name] = b'{"externalId":"x","participants":{"attendees":[' + items + b"]}}"
    return bodies


@pytest.mark.parametrize("name", sorted(hostile_bodies(100)))
def test_memory_stays_within_a_multiple_of_the_body(name: str) -> None:
    """The worst shapes of JSON take at most READ_MULTIPLE times their size to read, and a whole
    exchange that creates their meeting at most EXCHANGE_MULTIPLE times."""
    body = hostile_bodies(MB // 4)[name]
    peak = peak_of(lambda: parse_create_or_get(body))
    assert peak <= READ_MULTIPLE * len(body), (name, peak / len(body))
    directory = InMemoryDirectory()
    directory.add_delegated_user(
        token="t", tenant_id="t", user_id="u", upn=None, scopes={DELEGATED_SCOPE}
    )
    request = HttpRequest(
        method="POST",
        path="/beta/me/onlineMeetings/createOrGet",
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
        body=body,
    )
    statuses = []
    peak = peak_of(
        lambda: statuses.append(
            handle(
                request,
                directory=directory,
                repository=InMemoryMeetingRepository(),
                clock=FixedClock(Instant.MIN),
                ids=SeededIdFactory(1),
            ).status
        )
    )
    assert statuses == [201]
    assert peak <= EXCHANGE_MULTIPLE * len(body), (name, peak / len(body))


def test_an_ordinary_body_takes_a_few_times_its_size() -> None:
    attendees = ",".join(
        f'{{"identity":{{"user":{{"id":"{n:08d}-0000-4000-8000-000000000000",'
        f'"displayName":"A {n}"}}}},"upn":"a{n}@contoso.com"}}'
        for n in range(5000)
    )
    body = ('{"externalId":"x","participants":{"attendees":[' + attendees + "]}}").encode()
    peak = peak_of(lambda: parse_create_or_get(body))
    assert peak <= 12 * len(body), peak / len(body)
