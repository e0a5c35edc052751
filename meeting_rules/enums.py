"""Graph's string enums and the API version, read case-insensitively (R-BODY-7, R-JSON-3).

Each member's value is Graph's exact string. Members listed after ``unknownFutureValue`` in Graph's
metadata are *evolvable* members: Graph writes them as ``unknownFutureValue`` unless the caller asks
for them with ``Prefer: include-unknown-enum-members`` (R-JSON-3).
"""

from __future__ import annotations

import enum

__all__ = [
    "ApiVersion",
    "GraphEnum",
    "LobbyBypassScope",
    "OnlineMeetingPresenters",
    "OnlineMeetingRole",
]


class GraphEnum(enum.Enum):
    """A Graph enum: values are Graph's strings, lookup by value ignores ASCII case."""

    value: str

    @classmethod
    def _missing_(cls, value: object) -> GraphEnum | None:
        if isinstance(value, str) and value.isascii():
            return _FOLDED.get(cls, {}).get(value.lower())
        return None

    @classmethod
    def evolvable_members(cls) -> frozenset[GraphEnum]:
        """The members Graph's metadata lists after ``unknownFutureValue``."""
        return _EVOLVABLE.get(cls, frozenset())

    def __str__(self) -> str:
        return self.value


class OnlineMeetingRole(GraphEnum):
    """``microsoft.graph.onlineMeetingRole``."""

    ATTENDEE = "attendee"
    PRESENTER = "presenter"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"
    PRODUCER = "producer"
    COORGANIZER = "coorganizer"


class OnlineMeetingPresenters(GraphEnum):
    """``microsoft.graph.onlineMeetingPresenters``."""

    EVERYONE = "everyone"
    ORGANIZATION = "organization"
    ROLE_IS_PRESENTER = "roleIsPresenter"
    ORGANIZER = "organizer"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"


class LobbyBypassScope(GraphEnum):
    """``microsoft.graph.lobbyBypassScope``."""

    ORGANIZER = "organizer"
    ORGANIZATION = "organization"
    ORGANIZATION_AND_FEDERATED = "organizationAndFederated"
    EVERYONE = "everyone"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"
    INVITED = "invited"
    ORGANIZATION_EXCLUDING_GUESTS = "organizationExcludingGuests"


class ApiVersion(GraphEnum):
    """The Graph endpoint version, the first segment of the path (R-HTTP-3)."""

    V1_0 = "v1.0"
    BETA = "beta"


def _after_unknown_future_value(cls: type[GraphEnum]) -> frozenset[GraphEnum]:
    members = list(cls)
    names = [m.value for m in members]
    if "unknownFutureValue" not in names:
        return frozenset()
    return frozenset(members[names.index("unknownFutureValue") + 1 :])


_ENUMS: tuple[type[GraphEnum], ...] = (
    OnlineMeetingRole,
    OnlineMeetingPresenters,
    LobbyBypassScope,
    ApiVersion,
)
_FOLDED: dict[type[GraphEnum], dict[str, GraphEnum]] = {
    cls: {m.value.lower(): m for m in cls} for cls in _ENUMS
}
_EVOLVABLE: dict[type[GraphEnum], frozenset[GraphEnum]] = {
    cls: _after_unknown_future_value(cls) for cls in _ENUMS
}
