"""Graph JSON in and out: the createOrGet body, the onlineMeeting body, the error body (R-JSON-*).

Objects are read and written through the cattrs converters of ``object_json``, whose hooks are
generated per class; this module decodes and encodes the bytes, reads the createOrGet body through
readers generated from its rule tables, and holds the public functions. The wire decisions:

- Member names are Graph's camelCase (R-JSON-1); enum values Graph's strings, read ignoring case
  (R-BODY-7); members after ``unknownFutureValue`` are written as ``unknownFutureValue`` unless
  ``include_unknown_enum_members`` (R-JSON-3).
- Timestamps are ``Instant``: read per R-TIME-5, written in Graph's 7-digit UTC form (R-TIME-6).
- Every object read keeps its member order and its unknown members (R-JSON-4); an object the library
  built is written in Graph's default layout, unset members as ``null`` and empty collections as
  ``[]`` (R-JSON-2), beta with ``producers``/``contributors``, v1.0 with ``expiryDateTime``.
- Of several defects, the first met is reported: in a createOrGet body, in document order (an end
  before the start as soon as both are read, a missing ``externalId`` once all is read); in an
  onlineMeeting body, in the order of the class's members, then its unknown members.
- Bodies are UTF-8 JSON objects; duplicate member names, ``NaN``/``Infinity``, numbers beyond a
  double, ``NUL`` and lone surrogates in kept strings, and nesting beyond ``MAX_DEPTH`` are refused.
- Every defect is a ``BadRequestError`` whose ``target`` is the member's JSON path
  (``participants.attendees[0].upn``), ``None`` when the body as a whole is at fault (R-BODY-6).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

import attrs
import cattrs

from ._members import JsonValue
from .enums import ApiVersion, OnlineMeetingRole
from .errors import BadRequestError, GraphError, RequestTooLargeError, quoted
from .instant import Instant
from .meeting import ChatInfo, OnlineMeeting
from .object_json import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    PATH_MARK,
    PLAIN_NAME,
    REQUEST_READER,
    RESPONSE_READER,
    STORAGE_READER,
    STR_CHECK,
    MemberError,
    compile_function,
    construction,
    is_graph_enum,
    is_optional,
    is_tuple,
    json_kind,
    json_path,
    optional_arg,
    path_step,
    refusal,
    writer,
    wrong_type,
)
from .participants import IdentitySet, MeetingParticipantInfo, MeetingParticipants
from .request import CreateOrGetRequest
from .settings import DEFAULT_MAX_BODY_BYTES

Body = bytes | bytearray | memoryview | str | Mapping[str, JsonValue]

__all__ = [
    "IGNORED_MEMBERS_ANNOTATION",
    "MAX_DEPTH",
    "dumps_json",
    "dumps_meeting",
    "error_to_json",
    "json_path",
    "meeting_from_json",
    "meeting_from_storage",
    "meeting_to_json",
    "meeting_to_storage",
    "parse_create_or_get",
    "request_to_json",
]

IGNORED_MEMBERS_ANNOTATION = "@meetingRules.ignoredMembers"
"""The instance annotation under which the ``validate`` command lists ignored members."""

_UNREADABLE = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload "
    "is of valid JSON format."
)
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
            error = MemberError(f"The member '{PATH_MARK}' appears more than once in its object.")
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


def _decode(body: object, max_bytes: int | None = None) -> Mapping[str, JsonValue]:
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
                f"{_UNREADABLE} The body is not UTF-8 (byte {error.start})."
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
        raise BadRequestError(f"{_UNREADABLE} The body is nested too deeply.") from None
    except ValueError as error:  # json.JSONDecodeError, and the hooks' refusals
        raise BadRequestError(f"{_UNREADABLE} {quoted(str(error), 200)}.") from None
    duplicate = _first_duplicate(value)
    if duplicate is not None:
        raise duplicate.graph_error()
    return value


# --- the createOrGet body -----------------------------------------------------------------------


@attrs.frozen
class _Rule:
    """What a request member does: read into ``attr``, read and dropped (no ``attr``), or skipped.

    ``table`` reads a nested object (``array``: an array of them). A name missing from its table is
    one Graph does not define: ignored, or refused when reading strictly.
    """

    attr: str | None = None
    type: Any = None
    table: _Table | None = None
    array: bool = False


_Reader = Callable[[Mapping[str, JsonValue], str, bool, list[str]], Any]


@attrs.define
class _Table:
    """The rules of one object of a createOrGet body, and its reader generated from them.

    ``read(obj, path, strict, ignored)`` reads the members of the object at ``path`` (its JSON
    path, ``""`` for the body) in document order, appends the JSON path of each ignored one to
    ``ignored``, and returns a new ``cls``. The reader is generated on first use, not on import.
    """

    cls: type[Any]
    rules: Mapping[str, _Rule]
    name: str = ""
    """The generated function's name, after ``read_`` (the class's name by default)."""
    read: _Reader = attrs.field(init=False, eq=False, repr=False)
    _generated: _Reader | None = attrs.field(default=None, init=False, eq=False, repr=False)

    @read.default
    def _first_read(self) -> _Reader:
        def read(obj: Mapping[str, JsonValue], path: str, strict: bool, ignored: list[str]) -> Any:
            return self.reader()(obj, path, strict, ignored)

        return read

    def reader(self) -> _Reader:
        """The generated reader (made now if need be), which from now on is ``read`` too."""
        if self._generated is None:
            self._generated = self.read = self._generate()
        return self._generated

    def _generate(self) -> _Reader:
        cls = self.cls
        body = cls is CreateOrGetRequest
        function = f"read_{self.name or cls.__name__}"
        namespace: dict[str, Any] = {
            "cls": cls,
            "Mapping": Mapping,
            "wrong_type": wrong_type,
            "MemberError": MemberError,
            "_GraphError": GraphError,
            "_parse_instant": Instant.parse,
            "_ignore": _ignore,
            "_no_external_id": _no_external_id,
            "_end_before_start": _end_before_start,
            "_check_external_id": attrs.fields(CreateOrGetRequest).external_id.validator,
            "path_step": path_step,
        }
        fields = attrs.fields(attrs.resolve_types(cls))
        defaults = {f.name: "()" if is_tuple(f.type) else "None" for f in fields}
        lines = [f"def {function}(obj, path, strict, ignored):"]
        if not body:
            lines += [
                "    if type(obj) is not dict and not isinstance(obj, Mapping):",
                "        raise wrong_type('an object', obj).graph_error(path)",
                "    kept = []",
            ]
        lines += [f"    a_{r.attr} = {defaults[r.attr]}" for r in self.rules.values() if r.attr]
        if body:
            lines.append("    sent_start_date_time = sent_end_date_time = None")
        lines.append("    for name, item in obj.items():")
        for i, (member, rule) in enumerate(self.rules.items()):
            target = f"a_{rule.attr}" if rule.attr else "value"
            lines.append(f"        {'elif' if i else 'if'} name == {member!r}:")
            # Graph's names are plain: a member's path is its parent's, a dot and its name.
            assert PLAIN_NAME.fullmatch(member), member
            where = repr(member) if body else f"path + {'.' + member!r}"
            lines += [
                f"            {line}" for line in _rule_code(i, rule, namespace, target, where)
            ]
            if rule.attr is None:
                lines += [
                    "            if item is not None:",
                    f"                ignored.append({where})",
                ]
            elif not body:
                lines.append("            kept.append(name)")
            elif rule.attr == "external_id":  # an empty one is met where it is (R-BODY-2)
                lines += [
                    "            if a_external_id == '':",
                    "                _check_external_id(None, None, a_external_id)",
                ]
            elif rule.attr in ("start_date_time", "end_date_time"):
                # End before start is met as soon as both are read, as a defect in document order,
                # and told with the times as they were sent.
                lines += [
                    f"            sent_{rule.attr} = item",
                    "            if (",
                    "                a_end_date_time is not None",
                    "                and a_start_date_time is not None",
                    "                and a_end_date_time.ticks < a_start_date_time.ticks",
                    "            ):",
                    "                raise _end_before_start(",
                    "                    sent_start_date_time, sent_end_date_time",
                    "                )",
                ]
        lines += ["        else:", "            _ignore(name, path, strict, ignored)"]
        if body:
            lines += ["    if a_external_id is None:", "        raise _no_external_id(obj)"]
            arguments = {"ignored_members": "tuple(ignored)"}
        else:
            arguments = {"unknown_members": "{}", "member_order": "tuple(kept)"}
        read = {r.attr for r in self.rules.values() if r.attr}
        for f in fields:
            arguments.setdefault(f.name, f"a_{f.name}" if f.name in read else defaults[f.name])
        lines += construction(cls, namespace, arguments)
        return compile_function(function, lines, namespace)  # type: ignore[no-any-return]


def _end_before_start(start: object, end: object) -> BadRequestError:
    """R-TIME-4's refusal, quoting the two times as the body gave them."""
    return BadRequestError(
        f"endDateTime ({quoted(str(end))}) must not be earlier than startDateTime "
        f"({quoted(str(start))}).",
        target="endDateTime",
    )


def _no_external_id(obj: Mapping[str, JsonValue]) -> BadRequestError:
    """The refusal of a body whose externalId is null or missing (R-BODY-1)."""
    if "externalId" in obj:
        return BadRequestError("The parameter 'externalId' must not be null.", target="externalId")
    return BadRequestError(
        "One or more parameters of the operation 'createOrGet' are missing from the request "
        "payload. The missing parameters are: externalId.",
        target="externalId",
    )


def _rule_code(
    index: int, rule: _Rule, namespace: dict[str, Any], target: str, where: str
) -> list[str]:
    """Lines reading ``item``, the member ``name`` at ``path``, into the variable ``target``;
    ``where`` is an expression for the member's own path."""
    if rule.table is not None:
        namespace[f"r{index}"] = rule.table.reader()
        if not rule.array:
            return [
                f"{target} = None if item is None else r{index}(item, {where}, strict, ignored)"
            ]
        return [
            "if type(item) is not list and type(item) is not tuple:",
            f"    raise wrong_type('an array', item).graph_error({where})",
            f"where = {where}",
            "items = []",
            "for i, x in enumerate(item):",
            f"    items.append(r{index}(x, f'{{where}}[{{i}}]', strict, ignored))",
            f"{target} = tuple(items)",
        ]
    inner = optional_arg(rule.type) or rule.type
    namespace[f"h{index}"] = REQUEST_READER.get_structure_hook(inner)
    namespace[f"t{index}"] = inner
    branches: list[tuple[str, list[str]]] = []
    if is_optional(rule.type):
        branches.append(("item is None", [f"{target} = None"]))
    if inner is str:
        branches.append((STR_CHECK.format("item"), [f"{target} = item"]))
    elif is_graph_enum(inner):  # Graph's own spelling, found at once; any other found after
        namespace[f"e{index}"] = {m.value: m for m in inner if m.value != "unknownFutureValue"}
        namespace[f"find{index}"] = namespace[f"h{index}"].find
        namespace["_refusal"] = refusal
        branches.append((f"type(item) is str and item in e{index}", [f"{target} = e{index}[item]"]))
        return _branches(
            branches,
            [
                f"{target} = find{index}(item)",
                f"if type({target}) is str:",
                f"    raise _refusal({target}, {where})  # one exception made, not two",
            ],
        )
    elif inner is Instant:
        branches.append(
            (
                "type(item) is str",
                [
                    "try:",
                    f"    {target} = _parse_instant(item)",
                    "except _GraphError as error:",
                    "    problem = MemberError(error.message)",
                    f"    raise problem.graph_error({where}) from None",
                ],
            )
        )
    code = [
        "try:",
        f"    {target} = h{index}(item, t{index})",
        "except MemberError as error:",
        f"    raise error.graph_error({where}) from None",
    ]
    return _branches(branches, code)


def _branches(branches: list[tuple[str, list[str]]], otherwise: list[str]) -> list[str]:
    """``if``/``elif`` lines for ``(test, lines)`` pairs, then ``otherwise`` as the ``else``."""
    if not branches:
        return otherwise
    lines: list[str] = []
    for i, (test, body) in enumerate(branches):
        lines.append(f"{'elif' if i else 'if'} {test}:")
        lines += [f"    {line}" for line in body]
    return [*lines, "else:", *(f"    {line}" for line in otherwise)]


def _ignore(name: object, path: str, strict: bool, ignored: list[str]) -> None:
    """A member Graph does not define: listed, or refused when reading strictly (R-BODY-3)."""
    if not isinstance(name, str):
        raise MemberError(
            f"The object '{PATH_MARK}' has a member name that is not a string."
        ).graph_error(path)
    if strict and "@" not in name:
        raise BadRequestError(
            f"The parameter '{quoted(name)}' in the request payload is "
            "not a valid parameter for the operation 'createOrGet'.",
            target=path_step(path, name),
        )
    ignored.append(path_step(path, name))


# A rule without ``attr`` reads its member only to check it, then drops it as ignored: Graph's
# own members that have no effect in createOrGet must still have the right type (R-BODY-6).
_CHAT_INFO = _Table(
    ChatInfo,
    {
        "threadId": _Rule("thread_id", str | None),
        "messageId": _Rule(None, str | None),  # made by the service (R-MEET-5)
        "replyChainMessageId": _Rule(None, str | None),
    },
)
_ATTENDEE = _Table(
    MeetingParticipantInfo,
    {
        "identity": _Rule("identity", IdentitySet | None),
        "upn": _Rule("upn", str | None),
        "role": _Rule(None, OnlineMeetingRole | None),  # checked, no effect (R-BODY-5)
    },
)
_PARTICIPANTS = _Table(
    MeetingParticipants,
    {
        "attendees": _Rule("attendees", table=_ATTENDEE, array=True),
        "organizer": _Rule(None, MeetingParticipantInfo | None),  # the caller (R-BODY-5, R-MEET-2)
        "producers": _Rule(None, tuple[MeetingParticipantInfo, ...]),
        "contributors": _Rule(None, tuple[MeetingParticipantInfo, ...]),
    },
)
_BODY_RULES: Mapping[str, _Rule] = {
    "externalId": _Rule("external_id", str | None),
    "subject": _Rule("subject", str | None),
    "startDateTime": _Rule("start_date_time", Instant | None),
    "endDateTime": _Rule("end_date_time", Instant | None),
    "participants": _Rule("participants", table=_PARTICIPANTS),
    "chatInfo": _Rule("chat_info", table=_CHAT_INFO),
}
# chatInfo is beta only (R-BODY-4): v1.0 checks it, then ignores it.
_V1_BODY_RULES: Mapping[str, _Rule] = {**_BODY_RULES, "chatInfo": _Rule(None, ChatInfo | None)}
_BODY = _Table(CreateOrGetRequest, _BODY_RULES)
_V1_BODY = _Table(CreateOrGetRequest, _V1_BODY_RULES, name="CreateOrGetRequest_v1")


def parse_create_or_get(
    body: Body,
    *,
    version: ApiVersion | str = ApiVersion.BETA,
    strict: bool = False,
    max_body_bytes: int | None = None,
) -> CreateOrGetRequest:
    """Read a createOrGet body: every rule that needs no clock, caller or store.

    Args:
        body: UTF-8 JSON bytes, JSON text, or an already decoded mapping.
        version: ``beta`` takes ``chatInfo``; ``v1.0`` ignores it (R-BODY-4).
        strict: refuse members Graph does not define instead of ignoring them (R-BODY-3).
        max_body_bytes: the longest body read, in UTF-8 bytes (``None``: Graph's 4 MB,
            ``DEFAULT_MAX_BODY_BYTES``); a mapping is not measured.

    Raises:
        RequestTooLargeError: the body is longer than ``max_body_bytes`` (413); it was not read.
        BadRequestError: any defect (R-BODY-*, R-TIME-3..5), ``target`` naming the member.
    """
    if version is not ApiVersion.BETA:
        version = ApiVersion(version)
    table = _BODY if version is ApiVersion.BETA else _V1_BODY
    limit = DEFAULT_MAX_BODY_BYTES if max_body_bytes is None else max_body_bytes
    request: CreateOrGetRequest = table.read(_decode(body, limit), "", strict, [])
    return request


def request_to_json(
    request: CreateOrGetRequest, *, version: ApiVersion | str = ApiVersion.BETA
) -> dict[str, JsonValue]:
    """The request as a createOrGet body: the members that have an effect, times in UTC."""
    version = ApiVersion(version)
    converter = writer(version, True)
    out: dict[str, JsonValue] = {"externalId": request.external_id}
    for name, rule in _BODY_RULES.items():
        if rule.attr is None or name == "externalId":
            continue
        if name == "chatInfo" and version is not ApiVersion.BETA:
            continue
        value = getattr(request, rule.attr)
        if value is not None:
            out[name] = converter.unstructure(value)
    return out


# --- the onlineMeeting body ---------------------------------------------------------------------


def meeting_from_json(obj: Body, *, max_body_bytes: int | None = None) -> OnlineMeeting:
    """Read an onlineMeeting response body losslessly (R-JSON-4).

    ``max_body_bytes`` bounds the body as for ``parse_create_or_get`` (``None``: 4 MB).

    Raises:
        RequestTooLargeError: the body is longer than ``max_body_bytes``; it was not read.
        BadRequestError: the body is not an onlineMeeting; ``target`` names the member.
    """
    limit = DEFAULT_MAX_BODY_BYTES if max_body_bytes is None else max_body_bytes
    return _read_meeting(RESPONSE_READER, obj, limit)


def _read_meeting(
    converter: cattrs.Converter, data: Body, max_bytes: int | None = None
) -> OnlineMeeting:
    value = _decode(data, max_bytes)
    try:
        meeting: OnlineMeeting = converter.get_structure_hook(OnlineMeeting)(value, OnlineMeeting)
    except MemberError as error:
        raise error.graph_error() from None
    return meeting


def meeting_to_json(
    meeting: OnlineMeeting,
    *,
    version: ApiVersion | str = ApiVersion.BETA,
    include_unknown_enum_members: bool = False,
) -> dict[str, JsonValue]:
    """The onlineMeeting response body as a dict of its own (R-JSON-1..4, R-MEET-3, R-TIME-8)."""
    return _meeting_json(meeting, ApiVersion(version), include_unknown_enum_members, copy=True)


def _meeting_json(
    meeting: OnlineMeeting, version: ApiVersion | None, include: bool, *, copy: bool
) -> dict[str, JsonValue]:
    converter = writer(version, include, copy)
    result: dict[str, JsonValue] = converter.get_unstructure_hook(OnlineMeeting)(meeting)
    return result


def dumps_meeting(
    meeting: OnlineMeeting,
    *,
    version: ApiVersion | str = ApiVersion.BETA,
    include_unknown_enum_members: bool = False,
) -> bytes:
    """The onlineMeeting response body as compact UTF-8 JSON."""
    version = ApiVersion(version)
    return dumps_json(_meeting_json(meeting, version, include_unknown_enum_members, copy=False))


def meeting_to_storage(meeting: OnlineMeeting, *, checked: bool = False) -> bytes:
    """The form a store keeps: every member that is set, layouts and unknown members kept, so
    that ``meeting_from_storage`` gives back an equal meeting that writes the same JSON.

    Args:
        checked: first read the form back, as ``meeting_from_storage`` would, so that a meeting
            built by hand with a value Graph JSON cannot hold is refused rather than stored.

    Raises:
        BadRequestError: (``checked``) the meeting holds such a value; ``target`` names it.
    """
    form = _meeting_json(meeting, None, True, copy=False)
    if checked:
        try:
            STORAGE_READER.get_structure_hook(OnlineMeeting)(form, OnlineMeeting)
        except MemberError as error:
            raise error.graph_error() from None
    return dumps_json(form)


def meeting_from_storage(data: bytes | str) -> OnlineMeeting:
    """A meeting from ``meeting_to_storage``'s form.

    Raises:
        BadRequestError: the data is not a stored meeting (a store should report it as a 500).
    """
    return _read_meeting(STORAGE_READER, data)


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


# --- the error body -----------------------------------------------------------------------------


def error_to_json(
    error: GraphError,
    *,
    request_id: str,
    client_request_id: str | None = None,
    date: Instant,
) -> dict[str, JsonValue]:
    """Graph's error body (R-JSON-5); ``innerError.date`` is UTC without a zone, to the second."""
    main: dict[str, JsonValue] = {"code": error.code, "message": error.message}
    if error.target is not None:
        main["target"] = error.target
    main["innerError"] = {
        "date": date.isoformat()[:19],
        "request-id": request_id,
        "client-request-id": client_request_id if client_request_id is not None else request_id,
    }
    return {"error": main}
