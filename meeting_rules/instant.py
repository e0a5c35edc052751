"""``Instant``: a UTC timestamp exact to 100 ns, read and written as Graph does (R-TIME-5..7).

An instant is a count of 100 ns ticks since 0001-01-01T00:00:00Z, the range of .NET's
``DateTimeOffset`` that Graph runs on: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.9999999Z.
Integers, never floats, so the 7th fraction digit survives every round trip.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import TYPE_CHECKING, ClassVar

import attrs

from .errors import BadRequestError, quoted

if TYPE_CHECKING:
    import pendulum

__all__ = ["TICKS_PER_SECOND", "Instant"]

TICKS_PER_SECOND = 10_000_000
_TICKS_PER_DAY = 86_400 * TICKS_PER_SECOND
_TICKS_PER_MICROSECOND = 10
_MAX_TICKS = _dt.date.max.toordinal() * _TICKS_PER_DAY - 1
_UNIX_EPOCH_TICKS = (_dt.date(1970, 1, 1).toordinal() - 1) * _TICKS_PER_DAY
_DAY_ONE = _dt.datetime(1, 1, 1)
_MAX_OFFSET_MINUTES = 14 * 60  # .NET refuses offsets beyond +-14:00

# Linear: every group is a fixed run of ASCII digits; the tail is checked on its own.
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.([0-9]+))?)?(.*)",
    re.DOTALL,
)
_OFFSET = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")
# The form Graph writes and clients nearly always send, read without the general path's steps.
_CANONICAL = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.([0-9]{1,7}))?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_from_iso = _dt.datetime.fromisoformat
_TWO_DIGITS = {f"{n:02d}": n for n in range(100)}
_FRACTION_SCALE = tuple(10 ** (7 - n) for n in range(8))
_new = object.__new__
_set = object.__setattr__
_ZONELESS_OFFSET = re.compile(r"[+-][0-9]{2}(?:[0-9]{2})?")


def _malformed(text: str) -> BadRequestError:
    return BadRequestError(
        f"Cannot convert the literal '{quoted(text)}' to the expected type 'Edm.DateTimeOffset'."
    )


def _out_of_range(what: str) -> BadRequestError:
    return BadRequestError(
        f"The DateTimeOffset value '{quoted(what)}' is outside the supported range "
        "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.9999999Z."
    )


def _fraction_ticks(digits: str) -> int:
    """Seven digits exactly; more are rounded half-to-even to 100 ns (R-TIME-5, a [LIB] choice)."""
    if len(digits) <= 7:
        return int(digits.ljust(7, "0")) if digits else 0
    ticks = int(digits[:7])
    first_dropped = digits[7]
    rest_is_zero = digits[8:].strip("0") == ""
    if first_dropped > "5" or (first_dropped == "5" and (not rest_is_zero or ticks % 2 == 1)):
        ticks += 1  # may reach TICKS_PER_SECOND: the carry flows into the seconds
    return ticks


def _check_ticks(instance: Instant, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or not 0 <= value <= _MAX_TICKS:
        raise ValueError(f"Instant ticks must be an int in 0..{_MAX_TICKS}, not {value!r}")


@attrs.frozen(order=True, repr=False)
class Instant:
    """A UTC instant, exact to 100 ns, ordered and hashable.

    Build one with ``Instant.parse(text)``, ``Instant.from_pendulum(dt)`` or ``Instant(ticks=n)``.
    """

    ticks: int = attrs.field(kw_only=True, validator=_check_ticks)
    """100 ns ticks since 0001-01-01T00:00:00Z."""

    MIN: ClassVar[Instant]
    """0001-01-01T00:00:00Z, how Graph shows a time that is not set (R-TIME-7)."""
    MAX: ClassVar[Instant]
    """9999-12-31T23:59:59.9999999Z."""

    @classmethod
    def parse(cls, text: str) -> Instant:
        """Read an ISO 8601 timestamp with a zone, as Graph's DateTimeOffset does (R-TIME-5).

        Accepts ``Z``, ``z`` or ``+hh:mm``/``-hh:mm`` (up to 14:00), seconds optional and any number
        of fraction digits (beyond seven, rounded half-to-even to 100 ns).

        Raises:
            BadRequestError: malformed text, no zone (or ``+0000``), or outside 0001..9999.
        """
        if type(text) is not str:
            raise _malformed(repr(text))
        match = _CANONICAL.fullmatch(text)
        if match is not None:
            fraction, sign, off_hours, off_minutes = match.groups()
            try:  # the C reader checks the date and the time of day
                delta = _from_iso(text[:19]) - _DAY_ONE
            except ValueError:
                delta = None
            # text[11:13] < "24": newer Pythons' fromisoformat reads T24:00 as next midnight
            if delta is not None and text[11:13] < "24" and (sign is None or off_minutes < "60"):
                offset = (
                    0 if sign is None else _TWO_DIGITS[off_hours] * 60 + _TWO_DIGITS[off_minutes]
                )
                if offset <= _MAX_OFFSET_MINUTES:
                    seconds = delta.days * 86_400 + delta.seconds
                    seconds += -60 * offset if sign == "+" else 60 * offset
                    ticks = seconds * TICKS_PER_SECOND
                    if fraction:
                        ticks += int(fraction) * _FRACTION_SCALE[len(fraction)]
                    if 0 <= ticks <= _MAX_TICKS:
                        instant: Instant = _new(cls)
                        _set(instant, "ticks", ticks)
                        return instant
            # Out of range or not a time: the general path below says which.
        return cls._parse_general(text)

    @classmethod
    def _parse_general(cls, text: str) -> Instant:
        """Every form ``parse`` reads, with the refusal that fits each defect."""
        match = _DATETIME.fullmatch(text)
        if match is None:
            raise _malformed(text)
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        if zone in ("Z", "z"):
            offset_minutes = 0
        else:
            offset = _OFFSET.fullmatch(zone)
            if offset is None:
                if zone == "" or _ZONELESS_OFFSET.fullmatch(zone):
                    raise BadRequestError(
                        f"The time zone information is missing on the DateTimeOffset value "
                        f"'{quoted(text)}'. A DateTimeOffset value must contain the time zone "
                        "information."
                    )
                raise _malformed(text)
            sign, off_hours, off_minutes = offset.groups()
            if int(off_minutes) > 59:
                raise _malformed(text)
            offset_minutes = int(off_hours) * 60 + int(off_minutes)
            if offset_minutes > _MAX_OFFSET_MINUTES:
                raise BadRequestError(
                    f"The offset of the DateTimeOffset value '{quoted(text)}' "
                    "must be between -14:00 and +14:00."
                )
            if sign == "-":
                offset_minutes = -offset_minutes
        try:
            ordinal = _dt.date(int(year), int(month), int(day)).toordinal()
        except ValueError:
            if year == "0000":
                raise _out_of_range(text) from None
            raise _malformed(text) from None
        h, m, s = int(hour), int(minute), int(second or 0)
        if h > 23 or m > 59 or s > 59:
            raise _malformed(text)
        seconds = (ordinal - 1) * 86_400 + h * 3_600 + (m - offset_minutes) * 60 + s
        ticks = seconds * TICKS_PER_SECOND + _fraction_ticks(fraction or "")
        if not 0 <= ticks <= _MAX_TICKS:
            raise _out_of_range(text)
        return _from_ticks(cls, ticks)

    @classmethod
    def from_unix_milliseconds(cls, milliseconds: int) -> Instant:
        """The instant ``milliseconds`` after 1970-01-01T00:00:00Z."""
        return cls._checked(_UNIX_EPOCH_TICKS + milliseconds * 10_000, f"{milliseconds} ms")

    @property
    def unix_milliseconds(self) -> int:
        """Whole milliseconds since 1970-01-01T00:00:00Z, rounded down (R-MEET-5's messageId)."""
        return (self.ticks - _UNIX_EPOCH_TICKS) // 10_000

    @classmethod
    def from_pendulum(cls, value: _dt.datetime) -> Instant:
        """The instant of an aware ``pendulum.DateTime`` (or any aware ``datetime``), to the us."""
        offset = value.utcoffset()
        if offset is None:
            raise ValueError(f"a naive datetime has no instant: {value!r}")
        ticks = (
            (value.toordinal() - 1) * _TICKS_PER_DAY
            + (value.hour * 3_600 + value.minute * 60 + value.second) * TICKS_PER_SECOND
            + value.microsecond * _TICKS_PER_MICROSECOND
            - _timedelta_ticks(offset)
        )
        return cls._checked(ticks, value.isoformat())

    def to_pendulum(self) -> pendulum.DateTime:
        """This instant as a UTC ``pendulum.DateTime``, floored to the microsecond."""
        import pendulum

        days, rest = divmod(self.ticks, _TICKS_PER_DAY)
        date = _dt.date.fromordinal(days + 1)
        seconds, sub = divmod(rest, TICKS_PER_SECOND)
        hour, seconds = divmod(seconds, 3_600)
        minute, second = divmod(seconds, 60)
        return pendulum.datetime(
            date.year,
            date.month,
            date.day,
            hour,
            minute,
            second,
            sub // _TICKS_PER_MICROSECOND,
            tz="UTC",
        )

    def isoformat(self) -> str:
        """Graph's ``YYYY-MM-DDTHH:MM:SS[.fffffff]Z``, fraction zeros trimmed (R-TIME-6)."""
        seconds, sub = divmod(self.ticks, TICKS_PER_SECOND)
        text = (_DAY_ONE + _dt.timedelta(seconds=seconds)).isoformat()
        if sub:
            return f"{text}.{sub:07d}".rstrip("0") + "Z"
        return text + "Z"

    __str__ = isoformat

    def __repr__(self) -> str:
        return f"Instant.parse({self.isoformat()!r})"

    def __add__(self, other: _dt.timedelta) -> Instant:
        if not isinstance(other, _dt.timedelta):
            return NotImplemented
        return self._checked(self.ticks + _timedelta_ticks(other), f"{self} + {other}")

    def __sub__(self, other: _dt.timedelta) -> Instant:
        if not isinstance(other, _dt.timedelta):
            return NotImplemented
        return self._checked(self.ticks - _timedelta_ticks(other), f"{self} - {other}")

    @classmethod
    def _checked(cls, ticks: int, what: str) -> Instant:
        if not 0 <= ticks <= _MAX_TICKS:
            raise _out_of_range(what)
        return _from_ticks(cls, ticks)


def _from_ticks(cls: type[Instant], ticks: int) -> Instant:
    """An instant of ticks already known to be an int in range: no validator to run."""
    instant: Instant = _new(cls)
    _set(instant, "ticks", ticks)
    return instant


def _timedelta_ticks(delta: _dt.timedelta) -> int:
    return (
        delta.days * 86_400 + delta.seconds
    ) * TICKS_PER_SECOND + delta.microseconds * _TICKS_PER_MICROSECOND


Instant.MIN = Instant(ticks=0)
Instant.MAX = Instant(ticks=_MAX_TICKS)
