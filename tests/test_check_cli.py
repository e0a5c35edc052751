"""``meeting-rules check FILE``: recorded exchanges, HAR 1.2 or JSON Lines, judged by the oracle.

The recordings are real traffic: ``meeting_rules.http.handle``'s answers, written as a browser or
Dev Proxy writes HAR and as the command reads JSON Lines. Some are then damaged on purpose.
"""

from __future__ import annotations

import base64
import codecs
import io
import json
import os
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.cli import main
from meeting_rules.clocks import FixedClock
from meeting_rules.http import (
    DELEGATED_SCOPE,
    GRAPH_ROOT,
    HttpRequest,
    HttpResponse,
    InMemoryDirectory,
    handle,
)
from meeting_rules.ids import SeededIdFactory
from meeting_rules.instant import Instant
from meeting_rules.recordings import (
    HAR_READ_BYTES,
    Recorded,
    Unreadable,
    exchange_of,
    read_har,
    read_jsonl,
)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ALICE = "8b081ef6-4792-4def-b2c9-c363a1bf41d5"
CALLERS = {
    "delegated": [
        {"token": "alice", "tenantId": TENANT, "userId": ALICE, "upn": "alice@contoso.com",
         "scopes": [DELEGATED_SCOPE]},
    ]
}  # fmt: skip
Exchange = tuple[HttpRequest, HttpResponse]


class Recorder:
    """The library's own implementation, answering requests whose exchanges are recorded."""

    def __init__(self) -> None:
        self.directory = InMemoryDirectory()
        self.directory.add_delegated_user(
            token="alice", tenant_id=TENANT, user_id=ALICE, upn="alice@contoso.com",
            scopes={DELEGATED_SCOPE},
        )  # fmt: skip
        self.repository = InMemoryMeetingRepository()
        self.clock = FixedClock(Instant.parse("2020-09-11T06:30:18.1909168Z"))
        self.ids = SeededIdFactory(7)

    def send(
        self,
        body: object,
        *,
        path: str = "/beta/me/onlineMeetings/createOrGet",
        method: str = "POST",
        token: str | None = "alice",
    ) -> Exchange:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = HttpRequest(method=method, path=path, headers=headers, body=data)
        response = handle(
            request, directory=self.directory, repository=self.repository, clock=self.clock,
            ids=self.ids,
        )  # fmt: skip
        return request, response


def traffic() -> list[Exchange]:
    """Valid traffic: a create, the same key again, a create under v1.0, a refusal."""
    recorder = Recorder()
    first = {"externalId": "weekly-sync", "subject": "Weekly sync"}
    return [
        recorder.send(first),
        recorder.send(first),
        recorder.send({"externalId": "retro", "subject": "Retro"}, path=V1),
        recorder.send(first, token=None),
    ]


V1 = "/v1.0/me/onlineMeetings/createOrGet"


# --- writers ----------------------------------------------------------------------------------


def header_list(headers: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def har_content(body: bytes, *, base64_body: bool) -> dict[str, Any]:
    if base64_body:
        return {"size": len(body), "mimeType": "application/json",
                "text": base64.b64encode(body).decode(), "encoding": "base64"}  # fmt: skip
    return {"size": len(body), "mimeType": "application/json", "text": body.decode()}


def har_entry(exchange: Exchange, *, base64_body: bool = False) -> dict[str, Any]:
    """One HAR 1.2 entry, as a browser's network panel writes it."""
    request, response = exchange
    recorded_request: dict[str, Any] = {
        "method": request.method,
        "url": GRAPH_ROOT + request.path,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": header_list(request.headers.items()),
        "queryString": [],
        "headersSize": -1,
        "bodySize": len(request.body),
    }
    if request.body:
        recorded_request["postData"] = {
            "mimeType": request.header("Content-Type") or "", "params": [],
            **har_content(request.body, base64_body=base64_body),
        }  # fmt: skip
    return {
        "startedDateTime": "2020-09-11T06:30:18.190Z",
        "time": 12.5,
        "request": recorded_request,
        "response": {
            "status": response.status,
            "statusText": HTTPStatus(response.status).phrase,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": header_list(response.headers.items()),
            "content": har_content(response.body, base64_body=base64_body),
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(response.body),
        },
        "cache": {},
        "timings": {"send": 0.1, "wait": 12.0, "receive": 0.4},
    }


def har(exchanges: Iterable[Exchange], **options: Any) -> bytes:
    log = {
        "version": "1.2",
        "creator": {"name": "test", "version": "1"},
        "pages": [],
        "entries": [har_entry(exchange, **options) for exchange in exchanges],
    }
    return json.dumps({"log": log}, indent=1).encode()


def jsonl_record(
    exchange: Exchange, *, url: bool = False, header_lists: bool = False
) -> dict[str, Any]:
    request, response = exchange

    def headers(value: Any) -> Any:
        return header_list(value.items()) if header_lists else dict(value)

    where = {"url": GRAPH_ROOT + request.path} if url else {"path": request.path}
    return {
        "request": {"method": request.method, **where, "headers": headers(request.headers),
                    "body": request.body.decode()},
        "response": {"status": response.status, "headers": headers(response.headers),
                     "body": response.body.decode()},
    }  # fmt: skip


def jsonl(exchanges: Iterable[Exchange], **options: Any) -> bytes:
    return b"".join(json.dumps(jsonl_record(e, **options)).encode() + b"\n" for e in exchanges)


def tampered(exchange: Exchange, **changes: Any) -> Exchange:
    """The exchange with its response's status, headers or body replaced."""
    request, response = exchange
    fields = {"status": response.status, "headers": response.headers, "body": response.body}
    return request, HttpResponse(**{**fields, **changes})


# --- running the command ------------------------------------------------------------------------


def check(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["check", *args],
        stdin=None if stdin is None else io.BytesIO(stdin),
        stdout=out,
        stderr=err,
    )
    assert "Traceback" not in err.getvalue()
    assert "Traceback" not in out.getvalue()
    return code, out.getvalue(), err.getvalue()


def check_json(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = check(str(path), "--json", *args)
    assert err == ""
    report: dict[str, Any] = json.loads(out)
    return code, report


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(err: str) -> str:
    """The one line of a command that could not run."""
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    assert err.startswith("meeting-rules: ")
    return err


CLEAN: dict[str, list[object]] = {"violations": [], "unreadable": [], "skipped": []}


# --- valid traffic --------------------------------------------------------------------------------


def test_har_of_valid_traffic_passes(tmp_path: Path) -> None:
    code, report = check_json(write(tmp_path, "graph.har", har(traffic())))
    assert code == 0
    assert report == {"exchanges": 4, **CLEAN, "seconds": report["seconds"]}
    assert report["seconds"] >= 0


def test_jsonl_of_valid_traffic_passes(tmp_path: Path) -> None:
    code, report = check_json(write(tmp_path, "graph.jsonl", jsonl(traffic())))
    assert code == 0
    assert {k: v for k, v in report.items() if k != "seconds"} == {"exchanges": 4, **CLEAN}


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("urls.ndjson", {"url": True}),
        ("lists.jsonl", {"header_lists": True}),
        ("both.jsonl", {"url": True, "header_lists": True}),
    ],
)
def test_jsonl_urls_and_header_lists(tmp_path: Path, name: str, options: dict[str, Any]) -> None:
    """A full URL or a path, headers as an object or as HAR's list: the same exchanges."""
    path = write(tmp_path, name, jsonl(traffic(), **options))
    code, report = check_json(path)
    assert (code, report["exchanges"], report["unreadable"]) == (0, 4, [])
    plain = list(read_jsonl(io.BytesIO(jsonl(traffic()))))
    assert list(read_jsonl(path.open("rb"))) == plain


def test_har_base64_bodies(tmp_path: Path) -> None:
    """Bodies in base64 where ``encoding`` says so are judged as the bytes they encode."""
    data = har(traffic(), base64_body=True)
    assert b'"encoding": "base64"' in data
    code, report = check_json(write(tmp_path, "b64.har", data))
    assert (code, report["exchanges"], report["unreadable"], report["violations"]) == (0, 4, [], [])
    decoded = [r for r in read_har(io.BytesIO(data)) if isinstance(r, Recorded)]
    assert [(r.request.body, r.response.body) for r in decoded] == [
        (q.body, a.body) for q, a in traffic()
    ]


def test_what_the_readers_make_of_an_entry() -> None:
    """The path of a URL with its query; repeated headers joined with ", " whatever their case;
    HTTP/2 pseudo-headers left out; the HAR and JSON Lines forms read alike."""
    request = {
        "method": "POST",
        "url": "https://graph.microsoft.com/beta/me/onlineMeetings/createOrGet?$select=id#top",
        "headers": [{"name": ":authority", "value": "graph.microsoft.com"},
                    {"name": "Accept", "value": "application/json"},
                    {"name": "accept", "value": "text/plain"}],
        "postData": {"mimeType": "application/json", "text": "{}"},
    }  # fmt: skip
    response = {"status": 200, "headers": [{"name": "X", "value": "1"}], "content": {"text": ""}}
    entry = {"request": request, "response": response}
    [from_har] = read_har(io.BytesIO(json.dumps({"log": {"entries": [entry]}}).encode()))
    assert isinstance(from_har, Recorded)
    assert from_har.request.path == "/beta/me/onlineMeetings/createOrGet?$select=id"
    assert dict(from_har.request.headers) == {"accept": "application/json, text/plain"}
    assert from_har.request.body == b"{}"
    assert (from_har.response.status, dict(from_har.response.headers)) == (200, {"X": "1"})
    line = {
        "request": {"method": "POST", "path": "/beta/me/onlineMeetings/createOrGet?$select=id",
                    "headers": {"Accept": "application/json, text/plain"}, "body": "{}"},
        "response": {"status": 200, "headers": {"X": "1"}, "body": ""},
    }  # fmt: skip
    [from_line] = read_jsonl(io.BytesIO(json.dumps(line).encode()))
    assert from_line == from_har


def test_a_har_with_a_long_string_is_read_in_seconds() -> None:
    """A 40 MiB response body (a browser's base64) in a HAR: read in 1 MiB steps, in well under
    the 10 s that ijson's own 64 KiB reads take for it (a cost that grows with the square of
    the string's length); the body comes out whole."""
    body = "QUFB" * (10 << 20)
    entry = {
        "request": {"method": "GET", "url": "https://graph.microsoft.com/beta/me", "headers": []},
        "response": {"status": 200, "headers": [], "content": {"text": body}},
    }
    data = json.dumps({"log": {"entries": [entry]}}).encode()
    started = time.monotonic()
    [read] = read_har(io.BytesIO(data))
    took = time.monotonic() - started
    assert isinstance(read, Recorded)
    assert read.response.body == body.encode()
    assert took < 5, took


def test_stdin_is_json_lines(tmp_path: Path) -> None:
    code, out, _ = check("-", "--json", stdin=jsonl(traffic()))
    assert (code, json.loads(out)["exchanges"]) == (0, 4)
    code, out, _ = check("-", "--json", "--format", "har", stdin=har(traffic()))
    assert (code, json.loads(out)["exchanges"]) == (0, 4)


def test_callers_file(tmp_path: Path) -> None:
    callers = write(tmp_path, "callers.json", json.dumps(CALLERS).encode())
    path = write(tmp_path, "graph.har", har(traffic()))
    code, report = check_json(path, "--callers", str(callers))
    assert (code, report["exchanges"], report["violations"]) == (0, 4, [])


def test_human_report_of_valid_traffic(tmp_path: Path) -> None:
    code, out, err = check(str(write(tmp_path, "graph.har", har(traffic()))))
    assert (code, err) == (0, "")
    assert "checked " in out
    assert "4 exchanges (4 judged, 0 skipped, 0 unreadable)" in out
    assert "no violations" in out
    assert "exchanges/s" in out
    assert "\x1b[" not in out  # not a terminal: no colour


# --- violations (these need the oracle's judgement) -----------------------------------------------


def second_create() -> tuple[list[Exchange], int]:
    """Traffic whose second createOrGet of a key answers 201 again, and that exchange's index."""
    exchanges = traffic()
    assert exchanges[1][1].status == 200
    exchanges[1] = tampered(exchanges[1], status=201)
    return exchanges, 1


@pytest.mark.parametrize("shape", ["har", "jsonl"])
def test_a_second_201_for_a_key_is_r_res_3(tmp_path: Path, shape: str) -> None:
    exchanges, index = second_create()
    data = har(exchanges) if shape == "har" else jsonl(exchanges)
    code, report = check_json(write(tmp_path, f"tampered.{shape}", data))
    assert code == 1
    assert any(v["rule"] == "R-RES-3" and v["exchange"] == index for v in report["violations"])
    assert all(set(v) == {"exchange", "rule", "message", "path"} for v in report["violations"])


def test_human_report_names_the_rules(tmp_path: Path) -> None:
    exchanges, index = second_create()
    code, out, err = check(str(write(tmp_path, "tampered.har", har(exchanges))))
    assert (code, err) == (1, "")
    assert f"exchange {index} (POST /beta/me/onlineMeetings/createOrGet, 201): R-RES-3" in out
    assert "R-RES-3: " in out.split("checked ")[1]  # in the summary's count by rule
    assert " violation" in out


def test_a_response_body_that_is_not_json_is_a_violation(tmp_path: Path) -> None:
    exchanges = traffic()
    exchanges[0] = tampered(exchanges[0], body=b"<html>created</html>")
    code, report = check_json(write(tmp_path, "html.jsonl", jsonl(exchanges)))
    assert code == 1
    assert 0 in {v["exchange"] for v in report["violations"]}


def test_a_response_body_that_is_not_json_is_judged(tmp_path: Path) -> None:
    """The answer's body is the oracle's to judge: the exchange is read, not unreadable."""
    exchanges = traffic()
    exchanges[0] = tampered(exchanges[0], body=b"<html>created</html>")
    _, report = check_json(write(tmp_path, "html.jsonl", jsonl(exchanges)))
    assert (report["exchanges"], report["unreadable"], report["skipped"]) == (4, [], [])


# --- damaged recordings ---------------------------------------------------------------------------


def test_truncated_har(tmp_path: Path) -> None:
    """The entries before the break are judged, then one record says the file ends early."""
    data = har(traffic())
    third = data.rindex(b'"startedDateTime"', 0, data.index(b"/v1.0/"))  # entry 2's start
    cut = data[: third + 200]
    code, report = check_json(write(tmp_path, "cut.har", cut))
    assert (code, report["exchanges"], report["violations"]) == (0, 3, [])
    [unreadable] = report["unreadable"]
    assert unreadable["exchange"] == 2
    assert "ends early" in unreadable["reason"]


def test_har_cut_after_its_entries(tmp_path: Path) -> None:
    data = har(traffic()).rstrip()[:-1]  # the last brace
    code, report = check_json(write(tmp_path, "cut.har", data))
    assert (code, report["exchanges"]) == (0, 5)
    assert report["unreadable"] == [
        {"exchange": 4, "reason": "the file ends early, after the entries"}
    ]


def test_damaged_jsonl_lines(tmp_path: Path) -> None:
    """A line that is not UTF-8, one that is not JSON, one without response.status, blank lines
    (not entries) and a last line cut short: each unreadable with its reason, the rest judged."""
    good = jsonl(traffic()).splitlines(keepends=True)
    missing_status = jsonl_record(traffic()[0])
    del missing_status["response"]["status"]
    lines = [
        good[0],
        b"\n",
        b'{"request": {"method": "POST", "path": "/beta/x\xff"}}\n',
        b"this is not JSON\n",
        json.dumps(missing_status).encode() + b"\n",
        good[1],
        b"   \r\n",
        good[2][: len(good[2]) // 2],
    ]
    code, report = check_json(write(tmp_path, "damaged.jsonl", b"".join(lines)))
    assert (code, report["exchanges"], report["violations"], report["skipped"]) == (0, 6, [], [])
    reasons = {u["exchange"]: u["reason"] for u in report["unreadable"]}
    assert sorted(reasons) == [1, 2, 3, 5]
    assert reasons[1].startswith("line 3: not UTF-8")
    assert reasons[2].startswith("line 4: not JSON: Expecting value")
    assert reasons[3] == "line 5: response.status is missing"
    assert reasons[5].startswith("line 8: not JSON (the last line, with no newline: cut short?)")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": 0}, "response.status is 0: no response was recorded"),
        ({"status": "201"}, 'response.status is not an integer: "201"'),
        ({"headers": {"Date": 5}}, 'response.headers: the value of "Date" is not text'),
        ({"headers": "Date: x"}, "response.headers is neither an object nor a list"),
        ({"body": {"id": "x"}}, "response.body is not text"),
        ({"body": "e30=", "encoding": "gzip"}, 'the encoding "gzip" is not base64'),
        ({"body": "not base64!", "encoding": "base64"}, "response.body is not base64"),
    ],
)
def test_entries_that_are_not_exchanges(
    tmp_path: Path, change: dict[str, Any], reason: str
) -> None:
    record = jsonl_record(traffic()[0])
    record["response"].update(change)
    data = json.dumps(record).encode() + b"\n" + jsonl(traffic()[:1])
    code, report = check_json(write(tmp_path, "bad.jsonl", data))
    assert (code, report["exchanges"]) == (0, 2)
    [unreadable] = report["unreadable"]
    assert unreadable["exchange"] == 0
    assert reason in unreadable["reason"]


def test_jsonl_lines_nested_deeply_are_unreadable_and_the_rest_judged(tmp_path: Path) -> None:
    """A line whose ``response.status`` or ``encoding`` is an array nested up to some 1,000
    levels deep (as deep as Python's JSON reader goes) is one unreadable line; the rest is
    judged. The reader never writes such a value back as JSON, which recurses."""
    nested: list[object] = []
    for _ in range(20_000):
        nested = [nested]
    for member in ("status", "encoding"):
        record = jsonl_record(traffic()[0])
        record["response"][member] = nested
        with pytest.raises(ValueError, match="an array"):
            exchange_of(record)
    lines = []
    for depth in range(500, 1000, 3):
        deep = "[" * depth + "]" * depth
        for member in ("status", "encoding"):
            record = jsonl_record(traffic()[0])
            record["response"][member] = "DEEP"
            lines.append(json.dumps(record).replace('"DEEP"', deep).encode() + b"\n")
    data = b"".join(lines) + jsonl(traffic()[:1])
    code, report = check_json(write(tmp_path, "deep.jsonl", data))
    assert (code, report["exchanges"], report["violations"]) == (0, len(lines) + 1, [])
    assert [u["exchange"] for u in report["unreadable"]] == list(range(len(lines)))
    reasons = {u["reason"].partition(": ")[2] for u in report["unreadable"]}
    assert reasons <= {
        "response.status is not an integer: an array",
        "response: the encoding an array is not base64",
        "not JSON: nested too deeply",
    }


def test_har_entries_that_cannot_be_read(tmp_path: Path) -> None:
    """An entry that is not an object, one nested too deeply, one without a response body that
    was sent: each unreadable, the rest judged."""
    entries = [har_entry(e) for e in traffic()]
    entries[1]["response"]["content"] = {"size": 1701, "mimeType": "application/json"}
    log = {"log": {"entries": [entries[0], 42, entries[1], entries[2]]}}
    text = json.dumps(log)
    deep = "[" * 10_000 + "]" * 10_000
    text = text.replace("42", f"42, {deep}")
    code, report = check_json(write(tmp_path, "odd.har", text.encode()))
    assert (code, report["exchanges"], report["violations"]) == (0, 5, [])
    assert report["unreadable"] == [
        {"exchange": 1, "reason": "the entry is not a JSON object"},
        {"exchange": 2, "reason": "nested deeper than 64 levels"},
        {"exchange": 3, "reason": "response.content.text is missing: the body was not recorded"},
    ]


def test_har_with_a_huge_number_stops_cleanly(tmp_path: Path) -> None:
    """An integer beyond 64 bits in the HAR's own JSON: the reading stops there, no crash."""
    entries = [har_entry(e) for e in traffic()[:2]]
    text = json.dumps({"log": {"entries": entries}})
    text = text.replace('"time": 12.5', '"time": 1' + "0" * 5000, 1)
    text = text.replace('"time": 12.5', '"time": 1', 1)
    code, report = check_json(write(tmp_path, "big.har", text.encode()))
    assert (code, report["exchanges"]) == (0, 1)
    assert "an integer beyond 64 bits" in report["unreadable"][0]["reason"]


def test_long_line_is_unreadable_and_not_held(tmp_path: Path) -> None:
    """A line past the bound (16 MiB) is unreadable; the lines after it are judged."""
    long_line = b'{"request": "' + b"x" * (16 * 1024 * 1024) + b'"}\n'
    path = write(tmp_path, "long.jsonl", long_line + jsonl(traffic()))
    code, report = check_json(path)
    assert (code, report["exchanges"], report["violations"]) == (0, 5, [])
    assert report["unreadable"] == [
        {"exchange": 0, "reason": f"line 1: longer than {16 * 1024 * 1024} bytes"}
    ]


def test_other_endpoints_are_skipped(tmp_path: Path) -> None:
    """Other endpoints, and the read-back of a meeting, are skipped with a reason and counted."""
    exchanges = traffic()
    recorder = Recorder()
    exchanges.insert(1, recorder.send(b"", method="GET", path="/v1.0/me/events"))
    exchanges.append(recorder.send(b"", method="GET", path="/beta/me/onlineMeetings/abc"))
    code, report = check_json(write(tmp_path, "mixed.har", har(exchanges)))
    assert (code, report["exchanges"], report["violations"], report["unreadable"]) == (0, 6, [], [])
    assert [s["exchange"] for s in report["skipped"]] == [1, 5]
    assert all(s["reason"] for s in report["skipped"])
    code, out, _ = check(str(tmp_path / "mixed.har"))
    assert "exchange 1: skipped: " in out
    assert "6 exchanges (4 judged, 2 skipped, 0 unreadable)" in out


def test_r_http_3_graphs_update_and_delete_of_a_meeting_are_skipped(tmp_path: Path) -> None:
    """R-HTTP-3: ``PATCH`` and ``DELETE`` of ``/me/onlineMeetings/{id}`` and
    ``/users/{id}/onlineMeetings/{id}`` are Graph's own update and delete, not createOrGet: an
    application's recorded traffic that holds them is skipped there, not judged as 405. Another
    method there (``PUT``) is still judged."""
    from meeting_rules.oracle import Oracle

    exchanges = traffic()
    graph = HttpResponse(
        status=204, headers={"request-id": "r1", "client-request-id": "r1"}, body=b""
    )
    for method, path in (
        ("PATCH", "/v1.0/me/onlineMeetings/MSpkYzE3"),
        ("DELETE", f"/beta/users/{ALICE}/onlineMeetings/MSpkYzE3"),
    ):
        body = b'{"subject": "x"}' if method == "PATCH" else b""
        request = HttpRequest(method=method, path=path, headers={}, body=body)
        assert Oracle.skip_reason(request) is not None
        exchanges.append((request, graph))
    put = Recorder().send(b"", method="PUT", path="/v1.0/me/onlineMeetings/MSpkYzE3")
    assert put[1].status == 405
    exchanges.append(put)
    code, report = check_json(write(tmp_path, "updates.jsonl", jsonl(exchanges)))
    assert (code, report["violations"], report["unreadable"]) == (0, [], [])
    assert [s["exchange"] for s in report["skipped"]] == [4, 5]
    wrong = [*exchanges[:6], (put[0], graph)]
    code, report = check_json(write(tmp_path, "put.jsonl", jsonl(wrong)))
    assert (code, [v["rule"] for v in report["violations"]]) == (1, ["R-HTTP-3"])


def test_a_har_file_after_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """A HAR saved with a UTF-8 byte order mark (as some Windows tools save one) is read, from a
    file and from standard input, as a JSON Lines file's is."""
    data = codecs.BOM_UTF8 + har(traffic())
    code, report = check_json(write(tmp_path, "bom.har", data))
    assert (code, report["exchanges"], report["violations"], report["unreadable"]) == (0, 4, [], [])
    code, out, _ = check("-", "--format", "har", "--json", stdin=data)
    assert (code, json.loads(out)["exchanges"]) == (0, 4)
    code, _, err = check(str(write(tmp_path, "half.har", codecs.BOM_UTF8[:2] + har(traffic()))))
    assert (code, "not a HAR file" in err) == (2, True)  # half a byte order mark is no JSON


def test_a_report_to_an_ascii_stdout_escapes_what_it_cannot_write(tmp_path: Path) -> None:
    """With a console that cannot write every character (ASCII, cp1252), the command's report
    escapes the text it cannot write (``\\xe9``) rather than failing; a stream a caller of
    ``main`` gives is left as it is (a report it cannot take is exit 2, as before)."""
    recorder = Recorder()
    first = recorder.send({"externalId": "réunion"})
    again = tampered(recorder.send({"externalId": "réunion"}), status=201)
    path = write(tmp_path, "accents.jsonl", jsonl([first, again]))
    for args in ([], ["--json"]):
        for encoding in ("ascii", "cp1252"):
            done = subprocess.run(
                [sys.executable, "-m", "meeting_rules", "check", str(path), *args],
                capture_output=True, timeout=60,
                env={**os.environ, "PYTHONIOENCODING": f"{encoding}:strict"},
            )  # fmt: skip
            assert done.returncode == 1, done.stderr
            report = done.stdout.decode(encoding)
            assert "R-RES-3" in report
            assert "r\\xe9union" in report or "r\\u00e9union" in report or "réunion" in report
    given = io.TextIOWrapper(io.BytesIO(), encoding="ascii", write_through=True)
    assert main(["check", str(path)], stdout=given, stderr=io.StringIO()) == 2
    assert given.errors == "strict"


# --- files that cannot be read at all -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "args", "words"),
    [
        ("missing.har", None, [], "cannot read"),
        ("dir.har", "dir", [], "Is a directory"),
        ("traffic.txt", b"{}", [], "--format har or --format jsonl"),
        ("traffic", b"{}", [], "--format"),
        ("array.har", b"[]", [], "not a HAR file: the top level is not a JSON object"),
        ("lines.har", b'{"request": {}}\n{"request": {}}\n', [], "not a HAR file"),
        ("empty.har", b"", [], "not a HAR file: the file ends early"),
        ("nolog.har", b'{"log": {"pages": []}}', [], "it has no log.entries"),
        ("binary.har", b"\xff\xfe\x00", [], "not a HAR file: not JSON"),
        ("x.jsonl", b"", ["--callers", "nowhere.json"], "cannot read the callers file"),
        ("x.jsonl", b"", ["--callers", "@bad"], "$.delegated[0].scopes"),
        ("x.jsonl", b"", ["--callers", "@notjson"], "is not JSON"),
    ],
)
def test_cannot_check(
    tmp_path: Path, name: str, data: bytes | str | None, args: list[str], words: str
) -> None:
    """One line on stderr, nothing on stdout, exit 2."""
    path = tmp_path / name
    if data == "dir":
        path.mkdir()
    elif isinstance(data, bytes):
        path.write_bytes(data)
    bad = {"delegated": [{"token": "t", "tenantId": "t", "userId": "u", "scopes": "all"}]}
    files = {"@bad": json.dumps(bad), "@notjson": "{"}
    for index, arg in enumerate(args):
        if arg in files:
            args[index] = str(write(tmp_path, "callers.json", files[arg].encode()))
    code, out, err = check(str(path), *args)
    assert (code, out) == (2, "")
    assert words in refused(err)
    code, out, err = check(str(path), "--json", *args)
    assert (code, out) == (2, "")


# --- terminals ------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_report_draws_tables(tmp_path: Path) -> None:
    exchanges, _ = second_create()
    out = Terminal()
    code = main(["check", str(write(tmp_path, "t.har", har(exchanges)))], stdout=out)
    assert code == 1
    text = out.getvalue()
    assert "R-RES-3" in text
    assert "violations by rule" in text
    assert "╭" in text  # a rich table's box


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """A progress bar on stderr when stderr is a terminal (and the file is long), none with
    --json; the report on stdout stays plain."""
    created, again = jsonl(traffic()[:1]), jsonl(traffic()[1:2])
    path = write(tmp_path, "long.jsonl", created + again * (1024 * 1024 // len(again) + 1))
    out, err = io.StringIO(), Terminal()
    assert main(["check", str(path)], stdout=out, stderr=err) == 0
    assert "checking" in err.getvalue()
    assert "\x1b[" not in out.getvalue()
    assert "no violations" in out.getvalue()
    out, err = io.StringIO(), Terminal()
    main(["check", str(path), "--json"], stdout=out, stderr=err)
    assert err.getvalue() == ""
    json.loads(out.getvalue())


# --- streaming ------------------------------------------------------------------------------------

STREAM_EXCHANGES = 20_000


def stream_lines(tmp_path: Path) -> tuple[Path, Path, int]:
    """A JSON Lines file of 20,000 real exchanges: four keys created, then asked for again and
    again (the oracle remembers each key's meeting, so its memory does not grow with the file's
    length here; the readers' does not either)."""
    recorder = Recorder()
    bodies = [{"externalId": f"stream-{k}", "subject": f"Meeting {k}"} for k in range(4)]
    created = jsonl([recorder.send(body) for body in bodies])
    again = jsonl([recorder.send(body) for body in bodies])
    path = tmp_path / "stream.jsonl"
    with path.open("wb") as file:
        file.write(created)
        file.write(again * ((STREAM_EXCHANGES - 4) // 4))
    warm_up = write(tmp_path, "warm-up.jsonl", created + again)
    return path, warm_up, path.stat().st_size


def test_check_streams_in_bounded_memory(tmp_path: Path) -> None:
    """20,000 exchanges: the peak memory ``main`` adds stays far below the file's size (a child
    process, measured by its own peak resident size before and after)."""
    path, warm_up, size = stream_lines(tmp_path)
    code = textwrap.dedent(
        f"""
        import io, json, resource, sys
        from meeting_rules.cli import main
        import meeting_rules.check, meeting_rules.oracle, meeting_rules.recordings
        import rich.console, rich.table, rich.text
        main(["check", {str(warm_up)!r}], stdout=io.StringIO(), stderr=io.StringIO())
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = io.StringIO()
        code = main(["check", {str(path)!r}, "--json"], stdout=out, stderr=io.StringIO())
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        unit = 1 if sys.platform == "darwin" else 1024
        print(json.dumps({{"code": code, "grew": (after - before) * unit,
                          "report": json.loads(out.getvalue())}}))
        """
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert (found["code"], found["report"]["exchanges"]) == (0, STREAM_EXCHANGES)
    assert found["report"]["unreadable"] == []
    assert found["grew"] < size / 4, (found["grew"], size)
    print(f"peak grew by {found['grew']:,} bytes checking {size:,} bytes")
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("shape", ["jsonl", "har"])
def test_readers_stream(tmp_path: Path, shape: str) -> None:
    """The readers alone, traced: the peak of what they allocate does not grow with the file (a
    file twice as long peaks no higher), and stays within a few of ijson's reads (HAR) or lines
    (JSON Lines), far below the file's size."""
    recorder = Recorder()
    exchanges = [recorder.send({"externalId": f"r-{k}", "subject": "x" * 500}) for k in range(4)]
    peaks = [_reading_peak(tmp_path, shape, exchanges, times) for times in (600, 1_200)]
    assert peaks[1] < peaks[0] * 1.25 + 100_000, peaks
    assert peaks[1] < 6 * HAR_READ_BYTES, peaks


def _reading_peak(tmp_path: Path, shape: str, exchanges: list[Exchange], times: int) -> int:
    """The peak traced while ``shape``'s reader reads the exchanges repeated ``times`` times."""
    reader: Callable[[BinaryIO], Iterator[Recorded | Unreadable]]
    if shape == "jsonl":
        data = jsonl(exchanges) * times
        reader = read_jsonl
    else:
        entries = json.dumps([har_entry(e) for e in exchanges])[1:-1]
        data = ('{"log": {"entries": [' + ", ".join([entries] * times) + "]}}").encode()
        reader = read_har
    path = write(tmp_path, f"r{times}.{shape}", data)
    del data
    tracemalloc.start()
    try:
        with path.open("rb") as file:
            count = sum(1 for record in reader(file) if not isinstance(record, Unreadable))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 4 * times
    return peak


# --- the process ----------------------------------------------------------------------------------


def test_a_closed_pipe_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """``meeting-rules check FILE | head -1``: exit 2, one line, no traceback (rich's own broken
    pipe handling would exit 1, which means violations)."""
    path = write(tmp_path, "junk.jsonl", b"not JSON\n" * 20_000)
    for args in ([], ["--json"]):
        child = subprocess.Popen(
            [sys.executable, "-m", "meeting_rules", "check", str(path), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert child.stdout is not None
        assert child.stderr is not None
        child.stdout.readline()
        child.stdout.close()
        err = child.stderr.read().decode()
        assert child.wait(timeout=60) == 2
        assert err == "meeting-rules: cannot write the report: Broken pipe\n"


def test_rich_and_ijson_load_only_when_check_runs() -> None:
    code = (
        "import sys\n"
        "from meeting_rules.cli import _parser\n"
        "_parser().parse_args(['check', 'x.har'])\n"
        "assert 'rich' not in sys.modules and 'ijson' not in sys.modules, 'imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_an_oracle_failure_leaves_the_rest_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A defect of the oracle on one exchange: that exchange is listed as not judged, the others
    are judged, and no traceback is shown."""
    from meeting_rules.oracle import Oracle

    real = Oracle.check

    def failing(self: Oracle, request: HttpRequest, response: HttpResponse, **kw: Any) -> Any:
        if kw.get("exchange") == 2:
            raise KeyError("boom")
        return real(self, request, response, **kw)

    monkeypatch.setattr(Oracle, "check", failing)
    code, report = check_json(write(tmp_path, "graph.jsonl", jsonl(traffic())))
    assert (code, report["exchanges"], report["violations"]) == (0, 4, [])
    assert report["unreadable"] == [
        {"exchange": 2, "reason": "not judged, the oracle failed: KeyError: 'boom'"}
    ]


def test_a_header_repeated_many_times_is_joined_in_linear_time() -> None:
    """Repeats of a header name are joined once, at the end: four times the repeats cost about
    four times the time (joining as they came cost sixteen)."""

    def read(repeats: int) -> float:
        request = {
            "method": "POST",
            "path": "/beta/me/onlineMeetings/createOrGet",
            "headers": [{"name": "X-Many", "value": "ab"}] * repeats,
            "body": "{}",
        }
        line = json.dumps({"request": request, "response": {"status": 200, "body": ""}}).encode()
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            [entry] = read_jsonl(io.BytesIO(line))
            best = min(best, time.perf_counter() - started)
        assert isinstance(entry, Recorded)
        assert dict(entry.request.headers)["x-many"] == ", ".join(["ab"] * repeats)
        return best

    assert read(200_000) < 9 * read(50_000)


@pytest.mark.parametrize("content", ["x", [], 0, False])
def test_a_har_body_holder_that_is_not_an_object_is_unreadable(
    tmp_path: Path, content: object
) -> None:
    """A HAR ``content`` or ``postData`` that is not an object is unreadable however it is
    wrong (an empty list, 0 or false is not "no body"): listed, not judged."""
    for holder in ("response", "request"):
        entry = har_entry(traffic()[0])
        entry[holder]["content" if holder == "response" else "postData"] = content
        log = json.dumps({"log": {"entries": [entry]}}).encode()
        code, report = check_json(write(tmp_path, f"{holder}.har", log))
        assert (code, report["violations"]) == (0, []), holder
        [unreadable] = report["unreadable"]
        assert "is not a JSON object" in unreadable["reason"], holder


def _graph_update(method: str, meeting_id: str, status: int) -> Exchange:
    """Graph's own PATCH or DELETE of a meeting by its id, as an application's traffic holds it."""
    request = HttpRequest(method=method, path=f"/beta/me/onlineMeetings/{meeting_id}",
                          headers={"Authorization": "Bearer alice"}, body=b"{}")  # fmt: skip
    return request, HttpResponse(status=status, headers={"request-id": "r"}, body=b"")


def test_r_res_3_a_meeting_updated_or_deleted_by_graph_is_no_longer_its_first_answer(
    tmp_path: Path,
) -> None:
    """R-RES-3: Graph's update and delete of a meeting are skipped, not judged, but they change
    the store: after an update, the next answer for its key is taken as its meeting; after a
    delete the key is free, and a new 201 is right. A failed update changes nothing."""
    recorder = Recorder()
    body = {"externalId": "weekly-sync", "subject": "Weekly sync"}
    create = recorder.send(body)
    meeting = json.loads(create[1].body)
    get = recorder.send(body)
    changed = {**json.loads(get[1].body), "subject": "Weekly sync (moved)"}
    moved = tampered(get, body=json.dumps(changed, separators=(",", ":")).encode())
    again = Recorder()
    again.ids = SeededIdFactory(99)
    made_again, got_again = again.send(body), again.send(body)
    for failed in (403, 404):  # an update refused: the first meeting still holds
        exchanges = [create, _graph_update("PATCH", meeting["id"], failed), moved]
        code, report = check_json(write(tmp_path, "refused.jsonl", jsonl(exchanges)))
        assert [v["rule"] for v in report["violations"]] == ["R-RES-3"], failed
    for status in (200, 503):  # updated, or maybe
        exchanges = [create, _graph_update("PATCH", meeting["id"], status), moved, moved, get]
        code, report = check_json(write(tmp_path, "patched.jsonl", jsonl(exchanges)))
        assert [(v["exchange"], v["rule"]) for v in report["violations"]] == [(4, "R-RES-3")]
    exchanges = [create, _graph_update("DELETE", meeting["id"], 204), made_again, got_again]
    code, report = check_json(write(tmp_path, "deleted.jsonl", jsonl(exchanges)))
    assert (code, report["violations"], len(report["skipped"])) == (0, [], 1)
    code, report = check_json(write(tmp_path, "kept.jsonl", jsonl([create, made_again])))
    assert [v["rule"] for v in report["violations"]] == ["R-RES-3"]  # a second 201, no delete


def test_an_unreadable_entry_leaves_what_it_did_unknown(tmp_path: Path) -> None:
    """An entry that cannot be read may have created a meeting: its key (where its request was
    read), or every key (where not even that was), is unsure from then on, as after a lost
    answer, so the answers after it that find its meeting are not findings."""
    recorder = Recorder()
    create = recorder.send({"externalId": "weekly-sync"})
    get = recorder.send({"externalId": "weekly-sync"})
    assert get[1].status == 200
    no_body = har_entry(create)
    no_body["response"]["content"] = {"size": 1701, "mimeType": "application/json"}
    no_request = {"request": {"url": 5}, "response": har_entry(create)["response"]}
    for first in (no_body, no_request):
        log = json.dumps({"log": {"entries": [first, har_entry(get)]}}).encode()
        code, report = check_json(write(tmp_path, "unread.har", log))
        assert (code, report["violations"], len(report["unreadable"])) == (0, [], 1)
    other = recorder.send({"externalId": "other"})  # a key the unreadable entry did not name
    lone = tampered(other, status=200)
    log = json.dumps({"log": {"entries": [no_body, har_entry(lone)]}}).encode()
    code, report = check_json(write(tmp_path, "other.har", log))
    assert [v["rule"] for v in report["violations"]] == ["R-RES-2"]
