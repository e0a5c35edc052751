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
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
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
from .timing import check_window

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

    __slots__ = ("detail", "reversed_path")

    def __init__(self, detail: str) -> None:
        self.detail = detail  # BaseException.__new__ has set ``args`` already
        self.reversed_path: list[str | int] = []

    def at(self, step: str | int) -> _MemberError:
        self.reversed_path.append(step)
        return self

    def graph_error(self, path: str = "") -> BadRequestError:
        """The 400 for this defect in the object at ``path`` (a JSON path, ``""`` the body)."""
        for step in reversed(self.reversed_path):
            path = _step(path, step)
        shown = quoted(path, 200)
        if not path:
            message = self.detail.replace(f"The object '{_PATH}'", "The body")
            message = message.replace(f"The member '{_PATH}'", "The body").replace(_PATH, "")
        elif _PATH in self.detail:
            message = self.detail.replace(_PATH, shown)
        else:
            message = f"{self.detail} (member '{shown}')"
        return BadRequestError(message, target=path or None)


# A name written as it is: not empty, and none of ``.[]"`` nor what ``quoted`` would escape.
_PLAIN_NAME = re.compile(r'[^.\[\]"\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+')


def json_path(*steps: str | int) -> str:
    """The JSON path of a member, as errors' ``target`` and ``ignored_members`` write it.

    Names are joined by dots and indexes bracketed (``participants.attendees[0].upn``); a name
    that is empty or holds ``.``, ``[``, ``]``, ``"``, a control character or a lone surrogate is
    bracketed as a JSON string (``identity["a.b"]``), so every path reads back one way.
    """
    path = ""
    for step in steps:
        path = _step(path, step)
    return path


def _step(path: str, step: str | int) -> str:
    """The JSON path ``path`` followed by one more member name or array index."""
    if isinstance(step, int):
        return f"{path}[{step}]"
    if step in _GRAPH_NAMES or _PLAIN_NAME.fullmatch(step):
        return f"{path}.{step}" if path else step
    return f"{path}[{json.dumps(step, ensure_ascii=quoted(step, len(step)) != step)}]"


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

    def find(value: object) -> GraphEnum | _MemberError:
        """The member, or (not raised) the error that refuses ``value``."""
        if type(value) is not str:
            return _wrong_type("a string", value)
        # Case-insensitive in ASCII only, as .NET's ordinal comparison: no Unicode folding.
        member = by_value.get(value) or (value.isascii() and by_folded.get(value.lower())) or None
        if member is None:
            return _MemberError(
                f"The member '{_PATH}' has the value '{quoted(value)}', "
                f"which is not one of: {allowed}."
            )
        return member

    def read(value: object, _: object = None) -> GraphEnum:
        found = find(value)
        if type(found) is _MemberError:
            raise found
        return found  # type: ignore[return-value]

    read.find = find  # type: ignore[attr-defined]
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
_ABSENT = object()


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
        if type(value) is not list and not isinstance(value, list | tuple):
            raise _wrong_type("an array", value)
        try:
            return tuple([read_item(item, item_type) for item in value])
        except _MemberError:
            pass
        for index, item in enumerate(value):  # read again, one by one, to name the item
            try:
                read_item(item, item_type)
            except _MemberError as error:
                raise error.at(index) from None
        raise AssertionError("unreachable: an item failed, then read")

    return read


class _NameError(_MemberError):
    """A member name that is not a name; its path is the object's, not the member's."""


def _keep_unknown(unknown: dict[str, JsonValue], name: object, item: object, storage: bool) -> None:
    """Keep a member the class does not model; a defect raised here is the member's own."""
    if not isinstance(name, str):
        raise _NameError(f"The object '{_PATH}' has a member name that is not a string.")
    if "\x00" in name or _has_surrogate(name):
        raise _NameError(
            f"The object '{_PATH}' has the member name '{quoted(name)}', which holds a NUL "
            "character or a lone surrogate."
        )
    name = str(name)
    if name.startswith(_RESERVED) and not storage:
        raise _MemberError(
            f"The member '{_PATH}' is in the annotation namespace this library reserves for its "
            "own use."
        )
    unknown[name] = _json_copy(item, 1)


def _compile(name: str, lines: list[str], namespace: dict[str, Any]) -> Any:
    """The function ``name`` defined by ``lines``, as attrs and cattrs build theirs."""
    exec(compile("\n".join(lines), f"<meeting_rules {name}>", "exec"), namespace)
    return namespace[name]


_STR_CHECK = "type({0}) is str and {0}.isascii() and '\\x00' not in {0}"


def _object_reader(cls: type[GraphObject], converter: cattrs.Converter, storage: bool) -> Any:
    """Generate the reader of ``cls``: every member, unknown ones and the member order kept
    (R-JSON-4). Members are looked up by name, so a body's defects are met in the class's order.

    ``storage``: the store's form, where ``_DEFAULT_LAYOUT`` first marks an object that had none.
    """
    members = _members(cls)
    namespace: dict[str, Any] = {
        "cls": cls,
        "Mapping": Mapping,
        "_wrong_type": _wrong_type,
        "_MemberError": _MemberError,
        "_NameError": _NameError,
        "_keep_unknown": _keep_unknown,
        "_ABSENT": _ABSENT,
        "_KNOWN": frozenset(m.name for m in members),
        "_LAYOUT": _DEFAULT_LAYOUT,
        "_parse_instant": Instant.parse,
        "_GraphError": GraphError,
    }
    function = f"read_{cls.__name__}"
    lines = [
        f"def {function}(value, _=None):",
        "    if type(value) is not dict and not isinstance(value, Mapping):",
        "        raise _wrong_type('an object', value)",
        "    get = value.get",
    ]
    if storage:
        lines.append("    default_layout = next(iter(value), None) == _LAYOUT")
        lines.append("    found = 1 if default_layout else 0")
    else:
        lines.append("    found = 0")
    lines.append("    name = None")
    lines.append("    try:")
    arguments: dict[str, str] = {}
    for i, m in enumerate(members):
        tp = m.type
        optional = _is_optional(tp)
        inner = _optional_arg(tp) if optional else tp
        namespace[f"h{i}"] = converter.get_structure_hook(inner)
        namespace[f"t{i}"] = inner
        empty = "()" if _is_tuple(inner) else "None"
        lines += [
            f"        name = {m.name!r}",
            "        item = get(name, _ABSENT)",
            "        if item is _ABSENT:",
            f"            v{i} = {empty}",
            "        else:",
            "            found += 1",
        ]
        test = "if"
        if optional and m.nullable:
            lines += ["            if item is None:", f"                v{i} = None"]
            test = "elif"
        if inner is str:
            lines += [
                f"            {test} {_STR_CHECK.format('item')}:",
                f"                v{i} = item",
            ]
            test = "elif"
        elif inner is bool:
            lines += [
                f"            {test} item is True or item is False:",
                f"                v{i} = item",
            ]
            test = "elif"
        elif inner is Instant:
            lines += [
                f"            {test} type(item) is str:",
                "                try:",
                f"                    v{i} = _parse_instant(item)",
                "                except _GraphError as error:",
                "                    raise _MemberError(error.message) from None",
            ]
            test = "elif"
        elif _is_tuple(inner):
            lines += [
                f"            {test} type(item) is list and not item:",
                f"                v{i} = ()",
            ]
            test = "elif"
        if test == "if":
            lines.append(f"            v{i} = h{i}(item, t{i})")
        else:
            lines += ["            else:", f"                v{i} = h{i}(item, t{i})"]
        arguments[m.attr] = f"v{i}"
    lines += [
        "        unknown = {}",
        "        if found != len(value):",
        "            for name, item in value.items():",
        "                if name not in _KNOWN:",
    ]
    if storage:
        lines += [
            "                    if default_layout and name == _LAYOUT:",
            "                        continue",
        ]
    lines += [
        f"                    _keep_unknown(unknown, name, item, {storage})",
        "    except _NameError as error:  # the object's own path: its parent adds the rest",
        "        raise _MemberError(error.detail) from None",
        "    except _MemberError as error:",
        "        raise error.at(name) from None",
    ]
    order = "None if default_layout else tuple(value)" if storage else "tuple(value)"
    arguments.update(unknown_members="unknown", member_order=order)
    lines += _construction(cls, namespace, arguments)
    return _compile(function, lines, namespace)


def _construction(cls: type[Any], namespace: dict[str, Any], values: dict[str, str]) -> list[str]:
    """Lines returning a new ``cls`` from the expressions ``values`` gives for its attributes.

    The object is built as its attrs ``__init__`` builds it, without the cost of the call: every
    slot set, then each attribute's validator, then ``__attrs_post_init__``.
    """
    fields = attrs.fields(cls)
    if any(f.converter for f in fields) or "__slots__" not in cls.__dict__:
        arguments = ", ".join(f"{f.name}={values[f.name]}" for f in fields)
        return [f"    return cls({arguments})"]
    namespace["_new"] = object.__new__
    lines = ["    obj = _new(cls)"]
    for f in fields:
        slot = next(c.__dict__[f.name] for c in cls.__mro__ if f.name in c.__dict__)
        namespace[f"set_{f.name}"] = slot.__set__
        lines.append(f"    set_{f.name}(obj, {values[f.name]})")
    for f in fields:
        if f.validator is not None:
            namespace[f"check_{f.name}"] = f.validator
            namespace[f"field_{f.name}"] = f
            lines.append(f"    check_{f.name}(obj, field_{f.name}, obj.{f.name})")
    if hasattr(cls, "__attrs_post_init__"):
        lines.append("    obj.__attrs_post_init__()")
    return [*lines, "    return obj"]


def _copied(value: JsonValue) -> JsonValue:
    """A copy of a JSON value read before, so a written body shares nothing with the meeting."""
    if type(value) is dict:
        return {name: _copied(inner) for name, inner in value.items()}
    if type(value) is list:
        return [_copied(inner) for inner in value]
    return value


def _value_code(index: int, tp: Any, converter: cattrs.Converter, namespace: dict[str, Any]) -> str:
    """An expression writing ``v`` (not ``None``) of type ``tp``; ``w{index}`` is its hook."""
    inner = _optional_arg(tp) or tp
    if inner is str or inner is bool:
        return "v"
    if _is_tuple(inner) and get_args(inner)[0] is str:
        return "list(v)"
    namespace[f"w{index}"] = converter.get_unstructure_hook(inner)
    return f"w{index}(v)"


def _object_writer(
    cls: type[GraphObject], converter: cattrs.Converter, version: ApiVersion | None, copy: bool
) -> Callable[[GraphObject], dict[str, JsonValue]]:
    """Generate the writer of ``cls``: in its ``member_order`` if read from JSON, else in the
    default layout.

    Members of another version are never written (R-MEET-3, R-TIME-8). ``version=None`` writes
    the store's form: the members of every version, and in an object that has no member order,
    ``_DEFAULT_LAYOUT`` first and only the members that are set, so that reading it back gives the
    same object.
    """
    members = [m for m in _members(cls) if version is None or version in m.versions]
    namespace: dict[str, Any] = {"_copied": _copied, "_LAYOUT": _DEFAULT_LAYOUT}
    codes = [_value_code(i, m.type, converter, namespace) for i, m in enumerate(members)]
    namespace["_DEFAULT_NAMES"] = tuple(m.name for m in members)
    namespace["_SPECS"] = {
        m.name: (m.attr, None if code == "v" else namespace.get(f"w{i}", list))
        for i, (m, code) in enumerate(zip(members, codes, strict=True))
    }
    function = f"write_{cls.__name__}"
    lines = [
        f"def {function}(obj):",
        "    unknown = obj.unknown_members",
        "    order = obj.member_order",
        "    if order is None:",
        "        out = {_LAYOUT: True}" if version is None else "        out = {}",
    ]
    for m, code in zip(members, codes, strict=True):
        empty = "[]" if _is_tuple(m.type) else "None"
        lines.append(f"        v = obj.{m.attr}")
        if version is None or version in m.omit_if_unset:
            lines += [
                "        if v:" if empty == "[]" else "        if v is not None:",
                f"            out[{m.name!r}] = {code}",
            ]
        elif code == "v":
            lines.append(f"        out[{m.name!r}] = v")
        elif empty == "[]":
            lines.append(f"        out[{m.name!r}] = {code}")
        else:
            lines.append(f"        out[{m.name!r}] = None if v is None else {code}")
    lines += [
        "    elif order == _DEFAULT_NAMES:",
        "        out = {}",
    ]
    for m, code in zip(members, codes, strict=True):
        lines.append(f"        v = obj.{m.attr}")
        if code == "v" or _is_tuple(m.type):
            lines.append(f"        out[{m.name!r}] = {code}")
        else:
            lines.append(f"        out[{m.name!r}] = None if v is None else {code}")
    lines += [
        "    else:",
        "        out = {}",
        "        extra = 0",
        "        for name in order:",
        "            spec = _SPECS.get(name)",
        "            if spec is not None:",
        "                v = getattr(obj, spec[0])",
        "                out[name] = v if v is None or spec[1] is None else spec[1](v)",
        "            elif name in unknown:",
        "                out[name] = unknown[name]",
        "                extra += 1",
        f"        if len(out) - extra < {len(members)}:",
        "            # Values set after reading (attrs.evolve) are written too, after those read.",
        "            for name, (attr, write) in _SPECS.items():",
        "                if name not in out:",
        "                    v = getattr(obj, attr)",
        "                    if v is not None and v != ():",
        "                        out[name] = v if write is None else write(v)",
        "    if unknown:",
        "        for name, v in unknown.items():",
        "            if name not in out:",
        "                out[name] = v",
    ]
    if copy:
        lines += ["        for name in unknown:", "            out[name] = _copied(out[name])"]
    lines.append("    return out")
    writer: Callable[[GraphObject], dict[str, JsonValue]] = _compile(function, lines, namespace)
    return writer


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


def _decode(body: object) -> Mapping[str, JsonValue]:
    """Bytes, text or an already decoded value to a JSON object (R-BODY-6).

    A body is scanned once, quickly; one that fails is decoded again by ``_decode_text``, which
    says what is wrong with it.
    """
    if type(body) is dict:
        return body
    if type(body) is bytes or isinstance(body, bytearray | memoryview):
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
        raise BadRequestError(f"The body must be a JSON object, not {_kind(value)}.")
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


@attrs.frozen
class _Table:
    """The rules of one object of a createOrGet body, and its reader generated from them.

    ``read(obj, path, strict, ignored)`` reads the members of the object at ``path`` (its JSON
    path, ``""`` for the body) in document order, appends the JSON
    path of each ignored one to ``ignored``, and returns a new ``cls`` (the body's own table,
    whose ``cls`` is ``None``, returns the values by attribute name).
    """

    cls: type[Any]
    rules: Mapping[str, _Rule]
    read: _Reader = attrs.field(init=False, eq=False, repr=False)

    @read.default
    def _read(self) -> _Reader:
        cls = self.cls
        body = cls is CreateOrGetRequest
        function = f"read_{cls.__name__}" + (
            "_v1"
            if "chatInfo" in self.rules and body and self.rules["chatInfo"].attr is None
            else ""
        )
        namespace: dict[str, Any] = {
            "cls": cls,
            "Mapping": Mapping,
            "_wrong_type": _wrong_type,
            "_MemberError": _MemberError,
            "_GraphError": GraphError,
            "_parse_instant": Instant.parse,
            "_ignore": _ignore,
            "_no_external_id": _no_external_id,
            "_check_window": check_window,
            "_step": _step,
        }
        fields = attrs.fields(attrs.resolve_types(cls))
        defaults = {f.name: "()" if _is_tuple(f.type) else "None" for f in fields}
        lines = [f"def {function}(obj, path, strict, ignored):"]
        if not body:
            lines += [
                "    if type(obj) is not dict and not isinstance(obj, Mapping):",
                "        raise _wrong_type('an object', obj).graph_error(path)",
                "    kept = []",
            ]
        lines += [f"    a_{r.attr} = {defaults[r.attr]}" for r in self.rules.values() if r.attr]
        lines.append("    for name, item in obj.items():")
        for i, (member, rule) in enumerate(self.rules.items()):
            target = f"a_{rule.attr}" if rule.attr else "value"
            lines.append(f"        {'elif' if i else 'if'} name == {member!r}:")
            # Graph's names are plain: a member's path is its parent's, a dot and its name.
            assert _PLAIN_NAME.fullmatch(member), member
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
            elif rule.attr in ("start_date_time", "end_date_time"):
                # End before start is met as soon as both are read, as a defect in document order.
                lines += [
                    "            if a_end_date_time is not None and a_start_date_time is not None:",
                    "                _check_window(a_start_date_time, a_end_date_time)",
                ]
        lines += ["        else:", "            _ignore(name, path, strict, ignored)"]
        if body:
            lines += ["    if a_external_id is None:", "        _no_external_id(obj)"]
            arguments = {"ignored_members": "tuple(ignored)"}
        else:
            arguments = {"unknown_members": "{}", "member_order": "tuple(kept)"}
        read = {r.attr for r in self.rules.values() if r.attr}
        for f in fields:
            arguments.setdefault(f.name, f"a_{f.name}" if f.name in read else defaults[f.name])
        lines += _construction(cls, namespace, arguments)
        return _compile(function, lines, namespace)  # type: ignore[no-any-return]


def _no_external_id(obj: Mapping[str, JsonValue]) -> None:
    """Refuse a body whose externalId is null or missing (R-BODY-1)."""
    if "externalId" in obj:
        raise BadRequestError("The parameter 'externalId' must not be null.", target="externalId")
    raise BadRequestError(
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
        namespace[f"r{index}"] = rule.table.read
        if not rule.array:
            return [
                f"{target} = None if item is None else r{index}(item, {where}, strict, ignored)"
            ]
        return [
            "if type(item) is not list and type(item) is not tuple:",
            f"    raise _wrong_type('an array', item).graph_error({where})",
            f"where = {where}",
            "items = []",
            "for i, x in enumerate(item):",
            f"    items.append(r{index}(x, f'{{where}}[{{i}}]', strict, ignored))",
            f"{target} = tuple(items)",
        ]
    inner = _optional_arg(rule.type) or rule.type
    namespace[f"h{index}"] = _REQUEST_READER.get_structure_hook(inner)
    namespace[f"t{index}"] = inner
    branches: list[tuple[str, list[str]]] = []
    if _is_optional(rule.type):
        branches.append(("item is None", [f"{target} = None"]))
    if inner is str:
        branches.append((_STR_CHECK.format("item"), [f"{target} = item"]))
    elif _is_graph_enum(inner):  # Graph's own spelling, found at once; any other found after
        namespace[f"e{index}"] = {m.value: m for m in inner if m.value != "unknownFutureValue"}
        namespace[f"find{index}"] = namespace[f"h{index}"].find
        namespace["_MemberErrorType"] = _MemberError
        branches.append((f"type(item) is str and item in e{index}", [f"{target} = e{index}[item]"]))
        return _branches(
            branches,
            [
                f"{target} = find{index}(item)",
                f"if type({target}) is _MemberErrorType:",
                f"    raise {target}.graph_error({where})  # one exception raised, not two",
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
                    "    problem = _MemberError(error.message)",
                    f"    raise problem.graph_error({where}) from None",
                ],
            )
        )
    code = [
        "try:",
        f"    {target} = h{index}(item, t{index})",
        "except _MemberError as error:",
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
        raise _MemberError(
            f"The object '{_PATH}' has a member name that is not a string."
        ).graph_error(path)
    if strict and "@" not in name:
        raise BadRequestError(
            f"The parameter '{quoted(name)}' in the request payload is "
            "not a valid parameter for the operation 'createOrGet'.",
            target=_step(path, name),
        )
    ignored.append(_step(path, name))


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
_GRAPH_NAMES = frozenset(
    name
    for rules in (_BODY_RULES, _PARTICIPANTS.rules, _ATTENDEE.rules, _CHAT_INFO.rules)
    for name in rules
)
"""Member names of Graph's, known to be written plainly in a JSON path."""
# chatInfo is beta only (R-BODY-4): v1.0 checks it, then ignores it.
_V1_BODY_RULES: Mapping[str, _Rule] = {**_BODY_RULES, "chatInfo": _Rule(None, ChatInfo | None)}
_BODY = _Table(CreateOrGetRequest, _BODY_RULES)
_V1_BODY = _Table(CreateOrGetRequest, _V1_BODY_RULES)


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
    if version is not ApiVersion.BETA:
        version = ApiVersion(version)
    table = _BODY if version is ApiVersion.BETA else _V1_BODY
    request: CreateOrGetRequest = table.read(_decode(body), "", strict, [])
    return request


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
            _STORAGE_READER.get_structure_hook(OnlineMeeting)(form, OnlineMeeting)
        except _MemberError as error:
            raise error.graph_error() from None
    return dumps_json(form)


def meeting_from_storage(data: bytes | str) -> OnlineMeeting:
    """A meeting from ``meeting_to_storage``'s form.

    Raises:
        BadRequestError: the data is not a stored meeting (a store should report it as a 500).
    """
    return _read_meeting(_STORAGE_READER, data)


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
