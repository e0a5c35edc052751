"""Graph JSON in and out: the createOrGet body, the onlineMeeting body, the error body (R-JSON-*).

This module is the public face of the JSON layer; each decision lives in one module behind it:

- ``json_text``: bytes and text to a decoded object and back (size limit, UTF-8, duplicates).
- ``json_paths``: JSON paths and ``MemberError``, the defect that names its member (R-BODY-6).
- ``json_forms``: the forms an object takes (a response, a request's objects, each version's
  answer, the store's form), as policies the generated code follows.
- ``object_reader`` and ``object_writer``: Graph objects from and to JSON values, a function
  generated per class and form (``_codegen``).
- ``request_body``: the createOrGet body's rules and its reader.

The wire decisions:

- Member names are Graph's camelCase (R-JSON-1); enum values Graph's strings, read ignoring case
  (R-BODY-7); members after ``unknownFutureValue`` are written as ``unknownFutureValue`` unless
  ``include_unknown_enum_members`` (R-JSON-3).
- Timestamps are ``Instant``: read per R-TIME-5, written in Graph's 7-digit UTC form (R-TIME-6).
- Every object read keeps its member order and its unknown members (R-JSON-4); an object the library
  built is written in Graph's default layout, unset members as ``null`` and empty collections as
  ``[]`` (R-JSON-2), beta with ``producers``/``contributors``, v1.0 with ``expiryDateTime``.
- Of several defects, the first met is reported: in a createOrGet body, in document order (an end
  before the start as soon as both are read, a missing ``externalId`` once all is read); in an
  onlineMeeting body, in the order of the class's members, then its unknown members.
- Bodies are UTF-8 JSON objects; duplicate member names, ``NaN``/``Infinity``, numbers beyond a
  double, ``NUL`` and lone surrogates in kept strings, and nesting beyond ``MAX_DEPTH`` are refused.
- Every defect is a ``BadRequestError`` whose ``target`` is the member's JSON path
  (``participants.attendees[0].upn``), ``None`` when the body as a whole is at fault (R-BODY-6).
"""

from __future__ import annotations

from ._members import GraphObject, JsonValue, graph_members
from .enums import ApiVersion
from .errors import GraphError
from .instant import Instant
from .json_forms import RESPONSE, STORAGE, Form, wire
from .json_paths import MemberError, json_path
from .json_text import MAX_DEPTH, Body, decode, dumps_json
from .meeting import OnlineMeeting
from .object_reader import reader
from .object_writer import writer
from .request_body import parse_create_or_get, request_to_json
from .settings import DEFAULT_MAX_BODY_BYTES

__all__ = [
    "IGNORED_MEMBERS_ANNOTATION",
    "MAX_DEPTH",
    "JsonValue",
    "dumps_json",
    "dumps_meeting",
    "error_to_json",
    "json_path",
    "meeting_from_json",
    "meeting_from_storage",
    "meeting_to_json",
    "meeting_to_storage",
    "member_names",
    "parse_create_or_get",
    "request_to_json",
]

IGNORED_MEMBERS_ANNOTATION = "@meetingRules.ignoredMembers"
"""The instance annotation under which the ``validate`` command lists ignored members."""


# --- the onlineMeeting body ---------------------------------------------------------------------


def member_names(cls: type[GraphObject]) -> tuple[str, ...]:
    """The JSON names of the members a Graph class models, in Graph's default layout."""
    return tuple(member.name for member in graph_members(cls))


def meeting_from_json(obj: Body, *, max_body_bytes: int | None = None) -> OnlineMeeting:
    """Read an onlineMeeting response body losslessly (R-JSON-4).

    ``max_body_bytes`` bounds the body as for ``parse_create_or_get`` (``None``: 4 MB).

    Raises:
        RequestTooLargeError: the body is longer than ``max_body_bytes``; it was not read.
        BadRequestError: the body is not an onlineMeeting; ``target`` names the member.
    """
    limit = DEFAULT_MAX_BODY_BYTES if max_body_bytes is None else max_body_bytes
    return _read_meeting(RESPONSE, obj, limit)


def _read_meeting(form: Form, data: Body, max_bytes: int | None = None) -> OnlineMeeting:
    value = decode(data, max_bytes)
    try:
        read = reader(form).get_structure_hook(OnlineMeeting)
        meeting: OnlineMeeting = read(value, OnlineMeeting)
    except MemberError as error:
        raise error.graph_error() from None
    return meeting


def meeting_to_json(
    meeting: OnlineMeeting,
    *,
    version: ApiVersion | str = ApiVersion.BETA,
    include_unknown_enum_members: bool = False,
) -> dict[str, JsonValue]:
    """The onlineMeeting response body as a dict of its own (R-JSON-1..4, R-MEET-3, R-TIME-8)."""
    return _meeting_json(
        meeting, wire(ApiVersion(version)), include_unknown_enum_members, copy=True
    )


def _meeting_json(
    meeting: OnlineMeeting, form: Form, include: bool, *, copy: bool
) -> dict[str, JsonValue]:
    converter = writer(form, include, copy)
    result: dict[str, JsonValue] = converter.get_unstructure_hook(OnlineMeeting)(meeting)
    return result


def dumps_meeting(
    meeting: OnlineMeeting,
    *,
    version: ApiVersion | str = ApiVersion.BETA,
    include_unknown_enum_members: bool = False,
) -> bytes:
    """The onlineMeeting response body as compact UTF-8 JSON."""
    version = ApiVersion(version)
    return dumps_json(
        _meeting_json(meeting, wire(version), include_unknown_enum_members, copy=False)
    )


def meeting_to_storage(meeting: OnlineMeeting, *, checked: bool = False) -> bytes:
    """The form a store keeps: every member that is set, layouts and unknown members kept, so
    that ``meeting_from_storage`` gives back an equal meeting that writes the same JSON.

    Args:
        checked: first read the form back, as ``meeting_from_storage`` would, so that a meeting
            built by hand with a value Graph JSON cannot hold is refused rather than stored.

    Raises:
        BadRequestError: (``checked``) the meeting holds such a value; ``target`` names it.
    """
    stored = _meeting_json(meeting, STORAGE, True, copy=False)
    if checked:
        try:
            reader(STORAGE).get_structure_hook(OnlineMeeting)(stored, OnlineMeeting)
        except MemberError as error:
            raise error.graph_error() from None
    return dumps_json(stored)


def meeting_from_storage(data: bytes | str) -> OnlineMeeting:
    """A meeting from ``meeting_to_storage``'s form.

    Raises:
        BadRequestError: the data is not a stored meeting (a store should report it as a 500).
    """
    return _read_meeting(STORAGE, data)


# --- the error body -----------------------------------------------------------------------------


def error_to_json(
    error: GraphError,
    *,
    request_id: str,
    client_request_id: str | None = None,
    date: Instant,
) -> dict[str, JsonValue]:
    """Graph's error body (R-JSON-5); ``innerError.date`` is UTC without a zone, to the second."""
    main: dict[str, JsonValue] = {"code": error.code, "message": error.message}
    if error.target is not None:
        main["target"] = error.target
    main["innerError"] = {
        "date": date.isoformat()[:19],
        "request-id": request_id,
        "client-request-id": client_request_id if client_request_id is not None else request_id,
    }
    return {"error": main}
