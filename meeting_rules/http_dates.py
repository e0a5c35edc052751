"""HTTP dates (RFC 9110, 5.6.7): an answer's ``Date`` header, and the instant a ``Date`` holds."""

from __future__ import annotations

import datetime as _dt
import re
from email.utils import format_datetime, parsedate_to_datetime

from .errors import GraphError
from .instant import Instant

__all__ = ["http_date", "instant_of_http_date"]

_EPOCH = _dt.datetime.min.replace(tzinfo=_dt.UTC)
_FOUR_DIGIT_YEAR = re.compile(r"\b([0-9]{4}) [0-9]{2}:")


def http_date(instant: Instant) -> str:
    """``instant`` as an HTTP date, to the second: ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    moment = _EPOCH + _dt.timedelta(microseconds=instant.ticks // 10)
    return format_datetime(moment, usegmt=True)


def instant_of_http_date(text: str | None) -> Instant:
    """The instant of an HTTP ``Date`` header; ``Instant.MIN`` when there is none, it is not an
    HTTP date with a zone, or it is out of range."""
    if not isinstance(text, str):
        return Instant.MIN
    try:
        moment = parsedate_to_datetime(text)
        year = _FOUR_DIGIT_YEAR.search(text)
        if year is not None and int(year.group(1)) != moment.year:
            moment = moment.replace(year=int(year.group(1)))  # not read as a two-digit year
        if moment.tzinfo is None:
            return Instant.MIN
        return Instant.from_pendulum(moment)
    except (TypeError, ValueError, OverflowError, GraphError):
        return Instant.MIN
