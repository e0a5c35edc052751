"""Clocks: the system's, a fixed one and a stepping one for tests (the ``Clock`` port)."""

from __future__ import annotations

import datetime as _dt
import threading

from .errors import BadRequestError
from .instant import Instant

__all__ = ["FixedClock", "SteppingClock", "SystemClock"]


class SystemClock:
    """The real time, to the microsecond the system gives."""

    def now(self) -> Instant:
        return Instant.from_pendulum(_dt.datetime.now(_dt.UTC))


class FixedClock:
    """Always the same instant."""

    def __init__(self, instant: Instant) -> None:
        self.instant = instant

    def now(self) -> Instant:
        return self.instant


class SteppingClock:
    """``start``, then ``start + step``, ``start + 2 * step``, ... one step a call (thread-safe)."""

    def __init__(self, start: Instant, step: _dt.timedelta = _dt.timedelta(seconds=1)) -> None:
        self._next = start
        self._step = step
        self._lock = threading.Lock()

    def now(self) -> Instant:
        with self._lock:
            current = self._next
            try:
                self._next = current + self._step
            except BadRequestError:  # the end of time: stay there
                self._next = Instant.MAX if self._step > _dt.timedelta(0) else Instant.MIN
            return current
