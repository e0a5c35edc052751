"""The promises of the ``MeetingRepository`` port, as checks a store is run through.

Two ways to run them, the same checks either way:

- ``RepositoryContract``, a pytest class: subclass it in a test module and give it a
  ``repository`` fixture that returns a fresh, empty store; each check is then a test::

      class TestMyStore(RepositoryContract):
          @pytest.fixture
          def repository(self, tmp_path):
              return MyStore(tmp_path / "db")

  (The ``meeting_keys`` fixture comes from this package's pytest plugin, loaded by its entry
  point.)
- ``check_repository(make_repository)``, a plain function for any test runner:
  ``make_repository()`` takes no argument and returns a fresh, empty store; a broken promise
  raises ``AssertionError`` naming the check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from . import kit_missing

try:
    import pytest
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ModuleNotFoundError as missing:  # pragma: no cover (a test runs it in a subprocess)
    raise kit_missing(missing) from None

from ..enums import ApiVersion, LobbyBypassScope, OnlineMeetingRole
from ..graph_json import dumps_meeting, meeting_from_json
from ..instant import Instant
from ..meeting import ChatInfo, LobbyBypassSettings, MeetingKey, OnlineMeeting
from ..participants import Identity, IdentitySet, MeetingParticipantInfo, MeetingParticipants
from ..ports import MeetingRepository, WouldWait
from .plugin import key_factory
from .strategies import meetings

__all__ = ["RepositoryContract", "check_repository", "sample_meeting"]

Keys = Callable[..., MeetingKey]


def sample_meeting(subject: str = "Weekly sync") -> OnlineMeeting:
    """A meeting with everything a store must keep: 100 ns times, nulls, absent members, unknown
    members in several objects, an evolvable enum member, and a layout read from JSON."""
    return meeting_from_json(
        {
            "id": "MSpvKjAqKjE5Om1lZXRpbmdfWEB0aHJlYWQudjI=",
            "creationDateTime": "2020-09-11T06:30:18.1909168Z",
            "startDateTime": "2020-09-11T06:30:18.0615989Z",
            "endDateTime": "2020-09-11T07:30:18.0615989Z",
            "subject": subject,
            "allowMeetingChat": "limited",
            "participants": {
                "organizer": {
                    "upn": "ada@contoso.com",
                    "role": "coorganizer",
                    "identity": {"user": {"id": "ada", "tenantId": "contoso", "x": [1, 2.5]}},
                },
                "attendees": [],
            },
            "chatInfo": {"threadId": "19:meeting_X@thread.v2", "messageId": "0"},
            "joinMeetingIdSettings": {"joinMeetingId": "123", "isPasscodeRequired": None},
        }
    )


def _built_meeting() -> OnlineMeeting:
    """A meeting the library builds itself (Graph's default layout), with the 7th digit."""
    return OnlineMeeting(
        id="built",
        start_date_time=Instant(ticks=637_354_278_180_615_989),
        end_date_time=Instant(ticks=637_354_314_180_615_989),
        participants=MeetingParticipants(
            organizer=MeetingParticipantInfo(
                role=OnlineMeetingRole.PRESENTER,
                identity=IdentitySet(user=Identity(id="ada", unknown_members={"tenantId": "t"})),
            )
        ),
        lobby_bypass_settings=LobbyBypassSettings(scope=LobbyBypassScope.INVITED),
        chat_info=ChatInfo(thread_id="19:meeting_Y@thread.v2", message_id="0"),
    )


def _same(stored: OnlineMeeting | None, meeting: OnlineMeeting) -> None:
    """Equal, and writing the same JSON bytes in both versions (layout, 7th digit, unknowns)."""
    assert stored is not None
    assert stored == meeting
    for version in ApiVersion:
        assert dumps_meeting(stored, version=version, include_unknown_enum_members=True) == (
            dumps_meeting(meeting, version=version, include_unknown_enum_members=True)
        )


# --- the checks: each takes a fresh, empty store and a factory of keys it has never seen ---------

OTHER_KEYS: tuple[dict[str, str], ...] = (
    {"tenant_id": "Tenant"},
    {"tenant_id": "tenant2"},
    {"organizer_id": "Organizer"},
    {"external_id": "Standup"},
    {"external_id": "standup "},
    {"external_id": "stand\u00fcp"},
    {"external_id": "standu\u0308p"},
    {"external_id": "\U0001f389 standup"},
    # One text in two Unicode normalisation forms (NFC, then NFD): a store that normalises
    # keys takes them for one.
    {"external_id": "stand\u00fcp", "first": "standu\u0308p"},
    {"external_id": "standu\u0308p", "first": "stand\u00fcp"},
)
"""Keys that differ from tenant/organizer/standup in one part, by case, spaces, Unicode forms
(with ``first``, the first key's externalId instead of ``standup``)."""


def check_get_of_an_absent_key_is_none(repository: MeetingRepository, keys: Keys) -> None:
    """A key never added gives ``None``."""
    assert repository.get(keys()) is None


def check_add_then_get(repository: MeetingRepository, keys: Keys) -> None:
    """The first add under a key stores the meeting and returns it with ``True``."""
    key, meeting = keys(), sample_meeting()
    stored, created = repository.add_if_absent(key, meeting)
    assert created is True
    _same(stored, meeting)
    _same(repository.get(key), meeting)


def check_get_now_answers_as_get(repository: MeetingRepository, keys: Keys) -> None:
    """A store that also reads without waiting (``get_now``, ``ports.ReadsWithoutWaiting``)
    answers as ``get`` does, from any thread; a store without ``get_now`` passes."""
    get_now = getattr(repository, "get_now", None)
    if get_now is None:
        return
    key, meeting = keys(), sample_meeting()
    assert get_now(key) is None
    repository.add_if_absent(key, meeting)
    answers: list[OnlineMeeting | None] = []

    def read() -> None:
        for _ in range(1_000):  # bounded: WouldWait only while another holds the store
            try:
                answers.append(get_now(key))
                return
            except WouldWait:
                time.sleep(0.001)

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(30)
    read()
    assert len(answers) == 2, "get_now on another thread did not answer"
    for answer in answers:
        _same(answer, meeting)
    assert get_now(keys()) is None


def check_second_add_returns_the_first_unchanged(repository: MeetingRepository, keys: Keys) -> None:
    """A second add under the key stores nothing and returns the first meeting, ``False``."""
    key, first, second = keys(), sample_meeting("first"), sample_meeting("second")
    repository.add_if_absent(key, first)
    stored, created = repository.add_if_absent(key, second)
    assert created is False
    _same(stored, first)
    _same(repository.get(key), first)


def check_keys_differ(repository: MeetingRepository, keys: Keys, other: dict[str, str]) -> None:
    """Tenant, organizer and externalId each count, compared exactly: case, spaces and Unicode
    normalisation forms make other keys (R-RES-1)."""
    other = dict(other)
    base = {"tenant_id": "tenant", "organizer_id": "organizer"}
    base["external_id"] = other.pop("first", "standup")
    key, other_key = keys(**base), keys(**{**base, **other})
    repository.add_if_absent(key, sample_meeting("one"))
    assert repository.get(other_key) is None
    stored, created = repository.add_if_absent(other_key, sample_meeting("two"))
    assert created is True
    assert stored.subject == "two"
    _same(repository.get(key), sample_meeting("one"))


def check_library_built_meeting_comes_back_exact(repository: MeetingRepository, keys: Keys) -> None:
    """A meeting in the default layout comes back equal, to 100 ns, writing the same JSON."""
    key, meeting = keys(), _built_meeting()
    repository.add_if_absent(key, meeting)
    _same(repository.get(key), meeting)


def check_any_meeting_comes_back_exact(
    repository: MeetingRepository, keys: Keys, examples: int = 25
) -> None:
    """Any meeting, unknown members and all, comes back equal and writes the same JSON."""

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,  # nothing written to the caller's directory
    )
    @given(data=st.data())
    def round_trip(data: st.DataObject) -> None:
        meeting = data.draw(meetings(version=data.draw(st.sampled_from(list(ApiVersion)))))
        key = keys()
        assert repository.add_if_absent(key, meeting)[1] is True
        _same(repository.get(key), meeting)

    round_trip()


def check_find_by_id(repository: MeetingRepository, keys: Keys) -> None:
    """A stored meeting is found by its Graph id under its key's tenant and organizer, and by no
    other tenant or organizer; an id never stored finds nothing; a second add under the key
    leaves the first meeting the one found."""
    key = keys(tenant_id="tenant", organizer_id="organizer")
    meeting = sample_meeting()
    assert meeting.id is not None
    found = {"tenant_id": "tenant", "organizer_id": "organizer", "meeting_id": meeting.id}
    assert repository.find_by_id(**found) is None
    repository.add_if_absent(key, meeting)
    repository.add_if_absent(key, attrs.evolve(sample_meeting("second"), id="second-id"))
    _same(repository.find_by_id(**found), meeting)
    for other in ({"tenant_id": "Tenant"}, {"organizer_id": "organizer2"},
                  {"organizer_id": "Organizer"}, {"meeting_id": meeting.id.lower()},
                  {"meeting_id": "second-id"}):  # fmt: skip
        assert repository.find_by_id(**{**found, **other}) is None, other
    built = _built_meeting()
    assert built.id is not None
    repository.add_if_absent(keys(tenant_id="tenant", organizer_id="organizer"), built)
    _same(
        repository.find_by_id(tenant_id="tenant", organizer_id="organizer", meeting_id=built.id),
        built,
    )
    # Two meetings of one organizer with one id (a channel meeting's id repeats within a
    # millisecond): the first stored is the one found.
    later = attrs.evolve(_built_meeting(), subject="stored later")
    repository.add_if_absent(keys(tenant_id="tenant", organizer_id="organizer"), later)
    _same(
        repository.find_by_id(tenant_id="tenant", organizer_id="organizer", meeting_id=built.id),
        built,
    )


RACE_SECONDS = 120.0
"""How long the racing threads of one round may take in all before the check fails."""


def check_add_if_absent_is_atomic_across_threads(
    repository: MeetingRepository, keys: Keys, threads: int = 8, rounds: int = 5, per_round: int = 3
) -> None:
    """Racing threads on a few keys: exactly one add per key wins, every thread gets the
    winner's meeting, and the store holds it (R-RES-4)."""
    for _ in range(rounds):
        _race(repository, [keys() for _ in range(per_round)], threads)


def _race(repository: MeetingRepository, keys: list[MeetingKey], threads: int) -> None:
    barrier = threading.Barrier(threads)
    answers: list[list[tuple[OnlineMeeting, bool]]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def race(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            for key in keys:
                answers[index].append(repository.add_if_absent(key, sample_meeting(f"t{index}")))
        except BaseException as error:
            errors.append(error)

    # Daemon threads and one deadline for them all: a store that deadlocks fails the check
    # in RACE_SECONDS, and its stuck threads do not keep the process from exiting.
    workers = [threading.Thread(target=race, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + RACE_SECONDS
    for worker in workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = sum(worker.is_alive() for worker in workers)
    assert not stuck, (
        f"{stuck} of {threads} racing threads had not finished after {RACE_SECONDS:g} s "
        "(a deadlock, or a lock never released?)"
    )
    assert errors == []
    for position, key in enumerate(keys):
        results = [answers[i][position] for i in range(threads)]
        winners = [meeting for meeting, created in results if created]
        assert len(winners) == 1, f"{len(winners)} adds of {key} said they created it"
        assert all(meeting == winners[0] for meeting, _ in results)
        _same(repository.get(key), winners[0])


# --- the two ways to run them -------------------------------------------------------------------


def check_repository(
    make_repository: Callable[[], MeetingRepository],
    *,
    threads: int = 8,
    race_rounds: int = 5,
    race_keys: int = 3,
    examples: int = 25,
) -> None:
    """Run every check of the contract, each on a fresh store from ``make_repository()``.

    A store with a ``close()`` method is closed after its check. ``threads``, ``race_rounds``
    and ``race_keys`` size the race; ``examples`` the Hypothesis round trip.

    Raises:
        AssertionError: the first check that failed, named, with its own message.
    """
    race = {"threads": threads, "rounds": race_rounds, "per_round": race_keys}
    runs: list[tuple[str, Callable[..., None], dict[str, Any]]] = [
        ("get of an absent key is None", check_get_of_an_absent_key_is_none, {}),
        ("add then get", check_add_then_get, {}),
        ("second add returns the first", check_second_add_returns_the_first_unchanged, {}),
        ("get_now answers as get", check_get_now_answers_as_get, {}),
        *((f"keys differ: {other}", check_keys_differ, {"other": other}) for other in OTHER_KEYS),
        ("library-built meeting", check_library_built_meeting_comes_back_exact, {}),
        ("any meeting", check_any_meeting_comes_back_exact, {"examples": examples}),
        ("find by id", check_find_by_id, {}),
        ("atomic across threads", check_add_if_absent_is_atomic_across_threads, race),
    ]
    for name, check, arguments in runs:
        repository = make_repository()
        try:
            check(repository, key_factory(), **arguments)
        except AssertionError as error:
            raise AssertionError(f"repository contract, {name}: {error}") from error
        except Exception as error:  # a store that raises breaks the promise as well
            raise AssertionError(
                f"repository contract, {name}: the store raised {type(error).__name__}: {error}"
            ) from error
        finally:
            close = getattr(repository, "close", None)
            if callable(close):
                close()


class RepositoryContract:
    """The ``MeetingRepository`` contract as pytest tests: get, add_if_absent, find_by_id, exact
    keys, exact meetings, and atomicity under real threads (R-RES-1, R-RES-4). Override
    ``threads`` and ``race_rounds`` to race harder."""

    threads = 8
    race_rounds = 5
    race_keys = 3

    @pytest.fixture
    def repository(self) -> MeetingRepository:
        """A fresh, empty store: every subclass must override this fixture."""
        raise NotImplementedError("a RepositoryContract subclass must provide `repository`")

    def test_get_of_an_absent_key_is_none(
        self, repository: MeetingRepository, meeting_keys: Keys
    ) -> None:
        check_get_of_an_absent_key_is_none(repository, meeting_keys)

    def test_add_then_get(self, repository: MeetingRepository, meeting_keys: Keys) -> None:
        check_add_then_get(repository, meeting_keys)

    def test_second_add_returns_the_first_unchanged(
        self, repository: MeetingRepository, meeting_keys: Keys
    ) -> None:
        check_second_add_returns_the_first_unchanged(repository, meeting_keys)

    def test_get_now_answers_as_get(
        self, repository: MeetingRepository, meeting_keys: Keys
    ) -> None:
        check_get_now_answers_as_get(repository, meeting_keys)

    @pytest.mark.parametrize("other", OTHER_KEYS)
    def test_keys_differ_by_tenant_organizer_and_external_id(
        self, repository: MeetingRepository, meeting_keys: Keys, other: dict[str, str]
    ) -> None:
        check_keys_differ(repository, meeting_keys, other)

    def test_library_built_meeting_comes_back_exact(
        self, repository: MeetingRepository, meeting_keys: Keys
    ) -> None:
        check_library_built_meeting_comes_back_exact(repository, meeting_keys)

    def test_any_meeting_comes_back_exact(
        self, repository: MeetingRepository, meeting_keys: Keys
    ) -> None:
        check_any_meeting_comes_back_exact(repository, meeting_keys)

    def test_find_by_id(self, repository: MeetingRepository, meeting_keys: Keys) -> None:
        check_find_by_id(repository, meeting_keys)

    def test_add_if_absent_is_atomic_across_threads(
        self, repository: MeetingRepository, meeting_keys: Keys
    ) -> None:
        check_add_if_absent_is_atomic_across_threads(
            repository, meeting_keys, self.threads, self.race_rounds, self.race_keys
        )
