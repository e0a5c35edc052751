"""``SqliteMeetingRepository`` keeps the repository contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meeting_rules.adapters import SqliteMeetingRepository
from meeting_rules.testing import RepositoryContract


class TestSqliteRepository(RepositoryContract):
    """The contract on the SQLite store, in a fresh file (R-RES-1, R-RES-4)."""

    @pytest.fixture
    def repository(self, tmp_path: Path) -> Iterator[SqliteMeetingRepository]:
        with SqliteMeetingRepository(tmp_path / "meetings.sqlite3") as store:
            yield store
