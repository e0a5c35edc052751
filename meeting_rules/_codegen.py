"""The one home of generated code: readers and writers are Python source, compiled here.

The JSON layer writes, once per Graph class and form, a function of straight-line Python (a member
read by name, an object built through its slots) instead of walking the class's fields on every
call. That code is code like any other: each function is compiled under a file name of its own,
``<meeting_rules generated read_OnlineMeeting response>``, and its source is put in ``linecache``
under that name, as attrs (``_make._linecache_and_compile``) and cattrs (``gen/_lc.py``) do. So a
traceback through it shows its lines, ``inspect.getsource`` returns it and pdb steps through it.
``generated()`` lists every function made so far, for the tests and for whoever is curious.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["STR_CHECK", "branches", "compile_function", "construction", "generated"]

_MADE: list[Callable[..., Any]] = []

STR_CHECK = "type({0}) is str and {0}.isascii() and '\\x00' not in {0}"
"""A test of a value that is a string needing no further check: ASCII, no NUL. The common case is
decided by this one expression; anything else goes to the full reader (fast path, no other
semantics)."""


def compile_function(name: str, lines: list[str], namespace: dict[str, Any], *, form: str) -> Any:
    """The function ``name`` that ``lines`` define, run in ``namespace``.

    ``form`` says what the function is for (``response``, ``storage``, ``v1.0``, ...): with the
    name it makes the file name, ``<meeting_rules generated {name} {form}>``; a second function
    of the same name and form is given ``-2``, ``-3``, ... before the ``>``.
    """
    source = "\n".join(lines) + "\n"
    filename = _register(f"<meeting_rules generated {name} {form}", source)
    exec(compile(source, filename, "exec"), namespace)
    function = namespace[name]
    _MADE.append(function)  # one list operation: safe from threads without a lock
    return function


def _register(stem: str, source: str) -> str:
    """A file name not yet in ``linecache``, now holding ``source``: one file per function, even
    when two functions have the same source, so that each is found by its own name.
    ``setdefault`` is one dict operation, so two threads never get the same name."""
    entry_lines = source.splitlines(True)
    count = 1
    while True:
        filename = f"{stem}>" if count == 1 else f"{stem}-{count}>"
        entry = (len(source), None, entry_lines, filename)
        if linecache.cache.setdefault(filename, entry) is entry:
            return filename
        count += 1


def generated() -> tuple[Callable[..., Any], ...]:
    """Every function generated so far in this process, in the order it was made."""
    return tuple(_MADE)


def construction(
    cls: type[Any], namespace: dict[str, Any], values: Mapping[str, str], *, post_init: bool = True
) -> list[str]:
    """Lines returning a new ``cls`` from the expressions ``values`` gives for its attributes.

    The object is built as its attrs ``__init__`` builds it, without the cost of the call (a
    third of a small object's reading time): every slot set, then each attribute's validator, then
    ``__attrs_post_init__`` unless ``post_init`` is false (the caller has made its checks already).
    """
    fields = attrs.fields(cls)
    if any(f.converter for f in fields) or "__slots__" not in cls.__dict__:
        arguments = ", ".join(f"{f.name}={values[f.name]}" for f in fields)
        return [f"    return cls({arguments})"]
    namespace["_new"] = object.__new__
    lines = ["    obj = _new(cls)"]
    for f in fields:
        slot = next(c.__dict__[f.name] for c in cls.__mro__ if f.name in c.__dict__)
        namespace[f"set_{f.name}"] = slot.__set__
        lines.append(f"    set_{f.name}(obj, {values[f.name]})")
    for f in fields:
        if f.validator is not None:
            namespace[f"check_{f.name}"] = f.validator
            namespace[f"field_{f.name}"] = f
            lines.append(f"    check_{f.name}(obj, field_{f.name}, obj.{f.name})")
    if post_init and hasattr(cls, "__attrs_post_init__"):
        lines.append("    obj.__attrs_post_init__()")
    return [*lines, "    return obj"]


def branches(tests: list[tuple[str, list[str]]], otherwise: list[str]) -> list[str]:
    """``if``/``elif`` lines for ``(test, lines)`` pairs, then ``otherwise`` as the ``else``."""
    if not tests:
        return otherwise
    lines: list[str] = []
    for i, (test, body) in enumerate(tests):
        lines.append(f"{'elif' if i else 'if'} {test}:")
        lines += [f"    {line}" for line in body]
    return [*lines, "else:", *(f"    {line}" for line in otherwise)]
