"""Group commit: the writes of one process's threads to one store, made in shared transactions.

A write joins a queue. One thread at a time leads: it takes every write waiting, makes them all in
one transaction (so one fsync makes them all durable) and hands each its own answer; the others
wait meanwhile, and the next batch is whatever arrived during the commit. A thread returns only
once the transaction holding its write has committed (or failed), so what it answers is as
durable as a write of its own would be.

- **Order and atomicity.** A batch's writes are made one after another in the order they arrived;
  two writes of one key in a batch are two ``add_if_absent`` calls in turn: the first creates, the
  second finds it (R-RES-4).
- **Failure.** A write whose own row fails (its statement) gets that failure alone: the store
  undoes that row (a savepoint) and commits the others; a row alone in its batch may instead
  fail the whole transaction, which is the same for that one write. If the transaction itself
  fails (a busy file, a full disk, a failed commit), every write of the batch gets the failure
  and none is stored (R-RES-5).
- **Interruption.** Should the leading thread be interrupted (``KeyboardInterrupt``, which only
  the main thread receives), it raises that; the other writes of its batch fail with a
  ``RuntimeError``. If the interruption came after the commit, their meetings are stored even so,
  as after a lost answer: a retry finds them.
- **Waiting.** A write that no leader has taken within ``timeout`` seconds is withdrawn and
  ``TimeoutError`` raised; it was not stored. A write already taken waits for its transaction,
  which the store's own busy timeout bounds.

With one writer at a time this is a plain transaction per write; with threads creating at once,
one fsync serves every write that waited (docs/performance.md, ``s.sql.create8t``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

_I = TypeVar("_I")
_R = TypeVar("_R")


class _Write(Generic[_I, _R]):
    __slots__ = ("answer", "done", "failure", "item")

    def __init__(self, item: _I) -> None:
        self.item = item
        self.done = False
        self.answer: _R | None = None
        self.failure: BaseException | None = None


class GroupCommit(Generic[_I, _R]):
    """Writes of type ``_I`` made by ``commit(batch) -> outcomes``, in batches. ``commit`` makes
    a batch in one transaction and returns one outcome a write, in order: its answer, or the
    exception that write alone met (its row was not made; the others were). It raises when the
    transaction as a whole failed: then no write of the batch was made (for a batch of one,
    ``commit`` may raise its row's failure rather than return it: the same to that write)."""

    def __init__(self, commit: Callable[[Sequence[_I]], Sequence[_R | Exception]]) -> None:
        self._commit = commit
        self._condition = threading.Condition(threading.Lock())
        self._waiting: list[_Write[_I, _R]] = []
        self._leading = False

    def write(self, item: _I, timeout: float) -> _R:
        """Make ``item`` in the next batch and return its answer.

        Raises:
            TimeoutError: no batch took it within ``timeout`` seconds; it was not made.
            The exception its own row met, or the one its batch's transaction failed with.
        """
        write: _Write[_I, _R] = _Write(item)
        deadline = time.monotonic() + timeout
        with self._condition:
            self._waiting.append(write)
            while not write.done:
                if not self._leading:
                    self._lead(write)
                    continue
                taken = write not in self._waiting  # a short list: one entry a waiting thread
                remaining = deadline - time.monotonic()
                if not taken and remaining <= 0:
                    self._waiting.remove(write)
                    raise TimeoutError("no transaction took the write in time")
                self._condition.wait(None if taken else remaining)
        if write.failure is not None:
            raise write.failure
        return write.answer  # type: ignore[return-value]

    def _lead(self, own: _Write[_I, _R]) -> None:
        """Commit every waiting write (``own`` among them), the condition's lock released
        meanwhile. Whatever happens, every write of the batch ends done and the waiting threads
        are woken. An interruption of the leader (``KeyboardInterrupt``) is its own: the other
        writes of its batch get a ``RuntimeError``."""
        batch, self._waiting = self._waiting, []
        self._leading = True
        outcomes: Sequence[_R | Exception] = ()
        failure: BaseException | None = None
        released = False
        try:
            self._condition.release()
            released = True
            outcomes = self._commit([write.item for write in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{len(batch)} writes were given {len(outcomes)} outcomes")
        except BaseException as error:  # the transaction failed: each write of the batch fails
            failure = error
        finally:
            if released:
                self._condition.acquire()
            self._leading = False
            for index, write in enumerate(batch):
                _settle(write, outcomes[index] if failure is None else failure, write is own)
            self._condition.notify_all()


def _settle(write: _Write[_I, _R], outcome: object, own: bool) -> None:
    """Give a write of a batch its outcome: an answer, or an exception to raise."""
    if isinstance(outcome, Exception):
        write.failure = outcome
    elif isinstance(outcome, BaseException):
        write.failure = (
            outcome if own else RuntimeError(f"the transaction was interrupted: {outcome!r}")
        )
    else:
        write.answer = outcome  # type: ignore[assignment]
    write.done = True
