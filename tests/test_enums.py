"""Tests for Graph's enums (R-BODY-7, R-JSON-3)."""

from __future__ import annotations

import enum

import pytest

from meeting_rules import ApiVersion, LobbyBypassScope, OnlineMeetingPresenters, OnlineMeetingRole
from tests.conftest import data_json

SCHEMA = data_json("graph-onlinemeeting.beta.schema.json")["$defs"]


@pytest.mark.parametrize(
    ("cls", "schema_name"),
    [
        (OnlineMeetingRole, "microsoft.graph.onlineMeetingRole"),
        (OnlineMeetingPresenters, "microsoft.graph.onlineMeetingPresenters"),
        (LobbyBypassScope, "microsoft.graph.lobbyBypassScope"),
    ],
)
def test_r_json_1_members_are_graphs_in_graphs_order(
    cls: type[enum.Enum], schema_name: str
) -> None:
    """R-JSON-1: the values are exactly Graph's strings, in the metadata's order."""
    assert [m.value for m in cls] == SCHEMA[schema_name]["enum"]


def test_r_body_7_lookup_ignores_case() -> None:
    """R-BODY-7: enum strings are read case-insensitively."""
    assert OnlineMeetingRole("PRESENTER") is OnlineMeetingRole.PRESENTER
    assert (
        LobbyBypassScope("OrganizationAndFederated") is LobbyBypassScope.ORGANIZATION_AND_FEDERATED
    )
    assert ApiVersion("V1.0") is ApiVersion.V1_0
    with pytest.raises(ValueError, match="chair"):
        OnlineMeetingRole("chair")
    with pytest.raises(ValueError, match="1"):
        OnlineMeetingRole(1)
    with pytest.raises(ValueError, match="pre"):
        OnlineMeetingRole("pre\u017fenter")  # a long s folds to "s" in Unicode, not in ASCII


def test_r_json_3_evolvable_members() -> None:
    """R-JSON-3: the members after unknownFutureValue are the evolvable ones."""
    assert OnlineMeetingRole.evolvable_members() == {
        OnlineMeetingRole.PRODUCER,
        OnlineMeetingRole.COORGANIZER,
    }
    assert LobbyBypassScope.evolvable_members() == {
        LobbyBypassScope.INVITED,
        LobbyBypassScope.ORGANIZATION_EXCLUDING_GUESTS,
    }
    assert OnlineMeetingPresenters.evolvable_members() == frozenset()
    assert ApiVersion.evolvable_members() == frozenset()


def test_str_is_the_graph_value() -> None:
    """``str`` of a member is its Graph string; ApiVersion's are the path prefixes (R-HTTP-3)."""
    assert str(ApiVersion.V1_0) == "v1.0"
    assert f"{OnlineMeetingRole.COORGANIZER}" == "coorganizer"
