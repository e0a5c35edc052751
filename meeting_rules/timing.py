"""The meeting's time window: defaults, order and expiry (R-TIME-1..4, R-TIME-8).

Pure: "now" comes in as an argument, never from a clock.
"""

from __future__ import annotations

import datetime as _dt

import attrs

from .errors import BadRequestError
from .instant import Instant

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_EXPIRY_PERIOD",
    "MeetingWindow",
    "check_window",
    "expiry",
    "no_start",
    "normalise_window",
]

DEFAULT_DURATION = _dt.timedelta(hours=1)
"""A meeting without an end lasts one hour (R-TIME-1, R-TIME-2)."""
DEFAULT_EXPIRY_PERIOD = _dt.timedelta(days=60)
"""Teams' default meeting expiry after the end (R-TIME-8)."""


def check_window(start: Instant | None, end: Instant | None) -> None:
    """Refuse an end without a start (R-TIME-3) or before it (R-TIME-4); equal is allowed.

    Raises:
        BadRequestError: with target ``endDateTime``.
    """
    if end is None:
        return
    if start is None:
        raise no_start()
    if end.ticks < start.ticks:
        raise BadRequestError(
            f"endDateTime ({end}) must not be earlier than startDateTime ({start}).",
            target="endDateTime",
        )


def no_start() -> BadRequestError:
    """R-TIME-3's refusal: an end was given without a start."""
    return BadRequestError("endDateTime was provided without startDateTime.", target="endDateTime")


@attrs.frozen(kw_only=True)
class MeetingWindow:
    """A start and an end with ``start <= end``."""

    start: Instant
    end: Instant

    def __attrs_post_init__(self) -> None:
        check_window(self.start, self.end)


def normalise_window(start: Instant | None, end: Instant | None, *, now: Instant) -> MeetingWindow:
    """The window createOrGet gives a meeting (R-TIME-1..4).

    No start: ``now`` to ``now`` + 1 hour (an end without a start is refused). A start without an
    end: start to start + 1 hour. Both: as given, if the end is not before the start.

    Raises:
        BadRequestError: R-TIME-3, R-TIME-4, or a default end after 9999-12-31 (target
        ``startDateTime`` if it was given).
    """
    check_window(start, end)  # the one check: every window below is in order by construction
    given_start = start is not None
    if start is None:
        start = now
    if end is None:
        try:
            end = start + DEFAULT_DURATION
        except BadRequestError as error:
            raise BadRequestError(
                "The default endDateTime, startDateTime + 1 hour, is out of range: "
                f"{error.message}",
                target="startDateTime" if given_start else None,
            ) from None
    window: MeetingWindow = object.__new__(MeetingWindow)  # checked above: not checked again
    object.__setattr__(window, "start", start)
    object.__setattr__(window, "end", end)
    return window


def expiry(end: Instant, period: _dt.timedelta | None = DEFAULT_EXPIRY_PERIOD) -> Instant | None:
    """``expiryDateTime`` of a meeting ending at ``end`` (R-TIME-8): ``end + period``.

    ``None`` when the tenant sets no period. A result beyond the range is clamped to it.
    """
    if period is None:
        return None
    try:
        return end + period
    except BadRequestError:
        return Instant.MAX if period > _dt.timedelta(0) else Instant.MIN
