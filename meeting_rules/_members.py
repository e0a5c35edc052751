"""How a value object's attributes map to Graph JSON members: the metadata ``graph_json`` reads.

Every Graph object class derives from ``GraphObject`` and so carries two bookkeeping attributes:
``unknown_members`` (members this library does not model, kept as JSON values, R-JSON-4) and
``member_order`` (the member names as read from JSON, in order; ``None`` for an object the library
built, which is written in Graph's default layout, R-JSON-2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .enums import ApiVersion

__all__ = ["GraphMember", "GraphObject", "JsonValue", "graph_members", "member", "snake_to_camel"]

JsonValue = Any
"""A decoded JSON value: None, bool, int, float, str, list or dict of JSON values."""

BOTH = frozenset(ApiVersion)
BETA_ONLY = frozenset({ApiVersion.BETA})
V1_ONLY = frozenset({ApiVersion.V1_0})


def snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def member(
    default: Any = None,
    *,
    factory: Any = None,
    nullable: bool = True,
    versions: frozenset[ApiVersion] = BOTH,
    omit_if_unset: frozenset[ApiVersion] = frozenset(),
    validator: Any = None,
) -> Any:
    """An attribute that is a Graph JSON member.

    Args:
        nullable: JSON ``null`` is accepted when reading.
        versions: the versions whose default layout writes this member.
        omit_if_unset: versions whose default layout skips it while it is ``None`` or empty.
    """
    metadata = {
        "graph": True,
        "nullable": nullable,
        "versions": versions,
        "omit_if_unset": omit_if_unset,
    }
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata, validator=validator)
    return attrs.field(default=default, metadata=metadata, validator=validator)


@attrs.frozen(kw_only=True)
class GraphObject:
    """Base of the classes that are Graph JSON objects; holds the two bookkeeping attributes."""

    unknown_members: Mapping[str, JsonValue] = attrs.field(factory=dict, hash=False)
    """Members this library does not model, by name, as decoded JSON values (R-JSON-4)."""
    member_order: tuple[str, ...] | None = attrs.field(
        default=None, eq=False, hash=False, repr=False
    )
    """The member names as read from JSON, in order; ``None`` for Graph's default layout."""


@attrs.frozen
class GraphMember:
    """One Graph member of a class: its JSON name, attribute, type and where it is written."""

    name: str
    attr: str
    type: Any
    nullable: bool
    versions: frozenset[ApiVersion]
    omit_if_unset: frozenset[ApiVersion]


_MEMBERS: dict[type[GraphObject], tuple[GraphMember, ...]] = {}


def graph_members(cls: type[GraphObject]) -> tuple[GraphMember, ...]:
    """The Graph members of a class, in attribute order (its default layout)."""
    found = _MEMBERS.get(cls)
    if found is not None:
        return found
    attrs.resolve_types(cls)
    found = _MEMBERS[cls] = tuple(
        GraphMember(
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
