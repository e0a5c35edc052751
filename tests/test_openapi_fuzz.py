"""schemathesis against ``/openapi.json`` and the ASGI app: generated requests of every route
(valid and invalid bodies, any path parameters, with a caller's token) never meet a 500 and
never get an answer the document does not declare (status, media type, body schema)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.asgi import create_app
from tests.serving import callers

APP = create_app(repository=InMemoryMeetingRepository(), directory=callers())
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_r_json_5_no_500_and_no_answer_outside_the_document(case: Any) -> None:
    token = "app" if "/users/" in case.path else "alice"
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
