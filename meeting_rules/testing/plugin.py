"""The pytest plugin (entry point ``pytest11``): fixtures the repository contract uses, so that a
project needs nothing but its ``RepositoryContract`` subclass."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from ..meeting import MeetingKey

__all__ = ["key_factory", "meeting_keys"]

_FRESH = itertools.count()


@pytest.fixture
def meeting_keys() -> Callable[..., MeetingKey]:
    """A factory of keys no other call of it has made in this process (unless asked for one)."""
    return key_factory()


def key_factory() -> Callable[..., MeetingKey]:
    """A factory of keys no other call of any factory has made in this process; a part given
    (``tenant_id=``, ``organizer_id=``, ``external_id=``) is used as it is."""

    def make(
        *,
        tenant_id: str = "tenant",
        organizer_id: str = "organizer",
        external_id: str | None = None,
    ) -> MeetingKey:
        return MeetingKey(
            tenant_id=tenant_id,
            organizer_id=organizer_id,
            external_id=external_id if external_id is not None else f"meeting-{next(_FRESH)}",
        )

    return make
