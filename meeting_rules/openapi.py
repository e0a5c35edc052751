"""The OpenAPI 3.1 document of the served routes, made from the value classes' Graph members.

The meeting's schema of each version is written from the same member tables the JSON layer reads
and writes (``_members.graph_members``), so the document cannot drift from the answers. Objects
are open (``additionalProperties``), as Graph's open types are: unknown members are kept and
written back (R-JSON-4). The createOrGet body's schema names the members that have an effect;
every other member is allowed (R-BODY-3, where the strict setting is off).
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

from ._members import GraphObject, graph_members
from .enums import ApiVersion
from .errors import (
    BadRequestError,
    ForbiddenError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    RequestTimeoutError,
    RequestTooLargeError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
    UnprocessableEntityError,
)
from .instant import Instant
from .meeting import OnlineMeeting

__all__ = ["openapi_document"]

_ERRORS = (
    BadRequestError,
    UnauthorizedError,
    ForbiddenError,
    NotFoundError,
    MethodNotAllowedError,
    RequestTimeoutError,
    RequestTooLargeError,
    UnprocessableEntityError,
    TooManyRequestsError,
    InternalServerError,
    ServiceUnavailableError,
)
_JSON = "application/json"


def _name(cls: type[Any], version: ApiVersion) -> str:
    return f"{cls.__name__}.{version.value}"


def _schema(kind: Any, version: ApiVersion, found: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a member's Python type (nullable where the type admits None)."""
    arguments = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        inner = [a for a in arguments if a is not type(None)]
        assert len(inner) == 1, kind
        return {"anyOf": [_schema(inner[0], version, found), {"type": "null"}]}
    if typing.get_origin(kind) is tuple:
        return {"type": "array", "items": _schema(arguments[0], version, found)}
    if kind is str or (isinstance(kind, type) and issubclass(kind, enum.Enum)):
        return {"type": "string"}
    if kind is bool:
        return {"type": "boolean"}
    if kind is Instant:
        return {"type": "string", "format": "date-time"}
    if not (isinstance(kind, type) and issubclass(kind, GraphObject)):
        raise TypeError(f"no JSON Schema for {kind!r}")
    name = _name(kind, version)
    if name not in found:
        found[name] = {}  # a placeholder while its members are written
        properties = {
            m.name: _schema(m.type, version, found)
            for m in graph_members(kind)
            if version in m.versions
        }
        found[name] = {"type": "object", "properties": properties, "additionalProperties": True}
    return {"$ref": f"#/components/schemas/{name}"}


def _body_schema() -> dict[str, Any]:
    time = {"type": ["string", "null"]}
    return {
        "type": "object",
        "required": ["externalId"],
        "properties": {
            "externalId": {"type": "string"},
            "subject": {"type": ["string", "null"]},
            "startDateTime": time,
            "endDateTime": time,
            "participants": {"type": ["object", "null"]},
            "chatInfo": {"type": ["object", "null"]},
        },
        "additionalProperties": True,
    }


def _error_schema() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "innerError"],
                "properties": {
                    "code": text,
                    "message": text,
                    "target": text,
                    "innerError": {
                        "type": "object",
                        "required": ["date", "request-id", "client-request-id"],
                        "properties": {"date": text, "request-id": text, "client-request-id": text},
                    },
                },
            }
        },
    }


def _response(description: str, ref: str, headers: tuple[str, ...] = ()) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }
    if headers:
        answer["headers"] = {name: {"schema": {"type": "string"}} for name in headers}
    return answer


def _errors() -> dict[str, Any]:
    answers = {}
    for error in _ERRORS:
        retry = ("Retry-After",) if error in (TooManyRequestsError, ServiceUnavailableError) else ()
        answers[str(error.status)] = _response(
            f"{error.__name__}: Graph's error body", "GraphError", retry
        )
    return answers


def _parameters(user: bool, meeting: bool) -> list[dict[str, Any]]:
    names = (["userId"] if user else []) + (["meetingId"] if meeting else [])
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for n in names
    ]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of createOrGet and the read-back, under ``/v1.0`` and ``/beta``."""
    schemas: dict[str, Any] = {"GraphError": _error_schema()}
    paths: dict[str, Any] = {}
    for version in ApiVersion:
        meeting = _schema(OnlineMeeting, version, schemas)["$ref"].rsplit("/", 1)[1]
        body = f"createOrGetBody.{version.value}"
        schemas[body] = _body_schema()
        for user in (False, True):
            base = f"/{version.value}" + ("/users/{userId}" if user else "/me")
            paths[f"{base}/onlineMeetings/createOrGet"] = {
                "post": {
                    "operationId": f"createOrGet.{'users' if user else 'me'}.{version.value}",
                    "summary": "Create an online meeting with an externalId, or get it",
                    "parameters": _parameters(user, meeting=False),
                    "requestBody": {
                        "required": True,
                        "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{body}"}}},
                    },
                    "responses": {
                        "201": _response("Created", meeting, ("Location",)),
                        "200": _response("The meeting stored under this key", meeting),
                        **_errors(),
                    },
                }
            }
            paths[f"{base}/onlineMeetings/{{meetingId}}"] = {
                "get": {
                    "operationId": f"getOnlineMeeting.{'users' if user else 'me'}.{version.value}",
                    "summary": "Read back a stored online meeting by its id",
                    "parameters": _parameters(user, meeting=True),
                    "responses": {"200": _response("The meeting", meeting), **_errors()},
                }
            }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "meeting_rules: Microsoft Graph onlineMeeting createOrGet",
            "version": "1",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
