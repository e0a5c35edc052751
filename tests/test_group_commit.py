"""``adapters.group_commit``: writes of many threads in shared transactions (R-RES-4, R-RES-5),
with real threads, and through the SQLite store."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from meeting_rules import ServiceUnavailableError
from meeting_rules.adapters import SqliteMeetingRepository
from meeting_rules.adapters.group_commit import GroupCommit
from meeting_rules.adapters.sqlite_schema import insert
from meeting_rules.graph_json import meeting_to_storage
from meeting_rules.meeting import MeetingKey
from meeting_rules.testing.contract import sample_meeting


class Recorder:
    """A ``commit`` that records each batch; it holds the first one until ``go`` is set, so that
    the other writers queue up behind it."""

    def __init__(self, *, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.go = threading.Event()
        self.fail = fail

    def __call__(self, batch: Sequence[int]) -> list[int]:
        self.batches.append(list(batch))
        if len(self.batches) == 1:
            assert self.go.wait(10)
        if self.fail and len(self.batches) == 2:
            raise OSError("the disk is full")
        return [item * 10 for item in batch]


def key_of(external_id: str) -> MeetingKey:
    return MeetingKey(tenant_id="t", organizer_id="o", external_id=external_id)


def run_writers(
    commits: GroupCommit[int, int], count: int
) -> tuple[dict[int, object], list[threading.Thread]]:
    """Writers 0..count-1 on threads of their own, 0 first; their answers or failures."""
    answers: dict[int, object] = {}

    def write(item: int) -> None:
        try:
            answers[item] = commits.write(item, timeout=10)
        except Exception as error:
            answers[item] = error

    first = threading.Thread(target=write, args=(0,))
    first.start()
    wait_for(lambda: commits._leading)  # the first leads, and is held in its commit
    others = [threading.Thread(target=write, args=(n,)) for n in range(1, count)]
    for thread in others:
        thread.start()
    return answers, [first, *others]


def wait_for(condition: Callable[[], bool]) -> None:
    """Bounded: ten seconds at most."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(10)


def test_r_res_4_writers_that_wait_share_one_transaction_each_with_its_own_answer() -> None:
    recorder = Recorder()
    commits = GroupCommit(recorder)
    answers, threads = run_writers(commits, 8)
    wait_for(lambda: len(commits._waiting) == 7)
    recorder.go.set()
    join(threads)
    assert recorder.batches[0] == [0]
    assert sorted(recorder.batches[1]) == list(range(1, 8))  # seven writes, one transaction
    assert len(recorder.batches) == 2
    assert answers == {n: n * 10 for n in range(8)}


def test_r_res_5_a_failed_transaction_fails_every_write_of_its_batch_alone() -> None:
    recorder = Recorder(fail=True)
    commits = GroupCommit(recorder)
    answers, threads = run_writers(commits, 4)
    wait_for(lambda: len(commits._waiting) == 3)
    recorder.go.set()
    join(threads)
    assert answers[0] == 0
    assert all(isinstance(answers[n], OSError) for n in (1, 2, 3))
    assert commits.write(5, timeout=1) == 50  # the queue goes on after a failure


def test_a_write_no_transaction_took_in_time_is_withdrawn() -> None:
    recorder = Recorder()
    commits = GroupCommit(recorder)
    answers, threads = run_writers(commits, 1)
    wait_for(lambda: bool(recorder.batches))
    assert answers == {}  # the first is held in its commit
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        commits.write(1, timeout=0.1)
    assert 0.1 <= time.monotonic() - started < 5
    assert commits._waiting == []  # withdrawn: no later batch makes it
    recorder.go.set()
    join(threads)
    assert recorder.batches == [[0]]
    assert commits.write(2, timeout=1) == 20


def test_a_write_whose_own_outcome_is_a_failure_fails_alone() -> None:
    def commit(batch: Sequence[int]) -> list[int | Exception]:
        return [ValueError(f"row {n}") if n == 2 else n for n in batch]

    commits = GroupCommit(commit)
    assert commits.write(1, timeout=1) == 1
    with pytest.raises(ValueError, match="row 2"):
        commits.write(2, timeout=1)


def test_r_res_5_a_commit_that_answers_wrongly_fails_its_writes_and_hangs_none() -> None:
    recorder = Recorder()

    def short(batch: Sequence[int]) -> list[int]:
        return recorder(batch)[:-1]  # one outcome too few

    commits = GroupCommit(short)
    answers, threads = run_writers(commits, 4)
    wait_for(lambda: len(commits._waiting) == 3)
    recorder.go.set()
    join(threads)
    assert all(isinstance(answers[n], RuntimeError) for n in range(4))
    assert commits._leading is False


def test_an_interrupted_leader_keeps_its_interruption() -> None:
    def interrupted(batch: Sequence[int]) -> list[int]:
        raise KeyboardInterrupt

    commits = GroupCommit(interrupted)
    with pytest.raises(KeyboardInterrupt):
        commits.write(1, timeout=1)
    assert commits._leading is False


def test_r_res_4_sqlite_creates_of_many_threads_share_fsyncs_and_each_is_durable(
    tmp_path: Path,
) -> None:
    store = SqliteMeetingRepository(tmp_path / "m.sqlite3")
    batches: list[int] = []
    commit = store._commit

    def counted(batch: Sequence[object]) -> list[tuple[bool, bytes | None] | Exception]:
        batches.append(len(batch))
        time.sleep(0.01)  # a slow disk: the others queue meanwhile
        return commit(batch)  # type: ignore[arg-type]

    store._writing = (store._writing[0], GroupCommit(counted))
    keys = [
        MeetingKey(tenant_id="t", organizer_id="o", external_id=f"k{n % 12}") for n in range(48)
    ]
    created: list[bool] = []

    def create(key: MeetingKey) -> None:
        created.append(store.add_if_absent(key, sample_meeting(key.external_id))[1])

    threads = [threading.Thread(target=create, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(batches) == 48
    assert len(batches) < 48  # shared transactions
    assert created.count(True) == 12  # exactly one create per key (R-RES-4)
    store.close()
    reopened = SqliteMeetingRepository(tmp_path / "m.sqlite3")
    assert len(reopened) == 12
    for n in range(12):
        assert reopened.get(key_of(f"k{n}")) == sample_meeting(f"k{n}")
    reopened.close()


def test_r_res_5_a_row_sqlite_refuses_fails_alone_and_its_batch_commits(
    tmp_path: Path,
) -> None:
    store = SqliteMeetingRepository(tmp_path / "m.sqlite3")
    go = threading.Event()
    commit = store._commit
    seen: list[int] = []

    def held(batch: Sequence[object]) -> list[tuple[bool, bytes | None] | Exception]:
        seen.append(len(batch))
        if len(seen) == 1:
            assert go.wait(10)
        return commit(batch)  # type: ignore[arg-type]

    store._writing = (store._writing[0], GroupCommit(held))
    outcomes: dict[str, object] = {}

    def create(external_id: str) -> None:
        try:
            outcomes[external_id] = store.add_if_absent(key_of(external_id), sample_meeting())[1]
        except Exception as error:
            outcomes[external_id] = error

    first = threading.Thread(target=create, args=("first",))
    first.start()
    wait_for(lambda: seen == [1])
    others = [threading.Thread(target=create, args=(name,)) for name in ("good", "bad\ud800")]
    for thread in others:
        thread.start()
    wait_for(lambda: len(store._writes()._waiting) == 2)
    go.set()
    join([first, *others])
    assert seen == [1, 2]  # the good and the bad row in one transaction
    assert outcomes["first"] is True
    assert outcomes["good"] is True
    assert isinstance(outcomes["bad\ud800"], UnicodeEncodeError)  # SQLite cannot take the key
    assert len(store) == 2
    store.close()


@pytest.mark.parametrize("failure", [RuntimeError("after the insert"), KeyboardInterrupt()])
def test_r_res_5_a_lone_row_that_fails_after_its_insert_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    """A row alone in its transaction takes no savepoint: a failure after its INSERT reaches its
    writer and rolls the whole transaction back; the store works on."""
    store = SqliteMeetingRepository(tmp_path / "m.sqlite3")
    store.add_if_absent(key_of("before"), sample_meeting())
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)

    def inserted_then_failed(connection: sqlite3.Connection, *row: Any) -> object:
        assert insert(connection, *row) == (True, None)
        raise failure

    monkeypatch.setattr("meeting_rules.adapters.sqlite.insert", inserted_then_failed)
    with pytest.raises(type(failure)):
        store.add_if_absent(key_of("lost"), sample_meeting())
    monkeypatch.undo()
    assert not any(s.startswith(("SAVEPOINT", "RELEASE")) for s in statements)
    assert statements[0] == "BEGIN IMMEDIATE"
    assert statements[-1] == "ROLLBACK"
    assert store._connection().in_transaction is False
    assert store.add_if_absent(key_of("after"), sample_meeting())[1] is True
    store.close()
    reopened = SqliteMeetingRepository(tmp_path / "m.sqlite3")
    assert len(reopened) == 2
    assert reopened.get(key_of("lost")) is None
    reopened.close()


def test_r_res_5_a_row_whose_failure_undid_its_whole_transaction_fails_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of rows where one row's failure made SQLite roll back everything (a full disk):
    the batch fails with that failure, not with the savepoint it can no longer undo to."""
    store = SqliteMeetingRepository(tmp_path / "m.sqlite3")

    def disk_full_at_the_second(connection: sqlite3.Connection, *row: Any) -> object:
        if row[0][2] == "second":
            connection.execute("ROLLBACK")  # what SQLite does itself on SQLITE_FULL
            raise sqlite3.OperationalError("database or disk is full")
        return insert(connection, *row)

    monkeypatch.setattr("meeting_rules.adapters.sqlite.insert", disk_full_at_the_second)
    data = meeting_to_storage(sample_meeting())
    rows = [(("t", "o", name), data, None) for name in ("first", "second", "third")]
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        store._commit(rows)
    assert store._connection().in_transaction is False
    assert len(store) == 0
    store.close()


def test_an_unclosed_store_leaves_no_cycle_holding_its_file(tmp_path: Path) -> None:
    from meeting_rules.adapters import sqlite

    path = tmp_path / "m.sqlite3"
    store = SqliteMeetingRepository(path)
    store.add_if_absent(key_of("x"), sample_meeting())
    assert any(sqlite._OPEN_HERE.get(key) for key in sqlite._file_keys(path))
    del store  # no gc.collect(): dropped at once, as before the writers' queue
    assert not any(sqlite._OPEN_HERE.get(key) for key in sqlite._file_keys(path))


def test_r_res_5_a_busy_file_fails_the_whole_batch_and_stores_none(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    store = SqliteMeetingRepository(path, busy_timeout=0.2)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    failures: list[ServiceUnavailableError] = []

    def create(n: int) -> None:
        try:
            store.add_if_absent(key_of(f"k{n}"), sample_meeting())
        except ServiceUnavailableError as error:
            failures.append(error)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert len(failures) == 4
    assert all(error.retry_after_seconds == 1 for error in failures)
    assert len(store) == 0
    store.close()
