"""``meeting-rules serve``, run as a real process: what it prints, the call it prints, callers
and JWTs from files, faults, a clean stop on SIGINT and SIGTERM with requests in flight, and one
line with exit 2 for everything that keeps it from starting."""

from __future__ import annotations

import http.client
import json
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from meeting_rules.cli import DEFAULT_ORGANIZER
from meeting_rules.serve import DEFAULT_TOKEN
from tests.serving import ALICE, BOB, TENANT

CALLERS = {
    "delegated": [{"token": "alice", "tenantId": TENANT, "userId": ALICE,
                   "upn": "alice@contoso.com", "scopes": ["OnlineMeetings.ReadWrite"]}],
    "applications": [{"token": "app", "tenantId": TENANT, "appId": "app-1",
                      "roles": ["OnlineMeetings.ReadWrite.All"], "policyUsers": [BOB]}],
}  # fmt: skip


class Served:
    """A running ``meeting-rules serve`` process and what it printed at start."""

    def __init__(self, process: subprocess.Popen[str], lines: list[str]) -> None:
        self.process = process
        self.lines = lines
        curl = next(line for line in lines if line.strip().startswith("curl "))
        self.curl = shlex.split(curl)
        self.url = next(word for word in self.curl if word.startswith("http://"))
        self.base = self.url.split("/beta/")[0]

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out, err


@contextmanager
def serving(*options: str, cwd: Path) -> Iterator[Served]:
    """``meeting-rules serve --port 0 OPTIONS`` until it has printed its call."""
    process = subprocess.Popen(
        [sys.executable, "-m", "meeting_rules", "serve", "--port", "0", *options],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        while not any(line.strip().startswith("curl ") for line in lines):
            line = process.stdout.readline()
            if not line or time.monotonic() > deadline:
                _, err = process.communicate(timeout=10)
                raise AssertionError(f"serve did not start: {lines} {err}")
            lines.append(line)
        yield Served(process, lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def send_the_printed_call(served: Served) -> httpx.Response:
    """The printed curl command, sent as curl would send it."""
    words = served.curl
    headers = dict(
        words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H"
    )  # fmt: skip
    body = words[words.index("-d") + 1]
    assert words[words.index("-X") + 1] == "POST"
    return httpx.post(served.url, headers=headers, content=body.encode(), timeout=30)


def test_serve_prints_a_call_that_works_and_stops_cleanly(tmp_path: Path) -> None:
    with serving(cwd=tmp_path) as served:
        assert served.base.startswith("http://127.0.0.1:")
        assert f"Bearer {DEFAULT_TOKEN}" in " ".join(served.curl)
        first = send_the_printed_call(served)
        second = send_the_printed_call(served)
        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json()["participants"]["organizer"]["identity"]["user"]["id"] == (
            DEFAULT_ORGANIZER
        )
        assert first.headers["Content-Type"].startswith("application/json")
        assert len(first.headers.get_list("date")) == 1  # the answer's own Date only
        document = httpx.get(f"{served.base}/openapi.json", timeout=30)
        assert document.json()["openapi"] == "3.1.0"
        code, _, err = served.stop(signal.SIGINT)
    assert code == 0
    assert "Traceback" not in err
    assert (tmp_path / "meetings.sqlite3").exists()  # the default store, in the directory


@contextmanager
def in_flight(served: Served) -> Iterator[http.client.HTTPConnection]:
    """The printed call sent, and read by the server, its answer not yet read: a connection
    whose ``getresponse()`` waits for it."""
    words = served.curl
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    url = httpx.URL(served.url)
    assert url.port is not None
    connection = http.client.HTTPConnection(url.host, url.port, timeout=30)
    try:
        connection.request("POST", url.raw_path.decode(), words[words.index("-d") + 1], headers)
        # The server accepts connections in order: once a later one is answered (GET is never
        # delayed), the POST has been read and is waiting out its latency.
        assert httpx.get(f"{served.base}/openapi.json", timeout=30).status_code == 200
        yield connection
    finally:
        connection.close()


def test_sigterm_finishes_the_request_in_flight(tmp_path: Path) -> None:
    """A request delayed by a latency fault is answered after SIGTERM; then exit 0."""
    faults = tmp_path / "faults.json"
    # long enough that the POST is still waiting when SIGTERM comes, on a loaded machine too
    faults.write_text(json.dumps([{"kind": "latency", "latencyMs": 5000}]))
    with serving("--faults", str(faults), cwd=tmp_path) as served, in_flight(served) as post:
        code, _, err = served.stop(signal.SIGTERM)
        answer = post.getresponse()
    assert code == 0
    assert "Traceback" not in err
    assert answer.status == 201
    assert answer.getheader("x-meeting-rules-fault") == "latency"
    assert "faults: latency" in "".join(served.lines)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_as_soon_as_it_says_it_serves_stops_it_cleanly(tmp_path: Path, sig: int) -> None:
    """From its first line on, a signal stops the server (exit 0, no traceback), even before
    uvicorn has installed its own handlers."""
    for _ in range(3):
        process = subprocess.Popen(
            [sys.executable, "-m", "meeting_rules", "serve", "--port", "0"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            assert process.stdout.readline().startswith("meeting-rules: serving")
            process.send_signal(sig)
            _, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "Traceback" not in err
        assert err.strip().endswith("meeting-rules: stopped")


def test_a_second_ctrl_c_stops_it_without_a_traceback(tmp_path: Path) -> None:
    """A second Ctrl-C, while the first waits for a request in flight, stops the server at once:
    the request is answered 503, uvicorn's lifespan shutdown is skipped without an error in the
    log, and the command exits 0."""
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps([{"kind": "latency", "latencyMs": 20_000}]))
    with serving("--faults", str(faults), cwd=tmp_path) as served, in_flight(served) as post:
        served.process.send_signal(signal.SIGINT)  # waits for the POST's 20 s
        time.sleep(0.5)
        assert served.process.poll() is None
        code, _, err = served.stop(signal.SIGINT)
        answer = post.getresponse()
    assert code == 0, err
    assert "Traceback" not in err
    assert "ERROR" not in err
    assert answer.status == 503


def test_callers_file(tmp_path: Path) -> None:
    callers = tmp_path / "callers.json"
    callers.write_text(json.dumps(CALLERS))
    with serving("--callers", str(callers), "--store", str(tmp_path / "s.db"), cwd=tmp_path) as s:
        assert "Bearer alice" in " ".join(s.curl)  # the file's first delegated token
        assert send_the_printed_call(s).status_code == 201
        as_app = {"Authorization": "Bearer app", "Content-Type": "application/json"}
        made = httpx.post(f"{s.base}/v1.0/users/{BOB}/onlineMeetings/createOrGet",
                          headers=as_app, json={"externalId": "k"}, timeout=30)  # fmt: skip
        assert made.status_code == 201
        default = httpx.post(s.url, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}",
                                             "Content-Type": "application/json"},
                             json={"externalId": "k"}, timeout=30)  # fmt: skip
        assert default.status_code == 401  # only the file's callers
        assert s.stop()[0] == 0


def test_jwks_file(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [public]}))
    claims = {"aud": "00000003-0000-0000-c000-000000000000", "tid": TENANT, "oid": ALICE,
              "preferred_username": "alice@contoso.com", "scp": "OnlineMeetings.ReadWrite",
              "exp": int(time.time()) + 600}  # fmt: skip
    token = jwt.encode(claims, key, algorithm="RS256")
    with serving("--jwks", "jwks.json", cwd=tmp_path) as served:
        made = httpx.post(served.url, json={"externalId": "jwt"}, timeout=30,
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert made.status_code == 201, made.text
        assert made.json()["participants"]["organizer"]["upn"] == "alice@contoso.com"
        assert served.stop()[0] == 0
    with serving("--jwt-insecure", cwd=tmp_path) as served:
        assert "NOT CHECKED" in "".join(served.lines)
        unsigned = jwt.encode(claims, "any secret at all, never checked", algorithm="HS256")
        made = httpx.post(served.url, json={"externalId": "unsigned"}, timeout=30,
                          headers={"Authorization": f"Bearer {unsigned}"})  # fmt: skip
        assert made.status_code == 201
        assert served.stop()[0] == 0


def run_serve(*options: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meeting_rules", "serve", *options],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_exit_2(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("meeting-rules: ")
    return lines[0]


@pytest.mark.parametrize(
    ("files", "options", "says"),
    [
        ({}, ["--callers", "missing.json"], "cannot read the callers file"),
        ({"c.json": "{"}, ["--callers", "c.json"], "is not JSON"),
        ({"c.json": '{"delegated": [{"token": 1}]}'}, ["--callers", "c.json"], "$.delegated[0]"),
        ({"f.json": '[{"kind": "boom"}]'}, ["--faults", "f.json"], "$[0]"),
        ({"k.json": '{"keys": []}'}, ["--jwks", "k.json"], "no key PyJWT can use"),
        ({"k.json": "5"}, ["--jwks", "k.json"], "a JWKS is a JSON object"),
        ({"k.json": '{"keys": [{"kty": "oct"}]}'}, ["--jwks", "k.json"], "KeyError"),
        (
            {"k.json": '{"keys": [{"kty": "oct", "k": "eA", "alg": "none"}]}'},
            ["--jwks", "k.json"],
            "no key PyJWT can use",
        ),
        ({}, ["--store", "no/such/dir/m.db"], "store"),
    ],
)
def test_what_keeps_it_from_starting_is_one_line(
    tmp_path: Path, files: dict[str, str], options: list[str], says: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert says in one_line_exit_2(run_serve("--port", "0", *options, cwd=tmp_path))


def test_a_port_in_use_and_a_foreign_store_are_one_line(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = str(taken.getsockname()[1])
        assert "cannot listen" in one_line_exit_2(run_serve("--port", port, cwd=tmp_path))
    finally:
        taken.close()
    foreign = tmp_path / "foreign.db"
    foreign.write_bytes(b"not a database, and not ours" * 100)
    before = foreign.read_bytes()
    one_line_exit_2(run_serve("--port", "0", "--store", str(foreign), cwd=tmp_path))
    assert foreign.read_bytes() == before


def test_help_names_every_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "meeting_rules", "serve", "--help"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    for option in ("--host", "--port", "--store", "--callers", "--jwks", "--jwt-insecure",
                   "--faults"):  # fmt: skip
        assert option in result.stdout


def test_the_sdk_snippet_of_serving_md_runs(tmp_path: Path) -> None:
    """docs/serving.md's "Point an SDK at it", run as written against a served store (only its
    base URL set to where the server listens)."""
    page = (Path(__file__).parent.parent / "docs" / "serving.md").read_text()
    section = page.split("## Point an SDK at it", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert 'BASE_URL = "http://127.0.0.1:8000"' in snippet
    with serving(cwd=tmp_path) as served:
        code = snippet.replace('"http://127.0.0.1:8000"', repr(served.base))
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        assert served.stop()[0] == 0
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Stand-up True\n"


def test_the_listener_names_tcp_so_answers_are_not_held_back() -> None:
    """asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose protocol is
    IPPROTO_TCP by name; without it a kept-alive connection's answers waited out the client's
    delayed ACK (about 40 ms) between head and body."""
    from meeting_rules.serve import _listen

    listener = _listen("127.0.0.1", 0)
    try:
        assert listener.proto == socket.IPPROTO_TCP
    finally:
        listener.close()
