"""The ``meeting-rules`` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from http import HTTPStatus
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
    error: dict[str, Any] = body["error"]
    return error


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
    """No command, an unknown command or an unknown version is a usage error: exit 2, one line
    on stderr (README, "Exit status")."""
    for result in (run(), run("bogus"), run("validate", "-", "--version", "v2")):
        assert result.returncode == 2
        assert result.stderr.count(b"\n") == 1, result.stderr
        assert result.stderr.startswith(b"meeting-rules"), result.stderr
        assert result.stderr.endswith(b"(see --help)\n"), result.stderr


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
    assert result.stderr.count(b"\n") == 1, result.stderr
    assert not store.exists()


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """``command`` in bash, with ``MR`` standing for this Python's ``-m meeting_rules``."""
    env = {**os.environ, "MR": f"{sys.executable} -m meeting_rules"}
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, check=False, cwd=cwd, env=env, timeout=60
    )


def stored(store: Path) -> int:
    with SqliteMeetingRepository(store) as repository:
        return len(repository)


class TestStreams:
    """Closed, broken and full standard streams: one line saying what failed, exit 2."""

    def test_closed_stdin(self, tmp_path: Path) -> None:
        result = shell("$MR create-or-get - --store s.sqlite3 <&-", tmp_path)
        assert result.returncode == 2
        assert result.stderr == b"meeting-rules: cannot read -: standard input is closed\n"
        assert not (tmp_path / "s.sqlite3").exists()

    def test_closed_stdout_stores_nothing(self, tmp_path: Path) -> None:
        example = EXAMPLES / "create-meeting.json"
        result = shell(f"$MR create-or-get {example} --store s.sqlite3 >&-", tmp_path)
        assert result.returncode == 2
        assert result.stderr == (
            b"meeting-rules: cannot write the answer: standard output is closed\n"
        )
        assert not (tmp_path / "s.sqlite3").exists()

    @pytest.mark.parametrize(
        ("redirect", "reason"),
        [("| true", b"Broken pipe"), ("> /dev/full", b"No space left on device")],
    )
    def test_failed_stdout_after_the_exchange(
        self, tmp_path: Path, redirect: str, reason: bytes
    ) -> None:
        """The exchange has run: the line says so, and the meeting it created is stored."""
        # An answer bigger than a pipe's buffer: the write meets the pipe closed by `true`.
        body = json.dumps({"externalId": "e", "subject": "s" * 300_000})
        (tmp_path / "body.json").write_text(body)
        command = f"set -o pipefail; $MR create-or-get body.json --store s.sqlite3 {redirect}"
        result = shell(command, tmp_path)
        assert result.returncode == 2, result
        lines = result.stderr.decode().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("meeting-rules: cannot write the answer (201 Created)")
        assert reason.decode() in lines[0]
        assert stored(tmp_path / "s.sqlite3") == 1

    def test_closed_stderr_still_answers(self, tmp_path: Path) -> None:
        example = EXAMPLES / "create-meeting.json"
        result = shell(f"$MR create-or-get {example} --store s.sqlite3 2>&-", tmp_path)
        assert result.returncode == 0
        assert json.loads(result.stdout)["externalId"]


def test_version_is_the_package_version() -> None:
    """``meeting-rules --version``: the package's version; a command's ``--version`` stays the
    Graph API version."""
    import meeting_rules

    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.decode() == f"meeting-rules {meeting_rules.__version__}\n"
    assert meeting_rules.__version__ != "0+unknown"
    assert run("validate", "-", "--version", "v1.0", stdin=b'{"externalId": "e"}').returncode == 0


class TestUnusableStore:
    """A store that cannot be used is one line and exit 2; an exchange that fails is Graph's
    error body and exit 1 (README, "Exit status")."""

    def test_missing_directory_is_one_line_without_a_graph_status(self, tmp_path: Path) -> None:
        result = run("create-or-get", str(EXAMPLES / "create-meeting.json"), "--store",
                     str(tmp_path / "no" / "s.sqlite3"))  # fmt: skip
        assert result.returncode == 2
        assert result.stdout == b""
        line = result.stderr.decode()
        assert line.count("\n") == 1
        assert "there is no directory" in line
        assert "500" not in line
        assert "InternalServerError" not in line

    def test_read_only_store_on_a_create(self, tmp_path: Path) -> None:
        """A store file the command may read but not write: a get still answers 200; a create
        cannot run (exit 2, one line), and the file does not change."""
        store = tmp_path / "s.sqlite3"
        assert run("create-or-get", "-", "--store", str(store),
                   stdin=b'{"externalId": "a"}').returncode == 0  # fmt: skip
        store.chmod(0o444)  # in a directory that stays writable, for SQLite's -wal and -shm
        before = store.read_bytes()
        try:
            prefix = []
            if os.geteuid() == 0:  # root writes anyway: drop the capabilities that let it
                prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]

            def run_read_only(body: bytes) -> subprocess.CompletedProcess[bytes]:
                return subprocess.run(
                    [*prefix, sys.executable, "-m", "meeting_rules", "create-or-get", "-",
                     "--store", str(store)],
                    input=body, capture_output=True, check=False,
                )  # fmt: skip

            got = run_read_only(b'{"externalId": "a"}')
            assert got.returncode == 0, got.stderr
            assert got.stderr == b"200 OK\n"
            created = run_read_only(b'{"externalId": "b"}')
        finally:
            store.chmod(0o644)
        assert created.returncode == 2, created.stderr
        assert created.stdout == b""
        line = created.stderr.decode()
        assert line.count("\n") == 1
        assert "read-only" in line
        assert store.read_bytes() == before

    def test_busy_at_open_is_a_graph_503(self, tmp_path: Path) -> None:
        """Busy while the store is set up is what busy during a call is: 503 body, exit 1."""
        store = tmp_path / "blank.sqlite3"
        blocker = sqlite3.connect(store, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            result = run("create-or-get", "-", "--store", str(store), "--busy-timeout", "0.05",
                         stdin=b'{"externalId": "b"}')  # fmt: skip
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert result.returncode == 1
        assert result.stderr == b"503 Service Unavailable\n"
        ERROR_SCHEMA.validate(json.loads(result.stdout))
        assert json.loads(result.stdout)["error"]["code"] == "ServiceUnavailable"


def test_body_over_the_limit_is_a_413_unread(tmp_path: Path) -> None:
    """A body over 4 MB: Graph's 413 before anything is decoded; nothing stored."""
    body = b'{"externalId": "e", "x": "' + b"a" * (4 * 1024 * 1024) + b'"}'
    result = run("create-or-get", "-", "--store", str(tmp_path / "s.sqlite3"), stdin=body)
    assert result.returncode == 1
    assert result.stderr.decode() == f"413 {HTTPStatus(413).phrase}\n"
    error = json.loads(result.stdout)["error"]
    assert error["message"] == "The maximum request length supported is 4MB."
    assert stored(tmp_path / "s.sqlite3") == 0


@pytest.mark.parametrize("store", ["/dev/null", "fifo"])
def test_a_store_that_is_no_file_is_one_line(tmp_path: Path, store: str) -> None:
    """A device or a FIFO as the store: one line and exit 2, at once, nothing written."""
    if store == "fifo":
        os.mkfifo(tmp_path / "fifo")
        store = str(tmp_path / "fifo")
    result = subprocess.run(
        [sys.executable, "-m", "meeting_rules", "create-or-get",
         str(EXAMPLES / "create-meeting.json"), "--store", store],
        capture_output=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode().endswith("it is not a regular file.\n")
    assert result.stderr.count(b"\n") == 1
    assert not Path(f"{store}-journal").exists()


@pytest.mark.parametrize(
    ("redirect", "reason"),
    [("> /dev/full", "No space left on device"), (">&-", "standard output is closed")],
)
def test_version_that_cannot_be_written_exits_2(tmp_path: Path, redirect: str, reason: str) -> None:
    result = shell(f"$MR --version {redirect}", tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode() == f"meeting-rules: cannot write the version: {reason}\n"


@pytest.mark.parametrize("command", ["validate", "create-or-get"])
def test_ctrl_c_while_the_body_is_read_is_one_line(tmp_path: Path, command: str) -> None:
    """Ctrl-C while the command waits for its body (a FIFO no writer opens): exit 2, one line,
    no traceback, no store made."""
    fifo = tmp_path / "body.json"
    os.mkfifo(fifo)
    store = tmp_path / "s.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-m", "meeting_rules", command, str(fifo), "--store", str(store)]
        if command == "create-or-get"
        else [sys.executable, "-m", "meeting_rules", command, str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.5)  # started, and waiting in open()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 2, err
    assert err == b"meeting-rules: interrupted\n"
    assert out == b""
    assert not store.exists()


def test_a_damaged_meeting_row_is_exit_2_with_nothing_on_stdout(tmp_path: Path) -> None:
    """README: a damaged store cannot be used: exit 2, one line, nothing on stdout (a row
    whose bytes changed on disk, as a damaged file is)."""
    store = tmp_path / "s.sqlite3"
    body = b'{"externalId": "e"}'
    assert run("create-or-get", "-", "--store", str(store), stdin=body).returncode == 0
    connection = sqlite3.connect(store)
    with connection:
        connection.execute("UPDATE meetings SET meeting = x'ff00'")
    connection.close()
    result = run("create-or-get", "-", "--store", str(store), stdin=body)
    assert result.returncode == 2, result.stderr
    assert result.stdout == b""
    assert result.stderr.count(b"\n") == 1
    assert b"holds a damaged meeting" in result.stderr
