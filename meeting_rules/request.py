"""``CreateOrGetRequest``: the createOrGet body as the rules read it (R-BODY-1..5, R-TIME-3/4).

Only what has an effect is kept: ``externalId``, ``subject``, the two times, the attendees'
``identity`` and ``upn`` (their ``role`` has none, R-BODY-5) and, in beta, ``chatInfo.threadId``.
Everything else the body held is listed, by JSON path, in ``ignored_members`` (R-BODY-3).
"""

from __future__ import annotations

import attrs

from .enums import ApiVersion
from .errors import BadRequestError
from .instant import Instant
from .meeting import ChatInfo
from .participants import MeetingParticipants
from .timing import check_window

__all__ = ["CreateOrGetRequest"]


def _external_id(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if type(value) is not str or not value:
        raise BadRequestError("externalId must be a non-empty string.", target="externalId")


def _version(instance: object, attribute: attrs.Attribute[ApiVersion], value: object) -> None:
    if not isinstance(value, ApiVersion):
        raise TypeError(
            f"version must be an ApiVersion, not {value!r} (ApiVersion({value!r}) reads a text)"
        )


@attrs.frozen(kw_only=True)
class CreateOrGetRequest:
    """A valid createOrGet request body; times are as given (defaults need a clock, R-TIME-1/2)."""

    external_id: str = attrs.field(validator=_external_id)
    subject: str | None = None
    start_date_time: Instant | None = None
    end_date_time: Instant | None = None
    participants: MeetingParticipants | None = None
    chat_info: ChatInfo | None = None
    ignored_members: tuple[str, ...] = ()
    """JSON paths of the body's members that have no effect (R-BODY-3, R-BODY-4, R-BODY-5)."""
    version: ApiVersion = attrs.field(default=ApiVersion.BETA, validator=_version)
    """The API version the body was read with; ``create_or_get`` creates in its spellings."""

    def __attrs_post_init__(self) -> None:
        check_window(self.start_date_time, self.end_date_time)
