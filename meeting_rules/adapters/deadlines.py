"""``Deadlines``: a client-side bound on a statement's round trip, for a server that accepts a
statement and then never answers (a stopped or swapping process, a frozen virtual machine).

A server's own ``statement_timeout`` cancels a statement that runs too long, and TCP keepalives
end a connection to a peer that is gone; neither helps when the server's host is alive and its
kernel acknowledges every packet but the server process does not run. There a driver waits on
its socket for ever. ``Deadlines`` bounds that wait: one thread per store sleeps until the
earliest deadline of the statements in flight and, for a statement still waiting when its
deadline passes, shuts its socket down (``shutdown(SHUT_RDWR)``), so the driver's wait ends at
once with a lost connection, which the store reports as a 503.

A socket is only shut down while its statement is registered: a statement leaves the register
(under the lock the thread holds while it shuts sockets down) before its connection goes back to
the pool, so a connection another call has taken next is never touched.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import threading
import time

__all__ = ["DeadlineExceeded", "Deadlines"]


class DeadlineExceeded(Exception):
    """The statement's socket was shut down: the server gave no answer within its deadline."""


class Deadlines:
    """Watches statements: ``with deadlines.watch(fd): ...`` shuts socket ``fd`` down if the
    block has not ended ``seconds`` after it began, and then raises ``DeadlineExceeded`` from
    whatever the block raised. ``close()`` ends the thread."""

    def __init__(self, seconds: float, *, name: str = "meeting_rules.deadlines") -> None:
        if not seconds > 0:
            raise ValueError(f"a deadline is a positive number of seconds, not {seconds!r}")
        self.seconds = seconds
        self._name = name
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._watched: dict[int, tuple[float, int]] = {}  # token: (deadline, socket)
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None
        self._sleeping_until: float | None = None  # None: the thread waits for a first entry
        self._closed = False

    def watch(self, fd: int, *, seconds: float | None = None) -> _Watch:
        """The block, bounded by ``seconds`` (the store's deadline by default)."""
        return _Watch(self, fd, self.seconds if seconds is None else seconds)

    def _enter(self, fd: int, seconds: float) -> int:
        """Put a statement on the register; its token."""
        token = next(self._tokens)
        deadline = time.monotonic() + seconds
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            self._watched[token] = (deadline, fd)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            elif self._sleeping_until is None or deadline < self._sleeping_until:
                self._wakeup.notify()
        return token

    def _leave(self, token: int) -> bool:
        """Take the statement off the register; False when its deadline had ended it."""
        with self._lock:
            return self._watched.pop(token, None) is not None

    def close(self) -> None:
        with self._wakeup:
            self._closed = True
            self._wakeup.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        with self._wakeup:
            while not self._closed:
                now = time.monotonic()
                for token, (deadline, fd) in list(self._watched.items()):
                    if deadline <= now:
                        del self._watched[token]
                        _shut_down(fd)
                earliest = min((d for d, _ in self._watched.values()), default=None)
                self._sleeping_until = earliest
                # Entries that leave are not announced: the thread wakes at a deadline that may
                # have gone, looks again and sleeps on; at most one wake-up a deadline's length.
                self._wakeup.wait(None if earliest is None else max(0.0, earliest - now))


class _Watch:
    """One statement's watch, as a context manager: a class rather than a generator, which
    costs more on every statement (about 6 µs against 4 on a busy 2-core machine)."""

    __slots__ = ("_deadlines", "_fd", "_seconds", "_token")

    def __init__(self, deadlines: Deadlines, fd: int, seconds: float) -> None:
        self._deadlines = deadlines
        self._fd = fd
        self._seconds = seconds
        self._token = -1

    def __enter__(self) -> None:
        self._token = self._deadlines._enter(self._fd, self._seconds)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: object
    ) -> None:
        # An answer that came as its socket was shut down still counts; a failure after the
        # deadline ended the statement is the deadline's.
        if not self._deadlines._leave(self._token) and error is not None:
            raise DeadlineExceeded("no answer in time; the connection was ended") from error


def _shut_down(fd: int) -> None:
    """End the connection on ``fd`` for both directions; the descriptor stays open (its owner
    closes it), so no other socket can take its number meanwhile."""
    with contextlib.suppress(OSError):
        duplicate = socket.socket(fileno=os.dup(fd))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()
