"""The ``meeting-rules`` command: the composition root, the only place that touches files and stdio.

- ``create-or-get FILE|-`` resolves a createOrGet body against an SQLite store, as the signed-in
  organizer of ``/me``: Graph's response JSON on stdout, ``201 Created`` or ``200 OK`` on stderr.
- ``validate FILE|-`` reads a body and prints it as the rules read it, with the ignored members
  listed.

A refused request prints Graph's error JSON on stdout and its status on stderr. Exit codes: 0
success, 1 a rule refused the request, 2 the command could not run (bad arguments, unreadable file,
a store file that is not a meeting_rules store).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import uuid
from http import HTTPStatus
from typing import BinaryIO, TextIO

from .enums import ApiVersion
from .errors import GraphError, quoted
from .instant import Instant

__all__ = ["DEFAULT_ORGANIZER", "DEFAULT_TENANT", "DEFAULT_UPN", "main"]

DEFAULT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DEFAULT_ORGANIZER = "8b081ef6-4792-4def-b2c9-c363a1bf41d5"
DEFAULT_UPN = "organizer@contoso.com"
DEFAULT_BUSY_TIMEOUT = 5.0
_TOKEN = "meeting-rules-cli"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meeting-rules",
        description="Microsoft Graph onlineMeeting createOrGet rules.",
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
        help="the SQLite store (default: ./meetings.sqlite3; made if missing)",
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
        default=DEFAULT_BUSY_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for another writer (default {DEFAULT_BUSY_TIMEOUT:g})",
    )
    _add_version(resolve)
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


def _read_body(name: str, stdin: BinaryIO) -> bytes:
    if name == "-":
        return stdin.read()
    with open(name, "rb") as file:
        return file.read()


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


def _now() -> Instant:
    return Instant.from_pendulum(_dt.datetime.now(_dt.UTC))


def _validate(args: argparse.Namespace, body: bytes, out: TextIO, err: TextIO) -> int:
    from .graph_json import (
        IGNORED_MEMBERS_ANNOTATION,
        error_to_json,
        parse_create_or_get,
        request_to_json,
    )

    try:
        request = parse_create_or_get(body, version=args.version, strict=args.strict)
    except GraphError as error:
        body_json = error_to_json(error, request_id=str(uuid.uuid4()), date=_now())
        _write_json(out, body_json)
        err.write(_status_line(error.status) + "\n")
        return 1
    result = request_to_json(request, version=args.version)
    result[IGNORED_MEMBERS_ANNOTATION] = list(request.ignored_members)
    _write_json(out, result)
    err.write("valid\n")
    return 0


def main(
    argv: list[str] | None = None,
    *,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command; returns the exit code."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    args = _parser().parse_args(argv)
    try:
        body = _read_body(args.file, stdin if stdin is not None else sys.stdin.buffer)
    except OSError as error:
        err.write(f"meeting-rules: cannot read {args.file}: {error.strerror or error}\n")
        return 2
    if args.command == "validate":
        return _validate(args, body, out, err)
    return _create_or_get(args, body, out, err)


def _create_or_get(args: argparse.Namespace, body: bytes, out: TextIO, err: TextIO) -> int:
    from .adapters import SqliteMeetingRepository, UnusableStoreError
    from .clocks import SystemClock
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
        repository = SqliteMeetingRepository(args.store, busy_timeout=args.busy_timeout)
    except UnusableStoreError as error:
        err.write(f"meeting-rules: {error.message}\n")
        return 2
    except (GraphError, OSError) as error:
        err.write(f"meeting-rules: cannot open the store {args.store}: {error}\n")
        return 2
    request = HttpRequest(
        method="POST",
        path=f"/{args.version}/me/onlineMeetings/createOrGet",
        headers={"Authorization": f"Bearer {_TOKEN}", "Content-Type": "application/json"},
        body=body,
    )
    with repository:
        response = handle(
            request,
            directory=directory,
            repository=repository,
            clock=SystemClock(),
            ids=RandomIdFactory(),
        )
    _write_json(out, json.loads(response.body))
    err.write(_status_line(response.status) + "\n")
    return 0 if response.status < 400 else 1
