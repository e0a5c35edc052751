"""Recorded exchanges, read one at a time from HAR 1.2 or JSON Lines (``meeting-rules check``).

Each reader takes a binary file and yields, in the file's order, a ``Recorded`` exchange or an
``Unreadable`` entry with its reason, numbered from 0 by their place in the file. Neither holds
more than one entry in memory:

- JSON Lines are read line by line, a line at most ``MAX_LINE_BYTES`` long (a longer one is
  ``Unreadable`` and is passed over without being held). Blank lines are no entries.
- HAR is read with ijson's ``basic_parse`` events, ``log.entries`` one entry at a time (an entry is
  held whole while it is read). An entry nested deeper than ``MAX_DEPTH`` is ``Unreadable``.

An entry is ``{"request": {...}, "response": {...}}``, HAR's members or JSON Lines' (``url`` or
``path``; ``headers`` an object or a list of ``{"name", "value"}``; the body as ``body`` or HAR's
``postData.text`` / ``content.text``, in base64 where ``encoding`` says ``"base64"``). A file that
cannot be read at all (not a HAR, an I/O error before its first entry) raises ``NotARecording``.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import attrs
import ijson  # type: ignore[import-untyped]  # ijson ships no type information

from .http import HttpRequest, HttpResponse, join_headers

__all__ = [
    "MAX_DEPTH",
    "MAX_LINE_BYTES",
    "NotARecording",
    "Recorded",
    "Unreadable",
    "UnreadableResponse",
    "exchange_of",
    "read_har",
    "read_jsonl",
]

MAX_LINE_BYTES = 16 * 1024 * 1024
HAR_READ_BYTES = 1024 * 1024
"""How much of a HAR file ijson reads at a time. Its C parser gathers a string that spans reads
by copying what it has so far at every read, so a string's cost grows with the square of its
length over this size: a 40 MiB string (a browser's base64 body) takes about 1 s at 1 MiB,
against 10 s at ijson's own 64 KiB. Reading holds about five times this much at its peak."""
"""The longest JSON Lines line read, its newline not counted."""
MAX_DEPTH = 64
"""The deepest nesting of a HAR entry read (a recorded exchange nests about 5 levels; the bodies
are text). Deeper entries are refused: building them would cost memory out of proportion."""
_SKIP_BYTES = 1 << 16
_CONTAINERS = ("start_map", "start_array")
_ENDS = ("end_map", "end_array")


@attrs.frozen
class Recorded:
    """Entry ``index`` of the file: one exchange, as recorded."""

    index: int
    request: HttpRequest
    response: HttpResponse


@attrs.frozen
class Unreadable:
    """Entry ``index`` of the file, which could not be read as an exchange, and why; ``request``:
    its request, where that much could be read (the answer could not)."""

    index: int
    reason: str
    request: HttpRequest | None = None


class UnreadableResponse(ValueError):
    """``exchange_of``: the entry's request was read, its response could not be."""

    def __init__(self, message: str, request: HttpRequest) -> None:
        super().__init__(message)
        self.request = request


class NotARecording(Exception):
    """The file cannot be read at all; the message says why (``"not a HAR file: ..."``)."""


# --- an entry -----------------------------------------------------------------------------------


def exchange_of(entry: object) -> tuple[HttpRequest, HttpResponse]:
    """The request and response of a HAR entry or a JSON Lines record.

    Raises:
        ValueError: the entry is not an exchange; the message names the member at fault
            (``"response.status is missing"``); ``UnreadableResponse`` when only the response
            is at fault.
    """
    root = _object(entry, "the entry")
    request = _object(_required(root, "", "request"), "request")
    method = _required(request, "request", "method")
    if not isinstance(method, str) or not method:
        raise ValueError("request.method is not a method name")
    sent = HttpRequest(
        method=method,
        path=_path(request),
        headers=_headers(request.get("headers"), "request.headers"),
        body=_body(request, "request", "postData", "bodySize"),
    )
    try:
        response = _object(_required(root, "", "response"), "response")
        status = _required(response, "response", "status")
        if type(status) is not int:
            raise ValueError(f"response.status is not an integer: {_short(status)}")
        if status == 0:
            raise ValueError("response.status is 0: no response was recorded")
        if not 100 <= status <= 599:
            raise ValueError(f"response.status is not an HTTP status: {status}")
        headers = _headers(response.get("headers"), "response.headers")
        return sent, HttpResponse(
            status=status, headers=headers, body=_body(response, "response", "content", "size")
        )
    except ValueError as error:
        raise UnreadableResponse(str(error), sent) from None


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not a JSON object")
    return value


def _required(value: Mapping[str, Any], where: str, name: str) -> object:
    found = value.get(name)
    if found is None:
        raise ValueError(f"{where}.{name} is missing" if where else f"{name} is missing")
    return found


def _short(value: object) -> str:
    """A recorded value in a reason: a scalar as JSON, at most 40 characters; an object or an
    array by its kind (its JSON may be nested too deeply to write)."""
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "an array"
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:39] + "…"


def _path(request: Mapping[str, Any]) -> str:
    """The request's path with its query: a URL's, or ``path`` as recorded."""
    where = "request.url" if request.get("url") is not None else "request.path"
    value = request.get("url", request.get("path"))
    if value is None:
        raise ValueError("request.url (or request.path) is missing")
    if not isinstance(value, str):
        raise ValueError(f"{where} is not text")
    if value.startswith("/"):
        return value.partition("#")[0]
    try:
        parts = urlsplit(value)
    except ValueError as error:
        raise ValueError(f"{where} is not a URL: {error}") from None
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"{where} is neither a URL nor a path starting with /")
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _headers(value: object, where: str) -> dict[str, str]:
    """The headers by name, repeated names joined with ``", "`` (the first spelling kept);
    HTTP/2 pseudo-headers (``:authority``, ``:status``) left out."""
    if value is None:
        return {}
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = []
        for position, item in enumerate(value):
            if not isinstance(item, dict) or "name" not in item or "value" not in item:
                raise ValueError(f'{where}[{position}] is not a {{"name", "value"}} object')
            pairs.append((item["name"], item["value"]))
    else:
        raise ValueError(f'{where} is neither an object nor a list of {{"name", "value"}}')
    for name, text in pairs:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where} has a name that is not text")
        if not isinstance(text, str):
            raise ValueError(f"{where}: the value of {_short(name)} is not text")
    return join_headers((name, text) for name, text in pairs if not name.startswith(":"))


def _body(message: Mapping[str, Any], where: str, har_member: str, har_size: str) -> bytes:
    """``body`` (JSON Lines) or HAR's ``postData``/``content``: ``text``, with ``encoding``."""
    if "body" in message:
        text, encoding, text_at = message["body"], message.get("encoding"), f"{where}.body"
    else:
        held = message.get(har_member)
        holder = _object({} if held is None else held, f"{where}.{har_member}")
        text, encoding = holder.get("text"), holder.get("encoding")
        text_at = f"{where}.{har_member}.text"
        size = holder.get(har_size, message.get(har_size))  # content.size; request.bodySize
        if text is None and type(size) is int and size > 0:
            raise ValueError(f"{text_at} is missing: the body was not recorded")
    if text is None:
        return b""
    if not isinstance(text, str):
        raise ValueError(f"{text_at} is not text (a body is recorded as a JSON string)")
    if encoding in (None, ""):
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{text_at} holds a lone surrogate, which no body can") from None
    if encoding != "base64":
        raise ValueError(f"{where}: the encoding {_short(encoding)} is not base64")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{text_at} is not base64") from None


def _recorded(index: int, entry: object, prefix: str = "") -> Recorded | Unreadable:
    try:
        request, response = exchange_of(entry)
    except UnreadableResponse as error:
        return Unreadable(index, f"{prefix}{error}", error.request)
    except ValueError as error:
        return Unreadable(index, f"{prefix}{error}")
    return Recorded(index, request, response)


# --- JSON Lines ---------------------------------------------------------------------------------


def read_jsonl(
    file: BinaryIO, *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[Recorded | Unreadable]:
    """The exchanges of a JSON Lines file, one a line (see the module).

    Raises:
        NotARecording: the file cannot be read before its first line.
    """
    index = 0
    number = 0
    while True:
        try:
            line = file.readline(max_line_bytes + 1)
            if not line.endswith(b"\n") and len(line) > max_line_bytes:
                _pass_over_line(file)
                too_long = True
            else:
                too_long = False
        except (OSError, ValueError) as error:
            if number == 0:
                raise NotARecording(f"cannot read it: {_os_reason(error)}") from None
            yield Unreadable(index, f"line {number + 1}: cannot read on: {_os_reason(error)}")
            return
        if not line:
            return
        number += 1
        if too_long:
            yield Unreadable(index, f"line {number}: longer than {max_line_bytes} bytes")
        elif line.strip():
            yield _line_record(index, number, line)
        else:
            continue
        index += 1


def _pass_over_line(file: BinaryIO) -> None:
    """Read on to the end of the current line, a block at a time."""
    while True:
        block = file.readline(_SKIP_BYTES)
        if not block or block.endswith(b"\n"):
            return


def _line_record(index: int, number: int, line: bytes) -> Recorded | Unreadable:
    where = f"line {number}: "
    if number == 1 and line.startswith(codecs.BOM_UTF8):
        line = line[len(codecs.BOM_UTF8) :]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return Unreadable(
            index, f"{where}not UTF-8 (byte 0x{line[error.start]:02x} at byte {error.start + 1})"
        )
    cut = "" if line.endswith(b"\n") else " (the last line, with no newline: cut short?)"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return Unreadable(index, f"{where}not JSON{cut}: {error.msg} at character {error.pos + 1}")
    except RecursionError:
        return Unreadable(index, f"{where}not JSON: nested too deeply")
    except ValueError:  # an integer of more digits than Python converts
        return Unreadable(index, f"{where}not JSON: a number too long to read")
    return _recorded(index, value, where)


def _os_reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


# --- HAR ----------------------------------------------------------------------------------------


class _Broken(Exception):
    """The HAR's JSON breaks off: the message says how."""


class _ReadFailed(_Broken):
    """The file could not be read on (an ``OSError``)."""


def read_har(file: BinaryIO) -> Iterator[Recorded | Unreadable]:
    """The exchanges of a HAR file, ``log.entries`` one at a time (see the module).

    Raises:
        NotARecording: not a HAR file (the top level is not a JSON object with ``log.entries``,
            an array), or it breaks off before ``log.entries``.
    """
    events = _events(_AfterBom(file))
    try:
        _enter_entries(events)
    except _ReadFailed as failed:
        raise NotARecording(str(failed)) from None
    except _Broken as broken:
        raise NotARecording(f"not a HAR file: {broken}") from None
    index = 0
    while True:
        try:
            entry = _next_entry(events)
        except _Broken as broken:
            yield Unreadable(index, f"{broken}, after {index} whole entries")
            return
        if entry is _END:
            break
        if entry is _TOO_DEEP:
            yield Unreadable(index, f"nested deeper than {MAX_DEPTH} levels")
        else:
            yield _recorded(index, entry)
        index += 1
    try:
        for _ in events:  # the rest of the file, so that a break after the entries is seen
            pass
    except _Broken as broken:
        yield Unreadable(index, f"{broken}, after the entries")


_END = object()
_TOO_DEEP = object()


class _AfterBom:
    """A binary file read past a UTF-8 byte order mark at its start (as some Windows tools save
    a HAR), as the JSON Lines reader reads past one."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._head: bytes | None = None

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's test of what the file gives
            return b""
        if self._head is None:
            head = self._file.read(len(codecs.BOM_UTF8))
            self._head = b"" if head == codecs.BOM_UTF8 else head
        if not self._head:
            return self._file.read(size)
        head, self._head = self._head, b""
        rest = self._file.read(-1 if size < 0 else max(size - len(head), 0))
        return head + rest


def _events(file: Any) -> Iterator[tuple[str, Any]]:
    """ijson's events, any failure of the parser or of the read turned into ``_Broken``.

    ``use_float``: yajl reads every number itself, and refuses an integer beyond 64 bits as a
    parse error. Without it, an integer Python will not convert (over 4,300 digits) raises inside
    ijson's C backend, which then crashes the interpreter (ijson 3.6, in ``basic_parse``,
    ``parse`` and ``items`` alike).
    """
    parser = ijson.basic_parse(file, use_float=True, buf_size=HAR_READ_BYTES)
    while True:
        try:
            event = next(parser)
        except StopIteration:
            return
        except OSError as error:
            raise _ReadFailed(f"cannot read on: {_os_reason(error)}") from None
        except (ValueError, ijson.JSONError, SystemError, OverflowError) as error:
            raise _Broken(_parse_error(error)) from None
        yield event


def _parse_error(error: Exception) -> str:
    if isinstance(error, SystemError | OverflowError):
        return "not JSON: a number too long to read"
    text = str(error)
    if text[:2] in ("b'", 'b"'):  # yajl's lexical errors come as the repr of bytes
        text = text[2:].replace("\\n", "\n")
    first = text.strip().splitlines()[0].strip().rstrip(".") if text.strip() else ""
    if "premature EOF" in first or "Incomplete" in first:
        return "the file ends early"
    if "integer overflow" in first:
        return "not read on: an integer beyond 64 bits"
    if "invalid bytes in UTF8" in first:
        return "not UTF-8"
    return f"not JSON: {first or type(error).__name__}"


def _enter_entries(events: Iterator[tuple[str, Any]]) -> None:
    """Read up to the start of the array ``log.entries``."""
    if _next_event(events)[0] != "start_map":
        raise _Broken("the top level is not a JSON object")
    if not _find_key(events, "log"):
        raise _Broken("it has no log")
    if _next_event(events)[0] != "start_map":
        raise _Broken("log is not a JSON object")
    if not _find_key(events, "entries"):
        raise _Broken("it has no log.entries")
    if _next_event(events)[0] != "start_array":
        raise _Broken("log.entries is not an array")


def _next_event(events: Iterator[tuple[str, Any]]) -> tuple[str, Any]:
    for event in events:
        return event
    raise _Broken("the file ends early")


def _find_key(events: Iterator[tuple[str, Any]], name: str) -> bool:
    """Read an object's members up to the value of ``name`` (True), or to its end (False)."""
    while True:
        event, value = _next_event(events)
        if event == "end_map":
            return False
        if value == name:
            return True
        _skip(events, 1 if _next_event(events)[0] in _CONTAINERS else 0)


def _skip(events: Iterator[tuple[str, Any]], depth: int) -> None:
    """Read on to the end of the ``depth`` containers just started."""
    while depth:
        event = _next_event(events)[0]
        if event in _CONTAINERS:
            depth += 1
        elif event in _ENDS:
            depth -= 1


def _next_entry(events: Iterator[tuple[str, Any]]) -> object:
    """The next item of the array being read, ``_END`` at its end, ``_TOO_DEEP`` for an item
    nested deeper than ``MAX_DEPTH`` (read over)."""
    event, value = _next_event(events)
    if event == "end_array":
        return _END
    if event == "start_map":
        root: Any = {}
    elif event == "start_array":
        root = []
    else:
        return value
    stack: list[Any] = [root]
    key = ""
    for event, value in events:
        if event == "map_key":
            key = value
            continue
        if event in _ENDS:
            stack.pop()
            if not stack:
                return root
            continue
        new: Any = {} if event == "start_map" else [] if event == "start_array" else value
        top = stack[-1]
        if type(top) is dict:
            top[key] = new
        else:
            top.append(new)
        if event in _CONTAINERS:
            if len(stack) >= MAX_DEPTH:
                _skip(events, len(stack) + 1)
                return _TOO_DEEP
            stack.append(new)
    raise _Broken("the file ends early")
