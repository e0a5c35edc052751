"""The store's calls as values: an exchange asks for them, a driver runs them.

``create_or_get`` and ``handle`` are written once, as generators (``create_or_get_steps``,
``exchange``) that yield each call they need of the store (``GetMeeting``, ``AddMeeting``,
``FindMeetingById``) and are sent its answer. Whoever drives them decides where a call runs:

- ``run_steps`` calls the repository at once, in the caller's thread (``create_or_get``,
  ``handle``);
- the ASGI application (``meeting_rules.asgi``) runs everything but the store on its event loop,
  and each call that may wait (a write and its fsync, a read that would wait for a lock, any call
  to a store on another machine) on a worker thread.

The walk of a request is the same either way, with one clock read and one set of identifiers;
only where the store's calls run differs. A call that fails with anything but a ``GraphError`` is
thrown into the walk as a 500 that names the failure (R-RES-5), whichever driver ran it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .errors import GraphError, InternalServerError, quoted
from .meeting import MeetingKey, OnlineMeeting
from .ports import MeetingRepository

__all__ = [
    "AddMeeting",
    "FindMeetingById",
    "GetMeeting",
    "Steps",
    "StoreCall",
    "Walk",
    "ask",
    "run_steps",
    "store_failure",
]

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)
_R = TypeVar("_R")


class StoreCall(Protocol[_T_co]):
    """One call of the store that a walk needs, answered with a ``_T_co``."""

    def run(self, repository: MeetingRepository) -> _T_co:
        """Make the call (it may block: a driver decides on which thread)."""
        ...


Steps = Generator[StoreCall[Any], Any, _R]
"""A walk that yields store calls, is sent each answer, and returns an ``_R``."""


@attrs.frozen
class GetMeeting:
    """``repository.get(key)``."""

    key: MeetingKey

    def run(self, repository: MeetingRepository) -> OnlineMeeting | None:
        return repository.get(self.key)


@attrs.frozen
class AddMeeting:
    """``repository.add_if_absent(key, meeting)``."""

    key: MeetingKey
    meeting: OnlineMeeting

    def run(self, repository: MeetingRepository) -> tuple[OnlineMeeting, bool]:
        return repository.add_if_absent(self.key, self.meeting)


@attrs.frozen(kw_only=True)
class FindMeetingById:
    """``repository.find_by_id(...)``."""

    tenant_id: str
    organizer_id: str
    meeting_id: str

    def run(self, repository: MeetingRepository) -> OnlineMeeting | None:
        return repository.find_by_id(
            tenant_id=self.tenant_id, organizer_id=self.organizer_id, meeting_id=self.meeting_id
        )


def ask(call: StoreCall[_T]) -> Generator[StoreCall[Any], Any, _T]:
    """Inside a walk, ``answer = yield from ask(call)``: the call's answer, typed as the call's."""
    answer: _T = yield call
    return answer


def store_failure(error: Exception) -> GraphError:
    """What a failed store call means for the exchange: a ``GraphError`` as the store raised it;
    anything else, a 500 naming the failure (R-RES-5)."""
    if isinstance(error, GraphError):
        return error
    try:
        text = str(error)
    except Exception:  # an exception that cannot even say what it is
        text = "(its message could not be read)"
    failure = InternalServerError(
        f"The meeting store failed: {type(error).__name__}: {quoted(text, 200)}"
    )
    failure.__cause__ = error
    return failure


class Walk(Generic[_R]):
    """A walk being driven: ``call`` is the store call it waits for (``None`` once it has
    ended, with ``value``); answer it with ``send`` or ``fail``."""

    def __init__(self, steps: Steps[_R]) -> None:
        self._steps = steps
        self.call: StoreCall[Any] | None = None
        self.value: _R
        self._advance(steps.send, None)

    def send(self, answer: object) -> None:
        """The call's answer."""
        self._advance(self._steps.send, answer)

    def fail(self, error: Exception) -> None:
        """The call failed with ``error``: it is raised in the walk (``store_failure``)."""
        self._advance(self._steps.throw, store_failure(error))

    def _advance(self, resume: Any, argument: object) -> None:
        self.call = None  # should the walk raise, no call is left waiting
        try:
            self.call = resume(argument)
        except StopIteration as stop:
            self.call = None
            self.value = stop.value


def run_steps(steps: Steps[_R], repository: MeetingRepository) -> _R:
    """Drive a walk to its end, calling ``repository`` in this thread."""
    walk = Walk(steps)
    while walk.call is not None:
        try:
            answer = walk.call.run(repository)
        except Exception as error:
            walk.fail(error)
        else:
            walk.send(answer)
    return walk.value
