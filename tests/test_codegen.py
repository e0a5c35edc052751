"""Generated code is code: every generated reader and writer has a file name of its own, its source
in ``linecache``, so that tracebacks show its lines, ``inspect.getsource`` returns it and pdb steps
through it (docs/design.md, "Generated code")."""

from __future__ import annotations

import inspect
import itertools
import linecache
import subprocess
import sys
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from meeting_rules import ApiVersion, OnlineMeeting
from meeting_rules._codegen import compile_function, generated
from meeting_rules._members import GraphObject
from meeting_rules.graph_json import parse_create_or_get
from meeting_rules.json_forms import REQUEST, RESPONSE, STORAGE, wire
from meeting_rules.json_paths import MemberError
from meeting_rules.meeting import AudioConferencing, ChatInfo, LobbyBypassSettings
from meeting_rules.object_reader import reader
from meeting_rules.object_writer import writer
from meeting_rules.participants import (
    Identity,
    IdentitySet,
    MeetingParticipantInfo,
    MeetingParticipants,
)

CLASSES: list[type[GraphObject]] = [
    OnlineMeeting,
    ChatInfo,
    AudioConferencing,
    LobbyBypassSettings,
    MeetingParticipants,
    MeetingParticipantInfo,
    IdentitySet,
    Identity,
]


def every_generated_function() -> tuple[Callable[..., Any], ...]:
    """Make every reader and writer the library generates, then list them all."""
    for form, cls in itertools.product((RESPONSE, REQUEST, STORAGE), CLASSES):
        reader(form).get_structure_hook(cls)
    forms = [STORAGE, *(wire(v) for v in ApiVersion)]
    for form, include, copy, cls in itertools.product(forms, (False, True), (False, True), CLASSES):
        writer(form, include, copy).get_unstructure_hook(cls)
    for version in ApiVersion:
        parse_create_or_get(b'{"externalId": "x"}', version=version)
    return generated()


def test_every_function_has_a_file_of_its_own() -> None:
    functions = every_generated_function()
    names = [f.__code__.co_filename for f in functions]
    assert len(functions) >= 90
    assert len(set(names)) == len(names)
    assert all(name.startswith("<meeting_rules generated ") for name in names)


def test_inspect_and_linecache_give_every_functions_source() -> None:
    for function in every_generated_function():
        source = inspect.getsource(function)
        assert source.startswith(f"def {function.__name__}(")
        code = function.__code__
        assert "".join(linecache.getlines(code.co_filename)) == source
        assert linecache.getline(code.co_filename, code.co_firstlineno).startswith("def ")


def test_a_traceback_shows_the_generated_line() -> None:
    """A failure inside a generated reader shows the line that failed, in its own file."""
    read = reader(RESPONSE).get_structure_hook(OnlineMeeting)
    with pytest.raises(MemberError) as info:
        read({"subject": 5}, OnlineMeeting)
    frames = traceback.extract_tb(info.value.__traceback__)
    mine = [
        f for f in frames if f.filename == "<meeting_rules generated read_OnlineMeeting response>"
    ]
    assert mine  # the member's read, then the raise that adds its name to the path
    assert all(frame.line for frame in mine)
    assert any("(item, t" in (frame.line or "") for frame in mine)


def test_pdb_steps_through_a_generated_reader() -> None:
    """pdb stops in a generated function and lists its source (in a process of its own: a
    debugger takes over the trace function, which coverage needs in this one)."""
    script = """
import contextlib, io, pdb
from meeting_rules.graph_json import meeting_from_json
body = b'{"id": "x", "subject": "s"}'
meeting_from_json(body)  # generated before the debugger starts
out = io.StringIO()
debugger = pdb.Pdb(stdin=io.StringIO("step\\n" * 60 + "continue\\n"), stdout=out, readrc=False)
debugger.use_rawinput = False
with contextlib.redirect_stdout(out):
    debugger.runcall(meeting_from_json, body)
print(out.getvalue())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert "<meeting_rules generated read_OnlineMeeting response>" in result.stdout
    assert "get = value.get" in result.stdout  # a line of the generated source, shown by pdb


def test_same_name_and_form_get_numbered_files() -> None:
    first = compile_function("f", ["def f():", "    return 1"], {}, form="test")
    second = compile_function("f", ["def f():", "    return 1"], {}, form="test")
    assert first.__code__.co_filename == "<meeting_rules generated f test>"
    assert second.__code__.co_filename.startswith("<meeting_rules generated f test-")
    assert inspect.getsource(second) == "def f():\n    return 1\n"
