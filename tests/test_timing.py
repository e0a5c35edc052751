"""Tests for the time window: defaults, order, expiry (R-TIME-1..4, R-TIME-8)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meeting_rules import BadRequestError, Instant, MeetingWindow, expiry, normalise_window
from meeting_rules.testing.strategies import instants
from meeting_rules.timing import DEFAULT_EXPIRY_PERIOD

HOUR = dt.timedelta(hours=1)
NOW = Instant.parse("2020-09-11T06:30:18.0615989Z")
LATEST_DEFAULTABLE = Instant.MAX - HOUR


class TestNormaliseWindow:
    """Tests for ``normalise_window``."""

    def test_r_time_1_neither_start_nor_end(self) -> None:
        """R-TIME-1: start = now, end = now + 1 hour (seed Example 1's times)."""
        window = normalise_window(None, None, now=NOW)
        assert window == MeetingWindow(start=NOW, end=Instant.parse("2020-09-11T07:30:18.0615989Z"))

    @given(instants(max_value=LATEST_DEFAULTABLE), instants())
    def test_r_time_1_defaults_are_now_and_one_hour(self, now: Instant, other: Instant) -> None:
        """R-TIME-1: with no times, the window is exactly [now, now + 1 h], whatever else."""
        window = normalise_window(None, None, now=now)
        assert window.start == now
        assert window.end.ticks - window.start.ticks == 36_000_000_000

    @given(instants(max_value=LATEST_DEFAULTABLE), instants())
    def test_r_time_2_start_without_end(self, start: Instant, now: Instant) -> None:
        """R-TIME-2: end = start + 1 hour exactly; now plays no part."""
        window = normalise_window(start, None, now=now)
        assert window == MeetingWindow(start=start, end=start + HOUR)

    @given(instants())
    def test_r_time_3_end_without_start(self, end: Instant) -> None:
        """R-TIME-3: an end without a start is a 400 on endDateTime."""
        with pytest.raises(BadRequestError) as info:
            normalise_window(None, end, now=NOW)
        assert (info.value.status, info.value.target) == (400, "endDateTime")

    @given(instants(), instants())
    def test_r_time_4_order(self, a: Instant, b: Instant) -> None:
        """R-TIME-4: end before start is a 400 on endDateTime; equal or later is kept as given."""
        if b < a:
            with pytest.raises(BadRequestError) as info:
                normalise_window(a, b, now=NOW)
            assert info.value.target == "endDateTime"
        else:
            assert normalise_window(a, b, now=NOW) == MeetingWindow(start=a, end=b)

    def test_r_time_4_equal_is_allowed(self) -> None:
        """R-TIME-4: a zero-length meeting is allowed [LIB]."""
        assert normalise_window(NOW, NOW, now=Instant.MIN).end == NOW

    @given(st.none() | instants(max_value=LATEST_DEFAULTABLE), instants(), instants())
    def test_normalising_twice_changes_nothing(
        self, start: Instant | None, now: Instant, later_now: Instant
    ) -> None:
        """Normalising a normalised window, at any other now, gives the same window."""
        window = normalise_window(start, None, now=min(now, LATEST_DEFAULTABLE))
        assert normalise_window(window.start, window.end, now=later_now) == window

    @given(st.none() | instants(), st.none() | instants(), instants())
    def test_end_is_never_before_start(
        self, start: Instant | None, end: Instant | None, now: Instant
    ) -> None:
        """Whatever comes in, a window that comes out has end >= start."""
        if end is not None and (start is None or end < start):
            with pytest.raises(BadRequestError):
                normalise_window(start, end, now=now)
        elif (start is None and now > LATEST_DEFAULTABLE) or (
            start is not None and end is None and start > LATEST_DEFAULTABLE
        ):
            with pytest.raises(BadRequestError, match="out of range"):
                normalise_window(start, end, now=now)
        else:
            window = normalise_window(start, end, now=now)
            assert window.end >= window.start

    def test_default_end_beyond_9999_is_400_on_start(self) -> None:
        """A start so late that start + 1 h leaves the range is a 400 on startDateTime; when
        the start is now, no member of the request is at fault."""
        late = Instant.parse("9999-12-31T23:30:00Z")
        with pytest.raises(BadRequestError) as info:
            normalise_window(late, None, now=NOW)
        assert info.value.target == "startDateTime"
        with pytest.raises(BadRequestError) as info:
            normalise_window(None, None, now=late)
        assert info.value.target is None

    def test_window_refuses_end_before_start(self) -> None:
        """A ``MeetingWindow`` cannot be built with its end before its start."""
        with pytest.raises(BadRequestError):
            MeetingWindow(start=NOW, end=Instant.MIN)


class TestExpiry:
    """Tests for ``expiry`` (R-TIME-8)."""

    def test_r_time_8_default_is_sixty_days_after_end(self) -> None:
        """R-TIME-8: the default period is 60 days after the end."""
        assert expiry(NOW) == Instant.parse("2020-11-10T06:30:18.0615989Z")
        assert dt.timedelta(days=60) == DEFAULT_EXPIRY_PERIOD

    def test_r_time_8_no_period_no_expiry(self) -> None:
        """R-TIME-8: a tenant without a period has no expiry (written as null)."""
        assert expiry(NOW, None) is None

    @given(instants(), st.integers(0, 10**12).map(lambda us: dt.timedelta(microseconds=us)))
    def test_r_time_8_expiry_is_end_plus_period_clamped(
        self, end: Instant, period: dt.timedelta
    ) -> None:
        """R-TIME-8: end + period, clamped to the latest instant; never an error."""
        result = expiry(end, period)
        assert result is not None
        exact = end.ticks + period // dt.timedelta(microseconds=1) * 10
        assert result.ticks == min(exact, Instant.MAX.ticks)

    def test_r_time_8_negative_period_clamps_at_minimum(self) -> None:
        """A negative period before year 1 clamps to the earliest instant."""
        assert expiry(Instant.MIN, -dt.timedelta(days=1)) == Instant.MIN
