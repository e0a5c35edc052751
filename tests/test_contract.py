"""The repository contract catches broken adapters and passes the real ones (run by pytester,
as another project would run it: a module with nothing but a ``RepositoryContract`` subclass)."""

from __future__ import annotations

import threading
import time

import pytest

from meeting_rules.testing import check_repository

HEADER = """
import time

import attrs
import pytest

from meeting_rules import Instant, MeetingKey, OnlineMeeting
from meeting_rules.adapters import InMemoryMeetingRepository, SqliteMeetingRepository
from meeting_rules.testing import RepositoryContract, check_repository
"""

BROKEN = {
    # Checks, then inserts, with no lock: the I/O of a real store sits between the two.
    "check_then_insert": """
class Store(InMemoryMeetingRepository):
    def add_if_absent(self, key, meeting):
        existing = self.get(key)
        if existing is not None:
            return existing, False
        time.sleep(0.001)
        self._meetings[key] = meeting
        return meeting, True
""",
    # A second add replaces the first meeting instead of returning it.
    "overwrite_on_conflict": """
class Store(InMemoryMeetingRepository):
    def add_if_absent(self, key, meeting):
        with self._lock:
            created = key not in self._meetings
            self._meetings[key] = meeting
        return meeting, created
""",
    # Keeps times as microseconds, as a datetime column would: the 7th fraction digit is lost.
    "drops_seventh_digit": """
def micro(instant):
    return None if instant is None else Instant(ticks=instant.ticks // 10 * 10)

class Store(InMemoryMeetingRepository):
    def add_if_absent(self, key, meeting):
        kept = attrs.evolve(
            meeting,
            creation_date_time=micro(meeting.creation_date_time),
            start_date_time=micro(meeting.start_date_time),
            end_date_time=micro(meeting.end_date_time),
        )
        stored, created = super().add_if_absent(key, kept)
        return (meeting if created else stored), created
""",
    # Compares externalIds ignoring case, as a case-insensitive collation would.
    "case_insensitive_keys": """
class Store(InMemoryMeetingRepository):
    def _fold(self, key):
        return attrs.evolve(key, external_id=key.external_id.lower())
    def get(self, key):
        return super().get(self._fold(key))
    def add_if_absent(self, key, meeting):
        return super().add_if_absent(self._fold(key), meeting)
""",
    # Finds a meeting by its id in any organizer's meetings of the tenant.
    "find_ignores_organizer": """
class Store(InMemoryMeetingRepository):
    def find_by_id(self, *, tenant_id, organizer_id, meeting_id):
        with self._lock:
            return next((m for k, m in self._meetings.items()
                         if k.tenant_id == tenant_id and m.id == meeting_id), None)
""",
    # Remembers the latest meeting offered under an id, stored or not.
    "find_gives_the_last_offered": """
class Store(InMemoryMeetingRepository):
    def add_if_absent(self, key, meeting):
        with self._lock:
            self._by_id[key.tenant_id, key.organizer_id, meeting.id] = meeting
        return super().add_if_absent(key, meeting)
""",
    # Keeps externalIds in Unicode's composed form (NFC), as some databases and ORMs do: one
    # text in its two forms is one key.
    "normalising_keys": """
import unicodedata

class Store(InMemoryMeetingRepository):
    def _fold(self, key):
        return attrs.evolve(key, external_id=unicodedata.normalize("NFC", key.external_id))
    def get(self, key):
        return super().get(self._fold(key))
    def add_if_absent(self, key, meeting):
        return super().add_if_absent(self._fold(key), meeting)
""",
}

# Broken in ways the plain function must report as a failed check, run only through it (the
# pytest class runs the same check functions).
BROKEN_FOR_THE_FUNCTION = {
    # Finds by id with the organizer compared without case.
    "find_ignores_organizer_case": """
class Store(InMemoryMeetingRepository):
    def find_by_id(self, *, tenant_id, organizer_id, meeting_id):
        with self._lock:
            return next((m for k, m in self._meetings.items()
                         if k.tenant_id == tenant_id and m.id == meeting_id
                         and k.organizer_id.lower() == organizer_id.lower()), None)
""",
    # Raises for a key it does not hold, as a dict lookup would.
    "raises_on_an_absent_key": """
class Store(InMemoryMeetingRepository):
    def get(self, key):
        return self._meetings[key]
""",
    # Has no find_by_id at all (a store written for version 0.1's port).
    "no_find_by_id": """
class Store:
    def __init__(self):
        self._store = InMemoryMeetingRepository()
        self.get = self._store.get
        self.add_if_absent = self._store.add_if_absent
""",
}

REAL = {
    "memory": "class Store(InMemoryMeetingRepository):\n    pass\n",
    "sqlite": (
        "import tempfile, pathlib\n"
        "class Store(SqliteMeetingRepository):\n"
        "    def __init__(self):\n"
        "        super().__init__(pathlib.Path(tempfile.mkdtemp()) / 'm.sqlite3')\n"
    ),
}

SUBCLASS = """
class TestStore(RepositoryContract):
    @pytest.fixture
    def repository(self):
        return Store()
"""


def run_contract(pytester: pytest.Pytester, store: str, *options: str) -> dict[str, int]:
    pytester.makepyfile(test_store=HEADER + store + SUBCLASS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", *options)
    return result.parseoutcomes()


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_contract_fails_broken_adapters(pytester: pytest.Pytester, name: str) -> None:
    """Each deliberately wrong adapter fails the contract (stopping at the first failure, so
    Hypothesis does not spend minutes shrinking the failures that follow)."""
    outcomes = run_contract(pytester, BROKEN[name], "-x")
    assert outcomes.get("failed", 0) >= 1, outcomes


@pytest.mark.parametrize("name", sorted(REAL))
def test_contract_passes_real_adapters(pytester: pytest.Pytester, name: str) -> None:
    """The library's own stores pass every test of the contract, with only the subclass."""
    outcomes = run_contract(pytester, REAL[name])
    assert outcomes.get("failed", 0) == 0, outcomes
    assert outcomes.get("error", 0) == 0, outcomes
    assert outcomes["passed"] >= 15


def test_contract_without_repository_fixture_fails_clearly(pytester: pytest.Pytester) -> None:
    """A subclass that forgets the ``repository`` fixture is told so."""
    pytester.makepyfile(test_store=HEADER + "class TestStore(RepositoryContract):\n    pass\n")
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*must provide `repository`*"])


def store_class(source: str) -> type:
    namespace: dict[str, object] = {}
    exec(HEADER + source, namespace)
    store = namespace["Store"]
    assert isinstance(store, type)
    return store


@pytest.mark.parametrize("name", sorted(REAL))
def test_check_repository_passes_real_adapters(name: str) -> None:
    """The plain function runs the same checks, each on a fresh store, and passes the library's
    own stores (closing each SQLite store after its check)."""
    made: list[object] = []

    def make() -> object:
        made.append(store_class(REAL[name])())
        return made[-1]

    check_repository(make, race_rounds=2, examples=10)  # type: ignore[arg-type]
    assert len(made) >= 15  # one fresh store per check


@pytest.mark.parametrize("name", sorted(BROKEN | BROKEN_FOR_THE_FUNCTION))
def test_check_repository_fails_broken_adapters(name: str) -> None:
    """Every broken adapter is an ``AssertionError`` naming the check, whatever it raised."""
    store = store_class({**BROKEN, **BROKEN_FOR_THE_FUNCTION}[name])
    with pytest.raises(AssertionError, match="repository contract, "):
        check_repository(store, examples=10)


def test_a_store_that_deadlocks_fails_the_race_in_its_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store whose writes never return fails the race within ``RACE_SECONDS``, as an
    ``AssertionError`` saying so; its stuck threads keep nobody waiting (daemon threads)."""
    from meeting_rules.testing import contract
    from meeting_rules.testing.plugin import key_factory

    monkeypatch.setattr(contract, "RACE_SECONDS", 0.5)
    released = threading.Event()
    base = store_class(REAL["memory"])

    class Stuck(base):  # type: ignore[valid-type,misc]
        def add_if_absent(self, key: object, meeting: object) -> object:
            released.wait(30)
            return super().add_if_absent(key, meeting)

    try:
        started = time.monotonic()
        with pytest.raises(AssertionError, match=r"racing threads had not finished after 0\.5 s"):
            contract.check_add_if_absent_is_atomic_across_threads(
                Stuck(), key_factory(), threads=4, rounds=1
            )
        assert time.monotonic() - started < 5
    finally:
        released.set()
