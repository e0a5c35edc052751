"""Opening the SQLite store: what is refused untouched, what opens whatever state SQLite left it
in, and what an open that fails leaves behind (R-RES-5 where a failure must store nothing).

Every file here is a real SQLite file, made by real connections, and where a writer must die
mid-way, by real processes killed with SIGKILL.
"""

from __future__ import annotations

import gc
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from meeting_rules import MeetingKey, ServiceUnavailableError
from meeting_rules.adapters import SqliteMeetingRepository, UnusableStoreError
from meeting_rules.adapters.sqlite import APPLICATION_ID, SCHEMA_VERSION
from meeting_rules.adapters.sqlite_file import FileKind, examine
from meeting_rules.graph_json import meeting_from_json, meeting_to_storage
from tests.conftest import data_bytes

SEED = meeting_from_json(data_bytes("seed-example1-response.json"))
STORED = meeting_to_storage(SEED)
KEY = MeetingKey(tenant_id="t", organizer_id="o", external_id="0")
KILLS = int(os.environ.get("MEETING_RULES_KILLS", "12"))
"""Writers killed in ``test_store_opens_after_every_killed_checkpoint`` (more for a long run)."""


def run_python(code: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def read_and_close_in_another_process(path: Path) -> None:
    """Another process opens the store, reads it and closes its last connection (which would
    checkpoint and delete the log, were no one else using the file)."""
    run_python(
        """
        import sqlite3, sys
        other = sqlite3.connect(sys.argv[1])
        other.execute("SELECT count(*) FROM meetings").fetchone()
        other.close()
        """,
        str(path),
    )


def snapshot(path: Path) -> dict[str, bytes]:
    """The bytes of the file and of every file beside it that SQLite would use."""
    return {
        f.name: f.read_bytes()
        for f in path.parent.iterdir()
        if f.name.startswith(path.name) and f.is_file()
    }


def looks_empty_alone(path: Path) -> bool:
    """What a look at the main file only (no log) makes of it: an SQLite file with no schema."""
    probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return bool(probe.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0)
    finally:
        probe.close()


WAL_APP = """
    import os, signal, sqlite3, sys
    connection = sqlite3.connect(sys.argv[1], isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    connection.execute("CREATE TABLE notes (body TEXT)")
    connection.execute("INSERT INTO notes VALUES ('kept only in the log')")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_crashed_wal_application_is_refused_untouched(tmp_path: Path) -> None:
    """Another app's WAL database whose tables live only in its -wal (the app was killed before a
    checkpoint): refused, and its main, -wal and -shm files left byte for byte."""
    path = tmp_path / "other.sqlite3"
    result = run_python(WAL_APP, str(path), check=False)
    assert result.returncode == -signal.SIGKILL
    before = snapshot(path)
    assert {f"{path.name}-wal", f"{path.name}-shm"} <= set(before)
    assert looks_empty_alone(path)  # the main file alone says: nothing here
    assert examine(path).kind is FileKind.DATABASE
    assert examine(path).in_wal
    with pytest.raises(UnusableStoreError, match="another application's SQLite database"):
        SqliteMeetingRepository(path)
    assert snapshot(path) == before
    connection = sqlite3.connect(path)  # and SQLite itself still finds the app's row
    assert connection.execute("SELECT body FROM notes").fetchall() == [("kept only in the log",)]
    connection.close()


def test_running_wal_application_is_refused_untouched(tmp_path: Path) -> None:
    """The same with the other application still running, its connection open."""
    path = tmp_path / "running.sqlite3"
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("PRAGMA journal_mode = WAL")
        other.execute("PRAGMA wal_autocheckpoint = 0")
        other.execute("CREATE TABLE notes (body TEXT)")
        other.execute("INSERT INTO notes VALUES ('x')")
        before = snapshot(path)
        assert looks_empty_alone(path)
        with pytest.raises(UnusableStoreError):
            SqliteMeetingRepository(path)
        assert snapshot(path) == before
    finally:
        other.close()


def test_empty_file_beside_a_log_is_refused_untouched(tmp_path: Path) -> None:
    """An empty file with a -wal beside it: SQLite would delete the log, so it is not taken."""
    source = tmp_path / "source.sqlite3"
    run_python(WAL_APP, str(source), check=False)
    path = tmp_path / "empty.sqlite3"
    path.write_bytes(b"")
    Path(f"{path}-wal").write_bytes(Path(f"{source}-wal").read_bytes())
    before = snapshot(path)
    with pytest.raises(UnusableStoreError, match="write-ahead log"):
        SqliteMeetingRepository(path)
    assert snapshot(path) == before


def test_empty_wal_database_with_no_schema_in_its_log_becomes_a_store(tmp_path: Path) -> None:
    """A WAL database that holds nothing, in its main file or in its log, is taken over."""
    path = tmp_path / "blank.sqlite3"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode = WAL")
    other.close()
    with SqliteMeetingRepository(path) as store:
        assert store.add_if_absent(KEY, SEED)[1] is True
    with SqliteMeetingRepository(path) as store:
        assert store.get(KEY) == SEED


CUT_SHORT = """
    import os, resource, signal, sqlite3, sys
    path = sys.argv[1]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    limit = os.path.getsize(path) + 16 * 4096
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as error:
        print(error)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_store_opens_after_a_checkpoint_cut_short_by_a_file_size_limit(tmp_path: Path) -> None:
    """A checkpoint that failed half way (a file-size limit, as a full disk would) leaves the main
    file inconsistent until the log is replayed; the store opens with every meeting."""
    path = tmp_path / "m.sqlite3"
    SqliteMeetingRepository(path).close()
    run_python(  # 2000 meetings in the log only: the writer dies before any checkpoint
        """
        import os, signal, sqlite3, sys
        connection = sqlite3.connect(sys.argv[1], isolation_level=None)
        connection.execute("PRAGMA wal_autocheckpoint = 0")
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO meetings (tenant_id, organizer_id, external_id, meeting) "
            "VALUES ('t', 'o', ?, ?)",
            [(str(n), sys.argv[2]) for n in range(2000)],
        )
        connection.execute("COMMIT")
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        str(path),
        STORED.decode(),
        check=False,
    )
    result = run_python(CUT_SHORT, str(path), check=False)
    assert "disk I/O error" in result.stdout or "full" in result.stdout, result
    with SqliteMeetingRepository(path) as store:
        assert len(store) == 2000
        assert store.get(KEY) == SEED
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    connection.close()


KILLED_CHECKPOINTS = """
    import sqlite3, sys
    connection = sqlite3.connect(sys.argv[1], isolation_level=None)
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    stored, number = sys.argv[2], int(sys.argv[3])
    while True:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT INTO meetings (tenant_id, organizer_id, external_id, meeting) "
            "VALUES ('t', 'o', ?, ?)",
            [(str(n), stored) for n in range(number, number + 400)],
        )
        connection.execute("COMMIT")
        number += 400
        print(number, flush=True)  # acknowledged: committed and synced
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
"""
KILLED_CREATES = """
    import sys
    from meeting_rules import MeetingKey
    from meeting_rules.adapters import SqliteMeetingRepository
    store, stored = SqliteMeetingRepository(sys.argv[1]), sys.argv[2]
    from meeting_rules.graph_json import meeting_from_storage
    meeting, number = meeting_from_storage(stored), int(sys.argv[3])
    while True:
        store.add_if_absent(MeetingKey(tenant_id="t", organizer_id="o", external_id=str(number)),
                            meeting)
        number += 1
        print(number, flush=True)  # acknowledged: add_if_absent returned
"""


def test_store_opens_after_every_killed_checkpoint(tmp_path: Path) -> None:
    """R-RES-5: writers killed with SIGKILL at random moments, inside checkpoints they run
    themselves and inside the store's own creates (whose checkpoints SQLite runs every 1000
    pages): after each kill the store opens, every acknowledged meeting is there, and SQLite
    finds the file sound. ``MEETING_RULES_KILLS`` sets the number of kills for a long run."""
    path = tmp_path / "m.sqlite3"
    SqliteMeetingRepository(path).close()
    rng = random.Random(7)
    acknowledged = kills = 0
    deadline = time.monotonic() + max(90, 4 * KILLS)
    while kills < KILLS and time.monotonic() < deadline:
        script = (KILLED_CHECKPOINTS, KILLED_CREATES)[kills % 2]
        writer = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script), str(path), STORED.decode(),
             str(acknowledged)],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert writer.stdout is not None
        writer.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.3))
        writer.send_signal(signal.SIGKILL)
        output, _ = writer.communicate(timeout=60)
        assert writer.returncode == -signal.SIGKILL
        kills += 1
        lines = output.split()
        if lines:
            acknowledged = max(acknowledged, int(lines[-1]))
        with SqliteMeetingRepository(path) as store:
            count = len(store)
            assert count >= acknowledged, (kills, count, acknowledged)
            for number in (0, acknowledged - 1):
                key = MeetingKey(tenant_id="t", organizer_id="o", external_id=str(number))
                assert store.get(key) == SEED, (kills, number)
            acknowledged = count
    assert kills >= min(KILLS, 5)
    print(f"{kills} writers killed, {acknowledged} meetings acknowledged and found")
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    connection.close()


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_failed_open_keeps_no_connection(tmp_path: Path) -> None:
    """A store refused after its connection was made closes it at once, not when the cyclic
    garbage collector runs."""
    path = tmp_path / "half.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    connection.commit()
    connection.close()
    gc.collect()
    gc.disable()
    try:
        before = open_descriptors()
        for _ in range(20):
            with pytest.raises(UnusableStoreError, match="damaged"):
                SqliteMeetingRepository(path)
        assert open_descriptors() == before
    finally:
        gc.enable()


def test_busy_at_open_is_a_503_with_retry_after(tmp_path: Path) -> None:
    """R-RES-5: a store to set up while another process holds the write lock: 503, nothing
    written, and the open succeeds once the lock is free."""
    path = tmp_path / "blank.sqlite3"
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ServiceUnavailableError) as info:
            SqliteMeetingRepository(path, busy_timeout=0.05)
        assert info.value.status == 503
        assert info.value.retry_after_seconds == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with SqliteMeetingRepository(path) as store:
        assert store.add_if_absent(KEY, SEED)[1] is True


def test_missing_directory_is_an_unusable_store(tmp_path: Path) -> None:
    """A path in a directory that does not exist: refused at open, nothing made."""
    path = tmp_path / "no-such-dir" / "m.sqlite3"
    with pytest.raises(UnusableStoreError, match="there is no directory"):
        SqliteMeetingRepository(path)
    assert not path.parent.exists()


def test_opening_again_in_the_same_process_keeps_its_locks(tmp_path: Path) -> None:
    """Checking a file means opening and closing it, and closing drops every POSIX lock the
    process holds on it. A second store opened on a file this process already has open must not
    drop the first one's shared lock: without it, another process that closes its connection
    believes it is the last one and deletes the log under the first store."""
    path = tmp_path / "m.sqlite3"
    first = SqliteMeetingRepository(path)
    first.add_if_absent(KEY, SEED)
    wal = Path(f"{path}-wal")
    assert wal.exists()
    second = SqliteMeetingRepository(path)
    try:
        read_and_close_in_another_process(path)
        assert wal.exists()  # still in use here: not checkpointed away and deleted
        assert first.get(KEY) == SEED
        assert second.get(KEY) == SEED
    finally:
        second.close()
        first.close()


def test_a_torn_frame_ends_the_log_as_sqlite_reads_it(tmp_path: Path) -> None:
    """Only frames whose salts and running checksum hold count, up to the last commit: a log whose
    first frame is torn holds nothing, for SQLite and for the check alike."""
    path = tmp_path / "other.sqlite3"
    run_python(WAL_APP, str(path), check=False)
    assert examine(path).kind is FileKind.DATABASE
    wal = Path(f"{path}-wal")
    data = bytearray(wal.read_bytes())
    data[32 + 24 + 200] ^= 0xFF  # a byte of the first frame's page
    wal.write_bytes(bytes(data))
    assert examine(path).kind is FileKind.NEW
    copy = tmp_path / "copy.sqlite3"  # SQLite agrees (on a copy, which it may write)
    copy.write_bytes(path.read_bytes())
    Path(f"{copy}-wal").write_bytes(bytes(data))
    connection = sqlite3.connect(copy)
    assert connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
    connection.close()


def test_a_link_to_a_wal_application_is_refused_untouched(tmp_path: Path) -> None:
    """The log beside the real file is read, as SQLite reads it, not one beside the link."""
    real = tmp_path / "real"
    real.mkdir()
    target = real / "other.sqlite3"
    run_python(WAL_APP, str(target), check=False)
    link = tmp_path / "link.sqlite3"
    link.symlink_to(target)
    before = snapshot(target)
    with pytest.raises(UnusableStoreError, match="another application's SQLite database"):
        SqliteMeetingRepository(link)
    assert snapshot(target) == before


HOT_JOURNAL_APP = """
    import shutil, sqlite3, sys
    path = sys.argv[1]
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("CREATE TABLE notes (body TEXT)")
    connection.execute("INSERT INTO notes VALUES ('restored by the journal')")
    connection.execute("BEGIN")
    connection.execute("DROP TABLE notes")
    shutil.copy(path + "-journal", path + "-saved")  # the journal as a crash would leave it
    connection.execute("COMMIT")
    connection.close()
    shutil.move(path + "-saved", path + "-journal")
"""


def test_a_hot_journal_that_restores_tables_is_refused_untouched(tmp_path: Path) -> None:
    """A main file that looks empty beside a hot journal whose rollback brings another
    application's tables back: judged by the journal's page 1, refused, nothing rolled back."""
    path = tmp_path / "other.sqlite3"
    run_python(HOT_JOURNAL_APP, str(path))
    assert looks_empty_alone(path)
    copy = tmp_path / "copy.sqlite3"  # SQLite itself, on a copy, rolls the table back
    copy.write_bytes(path.read_bytes())
    Path(f"{copy}-journal").write_bytes(Path(f"{path}-journal").read_bytes())
    connection = sqlite3.connect(copy)
    assert connection.execute("SELECT body FROM notes").fetchall() == [("restored by the journal",)]
    connection.close()
    before = snapshot(path)
    assert examine(path).kind is FileKind.DATABASE
    with pytest.raises(UnusableStoreError, match="another application's SQLite database"):
        SqliteMeetingRepository(path)
    assert snapshot(path) == before


def test_files_that_are_not_regular_are_refused_at_once(tmp_path: Path) -> None:
    """A FIFO (whose open would block for ever), a device, a FIFO posing as the log."""
    fifo = tmp_path / "pipe.sqlite3"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def open_it(path: Path) -> None:
        try:
            SqliteMeetingRepository(path)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=open_it, args=(fifo,), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert isinstance(outcome[0], UnusableStoreError)
    assert "not a regular file" in outcome[0].message
    with pytest.raises(UnusableStoreError, match="not a regular file"):
        SqliteMeetingRepository("/dev/null")
    assert not Path("/dev/null-journal").exists()
    beside = tmp_path / "m.sqlite3"
    SqliteMeetingRepository(beside).close()
    os.mkfifo(f"{beside}-wal")
    with pytest.raises(UnusableStoreError, match=r"m\.sqlite3-wal beside it is not a regular"):
        SqliteMeetingRepository(beside)


def test_the_same_file_by_another_path_keeps_its_locks(tmp_path: Path) -> None:
    """The process knows a file by its device and inode too: a store opened on it by another
    name (a hard link here; a bind mount alike) does not read it again and drop the first
    store's locks."""
    path = tmp_path / "m.sqlite3"
    first = SqliteMeetingRepository(path)
    first.add_if_absent(KEY, SEED)
    wal = Path(f"{path}-wal")
    other = tmp_path / "other-name.sqlite3"
    os.link(path, other)
    SqliteMeetingRepository(other).close()
    try:
        read_and_close_in_another_process(path)
        assert wal.exists()
        assert first.get(KEY) == SEED
    finally:
        first.close()


def test_a_store_left_out_of_wal_mode_is_put_back(tmp_path: Path) -> None:
    """A process stopped between making the schema and switching to WAL: the next open does it."""
    path = tmp_path / "m.sqlite3"
    SqliteMeetingRepository(path).close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    SqliteMeetingRepository(path).close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()
