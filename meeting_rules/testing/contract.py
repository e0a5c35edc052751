"""``RepositoryContract``: the promises of the ``MeetingRepository`` port, as a pytest class.

Subclass it in a test module and give it a ``repository`` fixture that returns a fresh, empty
store; every test below then runs against that store::

    class TestMyStore(RepositoryContract):
        @pytest.fixture
        def repository(self, tmp_path):
            return MyStore(tmp_path / "db")

The ``meeting_keys`` fixture comes from this package's pytest plugin, loaded by its entry point.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

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
from ..ports import MeetingRepository
from .strategies import meetings

__all__ = ["RepositoryContract", "sample_meeting"]

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


class RepositoryContract:
    """The ``MeetingRepository`` contract: get, add_if_absent, exact keys, exact meetings, and
    atomicity under real threads (R-RES-1, R-RES-4). Override ``threads`` and ``race_rounds`` to
    race harder."""

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
        """A key never added gives ``None``."""
        assert repository.get(meeting_keys()) is None

    def test_add_then_get(self, repository: MeetingRepository, meeting_keys: Keys) -> None:
        """The first add under a key stores the meeting and returns it with ``True``."""
        key, meeting = meeting_keys(), sample_meeting()
        stored, created = repository.add_if_absent(key, meeting)
        assert created is True
        _same(stored, meeting)
        _same(repository.get(key), meeting)

    def test_second_add_returns_the_first_unchanged(
        self, repository: MeetingRepository, meeting_keys: Keys
    ) -> None:
        """A second add under the key stores nothing and returns the first meeting, ``False``."""
        key, first, second = meeting_keys(), sample_meeting("first"), sample_meeting("second")
        repository.add_if_absent(key, first)
        stored, created = repository.add_if_absent(key, second)
        assert created is False
        _same(stored, first)
        _same(repository.get(key), first)

    @pytest.mark.parametrize(
        "other",
        [
            {"tenant_id": "Tenant"},
            {"tenant_id": "tenant2"},
            {"organizer_id": "Organizer"},
            {"external_id": "Standup"},
            {"external_id": "standup "},
            {"external_id": "stand\u00fcp"},
            {"external_id": "standu\u0308p"},
            {"external_id": "\U0001f389 standup"},
        ],
    )
    def test_keys_differ_by_tenant_organizer_and_external_id(
        self, repository: MeetingRepository, meeting_keys: Keys, other: dict[str, str]
    ) -> None:
        """Tenant, organizer and externalId each count, compared exactly: case, spaces and
        Unicode normalisation forms make other keys (R-RES-1)."""
        base = {"tenant_id": "tenant", "organizer_id": "organizer", "external_id": "standup"}
        key, other_key = meeting_keys(**base), meeting_keys(**{**base, **other})
        repository.add_if_absent(key, sample_meeting("one"))
        assert repository.get(other_key) is None
        stored, created = repository.add_if_absent(other_key, sample_meeting("two"))
        assert created is True
        assert stored.subject == "two"
        _same(repository.get(key), sample_meeting("one"))

    def test_library_built_meeting_comes_back_exact(
        self, repository: MeetingRepository, meeting_keys: Keys
    ) -> None:
        """A meeting in the default layout comes back equal, to 100 ns, writing the same JSON."""
        key, meeting = meeting_keys(), _built_meeting()
        repository.add_if_absent(key, meeting)
        _same(repository.get(key), meeting)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def test_any_meeting_comes_back_exact(
        self, repository: MeetingRepository, meeting_keys: Keys, data: st.DataObject
    ) -> None:
        """Any meeting, unknown members and all, comes back equal and writes the same JSON."""
        meeting = data.draw(meetings(version=data.draw(st.sampled_from(list(ApiVersion)))))
        key = meeting_keys()
        assert repository.add_if_absent(key, meeting)[1] is True
        _same(repository.get(key), meeting)

    def test_add_if_absent_is_atomic_across_threads(
        self, repository: MeetingRepository, meeting_keys: Keys
    ) -> None:
        """Racing threads on a few keys: exactly one add per key wins, every thread gets the
        winner's meeting, and the store holds it (R-RES-4)."""
        for _ in range(self.race_rounds):
            keys = [meeting_keys() for _ in range(self.race_keys)]
            barrier = threading.Barrier(self.threads)
            answers: list[list[tuple[OnlineMeeting, bool]]] = [[] for _ in range(self.threads)]
            errors: list[BaseException] = []

            def race(
                index: int,
                keys: list[MeetingKey] = keys,
                barrier: Any = barrier,
                answers: list[list[tuple[OnlineMeeting, bool]]] = answers,
                errors: list[BaseException] = errors,
            ) -> None:
                try:
                    barrier.wait(timeout=60)
                    for key in keys:
                        mine = sample_meeting(f"thread {index}")
                        answers[index].append(repository.add_if_absent(key, mine))
                except BaseException as error:
                    errors.append(error)

            workers = [threading.Thread(target=race, args=(i,)) for i in range(self.threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=120)
            assert errors == []
            for position, key in enumerate(keys):
                results = [answers[i][position] for i in range(self.threads)]
                winners = [meeting for meeting, created in results if created]
                assert len(winners) == 1, f"{len(winners)} adds of {key} said they created it"
                assert all(meeting == winners[0] for meeting, _ in results)
                _same(repository.get(key), winners[0])
