"""The forms a Graph object takes as JSON: policies that its generated reader and writer follow.

- ``RESPONSE``: an onlineMeeting body as Graph sends it, read losslessly (R-JSON-4).
- ``REQUEST``: the objects inside a createOrGet body; ``unknownFutureValue`` is refused there
  (R-BODY-7), as a client may not send it.
- ``wire(version)``: a response body written for one API version: only that version's members
  (R-MEET-3, R-TIME-8), in Graph's default layout for an object the library built (R-JSON-2).
- ``STORAGE``: what a store keeps. Every version's members, so that one stored meeting answers
  both versions; an object the library built is marked with ``DEFAULT_LAYOUT`` as its first member
  and holds only the members that are set, so that reading it back gives the same object with no
  member order; the library's reserved ``@meetingRules.`` namespace is allowed there only.
"""

from __future__ import annotations

from functools import cache

import attrs

from ._members import GraphMember
from .enums import ApiVersion

__all__ = ["DEFAULT_LAYOUT", "REQUEST", "RESERVED", "RESPONSE", "STORAGE", "Form", "wire"]

RESERVED = "@meetingRules."
"""The annotation namespace this library keeps for itself (refused in what clients send)."""
DEFAULT_LAYOUT = RESERVED + "defaultLayout"
"""In the store's form, marks an object the library built (its ``member_order`` is ``None``)."""


@attrs.frozen(cache_hash=True)  # a key of the readers' and writers' caches, on every call
class Form:
    """One JSON form of Graph objects: what its reader accepts and what its writer writes."""

    name: str
    """In generated file names: ``<meeting_rules generated read_ChatInfo storage>``."""
    version: ApiVersion | None = None
    """Writing: the members of this version only; ``None``, the members of every version."""
    refuses_unknown_future_value: bool = False
    """Reading: an enum's ``unknownFutureValue`` is refused, as in a request (R-BODY-7)."""
    marks_default_layout: bool = False
    """An object without a member order is written with ``DEFAULT_LAYOUT`` first and its set
    members only; reading the mark back gives an object without a member order."""
    allows_reserved_names: bool = False
    """Unknown members in the ``@meetingRules.`` namespace are kept rather than refused."""

    def writes(self, member: GraphMember) -> bool:
        """Whether this form writes ``member`` at all."""
        return self.version is None or self.version in member.versions

    def omits_unset(self, member: GraphMember) -> bool:
        """Whether the default layout skips ``member`` while it is ``None`` or empty."""
        return self.marks_default_layout or self.version in member.omit_if_unset


RESPONSE = Form("response")
REQUEST = Form("request", refuses_unknown_future_value=True)
STORAGE = Form("storage", marks_default_layout=True, allows_reserved_names=True)


@cache
def wire(version: ApiVersion) -> Form:
    """The form of a response body of ``version``."""
    return Form(version.value, version=version)
