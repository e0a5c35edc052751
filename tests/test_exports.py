"""Tests for the public surface: the names ``__all__`` lists and what importing costs."""

from __future__ import annotations

import subprocess
import sys

import meeting_rules
from meeting_rules import graph_json

API_NAMES = {
    "Identity", "IdentitySet", "MeetingParticipantInfo", "MeetingParticipants", "ChatInfo",
    "AudioConferencing", "LobbyBypassSettings", "OnlineMeeting", "CreateOrGetRequest",
    "Organizer", "MeetingKey", "OnlineMeetingRole", "OnlineMeetingPresenters",
    "LobbyBypassScope", "ApiVersion", "Instant", "normalise_window", "MeetingWindow",
    "GraphError",
}  # fmt: skip


def test_all_lists_exactly_the_public_names() -> None:
    """``__all__`` names every public attribute of the package, and each exists."""
    public = {
        name
        for name in vars(meeting_rules)
        if not name.startswith("_")
        and not isinstance(getattr(meeting_rules, name), type(meeting_rules))
    }
    assert set(meeting_rules.__all__) == public
    assert set(meeting_rules.__all__) >= API_NAMES


def test_graph_json_names() -> None:
    """The Graph JSON module offers the functions the public surface names."""
    for name in ["parse_create_or_get", "meeting_to_json", "dumps_meeting", "meeting_from_json",
                 "error_to_json"]:  # fmt: skip
        assert name in graph_json.__all__
        assert callable(getattr(graph_json, name))


def test_importing_the_package_is_cheap() -> None:
    """``import meeting_rules`` loads neither cattrs, pendulum, Hypothesis nor pytest."""
    code = (
        "import sys, meeting_rules; "
        "print(sorted(m for m in ('cattrs', 'pendulum', 'hypothesis', 'pytest') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
