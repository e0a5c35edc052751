"""Shared fixtures and Hypothesis profiles.

Profiles, picked by ``HYPOTHESIS_PROFILE``: ``default`` (CI and README's test command),
``quick`` (50 examples a property: CI's second run, on the lowest versions, whose point is that
they install and work, the depth being the first run's) and ``thorough`` (at least 10,000
examples a property, for fuzzing before a release).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator

from meeting_rules import MeetingRepository
from meeting_rules.adapters import InMemoryMeetingRepository, SqliteMeetingRepository

pytest_plugins = ["pytester"]

DATA = Path(__file__).parent / "data"

settings.register_profile(
    "default", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "quick", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def data_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


def data_json(name: str) -> Any:
    return json.loads(data_bytes(name))


def schema_validator(name: str) -> Draft202012Validator:
    schema = data_json(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


MEETING_SCHEMAS = {
    "beta": schema_validator("graph-onlinemeeting.beta.schema.json"),
    "v1.0": schema_validator("graph-onlinemeeting.v1.schema.json"),
}
BODY_SCHEMAS = {
    "beta": schema_validator("graph-createorget-body.beta.schema.json"),
    "v1.0": schema_validator("graph-createorget-body.v1.schema.json"),
}
ERROR_SCHEMA = schema_validator("graph-odata-error.schema.json")


@pytest.fixture(params=["beta", "v1.0"])
def version(request: pytest.FixtureRequest) -> str:
    """Each Graph version in turn."""
    return str(request.param)


@pytest.fixture(params=["memory", "sqlite"])
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MeetingRepository]:
    """A fresh, empty store of each kind in turn."""
    if request.param == "memory":
        yield InMemoryMeetingRepository()
    else:
        with SqliteMeetingRepository(tmp_path / "meetings.sqlite3") as store:
            yield store


@pytest.fixture(scope="session")
def server() -> Iterator[Any]:
    """One real PostgreSQL server for the test session (tests/postgres.py), started when a test
    first asks for it; each test makes schemas of its own."""
    from tests.postgres import server_or_skip

    started = server_or_skip()
    try:
        yield started
    finally:
        started.stop()
