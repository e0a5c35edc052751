"""A stateful model test: any sequence of createOrGet calls against a plain dict (R-RES-1..3)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from meeting_rules import (
    ApiVersion,
    Instant,
    MeetingKey,
    MeetingRepository,
    OnlineMeeting,
    Organizer,
    SeededIdFactory,
    SteppingClock,
    create_or_get,
)
from meeting_rules.adapters import InMemoryMeetingRepository, SqliteMeetingRepository
from meeting_rules.graph_json import dumps_meeting, parse_create_or_get
from meeting_rules.testing.strategies import instant_texts, texts

ORGANIZERS = [
    Organizer(tenant_id="t1", user_id="alice", upn="alice@contoso.com"),
    Organizer(tenant_id="t1", user_id="bob"),
    Organizer(tenant_id="t2", user_id="alice"),
]
EXTERNAL_IDS = ["standup", "Standup", "retro", "🎉"]


class CreateOrGetMachine(RuleBasedStateMachine):
    """``create_or_get`` on a real store behaves as a dict keyed by ``MeetingKey``."""

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[MeetingKey, OnlineMeeting] = {}
        self.clock = SteppingClock(Instant.parse("2020-01-01T00:00:00Z"), dt.timedelta(minutes=1))
        self.ids = SeededIdFactory(0)
        self.repository = self.open_store()

    def open_store(self) -> MeetingRepository:
        raise NotImplementedError

    @rule(
        organizer=st.sampled_from(ORGANIZERS),
        external_id=st.sampled_from(EXTERNAL_IDS),
        subject=st.none() | texts,
        start=st.none() | instant_texts(),
        version=st.sampled_from(["beta", "v1.0"]),
    )
    def call(
        self,
        organizer: Organizer,
        external_id: str,
        subject: str | None,
        start: tuple[Instant, str] | None,
        version: str,
    ) -> None:
        body: dict[str, object] = {"externalId": external_id, "subject": subject}
        if start is not None and start[0] < Instant.parse("9999-01-01T00:00:00Z"):
            body["startDateTime"] = start[1]
        request = parse_create_or_get(body, version=version)
        outcome = create_or_get(
            request,
            organizer=organizer,
            repository=self.repository,
            clock=self.clock,
            ids=self.ids,
            version=ApiVersion(version),
        )
        key = MeetingKey(
            tenant_id=organizer.tenant_id, organizer_id=organizer.user_id, external_id=external_id
        )
        if key in self.model:
            assert outcome.status == 200
            assert outcome.meeting == self.model[key]
            assert dumps_meeting(outcome.meeting) == dumps_meeting(self.model[key])
        else:
            assert outcome.status == 201
            assert outcome.mismatches == ()
            assert outcome.meeting.external_id == external_id
            assert outcome.meeting.subject == subject
            self.model[key] = outcome.meeting

    @invariant()
    def store_holds_the_model(self) -> None:
        for key, meeting in self.model.items():
            assert self.repository.get(key) == meeting
        assert len(self.repository) == len(self.model)  # type: ignore[arg-type]


class InMemoryMachine(CreateOrGetMachine):
    def open_store(self) -> MeetingRepository:
        return InMemoryMeetingRepository()


class SqliteMachine(CreateOrGetMachine):
    def open_store(self) -> MeetingRepository:
        self.directory = Path(tempfile.mkdtemp(prefix="meeting-rules-"))
        self.path = self.directory / "meetings.sqlite3"
        return SqliteMeetingRepository(self.path)

    @rule()
    def reopen(self) -> None:
        """Closing and opening the file again changes nothing."""
        self.repository.close()  # type: ignore[attr-defined]
        self.repository = SqliteMeetingRepository(self.path)

    def teardown(self) -> None:
        self.repository.close()  # type: ignore[attr-defined]
        shutil.rmtree(self.directory, ignore_errors=True)


SETTINGS = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestInMemoryCreateOrGet = SETTINGS(InMemoryMachine).TestCase
TestSqliteCreateOrGet = SETTINGS(SqliteMachine).TestCase
