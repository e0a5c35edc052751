"""Serving over HTTP (``w.*``): requests/s and latency through a real uvicorn server.

Two uvicorn servers run, each in a process of its own, on loopback ports: the subject serves
``asgi.create_app`` over a fresh SQLite store; the floor is a bare ASGI application on the same
server settings that reads the request's body and answers a fixed JSON body of the same size as
the subject's answer. A client in this process keeps ``concurrency`` HTTP/1.1 connections open
and sends requests back to back on each, for about a round's time, subject and floor taking turns
(a different side first in each round). Each side's requests/s is its best round; the latencies
(p50, p99) are over every request of the side's rounds. Workloads: ``w.201`` (a new externalId
each request), ``w.200`` (one stored externalId), ``w.400`` (an end before its start); each at 1, 8
and 32 concurrent clients. The answers are checked (status and size), never the timings.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import multiprocessing
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import Result

GROUP = "serve"
CONCURRENCY = (1, 8, 32)
TOKEN = "bench"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
USER = "8b081ef6-4792-4def-b2c9-c363a1bf41d5"
PATH = "/beta/me/onlineMeetings/createOrGet"
BAD = b'{"externalId": "bad", "startDateTime": "2020-01-02T10:00:00Z", "endDateTime": "2020-01-02T09:00:00Z"}'  # noqa: E501


def _subject_app(store_path: str) -> Any:
    from meeting_rules.adapters import SqliteMeetingRepository
    from meeting_rules.asgi import create_app
    from meeting_rules.http import DELEGATED_SCOPE, InMemoryDirectory

    directory = InMemoryDirectory()
    directory.add_delegated_user(
        token=TOKEN, tenant_id=TENANT, user_id=USER, upn="bench@contoso.com",
        scopes={DELEGATED_SCOPE},
    )  # fmt: skip
    return create_app(repository=SqliteMeetingRepository(store_path), directory=directory)


def _floor_app() -> Any:
    """A bare ASGI app: drains the body, answers ``{"x": "aaa..."}`` of the size the path asks."""
    bodies: dict[int, bytes] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        size = int(scope["path"].rsplit("/", 1)[1])
        body = bodies.get(size)
        if body is None:
            body = bodies[size] = b'{"x":"' + b"a" * (size - 8) + b'"}'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % size)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _serve(kind: str, store_path: str, listener: socket.socket) -> None:
    import uvicorn

    app = _subject_app(store_path) if kind == "subject" else _floor_app()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[listener])


@contextmanager
def _servers() -> Iterator[dict[str, int]]:
    """The subject's and the floor's ports, each server in a spawned process."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as scratch:
        processes, ports = [], {}
        for kind in ("subject", "floor"):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            listener.bind(("127.0.0.1", 0))
            listener.listen(512)
            ports[kind] = listener.getsockname()[1]
            store = str(Path(scratch) / "serve.sqlite3")
            process = context.Process(target=_serve, args=(kind, store, listener), daemon=True)
            process.start()
            listener.close()
            processes.append(process)
        try:
            yield ports
        finally:
            for process in processes:
                process.terminate()
                process.join(10)


def _next(make_body: Callable[[], bytes]) -> bytes:
    """The subject's next createOrGet request."""
    return _request(PATH, make_body())


def _request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, int]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status, length


@dataclass
class _Side:
    port: int
    requests: Callable[[], bytes]  # the next request's bytes
    status: int
    latencies: list[float]


async def _round(side: _Side, concurrency: int, seconds: float) -> float:
    """Requests/s of one round: ``concurrency`` connections, back to back, for ``seconds``."""
    connections = [
        await asyncio.open_connection("127.0.0.1", side.port) for _ in range(concurrency)
    ]
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _ = await _exchange(reader, writer, side.requests())
            side.latencies.append(time.perf_counter() - started)
            if status != side.status:
                raise AssertionError(f"expected {side.status}, got {status}")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(r, w) for r, w in connections))
    elapsed = time.perf_counter() - started
    for _, writer in connections:
        writer.close()
    return done / elapsed


def keys(quick: bool) -> list[str]:
    """The rows' keys: each workload at each concurrency."""
    levels = (1, 8) if quick else CONCURRENCY
    return [f"{w}.c{c}" for w in ("w.201", "w.200", "w.400") for c in levels]


async def _measure_all(
    ports: dict[str, int], rounds: int, seconds: float, wanted: list[str]
) -> list[Result]:
    counter = itertools.count()
    keep = json.dumps({"externalId": "kept", "subject": "bench"}).encode()
    workloads: dict[str, tuple[Callable[[], bytes], int]] = {
        "w.201": (lambda: json.dumps({"externalId": f"n{next(counter)}"}).encode(), 201),
        "w.200": (lambda: keep, 200),
        "w.400": (lambda: BAD, 400),
    }
    results: list[Result] = []
    for key, (make_body, status) in workloads.items():
        levels = [int(k.rsplit(".c", 1)[1]) for k in wanted if k.rsplit(".c", 1)[0] == key]
        if not levels:
            continue
        # The subject's answer, checked, and its size, which the floor's answer copies.
        reader, writer = await asyncio.open_connection("127.0.0.1", ports["subject"])
        first, size = await _exchange(reader, writer, _request(PATH, make_body()))
        writer.close()
        if first != 201 and (key == "w.201" or first != status):
            raise AssertionError(f"{key}: the first answer was {first}")
        for concurrency in levels:
            subject = _Side(ports["subject"], functools.partial(_next, make_body), status, [])
            floor_request = _request(f"/floor/{size}", make_body())
            floor = _Side(ports["floor"], functools.partial(bytes, floor_request), 200, [])
            subject_ops: list[float] = []
            floor_ops: list[float] = []
            for n in range(rounds):
                for side, ops in ((subject, subject_ops), (floor, floor_ops))[:: 1 - 2 * (n % 2)]:
                    ops.append(await _round(side, concurrency, seconds))
            results.append(
                Result.of_rounds(
                    floor_ops,
                    subject_ops,
                    key=f"{key}.c{concurrency}",
                    title=f"uvicorn, {status}, {concurrency} clients",
                    group=GROUP,
                    size=size,
                    floor_title="bare ASGI app, same size",
                    floor_size=size,
                )
            )
            results[-1].latency_ms = {
                "subject": _percentiles(subject.latencies),
                "floor": _percentiles(floor.latencies),
            }
    return results


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def measure(rounds: int, round_seconds: float, wanted: list[str]) -> list[Result]:
    """The ``w.*`` rows whose keys are ``wanted``, servers started and stopped here."""
    with _servers() as ports:
        _wait(ports)
        return asyncio.run(_measure_all(ports, rounds, max(round_seconds, 0.1) * 2, wanted))


def _wait(ports: dict[str, int]) -> None:
    deadline = time.monotonic() + 30
    for port in ports.values():
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def latency_table(results: list[Result]) -> str:
    lines = ["workload              p50 ms subject/floor   p99 ms subject/floor"]
    for result in results:
        assert result.latency_ms is not None
        (s50, s99), (f50, f99) = result.latency_ms["subject"], result.latency_ms["floor"]
        lines.append(f"{result.key:<20}  {s50:6.2f} / {f50:6.2f}        {s99:6.2f} / {f99:6.2f}")
    return "\n".join(lines)
