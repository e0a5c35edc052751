"""The createOrGet body: its members' rules as tables, and a reader generated from them.

Each object of the body (the body itself, ``participants``, an attendee, ``chatInfo``) has a
``_Table``: for each member Graph defines there, what it does: read into an attribute, read only to
be checked and then listed as ignored (a member that has no effect in createOrGet must still have
its type, R-BODY-6), or a nested table. A name missing from its table is one Graph does not define:
ignored (R-BODY-3), or refused when reading strictly. From each table ``_generate`` writes a reader
(see ``_codegen``) that reads the members in document order, so that of several defects the first
in the body is reported (an end before the start as soon as both are read, R-TIME-4; a missing
``externalId`` once all is read, R-BODY-1), and lists each ignored member by its JSON path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._codegen import STR_CHECK, branches, compile_function, construction
from ._members import JsonValue
from .enums import ApiVersion, OnlineMeetingRole
from .errors import BadRequestError, GraphError, quoted
from .instant import Instant
from .json_forms import REQUEST, wire
from .json_paths import PLAIN_NAME, MemberError, path_step, refusal, wrong_type
from .json_text import Body, decode
from .meeting import ChatInfo
from .object_reader import is_graph_enum, is_optional, is_tuple, optional_arg, reader
from .object_writer import writer
from .participants import IdentitySet, MeetingParticipantInfo, MeetingParticipants
from .request import CreateOrGetRequest
from .settings import DEFAULT_MAX_BODY_BYTES
from .timing import no_start

__all__ = ["parse_create_or_get", "request_to_json"]


@attrs.frozen
class _Rule:
    """What a request member does: read into ``attr``, read and dropped (no ``attr``), or skipped.

    ``table`` reads a nested object (``array``: an array of them). A name missing from its table is
    one Graph does not define: ignored, or refused when reading strictly.
    """

    attr: str | None = None
    type: Any = None
    table: _Table | None = None
    array: bool = False


_Reader = Callable[[Mapping[str, JsonValue], str, bool, list[str]], Any]


@attrs.define
class _Table:
    """The rules of one object of a createOrGet body, and its reader generated from them.

    ``read(obj, path, strict, ignored)`` reads the members of the object at ``path`` (its JSON
    path, ``""`` for the body) in document order, appends the JSON path of each ignored one to
    ``ignored``, and returns a new ``cls``. The reader is generated on first use, not on import.
    """

    cls: type[Any]
    rules: Mapping[str, _Rule]
    name: str = ""
    """The generated function's name, after ``read_`` (the class's name by default)."""
    version: ApiVersion | None = None
    """The body's version, for the body's own table; ``None`` for the objects inside it."""
    read: _Reader = attrs.field(init=False, eq=False, repr=False)
    _generated: _Reader | None = attrs.field(default=None, init=False, eq=False, repr=False)

    @read.default
    def _first_read(self) -> _Reader:
        def read(obj: Mapping[str, JsonValue], path: str, strict: bool, ignored: list[str]) -> Any:
            return self.reader()(obj, path, strict, ignored)

        return read

    def reader(self) -> _Reader:
        """The generated reader (made now if need be), which from now on is ``read`` too."""
        if self._generated is None:
            self._generated = self.read = self._generate()
        return self._generated

    def _generate(self) -> _Reader:
        cls = self.cls
        body = cls is CreateOrGetRequest
        function = f"read_{self.name or cls.__name__}"
        namespace: dict[str, Any] = {
            "cls": cls,
            "Mapping": Mapping,
            "wrong_type": wrong_type,
            "MemberError": MemberError,
            "_GraphError": GraphError,
            "_parse_instant": Instant.parse,
            "_ignore": _ignore,
            "_no_external_id": _no_external_id,
            "_end_before_start": _end_before_start,
            "_no_start": no_start,
            "_VERSION": self.version,
            "_check_external_id": attrs.fields(CreateOrGetRequest).external_id.validator,
            "path_step": path_step,
        }
        fields = attrs.fields(attrs.resolve_types(cls))
        defaults = {f.name: "()" if is_tuple(f.type) else "None" for f in fields}
        lines = [f"def {function}(obj, path, strict, ignored):"]
        if not body:
            lines += [
                "    if type(obj) is not dict and not isinstance(obj, Mapping):",
                "        raise wrong_type('an object', obj).graph_error(path)",
                "    kept = []",
            ]
        lines += [f"    a_{r.attr} = {defaults[r.attr]}" for r in self.rules.values() if r.attr]
        if body:
            lines.append("    sent_start_date_time = sent_end_date_time = None")
        lines.append("    for name, item in obj.items():")
        for i, (member, rule) in enumerate(self.rules.items()):
            target = f"a_{rule.attr}" if rule.attr else "value"
            lines.append(f"        {'elif' if i else 'if'} name == {member!r}:")
            # Graph's names are plain: a member's path is its parent's, a dot and its name.
            assert PLAIN_NAME.fullmatch(member), member
            where = repr(member) if body else f"path + {'.' + member!r}"
            lines += [
                f"            {line}" for line in _rule_code(i, rule, namespace, target, where)
            ]
            if rule.attr is None:
                lines += [
                    "            if item is not None:",
                    f"                ignored.append({where})",
                ]
            elif not body:
                lines.append("            kept.append(name)")
            elif rule.attr == "external_id":  # an empty one is met where it is (R-BODY-2)
                lines += [
                    "            if a_external_id == '':",
                    "                _check_external_id(None, None, a_external_id)",
                ]
            elif rule.attr in ("start_date_time", "end_date_time"):
                # End before start is met as soon as both are read, as a defect in document order,
                # and told with the times as they were sent.
                lines += [
                    f"            sent_{rule.attr} = item",
                    "            if (",
                    "                a_end_date_time is not None",
                    "                and a_start_date_time is not None",
                    "                and a_end_date_time.ticks < a_start_date_time.ticks",
                    "            ):",
                    "                raise _end_before_start(",
                    "                    sent_start_date_time, sent_end_date_time",
                    "                )",
                ]
        lines += ["        else:", "            _ignore(name, path, strict, ignored)"]
        if body:
            lines += [
                "    if a_external_id is None:",
                "        raise _no_external_id(obj)",
                "    if a_end_date_time is not None and a_start_date_time is None:",
                "        raise _no_start()",
            ]
            arguments = {"ignored_members": "tuple(ignored)", "version": "_VERSION"}
        else:
            arguments = {"unknown_members": "{}", "member_order": "tuple(kept)"}
        read = {r.attr for r in self.rules.values() if r.attr}
        for f in fields:
            arguments.setdefault(f.name, f"a_{f.name}" if f.name in read else defaults[f.name])
        # The time window was checked above, once: the request's own check is not run again.
        lines += construction(cls, namespace, arguments, post_init=not body)
        # The body's own readers, apart from the object readers of the request form.
        form = "body" if self.version is None else f"body {self.version.value}"
        return compile_function(function, lines, namespace, form=form)  # type: ignore[no-any-return]


def _end_before_start(start: object, end: object) -> BadRequestError:
    """R-TIME-4's refusal, quoting the two times as the body gave them."""
    return BadRequestError(
        f"endDateTime ({quoted(str(end))}) must not be earlier than startDateTime "
        f"({quoted(str(start))}).",
        target="endDateTime",
    )


def _no_external_id(obj: Mapping[str, JsonValue]) -> BadRequestError:
    """The refusal of a body whose externalId is null or missing (R-BODY-1)."""
    if "externalId" in obj:
        return BadRequestError("The parameter 'externalId' must not be null.", target="externalId")
    return BadRequestError(
        "One or more parameters of the operation 'createOrGet' are missing from the request "
        "payload. The missing parameters are: externalId.",
        target="externalId",
    )


def _rule_code(
    index: int, rule: _Rule, namespace: dict[str, Any], target: str, where: str
) -> list[str]:
    """Lines reading ``item``, the member ``name`` at ``path``, into the variable ``target``;
    ``where`` is an expression for the member's own path."""
    if rule.table is not None:
        namespace[f"r{index}"] = rule.table.reader()
        if not rule.array:
            return [
                f"{target} = None if item is None else r{index}(item, {where}, strict, ignored)"
            ]
        return [
            "if type(item) is not list and type(item) is not tuple:",
            f"    raise wrong_type('an array', item).graph_error({where})",
            f"where = {where}",
            "items = []",
            "for i, x in enumerate(item):",
            f"    items.append(r{index}(x, f'{{where}}[{{i}}]', strict, ignored))",
            f"{target} = tuple(items)",
        ]
    inner = optional_arg(rule.type) or rule.type
    namespace[f"h{index}"] = reader(REQUEST).get_structure_hook(inner)
    namespace[f"t{index}"] = inner
    tests: list[tuple[str, list[str]]] = []
    if is_optional(rule.type):
        tests.append(("item is None", [f"{target} = None"]))
    if inner is str:
        tests.append((STR_CHECK.format("item"), [f"{target} = item"]))
    elif is_graph_enum(inner):  # Graph's own spelling, found at once; any other found after
        namespace[f"e{index}"] = namespace[f"h{index}"].spellings
        namespace[f"find{index}"] = namespace[f"h{index}"].find
        namespace["_refusal"] = refusal
        tests.append((f"type(item) is str and item in e{index}", [f"{target} = e{index}[item]"]))
        return branches(
            tests,
            [
                f"{target} = find{index}(item)",
                f"if type({target}) is str:",
                f"    raise _refusal({target}, {where})  # one exception made, not two",
            ],
        )
    elif inner is Instant:
        tests.append(
            (
                "type(item) is str",
                [
                    "try:",
                    f"    {target} = _parse_instant(item)",
                    "except _GraphError as error:",
                    "    problem = MemberError(error.message, subject=None)",
                    f"    raise problem.graph_error({where}) from None",
                ],
            )
        )
    code = [
        "try:",
        f"    {target} = h{index}(item, t{index})",
        "except MemberError as error:",
        f"    raise error.graph_error({where}) from None",
    ]
    return branches(tests, code)


def _ignore(name: object, path: str, strict: bool, ignored: list[str]) -> None:
    """A member Graph does not define: listed, or refused when reading strictly (R-BODY-3)."""
    if not isinstance(name, str):
        raise refusal("has a member name that is not a string.", path, "object")
    if strict and "@" not in name:
        raise BadRequestError(
            f"The parameter '{quoted(name)}' in the request payload is "
            "not a valid parameter for the operation 'createOrGet'.",
            target=path_step(path, name),
        )
    ignored.append(path_step(path, name))


# A rule without ``attr`` reads its member only to check it, then drops it as ignored: Graph's
# own members that have no effect in createOrGet must still have the right type (R-BODY-6).
_CHAT_INFO = _Table(
    ChatInfo,
    {
        "threadId": _Rule("thread_id", str | None),
        "messageId": _Rule(None, str | None),  # made by the service (R-MEET-5)
        "replyChainMessageId": _Rule(None, str | None),
    },
)
_ATTENDEE = _Table(
    MeetingParticipantInfo,
    {
        "identity": _Rule("identity", IdentitySet | None),
        "upn": _Rule("upn", str | None),
        "role": _Rule(None, OnlineMeetingRole | None),  # checked, no effect (R-BODY-5)
    },
)
_PARTICIPANTS = _Table(
    MeetingParticipants,
    {
        "attendees": _Rule("attendees", table=_ATTENDEE, array=True),
        "organizer": _Rule(None, MeetingParticipantInfo | None),  # the caller (R-BODY-5, R-MEET-2)
        "producers": _Rule(None, tuple[MeetingParticipantInfo, ...]),
        "contributors": _Rule(None, tuple[MeetingParticipantInfo, ...]),
    },
)
_BODY_RULES: Mapping[str, _Rule] = {
    "externalId": _Rule("external_id", str | None),
    "subject": _Rule("subject", str | None),
    "startDateTime": _Rule("start_date_time", Instant | None),
    "endDateTime": _Rule("end_date_time", Instant | None),
    "participants": _Rule("participants", table=_PARTICIPANTS),
    "chatInfo": _Rule("chat_info", table=_CHAT_INFO),
}
# chatInfo is beta only (R-BODY-4): v1.0 checks it, then ignores it.
_V1_BODY_RULES: Mapping[str, _Rule] = {**_BODY_RULES, "chatInfo": _Rule(None, ChatInfo | None)}
_BODY = _Table(CreateOrGetRequest, _BODY_RULES, version=ApiVersion.BETA)
_V1_BODY = _Table(CreateOrGetRequest, _V1_BODY_RULES, version=ApiVersion.V1_0)


def parse_create_or_get(
    body: Body,
    *,
    version: ApiVersion | str = ApiVersion.BETA,
    strict: bool = False,
    max_body_bytes: int | None = None,
) -> CreateOrGetRequest:
    """Read a createOrGet body: every rule that needs no clock, caller or store.

    Args:
        body: UTF-8 JSON bytes, JSON text, or an already decoded mapping.
        version: ``beta`` takes ``chatInfo``; ``v1.0`` ignores it (R-BODY-4). The request
            carries it as ``version``, for ``create_or_get`` and ``request_to_json``.
        strict: refuse members Graph does not define instead of ignoring them (R-BODY-3).
        max_body_bytes: the longest body read, in UTF-8 bytes (``None``: Graph's 4 MB,
            ``DEFAULT_MAX_BODY_BYTES``); a mapping is not measured.

    Raises:
        RequestTooLargeError: the body is longer than ``max_body_bytes`` (413); it was not read.
        BadRequestError: any defect (R-BODY-*, R-TIME-3..5), ``target`` naming the member.
    """
    if version is not ApiVersion.BETA:
        version = ApiVersion(version)
    table = _BODY if version is ApiVersion.BETA else _V1_BODY
    limit = DEFAULT_MAX_BODY_BYTES if max_body_bytes is None else max_body_bytes
    request: CreateOrGetRequest = table.read(decode(body, limit), "", strict, [])
    return request


def request_to_json(
    request: CreateOrGetRequest, *, version: ApiVersion | str | None = None
) -> dict[str, JsonValue]:
    """The request as a createOrGet body: the members that have an effect, times in UTC.

    ``version``: the body's version (``None``: the request's own, ``request.version``).
    """
    version = request.version if version is None else ApiVersion(version)
    converter = writer(wire(version), True)
    out: dict[str, JsonValue] = {"externalId": request.external_id}
    for name, rule in _BODY_RULES.items():
        if rule.attr is None or name == "externalId":
            continue
        if name == "chatInfo" and version is not ApiVersion.BETA:
            continue
        value = getattr(request, rule.attr)
        if value is not None:
            out[name] = converter.unstructure(value)
    return out
