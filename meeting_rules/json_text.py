"""JSON text in and out: bytes or text to a decoded object, and values to compact UTF-8 bytes.

Reading refuses, before any rule sees the body: a body over the size limit (413, before anything
is decoded), bytes that are not UTF-8, text that is not one JSON object, a member named twice in
an object (found in document order, its JSON path named), ``NaN`` and ``Infinity``, numbers
beyond a double, integers of more than ``MAX_INT_DIGITS`` digits and nesting too deep for the
decoder. Writing is compact (``,`` and ``:``), UTF-8, as Graph writes it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from ._members import JsonValue
from .errors import BadRequestError, RequestTooLargeError, quoted
from .json_paths import MemberError, json_kind
from .settings import DEFAULT_MAX_BODY_BYTES

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "UNREADABLE", "Body", "decode", "dumps_json"]

Body = bytes | bytearray | memoryview | str | Mapping[str, JsonValue]
"""What a body may be given as: UTF-8 JSON bytes, JSON text, or a mapping already decoded."""

MAX_DEPTH = 100
"""Deepest nesting of a kept JSON value, as OData's default ``MaxNestingDepth`` [LIB]."""
MAX_INT_DIGITS = 4_300
"""Python's own limit for ``int(str)``; a longer integer is refused clearly."""

UNREADABLE = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload "
    "is of valid JSON format."
)
"""Graph's message for a body it cannot read (and for a ``Content-Type`` that is not JSON)."""
_EMPTY = "Empty Payload. JSON content expected."

# --- decoding -----------------------------------------------------------------------------------


class _DuplicateMember(dict[str, Any]):
    """An object that named a member twice; found again by ``_first_duplicate`` for its path."""

    def __init__(self, pairs: list[tuple[str, Any]], name: str) -> None:
        super().__init__(pairs)
        self.duplicate = name


def _marked_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The second decoding's hook: an object that names a member twice is marked for its path."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                return _DuplicateMember(pairs, name)
            seen.add(name)
    return obj


def _first_duplicate(value: object) -> MemberError | None:
    """The first object, in document order, that names a member twice, as an error on it."""
    # Paths are linked (parent, step) pairs, so the walk stays linear in the size of the body.
    Link = tuple[Any, str | int] | None
    stack: list[tuple[object, Link]] = [(value, None)]
    while stack:
        item, link = stack.pop()
        if isinstance(item, _DuplicateMember):
            error = MemberError("appears more than once in its object.")
            error.at(item.duplicate)
            while link is not None:
                link, step = link
                error.at(step)
            return error
        if isinstance(item, dict):
            stack.extend((inner, (link, name)) for name, inner in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((item[i], (link, i)) for i in range(len(item) - 1, -1, -1))
    return None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"The number {text[:40]} is beyond a double")
    return number


def _bounded_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"A number has {digits} digits, more than {MAX_INT_DIGITS}")
    return int(text)


class _Duplicate(Exception):
    """Raised by the first decoding's hook: the body names a member twice somewhere."""


def _plain_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Duplicate
    return obj


_DECODER_OPTIONS: dict[str, Any] = {
    "parse_constant": _refuse_constant,
    "parse_float": _finite_float,
    "parse_int": _bounded_int,
}
_scan: Callable[[str, int], tuple[Any, int]] = getattr(  # noqa: B009 (not in the stubs)
    json.JSONDecoder(object_pairs_hook=_plain_object, **_DECODER_OPTIONS), "scan_once"
)
"""The C scanner with the hooks above, built once: reads one JSON value at an index."""
_MARKING_DECODER = json.JSONDecoder(object_pairs_hook=_marked_object, **_DECODER_OPTIONS)
_WHITESPACE = " \t\n\r"


def _check_size(body: object, limit: int) -> None:
    """Refuse a body longer than ``limit`` UTF-8 bytes before anything is decoded (413)."""
    if isinstance(body, str):
        size = len(body)
        if size <= limit < 4 * size and not body.isascii():
            size = len(body.encode("utf-8", "surrogatepass"))
    elif isinstance(body, memoryview):
        size = body.nbytes
    elif isinstance(body, bytes | bytearray):
        size = len(body)
    else:
        return  # an already decoded value: its size was someone else's to bound
    if size > limit:
        if limit == DEFAULT_MAX_BODY_BYTES:
            raise RequestTooLargeError("The maximum request length supported is 4MB.")
        raise RequestTooLargeError(f"The maximum request length supported is {limit} bytes.")


def decode(body: object, max_bytes: int | None = None) -> Mapping[str, JsonValue]:
    """Bytes, text or an already decoded value to a JSON object (R-BODY-6).

    A body is scanned once, quickly; one that fails is decoded again by ``_decode_text``, which
    says what is wrong with it. With ``max_bytes``, a longer body is refused first (413).
    """
    if type(body) is dict:
        return body
    if max_bytes is not None:
        _check_size(body, max_bytes)
    if type(body) is bytes or isinstance(body, bytes | bytearray | memoryview):
        try:
            text = (body if type(body) is bytes else bytes(body)).decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadRequestError(
                f"{UNREADABLE} The body is not UTF-8 (byte {error.start})."
            ) from None
        body = text.removeprefix("\ufeff")
    if isinstance(body, str):
        start = 0 if body[:1] == "{" else len(body) - len(body.lstrip(_WHITESPACE))
        try:
            value, end = _scan(body, start)
            if end != len(body) and body[end:].strip(_WHITESPACE):
                value = _decode_text(body)  # text after the value
        except (_Duplicate, StopIteration, ValueError, RecursionError):
            value = _decode_text(body)
    else:
        value = body
    if type(value) is not dict and not isinstance(value, Mapping):
        raise BadRequestError(f"The body must be a JSON object, not {json_kind(value)}.")
    return value


def _decode_text(text: str) -> object:
    """Decode JSON text that the first scan refused; every defect a 400 that says what it is."""
    if not text.strip(_WHITESPACE):
        raise BadRequestError(_EMPTY)
    try:
        if text[:1] == "\ufeff":  # as json.loads: text never starts with a byte order mark
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _MARKING_DECODER.decode(text)
    except RecursionError:
        raise BadRequestError(f"{UNREADABLE} The body is nested too deeply.") from None
    except ValueError as error:  # json.JSONDecodeError, and the hooks' refusals
        raise BadRequestError(f"{UNREADABLE} {quoted(str(error), 200)}.") from None
    duplicate = _first_duplicate(value)
    if duplicate is not None:
        raise duplicate.graph_error()
    return value


def _not_json(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# json.dumps builds its C encoder anew on every call: this one is built once (no cycle check:
# a value built by hand that holds itself ends in a RecursionError, reported as a ValueError).
_ENCODE: Callable[[object, int], Any] | None = (
    None
    if c_make_encoder is None
    else c_make_encoder(None, _not_json, encode_basestring, None, ":", ",", False, False, False)
)


def dumps_json(obj: JsonValue) -> bytes:
    """Compact UTF-8 JSON, as Graph writes it; a lone surrogate is escaped rather than fatal.

    Raises:
        ValueError: a number that is not finite, or a value that holds itself.
        TypeError: a value that is not JSON.
    """
    try:
        if _ENCODE is None:
            text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        else:
            text = "".join(_ENCODE(obj, 0))
    except RecursionError:
        raise ValueError("The value holds itself, or is nested too deeply") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in an object built by hand: escape it
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("ascii")
