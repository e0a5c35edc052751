"""Tests for ``Instant``: reading, writing, range, arithmetic, pendulum (R-TIME-5..7)."""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Callable

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meeting_rules import BadRequestError, Instant
from meeting_rules.testing.strategies import instant_texts, instants

ZONE_MISSING = "The time zone information is missing on the DateTimeOffset value"
_NEAR = "0123456789-:.,TtZz+ W\u0661\u00a0_"


@st.composite
def _near_usual_forms(draw: st.DrawFn) -> str:
    """An instant in an accepted form, with one or two characters replaced, put in or taken out."""
    text = draw(instant_texts().map(lambda case: case[1]))
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(_NEAR))
        how = draw(st.sampled_from(["replace", "insert", "delete"]))
        if how == "insert":
            text = text[:at] + char + text[at:]
        elif how == "replace":
            text = text[:at] + char + text[at + 1 :]
        else:
            text = text[:at] + text[at + 1 :]
    return text


class TestParse:
    """Tests for ``Instant.parse``."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2020-02-06T01:49:21.3524945+00:00", "2020-02-06T01:49:21.3524945Z"),
            ("2020-09-11T06:30:18.0615989Z", "2020-09-11T06:30:18.0615989Z"),
            ("2020-09-11T06:30:18.0615989z", "2020-09-11T06:30:18.0615989Z"),
            ("2020-09-11t06:30:18Z", "2020-09-11T06:30:18Z"),
            ("2020-01-01T05:30+05:30", "2020-01-01T00:00:00Z"),
            ("2020-01-01T00:00-01:00", "2020-01-01T01:00:00Z"),
            ("2020-01-01T00:00:00.10Z", "2020-01-01T00:00:00.1Z"),
            ("2020-01-01T00:00:00.0000000Z", "2020-01-01T00:00:00Z"),
            ("2020-01-01T00:00:00.1234567000000Z", "2020-01-01T00:00:00.1234567Z"),
            ("2020-01-01T00:00:00+14:00", "2019-12-31T10:00:00Z"),
            ("2020-01-01T00:00:00-14:00", "2020-01-01T14:00:00Z"),
            ("2020-02-29T00:00:00Z", "2020-02-29T00:00:00Z"),
        ],
    )
    def test_r_time_5_accepted_forms(self, text: str, expected: str) -> None:
        """R-TIME-5: Z, z, +-hh:mm, optional seconds, 0..7+ fraction digits read as UTC."""
        assert str(Instant.parse(text)) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2020-01-01T00:00:00.12345674Z", "2020-01-01T00:00:00.1234567Z"),
            ("2020-01-01T00:00:00.12345676Z", "2020-01-01T00:00:00.1234568Z"),
            ("2020-01-01T00:00:00.12345675Z", "2020-01-01T00:00:00.1234568Z"),
            ("2020-01-01T00:00:00.12345665Z", "2020-01-01T00:00:00.1234566Z"),
            ("2020-01-01T00:00:00.123456650001Z", "2020-01-01T00:00:00.1234567Z"),
            ("2020-01-01T00:00:59.99999999Z", "2020-01-01T00:01:00Z"),
            ("9999-12-31T23:59:59.99999994Z", "9999-12-31T23:59:59.9999999Z"),
        ],
    )
    def test_r_time_5_more_than_seven_digits_round_half_even(
        self, text: str, expected: str
    ) -> None:
        """R-TIME-5: digits beyond the 7th round half-to-even to 100 ns, carrying into seconds."""
        assert str(Instant.parse(text)) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "2020-01-01T00:00:00",
            "2020-01-01T00:00",
            "2020-01-01T00:00:00+0000",
            "2020-01-01T00:00+05",
        ],
    )
    def test_r_time_5_no_zone_is_refused(self, text: str) -> None:
        """R-TIME-5: no zone, or a zone without its colon, gives Graph's DateTimeOffset 400."""
        with pytest.raises(BadRequestError) as info:
            Instant.parse(text)
        assert info.value.status == 400
        assert info.value.code == "BadRequest"
        assert info.value.message.startswith(ZONE_MISSING)
        assert text in info.value.message

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "x",
            "2020-01-01",
            "2020-1-01T00:00:00Z",
            "20200101T000000Z",
            " 2020-01-01T00:00:00Z",
            "2020-01-01T00:00:00Z ",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T00:00.5Z",
            "2020-13-01T00:00:00Z",
            "2020-02-30T00:00:00Z",
            "2019-02-29T00:00:00Z",
            "2020-01-01T24:00:00Z",
            "2020-01-01T00:60:00Z",
            "2020-01-01T00:00:60Z",
            "2020-01-01T00:00:00+05:60",
            "2020-01-01T00:00:00UTC",
            "10000-01-01T00:00:00Z",
            "２０２０-01-01T00:00:00Z",  # noqa: RUF001 (full-width digits are not digits here)
            "2020-01-01T00:00:00Z\x00",
        ],
    )
    def test_r_time_5_malformed_text_is_refused(self, text: str) -> None:
        """R-TIME-5: anything that is not an ISO 8601 date-time with a zone is a 400."""
        with pytest.raises(BadRequestError) as info:
            Instant.parse(text)
        assert info.value.status == 400

    @pytest.mark.parametrize(
        "text",
        [
            "0000-12-31T23:59:59Z",
            "0001-01-01T00:00:00+00:01",
            "0001-01-01T00:30:00+01:00",
            "9999-12-31T23:59:59-00:01",
            "9999-12-31T23:59:59.99999995Z",
        ],
    )
    def test_r_time_5_outside_range_is_400_not_overflow(self, text: str) -> None:
        """R-TIME-5: instants before year 1 or after 9999 are a 400, never an OverflowError."""
        with pytest.raises(BadRequestError, match="outside the supported range"):
            Instant.parse(text)

    def test_r_time_5_offset_beyond_14_hours_is_refused(self) -> None:
        """R-TIME-5: .NET's offset range is +-14:00."""
        with pytest.raises(BadRequestError, match="between -14:00 and \\+14:00"):
            Instant.parse("2020-01-01T00:00:00+14:01")

    def test_r_time_5_non_string_is_refused(self) -> None:
        """R-TIME-5: only text is a timestamp."""
        with pytest.raises(BadRequestError):
            Instant.parse(20200101)  # type: ignore[arg-type]

    def test_r_time_5_huge_fraction_is_linear(self) -> None:
        """R-TIME-5: a million fraction digits are read (and rounded), not a hang or a crash."""
        text = "2020-01-01T00:00:00." + "9" * 1_000_000 + "Z"
        assert str(Instant.parse(text)) == "2020-01-01T00:00:01Z"

    @given(instant_texts())
    def test_r_time_5_every_offset_and_form_reads_exactly(self, case: tuple[Instant, str]) -> None:
        """R-TIME-5: any offset, zone spelling and fraction width gives the exact instant."""
        instant, text = case
        assert Instant.parse(text) == instant

    def test_r_time_5_hour_24_is_refused_whatever_python_reads(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """R-TIME-5: T24:00 is refused even where datetime.fromisoformat takes it for the next
        midnight (as Python 3.14 does)."""

        def lenient(text: str) -> dt.datetime:
            if text[11:13] == "24":
                return dt.datetime.fromisoformat(text[:11] + "00" + text[13:]) + dt.timedelta(1)
            return dt.datetime.fromisoformat(text)

        monkeypatch.setattr("meeting_rules.instant._from_iso", lenient)
        for text in ("2020-01-01T24:00:00Z", "2020-01-01T24:00:00.9999999+14:00"):
            with pytest.raises(BadRequestError, match="Cannot convert"):
                Instant.parse(text)

    def test_subclasses_get_their_own_kind(self) -> None:
        """Every path of parse gives an instance of the class it was called on."""

        class Stamp(Instant):
            pass

        for text in ("2020-01-01T00:00:00Z", "2020-01-01T00:00Z"):
            assert type(Stamp.parse(text)) is Stamp

    @given(
        st.one_of(
            instant_texts().map(lambda case: case[1]),
            st.from_regex(
                r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}"
                r"(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})",
                fullmatch=True,
            ),
            _near_usual_forms(),
        )
    )
    def test_r_time_5_short_path_agrees_with_general_path(self, text: str) -> None:
        """R-TIME-5: the canonical form's short path reads or refuses exactly as the general one
        (out-of-range digits, Feb 29, year 0000, offsets past 14:00, edge instants, and texts one
        or two characters from an accepted form: most of those fail the short path's shape check
        and go to the general path, and those that keep the shape, as a changed digit, test its
        calendar, clock and range checks)."""

        def outcome(parse: Callable[[str], Instant]) -> object:
            try:
                return parse(text)
            except BadRequestError as error:
                return (error.status, error.message)

        assert outcome(Instant.parse) == outcome(Instant._parse_general)

    @pytest.mark.parametrize(
        "text",
        [
            "2020-09-11T06:30:18,1909168Z",
            "2020-09-11T06:30:18.123456 Z",
            "2020-09-11 06:30:18.1909168Z",
            "2020-W37-5T06:30:18.190916Z",
            "2020-09-11T06:30:18.1234567+05:75",
            "2020-09-11T06:30:18.1234567+23:59",
            "0001-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59.9999999-00:01",
        ],
    )
    def test_r_time_5_what_fromisoformat_takes_and_graph_does_not(self, text: str) -> None:
        """R-TIME-5: texts that ``datetime.fromisoformat`` reads (the short path uses it) and Graph
        refuses are refused: another separator, a space before ``Z``, a week date, minutes of an
        offset past 59, an offset past 14:00, an instant outside 0001..9999 in UTC."""
        with pytest.raises(BadRequestError):
            Instant.parse(text)


class TestFormat:
    """Tests for ``str(Instant)`` / ``Instant.isoformat``."""

    @pytest.mark.parametrize(
        "text",
        [
            "2020-09-11T08:00:00Z",
            "2020-09-11T06:30:31.201931Z",
            "2020-09-11T06:30:18.0615989Z",
            "2020-09-11T06:30:18.1Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.9999999Z",
            "0999-01-01T00:00:00.0000001Z",
        ],
    )
    def test_r_time_6_graph_form_trims_trailing_zeros(self, text: str) -> None:
        """R-TIME-6: UTC, Z, fraction with trailing zeros trimmed, identical after a round trip."""
        assert str(Instant.parse(text)) == text
        assert Instant.parse(text).isoformat() == text

    def test_r_time_7_minimum_is_graph_not_set(self) -> None:
        """R-TIME-7: 0001-01-01T00:00:00Z reads as the minimum and writes back unchanged."""
        assert Instant.parse("0001-01-01T00:00:00Z") == Instant.MIN
        assert str(Instant.MIN) == "0001-01-01T00:00:00Z"

    @given(instants())
    def test_r_time_6_write_then_read_is_identity(self, instant: Instant) -> None:
        """R-TIME-6: every instant of the whole range survives writing and reading."""
        text = str(instant)
        assert Instant.parse(text) == instant
        assert str(Instant.parse(text)) == text
        assert text.endswith("Z")
        assert not text[:-1].endswith("0") or "." not in text

    def test_repr_is_evaluable(self) -> None:
        """``repr`` is the expression that rebuilds the instant."""
        instant = Instant.parse("2020-09-11T06:30:18.0615989Z")
        assert eval(repr(instant)) == instant


class TestValue:
    """Tests for ordering, hashing, arithmetic and construction."""

    @given(instant_texts(), instant_texts())
    def test_order_is_the_order_of_time(
        self, a: tuple[Instant, str], b: tuple[Instant, str]
    ) -> None:
        """Instants read from any offsets order as the UTC times they denote."""
        (x, x_text), (y, y_text) = a, b
        utc = [Instant.parse(x_text).to_pendulum(), Instant.parse(y_text).to_pendulum()]
        if utc[0] != utc[1]:
            assert (x < y) == (utc[0] < utc[1])
        assert (x == y) == (x.ticks == y.ticks)
        if x == y:
            assert hash(x) == hash(y)

    @given(instants(max_value=Instant.parse("9000-01-01T00:00:00Z")), st.integers(0, 10**6))
    def test_adding_a_duration_is_exact(self, instant: Instant, micros: int) -> None:
        """Adding then subtracting a timedelta returns the same instant, to 100 ns."""
        delta = dt.timedelta(microseconds=micros)
        assert (instant + delta) - delta == instant
        assert (instant + delta).ticks == instant.ticks + micros * 10

    def test_arithmetic_beyond_the_range_is_400(self) -> None:
        """Arithmetic that leaves 0001..9999 is a Graph 400, never an OverflowError."""
        with pytest.raises(BadRequestError):
            Instant.MAX + dt.timedelta(microseconds=1)
        with pytest.raises(BadRequestError):
            Instant.MIN - dt.timedelta(microseconds=1)

    def test_adding_something_else_is_a_type_error(self) -> None:
        """Only timedeltas are added."""
        with pytest.raises(TypeError):
            Instant.MIN + 1  # type: ignore[operator]
        with pytest.raises(TypeError):
            Instant.MAX - Instant.MIN  # type: ignore[operator]

    @pytest.mark.parametrize("ticks", [-1, Instant.MAX.ticks + 1, 1.0, True])
    def test_constructor_refuses_bad_ticks(self, ticks: object) -> None:
        """Ticks are an int within the range; anything else is refused at construction."""
        with pytest.raises(ValueError, match="ticks"):
            Instant(ticks=ticks)  # type: ignore[arg-type]

    def test_is_frozen_and_slotted(self) -> None:
        """An instant cannot change and has no ``__dict__``."""
        instant = Instant.MIN
        with pytest.raises(AttributeError):
            instant.ticks = 5  # type: ignore[misc]
        assert not hasattr(instant, "__dict__")

    @given(instants())
    def test_pickles(self, instant: Instant) -> None:
        """Instants cross process boundaries unchanged."""
        assert pickle.loads(pickle.dumps(instant)) == instant

    def test_unix_milliseconds(self) -> None:
        """R-MEET-5: seed Example 2's messageId is an instant in Unix milliseconds."""
        instant = Instant.parse("2020-09-11T06:30:18.399Z")
        assert instant.unix_milliseconds == 1599805818399
        assert Instant.from_unix_milliseconds(1599805818399) == instant
        assert Instant.parse("1969-12-31T23:59:59.9995Z").unix_milliseconds == -1


class TestPendulum:
    """Tests for ``to_pendulum`` and ``from_pendulum``."""

    @given(instants())
    def test_round_trip_loses_only_the_seventh_digit(self, instant: Instant) -> None:
        """To pendulum and back floors to the microsecond; nothing else changes."""
        back = Instant.from_pendulum(instant.to_pendulum())
        assert back.ticks == instant.ticks - instant.ticks % 10

    def test_to_pendulum_is_utc(self) -> None:
        """The pendulum value is in UTC."""
        value = Instant.parse("2020-01-01T05:30:00+05:30").to_pendulum()
        assert value == pendulum.datetime(2020, 1, 1, tz="UTC")
        assert value.utcoffset() == dt.timedelta(0)

    def test_from_pendulum_with_offset(self) -> None:
        """An aware value in any zone becomes its UTC instant."""
        value = pendulum.datetime(2020, 1, 1, 5, 30, tz="Asia/Kolkata")
        assert str(Instant.from_pendulum(value)) == "2020-01-01T00:00:00Z"

    def test_from_pendulum_refuses_naive(self) -> None:
        """A naive datetime has no instant."""
        with pytest.raises(ValueError, match="naive"):
            Instant.from_pendulum(dt.datetime(2020, 1, 1))

    def test_from_pendulum_out_of_range(self) -> None:
        """A local time that is before year 1 in UTC is a 400."""
        value = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        with pytest.raises(BadRequestError):
            Instant.from_pendulum(value)
