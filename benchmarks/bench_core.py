"""Workloads of the rules core, each timed as a speed ratio to a ``json`` floor in the same run
(the harness: ``benchmarks.harness``): a parse of the seed request (a), a read of the seed
response (b), a read and write back (c), and refusals of invalid bodies (d.*).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from benchmarks.bench_ceiling import read_unchecked
from benchmarks.harness import NotRefused, Workload, pair
from meeting_rules.errors import GraphError
from meeting_rules.graph_json import dumps_meeting, meeting_from_json, parse_create_or_get
from meeting_rules.meeting import OnlineMeeting
from meeting_rules.request import CreateOrGetRequest

# --- subjects and floors ------------------------------------------------------------------------


def read_meeting(body: bytes) -> OnlineMeeting:
    """Workload b: decode with ``json.loads``, then read the meeting."""
    return meeting_from_json(json.loads(body))


def round_trip(body: bytes) -> bytes:
    """Workload c: decode, read the meeting, write it back."""
    return dumps_meeting(meeting_from_json(json.loads(body)))


def read_meeting_unchecked(body: bytes) -> OnlineMeeting:
    """Beside workload b: decode with ``json.loads``, then build the meeting unchecked (a ceiling,
    ``benchmarks.bench_ceiling``)."""
    return read_unchecked(json.loads(body))


def json_round_trip(body: bytes) -> str:
    """Floor of workload c."""
    return json.dumps(json.loads(body))


def parse_decoded(body: bytes) -> CreateOrGetRequest:
    """Supplementary: ``parse_create_or_get`` given a dict already decoded by ``json.loads``."""
    return parse_create_or_get(json.loads(body))


def refuse(body: bytes) -> GraphError:
    """Workload d: ``parse_create_or_get`` must raise ``GraphError``; the error is returned."""
    try:
        parse_create_or_get(body)
    except GraphError as error:
        return error
    raise NotRefused(body[:80].decode("utf-8", "replace"))


def invalid_bodies(request: bytes) -> list[tuple[str, str, bytes, str | None]]:
    """Bad createOrGet bodies near the good one's size: (key, title, body, expected target)."""
    good = json.loads(request)

    def variant(change: Callable[[dict[str, Any]], object]) -> bytes:
        body = copy.deepcopy(good)
        change(body)
        return json.dumps(body).encode()

    def attendee(body: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = body["participants"]["attendees"][0]
        return found

    return [
        ("empty", "empty body", b"", None),
        ("invalid-json", "invalid JSON (truncated)", request[:-1], None),
        ("wrong-type", '"externalId": 5', variant(lambda b: b.update(externalId=5)), "externalId"),
        ("missing-id", "externalId missing", variant(lambda b: b.pop("externalId")), "externalId"),
        (
            "zoneless",
            "startDateTime without zone",
            variant(lambda b: b.update(startDateTime="2020-02-06T01:49:21.3524945")),
            "startDateTime",
        ),
        (
            "end-first",
            "end before start",
            variant(lambda b: b.update(endDateTime="2020-02-06T01:19:21.3524945+00:00")),
            "endDateTime",
        ),
        ("duplicate", "duplicate member", request[:-1] + b', "subject": "again"}', "subject"),
        (
            "ufv-role",
            "role unknownFutureValue",
            variant(lambda b: attendee(b).update(role="unknownFutureValue")),
            "participants.attendees[0].role",
        ),
    ]


def workloads(request: bytes, response: bytes) -> list[Workload]:
    """Workloads a-d and the supplementary ones (``+``), checked to do what they claim."""
    meeting = meeting_from_json(json.loads(response))
    written = dumps_meeting(meeting)
    if meeting_from_json(json.loads(written)) != meeting:
        raise NotRefused("workload c does not round-trip")
    unchecked = read_unchecked(json.loads(response))
    if unchecked != meeting or dumps_meeting(unchecked) != written:  # member order too
        raise NotRefused("the ceiling of workload b does not build the same meeting")
    if parse_create_or_get(request).external_id != json.loads(request)["externalId"]:
        raise NotRefused("workload a did not read externalId")
    round_floor = ("json.dumps(json.loads)", json_round_trip)
    result = [
        pair("a", "parse_create_or_get", "accept", parse_create_or_get, request),
        pair("b", "meeting_from_json(loads)", "accept", read_meeting, response),
        pair(
            "c",
            "dumps_meeting(from_json(loads))",
            "accept",
            round_trip,
            response,
            floor=round_floor,
        ),
        pair("a+dict", "parse_create_or_get(loads)", "extra", parse_decoded, request),
        pair("b+bytes", "meeting_from_json(bytes)", "extra", meeting_from_json, response),
        pair(
            "b+ceiling",
            "unchecked build(loads), a ceiling",
            "extra",
            read_meeting_unchecked,
            response,
        ),
        pair(
            "c+write",
            "dumps_meeting(meeting)",
            "extra",
            dumps_meeting,
            meeting,
            floor=("json.dumps(dict)", json.dumps),
            floor_arg=json.loads(response),
            size=len(written),
        ),
    ]
    for key, title, body, target in invalid_bodies(request):
        error = refuse(body)
        if error.target != target:
            raise NotRefused(f"{key}: refused at {error.target!r}, not {target!r}: {error}")
        result.append(pair(f"d.{key}", title, "refuse", refuse, body, floor_arg=request))
    return result
