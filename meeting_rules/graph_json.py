"""Graph JSON in and out: the createOrGet body, the onlineMeeting body, the error body (R-JSON-*).

Reading and writing go through cattrs converters configured in this module, one per direction and
policy (see ``_configure``). The wire decisions:

- Member names are Graph's camelCase (R-JSON-1); enum values Graph's strings, read ignoring case
  (R-BODY-7); members after ``unknownFutureValue`` are written as ``unknownFutureValue`` unless
  ``include_unknown_enum_members`` (R-JSON-3).
- Timestamps are ``Instant``: read per R-TIME-5, written in Graph's 7-digit UTC form (R-TIME-6).
- Every object read keeps its member order and its unknown members (R-JSON-4); an object the library
  built is written in Graph's default layout, unset members as ``null`` and empty collections as
  ``[]`` (R-JSON-2), beta with ``producers``/``contributors``, v1.0 with ``expiryDateTime``.
- Bodies are UTF-8 JSON objects; duplicate member names, ``NaN``/``Infinity``, numbers beyond a
  double, ``NUL`` and lone surrogates in kept strings, and nesting beyond ``MAX_DEPTH`` are refused.
- Every defect is a ``BadRequestError`` whose ``target`` is the member's JSON path
  (``participants.attendees[0].upn``), ``None`` when the body as a whole is at fault (R-BODY-6).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from functools import cache
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs

from ._members import GraphObject, JsonValue, snake_to_camel
from .enums import ApiVersion, GraphEnum, OnlineMeetingRole
from .errors import BadRequestError, GraphError, quoted
from .instant import Instant
from .meeting import ChatInfo, OnlineMeeting
from .participants import IdentitySet, MeetingParticipantInfo, MeetingParticipants
from .request import CreateOrGetRequest

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

MAX_DEPTH = 100
"""Deepest nesting of a kept JSON value, as OData's default ``MaxNestingDepth`` [LIB]."""
IGNORED_MEMBERS_ANNOTATION = "@meetingRules.ignoredMembers"
"""The instance annotation under which the ``validate`` command lists ignored members."""
_RESERVED = "@meetingRules."
_DEFAULT_LAYOUT = _RESERVED + "defaultLayout"
"""In the store's form, marks an object built by the library (``member_order`` is ``None``)."""

_UNREADABLE = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload "
    "is of valid JSON format."
)
_EMPTY = "Empty Payload. JSON content expected."
_MAX_INT_DIGITS = 4_300  # Python's own limit for int(str); beyond it a clear refusal
_INT_LIMIT = 10**_MAX_INT_DIGITS

Body = bytes | bytearray | memoryview | str | Mapping[str, JsonValue]


# --- errors with a path -------------------------------------------------------------------------


_PATH = "\x00"
"""Where a detail names its member; NUL never survives ``quoted``, so input cannot forge it."""


class _MemberError(Exception):
    """A defect in one member; the path is completed as the error rises through the objects."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reversed_path: list[str | int] = []

    def at(self, step: str | int) -> _MemberError:
        self.reversed_path.append(step)
        return self

    def graph_error(self, *prefix: str | int) -> BadRequestError:
        path = json_path(*prefix, *reversed(self.reversed_path))
        shown = quoted(path, 200)
        if not path:
            message = self.detail.replace(f"The object '{_PATH}'", "The body")
            message = message.replace(f"The member '{_PATH}'", "The body").replace(_PATH, "")
        elif _PATH in self.detail:
            message = self.detail.replace(_PATH, shown)
        else:
            message = f"{self.detail} (member '{shown}')"
        return BadRequestError(message, target=path or None)


_PLAIN_NAME = re.compile(r'[^.\[\]"]+')


def json_path(*steps: str | int) -> str:
    """The JSON path of a member, as errors' ``target`` and ``ignored_members`` write it.

    Names are joined by dots and indexes bracketed (``participants.attendees[0].upn``); a name
    that is empty or holds ``.``, ``[``, ``]``, ``"``, a control character or a lone surrogate is
    bracketed as a JSON string (``identity["a.b"]``), so every path reads back one way.
    """
    text = ""
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        elif _PLAIN_NAME.fullmatch(step) and quoted(step, len(step)) == step:
            text += f".{step}" if text else step
        else:
            text += f"[{json.dumps(step, ensure_ascii=quoted(step, len(step)) != step)}]"
    return text


_JSON_TYPE_NAMES = {
    NoneType: "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    tuple: "an array",
    dict: "an object",
}


def _kind(value: object) -> str:
    name = _JSON_TYPE_NAMES.get(type(value))
    if name is None:
        if isinstance(value, Mapping):
            return "an object"
        return f"a Python {quoted(type(value).__name__)}"
    return name


def _wrong_type(expected: str, value: object) -> _MemberError:
    return _MemberError(f"The member '{_PATH}' must be {expected}, not {_kind(value)}.")


# --- leaf readers -------------------------------------------------------------------------------


def _has_surrogate(value: str) -> bool:
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_text(value: str) -> str:
    if "\x00" in value:
        raise _MemberError(f"The member '{_PATH}' holds a NUL character.")
    if _has_surrogate(value):
        raise _MemberError(f"The member '{_PATH}' holds a lone surrogate.")
    return value


def _read_str(value: object, _: object = None) -> str:
    if type(value) is not str:
        if not isinstance(value, str):
            raise _wrong_type("a string", value)
        value = str(value)
    return _check_text(value)


def _read_bool(value: object, _: object = None) -> bool:
    if type(value) is not bool:
        raise _wrong_type("a boolean", value)
    return value


def _read_instant(value: object, _: object = None) -> Instant:
    if not isinstance(value, str):
        raise _wrong_type("a DateTimeOffset string", value)
    try:
        return Instant.parse(str(value))
    except GraphError as error:
        raise _MemberError(error.message) from None


def _enum_reader(cls: type[GraphEnum], *, allow_unknown_future_value: bool) -> Any:
    by_folded = {member.value.lower(): member for member in cls}
    by_value = {member.value: member for member in cls}
    if not allow_unknown_future_value:
        by_folded.pop("unknownfuturevalue", None)
        by_value.pop("unknownFutureValue", None)
    allowed = ", ".join(by_value)

    def read(value: object, _: object = None) -> GraphEnum:
        if type(value) is not str:
            raise _wrong_type("a string", value)
        # Case-insensitive in ASCII only, as .NET's ordinal comparison: no Unicode folding.
        member = by_value.get(value) or (value.isascii() and by_folded.get(value.lower())) or None
        if member is None:
            raise _MemberError(
                f"The member '{_PATH}' has the value '{quoted(value)}', "
                f"which is not one of: {allowed}."
            )
        return member

    return read


def _json_copy(value: object, depth: int) -> JsonValue:
    """A kept unknown member, copied as plain JSON values: ``dict``, ``list``, ``str``, finite
    numbers, at most ``MAX_DEPTH`` deep (the depth bound keeps the recursion safe)."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return _check_text(str(value))
    if isinstance(value, int):
        if not -_INT_LIMIT < value < _INT_LIMIT:
            raise _MemberError(f"The member '{_PATH}' has more than {_MAX_INT_DIGITS} digits.")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _MemberError(f"The member '{_PATH}' is not a finite number.")
        return float(value)
    if isinstance(value, Mapping | list | tuple):
        if depth >= MAX_DEPTH:
            raise _MemberError(f"The member '{_PATH}' is nested deeper than {MAX_DEPTH}.")
        if isinstance(value, Mapping):
            copy: dict[str, JsonValue] = {}
            for key, inner in value.items():
                name = _member_name(key)
                try:
                    copy[name] = _json_copy(inner, depth + 1)
                except _MemberError as error:
                    raise error.at(name) from None
            return copy
        items: list[JsonValue] = []
        for index, inner in enumerate(value):
            try:
                items.append(_json_copy(inner, depth + 1))
            except _MemberError as error:
                raise error.at(index) from None
        return items
    raise _wrong_type("a JSON value", value)


def _member_name(key: object) -> str:
    """A member name of a decoded mapping: a string without NUL or lone surrogates."""
    if not isinstance(key, str):
        raise _MemberError(f"The object '{_PATH}' has a member name that is not a string.")
    if "\x00" in key or _has_surrogate(key):
        raise _MemberError(
            f"The object '{_PATH}' has the member name '{quoted(key)}', which holds a NUL "
            "character or a lone surrogate."
        )
    return str(key)


# --- hook factories -----------------------------------------------------------------------------


def _optional_arg(tp: Any) -> Any:
    """``X`` for ``X | None``, else ``None``."""
    if get_origin(tp) in (Union, UnionType):
        args = [arg for arg in get_args(tp) if arg is not NoneType]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0]
    return None


def _is_optional(tp: Any) -> bool:
    return _optional_arg(tp) is not None


def _is_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_graph_object(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, GraphObject)


def _is_graph_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, GraphEnum)


@attrs.frozen
class _Member:
    name: str
    attr: str
    type: Any
    nullable: bool
    versions: frozenset[ApiVersion]
    omit_if_unset: frozenset[ApiVersion]


_MEMBERS: dict[type[GraphObject], tuple[_Member, ...]] = {}


def _members(cls: type[GraphObject]) -> tuple[_Member, ...]:
    """The Graph members of a class, in attribute order (its default layout)."""
    found = _MEMBERS.get(cls)
    if found is not None:
        return found
    attrs.resolve_types(cls)
    found = _MEMBERS[cls] = tuple(
        _Member(
            name=snake_to_camel(field.name),
            attr=field.name,
            type=field.type,
            nullable=field.metadata["nullable"],
            versions=field.metadata["versions"],
            omit_if_unset=field.metadata["omit_if_unset"],
        )
        for field in attrs.fields(cls)
        if field.metadata.get("graph")
    )
    return found


def _optional_reader(tp: Any, converter: cattrs.Converter) -> Any:
    inner = _optional_arg(tp)
    read_inner = converter.get_structure_hook(inner)

    def read(value: object, _: object = None) -> Any:
        return None if value is None else read_inner(value, inner)

    return read


def _tuple_reader(tp: Any, converter: cattrs.Converter) -> Any:
    item_type = get_args(tp)[0]
    read_item = converter.get_structure_hook(item_type)

    def read(value: object, _: object = None) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise _wrong_type("an array", value)
        items = []
        for index, item in enumerate(value):
            try:
                items.append(read_item(item, item_type))
            except _MemberError as error:
                raise error.at(index) from None
        return tuple(items)

    return read


def _object_reader(cls: type[GraphObject], converter: cattrs.Converter, storage: bool) -> Any:
    """Read every member; keep unknown ones and the member order (R-JSON-4).

    ``storage``: the store's form, where ``_DEFAULT_LAYOUT`` first marks an object that had none.
    """
    specs: dict[str, tuple[str, Any, Any]] = {}
    for m in _members(cls):
        tp = _optional_arg(m.type) if not m.nullable and _is_optional(m.type) else m.type
        specs[m.name] = (m.attr, converter.get_structure_hook(tp), tp)

    def read(value: object, _: object = None) -> GraphObject:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise _wrong_type("an object", value)
        kwargs: dict[str, Any] = {}
        unknown: dict[str, JsonValue] = {}
        default_layout = False
        for name, item in value.items():
            spec = specs.get(name)
            if spec is None:
                if storage and name == _DEFAULT_LAYOUT and not kwargs and not unknown:
                    default_layout = True
                    continue
                name = _member_name(name)
                if name.startswith(_RESERVED) and not storage:
                    raise _MemberError(
                        f"The member '{_PATH}' is in the annotation namespace this library "
                        "reserves for its own use."
                    ).at(name)
                try:
                    unknown[name] = _json_copy(item, 1)
                except _MemberError as error:
                    raise error.at(name) from None
                continue
            attr, read_member, tp = spec
            try:
                kwargs[attr] = read_member(item, tp)
            except _MemberError as error:
                raise error.at(name) from None
        order = None if default_layout else tuple(map(str, value))
        return cls(unknown_members=unknown, member_order=order, **kwargs)

    return read


def _copied(value: JsonValue) -> JsonValue:
    """A copy of a JSON value read before, so a written body shares nothing with the meeting."""
    if type(value) is dict:
        return {name: _copied(inner) for name, inner in value.items()}
    if type(value) is list:
        return [_copied(inner) for inner in value]
    return value


def _object_writer(
    cls: type[GraphObject], converter: cattrs.Converter, version: ApiVersion | None, copy: bool
) -> Callable[[GraphObject], dict[str, JsonValue]]:
    """Write an object: in its ``member_order`` if read from JSON, else in the default layout.

    Members of another version are never written (R-MEET-3, R-TIME-8). ``version=None`` writes
    the store's form: the members of every version, none left out, and ``_DEFAULT_LAYOUT`` first in
    an object that has no member order, so that reading it back gives the same object.
    """
    members = [m for m in _members(cls) if version is None or version in m.versions]
    writers = {m.name: (m.attr, converter.get_unstructure_hook(m.type)) for m in members}
    default_layout = [
        (m.name, m.attr, writers[m.name][1], version in m.omit_if_unset) for m in members
    ]
    unknown_value = _copied if copy else None

    def write(obj: GraphObject) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {}
        unknown = obj.unknown_members
        order = obj.member_order
        if order is None:
            if version is None:
                out[_DEFAULT_LAYOUT] = True
            for name, attr, write_member, omit_if_unset in default_layout:
                value = getattr(obj, attr)
                if value is None or value == ():
                    if omit_if_unset:
                        continue
                    out[name] = None if value is None else []
                else:
                    out[name] = write_member(value)
        else:
            for name in order:
                spec = writers.get(name)
                if spec is not None:
                    value = getattr(obj, spec[0])
                    out[name] = None if value is None else spec[1](value)
                elif name in unknown:
                    out[name] = unknown[name]
            # Values set after reading (attrs.evolve) are written too, after the members read.
            for name, (attr, write_member) in writers.items():
                if name not in out:
                    value = getattr(obj, attr)
                    if value is not None and value != ():
                        out[name] = write_member(value)
        for name, value in unknown.items():
            if name not in out:
                out[name] = value
        if unknown_value is not None and unknown:
            for name in unknown:
                out[name] = unknown_value(out[name])
        return out

    return write


def _configure_reader(
    converter: cattrs.Converter, *, request: bool = False, storage: bool = False
) -> cattrs.Converter:
    """Strict reading: exact JSON types, no coercion; requests refuse ``unknownFutureValue``."""
    converter.register_structure_hook(str, _read_str)
    converter.register_structure_hook(bool, _read_bool)
    converter.register_structure_hook(Instant, _read_instant)
    converter.register_structure_hook_factory(
        _is_graph_enum,
        lambda cls: _enum_reader(cls, allow_unknown_future_value=not request),
    )
    converter.register_structure_hook_factory(
        _is_optional, lambda tp: _optional_reader(tp, converter)
    )
    converter.register_structure_hook_factory(_is_tuple, lambda tp: _tuple_reader(tp, converter))
    converter.register_structure_hook_factory(
        _is_graph_object, lambda cls: _object_reader(cls, converter, storage)
    )
    return converter


_RESPONSE_READER = _configure_reader(cattrs.Converter())
_REQUEST_READER = _configure_reader(cattrs.Converter(), request=True)
_STORAGE_READER = _configure_reader(cattrs.Converter(), storage=True)


@cache
def _writer(
    version: ApiVersion | None, include_unknown_enum_members: bool, copy: bool = True
) -> cattrs.Converter:
    """The converter writing Graph JSON for one version, one ``Prefer`` setting, and whether the
    unknown members written are copies (for a dict handed out) or the meeting's own (for bytes)."""
    converter = cattrs.Converter()

    def write_enum(member: GraphEnum) -> str:
        if not include_unknown_enum_members and member in member.evolvable_members():
            return "unknownFutureValue"
        return member.value

    converter.register_unstructure_hook(Instant, Instant.isoformat)
    converter.register_unstructure_hook_func(_is_graph_enum, write_enum)

    def optional_writer(tp: Any) -> Any:
        write_inner = converter.get_unstructure_hook(_optional_arg(tp))
        return lambda value: None if value is None else write_inner(value)

    def tuple_writer(tp: Any) -> Any:
        write_item = converter.get_unstructure_hook(get_args(tp)[0])
        return lambda value: [write_item(item) for item in value]

    converter.register_unstructure_hook_factory(_is_optional, optional_writer)
    converter.register_unstructure_hook_factory(_is_tuple, tuple_writer)
    converter.register_unstructure_hook_factory(
        _is_graph_object, lambda cls: _object_writer(cls, converter, version, copy)
    )
    return converter


# --- decoding -----------------------------------------------------------------------------------


class _DuplicateMember(dict[str, Any]):
    """An object that named a member twice; found again by ``_first_duplicate`` for its path."""

    def __init__(self, pairs: list[tuple[str, Any]], name: str) -> None:
        super().__init__(pairs)
        self.duplicate = name


def _object_pairs_hook(found: list[bool]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """A decoder hook building dicts that notes, in ``found``, an object with a duplicate name."""

    def object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            found.append(True)
            seen: set[str] = set()
            for name, _ in pairs:
                if name in seen:
                    return _DuplicateMember(pairs, name)
                seen.add(name)
        return obj

    return object_pairs


def _first_duplicate(value: object) -> _MemberError | None:
    """The first object, in document order, that names a member twice, as an error on it."""
    # Paths are linked (parent, step) pairs, so the walk stays linear in the size of the body.
    Link = tuple[Any, str | int] | None
    stack: list[tuple[object, Link]] = [(value, None)]
    while stack:
        item, link = stack.pop()
        if isinstance(item, _DuplicateMember):
            error = _MemberError(f"The member '{_PATH}' appears more than once in its object.")
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
    if digits > _MAX_INT_DIGITS:
        raise ValueError(f"A number has {digits} digits, more than {_MAX_INT_DIGITS}")
    return int(text)


def _decode(body: object) -> Mapping[str, JsonValue]:
    """Bytes, text or an already decoded value to a JSON object (R-BODY-6)."""
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        if not raw.strip(b" \t\n\r"):
            raise BadRequestError(_EMPTY)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadRequestError(
                f"{_UNREADABLE} The body is not UTF-8 (byte {error.start})."
            ) from None
        body = text.removeprefix("\ufeff")
    if isinstance(body, str):
        if not body.strip(" \t\n\r"):
            raise BadRequestError(_EMPTY)
        duplicates: list[bool] = []
        try:
            value = json.loads(
                body,
                object_pairs_hook=_object_pairs_hook(duplicates),
                parse_constant=_refuse_constant,
                parse_float=_finite_float,
                parse_int=_bounded_int,
            )
        except RecursionError:
            raise BadRequestError(f"{_UNREADABLE} The body is nested too deeply.") from None
        except ValueError as error:  # json.JSONDecodeError, and the hooks' refusals
            raise BadRequestError(f"{_UNREADABLE} {quoted(str(error), 200)}.") from None
        if duplicates:
            duplicate = _first_duplicate(value)
            if duplicate is not None:
                raise duplicate.graph_error()
    else:
        value = body
    if not isinstance(value, Mapping):
        raise BadRequestError(f"The body must be a JSON object, not {_kind(value)}.")
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
    hook: Any = attrs.field(init=False, eq=False, repr=False)

    @hook.default
    def _hook(self) -> Any:
        return None if self.type is None else _REQUEST_READER.get_structure_hook(self.type)


@attrs.frozen
class _Table:
    cls: type[Any]
    rules: Mapping[str, _Rule]


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


Steps = tuple[str | int, ...]


@attrs.define
class _RequestReading:
    """One reading of a createOrGet body: the strict setting and the ignored members found."""

    strict: bool
    ignored: list[str] = attrs.Factory(list)

    def read_members(
        self, obj: Mapping[str, JsonValue], rules: Mapping[str, _Rule], path: Steps
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        values: dict[str, Any] = {}
        kept: list[str] = []
        for name, item in obj.items():
            where = (*path, name)
            rule = rules.get(name)
            if rule is None:
                self._ignore(name, where)
                continue
            if rule.table is not None:
                value: Any = self.read_nested(item, rule, where)
            else:
                try:
                    value = rule.hook(item, rule.type)
                except _MemberError as error:
                    raise error.graph_error(*where) from None
            if rule.attr is None:
                if item is not None:
                    self.ignored.append(json_path(*where))
                continue
            values[rule.attr] = value
            kept.append(name)
        return values, tuple(kept)

    def read_nested(self, item: JsonValue, rule: _Rule, where: Steps) -> Any:
        assert rule.table is not None
        if rule.array:
            if type(item) is not list and type(item) is not tuple:
                raise _wrong_type("an array", item).graph_error(*where)
            return tuple(self.read_object(x, rule.table, (*where, i)) for i, x in enumerate(item))
        if item is None:
            return None
        return self.read_object(item, rule.table, where)

    def read_object(self, item: JsonValue, table: _Table, where: Steps) -> Any:
        if not isinstance(item, Mapping):
            raise _wrong_type("an object", item).graph_error(*where)
        values, kept = self.read_members(item, table.rules, where)
        return table.cls(member_order=kept, **values)

    def _ignore(self, name: str, where: Steps) -> None:
        if not isinstance(name, str):
            raise _MemberError(
                f"The object '{_PATH}' has a member name that is not a string."
            ).graph_error(*where[:-1])
        if self.strict and "@" not in name:
            raise BadRequestError(
                f"The parameter '{quoted(name)}' in the request payload is "
                "not a valid parameter for the operation 'createOrGet'.",
                target=json_path(*where),
            )
        self.ignored.append(json_path(*where))


def parse_create_or_get(
    body: Body, *, version: ApiVersion | str = ApiVersion.BETA, strict: bool = False
) -> CreateOrGetRequest:
    """Read a createOrGet body: every rule that needs no clock, caller or store.

    Args:
        body: UTF-8 JSON bytes, JSON text, or an already decoded mapping.
        version: ``beta`` takes ``chatInfo``; ``v1.0`` ignores it (R-BODY-4).
        strict: refuse members Graph does not define instead of ignoring them (R-BODY-3).

    Raises:
        BadRequestError: any defect (R-BODY-*, R-TIME-3..5), ``target`` naming the member.
    """
    version = ApiVersion(version)
    obj = _decode(body)
    reading = _RequestReading(strict=strict)
    rules = _BODY_RULES if version is ApiVersion.BETA else _V1_BODY_RULES
    values, _ = reading.read_members(obj, rules, ())
    external_id = values.get("external_id")
    if external_id is None:
        if "externalId" in obj:
            raise BadRequestError(
                "The parameter 'externalId' must not be null.", target="externalId"
            )
        raise BadRequestError(
            "One or more parameters of the operation 'createOrGet' are missing from the request "
            "payload. The missing parameters are: externalId.",
            target="externalId",
        )
    return CreateOrGetRequest(ignored_members=tuple(reading.ignored), **values)


def request_to_json(
    request: CreateOrGetRequest, *, version: ApiVersion | str = ApiVersion.BETA
) -> dict[str, JsonValue]:
    """The request as a createOrGet body: the members that have an effect, times in UTC."""
    version = ApiVersion(version)
    converter = _writer(version, True)
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


def meeting_from_json(obj: Body) -> OnlineMeeting:
    """Read an onlineMeeting response body losslessly (R-JSON-4).

    Raises:
        BadRequestError: the body is not an onlineMeeting; ``target`` names the member.
    """
    return _read_meeting(_RESPONSE_READER, obj)


def _read_meeting(converter: cattrs.Converter, data: Body) -> OnlineMeeting:
    value = _decode(data)
    try:
        meeting: OnlineMeeting = converter.get_structure_hook(OnlineMeeting)(value, OnlineMeeting)
    except _MemberError as error:
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
    converter = _writer(version, include, copy)
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


def meeting_to_storage(meeting: OnlineMeeting) -> bytes:
    """The form a store keeps: every member of every version, layouts and unknown members kept,
    so that ``meeting_from_storage`` gives back an equal meeting that writes the same JSON."""
    return dumps_json(_meeting_json(meeting, None, True, copy=False))


def meeting_from_storage(data: bytes | str) -> OnlineMeeting:
    """A meeting from ``meeting_to_storage``'s form.

    Raises:
        BadRequestError: the data is not a stored meeting (a store should report it as a 500).
    """
    return _read_meeting(_STORAGE_READER, data)


def dumps_json(obj: JsonValue) -> bytes:
    """Compact UTF-8 JSON, as Graph writes it; a lone surrogate is escaped rather than fatal."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
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
