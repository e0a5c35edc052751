"""Sizes (``m.*``): what the stores take per meeting, beside the meetings' compact Graph JSON.

Sizes are deterministic, so each is measured once, and its figure is ``bytes / JSON bytes``, the
JSON being ``dumps_meeting`` (beta, compact) of the same meetings.

- ``m.sql.size``: the 100,000-meeting SQLite file of ``s.sql.get100k`` (see ``bench_store``),
  after ``PRAGMA wal_checkpoint(TRUNCATE)``, its ``-wal`` file counted if one is left.
- ``m.sql.stored``: the same meetings in ``meeting_to_storage``'s form, the rows' payload.
- ``m.mem.*``: what the process keeps per meeting created in an ``InMemoryMeetingRepository``
  through ``create_or_get``, by ``tracemalloc``: traced bytes after the creates (each request made
  in the loop and dropped) less those before, the collector run at both ends. ``m.mem.create``
  makes its requests as ``s.mem.create`` does (``attrs.evolve`` of one parsed request, so the
  meetings share its unchanged members); ``m.mem.parse`` parses each from a body of its own, as
  ``handle`` does. ``m.mem.create100k`` is left out of ``--quick`` runs (~30 s under tracing).
"""

from __future__ import annotations

import functools
import gc
import json
import sqlite3
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import attrs

from benchmarks.bench_store import (
    BASE,
    LARGE,
    NotAsClaimed,
    StoreBench,
    create_or_get_on,
    external_id,
    meeting_key,
)
from benchmarks.harness import render
from meeting_rules import CreateOrGetRequest
from meeting_rules.adapters import InMemoryMeetingRepository
from meeting_rules.graph_json import dumps_meeting, parse_create_or_get

SQL_GOAL = 1.5  # the SQLite file may take at most this multiple of the meetings' compact JSON
CREATES = 10_000  # meetings of the m.mem.* rows
CREATES_LARGE = 100_000  # meetings of m.mem.create100k (not with --quick: ~30 s under tracing)
WARM_CREATES = 16  # creates on a store of their own before tracing starts


@dataclass
class Size:
    """Bytes some meetings take, beside the bytes of their compact Graph JSON."""

    key: str
    title: str
    meetings: int
    total_bytes: int
    json_bytes: int  # sum of len(dumps_meeting(meeting)) over the same meetings
    bytes_per_meeting: float
    json_bytes_per_meeting: float
    ratio: float  # total_bytes / json_bytes
    goal: float | None = None  # the ratio may be at most this
    details: dict[str, int] = field(default_factory=dict)


def size(
    key: str,
    title: str,
    meetings: int,
    total: int,
    json_total: int,
    goal: float | None = None,
    **details: int,
) -> Size:
    """A size row, its per-meeting figures and ratio worked out."""
    return Size(
        key=key,
        title=title,
        meetings=meetings,
        total_bytes=total,
        json_bytes=json_total,
        bytes_per_meeting=total / meetings,
        json_bytes_per_meeting=json_total / meetings,
        ratio=total / json_total,
        goal=goal,
        details=dict(details),
    )


# --- the SQLite file ----------------------------------------------------------------------------


def file_sizes(path: Path) -> dict[str, int]:
    """The file's bytes after a truncating checkpoint, its ``-wal`` file's, and its page counts."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        pages = {
            name: int(connection.execute(f"PRAGMA {name}").fetchone()[0])
            for name in ("page_size", "page_count", "freelist_count")
        }
    finally:
        connection.close()
    wal = Path(f"{path}-wal")
    return {
        "file_bytes": path.stat().st_size,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
        "checkpoint_busy": int(busy),
        **pages,
    }


def json_total(stores: StoreBench, count: int) -> int:
    """Compact JSON bytes of stored meetings 0 ... count-1, from the base meetings' lengths.

    Meeting n is base meeting n % 1,000 with externalId ``k{n}``, so its JSON differs in that
    string's length only; checked on a few meetings against ``dumps_meeting`` itself.
    """
    base = [len(dumps_meeting(meeting)) for meeting in stores.meetings]

    def length(number: int) -> int:
        shift = len(external_id(number)) - len(external_id(number % BASE))
        return base[number % BASE] + shift

    for number in {0, BASE - 1, BASE, count // 2 + 7, count - 1}:
        if number < count and length(number) != len(dumps_meeting(stores.stored_meeting(number))):
            raise NotAsClaimed(f"the JSON length of meeting {number} is not as worked out")
    return sum(length(number) for number in range(count))


def sql_size(stores: StoreBench) -> Size:
    """``m.sql.size``: the 100,000-meeting file, WAL checkpointed, beside the meetings' JSON."""
    sizes = file_sizes(stores.sqlite_large)
    return size(
        "m.sql.size",
        f"SQLite file, {LARGE:,} meetings, WAL checkpointed",
        LARGE,
        sizes["file_bytes"] + sizes["wal_bytes"],
        json_total(stores, LARGE),
        SQL_GOAL,
        **sizes,
    )


def stored_size(stores: StoreBench) -> Size:
    """``m.sql.stored``: ``meeting_to_storage``'s bytes of the same meetings."""
    total = sum(len(stores.stored_body(number)) for number in range(LARGE))
    return size(
        "m.sql.stored",
        f"meeting_to_storage, the same {LARGE:,}",
        LARGE,
        total,
        json_total(stores, LARGE),
    )


# --- the in-memory store ------------------------------------------------------------------------


Requests = Callable[[StoreBench, int], Iterator[CreateOrGetRequest]]


def evolved(stores: StoreBench, count: int) -> Iterator[CreateOrGetRequest]:
    """Requests as ``s.mem.create`` makes them: seed request 1 with externalId ``k{n}``."""
    for number in range(count):
        yield attrs.evolve(stores.request, external_id=external_id(number))


def parsed(stores: StoreBench, count: int) -> Iterator[CreateOrGetRequest]:
    """Requests each parsed from a body of its own, seed request 1 with externalId ``k{n}``."""
    body = json.loads(stores.body)
    for number in range(count):
        body["externalId"] = external_id(number)
        yield parse_create_or_get(json.dumps(body).encode())


def memory_growth(
    stores: StoreBench,
    key: str,
    title: str,
    count: int,
    requests: Requests,
) -> Size:
    """Traced bytes kept per meeting after ``count`` creates into an empty in-memory store."""
    warm = create_or_get_on(InMemoryMeetingRepository(), 2)
    for request in requests(stores, WARM_CREATES):
        warm(request)
    store = InMemoryMeetingRepository()
    call = create_or_get_on(store, 1)
    created = 0
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for request in requests(stores, count):
            created += call(request).created
        del request
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    if created != count or len(store) != count:
        raise NotAsClaimed(f"{key}: {created} of {count} creates created")
    return size(key, title, count, after - before, written_bytes(store, count))


def written_bytes(store: InMemoryMeetingRepository, count: int) -> int:
    """Compact JSON bytes of the store's meetings k0 ... k{count-1}."""
    total = 0
    for number in range(count):
        meeting = store.get(meeting_key(number))
        if meeting is None:
            raise NotAsClaimed(f"meeting {number} was not stored")
        total += len(dumps_meeting(meeting))
    return total


GROWTH: tuple[tuple[str, str, int, Requests], ...] = (
    ("m.mem.create", "in-memory store, requests as s.mem.create", CREATES, evolved),
    ("m.mem.parse", "in-memory store, each request parsed", CREATES, parsed),
    ("m.mem.create100k", "in-memory store, requests as s.mem.create", CREATES_LARGE, evolved),
)


def builders(
    stores: StoreBench, wanted: Callable[[str], bool], quick: bool
) -> list[Callable[[], Size]]:
    """Makers of the size rows whose key is ``wanted``; with ``quick``, only 10,000 creates."""
    made: list[tuple[str, Callable[[], Size]]] = [
        ("m.sql.size", functools.partial(sql_size, stores)),
        ("m.sql.stored", functools.partial(stored_size, stores)),
    ]
    made += [
        (key, functools.partial(memory_growth, stores, key, title, count, requests))
        for key, title, count, requests in GROWTH
        if count <= CREATES or not quick
    ]
    return [build for key, build in made if wanted(key)]


# --- output -------------------------------------------------------------------------------------


def table(sizes: Sequence[Size]) -> str:
    """The sizes as a plain-text table."""
    head = ("size", "meetings", "bytes", "bytes/meeting", "JSON/meeting", "ratio", "goal")
    rows: list[tuple[str, ...]] = [head]
    for s in sizes:
        rows.append(
            (
                f"{s.key} {s.title}",
                f"{s.meetings:,}",
                f"{s.total_bytes:,}",
                f"{s.bytes_per_meeting:,.0f}",
                f"{s.json_bytes_per_meeting:,.0f}",
                f"{s.ratio:.3g}x",
                "" if s.goal is None else f"<= {s.goal:g}x",
            )
        )
    return render(rows, left={0})


def documents(sizes: Sequence[Size]) -> list[dict[str, Any]]:
    """The sizes as JSON-ready dicts."""
    return [asdict(s) for s in sizes]


def compare(old_path: Path, sizes: Sequence[Size]) -> str:
    """This run's sizes next to those of an earlier ``--json`` file."""
    old = {s["key"]: s for s in json.loads(old_path.read_text()).get("memory", [])}
    lines = [f"sizes compared with {old_path}: bytes per meeting then -> now (ratio to JSON)"]
    for s in sizes:
        before = old.get(s.key)
        if before is not None:
            lines.append(
                f"  {s.key:<20} {before['bytes_per_meeting']:8,.0f} -> {s.bytes_per_meeting:8,.0f}"
                f"  ({before['ratio']:.3g}x -> {s.ratio:.3g}x)"
            )
    return "\n".join(lines if len(lines) > 1 else [*lines, "  (none in that file)"])
