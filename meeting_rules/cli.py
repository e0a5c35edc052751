"""The ``meeting-rules`` command: the composition root, the only place that touches files and stdio.

- ``create-or-get FILE|-`` resolves a createOrGet body against an SQLite store, as the signed-in
  organizer of ``/me``: Graph's response JSON on stdout, ``201 Created`` or ``200 OK`` on stderr.
- ``validate FILE|-`` reads a body and prints it as the rules read it, with the ignored members
  listed.
- ``serve`` serves the routes over HTTP until SIGINT or SIGTERM (``meeting_rules.serve``).
- ``check FILE|-`` judges recorded exchanges (HAR 1.2 or JSON Lines) with the oracle and reports
  the violations (``meeting_rules.check``).

Exit codes (README.md, "Exit status", says when each applies): 0, the exchange succeeded (for
``check``: no violation); 1, Graph answers an error, its JSON on stdout (for ``check``:
violations); 2, the command could not run, one line on stderr and nothing on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, BinaryIO, NoReturn, TextIO, TypeVar

from .enums import ApiVersion
from .errors import GraphError, quoted
from .settings import DEFAULT_MAX_BODY_BYTES

if TYPE_CHECKING:
    from .meeting import MeetingKey, OnlineMeeting
    from .ports import MeetingRepository

__all__ = ["DEFAULT_ORGANIZER", "DEFAULT_TENANT", "DEFAULT_UPN", "main"]

DEFAULT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DEFAULT_ORGANIZER = "8b081ef6-4792-4def-b2c9-c363a1bf41d5"
DEFAULT_UPN = "organizer@contoso.com"
_TOKEN = "meeting-rules-cli"
_T = TypeVar("_T")


class _OneLineParser(argparse.ArgumentParser):
    """Bad options are one line on stderr and exit 2, as every other reason not to run (the
    usage is what ``--help`` prints). Subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="meeting-rules",
        description="Microsoft Graph onlineMeeting createOrGet rules.",
    )
    parser.add_argument(
        "--version",
        action=_PrintVersion,
        help="print the package's version (a command's --version is the Graph API version)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    resolve = commands.add_parser(
        "create-or-get",
        help="create the meeting of a createOrGet body, or get the one with its externalId",
        description="Resolve a createOrGet body against an SQLite store, as POST /me/....",
    )
    resolve.add_argument("file", metavar="FILE", help="the JSON body, or - for stdin")
    resolve.add_argument(
        "--store",
        default="meetings.sqlite3",
        metavar="PATH",
        help="the store: an SQLite file (default: ./meetings.sqlite3; made if missing) or a "
        "postgresql:// URL (extra 'postgres')",
    )
    resolve.add_argument(
        "--tenant",
        type=_identifier,
        default=DEFAULT_TENANT,
        metavar="ID",
        help=f"default: {DEFAULT_TENANT}",
    )
    resolve.add_argument(
        "--organizer",
        type=_identifier,
        default=DEFAULT_ORGANIZER,
        metavar="ID",
        help=f"default: {DEFAULT_ORGANIZER}",
    )
    resolve.add_argument(
        "--upn",
        type=_identifier,
        default=DEFAULT_UPN,
        metavar="UPN",
        help=f"the organizer's UPN ({DEFAULT_UPN})",
    )
    resolve.add_argument(
        "--busy-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="how long to wait for another writer (default: the store's own, 30)",
    )
    _add_version(resolve)
    serve = commands.add_parser(
        "serve",
        help="serve createOrGet over HTTP to Graph clients (extra 'serve')",
        description="Serve createOrGet, the read-back and /openapi.json with uvicorn.",
    )
    _serve_arguments(serve)
    check = commands.add_parser(
        "check",
        help="judge recorded exchanges (HAR or JSON Lines) against the rules",
        description="Judge recorded createOrGet exchanges, HAR 1.2 or JSON Lines, with the "
        "oracle; report each violation, then a summary.",
    )
    _check_arguments(check)
    validate = commands.add_parser(
        "validate",
        help="check a createOrGet request body without storing anything",
        description="Check a createOrGet request body; print it as read, or Graph's error.",
    )
    validate.add_argument("file", metavar="FILE", help="the JSON body, or - for stdin")
    _add_version(validate)
    validate.add_argument(
        "--strict",
        action="store_true",
        help="refuse members Graph does not define instead of ignoring them",
    )
    return parser


def _serve_arguments(command: argparse.ArgumentParser) -> None:
    """The options of ``serve`` (``meeting_rules.serve`` runs it)."""
    command.add_argument("--host", default="127.0.0.1", help="the address (default: 127.0.0.1)")
    command.add_argument(
        "--port", type=_port, default=8000, help="the port (default: 8000; 0: a free port)"
    )
    command.add_argument(
        "--store",
        default="meetings.sqlite3",
        metavar="PATH",
        help="the store: an SQLite file (default: ./meetings.sqlite3; made if missing) or a "
        "postgresql:// URL (extra 'postgres')",
    )
    command.add_argument("--callers", metavar="FILE", help="the callers file (JSON)")
    tokens = command.add_mutually_exclusive_group()
    tokens.add_argument(
        "--jwks", metavar="FILE", help="bearer tokens are JWTs signed by a key of this JWKS"
    )
    tokens.add_argument(
        "--jwt-insecure",
        action="store_true",
        help="read JWTs' claims without checking signatures (local tests only)",
    )
    command.add_argument("--faults", metavar="FILE", help="faults to inject (JSON)")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65_535:
        raise argparse.ArgumentTypeError("a port number, 0 to 65535")
    return int(text)


def _check_arguments(command: argparse.ArgumentParser) -> None:
    """The arguments of ``check`` (``meeting_rules.check`` runs it)."""
    command.add_argument(
        "file",
        metavar="FILE",
        help="the recording: a HAR file (.har) or JSON Lines (.jsonl, .ndjson); - reads stdin "
        "(JSON Lines unless --format says otherwise)",
    )
    command.add_argument(
        "--callers",
        metavar="FILE",
        help="the callers file (JSON, as serve --callers reads it): who the tokens are",
    )
    command.add_argument(
        "--format", choices=["har", "jsonl"], help="the file's format (default: from its name)"
    )
    command.add_argument(
        "--json", action="store_true", help="write the findings as one JSON object, no progress"
    )
    command.add_argument(
        "--existing-store",
        action="store_true",
        help="the recording began on a store that already held meetings: a 200 for a key not "
        "seen before is that key's meeting, not a finding",
    )


def _identifier(text: str) -> str:
    if not text or quoted(text, len(text)) != text:
        raise argparse.ArgumentTypeError("must be non-empty text without control characters")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError("must be between 0 and 86400 seconds")
    return value


def _add_version(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--version",
        choices=[v.value for v in ApiVersion],
        default=ApiVersion.BETA.value,
        help="the Graph version whose rules apply (default: beta)",
    )


class _PrintVersion(argparse.Action):
    """``--version``: the package's version, read from its metadata only when asked for."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from . import __version__

        try:
            if sys.stdout is None:
                raise OSError("standard output is closed")
            sys.stdout.write(f"meeting-rules {__version__}\n")
            sys.stdout.flush()
        except (OSError, ValueError) as error:
            if sys.stdout is not None:
                _silence(sys.stdout)
            reason = getattr(error, "strerror", None) or str(error)
            parser.exit(2, f"meeting-rules: cannot write the version: {reason}\n")
        parser.exit()


class _CannotRun(Exception):
    """The command cannot run: one line on stderr, exit 2."""


def _read_body(name: str, stdin: BinaryIO | None) -> bytes:
    """The body, at most one byte more than the limit (the rules refuse a longer one, 413)."""
    limit = DEFAULT_MAX_BODY_BYTES + 1
    try:
        if name != "-":
            with open(name, "rb") as file:
                return file.read(limit)
        if stdin is None:
            raise _CannotRun("cannot read -: standard input is closed")
        return stdin.read(limit)
    except OSError as error:
        raise _CannotRun(f"cannot read {name}: {error.strerror or error}") from None


def _write_json(out: TextIO, obj: object) -> None:
    """UTF-8 JSON whatever the terminal's encoding (Graph JSON is UTF-8)."""
    text = json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the command line: escape it
        text = json.dumps(obj, indent=2) + "\n"
        data = text.encode("ascii")
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        out.write(text)
    else:
        out.flush()
        buffer.write(data)
        buffer.flush()


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def _validate(args: argparse.Namespace, body: bytes, out: TextIO, err: TextIO) -> int:
    from .graph_json import IGNORED_MEMBERS_ANNOTATION, parse_create_or_get, request_to_json

    try:
        request = parse_create_or_get(body, version=args.version, strict=args.strict)
    except GraphError as error:
        _answer(out, err, _error_json(error), _status_line(error.status))
        return 1
    result = request_to_json(request, version=args.version)
    result[IGNORED_MEMBERS_ANNOTATION] = list(request.ignored_members)
    _answer(out, err, result, "valid")
    return 0


def _error_json(error: GraphError) -> object:
    from .clocks import SystemClock
    from .graph_json import error_to_json
    from .ids import RandomIdFactory

    return error_to_json(error, request_id=RandomIdFactory().guid(), date=SystemClock().now())


class _NoStream:
    """Where a closed stream's writes go: nowhere."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def main(
    argv: list[str] | None = None,
    *,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command; returns the exit code (0, 1 or 2, as the module says)."""
    out = stdout if stdout is not None else sys.stdout
    err: TextIO = stderr if stderr is not None else sys.stderr or _NoStream()  # type: ignore[assignment]
    args = _parser().parse_args(argv)
    # psycopg's pool logs each failed connection attempt; the command says what failed in its
    # one line, so those records go nowhere (rather than to Python's last-resort stderr handler).
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    try:
        if out is None:  # closed before the command ran: refuse before anything is stored
            raise _CannotRun("cannot write the answer: standard output is closed")
        if args.command == "serve":
            return _serve(args, out, err)
        source = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
        if args.command == "check":
            if stdout is None:  # the process's own: its report is written whatever the console
                _escape_what_cannot_be_written(out, err if stderr is None else None)
            return _check(args, out, err, source)
        body = _read_body(args.file, source)
        if args.command == "validate":
            return _validate(args, body, out, err)
        return _create_or_get(args, body, out, err)
    except _CannotRun as error:
        _say(err, f"meeting-rules: {error}")
        return 2
    except KeyboardInterrupt:  # Ctrl-C before or while a file is read, or during a call
        _say(err, "meeting-rules: interrupted")
        return 2


def _serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .serve import CannotServe, serve

    try:
        return serve(args, out, lambda line: _say(err, line))
    except CannotServe as error:
        if error.output_failed:
            _silence(out)
        raise _CannotRun(str(error)) from None


def _check(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: BinaryIO | None) -> int:
    from .check import CannotCheck, run

    try:
        return run(args, out, err, stdin=stdin)
    except CannotCheck as error:
        if error.output_failed:
            _silence(out)
        raise _CannotRun(str(error)) from None


def _escape_what_cannot_be_written(*streams: TextIO | None) -> None:
    """Text a console's encoding lacks (ASCII, cp1252) written as ``\\xe9`` rather than refused,
    on the process's own streams only (a caller's stream is left as it is)."""
    for stream in streams:
        if isinstance(stream, io.TextIOWrapper):
            # closed, or a broken pipe: the writing of the report says so
            with contextlib.suppress(OSError, ValueError):
                stream.reconfigure(errors="backslashreplace")


def _say(err: TextIO, line: str) -> None:
    """One line on stderr, if stderr can still take it."""
    try:
        err.write(line + "\n")
        err.flush()
    except (OSError, ValueError):
        pass


def _answer(out: TextIO, err: TextIO, obj: object, status_line: str) -> None:
    """The answer's JSON on stdout, then its status on stderr.

    Raises:
        _CannotRun: stdout is closed, a broken pipe or a full device; the exchange has run.
    """
    try:
        _write_json(out, obj)
    except (OSError, ValueError) as error:
        _silence(out)
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise _CannotRun(
            f"cannot write the answer ({status_line}) to standard output: {reason}"
        ) from None
    _say(err, status_line)


def _silence(out: TextIO) -> None:
    """Point a failed stdout at /dev/null, so that the interpreter's last flush stays quiet."""
    try:
        descriptor = out.fileno()
    except (OSError, ValueError, AttributeError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, descriptor)
    finally:
        os.close(null)


def _create_or_get(args: argparse.Namespace, body: bytes, out: TextIO, err: TextIO) -> int:
    from .adapters import UnusableStoreError, open_store
    from .clocks import SystemClock
    from .errors import ServiceUnavailableError
    from .http import DELEGATED_SCOPE, HttpRequest, InMemoryDirectory, handle
    from .ids import RandomIdFactory

    directory = InMemoryDirectory()
    directory.add_delegated_user(
        token=_TOKEN,
        tenant_id=args.tenant,
        user_id=args.organizer,
        upn=args.upn,
        scopes={DELEGATED_SCOPE},
    )
    try:
        repository = open_store(args.store, busy_timeout=args.busy_timeout)
    except UnusableStoreError as error:
        raise _CannotRun(error.message) from None
    except ServiceUnavailableError as error:  # busy at open: as busy during the call
        _answer(out, err, _error_json(error), _status_line(error.status))
        return 1
    except GraphError as error:  # any other failure to open: the store cannot be used
        raise _CannotRun(error.message) from None
    except OSError as error:
        raise _CannotRun(f"cannot open the store {args.store}: {error}") from None
    request = HttpRequest(
        method="POST",
        path=f"/{args.version}/me/onlineMeetings/createOrGet",
        headers={"Authorization": f"Bearer {_TOKEN}", "Content-Type": "application/json"},
        body=body,
    )
    watched = _Watched(repository)
    with repository:
        response = handle(
            request,
            directory=directory,
            repository=watched,
            clock=SystemClock(),
            ids=RandomIdFactory(),
        )
    if watched.unusable is not None:  # handle answered 500; for the command, it cannot run
        raise _CannotRun(watched.unusable)
    _answer(out, err, json.loads(response.body), _status_line(response.status))
    return 0 if response.status < 400 else 1


class _Watched:
    """The store, passed through, noting a failure that says the store itself cannot be used
    (read-only, damaged) among those ``handle`` answers as Graph errors."""

    def __init__(self, store: MeetingRepository) -> None:
        self.store = store
        self.unusable: str | None = None

    def get(self, key: MeetingKey) -> OnlineMeeting | None:
        return self._watch(lambda: self.store.get(key))

    def add_if_absent(self, key: MeetingKey, meeting: OnlineMeeting) -> tuple[OnlineMeeting, bool]:
        return self._watch(lambda: self.store.add_if_absent(key, meeting))

    def find_by_id(
        self, *, tenant_id: str, organizer_id: str, meeting_id: str
    ) -> OnlineMeeting | None:
        return self._watch(
            lambda: self.store.find_by_id(
                tenant_id=tenant_id, organizer_id=organizer_id, meeting_id=meeting_id
            )
        )

    def _watch(self, call: Callable[[], _T]) -> _T:
        try:
            return call()
        except Exception as error:
            self._note(error)
            raise

    def _note(self, error: Exception) -> None:
        from .adapters import UnusableStoreError

        if isinstance(error, UnusableStoreError):
            self.unusable = error.message
