"""The ``meeting-rules`` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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
