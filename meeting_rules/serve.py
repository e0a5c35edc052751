"""``meeting-rules serve``: ``asgi.create_app`` under uvicorn (extra ``serve``), from the command.

The command binds its socket itself (``--port 0`` takes a free port), so it can print the base
URL and a ready-to-paste ``curl`` call before the first request. It stops on SIGINT or SIGTERM:
uvicorn finishes the requests in flight, the store is closed and the command exits 0. Anything
that keeps it from starting (a file that cannot be read, a store that cannot be used, an address
in use or a host name that cannot be encoded, a standard output that cannot take the first lines,
uvicorn not installed) is one line on stderr and exit 2. The first lines escape what the
console's encoding lacks (``\\xe9``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import signal
import socket
import threading
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from .asgi import Fault, create_app, faults_from_json
from .callers import Callers, callers_from_json
from .directory import InMemoryDirectory
from .errors import GraphError
from .http import DELEGATED_SCOPE
from .ports import TokenDirectory

__all__ = ["DEFAULT_TOKEN", "CannotServe", "serve"]

DEFAULT_TOKEN = "meeting-rules-local-token"
"""The bearer token of the default delegated caller, served when no callers and no JWT option
are given: the organizer of ``create-or-get``'s defaults, with ``OnlineMeetings.ReadWrite``."""
MAX_FILE_BYTES = 16 * 1024 * 1024
"""The largest callers, JWKS or faults file the command reads."""
_EXAMPLE = '{"externalId": "example-1", "subject": "Served by meeting-rules"}'


class CannotServe(Exception):
    """The server cannot start: the one line the command prints (exit 2).

    ``output_failed``: standard output failed (the command silences it before exiting).
    """

    def __init__(self, message: str, *, output_failed: bool = False) -> None:
        super().__init__(message)
        self.output_failed = output_failed


def serve(args: argparse.Namespace, out: TextIO, say: Any) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit code (0).

    Raises:
        CannotServe: the server cannot start; nothing was served.
    """
    try:
        import uvicorn
    except ImportError:
        raise CannotServe(
            "serving needs the 'serve' extra: pip install 'meeting_rules[serve]'"
        ) from None
    directory, token, who = _directory(args)
    faults = _faults(args.faults)
    store = _store(args.store)
    try:
        listener = _listen(args.host, args.port)
    except CannotServe:
        store.close()
        raise
    host, port = listener.getsockname()[:2]
    base = f"http://{_url_host(host)}:{port}"
    app = create_app(repository=store, directory=directory, faults=faults)
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=30,
        access_log=False,
        server_header=False,
        date_header=False,  # the answers carry their own Date
    )
    server = _server(config)
    stop: dict[int, Any] = {}
    quiet = _QuietForcedExit()
    logging.getLogger("uvicorn.error").addFilter(quiet)
    try:
        if threading.current_thread() is threading.main_thread():
            # From the first line printed, a signal stops the server, even one that comes before
            # uvicorn installs its own handlers (``server.run``): it stops once it has started.
            for sig in (signal.SIGINT, signal.SIGTERM):
                stop[sig] = signal.signal(sig, server.handle_exit)
        _ready(out, base, args, who, faults, token)
        server.run(sockets=[listener])
    finally:
        for stopping, handler in stop.items():
            if handler is not None:  # None: a handler not installed from Python
                signal.signal(stopping, handler)
        logging.getLogger("uvicorn.error").removeFilter(quiet)
        listener.close()
        store.close()
    say("meeting-rules: stopped")
    return 0


def _ready(
    out: TextIO, base: str, args: argparse.Namespace, who: str, faults: Any, token: str
) -> None:
    """The lines that say the server is up, and a call to paste.

    Raises:
        CannotServe: ``out`` cannot take them (closed, a broken pipe, a full device); the
            command then points it at /dev/null, so that the interpreter's last flush stays
            quiet.
    """
    lines = [
        f"meeting-rules: serving Graph createOrGet at {base}/v1.0 and {base}/beta",
        f"  store: {_shown(args.store)}; callers: {who}",
    ]
    if faults:
        lines.append(f"  faults: {', '.join(f.kind for f in faults)}")
    lines += [
        f"  OpenAPI: {base}/openapi.json; stop with Ctrl-C",
        "Try:",
        f"  curl -sS -X POST {base}/beta/me/onlineMeetings/createOrGet "
        f'-H "Authorization: Bearer {token}" -H "Content-Type: application/json" '
        f"-d '{_EXAMPLE}'",
    ]
    try:
        out.write(_writable("".join(f"{line}\n" for line in lines), out))
        out.flush()
    except (OSError, ValueError) as error:  # ValueError: closed
        raise CannotServe(
            f"cannot write to standard output: {_reason(error)}", output_failed=True
        ) from None


def _writable(text: str, out: TextIO) -> str:
    """``text`` as ``out`` can write it: if its encoding lacks a character (ASCII, cp1252; a lone
    surrogate in UTF-8), each such character escaped as ``\\xe9`` or ``\\ud800``."""
    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        text.encode(encoding, getattr(out, "errors", None) or "strict")
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:  # an encoding or error handler Python does not know
        return text.encode("ascii", "backslashreplace").decode("ascii")
    return text


def _reason(error: Exception) -> str:
    """Why an operation failed, in a few words: an ``OSError``'s text without its number."""
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


class _QuietForcedExit(logging.Filter):
    """Drops uvicorn's report of the lifespan cancelled at a forced exit (a second Ctrl-C skips
    the lifespan's shutdown): the command stops as asked, and the log says nothing went wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        cancelled = record.exc_info is not None and isinstance(
            record.exc_info[1], asyncio.CancelledError
        )
        return not (cancelled and "lifespan" in record.getMessage())


def _server(config: Any) -> Any:
    """uvicorn's server, stopping on SIGINT and SIGTERM without raising the signal again after
    the graceful shutdown (uvicorn's own way), so that the command exits 0."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C: stop waiting for requests in flight
            self.should_exit = True

    return Server(config)


def read_json_file(name: str, what: str) -> Any:
    """The JSON of a file the command names (a callers file, a JWKS, a faults file), at most
    ``MAX_FILE_BYTES`` long.

    Raises:
        CannotServe: one line saying why it cannot be read (``check`` says the same).
    """
    path = Path(name)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise CannotServe(f"cannot read the {what} {name}: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CannotServe(f"the {what} {name} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:
        raise CannotServe(f"the {what} {name} is not JSON: {error}") from None


def _directory(args: argparse.Namespace) -> tuple[TokenDirectory, str, str]:
    """The directory, the token the example call carries and a few words about the callers."""
    jwt_mode = args.jwks is not None or args.jwt_insecure
    callers: Callers | None = None
    if args.callers is not None:
        try:
            callers = callers_from_json(
                read_json_file(args.callers, "callers file"), tokens_required=not jwt_mode
            )
        except ValueError as error:
            raise CannotServe(f"the callers file {args.callers}: {error}") from None
    if jwt_mode:
        try:
            from .adapters.jwt import JwtDirectory
        except ImportError:
            raise CannotServe(
                "JWTs need the 'serve' extra: pip install 'meeting_rules[serve]'"
            ) from None
        jwks = None if args.jwks is None else read_json_file(args.jwks, "JWKS")
        try:
            directory = JwtDirectory(
                jwks=jwks, callers=callers, verify_signature=not args.jwt_insecure
            )
        except ValueError as error:
            raise CannotServe(f"the JWKS {args.jwks}: {error}") from None
        also = f", and the {callers.tokens} tokens of {args.callers}" if callers else ""
        if args.jwt_insecure:
            who = "JWTs, SIGNATURES NOT CHECKED (--jwt-insecure: local tests only)"
        else:
            who = f"JWTs signed by a key of {args.jwks}"
        return directory, "JWT", who + also
    if callers is not None:
        token = callers.first_delegated_token or "TOKEN"
        return callers.directory, token, f"{args.callers} ({callers.tokens} tokens)"
    from .cli import DEFAULT_ORGANIZER, DEFAULT_TENANT, DEFAULT_UPN

    default = InMemoryDirectory()
    default.add_delegated_user(
        token=DEFAULT_TOKEN,
        tenant_id=DEFAULT_TENANT,
        user_id=DEFAULT_ORGANIZER,
        upn=DEFAULT_UPN,
        scopes={DELEGATED_SCOPE},
    )
    return default, DEFAULT_TOKEN, f"one delegated user, {DEFAULT_UPN}, token {DEFAULT_TOKEN}"


def _faults(name: str | None) -> tuple[Fault, ...]:
    if name is None:
        return ()
    try:
        return faults_from_json(read_json_file(name, "faults file"))
    except ValueError as error:
        raise CannotServe(f"the faults file {name}: {error}") from None


def _store(name: str) -> Any:
    from .adapters import open_store

    try:
        return open_store(name)
    except GraphError as error:  # not ours, damaged, busy or unreachable at open, ...
        raise CannotServe(f"cannot use the store {_shown(name)}: {error.message}") from None
    except OSError as error:
        raise CannotServe(f"cannot open the store {_shown(name)}: {error}") from None


def _shown(store: str) -> str:
    """A store's name fit to print: a URL's password replaced by ``***``."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", store)


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host`` and ``port``, non-blocking.

    Raises:
        CannotServe: a host that cannot be resolved or encoded (a byte that is not UTF-8, an IDNA
            label longer than 63), an address in use or not ours, a port we may not take.
    """
    try:
        return _bound(host, port)
    except (OSError, TypeError, UnicodeError, ValueError) as error:
        raise CannotServe(f"cannot listen on {host}:{port}: {_reason(error)}") from None


def _bound(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP by name: asyncio sets TCP_NODELAY only on sockets that say so, and without it a
    # kept-alive connection waits out the peer's delayed ACK (about 40 ms) between the answer's
    # head and body.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except BaseException:
        listener.close()
        raise
    listener.setblocking(False)
    return listener


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
