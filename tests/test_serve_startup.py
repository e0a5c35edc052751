"""``meeting-rules serve`` at start-up, run as a real process where it can fail before serving:
a standard output that cannot take its first lines (a broken pipe, a full device), lines the
console's encoding lacks characters for, a callers file with text no console or header can carry,
a host name that cannot be encoded. What keeps it from starting is one line on stderr and exit 2,
never a traceback; what a console only lacks is escaped."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from meeting_rules import serve as serve_module
from meeting_rules.callers import callers_from_json
from tests.serving import BOB, TENANT
from tests.test_serve import CALLERS, one_line_exit_2

SECONDS = 20
"""The longest a process of these tests runs: each stops by itself, or is stopped or killed."""


def run_serve(
    *options: str, cwd: Path, stdout: int = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    """``meeting-rules serve --port 0 OPTIONS``, killed if it still runs after ``SECONDS``
    (``subprocess.run`` kills it, then raises ``TimeoutExpired``)."""
    return subprocess.run(
        [sys.executable, "-m", "meeting_rules", "serve", "--port", "0", *options],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=SECONDS,
    )


def the_one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The only line on stderr of a command that exited 2 without a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_broken_pipe_on_stdout_is_one_line(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the first write is a broken pipe
    try:
        result = run_serve(cwd=tmp_path, stdout=write_end)
    finally:
        os.close(write_end)
    assert the_one_line(result) == "meeting-rules: cannot write to standard output: Broken pipe"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_device_on_stdout_is_one_line(tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        result = run_serve(cwd=tmp_path, stdout=full.fileno())
    assert the_one_line(result) == (
        "meeting-rules: cannot write to standard output: No space left on device"
    )


class _BrokenPipe:
    """A standard output whose every write fails as a broken pipe does."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_an_output_that_fails_leaves_nothing_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ready lines not written: the store and the listening socket are closed, the signal
    handlers are the ones before, and nothing was served."""
    opened: dict[str, Any] = {}

    def store(name: str) -> Any:
        opened["store"] = _Closes(original_store(name))
        return opened["store"]

    def listen(host: str, port: int) -> socket.socket:
        listener = opened["listener"] = original_listen(host, port)
        return listener

    original_store, original_listen = serve_module._store, serve_module._listen
    monkeypatch.setattr(serve_module, "_store", store)
    monkeypatch.setattr(serve_module, "_listen", listen)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    args = argparse.Namespace(
        host="127.0.0.1",
        port=0,
        store=str(tmp_path / "s.sqlite3"),
        callers=None,
        jwks=None,
        jwt_insecure=False,
        faults=None,
    )
    said: list[str] = []
    with pytest.raises(serve_module.CannotServe, match=r"^cannot write to standard output: Bro"):
        serve_module.serve(args, _BrokenPipe(), said.append)  # type: ignore[arg-type]
    assert opened["store"].closed
    assert opened["listener"].fileno() == -1
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
    assert said == []  # never said it stopped: it never started


class _Closes:
    """A store, noting whether it was closed."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def close(self) -> None:
        self.closed = True
        self.store.close()


BAD_TEXT = [
    ("delegated", 0, "token", "\ud800"),
    ("delegated", 0, "userId", "alice\x00"),
    ("delegated", 0, "tenantId", "\udfff" + TENANT),
    ("delegated", 0, "upn", "alice@contoso.com\udcff"),
    ("applications", 0, "token", "app\x00"),
    ("applications", 0, "appId", "\ud83d"),
]


@pytest.mark.parametrize(("entries", "index", "member", "text"), BAD_TEXT)
def test_callers_refuse_nul_and_lone_surrogates(
    entries: str, index: int, member: str, text: str
) -> None:
    callers = json.loads(json.dumps(CALLERS))
    callers[entries][index][member] = text
    with pytest.raises(ValueError, match=rf"^\$\.{entries}\[{index}\]\.{member}: "):
        callers_from_json(callers)


@pytest.mark.parametrize(
    ("member", "texts", "path"),
    [
        ("policyUsers", [BOB, "\ud800"], "$.applications[0].policyUsers[1]"),
        ("roles", ["\x00"], "$.applications[0].roles[0]"),
    ],
)
def test_callers_refuse_them_in_arrays_with_the_item_s_path(
    member: str, texts: list[str], path: str
) -> None:
    callers = json.loads(json.dumps(CALLERS))
    callers["applications"][0][member] = texts
    with pytest.raises(ValueError, match=rf"^{re.escape(path)}: a string without NUL"):
        callers_from_json(callers)


def test_callers_keep_paired_surrogates_and_other_text() -> None:
    """A JSON escape pair (``"\\ud83d\\ude00"``) is one character, not a lone surrogate."""
    callers = json.loads(json.dumps(CALLERS).replace('"alice"', '"alice-\\ud83d\\ude00-\\u00e9"'))
    assert callers_from_json(callers).first_delegated_token == "alice-\U0001f600-\u00e9"


@pytest.mark.parametrize("token", ["\ud800", "a\x00b"])
def test_a_callers_token_no_console_can_print_is_one_line(tmp_path: Path, token: str) -> None:
    """Valid JSON (``"\\ud800"``), yet no text: refused with its path, before anything starts."""
    callers = json.loads(json.dumps(CALLERS))
    callers["delegated"][0]["token"] = token
    (tmp_path / "c.json").write_text(json.dumps(callers))  # ASCII: the escapes as written
    line = one_line_exit_2(run_serve("--callers", "c.json", cwd=tmp_path))
    assert line.startswith("meeting-rules: the callers file c.json: $.delegated[0].token: ")


def test_a_console_that_lacks_a_character_gets_it_escaped(tmp_path: Path) -> None:
    """An ASCII console, a store named ``é.sqlite3``: the lines say ``\\xe9.sqlite3``, the
    server serves and stops cleanly."""
    process = subprocess.Popen(
        [sys.executable, "-m", "meeting_rules", "serve", "--port", "0", "--store", "é.sqlite3"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(SECONDS, process.kill)  # a read that never ends, ended
    watchdog.start()
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for _ in range(10):  # the ready lines are 5
            line = process.stdout.readline()
            lines.append(line)
            if not line or line.lstrip().startswith("curl "):
                break
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=SECONDS)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=SECONDS)
    assert "Traceback" not in err, err
    assert "  store: \\xe9.sqlite3; callers: " in "".join(lines), (lines, err)
    assert lines[-1].lstrip().startswith("curl "), (lines, err)
    assert process.returncode == 0, err
    assert err.splitlines() == ["meeting-rules: stopped"]
    assert (tmp_path / "é.sqlite3").exists()


@pytest.mark.parametrize(
    "host",
    [os.fsdecode(b"\xff"), "é" * 70],  # not UTF-8; an IDNA label longer than 63
    ids=["byte-ff", "long-label"],
)
def test_a_host_name_that_cannot_be_encoded_is_one_line(tmp_path: Path, host: str) -> None:
    result = run_serve("--host", host, cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    line = one_line_exit_2(result)
    assert line.startswith("meeting-rules: cannot listen on "), line
    assert line.endswith(":0: encoding of hostname failed"), line
