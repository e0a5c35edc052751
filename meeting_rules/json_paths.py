"""JSON paths and the errors that name them (R-BODY-6).

A defect found deep in a body is a ``MemberError``: what is wrong (``problem``), about what
(``subject``: the member, or the object holding it), and the path, completed step by step as the
error rises through the objects that hold it. At the top, ``graph_error`` makes the
``BadRequestError`` whose ``target`` is the JSON path and whose message names it:
``The member 'participants.attendees[0].upn' must be a string, not a number.``
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import NoneType
from typing import Literal

from ._members import graph_members
from .errors import BadRequestError, quoted
from .meeting import AudioConferencing, ChatInfo, LobbyBypassSettings, OnlineMeeting
from .participants import Identity, IdentitySet, MeetingParticipantInfo, MeetingParticipants

__all__ = [
    "MemberError",
    "Subject",
    "json_kind",
    "json_path",
    "member_message",
    "path_step",
    "refusal",
    "wrong_type",
]

Subject = Literal["member", "object"] | None
"""What a problem is said of: ``The member '...'``, ``The object '...'``; ``None``: the problem
is a sentence of its own, and the path follows it in parentheses."""

GRAPH_NAMES = frozenset(
    m.name
    for cls in (OnlineMeeting, ChatInfo, AudioConferencing, LobbyBypassSettings,
                MeetingParticipants, MeetingParticipantInfo, IdentitySet, Identity)
    for m in graph_members(cls)
)  # fmt: skip
"""Graph's member names, known to be written plainly in a JSON path."""

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
    # Graph's own names are plain: found in a set without running the pattern.
    if step in GRAPH_NAMES or PLAIN_NAME.fullmatch(step):
        return f"{path}.{step}" if path else step
    return f"{path}[{json.dumps(step, ensure_ascii=quoted(step, len(step)) != step)}]"


def member_message(problem: str, subject: Subject, path: str) -> str:
    """The message of ``problem`` said of ``subject`` at ``path`` (``""``: the body itself)."""
    if subject is None:
        return f"{problem} (member '{quoted(path, 200)}')" if path else problem
    if not path:
        return f"The body {problem}"
    return f"The {subject} '{quoted(path, 200)}' {problem}"


def refusal(problem: str, path: str, subject: Subject = "member") -> BadRequestError:
    """The 400 for ``problem`` at ``path``, when the path is known where the problem is found."""
    return BadRequestError(member_message(problem, subject, path), target=path or None)


class MemberError(Exception):
    """A defect in one member, met while reading; its path is completed as it rises."""

    __slots__ = ("problem", "reversed_path", "subject")

    def __init__(self, problem: str, *, subject: Subject = "member") -> None:
        self.problem = problem  # BaseException.__new__ has set ``args`` already
        self.subject = subject
        self.reversed_path: list[str | int] = []

    def at(self, step: str | int) -> MemberError:
        """This error, one step further from the member: ``step`` is the name or index that
        led to it in the object or array holding it."""
        self.reversed_path.append(step)
        return self

    def graph_error(self, path: str = "") -> BadRequestError:
        """The 400 for this defect in the object at ``path`` (a JSON path, ``""`` the body)."""
        for step in reversed(self.reversed_path):
            path = path_step(path, step)
        return refusal(self.problem, path, self.subject)


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
    """What a decoded value is, in JSON's words: ``a string``, ``an array``, ``null``..."""
    name = _JSON_TYPE_NAMES.get(type(value))
    if name is None:
        if isinstance(value, Mapping):
            return "an object"
        return f"a Python {quoted(type(value).__name__)}"
    return name


def wrong_type(expected: str, value: object) -> MemberError:
    return MemberError(f"must be {expected}, not {json_kind(value)}.")
