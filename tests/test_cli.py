"""The ``meeting-rules`` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from meeting_rules.adapters import SqliteMeetingRepository
from meeting_rules.cli import DEFAULT_ORGANIZER
from tests.conftest import DATA, ERROR_SCHEMA

EXAMPLES = Path(__file__).parent.parent / "examples"


def run(
    *args: str, stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "meeting_rules", *args],
        input=stdin,
        capture_output=True,
        check=False,
        cwd=cwd,
    )


def test_validate_seed_example() -> None:
    """A valid body: the request as read on stdout, ignored members listed, exit 0."""
    result = run("validate", str(EXAMPLES / "create-meeting.json"))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["externalId"] == "7eb8263f-d0e0-4149-bb1c-1f0476083c56"
    assert body["startDateTime"] == "2020-02-06T01:49:21.3524945Z"
    assert body["@meetingRules.ignoredMembers"] == ["participants.attendees[0].role"]


def test_validate_reads_stdin_and_version() -> None:
    """``-`` reads stdin; ``--version v1.0`` ignores chatInfo (R-BODY-4)."""
    stdin = (EXAMPLES / "create-channel-meeting.json").read_bytes()
    result = run("validate", "-", "--version", "v1.0", stdin=stdin)
    assert result.returncode == 0
    body = json.loads(result.stdout)
    assert "chatInfo" not in body
    assert body["@meetingRules.ignoredMembers"] == ["chatInfo"]


def error_of(result: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    assert result.returncode == 1
    assert result.stderr.decode().strip() == "400 Bad Request"
    body: dict[str, Any] = json.loads(result.stdout)
    ERROR_SCHEMA.validate(body)
    return body["error"]


@pytest.mark.parametrize(
    ("stdin", "target"),
    [
        (b"", None),
        (b"\xff\xfe", None),
        (b"{not json", None),
        (b"[1, 2]", None),
        (b'{"externalId": 5}', "externalId"),
        (b'{"externalId": "a", "externalId": "b"}', "externalId"),
        (b'{"externalId": "e", "startDateTime": "2020-01-01T00:00:00"}', "startDateTime"),
        (b'{"externalId": "\\ud800"}', "externalId"),
        (b"[" * 100_000, None),
    ],
)
def test_validate_bad_bodies_print_graph_errors(stdin: bytes, target: str | None) -> None:
    """A refused body: Graph's error JSON on stdout, the status on stderr, exit 1."""
    error = error_of(run("validate", "-", stdin=stdin))
    assert error.get("target") == target


def test_validate_strict() -> None:
    """``--strict`` refuses members Graph does not define (R-BODY-3)."""
    error = error_of(run("validate", "-", "--strict", stdin=b'{"externalId": "e", "foo": 1}'))
    assert error["target"] == "foo"


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    """A file that cannot be read: one line on stderr, exit 2, no traceback."""
    result = run("validate", str(tmp_path / "absent.json"))
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "absent.json" in lines[0]


def test_directory_is_one_clear_line() -> None:
    """A directory instead of a file is reported, not a traceback."""
    result = run("validate", str(DATA))
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr


def test_usage_errors_exit_2() -> None:
    """No command, or an unknown version, is a usage error."""
    assert run().returncode == 2
    assert run("validate", "-", "--version", "v2").returncode == 2


def test_output_is_utf8_whatever_the_terminal(tmp_path: Path) -> None:
    """Non-ASCII values print as UTF-8 even when stdout's encoding is ASCII; no traceback."""
    body = tmp_path / "u.json"
    body.write_text('{"externalId": "é中"}', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "meeting_rules", "validate", str(body)],
        capture_output=True,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.decode("utf-8"))["externalId"] == "é中"


class TestCreateOrGet:
    """``meeting-rules create-or-get`` against an SQLite store."""

    def test_create_then_get(self, tmp_path: Path) -> None:
        """The example twice: 201 Created then 200 OK, the same meeting; the store is made."""
        store = tmp_path / "store.sqlite3"
        example = str(EXAMPLES / "create-meeting.json")
        first = run("create-or-get", example, "--store", str(store))
        assert (first.returncode, first.stderr.decode().strip()) == (0, "201 Created"), first.stderr
        second = run("create-or-get", example, "--store", str(store))
        assert (second.returncode, second.stderr.decode().strip()) == (0, "200 OK")
        assert json.loads(first.stdout) == json.loads(second.stdout)
        body = json.loads(first.stdout)
        assert body["externalId"] == "7eb8263f-d0e0-4149-bb1c-1f0476083c56"
        assert body["participants"]["organizer"]["identity"]["user"]["id"] == DEFAULT_ORGANIZER

    def test_default_store_in_current_directory(self, tmp_path: Path) -> None:
        """Without --store, ./meetings.sqlite3 is used; other options pick organizer and version."""
        stdin = b'{"externalId": "x"}'
        result = run(
            "create-or-get", "-", "--tenant", "t", "--organizer", "o", "--version", "v1.0",
            stdin=stdin, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "meetings.sqlite3").exists()
        body = json.loads(result.stdout)
        assert "expiryDateTime" in body
        assert "users('o')" in body["@odata.context"]

    @pytest.mark.parametrize(
        ("stdin", "target"),
        [(b"", None), (b"[]", None), (b'{"externalId": ""}', "externalId")],
    )
    def test_bad_body_is_a_graph_error(
        self, tmp_path: Path, stdin: bytes, target: str | None
    ) -> None:
        """A refused body: Graph's error JSON, 400 on stderr, exit 1, nothing stored."""
        store = tmp_path / "s.sqlite3"
        error = error_of(run("create-or-get", "-", "--store", str(store), stdin=stdin))
        assert error.get("target") == target
        with SqliteMeetingRepository(store) as repository:
            assert len(repository) == 0

    def test_foreign_store_is_one_clear_line(self, tmp_path: Path) -> None:
        """A store file that is not a store: one line, exit 2, the file unchanged."""
        store = tmp_path / "notes.txt"
        store.write_text("my notes\n")
        result = run("create-or-get", str(EXAMPLES / "create-meeting.json"), "--store", str(store))
        assert result.returncode == 2
        assert len(result.stderr.decode().strip().splitlines()) == 1
        assert b"not a meeting_rules store" in result.stderr
        assert store.read_text() == "my notes\n"

    @pytest.mark.parametrize("lock", ["IMMEDIATE", "EXCLUSIVE"])
    def test_locked_store_is_a_graph_error(self, tmp_path: Path, lock: str) -> None:
        """A store another process holds locked: a Graph error (503), never a traceback."""
        store = tmp_path / "s.sqlite3"
        assert (
            run(
                "create-or-get", "-", "--store", str(store), stdin=b'{"externalId": "a"}'
            ).returncode
            == 0
        )
        blocker = sqlite3.connect(store, isolation_level=None)
        blocker.execute(f"BEGIN {lock}")
        try:
            result = run(
                "create-or-get", "-", "--store", str(store), "--busy-timeout", "0.1",
                stdin=b'{"externalId": "b"}',
            )  # fmt: skip
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert b"Traceback" not in result.stderr
        assert result.returncode == 1
        assert result.stderr.decode().strip() == "503 Service Unavailable"
        ERROR_SCHEMA.validate(json.loads(result.stdout))

    def test_missing_directory_for_store(self, tmp_path: Path) -> None:
        """A store path in a missing directory: one clear line, exit 2."""
        result = run("create-or-get", str(EXAMPLES / "create-meeting.json"), "--store",
                     str(tmp_path / "no" / "such" / "s.sqlite3"))  # fmt: skip
        assert result.returncode == 2
        assert b"Traceback" not in result.stderr


@pytest.mark.parametrize(
    "options",
    [["--busy-timeout", "nan"], ["--busy-timeout", "inf"], ["--busy-timeout", "-1"],
     ["--tenant", ""], ["--organizer", ""], ["--upn", "a\nb"]],
)  # fmt: skip
def test_bad_options_are_usage_errors(tmp_path: Path, options: list[str]) -> None:
    """Nonsense options: exit 2, one usage message, no store file made."""
    store = tmp_path / "s.sqlite3"
    result = run(
        "create-or-get", "-", "--store", str(store), *options, stdin=b'{"externalId": "e"}'
    )
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    assert not store.exists()
