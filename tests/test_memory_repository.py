"""``InMemoryMeetingRepository`` keeps the repository contract."""

from __future__ import annotations

import pytest

from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.testing import RepositoryContract


class TestInMemoryRepository(RepositoryContract):
    """The contract on the in-memory store (R-RES-1, R-RES-4)."""

    @pytest.fixture
    def repository(self) -> InMemoryMeetingRepository:
        return InMemoryMeetingRepository()
