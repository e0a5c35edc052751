"""Tests for the clocks and ID factories offered with the ports."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import threading

from meeting_rules import (
    FixedClock,
    Instant,
    RandomIdFactory,
    SeededIdFactory,
    SteppingClock,
    SystemClock,
)

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_fixed_clock() -> None:
    """A fixed clock always tells the same instant."""
    clock = FixedClock(Instant.MIN)
    assert clock.now() == clock.now() == Instant.MIN


def test_stepping_clock_steps_once_per_call_across_threads() -> None:
    """A stepping clock gives start, start + step, ...; no two threads get the same instant."""
    clock = SteppingClock(Instant.MIN, dt.timedelta(microseconds=1))
    seen: list[Instant] = []

    def tick() -> None:
        for _ in range(500):
            seen.append(clock.now())

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == [Instant(ticks=10 * n) for n in range(2000)]


def test_system_clock_is_now() -> None:
    """The system clock reads the system's time, in UTC: between two readings of it."""
    before = Instant.from_pendulum(dt.datetime.now(dt.UTC))
    now = SystemClock().now()
    after = Instant.from_pendulum(dt.datetime.now(dt.UTC))
    assert before <= now <= after


def test_random_ids_have_their_forms() -> None:
    """Random GUIDs are version-4 GUIDs; digits are digits of the length asked."""
    ids = RandomIdFactory()
    assert GUID.fullmatch(ids.guid())
    assert re.fullmatch(r"\d{9}", ids.digits(9))
    assert len({ids.guid() for _ in range(100)}) == 100


def test_seeded_ids_repeat_for_a_seed() -> None:
    """The same seed gives the same identifiers, in the same order; another seed others."""
    first, second, other = SeededIdFactory(42), SeededIdFactory(42), SeededIdFactory(43)
    made = [(first.guid(), first.digits(10)) for _ in range(5)]
    assert made == [(second.guid(), second.digits(10)) for _ in range(5)]
    assert made != [(other.guid(), other.digits(10)) for _ in range(5)]
    assert all(GUID.fullmatch(guid) for guid, _ in made)


def test_seeded_ids_keep_their_sequence_across_versions() -> None:
    """A seed's identifiers are the ones earlier versions gave, so recorded outputs still hold."""
    ids = SeededIdFactory(1)
    assert [ids.guid(), ids.digits(9), ids.digits(10)] == [
        "cd613e30-d8f1-4adf-91b7-584a2265b1f5",
        "141777631",
        "7066907439",
    ]
    assert (ids.digits(0), RandomIdFactory().digits(0)) == ("", "")


def test_seeded_ids_repeat_in_another_process() -> None:
    """A seed gives the same identifiers in a fresh interpreter (no hash randomisation)."""
    code = "from meeting_rules import SeededIdFactory as S; i = S(7); print(i.guid(), i.digits(9))"
    here = SeededIdFactory(7)
    expected = f"{here.guid()} {here.digits(9)}"
    for seed in ("0", "12345"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        assert result.stdout.strip() == expected
