"""Tenant settings: the meeting-policy defaults and the strictness switches (R-MEET-4, R-BODY-3,
R-RES-3, R-TIME-8)."""

from __future__ import annotations

import datetime as _dt

import attrs

from .enums import ApiVersion, LobbyBypassScope, OnlineMeetingPresenters
from .timing import DEFAULT_EXPIRY_PERIOD

__all__ = ["DEFAULT_MAX_BODY_BYTES", "TenantSettings"]

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""Graph's limit on a request: 4 MB (4,194,304 bytes); a longer one is answered 413 with
"The maximum request length supported is 4MB." (docs/design.md, "Limits", cites the evidence)."""


@attrs.frozen(kw_only=True)
class TenantSettings:
    """What a tenant's policies give a new meeting, and how strictly requests are read.

    The defaults are those of seed Example 1 and of real v1.0 responses (R-MEET-4).
    """

    allowed_presenters: OnlineMeetingPresenters = OnlineMeetingPresenters.EVERYONE
    is_entry_exit_announced: bool = True
    is_broadcast: bool = False
    auto_admitted_users: dict[ApiVersion, str] = attrs.field(
        factory=lambda: {
            ApiVersion.BETA: "EveryoneInCompany",
            ApiVersion.V1_0: "everyoneInCompany",
        },
        hash=False,
    )
    """``autoAdmittedUsers`` of a new meeting, by the version of the request that creates it."""
    lobby_bypass_scope: LobbyBypassScope = LobbyBypassScope.ORGANIZATION
    is_dial_in_bypass_enabled: bool = False
    toll_number: str | None = "+1 206-485-3005"
    toll_free_number: str | None = None
    dialin_url: str | None = (
        "https://dialin.teams.microsoft.com/0e73a853-1cc2-436c-b18c-9f53e0a97c24?id={conference_id}"
    )
    """Template of ``audioConferencing.dialinUrl``; ``{conference_id}`` is filled in (R-MEET-6)."""
    conference_id_digits: int = 9
    video_teleconference_id_digits: int = 10
    expiry_period: _dt.timedelta | None = DEFAULT_EXPIRY_PERIOD
    """``expiryDateTime`` = end + this (R-TIME-8); ``None``: no expiry, written as null."""
    strict_members: bool = False
    """Refuse members Graph does not define (400) instead of ignoring them (R-BODY-3)."""
    strict_mismatch: bool = False
    """Answer a get whose request differs from the stored meeting with 422 (R-RES-3)."""
    max_body_bytes: int = attrs.field(
        default=DEFAULT_MAX_BODY_BYTES, validator=attrs.validators.ge(0)
    )
    """The longest request body read, in bytes; a longer one is refused with 413 unread."""
