"""Graph objects to JSON values: a writer generated once per class and form (R-JSON-1..4).

An object read from JSON is written in the member order it was read in, its unknown members
kept; an object the library built is written in its form's default layout (R-JSON-2): unset
members as ``null`` and empty collections as ``[]`` on the wire, only the set members in the
store's form. Members of another version are never written (R-MEET-3, R-TIME-8). Enum members
after ``unknownFutureValue`` are written as ``unknownFutureValue`` unless the client asked for
them (R-JSON-3). ``writer(form, ...)`` is the converter of one ``json_forms.Form``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, get_args

import cattrs

from ._codegen import compile_function
from ._members import GraphObject, JsonValue, graph_members
from .enums import GraphEnum
from .instant import Instant
from .json_forms import DEFAULT_LAYOUT, Form
from .object_reader import is_graph_enum, is_graph_object, is_tuple, optional_arg

__all__ = ["writer"]


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


def _member_line(name: str, code: str) -> str:
    """The line writing the member ``name`` from ``v``, null as null."""
    if code == "v":
        return f"        out[{name!r}] = v"
    return f"        out[{name!r}] = None if v is None else {code}"


def _object_writer(
    cls: type[GraphObject], converter: cattrs.Converter, form: Form, include: bool, copy: bool
) -> Callable[[GraphObject], dict[str, JsonValue]]:
    """Generate the writer of ``cls``: in its ``member_order`` if read from JSON, else in the
    default layout.

    Members the form does not write are never written (R-MEET-3, R-TIME-8). With
    ``form.marks_default_layout`` (the store's form), an object that has no member order is
    written with ``DEFAULT_LAYOUT`` first and only the members that are set, so that reading it
    back gives the same object.
    """
    members = [m for m in graph_members(cls) if form.writes(m)]
    namespace: dict[str, Any] = {"_copied": _copied, "_LAYOUT": DEFAULT_LAYOUT}
    codes = [_value_code(i, m.type, converter, namespace) for i, m in enumerate(members)]
    namespace["_DEFAULT_NAMES"] = tuple(m.name for m in members)
    namespace["_SPECS"] = {
        m.name: (m.attr, None if code == "v" else namespace.get(f"w{i}", list))
        for i, (m, code) in enumerate(zip(members, codes, strict=True))
    }
    function = f"write_{cls.__name__}"
    # A form of every version's members never holds an unknown member under a modelled name: it
    # would read back as that member.
    kept = "name not in out" + (" and name not in _SPECS" if form.version is None else "")
    lines = [
        f"def {function}(obj):",
        "    unknown = obj.unknown_members",
        "    order = obj.member_order",
        "    if order is None:",
        "        out = {_LAYOUT: True}" if form.marks_default_layout else "        out = {}",
    ]
    for m, code in zip(members, codes, strict=True):
        empty = "[]" if is_tuple(m.type) else "None"
        lines.append(f"        v = obj.{m.attr}")
        if form.marks_default_layout and empty == "[]":  # a null one is kept, to be refused
            lines += [
                "        if v != ():",
                f"            out[{m.name!r}] = None if v is None else {code}",
            ]
        elif form.omits_unset(m):
            lines += [
                "        if v:" if empty == "[]" else "        if v is not None:",
                f"            out[{m.name!r}] = {code}",
            ]
        else:
            lines.append(_member_line(m.name, code))
    lines += [
        "    elif order == _DEFAULT_NAMES:",
        "        out = {}",
    ]
    for m, code in zip(members, codes, strict=True):
        lines += [f"        v = obj.{m.attr}", _member_line(m.name, code)]
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
    generated = compile_function(function, lines, namespace, form=_name(form, include, copy))
    return generated


def _name(form: Form, include_unknown_enum_members: bool, copy: bool) -> str:
    """What a writer is for, in its file name: ``beta``, ``v1.0 all-enums copying``..."""
    return form.name + " all-enums" * include_unknown_enum_members + " copying" * copy


@cache
def writer(form: Form, include_unknown_enum_members: bool, copy: bool = True) -> cattrs.Converter:
    """The converter writing Graph JSON in one form, for one ``Prefer`` setting, and whether the
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
        is_graph_object,
        lambda cls: _object_writer(cls, converter, form, include_unknown_enum_members, copy),
    )
    return converter
