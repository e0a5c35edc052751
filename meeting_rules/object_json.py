"""Graph objects to and from JSON values: readers and writers generated once per class.

``graph_json`` reads and writes bodies through the cattrs converters made here, one per direction
and policy: ``RESPONSE_READER`` (an onlineMeeting body), ``REQUEST_READER`` (the objects of a
createOrGet body: ``unknownFutureValue`` refused), ``STORAGE_READER`` (a store's form) and
``writer(version, ...)``. For each Graph class a hook factory generates straight-line Python for
its members, as attrs and cattrs generate theirs: a reader looks each member up by name, keeps the
unknown members and the member order (R-JSON-4) and builds the object through its slots; a writer
writes the member order it was read in, or the default layout of the version (R-JSON-2, R-MEET-3).

A defect in a member raises ``MemberError``; its JSON path is completed as it rises through the
objects, and ``graph_error`` turns it into the ``BadRequestError`` naming that path (R-BODY-6).
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
from .enums import ApiVersion, GraphEnum
from .errors import BadRequestError, GraphError, quoted
from .instant import Instant
from .meeting import AudioConferencing, ChatInfo, LobbyBypassSettings, OnlineMeeting
from .participants import Identity, IdentitySet, MeetingParticipantInfo, MeetingParticipants

MAX_DEPTH = 100
"""Deepest nesting of a kept JSON value, as OData's default ``MaxNestingDepth`` [LIB]."""
_RESERVED = "@meetingRules."
_DEFAULT_LAYOUT = _RESERVED + "defaultLayout"
"""In the store's form, marks an object built by the library (``member_order`` is ``None``)."""

MAX_INT_DIGITS = 4_300  # Python's own limit for int(str); beyond it a clear refusal
_INT_LIMIT = 10**MAX_INT_DIGITS


# --- errors with a path -------------------------------------------------------------------------


PATH_MARK = "\x00"
"""Where a detail names its member; NUL never survives ``quoted``, so input cannot forge it."""


class MemberError(Exception):
    """A defect in one member; the path is completed as the error rises through the objects."""

    __slots__ = ("detail", "reversed_path")

    def __init__(self, detail: str) -> None:
        self.detail = detail  # BaseException.__new__ has set ``args`` already
        self.reversed_path: list[str | int] = []

    def at(self, step: str | int) -> MemberError:
        self.reversed_path.append(step)
        return self

    def graph_error(self, path: str = "") -> BadRequestError:
        """The 400 for this defect in the object at ``path`` (a JSON path, ``""`` the body)."""
        if self.reversed_path:
            for step in reversed(self.reversed_path):
                path = path_step(path, step)
        shown = quoted(path, 200)
        if not path:
            message = self.detail.replace(f"The object '{PATH_MARK}'", "The body")
            message = message.replace(f"The member '{PATH_MARK}'", "The body")
            message = message.replace(PATH_MARK, "")
        elif PATH_MARK in self.detail:
            message = self.detail.replace(PATH_MARK, shown)
        else:
            message = f"{self.detail} (member '{shown}')"
        return BadRequestError(message, target=path or None)


def refusal(detail: str, path: str) -> BadRequestError:
    """``MemberError(detail).graph_error(path)``, without the intermediate exception."""
    if path and PATH_MARK in detail:
        return BadRequestError(detail.replace(PATH_MARK, quoted(path, 200)), target=path)
    return MemberError(detail).graph_error(path)


# A name written as it is: not empty, and none of ``.[]"`` nor what ``quoted`` would escape.
PLAIN_NAME = re.compile(r'[^.\[\]"\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+')


def json_path(*steps: str | int) -> str:
    """The JSON path of a member, as errors' ``target`` and ``ignored_members`` write it.

    Names are joined by dots and indexes bracketed (``participants.attendees[0].upn``); a name
    that is empty or holds ``.``, ``[``, ``]``, ``"``, a control character or a lone surrogate is
    bracketed as a JSON string (``identity["a.b"]``), so every path reads back one way.
    """
    path = ""
    for step in steps:
        path = path_step(path, step)
    return path


def path_step(path: str, step: str | int) -> str:
    """The JSON path ``path`` followed by one more member name or array index."""
    if isinstance(step, int):
        return f"{path}[{step}]"
    if step in _GRAPH_NAMES or PLAIN_NAME.fullmatch(step):
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


def json_kind(value: object) -> str:
    name = _JSON_TYPE_NAMES.get(type(value))
    if name is None:
        if isinstance(value, Mapping):
            return "an object"
        return f"a Python {quoted(type(value).__name__)}"
    return name


def wrong_type(expected: str, value: object) -> MemberError:
    return MemberError(f"The member '{PATH_MARK}' must be {expected}, not {json_kind(value)}.")


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
        raise MemberError(f"The member '{PATH_MARK}' holds a NUL character.")
    if _has_surrogate(value):
        raise MemberError(f"The member '{PATH_MARK}' holds a lone surrogate.")
    return value


def _read_str(value: object, _: object = None) -> str:
    if type(value) is not str:
        if not isinstance(value, str):
            raise wrong_type("a string", value)
        value = str(value)
    return _check_text(value)


def _read_bool(value: object, _: object = None) -> bool:
    if type(value) is not bool:
        raise wrong_type("a boolean", value)
    return value


def _read_instant(value: object, _: object = None) -> Instant:
    if not isinstance(value, str):
        raise wrong_type("a DateTimeOffset string", value)
    try:
        return Instant.parse(str(value))
    except GraphError as error:
        raise MemberError(error.message) from None


def _enum_reader(cls: type[GraphEnum], *, allow_unknown_future_value: bool) -> Any:
    by_folded = {member.value.lower(): member for member in cls}
    by_value = {member.value: member for member in cls}
    if not allow_unknown_future_value:
        by_folded.pop("unknownfuturevalue", None)
        by_value.pop("unknownFutureValue", None)
    allowed = ", ".join(by_value)

    def find(value: object) -> GraphEnum | str:
        """The member, or the detail of the refusal of ``value`` (no exception is made)."""
        if type(value) is not str:
            return wrong_type("a string", value).detail
        # Case-insensitive in ASCII only, as .NET's ordinal comparison: no Unicode folding.
        member = by_value.get(value) or (value.isascii() and by_folded.get(value.lower())) or None
        if member is None:
            return (
                f"The member '{PATH_MARK}' has the value '{quoted(value)}', "
                f"which is not one of: {allowed}."
            )
        return member

    def read(value: object, _: object = None) -> GraphEnum:
        found = find(value)
        if type(found) is str:
            raise MemberError(found)
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
            raise MemberError(f"The member '{PATH_MARK}' has more than {MAX_INT_DIGITS} digits.")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MemberError(f"The member '{PATH_MARK}' is not a finite number.")
        return float(value)
    if isinstance(value, Mapping | list | tuple):
        if depth >= MAX_DEPTH:
            raise MemberError(f"The member '{PATH_MARK}' is nested deeper than {MAX_DEPTH}.")
        if isinstance(value, Mapping):
            copy: dict[str, JsonValue] = {}
            for key, inner in value.items():
                name = _member_name(key)
                try:
                    copy[name] = _json_copy(inner, depth + 1)
                except MemberError as error:
                    raise error.at(name) from None
            return copy
        items: list[JsonValue] = []
        for index, inner in enumerate(value):
            try:
                items.append(_json_copy(inner, depth + 1))
            except MemberError as error:
                raise error.at(index) from None
        return items
    raise wrong_type("a JSON value", value)


def _member_name(key: object) -> str:
    """A member name of a decoded mapping: a string without NUL or lone surrogates."""
    if not isinstance(key, str):
        raise MemberError(f"The object '{PATH_MARK}' has a member name that is not a string.")
    if "\x00" in key or _has_surrogate(key):
        raise MemberError(
            f"The object '{PATH_MARK}' has the member name '{quoted(key)}', which holds a NUL "
            "character or a lone surrogate."
        )
    return str(key)


# --- hook factories -----------------------------------------------------------------------------


def optional_arg(tp: Any) -> Any:
    """``X`` for ``X | None``, else ``None``."""
    if get_origin(tp) in (Union, UnionType):
        args = [arg for arg in get_args(tp) if arg is not NoneType]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0]
    return None


def is_optional(tp: Any) -> bool:
    return optional_arg(tp) is not None


def is_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_graph_object(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, GraphObject)


def is_graph_enum(tp: Any) -> bool:
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


def graph_members(cls: type[GraphObject]) -> tuple[_Member, ...]:
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


def _tuple_reader(tp: Any, converter: cattrs.Converter) -> Any:
    item_type = get_args(tp)[0]
    read_item = converter.get_structure_hook(item_type)

    def read(value: object, _: object = None) -> tuple[Any, ...]:
        if type(value) is not list and not isinstance(value, list | tuple):
            raise wrong_type("an array", value)
        try:
            return tuple([read_item(item, item_type) for item in value])
        except MemberError:
            pass
        for index, item in enumerate(value):  # read again, one by one, to name the item
            try:
                read_item(item, item_type)
            except MemberError as error:
                raise error.at(index) from None
        raise AssertionError("unreachable: an item failed, then read")

    return read


class _NameError(MemberError):
    """A member name that is not a name; its path is the object's, not the member's."""


def _keep_unknown(unknown: dict[str, JsonValue], name: object, item: object, storage: bool) -> None:
    """Keep a member the class does not model; a defect raised here is the member's own."""
    if not isinstance(name, str):
        raise _NameError(f"The object '{PATH_MARK}' has a member name that is not a string.")
    if "\x00" in name or _has_surrogate(name):
        raise _NameError(
            f"The object '{PATH_MARK}' has the member name '{quoted(name)}', which holds a NUL "
            "character or a lone surrogate."
        )
    name = str(name)
    if name.startswith(_RESERVED) and not storage:
        raise MemberError(
            f"The member '{PATH_MARK}' is in the annotation namespace this library reserves "
            "for its own use."
        )
    unknown[name] = _json_copy(item, 1)


def compile_function(name: str, lines: list[str], namespace: dict[str, Any]) -> Any:
    """The function ``name`` defined by ``lines``, as attrs and cattrs build theirs."""
    exec(compile("\n".join(lines), f"<meeting_rules {name}>", "exec"), namespace)
    return namespace[name]


STR_CHECK = "type({0}) is str and {0}.isascii() and '\\x00' not in {0}"


def _object_reader(cls: type[GraphObject], converter: cattrs.Converter, storage: bool) -> Any:
    """Generate the reader of ``cls``: every member, unknown ones and the member order kept
    (R-JSON-4). Members are looked up by name, so a body's defects are met in the class's order.

    ``storage``: the store's form, where ``_DEFAULT_LAYOUT`` first marks an object that had none.
    """
    members = graph_members(cls)
    namespace: dict[str, Any] = {
        "cls": cls,
        "Mapping": Mapping,
        "wrong_type": wrong_type,
        "MemberError": MemberError,
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
        "        raise wrong_type('an object', value)",
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
        optional = is_optional(tp)
        inner = optional_arg(tp) if optional else tp
        namespace[f"h{i}"] = converter.get_structure_hook(inner)
        namespace[f"t{i}"] = inner
        empty = "()" if is_tuple(inner) else "None"
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
                f"            {test} {STR_CHECK.format('item')}:",
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
                "                    raise MemberError(error.message) from None",
            ]
            test = "elif"
        elif is_tuple(inner):
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
        "        raise MemberError(error.detail) from None",
        "    except MemberError as error:",
        "        raise error.at(name) from None",
    ]
    order = "None if default_layout else tuple(value)" if storage else "tuple(value)"
    arguments.update(unknown_members="unknown", member_order=order)
    lines += construction(cls, namespace, arguments)
    return compile_function(function, lines, namespace)


def construction(cls: type[Any], namespace: dict[str, Any], values: dict[str, str]) -> list[str]:
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
    inner = optional_arg(tp) or tp
    if inner is str or inner is bool:
        return "v"
    if is_tuple(inner) and get_args(inner)[0] is str:
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
    members = [m for m in graph_members(cls) if version is None or version in m.versions]
    namespace: dict[str, Any] = {"_copied": _copied, "_LAYOUT": _DEFAULT_LAYOUT}
    codes = [_value_code(i, m.type, converter, namespace) for i, m in enumerate(members)]
    namespace["_DEFAULT_NAMES"] = tuple(m.name for m in members)
    namespace["_SPECS"] = {
        m.name: (m.attr, None if code == "v" else namespace.get(f"w{i}", list))
        for i, (m, code) in enumerate(zip(members, codes, strict=True))
    }
    function = f"write_{cls.__name__}"
    # The store's form never holds an unknown member under a modelled name: it would read back
    # as that member.
    kept = "name not in out" + (" and name not in _SPECS" if version is None else "")
    lines = [
        f"def {function}(obj):",
        "    unknown = obj.unknown_members",
        "    order = obj.member_order",
        "    if order is None:",
        "        out = {_LAYOUT: True}" if version is None else "        out = {}",
    ]
    for m, code in zip(members, codes, strict=True):
        empty = "[]" if is_tuple(m.type) else "None"
        lines.append(f"        v = obj.{m.attr}")
        if version is None and empty == "[]":  # a null collection is kept, to be refused
            lines += [
                "        if v != ():",
                f"            out[{m.name!r}] = None if v is None else {code}",
            ]
        elif version is None or version in m.omit_if_unset:
            lines += [
                "        if v:" if empty == "[]" else "        if v is not None:",
                f"            out[{m.name!r}] = {code}",
            ]
        elif code == "v":
            lines.append(f"        out[{m.name!r}] = v")
        else:
            lines.append(f"        out[{m.name!r}] = None if v is None else {code}")
    lines += [
        "    elif order == _DEFAULT_NAMES:",
        "        out = {}",
    ]
    for m, code in zip(members, codes, strict=True):
        lines.append(f"        v = obj.{m.attr}")
        if code == "v":
            lines.append(f"        out[{m.name!r}] = v")
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
        f"            if {kept}:",
        "                out[name] = v",
    ]
    if copy:
        lines += ["        for name in unknown:", "            out[name] = _copied(out[name])"]
    lines.append("    return out")
    generated: Callable[[GraphObject], dict[str, JsonValue]]
    generated = compile_function(function, lines, namespace)
    return generated


def _configure_reader(
    converter: cattrs.Converter, *, request: bool = False, storage: bool = False
) -> cattrs.Converter:
    """Strict reading: exact JSON types, no coercion; requests refuse ``unknownFutureValue``."""
    converter.register_structure_hook(str, _read_str)
    converter.register_structure_hook(bool, _read_bool)
    converter.register_structure_hook(Instant, _read_instant)
    converter.register_structure_hook_factory(
        is_graph_enum,
        lambda cls: _enum_reader(cls, allow_unknown_future_value=not request),
    )
    converter.register_structure_hook_factory(is_tuple, lambda tp: _tuple_reader(tp, converter))
    converter.register_structure_hook_factory(
        _is_graph_object, lambda cls: _object_reader(cls, converter, storage)
    )
    return converter


RESPONSE_READER = _configure_reader(cattrs.Converter())
REQUEST_READER = _configure_reader(cattrs.Converter(), request=True)
STORAGE_READER = _configure_reader(cattrs.Converter(), storage=True)


@cache
def writer(
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
    converter.register_unstructure_hook_func(is_graph_enum, write_enum)

    def tuple_writer(tp: Any) -> Any:
        write_item = converter.get_unstructure_hook(get_args(tp)[0])
        return lambda value: [write_item(item) for item in value]

    converter.register_unstructure_hook_factory(is_tuple, tuple_writer)
    converter.register_unstructure_hook_factory(
        _is_graph_object, lambda cls: _object_writer(cls, converter, version, copy)
    )
    return converter


_GRAPH_NAMES = frozenset(
    m.name
    for cls in (
        OnlineMeeting,
        ChatInfo,
        AudioConferencing,
        LobbyBypassSettings,
        MeetingParticipants,
        MeetingParticipantInfo,
        IdentitySet,
        Identity,
    )
    for m in graph_members(cls)
)
"""Graph's member names, known to be written plainly in a JSON path."""
